"""The suite's fixtures; the helpers they use are in tests/helpers.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Tests write their deliveries a moment before they run: no file is left for "the next night" for
# being recent, unless a test asks for it (test_real_world_files.py). Subprocess runs inherit it.
os.environ.setdefault("ENVKPI_SETTLE_SECONDS", "0")

from helpers import DEMO_LANDING, Landing  # noqa: E402

from envkpi.settings import Settings  # noqa: E402


@pytest.fixture
def landing(tmp_path: Path) -> Landing:
    return Landing(tmp_path)


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """The whole pipeline on the shipped demo group, once per test session (about 20 s)."""
    from envkpi.pipeline import run

    root = tmp_path_factory.mktemp("demo")
    settings = Settings().with_overrides(
        landing=DEMO_LANDING,
        warehouse=root / "warehouse.duckdb",
        reports=root / "reports",
        published=root / "published",
    )
    return run(settings), settings
