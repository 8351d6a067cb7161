"""The shipped demo group reproduces the FY2017 CSR results table.

An independent reading of the files under ``data/demo/landing``: nothing from envkpi but the
generator itself is imported, so that this test checks the data, not the pipeline (the
pipeline's own golden test checks the same figures through ingestion and the warehouse).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from demo.group import write_demo_group

PROJECT = Path(__file__).resolve().parent.parent
LANDING = PROJECT / "data" / "demo" / "landing"
FACTORS = PROJECT / "data" / "reference" / "energy_factors.csv"

MONTHLY = ("energy", "production", "waste", "chemicals")
MONTHLY_V2 = ("water", "sales", "purchases")  # contract 7
KINDS = ("plants", "factors", "targets", "co2factors", *MONTHLY, *MONTHLY_V2)
REQUIRED = {
    "water": ("plant_id", "period", "source", "quantity", "unit"),
    "sales": ("plant_id", "period", "product_line", "eco_product", "quantity", "unit"),
    "purchases": ("plant_id", "period", "category", "eco_mark", "quantity", "unit"),
    "plants": ("plant_id", "name", "business_unit", "country"),
    "targets": ("kpi", "fiscal_year", "target_pct"),
    "energy": ("plant_id", "period", "energy_type", "quantity", "unit"),
    "production": ("plant_id", "period", "quantity", "unit"),
    "waste": ("plant_id", "period", "waste_type", "treatment", "quantity", "unit"),
    "chemicals": ("plant_id", "period", "substance", "medium", "quantity", "unit"),
}
TREATMENTS = {"recycled", "valuable", "incinerated", "landfilled", "other"}
MEDIA = {"air", "water", "soil", "landfill"}
TO_T = {"t": 1.0, "kg": 0.001}
TO_KG = {"kg": 1.0, "g": 0.001, "t": 1000.0}
PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")

REJECTED_FILE = "2019-09-10/energy_P06_2019-08.csv"
RESTATED_SLICE = ("energy", "P03", "2017-08")


# ---------------------------------------------------------------------------------------------
# Reading, as the contract describes it


def kind_of(name: str) -> str | None:
    word = re.match(r"^([^_.\-]*)", name).group(1).casefold()
    return word if word in KINDS else None


def read_table(path: Path) -> pd.DataFrame:
    """Every delivered value as trimmed text, headers trimmed and lower-cased."""
    if path.suffix.lower() == ".xlsx":
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
        rows = [list(r) for r in workbook.worksheets[0].iter_rows(values_only=True)]
        workbook.close()
        frame = pd.DataFrame(rows[1:], columns=rows[0])
        for column in frame.columns:
            frame[column] = [
                "" if v is None else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v))
                for v in frame[column]
            ]
    else:
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("cp932")
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    frame.columns = [str(c).strip().casefold() for c in frame.columns]
    return frame


def fiscal_year(period: pd.Series) -> pd.Series:
    year = period.str.slice(0, 4).astype(int)
    return year - (period.str.slice(5, 7).astype(int) < 4).astype(int)


def load_factors() -> pd.DataFrame:
    factors = pd.read_csv(FACTORS, dtype={"valid_from_fy": "Int64", "valid_to_fy": "Int64"})
    factors["valid_from_fy"] = factors["valid_from_fy"].fillna(0)
    factors["valid_to_fy"] = factors["valid_to_fy"].fillna(9999)
    return factors


def strip(frame: pd.DataFrame) -> pd.DataFrame:
    """Text values are trimmed (contract 1)."""
    return frame.apply(lambda column: column.str.strip() if column.dtype == object else column)


def problems_of(kind: str, frame: pd.DataFrame, plants: set[str], factors: pd.DataFrame) -> dict[int, list[tuple]]:
    """Per file: (spreadsheet row, column, value, reason) for every contract violation."""
    missing = [c for c in REQUIRED[kind] if c not in frame]
    assert not missing, (kind, missing)
    quantity = pd.to_numeric(frame["quantity"], errors="coerce")
    if kind == "energy":
        pairs = set(zip(factors["energy_type"], factors["unit"]))
        unit_ok = pd.Series([pair in pairs for pair in zip(frame["energy_type"], frame["unit"])], index=frame.index)
    elif kind in ("sales", "purchases"):
        unit_ok = frame["unit"] == "JPY"
    elif kind == "water":
        unit_ok = frame["unit"].isin(["m3", "kL", "t"])
    else:
        unit_ok = frame["unit"].isin(TO_KG if kind == "chemicals" else TO_T)
    checks = [
        ("plant_id", ~frame["plant_id"].isin(plants), "unknown plant"),
        ("period", ~frame["period"].str.match(PERIOD.pattern), "bad period"),
        ("quantity", quantity.isna(), "not a number"),
        ("quantity", quantity < 0, "negative quantity"),
        ("unit", ~unit_ok, "unknown unit or no factor"),
    ]
    if kind == "waste":
        checks.append(("treatment", ~frame["treatment"].isin(TREATMENTS), "unknown treatment"))
    if kind == "chemicals":
        checks.append(("medium", ~frame["medium"].isin(MEDIA), "unknown medium"))
    found: dict[int, list[tuple]] = {}
    for column, bad, reason in checks:
        for _, row in frame[bad.to_numpy()].iterrows():
            found.setdefault(int(row["file"]), []).append((int(row["row"]), column, row[column], reason))
    return {i: sorted(problems) for i, problems in sorted(found.items())}


class Landing:
    """What a pipeline would hold after ingesting the whole landing folder in path order."""

    def __init__(self, root: Path):
        self.root = root
        self.files = sorted((p for p in root.rglob("*") if p.is_file()), key=lambda p: p.relative_to(root).as_posix())
        self.factors = load_factors()
        self.non_contract = [p for p in self.files if kind_of(p.name) is None]
        by_kind: dict[str, list[Path]] = {}
        for path in self.files:  # in path order, which is delivery order
            if kind_of(path.name):
                by_kind.setdefault(kind_of(path.name), []).append(path)
        (plants_file,) = by_kind["plants"]
        (targets_file,) = by_kind["targets"]
        self.plants = strip(read_table(plants_file)).set_index("plant_id")
        self.targets = strip(read_table(targets_file))
        self.rejected: dict[str, list[tuple]] = {}
        self.replaced: list[tuple[str, str, str]] = []
        self.outside_boundary: dict[str, int] = {}
        self.tables: dict[str, pd.DataFrame] = {}
        known = set(self.plants.index)
        for kind in MONTHLY + MONTHLY_V2:
            paths = by_kind[kind]
            frame = strip(
                pd.concat([read_table(p).assign(file=i) for i, p in enumerate(paths)], ignore_index=True).fillna("")
            )
            # Row numbers as a spreadsheet shows them: the header is row 1.
            frame["row"] = frame.groupby("file").cumcount() + 2
            # Rejection is per file: one bad row keeps the whole file out.
            problems = problems_of(kind, frame, known, self.factors)
            for i, found in problems.items():
                self.rejected[paths[i].relative_to(root).as_posix()] = found
            frame = frame[~frame["file"].isin(list(problems))]
            # Re-delivery replaces: the last accepted file holding a (plant, month) wins.
            last = frame.groupby(["plant_id", "period"])["file"].transform("max")
            for (plant, period), files in frame.groupby(["plant_id", "period"])["file"]:
                if files.nunique() > 1:
                    self.replaced.append((kind, plant, period))
            frame = frame[frame["file"] == last].copy()
            frame["quantity"] = frame["quantity"].astype(float)
            frame["fy"] = fiscal_year(frame["period"])
            inside = self.in_boundary(frame)
            self.outside_boundary[kind] = int((~inside).sum())
            self.tables[kind] = frame[inside].copy()

    def in_boundary(self, frame: pd.DataFrame) -> pd.Series:
        start = frame["plant_id"].map(self.plants["in_scope_from"]).replace("", "0000-00")
        end = frame["plant_id"].map(self.plants["in_scope_to"]).replace("", "9999-99")
        return (frame["period"] >= start) & (frame["period"] <= end)

    def boundary_months(self) -> set[tuple[str, str]]:
        months = [
            f"{y:04d}-{m:02d}"
            for y in range(2004, 2021)
            for m in range(1, 13)
            if "2004-04" <= f"{y:04d}-{m:02d}" <= "2020-03"
        ]
        frame = pd.DataFrame([(p, m) for p in self.plants.index for m in months], columns=["plant_id", "period"])
        frame = frame[self.in_boundary(frame)]
        return set(zip(frame["plant_id"], frame["period"]))

    def yearly(self) -> pd.DataFrame:
        energy = self.tables["energy"].merge(self.factors, on=["energy_type", "unit"], how="left")
        energy = energy[(energy.valid_from_fy <= energy.fy) & (energy.fy <= energy.valid_to_fy)]
        assert len(energy) == len(self.tables["energy"]), "every energy row has exactly one factor"
        waste = self.tables["waste"]
        waste_t = waste["quantity"] * waste["unit"].map(TO_T)
        chemicals = self.tables["chemicals"]
        production = self.tables["production"]
        table = pd.DataFrame(
            {
                "energy_gj": (energy["quantity"] * energy["per_unit"]).groupby(energy["fy"]).sum(),
                "production_t": (production["quantity"] * production["unit"].map(TO_T)).groupby(production["fy"]).sum(),
                "waste_t": waste_t.groupby(waste["fy"]).sum(),
                "recycled_t": waste_t[waste["treatment"].isin(["recycled", "valuable"])].groupby(waste["fy"]).sum(),
                "chemicals_kg": (chemicals["quantity"] * chemicals["unit"].map(TO_KG)).groupby(chemicals["fy"]).sum(),
            }
        )
        table["energy_intensity"] = table.energy_gj / table.production_t
        table["waste_intensity"] = table.waste_t / table.production_t
        table["recycling_rate"] = table.recycled_t / table.waste_t * 100
        table["chemical_intensity"] = table.chemicals_kg / table.production_t
        return table


@pytest.fixture(scope="module")
def landing() -> Landing:
    assert LANDING.is_dir(), "run `python -m demo.group` to generate data/demo/landing"
    return Landing(LANDING)


# ---------------------------------------------------------------------------------------------
# The figures of the FY2017 CSR results table


def change(table: pd.DataFrame, kpi: str, base: int, year: int = 2017) -> float:
    return (1 - table.loc[year, kpi] / table.loc[base, kpi]) * 100


def test_fy2017_reproduces_the_csr_table(landing: Landing) -> None:
    table = landing.yearly()
    energy = change(table, "energy_intensity", 2005)
    waste = change(table, "waste_intensity", 2005)
    chemicals = change(table, "chemical_intensity", 2006)
    recycling = table.loc[2017, "recycling_rate"]
    assert round(energy, 1) == 6.6 and abs(energy - 6.60) < 0.02
    assert round(waste) == 11 and abs(waste - 11.0) < 0.2
    assert round(recycling) == 79 and abs(recycling - 79.0) < 0.2
    assert round(chemicals) == 19 and abs(chemicals - 19.0) < 0.2


def test_fy2017_reproduces_the_fifth_environment_row_and_fy2018_the_green_purchasing_rate(landing: Landing) -> None:
    """Seed 000: key environmentally conscious products 20.7 % of sales in FY2017; seed 002: green
    purchasing rate 86 % in FY2018. Read from the sales and purchases files alone."""
    sales, purchases = landing.tables["sales"], landing.tables["purchases"]
    eco = sales[sales.eco_product == "yes"].groupby("fy").quantity.sum() / sales.groupby("fy").quantity.sum() * 100
    green = (
        purchases[purchases.eco_mark == "yes"].groupby("fy").quantity.sum()
        / purchases.groupby("fy").quantity.sum()
        * 100
    )
    assert round(eco[2017], 1) == 20.7 and abs(eco[2017] - 20.7) < 0.01
    assert round(green[2018]) == 86 and abs(green[2018] - 86) < 0.01
    assert (sales.unit == "JPY").all() and (purchases.unit == "JPY").all()


def test_the_metered_plant_splits_electricity_and_names_its_suppliers(landing: Landing) -> None:
    energy = landing.tables["energy"]
    metered = energy[(energy.plant_id == "P01") & (energy.fy >= 2017) & (energy.energy_type == "electricity")]
    assert set(metered.meter_id) == {"M1", "M2"} and metered.supplier.str.len().gt(0).all()
    assert metered.groupby("period").size().eq(2).all()


def test_trends_are_plausible(landing: Landing) -> None:
    table = landing.yearly()
    assert list(table.index) == list(range(2004, 2020))
    # FY2018 roughly continues the FY2017 results; no year jumps wildly.
    assert 6.6 < change(table, "energy_intensity", 2005, 2018) < 10
    assert 9 < change(table, "waste_intensity", 2005, 2018) < 15
    assert 78 < table.loc[2018, "recycling_rate"] < 83
    assert 17 < change(table, "chemical_intensity", 2006, 2018) < 25
    for kpi in ("energy_intensity", "waste_intensity", "chemical_intensity"):
        assert (table[kpi].pct_change().dropna().abs() < 0.12).all(), kpi


def test_targets_of_the_csr_table(landing: Landing) -> None:
    targets = landing.targets.fillna("")
    assert set(targets["scope_id"]) == {""}
    got = {(r.kpi, int(r.fiscal_year)): float(r.target_pct) for r in targets.itertuples()}
    expected = {
        ("energy_intensity", 2017): 11.5,
        ("waste_intensity", 2017): 7.5,
        ("recycling_rate", 2017): 72,
        ("chemical_intensity", 2017): 32,
        ("energy_intensity", 2018): 13,
        ("waste_intensity", 2018): 8,
        ("recycling_rate", 2018): 74,
        ("chemical_intensity", 2018): 34,
    }
    assert {k: got.get(k) for k in expected} == expected
    assert ("co2_intensity", 2017) in got and ("co2_intensity", 2018) in got
    assert {fy for _, fy in got} >= {2014, 2015, 2016}


# ---------------------------------------------------------------------------------------------
# Boundary, completeness, restatement, rejection


def test_plants_and_boundary(landing: Landing) -> None:
    plants = landing.plants
    assert len(plants) == 12 and plants["business_unit"].nunique() == 3
    assert plants["country"].value_counts()["JP"] >= 6
    acquired = plants[plants["in_scope_from"] != ""]
    divested = plants[plants["in_scope_to"] != ""]
    assert len(acquired) == 1 and len(divested) == 1
    # The acquired plant's earlier history is delivered (and ignored); nothing after a divestment.
    assert all(landing.outside_boundary[kind] > 0 for kind in MONTHLY)
    assert all(landing.outside_boundary[kind] == 0 for kind in MONTHLY_V2)  # delivered in-boundary only
    (divested_id,) = divested.index
    for kind in MONTHLY:
        table = landing.tables[kind]
        assert table.loc[table.plant_id == divested_id, "period"].max() == divested.loc[divested_id, "in_scope_to"]


def test_every_in_boundary_plant_month_has_every_kind(landing: Landing) -> None:
    expected = landing.boundary_months()
    for kind in MONTHLY + MONTHLY_V2:
        present = set(zip(landing.tables[kind]["plant_id"], landing.tables[kind]["period"]))
        missing = expected - present
        if kind == "energy":
            assert missing == {("P06", "2019-08")}  # only the rejected file's plant-month
        else:
            assert not missing, (kind, sorted(missing)[:5])
        assert present <= expected


def test_restatement_and_rejection(landing: Landing) -> None:
    assert landing.replaced == [RESTATED_SLICE]
    assert list(landing.rejected) == [REJECTED_FILE]
    ((row, column, value, reason),) = landing.rejected[REJECTED_FILE]
    assert (row, column, reason) == (4, "quantity", "negative quantity") and value.startswith("-")
    assert [p.name for p in landing.non_contract] == ["minutes_2019-10-05.txt"]


def test_formats_are_varied(landing: Landing) -> None:
    files = [p for p in landing.files if kind_of(p.name)]
    raw = {p: p.read_bytes() for p in files if p.suffix == ".csv"}
    assert any(p.suffix == ".xlsx" for p in files)
    assert any(b.startswith(b"\xef\xbb\xbf") for b in raw.values())

    def is_cp932(data: bytes) -> bool:
        try:
            data.decode("utf-8")
            return False
        except UnicodeDecodeError:
            return "汚泥" in data.decode("cp932") or "廃" in data.decode("cp932")

    assert any(is_cp932(b) for b in raw.values())
    headers = {b.decode("utf-8-sig", errors="replace").splitlines()[0] for b in raw.values()}
    assert any(" Plant_ID " in h for h in headers) and any("comment" in h for h in headers)
    assert len(landing.files) <= 2100
    assert sum(p.stat().st_size for p in landing.files) < 10_000_000


# ---------------------------------------------------------------------------------------------
# The generator


def xlsx_values(path: Path) -> list[tuple]:
    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    values = [tuple(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]
    workbook.close()
    return values


def test_generator_is_deterministic_and_matches_the_shipped_files(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    written = write_demo_group(first)
    write_demo_group(second)
    relative = sorted(p.relative_to(first).as_posix() for p in written)
    on_disk = sorted(p.relative_to(first).as_posix() for p in first.rglob("*") if p.is_file())
    assert relative == on_disk
    assert sorted(p.relative_to(second).as_posix() for p in second.rglob("*") if p.is_file()) == relative
    shipped = sorted(p.relative_to(LANDING).as_posix() for p in LANDING.rglob("*") if p.is_file())
    assert shipped == relative, "data/demo/landing is out of date: run `python -m demo.group`"
    for name in relative:
        a, b, c = first / name, second / name, LANDING / name
        if name.endswith(".xlsx"):
            # Zip timestamps may legitimately differ; then the cell values must not.
            if not a.read_bytes() == b.read_bytes() == c.read_bytes():
                assert xlsx_values(a) == xlsx_values(b) == xlsx_values(c), name
        else:
            assert a.read_bytes() == b.read_bytes() == c.read_bytes(), name
    # Modification times say the delivery date, so (mtime, path) order is path order.
    by_time = sorted(relative, key=lambda n: ((first / n).stat().st_mtime, n))
    assert by_time == relative
