"""The report pack prints the CSR results table of a fiscal year as the FY2017 CSR report did."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from helpers import COLUMNS, REGISTRY, kpi_row
from pypdf import PdfReader

from envkpi.reporting import charts, report_pack
from envkpi.reporting.export import FORMULA_STARTS

DATES = charts.ReportDates("FY2017 (Apr 2017 – Mar 2018)", "2018-05-15")


PLANNED, RESULTS, NEXT = "FY2017 measures (planned)", "FY2017 measures (results)", "Measures planned for FY2018"


def fy2017() -> pd.DataFrame:
    """The group's FY2017 as the CSR report printed it, with two BUs and four plants.

    Energy: 10 -> 9.3362 GJ/t is a 6.638 % reduction against a 11.5 % target (ratio 0.58).
    Waste: 0.2 -> 0.17801 t/t is 10.995 % against 7.5 %. Recycling 79.02 % against 72 %.
    Chemicals: 2.0 -> 1.6201 kg/t is 18.995 % against 32 %, from 95.8 % of the plant-months.
    FY2018 holds the next year's targets only; P04 was acquired after the base year.
    """
    rows = [
        kpi_row("group", "group", "energy_intensity", 2016, 9.45, 10.0, 10.5, "not achieved"),
        kpi_row("group", "group", "energy_intensity", 2017, 9.3362, 10.0, 11.5, "not achieved"),
        kpi_row("group", "group", "energy_intensity", 2018, None, 10.0, 13.0),
        kpi_row("business_unit", "Magnets", "energy_intensity", 2017, 9.0, 10.0),
        kpi_row("business_unit", "Cables", "energy_intensity", 2017, 9.8, 10.0),
        kpi_row("plant", "P01", "energy_intensity", 2017, 8.9, 10.0),
        kpi_row("plant", "P02", "energy_intensity", 2017, 9.2, 10.0),
        kpi_row("plant", "P03", "energy_intensity", 2017, 9.7, 10.0),
        kpi_row("plant", "P04", "energy_intensity", 2017, 9.9, None),
        kpi_row("group", "group", "waste_intensity", 2017, 0.17801, 0.2, 7.5, "achieved"),
        kpi_row("group", "group", "waste_intensity", 2018, None, 0.2, 8.0),
        kpi_row("group", "group", "chemical_intensity", 2017, 1.6201, 2.0, 32.0, "not achieved", completeness=95.8),
        kpi_row("group", "group", "chemical_intensity", 2018, None, 2.0, 34.0),
        kpi_row("group", "group", "recycling_rate", 2016, 75.0, target=80.0, rating="90% achieved"),
        kpi_row("group", "group", "recycling_rate", 2017, 79.02, target=72.0, rating="achieved"),
        kpi_row("group", "group", "recycling_rate", 2018, None, target=74.0),
    ]
    return pd.DataFrame(rows, columns=COLUMNS)


def test_results_table_reproduces_the_fy2017_csr_table():
    table = report_pack.results_table(fy2017(), 2017, REGISTRY)

    assert list(table.columns) == [PLANNED, RESULTS, "Self-assessment", NEXT, "Note"]
    assert table[[PLANNED, RESULTS, "Self-assessment", NEXT]].values.tolist() == [
        [
            "Reduce energy per production unit (11.5% compared to base year FY2005)",
            "Reduced energy per production unit (6.6% compared to base year FY2005)",
            "*",
            "Reduce energy per production unit (13% compared to base year FY2005)",
        ],
        [
            "Reduce waste and valuables per production unit (7.5% compared to base year FY2005)",
            "Reduced waste and valuables per production unit (11% compared to base year FY2005)",
            "***",
            "Reduce waste and valuables per production unit (8% compared to base year FY2005)",
        ],
        [
            "Reduce chemical emissions per production unit (32% compared to base year FY2006)",
            "Reduced chemical emissions per production unit (19% compared to base year FY2006) †",
            "*",
            "Reduce chemical emissions per production unit (34% compared to base year FY2006)",
        ],
        [
            "Increase the recycling rate (72%)",
            "Increased the recycling rate (79%)",
            "***",
            "Increase the recycling rate (74%)",
        ],
    ]


def test_an_incomplete_result_is_marked_and_explained():
    table = report_pack.results_table(fy2017(), 2017, REGISTRY)

    assert table["Note"].tolist() == [
        "",
        "",
        "† Incomplete data: 95.8% of plant-months reported; the result may change",
        "",
    ]


def test_self_assessment_shows_90_percent_achieved_as_two_stars():
    table = report_pack.results_table(fy2017(), 2016, REGISTRY)

    recycling = table[table["FY2016 measures (planned)"] == "Increase the recycling rate (80%)"]
    assert recycling["Self-assessment"].tolist() == ["**"]
    assert recycling["Measures planned for FY2017"].tolist() == ["Increase the recycling rate (72%)"]


def test_the_next_years_plan_needs_a_target_not_a_result_row():
    data = fy2017()
    without_fy2018_energy = data[~((data["kpi"] == "energy_intensity") & (data["fiscal_year"] == 2018))]

    table = report_pack.results_table(without_fy2018_energy, 2017, REGISTRY)

    # FY2018 rows hold targets only (value empty), and that is enough for the plan column.
    assert table[NEXT].tolist() == [
        "No target set for FY2018",
        "Reduce waste and valuables per production unit (8% compared to base year FY2005)",
        "Reduce chemical emissions per production unit (34% compared to base year FY2006)",
        "Increase the recycling rate (74%)",
    ]


def test_an_intensity_that_rose_is_reported_as_an_increase():
    data = pd.DataFrame(
        [kpi_row("group", "group", "energy_intensity", 2017, 10.32, 10.0, 11.5, "not achieved")], columns=COLUMNS
    )

    table = report_pack.results_table(data, 2017, REGISTRY)

    assert table[RESULTS].tolist() == ["Increased energy per production unit (3.2% compared to base year FY2005)"]


def test_results_show_one_decimal_where_needed():
    data = pd.DataFrame(
        [
            kpi_row("group", "group", "waste_intensity", 2017, 0.17748, 0.2, 7.5, "achieved"),
            kpi_row("group", "group", "recycling_rate", 2017, 64.96, target=72.0, rating="90% achieved"),
        ],
        columns=COLUMNS,
    )

    table = report_pack.results_table(data, 2017, REGISTRY)

    # 11.26 % and 64.96 % round half up to one decimal.
    assert table[RESULTS].tolist() == [
        "Reduced waste and valuables per production unit (11.3% compared to base year FY2005)",
        "Recorded a recycling rate of 65%",
    ]


def test_a_missed_target_never_prints_as_the_target_itself():
    # 11.46 % would round to 11.5 %, the target, next to a "**" self-assessment.
    data = pd.DataFrame(
        [kpi_row("group", "group", "energy_intensity", 2017, 8.854, 10.0, 11.5, "90% achieved")], columns=COLUMNS
    )

    table = report_pack.results_table(data, 2017, REGISTRY)

    assert table[RESULTS].tolist() == ["Reduced energy per production unit (11.46% compared to base year FY2005)"]
    assert table["Self-assessment"].tolist() == ["**"]


def test_a_kpi_without_target_has_no_self_assessment():
    data = pd.DataFrame([kpi_row("group", "group", "waste_intensity", 2017, 0.19, 0.2)], columns=COLUMNS)

    table = report_pack.results_table(data, 2017, REGISTRY)

    assert table.loc[0, PLANNED] == "No target set for FY2017"
    assert table.loc[0, RESULTS] == "Reduced waste and valuables per production unit (5% compared to base year FY2005)"
    assert table.loc[0, "Self-assessment"] == "–"


@pytest.fixture(scope="module")
def pack(tmp_path_factory) -> dict[str, Path]:
    """The FY2017 pack, with hostile texts where plants and registry editors can type them."""
    data = fy2017()
    data.loc[data["scope_id"] == "P03", "scope_id"] = "@SUM(1+1)"
    data.loc[data["scope_id"] == "Cables", "scope_id"] = "+Cables"
    data.loc[data["scope_id"] == "P04", "scope_id"] = "-P04"
    registry = REGISTRY.copy()
    registry.loc[registry["kpi"] == "recycling_rate", "label"] = '=HYPERLINK("http://evil.example","<b>rate</b>")'
    out = tmp_path_factory.mktemp("pack")
    return report_pack.write_report_pack(data, out, 2017, DATES, registry)


def test_the_pack_is_written_in_every_format_with_deterministic_names(pack):
    assert {fmt: path.name for fmt, path in pack.items()} == {
        "md": "results_FY2017.md",
        "html": "results_FY2017.html",
        "xlsx": "results_FY2017.xlsx",
        "csv": "results_FY2017.csv",
        "pdf": "report_pack_FY2017.pdf",
    }
    assert all(path.stat().st_size > 0 for path in pack.values())


def test_markdown_renders_the_figures_and_escaped_stars(pack):
    text = pack["md"].read_text(encoding="utf-8")

    assert (
        "| Reduce energy per production unit (11.5% compared to base year FY2005) "
        "| Reduced energy per production unit (6.6% compared to base year FY2005) | \\* |" in text
    )
    assert "(11% compared to base year FY2005) | \\*\\*\\* |" in text
    assert "Period covered: FY2017 (Apr 2017 – Mar 2018). Figures as of: 2018-05-15." in text


def test_html_is_self_contained_and_escaped(pack):
    text = pack["html"].read_text(encoding="utf-8")

    assert "<b>rate</b>" not in text
    assert "&lt;b&gt;rate&lt;/b&gt;" in text
    assert not re.search(r"""(src|href)=["']?http""", text)
    assert '<td class="rating">***</td>' in text
    assert "6.6%" in text and "11.5%" in text


def test_csv_holds_the_table_and_no_cell_starts_a_formula(pack):
    table = pd.read_csv(pack["csv"], keep_default_na=False)

    assert table.loc[0, RESULTS] == "Reduced energy per production unit (6.6% compared to base year FY2005)"
    assert table[NEXT].str.extract(r"\((\d+(?:\.\d+)?)%")[0].tolist() == ["13", "8", "34", "74"]
    assert not any(str(cell).startswith(FORMULA_STARTS) for cell in table.to_numpy().ravel())


def test_xlsx_text_that_would_start_a_formula_is_neutralised(pack):
    workbook = openpyxl.load_workbook(pack["xlsx"])
    assert workbook.sheetnames == ["About", "Results FY2017", "Figures FY2017"]
    results = [[cell.value for cell in row] for row in workbook["Results FY2017"].iter_rows()]
    figures = [[cell.value for cell in row] for row in workbook["Figures FY2017"].iter_rows()]

    assert results[0] == [PLANNED, RESULTS, "Self-assessment", NEXT, "Note"]
    assert [row[2] for row in results[1:]] == ["*", "***", "*", "***"]
    header = figures[0]
    scope_ids = [row[header.index("Scope")] for row in figures[1:]]
    labels = {row[header.index("KPI")] for row in figures[1:]}
    assert {"'@SUM(1+1)", "'+Cables", "'-P04"} <= set(scope_ids)
    assert '\'=HYPERLINK("http://evil.example","<b>rate</b>")' in labels
    assert all(cell.data_type != "f" for sheet in workbook for row in sheet.iter_rows() for cell in row)
    # Numbers stay numbers, unrounded.
    change = header.index("Change vs base year (%, positive = reduction)")
    energy = next(row for row in figures[1:] if row[0] == "energy_intensity" and row[header.index("Scope")] == "group")
    assert energy[change] == pytest.approx(6.638)
    assert energy[change] != 6.6


def test_pdf_has_the_table_page_contents_the_overview_and_two_pages_per_kpi(pack):
    content = pack["pdf"].read_bytes()

    assert content.startswith(b"%PDF-")
    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", content)) == 1 + 1 + 1 + 2 * 4


# --- print-ready PDF and a readable XLSX -----------------------------------------------------

A4_LANDSCAPE_POINTS = (297 / 25.4 * 72, 210 / 25.4 * 72)  # 841.9 x 595.3


def test_every_page_of_the_pack_is_a4_landscape(pack):
    reader = PdfReader(pack["pdf"])

    assert len(reader.pages) == 11
    for page in reader.pages:
        assert (float(page.mediabox.width), float(page.mediabox.height)) == pytest.approx(A4_LANDSCAPE_POINTS, abs=0.5)
        assert float(page.mediabox.left) == 0 and float(page.mediabox.bottom) == 0


def test_every_page_is_numbered_and_the_contents_page_lists_them(pack):
    reader = PdfReader(pack["pdf"])
    pages = [page.extract_text() for page in reader.pages]

    for number, text in enumerate(pages, start=1):
        assert f"Page {number} of 11" in text
    contents = pages[1]
    assert "Contents" in contents
    # Title page 1, contents 2, overview 3, then per KPI in registry order a trend and a breakdown.
    listed = {
        "Overview: all KPIs of the group, FY2017": 3,
        "Energy per production unit: trend to FY2017": 4,
        "Energy per production unit: FY2017 by business unit and plant": 5,
        "Waste and valuables per production unit: trend to FY2017": 6,
        "Chemical emissions per production unit: FY2017 by business unit and plant": 9,
    }
    lines = [line.strip() for line in contents.splitlines()]
    for title, number in listed.items():
        assert f"{title} {number}" in lines, title  # the title, then its page number on the same line
    assert "Energy per production unit: FY2017 by business unit and plant" in pages[4]
    assert "Environmental results FY2017 and plans for FY2018" in pages[0]
    assert [item.title for item in reader.outline][:3] == [
        "Results FY2017 and plans for FY2018",
        "Contents",
        "Overview: all KPIs of the group, FY2017",
    ]


def _fonts(resources, seen: set) -> list:
    """Every font of a resource dictionary, its XObjects' and patterns' included."""
    found = []
    if resources is None or id(resources) in seen:
        return found
    seen.add(id(resources))
    resources = resources.get_object()
    for font in (resources.get("/Font") or {}).values():
        found.append(font.get_object())
    for key in ("/XObject", "/Pattern"):
        for item in (resources.get(key) or {}).values():
            found += _fonts(item.get_object().get("/Resources"), seen)
    return found


def test_the_pack_embeds_truetype_fonts_and_no_type3(pack):
    reader = PdfReader(pack["pdf"])

    for number, page in enumerate(reader.pages, start=1):
        fonts = _fonts(page.get("/Resources"), set())
        assert fonts, f"page {number} has no fonts"
        for font in fonts:
            assert font["/Subtype"] in ("/TrueType", "/Type0"), (number, font["/Subtype"])
            descendant = font["/DescendantFonts"][0].get_object() if font["/Subtype"] == "/Type0" else font
            if font["/Subtype"] == "/Type0":
                assert descendant["/Subtype"] == "/CIDFontType2"  # TrueType outlines
            assert "/FontFile2" in descendant["/FontDescriptor"].get_object(), "font not embedded"
    if shutil.which("pdffonts"):
        listing = subprocess.run(["pdffonts", str(pack["pdf"])], capture_output=True, text=True, check=True).stdout
        rows = listing.splitlines()[2:]
        assert rows and not [row for row in rows if "Type 3" in row]
        assert all(" yes " in row for row in rows)  # emb


def test_the_xlsx_says_what_each_sheet_holds_and_reads_as_a_table(pack):
    workbook = openpyxl.load_workbook(pack["xlsx"])
    about = [[cell.value for cell in row] for row in workbook["About"].iter_rows()]
    results, figures = workbook["Results FY2017"], workbook["Figures FY2017"]

    described = {row[0]: row for row in about[1:]}
    assert "Results FY2017" in described and "Figures FY2017" in described
    assert described["Period covered"][1] == "FY2017 (Apr 2017 – Mar 2018)"
    assert described["Figures as of"][1].startswith("2018-05-15")
    # Every column of the figures sheet is described with its name in kpi_results.csv.
    headers = [cell.value for cell in figures[1]]
    for header in headers:
        assert f"Figures FY2017: {header}" in described, header
    assert described["Figures FY2017: Completeness (% of plant-months)"][2] == "completeness_pct"
    assert described["Figures FY2017: Scope"][2] == "scope_id"
    assert "Change vs base year (%, positive = reduction)" in headers and "Target (%)" in headers

    for sheet in (workbook["About"], results, figures):
        assert sheet.freeze_panes == "A2"
        assert all(cell.font.bold for cell in sheet[1])
    for letter in "ABCDE":
        assert results.column_dimensions[letter].width >= 15
    assert all(cell.alignment.wrap_text for row in results.iter_rows() for cell in row)
    assert results["C2"].alignment.horizontal == "center"

    def column(name):
        return headers.index(name) + 1

    first = 2
    assert figures.cell(first, column("Change vs base year (%, positive = reduction)")).number_format == "0.0"
    assert figures.cell(first, column("Completeness (% of plant-months)")).number_format == "0.0"
    assert figures.cell(first, column("Fiscal year (FY)")).number_format == "0"
    assert figures.cell(first, column("Denominator (denominator unit)")).number_format == "#,##0.0"
    assert figures.column_dimensions["A"].width >= 12


@pytest.mark.skipif(not shutil.which("pdftoppm"), reason="needs poppler-utils")
def test_a_chart_page_of_the_pack_looks_as_the_chart_merged_onto_its_a4_page(tmp_path):
    """join_pdf draws each chart's own PDF on its A4 page as a form XObject; poppler draws the page
    pixel for pixel as pypdf's merge of the same chart, scaled into the margins and centred."""
    from pypdf import PdfWriter, Transformation

    data = fy2017()
    charts.save_figure(charts.overview_figure(data, 2017, DATES, REGISTRY), tmp_path, "overview")
    title = report_pack.write_title_page(
        report_pack.results_table(data, 2017, REGISTRY), tmp_path / "title.pdf", 2017, DATES
    )
    titles = ["Results", "Contents", "Overview"]
    report_pack.join_pdf([title, tmp_path / "overview.pdf"], tmp_path / "pack.pdf", 2017, DATES, titles)

    # By hand: A4 landscape (841.89 x 595.28 pt), margins 0.45 in left and right, 0.4 top, 0.6 bottom.
    merged = PdfWriter(clone_from=io.BytesIO(report_pack._frames(titles, 2017, DATES)))
    chart = PdfReader(tmp_path / "overview.pdf").pages[0]
    box_width, box_height = 841.889764 - 2 * 32.4, 595.275591 - 28.8 - 43.2
    width, height = float(chart.mediabox.width), float(chart.mediabox.height)
    scale = min(box_width / width, box_height / height)
    merged.pages[2].merge_transformed_page(
        chart,
        Transformation()
        .scale(scale, scale)
        .translate(32.4 + (box_width - scale * width) / 2, 43.2 + (box_height - scale * height) / 2),
    )
    merged.write(tmp_path / "merged.pdf")

    for name in ("pack", "merged"):
        subprocess.run(
            [
                "pdftoppm",
                "-r",
                "100",
                "-f",
                "3",
                "-l",
                "3",
                "-png",
                str(tmp_path / f"{name}.pdf"),
                str(tmp_path / name),
            ],
            check=True,
        )
    assert (tmp_path / "pack-3.png").read_bytes() == (tmp_path / "merged-3.png").read_bytes()
