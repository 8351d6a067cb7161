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
# # KPI overview
#
# **Question:** how did the group, each business unit and each plant do on the environmental
# KPIs in one fiscal year, against the targets, and how has each KPI moved since its base year?
#
# **Parameters** (the next cell): `fiscal_year` is the year of the tables, e.g. `2017`;
# leave it `None` for the latest fiscal year in the data.
#
# The figures are those of the last pipeline run, read from the warehouse snapshot
# (`Settings().snapshot`; set `ENVKPI_SNAPSHOT` to read another folder). Ratings are the
# self-assessment scale of the CSR results table: `***` achieved, `**` 90 % achieved,
# `*` not achieved, empty where there is no target. A figure marked `incomplete` is computed
# from fewer than all in-boundary plant-months: see the `data_quality` notebook for which.

# %% tags=["parameters"]
fiscal_year = None  # e.g. 2017; None = the latest fiscal year in the snapshot

# %%
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import display

from envkpi import published

# %%
last_run = published.runs().iloc[-1]
print(f"Snapshot: {published.snapshot_path()}")
print(f"Last run: {last_run['run_id']}, finished {last_run['finished_at']:%Y-%m-%d %H:%M}")

results = published.kpi_results()
fiscal_years = sorted(int(year) for year in results["fiscal_year"].dropna().unique())
if fiscal_year is None:
    fiscal_year = fiscal_years[-1]
if fiscal_year not in fiscal_years:
    raise ValueError(f"FY{fiscal_year} is not in the snapshot; fiscal years with data: {fiscal_years}")
print(f"Fiscal year: FY{fiscal_year}")


# %%
def readable(frame: pd.DataFrame) -> pd.DataFrame:
    """The KPI rows as a person reads them: rounded, with unit, stars and the incomplete flag."""
    return pd.DataFrame({
        "scope": frame["scope_id"],
        "KPI": frame["label"],
        "value": frame["value"].round(3),
        "unit": frame["value_unit"],
        "base year": frame["base_year"],
        "base value": frame["base_value"].round(3),
        "change vs base (%)": frame["change_vs_base_pct"].round(1),
        "target (%)": frame["target_pct"],
        "achievement": frame["achievement_ratio"].round(2),
        "rating": frame["rating_symbol"].fillna(""),
        "completeness (%)": frame["completeness_pct"].round(1),
        "flag": frame["complete"].map({True: "", False: "incomplete"}),
    }).reset_index(drop=True)


# %% [markdown]
# ## The group
#
# For an intensity KPI, `change vs base` is the reduction versus the base year (positive is
# better) and the target is a reduction in %; for the recycling rate the target is the rate.

# %%
this_year = results[results["fiscal_year"] == fiscal_year]
display(readable(this_year[this_year["scope_level"] == "group"]))

# %% [markdown]
# ## Business units and plants
#
# Each cell: the value in the KPI's unit, its rating, and `(incomplete)` where data is missing.

# %%
def cell(row: pd.Series) -> str:
    """One KPI figure in a table cell: value to 3 significant digits, stars, incomplete flag."""
    value = "no value" if pd.isna(row["value"]) else f"{row['value']:.3g}"
    rating = "" if pd.isna(row["rating_symbol"]) else row["rating_symbol"]
    return " ".join(part for part in (value, rating, "" if row["complete"] else "(incomplete)") if part)


scopes = this_year[this_year["scope_level"] != "group"].copy()
scopes["cell"] = scopes.apply(cell, axis=1)
scopes["KPI"] = scopes["label"] + " (" + scopes["value_unit"] + ")"
display(scopes.pivot_table(index=["scope_level", "scope_id"], columns="KPI", values="cell", aggfunc="first",
                           sort=False).sort_index(level=0, ascending=True))

# %% [markdown]
# ## Trend per KPI, group
#
# The group's value each fiscal year. A hollow marker is an incomplete year; a cross is the
# year's target, as a value (for a reduction target: the base value reduced by the target).

# %%
group = results[results["scope_level"] == "group"].sort_values("fiscal_year")
kpis = list(dict.fromkeys(group["kpi"]))
columns = 2
rows = (len(kpis) + columns - 1) // columns
figure, axes = plt.subplots(rows, columns, figsize=(11, 3.2 * rows), squeeze=False, constrained_layout=True)
for axis, kpi in zip(axes.flat, kpis):
    trend = group[group["kpi"] == kpi]
    complete = trend[trend["complete"]]
    incomplete = trend[~trend["complete"]]
    axis.plot(trend["fiscal_year"], trend["value"], color="#0072B2", linewidth=1.5)
    axis.plot(complete["fiscal_year"], complete["value"], "o", color="#0072B2", label="actual")
    axis.plot(incomplete["fiscal_year"], incomplete["value"], "o", markerfacecolor="white",
              color="#0072B2", label="actual, incomplete")
    is_rate = trend["value_unit"].iloc[0] == "%"
    target_value = trend["target_pct"] if is_rate else trend["base_value"] * (1 - trend["target_pct"] / 100)
    axis.plot(trend["fiscal_year"], target_value, "x", color="#D55E00", markersize=8, label="target")
    axis.axvline(fiscal_year, color="#999999", linewidth=0.8, linestyle=":")
    axis.set_title(trend["label"].iloc[0], fontsize=10)
    axis.set_ylabel(trend["value_unit"].iloc[0])
    axis.set_xlabel("fiscal year")
    axis.xaxis.get_major_locator().set_params(integer=True)
for axis in axes.flat[len(kpis):]:
    axis.set_visible(False)
axes.flat[0].legend(fontsize=8)
figure.suptitle(f"Group KPIs by fiscal year (data as of run {last_run['run_id']})", fontsize=11)
plt.show()
