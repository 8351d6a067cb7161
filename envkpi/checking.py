"""`envkpi check`: the ingest's validation for a plant, before it sends its files.

The files go through the same reading and validation as a nightly run, into a throwaway
in-memory warehouse that holds a copy of the real one's reference data (plants, factors,
targets), taken from the snapshot (or the warehouse before the first snapshot).
Nothing is written anywhere.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from envkpi.contract import KINDS, kind_of
from envkpi.ingest import Ingest, IngestSummary, LandedFile
from envkpi.pipeline import SNAPSHOT_NAME, make_validator
from envkpi.readers import Problem
from envkpi.settings import Settings
from envkpi.warehouse import create_schema, load_reference, rebuild_conversion


def _reference_kinds() -> list[str]:
    """The reference kinds (plants, factors, targets, ...) whose rows a check copies."""
    return [name for name, kind in KINDS.items() if not kind.monthly]


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
        for file in self.rejected:
            lines.append(f"REJECTED  {file}")
            for problem_file, p in self.summary.problems:
                if problem_file == file:
                    where = f"row {p.row}" if p.row is not None else "file"
                    column = f", column {p.column}" if p.column else ""
                    value = f", value {p.value!r}" if p.value else ""
                    lines.append(f"    {where}{column}{value}: {p.reason}")
        return lines


def _copy_reference(connection: duckdb.DuckDBPyConnection, source: Path) -> None:
    connection.execute("attach ? as source (read_only)", [str(source)])
    try:
        source_tables = {name for (name,) in connection.execute(
            "select table_name from duckdb_tables() where database_name = 'source'").fetchall()}
        for kind in _reference_kinds():
            table = f"raw_{kind}"
            if table in source_tables:  # a warehouse from before the kind existed has none
                # the contract's table names, never a delivered text
                connection.execute(f"insert into {table} by name select * from source.{table}")
        connection.execute("insert into current_slice select * from source.current_slice where list_contains(?, kind)",
                           [_reference_kinds()])
    finally:
        connection.execute("detach source")


def check_files(paths: list[Path], settings: Settings) -> CheckOutcome:
    """Validate ``paths`` as if delivered now, without loading them anywhere."""
    connection = duckdb.connect()
    create_schema(connection)
    load_reference(connection, settings)
    notes: list[str] = []
    source = next((p for p in (settings.snapshot / SNAPSHOT_NAME, settings.warehouse) if p.exists()), None)
    delivers_plants = any(kind_of(p.name) == "plants" for p in paths)
    if source is not None:
        _copy_reference(connection, source)
    elif not delivers_plants:
        notes.append("note: no warehouse and no plants file given, so plant_id values are not checked")
    rebuild_conversion(connection)
    files: list[LandedFile] = []
    ignored: list[tuple[str, Problem]] = []
    for path in paths:
        label = str(path)
        if not path.is_file():
            ignored.append((label, Problem(None, "", label, "no such file")))
        elif (kind := kind_of(path.name)) is None:
            ignored.append((label, Problem(None, "", path.name, "not a contract file: the name names no kind")))
        else:
            stat = os.stat(path)
            files.append(LandedFile(path, label, kind, stat.st_size, stat.st_mtime_ns))
    ingest = Ingest(connection, "check", pd.Timestamp.now(), settings.fiscal_year_start_month,
                    make_validator(settings, data_docs=False),
                    plants_known=source is not None or delivers_plants,
                    reporting_currency=settings.reporting_currency)
    summary = ingest.run(files, ignored)
    ingest.finish_validation()
    connection.close()
    return CheckOutcome(summary, notes)
