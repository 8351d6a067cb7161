"""envkpi: environmental KPIs of a manufacturing group, from plant deliveries to the CSR report.

The library holds all domain logic and imports neither Prefect nor Great Expectations at import
time; the flows in ``flows/`` compose it.
"""

from envkpi.runtime.memory import prefer_small_pages

# Before any module of this package imports NumPy or Arrow (see the function).
prefer_small_pages()

__version__ = "0.1.0"
