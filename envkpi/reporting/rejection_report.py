"""The rejection report a plant can act on: per plant and file, each problem with what to do.

Written by every run into the reports folder (``rejections.html`` and ``rejections.xlsx``) and by
``envkpi check --report FILE``. The HTML is one self-contained page (no scripts, no external
style sheets or fonts), so it opens on a network without the internet and can be mailed; the
XLSX is formula-safe like every spreadsheet the project writes.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pandas as pd

from envkpi.contract import kind_of, monthly_kinds
from envkpi.ingest.readers import Problem
from envkpi.reporting.export import excel_cell, replace_atomically

COLUMNS = ["plant", "file", "row", "column", "value found", "reason", "what to do"]
HEAD_OFFICE = "head office"
UNKNOWN_PLANT = "plant not named in the file name"
RESEND = "correct the file and deliver it again (any name that starts with its kind)"

# A plant id in a file name: the word after the kind (`energy_P01_2017-04.csv` -> P01).
_NAME_WORDS = re.compile(r"[_\-. ]+")


def plant_of(file: str, known_plants: frozenset[str] | set[str] = frozenset()) -> str:
    """Whom a file's problems go to: the plant its name names, head office for reference kinds."""
    name = PurePosixPath(file).name
    kind = kind_of(name)
    if kind is not None and kind not in monthly_kinds():
        return HEAD_OFFICE
    words = [word for word in _NAME_WORDS.split(name) if word]
    for word in words[1:]:
        if word in known_plants:
            return word
    names_a_kind = kind is not None or (words and words[0].casefold() in monthly_kinds())
    if names_a_kind and len(words) > 1 and not known_plants and re.fullmatch(r"[A-Za-z]*[0-9]+\w*", words[1]):
        return words[1]
    return UNKNOWN_PLANT


def split_reason(reason: str) -> tuple[str, str]:
    """A contract reason reads ``what is wrong: what to do``; without the second part, resend."""
    head, separator, action = reason.partition(": ")
    if separator and action:
        return head, action
    return reason, RESEND


@dataclass(frozen=True)
class RejectionReport:
    """The rows of the report, one per problem, in plant, file and row order."""

    rows: pd.DataFrame

    @classmethod
    def of(
        cls, problems: list[tuple[str, Problem]], known_plants: frozenset[str] | set[str] = frozenset()
    ) -> RejectionReport:
        records = []
        for file, problem in problems:
            reason, action = split_reason(problem.reason)
            records.append(
                {
                    "plant": plant_of(file, known_plants),
                    "file": file,
                    "row": problem.row,
                    "column": problem.column,
                    "value found": problem.value,
                    "reason": reason,
                    "what to do": action,
                }
            )
        rows = pd.DataFrame(records, columns=COLUMNS)
        rows["row"] = rows["row"].astype("Int64")
        rows = rows.sort_values(["plant", "file", "row"], na_position="first", kind="stable").reset_index(drop=True)
        return cls(rows)

    def write_xlsx(self, path: Path) -> Path:
        from openpyxl import Workbook
        from openpyxl.styles import Alignment, Font

        widths = {"plant": 14, "file": 40, "row": 7, "column": 16, "value found": 22, "reason": 50, "what to do": 60}

        def write(tmp: Path) -> None:
            workbook = Workbook()
            sheet = workbook.active
            sheet.title = "rejections"
            sheet.append(COLUMNS)
            for cell in sheet[1]:
                cell.font = Font(bold=True)
            for record in self.rows.itertuples(index=False):
                sheet.append([None if pd.isna(value) else excel_cell(value) for value in record])
            for index, name in enumerate(COLUMNS, start=1):
                letter = sheet.cell(row=1, column=index).column_letter
                sheet.column_dimensions[letter].width = widths[name]
                for cell in sheet[letter][1:]:
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
            sheet.freeze_panes = "A2"
            if len(self.rows):
                sheet.auto_filter.ref = sheet.dimensions
            notes = workbook.create_sheet("about")
            for line in (
                ["What this workbook holds"],
                ["rejections: one row per problem that keeps a delivered file from loading, by plant and file."],
                ["row is the spreadsheet row (the header is row 1); empty where the problem is the whole file."],
                [
                    "Fix every row of a file, then deliver it again: a rejected file is checked again whenever it or "
                    "what it is checked against (plants, factors, targets) changes."
                ],
                ["Check a file before sending it: envkpi check FILE (or a folder)."],
            ):
                notes.append(line)
            notes["A1"].font = Font(bold=True)
            notes.column_dimensions["A"].width = 100
            workbook.save(tmp)

        replace_atomically(path, write)
        return path

    def html(self, title: str = "Rejected deliveries") -> str:
        escape = html.escape
        parts = [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{escape(title)}</title>",
            "<style>",
            "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;margin:2em;color:#222}",
            "h1{font-size:1.5em}h2{font-size:1.25em;margin-top:2em;border-bottom:2px solid #0072B2}",
            "h3{font-size:1.05em;margin-top:1.4em;font-family:ui-monospace,Menlo,Consolas,monospace}",
            "table{border-collapse:collapse;width:100%;margin-bottom:1em;table-layout:fixed}",
            "th:nth-child(1){width:6em}th:nth-child(2){width:9em}th:nth-child(3){width:12em}",
            "td{overflow-wrap:anywhere}",
            "th,td{border:1px solid #bbb;padding:.3em .5em;text-align:left;vertical-align:top}",
            "th{background:#eef3f8}td.n{text-align:right;white-space:nowrap}",
            "code{font-family:ui-monospace,Menlo,Consolas,monospace;background:#f4f4f4;padding:0 .2em}",
            "nav li{margin:.2em 0}",
            "</style></head><body>",
            f"<h1>{escape(title)}</h1>",
        ]
        if self.rows.empty:
            parts.append("<p>No delivered file was rejected.</p></body></html>")
            return "\n".join(parts)
        files = self.rows.file.nunique()
        parts.append(
            f"<p>{len(self.rows)} problem{'s' if len(self.rows) != 1 else ''} in {files} "
            f"file{'s' if files != 1 else ''}. Fix every row listed for a file and deliver it again; "
            "rows are spreadsheet rows (the header is row 1). A rejected file is checked again whenever it "
            "or what it is checked against (plants, factors, targets) changes, and loads on the first "
            "night it passes.</p>"
        )
        plants = list(dict.fromkeys(self.rows.plant))
        parts.append("<nav><ul>")
        for number, plant in enumerate(plants):
            count = int((self.rows.plant == plant).sum())
            parts.append(
                f'<li><a href="#plant-{number}">{escape(plant)}</a>: {count} problem{"s" if count != 1 else ""}</li>'
            )
        parts.append("</ul></nav>")
        for number, plant in enumerate(plants):
            parts.append(f'<h2 id="plant-{number}">{escape(plant)}</h2>')
            of_plant = self.rows[self.rows.plant == plant]
            for file, of_file in of_plant.groupby("file", sort=False):
                parts.append(f"<h3>{escape(file)}</h3>")
                parts.append(
                    "<table><thead><tr><th>row</th><th>column</th><th>value found</th><th>reason</th>"
                    "<th>what to do</th></tr></thead><tbody>"
                )
                for record in of_file.itertuples(index=False):
                    row = "" if pd.isna(record.row) else str(int(record.row))
                    value = record[COLUMNS.index("value found")]
                    shown = f"<code>{escape(str(value))}</code>" if value not in ("", None) else ""
                    parts.append(
                        f'<tr><td class="n">{row or "whole file"}</td><td>{escape(str(record.column))}</td>'
                        f"<td>{shown}</td><td>{escape(str(record.reason))}</td>"
                        f"<td>{escape(str(record[COLUMNS.index('what to do')]))}</td></tr>"
                    )
                parts.append("</tbody></table>")
        parts.append("</body></html>")
        return "\n".join(parts)

    def write_html(self, path: Path) -> Path:
        text = self.html()
        replace_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
        return path


def write_rejection_report(
    problems: list[tuple[str, Problem]], path: Path, known_plants: frozenset[str] | set[str] = frozenset()
) -> dict[str, Path]:
    """The report as ``path`` says (``.html`` or ``.xlsx``), or both beside each other for any other suffix."""
    report = RejectionReport.of(problems, known_plants)
    suffix = path.suffix.lower()
    if suffix == ".html":
        return {"rejection_report:html": report.write_html(path)}
    if suffix == ".xlsx":
        return {"rejection_report:xlsx": report.write_xlsx(path)}
    return {
        "rejection_report:html": report.write_html(path.with_suffix(".html")),
        "rejection_report:xlsx": report.write_xlsx(path.with_suffix(".xlsx")),
    }
