"""The group's yearly filings from the same data as the KPIs (contract 9).

Every run states, for every fiscal year with data, in the reports folder (a file whose content
did not change is left as it was, so only the years a night changed are written again):

- ``regulatory/energy_conservation_FY<fy>.csv``: the periodic report under Japan's Energy
  Conservation Act (``sql/filings/energy_conservation_report.sql``);
- ``regulatory/prtr_FY<fy>.csv``: the PRTR releases and transfers (``sql/filings/prtr_report.sql``);
- ``disclosures/gri_FY<fy>.csv``: the GRI 302 / 303 / 305 / 306 items (``sql/filings/gri_disclosures.sql``).

Numbers are written unrounded, as in ``kpi_results.csv``. For the year of the annual report the
same rows are also written as tables a person pastes into the filing or the report
(``pack/filings_FY<fy>.md``, ``.html`` and ``.xlsx``), rounded for reading.
"""

from __future__ import annotations

import hashlib
import html
from pathlib import Path

import duckdb
import pandas as pd

from envkpi.reporting.export import (
    csv_bytes,
    digest_frame,
    files_made_from,
    markdown_cell,
    record_made_from,
    write_if_changed,
    write_xlsx,
)
from envkpi.runtime.faults import fault_point
from envkpi.warehouse.database import sql

# (report name, SQL file, folder in the reports folder, file stem, title for people)
FILINGS = (
    (
        "energy_conservation",
        "energy_conservation_report",
        "regulatory",
        "energy_conservation",
        "Energy Conservation Act periodic report (JP plants)",
    ),
    ("prtr", "prtr_report", "regulatory", "prtr", "PRTR releases and transfers (JP plants, kg)"),
    ("gri", "gri_disclosures", "disclosures", "gri", "GRI 302 / 303 / 305 / 306 (group)"),
)
# Decimals a person reads each column with in the human tables (the CSVs stay unrounded).
_DECIMALS = {
    "energy_gj": 0,
    "crude_oil_kl": 1,
    "production_t": 0,
    "intensity": 3,
    "intensity_vs_previous_pct": 1,
    "five_year_average_pct": 1,
    "value": 3,
}


def filing_tables(connection: duckdb.DuckDBPyConnection) -> dict[str, pd.DataFrame]:
    """Each filing's rows of every fiscal year (column ``fiscal_year`` says which)."""
    return {name: connection.execute(sql(query)).df() for name, query, *_ in FILINGS}


def write_filings(
    connection: duckdb.DuckDBPyConnection, reports: Path, human_year: int | None = None
) -> dict[str, Path]:
    """Write every filing of every fiscal year with data, and the human tables of ``human_year``;
    return the files by ``<name>_FY<fy>`` (``filings:md`` and so on for the human tables)."""
    written: dict[str, Path] = {}
    years = [
        int(y)
        for (y,) in connection.execute(
            "select distinct fiscal_year from normalised_plant_month order by fiscal_year"
        ).fetchall()
    ]
    tables = filing_tables(connection)
    if human_year is not None and human_year in years:
        written.update(write_human_tables(tables, reports / "pack", human_year))
    for (name, _, folder, stem, _), frame in zip(FILINGS, tables.values()):
        for year in years:
            rows = frame[frame.fiscal_year == year].drop(columns="fiscal_year")
            path = reports / folder / f"{stem}_FY{year}.csv"
            # Byte for byte what write_csv would write, compared with the file already there.
            write_if_changed(path, csv_bytes(rows.reset_index(drop=True)))
            written[f"{name}_FY{year}"] = path
        fault_point(f"reports:filing:{name}")
    return written


def _readable(frame: pd.DataFrame) -> pd.DataFrame:
    """Numbers rounded and with thousands separators, empty cells empty, as a person reads them."""
    shown = frame.copy()
    for column in shown.columns:
        if pd.api.types.is_numeric_dtype(shown[column]):
            decimals = _DECIMALS.get(column, 1)
            shown[column] = [f"{v:,.{decimals}f}" if pd.notna(v) else "" for v in shown[column]]
        else:
            shown[column] = shown[column].fillna("")
    return shown


def _digest(year: dict[str, pd.DataFrame]) -> str:
    """A digest of one year's filing rows and of the code that lays them out."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    for name, frame in year.items():
        digest.update(name.encode("utf-8"))
        digest_frame(digest, frame)
    return digest.hexdigest()


def write_human_tables(tables: dict[str, pd.DataFrame], folder: Path, fiscal_year: int) -> dict[str, Path]:
    """The three filings of one fiscal year as Markdown, HTML and XLSX (one sheet each).

    The XLSX holds the time it was saved, so its bytes always differ: the three files are made
    again only when the year's rows (or this code) changed, which a manifest beside them records.
    """
    year = {name: tables[name][tables[name].fiscal_year == fiscal_year].drop(columns="fiscal_year") for name in tables}
    paths = {
        "filings:md": folder / f"filings_FY{fiscal_year}.md",
        "filings:html": folder / f"filings_FY{fiscal_year}.html",
        "filings:xlsx": folder / f"filings_FY{fiscal_year}.xlsx",
    }
    inputs = _digest(year)
    manifest = folder / f".filings_FY{fiscal_year}.json"
    if files_made_from(manifest, inputs, folder) is not None:
        return paths
    markdown = [f"# Filings FY{fiscal_year}", ""]
    page = [f"<h1>Filings FY{fiscal_year}</h1>"]
    for name, *_, title in FILINGS:
        shown = _readable(year[name])
        markdown += [
            f"## {markdown_cell(title)}",
            "",
            "| " + " | ".join(markdown_cell(c) for c in shown.columns) + " |",
            "|" + "|".join("---" for _ in shown.columns) + "|",
        ]
        markdown += ["| " + " | ".join(markdown_cell(v) for v in row) + " |" for row in shown.itertuples(index=False)]
        markdown.append("")
        page += [f"<h2>{html.escape(title)}</h2>", shown.to_html(index=False, escape=True, border=0)]
    document = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<title>Filings FY{fiscal_year}</title>\n<style>body {{ font-family: "DejaVu Sans", Arial, '
        "sans-serif; margin: 2em; }} table { border-collapse: collapse; margin-bottom: 2em; } "
        "th, td { border: 1px solid #bbb; padding: 0.3em 0.6em; } th { background: #e8eef4; }</style>\n"
        "</head>\n<body>\n" + "\n".join(page) + "\n</body>\n</html>\n"
    )
    write_if_changed(paths["filings:md"], "\n".join(markdown).encode("utf-8"))
    write_if_changed(paths["filings:html"], document.encode("utf-8"))
    write_xlsx({name: year[name].reset_index(drop=True) for name in year}, paths["filings:xlsx"])
    record_made_from(manifest, inputs, paths, folder)
    return paths
