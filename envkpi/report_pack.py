"""The annual report pack: the CSR results table of one fiscal year and the charts behind it.

The table has the layout of the CSR report's "5. The Environment" rows: one row per KPI of the
group, with the year's planned measure, its result, the self-assessment (``***`` achieved,
``**`` 90 % achieved, ``*`` not achieved) and the measure planned for the next year; a note
flags results computed from incomplete data. It is written as Markdown, HTML, XLSX and CSV, and
as the first page of a PDF whose other pages are the overview, trend and breakdown charts.

Rounding (only here, where a person reads the figures; kpi_results stays unrounded):
results are rounded half up to one decimal and a trailing ".0" is dropped (6.599999 -> 6.6,
10.999984 -> 11, 20.74 -> 20.7), as the FY2017 CSR table printed "6.6%", "11%" and "20.7%";
targets show as they were set (11.5, 7.5, 13, 74; at most two decimals). One exception keeps the
table honest: when a result below its target would print as the target itself (11.46 against
11.5), it gets a second decimal (11.46), so that the figures never contradict the rating.
"""

from __future__ import annotations

import html
import math
import re
import tempfile
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from envkpi import charts
from envkpi.export import replace_atomically, write_csv, write_xlsx

SELF_ASSESSMENT = "Self-assessment"
NOTE = "Note"
INCOMPLETE_MARK = "†"
RESTATED_MARK = "‡"
NO_RATING = "–"
STAR_LEGEND = "*** Achieved   ** 90% achieved   * Not achieved"
ROUNDING_NOTE = "Results rounded half up to one decimal where needed; targets as set."


def _columns(fiscal_year: int) -> list[str]:
    return [f"FY{fiscal_year} measures (planned)", f"FY{fiscal_year} measures (results)", SELF_ASSESSMENT,
            f"Measures planned for FY{fiscal_year + 1}", NOTE]


def _in_sentence(label: str) -> str:
    """``Energy per production unit`` -> ``energy per production unit``; ``CO2 ...`` stays."""
    if len(label) > 1 and label[0].isupper() and label[1].islower():
        return label[0].lower() + label[1:]
    return label


def _measure(info: charts.KpiInfo, target: float, base_year: int | None) -> str:
    """A planned measure, as the CSR table words it."""
    what = _in_sentence(info.label)
    if info.is_rate:
        return f"Increase the {what} ({charts.format_target(target)}%)"
    return f"Reduce {what} ({charts.format_target(target)}%{_versus(base_year)})"


def _versus(base_year: int | None) -> str:
    return f" compared to base year FY{base_year}" if base_year is not None else " compared to base year"


def _shown(metric: float, target: float | None) -> str:
    """The result as printed: one decimal where needed, two where one would equal a missed target."""
    shown = charts.format_pct(abs(metric))
    if target is not None and metric < target and shown == charts.format_target(target):
        shown = charts.format_pct(abs(metric), decimals=2)
    return shown


def _result(info: charts.KpiInfo, metric: float, target: float | None, previous: float | None,
            base_year: int | None) -> str:
    """The year's result, worded by its direction as the CSR table words it."""
    what = _in_sentence(info.label)
    shown = _shown(metric, target)
    if not info.is_rate:
        # A negative change vs base is an increase of the intensity: say so, never "-3% reduced".
        verb = "Reduced" if metric >= 0 else "Increased"
        return f"{verb} {what} ({shown}%{_versus(base_year)})"
    if previous is None or pd.isna(previous):
        return f"Recorded a {what} of {shown}%"
    before = charts.format_pct(previous)
    if shown == before:
        return f"Kept the {what} at {shown}%"
    if metric > previous:
        return f"Increased the {what} ({shown}%)"
    return f"The {what} fell to {shown}% (FY before: {before}%)"


def _group_row(rows: pd.DataFrame, fiscal_year: int) -> pd.Series | None:
    found = rows[rows["fiscal_year"] == fiscal_year]
    return None if found.empty else found.iloc[-1]


def _number(row: pd.Series | None, column: str) -> float | None:
    if row is None or column not in row.index:
        return None
    value = pd.to_numeric(pd.Series([row[column]]), errors="coerce").iloc[0]
    return None if pd.isna(value) else float(value)


def _base_year(row: pd.Series | None, info: charts.KpiInfo) -> int | None:
    year = _number(row, "base_year")
    return int(year) if year is not None else info.base_year


def report_kpis(kpi_results: pd.DataFrame, fiscal_year: int, registry: pd.DataFrame) -> list[str]:
    """The KPIs of the table: those with a group row for the year or the next, in registry order."""
    years = pd.to_numeric(kpi_results["fiscal_year"], errors="coerce")
    shown = kpi_results[(kpi_results["scope_level"] == "group") & years.isin([fiscal_year, fiscal_year + 1])]
    return charts.kpis_in_order(shown, registry)


def _like_for_like_note(this_year: pd.Series | None, info: charts.KpiInfo, base_year: int | None,
                        threshold: float) -> str:
    """Contract 10: the like-for-like figure, and when the boundary moved the figure by at least
    the threshold, that a base-year recalculation is due, with both figures."""
    like_for_like, structural = _number(this_year, "like_for_like_change_pct"), _number(this_year, "structural_change_pct")
    if info.is_rate or like_for_like is None or structural is None:
        return ""
    direction = "reduction" if like_for_like >= 0 else "increase"
    note = (f"Like for like (plants in the boundary in FY{base_year} and FY{int(this_year['fiscal_year'])}): "
            f"{charts.format_pct(abs(like_for_like))}% {direction}; structural change {charts.format_pct(structural)}%.")
    if structural >= threshold:
        reported = _number(this_year, "change_vs_base_pct")
        shown = "no result" if reported is None else f"{charts.format_pct(abs(reported))}%"
        note += (f" A base-year recalculation is due under the group's policy (structural change at or above "
                 f"{charts.format_target(threshold)}%): reported {shown}, like for like "
                 f"{charts.format_pct(abs(like_for_like))}%.")
    return note


def _published_row(published: pd.DataFrame | None, kpi: str) -> pd.Series | None:
    if published is None or published.empty:
        return None
    found = published[(published["scope_level"] == "group") & (published["kpi"] == kpi)]
    return None if found.empty else found.iloc[0]


def _differs(current: pd.Series | None, published: pd.Series | None) -> bool:
    """Contract 10: a figure differs from its publication when its value, change or rating does."""
    if published is None:
        return False
    for column in ("value", "change_vs_base_pct", "rating"):
        now = None if current is None else current.get(column)
        then = published.get(column)
        now, then = (None if v is None or (not isinstance(v, str) and pd.isna(v)) else v for v in (now, then))
        if now != then:
            return True
    return False


def _restated_note(published: pd.Series, info: charts.KpiInfo) -> str:
    metric = _number(published, "value" if info.is_rate else "change_vs_base_pct")
    when = pd.Timestamp(published["published_at"]).strftime("%Y-%m-%d")
    shown = "no result" if metric is None else f"{charts.format_pct(abs(metric))}%"
    rating = charts.stars(published["rating"]) if isinstance(published.get("rating"), str) else ""
    value = _number(published, "value")
    return (f"{RESTATED_MARK} Restated since publication {published['published_version']} of {when}, which "
            f"showed {shown}{' ' + rating if rating else ''} (value {'none' if value is None else repr(value)}).")


def results_table(kpi_results: pd.DataFrame, fiscal_year: int, registry: pd.DataFrame,
                  published: pd.DataFrame | None = None, recalculation_threshold_pct: float = 5.0) -> pd.DataFrame:
    """The CSR results table of ``fiscal_year`` for the group: one row per KPI, text as printed.

    ``published``: the rows of the year's latest publication (``publication.published_figures``);
    a figure that differs from it is marked, with the published value in a footnote.
    """
    registry = charts.read_registry(registry)
    records = []
    for kpi in report_kpis(kpi_results, fiscal_year, registry):
        info = charts.kpi_info(kpi, registry, kpi_results)
        rows = charts.group_rows(kpi_results, kpi)
        this_year, next_year = _group_row(rows, fiscal_year), _group_row(rows, fiscal_year + 1)
        previous_year = _group_row(rows, fiscal_year - 1)
        metric_column = "value" if info.is_rate else "change_vs_base_pct"
        base_year = _base_year(this_year if this_year is not None else next_year, info)

        target = _number(this_year, "target_pct")
        planned = _measure(info, target, base_year) if target is not None else f"No target set for FY{fiscal_year}"
        metric = _number(this_year, metric_column)
        if metric is None:
            result, note = f"No result for FY{fiscal_year}", ""
        else:
            result = _result(info, metric, target, _number(previous_year, "value"), base_year)
            note = ""
            completeness = _number(this_year, "completeness_pct")
            if completeness is not None and completeness < 100:
                # Contract 4: a figure from incomplete data is shown, and flagged wherever it is.
                result += f" {INCOMPLETE_MARK}"
                # Rounded down: 99.96 % of the plant-months must not read "100%".
                reported = charts.format_pct(math.floor(completeness * 10) / 10)
                note = (f"{INCOMPLETE_MARK} Incomplete data: {reported}% of plant-months reported; "
                        "the result may change")
        notes = [note] if note else []
        if metric is not None:
            notes.append(_like_for_like_note(this_year, info, base_year, recalculation_threshold_pct))
        published_row = _published_row(published, kpi)
        if _differs(this_year, published_row):
            result += f" {RESTATED_MARK}"
            notes.append(_restated_note(published_row, info))
        note = " ".join(n for n in notes if n)
        rating = charts.stars(this_year["rating"]) if this_year is not None and "rating" in this_year.index else ""
        next_target = _number(next_year, "target_pct")
        plan = (_measure(info, next_target, _base_year(next_year, info)) if next_target is not None
                else f"No target set for FY{fiscal_year + 1}")
        records.append([planned, result, rating if target is not None and rating else NO_RATING, plan, note])
    return pd.DataFrame(records, columns=_columns(fiscal_year))


def figures_table(kpi_results: pd.DataFrame, fiscal_year: int, registry: pd.DataFrame) -> pd.DataFrame:
    """The unrounded kpi_results rows of the year behind the table, all scopes, with KPI labels."""
    registry = charts.read_registry(registry)
    years = pd.to_numeric(kpi_results["fiscal_year"], errors="coerce")
    rows = kpi_results[years == fiscal_year].copy()
    order = {kpi: i for i, kpi in enumerate(charts.kpis_in_order(kpi_results, registry))}
    levels = {"group": 0, "business_unit": 1, "plant": 2}
    labels = {kpi: charts.kpi_info(kpi, registry, kpi_results).label for kpi in rows["kpi"].unique()}
    rows["label"] = rows["kpi"].map(labels)
    rows = rows.assign(_kpi=rows["kpi"].map(order), _level=rows["scope_level"].map(levels).fillna(3))
    rows = rows.sort_values(["_kpi", "_level", "scope_id"], kind="stable").drop(columns=["_kpi", "_level"])
    columns = ["kpi", "label"] + [c for c in rows.columns if c not in ("kpi", "label")]
    return rows[columns].reset_index(drop=True)


# --- text formats ---------------------------------------------------------------------------

_MARKDOWN_SPECIALS = re.compile(r"([\\`*_|<>\[\]])")


def _markdown_cell(text: object) -> str:
    return _MARKDOWN_SPECIALS.sub(r"\\\1", str(text)).replace("\n", " ")


def _notes(table: pd.DataFrame) -> list[str]:
    return [note for note in table[NOTE] if note]


def to_markdown(table: pd.DataFrame, fiscal_year: int, cut_off: str) -> str:
    """The table as a GitHub-flavoured Markdown document (cells escaped)."""
    lines = [f"# Environmental results FY{fiscal_year} and plans for FY{fiscal_year + 1}", "",
             f"Group scope. Data cut-off: {_markdown_cell(cut_off)}.", ""]
    lines.append("| " + " | ".join(_markdown_cell(c) for c in table.columns) + " |")
    lines.append("|" + "|".join(":---:" if c == SELF_ASSESSMENT else "---" for c in table.columns) + "|")
    for row in table.itertuples(index=False):
        lines.append("| " + " | ".join(_markdown_cell(cell) for cell in row) + " |")
    lines += ["", _markdown_cell(STAR_LEGEND), ""]
    lines += [_markdown_cell(note) + "  " for note in _notes(table)]
    lines += ["", _markdown_cell(f"Source: {charts.SOURCE}. {ROUNDING_NOTE}"), ""]
    return "\n".join(lines)


_HTML_STYLE = """
body { font-family: "DejaVu Sans", Arial, sans-serif; color: #222; margin: 2em; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #bbb; padding: 0.4em 0.6em; text-align: left; vertical-align: top; }
th { background: #e8eef4; }
td.rating { text-align: center; font-weight: bold; white-space: nowrap; }
p.small { font-size: 0.85em; color: #555; }
"""


def to_html(table: pd.DataFrame, fiscal_year: int, cut_off: str) -> str:
    """The table as one self-contained HTML page (no external resources, every text escaped)."""
    e = html.escape
    head = "".join(f'<th scope="col">{e(str(c))}</th>' for c in table.columns)
    body = []
    for row in table.itertuples(index=False):
        cells = [f'<td class="rating">{e(str(v))}</td>' if c == SELF_ASSESSMENT else f"<td>{e(str(v))}</td>"
                 for c, v in zip(table.columns, row)]
        body.append("<tr>" + "".join(cells) + "</tr>")
    notes = "".join(f'<p class="small">{e(note)}</p>' for note in _notes(table))
    title = f"Environmental results FY{fiscal_year} and plans for FY{fiscal_year + 1}"
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{e(title)}</title>\n<style>{_HTML_STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{e(title)}</h1>\n<p>Group scope. Data cut-off: {e(cut_off)}.</p>\n"
        f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n" + "\n".join(body) + "\n</tbody>\n</table>\n"
        f"<p>{e(STAR_LEGEND)}</p>\n{notes}\n"
        f'<p class="small">Source: {e(charts.SOURCE)}. {e(ROUNDING_NOTE)}</p>\n</body>\n</html>\n'
    )


# --- PDF ------------------------------------------------------------------------------------


def title_page(table: pd.DataFrame, fiscal_year: int, cut_off: str) -> Figure:
    """An A4 landscape page with the results table, for the front of the PDF pack."""
    with charts.house_style():
        fig = Figure(figsize=(11.69, 8.27))
        fig.text(0.04, 0.93, f"Environmental results FY{fiscal_year} and plans for FY{fiscal_year + 1}",
                 fontsize=18, fontweight="bold", va="top")
        fig.text(0.04, 0.875, f"Group scope  ·  Data cut-off: {cut_off}", fontsize=11, color="#555555", va="top")
        ax = fig.add_axes((0.04, 0.22, 0.92, 0.62))
        charts.draw_table(ax, list(table.columns), table.to_numpy().tolist(),
                          col_widths=[0.25, 0.27, 0.09, 0.25, 0.14], wrap=[34, 36, 11, 34, 20], fontsize=9,
                          estimated_height_pts=0.62 * 8.27 * 72, centred=[2])
        fig.text(0.04, 0.14, STAR_LEGEND, fontsize=10, va="top")
        fig.text(0.04, 0.105, ROUNDING_NOTE,
                 fontsize=8.5, color="#555555", va="top")
        charts.add_footer(fig, cut_off)
    return fig


def write_title_page(table: pd.DataFrame, path: Path, fiscal_year: int, cut_off: str) -> Path:
    """The title page alone, as a one-page PDF (the first page of the pack)."""
    fig = title_page(table, fiscal_year, cut_off)
    with charts.house_style():
        fig.savefig(path, format="pdf", metadata={"CreationDate": None})
    return path


def pack_pages(kpi_results: pd.DataFrame, fiscal_year: int, registry: pd.DataFrame) -> list[str]:
    """The chart stems of the pack's pages after the title page, in order."""
    stems = [charts.overview_stem(fiscal_year)]
    for kpi in charts.kpis_in_order(kpi_results, registry):
        stems += [charts.trend_stem(kpi), charts.breakdown_stem(kpi, fiscal_year)]
    return stems


def join_pdf(pages: list[Path], path: Path, fiscal_year: int) -> Path:
    """The PDF pack: the given one-page PDFs, in order, as one document (written atomically)."""
    from pypdf import PdfWriter  # only the pack needs it

    writer = PdfWriter()
    for page in pages:
        writer.append(page)
    writer.add_metadata({"/Title": f"Environmental report pack FY{fiscal_year}", "/Creator": "envkpi"})
    replace_atomically(path, lambda tmp: writer.write(tmp))  # a killed run never leaves half a PDF
    return path


def write_pdf(kpi_results: pd.DataFrame, table: pd.DataFrame, path: Path, fiscal_year: int, cut_off: str,
              registry: pd.DataFrame) -> Path:
    """Title page with the table, then the overview, then each KPI's trend and breakdown.

    The pages are the charts' own PDFs (``charts.save_figure``), drawn here into a temporary
    folder; the nightly run joins the ones it has just drawn instead (envkpi.annual_report).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="envkpi-pack-") as folder:
        drawn = Path(folder)
        figures = {charts.overview_stem(fiscal_year): charts.overview_figure(kpi_results, fiscal_year, cut_off, registry)}
        for kpi in charts.kpis_in_order(kpi_results, registry):
            figures[charts.trend_stem(kpi)] = charts.trend_figure(kpi_results, kpi, cut_off, registry, fiscal_year)
            figures[charts.breakdown_stem(kpi, fiscal_year)] = charts.breakdown_figure(
                kpi_results, kpi, fiscal_year, cut_off, registry)
        for stem, fig in figures.items():
            charts.save_figure(fig, drawn, stem)
        title = write_title_page(table, drawn / "title.pdf", fiscal_year, cut_off)
        pages = [title] + [drawn / f"{stem}.pdf" for stem in pack_pages(kpi_results, fiscal_year, registry)]
        return join_pdf(pages, path, fiscal_year)


# --- the pack -------------------------------------------------------------------------------


def write_report_pack(
    kpi_results: pd.DataFrame,
    out_dir: Path,
    fiscal_year: int,
    cut_off: str,
    registry: pd.DataFrame,
    published: pd.DataFrame | None = None,
    recalculation_threshold_pct: float = 5.0,
) -> dict[str, Path]:
    """Write the FY results table (md, html, xlsx, csv) and the PDF pack; returns paths by format.

    Files: ``results_FY<fy>.md|.html|.xlsx|.csv`` and ``report_pack_FY<fy>.pdf``. The XLSX has
    the table and, on a second sheet, the unrounded figures of the year for every scope.
    ``published`` and ``recalculation_threshold_pct`` as for ``results_table``.
    """
    registry = charts.read_registry(registry)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    table = results_table(kpi_results, fiscal_year, registry, published, recalculation_threshold_pct)
    stem = f"results_FY{fiscal_year}"
    paths = write_table_texts(table, out_dir, fiscal_year, cut_off)
    paths["xlsx"] = write_results_xlsx(kpi_results, table, out_dir / f"{stem}.xlsx", fiscal_year, registry)
    paths["csv"] = write_csv(table, out_dir / f"{stem}.csv")
    paths["pdf"] = write_pdf(kpi_results, table, out_dir / f"report_pack_FY{fiscal_year}.pdf", fiscal_year,
                             cut_off, registry)
    return paths


def write_table_texts(table: pd.DataFrame, out_dir: Path, fiscal_year: int, cut_off: str) -> dict[str, Path]:
    """The results table as ``results_FY<fy>.md`` and ``.html``; returns the paths by format."""
    stem = f"results_FY{fiscal_year}"
    paths = {"md": out_dir / f"{stem}.md", "html": out_dir / f"{stem}.html"}
    markdown, html_text = to_markdown(table, fiscal_year, cut_off), to_html(table, fiscal_year, cut_off)
    replace_atomically(paths["md"], lambda tmp: tmp.write_text(markdown, encoding="utf-8"))
    replace_atomically(paths["html"], lambda tmp: tmp.write_text(html_text, encoding="utf-8"))
    return paths


def write_results_xlsx(kpi_results: pd.DataFrame, table: pd.DataFrame, path: Path, fiscal_year: int,
                       registry: pd.DataFrame) -> Path:
    """The results table and, on a second sheet, the unrounded figures of the year, as XLSX."""
    return write_xlsx({f"Results FY{fiscal_year}": table,
                       f"Figures FY{fiscal_year}": figures_table(kpi_results, fiscal_year, registry)}, path)
