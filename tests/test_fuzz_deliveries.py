"""Hostile input: a plant can send anything, and a run never crashes or loads part of a file.

Hypothesis generates deliveries of the four monthly kinds as plants really break them: wrong and
mixed encodings, ragged rows, quoted newlines, formulas in cells, huge numbers, NaN and inf,
exponent notation, thousands separators, full-width digits, Excel serial dates, merged header
cells, duplicate headers, empty and truncated files, and benign oddities on top (BOM, CRLF,
blank lines, trailing commas, padded cells, extra columns, shuffled columns, Shift_JIS).
Each generated file knows what it should come to:

- accepted: every row is loaded, and the warehouse's exact quantity equals an independent
  ``Decimal`` reading of the text written (for an XLSX number cell: of the double Excel stores);
- rejected: the whole file, with a reason for each problem, naming the row and column that a
  person must fix where there is one; no raw row of the file is loaded;
- either (a single-byte Latin-1 text that happens to be valid Shift_JIS cannot be told from it):
  if accepted, every number and code is right.

Nothing may raise. Each example is a batch of files of one kind through the library's whole
ingest (``Ingest``: readers, Great Expectations suites, duplicate and storability checks, raw
insert and slices) in a transaction that is rolled back, with one Validator for the module.
The fixed corpus under ``tests/corpus`` (real-world shapes, see its README) goes through the
same checks, and a few end-to-end runs mix bad files with good ones through ``pipeline.run``.

At least 1,000 deliveries per run of the suite (``test_the_fuzz_saw_at_least_1000_deliveries``);
``ENVKPI_SOAK=1`` (``make soak``) runs ten times as many.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from helpers import PLANTS_HEADER, write_csv
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from envkpi.contract import KINDS
from envkpi.settings import MAX_COLUMNS, MAX_FIELD_CHARS, MAX_LINE_CHARS

SOAK = bool(os.environ.get("ENVKPI_SOAK"))
# Examples per kind; each example is a batch of FILES_PER_EXAMPLE deliveries.
EXAMPLES = 200 if SOAK else 25  # about 1,400 distinct deliveries a run, comfortably over 1,000
FILES_PER_EXAMPLE = (14, 16)  # Great Expectations costs the same for one file as for fifteen
CORPUS = Path(__file__).resolve().parent / "corpus"
PROJECT_DIR = Path(__file__).resolve().parents[1]

PLANTS = ["P1", "P2", "工場A"]
PERIODS = [p.strftime("%Y-%m") for p in pd.period_range("2017-04", "2018-03", freq="M")]
COLUMNS = {
    "energy": ["plant_id", "period", "energy_type", "quantity", "unit"],
    "production": ["plant_id", "period", "quantity", "unit"],
    "waste": ["plant_id", "period", "waste_type", "treatment", "quantity", "unit"],
    "chemicals": ["plant_id", "period", "substance", "cas_number", "medium", "quantity", "unit"],
}
FREE_TEXT = {"waste": "waste_type", "chemicals": "substance"}
# Where a wrong unit shows: against the unit, for energy too (a known energy type in a unit it has
# no factor in is the unit's problem, with the valid units listed).
UNIT_COLUMN = {"energy": "unit", "production": "unit", "waste": "unit", "chemicals": "unit"}
FACTOR_PAIRS = sorted(
    {
        (row.energy_type, row.unit)
        for row in pd.read_csv(
            PROJECT_DIR / "data" / "reference" / "energy_factors.csv", dtype=str, keep_default_na=False
        ).itertuples()
        if row.valid_from_fy in ("", "2017") or (row.valid_from_fy and int(row.valid_from_fy) <= 2017)
        if row.valid_to_fy == "" or int(row.valid_to_fy) >= 2017
    }
)
TREATMENTS = ["recycled", "valuable", "incinerated", "landfilled", "other"]
MEDIA = ["air", "water", "soil", "landfill"]
UNITS = {"production": ["t", "kg"], "waste": ["t", "kg"], "chemicals": ["kg", "g", "t"]}
NASTY_TEXT = [
    "sludge",
    "汚泥",
    "廃プラスチック",
    "トルエン",
    '=HYPERLINK("http://example.com/x","click")',
    "@SUM(A1:A9)",
    "+81 3 1234",
    "-2+3",
    "wet\nsludge",
    "wet\r\nsludge",
    "sludge, wet",
    'pipe 5" steel',
    "'quoted",
    "ｶﾀｶﾅ",
    "\tleading tab",
    "=1+1",
]
# Rejected quantity texts, each a way a real file says something that is not a plain number.
BAD_QUANTITIES = [
    "1,234",
    "1 234",
    "1.234,5",
    "1'234",
    "NaN",
    "nan",
    "inf",
    "-inf",
    "Infinity",
    "=1+2",
    "=SUM(A1:A3)",
    "１２３",
    "１２．５",
    "1e400",
    "9" * 40,
    "-5",
    "n/a",
    "0x1F",
    "1_000",
    "0e999999",
    "12a",
    "¥100",
    "1.2.3",
    "--1",
    "1e",
    ".",
    "e5",
    "5%",
]
BAD_PERIODS = [
    "42826",
    "42826.0",
    "2017/04",
    "2017-4",
    "Apr-17",
    "2017-04-01",
    "２０１７－０４",
    "201704",
    "2017-13",
    "2017-00",
    "H29-04",
    "17-04",
    "FY2017",
    "2017-04-01T00:00:00",
]
# The faults the generator knows. Issue 18 added: invisible characters in a key, implausible
# periods, a quantity just over 10^15 that rounds to it as a float, cells and lines over the hard
# limits, too many columns, a table starting in column B, a stray quote (`"12"3`), and in XLSX a
# stale <dimension>, percent-formatted cells (both accepted) and data on the second sheet.
CSV_FAULTS = (
    "utf16",
    "mixed_encoding",
    "unterminated_quote",
    "newline_in_quantity",
    "nul_byte",
    "stray_quote",
    "long_line",
)
XLSX_FAULTS = (
    "truncated",
    "merged_header",
    "merged_plant_cells",
    "formula_cell",
    "serial_date",
    "day_date",
    "bool_quantity",
    "csv_named_xlsx",
    "stale_dimension",
    "percent_cell",
    "data_on_second_sheet",
)
SHARED_FAULTS = (
    "quantity",
    "period",
    "plant",
    "empty",
    "unit",
    "duplicate_key",
    "duplicate_header",
    "missing_column",
    "ragged_long",
    "ragged_short",
    "header_only",
    "zero_bytes",
    "invisible_key",
    "implausible_period",
    "over_limit_exact",
    "long_field",
    "wide_header",
    "column_b",
)
# Faults that a file survives: it must load with the values a person sees.
ACCEPTED_FAULTS = ("stale_dimension", "percent_cell")
# What the fuzz saw, for the last test: outcomes, and which faults were generated.
SEEN: dict[str, int] = {}


@dataclass
class Delivery:
    """A generated file and what it should come to."""

    kind: str
    name: str
    content: bytes
    expect: str  # "accept", "reject" or "either"
    label: str  # what was done to it, for failure messages
    fault: str  # the fault generated ("none" for a file that should load)
    # accept: (spreadsheet row, {column: trimmed text}, exact quantity) per row
    rows: list[tuple[int, dict[str, str], Decimal]] = field(default_factory=list)
    # reject: the (row, column) a rejection must name; row None for a file-level problem
    problem: tuple[int | None, str] | None = None


# --- generating deliveries ------------------------------------------------------------------


def quantity_text(draw, quantity: Decimal) -> str:
    """One of the ways a plain number may be written, all accepted with the same value."""
    plain = format(quantity, "f")
    style = draw(st.sampled_from(["plain", "plain", "exponent", "leading_zeros", "plus", "dot"]))
    if style == "exponent":
        sign, digits, exponent = quantity.normalize().as_tuple()
        mantissa = "".join(map(str, digits))
        shown = mantissa[0] + ("." + mantissa[1:] if len(mantissa) > 1 else "")
        power = exponent + len(mantissa) - 1
        marker = draw(st.sampled_from(["e", "E"]))
        return f"{shown}{marker}{'+' if power >= 0 and draw(st.booleans()) else ''}{power}"
    if style == "leading_zeros":
        return "00" + plain
    if style == "plus":
        return "+" + plain
    if style == "dot":
        if quantity == quantity.to_integral_value():
            return format(quantity.to_integral_value(), "f") + "."
        if quantity < 1:
            return plain[1:]  # ".5"
    return plain


@st.composite
def deliveries(draw, kind: str) -> Delivery:
    fmt = draw(st.sampled_from(["csv", "csv", "csv", "xlsx"]))
    count = draw(st.integers(1, 5))
    keys = draw(
        st.lists(
            st.tuples(st.sampled_from(PLANTS), st.sampled_from(PERIODS), st.integers(0, 3)),
            min_size=count,
            max_size=count,
            unique=True,
        )
    )
    records: list[dict[str, object]] = []
    for plant, period, variant in keys:
        quantity = Decimal(draw(st.integers(0, 10**12))).scaleb(-draw(st.integers(0, 6)))
        row: dict[str, object] = {"plant_id": plant, "period": period, "quantity": quantity}
        if kind == "energy":
            row["energy_type"], row["unit"] = FACTOR_PAIRS[variant % len(FACTOR_PAIRS)]
            # keys stay unique: one energy type per (plant, period, variant)
        elif kind == "production":
            row["unit"] = draw(st.sampled_from(UNITS[kind]))
        elif kind == "waste":
            row["waste_type"] = f"{draw(st.sampled_from(NASTY_TEXT))} #{variant}"
            row["treatment"] = draw(st.sampled_from(TREATMENTS))
            row["unit"] = draw(st.sampled_from(UNITS[kind]))
        else:
            row["substance"] = f"{draw(st.sampled_from(NASTY_TEXT))} #{variant}"
            row["cas_number"] = draw(st.sampled_from(["108-88-3", "", "=1+1", "50-00-0"]))
            row["medium"] = draw(st.sampled_from(MEDIA))
            row["unit"] = draw(st.sampled_from(UNITS[kind]))
        records.append(row)
    keyed: dict[tuple, dict] = {}
    for record in records:  # one row per key of the kind: rows repeating a key must agree (contract 3)
        keyed.setdefault(tuple(record.get(c) for c in KINDS[kind].row_key), record)
    records = list(keyed.values())
    layout = draw(
        st.fixed_dictionaries(
            {
                "shuffle": st.booleans(),
                "extra": st.sampled_from([None, "comment", "備考", "Quantity_note"]),
                "header_case": st.booleans(),
                "pad": st.booleans(),
                "blank_after": st.sets(st.integers(0, 5), max_size=2),
                "trailing_comma": st.booleans(),
                "repeat": st.booleans(),
                "ideographic_pad": st.booleans(),
                "encoding": st.sampled_from(["utf-8", "utf-8-sig", "cp932", "utf-8", "latin-1"]),
                "newline": st.sampled_from(["\r\n", "\n", "\r\n"]),
                "numbers_as": st.sampled_from(["number", "text"]),
                "period_as": st.sampled_from(["text", "date"]),
            }
        )
    )
    bad = draw(
        st.sampled_from(
            [None] * 12 + list(SHARED_FAULTS) + ["quantity"] + list(CSV_FAULTS if fmt == "csv" else XLSX_FAULTS)
        )
    )
    bad_row = draw(st.integers(0, len(records) - 1))
    bad_value = draw(st.sampled_from(BAD_QUANTITIES if bad == "quantity" else BAD_PERIODS))
    texts = {k: quantity_text(draw, r["quantity"]) for k, r in enumerate(records)}
    name = f"{kind}_{draw(st.sampled_from(['P1', 'all', '工場A 2017', 'x..y', 'data (1)']))}"
    return render(kind, fmt, records, texts, layout, bad, bad_row, bad_value, name)


def render(kind, fmt, records, texts, layout, bad, bad_row, bad_value, name) -> Delivery:
    """The file's bytes and what it should come to."""
    columns = list(COLUMNS[kind])
    label = f"{fmt} {kind}, layout {layout}, bad {bad!r} at row index {bad_row} ({bad_value!r})"
    if layout["shuffle"]:
        columns = columns[1:] + columns[:1]
    header = list(columns) + ([layout["extra"]] if layout["extra"] else [])
    shown_header = [h.upper() if layout["header_case"] and i % 2 else h for i, h in enumerate(header)]
    if layout["pad"]:
        shown_header = [f" {h} " for h in shown_header]
    if bad == "ragged_short":
        layout = layout | {"trailing_comma": False}  # a trailing comma would make the short row whole

    encoding = layout["encoding"] if fmt == "csv" else "xlsx"
    latin = encoding == "latin-1"
    cells: list[list[object]] = []
    expected: list[tuple[int, dict[str, str], Decimal]] = []
    formula_problem = None
    for index, row in enumerate(records):
        values: dict[str, object] = {c: row.get(c, "") for c in columns}
        values["quantity"] = texts[index]
        if fmt == "xlsx" and layout["numbers_as"] == "number":
            quantity = row["quantity"]
            values["quantity"] = int(quantity) if quantity == quantity.to_integral_value() else float(quantity)
        if fmt == "xlsx" and layout["period_as"] == "date":
            year, month = map(int, row["period"].split("-"))
            values["period"] = dt.datetime(year, month, 1)
        if latin and kind in FREE_TEXT:
            values[FREE_TEXT[kind]] = f"Müll #{index}"
        if encoding == "cp932" and kind in FREE_TEXT:
            values[FREE_TEXT[kind]] = f"汚泥ｶﾀｶﾅ #{index}"
        if layout["pad"] and fmt == "csv":
            values = {c: f"  {v} " if isinstance(v, str) and v else v for c, v in values.items()}
        if layout["ideographic_pad"]:
            values["plant_id"] = f"{values['plant_id']}\u3000"  # a full-width space typed after the id
        key = {c: str(values[c]).strip() for c in columns if c not in ("quantity", "period")}
        key["period"] = row["period"]
        if latin and kind in FREE_TEXT:
            del key[FREE_TEXT[kind]]  # garbled by design (see the module docstring); numbers and codes are right
        if fmt == "xlsx":
            # XML normalises line ends: a cell's "\r\n" reads back as "\n", as Excel shows it.
            key = {c: v.replace("\r\n", "\n").replace("\r", "\n") for c, v in key.items()}
            for column in columns:  # a text starting with "=" in a cell is a formula; Excel caches no value here
                if isinstance(values[column], str) and values[column].startswith("="):
                    if column == "cas_number":
                        key[column] = ""  # optional: the formula's cell reads as empty
                    elif formula_problem is None:
                        formula_problem = (index, column)
        cells.append([values[c] for c in columns] + ([f'note {index} =1+1, "x"'] if layout["extra"] else []))
        shown = values["quantity"]
        expected.append((index, key, Decimal(repr(shown)) if isinstance(shown, float) else row["quantity"]))
    if layout["repeat"]:  # an identical row repeated is kept in the raw layer and counted once
        cells.append(list(cells[-1]))
        expected.append((len(cells) - 1, expected[-1][1], expected[-1][2]))

    expect, problem = ("either" if latin else "accept"), None
    quantity_at = columns.index("quantity")
    target = cells[bad_row]
    if bad == "quantity":
        target[quantity_at] = bad_value
        problem = (bad_row, "quantity")
    elif bad == "period":
        target[columns.index("period")] = bad_value
        problem = (bad_row, "period")
    elif bad == "plant":
        target[columns.index("plant_id")] = "P9"
        problem = (bad_row, "plant_id")
    elif bad == "empty":
        column = ["plant_id", "quantity", "unit", "period"][bad_row % 4]
        target[columns.index(column)] = ""
        problem = (bad_row, UNIT_COLUMN[kind] if column == "unit" else column)
    elif bad == "unit":
        target[columns.index("unit")] = "furlong"
        problem = (bad_row, UNIT_COLUMN[kind])
    elif bad == "duplicate_key":
        clash = list(target)
        clash[quantity_at] = "777.25" if target[quantity_at] != "777.25" else "1"
        cells.append(clash)
        problem = (len(cells) - 1, "quantity")
    elif bad == "ragged_long":
        target.append("surplus")
        problem = (bad_row, "")
    elif bad == "ragged_short":
        del target[-1]
        problem = (bad_row, "") if fmt == "csv" else None
    elif bad == "newline_in_quantity":
        target[quantity_at] = "12\n34"
        problem = (bad_row, "quantity")
    elif bad == "merged_plant_cells":
        problem = (1, "plant_id") if len(cells) > 1 else None  # the second data row's plant cell is merged away
    elif bad == "formula_cell":
        target[quantity_at] = "=1+2"
        problem = (bad_row, "quantity")
    elif bad in ("serial_date", "day_date"):
        year, month = map(int, str(records[bad_row]["period"]).split("-"))
        serial = (dt.date(year, month, 1) - dt.date(1899, 12, 30)).days  # as Excel counts days
        target[columns.index("period")] = serial if bad == "serial_date" else dt.datetime(year, month, 15)
        problem = (bad_row, "period")
    elif bad == "bool_quantity":
        target[quantity_at] = True
        problem = (bad_row, "quantity")
    elif bad == "invisible_key":
        target[columns.index("plant_id")] = f"{str(target[columns.index('plant_id')]).strip()}\u200b"
        problem = (bad_row, "plant_id")
    elif bad == "implausible_period":
        target[columns.index("period")] = "0000-01" if bad_row % 2 else "9999-12"
        problem = (bad_row, "period")
    elif bad == "over_limit_exact":
        target[quantity_at] = "1000000000000000.05"  # 1e15 exactly as a float
        problem = (bad_row, "quantity")
    elif bad == "long_field":
        target[columns.index("plant_id")] = "P" * (MAX_FIELD_CHARS + 1)
        problem = (bad_row, "plant_id")
    elif bad == "long_line":
        target[columns.index("plant_id")] = "P" * (MAX_LINE_CHARS + 1)
        problem = ("file", "")  # the line's number (a quoted line break before it shifts it from the row)
    elif bad == "stray_quote":
        target[quantity_at] = "STRAY_QUOTE"  # written as "12"3 by render_csv
        problem = ("file", "")
    elif bad == "wide_header":
        shown_header.extend([""] * MAX_COLUMNS + ["last"])
        problem = ("header", "")
    elif bad == "column_b":
        problem = ("header", "column 2")
    elif bad == "data_on_second_sheet":
        problem = ("header", "")
    elif bad == "percent_cell":
        for position, (index, key, exact) in enumerate(expected):  # a number cell shows 100 times its value
            if isinstance(cells[index][quantity_at], (int, float)) and not isinstance(cells[index][quantity_at], bool):
                expected[position] = (index, key, exact * 100)
    elif bad == "duplicate_header":
        shown_header.append(shown_header[0])
        for line in cells:
            line.append("dup")
        problem = ("header", header[0])
    elif bad == "missing_column":
        del shown_header[quantity_at]
        for line in cells:
            del line[quantity_at]
        problem = ("header", "quantity")
    elif bad is not None:
        problem = ("file", "")  # the file as a whole: encoding, binary, truncated, empty ...
    if bad == "column_b":  # an empty column A before the table
        shown_header = [None if fmt == "xlsx" else "", *shown_header]
        cells = [[None if fmt == "xlsx" else "", *line] for line in cells]
    if (
        bad is not None
        and bad not in ACCEPTED_FAULTS
        and not (bad == "ragged_short" and fmt == "xlsx")
        and not (bad == "merged_plant_cells" and problem is None)
    ):
        expect = "reject"
    elif bad == "ragged_short":  # XLSX has no ragged rows: the last cell is simply empty
        expect = "reject" if header[-1] in COLUMNS[kind] else expect
        if expect == "reject":
            problem = (bad_row, UNIT_COLUMN[kind] if header[-1] == "unit" else header[-1])
        else:
            expected[bad_row][1].pop(header[-1], None)
    if formula_problem is not None and expect != "reject":
        expect, problem = "reject", formula_problem
    if latin and expect == "reject" and problem not in (None, ("file", "")):
        problem = None  # the encoding may reject the file before its values are checked

    # Row numbers as a spreadsheet shows them: the header is 1, blank lines count.
    blank_after = {b for b in layout["blank_after"] if b < len(cells) - 1}
    lines: list[list[object] | None] = [shown_header]
    row_of: dict[int, int] = {}
    for index, line in enumerate(cells):
        lines.append(line)
        row_of[index] = len(lines)
        if index in blank_after:
            lines.append(None)
    if problem == ("file", ""):
        problem = (None, "")
    elif problem is not None:
        problem = (1, problem[1]) if problem[0] == "header" else (row_of[problem[0]], problem[1])
    rows = [(row_of[i], key, exact) for i, key, exact in expected]
    if bad == "header_only":
        lines = [shown_header]
    file_name = f"{name}.{'xlsx' if fmt == 'xlsx' else 'csv'}"
    content = render_csv(lines, layout, encoding, bad) if fmt == "csv" else render_xlsx(lines, bad, row_of)
    if bad == "zero_bytes":
        content = b""
    return Delivery(kind, file_name, content, expect, label, f"{fmt}:{bad or 'none'}", rows, problem)


def render_csv(lines, layout, encoding, bad) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=layout["newline"])
    for line in lines:
        if line is None:
            buffer.write(layout["newline"])
            continue
        line = ["" if v is None else str(v) for v in line]
        writer.writerow(line + ([""] if layout["trailing_comma"] else []))
    text = buffer.getvalue()
    if bad == "unterminated_quote":
        text += '"P1,2017-04,never closed' + layout["newline"]
    if bad == "stray_quote":
        text = text.replace("STRAY_QUOTE", '"12"3')
    if bad == "utf16":
        return text.encode("utf-16")
    if bad == "mixed_encoding":
        return text.encode("utf-8") + "P1,汚泥,工場\r\n".encode("cp932")
    # A character the encoding lacks (a bad value such as "¥100" in Shift_JIS) becomes "?", as Excel saves it.
    data = text.encode(encoding, errors="strict" if encoding.startswith("utf") else "replace")
    if bad == "nul_byte":
        data = data[: len(data) // 2] + b"\x00" + data[len(data) // 2 :]
    return data


def render_xlsx(lines, bad, row_of) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    if bad == "data_on_second_sheet":  # a sheet of code lists first, as templates have
        sheet.title = "codes"
        for line in (["unit", "meaning"], ["t", "tonnes"], ["kg", "kilograms"]):
            sheet.append(line)
        sheet = workbook.create_sheet("data")
    for line in lines:
        sheet.append([] if line is None else line)
    if bad == "percent_cell":
        at = 1 + [str(v).strip().casefold() for v in lines[0]].index("quantity")
        for row in sheet.iter_rows(min_row=2, min_col=at, max_col=at):
            row[0].number_format = "0.00%"
    if bad == "merged_header":
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=2)
    if bad == "merged_plant_cells" and len(row_of) > 1:  # the first two data rows share one plant cell
        column = 1 + [str(v).strip().casefold() for v in lines[0]].index("plant_id")
        sheet.merge_cells(start_row=row_of[0], start_column=column, end_row=row_of[1], end_column=column)
    workbook.create_sheet("notes").append(["ignored", "second sheet"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    data = buffer.getvalue()
    if bad == "stale_dimension":  # a writer that never updates <dimension>: it says A1:B2 whatever the sheet holds
        data = with_stale_dimension(data, "A1:B2")
    if bad == "truncated":
        return data[: len(data) * 2 // 3]
    if bad == "csv_named_xlsx":
        return b"plant_id,period,quantity,unit\r\nP1,2017-04,1,t\r\n"
    return data


def with_stale_dimension(data: bytes, ref: str) -> bytes:
    """The workbook with its first sheet's <dimension ref> replaced."""
    import re
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    parts["xl/worksheets/sheet1.xml"] = re.sub(
        rb'<dimension ref="[^"]*"', f'<dimension ref="{ref}"'.encode(), parts["xl/worksheets/sheet1.xml"]
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for name, part in parts.items():
            target.writestr(name, part)
    return buffer.getvalue()


# --- checking them through the library ------------------------------------------------------


class Checker:
    """An in-memory warehouse that knows the plants, and one Great Expectations validator."""

    def __init__(self, root: Path):
        from envkpi.ingest.deliveries import Ingest, discover
        from envkpi.settings import Settings
        from envkpi.validation.validator import Validator
        from envkpi.warehouse.database import create_schema, load_reference, rebuild_conversion

        self.root = root
        self.settings = Settings().with_overrides(
            landing=root / "landing",
            warehouse=root / "unused.duckdb",
            reports=root / "reports",
            published=root / "published",
        )
        self.validator = Validator(self.settings.expectations, None)
        self.connection = duckdb.connect()
        create_schema(self.connection)
        load_reference(self.connection, self.settings)
        rebuild_conversion(self.connection)
        plants = write_csv(
            root / "plants" / "plants.csv", PLANTS_HEADER, [[p, f"Plant {p}", "BU", "JP", "", ""] for p in PLANTS]
        )
        files, _ = discover(plants.parent)
        summary = Ingest(
            self.connection, "plants", pd.Timestamp("2018-05-01"), 4, lambda new_bytes: self.validator
        ).run(files, [])
        assert summary.loaded == ["plants.csv"], summary.problems
        self._count = itertools.count()

    def check(self, batch: list[Delivery]) -> None:
        from envkpi.ingest.deliveries import Ingest, discover
        from envkpi.warehouse.database import rebuild_derived

        folder = self.root / f"example-{next(self._count)}"
        unique: dict[bytes, Delivery] = {}
        for delivery in batch:
            unique.setdefault(delivery.content, delivery)  # the same bytes twice are one delivery
        named: dict[str, Delivery] = {}
        for position, delivery in enumerate(unique.values()):
            relative = f"{position:02d}/{delivery.name}"
            (folder / relative).parent.mkdir(parents=True, exist_ok=True)
            (folder / relative).write_bytes(delivery.content)
            named[relative] = delivery
        for delivery in named.values():
            SEEN["deliveries"] = SEEN.get("deliveries", 0) + 1
            SEEN[delivery.fault] = SEEN.get(delivery.fault, 0) + 1
        for relative, delivery in named.items():
            if relative.endswith(".csv"):
                readers_agree(folder / relative, delivery)
        self.connection.execute("begin transaction")
        try:
            files, ignored = discover(folder)
            assert not ignored, ignored
            summary = Ingest(
                self.connection, "fuzz", pd.Timestamp("2018-05-01"), 4, lambda new_bytes: self.validator
            ).run(files, ignored)
            rebuild_derived(self.connection, self.settings)  # every accepted value casts and sums
            for relative, delivery in named.items():
                self.check_one(relative, delivery, summary)
        finally:
            self.connection.execute("rollback")
            shutil.rmtree(folder)

    def check_one(self, relative: str, delivery: Delivery, summary) -> None:
        problems = [p for file, p in summary.problems if file == relative]
        about = f"{relative}: {delivery.label}\nproblems: {problems}"
        kind = delivery.kind
        raw = self.connection.execute(
            f"select r.* from raw_{kind} r join delivery d using (delivery_id) "  # kind: a contract name
            "where d.source_file = ? order by r.source_row",
            [relative],
        ).df()
        outcome = "rejected" if relative in summary.rejected else "loaded"
        SEEN[outcome] = SEEN.get(outcome, 0) + 1
        if relative in summary.rejected:
            assert delivery.expect in ("reject", "either"), f"rejected, but should load: {about}"
            assert problems and all(p.reason.strip() for p in problems), about
            assert raw.empty, f"a rejected file left raw rows: {about}"
            if delivery.problem is not None and delivery.problem[0] is not None:  # else: the file as a whole
                row, column = delivery.problem
                assert any(p.row == row and p.column == column for p in problems), (
                    f"no problem names row {row}, column {column!r}: {about}"
                )
            return
        assert relative in summary.loaded, f"neither loaded nor rejected: {about}"
        assert delivery.expect in ("accept", "either"), f"loaded, but should be rejected: {about}"
        assert not problems, about
        assert raw.source_row.tolist() == [row for row, _, _ in delivery.rows], about
        stored = self.connection.execute(
            f"select source_row, cast(quantity as decimal(38, 10)) as quantity, month_start(period) as month "
            f"from raw_{kind} r join delivery d using (delivery_id) where d.source_file = ? order by source_row",
            [relative],
        ).fetchall()
        for (row, key, exact), record, (_, quantity, _) in zip(delivery.rows, raw.to_dict("records"), stored):
            assert quantity == exact.quantize(Decimal("1e-10")), f"row {row}: {quantity} != {exact}: {about}"
            for column, text in key.items():
                stored_text = "" if record[column] is None or pd.isna(record[column]) else record[column]
                assert stored_text == text, f"row {row}, {column}: {stored_text!r} != {text!r}: {about}"


def readers_agree(path: Path, delivery: Delivery) -> None:
    """The batch reader, where it takes a file, reads it exactly as the careful reader does."""
    from envkpi.ingest.readers import _plain_csv, _read_plain_batch, read_delivery

    plain = _plain_csv(path.name, path.read_bytes())
    batch = _read_plain_batch(delivery.kind, [plain]) if plain is not None else None
    if batch is None:
        return  # the careful reader decides alone
    fast, careful = batch[path.name], read_delivery(path, delivery.kind)
    assert fast.readable == careful.readable, f"{path.name}: {delivery.label}: {careful.problems}"
    if fast.readable:
        assert fast.frame.to_dict("list") == careful.frame.to_dict("list"), f"{path.name}: {delivery.label}"


@pytest.fixture(scope="module")
def checker(tmp_path_factory) -> Checker:
    return Checker(tmp_path_factory.mktemp("fuzz"))


# Derandomized (the same examples on every run); no shrinking: a failing batch is printed as it is.
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)


def batches(kind: str):
    return st.lists(deliveries(kind), min_size=FILES_PER_EXAMPLE[0], max_size=FILES_PER_EXAMPLE[1])


@FUZZ_SETTINGS
@given(batch=batches("energy"))
def test_fuzzed_energy_deliveries_are_loaded_right_or_rejected_whole(checker, batch):
    checker.check(batch)


@FUZZ_SETTINGS
@given(batch=batches("production"))
def test_fuzzed_production_deliveries_are_loaded_right_or_rejected_whole(checker, batch):
    checker.check(batch)


@FUZZ_SETTINGS
@given(batch=batches("waste"))
def test_fuzzed_waste_deliveries_are_loaded_right_or_rejected_whole(checker, batch):
    checker.check(batch)


@FUZZ_SETTINGS
@given(batch=batches("chemicals"))
def test_fuzzed_chemicals_deliveries_are_loaded_right_or_rejected_whole(checker, batch):
    checker.check(batch)


def test_the_fuzz_saw_at_least_1000_deliveries():
    """Runs after the four fuzz tests (a module runs in one worker, in file order)."""
    if not SEEN:
        pytest.skip("run together with the fuzz tests above")
    assert SEEN["deliveries"] >= (10_000 if SOAK else 1_000), SEEN
    assert SEEN["loaded"] >= SEEN["deliveries"] // 5 and SEEN["rejected"] >= SEEN["deliveries"] // 3, SEEN


def test_every_fault_the_generator_knows_once_each(checker):
    """Whatever Hypothesis draws, each fault of the generator is checked on every run."""
    layout = {
        "shuffle": False,
        "extra": "備考",
        "header_case": True,
        "pad": False,
        "blank_after": {0},
        "trailing_comma": False,
        "repeat": False,
        "ideographic_pad": False,
        "encoding": "utf-8",
        "newline": "\r\n",
        "numbers_as": "number",
        "period_as": "date",
    }
    records = [
        {
            "plant_id": p,
            "period": m,
            "quantity": Decimal(q),
            "substance": f"toluene #{i}",
            "cas_number": "108-88-3",
            "medium": "air",
            "unit": "kg",
        }
        for i, (p, m, q) in enumerate([("P1", "2017-04", "12.5"), ("P2", "2017-05", "0"), ("工場A", "2017-06", "3")])
    ]
    texts = {i: format(r["quantity"], "f") for i, r in enumerate(records)}
    batch = []
    for fmt, faults in (("csv", (None, *SHARED_FAULTS, *CSV_FAULTS)), ("xlsx", (None, *SHARED_FAULTS, *XLSX_FAULTS))):
        for fault in faults:
            batch.append(
                render(
                    "chemicals",
                    fmt,
                    records,
                    texts,
                    layout,
                    fault,
                    1,
                    "NaN" if fault == "quantity" else "42826",
                    f"chemicals_{fmt}_{fault}",
                )
            )
    # Accepted: the two files without a fault, XLSX ragged_short (an empty extra cell), and the
    # XLSX faults a file survives (a stale dimension, percent cells).
    assert sum(d.expect == "reject" for d in batch) == len(batch) - 2 - 1 - len(ACCEPTED_FAULTS)
    checker.check(batch)


# --- every listed form, once each, whatever the fuzz drew -----------------------------------


def production_file(name: str, quantity: object, period: object = "2017-05", fmt: str = "csv") -> bytes:
    rows = [["P1", "2017-04", "10", "t"], ["P1", period, quantity, "t"], ["P2", "2017-04", "7", "t"]]
    if fmt == "xlsx":
        from openpyxl import Workbook

        workbook = Workbook()
        for row in [["plant_id", "period", "quantity", "unit"], *rows]:
            workbook.active.append(row)
        buffer = io.BytesIO()
        workbook.save(buffer)
        return buffer.getvalue()
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([["plant_id", "period", "quantity", "unit"], *rows])
    return buffer.getvalue().encode("utf-8")


def test_every_listed_bad_number_and_period_is_rejected_naming_row_3(checker):
    batch = [
        Delivery(
            "production",
            f"production_q{i}.csv",
            production_file("", value),
            "reject",
            f"quantity {value!r}",
            "listed",
            problem=(3, "quantity"),
        )
        for i, value in enumerate(BAD_QUANTITIES)
    ]
    batch += [
        Delivery(
            "production",
            f"production_p{i}.csv",
            production_file("", "5", value),
            "reject",
            f"period {value!r}",
            "listed",
            problem=(3, "period"),
        )
        for i, value in enumerate(BAD_PERIODS)
    ]
    # Excel's own serial number for 2017-05-01 in a number cell, and a date that is not a month.
    batch += [
        Delivery(
            "production",
            "production_serial.xlsx",
            production_file("", 5, 42856, "xlsx"),
            "reject",
            "serial date",
            "listed",
            problem=(3, "period"),
        ),
        Delivery(
            "production",
            "production_day.xlsx",
            production_file("", 5, dt.datetime(2017, 5, 15), "xlsx"),
            "reject",
            "day date",
            "listed",
            problem=(3, "period"),
        ),
    ]
    checker.check(batch)


NUMBER_FORMS = [
    ("1.5e3", "1500"),
    ("1.5E+3", "1500"),
    ("15e-1", "1.5"),
    ("1E0", "1"),
    ("+12", "12"),
    ("0012.50", "12.5"),
    ("5.", "5"),
    (".25", "0.25"),
    ("  7  ", "7"),
    ("0", "0"),
    ("-0", "0"),
    ("1000000000000000", "1000000000000000"),
    ("0.0000000001", "0.0000000001"),
    ("123456789012345.1234567891", "123456789012345.1234567891"),
]


def test_every_listed_number_form_is_loaded_exactly(checker):
    checker.check(
        [
            Delivery(
                "production",
                f"production_ok{i}.csv",
                production_file("", text),
                "accept",
                text,
                "listed",
                rows=[
                    (2, {"plant_id": "P1"}, Decimal("10")),
                    (3, {"plant_id": "P1"}, Decimal(exact)),
                    (4, {"plant_id": "P2"}, Decimal("7")),
                ],
            )
            for i, (text, exact) in enumerate(NUMBER_FORMS)
        ]
    )


# --- the corpus of real-world files ---------------------------------------------------------


def corpus_deliveries() -> list[Delivery]:
    expected = json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))
    found = []
    for name, what in sorted(expected.items()):
        kind = name.split("_")[0]
        if what["expect"] == "accept":
            rows = [(row, {"plant_id": "P1"} | keys, Decimal(quantity)) for row, quantity, keys in what["rows"]]
            found.append(Delivery(kind, name, (CORPUS / name).read_bytes(), "accept", name, "corpus", rows))
        else:
            found.append(
                Delivery(
                    kind,
                    name,
                    (CORPUS / name).read_bytes(),
                    "reject",
                    name,
                    "corpus",
                    problem=(what["row"], what["column"]),
                )
            )
    return found


def test_the_corpus_lists_every_file_it_holds():
    expected = json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))
    held = {p.name for p in CORPUS.iterdir() if p.suffix in (".csv", ".xlsx")}
    assert held == set(expected) and len(held) >= 25


def test_every_corpus_file_is_loaded_right_or_rejected_with_its_reason(checker):
    checker.check(corpus_deliveries())


# --- whole runs: bad files among good ones --------------------------------------------------


def run_mixed(root: Path, bad: list[Delivery]) -> None:
    """A landing with a plants file, good files of every kind, and ``bad``: the good load, the bad
    are rejected whole (no raw row), the run completes and its reports say so."""
    from helpers import Landing

    landing = Landing(root)
    landing.plants([[p, f"Plant {p}", "BU", "JP", "", ""] for p in PLANTS])
    good = {
        "energy_good.csv": landing.energy("energy_good.csv", [["P1", m, "electricity", "100", "kWh"] for m in PERIODS]),
        "production_good.csv": landing.production("production_good.csv", [["P1", m, "10", "t"] for m in PERIODS]),
        "waste_good.csv": landing.waste("waste_good.csv", [["P1", m, "sludge", "recycled", "1", "t"] for m in PERIODS]),
        "chemicals_good.csv": landing.chemicals(
            "chemicals_good.csv", [["P1", m, "toluene", "", "air", "2", "kg"] for m in PERIODS]
        ),
    }
    names = []
    for position, delivery in enumerate(bad):
        relative = f"bad/{position:02d}_{delivery.kind}/{delivery.name}"
        (landing.path / relative).parent.mkdir(parents=True, exist_ok=True)
        (landing.path / relative).write_bytes(delivery.content)
        names.append(relative)
    result = landing.run()
    assert set(result.ingest.loaded) == {"plants.csv", *good}, result.ingest.problems
    assert set(result.ingest.rejected) == set(names), result.ingest.problems
    rejections = landing.rejections()
    assert set(rejections.file) == set(names) and (rejections.reason.str.len() > 0).all()
    for kind in COLUMNS:
        sources = landing.query(
            f"select distinct d.source_file from raw_{kind} r join delivery d using (delivery_id)"
        ).source_file
        assert set(sources) == {f"{kind}_good.csv"}, f"raw {kind} rows from a rejected file: {set(sources)}"
    # 12 months x 100 kWh x 0.00976 GJ/kWh over 12 x 10 t: the bad files changed no figure.
    assert landing.kpi("energy_intensity", 2017).value == pytest.approx(0.0976, rel=1e-12)


def test_a_run_with_every_rejected_corpus_file_among_good_ones_completes(tmp_path):
    run_mixed(tmp_path, [d for d in corpus_deliveries() if d.expect == "reject"])


@settings(
    max_examples=20 if SOAK else 3,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
@given(
    bad=st.lists(
        st.one_of(*(deliveries(kind) for kind in COLUMNS)).filter(lambda d: d.expect == "reject"),
        min_size=3,
        max_size=6,
        unique_by=lambda d: d.content,
    )
)
def test_runs_with_fuzzed_bad_files_among_good_ones_load_the_good_and_reject_the_bad_whole(bad):
    with tempfile.TemporaryDirectory() as root:
        run_mixed(Path(root), bad)


# --- file systems: names as bytes, unreadable files (issue 18) -------------------------------


@settings(
    max_examples=20 if SOAK else 3,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    names=st.lists(
        st.binary(min_size=1, max_size=12).filter(lambda b: b"/" not in b and b"\x00" not in b),
        min_size=2,
        max_size=6,
        unique=True,
    ),
    unreadable=st.integers(0, 5),
)
def test_runs_with_byte_file_names_and_an_unreadable_file_complete(names, unreadable):
    """Names as old zip tools and SMB shares leave them (any bytes), and one file that cannot be
    opened: the good files load, every odd one is listed once with a reason, nothing crashes."""
    import builtins
    from unittest import mock

    from helpers import Landing

    with tempfile.TemporaryDirectory() as root:
        landing = Landing(Path(root))
        landing.plants([[p, f"Plant {p}", "BU", "JP", "", ""] for p in PLANTS])
        landing.production("production_good.csv", [["P1", m, "10", "t"] for m in PERIODS])
        folder = os.fsencode(landing.path)
        odd = [b"production_" + name + b".csv" for name in names]
        for position, name in enumerate(odd):  # an unknown plant: a readable, valid name is rejected, never loaded
            with open(os.path.join(folder, name), "wb") as handle:  # each its own content (no file is a copy)
                handle.write(b"plant_id,period,quantity,unit\r\nP9,2017-04,%d,t\r\n" % position)
        refused = os.path.join(folder, odd[unreadable % len(odd)])
        original = builtins.open

        def guarded(file, *args, **kwargs):
            if isinstance(file, (str, bytes, os.PathLike)) and os.fsencode(file) == refused:
                raise PermissionError(13, "Permission denied", os.fsdecode(file))
            return original(file, *args, **kwargs)

        with mock.patch.object(builtins, "open", guarded), mock.patch.object(io, "open", guarded):
            result = landing.run()
        assert sorted(result.ingest.loaded) == ["plants.csv", "production_good.csv"], result.ingest.problems
        listed = landing.rejections()
        assert len(result.ingest.rejected) + len(result.ingest.ignored) == len(odd)
        assert len(set(listed.file)) == len(odd) and (listed.reason.str.len() > 0).all()
        assert listed.reason.str.contains("cannot be read").sum() <= 1
        for name in odd:  # hidden files (a leading dot) are not among them: the name starts with "production_"
            assert os.path.exists(os.path.join(folder, name))
