"""The golden test: the demo group's FY2017 group figures reproduce the seed's CSR results table.

Seed (shared/seeds/000_7dc3b391e5730c7a.txt, "5. The Environment"):
- energy per production unit: planned 11.5 % below FY2005, result 6.6 %, `*`; FY2018 plan 13 %
- waste and valuables per production unit: planned 7.5 %, result 11 %; recycling rate planned
  72 %, result 79 %; `***` for the row; FY2018 plans 8 % and 74 %
- chemical emissions per production unit: planned 32 % below FY2006, result 19 %, `*`; FY2018 plan 34 %
- sales ratio of key environmentally conscious products: planned 19 % or more, result 20.7 %,
  `***`; FY2018 plan 21 %
The seed rounds the energy and sales results to one decimal and the others to whole percent.
Seed 002 (the supply-chain side): the green purchasing rate reached 86 % in FY2018.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

SEED = {
    # kpi: (base year, decimals the seed shows, FY2017 result, FY2017 target, rating, FY2018 target)
    "energy_intensity": (2005, 1, 6.6, 11.5, "not achieved", 13),
    "waste_intensity": (2005, 0, 11, 7.5, "achieved", 8),
    "recycling_rate": (None, 0, 79, 72, "achieved", 74),
    "chemical_intensity": (2006, 0, 19, 32, "not achieved", 34),
    "eco_product_sales_ratio": (None, 1, 20.7, 19, "achieved", 21),
}


@pytest.fixture(scope="module")
def group_results(demo_run):
    result, settings = demo_run
    frame = pd.read_csv(settings.reports / "kpi_results.csv")
    return frame[frame.scope_level == "group"].set_index(["kpi", "fiscal_year"])


@pytest.mark.parametrize("kpi", list(SEED))
def test_fy2017_group_figures_equal_the_seed_table(group_results, kpi):
    base_year, decimals, result, target, rating, next_target = SEED[kpi]
    row = group_results.loc[(kpi, 2017)]
    shown = row.value if base_year is None else row.change_vs_base_pct
    assert round(shown, decimals) == result
    assert row.target_pct == target
    assert row.rating == rating
    assert row.completeness_pct == 100
    if base_year is None:
        assert pd.isna(row.base_year)
    else:
        assert row.base_year == base_year
    assert group_results.loc[(kpi, 2018)].target_pct == next_target


def test_fy2018_green_purchasing_rate_equals_the_supply_chain_seed(group_results):
    row = group_results.loc[("green_purchasing_rate", 2018)]
    assert round(row.value) == 86 and row.completeness_pct == 100


def test_the_demo_run_reports_its_one_bad_file_and_its_minutes(demo_run):
    result, settings = demo_run
    assert result.ingest.rejected == ["2019-09-10/energy_P06_2019-08.csv"]
    assert result.ingest.ignored == ["2019-10-10/minutes_2019-10-05.txt"]
    rejections = pd.read_csv(settings.reports / "rejections.csv", dtype=str, keep_default_na=False)
    bad = rejections[rejections.file == "2019-09-10/energy_P06_2019-08.csv"]
    assert bad[["row", "column"]].values.tolist() == [["4", "quantity"]]


def test_the_demo_acquired_plant_counts_only_from_its_acquisition(demo_run):
    _, settings = demo_run
    frame = pd.read_csv(settings.reports / "kpi_results.csv")
    p12 = frame[(frame.scope_id == "P12") & (frame.kpi == "energy_intensity")]
    # Acquired 2012-10: FY2012 holds its six months from October to March, and no earlier year.
    assert p12.fiscal_year.min() == 2012
    warnings = pd.read_csv(settings.reports / "boundary_warnings.csv", dtype=str)
    assert set(warnings.plant_id) == {"P12"}
    assert warnings.period.max() == "2012-09"


def test_the_fy2017_report_pack_table_reads_as_the_seed_table(demo_run, tmp_path):
    from envkpi.reporting import report_pack
    from envkpi.reporting.charts import read_registry

    _, settings = demo_run
    kpi_results = pd.read_csv(settings.reports / "kpi_results.csv")
    registry = read_registry(settings.reference / "kpis.csv")
    table = report_pack.results_table(kpi_results, 2017, registry).set_index("FY2017 measures (planned)")
    expected = {
        # planned (FY2017), result, self-assessment, planned for FY2018: the seed's figures
        "Reduce energy per production unit (11.5% compared to base year FY2005)": (
            "(6.6% compared to base year FY2005)",
            "*",
            "(13% compared to base year FY2005)",
        ),
        "Reduce waste and valuables per production unit (7.5% compared to base year FY2005)": (
            "(11% compared to base year FY2005)",
            "***",
            "(8% compared to base year FY2005)",
        ),
        "Increase the recycling rate (72%)": ("(79%)", "***", "(74%)"),
        "Reduce chemical emissions per production unit (32% compared to base year FY2006)": (
            "(19% compared to base year FY2006)",
            "*",
            "(34% compared to base year FY2006)",
        ),
    }
    for planned, (result, rating, next_year) in expected.items():
        row = table.loc[planned]
        assert row["FY2017 measures (results)"].endswith(result)
        assert row["Self-assessment"] == rating
        assert row["Measures planned for FY2018"].endswith(next_year)


V1_KPIS = {"energy_intensity", "waste_intensity", "chemical_intensity", "recycling_rate", "co2_intensity"}
V2_KINDS = ("water", "sales", "purchases", "co2factors")


def test_a_v1_only_landing_gives_the_v1_rows_of_before_byte_for_byte(tmp_path):
    """Contract v2 is additive. tests/golden/kpi_results_v1_demo_d67dec0.csv is kpi_results.csv of
    the demo group as the pipeline wrote it at commit d67dec0, before v2 (and before the single
    contract definition); the demo without its v2 files must give those rows, every field's text
    the same. (The v2 demo's meters split P01's electricity in whole kWh: the same sums.)"""
    import csv
    import shutil

    from helpers import DEMO_LANDING

    from envkpi.pipeline import run
    from envkpi.settings import Settings

    landing = tmp_path / "landing"
    shutil.copytree(
        DEMO_LANDING,
        landing,  # copy2 keeps the delivery times
        ignore=lambda folder, names: [n for n in names if n.split("_")[0] in V2_KINDS],
    )
    settings = Settings().with_overrides(
        landing=landing,
        warehouse=tmp_path / "w.duckdb",
        reports=tmp_path / "reports",
        snapshot=tmp_path / "snapshot",
        data_docs=False,
    )
    run(settings, publish_snapshot=False, annual_report=False)

    def rows(path):
        with path.open(newline="", encoding="utf-8") as handle:
            table = list(csv.reader(handle))
        return [table[0][:16]] + [row[:16] for row in table[1:] if row[2] in V1_KPIS]

    golden = rows(Path(__file__).parent / "golden" / "kpi_results_v1_demo_d67dec0.csv")
    assert len(golden) == 1 + 5 * 244
    assert rows(settings.reports / "kpi_results.csv") == golden
