"""Writing tables that people open in spreadsheets: CSV and XLSX that never start a formula.

A delivered value such as ``=HYPERLINK(...)`` must come back out as text, not run in the
reader's Excel, so every text cell that starts a formula is prefixed with an apostrophe
(OWASP "CSV injection"). Numbers stay numbers.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

# A cell starting with one of these is read as a formula by Excel, LibreOffice or Sheets;
# tab and carriage return can smuggle one past a naive check.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(value: object) -> object:
    """The value, with a leading apostrophe where a text value would start a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text columns (and column names) never start a formula."""
    safe = frame.copy()
    for column in safe.columns:
        if not (pd.api.types.is_numeric_dtype(safe[column]) or pd.api.types.is_bool_dtype(safe[column])):
            safe[column] = safe[column].map(neutralise_formula)
    safe.columns = [neutralise_formula(str(c)) for c in safe.columns]
    return safe


def replace_atomically(path: Path, write) -> None:
    """Write through a temporary file in the same folder, then rename over ``path``.

    A reader (or a run killed half-way) then sees the old file or the new one, never half.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        write(Path(temporary))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """Write ``frame`` as UTF-8 CSV, formula-safe, replacing ``path`` atomically."""
    safe = neutralise_frame(frame)
    # repr-exact floats: numbers are written unrounded (contract 5).
    replace_atomically(path, lambda tmp: safe.to_csv(tmp, index=False, float_format=None, lineterminator="\n"))
    return path


def write_xlsx(sheets: dict[str, pd.DataFrame], path: Path) -> Path:
    """Write one sheet per frame, formula-safe, replacing ``path`` atomically."""

    def write(tmp: Path) -> None:
        with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
            for sheet_name, frame in sheets.items():
                neutralise_frame(frame).to_excel(writer, sheet_name=sheet_name[:31], index=False)

    replace_atomically(path, write)
    return path
