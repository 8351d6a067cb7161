"""The nightly run as a Prefect flow: the library's pipeline steps as tasks, and artifacts for the UI.

The flow only composes ``envkpi.pipeline``: the steps of ``envkpi.pipeline.run`` (the CLI's run),
under the same writer lock, so a served run and ``envkpi run`` leave the same warehouse, reports
and snapshot.
What the flow adds is Prefect's: retries where a retry can help, a run history, and artifacts
that say what a night's run did.
"""

from __future__ import annotations

# isort: off
import envkpi  # noqa: F401 - first, so that its memory settings precede NumPy's and Arrow's loading
# isort: on

import html
import logging
from pathlib import Path
from typing import TypedDict

import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE, CachePolicy
from prefect.states import Completed, State

from envkpi.ingest.deliveries import IngestSummary
from envkpi.outputs import record_outputs
from envkpi.pipeline import (
    ReportBasis,
    annual_report_step,
    default_report_year,
    exclusive_run,
    ingest_step,
    new_run_id,
    publish_snapshot,
    quiet_night,
    report_step,
)
from envkpi.reporting.notify import bad_night_message
from envkpi.settings import Settings
from envkpi.vocabulary import rating_symbol
from envkpi.warehouse.publication import read_restatements

FLOW_NAME = "envkpi-nightly"

# Artifact keys: stable across runs, so that the UI's Artifacts page shows each one's history.
KPI_RESULTS_KEY = "envkpi-kpi-results"
RUN_SUMMARY_KEY = "envkpi-rejections"
RESTATEMENTS_KEY = "envkpi-restatements-since-publication"
LINK_KEYS = {
    "kpi_results": "envkpi-kpi-results-csv",
    "restatements_since_publication": "envkpi-restatements-since-publication-csv",
    "rejections": "envkpi-rejections-csv",
    "data_docs": "envkpi-data-docs",
    "charts": "envkpi-charts",
    "report_pack": "envkpi-report-pack",
}

# A UI table is for reading, not auditing: past this many rows it points at rejections.csv.
MAX_REJECTION_ROWS = 200
PATH_SETTINGS = ("landing", "warehouse", "reports", "snapshot", "reference", "expectations")


# Retries where a retry can help: writing files (a full disk freed, a share back, a snapshot
# briefly held open on a filesystem that locks open files). Ingest and validation get none: a
# rejected file is data, not a fault, and the same files give the same result on a second try.
class _Retries(TypedDict):
    retries: int
    retry_delay_seconds: list[float]


class _Caching(TypedDict):
    cache_policy: CachePolicy
    persist_result: bool


IO_RETRIES: _Retries = {"retries": 3, "retry_delay_seconds": [2, 10, 30]}

# No task is cached: every night must look at the landing folder again. Results stay in memory.
TASK_OPTIONS: _Caching = {"cache_policy": NO_CACHE, "persist_result": False}


def nightly_settings(
    landing: str | None = None,
    warehouse: str | None = None,
    reports: str | None = None,
    published: str | None = None,
    snapshot: str | None = None,
) -> Settings:
    """Settings (defaults and ``ENVKPI_*``) with the flow's parameters on top, paths made absolute.

    Absolute because a served run's working directory is the runner's, and Great Expectations'
    data docs site needs an absolute folder. ``published`` is the deprecated name of ``snapshot``.
    """
    settings = Settings().with_overrides(
        landing=landing, warehouse=warehouse, reports=reports, snapshot=snapshot if snapshot is not None else published
    )
    absolute = {name: getattr(settings, name).resolve() for name in PATH_SETTINGS}
    if settings.publications is not None:
        absolute["publications"] = settings.publications.resolve()
    return settings.with_overrides(**absolute)


# --- tasks: each one library step ----------------------------------------------------------


@task(name="ingest-and-compute", **TASK_OPTIONS)
def ingest_and_compute_task(settings: Settings, run_id: str, now: pd.Timestamp) -> IngestSummary:
    """Ingest the whole landing folder and rebuild every KPI, in one warehouse transaction.

    One task for the whole folder, not one task per file: a group delivers tens of thousands of
    files a year, and as many task runs would cost more in orchestration than the ingest itself
    (see docs/orchestration.md for the measurement).
    """
    return ingest_step(settings, run_id, now)


@task(name="write-reports", **TASK_OPTIONS, **IO_RETRIES)
def write_reports_task(
    settings: Settings, summary: IngestSummary
) -> tuple[dict[str, Path], pd.DataFrame, ReportBasis, pd.DataFrame]:
    """kpi_results.csv, rejections.csv, restatements_since_publication.csv and the run's other
    reports; returns them, the KPI table, what the charts show beside it (delivery times for
    "figures as of", plant names) and the latest publication of each published year."""
    return report_step(settings, summary)


@task(name="publish-snapshot", **TASK_OPTIONS, **IO_RETRIES)
def publish_task(settings: Settings) -> Path:
    """Swap the new read-only snapshot in for notebooks (data/snapshot/warehouse.duckdb)."""
    return publish_snapshot(settings)


# Rendering is deterministic: a second try helps only when the disk was the problem.
@task(name="write-annual-report", **TASK_OPTIONS, retries=1, retry_delay_seconds=10)
def write_annual_report_task(
    kpi_results: pd.DataFrame, settings: Settings, basis: ReportBasis, publications: pd.DataFrame | None = None
) -> dict[str, Path]:
    """The charts (reports/charts) and the report pack (reports/pack) of the latest complete year."""
    return annual_report_step(kpi_results, settings, basis, publications)


# --- the flow ------------------------------------------------------------------------------


# --- notifications of a bad night ----------------------------------------------------------

NOTIFICATION_BLOCK = "envkpi-nightly"


def notification_block(settings: Settings):
    """The webhook block that carries the notification: JSON ``{"subject": ..., "text": ...}``."""
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    return CustomWebhookNotificationBlock(
        name=NOTIFICATION_BLOCK,
        url=settings.notify_url,
        method="POST",
        json_data={"subject": "{{subject}}", "text": "{{body}}"},
        headers=None,
        cookies=None,
    )  # the block's defaults, said


def _notify(flow_run, message: tuple[str, str] | None, settings: Settings) -> None:
    if message is None or not settings.notify_url:
        return
    subject, body = message
    try:
        notification_block(settings).notify(body, subject)
    except Exception as error:  # a notification that cannot go out must not change the night's state
        logging.getLogger(__name__).warning(
            "notification of run %s to %s failed: %s", flow_run.name, settings.notify_url, error
        )


def _hook_settings(flow_run) -> Settings:
    names = ("landing", "warehouse", "reports", "published", "snapshot")
    return nightly_settings(**{name: (flow_run.parameters or {}).get(name) for name in names})


def notify_when_flagged(flow, flow_run, state) -> None:
    """On completion: tell ``Settings.notify_url`` which files were rejected, from which plants, and
    how many published figures changed."""
    settings = _hook_settings(flow_run)
    if not settings.notify_url:
        return
    outcome = state.result(raise_on_failure=False)
    if not isinstance(outcome, dict):
        return
    _notify(
        flow_run,
        bad_night_message(
            flow_run.name,
            list(outcome.get("rejected") or []),
            list(outcome.get("ignored") or []),
            str(settings.reports),
            restated=int(outcome.get("published_figures_changed") or 0),
        ),
        settings,
    )


def notify_failure(flow, flow_run, state) -> None:
    """On failure (or a crash): tell ``Settings.notify_url`` that the night failed, and why."""
    settings = _hook_settings(flow_run)
    _notify(
        flow_run,
        bad_night_message(flow_run.name, [], [], str(settings.reports), failure=state.message or state.name),
        settings,
    )


@flow(
    name=FLOW_NAME,
    log_prints=False,
    on_completion=[notify_when_flagged],
    on_failure=[notify_failure],
    on_crashed=[notify_failure],
)
def nightly(
    landing: str | None = None,
    warehouse: str | None = None,
    reports: str | None = None,
    published: str | None = None,
    snapshot: str | None = None,
) -> State:
    """Ingest the landing folder, rebuild the KPIs, write the reports and charts, publish a snapshot.

    Parameters left empty take the Settings defaults (and ``ENVKPI_*``); ``published`` is the
    deprecated name of ``snapshot``. Rejected files do not
    fail the run: it completes with a message naming how many, and the artifacts list them. A
    broken pipeline (warehouse unreadable, disk full after the retries) fails the run.
    """
    logger = get_run_logger()
    settings = nightly_settings(landing, warehouse, reports, published, snapshot)
    now = pd.Timestamp.now()
    run_id = new_run_id(now)
    # The steps of envkpi.pipeline.run, as tasks, under the same writer lock: a second run (a
    # manual one overlapping the night's) waits, and never copies or reads a warehouse that
    # another run is writing. Tasks run in this process, under this lock.
    # A night with nothing new records that it ran and writes no output again, as `envkpi run`.
    with exclusive_run(settings):
        quiet = quiet_night(settings, run_id, now.to_pydatetime())
        if quiet is not None:
            summary, written, kpi_results = quiet.ingest, quiet.reports, quiet.kpi_results
            copied, fiscal_year = settings.snapshot_file, quiet.report_year
        else:
            summary = ingest_and_compute_task(settings, run_id, now)
            written, kpi_results, basis, publications = write_reports_task(settings, summary)
            copied = publish_task(settings)
            written.update(write_annual_report_task(kpi_results, settings, basis, publications))
            fiscal_year = default_report_year(kpi_results)
            # last: the outputs are complete (what the next quiet night finds)
            record_outputs(settings, written, copied, fiscal_year, annual_report=True)

    create_table_artifact(
        table=kpi_table(kpi_results, fiscal_year),
        key=KPI_RESULTS_KEY,
        description=(
            f"KPI results FY{fiscal_year}, group and business units (run {run_id}); ratings "
            f"*** achieved, ** 90% achieved, * not achieved; completeness below 100 means "
            f"plant-months are missing"
            if fiscal_year is not None
            else f"No KPI results yet (run {run_id}): nothing was loaded"
        ),
    )
    restated = read_restatements(written["restatements_since_publication"])
    create_markdown_artifact(
        markdown=run_summary_markdown(summary, settings, restated),
        key=RUN_SUMMARY_KEY,
        description=f"Files loaded, unchanged, rejected and ignored (run {run_id})",
    )
    create_markdown_artifact(
        markdown=restatements_markdown(restated, settings),
        key=RESTATEMENTS_KEY,
        description=(f"{len(restated)} published figures changed since their publication (run {run_id})"),
    )
    for name, path in link_targets(settings, written).items():
        create_link_artifact(
            link=path.as_uri(),
            link_text=str(path),
            key=LINK_KEYS[name],
            description=f"{name.replace('_', ' ')} of run {run_id}",
        )

    message = run_message(summary)
    (logger.warning if summary.rejected or summary.ignored else logger.info)(
        "run %s %s; %d published figures changed since publication; snapshot %s", run_id, message, len(restated), copied
    )
    return Completed(
        message=message,
        data={
            "run_id": run_id,
            "files_seen": summary.files_seen,
            "loaded": len(summary.loaded),
            "unchanged": len(summary.unchanged),
            "rejected": list(summary.rejected),
            "ignored": list(summary.ignored),
            "fiscal_year": fiscal_year,
            "published_figures_changed": len(restated),
            "snapshot": str(copied),
        },
    )


# --- what the artifacts say ----------------------------------------------------------------


def run_message(summary: IngestSummary) -> str:
    """``completed``, or ``completed with N rejected files`` (and the files left alone)."""
    if not summary.rejected and not summary.ignored:
        return f"completed: {len(summary.loaded)} files loaded, {len(summary.unchanged)} unchanged"
    message = f"completed with {len(summary.rejected)} rejected file{'s' * (len(summary.rejected) != 1)}"
    if summary.ignored:
        message += f" and {len(summary.ignored)} not contract file{'s' * (len(summary.ignored) != 1)} left alone"
    return message + ": see the envkpi-rejections artifact or reports/rejections.csv"


def kpi_table(kpi_results: pd.DataFrame, fiscal_year: int | None) -> list[dict[str, object]]:
    """The group's and business units' KPIs of one year, rounded for reading (the CSV is not)."""
    if fiscal_year is None:
        return []
    rows = kpi_results[
        (kpi_results["fiscal_year"] == fiscal_year) & kpi_results["scope_level"].isin(["group", "business_unit"])
    ]
    return [
        {
            "scope": row.scope_id,
            "kpi": row.kpi,
            "value": _significant(row.value, 4),
            "change_vs_base_pct": _rounded(row.change_vs_base_pct, 1),
            "target_pct": _rounded(row.target_pct, 2),
            "rating": rating_symbol(row.rating),
            "completeness_pct": _rounded(row.completeness_pct, 1),
        }
        for row in rows.itertuples(index=False)
    ]


def _significant(value: float | None, digits: int) -> float | None:
    return None if value is None or pd.isna(value) else float(f"{float(value):.{digits}g}")


def _rounded(value: float | None, decimals: int) -> float | None:
    return None if value is None or pd.isna(value) else round(float(value), decimals)


def restatements_markdown(restated: pd.DataFrame, settings: Settings) -> str:
    """Contract 10: each published figure that differs from its latest publication, with the files."""
    path = settings.reports / "restatements_since_publication.csv"
    if restated.empty:
        return (
            "# Restatements since publication\n\nNo published figure has changed since its publication "
            f"(`envkpi publish`). Report: `{path}`.\n"
        )
    lines = [
        f"# Restatements since publication: {len(restated)} published figures changed",
        "",
        f"All of them: `{path}`.",
        "",
        "| FY | scope | KPI | version | published | current | difference | rating then / now | files |",
        "|---:|---|---|---|---:|---:|---:|---|---|",
    ]
    for row in restated.head(MAX_REJECTION_ROWS).itertuples(index=False):
        cells = (
            row.fiscal_year,
            row.scope_id,
            row.kpi,
            row.published_version,
            _significant(row.published_value, 6),
            _significant(row.current_value, 6),
            _significant(row.difference, 6),
            f"{_cell(row.published_rating)} / {_cell(row.current_rating)}",
            row.files,
        )
        lines.append("| " + " | ".join(_cell(v) for v in cells) + " |")
    if len(restated) > MAX_REJECTION_ROWS:
        lines += ["", f"_The first {MAX_REJECTION_ROWS} of {len(restated)}; the rest are in the CSV._"]
    return "\n".join(lines) + "\n"


def run_summary_markdown(summary: IngestSummary, settings: Settings, restated: pd.DataFrame | None = None) -> str:
    """Counts of the run's files and the rejection table (file, row, column, value, reason)."""
    rejections = summary.rejections()
    lines = [
        f"# Nightly run {summary.run_id}",
        "",
        f"Landing folder: `{settings.landing}`",
        "",
        "| files | count |",
        "|---|---:|",
        f"| seen | {summary.files_seen} |",
        f"| loaded | {len(summary.loaded)} |",
        f"| unchanged (already loaded) | {len(summary.unchanged)} |",
        f"| rejected | {len(summary.rejected)} |",
        f"| ignored (not contract files) | {len(summary.ignored)} |",
        "",
    ]
    if restated is not None:
        lines += [
            f"Published figures changed since their publication: {len(restated)} "
            "(see the envkpi-restatements-since-publication artifact).",
            "",
        ]
    if rejections.empty:
        lines.append("No file was rejected.")
        return "\n".join(lines) + "\n"
    lines += [
        f"## Rejections: {len(rejections)} problems in {rejections['file'].nunique()} files",
        "",
        "A rejected file loaded nothing and is checked again on every run until it is replaced. "
        f"All problems: `{settings.reports / 'rejections.csv'}`; the failed expectations: "
        f"`{settings.reports / 'data_docs' / 'index.html'}`.",
        "",
        "| file | row | column | value | reason |",
        "|---|---:|---|---|---|",
    ]
    for row in rejections.head(MAX_REJECTION_ROWS).itertuples(index=False):
        lines.append("| " + " | ".join(_cell(v) for v in (row.file, row.row, row.column, row.value, row.reason)) + " |")
    if len(rejections) > MAX_REJECTION_ROWS:
        lines += [
            "",
            f"_The first {MAX_REJECTION_ROWS} of {len(rejections)} problems; the rest are in rejections.csv._",
        ]
    return "\n".join(lines) + "\n"


def _cell(value: object) -> str:
    """A table cell that delivered text cannot break: no pipes, newlines or HTML."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    text = " ".join(str(value).splitlines())
    return html.escape(text, quote=False).replace("|", "\\|")


def link_targets(settings: Settings, written: dict[str, Path]) -> dict[str, Path]:
    """The files a reader opens next, where they exist: CSVs, data docs, charts, report pack."""
    targets = {
        "kpi_results": settings.reports / "kpi_results.csv",
        "rejections": settings.reports / "rejections.csv",
        "restatements_since_publication": settings.reports / "restatements_since_publication.csv",
        "data_docs": settings.reports / "data_docs" / "index.html",
    }
    charts = [path for name, path in written.items() if name.startswith("chart:")]
    if charts:
        targets["charts"] = Path(charts[0]).parent
    if "pack:pdf" in written:
        targets["report_pack"] = Path(written["pack:pdf"])
    return {name: path for name, path in targets.items() if path.exists()}


if __name__ == "__main__":
    # One run now, outside the schedule: against PREFECT_API_URL if set, else a temporary server.
    nightly()
