"""The `envkpi` command: run the pipeline, ingest, check files before sending, build reports."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

from envkpi.runtime.memory import keep_out_of_collection
from envkpi.settings import Settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__, rich_markup_mode="markdown")

_DEFAULTS = Settings()


def _shown_default(path: Path) -> str:
    """A default path as `--help` shows it: relative to the current folder when it is under it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


LandingOption = typer.Option(
    None,
    "--landing",
    help="Landing folder with the delivered files (ENVKPI_LANDING).",
    show_default=_shown_default(_DEFAULTS.landing),
)
WarehouseOption = typer.Option(
    None,
    "--warehouse",
    help="DuckDB warehouse file (ENVKPI_WAREHOUSE).",
    show_default=_shown_default(_DEFAULTS.warehouse),
)
ReportsOption = typer.Option(
    None,
    "--reports",
    help="Folder for kpi_results.csv, rejections, charts (ENVKPI_REPORTS).",
    show_default=_shown_default(_DEFAULTS.reports),
)
SnapshotOption = typer.Option(
    None,
    "--snapshot",
    help="Folder of the read-only warehouse snapshot for notebooks (ENVKPI_SNAPSHOT).",
    show_default=_shown_default(_DEFAULTS.snapshot),
)
PublishedOption = typer.Option(
    None,
    "--published",
    hidden=True,
    help="Deprecated name of --snapshot (a publication is now a year's: envkpi publish).",
)


def _settings(
    landing: Path | None,
    warehouse: Path | None,
    reports: Path | None,
    snapshot: Path | None = None,
    published: Path | None = None,
) -> Settings:
    if published is not None:
        typer.echo("--published is deprecated: use --snapshot (the notebooks' copy of the warehouse)", err=True)
    return Settings().with_overrides(
        landing=landing, warehouse=warehouse, reports=reports, snapshot=snapshot if snapshot is not None else published
    )


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 file``, ``2 files``; ``many`` for words whose plural is not word + s."""
    return f"{count} {word if count == 1 else many or word + 's'}"


def _fail(command: str, message: str, code: int = 2) -> None:
    typer.echo(f"envkpi {command}: {message}", err=True)
    raise typer.Exit(code)


# A display appears only for work that lasts longer than this (seconds): a quick check prints
# its answer and nothing else.
PROGRESS_DELAY = 1.5


@contextmanager
def progress_display(total: int | None = None, console=None) -> Iterator[Callable[[str], None]]:
    """A rich progress line on a terminal, shown after ``PROGRESS_DELAY`` seconds; yields the callback.

    The library reports steps through a plain callable (``progress(step_name)``), so it never
    imports rich; off a terminal (cron, pipes, tests) the callback does nothing.
    """
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    console = console or Console(stderr=True)
    if not console.is_terminal:
        yield lambda step: None
        return
    columns = [SpinnerColumn(), TextColumn("{task.description}")]
    if total is not None:
        columns += [BarColumn(), TextColumn("{task.completed}/{task.total}")]
    display = Progress(*columns, TimeElapsedColumn(), console=console, transient=True)
    task = display.add_task("starting", total=total)
    timer = threading.Timer(PROGRESS_DELAY, display.start)
    timer.daemon = True
    timer.start()

    def advance(step: str) -> None:
        display.update(task, description=step, advance=1 if total is not None else None)

    try:
        yield advance
    finally:
        timer.cancel()
        display.stop()


def _relative(path: Path) -> str:
    return _shown_default(Path(path))


def _filing_lines(reports: dict) -> list[str]:
    """One line per filing (contract 9): how many fiscal years of it, and where they are."""
    from envkpi.reporting.filings import FILINGS

    lines = []
    for name, _, _, _, title in FILINGS:
        paths = [path for key, path in reports.items() if key.startswith(f"{name}_FY")]
        if paths:
            folder = _relative(Path(paths[0]).parent)
            label = title.split(" (")[0] + ":"
            lines.append(f"  {label:38} {plural(len(paths), 'fiscal year')} in {folder}")
    if "filings:html" in reports:
        lines.append(f"  {'filings as tables for people:':38} {_relative(reports['filings:html'])} (and .md, .xlsx)")
    return lines


def summary_lines(result) -> list[str]:
    """What a run did and what it wrote where, for people."""
    summary = result.ingest
    lines = [
        f"run {summary.run_id}: {plural(summary.files_seen, 'file')} seen, {len(summary.loaded)} loaded, "
        f"{len(summary.unchanged)} unchanged, {len(summary.rejected)} rejected, "
        f"{plural(len(summary.ignored), 'not contract file')}"
    ]
    for file in summary.rejected:
        lines.append(f"  rejected: {file}")
    for file in summary.ignored:
        lines.append(f"  left alone (not a contract file): {file}")
    if summary.problems:
        lines.append(
            f"  {plural(len(summary.problems), 'problem')}: send each plant its part of "
            f"{_relative(result.reports['rejection_report:html'])} (or .xlsx)"
            if "rejection_report:html" in result.reports
            else f"  {plural(len(summary.problems), 'problem')}: see {_relative(result.reports['rejections'])}"
        )
    reports = result.reports
    lines.append("written:")
    for key, label in (
        ("kpi_results", "KPI results"),
        ("rejections", "rejections (CSV)"),
        ("rejection_report:html", "rejection report per plant and file"),
        ("rejection_report:xlsx", "rejection report (XLSX)"),
        ("boundary_warnings", "boundary warnings"),
        ("restatements_since_publication", "restatements since publication"),
        ("run_summary", "run summary"),
    ):
        if key in reports:
            lines.append(f"  {label + ':':38} {_relative(reports[key])}")
    lines.extend(_filing_lines(reports))
    charts = sorted(path for key, path in reports.items() if key.startswith("chart:"))
    if result.report_year is not None:
        if charts:
            folders = sorted({_relative(Path(path).parent) for path in charts})
            lines.append(
                f"  {f'charts of FY{result.report_year}:':38} {plural(len(charts), 'file')} in {', '.join(folders)}"
            )
        if "pack:pdf" in reports:
            lines.append(
                f"  {f'report pack of FY{result.report_year}:':38} {_relative(reports['pack:pdf'])} "
                f"(and .md, .html, .xlsx, .csv)"
            )
    data_docs = reports.get("data_docs")
    if data_docs is not None and Path(data_docs).exists():
        lines.append(f"  {'Data Docs:':38} {_relative(data_docs)}")
    if result.published is not None:
        lines.append(f"  {'snapshot for notebooks:':38} {_relative(result.published)}")
    return lines


@app.command()
def run(
    landing: Path | None = LandingOption,
    warehouse: Path | None = WarehouseOption,
    reports: Path | None = ReportsOption,
    snapshot: Path | None = SnapshotOption,
    published: Path | None = PublishedOption,
) -> None:
    """Ingest the landing folder, compute the KPIs and write the reports, in one command.

    Exit status 0 when the run completed, even with rejected files; non-zero only when the
    pipeline itself failed; 2 with a one-line message when a folder is wrong; 1 with a message
    saying what to do when the disk is full or a folder is not writable.
    """
    from envkpi.pipeline import PathProblem, StorageError, check_paths
    from envkpi.pipeline import run as run_pipeline

    settings = _settings(landing, warehouse, reports, snapshot, published)
    try:
        check_paths(settings)
    except PathProblem as problem:
        if landing is None and not settings.landing.exists():
            _fail(
                "run",
                f"no landing folder: the default {_relative(settings.landing)} does not exist; give "
                f"the folder of delivered files with --landing DIR or ENVKPI_LANDING (the demo group: "
                f"envkpi run --landing data/demo/landing, or make run)",
            )
        _fail("run", str(problem))
    try:
        with progress_display() as progress:
            result = run_pipeline(settings, progress=progress)
    except StorageError as error:
        typer.echo(f"envkpi run failed: {error}", err=True)
        raise typer.Exit(1) from None
    except PathProblem as problem:
        _fail("run", str(problem))
    result.reports.setdefault("data_docs", settings.reports / "data_docs" / "index.html")
    for line in summary_lines(result):
        typer.echo(line)
    # The process ends here: nothing it made needs collecting on the way out. Without this, the
    # interpreter's last garbage collection over GX's objects (when GX ran in this process, as on
    # a small night) took 0.7 s, a tenth of a nightly increment.
    keep_out_of_collection()


@app.command()
def ingest(
    landing: Path | None = LandingOption,
    warehouse: Path | None = WarehouseOption,
    reports: Path | None = ReportsOption,
    snapshot: Path | None = SnapshotOption,
    published: Path | None = PublishedOption,
) -> None:
    """Ingest and validate the landing folder (the KPI tables are rebuilt as part of it)."""
    run(landing, warehouse, reports, snapshot, published)


@app.command()
def check(
    files: list[Path] = typer.Argument(
        ..., help="Files or folders to check, as they would be delivered (every file under a folder)."
    ),
    report: Path | None = typer.Option(
        None,
        "--report",
        help="Also write the rejection report here: FILE.html, FILE.xlsx, or both for another name.",
        show_default="none",
    ),
    warehouse: Path | None = WarehouseOption,
) -> None:
    """Check files against the contract without loading them; exit 1 when any would be rejected.

    Plant ids, factors and targets are checked against the published snapshot (or the warehouse).
    """
    from envkpi.checking import check_files
    from envkpi.reporting.rejection_report import write_rejection_report

    settings = _settings(None, warehouse, None)
    if report is not None and report.is_dir():
        _fail("check", f"--report {report} is a folder: give a file name, e.g. --report {report / 'rejections.html'}")
    with progress_display() as progress:
        outcome = check_files(files, settings, progress=progress)
    for line in outcome.lines():
        typer.echo(line)
    if report is not None:
        written = write_rejection_report(outcome.summary.problems, report, outcome.known_plants)
        typer.echo(f"rejection report: {', '.join(_relative(path) for path in written.values())}")
    raise typer.Exit(1 if outcome.rejected else 0)


@app.command()
def report(
    fy: int = typer.Option(..., "--fy", help="Fiscal year of the report, e.g. 2017."),
    warehouse: Path | None = WarehouseOption,
    reports: Path | None = ReportsOption,
    snapshot: Path | None = SnapshotOption,
    published: Path | None = PublishedOption,
) -> None:
    """Write the annual report pack and charts of one fiscal year from the last completed run."""
    from envkpi.pipeline import report_basis, write_annual_report
    from envkpi.warehouse.database import connect, kpi_results_frame
    from envkpi.warehouse.publication import published_figures

    settings = _settings(None, warehouse, reports, snapshot, published)
    # The snapshot never waits for a running night; the warehouse serves before the first snapshot.
    source = settings.snapshot_file
    if warehouse is not None or not source.exists():
        source = settings.warehouse
    if not source.exists():
        typer.echo(f"no warehouse at {source}: run `envkpi run` (or `make run`) first", err=True)
        raise typer.Exit(2)
    from envkpi.reporting.filings import filing_tables, write_human_tables

    connection = connect(source, read_only=True)
    try:
        kpi_results = kpi_results_frame(connection)
        basis = report_basis(connection)
        filings = filing_tables(connection)
        publications = published_figures(connection, fy)
    finally:
        connection.close()
    if fy not in set(kpi_results.fiscal_year):
        typer.echo(f"no KPI results for FY{fy} in {source}", err=True)
        raise typer.Exit(2)
    written = write_annual_report(kpi_results, settings, fy, basis, publications)
    written.update(write_human_tables(filings, settings.reports / "pack", fy))
    typer.echo(
        f"FY{fy} report pack: {written['pack:pdf']} (and .md, .html, .xlsx, .csv); filings for people: "
        f"{written['filings:html']} (and .md, .xlsx); "
        f"{sum(k.startswith('chart:') for k in written)} chart files under {settings.reports / 'charts'}"
    )


@app.command()
def publish(
    fy: int = typer.Option(..., "--fy", help="Fiscal year to publish, e.g. 2017."),
    note: str | None = typer.Option(None, "--note", help="Why, or for which report (kept with it)."),
    warehouse: Path | None = WarehouseOption,
    reports: Path | None = ReportsOption,
    snapshot: Path | None = SnapshotOption,
) -> None:
    """Publish a fiscal year: record v1, v2, ... of its figures and write published/FY<fy>/v<n>/.

    Publish after the run whose figures the report prints; later runs list every figure that
    differs from the latest publication in restatements_since_publication.csv.
    """
    from envkpi.pipeline import StorageError, publish_year_step
    from envkpi.warehouse.publication import PublicationError

    settings = _settings(None, warehouse, reports, snapshot)
    if not settings.warehouse.exists():
        typer.echo(f"no warehouse at {settings.warehouse}: run `envkpi run` first", err=True)
        raise typer.Exit(2)
    try:
        publication = publish_year_step(settings, fy, note)
    except PublicationError as error:
        typer.echo(f"envkpi publish failed: {error}", err=True)
        raise typer.Exit(2) from None
    except StorageError as error:
        typer.echo(f"envkpi publish failed: {error}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"FY{fy} published as {publication.name}: {publication.folder}")
    if not publication.complete:
        typer.echo(
            f"  note: FY{fy} has incomplete data (completeness below 100 % for a group figure); "
            "the publication records the figures as they are",
            err=True,
        )


@app.command()
def trace(
    kpi: str = typer.Option(..., "--kpi", help="KPI, e.g. energy_intensity."),
    fy: int = typer.Option(..., "--fy", help="Fiscal year of the figure."),
    scope: str = typer.Option("group", "--scope", help="group, a business unit or a plant_id."),
    out: Path | None = typer.Option(
        None, "--out", help="CSV or XLSX file (by suffix); default reports/trace_<kpi>_FY<fy>_<scope>.csv"
    ),
    warehouse: Path | None = WarehouseOption,
    reports: Path | None = ReportsOption,
    snapshot: Path | None = SnapshotOption,
) -> None:
    """Every plant-month, measure, delivered row and file behind one figure, with the sums that
    reconcile to its numerator and denominator."""
    from envkpi.warehouse import tracing

    settings = _settings(None, warehouse, reports, snapshot)
    try:
        trace_rows = tracing.trace_from(tracing.source_of(settings, warehouse is not None), kpi, fy, scope)
    except tracing.TraceError as error:
        typer.echo(f"envkpi trace: {error}", err=True)
        raise typer.Exit(2) from None
    path = out or settings.reports / f"trace_{tracing.safe_stem(kpi)}_FY{fy}_{tracing.safe_stem(scope)}.csv"
    tracing.write_trace(trace_rows, path)
    for line in tracing.reconciliation_lines(trace_rows):
        typer.echo(line)
    typer.echo(f"  {int((trace_rows.record == 'row').sum())} delivered rows: {path}")


@app.command()
def template(
    kind: str = typer.Argument(
        ..., help="Kind of file: plants, factors, targets, energy, production, waste or chemicals."
    ),
    plant: str | None = typer.Option(None, "--plant", help="Plant id (monthly kinds).", show_default="none"),
    fy: int | None = typer.Option(
        None, "--fy", help="Fiscal year whose months are filled in (monthly kinds).", show_default="none"
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Where to write the XLSX.", show_default="<kind>_<plant>_FY<fy>.xlsx in this folder"
    ),
    warehouse: Path | None = WarehouseOption,
) -> None:
    """Write an XLSX delivery template for a plant: the contract's columns, the months, drop-down lists."""
    from envkpi.contract import KINDS, monthly_kinds
    from envkpi.ingest.template import default_name, write_template

    kind = kind.strip().lower()
    if kind not in KINDS:
        _fail("template", f"unknown kind {kind!r}: give one of {', '.join(KINDS)}")
    if kind in monthly_kinds() and (not plant or fy is None):
        _fail(
            "template",
            f"the {kind} template is for one plant and fiscal year: give --plant ID and --fy YEAR, "
            f"e.g. envkpi template {kind} --plant P01 --fy 2018",
        )
    path = out or Path(default_name(kind, plant, fy))
    if path.is_dir():
        path = path / default_name(kind, plant, fy)
    if path.suffix.lower() != ".xlsx":
        _fail("template", f"--out {path}: the template is an XLSX file, name it ....xlsx")
    write_template(kind, path, _settings(None, warehouse, None), plant=plant, fiscal_year=fy)
    typer.echo(f"wrote {_relative(path)}: fill in the first sheet, then check it with envkpi check {_relative(path)}")


if __name__ == "__main__":
    app()
