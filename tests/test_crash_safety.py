"""Crash safety: a run killed at any point, then run again, ends exactly as a run never interrupted.

A night's run can die anywhere (power, the OOM killer, a reboot). ``envkpi.runtime.faults.fault_point``
marks the places in between the steps of a run; with ``ENVKPI_FAULT_KILL_AT=N`` the run SIGKILLs
itself at its Nth point, as abruptly as a power cut (no ``finally``, no rollback, no flush).

Every scenario starts from the state a first night left (warehouse, reports, published snapshot)
and runs the second night's deliveries (a new plant with an XLSX and a Shift_JIS file, a
restatement, rejected files), killed at a point. Right after each kill, before anything else:

- the warehouse holds the second night entirely (killed after its commit) or not at all;
- a reader of the published snapshot sees the first night's or the second night's complete
  results, nothing in between;
- every visible report file is byte for byte the first night's or the second night's (no half
  file; a workbook compared by its cells), and any temporary file is hidden (a leading ``.``);
- the landing folder is byte for byte and mtime for mtime as delivered.

After the rerun to completion: kpi_results.csv, rejections.csv, every other report, the accepted
rows, raw row counts, deliveries, rejections, slices and the published snapshot are identical to
a second night that was never interrupted, and no temporary file is left.

The kill points are chosen deterministically from the list an uninterrupted run passes (learned
with ``ENVKPI_FAULT_LOG``): an even grid plus the middle point of every phase the grid misses, 20
in all. In ``make test`` they are killed in two chains (every other point each): each rerun after
a kill is killed again at the next point, until a last rerun completes, a night that keeps dying
while it recovers. Reruns after the commit pass fewer points, so those are killed by the point's
name (``ENVKPI_FAULT_KILL_AT=<name>``). ``make soak`` (``ENVKPI_SOAK=1``) gives every point of the
hand-made landing its own rerun, adds 24 kills by a timer from outside (anywhere: inside a write,
a commit, a checkpoint) and kills a first night of the whole demo group at 30 points.

Runs go through the real CLI (``envkpi run``). A fresh interpreter spends seconds importing
Great Expectations and matplotlib, so the default suite forks each run from an interpreter that
has imported them already (``WarmRunner``): still a process of its own that dies by a real
SIGKILL. One test (and the soak test on the demo group) uses ``python -m envkpi.cli run`` itself.

A full disk (``RLIMIT_FSIZE``: no file may grow) and a read-only warehouse (folder or file; as
root, with the capabilities that override file modes dropped) are real conditions: the run must
stop with exit status 1 and a message that says what to do, and readers keep the last night.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
from helpers import PLANTS_HEADER, write_csv, write_xlsx

SOAK = bool(os.environ.get("ENVKPI_SOAK"))
PROJECT_DIR = Path(__file__).resolve().parents[1]
DEMO_LANDING = PROJECT_DIR / "data" / "demo" / "landing"
KILLED = -9  # exit status of a process ended by SIGKILL, as subprocess reports it
# Kill points in the default suite (the soak run kills at every point of the hand-made landing).
DEFAULT_KILLS = 20
# Phases that the chosen points must cover (a prefix of the point's name), whatever the grid.
PHASES = (
    "ingest:discovered",
    "ingest:validated:",
    "ingest:raw-inserted:",
    "ingest:slices-replaced:",
    "derived:",
    "commit:before",
    "commit:after",
    "write:kpi_results.csv",
    "write:restatements_since_publication.csv",
    "write:trend_",
    "write:report_pack_",
    "write:warehouse.duckdb",
    "snapshot:swapped",
)
KINDS = ("plants", "factors", "targets", "energy", "production", "waste", "chemicals")
FY2017 = [p.strftime("%Y-%m") for p in pd.period_range("2017-04", "2018-03", freq="M")]
ENERGY = ["plant_id", "period", "energy_type", "quantity", "unit"]
PRODUCTION = ["plant_id", "period", "quantity", "unit"]
WASTE = ["plant_id", "period", "waste_type", "treatment", "quantity", "unit"]
CHEMICALS = ["plant_id", "period", "substance", "cas_number", "medium", "quantity", "unit"]


# --- running the CLI ------------------------------------------------------------------------

_SERVER = textwrap.dedent(r"""
    import json, os, sys, time
    import envkpi.cli, envkpi.runtime.faults, envkpi.pipeline, envkpi.validation.validator, envkpi.reporting.charts, envkpi.reporting.report_pack
    import great_expectations
    import matplotlib.backends.backend_agg, matplotlib.backends.backend_pdf, matplotlib.backends.backend_svg

    print(json.dumps({"ready": os.getpid()}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            code = 70
            try:
                for name in ("ENVKPI_FAULT_KILL_AT", "ENVKPI_FAULT_LOG"):
                    os.environ.pop(name, None)
                os.environ.update(request["env"])
                envkpi.runtime.faults.configure_from_environment()
                if "fsize" in request:  # no file may grow beyond this: a full disk (EFBIG, SIGXFSZ is ignored)
                    import resource
                    resource.setrlimit(resource.RLIMIT_FSIZE, (request["fsize"], request["fsize"]))
                output = os.open(request["output"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                os.dup2(output, 1)
                os.dup2(output, 2)
                sys.argv = ["envkpi", *request["args"]]
                try:
                    envkpi.cli.app()
                    code = 0
                except SystemExit as stop:
                    code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
            except BaseException:
                import traceback
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        deadline = time.monotonic() + request.get("kill_after", 1e9)
        while True:  # with "kill_after": SIGKILL from outside after that many seconds, wherever the run is
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(pid, 9)
                _, status = os.waitpid(pid, 0)
                break
            time.sleep(0.005)
        print(json.dumps({"exit": os.waitstatus_to_exitcode(status)}), flush=True)
""")


class WarmRunner:
    """Runs ``envkpi ...`` in a process forked from an interpreter that imported envkpi already."""

    def __init__(self):
        self.process = subprocess.Popen(
            [sys.executable, "-c", _SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=PROJECT_DIR
        )
        assert "ready" in json.loads(self.process.stdout.readline())

    def run(
        self,
        args: list[str],
        env: dict[str, str],
        output: Path,
        kill_after: float | None = None,
        fsize: int | None = None,
    ) -> int:
        request = {"args": args, "env": env, "output": str(output)}
        if kill_after is not None:
            request["kill_after"] = kill_after
        if fsize is not None:
            request["fsize"] = fsize
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())["exit"]

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)


def cli_subprocess(args: list[str], env: dict[str, str], output: Path) -> int:
    """``python -m envkpi.cli ...`` in a fresh interpreter, as cron or a person starts it."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ENVKPI_FAULT_")} | env
    with output.open("wb") as out:
        return subprocess.run(
            [sys.executable, "-m", "envkpi.cli", *args],
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=PROJECT_DIR,
            timeout=1800,
        ).returncode


class Place:
    """One installation: warehouse, reports and published folders under ``root``."""

    def __init__(self, root: Path):
        self.root = root
        self.warehouse = root / "warehouse" / "warehouse.duckdb"
        self.reports = root / "reports"
        self.published = root / "published"

    def args(self, landing: Path) -> list[str]:
        return [
            "run",
            "--landing",
            str(landing),
            "--warehouse",
            str(self.warehouse),
            "--reports",
            str(self.reports),
            "--snapshot",
            str(self.published),
        ]

    def publish_args(self, fiscal_year: int) -> list[str]:
        return [
            "publish",
            "--fy",
            str(fiscal_year),
            "--note",
            "CSR report",
            "--warehouse",
            str(self.warehouse),
            "--reports",
            str(self.reports),
            "--snapshot",
            str(self.published),
        ]

    def copy_to(self, root: Path) -> Place:
        if root.exists():
            shutil.rmtree(root)
        shutil.copytree(self.root, root, symlinks=True)
        return Place(root)


# --- what a reader and an auditor see -------------------------------------------------------


def database_state(path: Path) -> dict[str, object]:
    """Everything a figure depends on, independent of delivery ids and run ids."""
    from envkpi.warehouse.database import connect, kpi_results_frame

    connection = connect(path, read_only=True)
    try:
        state: dict[str, object] = {"kpi_results": kpi_results_frame(connection).to_csv(index=False)}
        for kind in KINDS:
            state[f"accepted_{kind}"] = connection.execute(
                f"select a.* exclude (delivery_id), d.source_file, d.sha256 "  # kind: fixed contract names
                f"from accepted_{kind} a join delivery d using (delivery_id) order by all"
            ).fetchall()
            state[f"raw_{kind}"] = connection.execute(f"select count(*) from raw_{kind}").fetchone()[0]
        state["delivery"] = connection.execute(
            "select source_file, sha256, kind, status, row_count from delivery order by all"
        ).fetchall()
        state["rejection"] = connection.execute(
            "select d.source_file, r.* exclude (delivery_id) from rejection r join delivery d using (delivery_id) "
            "order by all"
        ).fetchall()
        state["current_slice"] = connection.execute(
            "select c.kind, c.slice_key, d.source_file from current_slice c join delivery d using (delivery_id) "
            "order by all"
        ).fetchall()
        return state
    finally:
        connection.close()


def visible_files(folder: Path) -> dict[str, object]:
    """Report files a person or a program would open (not Data Docs: GX writes them itself), as
    bytes; an XLSX as its cell values (a workbook's zip holds the time it was written)."""
    if not folder.exists():
        return {}
    return {
        p.relative_to(folder).as_posix(): workbook_values(p) if p.suffix == ".xlsx" else p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "data_docs" not in p.relative_to(folder).parts and not p.name.startswith(".")
    }


def workbook_values(path: Path) -> list:
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True)  # raises on half a file
    try:
        return [(sheet.title, list(sheet.iter_rows(values_only=True))) for sheet in workbook.worksheets]
    finally:
        workbook.close()


def hidden_files(*folders: Path) -> list[str]:
    return [str(p) for folder in folders if folder.exists() for p in folder.rglob(".*") if p.is_file()]


def landing_snapshot(landing: Path) -> dict[str, tuple[bytes, int]]:
    return {
        p.relative_to(landing).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(landing.rglob("*"))
        if p.is_file()
    }


# --- the deliveries -------------------------------------------------------------------------


def build_landings(root: Path) -> tuple[Path, Path]:
    """Night 1: two plants, half a year, a rejected file, a non-contract file. Night 2 adds the rest
    of the year, a third plant (an XLSX and a Shift_JIS file with a non-ASCII name), chemicals, a
    restatement of night 1's figures and another rejected file."""
    night1, night2 = root / "night1", root / "night2"
    clock = iter(range(1_500_000_000, 1_600_000_000, 60))

    def deliver(path: Path, header: list[str], rows: list[list[object]], encoding: str = "utf-8") -> None:
        write_csv(path, header, rows, encoding=encoding, mtime=next(clock))

    first, second = FY2017[:6], FY2017[6:]
    deliver(
        night1 / "plants.csv",
        PLANTS_HEADER,
        [["P1", "Plant One", "BU-A", "JP", "", ""], ["P2", "Plant Two", "BU-B", "JP", "", ""]],
    )
    deliver(
        night1 / "targets.csv",
        ["kpi", "fiscal_year", "target_pct", "scope_id"],
        [["energy_intensity", "2017", "5", ""], ["energy_intensity", "2017", "3", "BU-A"]],
    )
    for plant, kwh, tonnes in (("P1", 1000, 10), ("P2", 2500, 30)):
        deliver(
            night1 / "2017-10" / f"energy_{plant}.csv", ENERGY, [[plant, m, "electricity", kwh, "kWh"] for m in first]
        )
        deliver(night1 / "2017-10" / f"production_{plant}.csv", PRODUCTION, [[plant, m, tonnes, "t"] for m in first])
        deliver(
            night1 / "2017-10" / f"waste_{plant}.csv",
            WASTE,
            [[plant, m, "sludge", "recycled", 1, "t"] for m in first]
            + [[plant, m, "plastic", "incinerated", "0.5", "t"] for m in first],
        )
    deliver(night1 / "2017-10" / "energy_P2_bad.csv", ENERGY, [["P2", "2017-07", "electricity", "-5", "kWh"]])
    (night1 / "README.txt").write_text("not a delivery\n")
    os.utime(night1 / "README.txt", (next(clock),) * 2)

    shutil.copytree(night1, night2)  # copy2: the same bytes and mtimes, as a landing folder keeps them
    deliver(night2 / "plants_2018.csv", PLANTS_HEADER, [["P3", "第三工場", "BU-A", "JP", "2017-04", ""]])
    for plant, kwh, tonnes in (("P1", 1000, 10), ("P2", 2500, 30)):
        deliver(
            night2 / "2018-04" / f"energy_{plant}.csv", ENERGY, [[plant, m, "electricity", kwh, "kWh"] for m in second]
        )
        deliver(night2 / "2018-04" / f"production_{plant}.csv", PRODUCTION, [[plant, m, tonnes, "t"] for m in second])
        deliver(
            night2 / "2018-04" / f"waste_{plant}.csv", WASTE, [[plant, m, "sludge", "recycled", 1, "t"] for m in second]
        )
        deliver(
            night2 / "2018-04" / f"chemicals_{plant}.csv",
            CHEMICALS,
            [[plant, m, "toluene", "108-88-3", "air", "2.5", "kg"] for m in FY2017],
        )
    write_xlsx(night2 / "2018-04" / "energy_P3.xlsx", ENERGY, [["P3", m, "electricity", 400.5, "kWh"] for m in FY2017])
    os.utime(night2 / "2018-04" / "energy_P3.xlsx", (next(clock),) * 2)
    deliver(night2 / "2018-04" / "production_P3.csv", PRODUCTION, [["P3", m, "4.25", "t"] for m in FY2017])
    deliver(
        night2 / "2018-04" / "waste_第三工場 sjis.csv",
        WASTE,
        [["P3", m, "汚泥", "recycled", "0.25", "t"] for m in FY2017],
        encoding="cp932",
    )
    # Night 1's P1 June restated, and a file that fails (a thousands separator).
    deliver(
        night2 / "2018-04" / "energy_P1_2017-06_restated.csv", ENERGY, [["P1", "2017-06", "electricity", 1500, "kWh"]]
    )
    deliver(night2 / "2018-04" / "energy_P1_bad.csv", ENERGY, [["P1", "2017-08", "electricity", "1,234", "kWh"]])
    return night1, night2


def small_reference(root: Path) -> Path:
    """The shipped factors and one KPI of the registry: drawing charts costs seconds per KPI. (The
    waste and chemicals deliveries still go through every layer and are compared row by row.)"""
    folder = root / "reference"
    folder.mkdir()
    for path in (PROJECT_DIR / "data" / "reference").glob("*.csv"):  # kpis.csv is replaced below
        shutil.copy(path, folder / path.name)
    registry = pd.read_csv(PROJECT_DIR / "data" / "reference" / "kpis.csv", dtype=str, keep_default_na=False)
    registry[registry.kpi == "energy_intensity"].to_csv(folder / "kpis.csv", index=False)
    return folder


def choose_kill_points(names: list[str], at_least: int) -> list[int]:
    """1-based points: an even grid over the run plus the middle point of each phase the grid
    misses, the grid as fine as it takes to give ``at_least`` points (all of them at most)."""
    for grid in range(2, len(names) + 1):
        step = (len(names) - 1) / (grid - 1)
        chosen = {round(1 + i * step) for i in range(grid)}
        for phase in PHASES:
            hits = [i for i, name in enumerate(names, start=1) if name.startswith(phase)]
            assert hits, f"an uninterrupted run passed no fault point of phase {phase}"
            if not chosen.intersection(hits):
                chosen.add(hits[len(hits) // 2])
        if len(chosen) >= min(at_least, len(names)):
            break
    return sorted(chosen)


# --- the scenario ---------------------------------------------------------------------------


class CrashWorld:
    """The night before (``night1``; none for a first night) done, then ``landing`` run once
    uninterrupted: the reference, with the list of fault points it passed."""

    def __init__(
        self,
        root: Path,
        runner,
        landing: Path,
        night1: Path | None = None,
        env: dict | None = None,
        publish_fy: int | None = None,
    ):
        self.root = root
        self.runner = runner
        self.landing = landing
        self.env = env or {}
        self.landing_before = landing_snapshot(landing)
        self.base = Place(root / "base")
        self.base.root.mkdir(parents=True)
        if night1 is not None:
            assert self.run(self.base, night1) == 0, self.output(self.base)
        if publish_fy is not None:  # night 2 then restates published figures (contract 10)
            assert runner(self.base.publish_args(publish_fy), self.env, self.base.root / "output.txt") == 0, (
                self.output(self.base)
            )
        log = root / "fault.log"
        self.reference = self.base.copy_to(root / "reference")
        assert self.run(self.reference, landing, {"ENVKPI_FAULT_LOG": str(log)}) == 0, self.output(self.reference)
        self.points = [line.split("\t")[1] for line in log.read_text().splitlines()]
        # A kill at this point or before leaves the night uncommitted.
        self.commit_point = self.points.index("commit:before") + 1
        self.base_state = self.published_state(self.base)
        self.base_warehouse = database_state(self.base.warehouse) if self.base.warehouse.exists() else None
        self.reference_state = self.published_state(self.reference)
        self.base_reports = visible_files(self.base.reports)
        self.reference_reports = visible_files(self.reference.reports)
        assert self.base_state != self.reference_state

    @staticmethod
    def published_state(place: Place) -> dict | None:
        """What a notebook opening the published snapshot now reads (None: no snapshot yet)."""
        snapshot = place.published / "warehouse.duckdb"
        return database_state(snapshot) if snapshot.exists() else None

    def run(self, place: Place, landing: Path, env: dict[str, str] | None = None, runner=None) -> int:
        return (runner or self.runner)(place.args(landing), self.env | (env or {}), place.root / "output.txt")

    @staticmethod
    def output(place: Place) -> str:
        return (place.root / "output.txt").read_text(errors="replace")

    def kill(self, place: Place, at: int | str, runner=None) -> str:
        """Run the night on ``place``, killed at point ``at`` (its number, or its name); the point's name."""
        log = place.root / "kill.log"
        log.unlink(missing_ok=True)
        status = self.run(place, self.landing, {"ENVKPI_FAULT_KILL_AT": str(at), "ENVKPI_FAULT_LOG": str(log)}, runner)
        passed = [line.split("\t")[1] for line in log.read_text().splitlines()] if log.exists() else []
        assert status == KILLED, f"the run was to die at {at}, but exited with {status}:\n{self.output(place)}"
        intended = at if isinstance(at, str) else self.points[at - 1]
        assert passed and passed[-1] == intended, f"the run died at {passed[-1:]} instead of {intended}"
        return intended

    def kill_and_recover(self, point: int, runner=None, rerun_runner=None) -> None:
        """One kill, then a rerun to completion."""
        place = self.base.copy_to(self.root / "scenario")
        name = self.kill(place, point, runner)
        self.check_after_kill(place, f"after a kill at point {point} ({name})", committed=point > self.commit_point)
        self.recover(place, f"after a kill at point {point} ({name}) and a rerun", rerun_runner or runner)

    def kill_chain(self, points: list[int], label: str) -> None:
        """A kill at each point in turn, each in the rerun after the kill before (a night that keeps
        dying while it recovers), then a rerun to completion. Until the night commits a rerun
        passes the same points and is killed by number; after that, by name."""
        place = self.base.copy_to(self.root / f"chain-{label}")
        committed = False
        for point in sorted(points):
            name = self.kill(place, self.points[point - 1] if committed else point)
            committed = committed or point > self.commit_point
            self.check_after_kill(place, f"chain {label}: after a kill at point {point} ({name})", committed)
        self.recover(place, f"chain {label}: after kills at points {sorted(points)} and a rerun")

    def recover(self, place: Place, where: str, runner=None) -> None:
        status = self.run(place, self.landing, runner=runner)
        assert status == 0, f"{where}: the rerun failed:\n{self.output(place)}"
        self.check_recovered(place, where)

    def kill_by_timer_and_recover(self, warm: WarmRunner, seconds: float) -> None:
        """A SIGKILL from outside after ``seconds``, wherever the run is: inside a write, a commit,
        a checkpoint (not a deterministic point: soak only)."""
        place = self.base.copy_to(self.root / "timed")
        status = warm.run(place.args(self.landing), self.env, place.root / "output.txt", seconds)
        where = f"after a kill {seconds:.2f} s into the run"
        if status == KILLED:
            self.check_after_kill(place, where, committed=None)
        self.recover(place, f"{where} and a rerun")

    def check_after_kill(self, place: Place, where: str, committed: bool | None) -> None:
        # The warehouse holds the night entirely or not at all (None: either).
        if committed is None:
            state = database_state(place.warehouse)
            assert state in (self.base_warehouse, self.reference_state), f"{where}: the warehouse is half a night"
        elif committed:
            assert database_state(place.warehouse) == self.reference_state, f"{where}: the warehouse is not night 2"
        elif self.base_warehouse is not None:
            assert database_state(place.warehouse) == self.base_warehouse, f"{where}: the warehouse changed"
        elif place.warehouse.exists():  # a first night: at most the empty schema (derived tables come with a commit)
            from envkpi.warehouse.database import connect

            connection = connect(place.warehouse, read_only=True)
            try:
                counts = [
                    connection.execute(f"select count(*) from {table}").fetchone()[0]  # fixed names
                    for table in ("delivery", "rejection", "current_slice", *(f"raw_{k}" for k in KINDS))
                ]
            finally:
                connection.close()
            assert not any(counts), f"{where}: rows left behind"
        # A notebook opening the snapshot now sees one complete night (or none yet), never half of one.
        assert self.published_state(place) in (self.base_state, self.reference_state), (
            f"{where}: the published snapshot is neither night"
        )
        # Every report a person could open is one night's complete file.
        for relative, content in visible_files(place.reports).items():
            if relative == "run_summary.json":
                json.loads(content)  # complete; its run id differs from run to run
                continue
            assert content in (self.base_reports.get(relative), self.reference_reports.get(relative)), (
                f"{where}: reports/{relative} is neither night's file"
            )
        assert set(self.base_reports) <= set(visible_files(place.reports)), f"{where}: a report disappeared"
        for hidden in hidden_files(place.reports, place.published):
            if not hidden.endswith(".tmp"):  # a temporary file of a writer, or the run's own bookkeeping
                json.loads(Path(hidden).read_text())
        assert landing_snapshot(self.landing) == self.landing_before, f"{where}: the landing folder changed"

    def check_recovered(self, place: Place, where: str) -> None:
        assert (place.reports / "kpi_results.csv").read_bytes() == self.reference_reports["kpi_results.csv"], where
        assert (place.reports / "rejections.csv").read_bytes() == self.reference_reports["rejections.csv"], where
        assert database_state(place.warehouse) == self.reference_state, f"{where}: the warehouse differs"
        assert self.published_state(place) == self.reference_state, f"{where}: the published snapshot differs"
        recovered = visible_files(place.reports)
        assert set(recovered) == set(self.reference_reports), f"{where}: other report files"
        for relative, content in recovered.items():
            if relative != "run_summary.json":
                assert content == self.reference_reports[relative], f"{where}: reports/{relative} differs"
        leftovers = [h for h in hidden_files(place.reports, place.published) if h.endswith(".tmp")]
        assert leftovers == [], f"{where}: temporary files left behind"
        assert landing_snapshot(self.landing) == self.landing_before, f"{where}: the landing folder changed"


@pytest.fixture(scope="module", autouse=True)
def temporary_folder_of_killed_runs(tmp_path_factory):
    """The runs this module starts get a temporary folder of its own: a run killed while it draws
    leaves its staging folder behind, as a real power cut would, and it should not pile up in /tmp."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TMPDIR", str(tmp_path_factory.mktemp("tmpdir")))
        yield


@pytest.fixture(scope="module")
def warm_runner(temporary_folder_of_killed_runs):
    runner = WarmRunner()
    yield runner
    runner.close()


@pytest.fixture(scope="module")
def crash_world(tmp_path_factory, warm_runner) -> CrashWorld:
    root = tmp_path_factory.mktemp("crash")
    night1, night2 = build_landings(root / "landing")
    return CrashWorld(
        root / "runs",
        warm_runner.run,
        night2,
        night1,
        {"ENVKPI_REFERENCE": str(small_reference(root))},
        publish_fy=2017,
    )


# --- the tests ------------------------------------------------------------------------------


def test_the_kill_points_spread_over_every_phase_of_a_run(crash_world):
    names = crash_world.points
    chosen = choose_kill_points(names, len(names) if SOAK else DEFAULT_KILLS)
    assert len(chosen) >= 20
    for phase in PHASES:
        assert any(names[i - 1].startswith(phase) for i in chosen), f"no kill point in phase {phase}"
    # Spread: no quarter of the run goes without kills.
    for quarter in range(4):
        low, high = quarter * len(names) / 4, (quarter + 1) * len(names) / 4
        assert any(low < i <= high for i in chosen), f"no kill point in quarter {quarter + 1} of the run"


def test_a_run_killed_at_any_point_and_rerun_ends_as_an_uninterrupted_run(crash_world, warm_runner):
    """Default: the chosen points in two chains (every other point each). Soak: every point, each
    kill followed by its own rerun to completion, then 24 kills by a timer spread over a night."""
    chosen = choose_kill_points(crash_world.points, len(crash_world.points) if SOAK else DEFAULT_KILLS)
    if SOAK:
        for point in chosen:
            crash_world.kill_and_recover(point)
        started = time.monotonic()
        crash_world.recover(crash_world.base.copy_to(crash_world.root / "timing"), "an uninterrupted night")
        duration = time.monotonic() - started
        for step in range(1, 25):
            crash_world.kill_by_timer_and_recover(warm_runner, duration * step / 25)
    else:
        crash_world.kill_chain(chosen[0::2], "a")
        crash_world.kill_chain(chosen[1::2], "b")


def publication_state(place: Place, fiscal_year: int = 2017) -> tuple[list, list[str]]:
    """The warehouse's record of a year's publications, and the version folders a person sees."""
    from envkpi.warehouse.database import connect

    connection = connect(place.warehouse, read_only=True)
    try:
        recorded = connection.execute(
            "select version, note, count(*) over () from publication where fiscal_year = ? order by version",
            [fiscal_year],
        ).fetchall()
    finally:
        connection.close()
    folder = place.reports / "published" / f"FY{fiscal_year}"
    return recorded, sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) if folder.exists() else []


def test_the_night_lists_what_it_restated_since_the_publication_of_night_1(crash_world):
    restated = pd.read_csv(crash_world.reference.reports / "restatements_since_publication.csv")
    group = restated[(restated.scope_id == "group") & (restated.kpi == "energy_intensity")].iloc[0]
    assert group.published_version == "v1"
    assert "2018-04/energy_P1_2017-06_restated.csv" in group.files.split("; ")
    assert (crash_world.base.reports / "published" / "FY2017" / "v1" / "kpi_results.csv").exists()


def test_a_publish_killed_at_any_of_its_points_leaves_the_old_or_the_new_publication(crash_world, warm_runner):
    """``envkpi publish`` after night 2 (v2 of FY2017), killed at each point it passes; right after
    the kill v2 exists whole (folder and, after the next run, its record) or not at all, v1 is
    byte for byte as it was, and a rerun of the night ends with the same restatements as ever."""
    start = crash_world.reference.copy_to(crash_world.root / "publish-start")
    v1_before = visible_files(start.reports / "published" / "FY2017" / "v1")
    uninterrupted = start.copy_to(crash_world.root / "publish-reference")
    log = uninterrupted.root / "publish.log"
    assert (
        warm_runner.run(
            uninterrupted.publish_args(2017),
            crash_world.env | {"ENVKPI_FAULT_LOG": str(log)},
            uninterrupted.root / "output.txt",
        )
        == 0
    ), CrashWorld.output(uninterrupted)
    points = [line.split("	")[1] for line in log.read_text().splitlines()]
    v2_files = set(visible_files(uninterrupted.reports / "published" / "FY2017" / "v2"))
    assert {"kpi_results.csv", "publication.json", "pack/results_FY2017.md"} <= v2_files
    chosen = [
        i
        for i, name in enumerate(points, start=1)
        if name.startswith(("publication:", "snapshot:")) or name == "write:kpi_results.csv"
    ]
    assert [points[i - 1] for i in chosen if points[i - 1].startswith("publication:")] == [
        "publication:staged",
        "publication:renamed",
        "publication:before-commit",
        "publication:recorded",
        "publication:restatements-written",
    ]
    for point in chosen:
        name = points[point - 1]
        place = start.copy_to(crash_world.root / "publish-kill")
        status = warm_runner.run(
            place.publish_args(2017), crash_world.env | {"ENVKPI_FAULT_KILL_AT": str(point)}, place.root / "output.txt"
        )
        assert status == KILLED, f"publish was to die at {name}: {CrashWorld.output(place)}"
        renamed = point >= points.index("publication:renamed") + 1
        recorded, folders = publication_state(place)
        assert folders == (["v1", "v2"] if renamed else ["v1"]), f"after a kill at {name}: {folders}"
        if renamed:
            assert set(visible_files(place.reports / "published" / "FY2017" / "v2")) == v2_files, name
        assert visible_files(place.reports / "published" / "FY2017" / "v1") == v1_before, name
        # The next night records a renamed v2 from its folder (or there is none) and cleans up.
        assert crash_world.run(place, crash_world.landing) == 0, CrashWorld.output(place)
        recorded, folders = publication_state(place)
        assert [version for version, _, _ in recorded] == ([1, 2] if renamed else [1]), f"after {name}: {recorded}"
        assert not [p for p in (place.reports / "published").rglob(".*")], f"after {name}: staging left"
        assert (place.reports / "restatements_since_publication.csv").read_bytes() == (
            (uninterrupted if renamed else start).reports / "restatements_since_publication.csv"
        ).read_bytes(), name
        if not renamed:  # publishing again makes v2, not v3
            assert warm_runner.run(place.publish_args(2017), crash_world.env, place.root / "output.txt") == 0
            assert publication_state(place)[1] == ["v1", "v2"]


def test_the_kill_hook_works_in_a_fresh_cli_process(crash_world):
    """The same hook through ``python -m envkpi.cli run`` and the environment variable, in an
    interpreter of its own, killed in the middle of the ingest; then rerun."""
    crash_world.kill_and_recover(
        crash_world.points.index("ingest:raw-inserted:energy") + 1,
        runner=cli_subprocess,
        rerun_runner=crash_world.runner,
    )


def _validation_workers_of(root: Path) -> list[int]:
    """Live processes of ``python -m envkpi.validation.validator`` started by a run under ``root``."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
            environment = (entry / "environ").read_bytes()
        except (OSError, ValueError):
            continue  # not a process, or gone meanwhile
        if b"envkpi.validation.validator" in command and str(root).encode() in environment:
            found.append(int(entry.name))
    return found


def test_a_run_killed_while_its_validation_worker_lives_leaves_no_worker_and_reruns_right(crash_world):
    """With Great Expectations in a worker process (forced here; a night this small keeps it in
    the run's own process), a run killed after validating leaves no worker behind (it ends when
    its stdin or its answer pipe closes), and the rerun ends as an uninterrupted run."""
    with_worker = lambda args, env, output: cli_subprocess(args, env | {"ENVKPI_VALIDATION_PROCESS_MB": "0"}, output)  # noqa: E731
    point = crash_world.points.index("ingest:raw-inserted:energy") + 1
    crash_world.kill_and_recover(point, runner=with_worker, rerun_runner=crash_world.runner)
    deadline = time.monotonic() + 30
    while (left := _validation_workers_of(crash_world.root)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not left, f"validation worker processes outlived the killed run: {left}"


def test_without_the_variables_a_fault_point_costs_nothing_and_kills_nothing():
    code = (
        "import time, envkpi.runtime.faults as f\n"
        "assert not f._ARMED\n"
        "start = time.perf_counter()\n"
        "for _ in range(100000): f.fault_point('x')\n"
        "print(time.perf_counter() - start)\n"
    )
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ENVKPI_FAULT_")}
    done = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True)
    assert float(done.stdout) < 0.5  # a function call that returns on its first line
    killed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import envkpi.runtime.faults as f\nf.fault_point('a')\nf.fault_point('b')\nprint('survived')",
        ],
        env=environment | {"ENVKPI_FAULT_KILL_AT": "2"},
        capture_output=True,
        text=True,
    )
    assert killed.returncode == KILLED and "survived" not in killed.stdout


@pytest.mark.skipif(not SOAK, reason="soak only (make soak): about 15 minutes on the whole demo group")
def test_soak_a_first_night_of_the_demo_group_killed_at_30_points_and_rerun(tmp_path):
    landing = tmp_path / "landing"
    shutil.copytree(DEMO_LANDING, landing)  # copy2: bytes and mtimes as delivered
    world = CrashWorld(tmp_path / "runs", cli_subprocess, landing)
    for point in choose_kill_points(world.points, 30):
        world.kill_and_recover(point)


# --- a full disk, a read-only warehouse -----------------------------------------------------


def drop_file_permission_override() -> None:
    """In a child about to exec (run as root): without CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH and
    CAP_FOWNER in its bounding set, root obeys file modes like any owner (PR_CAPBSET_DROP)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2, 3):
        if libc.prctl(24, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def storage_world(root: Path, runner) -> tuple[Place, Path, dict, bytes]:
    """A completed first night; then a second night's large file lands. Returns the place, the
    landing, what the published snapshot held and kpi_results.csv."""
    night1, _ = build_landings(root / "landing")
    place = Place(root / "place")
    env = {"ENVKPI_REFERENCE": str(small_reference(root))}
    assert runner(place.args(night1), env, root / "first.txt") == 0
    months = [p.strftime("%Y-%m") for p in pd.period_range("2000-04", "2017-03", freq="M")]
    write_csv(
        night1 / "energy_P1_history.csv",
        ENERGY,
        [
            ["P1", m, kind, str(1000 + i), unit]
            for i, m in enumerate(months)
            for kind, unit in (("electricity", "kWh"), ("city_gas", "m3"), ("heavy_oil_a", "L"))
        ],
    )
    return place, night1, env, (place.reports / "kpi_results.csv").read_bytes()


def run_failing(
    place: Place, landing: Path, env: dict, preexec=None, warm: WarmRunner | None = None, fsize: int | None = None
) -> subprocess.CompletedProcess:
    """The run, its exit status and what it printed (stdout and stderr apart)."""
    if warm is not None:
        status = warm.run(place.args(landing), env, place.root / "failed.txt", fsize=fsize)
        printed = (place.root / "failed.txt").read_text()
        stderr = printed[printed.index("envkpi run failed") :] if "envkpi run failed" in printed else printed
        return subprocess.CompletedProcess([], status, printed[: len(printed) - len(stderr)], stderr)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ENVKPI_FAULT_")} | env
    return subprocess.run(
        [sys.executable, "-m", "envkpi.cli", *place.args(landing)],
        env=environment,
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=600,
        preexec_fn=preexec,
    )


def check_failed_cleanly(
    done: subprocess.CompletedProcess, place: Place, published_before, kpi_before: bytes, headline: str
) -> None:
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout, done.stderr
    assert done.stderr.startswith(f"envkpi run failed: {headline}"), done.stderr
    assert "What to do:" in done.stderr and "then run again" in done.stderr and str(place.published) in done.stderr
    assert CrashWorld.published_state(place) == published_before  # a notebook still reads the last night
    assert (place.reports / "kpi_results.csv").read_bytes() == kpi_before
    assert not [h for h in hidden_files(place.reports, place.published) if h.endswith(".tmp")]


def test_a_full_disk_fails_the_run_with_what_to_do_and_the_published_results_stay(tmp_path, warm_runner):
    place, landing, env, kpi_before = storage_world(tmp_path, warm_runner.run)
    published_before = CrashWorld.published_state(place)
    # No file may grow beyond the warehouse's present size: the night's data does not fit.
    done = run_failing(place, landing, env, warm=warm_runner, fsize=place.warehouse.stat().st_size)
    check_failed_cleanly(done, place, published_before, kpi_before, "the disk is full")
    # With space again, the next run completes as if the full disk never happened.
    assert warm_runner.run(place.args(landing), env, tmp_path / "again.txt") == 0
    fresh = Place(tmp_path / "fresh")
    assert warm_runner.run(fresh.args(landing), env, tmp_path / "fresh.txt") == 0
    assert (place.reports / "kpi_results.csv").read_bytes() == (fresh.reports / "kpi_results.csv").read_bytes()
    assert CrashWorld.published_state(place) == CrashWorld.published_state(fresh)


def test_a_read_only_warehouse_fails_the_run_with_what_to_do_and_the_published_results_stay(tmp_path, warm_runner):
    place, landing, env, kpi_before = storage_world(tmp_path, warm_runner.run)
    published_before = CrashWorld.published_state(place)
    folder = place.warehouse.parent
    for locked in ([folder, *folder.iterdir()], [place.warehouse]):  # the whole folder; the warehouse file alone
        modes = {path: path.stat().st_mode for path in locked}
        for path in locked:
            path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            done = run_failing(place, landing, env, drop_file_permission_override if os.geteuid() == 0 else None)
        finally:
            for path, mode in modes.items():
                path.chmod(mode)
        check_failed_cleanly(
            done, place, published_before, kpi_before, "a file or folder the run writes to is not writable"
        )


def test_storage_errors_are_told_apart_from_other_failures():
    import errno

    import duckdb

    from envkpi.pipeline import storage_problem

    assert storage_problem(OSError(errno.ENOSPC, "No space left on device")) == "disk full"
    assert storage_problem(OSError(errno.EDQUOT, "Disk quota exceeded")) == "disk full"
    assert storage_problem(PermissionError(errno.EACCES, "Permission denied")) == "not writable"
    assert storage_problem(OSError(errno.EROFS, "Read-only file system")) == "not writable"
    assert (
        storage_problem(duckdb.IOException('Could not write file "w.duckdb": No space left on device')) == "disk full"
    )
    assert storage_problem(duckdb.IOException('Cannot open file "w.duckdb": Permission denied')) == "not writable"
    assert storage_problem(duckdb.IOException("Could not set lock on file: Conflicting lock is held")) is None
    assert storage_problem(FileNotFoundError(errno.ENOENT, "No such file")) is None
    assert storage_problem(ValueError("a bug")) is None
