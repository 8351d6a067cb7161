"""Read the warehouse snapshot from notebooks: one call, one tidy DataFrame.

Every run copies the warehouse to a read-only snapshot (``<snapshot>/warehouse.duckdb``, see
``envkpi.pipeline.publish_snapshot``). The functions here open that copy read-only, run one query
with its values bound as parameters, close it and return a pandas DataFrame, so that staff read
the figures without writing SQL, and a notebook never blocks or sees half of the nightly run.
The folder comes from ``Settings().snapshot``; set ``ENVKPI_SNAPSHOT`` to read another one
(``ENVKPI_PUBLISHED``, its former name, still works). (The module keeps its name; a year's
publication, ``envkpi publish``, is another thing: ``publications()`` lists them.)

Examples::

    from envkpi.reporting import published

    published.kpi_results(fiscal_year=2017, scope_level="group")   # the CSR results table
    published.kpi_results(kpi="energy_intensity", scope_id="group")  # its trend, year by year
    published.plant_months("P01", 2017)          # monthly energy, production, ... of one plant
    published.rejections()                       # files rejected whole, one row per problem
    published.completeness(2017)                 # per plant and KPI, in % of plant-months
    published.missing_months(2017)               # which plant-month lacks which kind
    published.restatements()                     # what re-deliveries replaced
    published.boundary_warnings()                # rows outside a plant's reporting boundary
    published.emissions(2017)                    # Scope 1 and 2 per plant and supplier, location and market
    published.energy_conservation(2017)          # the Energy Conservation Act figures per JP plant
    published.publications()                     # envkpi publish: v1, v2, ... of each fiscal year
    published.restatements_since_publication()   # figures that differ from their publication
    published.trace("energy_intensity", 2017, "P01")  # every delivered row behind one figure
    published.query("select * from normalised_measure where plant_id = $plant", {"plant": "P01"})

Filters take one value or a list of values (``kpi=["energy_intensity", "waste_intensity"]``);
``None`` means all. Numbers leave the warehouse unrounded: round where a person reads them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import duckdb
import pandas as pd

from envkpi.contract import SLICE_KEY_SEPARATOR, monthly_kinds
from envkpi.settings import Settings
from envkpi.vocabulary import RATING_SYMBOLS, value_unit
from envkpi.warehouse.database import connect


class SnapshotMissing(FileNotFoundError):
    """No run has written a warehouse snapshot in the folder the settings name."""


def snapshot_path(settings: Settings | None = None) -> Path:
    """Where the snapshot is (or will be): ``<snapshot>/warehouse.duckdb``."""
    return (settings or Settings()).snapshot_file


def open_published(settings: Settings | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published snapshot; close it when done (or use ``with``).

    The calendar macros that the views use are re-created as temporary macros, so every
    relation of the warehouse (``accepted_*`` and ``raw_row_lineage`` views too) can be queried.
    """
    path = snapshot_path(settings)
    if not path.is_file():
        raise SnapshotMissing(
            f"no warehouse snapshot at {path}: run `make run` first (or `envkpi run`), "
            "or set ENVKPI_SNAPSHOT to the folder that holds warehouse.duckdb"
        )
    return connect(path, read_only=True)


def query(
    sql: str, parameters: Sequence[object] | dict[str, object] | None = None, settings: Settings | None = None
) -> pd.DataFrame:
    """Any read-only SQL on the snapshot, for staff who want it; values are bound, never formatted.

    Use ``?`` with a list, or ``$name`` with a dict: ``query("... where kpi = ?", ["energy_intensity"])``.
    """
    with open_published(settings) as connection:
        return connection.execute(sql, parameters).df()


def kpi_results(
    fiscal_year: int | Iterable[int] | None = None,
    scope_level: str | Iterable[str] | None = None,
    kpi: str | Iterable[str] | None = None,
    scope_id: str | Iterable[str] | None = None,
    settings: Settings | None = None,
) -> pd.DataFrame:
    """``kpi_results`` (contract 5), filtered, with the KPI's ``label``, ``value_unit``, ``rating_symbol`` and ``complete``.

    ``rating_symbol`` is ``***``, ``**`` or ``*`` (empty where there is no target); ``complete`` is
    False when some in-boundary plant-month lacked data: such a figure must be flagged where shown.
    """
    where, parameters = _where(
        {
            "fiscal_year": ("results.fiscal_year", fiscal_year),
            "scope_level": ("results.scope_level", scope_level),
            "kpi": ("results.kpi", kpi),
            "scope_id": ("results.scope_id", scope_id),
        }
    )
    frame = _frame(
        f"""
        select results.scope_level, results.scope_id, results.kpi, registry.label, results.fiscal_year,
               -- exact decimals in the warehouse; floats carry every digit a plant delivers
               cast(results.numerator as double) as numerator, results.numerator_unit,
               cast(results.denominator as double) as denominator, results.denominator_unit,
               results.value,
               registry.scale,  -- for value_unit, below
               results.base_year, results.base_value, results.change_vs_base_pct,
               results.target_pct, results.achievement_ratio, results.rating, results.completeness_pct
        from kpi_results as results
        left join reference_kpi as registry using (kpi)
        left join kpi_scope_level as scope_order using (scope_level)
        {where}
        order by scope_order.position, results.scope_id, results.kpi, results.fiscal_year
        """,
        parameters,
        settings,
    )
    # The unit a person reads the value in (GJ/t, or % for a rate), by the one rule of the vocabulary.
    scale = frame.pop("scale")
    frame.insert(
        frame.columns.get_loc("value") + 1,
        "value_unit",
        [
            value_unit(numerator, denominator, factor)
            for numerator, denominator, factor in zip(frame["numerator_unit"], frame["denominator_unit"], scale)
        ],
    )
    for column in ("fiscal_year", "base_year"):
        frame[column] = frame[column].astype("Int64")
    frame["rating_symbol"] = frame["rating"].map(RATING_SYMBOLS)
    frame["complete"] = frame["completeness_pct"] >= 100
    return frame


def plants(settings: Settings | None = None) -> pd.DataFrame:
    """The reporting boundary: one row per plant with its business unit and in-scope months."""
    return _frame(
        """
        select plant_id, name, business_unit, country,
               strftime(in_scope_from, '%Y-%m') as in_scope_from, strftime(in_scope_to, '%Y-%m') as in_scope_to
        from accepted_plants
        order by plant_id
        """,
        None,
        settings,
    )


def plant_months(plant_id: str, fiscal_year: int, settings: Settings | None = None) -> pd.DataFrame:
    """One plant's monthly measures in one fiscal year, one row per in-boundary month.

    Columns: ``period`` (``YYYY-MM``) and one column per measure of the KPI registry, named with
    its unit: ``energy_gj``, ``production_t``, ``waste_t``, ``chemicals_kg``, ``recycled_t``,
    ``co2_t_co2``. A month without a record of the measure's kind is empty (NaN), not zero: an
    absent month is missing data. A month delivered with nothing to report is 0.
    """
    frame = _frame(
        """
        with registry as (
            -- the KPIs that kpi_results reports: of a v1 kind, or of a v2 kind the group delivers
            select rowid as position, * from reference_kpi
            where own_kind in (select kind from contract_kind where version = 1)
               or own_kind in (select distinct kind from current_slice)
        ),
        measure_kind as (
            -- The kind whose records a measure comes from: a KPI's numerator comes from its own
            -- kind (recycled from waste, co2 from energy); production is its own kind.
            select numerator_measure as measure, numerator_unit as unit, own_kind as kind,
                   2 * position as position
            from registry
            union all
            select denominator_measure, denominator_unit,
                   case when denominator_measure = 'production' then 'production' else own_kind end,
                   2 * position + 1
            from registry
            where denominator_measure is not null
        ),
        measures as (
            select measure, unit, kind, min(position) as position from measure_kind group by all
        ),
        plant_month as (
            select plant_id, period_month
            from normalised_plant_month
            where plant_id = $plant_id and fiscal_year = $fiscal_year
        )
        select strftime(plant_month.period_month, '%Y-%m') as period,
               measures.measure, measures.unit, measures.position,
               case when record.kind is not null then coalesce(cast(amount.amount as double), 0) end as amount
        from plant_month
        cross join measures
        left join normalised_record as record
          on record.plant_id = plant_month.plant_id and record.period_month = plant_month.period_month
         and record.kind = measures.kind
        left join normalised_measure as amount
          on amount.plant_id = plant_month.plant_id and amount.period_month = plant_month.period_month
         and amount.measure = measures.measure
        order by plant_month.period_month, measures.position
        """,
        {"plant_id": plant_id, "fiscal_year": _scalar(fiscal_year)},
        settings,
    )
    if frame.empty:
        raise ValueError(
            f"plant {plant_id!r} has no months inside the reporting boundary in FY{fiscal_year}: "
            "check plant_id and fiscal_year against published.plants() and published.kpi_results()"
        )
    frame["column"] = frame["measure"] + "_" + frame["unit"].str.lower().str.replace(r"[^0-9a-z]+", "_", regex=True)
    columns = frame.sort_values("position")["column"].drop_duplicates().tolist()
    wide = frame.pivot(index="period", columns="column", values="amount")[columns]
    wide.columns.name = None
    return wide.reset_index()


def rejections(settings: Settings | None = None) -> pd.DataFrame:
    """Files currently rejected whole, one row per problem: ``file``, ``row``, ``column``, ``value``, ``reason``.

    A rejected file counts as fixed once a later delivery under the same path was accepted.
    ``first_rejected_at`` is when its content was first rejected (later runs check it again).
    """
    frame = _frame(
        """
        select delivery.source_file as file, rejection."row", rejection."column", rejection.value,
               rejection.reason, delivery.kind, delivery.ingested_at as first_rejected_at
        from delivery
        join rejection using (delivery_id)
        where delivery.status = 'rejected'
          and not exists (
              select 1 from delivery as fixed
              where fixed.source_file = delivery.source_file and fixed.status = 'accepted'
                and fixed.delivery_id > delivery.delivery_id
          )
        order by file, rejection."row" nulls first, rejection."column"
        """,
        None,
        settings,
    )
    frame["row"] = frame["row"].astype("Int64")
    return frame


def completeness(
    fiscal_year: int | Iterable[int] | None = None,
    scope_level: str | Iterable[str] | None = "plant",
    settings: Settings | None = None,
) -> pd.DataFrame:
    """``completeness_pct`` per scope, fiscal year and KPI (plants by default), with ``complete``.

    The share of in-boundary plant-months with both a production record and a record of the
    KPI's own kind (contract 4). ``missing_months`` says which months those are.
    """
    frame = kpi_results(fiscal_year=fiscal_year, scope_level=scope_level, settings=settings)
    return frame[["scope_level", "scope_id", "fiscal_year", "kpi", "completeness_pct", "complete"]]


def missing_months(
    fiscal_year: int | Iterable[int] | None = None,
    plant_id: str | Iterable[str] | None = None,
    settings: Settings | None = None,
) -> pd.DataFrame:
    """In-boundary plant-months without any record of a monthly kind: ``plant_id``, ``period``, ``kind``."""
    where, parameters = _where(
        {
            "fiscal_year": ("plant_month.fiscal_year", fiscal_year),
            "plant_id": ("plant_month.plant_id", plant_id),
        }
    )
    parameters["kinds"] = list(monthly_kinds())
    return _frame(
        f"""
        with monthly_kind as (
            -- the v1 kinds, and the v2 kinds the group delivers at all: no water file ever is no
            -- missing month
            select unnest($kinds) as kind
            intersect
            (select kind from contract_kind where version = 1 union select distinct kind from current_slice)
        )
        select plant_month.plant_id, plant_month.business_unit, plant_month.fiscal_year,
               strftime(plant_month.period_month, '%Y-%m') as period, monthly_kind.kind
        from normalised_plant_month as plant_month
        cross join monthly_kind
        {where}
        {"and" if where else "where"} not exists (
            select 1 from normalised_record as record
            where record.plant_id = plant_month.plant_id and record.period_month = plant_month.period_month
              and record.kind = monthly_kind.kind
        )
        order by plant_month.plant_id, plant_month.period_month, monthly_kind.kind
        """,
        parameters,
        settings,
    )


def restatements(settings: Settings | None = None) -> pd.DataFrame:
    """What re-deliveries replaced: one row per (superseded file, file that replaced it).

    ``slices`` counts the (kind, plant, month) slices replaced (a reference kind's own slices for
    plants, factors and targets), ``rows`` the superseded rows, and ``detail`` names the slices
    (``P01 2017-08``). The superseded rows stay queryable in ``raw_row_lineage``.
    """
    return _frame(
        """
        with superseded as (
            select kind, slice_key, delivery_id, count(*) as superseded_rows
            from raw_row_lineage
            where status = 'superseded'
            group by all
        ),
        replaced as (
            -- The next delivery that stated the same slice replaced it.
            select superseded.*,
                   (select min(later.delivery_id) from raw_row_lineage as later
                    where later.kind = superseded.kind and later.slice_key = superseded.slice_key
                      and later.delivery_id > superseded.delivery_id) as replaced_by_id
            from superseded
        )
        select replaced.kind,
               old.source_file as file,
               old.ingested_at as delivered_at,
               new.source_file as replaced_by,
               new.ingested_at as replaced_at,
               count(*) as slices,
               sum(replaced.superseded_rows) as "rows",
               string_agg(replace(replaced.slice_key, $separator, ' '), ', ' order by replaced.slice_key) as detail
        from replaced
        join delivery as old on old.delivery_id = replaced.delivery_id
        left join delivery as new on new.delivery_id = replaced.replaced_by_id
        group by all
        order by replaced_at, file, kind
        """,
        {"separator": SLICE_KEY_SEPARATOR},
        settings,
    ).astype({"slices": "int64", "rows": "int64"})


def boundary_warnings(settings: Settings | None = None) -> pd.DataFrame:
    """Delivered rows for a plant-month outside the plant's boundary: ignored with a warning (contract 2)."""
    frame = _frame(
        'select file, "row", kind, plant_id, period from boundary_excluded_rows order by file, "row"',
        None,
        settings,
    )
    frame["row"] = frame["row"].astype("Int64")
    return frame


def runs(settings: Settings | None = None) -> pd.DataFrame:
    """The pipeline runs recorded in the snapshot, oldest first; the last one is the data's cut-off."""
    return _frame("select * from ingest_run order by started_at", None, settings)


def emissions(fiscal_year: int, settings: Settings | None = None) -> pd.DataFrame:
    """Scope 1 and 2 t-CO2 of one fiscal year per plant, Scope and supplier, location- against
    market-based (contract 8): the same per-row figures that ``scope*_co2`` in kpi_results sum,
    in-boundary plant-months only. ``supplier`` is empty for rows that name none."""
    frame = _frame(
        """
        select emission.plant_id, plants.name as plant_name, emission.scope,
               coalesce(emission.supplier, '') as supplier,
               cast(sum(emission.location_t_co2) as double) as location_t_co2,
               cast(sum(emission.market_t_co2) as double) as market_t_co2
        from energy_emissions_since(0, $start_month) as emission
        join normalised_plant_month as plant_month using (plant_id, period_month)
        join accepted_plants as plants using (plant_id)
        where emission.fiscal_year = $fiscal_year
        group by all
        order by emission.plant_id, emission.scope, supplier
        """,
        {"fiscal_year": _scalar(fiscal_year), "start_month": (settings or Settings()).fiscal_year_start_month},
        settings,
    )
    return frame


def energy_conservation(fiscal_year: int, settings: Settings | None = None) -> pd.DataFrame:
    """The Energy Conservation Act figures of one fiscal year, per JP plant and in total: the rows
    of ``regulatory/energy_conservation_FY<fy>.csv`` (``sql/filings/energy_conservation_report.sql``)."""
    from envkpi.warehouse.database import sql

    frame = _frame(
        f"select * exclude (fiscal_year) from ({sql('energy_conservation_report')}) where fiscal_year = $fiscal_year",
        {"fiscal_year": _scalar(fiscal_year), "fiscal_years": [_scalar(fiscal_year)]},
        settings,
    )
    return frame


def publications(settings: Settings | None = None) -> pd.DataFrame:
    """The publications of fiscal years (``envkpi publish``): year, version, time, note, complete."""
    from envkpi.warehouse.publication import publications as listed

    with open_published(settings) as connection:
        return listed(connection)


def restatements_since_publication(settings: Settings | None = None) -> pd.DataFrame:
    """Figures that differ from the latest publication of their year, with the files that caused it
    (the rows of ``restatements_since_publication.csv``, contract 10)."""
    from envkpi.warehouse.publication import restatements as differing

    settings = settings or Settings()
    with open_published(settings) as connection:
        return differing(connection, settings.fiscal_year_start_month)


def trace(kpi: str, fiscal_year: int, scope_id: str = "group", settings: Settings | None = None) -> pd.DataFrame:
    """Every plant-month, measure, delivered row and file behind one figure, and the totals that
    reconcile to its numerator and denominator (``envkpi trace``; see ``envkpi.warehouse.tracing``)."""
    from envkpi.warehouse.tracing import trace as traced

    with open_published(settings) as connection:
        return traced(connection, kpi, int(fiscal_year), scope_id, (settings or Settings()).fiscal_year_start_month)


# --- helpers --------------------------------------------------------------------------------


def _frame(sql: str, parameters: dict[str, object] | None, settings: Settings | None) -> pd.DataFrame:
    with open_published(settings) as connection:
        return connection.execute(sql, parameters or {}).df()


def _scalar(value: object) -> object:
    """A plain Python value: numpy scalars (as pandas hands them out) become int, str, ..."""
    return value.item() if hasattr(value, "item") and not isinstance(value, (str, bytes)) else value


def _where(filters: dict[str, tuple[str, object]]) -> tuple[str, dict[str, object]]:
    """A ``where`` clause over fixed column expressions with the wanted values bound as parameters.

    ``filters`` maps a parameter name to (column expression, wanted); ``None`` means no filter,
    a list (or tuple, set, Series) means any of its values.
    """
    clauses: list[str] = []
    parameters: dict[str, object] = {}
    for name, (column, wanted) in filters.items():
        if wanted is None:
            continue
        if isinstance(wanted, Iterable) and not isinstance(wanted, (str, bytes)):
            clauses.append(f"list_contains(${name}, {column})")
            parameters[name] = [_scalar(value) for value in wanted]
        else:
            clauses.append(f"{column} = ${name}")
            parameters[name] = _scalar(wanted)
    return ("where " + " and ".join(clauses)) if clauses else "", parameters
