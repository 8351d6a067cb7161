"""Charts of the KPI results for the annual report: per-KPI trend, per-KPI breakdown, overview.

Every function takes the ``kpi_results`` table (contract section 5) and returns a matplotlib
``Figure`` built without pyplot (no global state, no display backend); ``write_charts`` saves them
as PNG, SVG and PDF, each named with the fiscal year it reports. Every chart carries units on its
axes and a footer naming the source, the period the figures cover and the date they are as of
(``ReportDates``). Labels show one decimal (``format_label``); the CSR results table keeps its
own rounding (``format_pct``).
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import matplotlib.style
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator

from envkpi.reporting.export import replace_atomically
from envkpi.reporting.pdf_fonts import lean_subsets
from envkpi.settings import PACKAGE_DIR, Settings
from envkpi.vocabulary import GROUP, RATING_SYMBOLS, RATINGS, rating_symbol, value_unit

STYLE_PATH = PACKAGE_DIR / "reporting" / "styles" / "envkpi.mplstyle"
SOURCE = "envkpi, kpi_results.csv"
FORMATS = ("png", "svg", "pdf")

# Okabe-Ito colours, named by their role in the charts (the style file holds the same palette).
# The target is black, so that no rating colour (green, orange, vermillion) is ever read as it.
ACTUAL_COLOUR = "#0072B2"
TARGET_COLOUR = "#000000"
TRAJECTORY_COLOUR = "#666666"
NO_VALUE_COLOUR = "#777777"

# The colour of each rating's stars (the rating words and stars: envkpi.vocabulary).
RATING_COLOURS = {"***": "#009E73", "**": "#E69F00", "*": "#D55E00"}
# A business unit's or plant's bar takes the colour of its own rating; grey where it has no target.
NO_TARGET_COLOUR = "#A0A0A0"
RATING_NAMES = {
    **{r.symbol: f"{r.shown_as[:1].upper()}{r.shown_as[1:]} ({r.symbol})" for r in RATINGS},
    "": "No target of its own",
}
RATINGS_FOOTER = "Ratings: " + ", ".join(f"{r.symbol} {r.shown_as}" for r in RATINGS)

INCOMPLETE_NOTE = "Incomplete data (< 100 % of plant-months)"
FOOTER_INCHES = 0.5
LEGEND_ROW_INCHES = 0.28


# --- reading the inputs -------------------------------------------------------------------


@dataclass(frozen=True)
class ReportDates:
    """The two dates shown wherever figures are.

    ``period_covered``: the months of the fiscal year the figures are for. ``figures_as_of``: the
    latest delivery time (``delivery.ingested_at``) of the deliveries the figures include, so a
    restatement delivered after the year's end moves it; "no deliveries" when there are none.
    """

    period_covered: str
    figures_as_of: str

    @classmethod
    def for_year(cls, fiscal_year: int, start_month: int, figures_as_of: str) -> ReportDates:
        first = pd.Period(year=fiscal_year, month=start_month, freq="M")
        last = first + 11
        return cls(f"FY{fiscal_year} ({first.strftime('%b %Y')} – {last.strftime('%b %Y')})", figures_as_of)

    @property
    def text(self) -> str:
        return f"Period covered: {self.period_covered}  ·  Figures as of: {self.figures_as_of}"


@dataclass(frozen=True)
class KpiInfo:
    """What a chart or table needs to know about one KPI, from the registry (kpis.csv)."""

    kpi: str
    label: str
    value_unit: str
    base_year: int | None
    is_rate: bool
    denominator_measure: str

    @property
    def axis_label(self) -> str:
        """The y axis of a trend (x axis of a breakdown): what is plotted, in %."""
        if self.is_rate:
            return f"{self.label} (%)"
        base = f" FY{self.base_year}" if self.base_year is not None else ""
        return f"Reduction vs base year{base} (%)"

    @property
    def description(self) -> str:
        if self.is_rate:
            return f"Group, {self.label.lower()} in %"
        what = "intensity" if "/" in self.value_unit else "total"
        return f"Group, {what} in {self.value_unit}, shown as reduction vs base year (positive = better)"


def read_registry(registry: pd.DataFrame | Path | str | None = None) -> pd.DataFrame:
    """The KPI registry as a frame: given, read from a path, or the shipped ``kpis.csv``."""
    if isinstance(registry, pd.DataFrame):
        return registry
    path = Path(registry) if registry is not None else Settings().reference / "kpis.csv"
    return pd.read_csv(path, dtype={"kpi": str})


def kpis_in_order(kpi_results: pd.DataFrame, registry: pd.DataFrame) -> list[str]:
    """The KPIs present in ``kpi_results``, in registry order; unknown ones last, by name."""
    present = set(kpi_results["kpi"].dropna().astype(str))
    known = [k for k in registry["kpi"].astype(str) if k in present]
    return known + sorted(present - set(known))


def kpi_info(kpi: str, registry: pd.DataFrame, kpi_results: pd.DataFrame | None = None) -> KpiInfo:
    """Label, unit, base year and kind of ``kpi``; falls back on kpi_results for unknown KPIs."""
    rows = registry[registry["kpi"].astype(str) == kpi]
    results = kpi_results[kpi_results["kpi"] == kpi] if kpi_results is not None else pd.DataFrame()
    if not rows.empty:
        row = rows.iloc[0]
        is_rate = str(row.get("target_kind", "")).strip() == "rate"
        unit = value_unit(row["numerator_unit"], row.get("denominator_unit"), row.get("scale", 1))
        base = row.get("base_fiscal_year")
        return KpiInfo(
            kpi=kpi,
            label=str(row["label"]),
            value_unit=unit or "value",
            base_year=int(base) if pd.notna(base) else _results_base_year(results),
            is_rate=is_rate,
            denominator_measure=str(row.get("denominator_measure", "denominator"))
            if pd.notna(row.get("denominator_measure"))
            else "",
        )
    # Not in the registry: say what kpi_results says rather than drop the KPI.
    base_year = _results_base_year(results)
    units = results[["numerator_unit", "denominator_unit"]].dropna() if not results.empty else pd.DataFrame()
    unit = value_unit(units.iloc[0, 0], units.iloc[0, 1], 1) if not units.empty else None  # taken as a ratio
    return KpiInfo(
        kpi, kpi.replace("_", " ").capitalize(), unit or "value", base_year, base_year is None, "denominator"
    )


def _results_base_year(results: pd.DataFrame) -> int | None:
    if results.empty or "base_year" not in results:
        return None
    years = pd.to_numeric(results["base_year"], errors="coerce").dropna()
    return int(years.iloc[0]) if not years.empty else None


def plotted_metric(rows: pd.DataFrame, info: KpiInfo) -> pd.Series:
    """What the charts plot: the change vs base year (reduction KPIs) or the rate itself."""
    column = "value" if info.is_rate else "change_vs_base_pct"
    return pd.to_numeric(rows[column], errors="coerce")


def stars(rating: object) -> str:
    """``***``, ``**`` or ``*`` for a rating word of kpi_results; empty where there is none."""
    return rating_symbol(rating)


def format_pct(value: float, decimals: int = 1) -> str:
    """A percentage as a person reads it: one decimal where needed (6.6, 20.7, but 11 and 79).

    Rounded half up to ``decimals`` places on the shortest decimal form of the float
    (6.65 -> 6.7, 10.99998 -> 11), then trailing zeros dropped; the CSR table prints "6.6%"
    next to "11%" and "20.7%".
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    rounded = Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    if rounded == 0:
        return "0"
    return format(rounded.normalize(), "f")


def format_target(value: float) -> str:
    """A target as it was set: 11.5 stays 11.5, 13.0 becomes 13 (at most two decimals)."""
    return format_pct(value, decimals=2)


def format_label(value: float) -> str:
    """A figure as every chart label shows it: one decimal, rounded half up (16 -> 16.0, 6.65 -> 6.7)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    rounded = Decimal(repr(float(value))).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return format(rounded if rounded != 0 else Decimal("0.0"), "f")


def format_target_label(value: float) -> str:
    """A target on a chart: one decimal, or the two it was set with (13 -> 13.0, 7.25 stays 7.25)."""
    shown = format_target(value)
    return shown if "." in shown else format_label(value)


def display_name(scope_id: object, plant_names: dict | None) -> str:
    """A plant as the charts name it: its name from the plants file and its id, "Kyoto Works (P01)"."""
    name = (plant_names or {}).get(str(scope_id))
    if not isinstance(name, str) or not name.strip() or name.strip() == str(scope_id):
        return str(scope_id)
    name = name.strip()
    if len(name) > 28:
        name = name[:27] + "…"
    return f"{name} ({scope_id})"


def group_rows(kpi_results: pd.DataFrame, kpi: str) -> pd.DataFrame:
    """The group's rows of ``kpi``, one per fiscal year (an integer), oldest first."""
    rows = kpi_results[(kpi_results["scope_level"] == GROUP) & (kpi_results["kpi"] == kpi)].copy()
    rows["fiscal_year"] = pd.to_numeric(rows["fiscal_year"], errors="coerce")
    rows = rows.dropna(subset=["fiscal_year"])
    rows["fiscal_year"] = rows["fiscal_year"].astype(int)
    return rows.sort_values("fiscal_year").drop_duplicates("fiscal_year", keep="last")


def _is_incomplete(rows: pd.DataFrame) -> pd.Series:
    return pd.to_numeric(rows["completeness_pct"], errors="coerce").fillna(100) < 100


# --- figure plumbing ------------------------------------------------------------------------


@contextmanager
def house_style() -> Iterator[None]:
    """The envkpi style, for building and for saving a figure (ticks read it when drawn)."""
    with matplotlib.style.context(STYLE_PATH):
        yield


def _figure(width: float, height: float) -> Figure:
    """A figure whose bottom strip is kept free for the footer (and, see ``_legend``, the legend)."""
    strip = FOOTER_INCHES / height
    return Figure(
        figsize=(width, height),
        layout=ConstrainedLayoutEngine(rect=(0, strip, 1, 1 - strip), h_pad=0.06, w_pad=0.06),
    )


def _legend(fig: Figure, handles: list, ncols: int, fontsize: float | None = None) -> None:
    """The figure's legend, centred between the plots and the footer."""
    if not handles:
        return
    rows = math.ceil(len(handles) / ncols)
    height = fig.get_figheight()
    strip = (FOOTER_INCHES + rows * LEGEND_ROW_INCHES + 0.1) / height
    # Constrained layout places "outside" legends at the figure edge, over the footer; so the
    # legend gets a strip of its own above the footer and the plots are laid out above both.
    engine = fig.get_layout_engine()
    if not isinstance(engine, ConstrainedLayoutEngine):
        raise TypeError("the legend's strip is left by constrained layout: draw the figure with it")
    engine.set(rect=(0, strip, 1, 1 - strip))
    fig.legend(
        handles=handles,
        loc="lower center",
        bbox_to_anchor=(0.5, FOOTER_INCHES / height),
        ncols=ncols,
        fontsize=fontsize,
    )


def add_footer(fig: Figure, dates: ReportDates, note: str = "") -> None:
    """The source and the two dates at the bottom left of ``fig``; an optional note on the line above."""
    y = 0.1 / fig.get_figheight()
    fig.text(
        0.01, y, f"Source: {SOURCE}  ·  {dates.text}", fontsize=8, color="#555555", ha="left", va="bottom", gid="footer"
    )
    if note:
        fig.text(
            0.01,
            y + 0.19 / fig.get_figheight(),
            note,
            fontsize=8,
            color="#555555",
            ha="left",
            va="bottom",
            gid="footer_note",
        )


def _fiscal_year_axis(ax: Axes, first: int, last: int, labelled: dict[int, str], nbins: int = 7) -> None:
    """Fiscal-year ticks from ``first`` to ``last``, always including the years of ``labelled``
    (the base and the report year), each with its role under the year; other ticks keep clear."""
    candidates = [int(t) for t in MaxNLocator(nbins=nbins, integer=True).tick_values(first, last) if first <= t <= last]
    step = (candidates[1] - candidates[0]) if len(candidates) > 1 else 1
    ticks = set(labelled)
    ticks |= {t for t in candidates if all(abs(t - year) >= 0.6 * step for year in labelled)}
    ax.xaxis.set_major_locator(FixedLocator(sorted(ticks)))
    ax.xaxis.set_major_formatter(
        FuncFormatter(
            lambda x, _pos: f"FY{int(round(x))}" + (f"\n{labelled[int(round(x))]}" if int(round(x)) in labelled else "")
        )
    )


def save_figure(fig: Figure, out_dir: Path, stem: str) -> list[Path]:
    """Write ``fig`` as ``stem``.png (150 dpi), .svg and .pdf; dates left out so reruns match."""
    out_dir.mkdir(parents=True, exist_ok=True)
    metadata = {"png": None, "svg": {"Date": None}, "pdf": {"CreationDate": None}}
    paths = []
    with house_style(), lean_subsets():
        for fmt in FORMATS:
            path = out_dir / f"{stem}.{fmt}"
            # Through a temporary file: a run killed mid-chart leaves the previous chart, never half of one.
            replace_atomically(path, lambda tmp, fmt=fmt: fig.savefig(tmp, format=fmt, dpi=150, metadata=metadata[fmt]))
            paths.append(path)
            if fig.get_layout_engine() is not None:
                _freeze_layout(fig)
    return paths


def _freeze_layout(fig: Figure) -> None:
    """Keep the layout of the first save for the other formats, rounded so that reruns match.

    Constrained layout differs between runs in the last bits of a float; SVG names its clip paths
    by hashing those floats, so unrounded positions would give a different SVG on every run.
    """
    fig.set_layout_engine("none")
    for ax in fig.axes:
        x0, y0, width, height = ax.get_position().bounds
        ax.set_position((round(x0, 5), round(y0, 5), round(width, 5), round(height, 5)))


def _safe_stem(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text)


# --- 1. trend -------------------------------------------------------------------------------


def _visible_rows(rows: pd.DataFrame, fiscal_year: int | None) -> pd.DataFrame:
    """Results up to the report year, and targets up to the year after (the plan)."""
    if fiscal_year is None:
        return rows
    return rows[rows["fiscal_year"] <= fiscal_year + 1]


def _draw_trend(ax: Axes, rows: pd.DataFrame, info: KpiInfo, fiscal_year: int | None, compact: bool) -> None:
    rows = _visible_rows(rows, fiscal_year)
    metric = plotted_metric(rows, info)
    if fiscal_year is not None:
        # The year after the report year contributes its target only, not a result.
        metric = metric.where(rows["fiscal_year"] <= fiscal_year)
    actual = rows.assign(metric=metric).dropna(subset=["metric"])
    incomplete = _is_incomplete(actual)
    targets = rows.assign(target=pd.to_numeric(rows["target_pct"], errors="coerce")).dropna(subset=["target"])

    if not info.is_rate:
        ax.axhline(0, color="#999999", linewidth=0.8, zorder=1)
    if fiscal_year is not None:
        ax.axvspan(fiscal_year - 0.45, fiscal_year + 0.45, color="#EEEEEE", zorder=0, linewidth=0)

    years = actual["fiscal_year"].to_numpy()
    values = actual["metric"].to_numpy()
    complete_at = [i for i, flag in enumerate(incomplete.to_numpy()) if not flag]
    ax.plot(
        years, values, color=ACTUAL_COLOUR, marker="o", markevery=complete_at, label="Actual", gid="actual", zorder=3
    )
    if incomplete.any():
        ax.plot(
            years[incomplete.to_numpy()],
            values[incomplete.to_numpy()],
            linestyle="none",
            marker="o",
            markerfacecolor="white",
            markeredgecolor=ACTUAL_COLOUR,
            markeredgewidth=1.8,
            markersize=8,
            label=INCOMPLETE_NOTE,
            gid="incomplete",
            zorder=4,
        )

    shown_values = list(values) + ([0.0] if not info.is_rate else [])
    if not targets.empty:
        ax.plot(
            targets["fiscal_year"].to_numpy(),
            targets["target"].to_numpy(),
            linestyle="none",
            marker="D",
            markersize=6,
            color=TARGET_COLOUR,
            label="Target",
            gid="target",
            zorder=5,
        )
        shown_values += list(targets["target"])
        latest = targets.iloc[-1]
        if not info.is_rate and info.base_year is not None and latest["fiscal_year"] > info.base_year:
            ax.plot(
                [info.base_year, latest["fiscal_year"]],
                [0.0, latest["target"]],
                linestyle="--",
                linewidth=1.2,
                color=TRAJECTORY_COLOUR,
                label=f"Trajectory FY{info.base_year} to FY{int(latest['fiscal_year'])} target",
                gid="trajectory",
                zorder=2,
            )

    # The data in the lower three quarters of the axes, the self-assessments in a row above it:
    # a rating never sits on a target marker, and no line runs through it.
    if shown_values:
        lo, hi = min(shown_values), max(shown_values)
        span = (hi - lo) or max(abs(hi), 1.0)
        ax.set_ylim(lo - 0.12 * span, hi + 0.45 * span)
    rated = actual.assign(target=pd.to_numeric(actual["target_pct"], errors="coerce"))
    for _, row in rated.iterrows():
        mark = stars(row.get("rating"))
        if not mark or pd.isna(row["target"]):
            continue
        ax.text(
            row["fiscal_year"],
            0.965,
            mark,
            transform=ax.get_xaxis_transform(),
            ha="center",
            va="top",
            fontsize=9 if compact else 11,
            fontweight="bold",
            color=RATING_COLOURS[mark],
            gid="rating",
        )

    ax.set_xlabel("Fiscal year (FY)", fontsize=8 if compact else None)
    ax.set_ylabel(info.axis_label, fontsize=8 if compact else None)
    shown_years = [int(y) for y in years] + [int(y) for y in targets["fiscal_year"]]
    if not targets.empty and not info.is_rate and info.base_year is not None:
        shown_years.append(info.base_year)  # where the trajectory starts
    if shown_years:
        first, last = min(shown_years), max(shown_years)
        ax.set_xlim(first - 0.6, last + 0.6)
        labelled = {}
        if not info.is_rate and info.base_year is not None and first <= info.base_year <= last:
            labelled[info.base_year] = "base"
        if fiscal_year is not None and first <= fiscal_year <= last:
            labelled[fiscal_year] = "report"
        _fiscal_year_axis(ax, first, last, labelled, nbins=5 if compact else 7)


def trend_figure(
    kpi_results: pd.DataFrame,
    kpi: str,
    dates: ReportDates,
    registry: pd.DataFrame | Path | None = None,
    fiscal_year: int | None = None,
) -> Figure:
    """Group trend of one KPI: actual by fiscal year, targets, trajectory, ratings.

    With ``fiscal_year`` the chart shows results up to that year and targets up to the next.
    """
    registry = read_registry(registry)
    info = kpi_info(kpi, registry, kpi_results)
    rows = group_rows(kpi_results, kpi)
    with house_style():
        fig = _figure(8.0, 4.8)
        ax = fig.add_subplot()
        _draw_trend(ax, rows, info, fiscal_year, compact=False)
        ax.set_title(info.label)
        fig.suptitle(info.description, x=0.01, ha="left", fontsize=9, fontweight="normal", color="#555555")
        handles, _ = ax.get_legend_handles_labels()
        _legend(fig, handles, ncols=3)
        add_footer(fig, dates, RATINGS_FOOTER)
    return fig


# --- 2. breakdown ---------------------------------------------------------------------------


# More bars than this make a chart nobody reads (and one that takes seconds to lay out).
MAX_BARS = 20


def _rating_mark(row: pd.Series) -> str:
    """The stars of a business unit's or plant's own rating; empty when it has no target."""
    target = pd.to_numeric(pd.Series([row.get("target_pct")]), errors="coerce").iloc[0]
    return stars(row.get("rating")) if pd.notna(target) else ""


def _draw_ranked_bars(
    ax: Axes, rows: pd.DataFrame, info: KpiInfo, group_denominator: float, plant_names: dict | None
) -> set[str]:
    """Ranked bars, each in the colour of its own rating; the labels in a column right of the axes,
    where no line of the plot can cross them. Returns the ratings shown (for the legend)."""
    rows = rows.assign(metric=plotted_metric(rows, info)).copy()
    with_value = rows.dropna(subset=["metric"]).sort_values(["metric", "scope_id"], ascending=[False, True])
    without = rows[rows["metric"].isna()].sort_values("scope_id")
    order = list(with_value["scope_id"]) + list(without["scope_id"])
    positions = {scope: i for i, scope in enumerate(order)}
    shown_ratings: set[str] = set()
    label_style: dict[str, Any] = {
        "xycoords": ("axes fraction", "data"),
        "xytext": (6, 0),
        "textcoords": "offset points",
        "ha": "left",
        "va": "center",
        "fontsize": 8,
        "annotation_clip": False,
    }

    for _, row in with_value.iterrows():
        incomplete = bool(_is_incomplete(row.to_frame().T).iloc[0])
        mark = _rating_mark(row)
        shown_ratings.add(mark)
        colour = RATING_COLOURS.get(mark, NO_TARGET_COLOUR)
        bar = ax.barh(
            positions[row["scope_id"]],
            row["metric"],
            height=0.62,
            color=colour,
            alpha=0.55 if incomplete else 1.0,
            hatch="///" if incomplete else None,
            edgecolor=colour if incomplete else "none",
            linewidth=0.8,
        )[0]
        bar.set_gid(str(row["scope_id"]))
        text = f"{format_label(row['metric'])} %"
        denominator = pd.to_numeric(pd.Series([row.get("denominator")]), errors="coerce").iloc[0]
        if group_denominator and pd.notna(denominator):
            text += f"  ·  {format_label(100 * denominator / group_denominator)} % of group {info.denominator_measure}"
        ax.annotate(text, xy=(1.0, positions[row["scope_id"]]), color="#333333", gid="bar_label", **label_style)
    for _, row in without.iterrows():
        has_value = pd.notna(pd.to_numeric(pd.Series([row.get("value")]), errors="coerce").iloc[0])
        # A plant acquired after the base year has a value but nothing to compare it with.
        reason = "no base year" if has_value and not info.is_rate else "no data"
        ax.annotate(
            reason,
            xy=(1.0, positions[row["scope_id"]]),
            fontstyle="italic",
            color=NO_VALUE_COLOUR,
            gid="no_base_year" if reason == "no base year" else "no_data",
            **label_style,
        )

    ax.set_yticks(range(len(order)), [display_name(s, plant_names) for s in order])
    ax.set_ylim(len(order) - 0.5, -0.5)  # rank 1 at the top
    ax.grid(axis="x", visible=True)
    ax.grid(axis="y", visible=False)
    ax.axvline(0, color="#999999", linewidth=0.8)
    return shown_ratings


def breakdown_figure(
    kpi_results: pd.DataFrame,
    kpi: str,
    fiscal_year: int,
    dates: ReportDates,
    registry: pd.DataFrame | Path | None = None,
    plant_names: dict | None = None,
) -> Figure:
    """One KPI in one fiscal year by business unit and by plant, ranked, against group and target.

    ``plant_names`` (plant_id to name, from the plants file) names the plants beside their ids.
    """
    registry = read_registry(registry)
    info = kpi_info(kpi, registry, kpi_results)
    year_rows = kpi_results[
        (kpi_results["kpi"] == kpi) & (pd.to_numeric(kpi_results["fiscal_year"], errors="coerce") == fiscal_year)
    ]
    group = year_rows[year_rows["scope_level"] == GROUP]
    group_metric = plotted_metric(group, info).dropna()
    group_value = float(group_metric.iloc[0]) if not group_metric.empty else None
    target = pd.to_numeric(group["target_pct"], errors="coerce").dropna()
    target_value = float(target.iloc[0]) if not target.empty else None
    group_denominator = pd.to_numeric(group["denominator"], errors="coerce").dropna()
    group_denominator = float(group_denominator.iloc[0]) if not group_denominator.empty else 0.0

    panels = []
    for level, title in (("business_unit", "By business unit"), ("plant", "By plant")):
        rows = year_rows[year_rows["scope_level"] == level]
        if len(rows) > MAX_BARS:
            # A group of thousands of plants: the ones with the largest denominators drive the group
            # figure; every plant stays in kpi_results.csv and the XLSX of the report pack.
            title = f"{title}: the {MAX_BARS} largest by {info.denominator_measure} (of {len(rows)})"
            rows = rows.assign(_size=pd.to_numeric(rows["denominator"], errors="coerce").fillna(-1))
            rows = rows.sort_values(["_size", "scope_id"], ascending=[False, True]).head(MAX_BARS).drop(columns="_size")
        if not rows.empty:
            panels.append((level, title, rows))
    counts = [len(p[2]) for p in panels] or [1]

    # The scale fits the data (bars, group figure, target) and zero, the start of every bar.
    extent = [0.0] + [v for v in (group_value, target_value) if v is not None]
    for _, _, rows in panels:
        extent += list(plotted_metric(rows, info).dropna())
    lo, hi = min(extent), max(extent)
    pad = 0.06 * ((hi - lo) or 1.0)

    with house_style():
        # About 0.28 in a bar: the demo's 14 bars fit an A4 landscape page of the pack at 86 %.
        fig = _figure(10.0, 2.1 + 0.28 * sum(counts) + 0.7 * len(counts))
        axes = fig.subplots(
            len(counts), 1, sharex=True, squeeze=False, gridspec_kw={"height_ratios": [c + 1.2 for c in counts]}
        )[:, 0]
        any_incomplete = False
        ratings: set[str] = set()
        for ax, (level, title, rows) in zip(axes, panels):
            ratings |= _draw_ranked_bars(ax, rows, info, group_denominator, plant_names)
            ax.set_title(title, fontsize=10)
            ax.set_ylabel("Business unit" if level == "business_unit" else "Plant (plant_id)")
            ax.set_xlabel(info.axis_label)
            ax.xaxis.set_tick_params(labelbottom=True)  # sharex hides them on the upper panel
            any_incomplete |= bool(_is_incomplete(rows).any())
            if group_value is not None:
                ax.axvline(group_value, color=ACTUAL_COLOUR, linestyle="--", linewidth=1.4, gid="group_line")
            if target_value is not None:
                ax.axvline(target_value, color=TARGET_COLOUR, linestyle=":", linewidth=1.6, gid="target_line")
        if not panels:
            axes[0].text(
                0.5,
                0.5,
                f"No business unit or plant results for FY{fiscal_year}",
                transform=axes[0].transAxes,
                ha="center",
                va="center",
            )
        axes[-1].set_xlim(lo - pad if lo < 0 else 0, hi + pad)

        fig.suptitle(f"{info.label}: FY{fiscal_year} by business unit and plant", x=0.01, ha="left")
        handles: list[Artist] = []
        if group_value is not None:
            handles.append(
                Line2D(
                    [],
                    [],
                    color=ACTUAL_COLOUR,
                    linestyle="--",
                    label=f"Group FY{fiscal_year}: {format_label(group_value)} %",
                )
            )
        if target_value is not None:
            handles.append(
                Line2D(
                    [],
                    [],
                    color=TARGET_COLOUR,
                    linestyle=":",
                    label=f"Target FY{fiscal_year}: {format_target_label(target_value)} %",
                )
            )
        for mark in (*RATING_SYMBOLS.values(), ""):
            if mark in ratings:
                handles.append(Patch(facecolor=RATING_COLOURS.get(mark, NO_TARGET_COLOUR), label=RATING_NAMES[mark]))
        if any_incomplete:
            handles.append(Patch(facecolor="white", edgecolor="#555555", hatch="///", label=INCOMPLETE_NOTE))
        _legend(fig, handles, ncols=min(len(handles), 4))
        add_footer(fig, dates, "Bars: own rating  ·  labels: figure, share of the group denominator")
    return fig


# --- 3. overview ----------------------------------------------------------------------------


def draw_table(
    ax: Axes,
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    col_widths: Sequence[float],
    wrap: Sequence[int],
    fontsize: float = 8.5,
    estimated_height_pts: float | None = None,
    centred: Sequence[int] = (),
):
    """A table filling ``ax`` from the top, cells wrapped to ``wrap`` characters (0: never),
    rows as tall as their text; the columns numbered in ``centred`` are centred."""
    ax.axis("off")
    if estimated_height_pts is None:
        figure = ax.get_figure(root=True)
        if figure is None:
            raise ValueError("a table is drawn on the axes of a figure")
        estimated_height_pts = ax.get_position().height * figure.get_figheight() * 72
    # More rows than the space holds at ``fontsize``: a smaller font, with the cells wrapped wider
    # to match (the columns hold more characters), until every row is as tall as its text.
    scale = 1.0
    for _ in range(16):
        wrapped = [
            [
                textwrap.fill(str(cell), max(1, int(width / scale))) if width else str(cell)
                for cell, width in zip(row, wrap)
            ]
            for row in [list(header), *rows]
        ]
        lines = [max(cell.count("\n") + 1 for cell in row) for row in wrapped]
        unit = fontsize * scale * 1.3 / estimated_height_pts
        padding = unit * 0.9
        total = sum(n * unit + padding for n in lines)
        if total <= 1:
            break
        scale *= 0.94
    if total > 1:  # still too tall at the smallest font: the rows share the space
        unit, padding = unit / total, padding / total
    fontsize *= scale
    table = ax.table(
        cellText=wrapped[1:],
        colLabels=wrapped[0],
        colWidths=list(col_widths),
        loc="upper center",
        cellLoc="left",
        colLoc="left",
    )
    table.auto_set_font_size(False)
    table.set_fontsize(fontsize)
    for (r, c), cell in table.get_celld().items():
        cell.set_height(lines[r] * unit + padding)
        cell.set_edgecolor("#BBBBBB")
        cell.set_linewidth(0.6)
        cell.PAD = 0.04
        if c in centred:
            cell.get_text().set_horizontalalignment("center")
        if r == 0:
            cell.set_facecolor("#E8EEF4")
            cell.get_text().set_fontweight("bold")
    return table


def overview_figure(
    kpi_results: pd.DataFrame,
    fiscal_year: int,
    dates: ReportDates,
    registry: pd.DataFrame | Path | None = None,
) -> Figure:
    """All KPIs of the group on one page: a trend panel each with its FY rating, and a summary table."""
    registry = read_registry(registry)
    kpis = kpis_in_order(kpi_results, registry)
    # Three columns from five KPIs on: the page stays landscape, as the A4 pages of the pack are.
    ncols = 3 if len(kpis) + 1 > 4 else 2
    nrows = max(1, math.ceil((len(kpis) + 1) / ncols))
    with house_style():
        fig = _figure(11.7 if ncols == 2 else 14.0, 1.1 + 3.0 * nrows)
        axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
        summary = []
        for ax, kpi in zip(axes, kpis):
            info = kpi_info(kpi, registry, kpi_results)
            rows = group_rows(kpi_results, kpi)
            _draw_trend(ax, rows, info, fiscal_year, compact=True)
            title_size = 10 if ncols == 2 else 9.5
            # A long label goes on two lines, clear of the rating at the right of the title.
            ax.set_title(textwrap.fill(info.label, 40), fontsize=title_size, loc="left")
            this_year = rows[rows["fiscal_year"] == fiscal_year]
            next_year = rows[rows["fiscal_year"] == fiscal_year + 1]
            mark = stars(this_year["rating"].iloc[0]) if not this_year.empty else ""
            if mark:
                ax.set_title(f"FY{fiscal_year} {mark}", loc="right", fontsize=title_size, color=RATING_COLOURS[mark])
            metric = plotted_metric(this_year, info).dropna()
            result = f"{format_label(metric.iloc[0])} %" if not metric.empty else "no result"
            if not this_year.empty and bool(_is_incomplete(this_year).iloc[0]):
                result += " (incomplete)"
            target = pd.to_numeric(this_year["target_pct"], errors="coerce").dropna()
            plan = pd.to_numeric(next_year["target_pct"], errors="coerce").dropna()
            summary.append(
                [
                    info.label,
                    result,
                    f"{format_target_label(target.iloc[0])} %" if not target.empty else "–",
                    mark or "–",
                    f"{format_target_label(plan.iloc[0])} %" if not plan.empty else "–",
                ]
            )
        table_ax = axes[len(kpis)]
        header = ["KPI (group)", f"FY{fiscal_year} result", "Target", "Rating", f"FY{fiscal_year + 1} target"]
        draw_table(
            table_ax,
            header,
            summary,
            col_widths=[0.36, 0.2, 0.13, 0.11, 0.2],
            wrap=[24 if ncols == 2 else 20, 12, 0, 0, 0 if ncols == 2 else 8],
            fontsize=8.5 if ncols == 2 else 8,
            estimated_height_pts=2.6 * 72,
            centred=[3],
        )
        table_ax.set_title("Results: reduction vs base year, or rate", fontsize=10)
        for ax in axes[len(kpis) + 1 :]:
            ax.axis("off")

        fig.suptitle(f"Environmental KPIs of the group: FY{fiscal_year}", x=0.01, ha="left")
        _legend(fig, _trend_legend_handles(), ncols=5, fontsize=8.5)
        add_footer(fig, dates, RATINGS_FOOTER)
    return fig


def _trend_legend_handles() -> list:
    return [
        Line2D([], [], color=ACTUAL_COLOUR, marker="o", label="Actual"),
        Line2D(
            [],
            [],
            linestyle="none",
            marker="o",
            markerfacecolor="white",
            markeredgecolor=ACTUAL_COLOUR,
            markeredgewidth=1.8,
            label=INCOMPLETE_NOTE,
        ),
        Line2D([], [], linestyle="none", marker="D", color=TARGET_COLOUR, label="Target"),
        Line2D([], [], linestyle="--", linewidth=1.2, color=TRAJECTORY_COLOUR, label="Trajectory to latest target"),
        Patch(facecolor="#EEEEEE", label="Report year"),
    ]


# --- writing --------------------------------------------------------------------------------


def write_charts(
    kpi_results: pd.DataFrame,
    out_dir: Path,
    fiscal_year: int,
    dates: ReportDates,
    registry: pd.DataFrame | Path | None = None,
    plant_names: dict | None = None,
) -> list[Path]:
    """Write every chart for the report of ``fiscal_year``; returns the files written.

    ``trend_<kpi>_FY<fy>``, ``breakdown_<kpi>_FY<fy>`` for each KPI in kpi_results (registry order)
    and ``overview_FY<fy>``, each as .png, .svg and .pdf. Trends end at the report year (plus the
    next year's target), so that a rerun for an earlier year reproduces that year's pack; the year
    in every name keeps the charts of two report years apart. Drawn in this process from the
    annual report's job list (``envkpi.reporting.annual_report``), as the nightly run draws them.
    """
    from envkpi.reporting import annual_report  # it draws with this module

    written = annual_report.write_files(
        kpi_results, fiscal_year, dates, registry, charts_folder=Path(out_dir), plant_names=plant_names
    )
    return list(written.values())


def trend_stem(kpi: str, fiscal_year: int) -> str:
    return f"trend_{_safe_stem(kpi)}_FY{fiscal_year}"


def breakdown_stem(kpi: str, fiscal_year: int) -> str:
    return f"breakdown_{_safe_stem(kpi)}_FY{fiscal_year}"


def overview_stem(fiscal_year: int) -> str:
    return f"overview_FY{fiscal_year}"
