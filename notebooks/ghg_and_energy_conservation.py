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
# # GHG emissions and the Energy Conservation Act
#
# **Question:** how much CO2 did each plant emit in one fiscal year, Scope 1 and Scope 2, and
# how does market-based Scope 2 (each electricity or heat supplier's own factor) compare with
# location-based (the grid's)? And where does each Japanese plant stand under the Energy
# Conservation Act (crude-oil equivalent, designation, the five-year average against 99 %)?
#
# **Parameters** (the next cell): `fiscal_year`, e.g. `2017`; leave it `None` for the latest
# fiscal year whose group figures are complete.
#
# The figures are those of the last pipeline run, read from the published warehouse snapshot
# (`Settings().published`; set `ENVKPI_PUBLISHED` to read another folder). They are the rows that
# `scope1_co2`, `scope2_location_co2` and `scope2_market_co2` in `kpi_results.csv` sum, and the
# rows of `reports/regulatory/energy_conservation_FY<fy>.csv`.

# %% tags=["parameters"]
fiscal_year = None  # e.g. 2017; None = the latest fiscal year with complete group figures

# %%
import matplotlib.pyplot as plt
from IPython.display import display

from envkpi.reporting import published

# %%
print(f"Snapshot: {published.snapshot_path()}")
results = published.kpi_results(scope_level="group", kpi=["scope1_co2", "scope2_location_co2", "scope2_market_co2"])
years = sorted(int(y) for y in results.dropna(subset=["value"]).fiscal_year.unique())
if fiscal_year is None:
    complete = results[results.complete].dropna(subset=["value"])
    fiscal_year = int(complete.fiscal_year.max()) if len(complete) else years[-1]
print(f"Fiscal year: FY{fiscal_year}")

# %% [markdown]
# ## The group, year by year (t-CO2)

# %%
trend = results.pivot_table(index="fiscal_year", columns="kpi", values="value").rename(
    columns={
        "scope1_co2": "Scope 1",
        "scope2_location_co2": "Scope 2 (location)",
        "scope2_market_co2": "Scope 2 (market)",
    }
)
trend.index = [f"FY{int(year)}" for year in trend.index]
display(trend.style.format("{:,.1f}"))

# %% [markdown]
# ## Per plant and supplier in the fiscal year (t-CO2)
#
# Scope 1 is the same under both bases. A Scope 2 row whose supplier has a market factor for the
# year shows the difference; a supplier without one is counted at the location factor.

# %%
emissions = published.emissions(fiscal_year)
shown = emissions.rename(
    columns={
        "plant_id": "plant",
        "plant_name": "name",
        "location_t_co2": "location-based",
        "market_t_co2": "market-based",
    }
)
shown["supplier"] = shown["supplier"].replace("", "(none named)")
display(shown.style.hide(axis="index").format({"location-based": "{:,.1f}", "market-based": "{:,.1f}"}))

# %%
scope2 = emissions[emissions.scope == 2].groupby("plant_id")[["location_t_co2", "market_t_co2"]].sum()
if len(scope2):
    axes = scope2.rename(columns={"location_t_co2": "location-based", "market_t_co2": "market-based"}).plot.bar(
        figsize=(8, 3.5), color=["#0072B2", "#009E73"]
    )
    axes.set_ylabel("Scope 2, t-CO2")
    axes.set_xlabel("plant")
    axes.set_title(f"Scope 2 by plant, FY{fiscal_year}: location- against market-based")
    plt.show()
else:
    print("No Scope 2 energy in this fiscal year.")

# %% [markdown]
# ## The Energy Conservation Act, per Japanese plant
#
# `designation`: `type1` from 3,000 kL crude-oil equivalent a year, `type2` from 1,500 kL; the
# `total` row is `specified` from 1,500 kL. The target is met when the five-year average of the
# yearly intensity change is at most 99 %.

# %%
act = published.energy_conservation(fiscal_year)
if act.empty:
    print(f"No plant with country JP in the boundary in FY{fiscal_year}.")
else:
    act = act.rename(
        columns={
            "plant_id": "plant",
            "energy_gj": "energy (GJ)",
            "crude_oil_kl": "crude oil (kL)",
            "production_t": "production (t)",
            "intensity": "GJ per t",
            "intensity_vs_previous_pct": "vs previous year (%)",
            "five_year_average_pct": "five-year average (%)",
            "target_met": "target met",
        }
    )
    display(
        act.fillna("")
        .style.hide(axis="index")
        .format(
            {
                "energy (GJ)": "{:,.0f}",
                "crude oil (kL)": "{:,.1f}",
                "production (t)": "{:,.0f}",
                "GJ per t": "{:,.2f}",
                "vs previous year (%)": lambda v: f"{v:.1f}" if v != "" else "",
                "five-year average (%)": lambda v: f"{v:.1f}" if v != "" else "",
            }
        )
    )
