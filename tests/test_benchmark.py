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

PROJECT_DIR = Path(__file__).resolve().parent.parent
if str(PROJECT_DIR) not in sys.path:  # `pytest` run from elsewhere than the project folder
    sys.path.insert(0, str(PROJECT_DIR))

from benchmarks import generate  # noqa: E402
from benchmarks.run import BEGIN, END, _profile_tables, compare, write_report  # noqa: E402


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
    assert first["files"]["monthly_rows"] == first["consolidated"]["monthly_rows"] == sum(
        len(v) for k, v in _rows(tmp_path / "a").items() if k in generate.MONTHLY_KINDS)
    # 7 plants in one region, 24 months, 7 kinds (4 of v1, water, sales, purchases), plus
    # plants.csv and targets.csv
    assert first["files"]["files"] == 24 * 7 + 2
    extra = generate.write_extra_month(7, 2, tmp_path / "extra")
    assert extra["first_period"] == "2007-04" and extra["files"] == 7


def test_compare_finds_differences_and_profile_tables_read_a_profile(tmp_path):
    rows = [{"kpi": "energy_intensity", "fiscal_year": 2005, "numerator": 10.0, "denominator": 4.0, "value": 2.5,
             "change_vs_base_pct": 0.0}]
    assert compare(rows, [dict(rows[0])]) == []
    assert compare(rows, [dict(rows[0], value=2.5 * (1 + 1e-12))]) == []
    assert compare(rows, [dict(rows[0], value=2.6)])
    assert compare(rows, [])
    profiler = cProfile.Profile()
    profiler.runcall(sorted, range(1000))
    profiler.dump_stats(str(tmp_path / "p.prof"))
    by_cumulative, by_own, total = _profile_tables(tmp_path / "p.prof")
    assert by_cumulative and by_own and total >= 0


def test_harness_measures_every_step_and_the_methods_agree(tmp_path):
    out = tmp_path / "benchmarks.md"
    summary = tmp_path / "bench.json"
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--plants", "6", "--years", "2",
         "--cache", str(tmp_path / "cache"), "--work", str(tmp_path / "work"), "--out", str(out),
         "--json", str(summary), "--no-annual-report", "--no-profile", "--no-consolidated", "--no-extra"],
        cwd=PROJECT_DIR, capture_output=True, text=True, timeout=600,
    )
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]
    text = out.read_text(encoding="utf-8")
    for label in ("1. full pipeline", "2. lower bound", "3. plain pandas", "4. nightly increment"):
        assert f"| {label} |" in text
    assert "| full pipeline / lower bound (wall) |" in text
    assert "| nightly increment / full run (wall) |" in text
    assert "All methods agree on the group KPIs" in text
    assert "### Phase breakdown" in text and "| **KPI rebuild** |" in text
    data = json.loads(summary.read_text(encoding="utf-8"))
    assert data["agreement"][0] == "ok"
    for key in ("full", "bare", "pandas", "increment"):
        step = data["steps"][key]
        assert step["ok"] and step["wall"] > 0 and step["peak_rss_mb"] > 0
    # The increment found the history unchanged and loaded only the new month's files.
    # Batches are read in a helper thread: the timers keep its phases apart.
    phases = data["phases"]["increment"]
    assert sum(phases.get(f"read files{suffix}", {}).get("calls", 0) for suffix in ("", " (helper thread)")) == 7
    # The runs' warehouses and reports are removed afterwards; the generated data stays cached.
    assert not list((tmp_path / "work").glob("run-*"))
    assert generate.read_manifest(tmp_path / "cache" / "p6-y2-fy2005-v2" / "files")["plants"] == 6


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
    probe = ("import numpy, pyarrow, os; "
             "print(numpy._core.multiarray._get_madvise_hugepage(), os.environ['MIMALLOC_ALLOW_THP'])")
    env = {k: v for k, v in os.environ.items() if k not in ("NUMPY_MADVISE_HUGEPAGE", "MIMALLOC_ALLOW_THP")}
    answers = {}
    for entry in ("envkpi.cli", "flows.nightly"):
        answers[entry] = subprocess.run([sys.executable, "-c", f"import {entry}; {probe}"], cwd=PROJECT_DIR, env=env,
                                        capture_output=True, text=True, check=True).stdout.split()
    chosen = subprocess.run([sys.executable, "-c", f"import envkpi.cli; {probe}"], cwd=PROJECT_DIR,
                            env=env | {"NUMPY_MADVISE_HUGEPAGE": "1", "MIMALLOC_ALLOW_THP": "1"},
                            capture_output=True, text=True, check=True).stdout.split()

    assert answers == {"envkpi.cli": ["False", "0"], "flows.nightly": ["False", "0"]}
    assert chosen == ["True", "1"]
