"""The `envkpi` command: run the pipeline, ingest, check files before sending, build reports."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Optional

import typer

from envkpi.settings import Settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)

LandingOption = typer.Option(None, "--landing", help="Landing folder with the delivered files.")
WarehouseOption = typer.Option(None, "--warehouse", help="DuckDB warehouse file.")
ReportsOption = typer.Option(None, "--reports", help="Folder for kpi_results.csv, rejections.csv, charts.")
SnapshotOption = typer.Option(None, "--snapshot", help="Folder of the read-only warehouse snapshot for notebooks.")
PublishedOption = typer.Option(None, "--published", hidden=True,
                               help="Deprecated name of --snapshot (a publication is now a year's: envkpi publish).")


def _settings(landing: Optional[Path], warehouse: Optional[Path], reports: Optional[Path],
              snapshot: Optional[Path] = None, published: Optional[Path] = None) -> Settings:
    if published is not None:
        typer.echo("--published is deprecated: use --snapshot (the notebooks' copy of the warehouse)", err=True)
    return Settings().with_overrides(landing=landing, warehouse=warehouse, reports=reports,
                                     snapshot=snapshot if snapshot is not None else published)


def _print_summary(result) -> None:
    summary = result.ingest
    typer.echo(
        f"run {summary.run_id}: {summary.files_seen} files seen, {len(summary.loaded)} loaded, "
        f"{len(summary.unchanged)} unchanged, {len(summary.rejected)} rejected, {len(summary.ignored)} not contract files"
    )
    if summary.problems:
        typer.echo(f"  {len(summary.problems)} problems: see {result.reports['rejections']}")
        for file in summary.rejected + summary.ignored:
            typer.echo(f"  rejected or left alone: {file}")
    typer.echo(f"  KPI results: {result.reports['kpi_results']}")


@app.command()
def run(landing: Optional[Path] = LandingOption, warehouse: Optional[Path] = WarehouseOption,
        reports: Optional[Path] = ReportsOption, snapshot: Optional[Path] = SnapshotOption,
        published: Optional[Path] = PublishedOption) -> None:
    """Ingest the landing folder, compute the KPIs and write the reports, in one command.

    Exit status 0 when the run completed, even with rejected files; non-zero only when the
    pipeline itself failed; 1 with a message saying what to do when the disk is full or a folder
    is not writable.
    """
    from envkpi.pipeline import StorageError, run as run_pipeline

    try:
        result = run_pipeline(_settings(landing, warehouse, reports, snapshot, published))
    except StorageError as error:
        typer.echo(f"envkpi run failed: {error}", err=True)
        raise typer.Exit(1)
    _print_summary(result)
    # The process ends here: nothing it made needs collecting on the way out. Without this, the
    # interpreter's last garbage collection over GX's objects (when GX ran in this process, as on
    # a small night) took 0.7 s, a tenth of a nightly increment.
    gc.freeze()


@app.command()
def ingest(landing: Optional[Path] = LandingOption, warehouse: Optional[Path] = WarehouseOption,
           reports: Optional[Path] = ReportsOption, snapshot: Optional[Path] = SnapshotOption,
           published: Optional[Path] = PublishedOption) -> None:
    """Ingest and validate the landing folder (the KPI tables are rebuilt as part of it)."""
    run(landing, warehouse, reports, snapshot, published)


@app.command()
def check(files: list[Path] = typer.Argument(..., help="Files to check, as they would be delivered."),
          warehouse: Optional[Path] = WarehouseOption) -> None:
    """Check files against the contract without loading them; exit 1 when any would be rejected."""
    from envkpi.checking import check_files

    settings = _settings(None, warehouse, None)
    outcome = check_files(files, settings)
    for line in outcome.lines():
        typer.echo(line)
    raise typer.Exit(1 if outcome.rejected else 0)


@app.command()
def report(fy: int = typer.Option(..., "--fy", help="Fiscal year of the report, e.g. 2017."),
           warehouse: Optional[Path] = WarehouseOption, reports: Optional[Path] = ReportsOption,
           snapshot: Optional[Path] = SnapshotOption, published: Optional[Path] = PublishedOption) -> None:
    """Write the annual report pack and charts of one fiscal year from the last completed run."""
    from envkpi.pipeline import SNAPSHOT_NAME, data_cut_off, report_cut_off, write_annual_report
    from envkpi.publication import published_figures
    from envkpi.warehouse import connect, kpi_results_frame

    settings = _settings(None, warehouse, reports, snapshot, published)
    # The snapshot never waits for a running night; the warehouse serves before the first snapshot.
    source = settings.snapshot / SNAPSHOT_NAME
    if warehouse is not None or not source.exists():
        source = settings.warehouse
    if not source.exists():
        typer.echo(f"no warehouse at {source}: run `envkpi run` (or `make run`) first", err=True)
        raise typer.Exit(2)
    from envkpi.filings import filing_tables, write_human_tables

    connection = connect(source, read_only=True)
    try:
        kpi_results = kpi_results_frame(connection)
        cut_off = report_cut_off(data_cut_off(connection), fy, settings.fiscal_year_start_month)
        filings = filing_tables(connection)
        publications = published_figures(connection, fy)
    finally:
        connection.close()
    if fy not in set(kpi_results.fiscal_year):
        typer.echo(f"no KPI results for FY{fy} in {source}", err=True)
        raise typer.Exit(2)
    written = write_annual_report(kpi_results, settings, fy, cut_off, publications)
    written.update(write_human_tables(filings, settings.reports / "pack", fy))
    typer.echo(f"FY{fy} report pack: {written['pack:pdf']} (and .md, .html, .xlsx, .csv); filings for people: "
               f"{written['filings:html']} (and .md, .xlsx); "
               f"{sum(k.startswith('chart:') for k in written)} chart files under {settings.reports / 'charts'}")


@app.command()
def publish(fy: int = typer.Option(..., "--fy", help="Fiscal year to publish, e.g. 2017."),
            note: Optional[str] = typer.Option(None, "--note", help="Why, or for which report (kept with it)."),
            warehouse: Optional[Path] = WarehouseOption, reports: Optional[Path] = ReportsOption,
            snapshot: Optional[Path] = SnapshotOption) -> None:
    """Publish a fiscal year: record v1, v2, ... of its figures and write published/FY<fy>/v<n>/.

    Publish after the run whose figures the report prints; later runs list every figure that
    differs from the latest publication in restatements_since_publication.csv.
    """
    from envkpi.pipeline import StorageError, publish_year_step
    from envkpi.publication import PublicationError

    settings = _settings(None, warehouse, reports, snapshot)
    if not settings.warehouse.exists():
        typer.echo(f"no warehouse at {settings.warehouse}: run `envkpi run` first", err=True)
        raise typer.Exit(2)
    try:
        publication = publish_year_step(settings, fy, note)
    except PublicationError as error:
        typer.echo(f"envkpi publish failed: {error}", err=True)
        raise typer.Exit(2)
    except StorageError as error:
        typer.echo(f"envkpi publish failed: {error}", err=True)
        raise typer.Exit(1)
    typer.echo(f"FY{fy} published as {publication.name}: {publication.folder}")
    if not publication.complete:
        typer.echo(f"  note: FY{fy} has incomplete data (completeness below 100 % for a group figure); "
                   "the publication records the figures as they are", err=True)


@app.command()
def trace(kpi: str = typer.Option(..., "--kpi", help="KPI, e.g. energy_intensity."),
          fy: int = typer.Option(..., "--fy", help="Fiscal year of the figure."),
          scope: str = typer.Option("group", "--scope", help="group, a business unit or a plant_id."),
          out: Optional[Path] = typer.Option(None, "--out", help="CSV or XLSX file (by suffix); default reports/trace_<kpi>_FY<fy>_<scope>.csv"),
          warehouse: Optional[Path] = WarehouseOption, reports: Optional[Path] = ReportsOption,
          snapshot: Optional[Path] = SnapshotOption) -> None:
    """Every plant-month, measure, delivered row and file behind one figure, with the sums that
    reconcile to its numerator and denominator."""
    from envkpi import tracing

    settings = _settings(None, warehouse, reports, snapshot)
    try:
        trace_rows = tracing.trace_from(tracing.source_of(settings, warehouse is not None), kpi, fy, scope)
    except tracing.TraceError as error:
        typer.echo(f"envkpi trace: {error}", err=True)
        raise typer.Exit(2)
    path = out or settings.reports / f"trace_{tracing.safe_stem(kpi)}_FY{fy}_{tracing.safe_stem(scope)}.csv"
    tracing.write_trace(trace_rows, path)
    for line in tracing.reconciliation_lines(trace_rows):
        typer.echo(line)
    typer.echo(f"  {int((trace_rows.record == 'row').sum())} delivered rows: {path}")


@app.command()
def demo(landing: Path = typer.Option(Path("data/demo/landing"), help="Where to write the demo group.")) -> None:
    """Write the fictional demo group's deliveries (deterministic)."""
    from envkpi.demo import write_demo_group

    written = write_demo_group(landing)
    typer.echo(f"wrote {len(written)} files under {landing}")


if __name__ == "__main__":
    app()
