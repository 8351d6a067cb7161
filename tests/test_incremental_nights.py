"""A night computes again only what its deliveries changed, and ends exactly where a run from an
empty warehouse over the same landing ends.

The derived layers and the filings follow the fiscal years a night restates (``normalised_year``,
``kpi_results_years``): these tests check that the years left alone are the ones no delivery
reaches, and, the independent method, that after every night of a series the warehouse's tables
and the report files equal, byte for byte, those of a run from nothing over the same landing.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from helpers import Landing

from envkpi.reporting import filings

YEARS = (2005, 2006, 2008, 2009, 2010, 2011, 2012)
PLANTS = [
    ["P1", "Plant P1", "BU-A", "JP", "", ""],
    ["P2", "Plant P2", "BU-B", "JP", "", ""],
    ["P3", "Plant P3", "BU-A", "US", "", ""],
]
# What the two runs compare of the warehouse: every derived table (normalised_year without its
# build ids, which name builds, not figures).
TABLES = {
    "normalised_record": "select * from normalised_record",
    "normalised_plant_month": "select * from normalised_plant_month",
    "normalised_measure": "select * from normalised_measure",
    "normalised_year": "select fiscal_year from normalised_year",
    "kpi_results": "select * from kpi_results",
    "kpi_like_for_like": "select * from kpi_like_for_like",
    "boundary_excluded_rows": "select * from boundary_excluded_rows",
}
# Report files that name the run (its id, the time of saving) rather than the figures.
RUN_BOUND = {"run_summary.json"}
EARLIER_YEARS = {f"pack/filings_FY{year}.{suffix}" for year in range(2005, 2013) for suffix in ("md", "html")}


def _table(landing: Landing, query: str) -> list[tuple]:
    # As text, so that decimals and doubles compare digit for digit.
    return [tuple(row) for row in landing.query(f"select columns(*)::varchar from ({query}) order by all").values]


def _report_files(reports: Path) -> dict[str, bytes]:
    return {
        path.relative_to(reports).as_posix(): path.read_bytes()
        for path in sorted(reports.rglob("*"))
        if path.is_file()
        and not path.name.startswith(".")  # manifests: what each file was made from, named by build
        and path.name not in RUN_BOUND
        and path.suffix != ".xlsx"  # holds the time it was saved
    }


def _assert_as_from_an_empty_warehouse(nightly: Landing, scratch_root: Path) -> None:
    scratch = Landing(scratch_root)
    scratch.settings = scratch.settings.with_overrides(landing=nightly.path, reference=nightly.settings.reference)
    scratch.run()
    for name, query in TABLES.items():
        assert _table(nightly, query) == _table(scratch, query), name
    ours, theirs = _report_files(nightly.settings.reports), _report_files(scratch.settings.reports)
    # The nightly folder also keeps the tables for people of earlier report years (the files of
    # two report years stand side by side); everything a run from nothing writes is there as it
    # writes it.
    assert {name for name in ours if name not in theirs} <= EARLIER_YEARS, sorted(set(ours) ^ set(theirs))
    for name in theirs:
        assert ours.get(name) == theirs[name], name
    shutil.rmtree(scratch_root)


def _month_rows(landing: Landing, name: str, plants: list[str], months: list[str], scale: float = 1.0) -> None:
    """Energy, production, waste and chemicals of the plants and months, figures that differ by
    plant and month so that any mix-up of years shows."""
    energy, production, waste, chemicals = [], [], [], []
    for p, plant in enumerate(plants, start=1):
        for m, month in enumerate(months, start=1):
            energy.append([plant, month, "electricity", f"{(1000 + 37 * m + 11 * p) * scale:g}", "kWh"])
            energy.append([plant, month, "steam", f"{(50 + 3 * m + p) * scale:g}", "GJ"])
            production.append([plant, month, f"{10 + m + p}", "t"])
            waste.append([plant, month, "slag", "recycled", f"{(2 + 0.25 * m + p) * scale:g}", "t"])
            waste.append([plant, month, "sludge", "landfilled", f"{(1 + 0.5 * p) * scale:g}", "t"])
            chemicals.append([plant, month, "toluene", "108-88-3", "air", f"{(3 + m + p) * scale:g}", "kg"])
            chemicals.append([plant, month, "xylene", "1330-20-7", "sewer", f"{(100 + 7 * m) * scale:g}", "g"])
    landing.energy(f"energy_{name}.csv", energy)
    landing.production(f"production_{name}.csv", production)
    landing.waste(f"waste_{name}.csv", waste)
    landing.chemicals(f"chemicals_{name}.csv", chemicals)


def test_after_every_night_of_a_series_the_warehouse_and_reports_are_those_of_a_run_from_nothing(tmp_path):
    nightly = Landing(tmp_path / "nightly")
    nightly.plants(PLANTS)
    _month_rows(nightly, "history", ["P1", "P2", "P3"], [f"{year}-04" for year in YEARS])
    nights = [
        # 1. the history
        lambda: None,
        # 2. new months of the open year
        lambda: _month_rows(nightly, "2012-05", ["P1", "P2", "P3"], ["2012-05", "2012-06"]),
        # 3. a restated old month: FY2009's filings and the energy conservation reports of the
        # four years after it move; KPIs of FY2009 only
        lambda: _month_rows(nightly, "2009-04_restated", ["P1"], ["2009-04"], scale=1.3),
        # 4. restated base years (FY2005 energy and waste, FY2006 chemicals): every year's change
        # versus its base and its like-for-like figures move
        lambda: (
            _month_rows(nightly, "2005-04_restated", ["P2"], ["2005-04"], scale=0.8),
            _month_rows(nightly, "2006-04_restated", ["P3"], ["2006-04"], scale=1.1),
        ),
        # 5. a plant leaves the boundary: its later months are ignored with a warning
        lambda: nightly.plants([*PLANTS[:2], ["P3", "Plant P3", "BU-A", "US", "", "2010-03"]], name="plants_2.csv"),
        # 6. a new factor for electricity from FY2011
        lambda: nightly.csv(
            "factors.csv",
            ["energy_type", "unit", "gj_per_unit", "valid_from_fy"],
            [["electricity", "kWh", "0.0036", "2011"]],
        ),
        # 7. a month of a new fiscal year and targets
        lambda: (
            _month_rows(nightly, "2013-04", ["P1", "P2"], ["2013-04"]),
            nightly.targets([["energy_intensity", "2012", "5", ""], ["waste_intensity", "2013", "1", "P1"]]),
        ),
        # 8. nothing new
        lambda: None,
    ]
    for number, deliver in enumerate(nights, start=1):
        deliver()
        result = nightly.run()
        assert not result.ingest.rejected, f"night {number}"
        _assert_as_from_an_empty_warehouse(nightly, tmp_path / f"scratch_{number}")
    # The nights did what they say: P3 left the boundary, the factor and the targets count.
    warnings = pd.read_csv(nightly.settings.reports / "boundary_warnings.csv")
    assert set(warnings.plant_id) == {"P3"} and warnings.period.min() == "2010-04"
    assert nightly.kpi("energy_intensity", 2012).target_pct == 5
    assert (nightly.settings.reports / "regulatory" / "energy_conservation_FY2013.csv").is_file()


def _steam_year(landing: Landing, name: str, gj_by_year: dict[int, float]) -> None:
    landing.energy(name, [["A", f"{year}-04", "steam", f"{gj:g}", "GJ"] for year, gj in gj_by_year.items()])


def test_a_restated_year_states_again_its_filings_and_the_energy_conservation_reports_of_the_four_years_after(
    landing, monkeypatch
):
    """One JP plant, one month a year FY2008 to FY2013, 10 t each year. Restating FY2008 moves the
    five-year average of FY2012 (it reads FY2008 to FY2012) and not that of FY2013."""
    landing.plants([["A", "Plant A", "BU", "JP", "", ""]])
    gj = {2008: 1000, 2009: 960, 2010: 940, 2011: 900, 2012: 880, 2013: 850}
    _steam_year(landing, "energy.csv", gj)
    landing.production("production.csv", [["A", f"{year}-04", "10", "t"] for year in gj])
    landing.run()
    regulatory = landing.settings.reports / "regulatory"

    def read(year: int) -> pd.DataFrame:
        return pd.read_csv(regulatory / f"energy_conservation_FY{year}.csv").set_index("plant_id")

    # (88 / 100) ** (1 / 4) x 100: intensity 88 GJ/t in FY2012 against 100 GJ/t four years before.
    assert read(2012).five_year_average_pct["A"] == pytest.approx(0.88**0.25 * 100, rel=1e-12)
    files = sorted(landing.settings.reports.glob("*/*_FY*.csv"))
    before = {path: (path.stat().st_ino, path.stat().st_mtime_ns) for path in files}
    asked: list[dict[str, list[int]]] = []
    original = filings.filing_tables

    def recording(connection, fiscal_years=None):
        asked.append({name: sorted(years) for name, years in (fiscal_years or {}).items()})
        return original(connection, fiscal_years)

    monkeypatch.setattr(filings, "filing_tables", recording)

    _steam_year(landing, "energy_restated.csv", {2008: 1100})
    landing.run()

    assert read(2012).five_year_average_pct["A"] == pytest.approx((88 / 110) ** 0.25 * 100, rel=1e-12)
    assert read(2009).intensity_vs_previous_pct["A"] == pytest.approx(96 / 110 * 100, rel=1e-12)
    # FY2008 and the four years after it for the energy conservation report, FY2008 alone for the
    # others; FY2013 is the year of the tables for people (the latest: no year is complete).
    assert asked == [
        {
            "energy_conservation": [2008, 2009, 2010, 2011, 2012, 2013],
            "prtr": [2008, 2013],
            "gri": [2008, 2013],
        }
    ]
    # Of those, the files whose bytes changed: FY2010 and FY2011 read FY2008 for no figure (their
    # five-year averages need FY2006 and FY2007), and there are no chemicals.
    moved = {path.name for path in files if (path.stat().st_ino, path.stat().st_mtime_ns) != before[path]}
    assert moved == {f"energy_conservation_FY{year}.csv" for year in (2008, 2009, 2012)} | {"gri_FY2008.csv"}

    # A night with nothing new computes no filing (it writes no output again, envkpi.outputs); a
    # filing file removed or changed by hand is stated again on the next night, as a run over
    # every year states it.
    asked.clear()
    landing.run()
    assert asked == []
    kept = (regulatory / "energy_conservation_FY2010.csv").read_bytes()
    (regulatory / "energy_conservation_FY2010.csv").write_bytes(kept.replace(b"A,", b"B,"))
    (regulatory / "prtr_FY2009.csv").unlink()
    asked.clear()
    landing.run()
    assert asked == [{"energy_conservation": [2010, 2013], "prtr": [2009, 2013], "gri": [2013]}]
    assert (regulatory / "energy_conservation_FY2010.csv").read_bytes() == kept
    assert (regulatory / "prtr_FY2009.csv").is_file()


def test_a_restated_base_year_moves_the_figures_of_every_later_year_and_a_later_year_its_own_alone(landing):
    """Two plants, 100 t of waste and 10 t of production each in April of FY2005 to FY2008."""
    landing.plants([["A", "Plant A", "BU", "JP", "", ""], ["B", "Plant B", "BU", "JP", "", ""]])
    years = (2005, 2006, 2007, 2008)
    landing.waste("waste.csv", [[p, f"{y}-04", "scrap", "landfilled", "100", "t"] for p in ("A", "B") for y in years])
    landing.production("production.csv", [[p, f"{y}-04", "10", "t"] for p in ("A", "B") for y in years])
    landing.run()
    landing.waste("waste_2008.csv", [["A", "2008-04", "scrap", "landfilled", "140", "t"]])
    landing.run()
    # (140 + 100) / 20 t against (100 + 100) / 20 t in FY2005: 20 % more waste per tonne.
    assert landing.kpi("waste_intensity", 2008).change_vs_base_pct == pytest.approx(-20, rel=1e-12)
    assert landing.kpi("waste_intensity", 2008).like_for_like_change_pct == pytest.approx(-20, rel=1e-12)
    assert landing.kpi("waste_intensity", 2007).change_vs_base_pct == 0

    landing.waste("waste_2005.csv", [["B", "2005-04", "scrap", "landfilled", "60", "t"]])
    landing.run()
    # FY2007: 200 / 20 t against 160 / 20 t in FY2005: 25 % more, like for like too (same plants);
    # FY2008: 240 / 160 - 1 = 50 % more.
    for year, change in ((2006, -25), (2007, -25), (2008, -50)):
        row = landing.kpi("waste_intensity", year)
        assert row.change_vs_base_pct == pytest.approx(change, rel=1e-12), year
        assert row.like_for_like_change_pct == pytest.approx(change, rel=1e-12), year
        assert row.like_for_like_base_value == pytest.approx(8, rel=1e-12), year
