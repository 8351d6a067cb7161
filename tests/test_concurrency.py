"""Runs and readers never get in each other's way: one writer at a time, readers on a snapshot.

Library level, no Prefect: a notebook holding the published snapshot open neither blocks a run
nor breaks, and two runs started at once end exactly as one run would.

Figures, by hand (electricity 0.00976 GJ/kWh), FY2017, group energy intensity:
P01 alone: 12 x 1,000,000 kWh x 0.00976 / (12 x 100 t) = 97.6 GJ/t;
P01 and P02: 12 x 1,500,000 kWh x 0.00976 / (12 x 180 t) = 175,680 GJ / 2,160 t = 81.33 GJ/t.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from envkpi.pipeline import PUBLISHED_NAME, run

FY2017 = [p.strftime("%Y-%m") for p in pd.period_range("2017-04", "2018-03", freq="M")]
GROUP_ENERGY_FY2017 = (
    "select value from kpi_results where scope_level = 'group' and kpi = 'energy_intensity' and fiscal_year = 2017"
)
PLANTS = {"P01": ("Alpha Plant", "Magnets", 1_000_000, 100), "P02": ("Beta Plant", "Cables", 500_000, 80)}


def deliver(landing, *plant_ids: str) -> None:
    """FY2017 energy and production of the given plants, one file per kind and plant."""
    for plant in plant_ids:
        _, _, kwh, tonnes = PLANTS[plant]
        landing.energy(f"energy_{plant}_FY2017.csv", [[plant, m, "electricity", kwh, "kWh"] for m in FY2017])
        landing.production(f"production_{plant}_FY2017.csv", [[plant, m, tonnes, "t"] for m in FY2017])


def deliver_group(landing) -> None:
    landing.plants([[p, name, unit, "JP", "", ""] for p, (name, unit, _, _) in PLANTS.items()])
    deliver(landing, "P01", "P02")
    landing.energy("energy_P99_2017-04.csv", [["P99", "2017-04", "electricity", 5000, "kWh"]])


def read_in_another_process(path: Path) -> float:
    """What a notebook opened now reads (another process: DuckDB shares one database per path
    within a process, so a second connection there would see the first one's snapshot)."""
    code = (
        "import duckdb, sys; c = duckdb.connect(sys.argv[1], read_only=True); "
        f"print(repr(c.execute({GROUP_ENERGY_FY2017!r}).fetchone()[0]))"
    )
    return float(
        subprocess.run(
            [sys.executable, "-c", code, str(path)], check=True, capture_output=True, text=True, timeout=60
        ).stdout
    )


@pytest.mark.slow
def test_a_reader_of_the_published_snapshot_neither_blocks_nor_breaks_a_run(landing):
    landing.plants([[p, name, unit, "JP", "", ""] for p, (name, unit, _, _) in PLANTS.items()])
    deliver(landing, "P01")
    published = run(landing.settings).published
    assert published == landing.settings.published / PUBLISHED_NAME

    reader = duckdb.connect(str(published), read_only=True)
    try:
        assert reader.execute(GROUP_ENERGY_FY2017).fetchone()[0] == pytest.approx(97.6)
        deliver(landing, "P02")
        outcome: dict[str, object] = {}

        def second_run() -> None:
            try:
                outcome["result"] = run(landing.settings)
            except BaseException as error:  # noqa: BLE001 - reported by the assertion below
                outcome["error"] = error

        runner = threading.Thread(target=second_run)
        runner.start()
        answers = []
        while runner.is_alive():  # the reader keeps reading while the run ingests and publishes
            answers.append(reader.execute(GROUP_ENERGY_FY2017).fetchone()[0])
            time.sleep(0.05)
        runner.join()

        assert "error" not in outcome, outcome.get("error")
        assert outcome["result"].ingest.loaded == ["energy_P02_FY2017.csv", "production_P02_FY2017.csv"]
        assert len(answers) > 10 and answers == [pytest.approx(97.6)] * len(answers)
        # The open reader still answers, from the snapshot it opened ...
        assert reader.execute(GROUP_ENERGY_FY2017).fetchone()[0] == pytest.approx(97.6)
        # ... while a notebook opened after the run reads the new one.
        assert read_in_another_process(published) == pytest.approx(175_680 / 2_160)
    finally:
        reader.close()
    with duckdb.connect(str(published), read_only=True) as new_reader:
        assert new_reader.execute(GROUP_ENERGY_FY2017).fetchone()[0] == pytest.approx(175_680 / 2_160)


def accepted_rows(warehouse: Path) -> dict[str, pd.DataFrame]:
    """The accepted layer without lineage ids, in a stable order."""
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return {
            view: connection.execute(f"select * exclude (delivery_id) from {view} order by all").df()
            for view in ("accepted_plants", "accepted_energy", "accepted_production")
        }


@pytest.mark.slow
def test_two_runs_started_at_once_are_serialised_and_end_as_one_run_would(landing, tmp_path):
    deliver_group(landing)
    settings = landing.settings
    envkpi = Path(sys.executable).parent / "envkpi"

    def start(warehouse: Path, reports: Path, published: Path) -> subprocess.Popen:
        env = os.environ | {"ENVKPI_PUBLISHED": str(published)}
        return subprocess.Popen(
            [
                str(envkpi),
                "run",
                "--landing",
                str(settings.landing),
                "--warehouse",
                str(warehouse),
                "--reports",
                str(reports),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    # Two runs on the same warehouse, reports and snapshot, and one run on a fresh warehouse.
    pair = [start(settings.warehouse, settings.reports, settings.published) for _ in range(2)]
    fresh = tmp_path / "fresh"
    single = start(fresh / "warehouse.duckdb", fresh / "reports", fresh / "published")
    outputs = [process.communicate(timeout=180)[0] for process in (*pair, single)]
    assert [process.returncode for process in (*pair, single)] == [0, 0, 0], "\n".join(outputs)

    # One run loaded the files, the other found them already loaded: serialised, not interleaved.
    with duckdb.connect(str(settings.warehouse), read_only=True) as connection:
        runs = connection.execute(
            "select files_loaded, files_unchanged, files_rejected from ingest_run order by files_loaded"
        ).fetchall()
    assert runs == [(0, 5, 1), (5, 0, 1)]

    for name in ("kpi_results.csv", "rejections.csv"):
        assert (settings.reports / name).read_text() == (fresh / "reports" / name).read_text(), name
    ours, theirs = accepted_rows(settings.warehouse), accepted_rows(fresh / "warehouse.duckdb")
    for view in ours:
        pd.testing.assert_frame_equal(ours[view], theirs[view], obj=view)
    with duckdb.connect(str(settings.published / PUBLISHED_NAME), read_only=True) as snapshot:
        assert snapshot.execute(GROUP_ENERGY_FY2017).fetchone()[0] == pytest.approx(175_680 / 2_160)
