"""The charts show the kpi_results figures as they are, for every KPI, with units, ratings and flags."""

from __future__ import annotations

import contextlib
import io
import math
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import COLUMNS, REGISTRY, kpi_row
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.text import Annotation, Text

from envkpi.reporting import charts

DATES = charts.ReportDates("FY2017 (Apr 2017 – Mar 2018)", "2018-05-15")


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


def texts(fig, gid: str) -> list[Text]:
    return [t for ax in fig.axes for t in ax.texts if t.get_gid() == gid]


def group_metric(frame: pd.DataFrame, kpi: str, column: str) -> pd.DataFrame:
    rows = frame[(frame["scope_level"] == "group") & (frame["kpi"] == kpi)].dropna(subset=[column])
    return rows.sort_values("fiscal_year")


def test_a_chart_is_written_for_every_kpi_in_the_data_in_every_format(tmp_path: Path):
    paths = charts.write_charts(kpi_results(), tmp_path, 2017, DATES, REGISTRY)

    for kpi in ("energy_intensity", "waste_intensity", "chemical_intensity", "recycling_rate"):
        for stem in (f"trend_{kpi}_FY2017", f"breakdown_{kpi}_FY2017"):
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
        "energy_intensity",
        "waste_intensity",
        "chemical_intensity",
        "recycling_rate",
    ]


def test_trend_plots_the_change_vs_base_year_of_the_group_as_in_kpi_results():
    data = kpi_results()
    fig = charts.trend_figure(data, "energy_intensity", DATES, REGISTRY)
    ax = fig.axes[0]

    expected = group_metric(data, "energy_intensity", "change_vs_base_pct")
    np.testing.assert_allclose(
        line(ax, "actual").get_xydata(), expected[["fiscal_year", "change_vs_base_pct"]].to_numpy(dtype=float)
    )
    targets = group_metric(data, "energy_intensity", "target_pct")
    np.testing.assert_allclose(line(ax, "target").get_xydata(), [[2016, 10.5], [2017, 11.5], [2018, 13.0]])
    assert targets["target_pct"].tolist() == [10.5, 11.5, 13.0]
    # From 0 % in the base year to the latest target.
    np.testing.assert_allclose(line(ax, "trajectory").get_xydata(), [[2005, 0.0], [2018, 13.0]])


def test_trend_of_the_recycling_rate_plots_the_rate_itself_without_trajectory():
    data = kpi_results()
    fig = charts.trend_figure(data, "recycling_rate", DATES, REGISTRY)
    ax = fig.axes[0]

    np.testing.assert_allclose(line(ax, "actual").get_xydata(), [[2015, 70.0], [2016, 71.0], [2017, 79.4]])
    assert not [a for a in ax.get_lines() if a.get_gid() == "trajectory"]
    assert ax.get_ylabel() == "Recycling rate (%)"


def test_trend_annotates_the_rating_of_every_targeted_year():
    fig = charts.trend_figure(kpi_results(), "recycling_rate", DATES, REGISTRY)

    ratings = {(round(t.get_position()[0]), t.get_text()) for t in texts(fig, "rating")}
    assert ratings == {(2016, "**"), (2017, "***")}


def test_trend_marks_incomplete_years_with_hollow_markers_named_in_the_legend():
    fig = charts.trend_figure(kpi_results(), "energy_intensity", DATES, REGISTRY)
    ax = fig.axes[0]

    incomplete = line(ax, "incomplete")
    np.testing.assert_allclose(incomplete.get_xydata(), [[2016, 5.0]])
    assert incomplete.get_markerfacecolor() == "white"
    # The actual line draws filled markers only at the complete years (2005, 2015, 2017).
    assert list(line(ax, "actual").get_markevery()) == [0, 1, 3]
    legend_texts = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    assert charts.INCOMPLETE_NOTE in legend_texts


def test_every_axis_has_a_unit_and_every_chart_a_footer_with_source_period_and_as_of_date():
    data = kpi_results()
    figures = [
        charts.trend_figure(data, "energy_intensity", DATES, REGISTRY),
        charts.breakdown_figure(data, "energy_intensity", 2017, DATES, REGISTRY),
        charts.overview_figure(data, 2017, DATES, REGISTRY),
    ]
    for fig in figures:
        footer = [t.get_text() for t in fig.texts if t.get_gid() == "footer"]
        assert footer == [
            "Source: envkpi, kpi_results.csv  ·  Period covered: FY2017 (Apr 2017 – Mar 2018)"
            "  ·  Figures as of: 2018-05-15"
        ]
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
    fig = charts.breakdown_figure(data, "energy_intensity", 2017, DATES, REGISTRY)
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
    fig = charts.breakdown_figure(kpi_results(), "energy_intensity", 2017, DATES, REGISTRY)
    plant_ax = fig.axes[1]

    no_base = [a for a in annotations(fig, "no_base_year")]
    assert [a.get_text() for a in no_base] == ["no base year"]
    assert [t.get_text() for t in plant_ax.get_yticklabels()][round(no_base[0].xy[1])] == "P04"
    assert "P04" not in {bar.get_gid() for bar in plant_ax.patches}


def test_breakdown_draws_the_group_figure_and_the_target_for_comparison():
    data = kpi_results()
    fig = charts.breakdown_figure(data, "energy_intensity", 2017, DATES, REGISTRY)
    group_change = (
        group_metric(data, "energy_intensity", "value").set_index("fiscal_year").loc[2017, "change_vs_base_pct"]
    )

    for ax in fig.axes:
        assert line(ax, "group_line").get_xdata()[0] == pytest.approx(group_change)
        assert line(ax, "target_line").get_xdata()[0] == pytest.approx(11.5)
    legend_texts = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    assert "Group FY2017: 6.6 %" in legend_texts
    assert "Target FY2017: 11.5 %" in legend_texts
    assert charts.INCOMPLETE_NOTE in legend_texts  # P03 is incomplete


def test_overview_has_a_trend_panel_per_kpi_with_its_rating():
    data = kpi_results()
    fig = charts.overview_figure(data, 2017, DATES, REGISTRY)

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
    [
        (6.599999, "6.6"),
        (6.65, "6.7"),
        (10.999984, "11"),
        (78.999998, "79"),
        (20.74, "20.7"),
        (9.96, "10"),
        (-0.04, "0"),
        (-3.25, "-3.3"),
        (math.nan, ""),
    ],
)
def test_percentages_show_one_decimal_where_needed(value, shown):
    assert charts.format_pct(value) == shown


def test_targets_show_as_set():
    assert [charts.format_target(t) for t in (11.5, 7.5, 13.0, 8.0, 72.0, 7.25)] == [
        "11.5",
        "7.5",
        "13",
        "8",
        "72",
        "7.25",
    ]


# --- what a reader sees: labels, names, colours, scales --------------------------------------


def rated_breakdown() -> pd.DataFrame:
    """FY2017 recycling of two BUs and three plants with targets of their own, rates 76 % to 87 %.

    Group 79.4 % against 72 %. Magnets 87 % against 80 % is achieved; Cables 76 % against 80 %
    is 90 % achieved (0.95); P01 81 % against 90 % is 90 % achieved; P02 78 % against 95 % is not
    achieved (0.82); P03 80 % has no target of its own.
    """
    rows = [
        kpi_row("group", "group", "recycling_rate", 2017, 79.4, target=72.0, rating="achieved"),
        kpi_row(
            "business_unit", "Magnets", "recycling_rate", 2017, 87.0, target=80.0, rating="achieved", denominator=600.0
        ),
        kpi_row(
            "business_unit",
            "Cables",
            "recycling_rate",
            2017,
            76.0,
            target=80.0,
            rating="90% achieved",
            denominator=400.0,
        ),
        kpi_row("plant", "P01", "recycling_rate", 2017, 81.0, target=90.0, rating="90% achieved", denominator=300.0),
        kpi_row("plant", "P02", "recycling_rate", 2017, 78.0, target=95.0, rating="not achieved", denominator=300.0),
        kpi_row("plant", "P03", "recycling_rate", 2017, 80.0, denominator=400.0),
    ]
    return pd.DataFrame(rows, columns=COLUMNS)


def drawn(fig):
    """The figure drawn once (its final layout), and the renderer to measure its artists with."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def test_no_line_of_a_breakdown_crosses_a_bar_label():
    # In this data the group line (6.6 %) runs right past P02's bar end (6 %) and over the
    # "no base year" of P04 at zero: labels written at a bar's end would be crossed.
    fig = charts.breakdown_figure(kpi_results(), "energy_intensity", 2017, DATES, REGISTRY)
    renderer = drawn(fig)

    checked = 0
    for ax in fig.axes:
        labels = [t.get_window_extent(renderer) for t in ax.texts if t.get_gid() in ("bar_label", "no_base_year")]
        assert labels
        for gid in ("group_line", "target_line"):
            segment = line(ax, gid)
            (x0, y0), (x1, y1) = segment.get_transform().transform(segment.get_xydata())
            assert x0 == pytest.approx(x1)  # vertical
            # The line as drawn: clipped to the axes.
            box = ax.get_window_extent(renderer)
            low, high = max(min(y0, y1), box.y0), min(max(y0, y1), box.y1)
            for label in labels:
                crosses = label.x0 - 1 <= x0 <= label.x1 + 1 and label.y0 <= high and low <= label.y1
                assert not crosses, f"{gid} crosses a label at x={x0:.0f}px: {label}"
                checked += 1
    assert checked == 2 * (2 + 4)  # 2 lines x (2 BU labels + 4 plant labels)


def test_plants_are_named_from_the_plants_file_beside_their_ids():
    names = {"P01": "Kyoto Works", "P02": "Osaka Plant", "P03": "Nagoya Cable Works"}
    fig = charts.breakdown_figure(kpi_results(), "energy_intensity", 2017, DATES, REGISTRY, plant_names=names)

    plant_ax = fig.axes[1]
    assert [t.get_text() for t in plant_ax.get_yticklabels()] == [
        "Kyoto Works (P01)",
        "Osaka Plant (P02)",
        "Nagoya Cable Works (P03)",
        "P04",
    ]


def test_bars_take_the_colour_of_their_own_rating_named_in_the_legend():
    fig = charts.breakdown_figure(rated_breakdown(), "recycling_rate", 2017, DATES, REGISTRY)

    colours = {bar.get_gid(): to_hex(bar.get_facecolor()) for ax in fig.axes for bar in ax.patches if bar.get_gid()}
    green, orange, vermillion, grey = "#009e73", "#e69f00", "#d55e00", "#a0a0a0"
    assert colours == {"Magnets": green, "Cables": orange, "P01": orange, "P02": vermillion, "P03": grey}
    legend = {t.get_text(): h for legend in fig.legends for t, h in zip(legend.get_texts(), legend.legend_handles)}
    # The legend's patches (its lines are the group figure and the target).
    patches = {
        label: to_hex(handle.get_facecolor()) for label, handle in legend.items() if isinstance(handle, Rectangle)
    }
    assert patches == {
        "Achieved (***)": green,
        "90 % achieved (**)": orange,
        "Not achieved (*)": vermillion,
        "No target of its own": grey,
    }


def test_the_scale_of_a_breakdown_fits_its_data():
    fig = charts.breakdown_figure(rated_breakdown(), "recycling_rate", 2017, DATES, REGISTRY)

    low, high = fig.axes[-1].get_xlim()
    # Bars start at 0; the largest figure is 87 %: the axis ends a little past it, well short of 100.
    assert low == 0
    assert 87 < high <= 93


def test_chart_labels_show_one_decimal():
    fig = charts.breakdown_figure(rated_breakdown(), "recycling_rate", 2017, DATES, REGISTRY)

    labels = sorted(a.get_text() for a in annotations(fig, "bar_label"))
    # Shares of the group's 1,000 t of waste: 600, 400, 300, 300, 400 t.
    assert labels == sorted(
        [
            "87.0 %  ·  60.0 % of group waste",
            "76.0 %  ·  40.0 % of group waste",
            "81.0 %  ·  30.0 % of group waste",
            "78.0 %  ·  30.0 % of group waste",
            "80.0 %  ·  40.0 % of group waste",
        ]
    )
    legend_texts = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    assert "Group FY2017: 79.4 %" in legend_texts and "Target FY2017: 72.0 %" in legend_texts


def test_the_trend_axis_labels_the_base_year_and_the_report_year():
    fig = charts.trend_figure(kpi_results(), "energy_intensity", DATES, REGISTRY, fiscal_year=2017)
    drawn(fig)

    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert "FY2005\nbase" in ticks
    assert "FY2017\nreport" in ticks
    chemicals = charts.trend_figure(kpi_results(), "chemical_intensity", DATES, REGISTRY, fiscal_year=2017)
    drawn(chemicals)
    assert "FY2006\nbase" in [t.get_text() for t in chemicals.axes[0].get_xticklabels()]


def test_rating_stars_sit_clear_of_the_target_markers_in_another_colour():
    for kpi in ("energy_intensity", "recycling_rate"):
        fig = charts.trend_figure(kpi_results(), kpi, DATES, REGISTRY, fiscal_year=2017)
        renderer = drawn(fig)
        ax = fig.axes[0]
        targets = line(ax, "target")
        markers = targets.get_transform().transform(targets.get_xydata())
        half = targets.get_markersize() / 72 * fig.dpi  # the diamond's extent in pixels, with a margin
        ratings = texts(fig, "rating")
        assert ratings
        for star in ratings:
            box = star.get_window_extent(renderer)
            assert star.get_color() != targets.get_color()
            for x, y in markers:
                overlaps = box.x0 - half <= x <= box.x1 + half and box.y0 - half <= y <= box.y1 + half
                assert not overlaps, f"{kpi}: rating {star.get_text()} on the target marker at {x:.0f},{y:.0f}"


def test_every_chart_file_names_its_fiscal_year(tmp_path: Path):
    data = kpi_results()
    first = charts.write_charts(data, tmp_path, 2017, DATES, REGISTRY)
    second = charts.write_charts(data, tmp_path, 2016, DATES, REGISTRY)

    assert all(re.search(r"_FY2017\.(png|svg|pdf)$", p.name) for p in first)
    assert all(re.search(r"_FY2016\.(png|svg|pdf)$", p.name) for p in second)
    # The second year's charts stand beside the first's instead of replacing some of them.
    assert len(list(tmp_path.iterdir())) == len(first) + len(second)


def test_the_period_covered_is_the_fiscal_years_twelve_months():
    assert charts.ReportDates.for_year(2017, 4, "2018-05-15").period_covered == "FY2017 (Apr 2017 – Mar 2018)"
    assert charts.ReportDates.for_year(2017, 1, "x").period_covered == "FY2017 (Jan 2017 – Dec 2017)"


@pytest.mark.parametrize(
    ("value", "shown"), [(16, "16.0"), (16.94, "16.9"), (6.65, "6.7"), (-0.04, "0.0"), (-3.25, "-3.3")]
)
def test_chart_labels_round_half_up_to_one_decimal(value, shown):
    assert charts.format_label(value) == shown


def test_chart_pdfs_embed_truetype_fonts_not_type3(tmp_path: Path):
    from pypdf import PdfReader

    charts.save_figure(charts.overview_figure(kpi_results(), 2017, DATES, REGISTRY), tmp_path, "overview_FY2017")

    page = PdfReader(tmp_path / "overview_FY2017.pdf").pages[0]
    fonts = [font.get_object() for font in page["/Resources"]["/Font"].values()]
    assert fonts
    assert {font["/Subtype"] for font in fonts} == {"/Type0"}
    for font in fonts:
        descendant = font["/DescendantFonts"][0].get_object()
        assert descendant["/Subtype"] == "/CIDFontType2" and "/FontFile2" in descendant["/FontDescriptor"]


@pytest.mark.skipif(not shutil.which("pdftoppm") or not shutil.which("pdftotext"), reason="needs poppler-utils")
def test_chart_pdfs_embed_subsets_without_layout_tables_that_look_and_read_as_the_full_ones(tmp_path: Path):
    """pdf_fonts.lean_subsets leaves GSUB and GPOS out of the embedded fonts; poppler draws the
    page pixel for pixel as with matplotlib's own subsets, and reads the same text from it."""
    from fontTools.ttLib import TTFont
    from matplotlib.figure import Figure
    from pypdf import PdfReader

    from envkpi.reporting.pdf_fonts import lean_subsets

    def save(path: Path, lean: bool) -> None:
        fig = Figure(figsize=(4, 2))
        fig.text(0.05, 0.6, "Office fit: ffi 13.5 % · –", fontsize=14)  # ligature and kerning pairs
        fig.text(0.05, 0.2, "Bold AV Wa", fontsize=14, fontweight="bold")
        with charts.house_style(), lean_subsets() if lean else contextlib.nullcontext():
            fig.savefig(path, format="pdf", metadata={"CreationDate": None})

    def embedded_tables(path: Path) -> list[set[str]]:
        page = PdfReader(path).pages[0]
        found = []
        for font in page["/Resources"]["/Font"].values():
            descriptor = font.get_object()["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            found.append(set(TTFont(io.BytesIO(descriptor["/FontFile2"].get_object().get_data())).keys()))
        return found

    save(tmp_path / "full.pdf", lean=False)
    save(tmp_path / "lean.pdf", lean=True)
    assert len(embedded_tables(tmp_path / "lean.pdf")) >= 2  # regular and bold at least
    assert all({"GSUB", "GPOS"} <= tables for tables in embedded_tables(tmp_path / "full.pdf"))
    assert all(
        not tables & {"GSUB", "GPOS"} and {"glyf", "cmap", "hmtx"} <= tables
        for tables in embedded_tables(tmp_path / "lean.pdf")
    )
    pixels = {}
    for name in ("full", "lean"):
        subprocess.run(
            ["pdftoppm", "-r", "150", "-png", str(tmp_path / f"{name}.pdf"), str(tmp_path / name)], check=True
        )
        pixels[name] = (tmp_path / f"{name}-1.png").read_bytes()
    assert pixels["lean"] == pixels["full"]
    texts = [
        subprocess.run(
            ["pdftotext", str(tmp_path / f"{name}.pdf"), "-"], capture_output=True, text=True, check=True
        ).stdout
        for name in ("full", "lean")
    ]
    assert texts[0] == texts[1] and "Office fit: ffi 13.5 %" in texts[1]


def test_the_readme_shows_only_images_that_make_images_draws():
    project = Path(__file__).resolve().parent.parent
    readme = (project / "README.md").read_text(encoding="utf-8")
    makefile = (project / "Makefile").read_text(encoding="utf-8")
    recipe = makefile[makefile.index("\nimages:") :]
    recipe = recipe[: recipe.index("\n\n")]

    shown = re.findall(r"!\[[^\]]*\]\((docs/images/[^)]+)\)", readme)
    assert {
        "docs/images/overview_FY2017.png",
        "docs/images/report_pack_FY2017_page1.png",
        "docs/images/breakdown_energy_intensity_FY2017.png",
    } <= set(shown)
    for image in shown:
        assert (project / image).is_file(), image
        name = Path(image).stem.removesuffix("_page1")
        assert name in recipe, f"{image} is not drawn by make images"
    # Chart names in the README carry their fiscal year.
    assert not re.search(r"`(trend|breakdown|overview)_[a-z<>_]*`", readme)


def test_a_report_of_a_few_kpis_is_drawn_by_this_process_alone_even_with_cores_to_spare(tmp_path, monkeypatch):
    """Four KPIs are about 7 s of drawing, less than two workers' start-up is worth (a worker costs
    a second of imports): no worker process is started, on a machine of two cores or of eight."""
    from envkpi.reporting import annual_report

    def no_worker(*args, **kwargs):
        raise AssertionError("a worker process was started")

    monkeypatch.setattr(annual_report.subprocess, "Popen", no_worker)
    for cores in (2, 8):
        monkeypatch.setattr(
            annual_report.os, "sched_getaffinity", lambda pid, cores=cores: set(range(cores)), raising=False
        )
        written = annual_report.write_annual_report(kpi_results(), tmp_path / f"{cores}", 2017, DATES, REGISTRY)
        assert len([name for name in written if name.startswith("chart:")]) == 3 * (2 * 4 + 1)
        assert written["pack:pdf"].read_bytes().startswith(b"%PDF")
