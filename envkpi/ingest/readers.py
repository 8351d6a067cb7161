"""Reading one delivered file into a table of trimmed text, whatever its format.

CSV (UTF-8, UTF-8 with BOM, Shift_JIS/CP932) and XLSX (first sheet) come out identically: one
column per normalised header name, every value as trimmed text or None, and ``source_row``, the
row number a person sees in a spreadsheet (the header is row 1). Problems that make a file
unreadable (encoding, binary content, ragged rows, missing or duplicate headers) come back as
``Problem`` records so that the caller can reject the file with a reason.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from envkpi.contract import KINDS, normalise_header
from envkpi.ingest.landing import Problem  # noqa: F401 - defined there, imported from here by many
from envkpi.runtime import timing
from envkpi.settings import Limits

SOURCE_ROW = "source_row"


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
            line,
            "",
            repr(raw[utf8_failure.start : utf8_failure.start + 4]),
            "text is neither UTF-8 nor Shift_JIS (CP932): save the file as CSV UTF-8 or CSV (Shift_JIS)",
        )
    if _has_utf8_multibyte(raw):
        line = raw[: utf8_failure.start].count(b"\n") + 1
        return Problem(
            line,
            "",
            repr(raw[utf8_failure.start : utf8_failure.start + 4]),
            "mixed encodings: part of the file is UTF-8 and part is not; save the whole file in one encoding",
        )
    return text, "cp932"


_UTF8_THREE_BYTES = re.compile(rb"[\xe3-\xe9][\x80-\xbf][\x80-\xbf]")


def _has_utf8_multibyte(raw: bytes) -> bool:
    """Whether the bytes hold at least one well-formed multi-byte UTF-8 sequence of 3 bytes.

    CP932 text almost never forms one by chance (its lead bytes 0x81-0x9F, 0xE0-0xFC would need two
    continuation bytes 0x80-0xBF in a row), while Japanese UTF-8 text is made of them. The
    candidates are found by a regular expression (C speed, even over a 30 MB line).
    """
    for match in _UTF8_THREE_BYTES.finditer(raw):
        try:
            match.group().decode("utf-8")
        except UnicodeDecodeError:
            continue
        return True
    return False


def _quotes_well_formed(body: bytes) -> bool:
    """Whether every quote of the bytes belongs to a well-formed quoted field.

    Only then do Arrow's lenient reader and the strict careful reader split the text alike:
    Arrow reads ``"12"3`` as 123, Python's csv in strict mode refuses it. A quote must open a
    field (at the start of a line or after a comma), be doubled inside it, and close it (before a
    comma, a line end or the end). One ``find`` per quote: files quote few fields, if any.
    """
    find = body.find
    at = find(b'"')
    end = len(body)
    while at >= 0:
        if at and body[at - 1] not in b",\n":
            return False  # a quote inside an unquoted field
        while True:  # inside the quoted field: to its closing quote
            at = find(b'"', at + 1)
            if at < 0:
                return False  # never closed
            if at + 1 < end and body[at + 1] == 0x22:
                at += 1  # a doubled quote: still inside
                continue
            break
        if at + 1 < end and body[at + 1] not in b",\r\n":
            return False  # text after the closing quote
        at = find(b'"', at + 1)
    return True


def line_too_long(line: int, length: int, limits: Limits) -> Problem:
    return Problem(
        line,
        "",
        f"{length:,} characters",
        f"line {line} is {length:,} characters long, more than the {limits.max_line_chars:,} a delivery "
        f"may have (setting max_line_chars): a file of monthly rows has short lines; check the export",
    )


def field_too_long(row: int, column: str, length: int, limits: Limits) -> Problem:
    return Problem(
        row,
        column,
        f"{length:,} characters",
        f"a value of {length:,} characters, more than the {limits.max_field_chars:,} a cell may hold "
        f"(setting max_field_chars): check the export (an unclosed quote joins many cells into one)",
    )


def too_many_columns(count: int, limits: Limits) -> Problem:
    return Problem(
        1,
        "",
        f"{count:,} columns",
        f"the header row has {count:,} columns, more than the {limits.max_columns:,} a delivery may have "
        f"(setting max_columns): deliver the contract's columns only",
    )


@dataclass(frozen=True)
class _PlainCsv:
    """A UTF-8 CSV simple enough to be parsed together with others of the same header."""

    label: str
    header_line: bytes
    body: bytes  # the data lines, each ending in a newline
    rows: int
    encoding: str


def _plain_csv(label: str, raw: bytes, limits: Limits = Limits()) -> _PlainCsv | None:
    """The file as a plain CSV, or None when the careful path must read it (and name its problems).

    Plain: UTF-8 (a BOM allowed), no NUL byte, at least one data line, no blank line, and line
    ends that are all LF or all CRLF, so that the number of newlines is the number of rows.
    Quoted newlines are not looked for here: Arrow's reader refuses them and the batch falls back.
    A quote outside a well-formed quoted field, or a line longer than the limit, also leaves the
    file to the careful path, which names the problem: both paths give one outcome per file.
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
    if not _quotes_well_formed(rest):
        return None
    if not rest.endswith(b"\n"):
        rest += b"\n"
    # Each test is a pass in C over the bytes (isspace stops at the first other byte); the
    # carriage-return ones only for the files that hold one.
    if rest.isspace() or rest.startswith((b"\n", b"\r\n")) or b"\n\n" in rest:
        return None
    if (b"\r" in rest or b"\r" in header_line) and (
        b"\n\r\n" in rest
        or rest.count(b"\r") != rest.count(b"\r\n")
        or header_line.count(b"\r") > int(header_line.endswith(b"\r"))
    ):
        return None
    return _PlainCsv(label, header_line.rstrip(b"\r"), rest, rest.count(b"\n"), encoding)


def _read_plain_batch(kind: str, files: list[_PlainCsv], limits: Limits = Limits()) -> dict[str, DeliveredTable] | None:
    """Parse files that share one header line in a single call of Arrow's C++ CSV reader.

    A reader call costs about half a millisecond, as much as a few hundred rows: a group's
    thousands of small monthly files are parsed as one buffer and cut apart again by their row
    counts. Returns None when anything is off (the careful path then reads each file).
    """
    try:
        raw_header = next(csv.reader([files[0].header_line.decode("utf-8")], strict=True))
    except (StopIteration, csv.Error):
        return None
    header = [normalise_header(name) for name in raw_header]
    if (
        len(header) > limits.max_columns
        or "" in header
        or len(set(header)) != len(header)
        or any(n not in header for n in KINDS[kind].required)
    ):
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
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid:
        return None
    if table.num_rows != sum(f.rows for f in files):
        return None
    if any(len(f.body) > limits.max_field_chars for f in files) and any(
        (pc.max(pc.utf8_length(column)).as_py() or 0) > limits.max_field_chars for column in table.columns
    ):
        return None  # the careful path names the cell
    if any(len(f.body) > limits.max_line_chars for f in files):
        # Each line's bytes are at most its fields' bytes, their quotes doubled, a pair of quotes
        # and a separator per field: when no line can reach the limit, none does (in C++, per row).
        most = pa.scalar(3 * len(header), pa.int64())
        for column in table.columns:
            most = pc.add(
                most,
                pc.add(
                    pc.cast(pc.binary_length(column), pa.int64()), pc.cast(pc.count_substring(column, '"'), pa.int64())
                ),
            )
        if (pc.max(most).as_py() or 0) > limits.max_line_chars:
            return None  # the careful path names the line
    extra = tuple(name for name in header if name not in KINDS[kind].columns)
    named = table.rename_columns(header)
    tables: dict[str, DeliveredTable] = {}
    offset = 0
    for file in files:
        part = table.slice(offset, file.rows)
        offset += file.rows
        tables[file.label] = DeliveredTable(
            columns={name: part.column(i) for i, name in enumerate(header)},
            source_rows=range(2, 2 + file.rows),
            encoding=file.encoding,
            extra_columns=extra,
            batch=named,
            batch_start=offset - file.rows,
        )
    return tables


@timing.phase("read files")
def read_deliveries(
    paths: dict[str, Path], kind: str, contents: dict[str, bytes] | None = None, limits: Limits = Limits()
) -> dict[str, DeliveredTable]:
    """Read several delivered files of one kind: plain CSVs in batches, every other file on its own.

    ``contents`` holds the bytes of files already read (each file is read once per run). Whatever
    the batch accepts, ``read_delivery`` would read identically: it is only faster.
    """
    tables: dict[str, DeliveredTable] = {}
    batches: dict[bytes, list[_PlainCsv]] = {}
    raws: dict[str, bytes] = {}
    for label, path in paths.items():
        raw = contents[label] if contents is not None and label in contents else path.read_bytes()
        plain = _plain_csv(label, raw, limits) if path.suffix.casefold() == ".csv" else None
        if plain is None:
            tables[label] = read_delivery(path, kind, raw, limits)
        else:
            raws[label] = raw
            batches.setdefault(plain.header_line, []).append(plain)
    for files in batches.values():
        read = _read_plain_batch(kind, files, limits)
        for file in files:
            tables[file.label] = (
                read[file.label]
                if read is not None
                else read_delivery(paths[file.label], kind, raws[file.label], limits)
            )
    return {label: tables[label] for label in paths}


def _csv_records(raw: bytes, limits: Limits = Limits()) -> tuple[list[list[str]], str] | Problem:
    if not raw.strip():
        return Problem(None, "", "", "empty file: no header row and no data")
    if len(raw) > limits.max_line_chars:  # (a line's characters are at most its bytes)
        long_line = _long_line(raw, limits)
        if long_line is not None:
            return long_line
    decoded = _decode(raw)
    if isinstance(decoded, Problem):
        return decoded
    text, encoding = decoded
    if csv.field_size_limit() < len(text):  # our own limit judges fields, after parsing
        csv.field_size_limit(max(len(text), 1 << 20))
    try:
        # newline="" semantics: quoted newlines stay inside their field, as Excel reads them.
        records = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as error:
        return Problem(None, "", "", f"not a well-formed CSV file: {error}")
    return records, encoding


def _long_line(raw: bytes, limits: Limits) -> Problem | None:
    """The first line longer than the limit in characters (decoded as well as the bytes allow).

    ``bytes.splitlines`` splits at \\n, \\r and \\r\\n only, in C."""
    for number, line in enumerate(raw.splitlines(), start=1):
        if len(line) > limits.max_line_chars:
            length = len(line.decode("utf-8", "replace")) if not line.isascii() else len(line)
            if length > limits.max_line_chars:
                return line_too_long(number, length, limits)
    return None


def _percent_text(value: int | float) -> str:
    """A number in a percent-formatted cell as the percent a person sees: 0.115 -> "11.5"."""
    shown = Decimal(repr(value) if isinstance(value, float) else value) * 100
    text = format(shown.normalize(), "f")
    return text


def _is_percent_format(number_format: str | None) -> bool:
    """Whether a cell's number format shows a percent (a % outside quotes and escapes)."""
    if not number_format or "%" not in number_format:
        return False
    plain = re.sub(r'"[^"]*"|\\.', "", number_format)
    return "%" in plain


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


def _xlsx_records(raw: bytes) -> tuple[list[list[str]], str, list[str]] | Problem:
    from openpyxl import load_workbook  # openpyxl is slow to import; only XLSX deliveries need it

    if not raw:
        return Problem(None, "", "", "empty file (0 bytes): not an XLSX workbook")
    try:
        workbook = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as error:
        return Problem(None, "", "", f"not a readable XLSX workbook ({type(error).__name__}): save it again from Excel")
    except Exception as error:  # openpyxl raises many types for damaged files
        return Problem(None, "", "", f"not a readable XLSX workbook ({type(error).__name__}: {error})")
    try:
        sheets = list(workbook.sheetnames)
        sheet = workbook.worksheets[0]
        # Read-only mode trusts the sheet's <dimension> element, which some writers leave stale
        # (too small): forget it, so that every row and cell the sheet holds is read.
        sheet.reset_dimensions()
        records = [
            ["" if (text := _xlsx_text(cell)) is None else text for cell in row] for row in sheet.iter_rows(min_row=1)
        ]
    except Exception as error:  # a truncated sheet part surfaces only while iterating
        return Problem(None, "", "", f"not a readable XLSX workbook ({type(error).__name__}: {error})")
    finally:
        workbook.close()
    # Read-only sheets pad rows to the sheet's width and a row ends where its last value is:
    # an empty cell at the end of a row is simply empty, so every row is padded to the header.
    records = [_strip_trailing_empty(r) for r in records]
    width = len(records[0]) if records else 0
    return [r + [""] * (width - len(r)) for r in records], "xlsx", sheets


def _xlsx_text(cell) -> str | None:
    value = getattr(cell, "value", None)
    if (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and _is_percent_format(getattr(cell, "number_format", None))
    ):
        return _percent_text(value)
    return _xlsx_cell_text(value)


def _strip_trailing_empty(record: list[str]) -> list[str]:
    end = len(record)
    while end and not str(record[end - 1]).strip():
        end -= 1
    return record[:end]


def read_delivery(path: Path, kind: str, raw: bytes | None = None, limits: Limits = Limits()) -> DeliveredTable:
    """Read a delivered CSV or XLSX file of the given contract kind (from ``raw``, its bytes, when given)."""
    suffix = path.suffix.casefold()
    if suffix not in (".xlsx", ".csv"):
        return _rejected(Problem(None, "", path.suffix, "unsupported file format: deliver CSV or XLSX"))
    raw = path.read_bytes() if raw is None else raw
    sheets: list[str] = []
    if suffix == ".xlsx":
        workbook = _xlsx_records(raw)
        if isinstance(workbook, Problem):
            return _rejected(workbook)
        records, encoding, sheets = workbook
    else:
        delimited = _csv_records(raw, limits)
        if isinstance(delimited, Problem):
            return _rejected(delimited)
        records, encoding = delimited
    table = _table_from_records(records, KINDS[kind].required, KINDS[kind].columns, encoding, limits)
    missing = [p for p in table.problems if p.reason.startswith(("missing required column", "empty file"))]
    if missing and len(sheets) > 1:
        names = ", ".join(f"'{name}'" for name in sheets)
        table.problems.insert(
            0,
            Problem(
                1,
                "",
                sheets[0],
                (
                    f"the data must be on the first sheet, with the header on row 1: this workbook's sheets are {names}, "
                    f"and the first, '{sheets[0]}', lacks the required columns; move the data sheet to the front"
                ),
            ),
        )
    return table


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
    records: list[list[str]],
    required: tuple[str, ...],
    known: tuple[str, ...],
    encoding: str,
    limits: Limits = Limits(),
) -> DeliveredTable:
    # Blank lines still count as spreadsheet rows, so row numbers stay as a person sees them.
    while records and _is_blank(records[-1]):
        records.pop()
    if not records:
        return _rejected(Problem(None, "", "", "empty file: no header row and no data"), encoding=encoding)
    header = [normalise_header(name) for name in _strip_trailing_empty(records[0])]
    if len(header) > limits.max_columns:
        return _rejected(too_many_columns(len(header), limits), encoding=encoding)
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    leading = next((i for i, name in enumerate(header) if name), 0)
    if leading:
        first = _column_letters(leading + 1)
        problems.append(
            Problem(
                1,
                f"column {leading + 1}",
                header[leading],
                (
                    f"the table starts in column {first}, not in column A: the header must start in cell A1; "
                    f"delete the empty column{'s' if leading > 1 else ''} before it"
                ),
            )
        )
    for position, name in enumerate(header, start=1):
        if not name:
            if position > leading:
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
    longest = max((max(map(len, record), default=0) for record in records), default=0)
    if longest > limits.max_field_chars:
        for row, record in zip((1, *source_rows), (records[0], *rows)):
            for position, value in enumerate(record):
                if len(value) > limits.max_field_chars:
                    name = header[position] if position < width and header[position] else f"column {position + 1}"
                    problems.append(field_too_long(row, name, len(value), limits))
                    break
            else:
                continue
            break
    if problems:
        return _rejected(*problems, encoding=encoding)
    columns: dict[str, Sequence[str] | pa.Array] = dict(zip(header, zip(*rows)))
    extra = tuple(name for name in header if name not in known)
    return DeliveredTable(columns=columns, source_rows=source_rows, encoding=encoding, extra_columns=extra)


def _column_letters(position: int) -> str:
    """A spreadsheet's name of the column at ``position`` (1 = A)."""
    letters = ""
    while position:
        position, remainder = divmod(position - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


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
                problems.append(
                    Problem(offset, "", str(len(record)), f"row has {len(record)} fields but the header has {width}")
                )
                continue
            record = record[:width]
        elif len(record) < width:
            problems.append(
                Problem(offset, "", str(len(record)), f"row has {len(record)} fields but the header has {width}")
            )
            continue
        rows.append(record)
        source_rows.append(offset)
    return rows, source_rows
