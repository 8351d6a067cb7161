"""The `envkpi` command as a person meets it: one-line errors that say what to do, defaults in
`--help`, a summary of what was written where, plurals, a progress display behind a callback."""

from __future__ import annotations

import io
import re
from pathlib import Path

from helpers import write_csv
from typer.testing import CliRunner

from envkpi.cli import app, plural, progress_display

ENERGY = ["plant_id", "period", "energy_type", "quantity", "unit"]
PRODUCTION = ["plant_id", "period", "quantity", "unit"]


def invoke(*arguments: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, list(arguments), env=env)


def paths(tmp_path: Path) -> list[str]:
    return [
        "--warehouse",
        str(tmp_path / "w" / "warehouse.duckdb"),
        "--reports",
        str(tmp_path / "reports"),
        "--snapshot",
        str(tmp_path / "snapshot"),
    ]


def assert_one_line_error(result, *words: str) -> None:
    assert result.exit_code not in (0, None), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    for word in words:
        assert word in lines[0], lines[0]


def nothing_created(tmp_path: Path) -> None:
    created = sorted(
        p.relative_to(tmp_path).as_posix()
        for p in tmp_path.rglob("*")
        if not p.relative_to(tmp_path).as_posix().startswith("given")
    )
    assert created == [], created


def test_run_without_landing_when_the_default_does_not_exist_says_to_give_one(tmp_path):
    missing = tmp_path / "no-such-default"
    result = invoke("run", *paths(tmp_path), env={"ENVKPI_LANDING": str(missing)})
    assert_one_line_error(result, "--landing", "does not exist", str(missing))
    nothing_created(tmp_path)


def test_run_with_a_missing_landing_folder_names_it_and_creates_nothing(tmp_path):
    result = invoke("run", "--landing", str(tmp_path / "given-missing"), *paths(tmp_path))
    assert_one_line_error(result, "given-missing", "does not exist", "--landing")
    nothing_created(tmp_path)


def test_run_with_a_file_as_landing_says_it_is_a_file_and_creates_nothing(tmp_path):
    given = write_csv(tmp_path / "given" / "energy_P01.csv", ENERGY, [["P01", "2017-04", "electricity", 1, "kWh"]])
    result = invoke("run", "--landing", str(given), *paths(tmp_path))
    assert_one_line_error(result, "is a file, not a folder", str(given.parent))
    nothing_created(tmp_path)


def test_help_shows_every_default_path():
    text = re.sub(r"\s+", " ", invoke("run", "--help").output)
    for option, default in (
        ("--landing", "landing"),
        ("--warehouse", "warehouse.duckdb"),
        ("--reports", "reports"),
        ("--snapshot", "snapshot"),
    ):
        assert option in text
        # rich boxes break lines anywhere: the default is checked with the box drawing removed
        assert re.search(r"\[default: \(?[^\]]*" + re.escape(default), text.replace("│ ", "").replace(" │", "")), option


def test_plurals():
    assert plural(1, "not contract file") == "1 not contract file"
    assert plural(2, "not contract file") == "2 not contract files"
    assert plural(0, "file") == "0 files"


def test_run_summary_lists_what_was_written_where_and_counts_in_the_right_number(tmp_path):
    landing = tmp_path / "given"
    write_csv(landing / "plants.csv", ["plant_id", "name", "business_unit", "country"], [["P01", "One", "BU1", "JP"]])
    write_csv(landing / "production_P01.csv", PRODUCTION, [["P01", "2017-04", 10, "t"]])
    write_csv(landing / "energy_P01.csv", ENERGY, [["P01", "2017-04", "electricity", "x", "kWh"]])
    (landing / "notes.txt").write_text("a note")
    result = invoke("run", "--landing", str(landing), *paths(tmp_path), env={"ENVKPI_DATA_DOCS": "0"})
    assert result.exit_code == 0, result.output
    text = result.output
    assert "4 files seen" in text and "1 not contract file" in text and "1 not contract files" not in text
    assert "1 rejected" in text and "rejected: energy_P01.csv" in text
    for name in ("kpi_results.csv", "rejections.csv", "rejections.html", "rejections.xlsx"):
        line = next(line for line in text.splitlines() if line.rstrip().endswith(name))
        written = Path(line.split()[-1])
        assert written.is_absolute() or (Path.cwd() / written).exists()
        assert (tmp_path / "reports" / name).exists()


def test_run_summary_names_the_year_of_the_charts_and_pack_and_their_folder(demo_run):
    from envkpi.cli import summary_lines

    result, settings = demo_run
    lines = summary_lines(result)
    # The demo's latest complete year: FY2018 (FY2019's months run to 2020-03, but its group
    # completeness is below 100 in kpi_results.csv), read from the file the run wrote.
    import pandas as pd

    frame = pd.read_csv(settings.reports / "kpi_results.csv")
    group = frame[frame.scope_level == "group"].dropna(subset=["value"])
    complete = group.groupby("fiscal_year").completeness_pct.min()
    year = int(complete[complete >= 100].index.max())
    charts = next(line for line in lines if "charts of" in line)
    assert f"charts of FY{year}:" in charts and str(settings.reports / "charts") in charts
    pack = next(line for line in lines if "report pack of" in line)
    assert f"report_pack_FY{year}.pdf" in pack


def test_the_progress_display_is_a_callback_and_silent_off_a_terminal():
    from rich.console import Console

    quiet = io.StringIO()
    with progress_display(console=Console(file=quiet, force_terminal=False)) as progress:
        progress("checking")
    assert quiet.getvalue() == ""


def test_the_pipeline_reports_each_step_to_its_progress_callback(landing):
    landing.plants([["P01", "One", "BU1", "JP", "", ""]])
    landing.production("production_P01.csv", [["P01", "2017-04", 10, "t"]])
    from envkpi.pipeline import run

    steps: list[str] = []
    run(landing.settings, publish_snapshot=True, annual_report=False, progress=steps.append)
    assert steps == [
        "checking and loading the delivered files",
        "writing the reports",
        "publishing the snapshot for notebooks",
    ]


def test_make_help_lists_every_envkpi_command_and_every_target():
    import subprocess

    from envkpi.settings import PROJECT_DIR

    shown = subprocess.run(["make", "-s", "help"], cwd=PROJECT_DIR, capture_output=True, text=True, check=True).stdout
    commands = {command.name or command.callback.__name__ for command in app.registered_commands}
    assert commands >= {"run", "check", "template", "report", "ingest"}
    for command in commands:
        assert f"envkpi {command} " in shown, command
    targets = set(re.findall(r"^([a-z]+):", (PROJECT_DIR / "Makefile").read_text(), re.MULTILINE))
    for target in targets:
        assert f"make {target} " in shown, target


def test_run_summary_lists_the_filings_and_the_restatements(demo_run):
    from envkpi.cli import summary_lines

    result, settings = demo_run
    lines = summary_lines(result)
    # The demo's fiscal years with data, counted from the files the run wrote (contract 9: one
    # file per filing and fiscal year).
    years = len(list((settings.reports / "regulatory").glob("prtr_FY*.csv")))
    assert years > 1
    prtr = next(line for line in lines if line.lstrip().startswith("PRTR releases and transfers:"))
    assert f"{years} fiscal years in" in prtr and str(settings.reports / "regulatory") in prtr
    gri = next(line for line in lines if line.lstrip().startswith("GRI 302"))
    assert str(settings.reports / "disclosures") in gri
    assert any("Energy Conservation Act periodic report:" in line for line in lines)
    restated = next(line for line in lines if "restatements since publication:" in line)
    assert restated.rstrip().endswith("restatements_since_publication.csv")
