"""Publications of fiscal years (contract 10): ``envkpi publish`` and what has changed since.

A publication ``v<n>`` of a fiscal year records, in the warehouse, the year's ``kpi_results``
rows as they are, the time, a note and the deliveries they came from, and writes the folder
``<publications>/FY<fy>/v<n>/`` (``kpi_results.csv``, ``publication.json``, the report pack).
Versions are never changed: the folder is built under a hidden temporary name, flushed, and
renamed into place, which is refused when the version exists. That rename is the moment a
publication exists; its warehouse record follows in one transaction, and a run that finds a
folder without its record (a publish killed in between) records it from the folder's
``publication.json``. Every run then compares the current figures with the latest publication
of each year (``restatements_since_publication.csv``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from envkpi.reporting.export import fsync_path, process_running, write_csv
from envkpi.runtime.faults import fault_point
from envkpi.settings import Settings
from envkpi.warehouse.database import connect, kpi_results_frame, one_row, sql

RESTATEMENTS_NAME = "restatements_since_publication.csv"
RESTATEMENT_COLUMNS = [
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
# kpi_results' own columns (contract 5), the ones a publication records.
RESULT_COLUMNS = [
    "scope_level",
    "scope_id",
    "kpi",
    "numerator",
    "numerator_unit",
    "denominator",
    "denominator_unit",
    "value",
    "base_year",
    "base_value",
    "change_vs_base_pct",
    "target_pct",
    "achievement_ratio",
    "rating",
    "completeness_pct",
]
MANIFEST_NAME = "publication.json"
_VERSION = re.compile(r"^v([1-9][0-9]*)$")
_STAGING = re.compile(r"^\.v[0-9]+\.(?P<pid>[0-9]+)\.tmp$")


class PublicationError(ValueError):
    """A year cannot be published (no figures for it) or its folder is not as recorded."""


@dataclass(frozen=True)
class Publication:
    fiscal_year: int
    version: int
    folder: Path
    complete: bool

    @property
    def name(self) -> str:
        return f"v{self.version}"


def year_folder(settings: Settings, fiscal_year: int) -> Path:
    return settings.publications_folder / f"FY{int(fiscal_year)}"


def _folder_versions(settings: Settings, fiscal_year: int) -> list[int]:
    folder = year_folder(settings, fiscal_year)
    if not folder.is_dir():
        return []
    return sorted(int(match[1]) for path in folder.iterdir() if path.is_dir() and (match := _VERSION.match(path.name)))


def _fsync_tree(folder: Path) -> None:
    for path in sorted(folder.rglob("*"), reverse=True):
        fsync_path(path)
    fsync_path(folder)


def _record(connection: duckdb.DuckDBPyConnection, manifest: dict) -> None:
    """Insert one publication (from its manifest) into the caller's transaction."""
    fiscal_year, version = manifest["fiscal_year"], manifest["version"]
    connection.execute(
        "insert into publication values (?, ?, ?, ?, ?, ?, ?)",
        [
            fiscal_year,
            version,
            pd.Timestamp(manifest["published_at"]).to_pydatetime(),
            manifest["note"],
            manifest["last_delivery_id"],
            manifest["last_run_id"],
            manifest["complete"],
        ],
    )
    rows = pd.DataFrame(manifest["rows"], columns=RESULT_COLUMNS)
    connection.register("publication_rows", rows)
    try:
        columns = ", ".join(RESULT_COLUMNS)  # fixed column names of the contract, never delivered text
        connection.execute(
            f"insert into publication_result (fiscal_year, version, {columns}) "
            f"select ?, ?, {columns} from publication_rows",
            [fiscal_year, version],
        )
    finally:
        connection.unregister("publication_rows")
    connection.executemany(
        "insert into publication_delivery values (?, ?, ?)",
        [[fiscal_year, version, d["delivery_id"]] for d in manifest["deliveries"]],
    )


def recover(settings: Settings) -> list[Path]:
    """Bring the warehouse and the publications folder back in step after a publish was killed.

    Removes staging folders of dead writers, and records a renamed-in version whose record was
    never committed. Returns the folders it recorded. The caller holds the run lock.
    """
    root = settings.publications_folder
    if not root.is_dir():
        return []
    for staging in root.glob("FY*/.v*.tmp"):
        match = _STAGING.match(staging.name)
        if match and staging.is_dir() and not staging.is_symlink() and not process_running(int(match["pid"])):
            shutil.rmtree(staging)
    folders = [
        (int(year.name[2:]), version, year / f"v{version}")
        for year in root.glob("FY*")
        if year.name[2:].isdigit() and year.is_dir()
        for version in _folder_versions(settings, int(year.name[2:]))
    ]
    if not folders or not settings.warehouse.exists():
        return []
    connection = connect(settings.warehouse)
    recorded: list[Path] = []
    try:
        known = set(connection.execute("select fiscal_year, version from publication").fetchall())
        missing = [(year, version, folder) for year, version, folder in folders if (year, version) not in known]
        if missing:
            connection.execute("begin transaction")
            for _, _, folder in sorted(missing):
                _record(connection, json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8")))
                recorded.append(folder)
            connection.execute("commit")
    finally:
        connection.close()
    return recorded


def _manifest(
    connection: duckdb.DuckDBPyConnection,
    fiscal_year: int,
    version: int,
    note: str | None,
    now: pd.Timestamp,
    rows: pd.DataFrame,
    fiscal_year_start_month: int,
) -> dict:
    (last_delivery_id,) = one_row(connection, "select coalesce(max(delivery_id), 0) from delivery")
    last_run = connection.execute("select run_id from ingest_run order by started_at desc limit 1").fetchone()
    deliveries = connection.execute(
        sql("publication_delivery"), {"fiscal_year": fiscal_year, "fiscal_year_start_month": fiscal_year_start_month}
    ).df()
    group = rows[rows.scope_level == "group"]
    records = rows[RESULT_COLUMNS].astype(object).where(rows[RESULT_COLUMNS].notna(), None)
    return {
        "fiscal_year": int(fiscal_year),
        "version": version,
        "published_at": now.isoformat(),
        "note": note,
        "last_delivery_id": int(last_delivery_id),
        "last_run_id": last_run[0] if last_run else None,
        # A year can be published before its data are complete; the publication says so.
        "complete": bool(len(group) and (group.completeness_pct >= 100).all()),
        "deliveries": [
            {
                "delivery_id": int(d.delivery_id),
                "file": d.source_file,
                "sha256": d.sha256,
                "kind": d.kind,
                "delivered_at": pd.Timestamp(d.ingested_at).isoformat(),
            }
            for d in deliveries.itertuples()
        ],
        "rows": [[_plain(v) for v in row] for row in records.itertuples(index=False)],
    }


def _plain(value: object) -> object:
    return value.item() if hasattr(value, "item") else value


def publish_year(
    settings: Settings, fiscal_year: int, note: str | None = None, pack: bool = True, now: pd.Timestamp | None = None
) -> Publication:
    """Record and write the next publication of ``fiscal_year`` from the warehouse as it is now.

    The caller holds the run lock (``envkpi.pipeline.publish_step`` does). ``pack=False`` leaves
    the report pack out (tests of the bookkeeping; the command always draws it).
    """
    now = now or pd.Timestamp.now()
    recover(settings)
    connection = connect(settings.warehouse)
    try:
        frame = kpi_results_frame(connection)
        rows = frame[frame.fiscal_year == fiscal_year].reset_index(drop=True)
        if rows.empty:
            raise PublicationError(f"no KPI results for FY{fiscal_year} in {settings.warehouse}: nothing to publish")
        (recorded,) = one_row(
            connection, "select coalesce(max(version), 0) from publication where fiscal_year = ?", [fiscal_year]
        )
        version = max([recorded, *_folder_versions(settings, fiscal_year)]) + 1
        manifest = _manifest(connection, fiscal_year, version, note, now, rows, settings.fiscal_year_start_month)
        dates, plant_names = _pack_basis(connection, fiscal_year, settings)
    finally:
        connection.close()

    parent = year_folder(settings, fiscal_year)
    parent.mkdir(parents=True, exist_ok=True)
    target = parent / f"v{version}"
    if target.exists():
        raise PublicationError(f"{target} exists already: a publication is never overwritten")
    staging = parent / f".v{version}.{os.getpid()}.tmp"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    try:
        write_csv(rows, staging / "kpi_results.csv")
        if pack:
            from envkpi.reporting import report_pack  # matplotlib only when a pack is drawn

            report_pack.write_report_pack(
                frame,
                staging / "pack",
                fiscal_year,
                dates,
                settings.reference / "kpis.csv",
                plant_names,
                recalculation_threshold_pct=settings.recalculation_threshold_pct,
            )
        (staging / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")
        _fsync_tree(staging)
        fault_point("publication:staged")
        if target.exists():  # rename(2) would replace an empty folder: never
            raise PublicationError(f"{target} exists already: a publication is never overwritten")
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _fsync_tree(parent)
    fault_point("publication:renamed")

    connection = connect(settings.warehouse)
    try:
        connection.execute("begin transaction")
        try:
            _record(connection, manifest)
            fault_point("publication:before-commit")
            connection.execute("commit")
        except BaseException:
            connection.execute("rollback")
            raise
        connection.execute("checkpoint")  # the snapshot copies the file alone
    finally:
        connection.close()
    fault_point("publication:recorded")
    return Publication(fiscal_year, version, target, manifest["complete"])


def _pack_basis(connection: duckdb.DuckDBPyConnection, fiscal_year: int, settings: Settings):
    """The dates and plant names the published pack shows, as the nightly pack shows them."""
    from envkpi.pipeline import figures_as_of, report_basis
    from envkpi.reporting.charts import ReportDates

    basis = report_basis(connection)
    start_month = settings.fiscal_year_start_month
    return (
        ReportDates.for_year(fiscal_year, start_month, figures_as_of(basis, fiscal_year, start_month)),
        basis.plant_names,
    )


def restatements(connection: duckdb.DuckDBPyConnection, fiscal_year_start_month: int) -> pd.DataFrame:
    """The figures that differ from the latest publication of their year (contract 10), text formula-safe."""
    frame = connection.execute(
        sql("restatements_since_publication"), {"fiscal_year_start_month": fiscal_year_start_month}
    ).df()
    frame["fiscal_year"] = frame["fiscal_year"].astype("Int64")
    return frame[RESTATEMENT_COLUMNS]


def write_restatements(connection: duckdb.DuckDBPyConnection, settings: Settings) -> tuple[Path, pd.DataFrame]:
    """``<reports>/restatements_since_publication.csv`` (header only before any publication)."""
    frame = restatements(connection, settings.fiscal_year_start_month)
    return write_csv(frame, settings.reports / RESTATEMENTS_NAME), frame


def read_restatements(path: Path) -> pd.DataFrame:
    """A ``restatements_since_publication.csv`` back as a frame (empty text is missing)."""
    return pd.read_csv(path, keep_default_na=False, na_values=[""], dtype={"scope_id": str, "files": str})


def published_figures(connection: duckdb.DuckDBPyConnection, fiscal_year: int | None = None) -> pd.DataFrame:
    """The rows of the latest publication of ``fiscal_year`` (of every published year for None),
    with ``published_version`` and ``published_at``; empty when the year was never published."""
    frame = connection.execute(
        """
        with latest as (
            select * from publication
            where $fiscal_year is null or fiscal_year = $fiscal_year
            qualify version = max(version) over (partition by fiscal_year)
        )
        select result.* exclude (version, numerator, denominator),
               cast(result.numerator as double) as numerator, cast(result.denominator as double) as denominator,
               'v' || latest.version as published_version, latest.published_at
        from publication_result as result
        join latest using (fiscal_year, version)
        order by result.fiscal_year, result.scope_level, result.scope_id, result.kpi
        """,
        {"fiscal_year": fiscal_year},
    ).df()
    return frame


def publications(connection: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per publication: fiscal year, version, time, note, completeness, deliveries."""
    return connection.execute(
        """
        select publication.fiscal_year, 'v' || publication.version as version, publication.published_at,
               publication.note, publication.complete, publication.last_delivery_id,
               (select count(*) from publication_delivery as used
                where used.fiscal_year = publication.fiscal_year and used.version = publication.version) as deliveries
        from publication
        order by publication.fiscal_year, publication.version
        """
    ).df()
