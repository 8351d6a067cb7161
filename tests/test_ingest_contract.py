"""Contract section 3, one test per delivery rule, on hand-made files."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from helpers import PLANTS_HEADER, write_csv, write_xlsx

ENERGY = ["plant_id", "period", "energy_type", "quantity", "unit"]
TWO_PLANTS = [["P1", "Plant One", "BU-A", "JP", "", ""], ["P2", "Plant Two", "BU-B", "CN", "", ""]]


def accepted(landing, kind: str) -> pd.DataFrame:
    return landing.query(f"select * exclude (delivery_id, source_row) from accepted_{kind} order by all")


# --- Rejection is per file --------------------------------------------------------------------


def test_file_with_errors_is_rejected_whole_and_its_rows_named(landing):
    landing.plants(TWO_PLANTS)
    landing.energy(
        "energy_P1.csv",
        [
            ["P1", "2017-04", "electricity", "100", "kWh"],  # row 2: fine
            ["P1", "2017-13", "electricity", "100", "kWh"],  # row 3: bad period
            ["P1", "2017-05", "electricity", "100", "kWh"],  # row 4: fine
            ["P1", "2017-06", "electricity", "-1", "kWh"],  # row 5: negative
        ],
    )
    landing.energy("energy_P2.csv", [["P2", "2017-04", "electricity", "50", "kWh"]])
    result = landing.run()

    assert result.ingest.rejected == ["energy_P1.csv"]
    assert result.ingest.loaded == ["plants.csv", "energy_P2.csv"]
    rejections = landing.rejections()
    assert rejections[["file", "row", "column", "value"]].values.tolist() == [
        ["energy_P1.csv", "3", "period", "2017-13"],
        # A text starting with '-' is neutralised so that a spreadsheet never runs it as a formula.
        ["energy_P1.csv", "5", "quantity", "'-1"],
    ]
    assert "YYYY-MM" in rejections.reason[0] and "negative" in rejections.reason[1]
    # None of the rejected file's rows is loaded; the other file goes on.
    assert accepted(landing, "energy").plant_id.tolist() == ["P2"]
    assert landing.query("select count(*) n from raw_energy").n[0] == 1


def test_a_failing_value_names_every_row_of_every_file_that_holds_it(landing):
    """GX judges each distinct value once (validation/validator.py); the verdict must still reach every
    row with that value, in each file, and rows with other values must not be named."""
    landing.plants(TWO_PLANTS)
    landing.energy(
        "energy_a.csv",
        [
            ["PX", "2017-04", "electricity", "100", "kWh"],  # row 2: unknown plant
            ["P1", "2017-05", "electricity", "7..5", "kWh"],  # row 3: not a number
            ["PX", "2017-06", "electricity", "100", "kWh"],  # row 4: the same unknown plant
            ["", "2017-07", "electricity", "100", "kWh"],  # row 5: empty plant
        ],
    )
    landing.energy(
        "energy_b.csv",
        [
            ["P2", "2017-04", "electricity", "7..5", "kWh"],  # row 2: the same bad number
            ["P2", "2017-05", "electricity", "100", "kWh"],  # row 3: fine
            ["", "2017-06", "electricity", "100", "kWh"],  # row 4: empty plant
        ],
    )
    landing.energy("energy_c.csv", [["P1", "2017-04", "electricity", "100", "kWh"]])
    result = landing.run()

    assert sorted(result.ingest.rejected) == ["energy_a.csv", "energy_b.csv"]
    named = landing.rejections()[["file", "row", "column", "value"]].values.tolist()
    assert sorted(named) == sorted(
        [
            ["energy_a.csv", "2", "plant_id", "PX"],
            ["energy_a.csv", "3", "quantity", "7..5"],
            ["energy_a.csv", "4", "plant_id", "PX"],
            ["energy_a.csv", "5", "plant_id", ""],
            ["energy_b.csv", "2", "quantity", "7..5"],
            ["energy_b.csv", "4", "plant_id", ""],
        ]
    )
    assert accepted(landing, "energy").plant_id.tolist() == ["P1"]


@pytest.mark.parametrize("validation_process_mb", [-1, 0], ids=["in-process", "worker-process"])
def test_verdicts_hold_across_batches_kinds_and_the_validation_worker(landing, monkeypatch, validation_process_mb):
    """Each file is its own batch here. A value that passed once is not checked again, across
    kinds too (plant_id has the same expectations in every monthly kind); a value that failed
    must fail again wherever it comes back. The worker process must judge as GX in this one."""
    import envkpi.ingest.deliveries

    monkeypatch.setattr(envkpi.ingest.deliveries, "BATCH_BYTES", 1)
    landing.plants(TWO_PLANTS)
    landing.energy(
        "energy_a.csv", [["P1", "2017-04", "electricity", "100", "kWh"], ["PX", "2017-04", "electricity", "100", "kWh"]]
    )  # row 3
    landing.energy(
        "energy_b.csv",
        [
            ["PX", "2017-05", "electricity", "100", "kWh"],  # row 2
            ["P2", "2017-05", "electricity", "100", "kWh"],
        ],
    )
    landing.energy("energy_c.csv", [["P2", "2017-06", "electricity", "100", "kWh"]])
    landing.waste(
        "waste_a.csv",
        [
            ["PX", "2017-04", "paper", "recycled", "5", "t"],  # row 2
            ["P1", "2017-04", "paper", "recycled", "5", "t"],
            ["P1", "2017-05", "paper", "recycled", "2e15", "t"],
        ],
    )  # row 4
    landing.production("production_a.csv", [["P1", "2017-04", "10", "t"], ["P2", "2017-04", "10", "t"]])
    result = landing.run(validation_process_mb=validation_process_mb)

    assert sorted(result.ingest.rejected) == ["energy_a.csv", "energy_b.csv", "waste_a.csv"]
    named = landing.rejections()[["file", "row", "column", "value"]].values.tolist()
    assert sorted(named) == sorted(
        [
            ["energy_a.csv", "3", "plant_id", "PX"],
            ["energy_b.csv", "2", "plant_id", "PX"],
            ["waste_a.csv", "2", "plant_id", "PX"],
            ["waste_a.csv", "4", "quantity", "2e15"],
        ]
    )
    assert sorted(result.ingest.loaded) == ["energy_c.csv", "plants.csv", "production_a.csv"]
    assert accepted(landing, "production").plant_id.tolist() == ["P1", "P2"]


@pytest.mark.parametrize(
    "header, row, column, reason",
    [
        (ENERGY, ["PX", "2017-04", "electricity", "1", "kWh"], "plant_id", "unknown plant"),
        (ENERGY, ["P1", "2017/04", "electricity", "1", "kWh"], "period", "bad period"),
        (ENERGY, ["P1", "2017-04", "electricity", "-3", "kWh"], "quantity", "negative"),
        (ENERGY, ["P1", "2017-04", "electricity", "12a", "kWh"], "quantity", "not a number"),
        (ENERGY, ["P1", "2017-04", "electricity", "1,234", "kWh"], "quantity", "not a number"),
        (ENERGY, ["P1", "2017-04", "electricity", "", "kWh"], "quantity", "empty"),
        (ENERGY, ["P1", "2017-04", "unobtainium", "1", "kWh"], "energy_type", "no conversion factor"),
        (
            ENERGY,
            ["P1", "2017-04", "electricity", "1", "furlong"],
            "unit",
            "no conversion factor for electricity: use one of",
        ),
        (["plant_id", "period", "quantity", "unit"], ["P1", "2017-04", "1", "lb"], "unit", "unknown unit"),
        (
            ["plant_id", "period", "waste_type", "treatment", "quantity", "unit"],
            ["P1", "2017-04", "sludge", "buried", "1", "t"],
            "treatment",
            "unknown treatment",
        ),
        (
            ["plant_id", "period", "substance", "medium", "quantity", "unit"],
            ["P1", "2017-04", "toluene", "space", "1", "kg"],
            "medium",
            "unknown medium",
        ),
        (
            ["plant_id", "period", "substance", "medium", "quantity", "unit"],
            ["P1", "2017-04", "toluene", "air", "1", "lb"],
            "unit",
            "unknown unit",
        ),
        (
            ["plant_id", "period", "energy_type", "unit"],
            ["P1", "2017-04", "electricity", "kWh"],
            "quantity",
            "missing required column",
        ),
    ],
    ids=[
        "unknown-plant",
        "bad-period",
        "negative",
        "non-numeric",
        "thousands-separator",
        "empty-quantity",
        "unknown-energy-type",
        "energy-unit-without-factor",
        "unknown-production-unit",
        "unknown-treatment",
        "unknown-medium",
        "unknown-chemical-unit",
        "missing-column",
    ],
)
def test_each_contract_error_rejects_the_file(landing, header, row, column, reason):
    kind = {"energy_type": "energy", "treatment": "waste", "medium": "chemicals"}
    name = next((kind[c] for c in header if c in kind), "production")
    landing.plants(TWO_PLANTS)
    landing.csv(f"{name}_bad.csv", header, [row])
    result = landing.run()

    assert result.ingest.rejected == [f"{name}_bad.csv"]
    rejections = landing.rejections()
    assert (rejections.column == column).any(), rejections
    found = rejections[rejections.column == column].iloc[0]
    assert reason in found.reason
    assert found.row in ("2", "1")  # the data row, or the header for a missing column
    assert landing.query(f"select count(*) n from raw_{name}").n[0] == 0


def test_duplicate_key_rows_that_disagree_reject_the_file(landing):
    landing.plants(TWO_PLANTS)
    landing.energy(
        "energy_dup.csv",
        [
            ["P1", "2017-04", "electricity", "100", "kWh"],
            ["P1", "2017-04", "city_gas", "7", "m3"],
            ["P1", "2017-04", "electricity", "120", "kWh"],  # row 4 repeats row 2's key with another quantity
        ],
    )
    landing.run()
    rejections = landing.rejections()
    assert rejections[["file", "row", "column", "value"]].values.tolist() == [
        ["energy_dup.csv", "4", "quantity", "120"]
    ]
    assert "row 2" in rejections.reason[0]


def test_identical_duplicate_rows_count_once(landing):
    landing.plants(TWO_PLANTS)
    landing.energy(
        "energy_P1.csv",
        [
            ["P1", "2017-04", "electricity", "100", "kWh"],
            ["P1", "2017-04", "electricity", "100", "kWh"],
        ],
    )
    landing.production("production_P1.csv", [["P1", "2017-04", "1", "t"]])
    landing.run()
    # Both rows stay in the raw layer as delivered; the figure counts the record once:
    # 100 kWh x 0.00976 GJ/kWh = 0.976 GJ per 1 t.
    assert landing.query("select count(*) n from raw_energy").n[0] == 2
    assert landing.kpi("energy_intensity", 2017).numerator == pytest.approx(0.976, abs=1e-12)


# --- Re-delivery replaces ---------------------------------------------------------------------


def test_redelivery_replaces_only_the_months_it_covers(landing):
    landing.plants(TWO_PLANTS)
    landing.energy(
        "energy_P1_q1.csv",
        [
            ["P1", "2017-04", "electricity", "100", "kWh"],
            ["P1", "2017-05", "electricity", "200", "kWh"],
            ["P1", "2017-05", "city_gas", "20", "m3"],
            ["P1", "2017-06", "electricity", "300", "kWh"],
            ["P2", "2017-05", "electricity", "999", "kWh"],
        ],
    )
    landing.run()
    # A restatement of P1's May only: it states the whole truth for (energy, P1, 2017-05).
    landing.energy("energy_P1_2017-05_restated.csv", [["P1", "2017-05", "electricity", "250", "kWh"]])
    result = landing.run()

    assert result.ingest.loaded == ["energy_P1_2017-05_restated.csv"]
    rows = accepted(landing, "energy")
    assert rows[["plant_id", "period_month", "energy_type", "quantity"]].astype(str).values.tolist() == [
        ["P1", "2017-04-01", "electricity", "100.0"],
        ["P1", "2017-05-01", "electricity", "250.0"],  # city_gas of May is gone with the old May
        ["P1", "2017-06-01", "electricity", "300.0"],
        ["P2", "2017-05-01", "electricity", "999.0"],  # another plant's May is untouched
    ]


def test_superseded_rows_stay_queryable(landing):
    landing.plants(TWO_PLANTS)
    first = landing.energy("energy_first.csv", [["P1", "2017-04", "electricity", "100", "kWh"]])
    landing.run()
    landing.energy("energy_second.csv", [["P1", "2017-04", "electricity", "110", "kWh"]])
    landing.run()

    lineage = landing.query(
        "select source_file, sha256, source_row, status from raw_row_lineage where kind = 'energy' order by delivery_id"
    )
    assert lineage.values.tolist() == [
        ["energy_first.csv", hashlib.sha256(first.read_bytes()).hexdigest(), 2, "superseded"],
        [
            "energy_second.csv",
            hashlib.sha256((landing.path / "energy_second.csv").read_bytes()).hexdigest(),
            2,
            "current",
        ],
    ]
    old = landing.query(
        "select quantity from raw_energy join delivery using (delivery_id) where source_file = 'energy_first.csv'"
    )
    assert old.quantity.tolist() == ["100"]


def test_files_in_one_run_apply_in_order_of_modification_time_then_name(landing):
    landing.plants(TWO_PLANTS)
    # Named in the opposite order of their modification times: time decides.
    newer = landing.energy("energy_a.csv", [["P1", "2017-04", "electricity", "2", "kWh"]])
    older = landing.energy("energy_b.csv", [["P1", "2017-04", "electricity", "1", "kWh"]])
    os.utime(older, (1_000_000_000, 1_000_000_000))
    os.utime(newer, (1_000_000_100, 1_000_000_100))
    # Same modification time: the name decides (energy_d after energy_c).
    landing.energy("energy_c.csv", [["P2", "2017-04", "electricity", "3", "kWh"]])
    landing.energy("energy_d.csv", [["P2", "2017-04", "electricity", "4", "kWh"]])
    for name in ("energy_c.csv", "energy_d.csv"):
        os.utime(landing.path / name, (1_000_000_200, 1_000_000_200))
    landing.run()
    assert accepted(landing, "energy")[["plant_id", "quantity"]].astype(str).values.tolist() == [
        ["P1", "2.0"],
        ["P2", "4.0"],
    ]


# --- Idempotent -------------------------------------------------------------------------------

STORED_TABLES = ("delivery", "rejection", "current_slice", "raw_plants", "raw_energy", "raw_production")


def snapshot(landing) -> dict[str, list]:
    return {t: landing.query(f"select * from {t} order by all").astype(str).values.tolist() for t in STORED_TABLES}


def test_a_second_ingest_of_the_same_files_changes_no_row(landing):
    landing.plants(TWO_PLANTS)
    landing.energy("energy_P1.csv", [["P1", "2017-04", "electricity", "100", "kWh"]])
    landing.production("production_P1.csv", [["P1", "2017-04", "10", "t"]])
    landing.energy("energy_bad.csv", [["PX", "2017-04", "electricity", "1", "kWh"]])
    landing.run()
    before = snapshot(landing)
    kpis_before = (landing.settings.reports / "kpi_results.csv").read_bytes()

    second = landing.run()
    assert second.ingest.loaded == []
    assert sorted(second.ingest.unchanged) == ["energy_P1.csv", "plants.csv", "production_P1.csv"]
    assert snapshot(landing) == before
    assert (landing.settings.reports / "kpi_results.csv").read_bytes() == kpis_before


def test_a_night_that_accepts_nothing_rebuilds_no_derived_table(landing, monkeypatch):
    import envkpi.warehouse.database

    built: list[str] = []
    execute_file = envkpi.warehouse.database.execute_file
    monkeypatch.setattr(
        envkpi.warehouse.database,
        "execute_file",
        lambda connection, name, *rest: (built.append(name), execute_file(connection, name, *rest))[1],
    )
    layers = set(envkpi.warehouse.database.DERIVED_TABLES[2:])
    landing.plants(TWO_PLANTS)
    landing.energy("energy_P1.csv", [["P1", "2017-04", "electricity", "100", "kWh"]])
    landing.production("production_P1.csv", [["P1", "2017-04", "10", "t"]])
    landing.run()
    assert layers <= set(built)
    kpis = (landing.settings.reports / "kpi_results.csv").read_bytes()

    built.clear()
    landing.energy("energy_bad.csv", [["PX", "2017-04", "electricity", "1", "kWh"]])  # rejected: changes nothing
    assert landing.run().ingest.rejected == ["energy_bad.csv"]
    built.clear()
    landing.run()  # nothing new at all
    assert not layers & set(built)
    assert (landing.settings.reports / "kpi_results.csv").read_bytes() == kpis

    # A setting the layers are built with (another fiscal-year start) rebuilds them whole.
    landing.run(fiscal_year_start_month=1)
    assert layers <= set(built)
    # An accepted month rebuilds them: energy 100 + 50 kWh over 10 t of production.
    built.clear()
    landing.energy("energy_P1_more.csv", [["P1", "2017-05", "electricity", "50", "kWh"]])
    landing.production("production_P1_more.csv", [["P1", "2017-05", "0", "t"]])
    landing.run()
    assert layers <= set(built)
    assert (landing.settings.reports / "kpi_results.csv").read_bytes() != kpis


def test_the_same_content_under_another_name_is_not_counted_twice(landing):
    landing.plants(TWO_PLANTS)
    rows = [["P1", "2017-04", "electricity", "100", "kWh"]]
    landing.energy("energy_P1.csv", rows)
    landing.run()
    landing.energy("energy_P1_copy.csv", rows)
    result = landing.run()
    assert result.ingest.unchanged == ["plants.csv", "energy_P1.csv", "energy_P1_copy.csv"] or sorted(
        result.ingest.unchanged
    ) == ["energy_P1.csv", "energy_P1_copy.csv", "plants.csv"]
    assert landing.query("select count(*) n from raw_energy").n[0] == 1


# --- Rejected files are kept and reported until fixed ----------------------------------------


def test_a_rejected_file_is_reported_on_every_run_until_it_is_fixed(landing):
    landing.plants(TWO_PLANTS)
    bad = landing.energy("energy_P1.csv", [["P1", "2017-04", "electricity", "x", "kWh"]])
    landing.run()
    second = landing.run()
    assert second.ingest.rejected == ["energy_P1.csv"]
    assert landing.rejections().file.tolist() == ["energy_P1.csv"]
    assert bad.exists()

    landing.energy("energy_P1.csv", [["P1", "2017-04", "electricity", "5", "kWh"]])  # replaced, fixed
    third = landing.run()
    assert third.ingest.loaded == ["energy_P1.csv"]
    assert landing.rejections().empty


def test_a_file_rejected_for_an_unknown_plant_loads_once_the_plant_is_delivered(landing):
    landing.plants([TWO_PLANTS[0]])
    landing.energy("energy_P2.csv", [["P2", "2017-04", "electricity", "5", "kWh"]])
    assert landing.run().ingest.rejected == ["energy_P2.csv"]
    landing.plants(TWO_PLANTS, name="plants_v2.csv")
    result = landing.run()
    assert result.ingest.loaded == ["plants_v2.csv", "energy_P2.csv"]
    assert landing.rejections().empty


def _ingest(landing, validator_factory, settings=None):
    """One run's ingest (no reports) with the validators built by ``validator_factory``."""
    from envkpi.pipeline import ingest_and_compute, new_run_id
    from envkpi.warehouse.database import connect

    now = pd.Timestamp.now()
    connection = connect(landing.settings.warehouse)
    try:
        connection.execute("begin transaction")
        summary = ingest_and_compute(connection, settings or landing.settings, new_run_id(now), now, validator_factory)
        connection.execute("commit")
    finally:
        connection.close()
    return summary


class CountingValidators:
    """A validator factory that records each validator built and every file each one validates."""

    def __init__(self, settings):
        from envkpi.pipeline import make_validator

        self._build = make_validator(settings)
        self.built = 0
        self.validated: list[str] = []

    def __call__(self, new_bytes):
        validator = self._build(new_bytes)
        self.built += 1
        validate = validator.validate

        def counting(kind, rows, reference):
            self.validated.extend(sorted(set(rows["source_file"].to_pylist())))
            return validate(kind, rows, reference)

        validator.validate = counting
        return validator


def test_a_rejected_file_is_not_checked_again_until_what_it_failed_against_changes(landing, monkeypatch):
    import envkpi.ingest.deliveries

    read: list[str] = []
    read_landed = envkpi.ingest.deliveries.read_landed
    monkeypatch.setattr(
        envkpi.ingest.deliveries, "read_landed", lambda landed: (read.append(landed.relative), read_landed(landed))[1]
    )
    landing.plants([TWO_PLANTS[0]])
    landing.energy(
        "energy_P2.csv", [["P2", "2017-04", "electricity", "5", "kWh"], ["P2", "2017-05", "electricity", "6", "kWh"]]
    )
    landing.energy("energy_P1_bad.csv", [["P1", "2017-13", "electricity", "-1", "kWh"]])
    # By hand: both rows of energy_P2.csv name a plant not in the boundary; the other file's row 2
    # has a month 13 and a negative quantity.
    expected = [
        ["energy_P2.csv", 2, "plant_id", "P2"],
        ["energy_P2.csv", 3, "plant_id", "P2"],
        ["energy_P1_bad.csv", 2, "period", "2017-13"],
        ["energy_P1_bad.csv", 2, "quantity", "-1"],
    ]

    first_validators = CountingValidators(landing.settings)
    first = _ingest(landing, first_validators)
    assert first.rejected == ["energy_P2.csv", "energy_P1_bad.csv"]
    assert first.rejections()[["file", "row", "column", "value"]].values.tolist() == expected
    assert {"energy_P2.csv", "energy_P1_bad.csv"} <= set(first_validators.validated)

    # Nothing changed: the stored rejections are reported as they were, without reading or checking the files.
    read.clear()
    quiet = CountingValidators(landing.settings)
    second = _ingest(landing, quiet)
    assert (quiet.built, quiet.validated, read) == (0, [], [])
    assert second.rejected == ["energy_P2.csv", "energy_P1_bad.csv"]
    pd.testing.assert_frame_equal(second.rejections(), first.rejections())

    # A setting that shapes the list of problems is part of what a file is checked against.
    fewer = landing.settings.with_overrides(max_problems_per_file=1)
    third_validators = CountingValidators(fewer)
    third = _ingest(landing, third_validators, fewer)
    assert sorted(third_validators.validated) == sorted(read) == ["energy_P1_bad.csv", "energy_P2.csv"]
    assert third.rejections()[["file", "column", "value"]].values.tolist()[:2] == [
        ["energy_P2.csv", "plant_id", "P2"],
        ["energy_P2.csv", "", "1 more"],
    ]

    # The plant it lacked arrives: energy_P2.csv is checked again, against the new boundary, and
    # loads; the other file is checked again too and stays rejected for its own problems.
    assert (
        _ingest(landing, CountingValidators(landing.settings)).rejections().values.tolist()
        == first.rejections().values.tolist()
    )
    landing.plants(TWO_PLANTS, name="plants_v2.csv")
    read.clear()
    last_validators = CountingValidators(landing.settings)
    last = _ingest(landing, last_validators)
    assert {"energy_P2.csv", "energy_P1_bad.csv"} <= set(read) & set(last_validators.validated)
    assert last.loaded == ["plants_v2.csv", "energy_P2.csv"]
    assert last.rejections()[["file", "row", "column", "value"]].values.tolist() == expected[2:]
    assert accepted(landing, "energy").plant_id.tolist() == ["P2", "P2"]


def test_a_file_whose_content_was_loaded_is_not_checked_again_when_touched_or_copied(landing, monkeypatch):
    import envkpi.ingest.deliveries

    landing.plants(TWO_PLANTS)
    rows = [["P1", "2017-04", "electricity", "100", "kWh"]]
    energy = landing.energy("energy_P1.csv", rows)
    _ingest(landing, CountingValidators(landing.settings))
    os.utime(energy, ns=(energy.stat().st_atime_ns, energy.stat().st_mtime_ns + 10**9))  # touched: a new status
    landing.energy("energy_P1_copy.csv", rows)
    validators = CountingValidators(landing.settings)
    summary = _ingest(landing, validators)
    assert validators.validated == []
    assert sorted(summary.unchanged) == ["energy_P1.csv", "energy_P1_copy.csv", "plants.csv"]
    assert landing.query("select count(*) n from raw_energy").n[0] == 1
    # The next night knows both by their status: nothing is read, no validator is built.
    read: list[str] = []
    read_landed = envkpi.ingest.deliveries.read_landed
    monkeypatch.setattr(
        envkpi.ingest.deliveries, "read_landed", lambda landed: (read.append(landed.relative), read_landed(landed))[1]
    )
    validators = CountingValidators(landing.settings)
    summary = _ingest(landing, validators)
    assert (read, validators.built) == ([], 0)
    assert sorted(summary.unchanged) == ["energy_P1.csv", "energy_P1_copy.csv", "plants.csv"]


# --- Formats read identically -----------------------------------------------------------------

WASTE = ["plant_id", "period", "waste_type", "treatment", "quantity", "unit"]
WASTE_ROWS = [
    ["P1", "2017-04", "汚泥", "recycled", "1.5", "t"],
    ["P1", "2017-04", "金属くず", "valuable", "250", "kg"],
    ["P1", "2017-04", "廃プラスチック", "incinerated", "0", "t"],
]


def _read(path: Path) -> pd.DataFrame:
    from envkpi.ingest.readers import read_delivery

    table = read_delivery(path, "waste")
    assert table.readable, table.problems
    return table.frame


@pytest.mark.parametrize("variant", ["utf-8-bom", "shift_jis", "cp932", "xlsx", "header-variations"])
def test_encodings_xlsx_and_header_variations_read_identically_to_plain_csv(tmp_path, variant):
    plain = _read(write_csv(tmp_path / "waste_plain.csv", WASTE, WASTE_ROWS))
    if variant == "utf-8-bom":
        path = write_csv(tmp_path / "waste_v.csv", WASTE, WASTE_ROWS, encoding="utf-8-sig")
    elif variant in ("shift_jis", "cp932"):
        path = write_csv(tmp_path / "waste_v.csv", WASTE, WASTE_ROWS, encoding=variant)
    elif variant == "xlsx":
        numeric = [[*r[:4], float(r[4]) if "." in r[4] else int(r[4]), r[5]] for r in WASTE_ROWS]
        path = write_xlsx(tmp_path / "waste_v.xlsx", WASTE, numeric)
    else:
        header = [" Plant_ID ", "PERIOD", "Waste_Type", " treatment", "Quantity ", "UNIT"]
        padded = [[f" {v} " for v in r] for r in WASTE_ROWS]
        path = write_csv(tmp_path / "waste_v.csv", header, padded)
    pd.testing.assert_frame_equal(_read(path), plain)


def test_rows_of_many_files_come_out_trimmed_in_order_whatever_path_read_them(tmp_path):
    """Files parsed together (one buffer per header), on their own (Shift_JIS) and with extra
    columns, interleaved: each row as Python's csv module and str.strip read it, in file order."""
    import csv
    import json

    from envkpi.ingest.deliveries import kind_table
    from envkpi.ingest.readers import read_deliveries

    files = {  # name: (header, rows, encoding); write_csv ends lines with CRLF
        "a.csv": (
            ENERGY,
            [[" P1", "2017-04 ", "electricity", " 1 ", "kWh"], ["P1", "2017-05", "  ", "2", "kWh"]],
            "utf-8",
        ),
        "b.csv": (ENERGY, [["P2", "2017-04", "gas", "3", "m3"]], "utf-8"),
        "c.csv": (ENERGY, [["\u3000P1\u3000", "2017-06", "electricity", "4", "kWh"]], "cp932"),
        "d.csv": (
            ENERGY,
            [
                ["P1", "2017-07", "electricity", "5", ""],
                ["", "", "", "", ""],
                ["P1", "2017-08", "electricity", "6", "kWh"],
            ],
            "utf-8",
        ),
        "e.csv": (
            ENERGY + ["comment"],
            [["P2", "2017-05", "gas", "7", "m3", " meter swap "], ["P2", "2017-06", "gas", "8", "m3", ""]],
            "utf-8",
        ),
        "f.csv": (ENERGY, [["P2", "2017-07", "gas", "\t9", "m3"]], "utf-8"),
    }
    expected = []
    for name, (header, rows, encoding) in files.items():
        write_csv(tmp_path / name, header, rows, encoding=encoding)
        text = (tmp_path / name).read_bytes().decode(encoding)
        _, *records = list(csv.reader(text.splitlines()))
        for number, record in enumerate(records, start=2):
            cells = [cell.strip() or None for cell in record]
            if not any(cells):
                continue  # a line of empty cells is no record
            extra = {h: cell.strip() for h, cell in zip(header[5:], record[5:])}
            expected.append(
                {
                    "source_file": name,
                    "source_row": number,
                    **dict(zip(ENERGY, cells[:5])),
                    "extra_columns": json.dumps(extra) if any(extra.values()) else None,
                }
            )

    tables = read_deliveries({name: tmp_path / name for name in files}, "energy")
    rows = kind_table("energy", tables).to_pylist()

    assert [{k: row[k] for k in expected[0]} for row in rows] == expected


def test_an_xlsx_period_typed_as_a_date_reads_as_its_month(tmp_path):
    import datetime as dt

    path = write_xlsx(tmp_path / "waste.xlsx", WASTE, [["P1", dt.datetime(2017, 4, 1), "sludge", "recycled", 1, "t"]])
    assert _read(path).period.tolist() == ["2017-04"]


def test_extra_columns_are_kept_in_the_raw_layer_and_otherwise_ignored(landing):
    landing.plants(TWO_PLANTS)
    landing.csv("energy_P1.csv", ENERGY + ["comment"], [["P1", "2017-04", "electricity", "1", "kWh", "meter swap"]])
    landing.run()
    assert landing.query("select extra_columns from raw_energy").extra_columns.tolist() == ['{"comment": "meter swap"}']


# --- Nothing lost, nothing touched ------------------------------------------------------------


def test_a_non_contract_file_is_reported_and_left_alone(landing):
    minutes = landing.path / "minutes_2019-10-05.txt"
    minutes.write_text("Meeting minutes: nothing to load here.\n")
    landing.plants(TWO_PLANTS)
    result = landing.run()
    assert result.ingest.ignored == ["minutes_2019-10-05.txt"]
    rejections = landing.rejections()
    assert rejections.file.tolist() == ["minutes_2019-10-05.txt"]
    assert "not a contract file" in rejections.reason[0]
    assert minutes.read_text() == "Meeting minutes: nothing to load here.\n"
    assert landing.query("select count(*) n from delivery where source_file like 'minutes%'").n[0] == 0


def _fingerprint(folder: Path) -> dict[str, tuple[str, int]]:
    return {
        p.relative_to(folder).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_no_file_in_the_landing_folder_is_modified_moved_or_deleted(landing):
    landing.plants(TWO_PLANTS)
    landing.energy("sub/energy_P1.csv", [["P1", "2017-04", "electricity", "1", "kWh"]])
    landing.energy("energy_bad.csv", [["P1", "2017-04", "electricity", "-1", "kWh"]])
    (landing.path / "notes.docx").write_bytes(b"PK\x03\x04 not really")
    (landing.path / "waste_empty.csv").write_bytes(b"")
    before = _fingerprint(landing.path)
    landing.run()
    landing.run()
    assert _fingerprint(landing.path) == before


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("energy_empty.csv", b"", "empty file"),
        ("energy_header.csv", b"plant_id,period,energy_type,quantity,unit\r\n", "no data rows"),
        ("energy_binary.csv", bytes(range(256)) * 4, "binary"),
        ("energy_zero.xlsx", b"", "empty file"),
        ("energy_truncated.xlsx", b"PK\x03\x04\x14\x00\x00\x00\x08\x00", "not a readable XLSX"),
        (
            "energy_ragged.csv",
            b"plant_id,period,energy_type,quantity,unit\nP1,2017-04,electricity,1,kWh\nP1,2017-05,electricity\n"
            b"P1,2017-06,electricity,1,kWh,surprise\n",
            "fields but the header has 5",
        ),
        (
            "energy_latin1.csv",
            "plant_id,period,energy_type,quantity,unit\nP1,2017-04,électricité,1,kWh\n".encode("latin-1") + b"\xff\xfe",
            "neither UTF-8 nor Shift_JIS",
        ),
        ("energy_quote.csv", b'plant_id,period,energy_type,quantity,unit\nP1,"2017-04,electricity,1,kWh\n', "CSV"),
    ],
    ids=["empty", "header-only", "binary", "zero-byte-xlsx", "truncated-xlsx", "ragged", "bad-encoding", "open-quote"],
)
def test_bad_input_is_rejected_with_a_reason_and_never_crashes_the_run(landing, name, content, reason):
    landing.plants(TWO_PLANTS)
    (landing.path / name).write_bytes(content)
    landing.energy("energy_good.csv", [["P1", "2017-04", "electricity", "1", "kWh"]])
    result = landing.run()
    assert result.ingest.rejected == [name]
    assert "energy_good.csv" in result.ingest.loaded
    rejections = landing.rejections()
    assert set(rejections.file) == {name}
    assert any(reason in r for r in rejections.reason), rejections.reason.tolist()


def test_ragged_rows_are_named_by_their_spreadsheet_row(landing):
    landing.plants(TWO_PLANTS)
    (landing.path / "energy_ragged.csv").write_bytes(
        b"plant_id,period,energy_type,quantity,unit\n"
        b'P1,2017-04,electricity,"1",kWh\n'
        b'P1,2017-05,"electricity\nmeter 2",1,kWh\n'  # a quoted newline: still one spreadsheet row (3)
        b"P1,2017-06,electricity,1\n"  # row 4: one field short
    )
    landing.run()
    assert landing.rejections()[["row", "value"]].values.tolist() == [["4", "4"]]


# --- Lineage ----------------------------------------------------------------------------------


def test_every_raw_row_carries_file_sha256_row_and_run(landing):
    landing.plants(TWO_PLANTS)
    path = landing.energy(
        "deep/folder/energy_P1.csv",
        [
            ["P1", "2017-04", "electricity", "1", "kWh"],
            ["P1", "2017-05", "electricity", "2", "kWh"],
        ],
    )
    result = landing.run()
    lineage = landing.query(
        "select source_file, sha256, source_row, run_id from raw_row_lineage where kind = 'energy' order by source_row"
    )
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert lineage.values.tolist() == [
        ["deep/folder/energy_P1.csv", digest, 2, result.run_id],
        ["deep/folder/energy_P1.csv", digest, 3, result.run_id],
    ]


# --- envkpi check -----------------------------------------------------------------------------


def _check(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "envkpi.cli", "check", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "ENVKPI_PUBLISHED": str(cwd / "no-published")},
    )


def test_check_reports_problems_without_loading_and_exits_non_zero(tmp_path):
    plants = write_csv(tmp_path / "plants.csv", PLANTS_HEADER, TWO_PLANTS)
    good = write_csv(tmp_path / "energy_good.csv", ENERGY, [["P1", "2017-04", "electricity", "1", "kWh"]])
    bad = write_csv(
        tmp_path / "energy_bad.csv",
        ENERGY,
        [["P1", "2017-04", "electricity", "1", "kWh"], ["P9", "2017-04", "electricity", "1", "kWh"]],
    )
    warehouse = tmp_path / "none.duckdb"
    ok = _check(str(plants), str(good), "--warehouse", str(warehouse), cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    failed = _check(str(plants), str(bad), "--warehouse", str(warehouse), cwd=tmp_path)
    assert failed.returncode == 1
    assert "REJECTED" in failed.stdout and "row 3, column plant_id, value 'P9'" in failed.stdout
    assert not warehouse.exists()


def test_each_run_that_validates_files_writes_data_docs(landing):
    landing.plants(TWO_PLANTS)
    landing.energy("energy_bad.csv", [["P1", "2017-04", "electricity", "-1", "kWh"]])
    landing.run(data_docs=True)
    index = landing.settings.reports / "data_docs" / "index.html"
    assert index.exists()
    pages = [p.read_text(encoding="utf-8") for p in (landing.settings.reports / "data_docs").rglob("*.html")]
    assert any("expect_column_values_to_be_between" in page or "quantity_number" in page for page in pages)
