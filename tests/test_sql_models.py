"""Each SQL model on its own, on tiny tables made by hand: a broken rule names its file.

The input relations a model reads (the accepted views, the reference tables) are created here as
plain tables with the few rows a rule needs; the model's file then runs as the warehouse runs it
(``database.execute_file``), and its output is checked against figures worked out by hand.
"""

from __future__ import annotations

import duckdb
import pytest

from envkpi.warehouse.database import execute_file, sql


@pytest.fixture
def db():
    connection = duckdb.connect()
    execute_file(connection, "macros")
    yield connection
    connection.close()


def table(connection, name: str, columns: str, rows: list[tuple]) -> None:
    connection.execute(f"create table {name} ({columns})")  # test-made names and columns
    if rows:
        marks = ", ".join("?" for _ in rows[0])
        connection.executemany(f"insert into {name} values ({marks})", rows)


CONVERSION = (
    "energy_type varchar, unit varchar, measure varchar, measure_unit varchar, per_unit decimal(18, 9), "
    "source varchar, valid_from_fy integer, valid_to_fy integer, source_file varchar"
)
FACTORS = (
    "energy_type varchar, unit varchar, gj_per_unit decimal(18, 9), source varchar, valid_from_fy integer, "
    "valid_to_fy integer, delivery_id bigint, source_row integer"
)
CO2FACTORS = (
    "energy_type varchar, unit varchar, t_co2_per_unit decimal(18, 9), basis varchar, supplier varchar, "
    "country varchar, source varchar, valid_from_fy integer, valid_to_fy integer, delivery_id bigint, "
    "source_row integer"
)
PLANTS = (
    "plant_id varchar, name varchar, business_unit varchar, country varchar, in_scope_from date, "
    "in_scope_to date, delivery_id bigint, source_row integer"
)


def test_normalised_conversion_takes_the_factor_valid_in_each_year_and_a_delivered_one_first(db):
    table(
        db,
        "reference_conversion",
        CONVERSION,
        [
            ("electricity", "kWh", "energy", "GJ", "0.00976", "shipped", None, 2022, "energy_factors.csv"),
            ("electricity", "kWh", "energy", "GJ", "0.00864", "shipped", 2023, None, "energy_factors.csv"),
        ],
    )
    table(db, "accepted_factors", FACTORS, [("electricity", "kWh", "0.0036", "plant", 2017, 2017, 1, 2)])
    execute_file(db, "normalised_conversion")
    got = dict(
        db.execute(
            "select fiscal_year, cast(per_unit as varchar) from normalised_conversion "
            "where fiscal_year between 2016 and 2024 order by 1"
        ).fetchall()
    )
    assert got == {
        2016: "0.009760000",
        2017: "0.003600000",
        2018: "0.009760000",
        2019: "0.009760000",
        2020: "0.009760000",
        2021: "0.009760000",
        2022: "0.009760000",
        2023: "0.008640000",
        2024: "0.008640000",
    }


def test_normalised_emission_factor_prefers_a_country_row_then_a_delivered_one_then_the_shipped(db):
    table(
        db,
        "reference_conversion",
        CONVERSION,
        [("electricity", "kWh", "co2", "t-CO2", "0.000555", "shipped", None, None, "co2_factors.csv")],
    )
    table(
        db,
        "accepted_plants",
        PLANTS,
        [
            ("P1", "a", "BU", "JP", None, None, 1, 2),
            ("P2", "b", "BU", "US", None, None, 1, 3),
            ("P3", "c", "BU", "DE", None, None, 1, 4),
        ],
    )
    table(
        db,
        "accepted_co2factors",
        CO2FACTORS,
        [
            ("electricity", "kWh", "0.0005", "location", None, "JP", "JP grid", None, None, 2, 2),
            ("electricity", "kWh", "0.0004", "location", None, None, "group default", 2018, None, 2, 3),
            ("electricity", "kWh", "0.0001", "market", "Green Power", None, "contract", 2017, 2017, 2, 4),
            ("electricity", "kWh", "0.0002", "market", "Green Power", "US", "US contract", 2017, 2017, 2, 5),
        ],
    )
    execute_file(db, "normalised_emission_factor")

    def factor(fy, country, basis, supplier=None):
        rows = db.execute(
            "select cast(per_unit as double) from normalised_emission_factor where fiscal_year = ? "
            "and country = ? and basis = ? and supplier_key is not distinct from ?",
            [fy, country, basis, supplier],
        ).fetchall()
        return [r[0] for r in rows]

    assert factor(2017, "JP", "location") == [0.0005]  # the country's row wins in every year
    assert factor(2018, "JP", "location") == [0.0005]
    assert factor(2017, "US", "location") == [0.000555]  # shipped: the general row starts in FY2018
    assert factor(2018, "US", "location") == [0.0004]  # a delivered general row replaces the shipped
    assert factor(2017, "DE", "market", "green power") == [0.0001]  # suppliers match in any case
    assert factor(2017, "US", "market", "green power") == [0.0002]  # the country's market row wins
    assert factor(2018, "DE", "market", "green power") == []  # expired: the location factor applies


def _act(db) -> None:
    table(
        db,
        "reference_energy_conservation",
        "name varchar, value decimal(18, 6), unit varchar, source varchar",
        [
            ("crude_oil_kl_per_gj", "0.0258", "kL/GJ", ""),
            ("type1_designation_kl", "3000", "kL", ""),
            ("type2_designation_kl", "1500", "kL", ""),
            ("specified_business_kl", "1500", "kL", ""),
            ("five_year_average_target_pct", "99", "%", ""),
        ],
    )


def test_energy_conservation_report_counts_jp_plants_in_the_boundary_and_sums_the_total(db):
    _act(db)
    table(
        db,
        "accepted_plants",
        PLANTS,
        [
            ("A", "a", "BU", "JP", None, None, 1, 2),
            ("B", "b", "BU", "JP", None, None, 1, 3),
            ("C", "c", "BU", "CN", None, None, 1, 4),
        ],
    )
    table(
        db,
        "normalised_plant_month",
        "plant_id varchar, business_unit varchar, period_month date, fiscal_year integer",
        [("A", "BU", "2017-04-01", 2017), ("B", "BU", "2017-04-01", 2017), ("C", "BU", "2017-04-01", 2017)],
    )
    table(
        db,
        "normalised_measure",
        "kind varchar, plant_id varchar, business_unit varchar, period_month date, "
        "fiscal_year integer, measure varchar, unit varchar, amount decimal(38, 10)",
        [
            ("energy", "A", "BU", "2017-04-01", 2017, "energy", "GJ", "120000"),
            ("production", "A", "BU", "2017-04-01", 2017, "production", "t", "100"),
            ("energy", "B", "BU", "2017-04-01", 2017, "energy", "GJ", "1000"),
            ("energy", "C", "BU", "2017-04-01", 2017, "energy", "GJ", "999999"),
        ],
    )
    rows = db.execute(
        f"select plant_id, energy_gj, crude_oil_kl, designation, production_t, intensity "
        f"from ({sql('energy_conservation_report')}) where fiscal_year = 2017",
        {"fiscal_years": [2017]},
    ).fetchall()
    # A: 120,000 GJ x 0.0258 = 3,096 kL (type 1); B: 25.8 kL, no production record; C is not JP.
    assert rows == [
        ("A", 120000.0, pytest.approx(3096.0), "type1", 100.0, 1200.0),
        ("B", 1000.0, pytest.approx(25.8), None, None, None),
        ("total", 121000.0, pytest.approx(3121.8), "specified", 100.0, 1210.0),
    ]


def test_kind_measure_amounts_convert_each_delivered_unit_and_count_only_the_rows_a_measure_names(tmp_path):
    from envkpi.warehouse.database import connect

    connection = connect(tmp_path / "w.duckdb")  # the contract's relations over empty raw tables
    try:
        connection.execute("insert into current_slice values ('waste', 'P1' || chr(31) || '2017-04', 1)")
        connection.executemany(
            "insert into raw_waste (delivery_id, source_row, slice_key, is_repeat, plant_id, period, waste_type, "
            "treatment, quantity, unit) values (1, ?, 'P1' || chr(31) || '2017-04', false, 'P1', '2017-04', ?, ?, ?, ?)",
            [
                (2, "slag", "recycled", "1.5", "t"),
                (3, "slag", "valuable", "500", "kg"),
                (4, "oil", "energy_recovery", "2", "t"),
                (5, "oil", "landfilled", "250", "kg"),
            ],
        )
        amounts = dict(
            connection.execute(
                "select measure, cast(sum(amount) as double) from kind_measure_amounts(0) group by measure"
            ).fetchall()
        )
    finally:
        connection.close()
    # waste: 1.5 + 0.5 + 2 + 0.25 t; recycled: recycled and valuable only, 1.5 + 0.5 t
    assert amounts == {"waste": 4.25, "recycled": 2.0}
