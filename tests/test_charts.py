"""The charts show the kpi_results figures as they are, for every KPI, with units, ratings and flags."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.text import Annotation

from conftest import COLUMNS, REGISTRY, kpi_row
from envkpi import charts

CUT_OFF = "2018-05-15"



def kpi_results() -> pd.DataFrame:
    """A group, business units Magnets (P01, P02) and Cables (P03, P04); P04 joined in FY2016.

    FY2016 is incomplete for energy (a plant-month missing); FY2018 has targets only.
    """
    rows = [
        # energy: base 10 GJ/t in FY2005
        kpi_row("group", "group", "energy_intensity", 2005, 10.0, 10.0),
        kpi_row("group", "group", "energy_intensity", 2015, 9.6, 10.0),
        kpi_row("group", "group", "energy_intensity", 2016, 9.5, 10.0, 10.5, "not achieved", completeness=95.8),
        kpi_row("group", "group", "energy_intensity", 2017, 9.34, 10.0, 11.5, "not achieved"),
        kpi_row("group", "group", "energy_intensity", 2018, None, 10.0, 13.0),
        kpi_row("business_unit", "Magnets", "energy_intensity", 2017, 9.0, 10.0, denominator=600.0),
        kpi_row("business_unit", "Cables", "energy_intensity", 2017, 9.85, 10.0, denominator=400.0),
        kpi_row("plant", "P01", "energy_intensity", 2017, 8.8, 10.0, denominator=400.0),
        kpi_row("plant", "P02", "energy_intensity", 2017, 9.4, 10.0, denominator=200.0),
        kpi_row("plant", "P03", "energy_intensity", 2017, 10.3, 10.0, denominator=300.0, completeness=91.7),
        kpi_row("plant", "P04", "energy_intensity", 2017, 8.5, None, denominator=100.0),
        # waste: base 0.2 t/t
        kpi_row("group", "group", "waste_intensity", 2005, 0.2, 0.2),
        kpi_row("group", "group", "waste_intensity", 2016, 0.184, 0.2, 7.0, "achieved"),
        kpi_row("group", "group", "waste_intensity", 2017, 0.1776, 0.2, 7.5, "achieved"),
        kpi_row("group", "group", "waste_intensity", 2018, None, 0.2, 8.0),
        kpi_row("plant", "P01", "waste_intensity", 2017, 0.17, 0.2),
        kpi_row("plant", "P04", "waste_intensity", 2017, 0.15, None),
        # chemicals: base 2.0 kg/t in FY2006
        kpi_row("group", "group", "chemical_intensity", 2006, 2.0, 2.0),
        kpi_row("group", "group", "chemical_intensity", 2017, 1.614, 2.0, 32.0, "not achieved"),
        kpi_row("group", "group", "chemical_intensity", 2018, None, 2.0, 34.0),
        # recycling rate: no base year
        kpi_row("group", "group", "recycling_rate", 2015, 70.0),
        kpi_row("group", "group", "recycling_rate", 2016, 71.0, target=72.0, rating="90% achieved"),
        kpi_row("group", "group", "recycling_rate", 2017, 79.4, target=72.0, rating="achieved"),
        kpi_row("group", "group", "recycling_rate", 2018, None, target=74.0),
        kpi_row("business_unit", "Magnets", "recycling_rate", 2017, 81.0),
        kpi_row("plant", "P04", "recycling_rate", 2017, 75.0),
    ]
    return pd.DataFrame(rows, columns=COLUMNS)


def line(ax, gid: str) -> Line2D:
    found = [artist for artist in ax.get_lines() if artist.get_gid() == gid]
    assert len(found) == 1, f"expected one line {gid!r}, found {len(found)}"
    return found[0]


def annotations(fig, gid: str) -> list[Annotation]:
    return [t for ax in fig.axes for t in ax.texts if isinstance(t, Annotation) and t.get_gid() == gid]


def group_metric(frame: pd.DataFrame, kpi: str, column: str) -> pd.DataFrame:
    rows = frame[(frame["scope_level"] == "group") & (frame["kpi"] == kpi)].dropna(subset=[column])
    return rows.sort_values("fiscal_year")


def test_a_chart_is_written_for_every_kpi_in_the_data_in_every_format(tmp_path: Path):
    paths = charts.write_charts(kpi_results(), tmp_path, 2017, CUT_OFF, REGISTRY)

    for kpi in ("energy_intensity", "waste_intensity", "chemical_intensity", "recycling_rate"):
        for stem in (f"trend_{kpi}", f"breakdown_{kpi}_FY2017"):
            for fmt in ("png", "svg", "pdf"):
                assert (tmp_path / f"{stem}.{fmt}") in paths
    for fmt in ("png", "svg", "pdf"):
        assert (tmp_path / f"overview_FY2017.{fmt}") in paths
    assert len(paths) == 3 * (2 * 4 + 1)
    assert all(p.stat().st_size > 1000 for p in paths)
    assert (tmp_path / "overview_FY2017.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "overview_FY2017.pdf").read_bytes()[:5] == b"%PDF-"
    assert "<svg" in (tmp_path / "overview_FY2017.svg").read_text()
    # co2_intensity is in the shipped registry but not in this data: no chart for it.
    assert not list(tmp_path.glob("*co2*"))


def test_kpis_follow_the_registry_order_not_the_data_order():
    data = kpi_results().iloc[::-1]
    assert charts.kpis_in_order(data, REGISTRY) == [
        "energy_intensity", "waste_intensity", "chemical_intensity", "recycling_rate"]


def test_trend_plots_the_change_vs_base_year_of_the_group_as_in_kpi_results():
    data = kpi_results()
    fig = charts.trend_figure(data, "energy_intensity", CUT_OFF, REGISTRY)
    ax = fig.axes[0]

    expected = group_metric(data, "energy_intensity", "change_vs_base_pct")
    np.testing.assert_allclose(line(ax, "actual").get_xydata(),
                               expected[["fiscal_year", "change_vs_base_pct"]].to_numpy(dtype=float))
    targets = group_metric(data, "energy_intensity", "target_pct")
    np.testing.assert_allclose(line(ax, "target").get_xydata(),
                               [[2016, 10.5], [2017, 11.5], [2018, 13.0]])
    assert targets["target_pct"].tolist() == [10.5, 11.5, 13.0]
    # From 0 % in the base year to the latest target.
    np.testing.assert_allclose(line(ax, "trajectory").get_xydata(), [[2005, 0.0], [2018, 13.0]])


def test_trend_of_the_recycling_rate_plots_the_rate_itself_without_trajectory():
    data = kpi_results()
    fig = charts.trend_figure(data, "recycling_rate", CUT_OFF, REGISTRY)
    ax = fig.axes[0]

    np.testing.assert_allclose(line(ax, "actual").get_xydata(), [[2015, 70.0], [2016, 71.0], [2017, 79.4]])
    assert not [a for a in ax.get_lines() if a.get_gid() == "trajectory"]
    assert ax.get_ylabel() == "Recycling rate (%)"


def test_trend_annotates_the_rating_of_every_targeted_year():
    fig = charts.trend_figure(kpi_results(), "recycling_rate", CUT_OFF, REGISTRY)

    ratings = {(round(a.xy[0]), a.get_text()) for a in annotations(fig, "rating")}
    assert ratings == {(2016, "**"), (2017, "***")}


def test_trend_marks_incomplete_years_with_hollow_markers_named_in_the_legend():
    fig = charts.trend_figure(kpi_results(), "energy_intensity", CUT_OFF, REGISTRY)
    ax = fig.axes[0]

    incomplete = line(ax, "incomplete")
    np.testing.assert_allclose(incomplete.get_xydata(), [[2016, 5.0]])
    assert incomplete.get_markerfacecolor() == "white"
    # The actual line draws filled markers only at the complete years (2005, 2015, 2017).
    assert list(line(ax, "actual").get_markevery()) == [0, 1, 3]
    legend_texts = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    assert charts.INCOMPLETE_NOTE in legend_texts


def test_every_axis_has_a_unit_and_every_chart_a_footer_with_source_and_cut_off():
    data = kpi_results()
    figures = [charts.trend_figure(data, "energy_intensity", CUT_OFF, REGISTRY),
               charts.breakdown_figure(data, "energy_intensity", 2017, CUT_OFF, REGISTRY),
               charts.overview_figure(data, 2017, CUT_OFF, REGISTRY)]
    for fig in figures:
        footer = [t.get_text() for t in fig.texts if t.get_gid() == "footer"]
        assert footer == [f"Source: envkpi, kpi_results.csv  ·  Data cut-off: {CUT_OFF}"]
        for ax in fig.axes:
            if not ax.axison:
                continue  # the overview's summary table
            assert "FY" in ax.get_xlabel() or "(%)" in ax.get_xlabel()
    trend_ax = figures[0].axes[0]
    assert trend_ax.get_ylabel() == "Reduction vs base year FY2005 (%)"
    assert trend_ax.get_xlabel() == "Fiscal year (FY)"
    assert [tick.get_text() for tick in trend_ax.get_xticklabels()][0].startswith("FY")


def test_breakdown_ranks_business_units_and_plants_with_the_kpi_results_figures():
    data = kpi_results()
    fig = charts.breakdown_figure(data, "energy_intensity", 2017, CUT_OFF, REGISTRY)
    bu_ax, plant_ax = fig.axes

    def bars(ax):
        return {bar.get_gid(): bar.get_width() for bar in ax.patches if isinstance(bar, Rectangle) and bar.get_gid()}

    rows = data[(data["kpi"] == "energy_intensity") & (data["fiscal_year"] == 2017)].set_index("scope_id")
    assert bars(bu_ax) == pytest.approx(rows.loc[["Magnets", "Cables"], "change_vs_base_pct"].to_dict())
    assert bars(plant_ax) == pytest.approx(rows.loc[["P01", "P02", "P03"], "change_vs_base_pct"].to_dict())
    # Ranked: largest reduction on top; P03 increased its intensity, so its bar points left.
    assert [t.get_text() for t in plant_ax.get_yticklabels()] == ["P01", "P02", "P03", "P04"]
    assert bars(plant_ax)["P03"] < 0


def test_breakdown_shows_a_plant_without_base_year_instead_of_dropping_it():
    fig = charts.breakdown_figure(kpi_results(), "energy_intensity", 2017, CUT_OFF, REGISTRY)
    plant_ax = fig.axes[1]

    no_base = [a for a in annotations(fig, "no_base_year")]
    assert [a.get_text() for a in no_base] == ["no base year"]
    assert [t.get_text() for t in plant_ax.get_yticklabels()][round(no_base[0].xy[1])] == "P04"
    assert "P04" not in {bar.get_gid() for bar in plant_ax.patches}


def test_breakdown_draws_the_group_figure_and_the_target_for_comparison():
    data = kpi_results()
    fig = charts.breakdown_figure(data, "energy_intensity", 2017, CUT_OFF, REGISTRY)
    group_change = group_metric(data, "energy_intensity", "value").set_index("fiscal_year").loc[2017, "change_vs_base_pct"]

    for ax in fig.axes:
        assert line(ax, "group_line").get_xdata()[0] == pytest.approx(group_change)
        assert line(ax, "target_line").get_xdata()[0] == pytest.approx(11.5)
    legend_texts = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    assert "Group FY2017: 6.6 %" in legend_texts
    assert "Target FY2017: 11.5 %" in legend_texts
    assert charts.INCOMPLETE_NOTE in legend_texts  # P03 is incomplete


def test_overview_has_a_trend_panel_per_kpi_with_its_rating():
    data = kpi_results()
    fig = charts.overview_figure(data, 2017, CUT_OFF, REGISTRY)

    titles = {ax.get_title(loc="left"): ax.get_title(loc="right") for ax in fig.axes if ax.axison}
    assert titles == {
        "Energy per production unit": "FY2017 *",
        "Waste and valuables per production unit": "FY2017 ***",
        "Chemical emissions per production unit": "FY2017 *",
        "Recycling rate": "FY2017 ***",
    }
    energy_ax = next(ax for ax in fig.axes if ax.get_title(loc="left") == "Energy per production unit")
    # The FY2018 row holds a target only: the actual line ends at the report year.
    assert line(energy_ax, "actual").get_xdata()[-1] == 2017
    assert line(energy_ax, "target").get_xdata()[-1] == 2018


@pytest.mark.parametrize(
    ("value", "shown"),
    [(6.599999, "6.6"), (6.65, "6.7"), (10.999984, "11"), (78.999998, "79"), (20.74, "20.7"), (9.96, "10"),
     (-0.04, "0"), (-3.25, "-3.3"), (math.nan, "")],
)
def test_percentages_show_one_decimal_where_needed(value, shown):
    assert charts.format_pct(value) == shown


def test_targets_show_as_set():
    assert [charts.format_target(t) for t in (11.5, 7.5, 13.0, 8.0, 72.0, 7.25)] == \
        ["11.5", "7.5", "13", "8", "72", "7.25"]
