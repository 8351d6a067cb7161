"""What a team would write without envkpi: read every CSV with pandas, concatenate, group by.

The same group KPIs as the pipeline (unit conversions, factors valid per fiscal year, the
plants' boundary, the KPI registry of ``data/reference/kpis.csv``), kind by kind, with plain
``pd.read_csv`` per file and ``pd.concat``; no validation, no lineage, no re-delivery rules.

    python -m benchmarks.plain_pandas LANDING [--reference DIR] [--json OUT]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from benchmarks.method import time_and_report

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_REFERENCE = PROJECT_DIR / "data" / "reference"
FISCAL_YEAR_START_MONTH = 4
TO_T = {"t": 1.0, "kg": 0.001, "g": 0.000001}
TO_KG = {"t": 1000.0, "kg": 1.0, "g": 0.001}


def read_kind(landing: Path, kind: str) -> pd.DataFrame:
    paths = sorted(Path(landing).rglob(f"{kind}_*.csv"))
    return pd.concat([pd.read_csv(path) for path in paths], ignore_index=True)


def with_fiscal_year(frame: pd.DataFrame) -> pd.DataFrame:
    year = frame["period"].str[:4].astype(int)
    month = frame["period"].str[5:7].astype(int)
    frame["fiscal_year"] = year - (month < FISCAL_YEAR_START_MONTH).astype(int)
    return frame


def in_boundary(frame: pd.DataFrame, plants: pd.DataFrame) -> pd.DataFrame:
    """Rows for plant-months inside the plant's boundary (YYYY-MM compares as text)."""
    frame = frame.merge(plants[["plant_id", "in_scope_from", "in_scope_to"]], on="plant_id")
    keep = (frame["in_scope_from"].isna() | (frame["period"] >= frame["in_scope_from"])) & (
        frame["in_scope_to"].isna() | (frame["period"] <= frame["in_scope_to"])
    )
    return frame[keep]


def yearly_measures(landing: Path, reference: Path) -> pd.DataFrame:
    """Sum of each measure (GJ, t-CO2, t, kg) per fiscal year over the group."""
    plants = pd.concat([pd.read_csv(p, dtype=str) for p in sorted(Path(landing).rglob("plants*.csv"))])
    plants = plants.drop_duplicates("plant_id", keep="last")
    factors = pd.concat([pd.read_csv(p) for p in sorted(Path(reference).glob("*_factors.csv"))])
    factors["valid_from_fy"] = factors["valid_from_fy"].fillna(0)
    factors["valid_to_fy"] = factors["valid_to_fy"].fillna(9999)
    parts = []

    energy = in_boundary(with_fiscal_year(read_kind(landing, "energy")), plants)
    energy = energy.merge(
        factors[["energy_type", "unit", "measure", "per_unit", "valid_from_fy", "valid_to_fy"]],
        on=["energy_type", "unit"],
    )
    energy = energy[
        (energy["fiscal_year"] >= energy["valid_from_fy"]) & (energy["fiscal_year"] <= energy["valid_to_fy"])
    ]
    energy["amount"] = energy["quantity"] * energy["per_unit"]
    parts.append(energy.groupby(["fiscal_year", "measure"])["amount"].sum())
    del energy

    production = in_boundary(with_fiscal_year(read_kind(landing, "production")), plants)
    production["amount"] = production["quantity"] * production["unit"].map(TO_T)
    parts.append(
        production.groupby("fiscal_year")["amount"]
        .sum()
        .to_frame()
        .assign(measure="production")
        .set_index("measure", append=True)["amount"]
    )
    del production

    waste = in_boundary(with_fiscal_year(read_kind(landing, "waste")), plants)
    waste["amount"] = waste["quantity"] * waste["unit"].map(TO_T)
    parts.append(
        waste.groupby("fiscal_year")["amount"]
        .sum()
        .to_frame()
        .assign(measure="waste")
        .set_index("measure", append=True)["amount"]
    )
    recycled = waste[waste["treatment"].isin(["recycled", "valuable"])]
    parts.append(
        recycled.groupby("fiscal_year")["amount"]
        .sum()
        .to_frame()
        .assign(measure="recycled")
        .set_index("measure", append=True)["amount"]
    )
    del waste, recycled

    chemicals = in_boundary(with_fiscal_year(read_kind(landing, "chemicals")), plants)
    chemicals["amount"] = chemicals["quantity"] * chemicals["unit"].map(TO_KG)
    parts.append(
        chemicals.groupby("fiscal_year")["amount"]
        .sum()
        .to_frame()
        .assign(measure="chemicals")
        .set_index("measure", append=True)["amount"]
    )
    del chemicals

    return pd.concat(parts).rename("amount").reset_index()


def group_kpis(landing: Path, reference: Path = DEFAULT_REFERENCE) -> list[dict]:
    """The group KPI rows: kpi, fiscal_year, numerator, denominator, value, change_vs_base_pct."""
    measures = yearly_measures(landing, reference).pivot(index="fiscal_year", columns="measure", values="amount")
    kpis = pd.read_csv(Path(reference) / "kpis.csv")
    rows = []
    for kpi in kpis.itertuples():
        if kpi.numerator_measure not in measures or kpi.denominator_measure not in measures:
            continue  # a KPI of the contract v2 kinds, which this script does not read
        numerator = measures[kpi.numerator_measure]
        denominator = measures[kpi.denominator_measure]
        value = numerator / denominator * kpi.scale
        base = value.get(int(kpi.base_fiscal_year)) if pd.notna(kpi.base_fiscal_year) else None
        for fiscal_year in measures.index:
            change = None if base is None or pd.isna(base) else (1 - value[fiscal_year] / base) * 100
            rows.append(
                {
                    "kpi": kpi.kpi,
                    "fiscal_year": int(fiscal_year),
                    "numerator": float(numerator[fiscal_year]),
                    "denominator": float(denominator[fiscal_year]),
                    "value": float(value[fiscal_year]),
                    "change_vs_base_pct": change,
                }
            )
    return sorted(rows, key=lambda r: (r["kpi"], r["fiscal_year"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.plain_pandas", description=__doc__.split("\n\n")[0])
    parser.add_argument("landing", type=Path)
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE)
    parser.add_argument("--json", type=Path, help="write the result rows and the time here")
    args = parser.parse_args(argv)
    return time_and_report(lambda: group_kpis(args.landing, args.reference), args.json)


if __name__ == "__main__":
    raise SystemExit(main())
