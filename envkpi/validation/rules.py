"""The contract's rules that one column's value cannot decide alone.

Every other rule follows from a column's type in ``envkpi/contract.py``. These read two columns
of a row (a validity range), or a row against reference data that depends on the row (a factor
for the energy type and unit in the month's fiscal year). Each is one Great Expectations
expectation, appended to its kind's suite, over a column computed here when the rule needs one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from envkpi.contract import MONTH_PATTERN


@dataclass(frozen=True)
class Rule:
    kind: str
    description: str
    expectation: dict
    # The column the expectation reads, computed from a delivered table and the reference data;
    # None when it reads delivered columns.
    derived: tuple[str, Callable[[pa.Table, object], pa.Array | pa.ChunkedArray]] | None = None


def fiscal_year_of(periods: pa.ChunkedArray, start_month: int) -> pa.ChunkedArray:
    """The fiscal year of each valid ``YYYY-MM`` period (the FY is named for its start year)."""
    valid = pc.if_else(pc.match_substring_regex(periods, MONTH_PATTERN), periods, pa.scalar(None, pa.string()))
    year = pc.cast(pc.utf8_slice_codeunits(valid, 0, 4), pa.int32())
    month = pc.cast(pc.utf8_slice_codeunits(valid, 5, 7), pa.int32())
    return pc.subtract(year, pc.cast(pc.less(month, start_month), pa.int32()))


# The fiscal year in an energy factor key of a row whose period is not valid: any year will do.
ANY_YEAR = "*"


def _energy_factor_key(table: pa.Table, reference) -> pa.ChunkedArray:
    """ "energy_type|unit|fiscal_year" of each row: a factor must exist for exactly that.

    A row whose period is not valid (reported on its own) is still checked for a type and unit
    with a factor in some year ("*"), so that a row shows all its problems at once. Which column
    a failure is reported on is decided by validator.energy_factor_problem.
    """
    fiscal_year = fiscal_year_of(table["period"], reference.fiscal_year_start_month)
    return pc.binary_join_element_wise(
        table["energy_type"],
        pc.fill_null(table["unit"], ""),
        pc.fill_null(pc.cast(fiscal_year, pa.string()), ANY_YEAR),
        "|",
    )


def _not_before(kind: str, later: str, earlier: str, section: str, what: str) -> Rule:
    return Rule(
        kind,
        f"`{later}` is not before `{earlier}` ({what})",
        {
            "type": "expect_column_pair_values_a_to_be_greater_than_b",
            "kwargs": {
                "column_A": later,
                "column_B": earlier,
                "or_equal": True,
                "ignore_row_if": "either_value_is_missing",
            },
            # Both are validated YYYY-MM or YYYY text, whose order as text is their order in time.
            "meta": {
                "contract": f"{section}: {kind} {what}",
                "column": later,
                "reason": f"{later} is before {earlier}",
            },
        },
    )


def _supplier_of_a_market_row(table: pa.Table, reference) -> pa.ChunkedArray:
    """The supplier of a market row (null when it has none); a location row needs none ("-")."""
    is_market = pc.fill_null(pc.equal(table["basis"], "market"), False)
    return pc.if_else(is_market, table["supplier"], pa.scalar("-", pa.string()))


RULES: tuple[Rule, ...] = (
    _not_before("plants", "in_scope_to", "in_scope_from", "2", "boundary"),
    _not_before("factors", "valid_to_fy", "valid_from_fy", "2", "validity"),
    _not_before("co2factors", "valid_to_fy", "valid_from_fy", "7", "validity"),
    Rule(
        "co2factors",
        "a `market` row names its `supplier`",
        {
            "type": "expect_column_values_to_not_be_null",
            "kwargs": {"column": "market_supplier"},
            "meta": {
                "contract": "7: a market row needs a supplier",
                "column": "supplier",
                "reason": "supplier is empty: a market-based factor applies to one supplier's energy, "
                "name it (or deliver the factor with basis location)",
            },
        },
        derived=("market_supplier", _supplier_of_a_market_row),
    ),
    Rule(
        "energy",
        "the (`energy_type`, `unit`) pair has a conversion factor (shipped or delivered) valid in the "
        "month's fiscal year",
        {
            "type": "expect_column_values_to_be_in_set",
            "kwargs": {"column": "energy_factor_key", "value_set": {"$PARAMETER": "known_energy_factor_keys"}},
            "meta": {
                "contract": "3: unknown energy type without a factor",
                "column": "energy_type",
                "reason": "no conversion factor for this energy type and unit in the month's fiscal year: "
                "use a type and unit of data/reference/energy_factors.csv or deliver a factors file",
            },
        },
        derived=("energy_factor_key", _energy_factor_key),
    ),
)


def rule_expectations(kind: str) -> list[dict]:
    return [rule.expectation for rule in RULES if rule.kind == kind]


def with_rule_columns(kind: str, table: pa.Table, reference) -> pa.Table:
    """``table`` with the columns that the kind's rules read (see ``Rule.derived``)."""
    for rule in RULES:
        if rule.kind == kind and rule.derived is not None:
            name, compute = rule.derived
            table = table.append_column(name, compute(table, reference))
    return table
