"""Delivery templates for plants: an XLSX per kind, plant and fiscal year that passes the contract
once its blanks are filled.

The columns come from the contract (``envkpi.contract.KINDS``); the drop-down lists from the rules
themselves: every literal value set of the kind's expectation suite (treatments, media, units,
sources, yes/no) and, for energy, the energy types and units that have a conversion factor in the
fiscal year (shipped and delivered factors alike). A notes sheet says how to fill it in.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from envkpi.contract import KINDS, monthly_kinds
from envkpi.reporting.export import neutralise_formula, replace_atomically
from envkpi.settings import Settings

# Rows below the pre-filled months that carry the drop-down lists too, for more types per month.
EXTRA_ROWS = 200


def fiscal_year_months(fiscal_year: int, start_month: int) -> list[str]:
    """The twelve ``YYYY-MM`` months of a fiscal year (named for the year it starts in)."""
    first = pd.Period(year=fiscal_year, month=start_month, freq="M")
    return [str(first + offset) for offset in range(12)]


def value_sets(kind: str, expectations_dir: Path) -> dict[str, list[str]]:
    """The literal value sets of a kind's suite, per delivered column (``expect_column_values_to_be_in_set``)."""
    suite = json.loads((expectations_dir / f"{kind}.json").read_text(encoding="utf-8"))
    sets: dict[str, list[str]] = {}
    for expectation in suite["expectations"]:
        arguments = expectation["kwargs"]
        if expectation["type"] == "expect_column_values_to_be_in_set" and isinstance(arguments.get("value_set"), list):
            column = (expectation.get("meta") or {}).get("column") or arguments["column"]
            sets[column] = [str(value) for value in arguments["value_set"]]
    return sets


def energy_factor_pairs(settings: Settings, fiscal_year: int) -> list[tuple[str, str]]:
    """The (energy type, unit) pairs with a conversion factor to GJ in the fiscal year."""
    from envkpi.warehouse.reference import reference_connection

    connection, _ = reference_connection(settings)
    try:
        return [
            tuple(pair)
            for pair in connection.execute(
                "select distinct energy_type, unit from normalised_conversion where measure = 'energy' "
                "and fiscal_year = ? order by energy_type, unit",
                [fiscal_year],
            ).fetchall()
        ]
    finally:
        connection.close()


def default_name(kind: str, plant: str | None, fiscal_year: int | None) -> str:
    parts = [kind] + ([plant] if plant else []) + ([f"FY{fiscal_year}"] if fiscal_year is not None else [])
    return "_".join(parts) + ".xlsx"


def write_template(
    kind: str, path: Path, settings: Settings, plant: str | None = None, fiscal_year: int | None = None
) -> Path:
    """Write the template of ``kind`` to ``path`` (monthly kinds need the plant and fiscal year)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}: one of {', '.join(KINDS)}")
    monthly = kind in monthly_kinds()
    if monthly and (not plant or fiscal_year is None):
        raise ValueError(f"the {kind} template needs a plant and a fiscal year")
    columns = list(KINDS[kind].columns)
    lists = value_sets(kind, settings.expectations)
    pairs: list[tuple[str, str]] = []
    if "energy_type" in columns:
        pairs = energy_factor_pairs(settings, fiscal_year if fiscal_year is not None else pd.Timestamp.now().year)
        lists["energy_type"] = sorted({t for t, _ in pairs})
        if "unit" in columns:
            lists["unit"] = sorted({u for _, u in pairs}, key=str.casefold)
    months = (
        fiscal_year_months(fiscal_year, settings.fiscal_year_start_month) if fiscal_year is not None and monthly else []
    )

    def write(tmp: Path) -> None:
        workbook = Workbook()
        sheet = workbook.active
        sheet.title = kind  # the first sheet is the one read (contract 1)
        sheet.append(columns)
        header_fill = PatternFill("solid", fgColor="DDEBF7")
        for cell in sheet[1]:
            cell.font = Font(bold=True)
            cell.fill = header_fill
        for month in months:
            filled = {"plant_id": plant, "period": month}
            sheet.append([neutralise_formula(filled.get(column)) for column in columns])
        last_row = 1 + len(months) + EXTRA_ROWS
        for index, column in enumerate(columns, start=1):
            letter = get_column_letter(index)
            sheet.column_dimensions[letter].width = max(14, len(column) + 4)
            if column in ("plant_id", "period") or column not in ("quantity", "gj_per_unit", "target_pct"):
                for row in range(2, last_row + 1):  # text cells: Excel keeps 2017-04 as typed
                    sheet.cell(row=row, column=index).number_format = "@"
        sheet.freeze_panes = "A2"
        # Printed on one page width, landscape: a plant checking its figures on paper sees every column.
        sheet.page_setup.orientation = "landscape"
        sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
        sheet.sheet_properties.pageSetUpPr.fitToPage = True

        choices = workbook.create_sheet("lists")
        for index, (column, values) in enumerate(sorted(lists.items()), start=1):
            if column not in columns:
                continue
            letter = get_column_letter(index)
            choices.cell(row=1, column=index, value=column).font = Font(bold=True)
            for row, value in enumerate(values, start=2):
                choices.cell(row=row, column=index, value=neutralise_formula(value))
            target = get_column_letter(columns.index(column) + 1)
            validation = DataValidation(
                type="list",
                formula1=f"=lists!${letter}$2:${letter}${len(values) + 1}",
                allow_blank=True,
                showErrorMessage=True,
                errorTitle=f"{column}",
                error=f"{column} must be one of the list: {', '.join(values)}"[:255],
            )
            validation.add(f"{target}2:{target}{last_row}")
            sheet.add_data_validation(validation)
        choices.sheet_state = "hidden"

        notes = workbook.create_sheet("notes", 1)
        lines = [
            (f"{kind} delivery template" + (f" for plant {plant}, FY{fiscal_year}" if plant else ""), True),
            ("", False),
            (f"Fill in the first sheet ({kind}) and save it as XLSX; keep the header row as it is.", False),
            (f"The file name must start with the kind: {default_name(kind, plant, fiscal_year)} is fine.", False),
        ]
        if months:
            lines += [
                (
                    f"The twelve months of FY{fiscal_year} ({months[0]} to {months[-1]}) are filled in, one row each.",
                    False,
                )
            ]
            items = [column.replace("_", " ") for column in KINDS[kind].row_key if column not in ("plant_id", "period")]
            if items:
                lines += [
                    (
                        f"For more than one {' and '.join(items)} a month, add rows: copy plant_id and period "
                        f"and fill in the rest.",
                        False,
                    )
                ]
            lines += [
                ("Delete a pre-filled row you do not use: a row with a month but no quantity is rejected.", False)
            ]
        lines += [
            ("Cells with a drop-down list accept only the values of the list.", False),
            ("quantity: a plain number >= 0, no thousands separators (1234.5, not 1,234.5).", False),
            ("Check the file before sending it: envkpi check FILE", False),
        ]
        if pairs:
            lines += [("", False), ("Energy types and their units with a conversion factor:", True)]
            by_type: dict[str, list[str]] = {}
            for energy_type, unit in pairs:
                by_type.setdefault(energy_type, []).append(unit)
            lines += [(f"{energy_type}: {', '.join(units)}", False) for energy_type, units in by_type.items()]
        other = {c: v for c, v in lists.items() if c in columns and c not in ("energy_type", "unit" if pairs else "")}
        if other:
            lines += [("", False), ("Values each column accepts:", True)]
            lines += [(f"{column}: {', '.join(values)}", False) for column, values in sorted(other.items())]
        for text, bold in lines:
            notes.append([neutralise_formula(text)])
            if bold:
                notes.cell(row=notes.max_row, column=1).font = Font(bold=True)
        notes.column_dimensions["A"].width = 110
        for cell in notes["A"]:
            cell.alignment = Alignment(wrap_text=True)
        workbook.active = 0
        workbook.save(tmp)

    replace_atomically(path, write)
    return path
