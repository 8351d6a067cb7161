"""Contract section 4: KPI figures checked against arithmetic done by hand in each test.

Factors used by hand (data/reference): electricity 0.00976 GJ/kWh and 9.76 GJ/MWh until FY2022,
0.00864 GJ/kWh from FY2023; city gas 0.045 GJ/m3 (FY2013-FY2022); LPG 0.0508 GJ/kg;
heavy oil A 39.1 GJ/kL. CO2: electricity 0.000555 t/kWh, 0.555 t/MWh; city gas 0.00223 t/m3;
LPG 0.003 t/kg; heavy oil A 2.71 t/kL.
"""

from __future__ import annotations

import pandas as pd
import pytest
from helpers import months

ALWAYS = ["", ""]


def plants(landing, *rows):
    landing.plants([[plant_id, f"Plant {plant_id}", bu, "JP", start, end] for plant_id, bu, start, end in rows])


def approx(value):
    return pytest.approx(value, rel=1e-12, abs=1e-12)


def test_units_convert_to_gj_t_and_kg(landing):
    plants(landing, ("P1", "BU-A", "", ""), ("P2", "BU-B", "", ""))
    landing.energy(
        "energy.csv",
        [
            ["P1", "2017-04", "electricity", "1000", "kWh"],  # 9.76 GJ, 0.555 t-CO2
            ["P1", "2017-04", "city_gas", "100", "m3"],  # 4.5 GJ, 0.223 t-CO2
            ["P1", "2017-04", "lpg", "20", "kg"],  # 1.016 GJ, 0.06 t-CO2
            ["P2", "2017-04", "electricity", "3", "MWh"],  # 29.28 GJ, 1.665 t-CO2
            ["P2", "2017-04", "heavy_oil_a", "2", "kL"],  # 78.2 GJ, 5.42 t-CO2
        ],
    )
    landing.production("production.csv", [["P1", "2017-04", "10", "t"], ["P2", "2017-04", "2500", "kg"]])
    landing.waste(
        "waste.csv",
        [
            ["P1", "2017-04", "sludge", "recycled", "1.5", "t"],
            ["P1", "2017-04", "scrap metal", "valuable", "250", "kg"],
            ["P1", "2017-04", "plastics", "incinerated", "0.5", "t"],
            ["P2", "2017-04", "slag", "landfilled", "100", "kg"],
        ],
    )
    landing.chemicals(
        "chemicals.csv",
        [
            ["P1", "2017-04", "toluene", "108-88-3", "air", "2", "kg"],
            ["P1", "2017-04", "xylene", "1330-20-7", "water", "500", "g"],
            ["P2", "2017-04", "hydrogen fluoride", "7664-39-3", "air", "0.001", "t"],
        ],
    )
    landing.run()

    production_t = 10 + 2.5
    energy = landing.kpi("energy_intensity", 2017)
    assert (energy.numerator, energy.numerator_unit) == (approx(9.76 + 4.5 + 1.016 + 29.28 + 78.2), "GJ")
    assert (energy.denominator, energy.denominator_unit) == (approx(production_t), "t")
    assert energy.value == approx(122.756 / 12.5)
    waste = landing.kpi("waste_intensity", 2017)
    assert waste.numerator == approx(1.5 + 0.25 + 0.5 + 0.1)
    # Valuables sold as by-products count as recycled.
    recycling = landing.kpi("recycling_rate", 2017)
    assert recycling.value == approx((1.5 + 0.25) / 2.35 * 100)
    assert pd.isna(recycling.base_year) and pd.isna(recycling.change_vs_base_pct)
    chemicals = landing.kpi("chemical_intensity", 2017)
    assert (chemicals.numerator, chemicals.numerator_unit) == (approx(2 + 0.5 + 1), "kg")
    assert chemicals.value == approx(3.5 / 12.5)
    co2 = landing.kpi("co2_intensity", 2017)
    assert (co2.numerator, co2.numerator_unit) == (approx(0.555 + 0.223 + 0.06 + 1.665 + 5.42), "t-CO2")


def test_the_largest_accepted_quantities_sum_exactly_without_overflow(landing):
    """Quantities up to 10^15 are accepted: a plant-month of them must not overflow the exact
    decimals the build multiplies and sums in (masses are summed before they are converted)."""
    plants(landing, ("P1", "BU-A", "", ""))
    landing.energy(
        "energy.csv",
        [
            ["P1", "2017-04", "heavy_oil_a", "1e15", "kL"],  # 3.91e16 GJ
            ["P1", "2017-04", "electricity", "1e15", "MWh"],
        ],
    )  # 9.76e15 GJ
    landing.production("production.csv", [["P1", "2017-04", "1e15", "t"]])
    landing.waste("waste.csv", [["P1", "2017-04", f"waste {i}", "recycled", "1e15", "t"] for i in range(10)])
    landing.chemicals("chemicals.csv", [["P1", "2017-04", f"substance {i}", "", "air", "1e15", "t"] for i in range(15)])
    landing.run()

    assert landing.kpi("energy_intensity", 2017).numerator == approx(3.91e16 + 9.76e15)
    assert landing.kpi("waste_intensity", 2017).numerator == approx(1e16)
    assert landing.kpi("chemical_intensity", 2017).numerator == approx(15 * 1e15 * 1000)  # kg
    assert landing.kpi("chemical_intensity", 2017).value == approx(15 * 1e15 * 1000 / 1e15)


def test_each_energy_amount_is_rounded_to_10_decimals_half_away_from_zero(landing):
    """Each energy row's amount (quantity x factor) is rounded once, to 10 decimals, half away from
    zero; the plant-month sums the rounded amounts. 0.01 x 0.000000005 GJ = 0.00000000005 GJ, a half
    at the 11th decimal: each of three rows counts 0.0000000001 GJ, 3e-10 in all (rounding the sum
    instead would give 2e-10, not rounding 1.5e-10, rounding half to even 0)."""
    plants(landing, ("P1", "BU-A", "", ""))
    landing.csv(
        "factors.csv",
        ["energy_type", "unit", "gj_per_unit", "source", "valid_from_fy", "valid_to_fy"],
        [[f"gas {i}", "Nm3", "0.000000005", "site table", "", ""] for i in range(3)],
    )
    landing.energy("energy.csv", [["P1", "2017-04", f"gas {i}", "0.01", "Nm3"] for i in range(3)])
    landing.production("production.csv", [["P1", "2017-04", "1", "t"]])
    result = landing.run()
    assert result.ingest.rejected == []
    assert landing.kpi("energy_intensity", 2017).numerator == pytest.approx(3e-10, rel=0, abs=1e-14)


def test_a_scope_sums_numerators_and_denominators_and_never_averages_plant_ratios(landing):
    plants(landing, ("P1", "BU-A", "", ""), ("P2", "BU-A", "", ""), ("P3", "BU-B", "", ""))
    landing.energy(
        "energy.csv",
        [
            ["P1", "2017-04", "electricity", "1000", "kWh"],
            ["P2", "2017-04", "electricity", "3000", "kWh"],
            ["P3", "2017-04", "electricity", "500", "kWh"],
        ],
    )
    landing.production(
        "production.csv", [["P1", "2017-04", "10", "t"], ["P2", "2017-04", "2.5", "t"], ["P3", "2017-04", "4", "t"]]
    )
    landing.run()
    bu_a = landing.kpi("energy_intensity", 2017, "BU-A")
    assert bu_a.value == approx((9.76 + 29.28) / 12.5)
    assert bu_a.value != approx((9.76 / 10 + 29.28 / 2.5) / 2)
    assert landing.kpi("energy_intensity", 2017).value == approx((9.76 + 29.28 + 4.88) / 16.5)
    assert landing.kpi("energy_intensity", 2017, "P2").value == approx(29.28 / 2.5)


def test_fiscal_years_start_in_april_by_default(landing):
    plants(landing, ("P1", "BU-A", "", ""))
    landing.energy(
        "energy.csv", [["P1", "2018-03", "electricity", "1000", "kWh"], ["P1", "2018-04", "electricity", "1000", "kWh"]]
    )
    landing.production("production.csv", [["P1", "2018-03", "10", "t"], ["P1", "2018-04", "20", "t"]])
    landing.run()
    assert landing.kpi("energy_intensity", 2017).value == approx(9.76 / 10)  # 2018-03 is the last month of FY2017
    assert landing.kpi("energy_intensity", 2018).value == approx(9.76 / 20)  # 2018-04 the first of FY2018


def test_the_fiscal_year_start_month_is_a_setting(landing):
    plants(landing, ("P1", "BU-A", "", ""))
    landing.energy(
        "energy.csv", [["P1", "2018-03", "electricity", "1000", "kWh"], ["P1", "2018-04", "electricity", "1000", "kWh"]]
    )
    landing.production("production.csv", [["P1", "2018-03", "10", "t"], ["P1", "2018-04", "20", "t"]])
    landing.run(fiscal_year_start_month=1)
    row = landing.kpi("energy_intensity", 2018)
    assert (row.numerator, row.denominator) == (approx(19.52), approx(30))
    assert row.completeness_pct == approx(2 / 12 * 100)


def test_each_month_converts_with_the_factor_valid_in_its_fiscal_year(landing):
    plants(landing, ("P1", "BU-A", "", ""))
    landing.energy(
        "energy.csv",
        [
            ["P1", "2023-03", "electricity", "1000", "kWh"],  # FY2022: 9.76 GJ/MWh
            ["P1", "2023-04", "electricity", "1000", "kWh"],
        ],
    )  # FY2023: 8.64 GJ/MWh
    landing.production("production.csv", [["P1", "2023-03", "1", "t"], ["P1", "2023-04", "1", "t"]])
    landing.run()
    assert landing.kpi("energy_intensity", 2022).numerator == approx(9.76)
    assert landing.kpi("energy_intensity", 2023).numerator == approx(8.64)


def test_a_delivered_factor_replaces_the_shipped_one_for_its_years_only(landing):
    plants(landing, ("P1", "BU-A", "", ""))
    landing.csv(
        "factors.csv",
        ["energy_type", "unit", "gj_per_unit", "source", "valid_from_fy", "valid_to_fy"],
        [
            ["electricity", "kWh", "0.0036", "site meter, final energy", "2017", ""],
            ["hydrogen", "Nm3", "0.01276", "site table", "", ""],
        ],
    )
    landing.energy(
        "energy.csv",
        [
            ["P1", "2016-04", "electricity", "1000", "kWh"],
            ["P1", "2017-04", "electricity", "1000", "kWh"],
            ["P1", "2017-04", "hydrogen", "100", "Nm3"],
        ],
    )
    landing.production("production.csv", [["P1", "2016-04", "1", "t"], ["P1", "2017-04", "1", "t"]])
    result = landing.run()
    assert result.ingest.rejected == []
    assert landing.kpi("energy_intensity", 2016).numerator == approx(9.76)
    assert landing.kpi("energy_intensity", 2017).numerator == approx(3.6 + 1.276)


def test_months_outside_the_boundary_are_ignored_with_a_warning(landing):
    plants(landing, ("P1", "BU-A", "", ""), ("P2", "BU-A", "2017-06", "2017-08"))
    landing.energy(
        "energy.csv",
        [["P1", m, "electricity", "1000", "kWh"] for m in months("2017-04", "2018-03")]
        + [["P2", m, "electricity", "1000", "kWh"] for m in months("2017-04", "2017-09")],
    )
    landing.production(
        "production.csv",
        [["P1", m, "1", "t"] for m in months("2017-04", "2018-03")]
        + [["P2", m, "1", "t"] for m in months("2017-04", "2017-09")],
    )
    result = landing.run()
    assert result.ingest.rejected == []  # outside the boundary is a warning, not a rejection
    p2 = landing.kpi("energy_intensity", 2017, "P2")
    assert (p2.numerator, p2.denominator) == (approx(3 * 9.76), approx(3))  # June, July, August
    assert p2.completeness_pct == 100
    group = landing.kpi("energy_intensity", 2017)
    assert (group.numerator, group.denominator) == (approx(15 * 9.76), approx(15))
    warnings = pd.read_csv(landing.settings.reports / "boundary_warnings.csv", dtype=str)
    assert sorted(zip(warnings.kind, warnings.period)) == sorted(
        (kind, period) for kind in ("energy", "production") for period in ("2017-04", "2017-05", "2017-09")
    )


def test_completeness_counts_plant_months_with_production_and_the_kpis_own_kind(landing):
    plants(landing, ("P1", "BU-A", "", ""))
    all_months = months("2017-04", "2018-03")
    landing.energy("energy.csv", [["P1", m, "electricity", "0", "kWh"] for m in all_months if m != "2017-07"])
    landing.production("production.csv", [["P1", m, "1", "t"] for m in all_months])
    landing.run()
    energy = landing.kpi("energy_intensity", 2017)
    assert energy.completeness_pct == approx(11 / 12 * 100)
    assert energy.value == 0  # zeros are records: an absent month is missing, not zero
    assert landing.kpi("waste_intensity", 2017).completeness_pct == 0


def test_a_plant_that_moves_to_another_business_unit_takes_its_history_with_it(landing):
    """Business-unit figures follow the plants file as it stands: a re-delivered plants file that
    moves P2 from BU-A to BU-B moves every year of P2, with no monthly file delivered again."""
    plants(landing, ("P1", "BU-A", "", ""), ("P2", "BU-A", "", ""))
    landing.energy(
        "energy.csv",
        [["P1", m, "electricity", "1000", "kWh"] for m in ("2016-04", "2017-04")]
        + [["P2", m, "electricity", "3000", "kWh"] for m in ("2016-04", "2017-04")],
    )
    landing.production("production.csv", [[p, m, "1", "t"] for p in ("P1", "P2") for m in ("2016-04", "2017-04")])
    landing.run()
    assert landing.kpi("energy_intensity", 2016, "BU-A").numerator == approx(9.76 + 29.28)

    landing.plants(
        [["P1", "Plant P1", "BU-A", "JP", "", ""], ["P2", "Plant P2", "BU-B", "JP", "", ""]], name="plants_2.csv"
    )
    landing.run()
    for fiscal_year in (2016, 2017):
        bu_a = landing.kpi("energy_intensity", fiscal_year, "BU-A")
        bu_b = landing.kpi("energy_intensity", fiscal_year, "BU-B")
        assert (bu_a.numerator, bu_a.denominator) == (approx(9.76), approx(1))
        assert (bu_b.numerator, bu_b.denominator) == (approx(29.28), approx(1))
        assert bu_b.completeness_pct == approx(100 / 12)  # April of the twelve months
        assert landing.kpi("energy_intensity", fiscal_year).numerator == approx(9.76 + 29.28)


def test_each_accepted_plant_month_is_recorded_once_per_kind_whatever_its_plant_id_holds(landing):
    """normalised_record (what completeness counts) lists each kind's plant-months with an accepted
    row, once: across re-deliveries and identical repeated rows, and not for a rejected file. Plant
    ids are free text: one holds non-ASCII characters, one a comma, a pipe and a space. (A plant id
    holding the control character that separates a slice key's parts is rejected since issue 18,
    as every invisible character in key text is: see test_real_world_files.py.)"""
    odd = "A,B| C"
    plants(landing, ("P1", "BU-A", "", ""), ("工場A", "BU-A", "", ""), (odd, "BU-B", "", ""))
    landing.energy(
        "energy_1.csv",
        [["P1", "2017-04", "electricity", "1000", "kWh"], ["P1", "2017-05", "electricity", "1000", "kWh"]],
    )
    landing.production("production_1.csv", [["P1", "2017-04", "1", "t"]])
    landing.waste(
        "waste_1.csv",
        [["工場A", "2017-04", "slag", "recycled", "1", "t"], ["工場A", "2017-04", "slag", "recycled", "1", "t"]],
    )  # an identical repeat
    landing.chemicals("chemicals_1.csv", [[odd, "2017-06", "toluene", "108-88-3", "air", "2", "kg"]])
    landing.run()
    landing.energy(
        "energy_2.csv",
        [
            ["P1", "2017-05", "electricity", "900", "kWh"],  # restated
            ["P1", "2017-06", "electricity", "900", "kWh"],
        ],
    )  # new
    landing.production("production_2.csv", [["P1", "2017-07", "not a number", "t"]])  # rejected
    result = landing.run()
    assert result.ingest.rejected == ["production_2.csv"]

    recorded = landing.query("select kind, plant_id, strftime(period_month, '%Y-%m') as period from normalised_record")
    assert sorted(map(tuple, recorded.values.tolist())) == sorted(
        [
            ("energy", "P1", "2017-04"),
            ("energy", "P1", "2017-05"),
            ("energy", "P1", "2017-06"),
            ("production", "P1", "2017-04"),
            ("waste", "工場A", "2017-04"),
            ("chemicals", odd, "2017-06"),
        ]
    )


def test_a_divested_plant_leaves_the_base_year_untouched(landing):
    # P2 was sold in September 2010: its FY2005 months stay in the FY2005 boundary.
    plants(landing, ("P1", "BU-A", "", ""), ("P2", "BU-A", "", "2010-09"))
    landing.energy(
        "energy.csv",
        [
            ["P1", "2005-04", "electricity", "1000", "kWh"],
            ["P2", "2005-04", "electricity", "3000", "kWh"],
            ["P1", "2017-04", "electricity", "900", "kWh"],
        ],
    )
    landing.production(
        "production.csv", [["P1", "2005-04", "10", "t"], ["P2", "2005-04", "10", "t"], ["P1", "2017-04", "10", "t"]]
    )
    landing.run()
    base = (9.76 + 29.28) / 20
    fy2017 = landing.kpi("energy_intensity", 2017)
    assert fy2017.base_value == approx(base)
    assert fy2017.value == approx(8.784 / 10)
    assert fy2017.change_vs_base_pct == approx((1 - (8.784 / 10) / base) * 100)
    results = pd.read_csv(landing.settings.reports / "kpi_results.csv")
    assert results[(results.scope_id == "P2") & (results.fiscal_year == 2017)].empty


def test_ratings_at_exactly_100_and_90_percent_of_the_target(landing):
    plants(landing, ("P1", "BU-A", "", ""))
    landing.energy(
        "energy.csv", [["P1", "2005-04", "electricity", "1000", "kWh"], ["P1", "2017-04", "electricity", "910", "kWh"]]
    )  # 9 % below FY2005
    landing.production(
        "production.csv", [["P1", "2005-04", "10", "t"], ["P1", "2006-04", "10", "t"], ["P1", "2017-04", "10", "t"]]
    )
    landing.chemicals(
        "chemicals.csv",
        [["P1", "2006-04", "toluene", "", "air", "10", "kg"], ["P1", "2017-04", "toluene", "", "air", "8", "kg"]],
    )  # 20 % below FY2006
    landing.waste(
        "waste.csv",
        [["P1", "2017-04", "slag", "recycled", "72", "t"], ["P1", "2017-04", "slag", "landfilled", "28", "t"]],
    )  # 72 % recycled
    landing.targets(
        [
            ["energy_intensity", "2017", "10", ""],  # 9 / 10 = 0.9: 90% achieved
            ["chemical_intensity", "2017", "20", ""],  # 20 / 20 = 1: achieved
            ["recycling_rate", "2017", "72", ""],  # 72 / 72 = 1: achieved
            ["recycling_rate", "2017", "80", "BU-A"],  # 72 / 80 = 0.9: 90% achieved
            ["recycling_rate", "2017", "80.1", "P1"],  # 72 / 80.1 < 0.9: not achieved
            ["energy_intensity", "2017", "9.0000001", "P1"],
        ]
    )  # just short: 90% achieved, not achieved
    landing.run()
    energy = landing.kpi("energy_intensity", 2017)
    assert energy.change_vs_base_pct == approx(9)
    assert (energy.achievement_ratio, energy.rating) == (approx(0.9), "90% achieved")
    assert landing.kpi("chemical_intensity", 2017).rating == "achieved"
    assert landing.kpi("chemical_intensity", 2017).base_year == 2006
    assert landing.kpi("recycling_rate", 2017).rating == "achieved"
    assert landing.kpi("recycling_rate", 2017, "BU-A").rating == "90% achieved"
    assert landing.kpi("recycling_rate", 2017, "P1").rating == "not achieved"
    assert landing.kpi("energy_intensity", 2017, "P1").rating == "90% achieved"
    no_target = landing.kpi("waste_intensity", 2017)
    assert pd.isna(no_target.target_pct) and pd.isna(no_target.rating)


def test_a_restatement_on_a_later_run_changes_exactly_the_affected_fiscal_years(landing):
    plants(landing, ("P1", "BU-A", "", ""), ("P2", "BU-B", "", ""))
    history = ["2005-04", "2016-05", "2017-05"]
    for plant in ("P1", "P2"):
        landing.energy(f"energy_{plant}.csv", [[plant, m, "electricity", "1000", "kWh"] for m in history])
        landing.production(f"production_{plant}.csv", [[plant, m, "10", "t"] for m in history])
        landing.waste(f"waste_{plant}.csv", [[plant, m, "slag", "recycled", "1", "t"] for m in history])
    landing.run()
    before = pd.read_csv(landing.settings.reports / "kpi_results.csv")

    landing.energy("energy_P1_2016-05_restated.csv", [["P1", "2016-05", "electricity", "1200", "kWh"]])
    landing.run()
    after = pd.read_csv(landing.settings.reports / "kpi_results.csv")

    key = ["scope_level", "scope_id", "kpi", "fiscal_year"]
    merged = before.merge(after, on=key, suffixes=("_before", "_after"))
    assert len(merged) == len(before) == len(after)
    same = (merged.value_before == merged.value_after) | (merged.value_before.isna() & merged.value_after.isna())
    changed = merged[~same]
    assert sorted(map(tuple, changed[key].values.tolist())) == sorted(
        (level, scope, kpi, 2016)
        for level, scope in (("group", "group"), ("business_unit", "BU-A"), ("plant", "P1"))
        # Electricity is Scope 2: both of its CO2 figures change, Scope 1 (no fuel) does not.
        for kpi in ("co2_intensity", "energy_intensity", "scope2_location_co2", "scope2_market_co2")
    )
    p1 = merged[(merged.scope_id == "P1") & (merged.kpi == "energy_intensity") & (merged.fiscal_year == 2016)].iloc[0]
    assert (p1.value_before, p1.value_after) == (approx(9.76 / 10), approx(11.712 / 10))


def test_nights_that_update_slice_by_slice_give_the_figures_of_a_rebuild_from_scratch(tmp_path):
    from helpers import Landing

    nightly = Landing(tmp_path / "nightly")
    plants_rows = [["P1", "Plant P1", "BU-A", "JP", "", ""], ["P2", "Plant P2", "BU-B", "JP", "", ""]]
    nightly.plants(plants_rows)
    nightly.energy(
        "energy_1.csv", [[p, m, "electricity", "1000", "kWh"] for p in ("P1", "P2") for m in ("2005-04", "2017-04")]
    )
    nightly.production("production_1.csv", [[p, m, "10", "t"] for p in ("P1", "P2") for m in ("2005-04", "2017-04")])
    nightly.waste(
        "waste_1.csv", [[p, m, "slag", "recycled", "1", "t"] for p in ("P1", "P2") for m in ("2005-04", "2017-04")]
    )
    nightly.run()
    # Night 2: a restatement and a new month.
    nightly.energy(
        "energy_2.csv", [["P1", "2017-04", "electricity", "800", "kWh"], ["P1", "2017-05", "city_gas", "50", "m3"]]
    )
    nightly.production("production_2.csv", [["P1", "2017-05", "5", "t"]])
    nightly.run()
    # Night 3: P2 leaves the boundary in 2017-03, a delivered factor changes FY2017's electricity.
    nightly.plants([plants_rows[0], ["P2", "Plant P2", "BU-B", "JP", "", "2017-03"]], name="plants_2.csv")
    nightly.csv(
        "factors.csv",
        ["energy_type", "unit", "gj_per_unit", "valid_from_fy"],
        [["electricity", "kWh", "0.0036", "2017"]],
    )
    nightly.run()
    # Night 4: targets for FY2017 arrive.
    nightly.targets([["energy_intensity", "2017", "5", ""], ["waste_intensity", "2017", "1", "P1"]])
    nightly.run()
    # Night 5: the base year is restated: every later year's change versus it moves.
    nightly.energy("energy_3.csv", [["P1", "2005-04", "electricity", "1200", "kWh"]])
    nightly.run()
    # Night 6: a month of FY2020: FY2018 and FY2019 enter the reporting span without data.
    nightly.energy("energy_4.csv", [["P1", "2020-04", "electricity", "900", "kWh"]])
    nightly.production("production_4.csv", [["P1", "2020-04", "9", "t"]])
    nightly.run()
    # Night 7: the KPI registry moves waste's base year to FY2017.
    reference = tmp_path / "reference"
    reference.mkdir()
    for path in nightly.settings.reference.glob("*.csv"):
        (reference / path.name).write_bytes(path.read_bytes())
    registry = pd.read_csv(reference / "kpis.csv", dtype=str, keep_default_na=False)
    registry.loc[registry.kpi == "waste_intensity", "base_fiscal_year"] = "2017"
    registry.to_csv(reference / "kpis.csv", index=False)
    nightly.settings = nightly.settings.with_overrides(reference=reference)
    nightly.run()
    # Night 8: nothing new.
    nightly.run()
    incremental = (nightly.settings.reports / "kpi_results.csv").read_bytes()

    scratch = Landing(tmp_path / "scratch")
    scratch.settings = scratch.settings.with_overrides(landing=nightly.path, reference=reference)
    scratch.run()
    assert (scratch.settings.reports / "kpi_results.csv").read_bytes() == incremental
    # And the figures are the hand-computed ones: FY2017 P1 = (800 kWh x 0.0036 + 50 m3 x 0.045) / 15 t.
    assert nightly.kpi("energy_intensity", 2017, "P1").value == approx((2.88 + 2.25) / 15)
    assert nightly.kpi("energy_intensity", 2017).value == approx((2.88 + 2.25) / 15)  # P2 out of the boundary
    # The restated base year: FY2005 = (1,200 kWh x 0.00976 + 1,000 kWh x 0.00976) / 20 t (factor
    # 0.0036 from FY2017 only), so FY2017 is 1 - 0.342 / 1.0736 = 68.14...% below it.
    base = (1200 * 0.00976 + 1000 * 0.00976) / 20
    assert nightly.kpi("energy_intensity", 2005).value == approx(base)
    assert nightly.kpi("energy_intensity", 2017).change_vs_base_pct == approx((1 - (2.88 + 2.25) / 15 / base) * 100)
    # The target arrived on night 4: achievement = change vs base / 5 %.
    assert nightly.kpi("energy_intensity", 2017).target_pct == 5
    assert nightly.kpi("energy_intensity", 2019).completeness_pct == 0  # in the span, no data
    assert nightly.kpi("waste_intensity", 2017).base_year == 2017  # the registry's new base year
