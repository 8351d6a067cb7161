"""Flow tests run against one temporary Prefect server for the whole session, never a real one."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]

# Prefect reads its settings from the environment: keep its home (profiles, local results) out of
# ~/.prefect, and keep the temporary server from reporting usage over the network.
PREFECT_HOME = tempfile.mkdtemp(prefix="envkpi-prefect-home-")
# Removed when the interpreter ends: a pytest-xdist worker that runs no flow test imports this
# file too, and never starts the session fixture below.
atexit.register(shutil.rmtree, PREFECT_HOME, ignore_errors=True)
os.environ["PREFECT_HOME"] = PREFECT_HOME
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"

# `flows` is the project's folder of Prefect flows, importable from the project root.
if str(PROJECT_DIR) not in sys.path:
    sys.path.append(str(PROJECT_DIR))


@pytest.fixture(scope="session", autouse=True)
def prefect_test_server():
    """One temporary Prefect server (SQLite in a temporary folder) for every flow test."""
    from prefect.testing.utilities import prefect_test_harness

    # Two cores shared with the pipeline's own work: give the server time to come up.
    with prefect_test_harness(server_startup_timeout=90):
        yield
