"""The contract is defined once (envkpi/contract.py); every suite, table and view agrees with it,
and a new kind is one entry there."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers import Landing

PROJECT_DIR = Path(__file__).resolve().parent.parent

# How each column type must come out of the accepted views, written out here by hand.
ACCEPTED_TYPE = {
    "text": "VARCHAR",
    "choice": "VARCHAR",
    "month": "DATE",
    "quantity": "DECIMAL(38,10)",
    "factor": "DECIMAL(18,9)",
    "percent": "DOUBLE",
    "fiscal_year": "INTEGER",
    "yes_no": "VARCHAR",
}


def test_every_committed_suite_is_the_one_the_contract_generates():
    from envkpi.contract import KINDS, suite

    committed = {p.stem for p in (PROJECT_DIR / "expectations").glob("*.json")}
    assert committed == set(KINDS), "a suite without a kind, or a kind without a suite: run make contract"
    for kind in KINDS:
        on_disk = json.loads((PROJECT_DIR / "expectations" / f"{kind}.json").read_text(encoding="utf-8"))
        assert on_disk == suite(kind), f"expectations/{kind}.json differs from envkpi/contract.py: run make contract"


def test_the_committed_suites_state_each_column_rule_of_the_contract():
    """Read the suites as a reviewer would: every required column has a not-null rule, every value
    set its exact values, every month its pattern, every quantity its bounds."""
    from envkpi.contract import KINDS

    for name, kind in KINDS.items():
        expectations = json.loads((PROJECT_DIR / "expectations" / f"{name}.json").read_text())["expectations"]
        by_column: dict[str, list[dict]] = {}
        for e in expectations:
            by_column.setdefault(e["kwargs"].get("column", e["kwargs"].get("column_A")), []).append(e)
        for column in kind.columns_:
            rules = by_column.get(column.name, [])
            types = [e["type"] for e in rules]
            assert ("expect_column_values_to_not_be_null" in types) == column.required, (name, column.name)
            if column.allowed:
                sets = [
                    e["kwargs"]["value_set"]
                    for e in rules
                    if e["type"] == "expect_column_values_to_be_in_set" and isinstance(e["kwargs"]["value_set"], list)
                ]
                assert sets == [list(column.allowed)], (name, column.name)
            if column.type == "month":
                assert {"expect_column_values_to_match_regex"} <= set(types), (name, column.name)
            if column.type == "quantity":
                bounds = [e["kwargs"] for e in by_column.get(f"{column.name}_number", [])]
                assert {"column": "quantity_number", "min_value": 0} in bounds, name
            for e in rules:
                assert e["meta"]["reason"] and e["meta"]["column"] == column.name


def test_the_contract_reference_page_is_generated_from_the_definition():
    from envkpi.contract import reference_page

    page = (PROJECT_DIR / "docs" / "contract.md").read_text(encoding="utf-8")
    assert page == reference_page(), "docs/contract.md differs from envkpi/contract.py: run make contract"
    assert "unknown plant: plant_id is not in the plants reference" in page


def test_every_raw_table_and_accepted_view_has_the_contract_columns_and_types(tmp_path):
    from envkpi.contract import KINDS
    from envkpi.warehouse.database import connect

    connection = connect(tmp_path / "w.duckdb")
    try:

        def described(relation: str) -> list[tuple[str, str]]:
            return [(row[0], row[1]) for row in connection.execute(f"describe {relation}").fetchall()]

        for name, kind in KINDS.items():
            raw = described(f"raw_{name}")
            assert [c for c, _ in raw] == [
                "delivery_id",
                "source_row",
                "slice_key",
                "is_repeat",
                *(c.name for c in kind.columns_),
                "extra_columns",
            ], name
            assert all(t == "VARCHAR" for c, t in raw[4:]), name  # text exactly as delivered
            accepted = described(f"accepted_{name}")
            assert accepted == [
                *((c.typed_name, ACCEPTED_TYPE[c.type]) for c in kind.columns_),
                ("delivery_id", "BIGINT"),
                ("source_row", "INTEGER"),
            ], name
        relations = {
            r
            for (r,) in connection.execute(
                "select table_name from duckdb_tables() union select view_name from duckdb_views() where not internal"
            ).fetchall()
        }
        stray = {r for r in relations if r.startswith(("raw_", "accepted_"))} - {
            *(f"raw_{k}" for k in KINDS),
            *(f"accepted_{k}" for k in KINDS),
            "raw_rows",
            "raw_monthly_rows",
            "raw_row_lineage",
            "accepted_monthly_rows",
        }
        assert not stray, f"relations of no contract kind: {stray}"
    finally:
        connection.close()


def test_a_warehouse_built_before_a_column_existed_gains_it(tmp_path):
    import duckdb

    from envkpi.warehouse.database import connect

    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as old:  # raw_production as a warehouse of an older contract had it
        old.execute(
            "create table raw_production (delivery_id bigint not null, source_row integer not null, "
            "slice_key varchar not null, is_repeat boolean not null, plant_id varchar, period varchar, "
            "extra_columns varchar)"
        )
        old.execute("insert into raw_production values (1, 2, 'k', false, 'P1', '2017-04', null)")
    connection = connect(path)
    try:
        assert connection.execute("select plant_id, quantity, unit from raw_production").fetchall() == [
            ("P1", None, None)
        ]
    finally:
        connection.close()


def test_a_plants_row_repeated_identically_in_one_file_is_one_plant(landing):
    landing.plants([["P1", "One", "BU", "JP", "", ""], ["P1", "One", "BU", "JP", "", ""]])
    landing.production("production_P1.csv", [["P1", "2017-04", "10", "t"]])
    landing.energy("energy_P1.csv", [["P1", "2017-04", "electricity", "1000", "kWh"]])
    landing.run()
    # 1000 kWh x 0.00976 GJ/kWh / 10 t: counted once, though the plant is listed twice
    assert landing.kpi("energy_intensity", 2017, "P1").value == pytest.approx(0.976, rel=1e-12)
    assert landing.query("select count(*) as n from accepted_plants").n[0] == 1


# --------------------------------------------------------------------------------------------
# Adding a kind is one contract entry (plus its registry row and reference data).


@pytest.fixture
def packaging_kind(monkeypatch, tmp_path):
    """A throw-away monthly kind, `packaging` (packaging material used, t or kg, by material),
    defined here alone, with a KPI over it in a copy of the registry."""
    from envkpi import contract

    kind = contract.Kind(
        "packaging",
        "monthly packaging material used",
        (
            contract.PLANT_ID,
            contract.PERIOD,
            contract.Column("material", contract.CHOICE, values=(("paper", ""), ("plastic", ""))),
            contract.AMOUNT,
            contract.Column("unit", contract.CHOICE, values=(("t", ""), ("kg", ""))),
        ),
        slice_columns=("plant_id", "period"),
        row_key=("plant_id", "period", "material"),
        monthly=True,
        measures=(contract.Measure("packaging", "t", (("t", "1"), ("kg", "0.001"))),),
    )
    monkeypatch.setitem(contract.KINDS, "packaging", kind)
    expectations = tmp_path / "expectations"
    expectations.mkdir()
    for name in contract.KINDS:
        (expectations / f"{name}.json").write_text(contract.suite_text(name), encoding="utf-8")
    reference = tmp_path / "reference"
    shutil.copytree(PROJECT_DIR / "data" / "reference", reference)
    with (reference / "kpis.csv").open("a", encoding="utf-8") as registry:
        registry.write(
            "packaging_intensity,Packaging per production unit,packaging,t,production,t,1,2005,"
            "reduction,packaging,yes\n"
        )
    return expectations, reference


def test_a_kind_defined_in_one_contract_entry_runs_end_to_end(packaging_kind, tmp_path):
    expectations, reference = packaging_kind
    landing = Landing(tmp_path / "run")
    landing.settings = landing.settings.with_overrides(expectations=expectations, reference=reference)
    header = ["plant_id", "period", "material", "quantity", "unit"]
    landing.plants([["P1", "One", "BU", "JP", "", ""]])
    landing.production("production_P1.csv", [["P1", "2005-04", "100", "t"], ["P1", "2017-04", "200", "t"]])
    landing.csv(
        "packaging_P1_2005.csv",
        header,
        [["P1", "2005-04", "paper", "3", "t"], ["P1", "2005-04", "plastic", "1000", "kg"]],
    )
    landing.csv(
        "packaging_P1_2017.csv",
        header,
        [["P1", "2017-04", "paper", "4", "t"], ["P1", "2017-04", "plastic", "1500", "kg"]],
    )
    bad = landing.csv("packaging_P1_bad.csv", header, [["P1", "2017-05", "glass", "1", "t"]])
    result = landing.run()

    assert result.ingest.rejected == [bad.name]
    rejections = landing.rejections()
    assert rejections[["file", "row", "column", "value"]].values.tolist() == [[bad.name, "2", "material", "glass"]]
    assert rejections.reason[0] == "unknown material: allowed are paper, plastic"
    raw = landing.query("select plant_id, period, material, quantity, unit from raw_packaging order by all")
    assert raw.values.tolist() == [
        ["P1", "2005-04", "paper", "3", "t"],
        ["P1", "2005-04", "plastic", "1000", "kg"],
        ["P1", "2017-04", "paper", "4", "t"],
        ["P1", "2017-04", "plastic", "1500", "kg"],
    ]
    accepted = landing.query(
        "select strftime(period_month, '%Y-%m') as month, cast(quantity as varchar) as q "
        "from accepted_packaging order by period_month, quantity"
    )
    assert accepted.values.tolist() == [
        ["2005-04", "3.0000000000"],
        ["2005-04", "1000.0000000000"],
        ["2017-04", "4.0000000000"],
        ["2017-04", "1500.0000000000"],
    ]
    # FY2005: (3 t + 1000 kg) / 100 t = 0.04; FY2017: (4 t + 1500 kg) / 200 t = 0.0275,
    # 1 - 0.0275 / 0.04 = 31.25 % below the base year.
    row = landing.kpi("packaging_intensity", 2017)
    assert row.numerator == pytest.approx(5.5, rel=1e-15) and row.denominator == 200
    assert row.base_value == pytest.approx(0.04, rel=1e-15)
    assert row.change_vs_base_pct == pytest.approx(31.25, rel=1e-12)
    assert row.completeness_pct == pytest.approx(100 / 12, rel=1e-12)  # April of twelve months
    lineage = landing.query("select count(*) as n from raw_row_lineage where kind = 'packaging'")
    assert lineage.n[0] == 4
