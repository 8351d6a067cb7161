"""Contract 10: publishing a fiscal year, and what has changed since its publication.

Figures are computed by hand in each test from the rows it delivers (waste and production in t,
electricity 0.00976 GJ/kWh and 0.000555 t-CO2/kWh as shipped).
"""

from __future__ import annotations

import hashlib
import json
import math

import pandas as pd
import pytest
from helpers import months

FACTORS = ["energy_type", "unit", "gj_per_unit", "source", "valid_from_fy", "valid_to_fy"]


def two_plants(landing):
    landing.plants([["P1", "Plant 1", "BU-A", "JP", "", ""], ["P2", "Plant 2", "BU-B", "JP", "", ""]])


def publish(landing, fiscal_year: int, note: str | None = None, pack: bool = False):
    from envkpi.pipeline import publish_year_step

    return publish_year_step(landing.settings, fiscal_year, note, pack=pack, snapshot=False)


def restatements(landing) -> pd.DataFrame:
    return pd.read_csv(
        landing.settings.reports / "restatements_since_publication.csv", keep_default_na=False, na_values=[""]
    )


def one(frame: pd.DataFrame, kpi: str, scope_id: str, fiscal_year: int = 2017) -> pd.Series:
    match = frame[(frame.kpi == kpi) & (frame.scope_id == scope_id) & (frame.fiscal_year == fiscal_year)]
    assert len(match) == 1, f"expected one restated {kpi} {scope_id} FY{fiscal_year}, got {len(match)}"
    return match.iloc[0]


def run_summary(landing) -> dict:
    return json.loads((landing.settings.reports / "run_summary.json").read_text(encoding="utf-8"))


def test_the_restatements_report_has_the_contract_columns_and_is_empty_before_any_publication(landing):
    two_plants(landing)
    landing.waste("waste.csv", [["P1", "2017-04", "scrap", "landfilled", "30", "t"]])
    landing.production("production.csv", [["P1", "2017-04", "100", "t"]])
    landing.run()
    frame = restatements(landing)
    assert list(frame.columns) == [
        "scope_level",
        "scope_id",
        "kpi",
        "fiscal_year",
        "published_version",
        "published_value",
        "current_value",
        "difference",
        "published_change_vs_base_pct",
        "current_change_vs_base_pct",
        "published_rating",
        "current_rating",
        "files",
    ]
    assert frame.empty and run_summary(landing)["published_figures_changed"] == 0


def test_a_restated_plant_month_is_listed_with_the_file_that_restated_it_and_the_difference(landing):
    two_plants(landing)
    landing.waste(
        "waste.csv",
        [["P1", "2017-04", "scrap", "landfilled", "30", "t"], ["P2", "2017-04", "scrap", "landfilled", "20", "t"]],
    )
    landing.production("production.csv", [["P1", "2017-04", "100", "t"], ["P2", "2017-04", "100", "t"]])
    landing.run()
    publication = publish(landing, 2017, note="CSR report 2018")
    assert publication.name == "v1" and publication.folder == landing.settings.reports / "published" / "FY2017" / "v1"
    assert restatements(landing).empty  # the figures are the publication's

    # P1 re-sends April's waste (50 t instead of 30 t); P2 sends its first energy (1000 kWh).
    landing.waste("waste_P1_fix.csv", [["P1", "2017-04", "scrap", "landfilled", "50", "t"]])
    landing.energy("energy_P2.csv", [["P2", "2017-04", "electricity", "1000", "kWh"]])
    landing.run()
    frame = restatements(landing)

    group = one(frame, "waste_intensity", "group")
    # published (30 + 20) / 200 = 0.25, now (50 + 20) / 200 = 0.35
    assert (group.published_version, group.published_value, group.current_value) == ("v1", 50 / 200, 70 / 200)
    assert group.difference == 70 / 200 - 50 / 200
    # energy is not a kind waste_intensity reads: only the waste file is named
    assert group.files == "waste_P1_fix.csv"
    for scope in ("BU-A", "P1"):  # 30 / 100 -> 50 / 100
        row = one(frame, "waste_intensity", scope)
        assert (row.published_value, row.current_value, row.files) == (0.3, 0.5, "waste_P1_fix.csv")
    # P2's waste intensity and every recycling rate (0 t recycled either way) did not change.
    assert not ((frame.kpi == "waste_intensity") & frame.scope_id.isin(["P2", "BU-B"])).any()
    assert "recycling_rate" not in set(frame.kpi)

    # P2's energy: no figure was published (no energy then), now 1000 kWh x 0.00976 = 9.76 GJ.
    energy = one(frame, "energy_intensity", "P2")
    assert math.isnan(energy.published_value) and energy.current_value == 9.76 / 100
    assert energy.files == "energy_P2.csv"
    assert one(frame, "energy_intensity", "group").current_value == 9.76 / 200
    assert one(frame, "co2_intensity", "BU-B").current_value == 0.555 / 100
    # Electricity is Scope 2: 1000 kWh x 0.000555 t-CO2 under both bases (no market factor); P2
    # burns no fuel, so its Scope 1 figure stays empty, as published.
    assert one(frame, "scope2_market_co2", "P2").current_value == pytest.approx(0.555)
    assert not (frame.kpi == "scope1_co2").any()
    # 3 figures (group, business unit, plant) each of waste_intensity, energy_intensity,
    # co2_intensity, scope2_location_co2 and scope2_market_co2
    assert len(frame) == 15 and run_summary(landing)["published_figures_changed"] == 15
    assert run_summary(landing)["published_figures_changed_by_year"] == {"FY2017": 15}


def test_a_base_year_restatement_is_listed_for_every_published_year_it_changes(landing):
    landing.plants([["P1", "Plant 1", "BU-A", "JP", "", ""]])
    landing.waste(
        "waste.csv",
        [
            ["P1", "2005-04", "scrap", "landfilled", "40", "t"],
            ["P1", "2016-04", "scrap", "landfilled", "30", "t"],
            ["P1", "2017-04", "scrap", "landfilled", "20", "t"],
        ],
    )
    landing.production("production.csv", [["P1", period, "100", "t"] for period in ("2005-04", "2016-04", "2017-04")])
    landing.run()
    publish(landing, 2016)
    publish(landing, 2017)
    # The base year FY2005 re-sent: 50 t instead of 40 t.
    landing.waste("waste_FY2005.csv", [["P1", "2005-04", "scrap", "landfilled", "50", "t"]])
    landing.run()
    frame = restatements(landing)
    for fiscal_year, value in ((2016, 0.3), (2017, 0.2)):
        row = one(frame, "waste_intensity", "group", fiscal_year)
        # The value is unchanged, its change versus the base year is not: base 0.4 -> 0.5.
        assert row.published_value == row.current_value == value and row.difference == 0
        assert row.published_change_vs_base_pct == (1 - value / 0.4) * 100
        assert row.current_change_vs_base_pct == (1 - value / 0.5) * 100
        assert row.files == "waste_FY2005.csv"
    # Each of the two published years, at each scope (group, BU-A, P1); FY2005 was not published.
    assert sorted(frame.fiscal_year.unique()) == [2016, 2017] and len(frame) == 6


def test_a_factor_table_delivered_after_publication_is_listed_the_same_way(landing):
    landing.plants([["P1", "Plant 1", "BU-A", "JP", "", ""]])
    landing.energy("energy.csv", [["P1", "2017-04", "electricity", "1000", "kWh"]])
    landing.production("production.csv", [["P1", "2017-04", "100", "t"]])
    landing.run()
    publish(landing, 2017)
    landing.csv("factors.csv", FACTORS, [["electricity", "kWh", "0.009", "new heating value", "2017", ""]])
    landing.run()
    frame = restatements(landing)
    row = one(frame, "energy_intensity", "group")
    # published 1000 x 0.00976 / 100 = 0.0976 GJ/t, now 1000 x 0.009 / 100 = 0.09
    assert (row.published_value, row.current_value, row.files) == (9.76 / 100, 9 / 100, "factors.csv")
    assert row.difference == 9 / 100 - 9.76 / 100
    # Delivered factors convert to GJ only: the CO2 figures are the published ones.
    assert set(frame.kpi) == {"energy_intensity"} and len(frame) == 3


def sha256_tree(folder) -> dict[str, str]:
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_publishing_again_makes_v2_and_leaves_v1_byte_for_byte_and_the_pack_marks_restated_figures(landing):
    landing.settings = landing.settings.with_overrides(drawing_workers=1)
    landing.plants([["P1", "Plant 1", "BU-A", "JP", "", ""]])
    landing.waste(
        "waste.csv", [["P1", period, "scrap", "landfilled", "10", "t"] for period in months("2017-04", "2018-03")]
    )
    landing.production("production.csv", [["P1", period, "100", "t"] for period in months("2017-04", "2018-03")])
    landing.run()
    first = publish(landing, 2017, note="first", pack=True)
    v1 = sha256_tree(first.folder)
    assert {
        "kpi_results.csv",
        "publication.json",
        "pack/report_pack_FY2017.pdf",
        "pack/results_FY2017.md",
        "pack/results_FY2017.xlsx",
        "pack/results_FY2017.csv",
        "pack/results_FY2017.html",
    } <= set(v1)
    published_rows = pd.read_csv(first.folder / "kpi_results.csv")
    assert set(published_rows.fiscal_year) == {2017}
    assert one(published_rows, "waste_intensity", "group").value == 120 / 1200
    manifest = json.loads((first.folder / "publication.json").read_text(encoding="utf-8"))
    assert (manifest["version"], manifest["note"], manifest["fiscal_year"]) == (1, "first", 2017)
    assert sorted(d["file"] for d in manifest["deliveries"]) == ["plants.csv", "production.csv", "waste.csv"]

    landing.waste("waste_fix.csv", [["P1", "2017-04", "scrap", "landfilled", "130", "t"]])
    landing.run()
    second = publish(landing, 2017, note="second", pack=True)
    assert second.name == "v2" and second.folder.name == "v2"
    assert sha256_tree(first.folder) == v1  # v1 byte for byte as it was
    # v2 has the restated figures: (130 + 11 x 10) / 1200 t
    assert one(pd.read_csv(second.folder / "kpi_results.csv"), "waste_intensity", "group").value == 240 / 1200
    assert restatements(landing).empty  # compared with the latest publication, v2

    # A restatement after v2: the pack of FY2017 marks the figure and gives v2's value.
    landing.waste("waste_fix2.csv", [["P1", "2017-05", "scrap", "landfilled", "250", "t"]])
    from envkpi.pipeline import run

    result = run(landing.settings, publish_snapshot=False, annual_report=True)
    row = one(restatements(landing), "waste_intensity", "group")
    assert (row.published_version, row.published_value, row.current_value) == ("v2", 240 / 1200, 480 / 1200)
    markdown = result.reports["pack:md"].read_text(encoding="utf-8")
    assert "‡" in markdown and "Restated since publication v2" in markdown and f"value {240 / 1200!r}" in markdown
    assert sha256_tree(first.folder) == v1


def test_a_year_without_figures_cannot_be_published(landing):
    from envkpi.warehouse.publication import PublicationError

    two_plants(landing)
    landing.production("production.csv", [["P1", "2017-04", "100", "t"]])
    landing.run()
    with pytest.raises(PublicationError, match="FY2020"):
        publish(landing, 2020)
    assert not (landing.settings.reports / "published" / "FY2020").exists()


def test_a_publication_of_a_year_with_incomplete_data_records_the_figures_as_they_are_and_says_so(landing):
    two_plants(landing)
    landing.waste("waste.csv", [["P1", "2017-04", "scrap", "landfilled", "30", "t"]])
    landing.production("production.csv", [["P1", "2017-04", "100", "t"]])
    landing.run()
    publication = publish(landing, 2017)
    assert not publication.complete
    manifest = json.loads((publication.folder / "publication.json").read_text(encoding="utf-8"))
    assert manifest["complete"] is False
    # completeness as it was: 1 of 24 plant-months (2 plants x 12)
    group = one(pd.read_csv(publication.folder / "kpi_results.csv"), "waste_intensity", "group")
    assert group.completeness_pct == 100 / 24 and group.value == 0.3


# --- the report pack of a published year (report_pack.results_table on hand-made rows) ---------


def pack_rows(structural: float, published_value: float | None = None):
    from helpers import COLUMNS, kpi_row

    # energy_intensity FY2017: 0.9 against the base year's 1.0 (10 % reduction), target 11.5 %
    row = kpi_row("group", "group", "energy_intensity", 2017, 0.9, 1.0, 11.5, "90% achieved")
    frame = pd.DataFrame([row], columns=COLUMNS)
    # like for like: base 1.2, year 1.02 -> (1 - 1.02 / 1.2) x 100 = 15 % reduction
    frame["like_for_like_base_value"] = 1.2
    frame["like_for_like_value"] = 1.02
    frame["like_for_like_change_pct"] = 15.0
    frame["structural_change_pct"] = structural
    published = None
    if published_value is not None:
        published = frame[
            ["scope_level", "scope_id", "kpi", "fiscal_year", "value", "change_vs_base_pct", "rating"]
        ].copy()
        published["value"] = published_value
        published["change_vs_base_pct"] = (1 - published_value / 1.0) * 100
        published["published_version"] = "v1"
        published["published_at"] = pd.Timestamp("2018-06-30 10:00")
    return frame, published


def test_the_pack_states_like_for_like_and_a_recalculation_due_exactly_at_the_threshold():
    from helpers import REGISTRY

    from envkpi.reporting import report_pack

    at, _ = pack_rows(structural=5.0)
    note = report_pack.results_table(at, 2017, REGISTRY, recalculation_threshold_pct=5.0)["Note"].iloc[0]
    assert "Like for like (plants in the boundary in FY2005 and FY2017): 15% reduction" in note
    assert "structural change 5%" in note
    assert "base-year recalculation is due" in note and "reported 10%, like for like 15%" in note
    below, _ = pack_rows(structural=4.99)
    note = report_pack.results_table(below, 2017, REGISTRY, recalculation_threshold_pct=5.0)["Note"].iloc[0]
    assert "Like for like" in note and "recalculation" not in note


def test_the_pack_of_a_published_year_marks_a_restated_figure_with_the_published_value():
    from helpers import REGISTRY

    from envkpi.reporting import report_pack

    frame, published = pack_rows(structural=0.0, published_value=0.95)
    table = report_pack.results_table(frame, 2017, REGISTRY, published)
    result, note = table.iloc[0][report_pack._columns(2017)[1]], table["Note"].iloc[0]
    assert result.endswith(" ‡")
    # published: (1 - 0.95) x 100 = 5 % reduction, value 0.95
    assert "‡ Restated since publication v1 of 2018-06-30, which showed 5% ** (value 0.95)" in note
    same, unchanged = pack_rows(structural=0.0, published_value=0.9)
    assert "‡" not in " ".join(report_pack.results_table(same, 2017, REGISTRY, unchanged).iloc[0])


def test_the_deprecated_published_option_still_names_the_snapshot_folder_with_a_note(landing, tmp_path):
    from typer.testing import CliRunner

    from envkpi.cli import app

    landing.plants([["P1", "Plant 1", "BU-A", "JP", "", ""]])
    landing.production("production.csv", [["P1", "2017-04", "100", "t"]])
    done = CliRunner().invoke(
        app,
        [
            "run",
            "--landing",
            str(landing.path),
            "--warehouse",
            str(landing.settings.warehouse),
            "--reports",
            str(landing.settings.reports),
            "--published",
            str(tmp_path / "old"),
        ],
        env={"ENVKPI_DATA_DOCS": "0", "ENVKPI_DRAWING_WORKERS": "1"},
    )
    assert done.exit_code == 0, done.output
    assert "--published is deprecated: use --snapshot" in done.output
    assert (tmp_path / "old" / "warehouse.duckdb").is_file()
