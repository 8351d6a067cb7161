"""The KPI vocabulary: one rating scale, one scope order and one unit rule, read by the charts, the
pack, the notebooks' frames and the SQL alike (envkpi/vocabulary.py)."""

from __future__ import annotations

import math

import duckdb
import pandas as pd
import pytest

from envkpi import vocabulary
from envkpi.reporting import charts, report_pack
from envkpi.warehouse.database import connect


@pytest.mark.parametrize(
    ("numerator_unit", "denominator_unit", "scale", "expected"),
    [
        ("GJ", "t", 1, "GJ/t"),  # an intensity
        ("GJ", "t", "1", "GJ/t"),  # the registry's text, as kpis.csv holds it
        ("t", "t", 100, "%"),  # a rate
        ("JPY", "JPY", 100.0, "%"),
        ("kg", "t", 1000, "kg/t x 1000.0"),  # another scale, said
        ("t", "kg", 100, "t/kg x 100.0"),  # scale 100 over two units is no percentage
        ("t-CO2", None, 1, "t-CO2"),  # an absolute KPI (contract 8)
        ("t-CO2", float("nan"), float("nan"), "t-CO2"),
        ("GJ", "t", None, None),  # not in the registry: no scale, no unit
    ],
)
def test_a_kpis_unit_follows_from_its_registry_units_and_scale(numerator_unit, denominator_unit, scale, expected):
    assert vocabulary.value_unit(numerator_unit, denominator_unit, scale) == expected


def test_the_charts_take_their_units_from_the_registry():
    registry = pd.DataFrame(
        [
            {
                "kpi": "energy_intensity",
                "label": "Energy per production unit",
                "numerator_unit": "GJ",
                "denominator_unit": "t",
                "scale": 1,
                "base_fiscal_year": 2005,
                "target_kind": "reduction",
                "denominator_measure": "production",
            },
            {
                "kpi": "recycling_rate",
                "label": "Recycling rate",
                "numerator_unit": "t",
                "denominator_unit": "t",
                "scale": 100,
                "base_fiscal_year": None,
                "target_kind": "rate",
                "denominator_measure": "waste",
            },
            {
                "kpi": "scope1_co2",
                "label": "Scope 1 CO2 emissions",
                "numerator_unit": "t-CO2",
                "denominator_unit": None,
                "scale": 1,
                "base_fiscal_year": 2013,
                "target_kind": "reduction",
                "denominator_measure": None,
            },
        ]
    )
    assert charts.kpi_info("energy_intensity", registry).value_unit == "GJ/t"
    assert charts.kpi_info("recycling_rate", registry).value_unit == "%"
    assert charts.kpi_info("scope1_co2", registry).value_unit == "t-CO2"
    assert "total in t-CO2" in charts.kpi_info("scope1_co2", registry).description


@pytest.mark.parametrize(
    ("rating", "stars"),
    [
        ("achieved", "***"),
        ("90% achieved", "**"),
        ("not achieved", "*"),
        (" Achieved ", "***"),
        (None, ""),
        (float("nan"), ""),
        ("excellent", ""),
    ],
)
def test_a_rating_word_shows_as_its_stars(rating, stars):
    assert vocabulary.rating_symbol(rating) == stars
    assert charts.stars(rating) == stars


def test_the_legends_name_the_same_scale():
    assert report_pack.STAR_LEGEND == "*** Achieved   ** 90% achieved   * Not achieved"
    assert charts.RATINGS_FOOTER == "Ratings: *** achieved, ** 90 % achieved, * not achieved"
    assert report_pack.FIGURE_COLUMNS["rating"][1] == (
        "achieved (***), 90% achieved (**), not achieved (*); empty without a target"
    )
    assert report_pack.FIGURE_COLUMNS["achievement_ratio"][1] == (
        "result / target: 1 or more achieved, 0.9 or more 90 % achieved"
    )


def test_the_warehouse_holds_the_scale_and_the_scope_order(tmp_path):
    with connect(tmp_path / "warehouse.duckdb") as connection:
        ratings = connection.execute(
            "select rating, symbol, from_ratio from kpi_rating order by from_ratio desc"
        ).fetchall()
        levels = connection.execute("select scope_level from kpi_scope_level order by position").fetchall()
    assert ratings == [("achieved", "***", 1.0), ("90% achieved", "**", 0.9), ("not achieved", "*", -math.inf)]
    assert levels == [("group",), ("business_unit",), ("plant",)]


def test_a_snapshot_from_before_the_vocabulary_tables_still_reads_them(tmp_path):
    # An older snapshot has neither table: a read-only connection makes them temporary.
    path = tmp_path / "old.duckdb"
    duckdb.connect(str(path)).close()
    with connect(path, read_only=True) as connection:
        assert connection.execute("select count(*) from kpi_rating").fetchone() == (3,)
        assert connection.execute("select scope_level from kpi_scope_level order by position").fetchall()[-1] == (
            "plant",
        )


@pytest.mark.parametrize(
    ("ratio", "expected"),
    [
        (1.0, "achieved"),
        (2.5, "achieved"),
        (0.9999999999, "achieved"),  # 1 at 9 decimals
        (0.9, "90% achieved"),
        (0.8999999999999999, "90% achieved"),
        (0.95, "90% achieved"),
        (0.8999, "not achieved"),
        (0.0, "not achieved"),
        (-3.0, "not achieved"),
        (None, None),
    ],
)
def test_the_sql_rates_a_ratio_by_the_highest_step_it_reaches(tmp_path, ratio, expected):
    # The join kpi_results.sql makes, on one hand-made ratio.
    with connect(tmp_path / "warehouse.duckdb") as connection:
        rating = connection.execute(
            "select scale.rating from (select cast(? as double) as achievement_ratio) as ratio "
            "asof left join kpi_rating as scale on round(ratio.achievement_ratio, 9) >= scale.from_ratio",
            [ratio],
        ).fetchone()
    assert rating == (expected,)
