"""Contract v2 (sections 6 to 9), rule by rule, on small hand-made deliveries. Every expected
figure is worked out by hand in the test from the shipped factors:
electricity 0.00976 GJ/kWh and 0.000555 t-CO2/kWh, city gas 0.045 GJ/m3 (FY2013 on) and
0.00223 t-CO2/m3, steam 1 GJ/GJ and 0.060 t-CO2/GJ."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from helpers import Landing

PROJECT_DIR = Path(__file__).resolve().parent.parent
ENERGY_V2 = ["plant_id", "period", "energy_type", "meter_id", "supplier", "quantity", "unit"]
CO2FACTORS = [
    "energy_type",
    "unit",
    "t_co2_per_unit",
    "basis",
    "supplier",
    "country",
    "source",
    "valid_from_fy",
    "valid_to_fy",
]


def _csv(landing: Landing, folder: str, name: str) -> pd.DataFrame:
    return pd.read_csv(landing.settings.reports / folder / name, dtype={"plant_id": str})


# --- section 6: meters and suppliers, energy recovery, transfers ------------------------------


def test_meters_of_one_energy_type_are_summed_and_an_empty_meter_is_a_value_of_its_own(landing):
    landing.plants([["P1", "One", "BU", "JP", "", ""]])
    landing.production("production.csv", [["P1", "2017-04", "10", "t"]])
    landing.csv(
        "energy.csv",
        ENERGY_V2,
        [
            ["P1", "2017-04", "electricity", "M1", "", "1000", "kWh"],
            ["P1", "2017-04", "electricity", "M2", "", "500", "kWh"],
            ["P1", "2017-04", "electricity", "", "", "250", "kWh"],
        ],
    )
    landing.run()
    row = landing.kpi("energy_intensity", 2017, "P1")
    # (1000 + 500 + 250) kWh x 0.00976 GJ/kWh = 17.08 GJ over 10 t
    assert row.numerator == pytest.approx(17.08, rel=1e-15)
    assert row.value == pytest.approx(1.708, rel=1e-15)


def test_two_rows_of_one_meter_that_disagree_reject_the_file(landing):
    landing.plants([["P1", "One", "BU", "JP", "", ""]])
    bad = landing.csv(
        "energy.csv",
        ENERGY_V2,
        [
            ["P1", "2017-04", "electricity", "M1", "", "1000", "kWh"],
            ["P1", "2017-04", "electricity", "M1", "", "900", "kWh"],
        ],
    )
    result = landing.run()
    assert result.ingest.rejected == [bad.name]
    rejection = landing.rejections().iloc[0]
    assert (rejection.row, rejection.column) == ("3", "quantity")
    assert "meter_id" in rejection.reason and "duplicate key" in rejection.reason


def test_energy_recovery_counts_as_waste_generated_but_not_as_recycled(landing):
    landing.plants([["P1", "One", "BU", "JP", "", ""]])
    landing.production("production.csv", [["P1", "2017-04", "100", "t"]])
    landing.waste(
        "waste.csv",
        [
            ["P1", "2017-04", "plastics", "recycled", "6", "t"],
            ["P1", "2017-04", "plastics", "energy_recovery", "3000", "kg"],
            ["P1", "2017-04", "sludge", "landfilled", "1", "t"],
        ],
    )
    landing.run()
    rate = landing.kpi("recycling_rate", 2017, "P1")
    assert (rate.numerator, rate.denominator) == (6, 10)  # 6 t of 6 + 3 + 1 t
    assert rate.value == pytest.approx(60.0, rel=1e-15)
    gri = _csv(landing, "disclosures", "gri_FY2017.csv").set_index(["disclosure", "item"]).value
    assert gri["306-3", "total"] == 10 and gri["306-4", "total"] == 6 and gri["306-5", "total"] == 4
    assert gri["306-5", "treatment:energy_recovery"] == 3 and gri["306-5", "treatment:landfilled"] == 1
    assert ("306-5", "treatment:incinerated") not in gri.index  # none this year: no item


def test_prtr_transfers_are_reported_but_absent_from_chemical_intensity(landing):
    landing.plants([["P1", "One", "BU", "JP", "", ""], ["P2", "Two", "BU", "US", "", ""]])
    landing.production("production.csv", [["P1", "2017-04", "10", "t"], ["P2", "2017-04", "10", "t"]])
    landing.chemicals(
        "chemicals.csv",
        [
            ["P1", "2017-04", "toluene", "108-88-3", "air", "5", "kg"],
            ["P1", "2017-04", "toluene", "108-88-3", "sewer", "2", "kg"],
            ["P1", "2017-05", "toluene", "108-88-3", "offsite", "3000", "g"],
            ["P1", "2017-05", "xylene", "", "air", "0", "kg"],
            ["P2", "2017-04", "toluene", "108-88-3", "air", "7", "kg"],
        ],
    )
    landing.run()
    intensity = landing.kpi("chemical_intensity", 2017, "P1")
    assert intensity.numerator == 5 and intensity.value == pytest.approx(0.5, rel=1e-15)  # air only
    prtr = _csv(landing, "regulatory", "prtr_FY2017.csv")
    # JP plants only, substances with a non-zero year; g to kg.
    assert prtr.to_dict("records") == [
        {
            "plant_id": "P1",
            "substance": "toluene",
            "cas_number": "108-88-3",
            "air_kg": 5.0,
            "water_kg": 0.0,
            "soil_kg": 0.0,
            "landfill_kg": 0.0,
            "sewer_kg": 2.0,
            "offsite_kg": 3.0,
        }
    ]


def test_prtr_gives_the_cas_number_of_the_latest_month(landing):
    landing.plants([["P1", "One", "BU", "JP", "", ""]])
    landing.chemicals(
        "chemicals.csv",
        [
            ["P1", "2017-04", "boron compounds", "old-1", "water", "1", "kg"],
            ["P1", "2017-09", "boron compounds", "new-2", "water", "1", "kg"],
            ["P1", "2017-11", "boron compounds", "", "water", "1", "kg"],
        ],
    )
    landing.run()
    assert _csv(landing, "regulatory", "prtr_FY2017.csv").cas_number.tolist() == ["new-2"]


# --- section 7: new kinds --------------------------------------------------------------------


def test_water_in_m3_kl_and_t_counts_the_same_and_gri_reports_megalitres(landing):
    landing.plants([["P1", "One", "BU", "JP", "", ""]])
    landing.production("production.csv", [["P1", "2017-04", "50", "t"]])
    header = ["plant_id", "period", "source", "quantity", "unit"]
    landing.csv(
        "water.csv",
        header,
        [
            ["P1", "2017-04", "municipal", "100", "m3"],
            ["P1", "2017-04", "groundwater", "50", "kL"],
            ["P1", "2017-04", "rainwater", "25", "t"],
        ],
    )
    landing.run()
    row = landing.kpi("water_intensity", 2017, "P1")
    assert row.numerator == 175 and row.value == pytest.approx(3.5, rel=1e-15)  # 175 m3 / 50 t
    gri = _csv(landing, "disclosures", "gri_FY2017.csv").set_index(["disclosure", "item"]).value
    assert gri["303-3", "total"] == pytest.approx(0.175, rel=1e-15)
    assert gri["303-3", "source:groundwater"] == pytest.approx(0.05, rel=1e-15)


def test_eco_product_sales_ratio_and_green_purchasing_rate_count_amounts_by_their_mark(landing):
    landing.plants([["P1", "One", "BU", "JP", "", ""], ["P2", "Two", "BU", "JP", "", ""]])
    sales = ["plant_id", "period", "product_line", "eco_product", "quantity", "unit"]
    landing.csv(
        "sales.csv",
        sales,
        [
            ["P1", "2017-04", "magnets", "yes", "150", "JPY"],
            ["P1", "2017-04", "magnets", "no", "350", "JPY"],
            ["P2", "2017-05", "wire", "yes", "57", "JPY"],
            ["P2", "2017-05", "wire", "no", "443", "JPY"],
        ],
    )
    purchases = ["plant_id", "period", "category", "eco_mark", "quantity", "unit"]
    landing.csv(
        "purchases.csv",
        purchases,
        [
            ["P1", "2018-04", "office supplies", "yes", "86", "JPY"],
            ["P1", "2018-04", "office supplies", "no", "14", "JPY"],
        ],
    )
    landing.targets([["eco_product_sales_ratio", "2017", "19", ""]])
    landing.run()
    ratio = landing.kpi("eco_product_sales_ratio", 2017)
    assert (ratio.numerator, ratio.denominator, ratio.numerator_unit) == (207, 1000, "JPY")
    assert ratio.value == pytest.approx(20.7, rel=1e-15) and ratio.rating == "achieved"  # 20.7 / 19 >= 1
    # Completeness counts records of the KPI's own kind; no production is needed: P1 has April,
    # P2 May, of 24 plant-months.
    assert ratio.completeness_pct == pytest.approx(2 / 24 * 100, rel=1e-12)
    assert landing.kpi("green_purchasing_rate", 2018).value == pytest.approx(86.0, rel=1e-15)


def test_a_sales_file_in_another_currency_is_rejected_with_the_currency_to_convert_to(landing):
    landing.plants([["P1", "One", "BU", "JP", "", ""]])
    sales = ["plant_id", "period", "product_line", "eco_product", "quantity", "unit"]
    bad = landing.csv("sales.csv", sales, [["P1", "2017-04", "magnets", "yes", "150", "USD"]])
    result = landing.run()
    assert result.ingest.rejected == [bad.name]
    rejection = landing.rejections().iloc[0]
    assert (rejection.row, rejection.column, rejection.value) == ("2", "unit", "USD")
    assert rejection.reason == "unit is not the reporting currency: convert to JPY at the group's rate"


def test_a_market_factor_without_a_supplier_rejects_the_co2factors_file(landing):
    landing.plants([["P1", "One", "BU", "JP", "", ""]])
    bad = landing.csv("co2factors.csv", CO2FACTORS, [["electricity", "kWh", "0.0003", "market", "", "", "", "", ""]])
    result = landing.run()
    assert result.ingest.rejected == [bad.name]
    assert landing.rejections()[["row", "column"]].values.tolist() == [["2", "supplier"]]


# --- section 8: Scope 1 and 2, location and market -------------------------------------------


def _scope_landing(landing: Landing) -> None:
    landing.plants([["P1", "One", "BU", "JP", "", ""], ["P2", "Two", "BU", "US", "", ""]])
    landing.csv(
        "co2factors.csv",
        CO2FACTORS,
        [
            ["electricity", "kWh", "0.0003", "market", "Green Power", "", "supplier disclosure", "2017", "2017"],
            ["electricity", "kWh", "0.0005", "location", "", "JP", "JP grid", "", ""],
            ["biogas", "m3", "0.001", "location", "", "", "own estimate", "", ""],
        ],
    )
    landing.csv("factors.csv", ["energy_type", "unit", "gj_per_unit"], [["biogas", "m3", "0.02"]])
    landing.csv(
        "energy.csv",
        ENERGY_V2,
        [
            ["P1", "2017-04", "electricity", "A", " green power ", "1000", "kWh"],  # market, trimmed, any case
            ["P1", "2017-04", "electricity", "B", "Other Utility", "1000", "kWh"],  # no market factor
            ["P1", "2018-04", "electricity", "A", "Green Power", "1000", "kWh"],  # factor valid in FY2017 only
            ["P1", "2017-04", "city_gas", "", "", "1000", "m3"],
            ["P1", "2017-04", "steam", "", "", "100", "GJ"],
            ["P1", "2017-04", "biogas", "", "", "100", "m3"],
            ["P2", "2017-04", "electricity", "", "Green Power", "1000", "kWh"],  # a US plant: shipped location
        ],
    )


def test_scope_1_and_2_location_and_market_based_by_energy_type_supplier_year_and_country(landing):
    _scope_landing(landing)
    landing.run()
    p1 = {kpi: landing.kpi(kpi, 2017, "P1") for kpi in ("scope1_co2", "scope2_location_co2", "scope2_market_co2")}
    # Scope 1: city gas 1000 m3 x 0.00223 + biogas (a delivered type: Scope 1) 100 m3 x 0.001
    assert p1["scope1_co2"].value == pytest.approx(2.23 + 0.1, rel=1e-15)
    # Scope 2 location: the JP grid row wins for a JP plant: 2000 kWh x 0.0005 + steam 100 GJ x 0.060
    assert p1["scope2_location_co2"].value == pytest.approx(1.0 + 6.0, rel=1e-15)
    # Scope 2 market: Green Power's 1000 kWh x 0.0003, the other supplier's at the location factor
    assert p1["scope2_market_co2"].value == pytest.approx(0.3 + 0.5 + 6.0, rel=1e-15)
    assert pd.isna(p1["scope1_co2"].denominator) and p1["scope1_co2"].numerator == p1["scope1_co2"].value
    # FY2018: the market factor has expired, so market = location = 1000 kWh x 0.0005
    fy18 = landing.kpi("scope2_market_co2", 2018, "P1")
    assert fy18.value == pytest.approx(0.5, rel=1e-15)
    # A US plant: the JP row does not apply, the shipped 0.000555; market 0.0003 for its supplier
    assert landing.kpi("scope2_location_co2", 2017, "P2").value == pytest.approx(0.555, rel=1e-15)
    assert landing.kpi("scope2_market_co2", 2017, "P2").value == pytest.approx(0.3, rel=1e-15)
    gri = _csv(landing, "disclosures", "gri_FY2017.csv").set_index(["disclosure", "item"]).value
    assert gri["305-1", "scope1"] == pytest.approx(2.33, rel=1e-15)
    assert gri["305-2", "location_based"] == pytest.approx(7.0 + 0.555, rel=1e-15)
    assert gri["305-2", "market_based"] == pytest.approx(6.8 + 0.3, rel=1e-15)


def test_absolute_kpis_are_complete_with_energy_records_alone(landing):
    landing.plants([["P1", "One", "BU", "JP", "", ""]])
    landing.energy(
        "energy.csv", [["P1", period, "electricity", "100", "kWh"] for period in ["2017-04", "2017-05", "2017-06"]]
    )
    landing.run()
    # Three of the twelve months: 25 %, though no month has a production record.
    assert landing.kpi("scope2_location_co2", 2017, "P1").completeness_pct == pytest.approx(25.0, rel=1e-15)
    assert landing.kpi("energy_intensity", 2017, "P1").completeness_pct == 0
    assert landing.kpi("scope2_location_co2", 2017, "P1").value == pytest.approx(300 * 0.000555, rel=1e-15)


def test_absolute_kpis_change_versus_their_fy2013_base_year(landing):
    landing.plants([["P1", "One", "BU", "JP", "", ""]])
    landing.energy(
        "energy.csv", [["P1", "2013-04", "city_gas", "1000", "m3"], ["P1", "2017-04", "city_gas", "800", "m3"]]
    )
    landing.run()
    row = landing.kpi("scope1_co2", 2017, "P1")
    assert row.base_year == 2013 and row.base_value == pytest.approx(2.23, rel=1e-15)
    assert row.change_vs_base_pct == pytest.approx(20.0, rel=1e-12)  # 1 - 1.784 / 2.23


# --- section 9: the Energy Conservation Act report -------------------------------------------


def _act_reference(tmp_path: Path, crude_oil_kl_per_gj: str) -> Path:
    reference = tmp_path / "reference"
    shutil.copytree(PROJECT_DIR / "data" / "reference", reference)
    act = pd.read_csv(reference / "energy_conservation.csv", dtype=str)
    act.loc[act.name == "crude_oil_kl_per_gj", "value"] = crude_oil_kl_per_gj
    act.to_csv(reference / "energy_conservation.csv", index=False)
    return reference


def test_crude_oil_equivalent_and_designation_exactly_at_1500_and_3000_kl(tmp_path):
    # With 0.025 kL/GJ (a test's own conversion), 60,000 GJ is exactly 1,500 kL and 120,000 GJ
    # exactly 3,000 kL; the plant just below each line is 0.0001 GJ short.
    landing = Landing(tmp_path / "run")
    landing.settings = landing.settings.with_overrides(reference=_act_reference(tmp_path, "0.025"))
    landing.plants(
        [
            ["A", "a", "BU", "JP", "", ""],
            ["B", "b", "BU", "JP", "", ""],
            ["C", "c", "BU", "JP", "", ""],
            ["D", "d", "BU", "JP", "", ""],
            ["E", "e", "BU", "DE", "", ""],
        ]
    )
    landing.energy(
        "energy.csv",
        [
            ["A", "2017-04", "steam", "60000", "GJ"],
            ["B", "2017-04", "steam", "59999.9999", "GJ"],
            ["C", "2017-04", "steam", "120000", "GJ"],
            ["D", "2017-04", "steam", "119999.9999", "GJ"],
            ["E", "2017-04", "steam", "999999", "GJ"],
        ],
    )
    landing.production("production.csv", [[p, "2017-04", "10", "t"] for p in "ABCDE"])
    landing.run()
    report = _csv(landing, "regulatory", "energy_conservation_FY2017.csv").set_index("plant_id")
    assert list(report.index) == ["A", "B", "C", "D", "total"]  # JP plants only
    assert report.loc["A", "crude_oil_kl"] == 1500 and report.loc["C", "crude_oil_kl"] == 3000
    assert report.designation.fillna("").to_dict() == {
        "A": "type2",
        "B": "",
        "C": "type1",
        "D": "type2",
        "total": "specified",
    }
    assert report.loc["total", "energy_gj"] == pytest.approx(359999.9998, rel=1e-15)


def test_the_shipped_crude_oil_conversion_is_0_0258_kl_per_gj(landing):
    landing.plants([["A", "a", "BU", "JP", "", ""]])
    landing.energy("energy.csv", [["A", "2017-04", "steam", "1000", "GJ"]])
    landing.run()
    assert _csv(landing, "regulatory", "energy_conservation_FY2017.csv").crude_oil_kl[0] == pytest.approx(
        25.8, rel=1e-15
    )


def test_the_five_year_average_needs_five_intensities_and_meets_the_target_exactly_at_99(landing):
    landing.plants([["A", "a", "BU", "JP", "", ""], ["B", "b", "BU", "JP", "", ""]])
    # A: 100, 99, 98, 97 GJ/t, then 100 x 0.99^4 = 96.059601: the average yearly change is exactly 99 %.
    # B: the same but FY2015 has no energy record: no five-year average.
    energy = [
        ["A", f"{fy}-04", "steam", gj, "GJ"]
        for fy, gj in zip(range(2013, 2018), ["100", "99", "98", "97", "96.059601"])
    ]
    energy += [
        ["B", f"{fy}-04", "steam", gj, "GJ"] for fy, gj in zip((2013, 2014, 2016, 2017), ["100", "99", "97", "96"])
    ]
    landing.energy("energy.csv", energy)
    landing.production("production.csv", [[p, f"{fy}-04", "1", "t"] for p in "AB" for fy in range(2013, 2018)])
    landing.run()
    report = _csv(landing, "regulatory", "energy_conservation_FY2017.csv").set_index("plant_id")
    assert report.loc["A", "five_year_average_pct"] == pytest.approx(99.0, rel=1e-12)
    assert report.loc["A", "target_met"] == "yes"
    assert report.loc["A", "intensity_vs_previous_pct"] == pytest.approx(96.059601 / 97 * 100, rel=1e-12)
    assert pd.isna(report.loc["B", "five_year_average_pct"]) and pd.isna(report.loc["B", "target_met"])
    assert report.loc["B", "intensity_vs_previous_pct"] == pytest.approx(96 / 97 * 100, rel=1e-12)
    # total: sums over both plants, (192.059601 / 2 t) / (200 / 2 t) = 0.960298005, ^ (1/4) x 100
    assert report.loc["total", "five_year_average_pct"] == pytest.approx(0.960298005**0.25 * 100, rel=1e-12)
    assert report.loc["total", "target_met"] == "yes"


def test_a_v1_only_landing_gives_exactly_the_v1_figures(landing):
    """v2 is additive: deliveries of the v1 contract give the v1 KPI rows, value for value."""
    landing.plants([["P1", "One", "BU", "JP", "", ""]])
    landing.production("production.csv", [["P1", "2005-04", "100", "t"], ["P1", "2017-04", "80", "t"]])
    landing.energy(
        "energy.csv",
        [["P1", "2005-04", "electricity", "10000", "kWh"], ["P1", "2017-04", "electricity", "7000", "kWh"]],
    )
    landing.run()
    row = landing.kpi("energy_intensity", 2017, "P1")
    # FY2005: 97.6 GJ / 100 t = 0.976; FY2017: 68.32 GJ / 80 t = 0.854; 1 - 0.854 / 0.976
    assert row.value == pytest.approx(0.854, rel=1e-15) and row.base_value == pytest.approx(0.976, rel=1e-15)
    assert row.change_vs_base_pct == pytest.approx((1 - 0.854 / 0.976) * 100, rel=1e-12)
    assert row.completeness_pct == pytest.approx(100 / 12, rel=1e-12)


def test_the_filings_of_the_report_year_are_also_tables_for_people(landing):
    from openpyxl import load_workbook

    landing.plants([["A", "=Plant A", "BU", "JP", "", ""]])
    landing.energy("energy.csv", [["A", "2017-04", "steam", "1000", "GJ"]])
    landing.production("production.csv", [["A", "2017-04", "8", "t"]])
    landing.run()
    pack = landing.settings.reports / "pack"
    workbook = load_workbook(pack / "filings_FY2017.xlsx", read_only=True)
    assert workbook.sheetnames == ["energy_conservation", "prtr", "gri"]
    rows = list(workbook["energy_conservation"].iter_rows(values_only=True))
    assert rows[0][:3] == ("plant_id", "energy_gj", "crude_oil_kl")
    assert rows[1][:3] == ("A", 1000, pytest.approx(25.8, rel=1e-15))  # numbers stay numbers
    page = (pack / "filings_FY2017.html").read_text(encoding="utf-8")
    assert "<td>25.8</td>" in page and "<td>125.000</td>" in page  # 1,000 GJ / 8 t, rounded for reading
    assert "http" not in page
    markdown = (pack / "filings_FY2017.md").read_text(encoding="utf-8")
    assert "| A | 1,000 | 25.8 |" in markdown


def test_the_tables_for_people_are_made_again_only_when_their_year_changed(landing):
    """The report year's filings as MD, HTML and XLSX: a night with nothing new leaves the very
    files (same inode and modification time; an XLSX would differ by its save time alone); a
    restated month of that year makes all three again, and a deleted one is made again."""
    from openpyxl import load_workbook

    landing.plants([["A", "Plant A", "BU", "JP", "", ""]])
    landing.energy("energy.csv", [["A", "2017-04", "steam", "1000", "GJ"]])
    landing.production("production.csv", [["A", "2017-04", "8", "t"]])
    landing.run()
    pack = landing.settings.reports / "pack"
    tables = [pack / f"filings_FY2017.{suffix}" for suffix in ("md", "html", "xlsx")]
    first = {path: (path.stat().st_ino, path.stat().st_mtime_ns) for path in tables}

    landing.run()
    assert {path: (path.stat().st_ino, path.stat().st_mtime_ns) for path in tables} == first

    landing.energy("energy_restated.csv", [["A", "2017-04", "steam", "1200", "GJ"]])
    landing.run()
    assert all((path.stat().st_ino, path.stat().st_mtime_ns) != first[path] for path in tables)
    # 1,200 GJ x 0.0258 kl/GJ = 30.96 kl of crude oil equivalent, 31.0 as a person reads it
    assert "| A | 1,200 | 31.0 |" in tables[0].read_text(encoding="utf-8")
    rows = list(load_workbook(tables[2], read_only=True)["energy_conservation"].iter_rows(values_only=True))
    assert rows[1][:3] == ("A", 1200, pytest.approx(30.96, rel=1e-15))

    tables[2].unlink()
    landing.run()
    assert tables[2].is_file()


def test_a_night_writes_again_only_the_filings_of_the_years_whose_figures_changed(landing, tmp_path):
    """A restatement of FY2016 rewrites FY2016's filing files, and FY2017's energy conservation
    report (its change against the year before moved); FY2017's other filings stay the very files
    they were (same inode and modification time). Every file is byte for byte what a run from an
    empty reports folder and warehouse writes over the same deliveries."""
    landing.plants([["A", "Plant A", "BU", "JP", "", ""]])
    landing.energy("energy_2016.csv", [["A", "2016-04", "steam", "1000", "GJ"]])
    landing.energy("energy_2017.csv", [["A", "2017-04", "steam", "900", "GJ"]])
    landing.production("production.csv", [["A", "2016-04", "8", "t"], ["A", "2017-04", "8", "t"]])
    landing.run()
    reports = landing.settings.reports
    files = {
        year: [
            reports / "regulatory" / f"energy_conservation_FY{year}.csv",
            reports / "regulatory" / f"prtr_FY{year}.csv",
            reports / "disclosures" / f"gri_FY{year}.csv",
        ]
        for year in (2016, 2017)
    }
    before = {path: (path.stat().st_ino, path.stat().st_mtime_ns) for year in files for path in files[year]}
    landing.energy("energy_2016_restated.csv", [["A", "2016-04", "steam", "1200", "GJ"]])
    landing.run()

    assert _csv(landing, "regulatory", "energy_conservation_FY2016.csv").energy_gj[0] == 1200
    fy2017 = _csv(landing, "regulatory", "energy_conservation_FY2017.csv")
    # 900 GJ / 8 t against 1,200 GJ / 8 t: 25 % less than the year before.
    assert fy2017.energy_gj[0] == 900 and fy2017.intensity_vs_previous_pct[0] == pytest.approx(75, rel=1e-12)
    unchanged = [files[2016][1], files[2017][1], files[2017][2]]  # the PRTR files (no chemicals), GRI FY2017
    for path in before:
        moved = (path.stat().st_ino, path.stat().st_mtime_ns) != before[path]
        assert moved == (path not in unchanged), path.name

    fresh = Landing(tmp_path / "fresh")
    shutil.copytree(landing.path, fresh.path, dirs_exist_ok=True, copy_function=shutil.copy2)
    fresh.run()
    for year in files:
        for path in files[year]:
            assert path.read_bytes() == (fresh.settings.reports / path.relative_to(reports)).read_bytes(), path.name
