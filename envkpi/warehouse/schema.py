"""The warehouse relations that follow from the contract definition (``envkpi/contract.py``).

- ``raw_<kind>``: every row of every accepted file as delivered (trimmed text), with its lineage;
- ``accepted_<kind>``: the typed rows of the delivery that currently states each slice;
- the per-kind unions the derived SQL reads instead of listing kinds: ``raw_rows`` (every kind),
  ``raw_monthly_rows`` and ``accepted_monthly_rows`` (the monthly kinds), ``contract_kind``,
  ``measure_unit_factor`` (delivered unit to reporting unit, per measure);
- ``kind_measure_amounts(since_delivery_id)``: the measures the monthly kinds' rows add to (waste,
  recycled, production, ...), per plant-month, in their reporting units.

Only identifiers and constants of the contract definition are written into this SQL (each
checked against a strict pattern); no delivered value ever is.
"""

from __future__ import annotations

import re

from envkpi.contract import KINDS, STORED_AS, Kind, Measure, monthly_kinds

_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")
_CONSTANT = re.compile(r"[A-Za-z0-9_.\- ]*")


def _name(text: str) -> str:
    if not _IDENTIFIER.fullmatch(text):
        raise ValueError(f"not a contract identifier: {text!r}")
    return text


def _literal(text: str) -> str:
    if not _CONSTANT.fullmatch(text):
        raise ValueError(f"not a contract constant: {text!r}")
    return f"'{text}'"


def raw_table(kind: Kind) -> list[str]:
    """The raw table of a kind, and the columns a warehouse built before they existed lacks."""
    table = f"raw_{_name(kind.name)}"
    columns = ", ".join(f"{_name(c.name)} varchar" for c in kind.columns_)
    statements = [
        # slice_key identifies the (kind, plant, month) slice, or a reference kind's own slice;
        # is_repeat marks a row that repeats an earlier row's key in the same file (identically:
        # a repeat that disagrees rejects the file), kept here but counted once.
        f"create table if not exists {table} (delivery_id bigint not null, source_row integer not null, "
        f"slice_key varchar not null, is_repeat boolean not null, {columns}, extra_columns varchar)"
    ]
    statements += [f"alter table {table} add column if not exists {_name(c.name)} varchar" for c in kind.columns_]
    return statements


def _typed(column) -> str:
    typed = STORED_AS[column.type].format(_name(column.name))
    if column.empty_means is not None:
        typed = f"coalesce({typed}, {_literal(column.empty_means)})"
    return f"{typed} as {_name(column.typed_name)}"


def accepted_view(kind: Kind) -> str:
    """The typed rows of the delivery that currently states each of the kind's slices."""
    typed = ",\n    ".join(_typed(c) for c in kind.columns_)
    return (
        f"create or replace view accepted_{_name(kind.name)} as\n"
        f"with current_rows as (\n"
        f"    select raw.* from raw_{_name(kind.name)} as raw\n"
        f"    join current_slice as slice\n"
        f"      on slice.kind = {_literal(kind.name)} and slice.slice_key = raw.slice_key "
        f"and slice.delivery_id = raw.delivery_id\n"
        # A row repeated identically within one file is one record, never counted twice.
        f"    where not raw.is_repeat\n"
        f")\n"
        f"select\n    {typed},\n    delivery_id,\n    source_row\nfrom current_rows"
    )


def union_views() -> list[str]:
    """The per-kind unions, in the order they can be created."""
    every = "\nunion all ".join(
        f"select {_literal(k)} as kind, delivery_id, source_row, slice_key from raw_{_name(k)}" for k in KINDS
    )
    monthly = monthly_kinds()
    raw_monthly = "\nunion all ".join(
        f"select {_literal(k)} as kind, delivery_id, plant_id, period from raw_{_name(k)}" for k in monthly
    )
    accepted_monthly = "\nunion all ".join(
        f"select {_literal(k)} as kind, plant_id, period_month, delivery_id, source_row from accepted_{_name(k)}"
        for k in monthly
    )
    kinds = ", ".join(f"({_literal(k)}, {str(KINDS[k].monthly).lower()}, {int(KINDS[k].version)})" for k in KINDS)
    factors = ", ".join(
        f"({_literal(kind.name)}, {_literal(m.name)}, {_literal(m.unit)}, {_literal(u)}, cast({_literal(f)} as decimal(18, 6)))"
        for kind in KINDS.values()
        for m in kind.measures
        if m.per_unit
        for u, f in m.per_unit
    )
    measures = ", ".join(
        f"({_literal(kind.name)}, {_literal(m)})"
        for kind in KINDS.values()
        for m in [*(measure.name for measure in kind.measures), *kind.factor_measures]
    )
    return [
        f"create or replace view raw_rows as\n{every}",
        f"create or replace view raw_monthly_rows as\n{raw_monthly}",
        f"create or replace view accepted_monthly_rows as\n{accepted_monthly}",
        f"create or replace view contract_kind as select * from (values {kinds}) as kinds(kind, monthly, version)",
        # The kind each measure of normalised_measure comes from.
        f"create or replace view contract_measure as select * from (values {measures}) as measures(kind, measure)",
        # Per measure, the factor from each delivered unit to its reporting unit (contract.Measure).
        f"create or replace view measure_unit_factor as select * from (values {factors}) "
        f"as factors(kind, measure, reporting_unit, unit, per_unit)",
    ]


def _rows_counted(measure: Measure) -> str | None:
    """The condition on an accepted row (alias ``delivered``) that the measure counts, or None: all."""
    if measure.where is None:
        return None
    column, values = measure.where
    return f"delivered.{_name(column)} in ({', '.join(_literal(v) for v in values)})"


def _unit_factor(measure: Measure) -> str | None:
    """The factor from a row's delivered unit to the measure's unit, or None: summed as delivered."""
    if measure.per_unit is None:
        return None
    cases = " ".join(f"when {_literal(u)} then cast({_literal(f)} as decimal(18, 6))" for u, f in measure.per_unit)
    return f"(case delivered.unit {cases} end)"


def kind_measure_amounts() -> str:
    """A table macro: per kind, plant-month, measure and reporting unit, the amount that the rows
    of deliveries from ``since_delivery_id`` on add up to (contract.Measure).

    Quantities are summed per plant-month and delivered unit first and the sum converted: one
    38-digit product and rounding per sum instead of per row, the same figure or a closer one.
    Unit factors have 6 decimals, so that the product of the largest accepted sum still fits the
    38 digits. round(x, 10) is DuckDB's cast to decimal(38, 10) (half away from zero, same type)
    at two thirds of the cost.
    """
    parts = []
    for kind in KINDS.values():
        for measure in kind.measures:
            counted, factor = _rows_counted(measure), _unit_factor(measure)
            condition = f" and {counted}" if counted else ""
            if factor is None:  # summed as delivered: the unit is the reporting unit
                amount, unit = "round(sum(delivered.quantity), 10)", "delivered.unit"
            else:
                amount, unit = f"round(sum(delivered.quantity) * {factor}, 10)", _literal(measure.unit)
            parts.append(
                f"select {_literal(kind.name)} as kind, delivered.plant_id, delivered.period_month, "
                f"{_literal(measure.name)} as measure, {unit} as unit, {amount} as amount\n"
                f"from accepted_{_name(kind.name)} as delivered\n"
                f"where delivered.delivery_id >= since_delivery_id{condition}\n"
                f"group by delivered.plant_id, delivered.period_month, delivered.unit"
            )
    return "create or replace macro kind_measure_amounts(since_delivery_id) as table\n" + "\nunion all\n".join(parts)


def kind_measure_rows() -> str:
    """A view: each accepted row of a monthly kind with each measure it adds to, in the measure's
    reporting unit, exactly (no rounding), and what identifies it beyond plant and month
    (``detail``: its row key's other columns). The auditor's trace reads it (sql/publication/trace_rows.sql)."""
    parts = []
    for kind in KINDS.values():
        detail_columns = [c for c in kind.row_key if c not in kind.slice_columns]
        detail = (
            " || ' / ' || ".join(f"coalesce(delivered.{_name(c)}, '')" for c in detail_columns)
            if detail_columns
            else "cast(null as varchar)"
        )
        for measure in kind.measures:
            counted = _rows_counted(measure)
            condition = f" where {counted}" if counted else ""
            factor = _unit_factor(measure) or "cast(1 as decimal(18, 6))"
            parts.append(
                f"select {_literal(kind.name)} as kind, {_literal(measure.name)} as measure, delivered.plant_id, "
                f"delivered.period_month, {detail} as detail, delivered.quantity, delivered.unit, "
                f"{factor} as per_unit, delivered.quantity * {factor} as amount, delivered.delivery_id, "
                f"delivered.source_row\nfrom accepted_{_name(kind.name)} as delivered{condition}"
            )
    return "create or replace view kind_measure_rows as\n" + "\nunion all\n".join(parts)


def contract_statements() -> list[str]:
    """Every statement that creates or updates the contract's relations, in order."""
    statements: list[str] = []
    for kind in KINDS.values():
        statements += raw_table(kind)
    statements += [accepted_view(kind) for kind in KINDS.values()]
    statements += union_views()
    statements.append(kind_measure_amounts())
    statements.append(kind_measure_rows())
    return statements
