"""The served deployment, end to end: a real Prefect server, `python -m flows.serve`, one run.

Everything listens on and talks to 127.0.0.1 only; the server, the served runner and the flow run
use temporary folders for Prefect's state, the landing folder, the warehouse and the reports.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
FLOW_NAME = "envkpi-nightly"
DEPLOYMENT_NAME = "nightly"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_lines(path: Path, *lines: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_small_group(landing: Path) -> None:
    """Two plants, FY2017 energy and production, and a file from an unknown plant.

    Group energy intensity FY2017: 12 x 1,500,000 kWh x 0.00976 GJ/kWh / (12 x 180 t) = 81.33 GJ/t.
    """
    months = [f"2017-{m:02d}" for m in range(4, 13)] + [f"2018-{m:02d}" for m in range(1, 4)]
    plants = {"P01": (1_000_000, 100), "P02": (500_000, 80)}
    write_lines(
        landing / "plants.csv",
        "plant_id,name,business_unit,country,in_scope_from,in_scope_to",
        "P01,Alpha Plant,Magnets,JP,,",
        "P02,Beta Plant,Cables,JP,,",
    )
    write_lines(
        landing / "energy_FY2017.csv",
        "plant_id,period,energy_type,quantity,unit",
        *[f"{p},{m},electricity,{kwh},kWh" for p, (kwh, _) in plants.items() for m in months],
    )
    write_lines(
        landing / "production_FY2017.csv",
        "plant_id,period,quantity,unit",
        *[f"{p},{m},{t},t" for p, (_, t) in plants.items() for m in months],
    )
    write_lines(
        landing / "energy_P99_2017-04.csv",
        "plant_id,period,energy_type,quantity,unit",
        "P99,2017-04,electricity,5000,kWh",
    )


def prefect_environment(home: Path, api_url: str) -> dict[str, str]:
    """This process's environment without its Prefect or schedule settings, plus the test's own."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PREFECT_") and k not in ("ENVKPI_SCHEDULE_CRON", "ENVKPI_SCHEDULE_TIMEZONE")
    }
    env.update(
        {
            "PREFECT_HOME": str(home),
            "PREFECT_API_URL": api_url,
            "PREFECT_SERVER_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{home / 'prefect.db'}",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_UI_ENABLED": "false",  # the API is what the test needs; the UI build only costs time
            "PREFECT_RUNNER_POLL_FREQUENCY": "2",
        }
    )
    return env


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    # A session of its own, so that stopping it also stops what it started (uvicorn, flow runs).
    return subprocess.Popen(
        command, cwd=PROJECT_DIR, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def tail(log: Path, lines: int = 40) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""


def wait_for(condition, timeout: float, what: str, *processes: tuple[subprocess.Popen, Path]):
    """Poll ``condition`` until it returns something truthy; fail early if a process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for process, log in processes:
            assert process.poll() is None, f"{log.name} exited while waiting for {what}:\n{tail(log)}"
        try:
            found = condition()
        except Exception:  # not up yet, not registered yet
            found = None
        if found:
            return found
        time.sleep(0.5)
    pytest.fail(
        f"timed out after {timeout:.0f} s waiting for {what}\n"
        + "\n".join(f"--- {log.name}\n{tail(log)}" for _, log in processes)
    )


def healthy(api_url: str) -> bool:
    with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:
        return response.status == 200


@pytest.mark.slow
def test_served_deployment_has_the_nightly_schedule_and_a_triggered_run_records_the_kpi_table(tmp_path):
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = prefect_environment(tmp_path / "prefect_home", api_url)
    write_small_group(tmp_path / "landing")
    serve_env = env | {
        "ENVKPI_LANDING": str(tmp_path / "landing"),
        "ENVKPI_WAREHOUSE": str(tmp_path / "warehouse.duckdb"),
        "ENVKPI_REPORTS": str(tmp_path / "reports"),
        "ENVKPI_PUBLISHED": str(tmp_path / "published"),
    }
    server_log, serve_log = tmp_path / "server.log", tmp_path / "serve.log"
    server = start(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)], env, server_log
    )
    serve = None
    try:
        wait_for(lambda: healthy(api_url), 90, "the Prefect server's /api/health", (server, server_log))
        serve = start([sys.executable, "-m", "flows.serve"], serve_env, serve_log)
        with SyncPrefectClient(api_url) as client:
            deployment = wait_for(
                lambda: client.read_deployment_by_name(f"{FLOW_NAME}/{DEPLOYMENT_NAME}"),
                90,
                "the served deployment",
                (server, server_log),
                (serve, serve_log),
            )

            # The schedule: 02:00 every day in Tokyo, whatever the server's time zone.
            [schedule] = client.read_deployment_schedules(deployment.id)
            assert schedule.active
            assert (schedule.schedule.cron, schedule.schedule.timezone) == ("0 2 * * *", "Asia/Tokyo")
            scheduled = wait_for(
                lambda: client.read_flow_runs(
                    deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id])),
                    flow_run_filter=FlowRunFilter(
                        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]))
                    ),
                ),
                30,
                "the scheduler to plan the nightly runs",
                (server, server_log),
                (serve, serve_log),
            )
            for run in scheduled:
                planned = run.expected_start_time.astimezone(UTC).astimezone(ZoneInfo("Asia/Tokyo"))
                assert (planned.hour, planned.minute) == (2, 0), planned

            # A run triggered through the API is picked up by the served runner and completes.
            flow_run = client.create_flow_run_from_deployment(deployment.id)
            finished = wait_for(
                lambda: (run := client.read_flow_run(flow_run.id)).state.is_final() and run,
                180,
                "the triggered flow run to finish",
                (server, server_log),
                (serve, serve_log),
            )
            assert finished.state.type == StateType.COMPLETED, (finished.state, tail(serve_log, 80))
            assert finished.state.message.startswith("completed with 1 rejected file")

            artifacts = {
                a.key: a
                for a in client.read_artifacts(
                    artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run.id]))
                )
            }
        kpi_table = artifacts["envkpi-kpi-results"]
        rows = json.loads(kpi_table.data) if isinstance(kpi_table.data, str) else kpi_table.data
        group_energy = [r for r in rows if r["scope"] == "group" and r["kpi"] == "energy_intensity"]
        assert [r["value"] for r in group_energy] == [81.33]
        assert "energy_P99_2017-04.csv" in artifacts["envkpi-rejections"].data
        # The run used the served process's settings: the temporary folders, not the project's.
        assert (tmp_path / "reports" / "kpi_results.csv").exists()
        assert (tmp_path / "published" / "warehouse.duckdb").exists()
    finally:
        if serve is not None:
            stop(serve)
        stop(server)
