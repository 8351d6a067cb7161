"""envkpi: environmental KPIs of a manufacturing group, from plant deliveries to the CSR report.

The library holds all domain logic and imports neither Prefect nor Great Expectations at import
time; the flows in ``flows/`` compose it.
"""

import os

# A run allocates and frees memory a hundred megabytes at a time, batch after batch. By default
# NumPy and Arrow's allocator (mimalloc) ask Linux for transparent huge pages, and the kernel
# zeroes each new 2 MB page on first touch: measured on the benchmark's machine, the full run
# spent 10 s of system time with them and 7 s without, and finished 2 s sooner without. Both
# libraries read these settings once, when they load, so they are set here, before any module of
# this package imports them (worker processes inherit them). A value already set is kept.
os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
os.environ.setdefault("MIMALLOC_ALLOW_THP", "0")

__version__ = "0.1.0"
