# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Plant drill-down
#
# **Question:** what did one plant deliver month by month in one fiscal year (energy,
# production, waste, chemicals), and how do its KPIs compare with its business unit and the group?
#
# **Parameters** (the next cell): `plant_id`, e.g. `"P01"` (the plants are listed below),
# and `fiscal_year`, e.g. `2017` (April to March).
#
# The figures are those of the last pipeline run, read from the warehouse snapshot
# (`Settings().snapshot`; set `ENVKPI_SNAPSHOT` to read another folder). A month the plant
# did not deliver is shown empty, never as zero: an absent month is missing data.

# %% tags=["parameters"]
plant_id = "P01"
fiscal_year = 2017

# %%
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import display

from envkpi.reporting import published
from envkpi.reporting.notebook_display import people_table

# %%
last_run = published.runs().iloc[-1]
print(f"Snapshot: {published.snapshot_path()}")
print(f"Last run: {last_run['run_id']}, finished {last_run['finished_at']:%Y-%m-%d %H:%M}")

plants = published.plants()
if plant_id not in set(plants["plant_id"]):
    raise ValueError(f"plant_id {plant_id!r} is not in the boundary; plants: {sorted(plants['plant_id'])}")
plant = plants.set_index("plant_id").loc[plant_id]
business_unit = plant["business_unit"]
print(f"{plant_id} {plant['name']} ({business_unit}, {plant['country']}), FY{fiscal_year}")
display(people_table(plants.rename(columns=lambda name: name.replace("_", " ").capitalize())))

# %% [markdown]
# ## Monthly measures
#
# Energy in GJ (converted with the heating value valid in the fiscal year), CO2 in t-CO2,
# production, waste and recycled (incl. valuables) in t, chemical emissions in kg.

# %%
monthly = published.plant_months(plant_id, fiscal_year)
MEASURES = {
    "period": "Month",
    "energy_gj": "Energy (GJ)",
    "co2_t": "CO2 (t-CO2)",
    "production_t": "Production (t)",
    "waste_t": "Waste (t)",
    "recycled_t": "Recycled (t)",
    "chemicals_kg": "Chemical emissions (kg)",
}
display(people_table(monthly, {c: MEASURES.get(c, c.replace("_", " ")) for c in monthly.columns}, default_decimals=3))
missing = monthly.set_index("period").isna()
if missing.any().any():
    print(
        "Months without data:",
        {column: list(missing.index[missing[column]]) for column in missing.columns if missing[column].any()},
    )

# %%
panels = [
    ("energy_gj", "Energy (GJ)"),
    ("production_t", "Production (t)"),
    ("waste_t", "Waste generated (t)"),
    ("chemicals_kg", "Chemical emissions (kg)"),
]
figure, axes = plt.subplots(2, 2, figsize=(11, 6), sharex=True, constrained_layout=True)
for axis, (column, title) in zip(axes.flat, panels):
    values = monthly[column]
    axis.bar(monthly["period"], values.fillna(0), color="#0072B2")
    if column == "waste_t":
        axis.bar(monthly["period"], monthly["recycled_t"].fillna(0), color="#009E73", label="of which recycled")
        axis.legend(fontsize=8, loc="lower right")
    for position, value in enumerate(values):
        if pd.isna(value):
            axis.annotate("missing", (position, 0), ha="center", va="bottom", rotation=90, fontsize=8, color="#D55E00")
    axis.set_title(title, fontsize=10)
    axis.set_ylabel(title.split("(")[-1].rstrip(")"))
    axis.tick_params(axis="x", labelrotation=90)
figure.suptitle(f"{plant_id} {plant['name']}, FY{fiscal_year}, by month", fontsize=11)
plt.show()

# %% [markdown]
# ## The plant's KPIs against its business unit and the group
#
# Each scope's figure sums numerators and denominators over its plants (never an average of
# plant ratios). Stars rate the scope's own target where one exists.

# %%
scopes = [plant_id, business_unit, "group"]
compared = published.kpi_results(fiscal_year=fiscal_year, scope_id=scopes)


def cell(row: pd.Series) -> str:
    """One KPI figure in a table cell: value to 3 significant digits, stars, incomplete flag."""
    number = row["value"]
    value = "no value" if pd.isna(number) else f"{number:,.1f}" if abs(number) >= 100 else f"{number:.3g}"
    rating = "" if pd.isna(row["rating_symbol"]) else row["rating_symbol"]
    return " ".join(part for part in (value, rating, "" if row["complete"] else "(incomplete)") if part)


compared["shown"] = compared.apply(cell, axis=1)
compared["KPI"] = compared["label"] + " (" + compared["value_unit"] + ")"
table = compared.pivot_table(index="KPI", columns="scope_id", values="shown", aggfunc="first")
table = table[[scope for scope in scopes if scope in table.columns]].reset_index()
table.columns.name = None
display(people_table(table))

# %%
kpis = list(dict.fromkeys(compared["kpi"]))
figure, axes = plt.subplots(1, len(kpis), figsize=(2.6 * len(kpis), 3.4), squeeze=False, constrained_layout=True)
colours = {plant_id: "#56B4E9", business_unit: "#009E73", "group": "#0072B2"}
for axis, kpi in zip(axes.flat, kpis):
    rows = compared[compared["kpi"] == kpi].set_index("scope_id").reindex(scopes)
    axis.bar(range(len(scopes)), rows["value"].fillna(0), color=[colours[scope] for scope in scopes])
    axis.set_xticks(range(len(scopes)), scopes, rotation=45, ha="right")
    axis.set_title(rows["label"].dropna().iloc[0], fontsize=9, wrap=True)
    axis.set_ylabel(rows["value_unit"].dropna().iloc[0])
figure.suptitle(f"FY{fiscal_year}: {plant_id} against {business_unit} and the group", fontsize=11)
plt.show()
