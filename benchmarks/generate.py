"""A large manufacturing group's deliveries, generated deterministically and fast.

``write_group(...)`` writes what ``plants`` invented plants would have delivered over ``years``
fiscal years (April to March, from ``first_fy``), contract-conformant, as UTF-8 CSV the way a
corporate system exports it. Per plant and month:

- energy: 8 rows, one per energy type (electricity, city_gas, heavy_oil_a, kerosene, diesel,
  gasoline, lpg, steam); types a plant does not use are delivered as 0. Units are those of
  ``data/reference/energy_factors.csv``: mostly kWh, m3, L, kg, GJ; some plants MWh, kL, t;
- production: 1 row, t (some plants kg);
- waste: 10 lines (waste type and treatment; Japanese plants write the Japanese waste names),
  t (some plants kg);
- chemicals: 15 (substance, medium) lines of PRTR substances, kg (some plants g or t);
- contract v2: water, 2 lines (municipal, groundwater), m3; sales and purchases, 2 lines each
  (one with the eco mark, one without), in JPY.

That is 40 rows per plant-month: 2,000 plants x 15 fiscal years = 14.4 million rows.
A few plants join the group later (``in_scope_from``) or leave it (``in_scope_to``) and
deliver only for their months in the boundary.

Layouts, both holding exactly the same rows (see ``--layout``)::

    files         <first month>-01_reference/plants.csv, targets.csv
                  YYYY-MM-10/<kind>_R<region>_<YYYY-MM>.csv   one file per kind, region of 50
                                                               plants and month: 2,000 plants
                                                               x 180 months = 28,800 files
    consolidated  <first month>-01_reference/plants.csv, targets.csv
                  <date>_export/<kind>_FY<year>.csv            one file per kind and fiscal year

Folder names are delivery dates (monthly files arrive on the 10th of the following month, as in
``demo.group``), so path order is delivery order, and every file's modification time is its
delivery date. ``--extra-month`` writes only the month after the last, in the ``files`` layout,
into its own folder: the nightly increment. A hidden ``.manifest.json`` (the pipeline skips
hidden files) records rows, files and bytes.

Every value depends only on the seed, the plant and the month: two runs write byte-identical
files, and the extra month is the same whichever layout the history was written in.

    python -m benchmarks.generate --plants 2000 --years 15 --out /tmp/envkpi-bench/landing
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

GENERATOR_VERSION = 2  # 2: with the contract v2 kinds
SEED = 20240601
REGION_SIZE = 50
FISCAL_YEAR_START_MONTH = 4  # the pipeline's default setting
V2_KINDS = ("water", "sales", "purchases")
MONTHLY_KINDS = ("energy", "production", "waste", "chemicals", *V2_KINDS)
HEADERS = {
    "water": "plant_id,period,source,quantity,unit",
    "sales": "plant_id,period,product_line,eco_product,quantity,unit",
    "purchases": "plant_id,period,category,eco_mark,quantity,unit",
    "energy": "plant_id,period,energy_type,quantity,unit",
    "production": "plant_id,period,quantity,unit",
    "waste": "plant_id,period,waste_type,treatment,quantity,unit",
    "chemicals": "plant_id,period,substance,cas_number,medium,quantity,unit",
}
RECYCLED_TREATMENTS = ("recycled", "valuable")

# energy type -> (probability that a plant uses it, [(unit, share of plants, GJ per unit)]).
# GJ per unit only shapes realistic quantities; the pipeline converts with the reference table.
ENERGY_TYPES: dict[str, tuple[float, list[tuple[str, float, float]]]] = {
    "electricity": (1.00, [("kWh", 0.90, 0.00976), ("MWh", 0.10, 9.76)]),
    "city_gas": (0.70, [("m3", 1.00, 0.045)]),
    "heavy_oil_a": (0.40, [("L", 0.85, 0.0391), ("kL", 0.15, 39.1)]),
    "kerosene": (0.25, [("L", 1.00, 0.0367)]),
    "diesel": (0.35, [("L", 1.00, 0.0377)]),
    "gasoline": (0.30, [("L", 1.00, 0.0346)]),
    "lpg": (0.40, [("kg", 0.80, 0.0508), ("t", 0.20, 50.8)]),
    "steam": (0.10, [("GJ", 1.00, 1.0)]),
}
# Decimals a plant's system delivers, by kind and unit (as demo.group).
DECIMALS = {
    "energy": {"kWh": 0, "MWh": 3, "m3": 0, "L": 0, "kL": 3, "kg": 0, "t": 3, "GJ": 1},
    "production": {"t": 3, "kg": 0},
    "waste": {"t": 3, "kg": 0},
    "chemicals": {"kg": 1, "g": 0, "t": 4},
}
TO_T = {"t": 1.0, "kg": 0.001}
TO_KG = {"kg": 1.0, "g": 0.001, "t": 1000.0}

# (japanese name, english name) x treatments: 20 lines, each plant reports 10 of them.
_WASTE_TYPES = (
    ("汚泥", "sludge", ("recycled", "landfilled")),
    ("廃油", "waste oil", ("recycled", "incinerated")),
    ("廃酸", "waste acid", ("recycled", "other")),
    ("廃アルカリ", "waste alkali", ("recycled", "other")),
    ("廃プラスチック類", "waste plastics", ("recycled", "incinerated")),
    ("金属くず", "metal scrap", ("valuable", "recycled")),
    ("紙くず", "paper waste", ("recycled", "incinerated")),
    ("ガラス・陶磁器くず", "ceramic scrap", ("recycled", "landfilled")),
    ("木くず", "wood pallets", ("recycled", "incinerated")),
    ("がれき類", "debris", ("recycled", "landfilled")),
)
WASTE_LINES = tuple((jp, en, treatment) for jp, en, treatments in _WASTE_TYPES for treatment in treatments)
WASTE_PER_PLANT = 10

# PRTR substances and the media they are released to: 30 lines, each plant reports 15.
_SUBSTANCES = (
    ("toluene", "108-88-3", ("air", "water")),
    ("xylene", "1330-20-7", ("air", "water")),
    ("ethylbenzene", "100-41-4", ("air", "water")),
    ("dichloromethane", "75-09-2", ("air", "water")),
    ("N,N-dimethylformamide", "68-12-2", ("air", "water")),
    ("hydrogen fluoride and its water-soluble salts", "7664-39-3", ("air", "water")),
    ("2-aminoethanol", "141-43-5", ("air", "water")),
    ("formaldehyde", "50-00-0", ("air", "water")),
    ("trichloroethylene", "79-01-6", ("air", "water")),
    ("1,2,4-trimethylbenzene", "95-63-6", ("air", "water")),
    ("boron compounds", "", ("water", "soil")),
    ("manganese and its compounds", "", ("water", "landfill")),
    ("nickel compounds", "", ("water", "air")),
    ("chromium and chromium(III) compounds", "", ("water", "landfill")),
    ("zinc compounds (water-soluble)", "", ("water", "soil")),
)
CHEMICAL_LINES = tuple((name, cas, medium) for name, cas, media in _SUBSTANCES for medium in media)
CHEMICALS_PER_PLANT = 15

BUSINESS_UNITS = (
    "Specialty Materials",
    "Functional Components",
    "Magnetic Products",
    "Electronic Materials",
    "Automotive Parts",
    "Industrial Systems",
    "Healthcare Materials",
    "Performance Chemicals",
)
COUNTRIES = (
    ("JP", 0.40),
    ("CN", 0.20),
    ("US", 0.10),
    ("TH", 0.08),
    ("DE", 0.08),
    ("MX", 0.05),
    ("IN", 0.05),
    ("VN", 0.04),
)
# KPI -> (base fiscal year, yearly step of the target) for the group targets file.
TARGETS = {
    "energy_intensity": (2005, 1.0),
    "waste_intensity": (2005, 0.8),
    "chemical_intensity": (2006, 1.5),
    "co2_intensity": (2005, 1.2),
    "recycling_rate": (None, 1.0),
}
# Seasonal shape of output by calendar month (as demo.group).
_SEASON = np.array([0, 0.91, 0.99, 1.07, 1.00, 0.95, 1.03, 1.03, 0.89, 1.02, 1.04, 1.04, 0.98])


# --------------------------------------------------------------------------------------------
# Calendar


def period_of(first_fy: int, month_index: int) -> str:
    """``YYYY-MM`` of the month ``month_index`` months after the first fiscal year's first month."""
    months = first_fy * 12 + (FISCAL_YEAR_START_MONTH - 1) + month_index
    return f"{months // 12:04d}-{months % 12 + 1:02d}"


def fiscal_year_of(first_fy: int, month_index: int) -> int:
    return first_fy + month_index // 12


def delivery_folder(period: str) -> str:
    """Monthly files arrive on the 10th of the following month (as ``demo.group``)."""
    year, month = int(period[:4]), int(period[5:7])
    return f"{year + month // 12:04d}-{month % 12 + 1:02d}-10"


def reference_folder(first_fy: int) -> str:
    return f"{period_of(first_fy, 0)}-01_reference"


def _timestamp(folder: str) -> float:
    day = dt.datetime.strptime(folder[:10], "%Y-%m-%d").replace(hour=9, tzinfo=dt.UTC)
    return day.timestamp()


def _csv_field(text: str) -> str:
    """One CSV field as csv.writer writes it (quoted when it holds a comma or a quote)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow([text])
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------
# The plants


@dataclass
class Group:
    """Every plant's fixed attributes, as arrays over plants (and over lines where per line)."""

    plants: int
    years: int
    first_fy: int
    plant_id: np.ndarray  # str objects
    business_unit: np.ndarray
    country: np.ndarray
    first_month: np.ndarray  # month index of the first delivered month (boundary start)
    last_month: np.ndarray  # month index of the last delivered month (boundary end); large = open
    acquired: np.ndarray  # bool: in_scope_from is set
    divested: np.ndarray  # bool: in_scope_to is set
    production_t: np.ndarray
    growth: np.ndarray
    production_unit: np.ndarray
    fixed_gj: np.ndarray
    gj_per_t: np.ndarray
    energy_saving: np.ndarray
    energy_share: np.ndarray  # plants x 8
    energy_mid: np.ndarray  # plants x 8: "energy_type," as written
    energy_unit: np.ndarray  # plants x 8
    energy_gj_per_unit: np.ndarray  # plants x 8
    waste_rate: np.ndarray
    waste_reduction: np.ndarray
    waste_share: np.ndarray  # plants x 10
    waste_recycled: np.ndarray  # plants x 10, bool
    waste_mid: np.ndarray  # plants x 10: "waste_type,treatment," as written
    waste_unit: np.ndarray
    chem_kg_per_t: np.ndarray
    chem_reduction: np.ndarray
    chem_share: np.ndarray  # plants x 15
    chem_mid: np.ndarray  # plants x 15: "substance,cas_number,medium," as written
    chem_unit: np.ndarray

    @property
    def months(self) -> int:
        return self.years * 12


def _choice(rng: np.random.Generator, options: list[tuple[str, float]], size: int) -> np.ndarray:
    names = np.array([o[0] for o in options], dtype=object)
    weights = np.array([o[1] for o in options])
    return names[rng.choice(len(options), size=size, p=weights / weights.sum())]


def _pick_lines(rng: np.random.Generator, plants: int, available: int, wanted: int) -> np.ndarray:
    """Per plant, ``wanted`` distinct line numbers out of ``available``, in catalogue order."""
    return np.sort(np.argsort(rng.random((plants, available)), axis=1)[:, :wanted], axis=1)


def build_group(plants: int, years: int, first_fy: int = 2005) -> Group:
    if plants < 1 or years < 1:
        raise ValueError("plants and years must be at least 1")
    rng = np.random.default_rng([SEED, 0])
    months = years * 12
    width = max(4, len(str(plants)))
    index = np.arange(plants)
    plant_id = np.array([f"P{i + 1:0{width}d}" for i in index], dtype=object)
    business_unit = np.array(BUSINESS_UNITS, dtype=object)[rng.integers(0, len(BUSINESS_UNITS), plants)]
    country = _choice(rng, list(COUNTRIES), plants)

    # A few plants join the group later or leave it; deterministic positions so that even a tiny
    # group has one of each.
    acquired = (index % 33 == 1) & (months > 2)
    divested = (index % 50 == 2) & (months > 2)
    first_month = np.where(acquired, rng.integers(1, max(2, months - 1), plants), 0)
    last_month = np.where(divested, rng.integers(1, max(2, months - 1), plants), 1 << 30)

    production_t = rng.lognormal(np.log(800.0), 0.9, plants)
    growth = rng.normal(0.01, 0.015, plants)
    production_unit = np.where(rng.random(plants) < 0.10, "kg", "t").astype(object)
    fixed_gj = production_t * rng.lognormal(np.log(8.0), 0.4, plants)
    gj_per_t = rng.lognormal(np.log(25.0), 0.3, plants)
    energy_saving = rng.uniform(0.002, 0.010, plants)

    types = list(ENERGY_TYPES)
    used = np.column_stack([rng.random(plants) < ENERGY_TYPES[t][0] for t in types])
    weight = rng.uniform(0.2, 1.0, (plants, len(types))) * used
    weight[:, 0] = 0.0
    others = weight.sum(axis=1)
    electricity = np.where(others > 0, rng.uniform(0.45, 0.80, plants), 1.0)
    energy_share = np.where(others[:, None] > 0, weight / np.where(others > 0, others, 1)[:, None], 0.0)
    energy_share *= (1 - electricity)[:, None]
    energy_share[:, 0] = electricity
    energy_unit = np.empty((plants, len(types)), dtype=object)
    energy_gj_per_unit = np.empty((plants, len(types)))
    for j, etype in enumerate(types):
        options = ENERGY_TYPES[etype][1]
        pick = rng.choice(len(options), size=plants, p=np.array([o[1] for o in options]))
        energy_unit[:, j] = np.array([o[0] for o in options], dtype=object)[pick]
        energy_gj_per_unit[:, j] = np.array([o[2] for o in options])[pick]
    energy_mid = np.tile(np.array([f"{t}," for t in types], dtype=object), (plants, 1))

    waste_rate = rng.lognormal(np.log(0.12), 0.35, plants)
    waste_reduction = rng.uniform(0.005, 0.015, plants)
    waste_pick = _pick_lines(rng, plants, len(WASTE_LINES), WASTE_PER_PLANT)
    waste_share = rng.dirichlet(np.ones(WASTE_PER_PLANT), plants)
    japanese = country == "JP"
    line_jp = np.array([f"{_csv_field(jp)},{t}," for jp, _, t in WASTE_LINES], dtype=object)
    line_en = np.array([f"{_csv_field(en)},{t}," for _, en, t in WASTE_LINES], dtype=object)
    waste_mid = np.where(japanese[:, None], line_jp[waste_pick], line_en[waste_pick])
    waste_recycled = np.array([t in RECYCLED_TREATMENTS for _, _, t in WASTE_LINES])[waste_pick]
    waste_unit = np.where(rng.random(plants) < 0.15, "kg", "t").astype(object)

    chem_kg_per_t = rng.lognormal(np.log(0.5), 0.6, plants)
    chem_reduction = rng.uniform(0.01, 0.03, plants)
    chem_pick = _pick_lines(rng, plants, len(CHEMICAL_LINES), CHEMICALS_PER_PLANT)
    chem_share = rng.dirichlet(np.full(CHEMICALS_PER_PLANT, 0.7), plants)
    chem_line = np.array([f"{_csv_field(s)},{c},{m}," for s, c, m in CHEMICAL_LINES], dtype=object)
    chem_mid = chem_line[chem_pick]
    chem_unit = _choice(rng, [("kg", 0.85), ("g", 0.10), ("t", 0.05)], plants)

    return Group(
        plants,
        years,
        first_fy,
        plant_id,
        business_unit,
        country,
        first_month,
        last_month,
        acquired,
        divested,
        production_t,
        growth,
        production_unit,
        fixed_gj,
        gj_per_t,
        energy_saving,
        energy_share,
        energy_mid,
        energy_unit,
        energy_gj_per_unit,
        waste_rate,
        waste_reduction,
        waste_share,
        waste_recycled,
        waste_mid,
        waste_unit,
        chem_kg_per_t,
        chem_reduction,
        chem_share,
        chem_mid,
        chem_unit,
    )


def plants_csv(group: Group) -> str:
    lines = ["plant_id,name,business_unit,country,in_scope_from,in_scope_to"]
    for i in range(group.plants):
        start = period_of(group.first_fy, int(group.first_month[i])) if group.acquired[i] else ""
        end = period_of(group.first_fy, int(group.last_month[i])) if group.divested[i] else ""
        lines.append(f"{group.plant_id[i]},Site {i + 1:04d},{group.business_unit[i]},{group.country[i]},{start},{end}")
    return "\n".join(lines) + "\n"


def targets_csv(group: Group) -> str:
    lines = ["kpi,fiscal_year,target_pct,scope_id"]
    for fy in range(group.first_fy, group.first_fy + group.years):
        for kpi, (base, step) in TARGETS.items():
            if base is None:
                pct = min(60.0 + step * (fy - group.first_fy), 90.0)
            elif fy > base:
                pct = step * (fy - base)
            else:
                continue
            lines.append(f"{kpi},{fy},{pct:g},")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# One month of rows


def _format_quantities(quantities: np.ndarray, decimals: np.ndarray) -> np.ndarray:
    out = np.empty(len(quantities), dtype=object)
    for d in np.unique(decimals):
        mask = decimals == d
        spec = f".{int(d)}f"
        out[mask] = [format(q, spec) for q in quantities[mask].tolist()]
    return out


def _lines(
    plant_id: np.ndarray, period: str, mid: np.ndarray, quantities: np.ndarray, decimals: np.ndarray, unit: np.ndarray
) -> list[str]:
    """CSV lines ``plant_id,period,<mid>quantity,unit`` of flattened (plant, line) arrays."""
    text = _format_quantities(quantities, decimals)
    prefix = f",{period},"
    return [
        f"{p}{prefix}{m}{q},{u}" for p, m, q, u in zip(plant_id.tolist(), mid.tolist(), text.tolist(), unit.tolist())
    ]


def month_rows(group: Group, month_index: int) -> tuple[np.ndarray, dict[str, list[str]]]:
    """The plants delivering in this month (indices) and each kind's CSV lines, plant by plant."""
    rng = np.random.default_rng([SEED, 1, month_index])
    period = period_of(group.first_fy, month_index)
    calendar_month = int(period[5:7])
    active = np.nonzero((group.first_month <= month_index) & (month_index <= group.last_month))[0]
    n = group.plants
    years = month_index / 12.0
    economy = 0.85 if "2008-10" <= period <= "2010-03" else 1.0
    # Draw for every plant (not only the active ones), so that a plant's values do not depend on
    # which other plants are in the boundary.
    production_t = (
        group.production_t
        * (1 + group.growth) ** years
        * _SEASON[calendar_month]
        * economy
        * rng.lognormal(0.0, 0.03, n)
    )
    energy_noise = rng.lognormal(0.0, 0.02, (n, 8))
    waste_noise = rng.lognormal(0.0, 0.08, (n, WASTE_PER_PLANT))
    waste_zero = rng.random((n, WASTE_PER_PLANT)) < 0.05
    chem_noise = rng.lognormal(0.0, 0.15, (n, CHEMICALS_PER_PLANT))
    chem_zero = rng.random((n, CHEMICALS_PER_PLANT)) < 0.10

    a = active
    pid = group.plant_id[a]
    out: dict[str, list[str]] = {}

    # production
    unit = group.production_unit[a]
    to_t = np.where(unit == "kg", 0.001, 1.0)
    decimals = np.array([DECIMALS["production"][u] for u in unit.tolist()], dtype=int)
    out["production"] = _lines(pid, period, np.full(len(a), "", dtype=object), production_t[a] / to_t, decimals, unit)

    # energy: a fixed load plus a part proportional to output that improves every year
    total_gj = (
        group.fixed_gj[a] * (1 + 0.004 * years)
        + group.gj_per_t[a] * production_t[a] * (1 - group.energy_saving[a]) ** years
    )
    trend = np.array([1.0, 1.02**years, 0.96**years, 1.0, 1.0, 0.99**years, 1.0, 1.0])
    gj = total_gj[:, None] * group.energy_share[a] * trend[None, :] * energy_noise[a]
    quantity = gj / group.energy_gj_per_unit[a]
    unit = group.energy_unit[a]
    decimals = np.array([DECIMALS["energy"][u] for u in unit.ravel().tolist()], dtype=int)
    out["energy"] = _lines(
        np.repeat(pid, 8), period, group.energy_mid[a].ravel(), quantity.ravel(), decimals, unit.ravel()
    )

    # waste: generation per t falls slowly; the recycled lines grow, the others shrink
    waste_t = group.waste_rate[a] * production_t[a] * (1 - group.waste_reduction[a]) ** years
    recycled = group.waste_recycled[a]
    drift = np.where(recycled, 1 + 0.03 * years, np.maximum(1 - 0.02 * years, 0.2))
    amount_t = waste_t[:, None] * group.waste_share[a] * drift * waste_noise[a] * ~waste_zero[a]
    unit = group.waste_unit[a]
    to_t = np.where(unit == "kg", 0.001, 1.0)
    decimals = np.where(unit == "kg", DECIMALS["waste"]["kg"], DECIMALS["waste"]["t"])
    out["waste"] = _lines(
        np.repeat(pid, WASTE_PER_PLANT),
        period,
        group.waste_mid[a].ravel(),
        (amount_t / to_t[:, None]).ravel(),
        np.repeat(decimals, WASTE_PER_PLANT),
        np.repeat(unit, WASTE_PER_PLANT),
    )

    # chemicals: VOC substitution makes the releases per t fall
    chem_kg = group.chem_kg_per_t[a] * production_t[a] * (1 - group.chem_reduction[a]) ** years
    amount_kg = chem_kg[:, None] * group.chem_share[a] * chem_noise[a] * ~chem_zero[a]
    unit = group.chem_unit[a]
    to_kg = np.array([TO_KG[u] for u in unit.tolist()])
    decimals = np.array([DECIMALS["chemicals"][u] for u in unit.tolist()], dtype=int)
    out["chemicals"] = _lines(
        np.repeat(pid, CHEMICALS_PER_PLANT),
        period,
        group.chem_mid[a].ravel(),
        (amount_kg / to_kg[:, None]).ravel(),
        np.repeat(decimals, CHEMICALS_PER_PLANT),
        np.repeat(unit, CHEMICALS_PER_PLANT),
    )
    # contract v2, from a stream of its own (the v1 kinds' values stay those of generator 1):
    # water withdrawn by source, and sales and purchases split by their mark
    rng2 = np.random.default_rng([SEED, 2, month_index])
    water_m3 = production_t * 6.0 * (1 - 0.012) ** years * rng2.lognormal(0.0, 0.03, n)
    revenue = production_t * 800_000 * rng2.lognormal(0.0, 0.02, n)
    spend = 1_000_000 + production_t * 80 * rng2.lognormal(0.0, 0.05, n)
    eco_share, green_share = min(0.12 + 0.006 * years, 0.5), min(0.70 + 0.01 * years, 0.95)
    two = np.repeat(pid, 2)
    for kind, total, shares, mids, kind_decimals, kind_unit in (
        ("water", water_m3, (0.4, 0.6), ("municipal,", "groundwater,"), 1, "m3"),
        ("sales", revenue, (eco_share, 1 - eco_share), ("main line,yes,", "main line,no,"), 0, "JPY"),
        ("purchases", spend, (green_share, 1 - green_share), ("office supplies,yes,", "office supplies,no,"), 0, "JPY"),
    ):
        quantity = (total[a][:, None] * np.array(shares)[None, :]).ravel()
        out[kind] = _lines(
            two,
            period,
            np.tile(np.array(mids, dtype=object), len(a)),
            quantity,
            np.full(len(quantity), kind_decimals),
            np.full(len(quantity), kind_unit, dtype=object),
        )
    return active, out


LINES_PER_PLANT = {
    "energy": 8,
    "production": 1,
    "waste": WASTE_PER_PLANT,
    "chemicals": CHEMICALS_PER_PLANT,
    "water": 2,
    "sales": 2,
    "purchases": 2,
}


# --------------------------------------------------------------------------------------------
# Writing


class _Counter:
    def __init__(self) -> None:
        self.rows = {kind: 0 for kind in MONTHLY_KINDS}
        self.files = 0
        self.bytes = 0

    def write(self, path: Path, text: str, folder: str) -> None:
        data = text.encode("utf-8")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        stamp = _timestamp(folder)
        os.utime(path, (stamp, stamp))
        self.files += 1
        self.bytes += len(data)

    def manifest(self, group: Group, layout: str, months: tuple[int, int], seconds: float) -> dict:
        return {
            "generator_version": GENERATOR_VERSION,
            "seed": SEED,
            "plants": group.plants,
            "years": group.years,
            "first_fy": group.first_fy,
            "layout": layout,
            "first_period": period_of(group.first_fy, months[0]),
            "last_period": period_of(group.first_fy, months[1]),
            "rows": dict(self.rows),
            "monthly_rows": sum(self.rows.values()),
            "files": self.files,
            "bytes": self.bytes,
            "seconds": round(seconds, 1),
        }


def _write_month_files(counter: _Counter, root: Path, group: Group, month_index: int) -> None:
    active, lines = month_rows(group, month_index)
    period = period_of(group.first_fy, month_index)
    folder = delivery_folder(period)
    regions = active // REGION_SIZE
    region_count = np.bincount(regions, minlength=(group.plants + REGION_SIZE - 1) // REGION_SIZE)
    width = max(3, len(str(len(region_count))))
    for kind in MONTHLY_KINDS:
        per_plant = LINES_PER_PLANT[kind]
        start = 0
        for region, count in enumerate(region_count.tolist()):
            if not count:
                continue
            end = start + count * per_plant
            text = HEADERS[kind] + "\n" + "\n".join(lines[kind][start:end]) + "\n"
            counter.write(root / folder / f"{kind}_R{region + 1:0{width}d}_{period}.csv", text, folder)
            counter.rows[kind] += end - start
            start = end


def _write_reference(counter: _Counter, root: Path, group: Group) -> None:
    folder = reference_folder(group.first_fy)
    counter.write(root / folder / "plants.csv", plants_csv(group), folder)
    counter.write(root / folder / "targets.csv", targets_csv(group), folder)


def _finish(root: Path, counter: _Counter, group: Group, layout: str, months: tuple[int, int], started: float) -> dict:
    manifest = counter.manifest(group, layout, months, time.perf_counter() - started)
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        stamp = _timestamp(folder.name)
        os.utime(folder, (stamp, stamp))
    (root / ".manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def write_group(
    plants: int, years: int, files_dir: Path | None = None, consolidated_dir: Path | None = None, first_fy: int = 2005
) -> dict[str, dict]:
    """Write the group's history in one pass into one or both layouts; return their manifests."""
    started = time.perf_counter()
    group = build_group(plants, years, first_fy)
    counters: dict[str, tuple[Path, _Counter]] = {}
    if files_dir is not None:
        counters["files"] = (Path(files_dir), _Counter())
    if consolidated_dir is not None:
        counters["consolidated"] = (Path(consolidated_dir), _Counter())
    for root, counter in counters.values():
        root.mkdir(parents=True, exist_ok=True)
        _write_reference(counter, root, group)
    export_folder = f"{delivery_folder(period_of(first_fy, group.months - 1))}_export"
    handles: dict[str, object] = {}
    for month_index in range(group.months):
        if "files" in counters:
            root, counter = counters["files"]
            _write_month_files(counter, root, group, month_index)
        if "consolidated" in counters:
            root, counter = counters["consolidated"]
            fiscal_year = fiscal_year_of(first_fy, month_index)
            _, lines = month_rows(group, month_index)
            for kind in MONTHLY_KINDS:
                path = root / export_folder / f"{kind}_FY{fiscal_year}.csv"
                if kind not in handles or handles[kind].name != str(path):  # type: ignore[attr-defined]
                    if kind in handles:
                        handles[kind].close()  # type: ignore[attr-defined]
                    path.parent.mkdir(parents=True, exist_ok=True)
                    handles[kind] = open(path, "w", encoding="utf-8", newline="")
                    handles[kind].write(HEADERS[kind] + "\n")  # type: ignore[attr-defined]
                if lines[kind]:
                    handles[kind].write("\n".join(lines[kind]) + "\n")  # type: ignore[attr-defined]
                counter.rows[kind] += len(lines[kind])
    for handle in handles.values():
        handle.close()  # type: ignore[attr-defined]
    if "consolidated" in counters:
        root, counter = counters["consolidated"]
        stamp = _timestamp(export_folder)
        for path in sorted((root / export_folder).iterdir()):
            os.utime(path, (stamp, stamp))
            counter.files += 1
            counter.bytes += path.stat().st_size
    return {
        layout: _finish(root, counter, group, layout, (0, group.months - 1), started)
        for layout, (root, counter) in counters.items()
    }


def write_extra_month(plants: int, years: int, out: Path, first_fy: int = 2005) -> dict:
    """The month after the last of the history, in the ``files`` layout, into ``out``."""
    started = time.perf_counter()
    group = build_group(plants, years, first_fy)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    counter = _Counter()
    _write_month_files(counter, out, group, group.months)
    return _finish(out, counter, group, "extra-month", (group.months, group.months), started)


def read_manifest(root: Path) -> dict | None:
    path = Path(root) / ".manifest.json"
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.generate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--plants", type=int, default=2000)
    parser.add_argument("--years", type=int, default=15, help="fiscal years of monthly history")
    parser.add_argument("--out", type=Path, required=True, help="the landing folder to write (created)")
    parser.add_argument("--layout", choices=("files", "consolidated"), default="files")
    parser.add_argument("--first-fy", type=int, default=2005)
    parser.add_argument(
        "--extra-month",
        action="store_true",
        help="write only the month after the last (files layout): the nightly increment",
    )
    args = parser.parse_args(argv)
    if args.extra_month:
        manifest = write_extra_month(args.plants, args.years, args.out, args.first_fy)
    else:
        target = {"files_dir" if args.layout == "files" else "consolidated_dir": args.out}
        manifest = write_group(args.plants, args.years, first_fy=args.first_fy, **target)[args.layout]
    print(
        f"wrote {manifest['files']:,} files, {manifest['monthly_rows']:,} monthly rows "
        f"({manifest['bytes'] / 1e6:,.1f} MB) to {args.out} in {manifest['seconds']} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
