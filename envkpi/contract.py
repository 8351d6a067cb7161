"""The shape of the data contract (spec/data-contract.md, sections 1 to 3) as data.

Value rules (periods, units, treatments, media, numbers) live in the Great Expectations suites
under ``expectations/``; this module says which kinds exist, which columns each has, and which
columns identify a delivered slice and a row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


# Joins the values of a slice's columns into its key in the warehouse (``slice_key``): a control
# character (unit separator) that names, ids and periods have no use for. A monthly kind's key
# stays unambiguous even for a plant id that holds it, because the period after it is validated
# as YYYY-MM; envkpi/sql/macros.sql reads such a key back.
SLICE_KEY_SEPARATOR = "\x1f"


@dataclass(frozen=True)
class Kind:
    """One kind of delivered file."""

    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    # A re-delivered file replaces exactly the slices it contains (contract 3, "Re-delivery
    # replaces"). For monthly kinds a slice is (plant, month); reference kinds have their own.
    slice_columns: tuple[str, ...] = ()
    # Two rows with the same row key in one file must agree, or the file is rejected.
    row_key: tuple[str, ...] = ()
    monthly: bool = False

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional


# Reference kinds come first: a run applies plants, factors and targets before it validates the
# monthly files, so that a new plant and its first month can arrive in the same run.
KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind(
            "plants",
            required=("plant_id", "name", "business_unit", "country"),
            optional=("in_scope_from", "in_scope_to"),
            slice_columns=("plant_id",),
            row_key=("plant_id",),
        ),
        Kind(
            "factors",
            required=("energy_type", "unit", "gj_per_unit"),
            optional=("source", "valid_from_fy", "valid_to_fy"),
            slice_columns=("energy_type", "unit", "valid_from_fy"),
            row_key=("energy_type", "unit", "valid_from_fy"),
        ),
        Kind(
            "targets",
            required=("kpi", "fiscal_year", "target_pct"),
            optional=("scope_id",),
            slice_columns=("kpi", "fiscal_year", "scope_id"),
            row_key=("kpi", "fiscal_year", "scope_id"),
        ),
        Kind(
            "energy",
            required=("plant_id", "period", "energy_type", "quantity", "unit"),
            slice_columns=("plant_id", "period"),
            row_key=("plant_id", "period", "energy_type"),
            monthly=True,
        ),
        Kind(
            "production",
            required=("plant_id", "period", "quantity", "unit"),
            slice_columns=("plant_id", "period"),
            row_key=("plant_id", "period"),
            monthly=True,
        ),
        Kind(
            "waste",
            required=("plant_id", "period", "waste_type", "treatment", "quantity", "unit"),
            slice_columns=("plant_id", "period"),
            row_key=("plant_id", "period", "waste_type", "treatment"),
            monthly=True,
        ),
        Kind(
            "chemicals",
            required=("plant_id", "period", "substance", "medium", "quantity", "unit"),
            optional=("cas_number",),
            slice_columns=("plant_id", "period"),
            row_key=("plant_id", "period", "substance", "medium"),
            monthly=True,
        ),
    )
}

MONTHLY_KINDS = tuple(name for name, kind in KINDS.items() if kind.monthly)

# Contract 1: the kind is the first word of the file name, up to the first `_`, `-` or `.`.
_KIND_WORD = re.compile(r"^([^_.\-]*)")

READABLE_SUFFIXES = (".csv", ".xlsx")


def kind_of(file_name: str) -> str | None:
    """The contract kind named by a file name, or None when the name names no kind."""
    word = _KIND_WORD.match(file_name).group(1).casefold()  # type: ignore[union-attr]
    return word if word in KINDS else None


def normalise_header(name: object) -> str:
    """Column names match case-insensitively with surrounding spaces ignored (contract 1)."""
    return "" if name is None else str(name).strip().casefold()
