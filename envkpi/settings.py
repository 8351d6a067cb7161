"""All settings of a pipeline run in one object: paths, fiscal-year start and schedule.

Defaults suit the repository layout; environment variables (``ENVKPI_*``) override the
defaults and CLI flags override both. No other module reads the environment or invents a path.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

# The project root is the folder that holds `data/`, `reports/` and `expectations/`.
PACKAGE_DIR = Path(__file__).resolve().parent
# The file name of the notebooks' snapshot in its folder (``Settings.snapshot_file``).
SNAPSHOT_NAME = "warehouse.duckdb"
PROJECT_DIR = PACKAGE_DIR.parent
SQL_DIR = PACKAGE_DIR / "warehouse" / "sql"

_ENV_PREFIX = "ENVKPI_"


def _env(name: str, default: str) -> str:
    return os.environ.get(_ENV_PREFIX + name, default)


def _snapshot_default() -> Path:
    """``ENVKPI_SNAPSHOT``; else the deprecated ``ENVKPI_PUBLISHED`` (with a warning); else data/snapshot."""
    if _ENV_PREFIX + "SNAPSHOT" in os.environ:
        return Path(os.environ[_ENV_PREFIX + "SNAPSHOT"])
    if _ENV_PREFIX + "PUBLISHED" in os.environ:
        warnings.warn(
            "ENVKPI_PUBLISHED is deprecated: set ENVKPI_SNAPSHOT (the notebooks' read-only copy of the "
            "warehouse; a year's publication is `envkpi publish`)",
            DeprecationWarning,
            stacklevel=2,
        )
        return Path(os.environ[_ENV_PREFIX + "PUBLISHED"])
    return PROJECT_DIR / "data" / "snapshot"


# Defaults of the hard limits on a delivered file (see Settings and Limits).
MAX_LINE_CHARS = 100_000
MAX_FIELD_CHARS = 10_000
MAX_COLUMNS = 200
MAX_PROBLEMS_PER_FILE = 100


@dataclass(frozen=True)
class Limits:
    """The hard limits the readers apply to one delivered file (from ``Settings.limits``)."""

    max_line_chars: int = MAX_LINE_CHARS
    max_field_chars: int = MAX_FIELD_CHARS
    max_columns: int = MAX_COLUMNS


@dataclass(frozen=True)
class Settings:
    """Where a run reads and writes, and the calendar it reports in."""

    landing: Path = field(default_factory=lambda: Path(_env("LANDING", str(PROJECT_DIR / "data" / "landing"))))
    warehouse: Path = field(
        default_factory=lambda: Path(_env("WAREHOUSE", str(PROJECT_DIR / "data" / "warehouse.duckdb")))
    )
    reports: Path = field(default_factory=lambda: Path(_env("REPORTS", str(PROJECT_DIR / "reports"))))
    # The read-only copy of the warehouse that notebooks read (envkpi.pipeline.publish_snapshot).
    # Called the "published snapshot" before a year's publication existed: ENVKPI_PUBLISHED and
    # `published=` still work, deprecated.
    snapshot: Path = field(default_factory=_snapshot_default)
    # Where the publications of fiscal years live (`envkpi publish`, contract 10); empty: the
    # folder `published` in the reports folder, as the contract names it.
    publications: Path | None = field(
        default_factory=lambda: Path(_env("PUBLICATIONS", "")) if _env("PUBLICATIONS", "") else None
    )
    # Structural change (contract 10, like-for-like) in percent from which the report pack says
    # that a base-year recalculation is due under the group's policy (GHG Protocol: significance).
    recalculation_threshold_pct: float = field(default_factory=lambda: float(_env("RECALCULATION_THRESHOLD_PCT", "5")))
    reference: Path = field(default_factory=lambda: Path(_env("REFERENCE", str(PROJECT_DIR / "data" / "reference"))))
    expectations: Path = field(default_factory=lambda: Path(_env("EXPECTATIONS", str(PROJECT_DIR / "expectations"))))
    # April start: FY2017 = 2017-04 .. 2018-03, as Japanese fiscal years run.
    fiscal_year_start_month: int = field(default_factory=lambda: int(_env("FISCAL_YEAR_START_MONTH", "4")))
    # Sales and purchases are delivered in this currency; a file in another is rejected (contract 7).
    reporting_currency: str = field(default_factory=lambda: _env("REPORTING_CURRENCY", "JPY").strip())
    # Render Great Expectations Data Docs (reports/data_docs) for each run that validates files.
    data_docs: bool = field(default_factory=lambda: _env("DATA_DOCS", "1").strip().lower() not in ("0", "false", "no"))
    # Great Expectations runs in a worker process of its own when a run has more than this many
    # MB of new files to check (0: always; negative: never): the worker's imports cost a few
    # seconds of CPU, which only a large night wins back.
    validation_process_mb: float = field(default_factory=lambda: float(_env("VALIDATION_PROCESS_MB", "32")))
    # Processes that draw the annual report's charts and pack, the run's own included (0: one per
    # available core, as many as the work is worth; 1: the run's own process alone).
    drawing_workers: int = field(default_factory=lambda: int(_env("DRAWING_WORKERS", "0")))
    # Nightly schedule of the Prefect deployment.
    schedule_cron: str = field(default_factory=lambda: _env("SCHEDULE_CRON", "0 2 * * *"))
    schedule_timezone: str = field(default_factory=lambda: _env("SCHEDULE_TIMEZONE", "Asia/Tokyo"))
    # Where the nightly flow posts a notification (JSON with subject and text) when a night fails
    # or completes with rejected files; empty for none. E.g. a chat webhook.
    notify_url: str = field(default_factory=lambda: _env("NOTIFY_URL", ""))
    # A file modified less than this many seconds before the run started is probably still being
    # copied or written: it is left for the next run (and listed). 0: every file is taken.
    settle_seconds: float = field(default_factory=lambda: float(_env("SETTLE_SECONDS", "60")))
    # Hard limits on a delivered file, each with the reason a plant reads when a file exceeds it:
    # a hostile file is rejected after reading its bytes once, in time and memory bounded by them.
    max_line_chars: int = field(default_factory=lambda: int(_env("MAX_LINE_CHARS", str(MAX_LINE_CHARS))))
    max_field_chars: int = field(default_factory=lambda: int(_env("MAX_FIELD_CHARS", str(MAX_FIELD_CHARS))))
    max_columns: int = field(default_factory=lambda: int(_env("MAX_COLUMNS", str(MAX_COLUMNS))))
    # Problems listed per rejected file; one more row counts the rest.
    max_problems_per_file: int = field(
        default_factory=lambda: int(_env("MAX_PROBLEMS_PER_FILE", str(MAX_PROBLEMS_PER_FILE)))
    )
    # Plausible months of the monthly kinds: from this one to December of the current year plus
    # max_period_years_ahead (a month in 0000 or 9999 is a typing error, not data).
    min_period: str = field(default_factory=lambda: _env("MIN_PERIOD", "1990-01"))
    max_period_years_ahead: int = field(default_factory=lambda: int(_env("MAX_PERIOD_YEARS_AHEAD", "1")))

    def __post_init__(self) -> None:
        if not 1 <= self.fiscal_year_start_month <= 12:
            raise ValueError(f"fiscal_year_start_month must be 1..12, got {self.fiscal_year_start_month}")
        if not re.fullmatch(r"[0-9]{4}-(0[1-9]|1[0-2])", self.min_period):
            raise ValueError(f"min_period must be YYYY-MM, got {self.min_period!r}")

    @property
    def limits(self) -> Limits:
        return Limits(self.max_line_chars, self.max_field_chars, self.max_columns)

    def max_period(self, today: dt.date | None = None) -> str:
        """The latest plausible month: December of the current year plus ``max_period_years_ahead``."""
        return f"{(today or dt.date.today()).year + self.max_period_years_ahead:04d}-12"

    @property
    def snapshot_file(self) -> Path:
        """The snapshot's warehouse file in ``snapshot`` (what notebooks and checks open)."""
        return self.snapshot / SNAPSHOT_NAME

    @property
    def published(self) -> Path:
        """Deprecated name of ``snapshot`` (the notebooks' copy, not a year's publication)."""
        return self.snapshot

    @property
    def publications_folder(self) -> Path:
        """``publications``, or ``<reports>/published`` when it is not set."""
        return self.publications if self.publications is not None else self.reports / "published"

    def with_overrides(self, **overrides: object) -> Settings:
        """A copy with the given fields replaced; ``None`` values keep the current setting.

        ``published`` is the deprecated name of ``snapshot``.
        """
        given = {k: v for k, v in overrides.items() if v is not None}
        if "published" in given:
            given.setdefault("snapshot", given.pop("published"))
        for key in ("landing", "warehouse", "reports", "snapshot", "publications", "reference", "expectations"):
            if key in given:
                given[key] = Path(given[key])  # type: ignore[arg-type]
        return replace(self, **given)  # type: ignore[arg-type]
