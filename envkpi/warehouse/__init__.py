"""The DuckDB warehouse: its relations generated from the contract (``schema``), its layers built
from the SQL files in ``sql/<layer>/`` (``database``: raw, normalised, kpi, publication,
filings), publications of fiscal years (``publication``) and the auditor's trace (``tracing``,
whose rows ``sql/publication/trace_rows.sql`` builds beside the publications' tables)."""
