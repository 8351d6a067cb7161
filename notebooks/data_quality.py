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
# # Data quality
#
# **Question:** can the KPI figures be trusted yet? Which delivered files are rejected and why,
# which plant-months are missing (and so make a figure incomplete), what have re-deliveries
# restated, which published figures have changed since their publication (and which files
# changed them), and which rows fell outside a plant's reporting boundary?
#
# **Parameters** (the next cell): `fiscal_year` limits completeness and missing months to one
# year, e.g. `2017`; leave it `None` for every year.
#
# The figures are those of the last pipeline run, read from the warehouse snapshot
# (`Settings().snapshot`; set `ENVKPI_SNAPSHOT` to read another folder).

# %% tags=["parameters"]
fiscal_year = None  # e.g. 2017; None = every fiscal year

# %%
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display

from envkpi.reporting import published
from envkpi.reporting.notebook_display import (
    COMPLETENESS_BOUNDS,
    COMPLETENESS_LABELS,
    completeness_colours,
    people_table,
)

# %%
runs = published.runs()
last_run = runs.iloc[-1]
print(f"Snapshot: {published.snapshot_path()}")
print(
    f"Last run: {last_run['run_id']}, finished {last_run['finished_at']:%Y-%m-%d %H:%M}: "
    f"{last_run['files_seen']} files seen, {last_run['files_loaded']} loaded, "
    f"{last_run['files_rejected']} rejected, {last_run['files_ignored']} not contract files"
)
display(
    people_table(
        runs,
        {
            "run_id": "Run",
            "finished_at": "Finished",
            "files_seen": "Files seen",
            "files_loaded": "Loaded",
            "files_rejected": "Rejected",
            "files_unchanged": "Unchanged",
            "files_ignored": "Not contract files",
        },
    )
)

# %% [markdown]
# ## Rejected files
#
# A file with any problem is rejected whole: none of its rows count until the plant sends a
# corrected file. `row` is the row number as a spreadsheet shows it (the header is row 1).

# %%
rejections = published.rejections()
if rejections.empty:
    print("No delivered file is rejected.")
else:
    print(f"{rejections['file'].nunique()} file(s) rejected, {len(rejections)} problem(s):")
    display(
        people_table(
            rejections,
            {"file": "File", "row": "Spreadsheet row", "column": "Column", "value": "Value found", "reason": "Reason"},
        )
    )

# %% [markdown]
# ## Completeness by plant and fiscal year
#
# The share (%) of a plant's in-boundary months that have both a production record and a
# record of the KPI's own kind. Below 100, the KPI is still computed but flagged. The table
# lists the plant-years below 100 %; the chart shows every plant and year.

# %%
completeness = published.completeness(fiscal_year=fiscal_year)
incomplete = completeness[~completeness["complete"]]
if incomplete.empty:
    print("Every plant's figures are complete.")
else:
    by_plant = incomplete.pivot_table(index=["scope_id", "fiscal_year"], columns="kpi", values="completeness_pct")
    by_plant = by_plant.reset_index().rename(columns={"scope_id": "Plant", "fiscal_year": "Fiscal year"})
    by_plant.columns.name = None
    display(people_table(by_plant.rename(columns=lambda name: name.replace("_", " "))))

# %%
lowest = completeness.groupby(["scope_id", "fiscal_year"])["completeness_pct"].min().unstack("fiscal_year")
figure, axis = plt.subplots(
    figsize=(max(4, 0.6 * lowest.shape[1] + 2), max(2, 0.4 * lowest.shape[0] + 1)), constrained_layout=True
)
# Classes, not a gradient: 100 % alone is green, so a 92 % plant-year stands out.
colours, norm = completeness_colours()
image = axis.imshow(np.ma.masked_invalid(lowest.to_numpy(dtype=float)), cmap=colours, norm=norm, aspect="auto")
axis.set_xticks(range(lowest.shape[1]), [f"FY{year}" for year in lowest.columns], rotation=90)
axis.set_yticks(range(lowest.shape[0]), lowest.index)
for (row, column), value in np.ndenumerate(lowest.to_numpy(dtype=float)):
    if value < 100:  # label only what needs a look (an empty cell: the plant was out of scope)
        axis.text(column, row, f"{value:.0f}", ha="center", va="center", fontsize=8, fontweight="bold")
bar = figure.colorbar(image, ax=axis, label="lowest completeness over the KPIs (%)")
bar.set_ticks(
    [(low + high) / 2 for low, high in zip(COMPLETENESS_BOUNDS, COMPLETENESS_BOUNDS[1:])], labels=COMPLETENESS_LABELS
)
axis.set_title("Completeness by plant and fiscal year", fontsize=11)
plt.show()

# %% [markdown]
# ## Missing plant-months
#
# Each in-boundary month a plant has not delivered for a kind. A month with nothing to
# report must be delivered as a row with quantity 0.

# %%
missing = published.missing_months(fiscal_year=fiscal_year)
if missing.empty:
    print("Every in-boundary plant-month has a record of every kind.")
else:
    display(
        people_table(
            missing.groupby(["plant_id", "fiscal_year", "kind"])
            .agg(months=("period", "count"), periods=("period", ", ".join))
            .reset_index(),
            {
                "plant_id": "Plant",
                "fiscal_year": "Fiscal year",
                "kind": "Kind",
                "months": "Months missing",
                "periods": "Which",
            },
        )
    )

# %% [markdown]
# ## Restatements
#
# A re-delivered file replaces what earlier files said for the same plant-months; the old
# rows stay in the warehouse for audit (`raw_row_lineage`).

# %%
restatements = published.restatements()
if restatements.empty:
    print("Nothing has been restated.")
else:
    display(
        people_table(
            restatements,
            {
                "kind": "Kind",
                "file": "File",
                "replaced_by": "Replaced by",
                "replaced_at": "Replaced at",
                "slices": "Plant-months",
                "rows": "Rows",
                "detail": "Which",
            },
        )
    )

# %% [markdown]
# ## Changed since publication
#
# A published year (`envkpi publish --fy 2017`) keeps its figures in
# `reports/published/FY<fy>/v<n>/`. Every run compares the current figures with the latest
# publication of each year: these are the figures that differ, with the accepted files
# delivered since that could have changed them (`reports/restatements_since_publication.csv`).
# `published.trace(kpi, fiscal_year, scope_id)` lists every delivered row behind one figure.

# %%
publications = published.publications()
changed = published.restatements_since_publication()
if publications.empty:
    print("No fiscal year has been published yet (envkpi publish --fy FY).")
else:
    display(publications[["fiscal_year", "version", "published_at", "note", "complete"]])
    if changed.empty:
        print("No published figure has changed since its publication.")
    else:
        print(f"{len(changed)} published figure(s) changed since their publication:")
        display(
            changed[
                [
                    "fiscal_year",
                    "scope_id",
                    "kpi",
                    "published_version",
                    "published_value",
                    "current_value",
                    "difference",
                    "published_rating",
                    "current_rating",
                    "files",
                ]
            ]
        )

# %% [markdown]
# ## Boundary warnings
#
# Rows for a month outside a plant's boundary (before `in_scope_from` or after `in_scope_to`
# in the plants file) are ignored, not rejected. Check the plants file or the delivery.

# %%
warnings = published.boundary_warnings()
if warnings.empty:
    print("No delivered row lies outside its plant's boundary.")
else:
    display(
        people_table(
            warnings.groupby(["file", "plant_id", "kind"])
            .agg(rows=("row", "count"), first_period=("period", "min"), last_period=("period", "max"))
            .reset_index(),
            {
                "file": "File",
                "plant_id": "Plant",
                "kind": "Kind",
                "rows": "Rows",
                "first_period": "First month",
                "last_period": "Last month",
            },
        )
    )
