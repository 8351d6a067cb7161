"""A fictional manufacturing group's deliveries, generated deterministically.

``write_demo_group(landing)`` writes what twelve invented plants in three business units would
have delivered for FY2004 to FY2019 into a landing folder, in the formats the data contract
allows (UTF-8 CSV, UTF-8 CSV with BOM, Shift_JIS/CP932 CSV, XLSX; header variations; an extra
column). The group's FY2017 figures reproduce an annual CSR results table:

=====================  ===========================  ==========
KPI                    FY2017 result                 base year
=====================  ===========================  ==========
energy_intensity       6.6 % below the base year    FY2005
waste_intensity        11 % below the base year     FY2005
recycling_rate         79 %                         --
chemical_intensity     19 % below the base year     FY2006
eco_product_sales_ratio  20.7 % (target 19 %)       --
=====================  ===========================  ==========

and the green purchasing rate is 86 % in FY2018. Contract v2 adds water, sales and purchases
(one file per plant for FY2004-FY2016, then one per plant and fiscal year), a head-office
``co2factors.csv`` with market-based factors, and Minamihara Plant's electricity on two meters
with their suppliers from FY2017 (the same kWh in total, so every v1 figure is unchanged).

Layout of the landing folder (folder names are delivery dates, so that path order is delivery
order; every file's modification time is set to its delivery date as well)::

    2017-04-01_reference/plants.csv, targets.csv, co2factors.csv
    2017-04-10_history/<kind>_<plant>_FY<first>-FY2016.<csv|xlsx>   migrated spreadsheets
    YYYY-MM-10/<kind>_<plant>_<YYYY-MM>.<csv|xlsx>                   monthly, from FY2017
    YYYY-04-10/<water|sales|purchases>_<plant>_FY<fy>.csv            yearly, from FY2017
    2018-05-15_restatement/energy_P03_2017-08.csv                    corrected re-delivery
    2019-10-10/minutes_2019-10-05.txt                                not a contract file

One FY2019 file is deliberately wrong (``2019-09-10/energy_P06_2019-08.csv`` has a negative
quantity) and is rejected whole by the pipeline. Two runs write byte-identical files.

Run ``python -m demo.group [LANDING]`` (default ``data/demo/landing``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import sys
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_LANDING = PROJECT_DIR / "data" / "demo" / "landing"

SEED = 20180629
FIRST_FY = 2004
LAST_FY = 2019
HISTORY_LAST_FY = 2016  # FY2004..FY2016 arrive as migrated spreadsheets; monthly files after that
CALIBRATION_FY = 2017

# What the FY2017 figures must round to (annual CSR results table), aimed at the middle of
# the rounding interval so that the pipeline's floating-point sums cannot flip them.
ENERGY_CHANGE_PCT = 6.60  # vs FY2005, shown with one decimal
WASTE_CHANGE_PCT = 11.0  # vs FY2005, shown without decimals
RECYCLING_RATE_PCT = 79.0
CHEMICAL_CHANGE_PCT = 19.0  # vs FY2006, shown without decimals
ENERGY_BASE_FY = 2005
WASTE_BASE_FY = 2005
CHEMICAL_BASE_FY = 2006

RESTATED = ("energy", "P03", "2017-08")  # first delivered wrong, corrected in a later folder
RESTATEMENT_FOLDER = "2018-05-15_restatement"
REJECTED = ("energy", "P06", "2019-08")  # delivered with a negative quantity: rejected whole
REJECTED_TYPE = "kerosene"
MINUTES = ("2019-10-10", "minutes_2019-10-05.txt")

# GJ per delivered unit by fiscal year: the entries of data/reference/energy_factors.csv that
# apply to FY2004..FY2019 (kept here so that the generator works wherever the landing is).
# (energy_type, unit) -> [(valid_from_fy, valid_to_fy, gj_per_unit)]
_GJ_FACTORS: dict[tuple[str, str], list[tuple[int, int, float]]] = {
    ("electricity", "kWh"): [(0, 2022, 0.00976)],
    ("electricity", "MWh"): [(0, 2022, 9.76)],
    ("city_gas", "m3"): [(0, 2012, 0.0448), (2013, 2022, 0.045)],
    ("heavy_oil_a", "L"): [(0, 2022, 0.0391)],
    ("heavy_oil_a", "kL"): [(0, 2022, 39.1)],
    ("kerosene", "L"): [(0, 2022, 0.0367)],
    ("diesel", "L"): [(0, 2022, 0.0377)],
    ("gasoline", "L"): [(0, 2022, 0.0346)],
    ("lpg", "kg"): [(0, 2022, 0.0508)],
    ("lpg", "t"): [(0, 2022, 50.8)],
    ("steam", "GJ"): [(0, 9999, 1.0)],
}
_MASS_TO_T = {"t": 1.0, "kg": 0.001}
_MASS_TO_KG = {"kg": 1.0, "g": 0.001, "t": 1000.0}
# Decimals a plant's system delivers, by kind and unit.
_DECIMALS = {
    "energy": {"kWh": 0, "MWh": 3, "m3": 0, "L": 0, "kL": 3, "kg": 0, "t": 3, "GJ": 1},
    "production": {"t": 3, "kg": 0},
    "waste": {"t": 3, "kg": 0},
    "chemicals": {"kg": 1, "g": 0, "t": 4},
}
MONTHLY_KINDS = ("energy", "production", "waste", "chemicals")
_KEY_COLUMNS = {
    "energy": ("energy_type",),
    "production": (),
    "waste": ("waste_type", "treatment"),
    "chemicals": ("substance", "cas_number", "medium"),
}
RECYCLED_TREATMENTS = ("recycled", "valuable")

# ---- Contract v2 (water, sales, purchases, meters, suppliers)
# What the group figures must round to: the seed's fifth Environment row (sales ratio of key
# environmentally conscious products 20.7 % in FY2017, target 19 %, FY2018 target 21 %) and the
# green purchasing rate of 86 % in FY2018 (the supply-chain seed). Other years follow a trend.
ECO_SALES_RATIO_PCT = {2017: 20.7, 2018: 21.4}
GREEN_PURCHASING_PCT = {2017: 84.0, 2018: 86.0}
METERED = ("P01",)  # electricity on two meters, each with its supplier, from FY2017
METER_SUPPLIERS = ("Chubu Electric Power", "Minamihara Solar PPA")
# (energy_type, unit, t_co2_per_unit, basis, supplier, country, source, valid_from_fy, valid_to_fy)
MARKET_FACTORS = (
    (
        "electricity",
        "kWh",
        "0.000472",
        "market",
        "Chubu Electric Power",
        "JP",
        "supplier's adjusted emission factor as published for the fiscal year (demo figure)",
        "2017",
        "",
    ),
    (
        "electricity",
        "kWh",
        "0",
        "market",
        "Minamihara Solar PPA",
        "JP",
        "on-site solar power purchase agreement: zero-emission (demo figure)",
        "2017",
        "",
    ),
)
_PRODUCT_LINES = ("specialty steel", "magnetic materials", "casting components")
_PURCHASE_CATEGORIES = ("office supplies", "facility supplies")


def gj_per_unit(energy_type: str, unit: str, fiscal_year: int) -> float:
    """The shipped heating value for a delivered (energy_type, unit) in a fiscal year."""
    for first, last, value in _GJ_FACTORS[(energy_type, unit)]:
        if first <= fiscal_year <= last:
            return value
    raise KeyError((energy_type, unit, fiscal_year))


# --------------------------------------------------------------------------------------------
# The plants

# Waste types: (japanese name, english name, share of the plant's waste, treatments).
# Two treatments mean "recycled" for a share that rises over the years, the second for the rest.
_SLUDGE = ("汚泥", "sludge")
_WASTE_OIL = ("廃油", "waste oil")
_WASTE_ACID = ("廃酸", "waste acid")
_WASTE_ALKALI = ("廃アルカリ", "waste alkali")
_PLASTICS = ("廃プラスチック類", "waste plastics")
_METAL = ("金属くず", "metal scrap")
_PAPER = ("紙くず", "paper waste")
_CERAMICS = ("ガラス・陶磁器くず", "ceramic scrap")
_WOOD = ("木くず", "wood pallets")

_SUBSTANCES = {
    "toluene": "108-88-3",
    "xylene": "1330-20-7",
    "dichloromethane": "75-09-2",
    "hydrogen fluoride and its water-soluble salts": "7664-39-3",
    "N,N-dimethylformamide": "68-12-2",
    "ethylbenzene": "100-41-4",
    "2-aminoethanol": "141-43-5",
    "boron compounds": "",
    "manganese and its compounds": "",
    "nickel compounds": "",
}


@dataclass(frozen=True)
class Plant:
    plant_id: str
    name: str
    business_unit: str
    country: str
    in_scope_from: str = ""  # YYYY-MM
    in_scope_to: str = ""
    data_from: str = "2004-04"  # first month delivered (may precede the boundary)
    data_to: str = "2020-03"
    production_t: float = 1000.0  # t per month in FY2004
    growth: float = 0.01  # per year
    production_unit: str = "t"
    fixed_gj: float = 10000.0  # GJ per month regardless of output
    gj_per_t: float = 25.0  # variable GJ per t in FY2004
    energy_saving: float = 0.005  # yearly improvement of the variable part
    # (energy_type, unit, share in FY2004, share in FY2019)
    energy_mix: tuple[tuple[str, str, float, float], ...] = ()
    waste_t_per_t: float = 0.12
    waste_reduction: float = 0.01
    waste_unit: str = "t"
    # (names, share, treatments); recycled share runs from recycling[0] to recycling[1]
    waste_types: tuple[tuple[tuple[str, str], float, tuple[str, ...]], ...] = ()
    recycling: tuple[float, float] = (0.5, 0.8)
    quarterly_waste_oil: bool = False  # collected every three months: zero rows in between
    chem_kg_per_t: float = 0.5
    chem_reduction: float = 0.02
    chem_unit: str = "kg"
    # (substance, medium, share)
    substances: tuple[tuple[str, str, float], ...] = ()
    # Formats
    encoding: str = "utf-8"  # of the CSV files other than Japanese waste
    header: str = "plain"  # plain | upper | spaced
    xlsx_monthly: bool = False
    xlsx_history: bool = False
    comment_column: bool = False  # energy files from FY2017 carry an extra `comment` column

    @property
    def japanese(self) -> bool:
        return self.country == "JP"


SM, FC, MP = "Specialty Materials", "Functional Components", "Magnetic Products"

PLANTS: tuple[Plant, ...] = (
    Plant(
        "P01",
        "Minamihara Plant",
        SM,
        "JP",
        production_t=2400,
        growth=0.012,
        fixed_gj=26000,
        gj_per_t=31.0,
        energy_saving=0.006,
        energy_mix=(
            ("electricity", "kWh", 0.52, 0.58),
            ("city_gas", "m3", 0.26, 0.36),
            ("heavy_oil_a", "L", 0.19, 0.03),
            ("lpg", "kg", 0.03, 0.03),
        ),
        waste_t_per_t=0.19,
        waste_reduction=0.010,
        waste_types=(
            (_SLUDGE, 0.34, ("recycled", "landfilled")),
            (_WASTE_ACID, 0.18, ("recycled", "other")),
            (_PLASTICS, 0.14, ("recycled", "incinerated")),
            (_METAL, 0.16, ("valuable",)),
            (_WASTE_OIL, 0.10, ("recycled", "incinerated")),
            (_PAPER, 0.08, ("recycled",)),
        ),
        recycling=(0.50, 0.78),
        chem_kg_per_t=0.95,
        chem_reduction=0.020,
        substances=(
            ("toluene", "air", 0.42),
            ("xylene", "air", 0.18),
            ("dichloromethane", "air", 0.22),
            ("hydrogen fluoride and its water-soluble salts", "air", 0.06),
            ("hydrogen fluoride and its water-soluble salts", "water", 0.12),
        ),
    ),
    Plant(
        "P02",
        "Kitakawa Plant",
        SM,
        "JP",
        production_t=1700,
        growth=0.006,
        fixed_gj=17000,
        gj_per_t=34.0,
        energy_saving=0.005,
        energy_mix=(
            ("electricity", "kWh", 0.58, 0.62),
            ("city_gas", "m3", 0.22, 0.32),
            ("heavy_oil_a", "kL", 0.20, 0.06),
        ),
        waste_t_per_t=0.21,
        waste_reduction=0.009,
        waste_types=(
            (_SLUDGE, 0.40, ("recycled", "landfilled")),
            (_WASTE_ALKALI, 0.15, ("recycled", "other")),
            (_PLASTICS, 0.12, ("recycled", "incinerated")),
            (_METAL, 0.20, ("valuable",)),
            (_WASTE_OIL, 0.07, ("recycled", "incinerated")),
            (_WOOD, 0.06, ("recycled",)),
        ),
        recycling=(0.48, 0.77),
        quarterly_waste_oil=True,
        chem_kg_per_t=1.10,
        chem_reduction=0.021,
        substances=(
            ("N,N-dimethylformamide", "air", 0.45),
            ("toluene", "air", 0.30),
            ("2-aminoethanol", "water", 0.10),
            ("boron compounds", "water", 0.15),
        ),
        comment_column=True,
    ),
    Plant(
        "P03",
        "Takasu Plant",
        SM,
        "JP",
        production_t=1150,
        growth=0.004,
        fixed_gj=13000,
        gj_per_t=29.0,
        energy_saving=0.006,
        energy_mix=(
            ("electricity", "kWh", 0.50, 0.60),
            ("heavy_oil_a", "L", 0.36, 0.22),
            ("kerosene", "L", 0.06, 0.04),
            ("lpg", "t", 0.08, 0.14),
        ),
        waste_t_per_t=0.17,
        waste_reduction=0.012,
        waste_types=(
            (_SLUDGE, 0.30, ("recycled", "landfilled")),
            (_WASTE_ACID, 0.25, ("recycled", "other")),
            (_PLASTICS, 0.13, ("recycled", "incinerated")),
            (_METAL, 0.20, ("valuable",)),
            (_PAPER, 0.12, ("recycled", "incinerated")),
        ),
        recycling=(0.52, 0.80),
        chem_kg_per_t=0.85,
        chem_reduction=0.019,
        substances=(
            ("dichloromethane", "air", 0.50),
            ("toluene", "air", 0.28),
            ("ethylbenzene", "air", 0.07),
            ("hydrogen fluoride and its water-soluble salts", "water", 0.15),
        ),
    ),
    Plant(
        "P04",
        "Suzhou Plant",
        SM,
        "CN",
        production_t=650,
        growth=0.065,
        fixed_gj=5200,
        gj_per_t=27.0,
        energy_saving=0.007,
        energy_mix=(("electricity", "MWh", 0.74, 0.72), ("city_gas", "m3", 0.20, 0.24), ("lpg", "t", 0.06, 0.04)),
        waste_t_per_t=0.16,
        waste_reduction=0.008,
        waste_unit="kg",
        waste_types=(
            (_SLUDGE, 0.38, ("recycled", "landfilled")),
            (_PLASTICS, 0.17, ("recycled", "incinerated")),
            (_METAL, 0.25, ("valuable",)),
            (_PAPER, 0.10, ("recycled",)),
            (_WASTE_OIL, 0.10, ("recycled", "incinerated")),
        ),
        recycling=(0.40, 0.74),
        chem_kg_per_t=0.70,
        chem_reduction=0.015,
        substances=(("toluene", "air", 0.55), ("xylene", "air", 0.30), ("ethylbenzene", "air", 0.15)),
        header="upper",
    ),
    Plant(
        "P05",
        "Higashiyama Plant",
        FC,
        "JP",
        production_t=1450,
        growth=0.010,
        fixed_gj=11000,
        gj_per_t=19.0,
        energy_saving=0.006,
        energy_mix=(("electricity", "kWh", 0.72, 0.76), ("city_gas", "m3", 0.23, 0.20), ("lpg", "kg", 0.05, 0.04)),
        waste_t_per_t=0.10,
        waste_reduction=0.011,
        waste_types=(
            (_PLASTICS, 0.30, ("recycled", "incinerated")),
            (_METAL, 0.35, ("valuable",)),
            (_SLUDGE, 0.15, ("recycled", "landfilled")),
            (_PAPER, 0.12, ("recycled",)),
            (_WOOD, 0.08, ("recycled", "incinerated")),
        ),
        recycling=(0.55, 0.82),
        chem_kg_per_t=0.40,
        chem_reduction=0.022,
        substances=(("toluene", "air", 0.60), ("xylene", "air", 0.25), ("nickel compounds", "water", 0.15)),
        xlsx_monthly=True,
    ),
    Plant(
        "P06",
        "Nishino Plant",
        FC,
        "JP",
        production_t=950,
        growth=0.008,
        fixed_gj=8200,
        gj_per_t=21.0,
        energy_saving=0.005,
        energy_mix=(
            ("electricity", "kWh", 0.66, 0.72),
            ("heavy_oil_a", "L", 0.20, 0.14),
            ("kerosene", "L", 0.10, 0.10),
            ("diesel", "L", 0.04, 0.04),
        ),
        waste_t_per_t=0.11,
        waste_reduction=0.010,
        waste_types=(
            (_PLASTICS, 0.28, ("recycled", "incinerated")),
            (_METAL, 0.30, ("valuable",)),
            (_WASTE_OIL, 0.12, ("recycled", "incinerated")),
            (_SLUDGE, 0.18, ("recycled", "landfilled")),
            (_PAPER, 0.12, ("recycled",)),
        ),
        recycling=(0.50, 0.80),
        quarterly_waste_oil=True,
        chem_kg_per_t=0.45,
        chem_reduction=0.020,
        substances=(("toluene", "air", 0.55), ("dichloromethane", "air", 0.35), ("nickel compounds", "water", 0.10)),
        xlsx_history=True,
    ),
    Plant(
        "P07",
        "Riverside Plant",
        FC,
        "US",
        in_scope_to="2015-09",
        data_to="2015-09",
        production_t=620,
        growth=-0.010,
        fixed_gj=6000,
        gj_per_t=23.0,
        energy_saving=0.003,
        energy_mix=(("electricity", "MWh", 0.68, 0.68), ("city_gas", "m3", 0.32, 0.32)),
        waste_t_per_t=0.13,
        waste_reduction=0.004,
        waste_types=(
            (_PLASTICS, 0.30, ("recycled", "landfilled")),
            (_METAL, 0.30, ("valuable",)),
            (_PAPER, 0.20, ("recycled", "landfilled")),
            (_WOOD, 0.20, ("recycled", "landfilled")),
        ),
        recycling=(0.45, 0.60),
        chem_kg_per_t=0.0,
        substances=(("xylene", "air", 1.0),),
    ),
    Plant(
        "P08",
        "Rayong Plant",
        FC,
        "TH",
        production_t=380,
        growth=0.055,
        production_unit="kg",
        fixed_gj=2600,
        gj_per_t=17.0,
        energy_saving=0.006,
        energy_mix=(("electricity", "MWh", 0.82, 0.84), ("lpg", "kg", 0.13, 0.12), ("diesel", "L", 0.05, 0.04)),
        waste_t_per_t=0.09,
        waste_reduction=0.008,
        waste_unit="kg",
        waste_types=(
            (_PLASTICS, 0.35, ("recycled", "incinerated")),
            (_METAL, 0.35, ("valuable",)),
            (_PAPER, 0.15, ("recycled",)),
            (_SLUDGE, 0.15, ("recycled", "landfilled")),
        ),
        recycling=(0.45, 0.78),
        chem_kg_per_t=0.25,
        chem_reduction=0.015,
        substances=(("toluene", "air", 0.70), ("xylene", "air", 0.30)),
        header="spaced",
    ),
    Plant(
        "P09",
        "Kamisato Plant",
        MP,
        "JP",
        production_t=1900,
        growth=0.009,
        fixed_gj=19000,
        gj_per_t=27.0,
        energy_saving=0.006,
        energy_mix=(("electricity", "kWh", 0.62, 0.66), ("city_gas", "m3", 0.28, 0.26), ("steam", "GJ", 0.10, 0.08)),
        waste_t_per_t=0.15,
        waste_reduction=0.011,
        waste_types=(
            (_CERAMICS, 0.38, ("recycled", "landfilled")),
            (_SLUDGE, 0.25, ("recycled", "landfilled")),
            (_METAL, 0.17, ("valuable",)),
            (_PLASTICS, 0.10, ("recycled", "incinerated")),
            (_PAPER, 0.10, ("recycled",)),
        ),
        recycling=(0.50, 0.80),
        chem_kg_per_t=0.55,
        chem_reduction=0.020,
        substances=(
            ("manganese and its compounds", "water", 0.35),
            ("manganese and its compounds", "landfill", 0.25),
            ("toluene", "air", 0.25),
            ("boron compounds", "water", 0.15),
        ),
    ),
    Plant(
        "P10",
        "Oyamada Plant",
        MP,
        "JP",
        production_t=1250,
        growth=0.006,
        fixed_gj=12500,
        gj_per_t=28.0,
        energy_saving=0.005,
        energy_mix=(("electricity", "kWh", 0.60, 0.68), ("heavy_oil_a", "kL", 0.28, 0.20), ("lpg", "t", 0.12, 0.12)),
        waste_t_per_t=0.14,
        waste_reduction=0.010,
        waste_types=(
            (_CERAMICS, 0.40, ("recycled", "landfilled")),
            (_SLUDGE, 0.22, ("recycled", "landfilled")),
            (_METAL, 0.18, ("valuable",)),
            (_WASTE_OIL, 0.08, ("recycled", "incinerated")),
            (_PAPER, 0.12, ("recycled",)),
        ),
        recycling=(0.48, 0.78),
        chem_kg_per_t=0.60,
        chem_reduction=0.019,
        substances=(
            ("manganese and its compounds", "water", 0.40),
            ("nickel compounds", "water", 0.20),
            ("toluene", "air", 0.30),
            ("boron compounds", "soil", 0.10),
        ),
    ),
    Plant(
        "P11",
        "Dongguan Plant",
        MP,
        "CN",
        production_t=560,
        growth=0.060,
        production_unit="kg",
        fixed_gj=4200,
        gj_per_t=24.0,
        energy_saving=0.007,
        energy_mix=(("electricity", "MWh", 0.86, 0.88), ("diesel", "L", 0.09, 0.07), ("lpg", "t", 0.05, 0.05)),
        waste_t_per_t=0.13,
        waste_reduction=0.008,
        waste_unit="kg",
        waste_types=(
            (_CERAMICS, 0.40, ("recycled", "landfilled")),
            (_METAL, 0.25, ("valuable",)),
            (_SLUDGE, 0.20, ("recycled", "landfilled")),
            (_PLASTICS, 0.15, ("recycled", "incinerated")),
        ),
        recycling=(0.42, 0.76),
        chem_kg_per_t=0.35,
        chem_reduction=0.014,
        chem_unit="g",
        substances=(("manganese and its compounds", "water", 0.50), ("toluene", "air", 0.50)),
        encoding="utf-8-sig",
    ),
    Plant(
        "P12",
        "Lindenau Plant",
        MP,
        "DE",
        in_scope_from="2012-10",
        data_from="2010-04",
        production_t=720,
        growth=0.015,
        fixed_gj=6400,
        gj_per_t=24.0,
        energy_saving=0.008,
        energy_mix=(("electricity", "MWh", 0.56, 0.58), ("city_gas", "m3", 0.44, 0.42)),
        waste_t_per_t=0.12,
        waste_reduction=0.010,
        waste_types=(
            (_CERAMICS, 0.35, ("recycled", "landfilled")),
            (_METAL, 0.30, ("valuable",)),
            (_PAPER, 0.15, ("recycled",)),
            (_PLASTICS, 0.20, ("recycled", "incinerated")),
        ),
        recycling=(0.62, 0.85),
        chem_kg_per_t=0.30,
        chem_reduction=0.015,
        chem_unit="t",
        substances=(("toluene", "air", 0.60), ("nickel compounds", "water", 0.40)),
        encoding="utf-8-sig",
    ),
)

TARGETS: tuple[tuple[str, int, float], ...] = (
    ("energy_intensity", 2014, 10.0),
    ("waste_intensity", 2014, 6.0),
    ("recycling_rate", 2014, 68.0),
    ("chemical_intensity", 2014, 28.0),
    ("energy_intensity", 2015, 10.5),
    ("waste_intensity", 2015, 6.5),
    ("recycling_rate", 2015, 70.0),
    ("chemical_intensity", 2015, 30.0),
    ("energy_intensity", 2016, 11.0),
    ("waste_intensity", 2016, 7.0),
    ("recycling_rate", 2016, 71.0),
    ("chemical_intensity", 2016, 31.0),
    ("energy_intensity", 2017, 11.5),
    ("waste_intensity", 2017, 7.5),
    ("recycling_rate", 2017, 72.0),
    ("chemical_intensity", 2017, 32.0),
    ("co2_intensity", 2017, 10.0),
    ("eco_product_sales_ratio", 2017, 19.0),
    ("eco_product_sales_ratio", 2018, 21.0),
    ("energy_intensity", 2018, 13.0),
    ("waste_intensity", 2018, 8.0),
    ("recycling_rate", 2018, 74.0),
    ("chemical_intensity", 2018, 34.0),
    ("co2_intensity", 2018, 12.0),
)


# --------------------------------------------------------------------------------------------
# Calendar


def _months() -> list[str]:
    return [
        f"{(fy if m >= 4 else fy + 1):04d}-{m:02d}"
        for fy in range(FIRST_FY, LAST_FY + 1)
        for m in (4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3)
    ]


def fiscal_year(period: str) -> int:
    year, month = int(period[:4]), int(period[5:7])
    return year if month >= 4 else year - 1


def in_boundary(plant: Plant, period: str) -> bool:
    return (not plant.in_scope_from or period >= plant.in_scope_from) and (
        not plant.in_scope_to or period <= plant.in_scope_to
    )


def _next_month(period: str) -> str:
    year, month = int(period[:4]), int(period[5:7])
    return f"{year + month // 12:04d}-{month % 12 + 1:02d}"


def delivery_folder(period: str) -> str:
    """Monthly files arrive on the 10th of the following month."""
    return f"{_next_month(period)}-10"


# Seasonal shape of output: Golden Week, Obon, year end and New Year are quieter.
_SEASON = {
    4: 1.00,
    5: 0.95,
    6: 1.03,
    7: 1.03,
    8: 0.89,
    9: 1.02,
    10: 1.04,
    11: 1.04,
    12: 0.98,
    1: 0.91,
    2: 0.99,
    3: 1.07,
}


def _economy(period: str) -> float:
    """Group-wide demand: the 2008 crisis, the slow recovery, the 2011 earthquake, FY2019 slowdown."""
    index = {
        "2008-10": 0.93,
        "2008-11": 0.86,
        "2008-12": 0.78,
        "2009-01": 0.70,
        "2009-02": 0.70,
        "2009-03": 0.72,
        "2009-04": 0.76,
        "2009-05": 0.79,
        "2009-06": 0.82,
        "2009-07": 0.85,
        "2009-08": 0.87,
        "2009-09": 0.89,
        "2009-10": 0.91,
        "2009-11": 0.93,
        "2009-12": 0.94,
        "2010-01": 0.95,
        "2010-02": 0.96,
        "2010-03": 0.97,
        "2011-03": 0.90,
        "2011-04": 0.86,
        "2011-05": 0.92,
    }
    if period in index:
        return index[period]
    if "2019-10" <= period <= "2020-03":
        return 0.96
    return 1.0


# --------------------------------------------------------------------------------------------
# Raw series (unrounded, in each plant's delivered units)


def _rng(plant_index: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([SEED, plant_index, stream])


def _raw_frames() -> dict[str, pd.DataFrame]:
    rows: dict[str, list[dict]] = {kind: [] for kind in MONTHLY_KINDS}
    months = _months()
    for index, plant in enumerate(PLANTS):
        periods = [p for p in months if plant.data_from <= p <= plant.data_to]
        n = len(periods)
        noise_p, noise_e, noise_w, noise_c = (
            _rng(index, s).lognormal(0.0, sigma, size=n) for s, sigma in ((1, 0.025), (2, 0.018), (3, 0.06), (4, 0.08))
        )
        share_noise = _rng(index, 5).normal(0.0, 0.03, size=(n, 16))
        oil_buffer = 0.0
        for i, period in enumerate(periods):
            fy = fiscal_year(period)
            month = int(period[5:7])
            years = (fy - FIRST_FY) + (month - 4) % 12 / 12.0
            progress = min(max(years / (LAST_FY - FIRST_FY + 1), 0.0), 1.0)
            production_t = (
                plant.production_t * (1 + plant.growth) ** years * _SEASON[month] * _economy(period) * noise_p[i]
            )
            if plant.japanese and period in ("2011-03", "2011-04"):
                production_t *= 0.9
            base = {"plant_id": plant.plant_id, "period": period, "fy": fy}
            rows["production"].append(
                base | {"unit": plant.production_unit, "q": production_t / _MASS_TO_T[plant.production_unit]}
            )

            # Energy: a fixed load plus a part proportional to output that improves every year.
            total_gj = (
                plant.fixed_gj * (1 + 0.004 * years)
                + plant.gj_per_t * production_t * (1 - plant.energy_saving) ** years
            ) * noise_e[i]
            for j, (etype, unit, s0, s1) in enumerate(plant.energy_mix):
                share = (s0 + (s1 - s0) * progress) * (1 + share_noise[i, j])
                if etype == "electricity" and month in (7, 8, 9):
                    share *= 1.05 if not (plant.japanese and period[:4] == "2011") else 0.93  # setsuden
                if etype in ("city_gas", "kerosene", "heavy_oil_a") and month in (12, 1, 2):
                    share *= 1.08
                physical = gj_per_unit(etype, unit, HISTORY_LAST_FY)  # the fuel does not change; the table does
                rows["energy"].append(base | {"energy_type": etype, "unit": unit, "q": total_gj * share / physical})

            # Waste: generation per t falls slowly; the recycled share rises.
            waste_t = plant.waste_t_per_t * production_t * (1 - plant.waste_reduction) ** years * noise_w[i]
            r0, r1 = plant.recycling
            recycled_share = r0 + (r1 - r0) * progress**0.8
            for j, (names, share, treatments) in enumerate(plant.waste_types):
                waste_type = names[0] if plant.japanese else names[1]
                amount = waste_t * share * (1 + share_noise[i, 8 + j])
                if plant.quarterly_waste_oil and names is _WASTE_OIL:
                    oil_buffer += amount
                    amount, oil_buffer = (oil_buffer, 0.0) if month in (6, 9, 12, 3) else (0.0, oil_buffer)
                split = [(treatments[0], amount)]
                if len(treatments) == 2:
                    r = min(recycled_share * (1.0 + 0.05 * ((j % 3) - 1)), 0.98)
                    split = [(treatments[0], amount * r), (treatments[1], amount * (1 - r))]
                for treatment, t in split:
                    rows["waste"].append(
                        base
                        | {
                            "waste_type": waste_type,
                            "treatment": treatment,
                            "unit": plant.waste_unit,
                            "q": t / _MASS_TO_T[plant.waste_unit],
                        }
                    )

            # Chemicals: VOC substitution makes the releases per t fall, with a step in FY2008.
            chem_kg = (
                plant.chem_kg_per_t
                * production_t
                * (1 - plant.chem_reduction) ** years
                * (0.95 if fy >= 2008 else 1.0)
                * noise_c[i]
            )
            for j, (substance, medium, share) in enumerate(plant.substances):
                kg = chem_kg * share * (1 + 2 * share_noise[i, 5 + j % 3])
                rows["chemicals"].append(
                    base
                    | {
                        "substance": substance,
                        "cas_number": _SUBSTANCES[substance],
                        "medium": medium,
                        "unit": plant.chem_unit,
                        "q": max(kg, 0.0) / _MASS_TO_KG[plant.chem_unit],
                    }
                )
    frames = {kind: pd.DataFrame(records) for kind, records in rows.items()}
    boundary = {p.plant_id: p for p in PLANTS}
    for frame in frames.values():
        frame["in_boundary"] = [in_boundary(boundary[pid], per) for pid, per in zip(frame["plant_id"], frame["period"])]
    frames["energy"]["to_canonical"] = [
        gj_per_unit(e, u, fy)
        for e, u, fy in zip(frames["energy"]["energy_type"], frames["energy"]["unit"], frames["energy"]["fy"])
    ]
    for kind in ("production", "waste"):
        frames[kind]["to_canonical"] = frames[kind]["unit"].map(_MASS_TO_T)
    frames["chemicals"]["to_canonical"] = frames["chemicals"]["unit"].map(_MASS_TO_KG)
    return frames


# --------------------------------------------------------------------------------------------
# Rounding and calibration


def _round(frame: pd.DataFrame, kind: str) -> None:
    """Round to what a plant delivers: ``text`` is written, ``value`` is what a reader parses."""
    texts = [f"{q:.{_DECIMALS[kind][u]}f}" for q, u in zip(frame["q"], frame["unit"])]
    frame["text"] = texts
    frame["value"] = [float(t) for t in texts]


def _yearly(frame: pd.DataFrame, mask: pd.Series | None = None) -> pd.Series:
    """Sum of canonical quantities (GJ, t or kg) per fiscal year over in-boundary rows."""
    keep = frame["in_boundary"] if mask is None else frame["in_boundary"] & mask
    part = frame[keep]
    return (part["value"] * part["to_canonical"]).groupby(part["fy"]).sum()


def _drift(frame: pd.DataFrame, base_fy: int, factor: float, mask: pd.Series | None = None) -> None:
    """Multiply quantities by factor ** t, t rising linearly from 0 in the base year to 1 in FY2017."""
    exponent = ((frame["fy"] - base_fy) / (CALIBRATION_FY - base_fy)).clip(lower=0.0)
    scale = factor**exponent
    if mask is not None:
        scale = scale.where(mask, 1.0)
    frame["q"] = frame["q"] * scale


def _calibrate(frames: dict[str, pd.DataFrame]) -> None:
    for kind in MONTHLY_KINDS:
        _round(frames[kind], kind)
    production = _yearly(frames["production"])
    energy, waste, chemicals = frames["energy"], frames["waste"], frames["chemicals"]
    recycled_rows = waste["treatment"].isin(RECYCLED_TREATMENTS)
    fy17 = CALIBRATION_FY

    def wanted_energy() -> float:
        base = _yearly(energy)[ENERGY_BASE_FY] / production[ENERGY_BASE_FY]
        return base * (1 - ENERGY_CHANGE_PCT / 100) * production[fy17]

    def wanted_waste() -> tuple[float, float]:
        base = _yearly(waste)[WASTE_BASE_FY] / production[WASTE_BASE_FY]
        total = base * (1 - WASTE_CHANGE_PCT / 100) * production[fy17]
        return total * RECYCLING_RATE_PCT / 100, total * (1 - RECYCLING_RATE_PCT / 100)

    def wanted_chemicals() -> float:
        base = _yearly(chemicals)[CHEMICAL_BASE_FY] / production[CHEMICAL_BASE_FY]
        return base * (1 - CHEMICAL_CHANGE_PCT / 100) * production[fy17]

    # A smooth correction of the whole trend from the base year on, so FY2016..FY2018 stay in line.
    _drift(energy, ENERGY_BASE_FY, wanted_energy() / _yearly(energy)[fy17])
    want_r, want_n = wanted_waste()
    _drift(waste, WASTE_BASE_FY, want_r / _yearly(waste, recycled_rows)[fy17], recycled_rows)
    _drift(waste, WASTE_BASE_FY, want_n / _yearly(waste, ~recycled_rows)[fy17], ~recycled_rows)
    _drift(chemicals, CHEMICAL_BASE_FY, wanted_chemicals() / _yearly(chemicals)[fy17])
    for kind in ("energy", "waste", "chemicals"):
        _round(frames[kind], kind)

    # Then a fine adjustment of FY2017 alone until the rounded deliveries hit the aim.
    for _ in range(20):
        in17 = energy["fy"] == fy17
        gaps = [
            (energy, in17, wanted_energy() / _yearly(energy)[fy17]),
            (waste, (waste["fy"] == fy17) & recycled_rows, wanted_waste()[0] / _yearly(waste, recycled_rows)[fy17]),
            (waste, (waste["fy"] == fy17) & ~recycled_rows, wanted_waste()[1] / _yearly(waste, ~recycled_rows)[fy17]),
            (chemicals, chemicals["fy"] == fy17, wanted_chemicals() / _yearly(chemicals)[fy17]),
        ]
        if all(abs(ratio - 1) < 2e-6 for _, _, ratio in gaps):
            break
        for frame, mask, ratio in gaps:
            frame.loc[mask, "q"] = frame.loc[mask, "q"] * ratio
        for kind in ("energy", "waste", "chemicals"):
            _round(frames[kind], kind)
    else:  # pragma: no cover - the rounding error is orders of magnitude below the tolerance
        raise RuntimeError("demo calibration did not converge")


def group_figures(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Yearly group numerators, denominators and KPI values of the generated deliveries."""
    table = pd.DataFrame(
        {
            "energy_gj": _yearly(frames["energy"]),
            "production_t": _yearly(frames["production"]),
            "waste_t": _yearly(frames["waste"]),
            "recycled_t": _yearly(frames["waste"], frames["waste"]["treatment"].isin(RECYCLED_TREATMENTS)),
            "chemicals_kg": _yearly(frames["chemicals"]),
        }
    )
    table["energy_intensity"] = table["energy_gj"] / table["production_t"]
    table["waste_intensity"] = table["waste_t"] / table["production_t"]
    table["recycling_rate"] = table["recycled_t"] / table["waste_t"] * 100
    table["chemical_intensity"] = table["chemicals_kg"] / table["production_t"]
    for kpi, base in (("energy", ENERGY_BASE_FY), ("waste", WASTE_BASE_FY), ("chemical", CHEMICAL_BASE_FY)):
        column = f"{kpi}_intensity"
        table[f"{kpi}_change_pct"] = (1 - table[column] / table.loc[base, column]) * 100
    return table


def build_frames() -> dict[str, pd.DataFrame]:
    """The calibrated monthly deliveries of the demo group, one frame per kind (corrected values)."""
    frames = _raw_frames()
    _calibrate(frames)
    return frames


# --------------------------------------------------------------------------------------------
# Writing files

_HEADERS = {
    "energy": ("plant_id", "period", "energy_type", "quantity", "unit"),
    "production": ("plant_id", "period", "quantity", "unit"),
    "waste": ("plant_id", "period", "waste_type", "treatment", "quantity", "unit"),
    "chemicals": ("plant_id", "period", "substance", "cas_number", "medium", "quantity", "unit"),
}


def _styled(header: tuple[str, ...], style: str) -> list[str]:
    if style == "upper":
        return [h.upper() for h in header]
    if style == "spaced":  # as typed by hand: capitals and stray spaces
        return [f" {'_'.join(w.capitalize() if w != 'id' else 'ID' for w in h.split('_'))} " for h in header]
    return list(header)


def _timestamp(folder: str) -> float:
    day = dt.datetime.strptime(folder[:10], "%Y-%m-%d").replace(hour=9, tzinfo=dt.UTC)
    return day.timestamp()


def _csv_bytes(header: list[str], records: list[list[str]], encoding: str) -> bytes:
    buffer = io.StringIO(newline="")
    # Excel (Shift_JIS and "CSV UTF-8" with BOM) writes CRLF; the plants' own systems write LF.
    newline = "\n" if encoding == "utf-8" else "\r\n"
    writer = csv.writer(buffer, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(records)
    return buffer.getvalue().encode(encoding)


_MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")


def _xlsx_bytes(header: list[str], records: Sequence[Sequence[object]], folder: str) -> bytes:
    """An XLSX workbook whose bytes depend only on its content and delivery date."""
    when = dt.datetime.strptime(folder[:10], "%Y-%m-%d").replace(hour=9)
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("data")
    sheet.append(header)
    for record in records:
        sheet.append(record)
    workbook.properties.creator = "envkpi demo"
    workbook.properties.created = when
    raw = io.BytesIO()
    workbook.save(raw)
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(raw.getvalue())) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = _MODIFIED.sub(rb"\g<1>" + stamp + rb"\g<2>", data)
            fixed = zipfile.ZipInfo(info.filename, date_time=when.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            target.writestr(fixed, data)
    return out.getvalue()


@dataclass
class _Writer:
    landing: Path
    written: list[Path] = field(default_factory=list)

    def write(self, folder: str, name: str, data: bytes) -> Path:
        path = self.landing / folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        stamp = _timestamp(folder)
        os.utime(path, (stamp, stamp))
        self.written.append(path)
        return path

    def table(
        self,
        folder: str,
        stem: str,
        plant: Plant | None,
        kind: str,
        header: list[str],
        records: list[list[str]],
        xlsx: bool = False,
    ) -> Path:
        if xlsx:
            numeric = header.index("quantity") if "quantity" in header else -1
            cells = [
                [(float(v) if "." in v else int(v)) if c == numeric else v for c, v in enumerate(r)] for r in records
            ]
            return self.write(folder, f"{stem}.xlsx", _xlsx_bytes(header, cells, folder))
        encoding = "utf-8" if plant is None else plant.encoding
        if plant is not None and kind == "waste" and plant.japanese:
            encoding = "cp932"  # Japanese Excel's "CSV (comma delimited)"
        return self.write(folder, f"{stem}.csv", _csv_bytes(header, records, encoding))


def _records(frame: pd.DataFrame, kind: str, text_column: str = "text") -> list[list[str]]:
    columns = ["plant_id", "period", *_KEY_COLUMNS[kind], text_column, "unit"]
    return frame[columns].astype(str).values.tolist()


def _reference_files(writer: _Writer) -> None:
    folder = "2017-04-01_reference"
    header = ["plant_id", "name", "business_unit", "country", "in_scope_from", "in_scope_to"]
    plants = [[p.plant_id, p.name, p.business_unit, p.country, p.in_scope_from, p.in_scope_to] for p in PLANTS]
    writer.table(folder, "plants", None, "plants", header, plants)
    targets = [[kpi, str(fy), f"{pct:g}", ""] for kpi, fy, pct in TARGETS]
    writer.table(folder, "targets", None, "targets", ["kpi", "fiscal_year", "target_pct", "scope_id"], targets)
    # Head office's market-based factors for the suppliers the plants name (contract 7).
    header = [
        "energy_type",
        "unit",
        "t_co2_per_unit",
        "basis",
        "supplier",
        "country",
        "source",
        "valid_from_fy",
        "valid_to_fy",
    ]
    writer.table(folder, "co2factors", None, "co2factors", header, [list(row) for row in MARKET_FACTORS])


def _monthly_files(writer: _Writer, frames: dict[str, pd.DataFrame]) -> None:
    plants = {p.plant_id: p for p in PLANTS}
    history_folder = f"{HISTORY_LAST_FY + 1:04d}-04-10_history"
    # folder, stem, plant, kind, rows of the frame (positions), records as written
    deliveries: list[tuple[str, str, Plant, str, np.ndarray, list[list[str]]]] = []
    for kind in MONTHLY_KINDS:
        frame = frames[kind]
        records = _records(frame, kind)
        monthly = frame["fy"] > HISTORY_LAST_FY
        slice_key = frame["period"].where(monthly, "history")
        for (plant_id, period), positions in frame.groupby(["plant_id", slice_key], sort=True).indices.items():
            part = [records[i] for i in positions]
            if period == "history":
                first, last = fiscal_year(part[0][1]), fiscal_year(part[-1][1])
                folder, stem = history_folder, f"{kind}_{plant_id}_FY{first}-FY{last}"
            else:
                folder, stem = delivery_folder(period), f"{kind}_{plant_id}_{period}"
            deliveries.append((folder, stem, plants[plant_id], kind, positions, part))
    for folder, stem, plant, kind, positions, records in sorted(deliveries, key=lambda d: (d[0], d[1])):
        header = _styled(_HEADERS[kind], plant.header)
        history = folder == history_folder
        xlsx = plant.xlsx_history if history else plant.xlsx_monthly
        key = (kind, plant.plant_id, records[0][1])
        if not history and key == RESTATED:
            # First delivery: the August electricity meter reading was keyed in 10 % too high.
            wrong = frames[kind].iloc[positions].copy()
            wrong["q"] = [q * 1.1 if e == "electricity" else q for q, e in zip(wrong["q"], wrong["energy_type"])]
            _round(wrong, kind)
            writer.table(folder, stem, plant, kind, header, _records(wrong, kind), xlsx)
            writer.table(RESTATEMENT_FOLDER, stem, plant, kind, header, records, xlsx)
            continue
        if not history and key == REJECTED:
            records = [r[:3] + [f"-{r[3]}"] + r[4:] if r[2] == REJECTED_TYPE else r for r in records]
        if not history and kind == "energy" and plant.comment_column:
            header = header + ["comment"]
            records = [r + [_energy_comment(r[1], r[2])] for r in records]
        if not history and kind == "energy" and plant.plant_id in METERED:
            header, records = _with_meters(header, records)
        writer.table(folder, stem, plant, kind, header, records, xlsx)
    _v2_files(writer, frames)


def _with_meters(header: list[str], records: list[list[str]]) -> tuple[list[str], list[list[str]]]:
    """Electricity on two meters with their suppliers (contract 6): the plant-month's kWh are the
    same, split 60/40 in whole kWh, so every v1 figure stays as it was."""
    split: list[list[str]] = []
    for record in records:
        plant_id, period, energy_type, text, unit = record[:5]
        if energy_type == "electricity":
            first = round(int(text) * 0.6)
            split.append([plant_id, period, energy_type, str(first), unit, "M1", METER_SUPPLIERS[0]])
            split.append([plant_id, period, energy_type, str(int(text) - first), unit, "M2", METER_SUPPLIERS[1]])
        else:
            split.append([plant_id, period, energy_type, text, unit, "", ""])
    return header + ["meter_id", "supplier"], split


def _energy_comment(period: str, energy_type: str) -> str:
    notes = {
        ("2017-08", "electricity"): "summer shutdown 8/11-8/16",
        ("2017-12", "city_gas"): "boiler No.2 overhaul, 12/4-12/8",
        ("2018-05", "heavy_oil_a"): "tank delivery moved to June",
        ("2019-01", "electricity"): "new meter installed on line 3",
    }
    return notes.get((period, energy_type), "")


def _trend(first: float, last: float, fy: int) -> float:
    """A straight line from FY2004 to FY2019."""
    return first + (last - first) * (fy - FIRST_FY) / (LAST_FY - FIRST_FY)


def _calibrated_split(amounts: dict[tuple, int], eco: set[tuple], share: float) -> None:
    """Scale the ``eco`` amounts (whole JPY) so that they are ``share`` of the total, exactly to the
    yen: the other rows stay, the eco total is the nearest whole amount, its rounding left on the
    largest eco row."""
    others = sum(v for k, v in amounts.items() if k not in eco)
    wanted = round(others * share / (1 - share))
    current = sum(amounts[k] for k in eco)
    for key in eco:
        amounts[key] = round(amounts[key] * wanted / current)
    largest = max(eco, key=lambda k: amounts[k])
    amounts[largest] += wanted - sum(amounts[k] for k in eco)


def v2_records(frames: dict[str, pd.DataFrame]) -> dict[str, list[list[str]]]:
    """The demo group's water, sales and purchases rows (in-boundary months only), calibrated."""
    production = frames["production"][frames["production"]["in_boundary"]]
    rng = np.random.default_rng([SEED, 99])
    water: list[list[str]] = []
    sales: dict[tuple, int] = {}
    purchases: dict[tuple, int] = {}
    plants = {p.plant_id: p for p in PLANTS}
    for plant_id, period, fy, tonnes in zip(
        production["plant_id"], production["period"], production["fy"], production["value"] * production["to_canonical"]
    ):
        plant = plants[plant_id]
        m3 = tonnes * 6.5 * (1 - 0.012) ** (fy - FIRST_FY) * rng.lognormal(0.0, 0.03)
        sources = (("municipal", 0.35), ("groundwater", 0.65)) if plant.japanese else (("municipal", 1.0),)
        for source, part in sources:
            unit = "kL" if plant.plant_id == "P04" else "m3"
            water.append([plant_id, period, source, f"{m3 * part:.1f}", unit])
        eco_share = _trend(0.10, 0.22, fy)
        revenue = tonnes * 820_000 * rng.lognormal(0.0, 0.02)
        for j, line in enumerate(_PRODUCT_LINES):
            part = revenue * (0.5, 0.3, 0.2)[j]
            sales[(plant_id, period, line, "yes")] = round(part * eco_share)
            sales[(plant_id, period, line, "no")] = round(part * (1 - eco_share))
        green = _trend(0.60, 0.90, fy)
        spend = 1_200_000 + tonnes * 90 * rng.lognormal(0.0, 0.05)
        for j, category in enumerate(_PURCHASE_CATEGORIES):
            part = spend * (0.7, 0.3)[j]
            purchases[(plant_id, period, category, "yes")] = round(part * green)
            purchases[(plant_id, period, category, "no")] = round(part * (1 - green))
    for amounts, aims in ((sales, ECO_SALES_RATIO_PCT), (purchases, GREEN_PURCHASING_PCT)):
        for fy, pct in aims.items():
            year = {k: v for k, v in amounts.items() if fiscal_year(k[1]) == fy}
            _calibrated_split(year, {k for k in year if k[3] == "yes"}, pct / 100)
            amounts.update(year)
    return {
        "water": water,
        "sales": [[*key, str(value), "JPY"] for key, value in sales.items()],
        "purchases": [[*key, str(value), "JPY"] for key, value in purchases.items()],
    }


_V2_HEADERS = {
    "water": ["plant_id", "period", "source", "quantity", "unit"],
    "sales": ["plant_id", "period", "product_line", "eco_product", "quantity", "unit"],
    "purchases": ["plant_id", "period", "category", "eco_mark", "quantity", "unit"],
}


def _v2_files(writer: _Writer, frames: dict[str, pd.DataFrame]) -> None:
    """Water, sales and purchases: the history in one file per plant and kind, then one file per
    plant, kind and fiscal year, delivered after the year's end."""
    history_folder = f"{HISTORY_LAST_FY + 1:04d}-04-10_history"
    for kind, records in v2_records(frames).items():
        by_file: dict[tuple[str, str], list[list[str]]] = {}
        for record in records:
            plant_id, fy = record[0], fiscal_year(record[1])
            folder = history_folder if fy <= HISTORY_LAST_FY else f"{fy + 1:04d}-04-10"
            by_file.setdefault((folder, plant_id), []).append(record)
        for (folder, plant_id), rows in sorted(by_file.items()):
            first, last = fiscal_year(rows[0][1]), fiscal_year(rows[-1][1])
            stem = (
                f"{kind}_{plant_id}_FY{first}-FY{last}" if folder == history_folder else f"{kind}_{plant_id}_FY{first}"
            )
            writer.table(folder, stem, None, kind, _V2_HEADERS[kind], rows)


_MINUTES_TEXT = """\
Environmental KPI working group - minutes of 2019-10-05

Present: plant environmental officers (P01-P12 except P07), head office CSR office.

1. FY2019 first-half deliveries: all plants delivered April to August. The August energy
   file of Nishino Plant (P06) was rejected (a negative kerosene quantity); P06 will check the
   figure and send it again.
2. The FY2018 CSR report figures were confirmed as published.
3. Next meeting: 2020-01-18.
"""


def write_demo_group(landing: Path) -> list[Path]:
    """Write the demo group's deliveries into ``landing``; return the paths in delivery order.

    Existing files with the same names are overwritten; nothing else in ``landing`` is touched.
    """
    landing = Path(landing)
    frames = build_frames()
    writer = _Writer(landing)
    _reference_files(writer)
    _monthly_files(writer, frames)
    writer.write(MINUTES[0], MINUTES[1], _MINUTES_TEXT.encode("utf-8"))
    for folder in sorted({p.parent for p in writer.written}):
        stamp = _timestamp(folder.name)
        os.utime(folder, (stamp, stamp))
    return sorted(writer.written, key=lambda p: p.relative_to(landing).as_posix())


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) > 1 or (args and args[0] in ("-h", "--help")):
        print("usage: python -m demo.group [LANDING]   (default: data/demo/landing)")
        return 0 if args and args[0] in ("-h", "--help") else 2
    landing = Path(args[0]) if args else DEFAULT_LANDING
    written = write_demo_group(landing)
    generated = set(written)
    stale = sorted(p for p in landing.rglob("*") if p.is_file() and p not in generated)
    size = sum(p.stat().st_size for p in written)
    print(f"wrote {len(written)} files ({size / 1e6:.1f} MB) to {landing}")
    if stale:
        print(f"note: {len(stale)} other files in {landing} were left alone, e.g. {stale[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
