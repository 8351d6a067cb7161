"""One pipeline run: ingest, rebuild the KPIs, write the reports, publish a snapshot.

The steps are separate functions so that the Prefect flows can call them as tasks; ``run`` is
the same sequence for the CLI and tests. A run holds an exclusive lock on the warehouse, so two
overlapping runs are serialised, never interleaved, and the warehouse changes in one
transaction: a run that dies leaves the previous state.

A night with nothing new since the outputs of the last run were made (``envkpi.outputs``) only
records that it ran. This module therefore imports pandas, the ingest, the warehouse's layers and
the reports inside the steps that use them: such a night imports DuckDB and nothing heavier.
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import hashlib
import json
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from envkpi.contract import monthly_kinds
from envkpi.ingest.landing import IngestSummary, discover
from envkpi.outputs import (
    REPEATED_ROW_WARNING,
    forget_outputs,
    nothing_new_since_outputs,
    record_outputs,
    record_quiet_night,
    write_run_summary,
)
from envkpi.runtime import timing
from envkpi.runtime.faults import fault_point
from envkpi.runtime.files import remove_stale_temporaries, replace_atomically
from envkpi.settings import SNAPSHOT_NAME, Settings

if TYPE_CHECKING:
    import pandas as pd

    from envkpi.warehouse.publication import Publication

PUBLISHED_NAME = SNAPSHOT_NAME  # deprecated name: a publication is now a fiscal year's (envkpi.warehouse.publication)
__all__ = ["REPEATED_ROW_WARNING", "SNAPSHOT_NAME", "RunResult", "run"]  # and the steps below


class StorageError(RuntimeError):
    """The run could not write where it must (a full disk, a read-only or unwritable folder).

    The message says what happened and what to do; the run changed nothing that a reader sees.
    """


_DISK_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_NOT_WRITABLE_ERRNOS = {errno.EROFS, errno.EACCES, errno.EPERM}
_DISK_FULL_WORDS = ("no space left", "disk quota", "file too large")
_NOT_WRITABLE_WORDS = ("read-only file system", "permission denied", "cannot open file")


def storage_problem(error: BaseException) -> str | None:
    """ "disk full" or "not writable" when ``error`` is the file system refusing a write, else None."""
    if isinstance(error, OSError) and error.errno is not None:
        return (
            "disk full"
            if error.errno in _DISK_FULL_ERRNOS
            else "not writable"
            if error.errno in _NOT_WRITABLE_ERRNOS
            else None
        )
    if isinstance(error, duckdb.Error):  # DuckDB reports the OS error in its message only
        text = str(error).lower()
        if any(word in text for word in _DISK_FULL_WORDS):
            return "disk full"
        if "conflicting lock" in text:
            return None  # another process has the warehouse open: not a storage problem
        if isinstance(error, (duckdb.IOException, duckdb.PermissionException)) or any(
            word in text for word in _NOT_WRITABLE_WORDS
        ):
            return "not writable"
    return None


@contextmanager
def explain_storage_errors(settings: Settings) -> Iterator[None]:
    """Turn a full disk or an unwritable folder into a ``StorageError`` that says what to do."""
    try:
        yield
    except Exception as error:
        problem = storage_problem(error)
        if problem is None:
            raise
        folders = (
            f"the warehouse folder {settings.warehouse.parent}, the reports folder {settings.reports} and the "
            f"snapshot folder {settings.snapshot}"
        )
        if problem == "disk full":
            headline, action = "the disk is full", f"free disk space for {folders}"
        else:
            headline = "a file or folder the run writes to is not writable"
            action = f"make {folders} (and the files in them) writable for this user"
        raise StorageError(
            f"{headline} ({error}).\nWhat to do: {action}, then run again.\nNothing was lost: the landing folder is "
            f"untouched, the warehouse keeps every committed run, and readers of the snapshot in "
            f"{settings.snapshot} still see the last complete one."
        ) from error


class PathProblem(ValueError):
    """A path the run reads or writes is wrong (a missing landing folder, a file where a folder
    belongs); the message is one line that says what to do. Raised before anything is created."""


def check_paths(settings: Settings, landing_flag: str = "--landing") -> None:
    """Refuse a run whose folders cannot be right, before it creates a warehouse or a report."""
    landing = settings.landing
    if not landing.exists():
        raise PathProblem(
            f"the landing folder {landing} does not exist: give the folder that holds the delivered "
            f"files with {landing_flag} DIR (the demo group: {landing_flag} data/demo/landing)"
        )
    if not landing.is_dir():
        raise PathProblem(
            f"the landing folder {landing} is a file, not a folder: give the folder that holds it "
            f"with {landing_flag} {landing.parent}"
        )
    for name, path in (("warehouse", settings.warehouse),):
        if path.is_dir():
            raise PathProblem(
                f"the {name} {path} is a folder: give a file name, e.g. --{name} {path / 'warehouse.duckdb'}"
            )
    for name, path in (("reports", settings.reports), ("snapshot", settings.snapshot)):
        if path.exists() and not path.is_dir():
            raise PathProblem(f"the {name} folder {path} is a file: give a folder with --{name} DIR")
    for path in (settings.warehouse.parent, settings.reports, settings.snapshot):
        existing = next((p for p in (path, *path.parents) if p.exists()), None)
        if existing is not None and not existing.is_dir():
            raise PathProblem(f"{existing} is a file, so {path} cannot be made: choose another folder")


class RunResult:
    """What a run did, for the CLI's summary, the flow's artifacts and tests.

    ``kpi_results`` is the KPI table; a night with nothing new reads it from the warehouse only
    when a caller asks for it (give a function that returns it), so that such a night needs no pandas.
    """

    def __init__(
        self,
        run_id: str,
        ingest: IngestSummary,
        kpi_results: pd.DataFrame | Callable[[], pd.DataFrame],
        reports: dict[str, Path],
        published: Path | None,
        report_year: int | None = None,
    ):
        self.run_id = run_id
        self.ingest = ingest
        self._kpi_results = kpi_results
        self.reports = reports
        self.published = published
        # The fiscal year whose charts and pack the run drew (or kept), None when there was no data.
        self.report_year = report_year

    @property
    def kpi_results(self) -> pd.DataFrame:
        if callable(self._kpi_results):
            self._kpi_results = self._kpi_results()
        return self._kpi_results

    @property
    def flagged(self) -> bool:
        """A run that rejected or ignored files completed, but someone should look."""
        return bool(self.ingest.rejected or self.ingest.ignored)


def new_run_id(now: dt.datetime) -> str:
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


def make_validator(settings: Settings, data_docs: bool | None = None):
    """A factory, so that Great Expectations is imported only when there is something to check.

    It is given how many bytes of new files the run checks (see ``Settings.validation_process_mb``).
    """

    def build(new_bytes: int):
        from envkpi.validation.validator import Validator

        # Absolute: Great Expectations refuses a relative Data Docs folder (`envkpi run --reports r`).
        wanted = settings.data_docs if data_docs is None else data_docs
        limit = settings.validation_process_mb
        return Validator(
            settings.expectations,
            (settings.reports / "data_docs").resolve() if wanted else None,
            in_worker_process=limit >= 0 and new_bytes > limit * 2**20,
        )

    return build


def ingest_and_compute(
    connection: duckdb.DuckDBPyConnection, settings: Settings, run_id: str, now: pd.Timestamp, validator_factory=None
) -> IngestSummary:
    """Ingest the landing folder and rebuild every derived table, in the caller's transaction."""
    import pandas as pd

    from envkpi.ingest.deliveries import Ingest
    from envkpi.warehouse.database import load_reference, rebuild_conversion, rebuild_derived

    load_reference(connection, settings)
    rebuild_conversion(connection)
    files, ignored = discover(settings.landing, time.time_ns(), settings.settle_seconds)
    fault_point("ingest:discovered")
    ingest = Ingest(
        connection,
        run_id,
        now,
        settings.fiscal_year_start_month,
        validator_factory or make_validator(settings),
        settings=settings,
    )
    summary = ingest.run(files, ignored)
    fault_point("ingest:done")
    # Data Docs are rendered (Python) while DuckDB rebuilds the derived tables (its own threads).
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="envkpi-data-docs") as helper:
        data_docs = helper.submit(ingest.finish_validation)
        rebuild_derived(connection, settings, since_delivery_id=summary.first_delivery_id)
        data_docs.result()
    connection.execute(
        "insert into ingest_run values (?, ?, ?, ?, 'completed', ?, ?, ?, ?, ?)",
        [
            run_id,
            now.to_pydatetime(),
            pd.Timestamp.now().to_pydatetime(),
            str(settings.landing),
            summary.files_seen,
            len(summary.loaded),
            len(summary.rejected),
            len(summary.unchanged),
            len(summary.ignored),
        ],
    )
    return summary


@timing.phase("reports (CSV, JSON)")
def write_reports(
    connection: duckdb.DuckDBPyConnection, settings: Settings, summary: IngestSummary, report_year: int | None = None
) -> dict[str, Path]:
    """The contract's outputs (kpi_results.csv, rejections.csv, the filings) and the run's own
    reports; the filings of ``report_year`` also as tables for people."""
    from envkpi.reporting.export import write_csv
    from envkpi.reporting.filings import write_filings
    from envkpi.warehouse.database import write_kpi_results_csv
    from envkpi.warehouse.publication import write_restatements

    reports = settings.reports
    written = {
        "kpi_results": write_kpi_results_csv(connection, reports / "kpi_results.csv"),
        "rejections": write_csv(summary.rejections(), reports / "rejections.csv"),
        "boundary_warnings": write_csv(
            connection.execute('select * from boundary_excluded_rows order by file, "row"').df(),
            reports / "boundary_warnings.csv",
        ),
    }
    written.update(write_filings(connection, reports, report_year))
    written["restatements_since_publication"], restated = write_restatements(connection, settings)
    fault_point("reports:restatements-written")
    from envkpi.reporting.rejection_report import write_rejection_report

    known_plants = {plant for (plant,) in connection.execute("select plant_id from accepted_plants").fetchall()}
    written.update(write_rejection_report(summary.problems, reports / "rejections", known_plants))
    written["run_summary"] = write_run_summary(
        reports / "run_summary.json",
        summary,
        len(restated),
        {f"FY{year}": int(count) for year, count in restated.groupby("fiscal_year").size().items()},
    )
    return written


def default_report_year(kpi_results: pd.DataFrame) -> int | None:
    """The fiscal year a nightly run charts: the latest whose group figures are complete, else the latest."""
    group = kpi_results[kpi_results.scope_level == "group"].dropna(subset=["value"])
    if group.empty:
        return None
    complete = group.groupby("fiscal_year").completeness_pct.min()
    years = complete[complete >= 100].index
    return int(years.max() if len(years) else group.fiscal_year.max())


@dataclass(frozen=True)
class ReportBasis:
    """What the charts and pack show beside kpi_results, read from the warehouse once per run.

    ``delivered_at``: per delivered month (``period``, YYYY-MM; empty for the plants, factors and
    targets, which every year's figures use) the latest ``delivery.ingested_at`` of the deliveries
    that currently state it. ``plant_names``: plant_id to name, from the plants file.
    """

    delivered_at: pd.DataFrame
    plant_names: dict[str, str]


@timing.phase("report basis (delivery times, plant names)")
def report_basis(connection: duckdb.DuckDBPyConnection) -> ReportBasis:
    """The delivery times and plant names of the current deliveries (read-only queries)."""
    delivered_at = connection.execute(
        """select case when slice.kind in (select unnest($monthly_kinds)) then slice_period(slice.slice_key)
                  end as period,
                  max(delivery.ingested_at) as delivered_at
           from current_slice as slice
           join delivery using (delivery_id)
           group by all""",
        {"monthly_kinds": list(monthly_kinds())},
    ).df()
    names = connection.execute("select plant_id, name from accepted_plants where name is not null").fetchall()
    return ReportBasis(delivered_at, {str(plant): str(name) for plant, name in names})


def figures_as_of(basis: ReportBasis, fiscal_year: int, fiscal_year_start_month: int) -> str:
    """The date the figures of one fiscal year are as of: the latest delivery time of the deliveries
    they include (every month up to the year's end, base years included, and the reference files).

    The time the pipeline ingested a delivery, not the file's modification time: that one is set by
    whoever last copied the file and can be earlier than the delivery, or later than the ingest. A
    restatement of FY2017 delivered in May 2018 moves FY2017's date to May 2018; the months of FY2019
    do not move it, so FY2017's report (and whether it must be drawn again) stays as it was.
    """
    import pandas as pd

    year_end = str(pd.Period(year=fiscal_year, month=fiscal_year_start_month, freq="M") + 11)
    frame = basis.delivered_at
    included = frame[frame["period"].isna() | (frame["period"].fillna("") <= year_end)]
    latest = pd.to_datetime(included["delivered_at"]).max()
    return "no deliveries" if pd.isna(latest) else latest.strftime("%Y-%m-%d")


@timing.phase("charts + report pack")
def write_annual_report(
    kpi_results: pd.DataFrame,
    settings: Settings,
    fiscal_year: int,
    basis: ReportBasis,
    published: pd.DataFrame | None = None,
) -> dict[str, Path]:
    """Charts (PNG, SVG, PDF) and the report pack (PDF, Markdown, HTML, XLSX, CSV) for one fiscal year.

    ``published``: the latest publication's rows of published years (``publication.published_figures``);
    the pack of a published year marks each figure that differs from it.
    """
    from envkpi.reporting import (
        annual_report,
        charts,  # matplotlib is only needed here
    )

    start_month = settings.fiscal_year_start_month
    dates = charts.ReportDates.for_year(fiscal_year, start_month, figures_as_of(basis, fiscal_year, start_month))
    return annual_report.write_annual_report(
        kpi_results,
        settings.reports,
        fiscal_year,
        dates,
        settings.reference / "kpis.csv",
        settings.drawing_workers,
        plant_names=basis.plant_names,
        published=_of_year(published, fiscal_year),
        recalculation_threshold_pct=settings.recalculation_threshold_pct,
    )


def _of_year(published: pd.DataFrame | None, fiscal_year: int) -> pd.DataFrame | None:
    if published is None or published.empty:
        return None
    rows = published[published["fiscal_year"] == fiscal_year]
    return None if rows.empty else rows.reset_index(drop=True)


@timing.phase("publish snapshot")
def publish_snapshot(settings: Settings) -> Path:
    """Copy the closed warehouse to the snapshot folder and swap it in atomically.

    Notebooks open the copy read-only; a notebook holding the previous copy keeps reading it
    (the old file lives on until it is closed), and never blocks the nightly writer. (Not a
    publication of a year: that is ``envkpi.warehouse.publication.publish_year``.)
    """
    target = settings.snapshot_file
    replace_atomically(target, lambda tmp: shutil.copyfile(settings.warehouse, tmp))
    fault_point("snapshot:swapped")
    return target


publish = publish_snapshot  # deprecated name, kept for callers of the library
_snapshot_step = publish_snapshot  # run()'s flag of the same name hides the function there


@contextmanager
def exclusive_run(settings: Settings) -> Iterator[None]:
    """What every run holds: the writer lock, clear storage errors, no leftovers of a killed run."""
    with explain_storage_errors(settings), run_lock(settings.warehouse):
        for folder in (settings.reports, settings.snapshot, settings.publications_folder):
            remove_stale_temporaries(folder)  # left by a run that was killed
        yield


@timing.phase("transaction: connect, commit, checkpoint")
def ingest_step(settings: Settings, run_id: str, now: pd.Timestamp) -> IngestSummary:
    """Ingest the landing folder and rebuild every derived table in ONE warehouse transaction.

    The step cannot be split into smaller orchestrated pieces: a DuckDB connection and its
    transaction live in one process.
    """
    from envkpi.warehouse.database import connect
    from envkpi.warehouse.publication import recover

    recover(settings)  # first, a publication killed between its folder and its record
    forget_outputs(settings)  # the outputs are not complete again until this run records them
    connection = connect(settings.warehouse)
    try:
        connection.execute("begin transaction")
        try:
            summary = ingest_and_compute(connection, settings, run_id, now)
            fault_point("commit:before")
            connection.execute("commit")
        except BaseException:
            connection.execute("rollback")
            raise
        fault_point("commit:after")
        # Fold the write-ahead log into the file: publish copies the file alone.
        connection.execute("checkpoint")
        fault_point("checkpoint:after")
    finally:
        connection.close()
    return summary


@timing.phase("report step: connect")
def report_step(
    settings: Settings, summary: IngestSummary
) -> tuple[dict[str, Path], pd.DataFrame, ReportBasis, pd.DataFrame]:
    """The contract's CSVs and the run's reports; returns them, the KPI table, what the charts
    show beside it (delivery times, plant names) and the latest publication of each published
    year (``publication.published_figures``)."""
    from envkpi.warehouse.database import connect, kpi_results_frame
    from envkpi.warehouse.publication import published_figures

    connection = connect(settings.warehouse, read_only=True)
    try:
        kpi_results = kpi_results_frame(connection)
        reports = write_reports(connection, settings, summary, default_report_year(kpi_results))
        fault_point("reports:written")
        return reports, kpi_results, report_basis(connection), published_figures(connection)
    finally:
        connection.close()


def _annual_report_inputs(
    kpi_results: pd.DataFrame,
    settings: Settings,
    fiscal_year: int,
    basis: ReportBasis,
    published: pd.DataFrame | None = None,
) -> str:
    """A digest of everything the charts and pack of ``fiscal_year`` are drawn from, code included."""
    import pandas as pd

    from envkpi.reporting.export import digest_frame
    from envkpi.settings import PACKAGE_DIR

    years = pd.to_numeric(kpi_results["fiscal_year"], errors="coerce")
    shown = kpi_results[years <= fiscal_year]
    next_targets = kpi_results.loc[years == fiscal_year + 1, ["scope_level", "scope_id", "kpi", "target_pct"]]
    next_targets = next_targets.dropna(subset=["target_pct"])  # the plans shown for the next year
    digest = hashlib.sha256()
    # A new publication of the year, or another threshold, changes the pack's footnotes.
    frames = (shown, next_targets) if published is None else (shown, next_targets, published)
    digest.update(repr(settings.recalculation_threshold_pct).encode("utf-8"))
    for frame in frames:
        digest_frame(digest, frame)
    as_of = figures_as_of(basis, fiscal_year, settings.fiscal_year_start_month)
    digest.update(f"{fiscal_year}|{settings.fiscal_year_start_month}|{as_of}".encode())
    digest.update(json.dumps(sorted(basis.plant_names.items())).encode("utf-8"))
    # The code that draws: every reporting module (the charts, the pack, its fonts, the XLSX
    # writer) and the KPI vocabulary (rating words, stars, units), so that a new version redraws.
    drawing = PACKAGE_DIR / "reporting"
    for path in (
        settings.reference / "kpis.csv",
        PACKAGE_DIR / "vocabulary.py",
        *sorted(drawing.glob("*.py")),
        *sorted((drawing / "styles").glob("*.mplstyle")),
    ):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def annual_report_step(
    kpi_results: pd.DataFrame, settings: Settings, basis: ReportBasis, published: pd.DataFrame | None = None
) -> dict[str, Path]:
    """Charts and report pack of the latest complete fiscal year (nothing before any data).

    Drawing them costs seconds, so a night whose figures for that year did not change (a new
    month of a year still open, or nothing new at all) keeps the files of the last drawing,
    after checking that each is still there as it was written.
    """
    from envkpi.reporting.export import files_made_from, record_made_from

    report_year = default_report_year(kpi_results)
    if report_year is None:
        return {}
    inputs = _annual_report_inputs(kpi_results, settings, report_year, basis, _of_year(published, report_year))
    manifest = settings.reports / "pack" / f".annual_report_FY{report_year}.json"
    drawn = files_made_from(manifest, inputs, settings.reports)
    if drawn is not None:
        return drawn
    written = write_annual_report(kpi_results, settings, report_year, basis, published)
    fault_point("reports:annual-written")
    record_made_from(manifest, inputs, written, settings.reports)
    return written


def run(
    settings: Settings,
    publish_snapshot: bool = True,
    annual_report: bool = True,
    progress: Callable[[str], None] | None = None,
) -> RunResult:
    """Ingest, compute, report and publish, as one serialised, all-or-nothing run.

    The steps, in order: ingest (one transaction), reports, the published snapshot, then the
    charts and report pack of the latest complete fiscal year (``envkpi report --fy`` writes
    them for any year). The snapshot goes out before the charts, so that a chart that fails
    cannot hold back the night's figures. The Prefect flow runs the same steps as tasks.
    ``progress`` is told the name of each step as it starts (the CLI shows it).

    Raises ``PathProblem`` before anything is created when a folder is wrong.
    """
    step = progress or (lambda name: None)
    check_paths(settings)
    started = dt.datetime.now()
    run_id = new_run_id(started)
    report_year = None
    with exclusive_run(settings):
        quiet = quiet_night(settings, run_id, started, publish_snapshot, annual_report, step)
        if quiet is not None:
            return quiet
        import pandas as pd

        step("checking and loading the delivered files")
        summary = ingest_step(settings, run_id, pd.Timestamp(started))
        step("writing the reports")
        reports, kpi_results, basis, publications = report_step(settings, summary)
        if publish_snapshot:
            step("publishing the snapshot for notebooks")
        published = _snapshot_step(settings) if publish_snapshot else None
        if annual_report:
            report_year = default_report_year(kpi_results)
            step("drawing the charts and the report pack")
            reports.update(annual_report_step(kpi_results, settings, basis, publications))
        record_outputs(settings, reports, published, report_year, annual_report)  # last: the outputs are complete
    return RunResult(run_id, summary, kpi_results, reports, published, report_year)


def quiet_night(
    settings: Settings,
    run_id: str,
    started: dt.datetime,
    publish_snapshot: bool = True,
    annual_report: bool = True,
    progress: Callable[[str], None] | None = None,
) -> RunResult | None:
    """A night with nothing new (``envkpi.outputs``): recorded, and its result; None when the night
    has something to add (nothing is written then). The caller holds the run lock (``exclusive_run``)."""
    quiet = nothing_new_since_outputs(settings, publish_snapshot, annual_report)
    if quiet is None:
        return None
    if progress is not None:
        progress("nothing new since the last run: recording this one")
    summary = record_quiet_night(settings, quiet, run_id, started)
    if summary is None:
        return None
    return RunResult(
        run_id,
        summary,
        lambda: _kpi_results(settings),
        quiet.reports(settings),
        settings.snapshot_file if publish_snapshot else None,
        quiet.report_year if annual_report else None,
    )


def _kpi_results(settings: Settings) -> pd.DataFrame:
    """``kpi_results`` as the warehouse holds it now (for a run that did not read it)."""
    from envkpi.warehouse.database import connect, kpi_results_frame

    connection = connect(settings.warehouse, read_only=True)
    try:
        return kpi_results_frame(connection)
    finally:
        connection.close()


def publish_year_step(
    settings: Settings, fiscal_year: int, note: str | None = None, pack: bool = True, snapshot: bool = True
) -> Publication:
    """``envkpi publish``: the next publication of a fiscal year, under the run lock.

    Then the restatement report (empty for the year just published) and the snapshot, so that
    notebooks see the publication at once rather than after the next night.
    """
    from envkpi.warehouse.database import connect
    from envkpi.warehouse.publication import publish_year, write_restatements

    with exclusive_run(settings):
        publication = publish_year(settings, fiscal_year, note, pack=pack)
        connection = connect(settings.warehouse, read_only=True)
        try:
            write_restatements(connection, settings)
        finally:
            connection.close()
        fault_point("publication:restatements-written")
        if snapshot:
            _snapshot_step(settings)
    return publication
