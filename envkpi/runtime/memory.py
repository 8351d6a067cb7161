"""How the run's process uses memory: allocator settings, objects kept out of collection, and
rows handed to DuckDB so that it does not keep them.

All are about cost, not results: nothing here changes a figure.
"""

from __future__ import annotations

import gc
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Arrow is imported where it is used: prefer_small_pages must run before it loads
    import pyarrow as pa


def prefer_small_pages() -> None:
    """Tell NumPy and Arrow's allocator (mimalloc) not to ask Linux for transparent huge pages.

    A run allocates and frees memory a hundred megabytes at a time, batch after batch, and the
    kernel zeroes each new 2 MB huge page on first touch: measured on the benchmark's machine,
    the full run spent 10 s of system time with them and 7 s without, and finished 2 s sooner
    without. Both libraries read these settings once, when they load, so this must run before
    either is imported (``envkpi/__init__.py`` calls it; worker processes inherit the
    environment). A value already set is kept.
    """
    os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
    os.environ.setdefault("MIMALLOC_ALLOW_THP", "0")


def warehouse_settings() -> dict[str, str | bool | int | float | list[str]]:
    """DuckDB's settings for a run's warehouse connection: a working set of 1 GB.

    DuckDB spills large joins and aggregations to disk beyond its memory limit, and keeps what
    it read cached up to it. The full rebuild of the derived layers at 2,000 plants x 15 FY rose
    the process by 1.1 GB under a limit of 2 GB; under 1 GB the same rebuild (on a copy of the
    benchmark's warehouse) peaked at 1,092 MB instead of 1,555 MB, at the same CPU (18.8 s
    against 18.9 s), and under 768 MB at 966 MB. 1 GB leaves the ingest's batches beside it room
    under 2 GB with margin for a larger history.
    """
    return {"memory_limit": "1GB"}


def keep_out_of_collection() -> None:
    """Move every object alive now out of the garbage collector's passes, for good.

    For a process whose imports (GX's, matplotlib's) are hundreds of thousands of objects that
    live as long as it does, and for a process about to end: without it the collector walks them
    all again, and the interpreter's last collection over GX's objects took 0.7 s.
    """
    gc.freeze()


def scanned_once(table: pa.Table, columns: list[str] | None = None) -> pa.RecordBatchReader:
    """The table's rows (or these columns of them) for DuckDB to scan once, without keeping them.

    DuckDB keeps every Python object that a statement of an open transaction scanned alive until
    the transaction ends, and a run's ingest is one transaction: each batch's Arrow table, once
    registered and inserted, stayed in memory to the commit. At 2,000 plants x 15 FY that was
    1.8 GB of Arrow memory held through the rest of the ingest and the KPI rebuild, and the run's
    peak. A reader over the table's record batches is what DuckDB keeps instead: it hands each
    batch over once and drops it, so the batch's memory goes when the caller lets go of the table.
    """
    import pyarrow as pa

    selected = table.select(columns) if columns is not None else table
    schema, batches = selected.schema, selected.to_batches()
    del selected  # the reader holds the batches, each until it is handed over

    def handed_over():
        while batches:
            yield batches.pop(0)

    return pa.RecordBatchReader.from_batches(schema, handed_over())
