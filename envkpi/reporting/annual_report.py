"""The annual report's files (charts and report pack) of one fiscal year: one job list, drawn on
every core of the machine when there is enough to draw.

``jobs`` lists what is drawn: a trend and a breakdown per KPI, the overview (each a chart in
PNG, SVG and PDF), the pack's title page and its XLSX. Every caller draws from it: the nightly
run and ``envkpi report`` (``write_annual_report``: charts and pack), ``charts.write_charts``
(the charts alone, into a folder of its own) and ``report_pack.write_report_pack`` (the pack
alone, as a publication stores it), all through ``write_files``.

Drawing is matplotlib's rendering, single-threaded and the same work whatever the size of the
group (eleven KPIs: about 13 s of CPU). Each job's files are rendered into a staging folder, by
this process and, when the work is worth their start-up, by worker processes beside it; this
process then moves them into place one by one, in a fixed order, through ``replace_atomically``.
So a run killed while drawing leaves the previous files, never a mix, and the files and fault
points come in the same order whoever drew them. The PDF pack joins the charts' own PDFs behind
the title page.

Workers are fresh interpreters (``python -m envkpi.reporting.annual_report``; ``envkpi.runtime.workers`` says why
not forks). Each pays about a second of CPU for its imports, which this process has paid already.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

from envkpi.reporting import charts, report_pack
from envkpi.reporting.export import replace_atomically, write_csv
from envkpi.runtime import faults
from envkpi.runtime.memory import keep_out_of_collection
from envkpi.runtime.workers import end_worker, library_command, library_environment

# What a worker draws (set once per worker process, or for the drawing in the run's own process).
_job_inputs: dict = {}

# Seconds of each job, measured in one process on the benchmark's group (2,000 plants), to hand
# out the longest first so that the drawing processes finish together.
_COST = {"overview": 1.4, "xlsx": 1.3, "breakdown": 0.85, "trend": 0.3, "title": 0.1}
# A worker process is started only for at least this many seconds of drawing (about four times
# the CPU of its imports): below, this process draws alone, as quickly and for less CPU.
_WORKER_SHARE = 4.0

Job = tuple[str, str | None]  # (what, kpi): ("trend", "energy_intensity"), ("overview", None)
CHART_JOBS = ("trend", "breakdown", "overview")


def jobs(kpis: list[str]) -> list[Job]:
    """Everything the annual report draws, in the order its files are put in place: the charts
    of each KPI (``charts.write_charts``' order), the overview, then the pack's title page and XLSX."""
    return [job for kpi in kpis for job in (("trend", kpi), ("breakdown", kpi))] + [
        ("overview", None),
        ("title", None),
        ("xlsx", None),
    ]


def _draw(job: Job) -> list[str]:
    """Render one job's files into the staging folder; returns their names."""
    what, kpi = job
    data, registry = _job_inputs["kpi_results"], _job_inputs["registry"]
    fiscal_year, dates, staging = _job_inputs["fiscal_year"], _job_inputs["dates"], _job_inputs["staging"]
    if what == "title":
        report_pack.write_title_page(_job_inputs["table"], staging / "title.pdf", fiscal_year, dates)
        return ["title.pdf"]
    if what == "xlsx":
        name = f"results_FY{fiscal_year}.xlsx"
        report_pack.write_results_xlsx(data, _job_inputs["table"], staging / name, fiscal_year, registry, dates)
        return [name]
    if what in ("trend", "breakdown") and kpi is None:
        raise ValueError(f"a {what} job names its KPI")
    if what == "trend" and kpi is not None:
        figure = charts.trend_figure(data, kpi, dates, registry, fiscal_year)
        stem = charts.trend_stem(kpi, fiscal_year)
    elif what == "breakdown" and kpi is not None:
        figure = charts.breakdown_figure(data, kpi, fiscal_year, dates, registry, _job_inputs["plant_names"])
        stem = charts.breakdown_stem(kpi, fiscal_year)
    else:
        figure, stem = charts.overview_figure(data, fiscal_year, dates, registry), charts.overview_stem(fiscal_year)
    return [path.name for path in charts.save_figure(figure, staging, stem)]


def _workers(todo: list[Job], wanted: int) -> int:
    """How many processes draw (this one included): as asked, else one per available core, and
    never more than the work keeps busy for a worker's start-up."""
    if wanted:
        return max(1, min(len(todo), wanted))
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    worth = int(sum(_COST[what] for what, _ in todo) // _WORKER_SHARE)
    return max(1, min(len(todo), available, worth))


def write_annual_report(
    kpi_results: pd.DataFrame,
    reports: Path,
    fiscal_year: int,
    dates: charts.ReportDates,
    registry: pd.DataFrame,
    workers: int = 0,
    plant_names: dict[str, str] | None = None,
    published: pd.DataFrame | None = None,
    recalculation_threshold_pct: float = 5.0,
) -> dict[str, Path]:
    """Charts under ``reports/charts`` and the report pack under ``reports/pack`` for one year.

    Returns the files by name (``chart:<file>``, ``pack:<format>``). ``workers`` processes draw
    (0: as many as the work and the available cores are worth; 1: this process alone).
    ``published`` (the year's latest publication) and the threshold as for ``report_pack.results_table``.
    """
    return write_files(
        kpi_results,
        fiscal_year,
        dates,
        registry,
        reports / "charts",
        reports / "pack",
        workers,
        plant_names,
        published,
        recalculation_threshold_pct,
    )


def write_files(
    kpi_results: pd.DataFrame,
    fiscal_year: int,
    dates: charts.ReportDates,
    registry: pd.DataFrame | Path | None,
    charts_folder: Path | None = None,
    pack_folder: Path | None = None,
    workers: int = 1,
    plant_names: dict[str, str] | None = None,
    published: pd.DataFrame | None = None,
    recalculation_threshold_pct: float = 5.0,
) -> dict[str, Path]:
    """The charts into ``charts_folder`` and the pack into ``pack_folder`` (either may be None:
    not written); returns the files by name, ``chart:<file>`` and ``pack:<format>``.

    The pack's PDF pages are the charts' PDFs, so the charts are drawn even for the pack alone
    (into the staging folder only).
    """
    registry = charts.read_registry(registry)
    kpis = charts.kpis_in_order(kpi_results, registry)
    table = report_pack.results_table(kpi_results, fiscal_year, registry, published, recalculation_threshold_pct)
    todo = [job for job in jobs(kpis) if pack_folder is not None or job[0] in CHART_JOBS]
    with tempfile.TemporaryDirectory(prefix="envkpi-drawing-") as folder:
        staging = Path(folder)
        inputs = {
            "kpi_results": kpi_results,
            "registry": registry,
            "fiscal_year": fiscal_year,
            "dates": dates,
            "staging": staging,
            "table": table,
            "plant_names": plant_names or {},
        }
        staged = _draw_all(todo, inputs, workers)

        def put(job: Job, folder: Path) -> list[Path]:
            placed = []
            for name in staged[job]:
                replace_atomically(folder / name, lambda tmp, name=name: shutil.copyfile(staging / name, tmp))
                placed.append(folder / name)
            return placed

        written: dict[str, Path] = {}
        if charts_folder is not None:
            for job in todo:
                if job[0] in CHART_JOBS:
                    written.update({f"chart:{path.name}": path for path in put(job, charts_folder)})
        if pack_folder is None:
            return written
        pack_folder.mkdir(parents=True, exist_ok=True)
        paths = report_pack.write_table_texts(table, pack_folder, fiscal_year, dates)
        (paths["xlsx"],) = put(("xlsx", None), pack_folder)
        paths["csv"] = write_csv(table, pack_folder / f"results_FY{fiscal_year}.csv")
        # The pack's pages are the charts just drawn, behind the title page (and the contents).
        pages = [staging / "title.pdf"] + [
            staging / f"{stem}.pdf" for stem in report_pack.pack_pages(kpi_results, fiscal_year, registry)
        ]
        paths["pdf"] = report_pack.join_pdf(
            pages,
            pack_folder / f"report_pack_FY{fiscal_year}.pdf",
            fiscal_year,
            dates,
            report_pack.page_titles(kpi_results, fiscal_year, registry),
        )
        written.update({f"pack:{fmt}": path for fmt, path in paths.items()})
    return written


def _draw_here(share: list[Job], inputs: dict) -> dict[Job, list[str]]:
    """Draw ``share`` in this process (fault points stand still: the files are staged, not placed)."""
    _job_inputs.update(inputs)
    try:
        with faults.suspended():
            return {job: _draw(job) for job in share}
    finally:
        _job_inputs.clear()


def _draw_all(todo: list[Job], inputs: dict, wanted: int) -> dict[Job, list[str]]:
    ordered = sorted(todo, key=lambda job: -_COST[job[0]])
    drawers = _workers(todo, wanted)
    if drawers == 1:
        return _draw_here(ordered, inputs)
    # The longest jobs first, each to the process with the least work so far; share 0 is this
    # process's own, drawn while the workers draw theirs (its imports are paid already).
    shares: list[list[Job]] = [[] for _ in range(drawers)]
    loads = [0.0] * drawers
    for job in ordered:
        least = loads.index(min(loads))
        shares[least].append(job)
        loads[least] += _COST[job[0]]
    inputs_file = inputs["staging"] / "inputs.pickle"
    with inputs_file.open("wb") as handle:
        pickle.dump(inputs, handle, protocol=pickle.HIGHEST_PROTOCOL)
    answers = [inputs["staging"] / f"worker{i}.json" for i in range(1, drawers)]
    processes = [
        subprocess.Popen(
            library_command("envkpi.reporting.annual_report", str(inputs_file), json.dumps(share), str(answer)),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=library_environment(),
        )
        for share, answer in zip(shares[1:], answers)
    ]
    try:
        staged = _draw_here(shares[0], inputs)
    finally:
        results = [process.communicate() for process in processes]  # never leave a worker behind
    failures = []
    for process, (_, err), share, answer in zip(processes, results, shares[1:], answers):
        if process.returncode != 0:
            failures.append(err.decode("utf-8", "replace")[-3000:])
            continue
        names = json.loads(answer.read_text(encoding="utf-8"))
        staged.update(zip(share, names))
    if failures:
        raise RuntimeError("drawing the annual report failed in a worker process:\n" + "\n".join(failures))
    return staged


def _worker(inputs_file: str, share: str, answer: str) -> None:
    """A worker process: draw the jobs of ``share``; write the files of each, as JSON, to ``answer``."""
    with Path(inputs_file).open("rb") as handle:  # written by _draw_all, in its private folder
        _job_inputs.update(pickle.load(handle))
    keep_out_of_collection()  # the imports and inputs live as long as the worker: no garbage collector passes over them
    with faults.suspended():  # the parent's fault points stand for the drawing
        drawn = [_draw(tuple(job)) for job in json.loads(share)]
    Path(answer).write_text(json.dumps(drawn), encoding="utf-8")


if __name__ == "__main__":
    _worker(*sys.argv[1:])
    end_worker()
