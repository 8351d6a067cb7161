"""The reference data deliveries are checked against now, in a warehouse of their own.

``envkpi check`` (a plant checking its files before sending them) and the templates read the
plants, factors and targets that the next night would check against: those of the published
snapshot, or of the warehouse before the first snapshot, beside the shipped registry and factors.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from envkpi.contract import KINDS
from envkpi.settings import Settings
from envkpi.warehouse.database import create_schema, load_reference, rebuild_conversion


def _reference_kinds() -> list[str]:
    """The reference kinds (plants, factors, targets, ...) whose rows a check copies."""
    return [name for name, kind in KINDS.items() if not kind.monthly]


def _copy_reference(connection: duckdb.DuckDBPyConnection, source: Path) -> None:
    connection.execute("attach ? as source (read_only)", [str(source)])
    try:
        source_tables = {
            name
            for (name,) in connection.execute(
                "select table_name from duckdb_tables() where database_name = 'source'"
            ).fetchall()
        }
        for kind in _reference_kinds():
            table = f"raw_{kind}"
            if table in source_tables:  # a warehouse from before the kind existed has none
                # the contract's table names, never a delivered text
                connection.execute(f"insert into {table} by name select * from source.{table}")
        connection.execute(
            "insert into current_slice select * from source.current_slice where list_contains(?, kind)",
            [_reference_kinds()],
        )
    finally:
        connection.execute("detach source")


def reference_connection(settings: Settings) -> tuple[duckdb.DuckDBPyConnection, Path | None]:
    """An in-memory warehouse holding the reference data deliveries are checked against now.

    The shipped registry and factors, and the plants, factors and targets of the published snapshot
    (or the warehouse when nothing is published); returns it and the file copied from (or None).
    """
    connection = duckdb.connect()
    create_schema(connection)
    load_reference(connection, settings)
    source = next((p for p in (settings.snapshot_file, settings.warehouse) if p.exists()), None)
    if source is not None:
        _copy_reference(connection, source)
    rebuild_conversion(connection)
    return connection, source
