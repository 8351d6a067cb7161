"""A night draws the charts and report pack again only when what they show changed."""

from __future__ import annotations

from envkpi.pipeline import run

MONTHS_FY2017 = [f"2017-{m:02d}" for m in range(4, 13)] + [f"2018-{m:02d}" for m in range(1, 4)]


def _deliver_year(landing, months, name, kwh="1000"):
    landing.energy(f"energy_{name}.csv", [["P1", m, "electricity", kwh, "kWh"] for m in months])
    landing.production(f"production_{name}.csv", [["P1", m, "10", "t"] for m in months])


def _drawn(landing):
    return {p.name: p.stat().st_mtime_ns for p in (landing.settings.reports / "charts").glob("*")} | {
        p.name: p.stat().st_mtime_ns for p in (landing.settings.reports / "pack").glob("*.pdf")}


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
