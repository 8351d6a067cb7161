"""What the code fingerprints (a rejection's check basis, the outputs' record) read of the
installed engines: a distribution's version, without importing it (the quiet night must not
import Great Expectations to learn its version)."""

from __future__ import annotations

import importlib.metadata


def distribution_version(distribution: str) -> str:
    """The installed version of ``distribution``, or ``absent``."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "absent"
