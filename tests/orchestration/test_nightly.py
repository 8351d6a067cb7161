"""The nightly flow runs the pipeline, says what it did in artifacts, and fails only when it breaks.

The landing folder is a two-plant group made here: FY2005 (the base year) and FY2017 of energy
and production, a FY2017 group target, and one file from an unknown plant. Expected figures,
by hand (electricity 0.00976 GJ/kWh):

- FY2017 group: 12 x 1,500,000 kWh x 0.00976 = 175,680 GJ over 12 x 180 t = 2,160 t = 81.33 GJ/t;
- FY2005 group: 12 x 1,650,000 kWh x 0.00976 = 193,248 GJ / 2,160 t = 89.47 GJ/t;
- change vs base = (1 - 1,500,000 / 1,650,000) x 100 = 9.09 %, target 10 % -> ratio 0.909 -> "**";
- Magnets (P01) 117,120 GJ / 1,200 t = 97.6 GJ/t, Cables (P02) 58,560 GJ / 960 t = 61.0 GJ/t.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from envkpi.ingest.deliveries import IngestSummary
from envkpi.ingest.readers import Problem
from envkpi.settings import Settings
from flows.nightly import (
    KPI_RESULTS_KEY,
    MAX_REJECTION_ROWS,
    RESTATEMENTS_KEY,
    RUN_SUMMARY_KEY,
    ingest_and_compute_task,
    nightly,
    publish_task,
    run_message,
    run_summary_markdown,
    write_reports_task,
)

BAD_FILE = "energy_P99_2017-04.csv"


def write_lines(path: Path, *lines: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def fiscal_year_months(fiscal_year: int) -> list[str]:
    return [p.strftime("%Y-%m") for p in pd.period_range(f"{fiscal_year}-04", f"{fiscal_year + 1}-03", freq="M")]


def write_two_plant_group(landing: Path) -> None:
    """Plants, a target, FY2005 and FY2017 energy and production, and one rejected file."""
    write_lines(
        landing / "plants.csv",
        "plant_id,name,business_unit,country,in_scope_from,in_scope_to",
        "P01,Alpha Plant,Magnets,JP,,",
        "P02,Beta Plant,Cables,JP,,",
    )
    write_lines(landing / "targets.csv", "kpi,fiscal_year,target_pct,scope_id", "energy_intensity,2017,10,")
    monthly = {
        2005: {"P01": (1_100_000, 100), "P02": (550_000, 80)},
        2017: {"P01": (1_000_000, 100), "P02": (500_000, 80)},
    }
    for fiscal_year, plants in monthly.items():
        months = fiscal_year_months(fiscal_year)
        write_lines(
            landing / f"energy_FY{fiscal_year}.csv",
            "plant_id,period,energy_type,quantity,unit",
            *[f"{plant},{month},electricity,{kwh},kWh" for plant, (kwh, _) in plants.items() for month in months],
        )
        write_lines(
            landing / f"production_FY{fiscal_year}.csv",
            "plant_id,period,quantity,unit",
            *[f"{plant},{month},{tonnes},t" for plant, (_, tonnes) in plants.items() for month in months],
        )
    write_lines(landing / BAD_FILE, "plant_id,period,energy_type,quantity,unit", "P99,2017-04,electricity,5000,kWh")


def paths(root: Path) -> dict[str, str]:
    return {
        "landing": str(root / "landing"),
        "warehouse": str(root / "warehouse.duckdb"),
        "reports": str(root / "reports"),
        "snapshot": str(root / "published"),
    }


def artifacts_of(state) -> dict[str, object]:
    """The artifacts a flow run created, by key, read back through the Prefect API."""
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id]))
        )
    return {artifact.key: artifact for artifact in found}


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    """One nightly run over the two-plant group: its folders, final state and artifacts."""
    root = tmp_path_factory.mktemp("night")
    write_two_plant_group(root / "landing")
    state = nightly(**paths(root), return_state=True)
    return root, state, artifacts_of(state)


@pytest.mark.slow
def test_a_night_with_a_rejected_file_completes_and_says_so(night):
    _, state, _ = night
    assert state.is_completed()
    assert state.message.startswith("completed with 1 rejected file")
    outcome = state.result()
    assert outcome["rejected"] == [BAD_FILE]
    assert outcome["loaded"] == 6
    assert outcome["fiscal_year"] == 2017


@pytest.mark.slow
def test_the_kpi_artifact_holds_the_report_year_for_the_group_and_business_units(night):
    _, _, artifacts = night
    artifact = artifacts[KPI_RESULTS_KEY]
    assert artifact.type == "table"
    table = pd.DataFrame(json.loads(artifact.data) if isinstance(artifact.data, str) else artifact.data)
    assert list(table.columns) == [
        "scope",
        "kpi",
        "value",
        "change_vs_base_pct",
        "target_pct",
        "rating",
        "completeness_pct",
    ]
    assert set(table["scope"]) == {"group", "Magnets", "Cables"}  # no plant rows
    energy = table[table["kpi"] == "energy_intensity"].set_index("scope")
    assert energy.loc["group", "value"] == 81.33
    assert energy.loc["group", "change_vs_base_pct"] == 9.1
    assert energy.loc["group", "target_pct"] == 10
    assert energy.loc["group", "rating"] == "**"
    assert energy.loc["group", "completeness_pct"] == 100
    assert energy.loc["Magnets", "value"] == 97.6
    assert energy.loc["Cables", "value"] == 61.0
    assert energy.loc["Cables", "rating"] == ""  # no business-unit target
    assert "FY2017" in artifact.description


@pytest.mark.slow
def test_the_rejection_artifact_counts_the_files_and_lists_each_problem(night):
    _, _, artifacts = night
    markdown = artifacts[RUN_SUMMARY_KEY].data
    assert "| loaded | 6 |" in markdown
    assert "| rejected | 1 |" in markdown
    assert "| unchanged (already loaded) | 0 |" in markdown
    assert f"| {BAD_FILE} | 2 | plant_id | P99 | unknown plant" in markdown


@pytest.mark.slow
def test_link_artifacts_point_at_the_reports_that_exist(night):
    root, _, artifacts = night
    for key, path in {
        "envkpi-kpi-results-csv": root / "reports" / "kpi_results.csv",
        "envkpi-rejections-csv": root / "reports" / "rejections.csv",
        "envkpi-data-docs": root / "reports" / "data_docs" / "index.html",
        "envkpi-charts": root / "reports" / "charts",
        "envkpi-report-pack": root / "reports" / "pack" / "report_pack_FY2017.pdf",
    }.items():
        assert path.exists()
        assert path.as_uri() in artifacts[key].data


@pytest.mark.slow
def test_the_run_writes_the_reports_and_publishes_a_readable_snapshot(night):
    root, _, _ = night
    rejections = pd.read_csv(root / "reports" / "rejections.csv")
    assert set(rejections["file"]) == {BAD_FILE}
    with duckdb.connect(str(root / "published" / "warehouse.duckdb"), read_only=True) as snapshot:
        (value,) = snapshot.execute(
            "select value from kpi_results where scope_id = 'group' and kpi = 'energy_intensity' and fiscal_year = 2017"
        ).fetchone()
    assert value == pytest.approx(175_680 / 2_160)


@pytest.mark.slow
def test_a_broken_pipeline_fails_the_run_and_publishes_nothing(tmp_path):
    write_two_plant_group(tmp_path / "landing")
    (tmp_path / "warehouse.duckdb").mkdir()  # a folder where the warehouse file should be
    state = nightly(**paths(tmp_path), return_state=True)
    assert state.is_failed()
    assert not (tmp_path / "published" / "warehouse.duckdb").exists()


def test_only_the_steps_that_write_files_retry():
    # A rejected file is data: ingesting it again gives the same answer, so no retries there.
    assert ingest_and_compute_task.retries == 0
    for step in (write_reports_task, publish_task):
        assert step.retries == 3
        assert step.retry_delay_seconds == [2, 10, 30]


def test_a_clean_run_says_completed_without_flag():
    summary = IngestSummary("run", loaded=["a.csv", "b.csv"], unchanged=["c.csv"])
    assert run_message(summary) == "completed: 2 files loaded, 1 unchanged"


def test_the_rejection_table_is_cut_at_its_limit_and_cannot_be_broken_by_delivered_text():
    problems = [(f"energy_{i}.csv", Problem(2, "unit", "k|Wh\n<b>", "unknown unit")) for i in range(250)]
    summary = IngestSummary("run", rejected=[f"energy_{i}.csv" for i in range(250)], problems=problems)
    markdown = run_summary_markdown(summary, Settings())
    table_rows = [line for line in markdown.splitlines() if line.startswith("| energy_")]
    assert len(table_rows) == MAX_REJECTION_ROWS
    assert f"The first {MAX_REJECTION_ROWS} of 250 problems" in markdown
    assert "k\\|Wh &lt;b&gt;" in table_rows[0]


@pytest.mark.slow
def test_the_restatements_artifact_lists_the_published_figures_a_night_changed_and_their_files(tmp_path):
    from envkpi.pipeline import publish_year_step

    write_two_plant_group(tmp_path / "landing")
    first = nightly(**paths(tmp_path), return_state=True)
    assert "No published figure has changed" in artifacts_of(first)[RESTATEMENTS_KEY].data
    settings = Settings().with_overrides(**paths(tmp_path))
    publish_year_step(settings, 2017, "CSR report", pack=False)
    # P01 re-sends April 2017: 1,100,000 kWh instead of 1,000,000 (+976 GJ).
    write_lines(
        tmp_path / "landing" / "energy_P01_2017-04_fix.csv",
        "plant_id,period,energy_type,quantity,unit",
        "P01,2017-04,electricity,1100000,kWh",
    )
    second = nightly(**paths(tmp_path), return_state=True)
    markdown = artifacts_of(second)[RESTATEMENTS_KEY].data
    # energy_intensity, co2_intensity and both Scope 2 figures (electricity), each for the group,
    # Magnets and P01
    assert "12 published figures changed" in markdown
    group = next(line for line in markdown.splitlines() if "| group | energy_intensity |" in line)
    assert "energy_P01_2017-04_fix.csv" in group and "| v1 |" in group
    assert "| 81.3333 | 81.7852 |" in group  # 175,680 / 2,160 then, 176,656 / 2,160 now
    assert second.result()["published_figures_changed"] == 12
    assert "Published figures changed since their publication: 12" in artifacts_of(second)[RUN_SUMMARY_KEY].data


# --- notification of a bad night -------------------------------------------------------------


@pytest.fixture
def receiver(monkeypatch):
    """A webhook receiver on 127.0.0.1: ENVKPI_NOTIFY_URL points at it; yields what it received."""
    import http.server
    import threading

    received: list[dict] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the name http.server calls
            length = int(self.headers.get("Content-Length", 0))
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *arguments):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("ENVKPI_NOTIFY_URL", f"http://127.0.0.1:{server.server_address[1]}/hook")
    yield received
    server.shutdown()
    server.server_close()


@pytest.mark.slow
def test_a_night_with_rejected_files_is_notified_naming_the_files_and_plants(tmp_path, receiver):
    write_two_plant_group(tmp_path / "landing")
    (tmp_path / "landing" / "notes.txt").write_text("not a delivery")
    state = nightly(**paths(tmp_path), return_state=True)
    assert state.is_completed()
    assert len(receiver) == 1, receiver
    message = receiver[0]
    assert "1 rejected file" in message["subject"] and "P99" in message["subject"]
    assert BAD_FILE in message["text"] and "notes.txt" in message["text"] and "P99" in message["text"]
    assert "rejections.html" in message["text"]


@pytest.mark.slow
def test_a_failed_night_is_notified(tmp_path, receiver):
    write_two_plant_group(tmp_path / "landing")
    (tmp_path / "warehouse.duckdb").mkdir()  # a folder where the warehouse file should be
    state = nightly(**paths(tmp_path), return_state=True)
    assert state.is_failed()
    assert len(receiver) == 1 and "FAILED" in receiver[0]["subject"]


@pytest.mark.slow
def test_a_good_night_sends_nothing(tmp_path, receiver):
    write_two_plant_group(tmp_path / "landing")
    (tmp_path / "landing" / BAD_FILE).unlink()
    state = nightly(**paths(tmp_path), return_state=True)
    assert state.is_completed()
    assert receiver == []


def test_serve_saves_the_webhook_block_of_the_notify_setting(monkeypatch):
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    from flows.serve import save_notification_block

    monkeypatch.setenv("ENVKPI_NOTIFY_URL", "http://127.0.0.1:9/envkpi")
    assert save_notification_block(Settings())
    block = CustomWebhookNotificationBlock.load("envkpi-nightly")
    assert block.url == "http://127.0.0.1:9/envkpi"
    monkeypatch.setenv("ENVKPI_NOTIFY_URL", "")
    assert not save_notification_block(Settings())


def test_a_night_that_changes_published_figures_is_worth_a_notification():
    from envkpi.reporting.notify import bad_night_message

    subject, body = bad_night_message("night-2", [], [], "/srv/reports", restated=3)
    assert subject == "envkpi night night-2: 3 published figures changed"
    assert "/srv/reports/restatements_since_publication.csv" in body
    subject, body = bad_night_message("night-2", ["2019-09-10/energy_P06_2019-08.csv"], [], "/srv/reports", restated=1)
    assert "1 rejected file" in subject and "Also: 1 published figure changed since their publication" in body
    assert bad_night_message("night-2", [], [], "/srv/reports") is None


@pytest.mark.slow
def test_a_night_that_restates_a_published_year_is_notified(tmp_path, receiver):
    from envkpi.pipeline import publish_year_step

    write_two_plant_group(tmp_path / "landing")
    (tmp_path / "landing" / BAD_FILE).unlink()
    nightly(**paths(tmp_path), return_state=True)
    assert receiver == []  # a good night
    publish_year_step(Settings().with_overrides(**paths(tmp_path)), 2017, "CSR report", pack=False)
    write_lines(
        tmp_path / "landing" / "energy_P01_2017-04_fix.csv",
        "plant_id,period,energy_type,quantity,unit",
        "P01,2017-04,electricity,1100000,kWh",
    )
    state = nightly(**paths(tmp_path), return_state=True)
    assert state.is_completed() and len(receiver) == 1
    # energy_intensity, co2_intensity and both Scope 2 figures of the group, Magnets and P01
    assert receiver[0]["subject"].endswith("12 published figures changed")


@pytest.mark.slow
def test_a_night_with_nothing_new_records_that_it_ran_and_writes_no_output_again(tmp_path):
    write_two_plant_group(tmp_path / "landing")
    first = nightly(**paths(tmp_path), return_state=True)
    assert first.is_completed()
    reports = tmp_path / "reports"
    before = {path: path.stat().st_mtime_ns for path in reports.rglob("*") if path.is_file()}
    snapshot = (tmp_path / "published" / "warehouse.duckdb").stat().st_mtime_ns

    second = nightly(**paths(tmp_path), return_state=True)
    assert second.is_completed()
    outcome = second.result()
    # What a full run would say of the same landing: the six files known, the bad one rejected.
    assert (outcome["loaded"], outcome["unchanged"], outcome["rejected"]) == (0, 6, [BAD_FILE])
    assert outcome["fiscal_year"] == 2017
    summary = json.loads((reports / "run_summary.json").read_text(encoding="utf-8"))
    assert summary["run_id"] == outcome["run_id"] != first.result()["run_id"]
    after = {path: path.stat().st_mtime_ns for path in reports.rglob("*") if path.is_file()}
    rewritten = {path.name for path in before if after.get(path) != before[path]}
    assert rewritten == {"run_summary.json"}
    assert (tmp_path / "published" / "warehouse.duckdb").stat().st_mtime_ns == snapshot
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as warehouse:
        runs = {run_id for (run_id,) in warehouse.execute("select run_id from ingest_run").fetchall()}
    assert runs == {first.result()["run_id"], outcome["run_id"]}
    # The KPI artifact of the quiet night still shows the report year (175,680 GJ / 2,160 t).
    artifact = artifacts_of(second)[KPI_RESULTS_KEY]
    table = pd.DataFrame(json.loads(artifact.data) if isinstance(artifact.data, str) else artifact.data)
    energy = table[table["kpi"] == "energy_intensity"].set_index("scope")
    assert energy.loc["group", "value"] == 81.33 and "FY2017" in artifact.description
