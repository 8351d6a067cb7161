"""The data contract (spec/data-contract.md) as one declarative definition.

Each kind of delivered file is written down once, here: its columns with their types, which
are required, the allowed values, the row key and the slice a file replaces, whether it is
monthly or reference data, the measures its rows add to, and the reason a plant reads for each
rule. Everything else follows from this module:

- the raw tables and typed ``accepted_<kind>`` views (``envkpi/warehouse/schema.py``);
- the single-column expectations of the suites under ``expectations/`` (``suite(kind)``, written
  by ``python -m envkpi.contract``; a test fails when a committed suite and this module differ);
- the contract's reference page, ``docs/contract.md`` (``reference_page()``).

Rules over several columns, or against reference data that changes with every delivery (a
conversion factor for the month's fiscal year), are explicit in ``envkpi/validation/rules.py``.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

# Joins the values of a slice's columns into its key in the warehouse (``slice_key``): a control
# character (unit separator) that names, ids and periods have no use for. A monthly kind's key
# stays unambiguous even for a plant id that holds it, because the period after it is validated
# as YYYY-MM; envkpi/warehouse/sql/raw/macros.sql reads such a key back.
SLICE_KEY_SEPARATOR = "\x1f"

# Contract 2: `period` is a calendar month, `YYYY-MM`; quantities are plain decimal numbers.
MONTH_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
FISCAL_YEAR_PATTERN = r"^[0-9]{4}$"
NUMBER_PATTERN = r"^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?$"

# What a column's text means, and so how the warehouse stores it and which rules check it.
TEXT = "text"  # free text, trimmed
MONTH = "month"  # YYYY-MM
QUANTITY = "quantity"  # a number >= 0, stored exactly
FACTOR = "factor"  # a conversion factor: a number > 0, stored exactly
PERCENT = "percent"  # a number > 0 in percent
FISCAL_YEAR = "fiscal_year"  # a year such as 2017
CHOICE = "choice"  # one of a set of values
YES_NO = "yes_no"  # `yes` or `no`
COLUMN_TYPES = (TEXT, MONTH, QUANTITY, FACTOR, PERCENT, FISCAL_YEAR, CHOICE, YES_NO)

# How the accepted views type each kind of column; ``{}`` is the raw column.
STORED_AS = {
    TEXT: "{}",
    CHOICE: "{}",
    MONTH: "month_start({})",
    QUANTITY: "cast({} as decimal(38, 10))",
    FACTOR: "cast({} as decimal(18, 9))",
    PERCENT: "cast({} as double)",
    FISCAL_YEAR: "cast({} as integer)",
    YES_NO: "{}",  # kept as `yes` / `no`: the measures select rows by it
}
# The SQL type a delivered number must fit (checked before it is loaded, see
# warehouse.database.unstorable_numbers): one that passes the suites but does not fit ("0e999999") would
# otherwise fail the rebuild of every later run.
NUMBER_TYPES = {QUANTITY: "decimal(38, 10)", FACTOR: "decimal(18, 9)", PERCENT: "double"}


@dataclass(frozen=True)
class Column:
    """One column of a kind, as a plant fills it in."""

    name: str
    type: str = TEXT
    required: bool = True
    # A CHOICE column's allowed values, each with what it means (shown in reasons and the docs).
    values: tuple[tuple[str, str], ...] = ()
    # The reference data the value must be in: the name of a suite parameter (``known_plants``,
    # ``known_kpis``, ...), filled in from the warehouse at validation time.
    in_reference: str | None = None
    # Text of the rejection reason for the value check (a value set, a pattern or a reference).
    reason: str | None = None
    # Bounds of a number column (QUANTITY, FACTOR, PERCENT), and the reason over the maximum.
    maximum: float | None = None
    maximum_reason: str | None = None
    # A FACTOR of 0 is allowed (a zero-emission supplier's market factor); a heating value is not.
    zero_allowed: bool = False
    # What an empty optional value means in the accepted view (e.g. the group for a target).
    empty_means: str | None = None
    # The accepted view's name for the typed column, where it differs (``period`` -> ``period_month``).
    accepted_as: str | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if self.type not in COLUMN_TYPES:
            raise ValueError(f"column {self.name}: unknown type {self.type!r}")
        if self.type == YES_NO and not self.values:
            object.__setattr__(self, "values", (("yes", ""), ("no", "")))

    @property
    def allowed(self) -> tuple[str, ...]:
        return tuple(value for value, _ in self.values)

    @property
    def typed_name(self) -> str:
        return self.accepted_as or self.name


@dataclass(frozen=True)
class Measure:
    """An amount that a monthly kind's rows add to per plant-month: the sum of ``quantity`` in
    ``unit`` (each delivered unit times its factor), over the rows whose ``where`` column holds
    one of the given values (all rows when None)."""

    name: str
    unit: str
    # Delivered unit -> factor to ``unit``. None: amounts are summed as delivered (a currency).
    per_unit: tuple[tuple[str, str], ...] | None
    where: tuple[str, tuple[str, ...]] | None = None
    why: str = ""


@dataclass(frozen=True)
class Kind:
    """One kind of delivered file."""

    name: str
    holds: str
    columns_: tuple[Column, ...]
    # A re-delivered file replaces exactly the slices it contains (contract 3, "Re-delivery
    # replaces"). For monthly kinds a slice is (plant, month); reference kinds have their own.
    slice_columns: tuple[str, ...]
    # Two rows with the same row key in one file must agree, or the file is rejected.
    row_key: tuple[str, ...]
    monthly: bool = False
    measures: tuple[Measure, ...] = ()
    # Measures computed from the kind's rows through factor tables, in SQL (energy's GJ and t-CO2:
    # sql/normalised/normalised_measure.sql); named here so that lineage and restatements know their kind.
    factor_measures: tuple[str, ...] = ()
    section: str = "2"
    # The contract version that added the kind. A v1 delivery gives exactly the v1 table, so the
    # KPIs of a v2 kind are reported only once the group delivers that kind at all.
    version: int = 1

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns_]
        unknown = (set(self.slice_columns) | set(self.row_key)) - set(names)
        if unknown or len(set(names)) != len(names):
            raise ValueError(f"kind {self.name}: key columns {sorted(unknown)} are not among its columns")

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns_ if c.required)

    @property
    def optional(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns_ if not c.required)

    @property
    def columns(self) -> tuple[str, ...]:
        """Every contract column, required first (the order of the raw table)."""
        return self.required + self.optional

    def column(self, name: str) -> Column:
        return next(c for c in self.columns_ if c.name == name)


# --------------------------------------------------------------------------------------------
# The columns every monthly kind shares.

PLANT_ID = Column(
    "plant_id",
    in_reference="known_plants",
    reason="unknown plant: plant_id is not in the plants reference (deliver a plants file that lists it first)",
    description="a plant of the plants reference",
)
PERIOD = Column(
    "period",
    MONTH,
    accepted_as="period_month",
    reason="bad period: write the calendar month as YYYY-MM, e.g. 2017-04",
    description="the calendar month, YYYY-MM",
)
AMOUNT = Column(
    "quantity",
    QUANTITY,
    maximum=1e15,
    maximum_reason="quantity is implausibly large (over 1e15): check the unit and the decimal point",
    description="a number >= 0; a month with nothing to report is a row with 0",
)
_MASSES_TO_T = (("t", "1"), ("kg", "0.001"))
_MASSES_TO_KG = (("t", "1000"), ("kg", "1"), ("g", "0.001"))


# Contract 2: `recycled` and `valuable` count as recycled; contract 6: the PRTR releases (the
# transfers `sewer` and `offsite` are not emissions).
RECYCLED_TREATMENTS = ("recycled", "valuable")
RELEASE_MEDIA = ("air", "water", "soil", "landfill")
TRANSFER_MEDIA = ("sewer", "offsite")

# Contract 7: sales and purchases are in the reporting currency (a setting), checked against it.
CURRENCY = Column(
    "unit",
    in_reference="reporting_currency",
    reason="unit is not the reporting currency: convert to {reporting_currency} at the group's rate",
    description="the reporting currency (setting `reporting_currency`, default JPY)",
)


def _unit(*values: str) -> Column:
    return Column("unit", CHOICE, values=tuple((v, "") for v in values))


def _validity() -> tuple[Column, Column]:
    return (
        Column(
            "valid_from_fy",
            FISCAL_YEAR,
            required=False,
            reason="valid_from_fy is a fiscal year such as 2023, or empty",
            description="first fiscal year the row applies to; empty = open",
        ),
        Column(
            "valid_to_fy",
            FISCAL_YEAR,
            required=False,
            reason="valid_to_fy is a fiscal year such as 2023, or empty",
            description="last fiscal year the row applies to (included); empty = open",
        ),
    )


# --------------------------------------------------------------------------------------------
# The kinds. Reference kinds come first: a run applies plants, factors and targets before it
# validates the monthly files, so that a new plant and its first month can arrive in the same run.

_KIND_LIST: tuple[Kind, ...] = (
    Kind(
        "plants",
        "the reference list of plants (the reporting boundary)",
        (
            Column("plant_id", description="the plant's id, as every monthly file names it"),
            Column("name"),
            Column("business_unit"),
            Column("country", description="ISO country code; JP plants file the Energy Conservation Act report"),
            Column(
                "in_scope_from",
                MONTH,
                required=False,
                reason="bad month: in_scope_from is YYYY-MM or empty",
                description="first month in the boundary; empty = always",
            ),
            Column(
                "in_scope_to",
                MONTH,
                required=False,
                reason="bad month: in_scope_to is YYYY-MM or empty",
                description="last month in the boundary (included); empty = still in scope",
            ),
        ),
        slice_columns=("plant_id",),
        row_key=("plant_id",),
    ),
    Kind(
        "factors",
        "energy conversion factors (to GJ) that override or extend the shipped defaults",
        (
            Column("energy_type"),
            Column("unit"),
            Column(
                "gj_per_unit",
                FACTOR,
                reason="gj_per_unit is not a number",
                maximum=10_000,
                maximum_reason="gj_per_unit is implausibly large (over 10,000 GJ per unit): check the unit",
                description="GJ per delivered unit, > 0",
            ),
            Column("source", required=False),
            *_validity(),
        ),
        slice_columns=("energy_type", "unit", "valid_from_fy"),
        row_key=("energy_type", "unit", "valid_from_fy"),
    ),
    Kind(
        "targets",
        "the yearly targets per KPI",
        (
            Column(
                "kpi", in_reference="known_kpis", reason="unknown KPI: see data/reference/kpis.csv for the KPI names"
            ),
            Column("fiscal_year", FISCAL_YEAR, reason="fiscal_year is a year such as 2017"),
            Column(
                "target_pct",
                PERCENT,
                reason="target_pct is not a number",
                description="a reduction versus the base year in percent, or a rate in percent",
            ),
            Column(
                "scope_id",
                required=False,
                in_reference="known_scopes",
                empty_means="group",
                reason="unknown scope: scope_id is empty (the group), a business unit's name or a plant_id",
                description="empty = the group; otherwise a business unit's name or a plant_id",
            ),
        ),
        slice_columns=("kpi", "fiscal_year", "scope_id"),
        row_key=("kpi", "fiscal_year", "scope_id"),
    ),
    Kind(
        "co2factors",
        "CO2 emission factors, location-based (overriding the shipped defaults) or "
        "market-based (per supplier), delivered by head office",
        (
            Column("energy_type"),
            Column("unit"),
            Column(
                "t_co2_per_unit",
                FACTOR,
                reason="t_co2_per_unit is not a number",
                maximum=1_000,
                zero_allowed=True,
                maximum_reason="t_co2_per_unit is implausibly large (over 1,000 t-CO2 per unit): check the unit",
                description="t-CO2 per delivered unit, >= 0 (0 for a zero-emission supplier)",
            ),
            Column(
                "basis",
                CHOICE,
                values=(
                    ("location", "replaces the shipped default for the energy type, unit and years"),
                    ("market", "applies only to energy rows of its supplier"),
                ),
            ),
            Column("supplier", required=False, description="required for a market row"),
            Column(
                "country",
                required=False,
                description="a location row with a country applies only to plants of that country",
            ),
            Column("source", required=False),
            *_validity(),
        ),
        slice_columns=("energy_type", "unit", "basis", "supplier", "country", "valid_from_fy"),
        row_key=("energy_type", "unit", "basis", "supplier", "country", "valid_from_fy"),
        section="7",
        version=2,
    ),
    Kind(
        "energy",
        "monthly energy consumption",
        (
            PLANT_ID,
            PERIOD,
            Column("energy_type", description="must have a factor for its unit in the month's fiscal year"),
            AMOUNT,
            Column("unit", description="the unit the quantity is delivered in"),
            # Contract 6: several rows of one energy type in a month, one per meter or supply
            # contract; the plant-month's energy is the sum of its rows.
            Column(
                "meter_id", required=False, description="the meter or supply contract; empty is a value of its own (v2)"
            ),
            Column(
                "supplier",
                required=False,
                description="who supplied electricity or heat, matched case-insensitively against "
                "co2factors.supplier for market-based Scope 2 (v2)",
            ),
        ),
        slice_columns=("plant_id", "period"),
        row_key=("plant_id", "period", "energy_type", "meter_id"),
        monthly=True,
        # Energy's measures come from the conversion factors: sql/normalised/normalised_measure.sql.
        factor_measures=("energy", "co2", "scope1_co2", "scope2_location_co2", "scope2_market_co2"),
    ),
    Kind(
        "production",
        'monthly production amount (the "per production unit" denominator)',
        (PLANT_ID, PERIOD, AMOUNT, _unit("t", "kg")),
        slice_columns=("plant_id", "period"),
        row_key=("plant_id", "period"),
        monthly=True,
        measures=(Measure("production", "t", _MASSES_TO_T),),
    ),
    Kind(
        "waste",
        "monthly waste and valuables generated, by treatment",
        (
            PLANT_ID,
            PERIOD,
            Column("waste_type", description="free text"),
            Column(
                "treatment",
                CHOICE,
                values=(
                    ("recycled", ""),
                    ("valuable", "sold as a by-product"),
                    ("incinerated", ""),
                    ("landfilled", ""),
                    ("other", ""),
                    ("energy_recovery", "incinerated with energy recovery"),
                ),
            ),
            AMOUNT,
            _unit("t", "kg"),
        ),
        slice_columns=("plant_id", "period"),
        row_key=("plant_id", "period", "waste_type", "treatment"),
        monthly=True,
        measures=(
            Measure("waste", "t", _MASSES_TO_T, why="every treatment counts toward waste generated"),
            Measure(
                "recycled",
                "t",
                _MASSES_TO_T,
                where=("treatment", RECYCLED_TREATMENTS),
                why="valuables sold as by-products count as recycled: the CSR table reports "
                '"waste and valuables"; energy recovery does not (GRI 306 counts it as directed '
                "to disposal)",
            ),
        ),
    ),
    Kind(
        "chemicals",
        "monthly chemical substance emissions (PRTR substances, VOC)",
        (
            PLANT_ID,
            PERIOD,
            Column("substance"),
            Column("cas_number", required=False),
            Column(
                "medium",
                CHOICE,
                values=(
                    ("air", ""),
                    ("water", ""),
                    ("soil", ""),
                    ("landfill", "on-site landfill"),
                    ("sewer", "transferred to public sewerage"),
                    ("offsite", "transferred off site as waste"),
                ),
            ),
            AMOUNT,
            _unit("kg", "g", "t"),
        ),
        slice_columns=("plant_id", "period"),
        row_key=("plant_id", "period", "substance", "medium"),
        monthly=True,
        measures=(
            Measure(
                "chemicals",
                "kg",
                _MASSES_TO_KG,
                where=("medium", RELEASE_MEDIA),
                why="releases only: the PRTR transfers (sewer, offsite) are not emissions",
            ),
        ),
    ),
    # ---- v2 (contract 7): water, sales, purchases and the emission factors.
    Kind(
        "water",
        "monthly water withdrawn, by source",
        (
            PLANT_ID,
            PERIOD,
            Column(
                "source",
                CHOICE,
                values=tuple(
                    (v, "") for v in ("municipal", "groundwater", "surface", "seawater", "rainwater", "other")
                ),
            ),
            AMOUNT,
            Column("unit", CHOICE, values=(("m3", ""), ("kL", ""), ("t", ""))),
        ),
        slice_columns=("plant_id", "period"),
        row_key=("plant_id", "period", "source"),
        monthly=True,
        section="7",
        version=2,
        measures=(Measure("water", "m3", (("m3", "1"), ("kL", "1"), ("t", "1")), why="1 t = 1 kL = 1 m3"),),
    ),
    Kind(
        "sales",
        "monthly sales by product line, marked for key environmentally conscious products",
        (
            PLANT_ID,
            PERIOD,
            Column("product_line", description="free text"),
            Column("eco_product", YES_NO, description="a key environmentally conscious product"),
            AMOUNT,
            CURRENCY,
        ),
        slice_columns=("plant_id", "period"),
        row_key=("plant_id", "period", "product_line", "eco_product"),
        monthly=True,
        section="7",
        version=2,
        measures=(
            Measure("sales", "currency", None, why="every row is an amount: all sales"),
            Measure(
                "eco_sales",
                "currency",
                None,
                where=("eco_product", ("yes",)),
                why="the key environmentally conscious products",
            ),
        ),
    ),
    Kind(
        "purchases",
        "monthly purchases by category, marked for Eco Mark (green procurement)",
        (
            PLANT_ID,
            PERIOD,
            Column("category", description="free text"),
            Column("eco_mark", YES_NO, description="an Eco Mark (green-procurement) purchase"),
            AMOUNT,
            CURRENCY,
        ),
        slice_columns=("plant_id", "period"),
        row_key=("plant_id", "period", "category", "eco_mark"),
        monthly=True,
        section="7",
        version=2,
        measures=(
            Measure("purchases", "currency", None, why="every row is an amount: all purchases"),
            Measure(
                "eco_purchases",
                "currency",
                None,
                where=("eco_mark", ("yes",)),
                why="Eco Mark (green-procurement) purchases",
            ),
        ),
    ),
)

KINDS: dict[str, Kind] = {kind.name: kind for kind in _KIND_LIST}


def monthly_kinds() -> tuple[str, ...]:
    """The monthly kinds, in ingest order (read at call time: a test may add a kind)."""
    return tuple(name for name, kind in KINDS.items() if kind.monthly)


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


def number_columns() -> dict[str, str]:
    """Every number column of any kind, by name, with the SQL type it is stored as."""
    found: dict[str, str] = {}
    for kind in KINDS.values():
        for column in kind.columns_:
            if column.type in NUMBER_TYPES:
                if found.setdefault(column.name, NUMBER_TYPES[column.type]) != NUMBER_TYPES[column.type]:
                    raise ValueError(f"column {column.name} is stored as two different types")
    return found


# --------------------------------------------------------------------------------------------
# The suites: each column's rules as Great Expectations expectations.


def _expectation(kind: Kind, type_: str, checked: str, column: Column, rule: str, reason: str, **kwargs) -> dict:
    return {
        "type": f"expect_column_values_to_{type_}",
        "kwargs": {"column": checked, **kwargs},
        "meta": {
            "contract": f"{kind.section}: {kind.name} {column.name}: {rule}",
            "column": column.name,
            "reason": reason,
        },
    }


def column_expectations(kind: Kind, column: Column) -> list[dict]:
    """The single-column rules of one column, in the order a plant should fix them."""
    found: list[dict] = []
    if column.required:
        found.append(
            _expectation(
                kind,
                "not_be_null",
                column.name,
                column,
                "required value",
                f"{column.name} is empty: a value is required",
            )
        )
    if column.in_reference:
        found.append(
            _expectation(
                kind,
                "be_in_set",
                column.name,
                column,
                f"in {column.in_reference}",
                column.reason or f"unknown {column.name}",
                value_set={"$PARAMETER": column.in_reference},
            )
        )
    if column.type in (CHOICE, YES_NO):
        allowed = ", ".join(f"{v} ({meaning})" if meaning else v for v, meaning in column.values)
        found.append(
            _expectation(
                kind,
                "be_in_set",
                column.name,
                column,
                "allowed values",
                column.reason or f"unknown {column.name}: allowed are {allowed}",
                value_set=list(column.allowed),
            )
        )
    if column.type == MONTH:
        found.append(
            _expectation(
                kind,
                "match_regex",
                column.name,
                column,
                "YYYY-MM",
                column.reason or f"bad month: {column.name} is YYYY-MM",
                regex=MONTH_PATTERN,
            )
        )
    if column.type == FISCAL_YEAR:
        found.append(
            _expectation(
                kind,
                "match_regex",
                column.name,
                column,
                "a fiscal year",
                column.reason or f"{column.name} is a fiscal year such as 2017",
                regex=FISCAL_YEAR_PATTERN,
            )
        )
    if column.type in NUMBER_TYPES:
        number = f"{column.name}_number"
        found.append(
            _expectation(
                kind,
                "match_regex",
                column.name,
                column,
                "a number",
                column.reason
                or f"{column.name} is not a number (digits with an optional decimal point; "
                "no thousands separators, no text)",
                regex=NUMBER_PATTERN,
            )
        )
        if column.type == QUANTITY:
            found.append(
                _expectation(
                    kind,
                    "be_between",
                    number,
                    column,
                    ">= 0",
                    f"{column.name} is negative: quantities are >= 0 (deliver 0 for nothing to report)",
                    min_value=0,
                )
            )
        elif column.type == PERCENT:
            found.append(
                _expectation(
                    kind,
                    "be_between",
                    number,
                    column,
                    "> 0",
                    f"{column.name} must be greater than 0 (a reduction or a rate in percent)",
                    min_value=0,
                    strict_min=True,
                )
            )
        elif column.zero_allowed:
            found.append(
                _expectation(
                    kind,
                    "be_between",
                    number,
                    column,
                    ">= 0",
                    f"{column.name} is negative: a factor is 0 or more",
                    min_value=0,
                )
            )
        else:
            found.append(
                _expectation(
                    kind,
                    "be_between",
                    number,
                    column,
                    "> 0",
                    f"{column.name} must be greater than 0",
                    min_value=0,
                    strict_min=True,
                )
            )
        if column.maximum is not None:
            found.append(
                _expectation(
                    kind,
                    "be_between",
                    number,
                    column,
                    "plausible",
                    column.maximum_reason or f"{column.name} is implausibly large",
                    max_value=float(column.maximum),
                )
            )
    return found


def suite(kind_name: str) -> dict:
    """The expectation suite of one kind: its columns' rules, then the explicit rules over
    several columns or reference data (envkpi/validation/rules.py)."""
    from envkpi.validation.rules import rule_expectations

    kind = KINDS[kind_name]
    expectations = [e for column in kind.columns_ for e in column_expectations(kind, column)]
    return {
        "name": kind.name,
        "expectations": expectations + rule_expectations(kind.name),
        "meta": {
            "description": f"Data contract rules for `{kind.name}` deliveries, generated from "
            "envkpi/contract.py and envkpi/validation/rules.py (python -m envkpi.contract). Each "
            "expectation's meta names the contract rule, the column reported to the plant "
            "and the reason it reads."
        },
    }


def suite_text(kind_name: str) -> str:
    return json.dumps(suite(kind_name), indent=2, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------------------------
# The reference page.


def reference_page() -> str:
    """``docs/contract.md``: the kinds, columns, allowed values, keys and reasons, as the code has them."""
    from envkpi.validation.rules import RULES

    lines = [
        "# The data contract, as envkpi implements it",
        "",
        "Generated from `envkpi/contract.py` and `envkpi/validation/rules.py` by `make contract`; a test fails when",
        "this page and the code differ. The contract itself is `spec/data-contract.md`; this page is the",
        "implementation's reading of it, with the reason text a plant reads for each rule.",
        "",
        "| kind | monthly | holds | row key | a file replaces |",
        "|---|---|---|---|---|",
    ]
    for kind in KINDS.values():
        lines.append(
            f"| `{kind.name}` | {'yes' if kind.monthly else 'reference'} | {kind.holds} | "
            f"{', '.join(kind.row_key)} | its ({', '.join(kind.slice_columns)}) slices |"
        )
    for kind in KINDS.values():
        lines += [
            "",
            f"## `{kind.name}`",
            "",
            "| column | type | required | allowed values | meaning |",
            "|---|---|---|---|---|",
        ]
        for column in kind.columns_:
            allowed = ", ".join(f"`{v}`" for v in column.allowed) or (
                f"in {column.in_reference}" if column.in_reference else ""
            )
            lines.append(
                f"| `{column.name}` | {column.type} | {'yes' if column.required else 'no'} | {allowed} | "
                f"{column.description} |"
            )
        for measure in kind.measures:
            where = f", rows with {measure.where[0]} in {', '.join(measure.where[1])}" if measure.where else ""
            lines.append("")
            lines.append(
                f"- measure `{measure.name}` ({measure.unit}): the sum of quantity{where}"
                + (f" ({measure.why})" if measure.why else "")
            )
        lines += ["", "Rejection reasons:", ""]
        for expectation in suite(kind.name)["expectations"]:
            lines.append(f"- `{expectation['meta']['column']}`: {expectation['meta']['reason']}")
    lines += ["", "## Rules over several columns or reference data (`envkpi/validation/rules.py`)", ""]
    lines += [f"- `{rule.kind}`: {rule.description}" for rule in RULES]
    return "\n".join(lines) + "\n"


def write_generated(project: Path) -> list[Path]:
    """Write the suites and the reference page from this definition; return the files written."""
    written = []
    for name in KINDS:
        path = project / "expectations" / f"{name}.json"
        path.write_text(suite_text(name), encoding="utf-8")
        written.append(path)
    page = project / "docs" / "contract.md"
    page.write_text(reference_page(), encoding="utf-8")
    written.append(page)
    return written


if __name__ == "__main__":
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent
    for written_path in write_generated(root):
        print(f"wrote {written_path}")
