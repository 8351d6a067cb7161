"""The rejection report a plant can act on: per plant and file, HTML and XLSX, offline."""

from __future__ import annotations

import re

from helpers import write_csv
from openpyxl import load_workbook
from typer.testing import CliRunner

from envkpi.cli import app

ENERGY = ["plant_id", "period", "energy_type", "quantity", "unit"]


def xlsx_rows(path):
    sheet = load_workbook(path)["rejections"]
    header, *rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    return [dict(zip(header, row)) for row in rows]


def test_every_run_writes_the_report_per_plant_and_file_with_what_to_do(landing):
    landing.plants([["P01", "One", "BU1", "JP", "", ""], ["P02", "Two", "BU1", "JP", "", ""]])
    landing.energy(
        "energy_P01_2017-04.csv",
        [["P01", "2017-04", "electricity", "12a", "kWh"], ["P01", "2017-05", "electricity", "=1+1", "kWh"]],
    )
    landing.energy("energy_P02_2017-04.csv", [["P02", "2017-4", "electricity", "5", "kWh"]])
    landing.production("production_P02.csv", [["P02", "2017-04", 10, "t"]])
    landing.run()
    reports = landing.settings.reports

    rows = xlsx_rows(reports / "rejections.xlsx")
    # Three problems written into the files above, found by hand: rows 2 and 3 of P01's file
    # (quantity), row 2 of P02's file (period).
    assert [(r["plant"], r["file"], r["row"], r["column"], r["value found"]) for r in rows] == [
        ("P01", "energy_P01_2017-04.csv", 2, "quantity", "12a"),
        ("P01", "energy_P01_2017-04.csv", 3, "quantity", "'=1+1"),  # never a formula
        ("P02", "energy_P02_2017-04.csv", 2, "period", "2017-4"),
    ]
    for row in rows:
        assert row["reason"] and row["what to do"]
    assert "YYYY-MM" in rows[2]["what to do"]
    assert "quantity is not a number" in rows[0]["reason"]
    sheet = load_workbook(reports / "rejections.xlsx")["rejections"]
    assert sheet.freeze_panes == "A2" and sheet["A1"].font.b

    page = (reports / "rejections.html").read_text(encoding="utf-8")
    assert page.index(">P01</h2>") < page.index("energy_P01_2017-04.csv") < page.index(">P02</h2>")
    assert page.index(">P02</h2>") < page.index("energy_P02_2017-04.csv")
    assert "<code>2017-4</code>" in page and "&lt;" not in page.split("<body>")[0]
    assert "production_P02.csv" not in page  # it loaded


def test_the_html_report_is_offline_and_escapes_delivered_text(landing):
    landing.plants([["P01", "One", "BU1", "JP", "", ""]])
    landing.energy("energy_P01.csv", [["P01", "<script>x</script>", "electricity", "1", "kWh"]])
    landing.run()
    page = (landing.settings.reports / "rejections.html").read_text(encoding="utf-8")
    assert "<script>x" not in page and "&lt;script&gt;x" in page
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", page), "an external asset"
    assert "http" not in page
    assert "<link" not in page and "<script" not in page


def test_a_run_without_rejections_writes_a_report_that_says_so(landing):
    landing.plants([["P01", "One", "BU1", "JP", "", ""]])
    landing.production("production_P01.csv", [["P01", "2017-04", 10, "t"]])
    landing.run()
    assert "No delivered file was rejected" in (landing.settings.reports / "rejections.html").read_text()
    assert xlsx_rows(landing.settings.reports / "rejections.xlsx") == []


def test_check_report_writes_the_report_for_the_files_checked(tmp_path):
    file = write_csv(tmp_path / "energy_P07_2018-04.csv", ENERGY, [["P07", "2018-04", "electricity", "1,234", "kWh"]])
    result = CliRunner().invoke(
        app,
        [
            "check",
            str(file),
            "--report",
            str(tmp_path / "out" / "P07.xlsx"),
            "--warehouse",
            str(tmp_path / "none.duckdb"),
        ],
        env={"ENVKPI_PUBLISHED": str(tmp_path / "nothing-published")},
    )
    assert result.exit_code == 1, result.output
    rows = xlsx_rows(tmp_path / "out" / "P07.xlsx")
    assert [(r["plant"], r["row"], r["column"], r["value found"]) for r in rows] == [("P07", 2, "quantity", "1,234")]
    html_result = CliRunner().invoke(
        app,
        [
            "check",
            str(file),
            "--report",
            str(tmp_path / "out" / "P07.html"),
            "--warehouse",
            str(tmp_path / "none.duckdb"),
        ],
        env={"ENVKPI_PUBLISHED": str(tmp_path / "nothing-published")},
    )
    assert html_result.exit_code == 1
    assert "1,234" in (tmp_path / "out" / "P07.html").read_text(encoding="utf-8")
