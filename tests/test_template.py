"""Delivery templates for plants: the contract's columns, the months, drop-down lists for every
value set; a template filled by a plant passes `envkpi check` and loads in a run."""

from __future__ import annotations

import csv
from decimal import Decimal

from openpyxl import load_workbook
from typer.testing import CliRunner

from envkpi.cli import app
from envkpi.settings import PROJECT_DIR

PLANTS = [["P01", "One", "BU1", "JP", "", ""]]


def invoke(*arguments: str, env=None):
    return CliRunner().invoke(app, list(arguments), env=env)


def lists_of(workbook, sheet):
    """Per column of ``sheet``: the values its drop-down list offers, read from the list's range."""
    header = [cell.value for cell in sheet[1]]
    found = {}
    for validation in sheet.data_validations.dataValidation:
        assert validation.type == "list"
        source_sheet, cells = validation.formula1.lstrip("=").split("!")
        first, last = cells.replace("$", "").split(":")
        values = [row[0].value for row in workbook[source_sheet][f"{first}:{last}"]]
        for target in str(validation.sqref).split():
            column = header[ord(target[0]) - ord("A")]
            found[column] = values
            assert target.startswith(target[0] + "2:"), target  # from the first data row down
    return found


def fy2018_energy_pairs():
    """(type, unit) with a GJ factor valid in FY2018, read straight from the shipped factors."""
    with (PROJECT_DIR / "data" / "reference" / "energy_factors.csv").open(encoding="utf-8") as handle:
        return {
            (r["energy_type"], r["unit"])
            for r in csv.DictReader(handle)
            if int(r["valid_from_fy"] or 0) <= 2018 <= int(r["valid_to_fy"] or 9999)
        }


def test_an_energy_template_has_the_columns_the_months_and_lists_of_types_and_units_with_a_factor(tmp_path):
    out = tmp_path / "energy_P01_FY2018.xlsx"
    result = invoke(
        "template",
        "energy",
        "--plant",
        "P01",
        "--fy",
        "2018",
        "--out",
        str(out),
        "--warehouse",
        str(tmp_path / "none.duckdb"),
        env={"ENVKPI_PUBLISHED": str(tmp_path / "none")},
    )
    assert result.exit_code == 0, result.output
    workbook = load_workbook(out)
    sheet = workbook.worksheets[0]
    # the contract's columns, required then optional (contract 6: meter and supplier)
    assert [c.value for c in sheet[1]] == [
        "plant_id",
        "period",
        "energy_type",
        "quantity",
        "unit",
        "meter_id",
        "supplier",
    ]
    rows = [r for r in sheet.iter_rows(min_row=2, values_only=True) if any(r)]
    # FY2018 with an April start: 2018-04 .. 2019-03
    assert [r[1] for r in rows] == [
        "2018-04",
        "2018-05",
        "2018-06",
        "2018-07",
        "2018-08",
        "2018-09",
        "2018-10",
        "2018-11",
        "2018-12",
        "2019-01",
        "2019-02",
        "2019-03",
    ]
    assert {r[0] for r in rows} == {"P01"}
    lists = lists_of(workbook, sheet)
    pairs = fy2018_energy_pairs()
    assert set(lists["energy_type"]) == {t for t, _ in pairs}
    assert set(lists["unit"]) == {u for _, u in pairs}
    assert "notes" in workbook.sheetnames
    notes = " ".join(str(c.value) for c in workbook["notes"]["A"] if c.value)
    assert "electricity: " in notes and "envkpi check" in notes


def test_waste_and_chemicals_templates_list_treatments_media_and_units(tmp_path):
    for kind, column, expected in (
        ("waste", "treatment", {"recycled", "valuable", "incinerated", "landfilled", "other", "energy_recovery"}),
        ("waste", "unit", {"t", "kg"}),
        ("chemicals", "medium", {"air", "water", "soil", "landfill", "sewer", "offsite"}),
        ("water", "source", {"municipal", "groundwater", "surface", "seawater", "rainwater", "other"}),
        ("sales", "eco_product", {"yes", "no"}),
        ("chemicals", "unit", {"kg", "g", "t"}),
        ("production", "unit", {"t", "kg"}),
    ):
        out = tmp_path / f"{kind}.xlsx"
        assert invoke("template", kind, "--plant", "P01", "--fy", "2017", "--out", str(out)).exit_code == 0
        workbook = load_workbook(out)
        assert set(lists_of(workbook, workbook.worksheets[0])[column]) == expected, (kind, column)


def test_a_monthly_template_without_plant_or_year_says_what_to_give(tmp_path):
    result = invoke("template", "energy", "--out", str(tmp_path / "e.xlsx"))
    assert result.exit_code != 0 and "--plant" in result.output and "--fy" in result.output
    assert not (tmp_path / "e.xlsx").exists()
    assert "one of plants" in invoke("template", "water_bills").output


def test_a_filled_template_passes_check_and_loads(landing, tmp_path):
    out = landing.path / "energy_P01_FY2018.xlsx"
    assert invoke("template", "energy", "--plant", "P01", "--fy", "2018", "--out", str(out)).exit_code == 0
    workbook = load_workbook(out)
    sheet = workbook.worksheets[0]
    # A plant fills every month with electricity in kWh: quantity 1000 + month number.
    for row in range(2, 14):
        sheet.cell(row=row, column=3, value="electricity")
        sheet.cell(row=row, column=4, value=1000 + row)
        sheet.cell(row=row, column=5, value="kWh")
    workbook.save(out)
    plants = landing.plants(PLANTS)
    result = invoke(
        "check",
        str(plants),
        str(out),
        "--warehouse",
        str(tmp_path / "none.duckdb"),
        env={"ENVKPI_PUBLISHED": str(tmp_path / "nothing")},
    )
    assert result.exit_code == 0, result.output
    assert f"OK        {out}" in result.output

    landing.production("production_P01.csv", [["P01", "2018-04", 10, "t"]])
    run = landing.run()
    assert "energy_P01_FY2018.xlsx" in run.ingest.loaded
    loaded = landing.query("select period_month, quantity from accepted_energy order by period_month")
    assert len(loaded) == 12
    assert sum(Decimal(str(q)) for q in loaded.quantity) == sum(Decimal(1000 + r) for r in range(2, 14))
