"""The words the KPI results are read in, once: the rating scale, the scope levels, a KPI's unit.

The charts, the report pack, the notebooks' DataFrames and the SQL all read these. Python holds
the definition and the warehouse gets it as two small tables (``kpi_rating``, ``kpi_scope_level``,
built by ``sql/kpi/kpi_vocabulary.sql`` with the values bound as parameters), rather than SQL holding
it and Python reading it back: the charts and the pack draw from a DataFrame with no warehouse
open, and a definition in Python is one import for them and a plain list for a reviewer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Rating:
    """One step of the self-assessment scale of the CSR results table (contract 4).

    ``word`` is what ``kpi_results.rating`` holds; ``symbol`` the stars the table prints;
    ``from_ratio`` the lowest achievement ratio (result / target, compared at 9 decimals) that
    earns it; ``shown_as`` the words the charts print beside the stars.
    """

    word: str
    symbol: str
    from_ratio: float
    shown_as: str


# Highest first. The last step takes every ratio below the one above it.
RATINGS = (
    Rating("achieved", "***", 1.0, "achieved"),
    Rating("90% achieved", "**", 0.9, "90 % achieved"),
    Rating("not achieved", "*", -math.inf, "not achieved"),
)
RATING_SYMBOLS = {rating.word: rating.symbol for rating in RATINGS}

# The scope levels of kpi_results, in the order every table lists them: the group, its business
# units, their plants.
SCOPE_LEVELS = ("group", "business_unit", "plant")
GROUP = "group"  # the group's scope_level, and its scope_id


def rating_symbol(rating: object) -> str:
    """``***``, ``**`` or ``*`` for a rating word of kpi_results; empty where there is none."""
    if not isinstance(rating, str):
        return ""
    return RATING_SYMBOLS.get(rating.strip().casefold(), "")


def star_legend(separator: str = "   ") -> str:
    """``*** Achieved   ** 90% achieved   * Not achieved``: the key printed under the results table."""
    return separator.join(f"{rating.symbol} {rating.word[:1].upper()}{rating.word[1:]}" for rating in RATINGS)


def _missing(value: object) -> bool:
    return value is None or value == "" or (isinstance(value, float) and math.isnan(value))


def _number(value: float | str | None) -> float | None:
    if value is None or value == "":
        return None
    number = float(value)
    return None if math.isnan(number) else number


def value_unit(numerator_unit: object, denominator_unit: object, scale: float | str | None) -> str | None:
    """The unit a person reads a KPI's value in, from its registry row (data/reference/kpis.csv).

    ``GJ/t`` for an intensity, the numerator's unit for an absolute KPI (no denominator,
    contract 8), ``%`` for a rate (scale 100 over the same unit), ``t/t x 1000.0`` for any other
    scale; None when the scale is unknown (a KPI not in the registry).
    """
    if _missing(denominator_unit):
        return None if _missing(numerator_unit) else str(numerator_unit)
    factor = _number(scale)
    if factor is None:
        return None
    if factor == 1:
        return f"{numerator_unit}/{denominator_unit}"
    if factor == 100 and numerator_unit == denominator_unit:
        return "%"
    return f"{numerator_unit}/{denominator_unit} x {factor}"
