"""What a delivered file is checked against, as one fingerprint (contract 3, rejection per file).

A file's verdict follows from its bytes and from what they are checked against: the reference
data of that moment (the boundary's plants and business units, the conversion factors, the KPIs,
the plausible months), the suites in ``expectations/``, the contract and the readers' limits, the
settings that shape the list of problems, and the library and engines that apply them. While the
file and this fingerprint stay the same, checking it again gives the same problems, so a run
reuses the rejection stored in the warehouse instead of reading and validating the file again
(and, on a quiet night, instead of importing Great Expectations at all). Whatever changes one of
the parts changes the fingerprint, and the file is checked again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from functools import cache

import duckdb
import pyarrow as pa

from envkpi.contract import KINDS
from envkpi.runtime.fingerprint import distribution_version
from envkpi.settings import PACKAGE_DIR, Settings
from envkpi.validation.validator import ReferenceData


def check_basis(reference: ReferenceData, settings: Settings) -> str:
    """The fingerprint (sha256, hex) of everything a file's verdict depends on besides its bytes."""
    digest = hashlib.sha256()
    fields = {
        name: sorted(value) if isinstance(value, frozenset) else value
        for name, value in dataclasses.asdict(reference).items()
    }
    digest.update(
        json.dumps(
            {
                "reference": fields,
                "limits": dataclasses.asdict(settings.limits),
                "max_problems_per_file": settings.max_problems_per_file,
                "kinds": repr(sorted(KINDS.items())),
            },
            sort_keys=True,
            default=str,
        ).encode("utf-8")
    )
    for kind in sorted(KINDS):
        suite = settings.expectations / f"{kind}.json"
        digest.update(suite.read_bytes() if suite.exists() else b"(no suite)")
    digest.update(_library())
    return digest.hexdigest()


@cache
def _library() -> bytes:
    """The code that reads and checks files: this library's sources and the engines' versions.

    Read once per process: an upgrade of envkpi, Great Expectations, DuckDB or Arrow may judge a
    file differently, so its rejections are checked again after one.
    """
    digest = hashlib.sha256()
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        digest.update(path.relative_to(PACKAGE_DIR).as_posix().encode("utf-8"))
        digest.update(path.read_bytes())
    digest.update(
        f"duckdb {duckdb.__version__} pyarrow {pa.__version__} gx {distribution_version('great_expectations')}".encode()
    )
    return digest.digest()
