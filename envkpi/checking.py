"""`envkpi check`: the ingest's validation for a plant, before it sends its files.

The files go through the same reading and validation as a nightly run, into a throwaway
in-memory warehouse that holds a copy of the real one's reference data (plants, factors,
targets), taken from the published snapshot (or the warehouse when nothing is published).
Nothing is written anywhere.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from envkpi.contract import kind_of
from envkpi.ingest import Ingest, IngestSummary, LandedFile, shown_name
from envkpi.pipeline import PUBLISHED_NAME, REPEATED_ROW_WARNING, make_validator
from envkpi.readers import Problem
from envkpi.settings import Settings
from envkpi.warehouse import create_schema, load_reference, rebuild_conversion

_REFERENCE_TABLES = ("raw_plants", "raw_factors", "raw_targets")


@dataclass
class CheckOutcome:
    summary: IngestSummary
    notes: list[str] = field(default_factory=list)

    @property
    def rejected(self) -> list[str]:
        return self.summary.rejected + self.summary.ignored

    def lines(self) -> list[str]:
        lines = list(self.notes)
        for file in self.summary.loaded:
            lines.append(f"OK        {file}")
        by_file: dict[str, list[Problem]] = {}
        for problem_file, problem in self.summary.problems:
            by_file.setdefault(problem_file, []).append(problem)
        for file in self.rejected:
            lines.append(f"REJECTED  {file}")
            for p in by_file.get(file, []):
                where = f"row {p.row}" if p.row is not None else "file"
                column = f", column {p.column}" if p.column else ""
                value = f", value {p.value!r}" if p.value else ""
                lines.append(f"    {where}{column}{value}: {p.reason}")
        for file, row in self.summary.repeated_rows:
            lines.append(f"WARNING   {file}: row {row} {REPEATED_ROW_WARNING}")
        return lines


def _copy_reference(connection: duckdb.DuckDBPyConnection, source: Path) -> None:
    connection.execute("attach ? as source (read_only)", [str(source)])
    try:
        for table in _REFERENCE_TABLES:
            connection.execute(f"insert into {table} by name select * from source.{table}")  # fixed table names
        connection.execute(
            "insert into current_slice select * from source.current_slice "
            "where kind in ('plants', 'factors', 'targets')"
        )
    finally:
        connection.execute("detach source")


def check_files(paths: list[Path], settings: Settings) -> CheckOutcome:
    """Validate ``paths`` as if delivered now, without loading them anywhere."""
    connection = duckdb.connect()
    create_schema(connection)
    load_reference(connection, settings)
    notes: list[str] = []
    source = next((p for p in (settings.published / PUBLISHED_NAME, settings.warehouse) if p.exists()), None)
    delivers_plants = any(kind_of(p.name) == "plants" for p in paths)
    if source is not None:
        _copy_reference(connection, source)
    elif not delivers_plants:
        notes.append("note: no warehouse and no plants file given, so plant_id values are not checked")
    rebuild_conversion(connection)
    files: list[LandedFile] = []
    ignored: list[tuple[str, Problem]] = []
    for path in paths:
        label = shown_name(str(path))  # a name that is not UTF-8 prints with \x escapes
        if not path.is_file():
            ignored.append((label, Problem(None, "", label, "no such file")))
        elif (kind := kind_of(path.name)) is None:
            ignored.append((label, Problem(None, "", path.name, "not a contract file: the name names no kind")))
        else:
            stat = os.stat(path)
            files.append(LandedFile(path, label, kind, stat.st_size, stat.st_mtime_ns))
    ingest = Ingest(connection, "check", pd.Timestamp.now(), settings.fiscal_year_start_month,
                    make_validator(settings, data_docs=False),
                    plants_known=source is not None or delivers_plants, settings=settings)
    summary = ingest.run(files, ignored)
    ingest.finish_validation()
    connection.close()
    return CheckOutcome(summary, notes)
