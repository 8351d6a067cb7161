"""Shared test helpers: hand-made landing folders, one-call pipeline runs in a temporary place,
and kpi_results rows built by hand. Tests import them from here; conftest.py holds the fixtures."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pandas as pd

from envkpi.settings import Settings

PLANTS_HEADER = ["plant_id", "name", "business_unit", "country", "in_scope_from", "in_scope_to"]


def write_csv(
    path: Path, header: list[str], rows: list[list[object]], encoding: str = "utf-8", mtime: float | None = None
) -> Path:
    """Write a delivery as a plant would: a header row and data rows, in the given encoding."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue().encode(encoding))
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def write_xlsx(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path


class Landing:
    """A landing folder under a test's tmp_path, with a warehouse and reports beside it."""

    def __init__(self, root: Path):
        self.root = root
        self.path = root / "landing"
        self.path.mkdir(parents=True, exist_ok=True)
        self.settings = Settings().with_overrides(
            landing=self.path,
            warehouse=root / "warehouse.duckdb",
            reports=root / "reports",
            published=root / "published",
            # Rendering Data Docs costs a second or two a run and is tested on its own.
            data_docs=False,
        )
        self._clock = 1_500_000_000.0  # deliveries get increasing mtimes in the order written

    def _next_mtime(self) -> float:
        self._clock += 60
        return self._clock

    def plants(self, rows: list[list[object]], name: str = "plants.csv") -> Path:
        return write_csv(self.path / name, PLANTS_HEADER, rows, mtime=self._next_mtime())

    def csv(self, name: str, header: list[str], rows: list[list[object]], encoding: str = "utf-8") -> Path:
        return write_csv(self.path / name, header, rows, encoding=encoding, mtime=self._next_mtime())

    def energy(self, name: str, rows: list[list[object]]) -> Path:
        return self.csv(name, ["plant_id", "period", "energy_type", "quantity", "unit"], rows)

    def production(self, name: str, rows: list[list[object]]) -> Path:
        return self.csv(name, ["plant_id", "period", "quantity", "unit"], rows)

    def waste(self, name: str, rows: list[list[object]]) -> Path:
        return self.csv(name, ["plant_id", "period", "waste_type", "treatment", "quantity", "unit"], rows)

    def chemicals(self, name: str, rows: list[list[object]]) -> Path:
        return self.csv(name, ["plant_id", "period", "substance", "cas_number", "medium", "quantity", "unit"], rows)

    def targets(self, rows: list[list[object]], name: str = "targets.csv") -> Path:
        return self.csv(name, ["kpi", "fiscal_year", "target_pct", "scope_id"], rows)

    def run(self, **overrides):
        from envkpi.pipeline import run

        settings = self.settings.with_overrides(**overrides) if overrides else self.settings
        return run(settings, publish_snapshot=False, annual_report=False)

    def query(self, sql: str, parameters: list | None = None) -> pd.DataFrame:
        from envkpi.warehouse.database import connect

        connection = connect(self.settings.warehouse, read_only=True)
        try:
            return connection.execute(sql, parameters or []).df()
        finally:
            connection.close()

    def rejections(self) -> pd.DataFrame:
        return pd.read_csv(self.settings.reports / "rejections.csv", dtype=str, keep_default_na=False)

    def kpi(self, kpi: str, fiscal_year: int, scope_id: str = "group") -> pd.Series:
        frame = pd.read_csv(self.settings.reports / "kpi_results.csv", keep_default_na=True)
        match = frame[(frame.kpi == kpi) & (frame.fiscal_year == fiscal_year) & (frame.scope_id == scope_id)]
        assert len(match) == 1, f"expected one {kpi} FY{fiscal_year} {scope_id} row, got {len(match)}"
        return match.iloc[0]


def months(first: str, last: str) -> list[str]:
    """Every YYYY-MM from first to last, both included."""
    return [p.strftime("%Y-%m") for p in pd.period_range(first, last, freq="M")]


DEMO_LANDING = Path(__file__).resolve().parent.parent / "data" / "demo" / "landing"


# A KPI registry like data/reference/kpis.csv and the columns of kpi_results (contract 5), for
# the tests that build kpi_results by hand (charts, report pack).
REGISTRY = pd.DataFrame(
    [
        (
            "energy_intensity",
            "Energy per production unit",
            "energy",
            "GJ",
            "production",
            "t",
            1,
            2005,
            "reduction",
            "energy",
        ),
        (
            "waste_intensity",
            "Waste and valuables per production unit",
            "waste",
            "t",
            "production",
            "t",
            1,
            2005,
            "reduction",
            "waste",
        ),
        (
            "chemical_intensity",
            "Chemical emissions per production unit",
            "chemicals",
            "kg",
            "production",
            "t",
            1,
            2006,
            "reduction",
            "chemicals",
        ),
        ("recycling_rate", "Recycling rate", "recycled", "t", "waste", "t", 100, None, "rate", "waste"),
    ],
    columns=[
        "kpi",
        "label",
        "numerator_measure",
        "numerator_unit",
        "denominator_measure",
        "denominator_unit",
        "scale",
        "base_fiscal_year",
        "target_kind",
        "own_kind",
    ],
)

COLUMNS = [
    "scope_level",
    "scope_id",
    "kpi",
    "fiscal_year",
    "numerator",
    "numerator_unit",
    "denominator",
    "denominator_unit",
    "value",
    "base_year",
    "base_value",
    "change_vs_base_pct",
    "target_pct",
    "achievement_ratio",
    "rating",
    "completeness_pct",
]


def kpi_row(
    level, scope, kpi, fy, value, base_value=None, target=None, rating=None, completeness=100.0, denominator=1000.0
):
    """One kpi_results row as the pipeline writes it (change vs base and the ratio as in contract 4)."""
    info = REGISTRY.set_index("kpi").loc[kpi]
    base_year = None if pd.isna(info["base_fiscal_year"]) else int(info["base_fiscal_year"])
    change = None if base_value is None or value is None else (1 - value / base_value) * 100
    actual = change if base_year is not None else value
    return {
        "scope_level": level,
        "scope_id": scope,
        "kpi": kpi,
        "fiscal_year": fy,
        "numerator": None if value is None else value * denominator / info["scale"],
        "numerator_unit": info["numerator_unit"],
        "denominator": None if value is None else denominator,
        "denominator_unit": info["denominator_unit"],
        "value": value,
        "base_year": base_year,
        "base_value": base_value,
        "change_vs_base_pct": change,
        "target_pct": target,
        "achievement_ratio": None if target is None or actual is None else actual / target,
        "rating": rating,
        "completeness_pct": completeness,
    }
