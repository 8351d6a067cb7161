"""The annual report's files (charts and report pack), drawn on every core of the machine.

Drawing is matplotlib's rendering, single-threaded and the same work whatever the size of the
group: eleven charts in three formats, the title page and the XLSX take about 10 s of CPU (the
PDF pack joins the charts' own PDFs behind the title page). Each file is rendered by a worker
process into a staging folder; this process then moves them into place one by one, in a fixed
order, through ``replace_atomically``. So a run killed while drawing leaves the previous files,
never a mix, and the files and fault points come in the same order as when
``charts.write_charts`` and ``report_pack.write_report_pack`` (the one-process versions, which
notebooks and tests call) write them.

Workers are fresh interpreters (``python -m envkpi.reporting.annual_report``; ``envkpi.runtime.workers`` says why
not forks). Each pays about a second of imports, in parallel with the others.
"""

from __future__ import annotations

import gc
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
from envkpi.runtime.workers import end_worker, library_command, library_environment

# What a worker draws (set once per worker process, or for the drawing in the run's own process).
_job_inputs: dict = {}

# Seconds of each job, measured in one process on the benchmark's group (2,000 plants), to hand
# out the longest first so that the workers finish together.
_COST = {"overview": 1.4, "xlsx": 1.3, "breakdown": 0.85, "trend": 0.3, "title": 0.1}


def _draw(job: tuple[str, str | None]) -> list[str]:
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


def _workers(jobs: int, wanted: int) -> int:
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(jobs, wanted or available))


def write_annual_report(kpi_results: pd.DataFrame, reports: Path, fiscal_year: int, dates: charts.ReportDates,
                        registry: pd.DataFrame, workers: int = 0, plant_names: dict[str, str] | None = None,
                        published: pd.DataFrame | None = None,
                        recalculation_threshold_pct: float = 5.0) -> dict[str, Path]:
    """Charts under ``reports/charts`` and the report pack under ``reports/pack`` for one year.

    Returns the files by name (``chart:<file>``, ``pack:<format>``), as the one-process writers
    name them. ``workers`` processes draw (0: one per available core; 1: this process).
    ``published`` (the year's latest publication) and the threshold as for ``report_pack.results_table``.
    """
    registry = charts.read_registry(registry)
    kpis = charts.kpis_in_order(kpi_results, registry)
    table = report_pack.results_table(kpi_results, fiscal_year, registry, published, recalculation_threshold_pct)
    jobs: list[tuple[str, str | None]] = [(what, kpi) for what in ("trend", "breakdown") for kpi in kpis]
    jobs += [("overview", None), ("title", None), ("xlsx", None)]
    with tempfile.TemporaryDirectory(prefix="envkpi-drawing-") as folder:
        staging = Path(folder)
        inputs = {"kpi_results": kpi_results, "registry": registry, "fiscal_year": fiscal_year,
                  "dates": dates, "staging": staging, "table": table, "plant_names": plant_names or {}}
        staged = _draw_all(jobs, inputs, workers)

        def put(job: tuple[str, str | None], folder: Path) -> list[Path]:
            placed = []
            for name in staged[job]:
                replace_atomically(folder / name, lambda tmp, name=name: shutil.copyfile(staging / name, tmp))
                placed.append(folder / name)
            return placed

        # The order of charts.write_charts, then report_pack.write_report_pack.
        written: dict[str, Path] = {}
        for job in [job for kpi in kpis for job in (("trend", kpi), ("breakdown", kpi))] + [("overview", None)]:
            written.update({f"chart:{path.name}": path for path in put(job, reports / "charts")})
        pack = reports / "pack"
        paths = report_pack.write_table_texts(table, pack, fiscal_year, dates)
        (paths["xlsx"],) = put(("xlsx", None), pack)
        paths["csv"] = write_csv(table, pack / f"results_FY{fiscal_year}.csv")
        # The pack's pages are the charts just drawn, behind the title page (and the contents).
        pages = [staging / "title.pdf"] + [staging / f"{stem}.pdf"
                                           for stem in report_pack.pack_pages(kpi_results, fiscal_year, registry)]
        paths["pdf"] = report_pack.join_pdf(pages, pack / f"report_pack_FY{fiscal_year}.pdf", fiscal_year, dates,
                                            report_pack.page_titles(kpi_results, fiscal_year, registry))
        written.update({f"pack:{fmt}": path for fmt, path in paths.items()})
    return written


def _draw_all(jobs: list[tuple[str, str | None]], inputs: dict, wanted: int) -> dict[tuple[str, str | None], list[str]]:
    ordered = sorted(jobs, key=lambda job: -_COST[job[0]])
    workers = _workers(len(jobs), wanted)
    if workers == 1:
        _job_inputs.update(inputs)
        try:
            with faults.suspended():
                return {job: _draw(job) for job in ordered}
        finally:
            _job_inputs.clear()
    # The longest jobs first, each to the worker with the least work so far.
    shares: list[list[tuple[str, str | None]]] = [[] for _ in range(workers)]
    loads = [0.0] * workers
    for job in ordered:
        least = loads.index(min(loads))
        shares[least].append(job)
        loads[least] += _COST[job[0]]
    inputs_file = inputs["staging"] / "inputs.pickle"
    with inputs_file.open("wb") as handle:
        pickle.dump(inputs, handle, protocol=pickle.HIGHEST_PROTOCOL)
    answers = [inputs["staging"] / f"worker{i}.json" for i in range(workers)]
    processes = [subprocess.Popen(library_command("envkpi.reporting.annual_report", str(inputs_file), json.dumps(share), str(answer)),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=library_environment())
                 for share, answer in zip(shares, answers)]
    staged: dict[tuple[str, str | None], list[str]] = {}
    failures = []
    for process, share, answer in zip(processes, shares, answers):
        _, err = process.communicate()
        if process.returncode != 0:
            failures.append(err.decode("utf-8", "replace")[-3000:])
            continue
        names = json.loads(answer.read_text(encoding="utf-8"))
        staged.update(zip(share, names))
    if failures:
        raise RuntimeError("drawing the annual report failed in a worker process:\n" + "\n".join(failures))
    return staged


def _worker(inputs_file: str, jobs: str, answer: str) -> None:
    """A worker process: draw the given jobs; write the files of each, as JSON, to ``answer``."""
    with Path(inputs_file).open("rb") as handle:  # written by _draw_all, in its private folder
        _job_inputs.update(pickle.load(handle))
    gc.freeze()  # the imports and inputs live as long as the worker: no garbage collector passes over them
    with faults.suspended():  # the parent's fault points stand for the drawing
        drawn = [_draw(tuple(job)) for job in json.loads(jobs)]
    Path(answer).write_text(json.dumps(drawn), encoding="utf-8")


if __name__ == "__main__":
    _worker(*sys.argv[1:])
    end_worker()
