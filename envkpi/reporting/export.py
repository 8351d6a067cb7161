"""Writing tables that people open in spreadsheets: CSV and XLSX that never start a formula.

A delivered value such as ``=HYPERLINK(...)`` must come back out as text, not run in the
reader's Excel, so every text cell that starts a formula is prefixed with an apostrophe
(OWASP "CSV injection"). Numbers stay numbers.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from envkpi.runtime.files import (  # noqa: F401 - their place before the move, kept for callers
    fsync_path,
    process_running,
    remove_stale_temporaries,
    replace_atomically,
)

# A cell starting with one of these is read as a formula by Excel, LibreOffice or Sheets;
# tab and carriage return can smuggle one past a naive check.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(value: object) -> object:
    """The value, with a leading apostrophe where a text value would start a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


# The control characters a worksheet cannot hold (openpyxl's ILLEGAL_CHARACTERS_RE, which it
# refuses with an error that would lose the whole file).
_NOT_IN_A_WORKSHEET = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")


def storable_in_a_worksheet(value: object) -> object:
    """Text with each control character a worksheet cannot hold shown as ``\x1f``; else the value."""
    if isinstance(value, str) and _NOT_IN_A_WORKSHEET.search(value):
        return _NOT_IN_A_WORKSHEET.sub(lambda match: f"\\x{ord(match.group()):02x}", value)
    return value


def excel_cell(value: object) -> object:
    """A value as an XLSX cell: never a formula, never a character the file format refuses."""
    return storable_in_a_worksheet(neutralise_formula(value))


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text columns (and column names) never start a formula."""
    safe = frame.copy()
    for column in safe.columns:
        values = safe[column]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        if pd.api.types.is_string_dtype(values) and not pd.api.types.is_object_dtype(values):
            # Text columns (a KPI table has hundreds of thousands of cells): one vectorised test.
            starts = values.str.startswith(FORMULA_STARTS).fillna(False).astype(bool)
            safe[column] = values.where(~starts, "'" + values)
        else:
            safe[column] = values.map(neutralise_formula)
    safe.columns = [neutralise_formula(str(c)) for c in safe.columns]
    return safe


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """Write ``frame`` as UTF-8 CSV, formula-safe, replacing ``path`` atomically."""
    safe = neutralise_frame(frame)
    # repr-exact floats: numbers are written unrounded (contract 5).
    replace_atomically(path, lambda tmp: safe.to_csv(tmp, index=False, float_format=None, lineterminator="\n"))
    return path


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """The bytes ``write_csv`` writes for ``frame``."""
    return neutralise_frame(frame).to_csv(index=False, float_format=None, lineterminator="\n").encode("utf-8")


def write_if_changed(path: Path, data: bytes) -> bool:
    """Replace ``path`` atomically with ``data`` unless it holds these very bytes; whether it wrote.

    A file left as it was keeps its modification time and inode, so that whoever copies or
    watches the reports folder sees only the files whose content changed.
    """
    try:
        if path.is_file() and not path.is_symlink() and path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
    except OSError:
        pass  # unreadable: written again
    replace_atomically(path, lambda tmp: tmp.write_bytes(data))
    return True


# Characters Markdown would read as markup inside a table cell.
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_|<>\[\]])")


def markdown_cell(text: object) -> str:
    """``text`` as one Markdown table cell that shows as written: markup escaped, on one line."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", str(text)).replace("\n", " ")


def digest_frame(digest: hashlib._Hash, frame: pd.DataFrame) -> None:
    """Feed ``frame`` into ``digest``: its column names and types, and pandas' hash of each row
    (a fixed key, so the same in every run). Far cheaper than its CSV: a CSV of every plant's
    history took most of a quiet night's second in the annual report's digest."""
    digest.update("|".join(f"{c}:{t}" for c, t in frame.dtypes.items()).encode("utf-8"))
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:  # streamed: a chart PDF or the pack need not be read whole
        return hashlib.file_digest(handle, "sha256").hexdigest()


def files_made_from(manifest: Path, inputs: str, base: Path) -> dict[str, Path] | None:
    """The files a manifest (``record_made_from``) lists, when they were made from ``inputs`` (a
    digest of everything they show) and each is still there byte for byte as it was written;
    else None, and the caller makes them again.

    For files that cost seconds to make and whose bytes alone cannot say whether they are
    current (an XLSX holds the time it was saved; a chart's PDF its fonts' subsets).
    """
    try:
        made = json.loads(manifest.read_text(encoding="utf-8"))
        files = {name: base / path for name, path in made["files"].items()}
        if made["inputs"] == inputs and all(
            path.is_file() and _sha256(path) == made["sha256"][name] for name, path in files.items()
        ):
            return files
    except (OSError, ValueError, KeyError, TypeError):
        pass  # missing or unreadable: made again
    return None


def record_made_from(manifest: Path, inputs: str, files: Mapping[str, Path], base: Path) -> None:
    """Record (atomically) that ``files`` were made from ``inputs``, with each one's sha256; paths
    relative to ``base``, so that a copied or moved folder keeps its record."""
    record = {
        "inputs": inputs,
        "files": {name: Path(path).relative_to(base).as_posix() for name, path in files.items()},
        "sha256": {name: _sha256(Path(path)) for name, path in files.items()},
    }
    replace_atomically(manifest, lambda tmp: tmp.write_text(json.dumps(record, indent=1), encoding="utf-8"))


@dataclass(frozen=True)
class SheetLayout:
    """How a person reads a sheet: column widths (in characters), number formats by column
    position, wrapped text, and a bold header row that stays in view (frozen) when scrolling."""

    widths: Sequence[float] = ()
    number_formats: Mapping[int, str] = field(default_factory=dict)
    centred: Sequence[int] = ()
    wrap: bool = True


def write_xlsx(sheets: dict[str, pd.DataFrame], path: Path, layouts: Mapping[str, SheetLayout] | None = None) -> Path:
    """Write one sheet per frame, formula-safe, replacing ``path`` atomically.

    A sheet with a ``SheetLayout`` in ``layouts`` gets its widths, formats, wrap and frozen bold
    header; the others are written plain.
    """

    from openpyxl import Workbook  # slow to import; only XLSX outputs need it
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    storable = storable_in_a_worksheet

    def write(tmp: Path) -> None:
        # openpyxl's write-only mode streams rows: a report pack's ten thousand rows of figures
        # take a third of the time that pandas' cell-by-cell writer takes.
        workbook = Workbook(write_only=True)
        for sheet_name, frame in sheets.items():
            safe = neutralise_frame(frame)
            sheet = workbook.create_sheet(sheet_name[:31])
            layout = (layouts or {}).get(sheet_name)
            rows = (
                [storable(value) for value in row]
                for row in safe.astype(object).where(safe.notna(), None).itertuples(index=False)
            )
            if layout is None:
                sheet.append([storable(str(c)) for c in safe.columns])
                for row in rows:
                    sheet.append(row)
                continue
            for index, width in enumerate(layout.widths, start=1):
                sheet.column_dimensions[get_column_letter(index)].width = width
            sheet.freeze_panes = "A2"
            top = "top"
            header_font, header_fill = Font(bold=True), PatternFill("solid", fgColor="E8EEF4")
            header = []
            for column in safe.columns:
                cell = WriteOnlyCell(sheet, value=storable(str(column)))
                cell.font, cell.fill = header_font, header_fill
                cell.alignment = Alignment(wrap_text=True, vertical=top)
                header.append(cell)
            sheet.append(header)
            # One Alignment object per kind of column: openpyxl then stores one style for all cells.
            text_alignment = Alignment(wrap_text=layout.wrap, vertical=top)
            centred_alignment = Alignment(wrap_text=layout.wrap, vertical=top, horizontal="center")
            number_alignment = Alignment(vertical=top)
            formats = dict(layout.number_formats)
            centred = set(layout.centred)
            for row in rows:
                cells = []
                for index, value in enumerate(row):
                    cell = WriteOnlyCell(sheet, value=value)
                    if index in formats:
                        cell.number_format = formats[index]
                        cell.alignment = number_alignment
                    else:
                        cell.alignment = centred_alignment if index in centred else text_alignment
                    cells.append(cell)
                sheet.append(cells)
        workbook.save(tmp)

    replace_atomically(path, write)
    return path
