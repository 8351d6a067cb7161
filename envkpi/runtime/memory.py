"""How the run's process uses memory: allocator settings, and objects kept out of collection.

Both are about cost, not results: nothing here changes a figure.
"""

from __future__ import annotations

import gc
import os


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


def keep_out_of_collection() -> None:
    """Move every object alive now out of the garbage collector's passes, for good.

    For a process whose imports (GX's, matplotlib's) are hundreds of thousands of objects that
    live as long as it does, and for a process about to end: without it the collector walks them
    all again, and the interpreter's last collection over GX's objects took 0.7 s.
    """
    gc.freeze()
