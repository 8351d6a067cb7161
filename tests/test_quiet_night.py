"""A night with nothing new records that it ran and writes no output again (envkpi.outputs).

Whether a night was quiet shows in what it left: a full run writes ``kpi_results.csv`` again on
every night (a new file in place), a quiet one leaves every output as it was and writes only
``run_summary.json`` and its ``ingest_run`` row.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from helpers import Landing

from envkpi.outputs import RECORD_NAME
from envkpi.pipeline import run

PROJECT_DIR = Path(__file__).resolve().parents[1]
FY2017 = [f"2017-{m:02d}" for m in range(4, 13)] + [f"2018-{m:02d}" for m in range(1, 4)]


def _deliver(landing: Landing) -> None:
    """Two plants over the base year and FY2017, a rejected file and a file left alone."""
    landing.plants([["P1", "Plant 1", "BU-A", "JP", "", ""], ["P2", "Plant 2", "BU-B", "JP", "", ""]])
    for plant, kwh in (("P1", "1000"), ("P2", "2000")):
        landing.energy(f"energy_{plant}.csv", [[plant, m, "electricity", kwh, "kWh"] for m in ["2005-04", *FY2017]])
        landing.production(f"production_{plant}.csv", [[plant, m, "10", "t"] for m in ["2005-04", *FY2017]])
    landing.energy("energy_P9_bad.csv", [["P9", "2017-04", "electricity", "12,5", "kWh"]])  # unknown plant, bad number
    (landing.path / "notes.txt").write_text("not a delivery\n")


def _outputs(settings) -> dict[str, tuple[int, int]]:
    """Every visible file a run leaves in the reports folder and the snapshot, with its status."""
    found = {}
    for folder in (settings.reports, settings.snapshot):
        for path in folder.rglob("*") if folder.is_dir() else []:
            if path.is_file() and not any(part.startswith(".") for part in path.relative_to(folder).parts):
                found[str(path)] = (path.stat().st_size, path.stat().st_mtime_ns)
    return found


def _runs(settings) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse), read_only=True) as connection:
        return connection.execute(
            "select files_seen, files_loaded, files_rejected, files_unchanged, files_ignored from ingest_run "
            "order by started_at"
        ).fetchall()


def _night(settings, **flags):
    return run(settings.with_overrides(drawing_workers=1), **flags)


def _was_quiet(before: dict, after: dict, settings) -> bool:
    """Nothing but the run summary changed (a full run always writes kpi_results.csv again)."""
    summary = str(settings.reports / "run_summary.json")
    return {k: v for k, v in before.items() if k != summary} == {k: v for k, v in after.items() if k != summary}


def _workbook(path: Path) -> list:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True)
    return [[list(row) for row in sheet.iter_rows(values_only=True)] for sheet in book.worksheets]


def test_a_quiet_night_writes_what_a_full_night_writes_on_the_same_state_but_its_run_id(landing, tmp_path):
    _deliver(landing)
    settings = landing.settings
    first = _night(settings)
    assert first.ingest.rejected == ["energy_P9_bad.csv"] and first.ingest.ignored == ["notes.txt"]
    before = _outputs(settings)
    assert (settings.reports / RECORD_NAME).is_file()

    quiet = _night(settings)
    assert _was_quiet(before, _outputs(settings), settings)
    # Recorded as a night that found the five loaded files unchanged, one rejected again, one left alone.
    assert _runs(settings) == [(7, 5, 1, 0, 1), (7, 0, 1, 5, 1)]
    assert quiet.ingest.loaded == [] and len(quiet.ingest.unchanged) == 5
    assert quiet.ingest.rejected == ["energy_P9_bad.csv"] and quiet.ingest.ignored == ["notes.txt"]
    assert {file for file, _ in quiet.ingest.problems} == {"energy_P9_bad.csv", "notes.txt"}
    assert quiet.report_year == first.report_year == 2017
    assert quiet.reports.keys() == first.reports.keys()
    assert quiet.kpi_results.equals(first.kpi_results)  # read when asked for

    # The same state, copied, its record removed: the night runs in full and writes the same files.
    full_root = tmp_path / "full"
    shutil.copytree(landing.root, full_root, symlinks=True)
    full_settings = settings.with_overrides(
        landing=full_root / "landing",
        warehouse=full_root / "warehouse.duckdb",
        reports=full_root / "reports",
        published=full_root / "published",
    )
    (full_settings.reports / RECORD_NAME).unlink()
    full_before = _outputs(full_settings)
    full = _night(full_settings)
    assert not _was_quiet(full_before, _outputs(full_settings), full_settings)  # it did write again
    compared = 0
    for path in settings.reports.rglob("*"):
        if not path.is_file() or path.name.startswith(".") or "data_docs" in path.parts:
            continue
        twin = full_settings.reports / path.relative_to(settings.reports)
        if path.name == "run_summary.json":
            ours, theirs = json.loads(path.read_text()), json.loads(twin.read_text())
            assert (ours.pop("run_id"), theirs.pop("run_id")) == (quiet.run_id, full.run_id)
            assert ours == theirs and path.read_text().replace(quiet.run_id, full.run_id) == twin.read_text()
        elif path.suffix == ".xlsx":  # a workbook holds the time it was saved
            assert _workbook(path) == _workbook(twin), path.name
        else:
            assert path.read_bytes() == twin.read_bytes(), path.name
        compared += 1
    assert compared > 20  # the contract's CSVs, the filings, the rejection report, charts and pack
    assert sorted(
        p.relative_to(full_settings.reports) for p in full_settings.reports.rglob("*") if p.is_file()
    ) == sorted(p.relative_to(settings.reports) for p in settings.reports.rglob("*") if p.is_file())
    # and the night after that full one is quiet again
    again = _outputs(full_settings)
    _night(full_settings)
    assert _was_quiet(again, _outputs(full_settings), full_settings)


# The first point after the commit and the record's own write: the points between them are
# covered by the kill chains of tests/test_crash_safety.py, whose reruns must end as an
# uninterrupted night (a rerun that found a record too early would not).
@pytest.mark.parametrize("point", ["commit:after", "write:.outputs.json"])
def test_a_night_killed_after_its_commit_is_completed_by_the_next_night(landing, tmp_path, point):
    _deliver(landing)
    settings = landing.settings
    _night(settings)
    reference_root = tmp_path / "uninterrupted"
    shutil.copytree(landing.root, reference_root, symlinks=True)

    landing.energy("energy_P1_restated.csv", [["P1", "2017-06", "electricity", "900", "kWh"]])
    environment = os.environ | {"ENVKPI_FAULT_KILL_AT": point, "PYTHONPATH": str(PROJECT_DIR)}
    arguments = [
        "--landing",
        str(settings.landing),
        "--warehouse",
        str(settings.warehouse),
        "--reports",
        str(settings.reports),
        "--snapshot",
        str(settings.snapshot),
    ]
    environment |= {"ENVKPI_DATA_DOCS": "0", "ENVKPI_DRAWING_WORKERS": "1"}
    killed = subprocess.run(
        [sys.executable, "-m", "envkpi.cli", "run", *arguments], env=environment, capture_output=True, timeout=600
    )
    assert killed.returncode == -9, killed.stdout.decode() + killed.stderr.decode()

    # Nothing new in the landing folder since the killed night: the night after completes it.
    _night(settings)
    uninterrupted = settings.with_overrides(
        landing=reference_root / "landing",
        warehouse=reference_root / "warehouse.duckdb",
        reports=reference_root / "reports",
        published=reference_root / "published",
    )
    shutil.copy2(settings.landing / "energy_P1_restated.csv", uninterrupted.landing / "energy_P1_restated.csv")
    _night(uninterrupted)
    for name in ("kpi_results.csv", "rejections.csv", "boundary_warnings.csv", "restatements_since_publication.csv"):
        assert (settings.reports / name).read_bytes() == (uninterrupted.reports / name).read_bytes(), name
    with duckdb.connect(str(settings.snapshot / "warehouse.duckdb"), read_only=True) as snapshot:
        assert snapshot.execute("select count(*) from delivery").fetchone() == (7,)  # with the restatement's night
    charts = sorted(p.name for p in (settings.reports / "charts").iterdir())
    assert charts == sorted(p.name for p in (uninterrupted.reports / "charts").iterdir())
    # and then the nights are quiet again
    before = _outputs(settings)
    _night(settings)
    assert _was_quiet(before, _outputs(settings), settings)


def test_a_deleted_or_edited_output_is_made_again(landing):
    _deliver(landing)
    settings = landing.settings
    _night(settings, annual_report=False, publish_snapshot=False)
    kpi_results = (settings.reports / "kpi_results.csv").read_bytes()
    filing = next((settings.reports / "regulatory").glob("energy_conservation_FY2017.csv"))
    filing_bytes = filing.read_bytes()

    (settings.reports / "kpi_results.csv").unlink()
    filing.write_text("edited by hand\n")
    _night(settings, annual_report=False, publish_snapshot=False)
    assert (settings.reports / "kpi_results.csv").read_bytes() == kpi_results
    assert filing.read_bytes() == filing_bytes

    # A night that asks for more than the outputs hold (the snapshot) runs in full too.
    assert not (settings.snapshot / "warehouse.duckdb").exists()
    _night(settings, annual_report=False)
    assert (settings.snapshot / "warehouse.duckdb").is_file()


def test_a_touched_file_is_known_by_its_new_status_and_the_night_after_is_quiet(landing):
    _deliver(landing)
    settings = landing.settings
    _night(settings, annual_report=False, publish_snapshot=False)
    touched = settings.landing / "energy_P1.csv"
    os.utime(touched, (1_600_000_000, 1_600_000_000))  # a new time, the same bytes

    before = _outputs(settings)
    night = _night(settings, annual_report=False, publish_snapshot=False)
    assert not _was_quiet(before, _outputs(settings), settings)  # not known by its status: read as today
    assert night.ingest.loaded == [] and "energy_P1.csv" in night.ingest.unchanged
    with duckdb.connect(str(settings.warehouse), read_only=True) as connection:
        assert connection.execute("select source_file from known_status").fetchall() == [("energy_P1.csv",)]

    before = _outputs(settings)
    _night(settings, annual_report=False, publish_snapshot=False)
    assert _was_quiet(before, _outputs(settings), settings)
    assert _runs(settings)[-1] == (7, 0, 1, 5, 1)


def test_a_new_file_a_new_setting_or_new_reference_data_makes_a_full_night(landing, tmp_path):
    _deliver(landing)
    settings = landing.settings
    _night(settings, annual_report=False, publish_snapshot=False)

    def full_night(night_settings) -> bool:
        before = _outputs(night_settings)
        _night(night_settings, annual_report=False, publish_snapshot=False)
        return not _was_quiet(before, _outputs(night_settings), night_settings)

    assert full_night(settings.with_overrides(recalculation_threshold_pct=2.5))
    assert full_night(settings)  # back to the threshold the outputs were not made with
    assert not full_night(settings)
    (landing.path / "more notes.txt").write_text("another file left alone\n")
    assert full_night(settings)
    reference = tmp_path / "reference"
    shutil.copytree(settings.reference, reference)
    assert not full_night(settings.with_overrides(reference=reference))  # where it is does not count
    (reference / "energy_scopes.csv").write_text((reference / "energy_scopes.csv").read_text() + "\n")
    assert full_night(settings.with_overrides(reference=reference))


def test_a_quiet_night_imports_neither_pandas_nor_great_expectations_nor_matplotlib(landing):
    _deliver(landing)
    settings = landing.settings
    _night(settings)
    script = f"""
import json, sys
from envkpi.pipeline import run
from envkpi.settings import Settings
settings = Settings().with_overrides(landing={str(settings.landing)!r}, warehouse={str(settings.warehouse)!r},
                                     reports={str(settings.reports)!r}, snapshot={str(settings.snapshot)!r},
                                     data_docs=False, drawing_workers=1)
result = run(settings)
heavy = ("pandas", "numpy", "pyarrow", "great_expectations", "matplotlib", "openpyxl")
print(json.dumps([result.run_id, len(result.ingest.unchanged), [m for m in heavy if m in sys.modules]]))
"""
    before = _outputs(settings)
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=os.environ | {"PYTHONPATH": str(PROJECT_DIR)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    run_id, unchanged, imported = json.loads(done.stdout.splitlines()[-1])
    assert (unchanged, imported) == (5, [])
    assert _was_quiet(before, _outputs(settings), settings)
    assert json.loads((settings.reports / "run_summary.json").read_text())["run_id"] == run_id
