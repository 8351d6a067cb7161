"""The group's yearly filings from the same data as the KPIs (contract 9).

Every run states, for every fiscal year with data, in the reports folder:

- ``regulatory/energy_conservation_FY<fy>.csv``: the periodic report under Japan's Energy
  Conservation Act (``sql/filings/energy_conservation_report.sql``);
- ``regulatory/prtr_FY<fy>.csv``: the PRTR releases and transfers (``sql/filings/prtr_report.sql``);
- ``disclosures/gri_FY<fy>.csv``: the GRI 302 / 303 / 305 / 306 items (``sql/filings/gri_disclosures.sql``).

Numbers are written unrounded, as in ``kpi_results.csv``. For the year of the annual report the
same rows are also written as tables a person pastes into the filing or the report
(``pack/filings_FY<fy>.md``, ``.html`` and ``.xlsx``), rounded for reading.

A night computes and writes only the filings whose inputs it changed: a filing of a year reads
that year's normalised rows (and the energy conservation report the four years before it), so it
is stated again when the build of one of those years changed (``normalised_year``: the years a
run restated, every year when the layers were rebuilt whole), or when its code or the Act's
figures changed; a manifest in the reports folder (``.filings.json``) records what each file was
made from and its sha256. Every file then holds exactly what a run over every year would write.
"""

from __future__ import annotations

import hashlib
import html
import json
from collections.abc import Iterable, Mapping
from pathlib import Path

import duckdb
import pandas as pd

from envkpi.reporting import export
from envkpi.reporting.export import (
    csv_bytes,
    digest_frame,
    files_made_from,
    markdown_cell,
    record_made_from,
    replace_atomically,
    write_if_changed,
    write_xlsx,
)
from envkpi.runtime.faults import fault_point
from envkpi.warehouse.database import one_row, sql, year_builds

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


# The fiscal years before a stated year that a filing's rows read (the SQL's read_year): the
# energy conservation report's five-year average and previous-year intensity. The others read
# their year alone.
_YEARS_BEFORE = {"energy_conservation": 4}
MANIFEST_NAME = ".filings.json"


def filing_tables(
    connection: duckdb.DuckDBPyConnection, fiscal_years: Mapping[str, Iterable[int]] | None = None
) -> dict[str, pd.DataFrame]:
    """Each filing's rows (column ``fiscal_year`` says which year's) of the fiscal years given for
    it, or of every fiscal year with data (``fiscal_years`` None); a filing not given is left out."""
    if fiscal_years is None:
        every = sorted(year_builds(connection))
        fiscal_years = {name: every for name, *_ in FILINGS}
    return {
        name: connection.execute(sql(query), {"fiscal_years": sorted(fiscal_years[name])}).df()
        for name, query, *_ in FILINGS
        if name in fiscal_years
    }


def _inputs(connection: duckdb.DuckDBPyConnection, builds: dict[int, str]) -> dict[tuple[str, int], str]:
    """A digest of what each filing of each year is made from: the builds of the years it reads,
    the Act's figures, the SQL and the code that writes it (and the versions of the engines that
    turn numbers into text)."""
    (act,) = one_row(
        connection,
        "select coalesce(string_agg(concat_ws('|', name, value, unit, source), chr(10) order by name), '') "
        "from reference_energy_conservation",
    )
    code = hashlib.sha256(Path(__file__).read_bytes())
    code.update(Path(export.__file__).read_bytes())
    code.update(f"{pd.__version__}|{duckdb.__version__}|{act}".encode())
    inputs: dict[tuple[str, int], str] = {}
    for name, query, *_ in FILINGS:
        of_filing = code.copy()
        of_filing.update(sql(query).encode("utf-8"))
        for year in builds:
            digest = of_filing.copy()
            read = range(year - _YEARS_BEFORE.get(name, 0), year + 1)
            digest.update(f"{name}|{year}|".encode() + "|".join(f"{y}:{builds.get(y, '')}" for y in read).encode())
            inputs[name, year] = digest.hexdigest()
    return inputs


def _made(manifest: Path) -> dict[str, dict[str, str]]:
    try:
        files = json.loads(manifest.read_text(encoding="utf-8"))["files"]
        return files if isinstance(files, dict) else {}
    except (OSError, ValueError, KeyError, TypeError):
        return {}  # missing or unreadable: every filing is made again


def _current(path: Path, made: dict[str, str] | None, inputs: str) -> bool:
    """Whether ``path`` was made from ``inputs`` and is still there byte for byte as written."""
    if not isinstance(made, dict) or made.get("inputs") != inputs:
        return False
    try:
        return path.is_file() and not path.is_symlink() and _sha256(path.read_bytes()) == made.get("sha256")
    except OSError:
        return False


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_filings(
    connection: duckdb.DuckDBPyConnection, reports: Path, human_year: int | None = None
) -> dict[str, Path]:
    """State every filing of every fiscal year with data, and the human tables of ``human_year``;
    return the files by ``<name>_FY<fy>`` (``filings:md`` and so on for the human tables).

    Only the files whose inputs changed since they were written (or that are missing or were
    changed) are computed and written; a file whose bytes come out the same is left as it was.
    """
    builds = year_builds(connection)
    inputs = _inputs(connection, builds)
    manifest = reports / MANIFEST_NAME
    made = _made(manifest)
    files: dict[str, Path] = {}
    stale: dict[str, list[int]] = {name: [] for name, *_ in FILINGS}
    for name, _, folder, stem, _ in FILINGS:
        for year in sorted(builds):
            path = reports / folder / f"{stem}_FY{year}.csv"
            files[f"{name}_FY{year}"] = path
            if not _current(path, made.get(_relative(path, reports)), inputs[name, year]):
                stale[name].append(year)
    human = human_year if human_year in builds else None
    # The tables for people show the human year's rows of all three filings.
    wanted = {name: set(years) | ({human} if human is not None else set()) for name, years in stale.items()}
    tables = filing_tables(connection, {name: years for name, years in wanted.items() if years})
    written = write_human_tables(tables, reports / "pack", human) if human is not None else {}
    kept = {_relative(path, reports) for path in files.values()}
    record = {key: entry for key, entry in made.items() if key in kept}
    for name, _, folder, stem, _ in FILINGS:
        for year in stale[name]:
            rows = tables[name][tables[name].fiscal_year == year].drop(columns="fiscal_year")
            path = reports / folder / f"{stem}_FY{year}.csv"
            data = csv_bytes(rows.reset_index(drop=True))
            # Byte for byte what write_csv would write, compared with the file already there.
            write_if_changed(path, data)
            record[_relative(path, reports)] = {"inputs": inputs[name, year], "sha256": _sha256(data)}
        fault_point(f"reports:filing:{name}")
    written.update(files)
    if record != made:
        replace_atomically(
            manifest, lambda tmp: tmp.write_text(json.dumps({"files": record}, indent=1, sort_keys=True), "utf-8")
        )
    return written


def _relative(path: Path, reports: Path) -> str:
    return path.relative_to(reports).as_posix()


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
