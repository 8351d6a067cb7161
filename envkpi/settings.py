"""All settings of a pipeline run in one object: paths, fiscal-year start and schedule.

Defaults suit the repository layout; environment variables (``ENVKPI_*``) override the
defaults and CLI flags override both. No other module reads the environment or invents a path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

# The project root is the folder that holds `data/`, `reports/` and `expectations/`.
PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
SQL_DIR = PACKAGE_DIR / "sql"

_ENV_PREFIX = "ENVKPI_"


def _env(name: str, default: str) -> str:
    return os.environ.get(_ENV_PREFIX + name, default)


@dataclass(frozen=True)
class Settings:
    """Where a run reads and writes, and the calendar it reports in."""

    landing: Path = field(default_factory=lambda: Path(_env("LANDING", str(PROJECT_DIR / "data" / "landing"))))
    warehouse: Path = field(
        default_factory=lambda: Path(_env("WAREHOUSE", str(PROJECT_DIR / "data" / "warehouse.duckdb")))
    )
    reports: Path = field(default_factory=lambda: Path(_env("REPORTS", str(PROJECT_DIR / "reports"))))
    # Published read-only copies of the warehouse for notebooks (see envkpi.publish).
    published: Path = field(default_factory=lambda: Path(_env("PUBLISHED", str(PROJECT_DIR / "data" / "published"))))
    reference: Path = field(default_factory=lambda: Path(_env("REFERENCE", str(PROJECT_DIR / "data" / "reference"))))
    expectations: Path = field(
        default_factory=lambda: Path(_env("EXPECTATIONS", str(PROJECT_DIR / "expectations")))
    )
    # April start: FY2017 = 2017-04 .. 2018-03, as Japanese fiscal years run.
    fiscal_year_start_month: int = field(default_factory=lambda: int(_env("FISCAL_YEAR_START_MONTH", "4")))
    # Render Great Expectations Data Docs (reports/data_docs) for each run that validates files.
    data_docs: bool = field(default_factory=lambda: _env("DATA_DOCS", "1").strip().lower() not in ("0", "false", "no"))
    # Great Expectations runs in a worker process of its own when a run has more than this many
    # MB of new files to check (0: always; negative: never): the worker's imports cost a few
    # seconds of CPU, which only a large night wins back.
    validation_process_mb: float = field(default_factory=lambda: float(_env("VALIDATION_PROCESS_MB", "32")))
    # Worker processes that draw the annual report's charts and pack (0: one per available core;
    # 1: draw in the run's own process).
    drawing_workers: int = field(default_factory=lambda: int(_env("DRAWING_WORKERS", "0")))
    # Nightly schedule of the Prefect deployment.
    schedule_cron: str = field(default_factory=lambda: _env("SCHEDULE_CRON", "0 2 * * *"))
    schedule_timezone: str = field(default_factory=lambda: _env("SCHEDULE_TIMEZONE", "Asia/Tokyo"))
    # Where the nightly flow posts a notification (JSON with subject and text) when a night fails
    # or completes with rejected files; empty for none. E.g. a chat webhook.
    notify_url: str = field(default_factory=lambda: _env("NOTIFY_URL", ""))

    def __post_init__(self) -> None:
        if not 1 <= self.fiscal_year_start_month <= 12:
            raise ValueError(
                f"fiscal_year_start_month must be 1..12, got {self.fiscal_year_start_month}"
            )

    def with_overrides(self, **overrides: object) -> "Settings":
        """A copy with the given fields replaced; ``None`` values keep the current setting."""
        given = {k: v for k, v in overrides.items() if v is not None}
        for key in ("landing", "warehouse", "reports", "published", "reference", "expectations"):
            if key in given:
                given[key] = Path(given[key])  # type: ignore[arg-type]
        return replace(self, **given)  # type: ignore[arg-type]
