"""The outputs of the last run, and whether a night has anything to add to them.

A night with nothing new would write the very reports, filings, charts and snapshot of the night
before, at the cost of pandas' import and every year's filings. So the run that makes the outputs
records them, LAST, once every one of them is written (``record_outputs``): what they were made
from (the warehouse's state, the settings, the code, the reference data and the suites), the
landing folder as that run knew it, and each output file's size and modification time. A night
that finds all of it as recorded (``nothing_new_since_outputs``) writes no output again: it
records that it ran, its row in ``ingest_run`` and ``run_summary.json`` (``record_quiet_night``),
importing DuckDB and nothing heavier (no pandas, no Great Expectations, no matplotlib).

A landing file counts as known by the rules the ingest itself applies: its path, size and
modification time are those of a delivery whose content was loaded (unchanged), or of a rejected
one whose stored problems a run would reuse, checked against what it would be checked against
now (``envkpi.validation.check_basis``; the months that are plausible move with the calendar).
A run that changes anything, or dies before the end, leaves no record that matches: a full run
forgets the record first (``forget_outputs``) and writes it only after its last output.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from envkpi.contract import KINDS
from envkpi.ingest.landing import IngestSummary, Problem, discover
from envkpi.runtime import timing
from envkpi.runtime.faults import fault_point
from envkpi.runtime.files import replace_atomically
from envkpi.runtime.fingerprint import distribution_version
from envkpi.settings import PACKAGE_DIR, Settings

RECORD_NAME = ".outputs.json"  # in the reports folder, hidden as the annual report's manifest is
RUN_SUMMARY_NAME = "run_summary.json"
REPEATED_ROW_WARNING = (
    "repeats an earlier row of the file exactly: counted once; if these were two real "
    "quantities, deliver them summed in one row"
)
# Where a setting says where things are, not what they hold: a moved or copied folder keeps its
# outputs (the reference data and suites count by their contents).
_PATH_SETTINGS = frozenset({"landing", "warehouse", "reports", "snapshot", "publications", "reference", "expectations"})
# The engines whose versions shape the outputs' bytes (the derived layers, CSV, XLSX, PDF, PNG).
_ENGINES = (
    "duckdb",
    "pandas",
    "pyarrow",
    "numpy",
    "great_expectations",
    "matplotlib",
    "openpyxl",
    "pypdf",
    "fonttools",
)

# The warehouse's state, from its stored tables (the derived ones follow from them and from the
# build state): every delivery, rejection, re-check, known status, slice and publication changes
# it. Not ``ingest_run``: a quiet night adds its row there and changes nothing else.
_WAREHOUSE_STATE = """
select concat_ws('|',
    (select count(*) || ':' || coalesce(max(delivery_id), 0) from delivery),
    (select count(*) from rejection),
    (select coalesce(md5(string_agg(delivery_id || '=' || checked_against, ',' order by delivery_id)), '')
     from rejection_check),
    (select count(*) from known_status),
    (select count(*) || ':' || coalesce(sum(delivery_id), 0) from current_slice),
    (select count(*) from publication),
    (select coalesce(md5(string_agg(cast(build as varchar), ',')), '') from normalised_build as build))
"""


def write_run_summary(
    path: Path, summary: IngestSummary, published_figures_changed: int, changed_by_year: Mapping[str, int]
) -> Path:
    """``run_summary.json``: what the run did with each file, and how many published figures changed."""
    run_summary = {
        "run_id": summary.run_id,
        "files_seen": summary.files_seen,
        "loaded": summary.loaded,
        "rejected": summary.rejected,
        "unchanged": len(summary.unchanged),
        "ignored": summary.ignored,
        # contract 10: figures of published years that differ from their latest publication
        "published_figures_changed": published_figures_changed,
        "published_figures_changed_by_year": dict(changed_by_year),
        # Rows of loaded files that repeat an earlier row of the same file exactly (same key and
        # values): kept in the raw layer, counted once. Listed because two real loads of the
        # same size look exactly like this.
        "repeated_rows": [
            {"file": file, "row": row, "warning": REPEATED_ROW_WARNING} for file, row in summary.repeated_rows
        ],
    }
    replace_atomically(path, lambda tmp: tmp.write_text(json.dumps(run_summary, indent=2, ensure_ascii=False)))
    return path


@dataclass(frozen=True)
class QuietNight:
    """A night with nothing new: the record of the outputs it finds complete."""

    record: dict[str, Any]

    def reports(self, settings: Settings) -> dict[str, Path]:
        """The outputs as the run that made them returned them, and this night's summary."""
        made = {name: settings.reports / path for name, path in self.record["reports"].items()}
        return made | {"run_summary": settings.reports / RUN_SUMMARY_NAME}

    @property
    def report_year(self) -> int | None:
        return self.record["report_year"]


def forget_outputs(settings: Settings) -> None:
    """Before a run writes anything: the outputs are not complete again until it records them."""
    (settings.reports / RECORD_NAME).unlink(missing_ok=True)


@timing.phase("quiet night: anything new since the outputs?")
def nothing_new_since_outputs(
    settings: Settings, publish_snapshot: bool = True, annual_report: bool = True
) -> QuietNight | None:
    """The record of the last run's outputs when this night has nothing to add to them, else None.

    Nothing to add: the settings, code, reference data and suites they were made from are those
    of now, and so are the plausible months; every output (the snapshot and the annual report
    when asked for) is there as it was written; the publications folder holds what it held; and
    the landing folder holds exactly the files that run knew, none of them touched, and the same
    files left alone for the same reasons. The warehouse's state is compared in
    ``record_quiet_night``, inside its transaction.
    """
    try:
        record = json.loads((settings.reports / RECORD_NAME).read_text(encoding="utf-8"))
        return _quiet_if_as_recorded(settings, record, publish_snapshot, annual_report)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # missing, unreadable or not a record: the night runs in full


def _quiet_if_as_recorded(
    settings: Settings, record: dict[str, Any], publish_snapshot: bool, annual_report: bool
) -> QuietNight | None:
    made_parts = (not publish_snapshot or record.get("snapshot") is not None) and (
        not annual_report or record.get("annual_report") is True
    )
    if not (
        made_parts
        and record.get("inputs") == inputs_fingerprint(settings)
        and record.get("period_range") == list(_period_range(settings))
        and all(_status(settings.reports / path) == status for path, status in record["outputs"].items())
        and (not publish_snapshot or _status(settings.snapshot_file) == record["snapshot"])
        and record.get("publications") == _publications(settings)
    ):
        return None
    found, ignored = discover(settings.landing, time.time_ns(), settings.settle_seconds)
    landing = sorted([landed.relative, landed.size, landed.modified_ns] for landed in found)
    if landing != sorted(entry[:3] for entry in record["landing"]) or _problems(ignored) != record["ignored"]:
        return None
    return QuietNight(record)


@timing.phase("quiet night: recorded")
def record_quiet_night(
    settings: Settings, quiet: QuietNight, run_id: str, started: dt.datetime
) -> IngestSummary | None:
    """Record that a night with nothing new ran: its ``ingest_run`` row and ``run_summary.json``,
    what the full run would say of every file. None, with nothing written, when the warehouse is
    not in the state the outputs were made from (then the night runs in full)."""
    record = quiet.record
    connection = duckdb.connect(str(settings.warehouse))
    try:
        connection.execute("begin transaction")
        try:
            (state,) = connection.execute(_WAREHOUSE_STATE).fetchone() or (None,)
            if state != record["warehouse"]:
                connection.execute("rollback")
                return None
            summary = _summary(connection, run_id, record)
            connection.execute(
                "insert into ingest_run values (?, ?, ?, ?, 'completed', ?, ?, ?, ?, ?)",
                [
                    run_id,
                    started,
                    dt.datetime.now(),
                    str(settings.landing),
                    summary.files_seen,
                    0,
                    len(summary.rejected),
                    len(summary.unchanged),
                    len(summary.ignored),
                ],
            )
            connection.execute("commit")
        except BaseException:
            connection.execute("rollback")
            raise
        fault_point("quiet:committed")
        connection.execute("checkpoint")  # publish copies the file alone: keep it whole
    finally:
        connection.close()
    write_run_summary(
        settings.reports / RUN_SUMMARY_NAME,
        summary,
        record["published_figures_changed"],
        record["published_figures_changed_by_year"],
    )
    return summary


def _summary(connection: duckdb.DuckDBPyConnection, run_id: str, record: dict[str, Any]) -> IngestSummary:
    """The summary a full run gives of the recorded landing: the files left alone first, then the
    rejected files with their stored problems (in their run's order), the others unchanged."""
    rejected = record["rejected"]  # [relative, rejected delivery_id], in the order a run lists them
    stored: dict[int, list[Problem]] = {}
    for delivery_id, row, column, value, reason in connection.execute(
        'select delivery_id, "row", "column", value, reason from rejection '
        "where delivery_id in (select unnest($ids)) order by delivery_id, problem_number",
        {"ids": [delivery_id for _, delivery_id in rejected]},
    ).fetchall():
        stored.setdefault(delivery_id, []).append(Problem(row, column, value, reason))
    (next_delivery_id,) = connection.execute("select coalesce(max(delivery_id), 0) + 1 from delivery").fetchone() or (
        1,
    )
    ignored = [
        (relative, Problem(row, column, value, reason)) for relative, row, column, value, reason in record["ignored"]
    ]
    return IngestSummary(
        run_id,
        first_delivery_id=next_delivery_id,
        rejected=[relative for relative, _ in rejected],
        unchanged=[relative for relative, _, _, verdict in record["landing"] if verdict == "unchanged"],
        ignored=[relative for relative, _ in ignored],
        problems=ignored
        + [(relative, problem) for relative, delivery_id in rejected for problem in stored.get(delivery_id, [])],
    )


def record_outputs(
    settings: Settings, reports: Mapping[str, Path], snapshot: Path | None, report_year: int | None, annual_report: bool
) -> bool:
    """Record, after the last of them is written, what the outputs were made from (see the module).

    Whether a record was written: none when the next night would read some file anyway (one the
    warehouse does not know by its status, a rejection to check again), so that night runs in full.
    The caller holds the run lock.
    """
    from envkpi.ingest.deliveries import current_reference, known_deliveries, verdicts_without_reading
    from envkpi.validation.check_basis import check_basis
    from envkpi.warehouse.database import connect

    found, ignored = discover(settings.landing, time.time_ns(), settings.settle_seconds)
    period_range = _period_range(settings)
    connection = connect(settings.warehouse, read_only=True)
    try:
        reference = current_reference(
            connection, settings.fiscal_year_start_month, True, settings.reporting_currency, period_range
        )
        verdicts = verdicts_without_reading(found, known_deliveries(connection), check_basis(reference, settings))
        if verdicts is None:
            return False
        order = {kind: position for position, kind in enumerate(KINDS)}
        rejected = sorted(  # kind by kind, each in the order a run takes the files (a stable sort)
            ((landed, delivery_id) for landed, verdict, delivery_id in verdicts if verdict == "rejected"),
            key=lambda item: order.get(item[0].kind or "", len(order)),
        )
        (unnumbered,) = connection.execute(
            "select count(*) from rejection where delivery_id in (select unnest($ids)) and problem_number is null",
            {"ids": [delivery_id for _, delivery_id in rejected]},
        ).fetchone() or (0,)
        if unnumbered:  # stored before problems were numbered: a run checks these files again
            return False
        (state,) = connection.execute(_WAREHOUSE_STATE).fetchone() or (None,)
    finally:
        connection.close()
    said = json.loads((settings.reports / RUN_SUMMARY_NAME).read_text(encoding="utf-8"))
    record = {
        "inputs": inputs_fingerprint(settings),
        "period_range": list(period_range),
        "warehouse": state,
        "landing": [[landed.relative, landed.size, landed.modified_ns, verdict] for landed, verdict, _ in verdicts],
        "ignored": _problems(ignored),
        "rejected": [[landed.relative, delivery_id] for landed, delivery_id in rejected],
        "published_figures_changed": said["published_figures_changed"],
        "published_figures_changed_by_year": said["published_figures_changed_by_year"],
        "publications": _publications(settings),
        "annual_report": annual_report,
        "report_year": report_year,
        "reports": {name: _relative(path, settings.reports) for name, path in reports.items() if name != "run_summary"},
        "outputs": {
            _relative(path, settings.reports): _status(Path(path))
            for name, path in reports.items()
            if name != "run_summary"
        },
        "snapshot": _status(snapshot) if snapshot is not None else None,
    }
    replace_atomically(settings.reports / RECORD_NAME, lambda tmp: tmp.write_text(json.dumps(record), encoding="utf-8"))
    return True


def inputs_fingerprint(settings: Settings) -> str:
    """Everything the outputs are made from besides the warehouse and the landing folder: the
    settings (but where things are), this library's files, the reference data, the suites and the
    versions of Python and the engines."""
    digest = hashlib.sha256()
    shaping = {
        field.name: repr(getattr(settings, field.name))
        for field in dataclasses.fields(settings)
        if field.name not in _PATH_SETTINGS
    }
    digest.update(json.dumps(shaping, sort_keys=True).encode("utf-8"))
    for label, folder in (
        ("library", PACKAGE_DIR),
        ("reference", settings.reference),
        ("suites", settings.expectations),
    ):
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(f"{label}/{path.relative_to(folder).as_posix()}\0".encode())
                digest.update(path.read_bytes())
    import sys

    digest.update(sys.version.encode("utf-8"))
    for engine in _ENGINES:
        digest.update(f"{engine} {distribution_version(engine)}".encode())
    return digest.hexdigest()


def _period_range(settings: Settings) -> tuple[str, str]:
    """The months a run finds plausible today (they move with the calendar): part of what a
    rejected file is checked against."""
    return (settings.min_period, settings.max_period())


def _status(path: Path) -> list[int] | None:
    """A file's size and modification time (ns), as the ingest knows a landing file; None when absent."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return [stat.st_size, stat.st_mtime_ns] if path.is_file() else None


def _publications(settings: Settings) -> list[str]:
    """The names in the publications folder's year folders (versions, and staging folders of a
    publish that was killed): a run records or removes what a killed publish left."""
    root = settings.publications_folder
    if not root.is_dir():
        return []
    return sorted(f"{year.name}/{entry.name}" for year in root.glob("FY*") if year.is_dir() for entry in year.iterdir())


def _problems(ignored: list[tuple[str, Problem]]) -> list[list[Any]]:
    return [[relative, p.row, p.column, p.value, p.reason] for relative, p in ignored]


def _relative(path: Path, base: Path) -> str:
    try:
        return Path(path).relative_to(base).as_posix()
    except ValueError:
        return str(path)
