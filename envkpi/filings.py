"""The group's yearly filings from the same data as the KPIs (contract 9).

Every run writes, for every fiscal year with data, in the reports folder:

- ``regulatory/energy_conservation_FY<fy>.csv``: the periodic report under Japan's Energy
  Conservation Act (``sql/energy_conservation_report.sql``);
- ``regulatory/prtr_FY<fy>.csv``: the PRTR releases and transfers (``sql/prtr_report.sql``);
- ``disclosures/gri_FY<fy>.csv``: the GRI 302 / 303 / 305 / 306 items (``sql/gri_disclosures.sql``).

Numbers are written unrounded, as in ``kpi_results.csv``.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from envkpi.export import write_csv
from envkpi.faults import fault_point
from envkpi.warehouse import sql

# (report name, SQL file, folder in the reports folder, file stem)
FILINGS = (
    ("energy_conservation", "energy_conservation_report", "regulatory", "energy_conservation"),
    ("prtr", "prtr_report", "regulatory", "prtr"),
    ("gri", "gri_disclosures", "disclosures", "gri"),
)


def filing_tables(connection: duckdb.DuckDBPyConnection) -> dict[str, pd.DataFrame]:
    """Each filing's rows of every fiscal year (column ``fiscal_year`` says which)."""
    return {name: connection.execute(sql(query)).df() for name, query, _, _ in FILINGS}


def write_filings(connection: duckdb.DuckDBPyConnection, reports: Path) -> dict[str, Path]:
    """Write every filing of every fiscal year with data; return the files by ``<name>_FY<fy>``."""
    written: dict[str, Path] = {}
    years = [int(y) for (y,) in connection.execute(
        "select distinct fiscal_year from normalised_plant_month order by fiscal_year").fetchall()]
    for (name, _, folder, stem), frame in zip(FILINGS, filing_tables(connection).values()):
        for year in years:
            rows = frame[frame.fiscal_year == year].drop(columns="fiscal_year")
            path = reports / folder / f"{stem}_FY{year}.csv"
            written[f"{name}_FY{year}"] = write_csv(rows.reset_index(drop=True), path)
        fault_point(f"reports:filing:{name}")
    return written
