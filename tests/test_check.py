"""`envkpi check` as a plant uses it: folders, every problem of a row at once, the unit named with
the valid units, the expected file-name pattern, a near match for a misspelt header."""

from __future__ import annotations

import csv
from pathlib import Path

from helpers import PLANTS_HEADER, write_csv
from typer.testing import CliRunner

from envkpi.cli import app
from envkpi.settings import PROJECT_DIR

ENERGY = ["plant_id", "period", "energy_type", "quantity", "unit"]
PRODUCTION = ["plant_id", "period", "quantity", "unit"]
PLANTS = [["P01", "One", "BU1", "JP", "", ""]]


def check(tmp_path: Path, *arguments: str):
    result = CliRunner().invoke(
        app,
        ["check", *arguments, "--warehouse", str(tmp_path / "none.duckdb")],
        env={"ENVKPI_PUBLISHED": str(tmp_path / "nothing-published")},
    )
    assert "Traceback" not in result.output
    return result


def units_with_a_factor(energy_type: str) -> list[str]:
    with (PROJECT_DIR / "data" / "reference" / "energy_factors.csv").open(encoding="utf-8") as handle:
        return sorted({row["unit"] for row in csv.DictReader(handle) if row["energy_type"] == energy_type})


def test_check_of_a_folder_checks_every_file_under_it(tmp_path):
    folder = tmp_path / "to-send"
    write_csv(folder / "plants.csv", PLANTS_HEADER, PLANTS)
    write_csv(folder / "april" / "energy_P01_2017-04.csv", ENERGY, [["P01", "2017-04", "electricity", "10", "kWh"]])
    write_csv(folder / "april" / "production_P01_2017-04.csv", PRODUCTION, [["P01", "2017-04", "x", "t"]])
    result = check(tmp_path, str(folder))
    assert result.exit_code == 1
    assert f"OK        {folder}/april/energy_P01_2017-04.csv" in result.output
    assert f"OK        {folder}/plants.csv" in result.output
    assert f"REJECTED  {folder}/april/production_P01_2017-04.csv" in result.output
    assert "no such file" not in result.output


def test_check_of_a_good_folder_exits_zero(tmp_path):
    folder = tmp_path / "to-send"
    write_csv(folder / "plants.csv", PLANTS_HEADER, PLANTS)
    write_csv(folder / "energy_P01.csv", ENERGY, [["P01", "2017-04", "electricity", "10", "kWh"]])
    assert check(tmp_path, str(folder)).exit_code == 0


def test_check_reports_every_problem_of_a_row_at_once(tmp_path):
    plants = write_csv(tmp_path / "plants.csv", PLANTS_HEADER, PLANTS)
    # Row 2 holds four mistakes: an unknown plant, a period without its leading zero, text as a
    # quantity and a unit electricity has no factor in.
    energy = write_csv(tmp_path / "energy_P01.csv", ENERGY, [["P99", "2017-4", "electricity", "abc", "MJ"]])
    result = check(tmp_path, str(plants), str(energy))
    assert result.exit_code == 1
    row_2 = [line.strip() for line in result.output.splitlines() if line.strip().startswith("row 2,")]
    assert sorted(line.split(",")[1].strip() for line in row_2) == [
        "column period",
        "column plant_id",
        "column quantity",
        "column unit",
    ], result.output


def test_a_wrong_unit_is_reported_against_the_unit_with_the_valid_units(tmp_path):
    plants = write_csv(tmp_path / "plants.csv", PLANTS_HEADER, PLANTS)
    energy = write_csv(tmp_path / "energy_P01.csv", ENERGY, [["P01", "2017-04", "electricity", "5", "MJ"]])
    result = check(tmp_path, str(plants), str(energy))
    line = next(line for line in result.output.splitlines() if line.strip().startswith("row 2"))
    assert "column unit, value 'MJ'" in line
    valid = units_with_a_factor("electricity")
    assert valid == ["MWh", "kWh"]  # read from the shipped factors, so the test says what it checks
    for unit in valid:
        assert unit in line
    assert "energy_type" not in line
    assert "energy_factors.csv" not in line and "deliver a factors file" not in line


def test_an_unknown_energy_type_is_reported_against_the_type(tmp_path):
    plants = write_csv(tmp_path / "plants.csv", PLANTS_HEADER, PLANTS)
    energy = write_csv(tmp_path / "energy_P01.csv", ENERGY, [["P01", "2017-04", "biogas", "5", "GJ"]])
    line = next(
        line
        for line in check(tmp_path, str(plants), str(energy)).output.splitlines()
        if line.strip().startswith("row 2")
    )
    assert "column energy_type, value 'biogas'" in line and "electricity" in line and "city_gas" in line


def test_a_name_that_names_no_kind_shows_the_expected_pattern(tmp_path):
    file = write_csv(tmp_path / "Energy P01 April.csv", ENERGY, [["P01", "2017-04", "electricity", "5", "kWh"]])
    result = check(tmp_path, str(file))
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "<kind>_...csv" in text and "xlsx" in text
    for kind in ("plants", "factors", "targets", "energy", "production", "waste", "chemicals"):
        assert kind in text
    assert "energy_P01_April.csv" in text  # the name it was meant to have


def test_a_header_like_plant_id_is_a_missing_column_with_what_was_found_and_the_near_match(tmp_path):
    file = write_csv(
        tmp_path / "production_P01.csv", ["Plant ID", "period", "quantity", "unit"], [["P01", "2017-04", "5", "t"]]
    )
    result = check(tmp_path, str(file))
    assert result.exit_code == 1
    line = next(line for line in result.output.splitlines() if "column plant_id" in line)
    assert "missing required column 'plant_id'" in line
    assert "'Plant ID', 'period', 'quantity', 'unit'" in line  # what was found
    assert "rename 'Plant ID' to plant_id" in line


def test_a_missing_path_says_no_such_file_or_folder(tmp_path):
    result = check(tmp_path, str(tmp_path / "nowhere.csv"))
    assert result.exit_code == 1 and "no such file or folder" in result.output
