"""The published-snapshot helpers give the figures of the contract, and every notebook runs on them.

A tiny group is delivered in two runs: business units Magnets (P1, P2) and Cables (P3, in scope
from 2005-10), FY2005 (the base year) and FY2006. The second run restates P1's 2006-06 energy
and fixes a rejected targets file; a chemicals file with a negative quantity stays rejected.
Expected figures are worked out by hand below from the monthly quantities written here.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import duckdb
import jupytext
import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient

from envkpi.pipeline import publish_year_step, run
from envkpi.reporting import published
from envkpi.settings import PROJECT_DIR, Settings

NOTEBOOKS = PROJECT_DIR / "notebooks"
NOTEBOOK_FILES = sorted(NOTEBOOKS.glob("*.py"))

# Heating values of the shipped factors (data/reference/energy_factors.csv) before FY2013.
GJ_PER_KWH = 0.00976
GJ_PER_MWH = 9.76
GJ_PER_M3_CITY_GAS = 0.0448

# Monthly quantities as delivered, per plant and fiscal year.
P1_KWH = {2005: 1000, 2006: 900}
P1_KWH_RESTATED_2006_06 = 1200  # first delivered as 900, corrected in the second run
P2_M3 = 100  # every month except 2007-03, which P2 never delivered
P3_MWH = 2
PRODUCTION_T = {
    ("P1", 2005): 10,
    ("P1", 2006): 12,
    ("P2", 2005): 5,
    ("P2", 2006): 5,
    ("P3", 2005): 20,
    ("P3", 2006): 25,
}
# (waste_type, treatment, quantity in t); valuables count as recycled.
WASTE_T = {
    ("P1", 2005): [("scrap", "recycled", 0.5), ("sludge", "landfilled", 0.5)],
    ("P1", 2006): [("scrap", "recycled", 0.6), ("sludge", "landfilled", 0.3)],
    ("P2", 2005): [("slag", "valuable", 1.0), ("rubbish", "incinerated", 1.0)],
    ("P2", 2006): [("slag", "valuable", 1.0), ("rubbish", "incinerated", 1.0)],
    ("P3", 2005): [("copper", "recycled", 2.0)],
    ("P3", 2006): [("copper", "recycled", 2.0)],
}
# P1 sent its March 2007 scrap to incineration: a month with waste but nothing recycled.
P1_SCRAP_INCINERATED = "2007-03"
CHEMICALS_KG = {
    ("P1", 2005): 2.0,
    ("P1", 2006): 1.5,
    ("P2", 2005): 1.0,
    ("P2", 2006): 1.0,
    ("P3", 2005): 0.5,
    ("P3", 2006): 0.5,
}

# --- the group's figures, by hand ---------------------------------------------------------
P1_GJ_2005 = 12 * 1000 * GJ_PER_KWH  # 117.12
P2_GJ_2005 = 12 * 100 * GJ_PER_M3_CITY_GAS  # 53.76
P3_GJ_2005 = 6 * 2 * GJ_PER_MWH  # 117.12: in the boundary from 2005-10 only
GROUP_T_2005 = 12 * 10 + 12 * 5 + 6 * 20  # 300 t
GROUP_ENERGY_INTENSITY_2005 = (P1_GJ_2005 + P2_GJ_2005 + P3_GJ_2005) / GROUP_T_2005  # 288 / 300 = 0.96

P1_GJ_2006 = (11 * 900 + 1200) * GJ_PER_KWH  # 108.336, with the restated June
P2_GJ_2006 = 11 * 100 * GJ_PER_M3_CITY_GAS  # 49.28, March missing
P3_GJ_2006 = 12 * 2 * GJ_PER_MWH  # 234.24
GROUP_T_2006 = 12 * 12 + 12 * 5 + 12 * 25  # 504 t
GROUP_ENERGY_INTENSITY_2006 = (P1_GJ_2006 + P2_GJ_2006 + P3_GJ_2006) / GROUP_T_2006
GROUP_ENERGY_CHANGE_2006 = (1 - GROUP_ENERGY_INTENSITY_2006 / GROUP_ENERGY_INTENSITY_2005) * 100  # 19.0 %

P1_ENERGY_INTENSITY_2005 = P1_GJ_2005 / 120
P1_ENERGY_INTENSITY_2006 = P1_GJ_2006 / 144
P1_ENERGY_CHANGE_2006 = (1 - P1_ENERGY_INTENSITY_2006 / P1_ENERGY_INTENSITY_2005) * 100  # 22.9 %

# Waste FY2006: P1 12 x 0.9 t (11 x 0.6 recycled), P2 12 x 2 t (12 valuable), P3 12 x 2 t (24 recycled).
GROUP_RECYCLING_RATE_2006 = (6.6 + 12 + 24) / (10.8 + 24 + 24) * 100  # 72.4 %
MAGNETS_RECYCLING_RATE_2006 = (6.6 + 12) / (10.8 + 24) * 100  # 53.4 %

PLANTS = [
    ["P1", "Alpha Plant", "Magnets", "JP", "", ""],
    ["P2", "Beta Plant", "Magnets", "JP", "", ""],
    ["P3", "Gamma Plant", "Cables", "JP", "2005-10", ""],
]
TARGETS = [  # kpi, fiscal_year, target_pct, scope_id
    ["energy_intensity", "2006", "5", ""],  # group: 19.0 % / 5 % -> achieved ***
    ["recycling_rate", "2006", "60", ""],  # group: 72.4 % / 60 % -> achieved ***
    ["energy_intensity", "2006", "25", "P1"],  # P1: 22.9 % / 25 % = 0.92 -> 90% achieved **
]
BU_TARGET = ["recycling_rate", "2006", "90", "Magnets"]  # 53.4 % / 90 % = 0.59 -> not achieved *


def months(fiscal_year: int) -> list[str]:
    """The twelve periods of an April-start fiscal year."""
    return [f"{fiscal_year + (month < 4)}-{month:02d}" for month in (*range(4, 13), 1, 2, 3)]


def in_boundary(plant_id: str, period: str) -> bool:
    return plant_id != "P3" or period >= "2005-10"


def write_csv(path: Path, header: list[str], rows: list[list[object]], delivered: int) -> None:
    """A delivered CSV; ``delivered`` orders the files of a run (their modification time)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    stamp = 1_500_000_000 + delivered * 60
    os.utime(path, (stamp, stamp))


def deliver_first_run(landing: Path) -> None:
    plants = ["plant_id", "name", "business_unit", "country", "in_scope_from", "in_scope_to"]
    write_csv(landing / "plants.csv", plants, PLANTS, 1)
    write_csv(landing / "targets.csv", ["kpi", "fiscal_year", "target_pct", "scope_id"], TARGETS, 1)
    # "Magnet" is not a business unit: the file is rejected, and fixed in the second run.
    write_csv(
        landing / "targets_bu.csv", ["kpi", "fiscal_year", "target_pct", "scope_id"], [BU_TARGET[:3] + ["Magnet"]], 1
    )
    for fiscal_year in (2005, 2006):
        energy = []
        if fiscal_year == 2005:
            # P3 joined the boundary in 2005-10: its September row is ignored with a warning (row 2).
            energy.append(["P3", "2005-09", "electricity", P3_MWH, "MWh"])
        production, waste, chemicals = [], [], []
        for period in months(fiscal_year):
            energy.append(["P1", period, "electricity", P1_KWH[fiscal_year], "kWh"])
            if period != "2007-03":
                energy.append(["P2", period, "city_gas", P2_M3, "m3"])
            for plant_id in ("P1", "P2", "P3"):
                if not in_boundary(plant_id, period):
                    continue
                if plant_id == "P3":
                    energy.append(["P3", period, "electricity", P3_MWH, "MWh"])
                tonnes = PRODUCTION_T[(plant_id, fiscal_year)]
                # P2 reports production in kg.
                production.append(
                    [plant_id, period, tonnes * 1000, "kg"] if plant_id == "P2" else [plant_id, period, tonnes, "t"]
                )
                for waste_type, treatment, quantity in WASTE_T[(plant_id, fiscal_year)]:
                    if (plant_id, period, waste_type) == ("P1", P1_SCRAP_INCINERATED, "scrap"):
                        treatment = "incinerated"
                    waste.append([plant_id, period, waste_type, treatment, quantity, "t"])
                # P3 reports chemicals in g.
                kilograms = CHEMICALS_KG[(plant_id, fiscal_year)]
                chemicals.append(
                    [plant_id, period, "toluene", "air", kilograms * 1000, "g"]
                    if plant_id == "P3"
                    else [plant_id, period, "toluene", "air", kilograms, "kg"]
                )
        write_csv(
            landing / f"energy_FY{fiscal_year}.csv",
            ["plant_id", "period", "energy_type", "quantity", "unit"],
            energy,
            2,
        )
        write_csv(
            landing / f"production_FY{fiscal_year}.csv", ["plant_id", "period", "quantity", "unit"], production, 2
        )
        write_csv(
            landing / f"waste_FY{fiscal_year}.csv",
            ["plant_id", "period", "waste_type", "treatment", "quantity", "unit"],
            waste,
            2,
        )
        write_csv(
            landing / f"chemicals_FY{fiscal_year}.csv",
            ["plant_id", "period", "substance", "medium", "quantity", "unit"],
            chemicals,
            2,
        )
    # A negative quantity: rejected whole in both runs; its row is not loaded.
    write_csv(
        landing / "chemicals_P2_2006-04_resend.csv",
        ["plant_id", "period", "substance", "medium", "quantity", "unit"],
        [["P2", "2006-04", "toluene", "air", "-1", "kg"]],
        3,
    )


def deliver_second_run(landing: Path) -> None:
    write_csv(
        landing / "energy_P1_2006-06.csv",
        ["plant_id", "period", "energy_type", "quantity", "unit"],
        [["P1", "2006-06", "electricity", P1_KWH_RESTATED_2006_06, "kWh"]],
        10,
    )
    write_csv(landing / "targets_bu.csv", ["kpi", "fiscal_year", "target_pct", "scope_id"], [BU_TARGET], 10)


@pytest.fixture(scope="module")
def settings(tmp_path_factory) -> Settings:
    """The published snapshot after both runs, in a temporary folder (never the repository's)."""
    root = tmp_path_factory.mktemp("published_group")
    settings = Settings().with_overrides(
        landing=root / "landing",
        warehouse=root / "warehouse" / "warehouse.duckdb",
        reports=root / "reports",
        published=root / "published",
    )
    deliver_first_run(settings.landing)
    run(settings)
    # FY2006 is published (contract 10) before the second run restates it.
    publish_year_step(settings, 2006, "CSR report FY2006", pack=False, snapshot=False)
    deliver_second_run(settings.landing)
    second = run(settings)
    assert second.ingest.loaded == ["targets_bu.csv", "energy_P1_2006-06.csv"]
    assert second.ingest.rejected == ["chemicals_P2_2006-04_resend.csv"]
    return settings


def test_restatements_since_publication_name_the_file_that_changed_each_published_figure(settings):
    listed = published.publications(settings=settings)
    assert list(zip(listed.fiscal_year, listed.version, listed.note)) == [(2006, "v1", "CSR report FY2006")]
    frame = published.restatements_since_publication(settings=settings)
    group = one(frame, kpi="energy_intensity", scope_id="group")
    # Published with June's first 900 kWh; now with its restated 1,200 kWh.
    published_gj = 12 * 900 * GJ_PER_KWH + P2_GJ_2006 + P3_GJ_2006
    assert group.published_value == pytest.approx(published_gj / GROUP_T_2006, rel=1e-12)
    assert group.current_value == pytest.approx(GROUP_ENERGY_INTENSITY_2006, rel=1e-12)
    assert (group.published_version, group.files) == ("v1", "energy_P1_2006-06.csv")
    # The Magnets recycling target arrived after the publication: the figure gained a rating.
    magnets = one(frame, kpi="recycling_rate", scope_id="Magnets")
    assert pd.isna(magnets.published_rating) and magnets.current_rating == "not achieved"
    assert magnets.files == "targets_bu.csv" and magnets.published_value == magnets.current_value
    # energy, co2_intensity and both Scope 2 figures (electricity) of the group, Magnets and P1,
    # and Magnets' recycling rating
    assert set(frame.kpi) == {
        "energy_intensity",
        "co2_intensity",
        "scope2_location_co2",
        "scope2_market_co2",
        "recycling_rate",
    }
    assert len(frame) == 13


def one(frame, **where):
    """The single row of ``frame`` matching every column = value given."""
    for column, value in where.items():
        frame = frame[frame[column] == value]
    assert len(frame) == 1, where
    return frame.iloc[0]


# --- envkpi.reporting.published ---------------------------------------------------------------------


def test_kpi_results_give_the_group_figures_computed_by_hand(settings):
    results = published.kpi_results(scope_level="group", kpi="energy_intensity", settings=settings)

    base = one(results, fiscal_year=2005)
    assert base["numerator"] == pytest.approx(288.0)
    assert base["denominator"] == pytest.approx(300.0)
    assert base["value"] == pytest.approx(GROUP_ENERGY_INTENSITY_2005)
    assert base["value_unit"] == "GJ/t"
    assert base["label"] == "Energy per production unit"
    latest = one(results, fiscal_year=2006)
    assert latest["value"] == pytest.approx(GROUP_ENERGY_INTENSITY_2006)
    assert latest["base_value"] == pytest.approx(GROUP_ENERGY_INTENSITY_2005)
    assert latest["change_vs_base_pct"] == pytest.approx(GROUP_ENERGY_CHANGE_2006)


def test_kpi_results_filter_by_one_value_or_a_list(settings):
    one_year = published.kpi_results(fiscal_year=2006, settings=settings)
    both_plants = published.kpi_results(scope_id=["P1", "P2"], kpi=("energy_intensity",), settings=settings)

    assert set(one_year["fiscal_year"]) == {2006}
    assert set(one_year["scope_id"]) == {"group", "Magnets", "Cables", "P1", "P2", "P3"}
    assert sorted(zip(both_plants["scope_id"], both_plants["fiscal_year"])) == [
        ("P1", 2005),
        ("P1", 2006),
        ("P2", 2005),
        ("P2", 2006),
    ]
    assert published.kpi_results(scope_id="P9", settings=settings).empty


def test_ratings_show_as_the_stars_of_the_csr_results_table(settings):
    results = published.kpi_results(fiscal_year=2006, settings=settings)

    group_energy = one(results, scope_id="group", kpi="energy_intensity")
    assert group_energy["achievement_ratio"] == pytest.approx(GROUP_ENERGY_CHANGE_2006 / 5)
    assert (group_energy["rating"], group_energy["rating_symbol"]) == ("achieved", "***")
    p1_energy = one(results, scope_id="P1", kpi="energy_intensity")
    assert p1_energy["achievement_ratio"] == pytest.approx(P1_ENERGY_CHANGE_2006 / 25)
    assert p1_energy["rating_symbol"] == "**"
    magnets_recycling = one(results, scope_id="Magnets", kpi="recycling_rate")
    assert magnets_recycling["value"] == pytest.approx(MAGNETS_RECYCLING_RATE_2006)
    assert magnets_recycling["value_unit"] == "%"
    assert magnets_recycling["rating_symbol"] == "*"
    group_recycling = one(results, scope_id="group", kpi="recycling_rate")
    assert group_recycling["value"] == pytest.approx(GROUP_RECYCLING_RATE_2006)
    assert group_recycling["rating_symbol"] == "***"
    # No target, no rating.
    assert results[(results["scope_id"] == "P2")]["rating_symbol"].isna().all()


def test_a_figure_with_a_missing_plant_month_is_flagged_incomplete(settings):
    results = published.kpi_results(fiscal_year=2006, kpi=["energy_intensity", "waste_intensity"], settings=settings)

    # P2 never delivered its 2007-03 energy: 35 of the group's 36 plant-months are complete.
    assert one(results, scope_id="group", kpi="energy_intensity")["completeness_pct"] == pytest.approx(35 / 36 * 100)
    assert not one(results, scope_id="group", kpi="energy_intensity")["complete"]
    assert one(results, scope_id="P2", kpi="energy_intensity")["completeness_pct"] == pytest.approx(11 / 12 * 100)
    assert one(results, scope_id="group", kpi="waste_intensity")["complete"]


def test_plant_months_are_wide_by_measure_in_reporting_units(settings):
    monthly = published.plant_months("P2", 2006, settings=settings).set_index("period")

    assert list(monthly.index) == months(2006)
    assert list(monthly.columns) == [
        "energy_gj",
        "production_t",
        "waste_t",
        "chemicals_kg",
        "recycled_t",
        "co2_t_co2",
        "scope1_co2_t_co2",
        "scope2_location_co2_t_co2",
        "scope2_market_co2_t_co2",
    ]
    # P2 burns city gas only: Scope 1, and no Scope 2 (a month with energy records: 0, not empty)
    assert monthly.loc["2006-04", "scope1_co2_t_co2"] == pytest.approx(100 * 0.00223)
    assert monthly.loc["2006-04", "scope2_location_co2_t_co2"] == 0
    assert monthly.loc["2006-04", "energy_gj"] == pytest.approx(100 * GJ_PER_M3_CITY_GAS)
    assert monthly.loc["2006-04", "production_t"] == pytest.approx(5000 / 1000)  # delivered in kg
    assert monthly.loc["2006-04", "waste_t"] == pytest.approx(2.0)
    assert monthly.loc["2006-04", "recycled_t"] == pytest.approx(1.0)  # the valuable slag
    assert monthly.loc["2006-04", "chemicals_kg"] == pytest.approx(1.0)  # the rejected resend is not loaded
    assert monthly.loc["2006-04", "co2_t_co2"] == pytest.approx(100 * 0.00223)


def test_plant_months_leave_a_month_without_records_empty_not_zero(settings):
    p2 = published.plant_months("P2", 2006, settings=settings).set_index("period")
    p1 = published.plant_months("P1", 2006, settings=settings).set_index("period")

    assert p2.loc["2007-03", ["energy_gj", "co2_t_co2"]].isna().all()
    assert p2.loc["2007-03", "production_t"] == pytest.approx(5.0)
    # Waste was delivered, nothing of it recycled: zero, not missing.
    assert p1.loc[P1_SCRAP_INCINERATED, "recycled_t"] == 0
    assert p1.loc[P1_SCRAP_INCINERATED, "waste_t"] == pytest.approx(0.9)
    assert p1.loc["2006-06", "energy_gj"] == pytest.approx(P1_KWH_RESTATED_2006_06 * GJ_PER_KWH)  # restated
    assert p1["energy_gj"].sum() == pytest.approx(P1_GJ_2006)


def test_plant_months_cover_only_the_months_inside_the_boundary(settings):
    p3 = published.plant_months("P3", 2005, settings=settings)

    assert list(p3["period"]) == ["2005-10", "2005-11", "2005-12", "2006-01", "2006-02", "2006-03"]
    assert p3["energy_gj"].sum() == pytest.approx(P3_GJ_2005)
    assert p3["chemicals_kg"].sum() == pytest.approx(6 * 500 / 1000)  # delivered in g
    with pytest.raises(ValueError, match="P9"):
        published.plant_months("P9", 2005, settings=settings)


def test_rejections_name_file_row_column_value_and_reason_of_files_still_rejected(settings):
    rejections = published.rejections(settings=settings)

    # targets_bu.csv was rejected in the first run and fixed under the same name in the second.
    assert rejections[["file", "row", "column", "value"]].values.tolist() == [
        ["chemicals_P2_2006-04_resend.csv", 2, "quantity", "-1"]
    ]
    assert "negative" in rejections["reason"].iloc[0]
    assert rejections["kind"].iloc[0] == "chemicals"


def test_completeness_is_the_share_of_plant_months_with_production_and_the_own_kind(settings):
    plants = published.completeness(fiscal_year=[2005, 2006], settings=settings)
    groups = published.completeness(scope_level="group", settings=settings)

    incomplete = plants[~plants["complete"]]
    assert incomplete[["scope_id", "fiscal_year", "kpi"]].values.tolist() == [
        ["P2", 2006, "co2_intensity"],
        ["P2", 2006, "energy_intensity"],
        ["P2", 2006, "scope1_co2"],
        ["P2", 2006, "scope2_location_co2"],
        ["P2", 2006, "scope2_market_co2"],
    ]
    assert one(plants, scope_id="P3", fiscal_year=2005, kpi="energy_intensity")["completeness_pct"] == 100
    assert set(groups["scope_level"]) == {"group"}
    assert one(groups, fiscal_year=2006, kpi="co2_intensity")["completeness_pct"] == pytest.approx(35 / 36 * 100)


def test_missing_months_name_the_plant_month_and_kind(settings):
    missing = published.missing_months(settings=settings)

    assert missing[["plant_id", "period", "kind"]].values.tolist() == [["P2", "2007-03", "energy"]]
    assert published.missing_months(fiscal_year=2005, settings=settings).empty
    assert published.missing_months(plant_id=["P1", "P3"], settings=settings).empty


def test_restatements_name_the_replaced_file_and_its_replacement(settings):
    restatements = published.restatements(settings=settings)

    assert len(restatements) == 1
    restated = restatements.iloc[0]
    assert (restated["kind"], restated["file"], restated["replaced_by"]) == (
        "energy",
        "energy_FY2006.csv",
        "energy_P1_2006-06.csv",
    )
    assert (restated["slices"], restated["rows"], restated["detail"]) == (1, 1, "P1 2006-06")
    assert restated["replaced_at"] > restated["delivered_at"]


def test_boundary_warnings_list_rows_outside_a_plants_boundary(settings):
    warnings = published.boundary_warnings(settings=settings)

    assert warnings.values.tolist() == [["energy_FY2005.csv", 2, "energy", "P3", "2005-09"]]


def test_plants_and_runs_describe_the_snapshot(settings):
    plants = published.plants(settings=settings)
    runs = published.runs(settings=settings)

    assert plants[["plant_id", "business_unit"]].values.tolist() == [
        ["P1", "Magnets"],
        ["P2", "Magnets"],
        ["P3", "Cables"],
    ]
    assert one(plants, plant_id="P3")["in_scope_from"] == "2005-10"
    assert runs["files_loaded"].tolist() == [10, 2]
    assert runs["files_rejected"].tolist() == [2, 1]


def test_query_binds_values_as_parameters(settings):
    by_name = published.query(
        "select count(*) as n from kpi_results where scope_id = $scope and fiscal_year = $fy",
        {"scope": "P1", "fy": 2006},
        settings=settings,
    )
    by_position = published.query(
        "select count(*) as n from kpi_results where scope_id = ?", ["P1' or '1'='1"], settings=settings
    )

    # one row per KPI of the registry that reads a kind the group delivers: the four v1 KPIs,
    # co2_intensity and the three Scope KPIs (energy); none of water, sales, purchases
    assert by_name["n"].iloc[0] == 8
    assert by_position["n"].iloc[0] == 0


def test_the_snapshot_is_read_only(settings):
    with pytest.raises(duckdb.Error):
        published.query("delete from kpi_results", settings=settings)
    assert len(published.kpi_results(settings=settings)) > 0


def test_the_snapshot_folder_comes_from_ENVKPI_SNAPSHOT(settings, monkeypatch):
    monkeypatch.delenv("ENVKPI_PUBLISHED", raising=False)
    monkeypatch.setenv("ENVKPI_SNAPSHOT", str(settings.snapshot))

    assert published.snapshot_path() == settings.snapshot / "warehouse.duckdb"
    assert len(published.plants()) == 3


def test_the_deprecated_ENVKPI_PUBLISHED_still_names_the_snapshot_folder_with_a_warning(settings, monkeypatch):
    monkeypatch.delenv("ENVKPI_SNAPSHOT", raising=False)
    monkeypatch.setenv("ENVKPI_PUBLISHED", str(settings.published))

    with pytest.warns(DeprecationWarning, match="ENVKPI_SNAPSHOT"):
        assert published.snapshot_path() == settings.published / "warehouse.duckdb"
    assert Settings().with_overrides(published=settings.snapshot).snapshot == settings.snapshot


def test_without_a_snapshot_the_error_says_to_run_the_pipeline_first(tmp_path):
    empty = Settings().with_overrides(published=tmp_path / "nothing_published")

    with pytest.raises(published.SnapshotMissing, match="make run"):
        published.kpi_results(settings=empty)


# --- notebooks ----------------------------------------------------------------------------

# Parameters for the tiny group, injected after a notebook's "parameters" cell as papermill does.
NOTEBOOK_PARAMETERS = {
    "kpi_overview": {"fiscal_year": 2006},
    "plant_drilldown": {"plant_id": "P2", "fiscal_year": 2006},
    "data_quality": {},
    "ghg_and_energy_conservation": {"fiscal_year": 2006},
}


def test_every_notebook_is_listed_with_its_test_parameters():
    assert sorted(path.stem for path in NOTEBOOK_FILES) == sorted(NOTEBOOK_PARAMETERS)


@pytest.mark.parametrize("path", NOTEBOOK_FILES, ids=lambda path: path.stem)
def test_a_notebook_starts_by_saying_what_it_answers_and_which_parameters_to_change(path):
    notebook = jupytext.read(path)
    first = notebook.cells[0]
    parameters = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]

    assert first.cell_type == "markdown"
    assert "question" in first.source.lower()
    assert "parameter" in first.source.lower()
    assert len(parameters) <= 1
    for name in NOTEBOOK_PARAMETERS[path.stem]:
        assert f"{name} =" in parameters[0].source
        assert f"`{name}`" in first.source


@pytest.mark.parametrize("path", NOTEBOOK_FILES, ids=lambda path: path.stem)
def test_every_notebook_runs_top_to_bottom_on_the_published_snapshot(path, settings, tmp_path, monkeypatch):
    monkeypatch.setenv("ENVKPI_PUBLISHED", str(settings.published))  # the kernel inherits it
    notebook = jupytext.read(path)
    values = NOTEBOOK_PARAMETERS[path.stem]
    if values:
        position = next(i for i, cell in enumerate(notebook.cells) if "parameters" in cell.metadata.get("tags", []))
        injected = nbformat.v4.new_code_cell("\n".join(f"{name} = {value!r}" for name, value in values.items()))
        injected.metadata["tags"] = ["injected-parameters"]
        notebook.cells.insert(position + 1, injected)

    NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()

    text = "\n".join(
        str(output.get("text", "")) + str(output.get("data", {}).get("text/plain", ""))
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
    )
    assert str(settings.published) in text  # says which snapshot it read
    if path.stem == "data_quality":  # contract 10: what changed since the publication of FY2006
        assert "13 published figure(s) changed since their publication" in text and "energy_P1_2006-06.csv" in text
    for value in values.values():
        assert str(value) in text


# --- what the notebooks show people ---------------------------------------------------------


def test_the_latest_complete_year_is_the_one_whose_group_figures_have_every_plant_month(settings):
    from envkpi.reporting.notebook_display import latest_complete_year

    # FY2006 lacks P2's 2007-03 energy (35 of 36 plant-months): FY2005 is the latest complete year.
    assert latest_complete_year(published.kpi_results(settings=settings)) == (2005, True)


def test_people_tables_have_no_index_no_nan_human_names_and_thousands_separators():
    import pandas as pd

    from envkpi.reporting.notebook_display import people_table

    frame = pd.DataFrame({"energy_gj": [1234567.891, None], "fiscal_year": [2017, 2018], "plant_id": ["P1", None]})
    html = people_table(
        frame, {"plant_id": "Plant", "fiscal_year": "Fiscal year", "energy_gj": "Energy (GJ)"}
    ).to_html()
    assert "1,234,567.9" in html and "2017" in html and "2,017" not in html
    assert "nan" not in html.lower() and "None" not in html and "<NA>" not in html
    assert "energy_gj" not in html and "Energy (GJ)" in html
    assert "row_heading" not in html  # no index column


def test_the_completeness_colours_separate_92_from_100():
    from matplotlib.colors import to_rgb

    from envkpi.reporting.notebook_display import completeness_colours

    colours, norm = completeness_colours()
    full, ninety_two, ninety_nine = (to_rgb(colours(norm(value))) for value in (100, 92, 99.9))
    distance = sum((a - b) ** 2 for a, b in zip(full, ninety_two)) ** 0.5
    assert distance > 0.4, (full, ninety_two)
    assert ninety_nine != full


def _executed(path: Path, settings, tmp_path, monkeypatch, values: dict):
    monkeypatch.setenv("ENVKPI_PUBLISHED", str(settings.published))
    notebook = jupytext.read(path)
    if values:
        position = next(i for i, cell in enumerate(notebook.cells) if "parameters" in cell.metadata.get("tags", []))
        notebook.cells.insert(
            position + 1, nbformat.v4.new_code_cell("\n".join(f"{name} = {value!r}" for name, value in values.items()))
        )
    NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    return notebook


def test_kpi_overview_opens_on_the_latest_complete_year_with_tables_for_people(settings, tmp_path, monkeypatch):
    notebook = _executed(NOTEBOOKS / "kpi_overview.py", settings, tmp_path, monkeypatch, {})
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.get("outputs", [])]
    text = "\n".join(str(output.get("text", "")) for output in outputs)
    assert "Fiscal year: FY2005 (the latest complete year)" in text
    tables = [output["data"]["text/html"] for output in outputs if "text/html" in output.get("data", {})]
    assert tables
    for table in tables:
        assert "NaN" not in table and "nan<" not in table and "row_heading" not in table
        for machine in ("change_vs_base_pct", "scope_id", "completeness_pct", "rating_symbol"):
            assert machine not in table
    assert any("Reduction vs base year (%)" in table for table in tables)
