"""One pipeline run: ingest, rebuild the KPIs, write the reports, publish a snapshot.

The steps are separate functions so that the Prefect flows can call them as tasks; ``run`` is
the same sequence for the CLI and tests. A run holds an exclusive lock on the warehouse, so two
overlapping runs are serialised, never interleaved, and the warehouse changes in one
transaction: a run that dies leaves the previous state.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import duckdb
import pandas as pd

from envkpi.export import replace_atomically, write_csv
from envkpi.ingest import Ingest, IngestSummary, discover
from envkpi.settings import Settings
from envkpi.warehouse import connect, kpi_results_frame, load_reference, rebuild_conversion, rebuild_derived

PUBLISHED_NAME = "warehouse.duckdb"


@dataclass
class RunResult:
    """What a run did, for the CLI's summary, the flow's artifacts and tests."""

    run_id: str
    ingest: IngestSummary
    kpi_results: pd.DataFrame
    reports: dict[str, Path]
    published: Path | None

    @property
    def flagged(self) -> bool:
        """A run that rejected or ignored files completed, but someone should look."""
        return bool(self.ingest.rejected or self.ingest.ignored)


def new_run_id(now: pd.Timestamp) -> str:
    return f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


@contextmanager
def run_lock(warehouse: Path) -> Iterator[None]:
    """Serialise runs on one warehouse: a second run waits for the first to finish."""
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    with open(warehouse.with_name(warehouse.name + ".lock"), "a+") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def make_validator(settings: Settings, data_docs: bool = True):
    """A factory, so that Great Expectations is imported only when there is something to check."""

    def build():
        from envkpi.validation import Validator

        return Validator(settings.expectations, settings.reports / "data_docs" if data_docs else None)

    return build


def ingest_and_compute(connection: duckdb.DuckDBPyConnection, settings: Settings, run_id: str,
                       now: pd.Timestamp, validator_factory=None) -> IngestSummary:
    """Ingest the landing folder and rebuild every derived table, in the caller's transaction."""
    load_reference(connection, settings)
    rebuild_conversion(connection)
    files, ignored = discover(settings.landing)
    ingest = Ingest(connection, run_id, now, settings.fiscal_year_start_month,
                    validator_factory or make_validator(settings))
    summary = ingest.run(files, ignored)
    rebuild_derived(connection, settings)
    connection.execute(
        "insert into ingest_run values (?, ?, ?, ?, 'completed', ?, ?, ?, ?, ?)",
        [run_id, now.to_pydatetime(), pd.Timestamp.now().to_pydatetime(), str(settings.landing),
         summary.files_seen, len(summary.loaded), len(summary.rejected), len(summary.unchanged),
         len(summary.ignored)],
    )
    return summary


def write_reports(connection: duckdb.DuckDBPyConnection, settings: Settings, summary: IngestSummary) -> dict[str, Path]:
    """The contract's outputs (kpi_results.csv, rejections.csv) and the run's own reports."""
    reports = settings.reports
    written = {
        "kpi_results": write_csv(kpi_results_frame(connection), reports / "kpi_results.csv"),
        "rejections": write_csv(summary.rejections(), reports / "rejections.csv"),
        "boundary_warnings": write_csv(
            connection.execute("select * from boundary_excluded_rows order by file, \"row\"").df(),
            reports / "boundary_warnings.csv",
        ),
    }
    run_summary = {
        "run_id": summary.run_id,
        "files_seen": summary.files_seen,
        "loaded": summary.loaded,
        "rejected": summary.rejected,
        "unchanged": len(summary.unchanged),
        "ignored": summary.ignored,
    }
    path = reports / "run_summary.json"
    replace_atomically(path, lambda tmp: tmp.write_text(json.dumps(run_summary, indent=2, ensure_ascii=False)))
    written["run_summary"] = path
    return written


def default_report_year(kpi_results: pd.DataFrame) -> int | None:
    """The fiscal year a nightly run charts: the latest whose group figures are complete, else the latest."""
    group = kpi_results[kpi_results.scope_level == "group"].dropna(subset=["value"])
    if group.empty:
        return None
    complete = group.groupby("fiscal_year").completeness_pct.min()
    years = complete[complete >= 100].index
    return int(years.max() if len(years) else group.fiscal_year.max())


def data_cut_off(connection: duckdb.DuckDBPyConnection) -> str:
    """The last month with delivered data, as the charts' footers state it."""
    (last,) = connection.execute("select strftime(max(period_month), '%Y-%m') from normalised_measure").fetchone()
    return last or "no data"


def write_annual_report(kpi_results: pd.DataFrame, settings: Settings, fiscal_year: int, cut_off: str) -> dict[str, Path]:
    """Charts (PNG, SVG, PDF) and the report pack (PDF, Markdown, HTML, XLSX, CSV) for one fiscal year."""
    from envkpi import charts, report_pack  # matplotlib is only needed here

    registry = charts.read_registry(settings.reference / "kpis.csv")
    written = {f"chart:{p.name}": p for p in charts.write_charts(
        kpi_results, settings.reports / "charts", fiscal_year, cut_off, registry)}
    pack = report_pack.write_report_pack(kpi_results, settings.reports / "pack", fiscal_year, cut_off, registry)
    written.update({f"pack:{fmt}": path for fmt, path in pack.items()})
    return written


def publish(settings: Settings) -> Path:
    """Copy the closed warehouse to the published folder and swap it in atomically.

    Notebooks open the published copy read-only; a notebook holding the previous copy keeps
    reading it (the old file lives on until it is closed), and never blocks the nightly writer.
    """
    target = settings.published / PUBLISHED_NAME
    replace_atomically(target, lambda tmp: shutil.copyfile(settings.warehouse, tmp))
    return target


def run(settings: Settings, publish_snapshot: bool = True, annual_report: bool = True) -> RunResult:
    """Ingest, compute, report and publish, as one serialised, all-or-nothing run.

    With ``annual_report`` the charts and the report pack of the latest complete fiscal year
    are written too (``envkpi report --fy`` writes them for any year).
    """
    now = pd.Timestamp.now()
    run_id = new_run_id(now)
    with run_lock(settings.warehouse):
        connection = connect(settings.warehouse)
        try:
            connection.execute("begin transaction")
            try:
                summary = ingest_and_compute(connection, settings, run_id, now)
                connection.execute("commit")
            except BaseException:
                connection.execute("rollback")
                raise
            reports = write_reports(connection, settings, summary)
            kpi_results = kpi_results_frame(connection)
            report_year = default_report_year(kpi_results)
            if annual_report and report_year is not None:
                reports.update(write_annual_report(kpi_results, settings, report_year, data_cut_off(connection)))
            connection.execute("checkpoint")
        finally:
            connection.close()
        published = publish(settings) if publish_snapshot else None
    return RunResult(run_id, summary, kpi_results, reports, published)
