"""From one reported figure to the delivered rows behind it: ``envkpi trace`` and ``published.trace``.

An auditor names a figure (KPI, fiscal year, scope) and gets every in-boundary plant-month,
measure, delivered row and file behind it (path, sha256, spreadsheet row, delivery time, run,
current or superseded), and the sums of the counted rows beside the figure's numerator and
denominator in ``kpi_results``: they reconcile exactly (``reconciles`` = ``yes``).
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd

from envkpi.reporting.export import write_csv, write_xlsx
from envkpi.settings import Settings
from envkpi.warehouse.database import connect, one_row, sql


class TraceError(ValueError):
    """The figure asked for does not exist (unknown KPI, year or scope)."""


def safe_stem(text: str) -> str:
    """A file-name part from a KPI or scope id: never a path."""
    stem = re.sub(r"[^0-9A-Za-z_-]+", "_", str(text)).strip("_.")
    return stem or "scope"


def source_of(settings: Settings, prefer_warehouse: bool = False) -> Path:
    """The snapshot (never waits for a night), or the warehouse when asked or before any snapshot."""

    snapshot = settings.snapshot_file
    return settings.warehouse if prefer_warehouse or not snapshot.exists() else snapshot


def trace_from(
    source: Path, kpi: str, fiscal_year: int, scope_id: str = "group", fiscal_year_start_month: int | None = None
) -> pd.DataFrame:
    """The trace of one figure from the warehouse (or snapshot) file ``source``."""
    if not Path(source).exists():
        raise TraceError(f"no warehouse at {source}: run `envkpi run` first")
    connection = connect(Path(source), read_only=True)
    try:
        return trace(connection, kpi, fiscal_year, scope_id, fiscal_year_start_month)
    finally:
        connection.close()


def _scope_level(connection: duckdb.DuckDBPyConnection, kpi: str, fiscal_year: int, scope_id: str) -> str:
    levels = [
        level
        for (level,) in connection.execute(
            "select distinct scope_level from kpi_results where kpi = ? and fiscal_year = ? and scope_id = ?",
            [kpi, fiscal_year, scope_id],
        ).fetchall()
    ]
    if not levels:
        raise TraceError(f"kpi_results has no {kpi} figure for FY{fiscal_year} and scope {scope_id!r}")
    if len(levels) > 1:
        raise TraceError(f"scope {scope_id!r} is both a business unit and a plant: rename one of them")
    return levels[0]


def trace(
    connection: duckdb.DuckDBPyConnection,
    kpi: str,
    fiscal_year: int,
    scope_id: str = "group",
    fiscal_year_start_month: int | None = None,
) -> pd.DataFrame:
    """Rows (``record`` = ``row``: counted, ``superseded``: replaced, not counted) then one
    ``total`` line per numerator and denominator with ``kpi_results_figure`` and ``reconciles``."""
    if fiscal_year_start_month is None:
        (fiscal_year_start_month,) = one_row(
            connection, "select coalesce(max(fiscal_year_start_month), 4) from normalised_build"
        )
    fiscal_year = int(fiscal_year)
    level = _scope_level(connection, kpi, fiscal_year, scope_id)
    rows = connection.execute(
        sql("trace_rows"),
        {
            "kpi": kpi,
            "fiscal_year": fiscal_year,
            "scope_level": level,
            "scope_id": scope_id,
            "fiscal_year_start_month": int(fiscal_year_start_month),
        },
    ).df()
    # _scope_level found the figure's row, and its KPI is one of the registry's.
    numerator, numerator_unit, denominator, denominator_unit, value = one_row(
        connection,
        """
        select cast(numerator as varchar), numerator_unit, cast(denominator as varchar), denominator_unit, value
        from kpi_results where kpi = ? and fiscal_year = ? and scope_level = ? and scope_id = ?
        """,
        [kpi, fiscal_year, level, scope_id],
    )
    roles = one_row(connection, "select numerator_measure, denominator_measure from reference_kpi where kpi = ?", [kpi])
    totals = []
    for role, measure, unit, reported in (
        ("numerator", roles[0], numerator_unit, numerator),
        ("denominator", roles[1], denominator_unit, denominator),
    ):
        if measure is None:
            continue
        counted = rows[(rows.record == "row") & (rows.role == role)]
        total = sum((Decimal(text) for text in counted.amount_exact), Decimal(0))
        reported_exact = Decimal(reported) if reported is not None else None
        totals.append(
            {
                "record": "total",
                "role": role,
                "measure": measure,
                "measure_unit": unit,
                "amount": float(total),
                "amount_exact": str(total),
                "kpi_results_figure": None if reported_exact is None else float(reported_exact),
                "kpi_results_figure_exact": reported,
                "reconciles": "yes" if reported_exact is not None and total == reported_exact else "no",
                "rows_counted": len(counted),
            }
        )
    frame = pd.concat([rows, pd.DataFrame(totals)], ignore_index=True)
    frame.insert(0, "scope_id", scope_id)
    frame.insert(0, "scope_level", level)
    frame.insert(2, "kpi", kpi)
    frame.insert(3, "fiscal_year", fiscal_year)
    frame.insert(4, "value", value)
    frame["source_row"] = frame["source_row"].astype("Int64")
    frame["rows_counted"] = frame["rows_counted"].astype("Int64") if "rows_counted" in frame else pd.NA
    return frame


def reconciliation_lines(frame: pd.DataFrame) -> list[str]:
    """One line per numerator and denominator: the sum of the rows against the figure."""
    lines = []
    for total in frame[frame.record == "total"].itertuples():
        lines.append(
            f"{total.role} {total.measure} ({total.measure_unit}): {total.rows_counted} rows sum to "
            f"{total.amount_exact}; kpi_results {total.kpi_results_figure_exact}; reconciles: {total.reconciles}"
        )
    return lines


def write_trace(frame: pd.DataFrame, path: Path) -> Path:
    """CSV, or XLSX (the rows, and the totals on a sheet of their own) by the file's suffix; formula-safe."""
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        return write_xlsx(
            {
                "trace": frame[frame.record != "total"],
                "reconciliation": frame[frame.record == "total"].dropna(axis=1, how="all"),
            },
            path,
        )
    return write_csv(frame, path)
