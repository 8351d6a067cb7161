"""The lower bound: bare DuckDB reading the landing folder and computing the group KPIs at once.

One process, one SQL statement: ``read_csv`` over every file of each kind under the landing folder
(by position, or with ``--union-by-name`` by column name), the shipped KPI registry and conversion factors (``data/reference``), the
same unit conversions, factors valid per fiscal year, reporting boundary of the plants file and KPI
definitions as ``envkpi/warehouse/sql/normalised/normalised_measure.sql`` and ``kpi_results.sql``, for the group scope.
No validation, no lineage, no re-delivery rules, no exact decimals: what the pipeline costs on top
of this is the price of those.

With ``--union-by-name`` each kind's files are first read into a table of their own (DuckDB
keeps every file of a by-name read open at once, and the four kinds together can pass the limit
of open files), then the same statement runs over those tables.

The landing folder must hold each (kind, plant, month) once (as ``benchmarks.generate`` writes
it): without the delivery rules a re-delivered month would count twice.

    python -m benchmarks.bare_duckdb LANDING [--reference DIR] [--json OUT] [--union-by-name]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import duckdb

from benchmarks.method import time_and_report

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_REFERENCE = PROJECT_DIR / "data" / "reference"
RESULT_COLUMNS = ("kpi", "fiscal_year", "numerator", "denominator", "value", "change_vs_base_pct")


def _literal(path: str) -> str:
    return "'" + path.replace("'", "''") + "'"


MONTHLY_KINDS = ("energy", "production", "waste", "chemicals")


def kind_files_sql(landing: Path, kind: str, union_by_name: bool = False) -> str:
    """The rows of every file of one kind under the landing folder, as text."""
    landing_glob = Path(landing).resolve().as_posix()
    return (
        f"read_csv({_literal(f'{landing_glob}/**/{kind}_*.csv')}, "
        f"union_by_name = {'true' if union_by_name else 'false'}, all_varchar = true)"
    )


def group_kpis_sql(
    landing: Path,
    reference: Path = DEFAULT_REFERENCE,
    fiscal_year_start_month: int = 4,
    union_by_name: bool = False,
    sources: dict[str, str] | None = None,
) -> str:
    """The one statement: group KPIs per fiscal year straight from the delivered files.

    ``union_by_name`` matches columns by name in every file (files that order their columns
    differently); DuckDB then reads every file's header before the scan, which costs far more
    than the scan itself with tens of thousands of small files. The generated files all share
    one header, so the lower bound reads them by position. ``sources`` replaces a kind's
    ``read_csv`` by another relation (a table of its rows).
    """
    landing_glob = Path(landing).resolve().as_posix()
    reference_dir = Path(reference).resolve().as_posix()

    def files(kind: str) -> str:
        return (sources or {}).get(kind) or kind_files_sql(landing, kind, union_by_name)

    start = int(fiscal_year_start_month)
    return f"""
with
plants as (
    select plant_id,
           cast(in_scope_from || '-01' as date) as in_scope_from,
           cast(in_scope_to || '-01' as date) as in_scope_to
    from read_csv({_literal(f"{landing_glob}/**/plants*.csv")}, union_by_name = true, all_varchar = true)
),
factors as (
    select energy_type, unit, measure, cast(per_unit as double) as per_unit,
           coalesce(cast(valid_from_fy as integer), 0) as valid_from_fy,
           coalesce(cast(valid_to_fy as integer), 9999) as valid_to_fy
    from read_csv({_literal(f"{reference_dir}/*_factors.csv")}, union_by_name = true, all_varchar = true)
),
kpis as (
    select kpi, numerator_measure, denominator_measure, cast(scale as double) as scale,
           cast(base_fiscal_year as integer) as base_fiscal_year
    from read_csv({_literal(f"{reference_dir}/kpis.csv")}, all_varchar = true)
),
mass(unit, to_t, to_kg) as (values ('t', 1.0, 1000.0), ('kg', 0.001, 1.0), ('g', 0.000001, 0.001)),
energy as (
    select plant_id, cast(period || '-01' as date) as period_month, energy_type, unit,
           cast(quantity as double) as quantity
    from {files("energy")}
),
measures as (
    select energy.plant_id, energy.period_month, factors.measure, energy.quantity * factors.per_unit as amount
    from energy
    join factors
      on factors.energy_type = energy.energy_type and factors.unit = energy.unit
     and year(energy.period_month) - (month(energy.period_month) < {start})::int
         between factors.valid_from_fy and factors.valid_to_fy
    union all
    select plant_id, cast(period || '-01' as date), 'production', cast(quantity as double) * mass.to_t
    from {files("production")} join mass using (unit)
    union all
    select plant_id, cast(period || '-01' as date), measure, cast(quantity as double) * mass.to_t
    from {files("waste")} as waste join mass using (unit)
    cross join (values ('waste'), ('recycled')) as m(measure)
    where measure = 'waste' or treatment in ('recycled', 'valuable')
    union all
    select plant_id, cast(period || '-01' as date), 'chemicals', cast(quantity as double) * mass.to_kg
    from {files("chemicals")} join mass using (unit)
),
yearly as (
    select year(period_month) - (month(period_month) < {start})::int as fiscal_year, measure,
           sum(amount) as amount
    from measures
    join plants using (plant_id)
    where period_month between coalesce(plants.in_scope_from, date '0001-01-01')
                           and coalesce(plants.in_scope_to, date '9999-12-01')
    group by all
),
kpi_value as (
    select kpis.kpi, years.fiscal_year, numerator.amount as numerator, denominator.amount as denominator,
           numerator.amount / nullif(denominator.amount, 0) * kpis.scale as value, kpis.base_fiscal_year
    from kpis
    cross join (select distinct fiscal_year from yearly) as years
    left join yearly as numerator
      on numerator.fiscal_year = years.fiscal_year and numerator.measure = kpis.numerator_measure
    left join yearly as denominator
      on denominator.fiscal_year = years.fiscal_year and denominator.measure = kpis.denominator_measure
)
select kpi_value.kpi, kpi_value.fiscal_year, kpi_value.numerator, kpi_value.denominator, kpi_value.value,
       (1 - kpi_value.value / nullif(base.value, 0)) * 100 as change_vs_base_pct
from kpi_value
left join kpi_value as base on base.kpi = kpi_value.kpi and base.fiscal_year = kpi_value.base_fiscal_year
order by kpi_value.kpi, kpi_value.fiscal_year
"""


def group_kpis(
    landing: Path, reference: Path = DEFAULT_REFERENCE, fiscal_year_start_month: int = 4, union_by_name: bool = False
) -> list[dict]:
    """The group KPI rows (``RESULT_COLUMNS``), one per KPI and fiscal year."""
    connection = duckdb.connect()
    sources = {}
    try:
        if union_by_name:
            # By name, DuckDB keeps every file of a statement open at once: the four kinds of
            # 2,000 plants x 15 years are 28,800 files, more than the hard limit of open files
            # here (20,000). One kind at a time (7,200), each into a table of its own, fits.
            allow_open_files()
            for kind in MONTHLY_KINDS:
                connection.execute(
                    f"create temp table delivered_{kind} as select * from "
                    f"{kind_files_sql(landing, kind, union_by_name=True)}"
                )
                sources[kind] = f"delivered_{kind}"
        rows = connection.execute(
            group_kpis_sql(landing, reference, fiscal_year_start_month, union_by_name, sources)
        ).fetchall()
    finally:
        connection.close()
    return [dict(zip(RESULT_COLUMNS, row)) for row in rows]


def allow_open_files() -> tuple[int, int]:
    """Raise this process's soft limit of open files to its hard limit; returns the new limits.

    Many systems start processes with a soft limit of 1,024, fewer than one kind's files.
    """
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bare_duckdb", description=__doc__.split("\n\n")[0])
    parser.add_argument("landing", type=Path)
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE)
    parser.add_argument("--json", type=Path, help="write the result rows and the time here")
    parser.add_argument("--union-by-name", action="store_true", help="match columns by name in every file")
    args = parser.parse_args(argv)
    return time_and_report(
        lambda: group_kpis(args.landing, args.reference, union_by_name=args.union_by_name), args.json
    )


if __name__ == "__main__":
    raise SystemExit(main())
