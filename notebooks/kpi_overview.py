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
# leave it `None` for the latest complete fiscal year (every group figure from all plant-months,
# the year the report is drawn for).
#
# The figures are those of the last pipeline run, read from the warehouse snapshot
# (`Settings().snapshot`; set `ENVKPI_SNAPSHOT` to read another folder). Ratings are the
# self-assessment scale of the CSR results table: `***` achieved, `**` 90 % achieved,
# `*` not achieved, empty where there is no target. A figure marked `incomplete` is computed
# from fewer than all in-boundary plant-months: see the `data_quality` notebook for which.

# %% tags=["parameters"]
fiscal_year = None  # e.g. 2017; None = the latest complete fiscal year in the snapshot

# %%
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import display

from envkpi.reporting import published
from envkpi.reporting.notebook_display import latest_complete_year, people_table

# %%
last_run = published.runs().iloc[-1]
print(f"Snapshot: {published.snapshot_path()}")
print(f"Last run: {last_run['run_id']}, finished {last_run['finished_at']:%Y-%m-%d %H:%M}")

results = published.kpi_results()
fiscal_years = sorted(int(year) for year in results["fiscal_year"].dropna().unique())
if fiscal_year is None:
    fiscal_year, complete = latest_complete_year(results)
    print(
        f"Fiscal year: FY{fiscal_year}"
        + (" (the latest complete year)" if complete else " (no year is complete yet: the latest, incomplete)")
    )
elif fiscal_year not in fiscal_years:
    raise ValueError(f"FY{fiscal_year} is not in the snapshot; fiscal years with data: {fiscal_years}")
else:
    print(f"Fiscal year: FY{fiscal_year}")


# %%
def readable(frame: pd.DataFrame):
    """The KPI rows as a person reads them: human column names, units, stars, the incomplete flag."""
    table = pd.DataFrame(
        {
            "Scope": frame["scope_id"],
            "KPI": frame["label"],
            "Value": frame["value"],
            "Unit": frame["value_unit"],
            "Base year": frame["base_year"].map(lambda year: "" if pd.isna(year) else f"FY{int(year)}"),
            "Base value": frame["base_value"],
            "Reduction vs base year (%)": frame["change_vs_base_pct"],
            "Target (%)": frame["target_pct"],
            "Rating": frame["rating_symbol"].fillna(""),
            "Completeness (%)": frame["completeness_pct"],
            "Note": frame["complete"].map({True: "", False: "incomplete"}),
        }
    )
    return people_table(table, decimals={"Value": 3, "Base value": 3, "Target (%)": 1})


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
    """One KPI figure in a table cell: 3 significant digits (1 decimal from 100), stars, incomplete flag."""
    number = row["value"]
    value = "no value" if pd.isna(number) else f"{number:,.1f}" if abs(number) >= 100 else f"{number:.3g}"
    rating = "" if pd.isna(row["rating_symbol"]) else row["rating_symbol"]
    return " ".join(part for part in (value, rating, "" if row["complete"] else "(incomplete)") if part)


scopes = this_year[this_year["scope_level"] != "group"].copy()
scopes["cell"] = scopes.apply(cell, axis=1)
scopes["KPI"] = scopes["label"] + " (" + scopes["value_unit"] + ")"
scopes["Level"] = (
    scopes["scope_level"].map({"business_unit": "business unit", "plant": "plant"}).fillna(scopes["scope_level"])
)
wide = scopes.pivot_table(index=["Level", "scope_id"], columns="KPI", values="cell", aggfunc="first", sort=False)
wide = wide.sort_index(level=0).reset_index().rename(columns={"scope_id": "Scope"})
wide.columns.name = None
display(people_table(wide))

# %% [markdown]
# ## Trend per KPI, group: the report's view beside the intensity
#
# Left, the report's own view: the reduction versus the base year in % (positive is better;
# for the recycling rate, the rate itself), with each year's target (a cross) and rating.
# Right, the raw value in the KPI's unit. A hollow marker is an incomplete year.

# %%
group = results[results["scope_level"] == "group"].sort_values("fiscal_year")
kpis = list(dict.fromkeys(group["kpi"]))
figure, axes = plt.subplots(len(kpis), 2, figsize=(11, 2.8 * len(kpis)), squeeze=False, constrained_layout=True)
for (report_axis, value_axis), kpi in zip(axes, kpis):
    trend = group[group["kpi"] == kpi]
    is_rate = trend["value_unit"].iloc[0] == "%"
    reported = trend["value"] if is_rate else trend["change_vs_base_pct"]
    complete = trend["complete"].astype(bool)
    for axis, values, label in (
        (report_axis, reported, "rate (%)" if is_rate else "reduction vs base year (%)"),
        (value_axis, trend["value"], trend["value_unit"].iloc[0]),
    ):
        axis.plot(trend["fiscal_year"], values, color="#0072B2", linewidth=1.5)
        axis.plot(trend["fiscal_year"][complete], values[complete], "o", color="#0072B2", label="actual")
        axis.plot(
            trend["fiscal_year"][~complete],
            values[~complete],
            "o",
            markerfacecolor="white",
            color="#0072B2",
            label="actual, incomplete",
        )
        axis.axvline(fiscal_year, color="#999999", linewidth=0.8, linestyle=":")
        axis.set_ylabel(label)
        axis.set_xlabel("fiscal year")
        axis.xaxis.get_major_locator().set_params(integer=True)
    report_axis.plot(trend["fiscal_year"], trend["target_pct"], "x", color="#D55E00", markersize=8, label="target")
    for year, value, stars in zip(trend["fiscal_year"], reported, trend["rating_symbol"]):
        if isinstance(stars, str) and stars and pd.notna(value):
            report_axis.annotate(
                stars,
                (year, value),
                textcoords="offset points",
                xytext=(0, 7),
                ha="center",
                fontsize=8,
                color="#333333",
            )
    if not is_rate:
        report_axis.axhline(0, color="#999999", linewidth=0.6)
    report_axis.set_title(f"{trend['label'].iloc[0]}: as the report shows it", fontsize=10)
    value_axis.set_title(f"{trend['label'].iloc[0]}: value", fontsize=10)
axes[0][0].legend(fontsize=8)
figure.suptitle(f"Group KPIs by fiscal year (data as of run {last_run['run_id']})", fontsize=11)
plt.show()
