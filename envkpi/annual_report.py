"""The annual report's files (charts and report pack), drawn on every core of the machine.

Drawing is matplotlib's rendering, single-threaded and the same work whatever the size of the
group: eleven charts in three formats, the PDF pack and the XLSX take about 12 s of CPU. Each
file is rendered by a worker process into a staging folder; this process then moves them into
place one by one, in a fixed order, through ``replace_atomically``. So a run killed while
drawing leaves the previous files, never a mix, and the files and fault points come in the same
order as when ``charts.write_charts`` and ``report_pack.write_report_pack`` (the one-process
versions, which notebooks and tests call) write them.

Workers are forked where the platform can (they share the parent's imports and the KPI table
without copying it) and spawned elsewhere.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd

from envkpi import charts, faults, report_pack
from envkpi.export import replace_atomically, write_csv

# What a worker draws, set once per worker by ``_start_worker``.
_job_inputs: dict = {}

# Rough seconds of each job, to hand out the longest first (the workers finish together).
_COST = {"pdf": 4.0, "xlsx": 2.5, "breakdown": 1.0, "overview": 0.7, "trend": 0.3}


def _start_worker(inputs: dict) -> None:
    faults.suspended().__enter__()  # for the worker's life: the parent's fault points stand for the drawing
    _job_inputs.update(inputs)


def _draw(job: tuple[str, str | None]) -> list[str]:
    """Render one job's files into the staging folder; returns their names."""
    what, kpi = job
    data, registry = _job_inputs["kpi_results"], _job_inputs["registry"]
    fiscal_year, cut_off, staging = _job_inputs["fiscal_year"], _job_inputs["cut_off"], _job_inputs["staging"]
    if what == "pdf":
        name = f"report_pack_FY{fiscal_year}.pdf"
        report_pack.write_pdf(data, _job_inputs["table"], staging / name, fiscal_year, cut_off, registry)
        return [name]
    if what == "xlsx":
        name = f"results_FY{fiscal_year}.xlsx"
        report_pack.write_xlsx({f"Results FY{fiscal_year}": _job_inputs["table"],
                                f"Figures FY{fiscal_year}": report_pack.figures_table(data, fiscal_year, registry)},
                               staging / name)
        return [name]
    if what == "trend":
        figure, stem = charts.trend_figure(data, kpi, cut_off, registry, fiscal_year), charts.trend_stem(kpi)
    elif what == "breakdown":
        figure = charts.breakdown_figure(data, kpi, fiscal_year, cut_off, registry)
        stem = charts.breakdown_stem(kpi, fiscal_year)
    else:
        figure, stem = charts.overview_figure(data, fiscal_year, cut_off, registry), charts.overview_stem(fiscal_year)
    return [path.name for path in charts.save_figure(figure, staging, stem)]


def _workers(jobs: int) -> int:
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(jobs, available))


def write_annual_report(kpi_results: pd.DataFrame, reports: Path, fiscal_year: int, cut_off: str,
                        registry: pd.DataFrame) -> dict[str, Path]:
    """Charts under ``reports/charts`` and the report pack under ``reports/pack`` for one year.

    Returns the files by name (``chart:<file>``, ``pack:<format>``), as the one-process writers
    name them.
    """
    registry = charts.read_registry(registry)
    kpis = charts.kpis_in_order(kpi_results, registry)
    table = report_pack.results_table(kpi_results, fiscal_year, registry)
    jobs = [("trend", kpi) for kpi in kpis] + [("breakdown", kpi) for kpi in kpis] + [("overview", None),
                                                                                     ("pdf", None), ("xlsx", None)]
    with tempfile.TemporaryDirectory(prefix="envkpi-drawing-") as folder:
        staging = Path(folder)
        inputs = {"kpi_results": kpi_results, "registry": registry, "fiscal_year": fiscal_year,
                  "cut_off": cut_off, "staging": staging, "table": table}
        staged = _draw_all(jobs, inputs)

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
        paths = report_pack.write_table_texts(table, pack, fiscal_year, cut_off)
        (paths["xlsx"],) = put(("xlsx", None), pack)
        paths["csv"] = write_csv(table, pack / f"results_FY{fiscal_year}.csv")
        (paths["pdf"],) = put(("pdf", None), pack)
        written.update({f"pack:{fmt}": path for fmt, path in paths.items()})
    return written


def _draw_all(jobs: list[tuple[str, str | None]], inputs: dict) -> dict[tuple[str, str | None], list[str]]:
    ordered = sorted(jobs, key=lambda job: -_COST[job[0]])
    workers = _workers(len(jobs))
    if workers == 1:
        _job_inputs.update(inputs)
        try:
            with faults.suspended():
                return {job: _draw(job) for job in ordered}
        finally:
            _job_inputs.clear()
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method),
                             initializer=_start_worker, initargs=(inputs,)) as pool:
        return dict(zip(ordered, pool.map(_draw, ordered)))
