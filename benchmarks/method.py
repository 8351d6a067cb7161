"""What the baseline scripts (bare DuckDB, plain pandas) share: time one computation of the group
KPIs and report it to the harness as JSON, or to a person as text."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path


def time_and_report(compute: Callable[[], list[dict]], json_path: Path | None) -> int:
    """Run ``compute`` (the group KPI rows), then write its rows and seconds; an error is reported too."""
    started = time.perf_counter()
    try:
        rows = compute()
    except Exception as error:  # reported by the harness as the step's result
        if json_path:
            message = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
            json_path.write_text(json.dumps({"error": message[:400]}), encoding="utf-8")
        raise
    seconds = time.perf_counter() - started
    if json_path:
        json_path.write_text(json.dumps({"seconds": seconds, "group": rows}, indent=1), encoding="utf-8")
    else:
        for row in rows:
            print(f"{row['kpi']:<20} FY{row['fiscal_year']}  {row['value']:.6f}")
        print(f"{seconds:.2f} s")
    return 0
