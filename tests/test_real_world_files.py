"""Issue 18: what plants, spreadsheet programs and shared folders really do, one test per finding.

Each test writes the files by hand (or with openpyxl and a zip edit) and checks the outcome a
plant would read: the file, row, column, value and reason, and that the rest of the night goes on.
"""

from __future__ import annotations

import builtins
import hashlib
import io
import json
import os
import re
import time
import zipfile
from pathlib import Path

import pandas as pd
from helpers import write_csv

TWO_PLANTS = [["P1", "Plant One", "BU-A", "JP", "", ""], ["P2", "Plant Two", "BU-B", "CN", "", ""]]
PRODUCTION = ["plant_id", "period", "quantity", "unit"]
ENERGY = ["plant_id", "period", "energy_type", "quantity", "unit"]
CORPUS = Path(__file__).resolve().parent / "corpus"


def rejection_rows(landing, file: str) -> pd.DataFrame:
    rejections = landing.rejections()
    return rejections[rejections.file == file]


def accepted_production(landing) -> list[tuple[str, str, float]]:
    return [
        tuple(r)
        for r in landing.query(
            "select plant_id, strftime(period_month, '%Y-%m'), cast(quantity as double) from accepted_production order by all"
        ).values.tolist()
    ]


# --- 1. file names that are not UTF-8 ---------------------------------------------------------


def test_file_names_that_are_not_utf8_are_listed_and_the_night_goes_on(landing):
    landing.plants(TWO_PLANTS)
    landing.production("production_P1.csv", [["P1", "2017-04", "10", "t"]])
    folder = os.fsencode(landing.path)
    for name in (b"production_\xff\xfe.csv", b"notes_\x82\xa0.txt"):  # a Latin-1 and a Shift_JIS name
        with open(os.path.join(folder, name), "wb") as handle:
            handle.write(b"plant_id,period,quantity,unit\r\nP2,2017-04,5,t\r\n")
    os.mkdir(os.path.join(folder, b"sub_\xe9"))

    result = landing.run()

    assert sorted(result.ingest.loaded) == ["plants.csv", "production_P1.csv"]
    assert accepted_production(landing) == [("P1", "2017-04", 10.0)]  # the P2 row of the odd name is not loaded
    listed = landing.rejections()
    odd = listed[listed.reason.str.contains("not valid UTF-8")]
    assert sorted(odd.file) == ["notes_\\x82\\xa0.txt", "production_\\xff\\xfe.csv", "sub_\\xe9"]
    summary = json.loads((landing.settings.reports / "run_summary.json").read_text(encoding="utf-8"))
    assert "production_\\xff\\xfe.csv" in summary["ignored"]
    # Nothing in the landing folder was renamed or removed.
    assert sorted(os.listdir(folder)) == sorted(
        [b"notes_\x82\xa0.txt", b"plants.csv", b"production_P1.csv", b"production_\xff\xfe.csv", b"sub_\xe9"]
    )


# --- 2. an unreadable file or folder -----------------------------------------------------------


def _refuse(monkeypatch, refused: Path) -> None:
    """Opening ``refused`` fails as it does for a file without read permission (tests run as root,
    for whom permission bits never refuse a read)."""
    for module, name in ((builtins, "open"), (io, "open")):
        original = getattr(module, name)

        def guarded(file, *args, _original=original, **kwargs):
            if isinstance(file, (str, os.PathLike)) and Path(file) == refused:
                raise PermissionError(13, "Permission denied", str(file))
            return _original(file, *args, **kwargs)

        monkeypatch.setattr(module, name, guarded)


def test_an_unreadable_file_is_listed_alone_and_the_night_goes_on(landing, monkeypatch):
    landing.plants(TWO_PLANTS)
    landing.production("production_P1.csv", [["P1", "2017-04", "10", "t"]])
    locked = landing.production("production_P2.csv", [["P2", "2017-04", "5", "t"]])
    _refuse(monkeypatch, locked)

    result = landing.run()

    assert sorted(result.ingest.loaded) == ["plants.csv", "production_P1.csv"]
    reason = rejection_rows(landing, "production_P2.csv").reason.tolist()
    assert len(reason) == 1 and "cannot be read (Permission denied)" in reason[0], reason
    assert "make the file readable" in reason[0] and "warehouse" not in reason[0]
    assert accepted_production(landing) == [("P1", "2017-04", 10.0)]


def test_an_unreadable_folder_is_listed_alone_and_the_night_goes_on(landing, monkeypatch):
    import envkpi.ingest.deliveries

    landing.plants(TWO_PLANTS)
    landing.production("production_P1.csv", [["P1", "2017-04", "10", "t"]])
    landing.production("locked/production_P2.csv", [["P2", "2017-04", "5", "t"]])
    locked = (landing.path / "locked").resolve()
    original = os.scandir

    def scandir(path):
        if isinstance(path, (str, os.PathLike)) and Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return original(path)

    monkeypatch.setattr(envkpi.ingest.deliveries.os, "scandir", scandir)
    result = landing.run()

    assert sorted(result.ingest.loaded) == ["plants.csv", "production_P1.csv"]
    reason = rejection_rows(landing, "locked").reason.tolist()
    assert len(reason) == 1 and "make the folder readable" in reason[0], reason


# --- 3. a file still being written; one read per file -----------------------------------------


def test_a_file_modified_moments_ago_is_left_for_the_next_run(landing):
    landing.plants(TWO_PLANTS)
    fresh = landing.path / "production_P1.csv"
    write_csv(fresh, PRODUCTION, [["P1", "2017-04", "10", "t"]])  # modified now: a copy may be going on

    first = landing.run(settle_seconds=600)

    assert first.ingest.loaded == ["plants.csv"] and first.ingest.ignored == ["production_P1.csv"]
    assert "left for the next run" in rejection_rows(landing, "production_P1.csv").reason.iloc[0]
    an_hour_ago = time.time() - 3600
    os.utime(fresh, (an_hour_ago, an_hour_ago))  # the copy ended long ago
    second = landing.run(settle_seconds=600)
    assert second.ingest.loaded == ["production_P1.csv"]
    assert accepted_production(landing) == [("P1", "2017-04", 10.0)]


def test_a_file_growing_during_the_run_is_left_for_the_next_run_and_nothing_of_it_loads(landing):
    """The run found the file at one size; by the time it reads it, more was appended."""
    import duckdb

    from envkpi.ingest.deliveries import Ingest, discover
    from envkpi.pipeline import make_validator
    from envkpi.warehouse.database import create_schema, load_reference, rebuild_conversion

    landing.plants(TWO_PLANTS)
    growing = landing.production("production_P1.csv", [["P1", "2017-04", "10", "t"]])
    connection = duckdb.connect()
    create_schema(connection)
    load_reference(connection, landing.settings)
    rebuild_conversion(connection)
    files, ignored = discover(landing.path)
    with open(growing, "ab") as handle:  # the export appends its next row
        handle.write(b"P1,2017-05,20,t\r\n")
    summary = Ingest(
        connection, "grow", pd.Timestamp("2018-05-01"), 4, make_validator(landing.settings), settings=landing.settings
    ).run(files, ignored)

    assert summary.loaded == ["plants.csv"]
    assert [(f, p.reason) for f, p in summary.problems][0][0] == "production_P1.csv"
    assert "changed while it was being read" in summary.problems[0][1].reason
    assert connection.execute("select count(*) from delivery where source_file = 'production_P1.csv'").fetchone() == (
        0,
    )


def test_hash_size_and_rows_of_a_delivery_come_from_the_same_bytes(landing):
    landing.plants(TWO_PLANTS)
    path = landing.production("production_P1.csv", [["P1", "2017-04", "10", "t"], ["P1", "2017-05", "11", "t"]])
    landing.run()
    content = path.read_bytes()
    delivery = landing.query(
        "select sha256, size_bytes, row_count from delivery where source_file = ?", [path.name]
    ).iloc[0]
    assert delivery.sha256 == hashlib.sha256(content).hexdigest()
    assert delivery.size_bytes == len(content)
    assert delivery.row_count == content.count(b"\n") - 1


# --- 4. XLSX whose <dimension> understates the range -------------------------------------------


def _xlsx(path: Path, sheets: dict[str, list[list[object]]], formats: dict[tuple[str, str], str] | None = None) -> Path:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    for (title, cell), number_format in (formats or {}).items():
        workbook[title][cell].number_format = number_format
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path


def stale_dimension(path: Path, ref: str) -> Path:
    """Rewrite the first sheet's <dimension ref="..."> as a writer that never updates it leaves it."""
    with zipfile.ZipFile(path) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    parts[sheet], count = re.subn(rb'<dimension ref="[^"]*"', f'<dimension ref="{ref}"'.encode(), parts[sheet])
    assert count == 1
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in parts.items():
            target.writestr(name, data)
    return path


def test_an_xlsx_with_a_stale_dimension_loads_every_row(landing):
    landing.plants(TWO_PLANTS)
    rows = [["P1", "2017-04", 10, "t"], ["P1", "2017-05", 11, "t"], ["P2", "2017-04", 12, "t"]]
    stale_dimension(_xlsx(landing.path / "production_all.xlsx", {"data": [PRODUCTION, *rows]}), "A1:D2")

    result = landing.run()

    assert "production_all.xlsx" in result.ingest.loaded
    assert accepted_production(landing) == [("P1", "2017-04", 10.0), ("P1", "2017-05", 11.0), ("P2", "2017-04", 12.0)]


# --- 5. percent-formatted cells ------------------------------------------------------------------


def test_a_percent_cell_is_read_as_the_percent_it_shows_by_run_and_by_check(landing):
    from envkpi.checking import check_files

    landing.plants(TWO_PLANTS)
    rows = [
        ["kpi", "fiscal_year", "target_pct", "scope_id"],
        ["energy_intensity", 2017, 0.115, ""],
        ["waste_intensity", 2017, 0.075, ""],
        ["recycling_rate", 2017, 72, ""],
    ]
    path = _xlsx(
        landing.path / "targets_2017.xlsx", {"targets": rows}, {("targets", "C2"): "0.0%", ("targets", "C3"): "0.0%"}
    )  # C4: a plain number cell

    outcome = check_files([path], landing.settings)
    assert outcome.summary.loaded == [str(path)], outcome.lines()
    landing.run()
    targets = landing.query("select kpi, target_pct from raw_targets order by kpi").values.tolist()
    assert targets == [["energy_intensity", "11.5"], ["recycling_rate", "72"], ["waste_intensity", "7.5"]]


# --- 6. one CSV semantics for both readers ----------------------------------------------------


def _both_readers(path: Path, kind: str):
    """The outcome of the batch reader (where it takes the file) and of the careful reader."""
    from envkpi.ingest.readers import _plain_csv, _read_plain_batch, read_delivery

    careful = read_delivery(path, kind)
    plain = _plain_csv(path.name, path.read_bytes())
    batch = _read_plain_batch(kind, [plain]) if plain is not None else None
    return (None if batch is None else batch[path.name]), careful


def _outcome(table) -> tuple:
    if not table.readable:
        return ("rejected",)
    return ("read", table.frame.to_dict("list"))


ODD_CSVS = {
    "production_quote_then_digit.csv": b'plant_id,period,quantity,unit\r\nP1,2017-04,"12"3,t\r\n',
    "production_quote_then_digit_blank_line.csv": b'plant_id,period,quantity,unit\r\nP1,2017-04,"12"3,t\r\n\r\n',
    "production_long_field.csv": b"plant_id,period,quantity,unit,note\r\nP1,2017-04,1,t," + b"x" * 200_000 + b"\r\n",
    "production_long_field_blank_line.csv": (
        b"plant_id,period,quantity,unit,note\r\n\r\nP1,2017-04,1,t," + b"x" * 200_000 + b"\r\n"
    ),
    "production_field_over_limit.csv": b"plant_id,period,quantity,unit,note\r\nP1,2017-04,1,t,"
    + b"x" * 20_000
    + b"\r\n",
    "production_field_over_limit_blank_line.csv": (
        b"plant_id,period,quantity,unit,note\r\nP1,2017-04,1,t," + b"x" * 20_000 + b"\r\n\r\n"
    ),
    "production_quoted_fine.csv": b'plant_id,period,quantity,unit,note\r\nP1,2017-04,"12",t,"a ""b"", c"\r\n',
    "production_quote_inside.csv": b'plant_id,period,quantity,unit,note\r\nP1,2017-04,12,t,5" pipe\r\n',
}


def test_the_batch_and_the_careful_csv_reader_agree_on_every_file(tmp_path):
    files = sorted(CORPUS.glob("*.csv"))
    for name, content in ODD_CSVS.items():
        (tmp_path / name).write_bytes(content)
        files.append(tmp_path / name)
    from envkpi.contract import kind_of

    compared = 0
    for path in files:
        batch, careful = _both_readers(path, kind_of(path.name))
        if batch is not None:
            compared += 1
            assert _outcome(batch) == _outcome(careful), path.name
    assert compared >= 8  # the batch took the plain files, not none of them
    # The files that differ only in a blank line (which sends a file to the careful reader) are
    # judged alike, and neither a stray quote nor an overlong field is read.
    from envkpi.ingest.readers import read_deliveries

    for stem in ("production_quote_then_digit", "production_long_field", "production_field_over_limit"):
        outcomes = [
            read_deliveries({n: tmp_path / n}, "production")[n] for n in (f"{stem}.csv", f"{stem}_blank_line.csv")
        ]
        assert [t.readable for t in outcomes] == [False, False], stem
    long_field = read_deliveries({"f": tmp_path / "production_field_over_limit.csv"}, "production")["f"]
    first = long_field.problems[0]
    assert (first.row, first.column, first.value) == (2, "note", "20,000 characters")
    assert "max_field_chars" in long_field.problems[0].reason
    long_line = read_deliveries({"f": tmp_path / "production_long_field.csv"}, "production")["f"]
    first = long_line.problems[0]
    assert (first.row, first.value) == (2, "200,015 characters") and "max_line_chars" in first.reason


# --- 7. hard limits -------------------------------------------------------------------------


def test_an_overlong_line_is_rejected_by_the_limit_with_its_line_number(landing):
    landing.plants(TWO_PLANTS)
    (landing.path / "production_long_line.csv").write_bytes(
        b"plant_id,period,quantity,unit\r\nP1,2017-04,1,t\r\nP1,2017-05," + b"9" * 3_000_000 + b",t\r\n"
    )
    landing.production("production_P2.csv", [["P2", "2017-04", "5", "t"]])

    result = landing.run()

    assert "production_P2.csv" in result.ingest.loaded
    rows = rejection_rows(landing, "production_long_line.csv")
    assert rows[["row", "value"]].values.tolist() == [["3", "3,000,013 characters"]]
    assert "max_line_chars" in rows.reason.iloc[0]


def test_too_many_columns_is_one_problem_not_one_per_column(landing):
    from envkpi.checking import check_files

    path = landing.path / "production_wide.csv"
    path.write_bytes(b"," * 80_000 + b"note\r\nP1,2017-04,1,t\r\n")  # 80,000 empty names, then one
    outcome = check_files([path], landing.settings)
    problems = [p for _, p in outcome.summary.problems]
    assert len(problems) == 1 and problems[0].value == "80,001 columns" and "max_columns" in problems[0].reason


def test_problems_listed_per_file_are_capped_with_a_count_of_the_rest(landing):
    landing.plants(TWO_PLANTS)
    landing.production("production_unknown.csv", [[f"X{i}", "2017-04", "1", "t"] for i in range(5_000)])

    landing.run(max_problems_per_file=50)

    rows = rejection_rows(landing, "production_unknown.csv")
    assert len(rows) == 51
    assert rows.row.iloc[:50].tolist() == [str(r) for r in range(2, 52)]
    assert rows.value.iloc[50] == "4,950 more" and "max_problems_per_file" in rows.reason.iloc[50]


# --- 8. plausibility --------------------------------------------------------------------------


def test_periods_outside_the_plausible_range_are_rejected(landing):
    landing.plants(TWO_PLANTS)
    last = f"{pd.Timestamp.now().year + 1}-12"
    after = f"{pd.Timestamp.now().year + 2}-01"
    landing.production(
        "production_typos.csv",
        [
            ["P1", "0000-01", "1", "t"],
            ["P1", "9999-12", "1", "t"],
            ["P1", "1989-12", "1", "t"],
            ["P1", after, "1", "t"],
        ],
    )
    landing.production("production_edges.csv", [["P1", "1990-01", "1", "t"], ["P1", last, "1", "t"]])

    result = landing.run()

    assert "production_edges.csv" in result.ingest.loaded
    rows = rejection_rows(landing, "production_typos.csv")
    assert rows[["row", "column", "value"]].values.tolist() == [
        ["2", "period", "0000-01"],
        ["3", "period", "9999-12"],
        ["4", "period", "1989-12"],
        ["5", "period", after],
    ]
    assert all(f"1990-01 .. {last}" in reason for reason in rows.reason)


def test_key_text_with_an_invisible_character_is_rejected(landing):
    landing.plants(TWO_PLANTS)
    landing.plants(
        [["P3", "Plant Three", "BU-A", "JP", "", ""], ["P1\u200b", "Plant One again", "BU-A", "JP", "", ""]],
        name="plants_new.csv",
    )
    landing.production("production_P2.csv", [["P2", "2017-04", "5", "t"], ["P2\u2060", "2017-05", "5", "t"]])
    landing.production("production_separator.csv", [["P2\x1fX", "2017-04", "5", "t"]])  # the slice key's separator

    result = landing.run()

    assert sorted(result.ingest.rejected) == ["plants_new.csv", "production_P2.csv", "production_separator.csv"]
    assert "U+001F" in rejection_rows(landing, "production_separator.csv").reason.iloc[0]
    plants = rejection_rows(landing, "plants_new.csv")
    assert plants[["row", "column", "value"]].values.tolist() == [["3", "plant_id", "P1\u200b"]]
    assert "U+200B ZERO WIDTH SPACE" in plants.reason.iloc[0]
    production = rejection_rows(landing, "production_P2.csv")
    assert production[["row", "column"]].values.tolist() == [["3", "plant_id"]]
    assert "U+2060 WORD JOINER" in production.reason.iloc[0]


def test_the_quantity_limit_is_compared_exactly(landing):
    landing.plants(TWO_PLANTS)
    landing.production("production_over.csv", [["P1", "2017-04", "1000000000000000.05", "t"]])
    landing.production("production_at.csv", [["P2", "2017-04", "1000000000000000.00", "t"]])

    result = landing.run()

    assert "production_at.csv" in result.ingest.loaded
    rows = rejection_rows(landing, "production_over.csv")
    assert rows[["row", "column", "value"]].values.tolist() == [["2", "quantity", "1000000000000000.05"]]
    assert "implausibly large" in rows.reason.iloc[0]


def test_a_business_unit_or_plant_named_group_is_rejected(landing):
    landing.plants([*TWO_PLANTS, ["P3", "Plant Three", "group", "JP", "", ""]])
    landing.plants([["group", "Head office", "BU-A", "JP", "", ""]], name="plants_more.csv")

    result = landing.run()

    assert sorted(result.ingest.rejected) == ["plants.csv", "plants_more.csv"]
    first = rejection_rows(landing, "plants.csv")
    assert first[["row", "column", "value"]].values.tolist() == [["4", "business_unit", "group"]]
    assert "names the whole group" in first.reason.iloc[0]
    assert rejection_rows(landing, "plants_more.csv")[["row", "column"]].values.tolist() == [["2", "plant_id"]]


def test_identical_rows_are_counted_once_with_a_warning(landing):
    from envkpi.checking import check_files

    landing.plants(TWO_PLANTS)
    path = landing.production(
        "production_P1.csv", [["P1", "2017-04", "10", "t"], ["P1", "2017-05", "11", "t"], ["P1", "2017-04", "10", "t"]]
    )
    landing.run()

    assert accepted_production(landing) == [("P1", "2017-04", 10.0), ("P1", "2017-05", 11.0)]
    summary = json.loads((landing.settings.reports / "run_summary.json").read_text(encoding="utf-8"))
    assert [(w["file"], w["row"]) for w in summary["repeated_rows"]] == [("production_P1.csv", 4)]
    assert "counted once" in summary["repeated_rows"][0]["warning"]
    lines = check_files([path], landing.settings).lines()
    assert any(line.startswith("WARNING") and "row 4" in line and "counted once" in line for line in lines), lines


# --- 9. messages ------------------------------------------------------------------------------


def test_data_not_on_the_first_sheet_names_the_sheets(landing):
    landing.plants(TWO_PLANTS)
    _xlsx(
        landing.path / "production_2017.xlsx",
        {
            "codes": [["unit", "meaning"], ["t", "tonnes"], ["kg", "kilograms"]],
            "data": [PRODUCTION, ["P1", "2017-04", 10, "t"]],
        },
    )

    landing.run()

    reasons = rejection_rows(landing, "production_2017.xlsx").reason.tolist()
    assert "the data must be on the first sheet" in reasons[0]
    assert "'codes', 'data'" in reasons[0]


def test_a_table_starting_in_column_b_says_so(landing):
    landing.plants(TWO_PLANTS)
    landing.csv("production_b.csv", ["", *PRODUCTION], [["", "P1", "2017-04", "10", "t"]])
    _xlsx(landing.path / "production_b.xlsx", {"data": [[None, *PRODUCTION], [None, "P1", "2017-05", 10, "t"]]})

    landing.run()

    for name in ("production_b.csv", "production_b.xlsx"):
        rows = rejection_rows(landing, name)
        assert rows[["row", "column", "value"]].values.tolist() == [["1", "column 2", "plant_id"]], name
        assert "starts in column B, not in column A" in rows.reason.iloc[0]


def test_a_wrong_unit_is_reported_against_the_unit_column_by_run_and_by_check(landing):
    from envkpi.checking import check_files

    landing.plants(TWO_PLANTS)
    path = landing.energy(
        "energy_P1.csv",
        [
            ["P1", "2017-04", "electricity", "1", "kWh"],
            ["P1", "2017-05", "electricity", "1", "litre"],
            ["P1", "2017-06", "moonlight", "1", "kWh"],
        ],
    )
    landing.run()
    rows = rejection_rows(landing, "energy_P1.csv")
    assert rows[["row", "column", "value"]].values.tolist() == [
        ["3", "unit", "litre"],
        ["4", "energy_type", "moonlight"],
    ]
    assert (
        "has no conversion factor for electricity" in rows.reason.iloc[0]
        and "unknown energy type" in rows.reason.iloc[1]
    )
    lines = check_files([path], landing.settings).lines()
    assert any("row 3, column unit, value 'litre'" in line for line in lines), lines
