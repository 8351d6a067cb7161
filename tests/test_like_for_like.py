"""Contract 10, like-for-like against the base year: the same plants in both years, sums never averages.

Three plants of one business unit, waste_intensity (t waste / t production, base FY2005):
A is in the boundary throughout, B was divested at the end of FY2005 (in_scope_to 2006-03), C
was acquired at the start of FY2006 (in_scope_from 2006-04). One month per plant and year.
"""

from __future__ import annotations

import pandas as pd


def deliver(landing, c_waste: str = "1900"):
    landing.plants(
        [
            ["A", "Plant A", "BU", "JP", "", ""],
            ["B", "Plant B", "BU", "JP", "", "2006-03"],
            ["C", "Plant C", "BU", "JP", "2006-04", ""],
        ]
    )
    landing.waste(
        "waste.csv",
        [
            ["A", "2005-04", "scrap", "landfilled", "2100", "t"],
            ["B", "2005-04", "scrap", "landfilled", "1900", "t"],
            ["A", "2006-04", "scrap", "landfilled", "1800", "t"],
            ["C", "2006-04", "scrap", "landfilled", c_waste, "t"],
        ],
    )
    landing.production(
        "production.csv",
        [
            ["A", "2005-04", "100", "t"],
            ["B", "2005-04", "100", "t"],
            ["A", "2006-04", "100", "t"],
            ["C", "2006-04", "100", "t"],
        ],
    )


def row(landing, scope_id: str, fiscal_year: int = 2006) -> pd.Series:
    return landing.kpi("waste_intensity", fiscal_year, scope_id)


def test_like_for_like_with_an_acquisition_and_a_divestment_structural_change_exactly_at_the_threshold(landing):
    deliver(landing)
    landing.run()
    group = row(landing, "group")
    # Reported: base FY2005 = (2100 + 1900) / (100 + 100) = 20; FY2006 = (1800 + 1900) / 200 = 18.5.
    assert group.base_value == 20.0 and group.value == 18.5
    # Like for like, only A (in the boundary in both years): base 2100 / 100 = 21, FY2006 1800 / 100 = 18.
    assert group.like_for_like_base_value == 21.0
    assert group.like_for_like_value == 18.0
    assert group.like_for_like_change_pct == (1 - 18 / 21) * 100
    # The divested plant moves the base: |20 - 21| / 20 x 100 = 5; the acquired one the year:
    # |18.5 - 18| / 18.5 x 100 = 2.70...; the larger, exactly the default threshold of 5.
    assert abs(18.5 - 18) / 18.5 * 100 < 5
    assert group.structural_change_pct == 5.0
    # The business unit holds the same three plants: the same figures.
    unit = row(landing, "BU")
    assert (unit.like_for_like_base_value, unit.like_for_like_value, unit.structural_change_pct) == (21.0, 18.0, 5.0)
    # A plant compares with itself; the acquired plant has no base year, so nothing like for like.
    plant_a = row(landing, "A")
    assert (plant_a.like_for_like_base_value, plant_a.like_for_like_value, plant_a.structural_change_pct) == (
        21.0,
        18.0,
        0.0,
    )
    plant_c = row(landing, "C")
    assert pd.isna(plant_c.like_for_like_value) and pd.isna(plant_c.structural_change_pct)


def test_an_acquired_plant_can_move_the_reported_year_more_than_the_divested_one_moves_the_base(landing):
    deliver(landing, c_waste="2200")
    landing.run()
    group = row(landing, "group")
    # FY2006 = (1800 + 2200) / 200 = 20, like for like 18: |20 - 18| / 20 x 100 = 10 > 5.
    assert group.value == 20.0 and group.like_for_like_value == 18.0
    assert group.structural_change_pct == abs(20 - 18) / 20 * 100


def test_like_for_like_columns_are_appended_and_empty_for_a_kpi_without_base_year(landing):
    deliver(landing)
    landing.run()
    frame = pd.read_csv(landing.settings.reports / "kpi_results.csv")
    assert list(frame.columns[-4:]) == [
        "like_for_like_base_value",
        "like_for_like_value",
        "like_for_like_change_pct",
        "structural_change_pct",
    ]
    assert list(frame.columns[:16])[-1] == "completeness_pct"
    rate = frame[frame.kpi == "recycling_rate"]
    assert len(rate) and rate[frame.columns[-4:]].isna().all().all()
