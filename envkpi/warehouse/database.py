"""The DuckDB warehouse: its layers, built from the SQL files in ``envkpi/warehouse/sql``.

Layers, in the order they build on each other:

- stored: ``ingest_run``, ``delivery``, ``rejection``, ``raw_<kind>``, ``current_slice``
  (``warehouse_schema.sql``);
- ``raw_<kind>`` tables and ``accepted_<kind>`` views, which follow from the contract definition
  (``envkpi/warehouse/schema.py``): the typed rows of the delivery that currently states each slice;
- ``reference_*``: the shipped KPI registry and conversion factors (``data/reference``);
- ``kpi_rating`` and ``kpi_scope_level``: the KPI vocabulary (``envkpi/vocabulary.py``);
- ``normalised_*`` tables: boundary plant-months, conversion factors per year, measures;
- ``kpi_results`` and ``kpi_like_for_like`` (its like-for-like columns, contract 10);
- ``publication``, ``publication_result``, ``publication_delivery``: the publications of fiscal
  years (``publication_schema.sql``, ``envkpi.warehouse.publication``).

Each SQL file builds the relation it is named for. Values reach SQL only as parameters.
"""

from __future__ import annotations

import functools
import hashlib
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from envkpi.contract import number_columns
from envkpi.reporting.export import replace_atomically
from envkpi.runtime import memory, timing
from envkpi.runtime.faults import fault_point
from envkpi.settings import SQL_DIR, Settings
from envkpi.vocabulary import RATINGS, SCOPE_LEVELS
from envkpi.warehouse.schema import contract_statements

# Build order of the derived layers. Each run brings them up to date: normalised_record and
# normalised_measure slice by slice (only what the run's deliveries restate), kpi_results and
# kpi_like_for_like for the fiscal years that restates, the small tables whole.
DERIVED_TABLES = (
    "normalised_conversion",
    "normalised_emission_factor",
    "normalised_restated",
    "normalised_record",
    "normalised_plant_month",
    "normalised_measure",
    "normalised_year",
    "kpi_results",
    "kpi_like_for_like",
    "boundary_excluded_rows",
)

# What the slice-by-slice tables were built with; when it changes they are rebuilt whole.
_BUILD_STATE = """
select
    cast($fiscal_year_start_month as integer) as fiscal_year_start_month,
    (select md5(coalesce(string_agg(concat_ws('|', fiscal_year, energy_type, unit, measure, per_unit), ','
                                    order by fiscal_year, energy_type, unit, measure), ''))
     from normalised_conversion) as conversion_fingerprint,
    (select md5(coalesce(string_agg(concat_ws('|', fiscal_year, energy_type, unit, basis, country, supplier_key,
                                              per_unit), ','
                                    order by fiscal_year, energy_type, unit, basis, country, supplier_key), ''))
     from normalised_emission_factor) ||
    (select md5(coalesce(string_agg(concat_ws('|', energy_type, scope), ',' order by energy_type), ''))
     from reference_energy_scope) as emission_fingerprint,
    (select md5(coalesce(string_agg(concat_ws('|', plant_id, coalesce(business_unit, '-'), coalesce(country, '-'),
                                              coalesce(cast(in_scope_from as varchar), '-'),
                                              coalesce(cast(in_scope_to as varchar), '-')), ','
                                    order by plant_id), ''))
     from accepted_plants) as boundary_fingerprint,
    (select md5(coalesce(string_agg(cast(registry_row as varchar), chr(10) order by registry_row.kpi), ''))
     from reference_kpi as registry_row) ||
    -- the kinds delivered at all decide which KPIs are reported (sql/kpi/kpi_results.sql)
    (select coalesce(string_agg(kind, ',' order by kind), '') from (select distinct kind from current_slice)) ||
    -- the rating scale rates every year (envkpi/vocabulary.py)
    (select coalesce(string_agg(concat_ws('|', rating, from_ratio), ',' order by from_ratio), '') from kpi_rating)
        as kpi_fingerprint
"""


def sql(name: str) -> str:
    """The text of ``envkpi/warehouse/sql/<layer>/<name>.sql``: files are named for what they
    build, so a name is unique across the layers' folders."""
    return _sql_files()[name].read_text(encoding="utf-8")


@functools.cache
def _sql_files() -> dict[str, Path]:
    files: dict[str, Path] = {}
    for path in sorted(SQL_DIR.glob("*/*.sql")):
        if path.stem in files:
            raise RuntimeError(f"two SQL files build {path.stem}: {files[path.stem]} and {path}")
        files[path.stem] = path
    return files


def one_row(
    connection: duckdb.DuckDBPyConnection, query: str, parameters: Sequence[object] | dict[str, object] | None = None
) -> tuple[Any, ...]:
    """The row of a query that always returns one (an aggregate, a lookup known to match)."""
    row = connection.execute(query, parameters).fetchone()
    if row is None:  # a broken warehouse, not a state a run can be in
        raise LookupError(f"no row from the query: {query.strip().splitlines()[0]}")
    return row


def _parameters_used(statement: str, parameters: dict[str, object]) -> dict[str, object]:
    return {name: value for name, value in parameters.items() if f"${name}" in statement}


def execute_file(connection: duckdb.DuckDBPyConnection, name: str, parameters: dict[str, object] | None = None) -> None:
    """Run every statement of one SQL file, binding the named parameters it uses."""
    for statement in sql(name).split(";\n"):
        if statement.strip() and not all(
            line.strip().startswith("--") or not line.strip() for line in statement.splitlines()
        ):
            connection.execute(statement, _parameters_used(statement, parameters or {}))


def connect(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse (creating its folder and schema when writable)."""
    if read_only:
        connection = duckdb.connect(str(path), read_only=True)
        execute_file_macros(connection)
        create_vocabulary(connection, temporary=True)
        return connection
    path.parent.mkdir(parents=True, exist_ok=True)
    # A bounded working set (runtime.memory): a full rebuild of a large group's history fits
    # beside the pipeline's own batches.
    connection = duckdb.connect(str(path), config=memory.warehouse_settings())
    create_schema(connection)
    return connection


def execute_file_macros(connection: duckdb.DuckDBPyConnection) -> None:
    """Macros live in the catalog, but a read-only connection may predate them: make them temporary."""
    for statement in sql("macros").split(";\n"):
        if "create or replace macro" in statement:
            connection.execute(statement.replace("create or replace macro", "create or replace temp macro"))


def create_vocabulary(connection: duckdb.DuckDBPyConnection, temporary: bool = False) -> None:
    """``kpi_rating`` and ``kpi_scope_level`` from ``envkpi.vocabulary`` (temporary tables on a
    read-only connection, whose snapshot may predate them)."""
    parameters: dict[str, object] = {
        "rating_words": [rating.word for rating in RATINGS],
        "rating_symbols": [rating.symbol for rating in RATINGS],
        "rating_from_ratio": [rating.from_ratio for rating in RATINGS],
        "scope_levels": list(SCOPE_LEVELS),
    }
    if not temporary:
        execute_file(connection, "kpi_vocabulary", parameters)
        return
    for statement in sql("kpi_vocabulary").split(";\n"):
        if "create or replace table" in statement:
            statement = statement.replace("create or replace table", "create or replace temp table")
            connection.execute(statement, _parameters_used(statement, parameters))


def create_schema(connection: duckdb.DuckDBPyConnection) -> None:
    """Create the stored tables and (re)create the views, idempotently."""
    execute_file(connection, "macros")
    create_vocabulary(connection)
    execute_file(connection, "warehouse_schema")
    execute_file(connection, "publication_schema")
    for statement in contract_statements():
        connection.execute(statement)
    execute_file(connection, "raw_row_lineage")


def _reference_csv(settings: Settings, name: str) -> pd.DataFrame:
    return pd.read_csv(settings.reference / name, dtype=str, keep_default_na=False).fillna("")


@timing.phase("load reference")
def load_reference(connection: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """(Re)load the shipped reference data into ``reference_*`` tables: the KPI registry, the
    conversion factors, the Scope of each energy type and the Energy Conservation Act's figures."""
    registry = _reference_csv(settings, "kpis.csv")
    # Sales and purchases KPIs count in the reporting currency, whichever it is.
    registry = registry.replace("{reporting_currency}", settings.reporting_currency)
    connection.register("kpi_registry_frame", registry)
    connection.execute(
        """
        create or replace table reference_kpi as
        select kpi, label, numerator_measure, numerator_unit,
               nullif(denominator_measure, '') as denominator_measure,
               nullif(denominator_unit, '') as denominator_unit,
               cast(scale as double) as scale,
               cast(nullif(base_fiscal_year, '') as integer) as base_fiscal_year,
               target_kind, own_kind,
               -- v1 KPIs count a plant-month as complete with a production record and one of
               -- their own kind; the absolute KPIs and the v2 rates with their own kind alone.
               coalesce(nullif(completeness_needs_production, ''), 'yes') = 'yes' as completeness_needs_production
        from kpi_registry_frame
        """
    )
    connection.unregister("kpi_registry_frame")
    factor_files = sorted(settings.reference.glob("*_factors.csv"))
    factors = pd.concat(
        [pd.read_csv(path, dtype=str, keep_default_na=False).assign(source_file=path.name) for path in factor_files],
        ignore_index=True,
    )
    connection.register("conversion_frame", factors)
    connection.execute(
        """
        create or replace table reference_conversion as
        select energy_type, unit, measure, measure_unit,
               cast(per_unit as decimal(18, 9)) as per_unit, source,
               cast(nullif(valid_from_fy, '') as integer) as valid_from_fy,
               cast(nullif(valid_to_fy, '') as integer) as valid_to_fy,
               source_file
        from conversion_frame
        """
    )
    connection.unregister("conversion_frame")
    connection.register("scope_frame", _reference_csv(settings, "energy_scopes.csv"))
    connection.execute(
        "create or replace table reference_energy_scope as "
        "select energy_type, cast(scope as integer) as scope, source from scope_frame"
    )
    connection.unregister("scope_frame")
    connection.register("act_frame", _reference_csv(settings, "energy_conservation.csv"))
    connection.execute(
        "create or replace table reference_energy_conservation as "
        "select name, cast(value as decimal(18, 6)) as value, unit, source from act_frame"
    )
    connection.unregister("act_frame")


@timing.phase("validation: numbers the warehouse can store")
def unstorable_numbers(connection: duckdb.DuckDBPyConnection, rows: pa.Table) -> list[tuple[str, int, str, str]]:
    """(source_file, source_row, column, text) of each delivered number the warehouse cannot cast."""
    # What the accepted_* views cast delivered numbers to (contract.NUMBER_TYPES, read at call
    # time: a test may add a kind). A number that passes validation must also fit there: one that
    # does not ("0e999999", 30 digits) would otherwise fail the rebuild of every later run,
    # whatever else those runs deliver.
    found: list[tuple[str, int, str, str]] = []
    for column, sql_type in number_columns().items():
        if column not in rows.column_names or not len(rows):
            continue
        values = rows.select(["source_file", "source_row", column]).rename_columns(
            ["source_file", "source_row", "value"]
        )
        connection.register("numbers_to_store", values)
        try:
            found += [
                (file, int(row), column, value)
                for file, row, value in connection.execute(
                    # sql_type comes from the fixed map above, never from delivered text
                    f"select source_file, source_row, value from numbers_to_store "
                    f"where value is not null and try_cast(value as {sql_type}) is null order by all"
                ).fetchall()
            ]
        finally:
            connection.unregister("numbers_to_store")
    return found


@timing.phase("rebuild conversion")
def rebuild_conversion(connection: duckdb.DuckDBPyConnection) -> None:
    """Rebuild the per-year conversion factors after delivered ``factors`` changed."""
    execute_file(connection, "normalised_conversion")


@timing.phase("KPI rebuild (normalised + kpi_results)")
def rebuild_derived(
    connection: duckdb.DuckDBPyConnection, settings: Settings, since_delivery_id: int | None = None
) -> None:
    """Bring the normalised layer and ``kpi_results`` up to date with the accepted layer.

    ``since_delivery_id`` is the first delivery of this run: only the slices that deliveries from
    there on state are recomputed. Everything is rebuilt when it is None, or when the conversion
    factors, the plants' boundary, the KPI registry, the fiscal-year start or the SQL and contract
    that build the layers differ from the last build. ``kpi_results`` is computed again for the
    fiscal years the restated slices fall in (see sql/kpi/kpi_results.sql). When no delivery from
    ``since_delivery_id`` on was accepted and the state is that of the last build (a night with
    nothing new, or only rejected files), every derived table is already what a rebuild would
    give, and nothing is rebuilt beyond the factors.
    """
    fiscal_year_start_month = settings.fiscal_year_start_month
    for table in DERIVED_TABLES[:2]:  # the factors, small and rebuilt whole
        execute_file(connection, table)
    state = (
        *one_row(connection, _BUILD_STATE, {"fiscal_year_start_month": fiscal_year_start_month}),
        _layers_fingerprint(),
    )
    (columns,) = one_row(
        connection,
        "select count(*) from duckdb_columns() where table_name = 'normalised_build' and schema_name = 'main'",
    )
    if columns != len(state):  # a warehouse built before the state had its current columns: rebuild once
        connection.execute("drop table if exists normalised_build")
    connection.execute(
        "create table if not exists normalised_build (fiscal_year_start_month integer, "
        "conversion_fingerprint varchar, emission_fingerprint varchar, boundary_fingerprint varchar, "
        "kpi_fingerprint varchar, layers_fingerprint varchar)"
    )
    built = connection.execute("select * from normalised_build").fetchone()
    if since_delivery_id is None or built != state:
        since_delivery_id = 0
    elif not one_row(
        connection, "select count(*) from delivery where status = 'accepted' and delivery_id >= ?", [since_delivery_id]
    )[0]:
        return  # the same inputs as the last build: its tables stand (the rejected files change none)
    parameters: dict[str, object] = {
        "fiscal_year_start_month": fiscal_year_start_month,
        "since_delivery_id": since_delivery_id,
        # names this build in normalised_year: random, so that a build id never stands for two
        # contents, not even across warehouses that share a reports folder
        "build_id": uuid.uuid4().hex,
    }
    for table in DERIVED_TABLES[2:]:
        execute_file(connection, table, parameters)
        fault_point(f"derived:{table}")
    connection.execute("delete from normalised_build")
    connection.execute("insert into normalised_build values (?, ?, ?, ?, ?, ?)", list(state))


def _layers_fingerprint() -> str:
    """The code that builds the derived layers: every SQL file and the contract's statements
    (read at call time: a test may add a kind). A new version of either rebuilds them whole."""
    digest = hashlib.sha256()
    for name, path in sorted(_sql_files().items()):
        digest.update(name.encode("utf-8") + b"\0" + path.read_bytes())
    digest.update("\n".join(contract_statements()).encode("utf-8"))
    return digest.hexdigest()


def year_builds(connection: duckdb.DuckDBPyConnection) -> dict[int, str]:
    """Each fiscal year with data, and the build that last restated its normalised rows
    (``sql/normalised/normalised_year.sql``). A warehouse built before that table existed gives
    every year a new random build, so that whatever is made from them is made again."""
    (exists,) = one_row(
        connection,
        "select count(*) from duckdb_tables() where table_name = 'normalised_year' and schema_name = 'main'",
    )
    query = (
        "select fiscal_year, build_id from normalised_year"
        if exists
        else "select fiscal_year, cast(uuid() as varchar) from (select distinct fiscal_year from normalised_plant_month)"
    )
    return {int(year): str(build) for year, build in connection.execute(query).fetchall()}


def write_kpi_results_csv(connection: duckdb.DuckDBPyConnection, path: Path) -> Path:
    """``reports/kpi_results.csv``, written by DuckDB from ``sql/kpi/kpi_results_export.sql``.

    The same rows, order and text as ``export.write_csv(kpi_results_frame(...))`` gives.
    """
    query = sql("kpi_results_export")
    replace_atomically(path, lambda tmp: connection.sql(query).write_csv(str(tmp), header=True))
    return path


@timing.phase("kpi_results to pandas")
def kpi_results_frame(connection: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """``kpi_results`` in a stable order, as the contract's CSV holds it.

    Numerators and denominators are exact decimals in the warehouse; they leave it as floats,
    which carry every digit a plant delivers (17 significant digits).
    """
    frame = connection.execute(
        """
        select kpi_results.* replace (cast(numerator as double) as numerator,
                                      cast(denominator as double) as denominator),
               -- contract 10: appended after the contract 5 columns
               like_for_like.* exclude (scope_level, scope_id, kpi, fiscal_year)
        from kpi_results
        left join kpi_like_for_like as like_for_like using (scope_level, scope_id, kpi, fiscal_year)
        left join kpi_scope_level as scope_order using (scope_level)
        order by scope_order.position, scope_id, kpi, fiscal_year
        """
    ).df()
    for column in ("fiscal_year", "base_year"):
        frame[column] = frame[column].astype("Int64")
    return frame
