"""What the notebooks show people: the year to open on, tables formatted for reading, colours.

Environmental staff read these tables without help, so: no pandas index, no ``NaN`` (an empty
cell), human column names, thousands separators and a fixed number of decimals per column.
"""

from __future__ import annotations

import pandas as pd

# Completeness classes (%): 100 has a class of its own, so that 92 % never looks like 100 %.
COMPLETENESS_BOUNDS = (0, 50, 75, 90, 95, 99.95, 100.01)
COMPLETENESS_COLOURS = ("#7f0000", "#d7301f", "#fc8d59", "#fdd49e", "#fff7bc", "#1a9850")
COMPLETENESS_LABELS = ("below 50", "50-75", "75-90", "90-95", "95-<100", "100")


def latest_complete_year(results: pd.DataFrame) -> tuple[int | None, bool]:
    """The latest fiscal year whose group figures are all complete, and True; else the latest, False.

    ``results`` is ``published.kpi_results()``: a year counts as complete when every group KPI
    with a value has completeness 100 (the year the report and the nightly charts are drawn for).
    """
    group = results[(results["scope_level"] == "group") & results["value"].notna()]
    if group.empty:
        return None, False
    lowest = group.groupby("fiscal_year")["completeness_pct"].min()
    complete = lowest[lowest >= 100]
    if len(complete):
        return int(complete.index.max()), True
    return int(lowest.index.max()), False


def people_table(
    frame: pd.DataFrame,
    columns: dict[str, str] | None = None,
    decimals: dict[str, int] | None = None,
    default_decimals: int = 1,
):
    """``frame`` as a styled table: the ``columns`` chosen and renamed (old -> shown), no index,
    empty cells for missing values, thousands separators, ``decimals`` per shown column."""
    shown = frame if columns is None else frame[list(columns)].rename(columns=columns)
    shown = shown.reset_index(drop=True)
    decimals = decimals or {}
    formats = {}
    for name in shown.columns:
        if pd.api.types.is_bool_dtype(shown[name]):
            continue
        if pd.api.types.is_integer_dtype(shown[name]) and name not in decimals:
            formats[name] = _integer if not _is_year(name) else _plain
        elif pd.api.types.is_numeric_dtype(shown[name]):
            places = decimals.get(name, default_decimals)
            formats[name] = _plain if _is_year(name) else _number(places)
    return (
        shown.style.hide(axis="index")
        .format(formats, na_rep="")
        .format(
            lambda value: "" if value is None or (not isinstance(value, str) and pd.isna(value)) else value,
            subset=[name for name in shown.columns if name not in formats],
        )
    )


def _is_year(name: str) -> bool:
    return "year" in str(name).lower()


def _integer(value) -> str:
    return "" if pd.isna(value) else f"{int(value):,}"


def _plain(value) -> str:
    return "" if pd.isna(value) else str(int(value))


def _number(places: int):
    def shown(value) -> str:
        return "" if pd.isna(value) else f"{float(value):,.{places}f}"

    return shown


def completeness_colours():
    """A colour map and norm for completeness in %: six classes, 100 % alone in green."""
    from matplotlib.colors import BoundaryNorm, ListedColormap

    # grey: the plant was out of scope that year
    colours = ListedColormap(COMPLETENESS_COLOURS, name="completeness").with_extremes(bad="#eeeeee")
    return colours, BoundaryNorm(COMPLETENESS_BOUNDS, colours.N)
