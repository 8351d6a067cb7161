"""A night draws the charts and report pack again only when what they show changed."""

from __future__ import annotations

from envkpi.pipeline import run

MONTHS_FY2017 = [f"2017-{m:02d}" for m in range(4, 13)] + [f"2018-{m:02d}" for m in range(1, 4)]


def _deliver_year(landing, months, name, kwh="1000"):
    landing.energy(f"energy_{name}.csv", [["P1", m, "electricity", kwh, "kWh"] for m in months])
    landing.production(f"production_{name}.csv", [["P1", m, "10", "t"] for m in months])


def _drawn(landing):
    return {p.name: p.stat().st_mtime_ns for p in (landing.settings.reports / "charts").glob("*")} | {
        p.name: p.stat().st_mtime_ns for p in (landing.settings.reports / "pack").glob("*.pdf")
    }


def test_charts_are_drawn_again_only_when_the_report_year_changes(landing):
    landing.plants([["P1", "Plant 1", "BU-A", "JP", "", ""]])
    _deliver_year(landing, ["2005-04"], "base")
    _deliver_year(landing, MONTHS_FY2017, "fy2017")
    first = run(landing.settings, publish_snapshot=False)
    assert "pack:pdf" in first.reports and first.reports["pack:pdf"].name == "report_pack_FY2017.pdf"
    drawn = _drawn(landing)

    # Nothing new, then a month of the still open FY2018: FY2017's charts stay as drawn.
    run(landing.settings, publish_snapshot=False)
    _deliver_year(landing, ["2018-04"], "fy2018")
    run(landing.settings, publish_snapshot=False)
    assert _drawn(landing) == drawn

    # A chart file changed by hand is drawn again, even though the figures did not change.
    (landing.settings.reports / "charts" / "overview_FY2017.png").write_bytes(b"not a chart")
    run(landing.settings, publish_snapshot=False)
    assert (landing.settings.reports / "charts" / "overview_FY2017.png").read_bytes().startswith(b"\x89PNG")

    # A restatement inside FY2017 changes what the charts show: they are drawn again.
    before = _drawn(landing)
    _deliver_year(landing, ["2017-06"], "fy2017_restated", kwh="900")
    run(landing.settings, publish_snapshot=False)
    after = _drawn(landing)
    assert all(after[name] != before[name] for name in before)


def test_worker_processes_draw_the_files_this_process_draws_alone(landing, tmp_path):
    """The nightly drawing shared with a worker process writes, file for file, what this process
    writes drawing the same job list alone (the inputs cross to the worker and back intact)."""
    from openpyxl import load_workbook

    from envkpi.reporting import annual_report, charts

    landing.plants([["P1", "Plant 1", "BU-A", "JP", "", ""], ["P2", "Plant 2", "BU-B", "JP", "", ""]])
    _deliver_year(landing, ["2005-04"], "base")
    _deliver_year(landing, MONTHS_FY2017, "fy2017")
    result = run(landing.settings.with_overrides(drawing_workers=2), publish_snapshot=False)
    registry = charts.read_registry(landing.settings.reference / "kpis.csv")
    # Every delivery was ingested by this one run: the figures are as of its day.
    (ingested,) = landing.query("select distinct ingested_at from delivery")["ingested_at"]
    dates = charts.ReportDates("FY2017 (Apr 2017 – Mar 2018)", ingested.strftime("%Y-%m-%d"))
    alone = annual_report.write_annual_report(
        result.kpi_results, tmp_path, 2017, dates, registry, workers=1, plant_names={"P1": "Plant 1", "P2": "Plant 2"}
    )

    drawn = {name: path for name, path in result.reports.items() if name.startswith(("chart:", "pack:"))}
    assert sorted(drawn) == sorted(alone) and len(drawn) > 10
    for name, path in drawn.items():
        if name.endswith("xlsx"):  # zip timestamps differ; the cells may not
            sheets = [
                [list(row) for row in load_workbook(p, read_only=True).worksheets[i].iter_rows(values_only=True)]
                for p in (path, alone[name])
                for i in (0, 1, 2)
            ]
            assert sheets[:3] == sheets[3:], name
        else:
            assert path.read_bytes() == alone[name].read_bytes(), name


def test_figures_are_as_of_the_latest_delivery_they_include(landing):
    """ "Figures as of" is the latest delivery time of the deliveries a year's figures include: a
    restatement of FY2017 delivered after the year's end moves it; a FY2018 month does not."""
    import duckdb

    from envkpi.pipeline import figures_as_of, report_basis, write_annual_report

    def delivered(files_and_days):
        connection = duckdb.connect(str(landing.settings.warehouse))
        try:
            for file, day in files_and_days.items():
                connection.execute("update delivery set ingested_at = ? where source_file = ?", [day, file])
        finally:
            connection.close()

    landing.plants([["P1", "Plant 1", "BU-A", "JP", "", ""]])
    _deliver_year(landing, ["2005-04"], "base")
    _deliver_year(landing, MONTHS_FY2017, "fy2017")
    landing.run()
    delivered(
        {
            "plants.csv": "2018-04-02 09:00",
            "energy_base.csv": "2018-04-02 09:00",
            "production_base.csv": "2018-04-02 09:00",
            "energy_fy2017.csv": "2018-04-20 09:00",
            "production_fy2017.csv": "2018-04-21 09:00",
        }
    )
    # A restatement of June 2017 in May 2018, and the first month of FY2018 in June 2018.
    landing.energy("energy_fy2017_june_restated.csv", [["P1", "2017-06", "electricity", "1200", "kWh"]])
    _deliver_year(landing, ["2018-04"], "fy2018")
    landing.run()
    delivered(
        {
            "energy_fy2017_june_restated.csv": "2018-05-15 10:30",
            "energy_fy2018.csv": "2018-06-10 08:00",
            "production_fy2018.csv": "2018-06-11 08:00",
        }
    )

    from envkpi.warehouse.database import connect, kpi_results_frame

    connection = connect(landing.settings.warehouse, read_only=True)
    try:
        basis, kpi_results = report_basis(connection), kpi_results_frame(connection)
    finally:
        connection.close()
    assert figures_as_of(basis, 2017, 4) == "2018-05-15"
    assert figures_as_of(basis, 2018, 4) == "2018-06-11"
    assert figures_as_of(basis, 2005, 4) == "2018-04-02"  # the plants file counts for every year
    assert basis.plant_names == {"P1": "Plant 1"}

    written = write_annual_report(kpi_results, landing.settings.with_overrides(drawing_workers=1), 2017, basis)
    text = written["pack:md"].read_text(encoding="utf-8")
    assert "Period covered: FY2017 (Apr 2017 – Mar 2018). Figures as of: 2018-05-15." in text
