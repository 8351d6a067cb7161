"""Plausibility checks beside the contract's suites: values that pass every rule of form yet
cannot be meant.

- a ``period`` outside the plausible range (``Settings.min_period`` .. December of the current year
  plus ``Settings.max_period_years_ahead``): ``0000-01`` or ``9999-12`` would otherwise add
  thousands of empty fiscal years to ``kpi_results``;
- an identifying text (plant id, business unit, period, types, units, scope) holding an invisible
  character (zero-width space, joiner, BOM, soft hyphen, direction marks, control characters):
  ``P01`` followed by a zero-width space prints exactly like ``P01`` but would be another plant;
- a quantity above 10^15 compared exactly (as a decimal, not a float: ``1000000000000000.05``
  rounds to 10^15 as a float and would pass the suite's bound);
- a plant or business unit named ``group``: ``group`` is the scope of the whole group in targets
  and ``kpi_results``, so a business unit of that name could not be told apart from it.

Each check looks at a column's distinct values in Arrow and maps a failing value back to its
rows, so its cost follows the distinct values, not the rows.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from envkpi.contract import KINDS
from envkpi.ingest.readers import SOURCE_ROW, Problem
from envkpi.runtime import timing

SOURCE_FILE = "source_file"
_PERIOD = "^[0-9]{4}-(0[1-9]|1[0-2])$"
_NUMBER = re.compile(r"^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?$")
# Invisible and control characters: C0 (but tab and line breaks, which Alt+Enter puts in a cell)
# and C1 controls, soft hyphen, the zero-width and
# direction-mark family, word joiners and invisible operators, BOM, interlinear annotations.
INVISIBLE = "[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f\\x{ad}\\x{180e}\\x{200b}-\\x{200f}\\x{202a}-\\x{202e}\\x{2060}-\\x{206f}\\x{feff}\\x{fff9}-\\x{fffb}]"
_INVISIBLE_PY = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\xad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]"
)
# The most a quantity may be (the suites' bound, compared here exactly).
MAX_QUANTITY = Decimal(10) ** 15
TOO_LARGE = "quantity is implausibly large (over 1e15): check the unit and the decimal point"
RESERVED_SCOPE = "group"
# Identifying columns checked for invisible characters, beyond each kind's row and slice keys.
_ALSO_IDENTIFYING = ("business_unit", "unit", "cas_number")


def identifying_columns(kind: str) -> list[str]:
    spec = KINDS[kind]
    names = dict.fromkeys([*spec.row_key, *spec.slice_columns, *(c for c in _ALSO_IDENTIFYING if c in spec.columns)])
    return list(names)


def _rows_holding(column: pa.ChunkedArray, values: list[str]) -> np.ndarray:
    held = pc.is_in(column, value_set=pa.array(values, pa.string()))
    return np.flatnonzero(pc.fill_null(held, False).to_numpy(zero_copy_only=False))


def _problems(rows: pa.Table, column: str, values: list[str], reason_of) -> list[tuple[str, Problem]]:
    if not values:
        return []
    found = rows.select([SOURCE_FILE, SOURCE_ROW, column]).take(pa.array(_rows_holding(rows[column], values)))
    return [
        (file, Problem(int(row), column, value, reason_of(value)))
        for file, row, value in zip(*(found[c].to_pylist() for c in (SOURCE_FILE, SOURCE_ROW, column)))
    ]


def _invisible_reason(column: str):
    def reason(value: str) -> str:
        position = _INVISIBLE_PY.search(value)
        character = value[position.start()] if position else ""
        name = unicodedata.name(character, "a control character")
        return (
            f"{column} holds an invisible character (U+{ord(character):04X} {name}) at position "
            f"{position.start() + 1 if position else 0}: it would print like another value but differ; "
            f"retype the value"
        )

    return reason


@timing.phase("validation: plausibility")
def implausible(kind: str, rows: pa.Table, period_range: tuple[str, str]) -> list[tuple[str, Problem]]:
    """The plausibility problems of one kind's rows (``source_file``, ``source_row`` and text columns)."""
    if not len(rows):
        return []
    problems: list[tuple[str, Problem]] = []
    for column in identifying_columns(kind):
        if column not in rows.column_names:
            continue
        distinct = pc.unique(rows[column]).drop_null()
        hidden = distinct.filter(pc.match_substring_regex(distinct, INVISIBLE)).to_pylist()
        problems += _problems(rows, column, hidden, _invisible_reason(column))
    if KINDS[kind].monthly and "period" in rows.column_names:
        first, last = period_range
        distinct = pc.unique(rows["period"]).drop_null()
        formed = distinct.filter(pc.match_substring_regex(distinct, _PERIOD))
        outside = formed.filter(pc.or_(pc.less(formed, first), pc.greater(formed, last))).to_pylist()
        problems += _problems(
            rows,
            "period",
            outside,
            lambda value: (
                f"period {value} is outside the plausible range {first} .. {last} (settings min_period and "
                f"max_period_years_ahead): check the year"
            ),
        )
    if "quantity" in rows.column_names:
        distinct = pc.unique(rows["quantity"]).drop_null()
        trimmed = pc.utf8_trim_whitespace(distinct)
        # Candidates by float (cheap); the few near or above the bound are decided exactly.
        near = distinct.filter(
            pc.fill_null(
                pc.greater_equal(
                    pc.cast(
                        pc.if_else(
                            pc.match_substring_regex(trimmed, _NUMBER.pattern), trimmed, pa.scalar(None, pa.string())
                        ),
                        pa.float64(),
                    ),
                    1e15 * (1 - 1e-12),
                ),
                False,
            )
        ).to_pylist()
        problems += _problems(rows, "quantity", [v for v in near if _exceeds(v)], lambda value: TOO_LARGE)
    if kind == "plants":
        for column in ("plant_id", "business_unit"):
            if column in rows.column_names:
                distinct = pc.unique(rows[column]).drop_null().to_pylist()
                reserved = [v for v in distinct if v.casefold() == RESERVED_SCOPE]
                problems += _problems(
                    rows,
                    column,
                    reserved,
                    lambda value, column=column: (
                        f"'{value}' cannot be a {column.replace('_', ' ')}: 'group' names the whole group in targets "
                        f"(scope_id) and kpi_results; choose another name"
                    ),
                )
    return problems


def _exceeds(text: str) -> bool:
    try:
        return Decimal(text.strip()) > MAX_QUANTITY
    except InvalidOperation:
        return False
