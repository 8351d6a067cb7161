"""Reading one delivered file into a table of trimmed text, whatever its format.

CSV (UTF-8, UTF-8 with BOM, Shift_JIS/CP932) and XLSX (first sheet) come out identically: one
column per normalised header name, every value as trimmed text or None, and ``source_row``, the
row number a person sees in a spreadsheet (the header is row 1). Problems that make a file
unreadable (encoding, binary content, ragged rows, missing or duplicate headers) come back as
``Problem`` records so that the caller can reject the file with a reason.
"""

from __future__ import annotations

import csv
import difflib
import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from envkpi.contract import KINDS, normalise_header

SOURCE_ROW = "source_row"


@dataclass(frozen=True)
class Problem:
    """One reason to reject a file, located as a plant would look for it."""

    row: int | None
    column: str
    value: str
    reason: str


@dataclass
class DeliveredTable:
    """The rows of one delivered file as text, or the problems that prevent reading it.

    Columns are kept as plain sequences of untrimmed text: ingest joins the tables of one kind
    into one frame and trims them all at once, which costs far less than a frame per file.
    """

    columns: dict[str, Sequence[str] | pa.Array] = field(default_factory=dict)
    source_rows: Sequence[int] = ()
    problems: list[Problem] = field(default_factory=list)
    encoding: str = ""
    # Columns beyond the contract's: kept in the raw layer, otherwise ignored.
    extra_columns: tuple[str, ...] = ()
    # For a file parsed together with others (a plain batch): the batch's columns, by header name,
    # and the row where this file's rows start in them. Ingest takes the rows of consecutive files
    # of a batch as one slice of it instead of joining thousands of small pieces.
    batch: pa.Table | None = None
    batch_start: int = 0

    @property
    def readable(self) -> bool:
        return not self.problems

    def __len__(self) -> int:
        return len(self.source_rows)

    def arrow(self, names: Sequence[str]) -> dict[str, pa.Array]:
        """The named columns as untrimmed Arrow text (null where the file lacks the column)."""
        count = len(self)
        return {
            name: _as_arrow(self.columns[name]) if name in self.columns else pa.nulls(count, pa.string())
            for name in names
        }

    @property
    def frame(self) -> pd.DataFrame:
        """The table as a frame of trimmed text (missing for an empty cell), with ``source_row``."""
        columns = {SOURCE_ROW: pa.array(self.source_rows, pa.int64())}
        columns.update({name: trimmed(values) for name, values in self.arrow(list(self.columns)).items()})
        return to_frame(without_blank_rows(pa.table(columns), list(self.columns)))


def _as_arrow(values: Sequence[str] | pa.Array) -> pa.Array:
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values
    return pa.array(values, pa.string())


def trimmed(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Text values are trimmed (contract 1); an empty cell is a missing value. Runs in Arrow's C++."""
    if isinstance(values, pa.ChunkedArray):
        return pa.chunked_array([trimmed(chunk) for chunk in values.chunks], pa.string())
    stripped = pc.utf8_trim_whitespace(values)
    # Empty by length, not by comparing text with "": the same answer, a tenth of the time.
    present = pc.and_kleene(pc.not_equal(pc.binary_length(stripped), 0), pc.is_valid(stripped))
    if stripped.type != pa.string() or stripped.offset or present.offset or present.null_count:
        return pc.if_else(present, stripped, pa.scalar(None, pa.string()))
    # The trimmed text under a validity bitmap that leaves out the empty cells: what if_else
    # gives, without copying the text (the copy cost four times the trimming).
    _, offsets, text = stripped.buffers()
    return pa.StringArray.from_buffers(len(stripped), offsets, text, present.buffers()[1])


def without_blank_rows(table: pa.Table, columns: Sequence[str]) -> pa.Table:
    """Drop rows whose given (trimmed) columns are all empty: a blank line or a line of commas
    is no record, and it keeps its number as a spreadsheet row only by not shifting the others."""
    if not columns or not len(table):
        return table
    has_value = None
    for name in columns:
        present = pc.is_valid(table.column(name))
        has_value = present if has_value is None else pc.or_(has_value, present)
    return table if pc.all(has_value).as_py() else table.filter(has_value)


def to_frame(table: pa.Table) -> pd.DataFrame:
    """An Arrow table as pandas with Arrow-backed text columns (pandas' "str"), so that GX's regex,
    set and null checks run vectorised instead of per Python object."""
    return table.to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow", na_value=np.nan)}.get)


def _rejected(*problems: Problem, encoding: str = "") -> DeliveredTable:
    return DeliveredTable(problems=list(problems), encoding=encoding)


def _decode(raw: bytes) -> tuple[str, str] | Problem:
    """The text and the encoding name, trying UTF-8 (with or without BOM) then CP932."""
    if b"\x00" in raw:
        return Problem(None, "", "", "binary content (NUL bytes): not a CSV text file")
    try:
        return raw.decode("utf-8-sig"), "utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "utf-8"
    except UnicodeDecodeError as utf8_error:
        utf8_failure = utf8_error
    try:
        text = raw.decode("cp932")
    except UnicodeDecodeError:
        line = raw[: utf8_failure.start].count(b"\n") + 1
        return Problem(
            line, "", repr(raw[utf8_failure.start : utf8_failure.start + 4]),
            "text is neither UTF-8 nor Shift_JIS (CP932): save the file as CSV UTF-8 or CSV (Shift_JIS)",
        )
    if _has_utf8_multibyte(raw):
        line = raw[: utf8_failure.start].count(b"\n") + 1
        return Problem(
            line, "", repr(raw[utf8_failure.start : utf8_failure.start + 4]),
            "mixed encodings: part of the file is UTF-8 and part is not; save the whole file in one encoding",
        )
    return text, "cp932"


def _has_utf8_multibyte(raw: bytes) -> bool:
    """Whether the bytes hold at least one well-formed multi-byte UTF-8 sequence of 3 bytes.

    CP932 text almost never forms one by chance (its lead bytes 0x81-0x9F, 0xE0-0xFC would need two
    continuation bytes 0x80-0xBF in a row), while Japanese UTF-8 text is made of them.
    """
    for start in range(len(raw) - 2):
        lead = raw[start]
        if 0xE3 <= lead <= 0xE9 and 0x80 <= raw[start + 1] <= 0xBF and 0x80 <= raw[start + 2] <= 0xBF:
            try:
                raw[start : start + 3].decode("utf-8")
            except UnicodeDecodeError:
                continue
            return True
    return False


@dataclass(frozen=True)
class _PlainCsv:
    """A UTF-8 CSV simple enough to be parsed together with others of the same header."""

    label: str
    header_line: bytes
    body: bytes  # the data lines, each ending in a newline
    rows: int
    encoding: str


def _plain_csv(label: str, raw: bytes) -> _PlainCsv | None:
    """The file as a plain CSV, or None when the careful path must read it (and name its problems).

    Plain: UTF-8 (a BOM allowed), no NUL byte, at least one data line, no blank line, and line
    ends that are all LF or all CRLF, so that the number of newlines is the number of rows.
    Quoted newlines are not looked for here: Arrow's reader refuses them and the batch falls back.
    """
    if b"\x00" in raw:
        return None
    encoding = "utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "utf-8"
    body = raw[3:] if encoding == "utf-8-sig" else raw
    if not body.isascii():  # plain ASCII is UTF-8; only other bytes need decoding to check
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            return None
    header_line, _, rest = body.partition(b"\n")
    if not rest.endswith(b"\n"):
        rest += b"\n"
    # Each test is a pass in C over the bytes (isspace stops at the first other byte); the
    # carriage-return ones only for the files that hold one.
    if rest.isspace() or rest.startswith((b"\n", b"\r\n")) or b"\n\n" in rest:
        return None
    if (b"\r" in rest or b"\r" in header_line) and (
            b"\n\r\n" in rest or rest.count(b"\r") != rest.count(b"\r\n")
            or header_line.count(b"\r") > int(header_line.endswith(b"\r"))):
        return None
    return _PlainCsv(label, header_line.rstrip(b"\r"), rest, rest.count(b"\n"), encoding)


def _read_plain_batch(kind: str, files: list[_PlainCsv]) -> dict[str, DeliveredTable] | None:
    """Parse files that share one header line in a single call of Arrow's C++ CSV reader.

    A reader call costs about half a millisecond, as much as a few hundred rows: a group's
    thousands of small monthly files are parsed as one buffer and cut apart again by their row
    counts. Returns None when anything is off (the careful path then reads each file).
    """
    try:
        raw_header = next(csv.reader([files[0].header_line.decode("utf-8")]))
    except (StopIteration, csv.Error):
        return None
    header = [normalise_header(name) for name in raw_header]
    if "" in header or len(set(header)) != len(header) or any(n not in header for n in KINDS[kind].required):
        return None
    try:
        table = pa_csv.read_csv(
            # Arrow reads the joined bytes in place (a Python file object would be read through
            # the interpreter, a copy per block, holding the GIL).
            pa.BufferReader(b"".join(f.body for f in files)),
            read_options=pa_csv.ReadOptions(column_names=[f"f{i}" for i in range(len(header))]),
            parse_options=pa_csv.ParseOptions(newlines_in_values=False, ignore_empty_lines=False),
            # Every column is text: no type inference may turn "007" into 7.
            convert_options=pa_csv.ConvertOptions(
                column_types={f"f{i}": pa.string() for i in range(len(header))},
                strings_can_be_null=False, quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid:
        return None
    if table.num_rows != sum(f.rows for f in files):
        return None
    extra = tuple(name for name in header if name not in KINDS[kind].columns)
    named = table.rename_columns(header)
    tables: dict[str, DeliveredTable] = {}
    offset = 0
    for file in files:
        part = table.slice(offset, file.rows)
        offset += file.rows
        tables[file.label] = DeliveredTable(
            columns={name: part.column(i) for i, name in enumerate(header)},
            source_rows=range(2, 2 + file.rows), encoding=file.encoding, extra_columns=extra,
            batch=named, batch_start=offset - file.rows,
        )
    return tables


def read_deliveries(paths: dict[str, Path], kind: str) -> dict[str, DeliveredTable]:
    """Read several delivered files of one kind: plain CSVs in batches, every other file on its own.

    Whatever the batch accepts, ``read_delivery`` would read identically: it is only faster.
    """
    tables: dict[str, DeliveredTable] = {}
    batches: dict[bytes, list[_PlainCsv]] = {}
    for label, path in paths.items():
        plain = _plain_csv(label, path.read_bytes()) if path.suffix.casefold() == ".csv" else None
        if plain is None:
            tables[label] = read_delivery(path, kind)
        else:
            batches.setdefault(plain.header_line, []).append(plain)
    for files in batches.values():
        read = _read_plain_batch(kind, files)
        for file in files:
            tables[file.label] = read[file.label] if read is not None else read_delivery(paths[file.label], kind)
    return {label: tables[label] for label in paths}


def _csv_records(path: Path) -> tuple[list[list[str]], str] | Problem:
    raw = path.read_bytes()
    if not raw.strip():
        return Problem(None, "", "", "empty file: no header row and no data")
    decoded = _decode(raw)
    if isinstance(decoded, Problem):
        return decoded
    text, encoding = decoded
    try:
        # newline="" semantics: quoted newlines stay inside their field, as Excel reads them.
        records = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as error:
        return Problem(None, "", "", f"not a well-formed CSV file: {error}")
    return records, encoding


def _xlsx_cell_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime) or isinstance(value, dt.date):
        # Excel turns a typed "2017-04" into the date 2017-04-01; read it back as the month.
        if value.day == 1 and (not isinstance(value, dt.datetime) or value.time() == dt.time(0)):
            return f"{value.year:04d}-{value.month:02d}"
        return value.isoformat()
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    return str(value)


def _xlsx_records(path: Path) -> tuple[list[list[str]], str] | Problem:
    from openpyxl import load_workbook  # openpyxl is slow to import; only XLSX deliveries need it

    if path.stat().st_size == 0:
        return Problem(None, "", "", "empty file (0 bytes): not an XLSX workbook")
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as error:
        return Problem(None, "", "", f"not a readable XLSX workbook ({type(error).__name__}): save it again from Excel")
    except Exception as error:  # openpyxl raises many types for damaged files
        return Problem(None, "", "", f"not a readable XLSX workbook ({type(error).__name__}: {error})")
    try:
        sheet = workbook.worksheets[0]
        records = [
            ["" if (text := _xlsx_cell_text(value)) is None else text for value in row]
            for row in sheet.iter_rows(min_row=1, values_only=True)
        ]
    except Exception as error:  # a truncated sheet part surfaces only while iterating
        return Problem(None, "", "", f"not a readable XLSX workbook ({type(error).__name__}: {error})")
    finally:
        workbook.close()
    # Read-only sheets pad rows to the sheet's width and a row ends where its last value is:
    # an empty cell at the end of a row is simply empty, so every row is padded to the header.
    records = [_strip_trailing_empty(r) for r in records]
    width = len(records[0]) if records else 0
    return [r + [""] * (width - len(r)) for r in records], "xlsx"


def _strip_trailing_empty(record: list[str]) -> list[str]:
    end = len(record)
    while end and not str(record[end - 1]).strip():
        end -= 1
    return record[:end]


def read_delivery(path: Path, kind: str) -> DeliveredTable:
    """Read a delivered CSV or XLSX file of the given contract kind."""
    suffix = path.suffix.casefold()
    if suffix == ".xlsx":
        result = _xlsx_records(path)
    elif suffix == ".csv":
        result = _csv_records(path)
    else:
        return _rejected(Problem(None, "", path.suffix, "unsupported file format: deliver CSV or XLSX"))
    if isinstance(result, Problem):
        return _rejected(result)
    records, encoding = result
    return _table_from_records(records, KINDS[kind].required, KINDS[kind].columns, encoding)


def _is_blank(record: Sequence[str]) -> bool:
    return not any(str(value).strip() for value in record)


def _header_word(name: str) -> str:
    """A header name as a near match compares it: `Plant ID`, `plant-id` and `PlantID` alike."""
    return re.sub(r"[\s_\-.]+", "", normalise_header(name))


def missing_column_reason(name: str, delivered: list[str], known: tuple[str, ...]) -> str:
    """The reason for a missing required column: what the header holds, and the near match."""
    found = [str(cell).strip() for cell in _strip_trailing_empty(delivered) if str(cell or "").strip()]
    taken = {normalise_header(cell) for cell in found} & set(known)
    near = [cell for cell in found if normalise_header(cell) not in taken and _header_word(cell) == _header_word(name)]
    if not near:
        near = difflib.get_close_matches(name, [c for c in found if normalise_header(c) not in taken], n=1, cutoff=0.75)
    shown = ", ".join(f"'{cell}'" for cell in found) or "nothing"
    if near:
        return f"missing required column '{name}': the header row has {shown}; rename '{near[0]}' to {name}"
    return f"missing required column '{name}': the header row has {shown}; add a column named {name}"


def _table_from_records(
    records: list[list[str]], required: tuple[str, ...], known: tuple[str, ...], encoding: str
) -> DeliveredTable:
    # Blank lines still count as spreadsheet rows, so row numbers stay as a person sees them.
    while records and _is_blank(records[-1]):
        records.pop()
    if not records:
        return _rejected(Problem(None, "", "", "empty file: no header row and no data"), encoding=encoding)
    header = [normalise_header(name) for name in _strip_trailing_empty(records[0])]
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for position, name in enumerate(header, start=1):
        if not name:
            problems.append(Problem(1, f"column {position}", "", "column without a name in the header row"))
        elif name in seen:
            problems.append(Problem(1, name, name, f"duplicate column: also column {seen[name]}"))
        else:
            seen[name] = position
    for name in required:
        if name not in seen:
            problems.append(Problem(1, name, "", missing_column_reason(name, records[0], known)))
    body = records[1:]
    width = len(header)
    if all(len(record) == width for record in body):
        # The common case, checked at C speed: no blank line, no ragged row. (An XLSX row or a CSV
        # line of commas is as wide as the header when blank: ``without_blank_rows`` drops it.)
        rows: Sequence[Sequence[str]] = body
        source_rows: Sequence[int] = range(2, 2 + len(body))
    else:
        rows, source_rows = _regular_rows(body, width, problems)
    if all(map(_is_blank, rows)):  # stops at the first row with a value
        problems.append(Problem(None, "", "", "header row only: the file has no data rows"))
    if problems:
        return _rejected(*problems, encoding=encoding)
    columns = dict(zip(header, zip(*rows)))
    extra = tuple(name for name in header if name not in known)
    return DeliveredTable(columns=columns, source_rows=source_rows, encoding=encoding, extra_columns=extra)


def _regular_rows(body: list[list[str]], width: int, problems: list[Problem]) -> tuple[list, list[int]]:
    """Rows that fit the header, skipping blank ones; a ragged row is a problem."""
    rows: list[Sequence[str]] = []
    source_rows: list[int] = []
    for offset, record in enumerate(body, start=2):
        if _is_blank(record):
            continue
        if len(record) > width:
            # Trailing empty fields (a trailing comma from some exports) carry nothing.
            if not _is_blank(record[width:]):
                problems.append(Problem(offset, "", str(len(record)),
                                        f"row has {len(record)} fields but the header has {width}"))
                continue
            record = record[:width]
        elif len(record) < width:
            problems.append(Problem(offset, "", str(len(record)),
                                    f"row has {len(record)} fields but the header has {width}"))
            continue
        rows.append(record)
        source_rows.append(offset)
    return rows, source_rows
