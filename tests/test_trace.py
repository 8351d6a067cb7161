"""`envkpi trace` and `published.trace`: the delivered rows behind one figure sum to its numerator
and denominator in kpi_results.csv, for a group, a business-unit and a plant figure of the demo.

The sums are taken here independently: exact decimals of the listed rows' amounts, compared with
the figure's exact numerator and denominator in the warehouse and with kpi_results.csv.
"""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest
from typer.testing import CliRunner

FIGURES = [
    ("energy_intensity", "group"),
    ("energy_intensity", "Specialty Materials"),
    ("energy_intensity", "P03"),
    ("waste_intensity", "group"),
    ("recycling_rate", "Magnetic Products"),
    ("chemical_intensity", "P01"),
]


@pytest.fixture(scope="module")
def kpi_results_csv(demo_run):
    _, settings = demo_run
    return pd.read_csv(settings.reports / "kpi_results.csv")


def exact_figure(settings, kpi, scope_id, fiscal_year=2017):
    from envkpi.warehouse.database import connect

    connection = connect(settings.warehouse, read_only=True)
    try:
        return connection.execute(
            "select cast(numerator as varchar), cast(denominator as varchar) from kpi_results "
            "where kpi = ? and scope_id = ? and fiscal_year = ?",
            [kpi, scope_id, fiscal_year],
        ).fetchone()
    finally:
        connection.close()


@pytest.mark.parametrize("kpi,scope_id", FIGURES)
def test_the_traced_rows_sum_exactly_to_the_numerator_and_denominator(demo_run, kpi_results_csv, kpi, scope_id):
    from envkpi.reporting import published

    _, settings = demo_run
    traced = published.trace(kpi, 2017, scope_id, settings=settings)
    rows = traced[traced.record == "row"]
    figure = kpi_results_csv[
        (kpi_results_csv.kpi == kpi) & (kpi_results_csv.scope_id == scope_id) & (kpi_results_csv.fiscal_year == 2017)
    ].iloc[0]
    numerator, denominator = exact_figure(settings, kpi, scope_id)
    for role, exact, reported in (
        ("numerator", numerator, figure.numerator),
        ("denominator", denominator, figure.denominator),
    ):
        amounts = [Decimal(text) for text in rows[rows.role == role].amount_exact]
        assert amounts, f"no {role} rows"
        assert sum(amounts) == Decimal(exact)
        assert float(sum(amounts)) == reported
    # every counted row names its file, sha256, spreadsheet row, delivery and run, and is current
    assert rows[["file", "sha256", "source_row", "delivered_at", "run_id"]].notna().all().all()
    assert set(rows.status) == {"current"}
    totals = traced[traced.record == "total"]
    assert list(totals.role) == ["numerator", "denominator"] and set(totals.reconciles) == {"yes"}
    # the plant-months are the scope's, of FY2017 (April 2017 to March 2018)
    assert rows.period.between("2017-04", "2018-03").all()
    if scope_id.startswith("P"):
        assert set(rows.plant_id) == {scope_id}


def test_a_restated_plant_month_shows_its_superseded_rows_uncounted(demo_run):
    from envkpi.reporting import published

    _, settings = demo_run
    traced = published.trace("energy_intensity", 2017, "P03", settings=settings)
    superseded = traced[traced.record == "superseded"]
    # The demo's restatement re-sent P03's energy of 2017-08: the first file's rows stay listed.
    assert len(superseded) and set(superseded.period) == {"2017-08"} and set(superseded.status) == {"superseded"}
    assert superseded.amount.isna().all()
    current = traced[(traced.record == "row") & (traced.period == "2017-08") & (traced.kind == "energy")]
    assert set(current.file) == {"2018-05-15_restatement/energy_P03_2017-08.csv"}


def test_envkpi_trace_writes_csv_and_xlsx_by_suffix(demo_run, tmp_path):
    from envkpi.cli import app

    _, settings = demo_run
    runner = CliRunner()
    for name in ("trace.csv", "trace.xlsx"):
        done = runner.invoke(
            app,
            [
                "trace",
                "--kpi",
                "waste_intensity",
                "--fy",
                "2017",
                "--scope",
                "P05",
                "--warehouse",
                str(settings.warehouse),
                "--out",
                str(tmp_path / name),
            ],
        )
        assert done.exit_code == 0, done.output
        assert "reconciles: yes" in done.output
    csv = pd.read_csv(tmp_path / "trace.csv", dtype={"amount_exact": str})
    sheets = pd.read_excel(tmp_path / "trace.xlsx", sheet_name=None)
    assert set(sheets) == {"trace", "reconciliation"}
    assert len(sheets["trace"]) == (csv.record != "total").sum()
    assert list(sheets["reconciliation"].reconciles) == ["yes", "yes"]
    unknown = runner.invoke(
        app,
        [
            "trace",
            "--kpi",
            "waste_intensity",
            "--fy",
            "2017",
            "--scope",
            "P99",
            "--warehouse",
            str(settings.warehouse),
            "--out",
            str(tmp_path / "x.csv"),
        ],
    )
    assert unknown.exit_code == 2 and "P99" in unknown.output
