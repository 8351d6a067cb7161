"""The benchmark harness works (at a tiny size): data, steps, agreement, report.

Times are the benchmark's business (``make bench`` writes them to docs/benchmarks.md); nothing
here asserts on a time.
"""

from __future__ import annotations

import cProfile
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent
if str(PROJECT_DIR) not in sys.path:  # `pytest` run from elsewhere than the project folder
    sys.path.insert(0, str(PROJECT_DIR))

from benchmarks import generate  # noqa: E402
from benchmarks.run import (  # noqa: E402
    BEGIN,
    END,
    GOALS,
    Goal,
    Size,
    Step,
    _profile_tables,
    compare,
    evaluate,
    goals_table,
    write_report,
)


def _rows(landing: Path) -> dict[str, list[str]]:
    rows: dict[str, list[str]] = {}
    for path in landing.rglob("*.csv"):
        kind = path.name.split("_")[0].split(".")[0]
        lines = path.read_text(encoding="utf-8").splitlines()
        rows.setdefault(kind, []).extend(lines[1:])
    return {kind: sorted(lines) for kind, lines in rows.items()}


def test_generator_is_deterministic_and_both_layouts_hold_the_same_rows(tmp_path):
    first = generate.write_group(7, 2, files_dir=tmp_path / "a", consolidated_dir=tmp_path / "c")
    generate.write_group(7, 2, files_dir=tmp_path / "b")
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.csv"))
    assert files_a == sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*.csv"))
    assert all((tmp_path / "a" / p).read_bytes() == (tmp_path / "b" / p).read_bytes() for p in files_a)
    assert _rows(tmp_path / "a") == _rows(tmp_path / "c")
    assert (
        first["files"]["monthly_rows"]
        == first["consolidated"]["monthly_rows"]
        == sum(len(v) for k, v in _rows(tmp_path / "a").items() if k in generate.MONTHLY_KINDS)
    )
    # 7 plants in one region, 24 months, 7 kinds (4 of v1, water, sales, purchases), plus
    # plants.csv and targets.csv
    assert first["files"]["files"] == 24 * 7 + 2
    extra = generate.write_extra_month(7, 2, tmp_path / "extra")
    assert extra["first_period"] == "2007-04" and extra["files"] == 7


def test_compare_finds_differences_and_profile_tables_read_a_profile(tmp_path):
    rows = [
        {
            "kpi": "energy_intensity",
            "fiscal_year": 2005,
            "numerator": 10.0,
            "denominator": 4.0,
            "value": 2.5,
            "change_vs_base_pct": 0.0,
        }
    ]
    assert compare(rows, [dict(rows[0])]) == []
    assert compare(rows, [dict(rows[0], value=2.5 * (1 + 1e-12))]) == []
    assert compare(rows, [dict(rows[0], value=2.6)])
    assert compare(rows, [])
    profiler = cProfile.Profile()
    profiler.runcall(sorted, range(1000))
    profiler.dump_stats(str(tmp_path / "p.prof"))
    by_cumulative, by_own, total = _profile_tables(tmp_path / "p.prof")
    assert by_cumulative and by_own and total >= 0


def test_harness_measures_every_step_at_every_size_and_the_methods_agree(tmp_path):
    out = tmp_path / "benchmarks.md"
    summary = tmp_path / "bench.json"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.run",
            "--sizes",
            "6x2,4x2",
            "--repeat",
            "1",
            "--cache",
            str(tmp_path / "cache"),
            "--work",
            str(tmp_path / "work"),
            "--out",
            str(out),
            "--json",
            str(summary),
            "--no-annual-report",
            "--no-profile",
            "--no-consolidated",
        ],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]
    text = out.read_text(encoding="utf-8")
    # Every size has the five steps, the smaller size first; the largest has the extra rows.
    for size in ("4 plants x 2 FY", "6 plants x 2 FY"):
        for label in (
            "1. full pipeline",
            "2. lower bound",
            "3. plain pandas",
            "4. nightly increment",
            "5. quiet night",
        ):
            assert f"| {size} | {label} |" in text
    assert text.index("| 4 plants x 2 FY | 1. full pipeline |") < text.index("| 6 plants x 2 FY | 1. full pipeline |")
    assert "| 6 plants x 2 FY | 2b. lower bound, union_by_name (extra) |" in text
    assert "| 4 plants x 2 FY | 2b." not in text
    assert "| CPU / pandas | CPU / bare DuckDB |" in text
    # The goals are issue 19's, each row of them; none of these sizes is a goal's, so none is judged.
    for goal in GOALS:
        assert f"| {goal.text} |" in text
    assert "increment under 5" not in text and "/ full run" not in text
    assert "All methods agree on the group KPIs" in text and "FAILED" not in text
    assert "#### 4 plants x 2 FY" in text and "#### 6 plants x 2 FY" in text and "| **KPI rebuild** |" in text
    data = json.loads(summary.read_text(encoding="utf-8"))
    assert data["agreement"][0] == "ok"
    assert set(data["sizes"]) == {"4x2", "6x2"}
    assert set(data["sizes"]["6x2"]) == {"full", "bare", "pandas", "increment", "quiet", "bare_union", "bare_next"}
    for key in ("full", "bare", "pandas", "increment", "quiet"):
        step = data["sizes"]["4x2"][key]
        assert step["ok"] and step["wall"] > 0 and step["cpu"] > 0 and step["peak_rss_mb"] > 0
        assert step["load"] is not None
    assert {g["verdict"] for g in data["goals"]} == {
        "not measured (20 plants x 15 FY not run)",
        "not measured (2,000 plants x 15 FY not run)",
    }

    # The phases come from the library's timers (envkpi.runtime.timing): the increment found the history
    # unchanged and read only the new month's 7 files (6 plants: one region, seven kinds),
    # batches being read in a helper thread, kept apart.
    def calls(key: str, phase: str) -> int:
        phases = data["sizes"]["6x2"][key]["phases"]
        return sum(phases.get(f"{phase}{suffix}", {}).get("calls", 0) for suffix in ("", " (helper thread)"))

    assert calls("increment", "read files") == 7
    # The quiet night took the quiet path (envkpi.outputs): recorded, nothing read or ingested.
    assert calls("quiet", "quiet night: recorded") == 1 and calls("increment", "quiet night: recorded") == 0
    assert calls("quiet", "read files") == 0
    assert calls("quiet", "ingest bookkeeping (known files, order, waiting for reads)") == 0
    assert calls("full", "publish snapshot") == 1  # run() calls it by another name: patching names missed it
    # The runs' warehouses and reports are removed afterwards; the generated data stays cached.
    assert not list((tmp_path / "work").glob("run-*"))
    assert generate.read_manifest(tmp_path / "cache" / "p6-y2-fy2005-v2" / "files")["plants"] == 6


def _step(
    key: str,
    size: str,
    wall: float | None = 1.0,
    cpu: float | None = 1.0,
    peak: float | None = 100.0,
    load: float = 1.0,
    error: str | None = None,
) -> Step:
    return Step(
        key,
        f"step {key}",
        "",
        0,
        0,
        size=size,
        wall=wall,
        cpu=cpu,
        peak_rss_mb=peak,
        load=load,
        exit_code=0,
        error=error,
    )


def test_goal_verdicts_follow_the_hand_given_numbers():
    goals = {(g.size, g.text): g for g in GOALS}
    by_text = {text: g for (_, text), g in goals.items()}
    # Issue 19's own 20-plant figures: full pipeline 14.4 s CPU against pandas' 1.1 s is 13.1x,
    # against a goal of 3x; the increment's 4.3 s against bare DuckDB's 0.5 s is 8.6x (goal 2x).
    small = {
        "full": _step("full", "20x15", cpu=14.4),
        "pandas": _step("pandas", "20x15", cpu=1.1),
        "bare": _step("bare", "20x15", cpu=0.5),
        "increment": _step("increment", "20x15", cpu=4.3),
        "quiet": _step("quiet", "20x15", cpu=0.5),
    }
    steps = {"20x15": small}
    reading = evaluate(goals[("20x15", "full pipeline CPU / plain pandas CPU")], steps)
    assert reading.measured == pytest.approx(14.4 / 1.1) and reading.verdict == "MISS"
    reading = evaluate(goals[("20x15", "nightly increment CPU / bare DuckDB CPU over the whole history")], steps)
    assert reading.measured == pytest.approx(8.6) and reading.verdict == "MISS"
    # "At most": a quiet night of exactly the bare run's CPU passes.
    quiet = goals[("20x15", "quiet night (nothing new) CPU / bare DuckDB CPU over the whole history")]
    assert evaluate(quiet, steps).verdict == "PASS"
    small["quiet"] = _step("quiet", "20x15", cpu=0.6)
    assert evaluate(quiet, steps).verdict == "MISS"
    small["full"] = _step("full", "20x15", cpu=3.3)  # 3.3 / 1.1 = 3.0x: at most 3x
    assert evaluate(goals[("20x15", "full pipeline CPU / plain pandas CPU")], steps).verdict == "PASS"

    # The 15-year increment against the 3-year one, two sizes of one run: 6.0 s / 5.0 s = 1.2x passes,
    # 6.1 s does not; the increment's wall time against a quarter of bare DuckDB's.
    growth = by_text["the increment does not grow with history: 15-year increment CPU / 3-year increment CPU"]
    steps = {
        "2000x3": {"increment": _step("increment", "2000x3", cpu=5.0)},
        "2000x15": {
            "increment": _step("increment", "2000x15", wall=4.0, cpu=6.0),
            "bare": _step("bare", "2000x15", wall=16.8),
        },
    }
    assert (evaluate(growth, steps).measured, evaluate(growth, steps).verdict) == (pytest.approx(1.2), "PASS")
    steps["2000x15"]["increment"] = _step("increment", "2000x15", wall=4.3, cpu=6.1)
    assert evaluate(growth, steps).verdict == "MISS"
    quarter = by_text["nightly increment wall / bare DuckDB wall over the same history"]
    assert evaluate(quarter, steps).verdict == "MISS"  # 4.3 / 16.8 = 0.256
    steps["2000x15"]["increment"] = _step("increment", "2000x15", wall=4.2, cpu=6.1)
    assert evaluate(quarter, steps).verdict == "PASS"  # 4.2 / 16.8 = 0.25 exactly
    # Without the 3-year size there is nothing to divide by; a failed peer is not a verdict either.
    assert evaluate(growth, {"2000x15": steps["2000x15"]}).verdict == "not measured (2,000 plants x 3 FY not run)"
    steps["2000x3"]["increment"] = _step("increment", "2000x3", error="exit code 1")
    assert evaluate(growth, steps).verdict == "not measured (step increment at 2,000 plants x 3 FY failed)"

    # Peak memory: the largest of the pipeline steps that ran, strictly under 2 GB.
    memory = by_text["peak memory of every pipeline step (the largest)"]
    steps = {
        "2000x15": {
            "full": _step("full", "2000x15", peak=1900.0),
            "increment": _step("increment", "2000x15", peak=2048.0),
        }
    }
    reading = evaluate(memory, steps)
    assert (reading.measured, reading.verdict) == (2048.0, "MISS") and "step increment" in reading.detail
    steps["2000x15"]["increment"] = _step("increment", "2000x15", peak=1000.0)
    assert evaluate(memory, steps).verdict == "PASS"

    # A wall-time goal against a fixed reading is judged only on a machine that was not busy.
    idle = Goal("2000x15", "wall", "full", "wall", 45.2, idle_only=True)
    assert (
        evaluate(idle, {"2000x15": {"full": _step("full", "2000x15", wall=44.0, load=1.5)}}, cores=2).verdict == "PASS"
    )
    assert (
        evaluate(idle, {"2000x15": {"full": _step("full", "2000x15", wall=50.0, load=1.5)}}, cores=2).verdict == "MISS"
    )
    assert (
        evaluate(idle, {"2000x15": {"full": _step("full", "2000x15", wall=50.0, load=4.0)}}, cores=2).verdict
        == "not judged (load 4.00 on 2 cores)"
    )
    table = goals_table([evaluate(idle, {"2000x15": {"full": _step("full", "2000x15", wall=44.0)}}, cores=2)])
    assert table[-1] == "| 2,000 plants x 15 FY | wall | 44.0 s | step full: 44.0 s wall | <= 45.2 s | PASS |"
    assert Size.parse("2000x15") == Size(2000, 15) and Size(2000, 15).label == "2,000 plants x 15 FY"


def test_the_harness_reads_the_helper_threads_phases_by_the_librarys_suffix():
    from benchmarks.run import HELPER_THREAD  # a copy: the harness itself does not import envkpi
    from envkpi.runtime import timing

    assert HELPER_THREAD == timing.HELPER_THREAD


def test_union_by_name_reads_one_kind_at_a_time(tmp_path):
    """DuckDB keeps every file of a union_by_name statement open: 6 plants x 2 years are 96
    monthly files of the four kinds; under a limit of 80 open files each kind's 24 must be read
    on their own (the benchmark's 28,800 files against a hard limit of 20,000 failed so)."""
    import resource

    generate.write_group(6, 2, files_dir=tmp_path / "landing")
    results = {}
    for name, options, limit in (("by_name", ["--union-by-name"], 80), ("by_position", [], None)):
        completed = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.bare_duckdb",
                str(tmp_path / "landing"),
                "--json",
                str(tmp_path / f"{name}.json"),
                *options,
            ],
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
            timeout=300,
            preexec_fn=(lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (80, 80))) if limit else None,
        )
        assert completed.returncode == 0, completed.stderr[-2000:]
        results[name] = json.loads((tmp_path / f"{name}.json").read_text(encoding="utf-8"))["group"]
    assert results["by_name"] and compare(results["by_position"], results["by_name"]) == []


def test_report_keeps_text_written_by_hand(tmp_path):
    out = tmp_path / "benchmarks.md"
    write_report(out, f"{BEGIN}\nfirst\n{END}")
    assert "first" in out.read_text(encoding="utf-8")
    out.write_text("# By hand\n\n" + out.read_text(encoding="utf-8") + "\n## Kept\n", encoding="utf-8")
    write_report(out, f"{BEGIN}\nsecond\n{END}")
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# By hand") and text.rstrip().endswith("## Kept")
    assert "second" in text and "first" not in text


def test_the_memory_settings_reach_numpy_and_arrow_from_every_entry_point():
    """envkpi sets NumPy's and mimalloc's huge-page options before they load (envkpi/__init__.py):
    the CLI and the Prefect flow must import it first, and a value the user set must win."""
    probe = (
        "import numpy, pyarrow, os; "
        "print(numpy._core.multiarray._get_madvise_hugepage(), os.environ['MIMALLOC_ALLOW_THP'])"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("NUMPY_MADVISE_HUGEPAGE", "MIMALLOC_ALLOW_THP")}
    answers = {}
    for entry in ("envkpi.cli", "flows.nightly"):
        answers[entry] = subprocess.run(
            [sys.executable, "-c", f"import {entry}; {probe}"],
            cwd=PROJECT_DIR,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
    chosen = subprocess.run(
        [sys.executable, "-c", f"import envkpi.cli; {probe}"],
        cwd=PROJECT_DIR,
        env=env | {"NUMPY_MADVISE_HUGEPAGE": "1", "MIMALLOC_ALLOW_THP": "1"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()

    assert answers == {"envkpi.cli": ["False", "0"], "flows.nightly": ["False", "0"]}
    assert chosen == ["True", "1"]
