"""Starting worker interpreters that run this very copy of envkpi, and ending them.

Workers are fresh interpreters (``python -m envkpi.<module>``), not forks: a run's process has
DuckDB's, Arrow's and Prefect's threads, and a child forked from a threaded process can crash
(one did, in matplotlib's garbage collection). Nor are they multiprocessing's spawned children,
which import the caller's main script again (a script that calls the pipeline without a
``__main__`` guard would run twice).
"""

from __future__ import annotations

import os
import sys
from typing import NoReturn

from envkpi.settings import PACKAGE_DIR

# The folder that holds the envkpi package this process imported, wherever that is.
_LIBRARY = str(PACKAGE_DIR.parent)


def library_command(module: str, *arguments: str) -> list[str]:
    """The command line that runs ``module``'s ``__main__`` block in a new interpreter."""
    return [sys.executable, "-m", module, *arguments]


def library_environment() -> dict[str, str]:
    """This process's environment, with the envkpi it imported first on the module path."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (_LIBRARY, os.environ.get("PYTHONPATH")) if p)}


def end_worker() -> NoReturn:
    """End a worker whose answers are written, without the interpreter's tear-down.

    Tearing down GX's or matplotlib's and pandas' objects one by one took up to a second of CPU,
    which the run waits for (it waits for each worker to exit).
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
