"""The annual report pack: the CSR results table of one fiscal year and the charts behind it.

The table has the layout of the CSR report's "5. The Environment" rows: one row per KPI of the
group, with the year's planned measure, its result, the self-assessment (``***`` achieved,
``**`` 90 % achieved, ``*`` not achieved) and the measure planned for the next year; a note
flags results computed from incomplete data. It is written as Markdown, HTML, XLSX and CSV, and
as the first page of a print-ready PDF (A4 landscape throughout, a contents page, page numbers,
TrueType fonts embedded) whose other pages are the overview, trend and breakdown charts. Every
one states the period the figures cover and the date they are as of (``charts.ReportDates``).

Rounding (only here, where a person reads the figures; kpi_results stays unrounded):
results are rounded half up to one decimal and a trailing ".0" is dropped (6.599999 -> 6.6,
10.999984 -> 11, 20.74 -> 20.7), as the FY2017 CSR table printed "6.6%", "11%" and "20.7%";
targets show as they were set (11.5, 7.5, 13, 74; at most two decimals). One exception keeps the
table honest: when a result below its target would print as the target itself (11.46 against
11.5), it gets a second decimal (11.46), so that the figures never contradict the rating.
"""

from __future__ import annotations

import html
import io
import math
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from envkpi.reporting import charts
from envkpi.reporting.export import markdown_cell, replace_atomically, write_xlsx
from envkpi.reporting.pdf_fonts import lean_subsets
from envkpi.vocabulary import GROUP, RATINGS, SCOPE_LEVELS, star_legend

SELF_ASSESSMENT = "Self-assessment"
NOTE = "Note"
INCOMPLETE_MARK = "†"
RESTATED_MARK = "‡"
NO_RATING = "–"
STAR_LEGEND = star_legend()
ROUNDING_NOTE = "Results rounded half up to one decimal where needed; targets as set."


def _columns(fiscal_year: int) -> list[str]:
    return [
        f"FY{fiscal_year} measures (planned)",
        f"FY{fiscal_year} measures (results)",
        SELF_ASSESSMENT,
        f"Measures planned for FY{fiscal_year + 1}",
        NOTE,
    ]


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


def _result(
    info: charts.KpiInfo, metric: float, target: float | None, previous: float | None, base_year: int | None
) -> str:
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
    shown = kpi_results[(kpi_results["scope_level"] == GROUP) & years.isin([fiscal_year, fiscal_year + 1])]
    return charts.kpis_in_order(shown, registry)


def _like_for_like_note(
    this_year: pd.Series | None, info: charts.KpiInfo, base_year: int | None, threshold: float
) -> str:
    """Contract 10: the like-for-like figure, and when the boundary moved the figure by at least
    the threshold, that a base-year recalculation is due, with both figures."""
    like_for_like, structural = (
        _number(this_year, "like_for_like_change_pct"),
        _number(this_year, "structural_change_pct"),
    )
    if this_year is None or info.is_rate or like_for_like is None or structural is None:
        return ""
    direction = "reduction" if like_for_like >= 0 else "increase"
    note = (
        f"Like for like (plants in the boundary in FY{base_year} and FY{int(this_year['fiscal_year'])}): "
        f"{charts.format_pct(abs(like_for_like))}% {direction}; structural change {charts.format_pct(structural)}%."
    )
    if structural >= threshold:
        reported = _number(this_year, "change_vs_base_pct")
        shown = "no result" if reported is None else f"{charts.format_pct(abs(reported))}%"
        note += (
            f" A base-year recalculation is due under the group's policy (structural change at or above "
            f"{charts.format_target(threshold)}%): reported {shown}, like for like "
            f"{charts.format_pct(abs(like_for_like))}%."
        )
    return note


def _published_row(published: pd.DataFrame | None, kpi: str) -> pd.Series | None:
    if published is None or published.empty:
        return None
    found = published[(published["scope_level"] == GROUP) & (published["kpi"] == kpi)]
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
    return (
        f"{RESTATED_MARK} Restated since publication {published['published_version']} of {when}, which "
        f"showed {shown}{' ' + rating if rating else ''} (value {'none' if value is None else repr(value)})."
    )


def results_table(
    kpi_results: pd.DataFrame,
    fiscal_year: int,
    registry: pd.DataFrame,
    published: pd.DataFrame | None = None,
    recalculation_threshold_pct: float = 5.0,
) -> pd.DataFrame:
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
                note = f"{INCOMPLETE_MARK} Incomplete data: {reported}% of plant-months reported; the result may change"
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
        plan = (
            _measure(info, next_target, _base_year(next_year, info))
            if next_target is not None
            else f"No target set for FY{fiscal_year + 1}"
        )
        records.append([planned, result, rating if target is not None and rating else NO_RATING, plan, note])
    return pd.DataFrame(records, columns=_columns(fiscal_year))


def figures_table(kpi_results: pd.DataFrame, fiscal_year: int, registry: pd.DataFrame) -> pd.DataFrame:
    """The unrounded kpi_results rows of the year behind the table, all scopes, with KPI labels."""
    registry = charts.read_registry(registry)
    years = pd.to_numeric(kpi_results["fiscal_year"], errors="coerce")
    rows = kpi_results[years == fiscal_year].copy()
    order = {kpi: i for i, kpi in enumerate(charts.kpis_in_order(kpi_results, registry))}
    levels = {level: position for position, level in enumerate(SCOPE_LEVELS)}
    labels = {kpi: charts.kpi_info(kpi, registry, kpi_results).label for kpi in rows["kpi"].unique()}
    rows["label"] = rows["kpi"].map(labels)
    rows = rows.assign(_kpi=rows["kpi"].map(order), _level=rows["scope_level"].map(levels).fillna(len(levels)))
    rows = rows.sort_values(["_kpi", "_level", "scope_id"], kind="stable").drop(columns=["_kpi", "_level"])
    columns = ["kpi", "label"] + [c for c in rows.columns if c not in ("kpi", "label")]
    return rows[columns].reset_index(drop=True)


# --- text formats ---------------------------------------------------------------------------


def _notes(table: pd.DataFrame) -> list[str]:
    return [note for note in table[NOTE] if note]


def to_markdown(table: pd.DataFrame, fiscal_year: int, dates: charts.ReportDates) -> str:
    """The table as a GitHub-flavoured Markdown document (cells escaped)."""
    lines = [
        f"# Environmental results FY{fiscal_year} and plans for FY{fiscal_year + 1}",
        "",
        f"Group scope. {markdown_cell(dates.text.replace('  ·  ', '. '))}.",
        "",
    ]
    lines.append("| " + " | ".join(markdown_cell(c) for c in table.columns) + " |")
    lines.append("|" + "|".join(":---:" if c == SELF_ASSESSMENT else "---" for c in table.columns) + "|")
    for row in table.itertuples(index=False):
        lines.append("| " + " | ".join(markdown_cell(cell) for cell in row) + " |")
    lines += ["", markdown_cell(STAR_LEGEND), ""]
    lines += [markdown_cell(note) + "  " for note in _notes(table)]
    lines += ["", markdown_cell(f"Source: {charts.SOURCE}. {ROUNDING_NOTE}"), ""]
    return "\n".join(lines)


_HTML_STYLE = """
body { font-family: "DejaVu Sans", Arial, sans-serif; color: #222; margin: 2em; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #bbb; padding: 0.4em 0.6em; text-align: left; vertical-align: top; }
th { background: #e8eef4; }
td.rating { text-align: center; font-weight: bold; white-space: nowrap; }
p.small { font-size: 0.85em; color: #555; }
"""


def to_html(table: pd.DataFrame, fiscal_year: int, dates: charts.ReportDates) -> str:
    """The table as one self-contained HTML page (no external resources, every text escaped)."""
    e = html.escape
    head = "".join(f'<th scope="col">{e(str(c))}</th>' for c in table.columns)
    body = []
    for row in table.itertuples(index=False):
        cells = [
            f'<td class="rating">{e(str(v))}</td>' if c == SELF_ASSESSMENT else f"<td>{e(str(v))}</td>"
            for c, v in zip(table.columns, row)
        ]
        body.append("<tr>" + "".join(cells) + "</tr>")
    notes = "".join(f'<p class="small">{e(note)}</p>' for note in _notes(table))
    title = f"Environmental results FY{fiscal_year} and plans for FY{fiscal_year + 1}"
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{e(title)}</title>\n<style>{_HTML_STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{e(title)}</h1>\n<p>Group scope. {e(dates.text.replace('  ·  ', '. '))}.</p>\n"
        f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n" + "\n".join(body) + "\n</tbody>\n</table>\n"
        f"<p>{e(STAR_LEGEND)}</p>\n{notes}\n"
        f'<p class="small">Source: {e(charts.SOURCE)}. {e(ROUNDING_NOTE)}</p>\n</body>\n</html>\n'
    )


# --- PDF ------------------------------------------------------------------------------------

# Every page of the pack is A4 landscape (297 x 210 mm); a chart is scaled to fit the area inside
# the margins, centred, above the pack's own footer (its title and the page number).
A4_LANDSCAPE_INCHES = (297 / 25.4, 210 / 25.4)
PAGE_MARGINS_INCHES = {"left": 0.45, "right": 0.45, "top": 0.4, "bottom": 0.6}


def pack_title(fiscal_year: int) -> str:
    return f"Environmental report pack FY{fiscal_year}"


def title_page(table: pd.DataFrame, fiscal_year: int, dates: charts.ReportDates) -> Figure:
    """An A4 landscape page with the results table, for the front of the PDF pack."""
    with charts.house_style():
        fig = Figure(figsize=A4_LANDSCAPE_INCHES)
        fig.text(
            0.04,
            0.93,
            f"Environmental results FY{fiscal_year} and plans for FY{fiscal_year + 1}",
            fontsize=18,
            fontweight="bold",
            va="top",
        )
        fig.text(0.04, 0.875, f"Group scope  ·  {dates.text}", fontsize=11, color="#555555", va="top")
        ax = fig.add_axes((0.04, 0.22, 0.92, 0.62))
        charts.draw_table(
            ax,
            list(table.columns),
            table.to_numpy().tolist(),
            col_widths=[0.25, 0.27, 0.09, 0.25, 0.14],
            wrap=[34, 36, 11, 34, 20],
            fontsize=9,
            estimated_height_pts=0.62 * 8.27 * 72,
            centred=[2],
        )
        fig.text(0.04, 0.14, STAR_LEGEND, fontsize=10, va="top")
        fig.text(0.04, 0.105, ROUNDING_NOTE, fontsize=8.5, color="#555555", va="top")
        charts.add_footer(fig, dates)
    return fig


def write_title_page(table: pd.DataFrame, path: Path, fiscal_year: int, dates: charts.ReportDates) -> Path:
    """The title page alone, as a one-page PDF (the first page of the pack)."""
    fig = title_page(table, fiscal_year, dates)
    with charts.house_style(), lean_subsets():
        fig.savefig(path, format="pdf", metadata={"CreationDate": None})
    return path


def pack_pages(kpi_results: pd.DataFrame, fiscal_year: int, registry: pd.DataFrame) -> list[str]:
    """The chart stems of the pack's pages after the title and contents pages, in order."""
    stems = [charts.overview_stem(fiscal_year)]
    for kpi in charts.kpis_in_order(kpi_results, registry):
        stems += [charts.trend_stem(kpi, fiscal_year), charts.breakdown_stem(kpi, fiscal_year)]
    return stems


def page_titles(kpi_results: pd.DataFrame, fiscal_year: int, registry: pd.DataFrame) -> list[str]:
    """The pack's pages as the contents page lists them, title page and contents included."""
    registry = charts.read_registry(registry)
    titles = [
        f"Results FY{fiscal_year} and plans for FY{fiscal_year + 1}",
        "Contents",
        f"Overview: all KPIs of the group, FY{fiscal_year}",
    ]
    for kpi in charts.kpis_in_order(kpi_results, registry):
        label = charts.kpi_info(kpi, registry, kpi_results).label
        titles += [f"{label}: trend to FY{fiscal_year}", f"{label}: FY{fiscal_year} by business unit and plant"]
    return titles


def _frames(titles: list[str], fiscal_year: int, dates: charts.ReportDates) -> bytes:
    """The pack's A4 pages without their charts: the footer with page numbers on every page, and
    the contents page (the second), as one PDF drawn in the house style."""
    from matplotlib.backends.backend_pdf import PdfPages

    width, height = A4_LANDSCAPE_INCHES
    buffer = io.BytesIO()
    total = len(titles)
    with (
        charts.house_style(),
        lean_subsets(),
        PdfPages(buffer, metadata={"CreationDate": None, "Creator": "envkpi"}) as pdf,
    ):
        for number, title in enumerate(titles, start=1):
            fig = Figure(figsize=(width, height))
            y = 0.25 / height
            fig.text(
                PAGE_MARGINS_INCHES["left"] / width,
                y,
                f"{pack_title(fiscal_year)}  ·  {title}",
                fontsize=8,
                color="#555555",
                ha="left",
                va="bottom",
            )
            fig.text(
                1 - PAGE_MARGINS_INCHES["right"] / width,
                y,
                f"Page {number} of {total}",
                fontsize=8,
                color="#555555",
                ha="right",
                va="bottom",
            )
            if number == 2:
                _draw_contents(fig, titles, fiscal_year, dates)
            pdf.savefig(fig)
    return buffer.getvalue()


def _draw_contents(fig: Figure, titles: list[str], fiscal_year: int, dates: charts.ReportDates) -> None:
    left = 0.08
    fig.text(left, 0.9, "Contents", fontsize=18, fontweight="bold", va="top")
    fig.text(left, 0.84, f"{pack_title(fiscal_year)}  ·  {dates.text}", fontsize=10, color="#555555", va="top")
    step = min(0.055, 0.66 / max(len(titles), 1))
    for number, title in enumerate(titles, start=1):
        y = 0.76 - (number - 1) * step
        fig.text(left, y, title, fontsize=11, va="top")
        fig.text(0.88, y, str(number), fontsize=11, va="top", ha="right")


def join_pdf(pages: list[Path], path: Path, fiscal_year: int, dates: charts.ReportDates, titles: list[str]) -> Path:
    """The PDF pack (written atomically): ``titles[i]`` names page i+1; ``pages`` are one-page PDFs
    (the title page, then the charts) placed on the A4 pages, the contents page second."""
    from pypdf import PdfReader, PdfWriter  # only the pack needs it

    writer = PdfWriter(clone_from=io.BytesIO(_frames(titles, fiscal_year, dates)))
    contents = [pages[0], None, *pages[1:]]
    if len(contents) != len(titles):
        raise ValueError(f"{len(titles)} page titles for {len(contents)} pages")
    width, height = (72 * inches for inches in A4_LANDSCAPE_INCHES)
    margins = {side: 72 * inches for side, inches in PAGE_MARGINS_INCHES.items()}
    box_width = width - margins["left"] - margins["right"]
    box_height = height - margins["top"] - margins["bottom"]
    for frame, content in zip(writer.pages, contents):
        if content is not None:
            page = PdfReader(content).pages[0]
            page_width, page_height = float(page.mediabox.width), float(page.mediabox.height)
            scale = min(box_width / page_width, box_height / page_height)
            x = margins["left"] + (box_width - scale * page_width) / 2 - scale * float(page.mediabox.left)
            y = margins["bottom"] + (box_height - scale * page_height) / 2 - scale * float(page.mediabox.bottom)
            _draw_page_on(writer, frame, page, (scale, 0, 0, scale, x, y))
    for number, title in enumerate(titles):
        writer.add_outline_item(title=title, page_number=number)
    writer.add_metadata({"/Title": pack_title(fiscal_year), "/Creator": "envkpi"})
    replace_atomically(path, lambda tmp: writer.write(tmp))  # a killed run never leaves half a PDF
    return path


# The six numbers of a PDF transformation matrix (a b c d e f).
Matrix = tuple[float, float, float, float, float, float]


def _draw_page_on(writer, frame, page, matrix: Matrix) -> None:
    """Draw the one-page PDF ``page`` on ``frame`` (a page of ``writer``), through ``matrix``.

    The page becomes a form XObject (its content stream as it is, still compressed, with its own
    resources) that the frame draws once: pypdf's ``merge_transformed_page`` parses and rewrites
    both content streams, a chart's tens of thousands of operators, which took most of the time
    of joining the pack. A page with annotations (the charts have none) is merged as before.
    """
    from pypdf import Transformation
    from pypdf.generic import ArrayObject, DecodedStreamObject, DictionaryObject, FloatObject, NameObject

    contents = page.get("/Contents")
    stream = contents.get_object() if contents is not None else None
    if (
        page.get("/Annots")
        and page["/Annots"].get_object()
        or stream is None
        or "/Filter" not in stream
        or isinstance(stream, ArrayObject)
    ):
        frame.merge_transformed_page(page, Transformation(matrix))
        return
    form = stream.clone(writer, force_duplicate=True)
    form.update(
        {
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Form"),
            NameObject("/BBox"): ArrayObject(FloatObject(v) for v in page.mediabox),
            NameObject("/Resources"): page["/Resources"].clone(writer),
        }
    )
    resources = frame["/Resources"].get_object()
    xobjects = resources.setdefault(NameObject("/XObject"), DictionaryObject()).get_object()
    name = NameObject(f"/envkpi_page{len(xobjects)}")
    xobjects[name] = writer._add_object(form)
    # Over the frame's own drawing, as merge_transformed_page puts it.
    draw = DecodedStreamObject()
    numbers = io.BytesIO()
    for value in matrix:  # written as pypdf writes a merged page's matrix: the same pixels
        FloatObject(value).write_to_stream(numbers)
        numbers.write(b" ")
    draw.set_data(b"q " + numbers.getvalue() + f"cm {name} Do Q\n".encode("ascii"))
    own = frame["/Contents"]
    parts = list(own.get_object()) if isinstance(own.get_object(), ArrayObject) else [own]
    frame[NameObject("/Contents")] = ArrayObject([*parts, writer._add_object(draw)])


# --- the pack -------------------------------------------------------------------------------


def write_report_pack(
    kpi_results: pd.DataFrame,
    out_dir: Path,
    fiscal_year: int,
    dates: charts.ReportDates,
    registry: pd.DataFrame,
    plant_names: dict | None = None,
    published: pd.DataFrame | None = None,
    recalculation_threshold_pct: float = 5.0,
) -> dict[str, Path]:
    """Write the FY results table (md, html, xlsx, csv) and the PDF pack; returns paths by format.

    Files: ``results_FY<fy>.md|.html|.xlsx|.csv`` and ``report_pack_FY<fy>.pdf``. The XLSX has a
    sheet saying what each sheet holds, the table, and the unrounded figures of the year for every
    scope. ``published`` and ``recalculation_threshold_pct`` as for ``results_table``. Title page,
    contents, then the overview, then each KPI's trend and breakdown: the charts' own PDFs, drawn
    in this process from the annual report's job list (``envkpi.reporting.annual_report``).
    """
    from envkpi.reporting import annual_report  # it draws with this module

    written = annual_report.write_files(
        kpi_results,
        fiscal_year,
        dates,
        registry,
        pack_folder=Path(out_dir),
        plant_names=plant_names,
        published=published,
        recalculation_threshold_pct=recalculation_threshold_pct,
    )
    return {name.removeprefix("pack:"): path for name, path in written.items()}


def write_table_texts(
    table: pd.DataFrame, out_dir: Path, fiscal_year: int, dates: charts.ReportDates
) -> dict[str, Path]:
    """The results table as ``results_FY<fy>.md`` and ``.html``; returns the paths by format."""
    stem = f"results_FY{fiscal_year}"
    paths = {"md": out_dir / f"{stem}.md", "html": out_dir / f"{stem}.html"}
    markdown, html_text = to_markdown(table, fiscal_year, dates), to_html(table, fiscal_year, dates)
    replace_atomically(paths["md"], lambda tmp: tmp.write_text(markdown, encoding="utf-8"))
    replace_atomically(paths["html"], lambda tmp: tmp.write_text(html_text, encoding="utf-8"))
    return paths


# The figures sheet: each kpi_results column with the header a person reads (units in it), what it
# holds, and its number format (values stay unrounded; the format only rounds what is shown).
FIGURE_COLUMNS = {
    "kpi": ("KPI (id)", "the KPI's id in the registry (data/reference/kpis.csv)", None),
    "label": ("KPI", "the KPI's name as the report prints it", None),
    "scope_level": ("Scope level", "group, business_unit or plant", None),
    "scope_id": ("Scope", "group, the business unit's name, or the plant_id", None),
    "fiscal_year": ("Fiscal year (FY)", "the fiscal year, named for the calendar year it starts in", "0"),
    "numerator": (
        "Numerator (numerator unit)",
        "the total of the KPI's numerator measure, e.g. energy in GJ",
        "#,##0.0",
    ),
    "numerator_unit": ("Numerator unit", "the unit of the numerator", None),
    "denominator": (
        "Denominator (denominator unit)",
        "the total of the denominator measure, e.g. production in t",
        "#,##0.0",
    ),
    "denominator_unit": ("Denominator unit", "the unit of the denominator", None),
    "value": (
        "Value (numerator unit per denominator unit; % for rates)",
        "the intensity, or the rate in %",
        "#,##0.0000",
    ),
    "base_year": ("Base year (FY)", "the KPI's base year; empty for rates", "0"),
    "base_value": ("Base-year value (as Value)", "the value in the base year; empty for rates", "#,##0.0000"),
    "change_vs_base_pct": ("Change vs base year (%, positive = reduction)", "(1 - value / base value) x 100", "0.0"),
    "target_pct": ("Target (%)", "the reduction vs base year, or the rate, set as target; empty without one", "0.0#"),
    "achievement_ratio": (
        "Achievement ratio",
        "result / target: "
        + ", ".join(f"{r.from_ratio:g} or more {r.shown_as}" for r in RATINGS if r.from_ratio > -math.inf),
        "0.000",
    ),
    "rating": ("Rating", ", ".join(f"{r.word} ({r.symbol})" for r in RATINGS) + "; empty without a target", None),
    "completeness_pct": (
        "Completeness (% of plant-months)",
        "in-boundary plant-months with both production and the KPI's own kind",
        "0.0",
    ),
}


def _figures_sheet(kpi_results: pd.DataFrame, fiscal_year: int, registry: pd.DataFrame):
    """The unrounded figures with readable headers, the sheet's layout, and the kpi_results names
    of its columns."""
    from envkpi.reporting.export import SheetLayout

    figures = figures_table(kpi_results, fiscal_year, registry)
    headers = [FIGURE_COLUMNS.get(column, (column, "", None))[0] for column in figures.columns]
    formats = {
        i: number_format
        for i, c in enumerate(figures.columns)
        if (number_format := FIGURE_COLUMNS.get(c, (c, "", None))[2])
    }
    # Wide enough for the longest text of a column (at most 40 characters) and for its header
    # wrapped on two or three lines; numbers fit in 12 to 16 characters with their format.
    widths = []
    for column, header in zip(figures.columns, headers):
        values = figures[column].dropna()
        if pd.api.types.is_numeric_dtype(values) or values.empty:
            longest = 14
        else:
            longest = int(values.astype(str).str.len().max()) + 2
        widths.append(round(float(min(40, max(12, longest, len(header) * 0.45 + 3))), 1))
    layout = SheetLayout(widths=widths, number_formats=formats, wrap=False)
    return figures.set_axis(headers, axis=1), layout, list(figures.columns)


def _about_sheet(
    results_sheet: str, figures_sheet: str, figures_columns: list[str], fiscal_year: int, dates: charts.ReportDates
) -> pd.DataFrame:
    """What each sheet holds and, for the figures sheet, each column and its kpi_results.csv name."""
    rows = [
        ["Period covered", dates.period_covered, ""],
        ["Figures as of", f"{dates.figures_as_of} (the latest delivery among those the figures include)", ""],
        ["About", "this sheet: what each sheet and column holds", ""],
        [
            results_sheet,
            f"the CSR results table of FY{fiscal_year} and the plans for FY{fiscal_year + 1}, "
            "as the report prints it; results rounded half up to one decimal where needed, "
            "targets as set; † marks a result from incomplete data",
            "",
        ],
        [
            figures_sheet,
            f"the unrounded figures behind it: every KPI and scope (group, business units, "
            f"plants) of FY{fiscal_year}, one row each, as in kpi_results.csv (contract 5)",
            "",
        ],
    ]
    rows += [
        [
            f"{figures_sheet}: {FIGURE_COLUMNS.get(c, (c,))[0]}",
            FIGURE_COLUMNS[c][1] if c in FIGURE_COLUMNS else "as in kpi_results.csv",
            c if c != "label" else "",
        ]
        for c in figures_columns
    ]
    return pd.DataFrame(rows, columns=["Sheet or column", "What it holds", "Column in kpi_results.csv"])


def write_results_xlsx(
    kpi_results: pd.DataFrame,
    table: pd.DataFrame,
    path: Path,
    fiscal_year: int,
    registry: pd.DataFrame,
    dates: charts.ReportDates,
) -> Path:
    """The results as XLSX: a first sheet saying what each sheet and column holds, the results
    table as printed, and the unrounded figures of the year with units in the headers."""
    from envkpi.reporting.export import SheetLayout

    registry = charts.read_registry(registry)
    results_sheet, figures_sheet = f"Results FY{fiscal_year}", f"Figures FY{fiscal_year}"
    figures, figures_layout, machine_columns = _figures_sheet(kpi_results, fiscal_year, registry)
    about = _about_sheet(results_sheet, figures_sheet, machine_columns, fiscal_year, dates)
    sheets = {"About": about, results_sheet: table, figures_sheet: figures}
    layouts = {
        "About": SheetLayout(widths=[34, 90, 24]),
        results_sheet: SheetLayout(widths=[42, 46, 15, 42, 36], centred=[2]),
        figures_sheet: figures_layout,
    }
    return write_xlsx(sheets, path, layouts)
