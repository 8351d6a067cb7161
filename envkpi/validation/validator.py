"""Checking delivered tables against the data contract with Great Expectations.

The rules are the suites in ``expectations/<kind>.json``; each expectation's ``meta`` names the
contract rule, the column a plant should look at, and the reason it reads. All files of one kind
in a run are checked as one batch, and every failing row is mapped back to its file and
spreadsheet row.

Every expectation of the monthly kinds reads one value of one column (not empty, in a set,
matching a pattern, between bounds), so its verdict on a row is its verdict on that value. GX
therefore checks each column's distinct values, not its rows: 3.5 million waste rows hold 2,000
plant ids, 180 periods and about 200,000 quantities, and GX's cost grows with the rows it is
given. A value that fails is mapped back to every row that holds it, and a value that passed
is not given to GX again in the same run. The Data Docs of those kinds count distinct values,
not rows. A suite with an expectation over two columns (the reference kinds' date ranges) is
checked row by row.

GX itself sits behind one small interface (``GreatExpectations.failures``): in this process, or,
on a large night, in a worker process of its own (``GreatExpectationsProcess``).

Two rules need more than one row at a time and are explicit checks here: duplicate key rows that
disagree, and the readers' structural problems (encoding, ragged rows, missing columns).
Great Expectations is imported only when a validator is built, so the rest of the library stays
quick to import.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import re
import subprocess
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from envkpi.contract import KINDS, NUMBER_PATTERN, number_columns
from envkpi.ingest.readers import SOURCE_ROW, Problem, to_frame
from envkpi.runtime import timing
from envkpi.runtime.memory import keep_out_of_collection
from envkpi.runtime.workers import end_worker, library_command, library_environment
from envkpi.validation.rules import with_rule_columns

if TYPE_CHECKING:  # imported where GX runs: the import alone takes seconds
    from great_expectations import ValidationDefinition

SOURCE_FILE = "source_file"
_ROW_ID = "_row_id"
_NUMBER = re.compile(NUMBER_PATTERN)


@dataclass(frozen=True)
class ReferenceData:
    """What values in a delivery are checked against: the boundary, factors, KPIs and scopes."""

    known_plants: frozenset[str]
    known_business_units: frozenset[str]
    # "energy_type|unit|fiscal_year" for every pair that has a factor valid that year.
    known_energy_factor_keys: frozenset[str]
    known_kpis: frozenset[str]
    fiscal_year_start_month: int = 4
    # When False (``envkpi check`` with no plants reference), plant ids are not checked.
    plants_known: bool = True
    # Sales and purchases are delivered in it (contract 7).
    reporting_currency: str = "JPY"
    # The plausible months of the monthly kinds, first and last (envkpi.validation.plausibility).
    period_range: tuple[str, str] = ("0000-01", "9999-12")

    def parameters(self, table: pa.Table) -> dict[str, list[str]]:
        plants = sorted(self.known_plants) if self.plants_known else sorted(_present(table, "plant_id"))
        return {
            "known_plants": plants,
            "known_energy_factor_keys": sorted(self.known_energy_factor_keys),
            "known_kpis": sorted(self.known_kpis),
            "known_scopes": sorted({"group"} | set(self.known_plants) | set(self.known_business_units)),
            "reporting_currency": [self.reporting_currency],
        }

    def reason(self, text: str) -> str:
        """A rule's reason with the settings it names filled in."""
        return text.replace("{reporting_currency}", self.reporting_currency)


def _present(table: pa.Table, column: str) -> set[str]:
    return set(pc.unique(table[column]).drop_null().to_pylist()) if column in table.column_names else set()


def _where_matches(values: pa.ChunkedArray, pattern: re.Pattern) -> pa.ChunkedArray:
    return pc.if_else(pc.match_substring_regex(values, pattern.pattern), values, pa.scalar(None, pa.string()))


# Typed columns that the suites check, each computed from one delivered column.
NUMBER_COLUMNS = {f"{column}_number": column for column in number_columns()}


def _as_number(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """The number each text states (null where it is not a plain decimal number)."""
    return pc.cast(_where_matches(values, _NUMBER), pa.float64())


@timing.phase("validation: typed columns")
def _with_derived_columns(kind: str, rows: pa.Table, reference: ReferenceData, numbers: bool = True) -> pa.Table:
    """Add the typed columns that the suites check (named ``<column>_number`` and the like).

    Computed in Arrow (vectorised C++): at millions of rows, pandas string methods cost more
    than the expectations themselves. With ``numbers=False`` the number columns are left to
    the caller, who computes them from distinct values.
    """
    derived = rows
    for column in KINDS[kind].columns:
        if column not in derived.column_names:
            derived = derived.append_column(column, pa.nulls(len(derived), pa.string()))  # optional, left out
    for number_column, column in NUMBER_COLUMNS.items():
        if numbers and column in derived.column_names:
            derived = derived.append_column(number_column, _as_number(derived[column]))
    return with_rule_columns(kind, derived, reference)


def energy_factor_problem(row: int, energy_type: str, unit: str | None, reference: ReferenceData) -> Problem:
    """A row without a conversion factor, reported where a plant can fix it.

    A known energy type in a unit it has no factor in is the unit's problem, with the valid units
    listed; an unknown type is the type's, with the known types listed. A type and unit whose
    factor does not cover the month's year is for head office, who deliver factors.
    """
    pairs = {tuple(key.split("|")[:2]) for key in reference.known_energy_factor_keys}
    units = sorted({u for t, u in pairs if t == energy_type})
    unit = _shown(unit)
    if not units:
        types = ", ".join(sorted({t for t, _ in pairs})) or "none"
        return Problem(
            row,
            "energy_type",
            _shown(energy_type),
            f"unknown energy type (no conversion factor): use one of {types}; for another type, ask "
            f"head office to add its factor",
        )
    if unit not in units:
        return Problem(
            row,
            "unit",
            unit,
            f"unit {unit or '(empty)'} has no conversion factor for {energy_type}: use one of {', '.join(units)}",
        )
    return Problem(
        row,
        "energy_type",
        _shown(energy_type),
        f"no conversion factor for {energy_type} in {unit} in the month's fiscal year: check the period, "
        f"or ask head office for the factor of that year",
    )


def _shown(value: object) -> str:
    """A cell as text; a missing one (None, or NaN in Arrow-backed columns) is empty."""
    return "" if value is None or pd.isna(value) else str(value)


def row_key_groups(kind: str, frame: pd.DataFrame) -> pd.Series:
    """A number per row that is the same for rows with the same file and row key."""
    present = [c for c in (SOURCE_FILE, *KINDS[kind].row_key) if c in frame]
    return frame[present].fillna("\x00").groupby(present, sort=False, dropna=False).ngroup()


@timing.phase("validation: duplicate keys")
def duplicate_key_problems(
    kind: str, frame: pd.DataFrame, groups: pd.Series | None = None
) -> list[tuple[str, Problem]]:
    """Rows that repeat another row's key in the same file with different values (contract 3)."""
    groups = row_key_groups(kind, frame) if groups is None else groups
    compared = [c for c in KINDS[kind].columns if c in frame]
    problems: list[tuple[str, Problem]] = []
    duplicated = groups.duplicated(keep=False)
    if not duplicated.any():
        return problems
    for _, group in frame[duplicated].groupby(groups[duplicated], sort=False):
        first = group.iloc[0]
        for _, row in group.iloc[1:].iterrows():
            differing = [c for c in compared if _shown(row[c]) != _shown(first[c])]
            if differing:
                column = differing[0]
                problems.append(
                    (
                        row[SOURCE_FILE],
                        Problem(
                            int(row[SOURCE_ROW]),
                            column,
                            _shown(row[column]),
                            f"duplicate key ({', '.join(KINDS[kind].row_key)}) of row {int(first[SOURCE_ROW])} "
                            f"with a different {column}",
                        ),
                    )
                )
    return problems


@dataclass(frozen=True)
class Validation:
    """What validating one kind's rows found."""

    problems: dict[str, list[Problem]]  # per file; a file with none passes
    # Per row: it repeats an earlier row of its file with the same row key. Such a repeat is
    # identical (one that differs is a problem), so it is kept in the raw layer but counted once.
    is_repeat: np.ndarray


def validation_name(kind: str, expectations, positions: tuple[int, ...]) -> str:
    """A readable name for part of a kind's suite (it names its Data Docs pages): the columns checked.

    Within a run a batch checks only the columns that brought new values, so the name lists them:
    ``energy - quantity, unit checks``. The same columns always mean the same positions.
    """
    columns = []
    for position in positions:
        # The checked column itself (quantity_number, not quantity): one name per set of positions.
        column = expectations[position].configuration.kwargs.get("column")
        if column not in columns:
            columns.append(column)
    return f"{kind} - {', '.join(columns)} checks"


class GreatExpectations:
    """Great Expectations' side of validation: one ephemeral context, the suites as GX objects, a
    validation definition per suite (or part of one), and the Data Docs site.

    Works on Arrow tables and answers in plain data (expectation positions and row ids), so the
    same calls can be served by a worker process (``GreatExpectationsProcess``).
    """

    def __init__(self, expectations_dir: Path, data_docs_dir: Path | None = None):
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        logging.getLogger("great_expectations").setLevel(logging.ERROR)
        self._gx = gx
        self._context = gx.get_context(mode="ephemeral")
        self._context.variables.progress_bars = ProgressBarsConfig(globally=False)
        # An ephemeral context comes with a Data Docs site of its own in a new temporary folder,
        # which every build rendered in full beside ours (half of the rendering) and which
        # nothing removed: a copy of the site left in the temporary folder by every run.
        for site_name in list(self._context.list_data_docs_sites()):
            self._context.delete_data_docs_site(site_name)
        self._data_docs = data_docs_dir is not None
        if data_docs_dir is not None:
            self._context.add_data_docs_site(
                site_name="envkpi",
                site_config={
                    "class_name": "SiteBuilder",
                    "store_backend": {
                        "class_name": "TupleFilesystemStoreBackend",
                        "base_directory": str(data_docs_dir),
                    },
                    "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                },
            )
        self._datasource = self._context.data_sources.add_pandas("deliveries")
        self._validations: dict[str, ValidationDefinition] = {}
        self._suites = {
            kind: self._context.suites.add(gx.ExpectationSuite(**definition))
            for kind, definition in suite_definitions(expectations_dir).items()
        }
        # Per validation definition, the position in its kind's suite of each of its expectations (by GX id).
        self._positions: dict[str, dict[str, int]] = {}

    def _validation(self, kind: str, positions: tuple[int, ...] | None):
        """The validation definition of the kind's suite, or of the expectations at ``positions`` in it.

        Run on its own, not through a checkpoint: a checkpoint adds nothing a run uses (no
        actions; its id is not shown in Data Docs) but its own freshness check against the store
        and its creation, on every call.
        """
        name = kind if positions is None else validation_name(kind, self._suites[kind].expectations, positions)
        if name not in self._validations:
            expectations = self._suites[kind].expectations
            chosen = range(len(expectations)) if positions is None else positions
            suite = (
                self._suites[kind]
                if positions is None
                else self._context.suites.add(
                    self._gx.ExpectationSuite(name=name, expectations=[expectations[i].configuration for i in chosen])
                )
            )
            # GX gives each expectation of a suite it has added an id.
            self._positions[name] = {e.id: i for e, i in zip(suite.expectations, chosen) if e.id is not None}
            batch_definition = self._datasource.add_dataframe_asset(name).add_batch_definition_whole_dataframe(name)
            self._validations[name] = self._context.validation_definitions.add(
                self._gx.ValidationDefinition(name=name, data=batch_definition, suite=suite)
            )
        return name, self._validations[name]

    def failures(
        self, kind: str, table: pa.Table, parameters: dict[str, list[str]], positions: tuple[int, ...] | None = None
    ) -> list[tuple[int, list[int]]]:
        """Run the kind's suite (or the expectations at ``positions`` in it) over ``table``.

        Returns each failed expectation's position in the suite and the table rows it failed on.
        """
        frame = to_frame(table)
        frame[_ROW_ID] = range(len(frame))
        # Rows checked as rows (the reference kinds) are shown in Data Docs by file and spreadsheet row.
        located = tuple(column for column in (SOURCE_FILE, SOURCE_ROW) if column in frame.columns)
        name, validation = self._validation(kind, positions)
        result = validation.run(
            batch_parameters={"dataframe": frame},
            expectation_parameters=parameters,
            result_format={"result_format": "COMPLETE", "unexpected_index_column_names": [*located, _ROW_ID]},
        )
        failed = []
        for outcome in result.results:
            if outcome.success:
                continue
            if outcome.exception_info and outcome.exception_info.get("raised_exception"):
                raise RuntimeError(
                    f"expectation {outcome.expectation_config.type} on {kind} failed to run: "
                    f"{outcome.exception_info.get('exception_message')}"
                )
            ids = [int(entry[_ROW_ID]) for entry in outcome.result.get("unexpected_index_list") or []]
            failed.append((self._positions[name][outcome.expectation_config.id], ids))
        return failed

    def build_data_docs(self) -> bool:
        """Render the Data Docs of every validation run so far (once per run: rendering is slow);
        True when there was something to render."""
        if not (self._data_docs and self._validations):
            return False
        self._context.build_data_docs()
        return True

    def close(self) -> None:
        """Nothing to end: GX runs in this process."""


class GreatExpectationsProcess:
    """``GreatExpectations`` served by a worker interpreter (``python -m envkpi.validation.validator``).

    A large night's checks then run beside this process's reading and loading, on another core,
    instead of taking turns with them for Python's one lock (GX's cost is Python, not numpy).
    The worker imports GX while this process hashes the files. Requests and answers are pickled
    over the worker's stdin and a pipe of its own; the worker ends when its stdin closes, so it
    does not outlive a killed run.
    """

    def __init__(self, expectations_dir: Path, data_docs_dir: Path | None = None):
        self._process = subprocess.Popen(
            library_command("envkpi.validation.validator", str(expectations_dir), str(data_docs_dir or "")),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=library_environment(),
        )
        if self._process.stdin is None or self._process.stdout is None:  # both asked for as pipes above
            raise RuntimeError("the validation worker process has no pipes")
        self._requests: IO[bytes] = self._process.stdin
        self._answers: IO[bytes] = self._process.stdout

    def _call(self, method: str, *arguments):
        try:
            pickle.dump((method, arguments), self._requests, protocol=pickle.HIGHEST_PROTOCOL)
            self._requests.flush()
            status, answer = pickle.load(self._answers)
        except (BrokenPipeError, EOFError) as error:
            raise RuntimeError(
                f"the validation worker process ended (exit code {self._process.poll()}); "
                "its error is above in the run's log"
            ) from error
        if status == "error":
            raise RuntimeError(f"validation in the worker process failed:\n{answer}")
        return answer

    def failures(
        self, kind: str, table: pa.Table, parameters: dict[str, list[str]], positions: tuple[int, ...] | None = None
    ) -> list[tuple[int, list[int]]]:
        return self._call("failures", kind, table, parameters, positions)

    def build_data_docs(self) -> bool:
        return self._call("build_data_docs")

    def close(self) -> None:
        if self._process.poll() is None:
            self._requests.close()  # the worker's signal to end
            self._process.wait()
        self._answers.close()


def _serve(expectations_dir: str, data_docs_dir: str) -> None:
    """The worker's loop: answer ``GreatExpectations`` calls until stdin closes."""
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever GX prints goes to stderr, not into the answers
    requests = sys.stdin.buffer
    try:
        engine, failed = GreatExpectations(Path(expectations_dir), Path(data_docs_dir) if data_docs_dir else None), None
    except Exception:
        engine, failed = None, traceback.format_exc()
    # GX's imports and context are hundreds of thousands of objects that live as long as the
    # worker: kept out of the garbage collector's passes, which otherwise walk them all again.
    keep_out_of_collection()
    while True:
        try:
            method, arguments = pickle.load(requests)
        except EOFError:
            return
        try:
            if failed:
                raise RuntimeError(failed)
            answer = ("ok", getattr(engine, method)(*arguments))
        except Exception:
            answer = ("error", traceback.format_exc())
        try:
            pickle.dump(answer, answers, protocol=pickle.HIGHEST_PROTOCOL)
            answers.flush()
        except BrokenPipeError:
            return  # the run that asked has ended (killed, or failed elsewhere)


def suite_definitions(expectations_dir: Path) -> dict[str, dict]:
    """Each kind's suite as written in ``expectations/<kind>.json``."""
    return {kind: json.loads((expectations_dir / f"{kind}.json").read_text(encoding="utf-8")) for kind in KINDS}


class Validator:
    """Runs the contract's expectation suites over delivered tables; one GX context per run.

    ``in_worker_process`` puts Great Expectations in a worker process of its own (worth its
    start-up when a night has much to check; see ``Settings.validation_process_mb``).
    """

    @timing.phase("GX setup")
    def __init__(self, expectations_dir: Path, data_docs_dir: Path | None = None, in_worker_process: bool = False):
        engine = GreatExpectationsProcess if in_worker_process else GreatExpectations
        self._engine = engine(expectations_dir, data_docs_dir)
        self._data_docs_dir = data_docs_dir
        self.expectations = {
            kind: definition["expectations"] for kind, definition in suite_definitions(expectations_dir).items()
        }
        # Per kind, the columns its expectations read when each reads one value of one column
        # (then GX checks distinct values), or None (then GX checks rows).
        self._value_columns: dict[str, list[str] | None] = {}
        for kind, expectations in self.expectations.items():
            arguments = [e["kwargs"] for e in expectations]
            one_value = all("column" in a and not {"column_A", "column_B", "column_list"} & set(a) for a in arguments)
            self._value_columns[kind] = sorted({a["column"] for a in arguments}) if one_value else None
        # Per kind and checked column, what its verdict on a value depends on: the expectations on
        # the column. The monthly kinds share those of plant_id and period, so a plant id that
        # passed in an energy file is known to pass in a waste file too.
        self._rules: dict[tuple[str, str], str] = {
            (kind, column): "\n".join(
                sorted(
                    json.dumps([e["type"], e["kwargs"]], sort_keys=True)
                    for e in expectations
                    if e["kwargs"]["column"] == column
                )
            )
            for kind, expectations in self.expectations.items()
            for column in self._value_columns[kind] or ()
        }
        # Per rules of a column and reference: the delivered values that passed them in this run
        # (None once too many to keep; see _failing_rows_by_value).
        self._passed: dict[tuple[str, ReferenceData], pa.Array | None] = {}

    @timing.phase("Data Docs")
    def build_data_docs(self) -> None:
        """Render the Data Docs of every validation this validator ran (once per run: rendering is slow),
        then make the site work offline (``envkpi.validation.data_docs``). Nothing is rendered or rewritten
        when nothing was validated: the site of the last run that validated stays as it was."""
        rendered = self._engine.build_data_docs()
        if rendered and self._data_docs_dir is not None and (self._data_docs_dir / "index.html").exists():
            from envkpi.validation.data_docs import make_offline

            make_offline(self._data_docs_dir)

    def close(self) -> None:
        """End the worker process, if GX runs in one."""
        self._engine.close()

    def _run(self, kind: str, table: pa.Table, reference: ReferenceData, columns: list[str] | None = None):
        """The failed expectations of the kind's suite (or of those reading ``columns``) with their row ids."""
        expectations = self.expectations[kind]
        positions = (
            None
            if columns is None
            else tuple(i for i, e in enumerate(expectations) if e["kwargs"]["column"] in columns)
        )
        for position, ids in self._engine.failures(kind, table, reference.parameters(table), positions):
            yield expectations[position], ids

    def _failing_rows_by_value(self, kind: str, derived: pa.Table, reference: ReferenceData):
        """Check each column's distinct values; yield every failed expectation with its rows.

        A value that passed the same expectations earlier in this run, against the same reference,
        is not checked again: after the first batch, GX sees mostly new periods and quantities,
        and the expectations on a column with nothing new are left out of the batch's suite.
        """
        value_columns = self._value_columns[kind]
        if value_columns is None:  # validate() checks by value only the kinds whose expectations allow it
            raise ValueError(f"the expectations of {kind} are not checked value by value")
        # Where each checked column's passing values are remembered: its rules and the reference.
        memory = {column: (self._rules[kind, column], reference) for column in value_columns}
        # The delivered column each checked column is judged by (a number column by its text),
        # that column's distinct values, and of those the ones not judged before.
        source = {column: NUMBER_COLUMNS.get(column, column) for column in value_columns}
        delivered = {name: pc.unique(derived[name]) for name in set(source.values())}
        fresh = {
            column: _not_judged_before(delivered[name], self._passed.get(memory[column]))
            for column, name in source.items()
        }
        fresh = {column: values for column, values in fresh.items() if len(values)}
        if not fresh:
            return
        checked = {
            column: _as_number(values) if column in NUMBER_COLUMNS else values for column, values in fresh.items()
        }
        length = max(len(values) for values in checked.values())
        # Columns of one batch have one length: a shorter column repeats its first value, which
        # changes no verdict (a value either passes or fails wherever it stands).
        positions = np.arange(length)
        padded = {
            column: values.take(pa.array(np.where(positions < len(values), positions, 0)))
            for column, values in checked.items()
        }
        columns = None if len(fresh) == len(source) else sorted(fresh)
        failed: dict[str, set[int]] = {column: set() for column in fresh}
        for expectation, ids in self._run(kind, pa.table(padded), reference, columns):
            column = expectation["kwargs"]["column"]
            values = fresh[column]
            positions_failed = sorted({i if i < len(values) else 0 for i in ids})
            failed[column].update(positions_failed)
            failing = values.take(pa.array(positions_failed, pa.int64()))
            delivered_column = derived[source[column]]
            rows = pc.is_in(delivered_column, value_set=failing.drop_null())
            if failing.null_count:
                rows = pc.or_(pc.fill_null(rows, False), pc.is_null(delivered_column))
            yield expectation, np.flatnonzero(pc.fill_null(rows, False).to_numpy(zero_copy_only=False))
        for column, values in fresh.items():
            key = memory[column]
            if key in self._passed and self._passed[key] is None:
                continue  # too many values to keep: this column is checked batch by batch
            keep = np.ones(len(values), dtype=bool)
            keep[list(failed[column])] = False
            passing = values.filter(pa.array(keep))
            so_far = self._passed.get(key)
            judged = passing if so_far is None else pa.concat_arrays([so_far, passing])
            # Remembering is worth it for ids, periods, types and units, whose few values recur
            # in every batch; measured quantities rarely recur and would only grow the lookup.
            self._passed[key] = judged if len(judged) <= REMEMBERED_VALUES else None

    def _failing_rows_by_row(self, kind: str, derived: pa.Table, reference: ReferenceData):
        yield from self._run(kind, derived, reference)

    @timing.phase("validation: GX suites")
    def validate(self, kind: str, rows: pa.Table, reference: ReferenceData) -> Validation:
        """Problems per file for one kind's rows (``source_file`` names the file of each row).

        A file with no entry, or an empty list, passes.
        """
        problems: dict[str, list[Problem]] = {}
        if not len(rows):
            return Validation(problems, np.zeros(0, dtype=bool))
        by_value = self._value_columns[kind] is not None
        derived = _with_derived_columns(kind, rows, reference, numbers=not by_value)
        failing_rows = self._failing_rows_by_value if by_value else self._failing_rows_by_row
        for expectation, row_ids in failing_rows(kind, derived, reference):
            meta = expectation.get("meta") or {}
            column = meta.get("column", "")
            reason = reference.reason(meta.get("reason", expectation["type"]))
            shown = [SOURCE_FILE, SOURCE_ROW] + ([column] if column in derived.column_names else [])
            failing = derived.select(shown).take(pa.array(row_ids, pa.int64())).to_pydict()
            values = failing.get(column, [None] * len(row_ids))
            if expectation["kwargs"].get("column") == "energy_factor_key":
                keys = derived.select(["energy_type", "unit"]).take(pa.array(row_ids, pa.int64())).to_pydict()
                for file, row, energy_type, unit in zip(
                    failing[SOURCE_FILE], failing[SOURCE_ROW], keys["energy_type"], keys["unit"]
                ):
                    problems.setdefault(file, []).append(energy_factor_problem(int(row), energy_type, unit, reference))
                continue
            for file, row, value in zip(failing[SOURCE_FILE], failing[SOURCE_ROW], values):
                problems.setdefault(file, []).append(Problem(int(row), column, _shown(value), reason))
        key_columns = [c for c in (SOURCE_FILE, *KINDS[kind].row_key) if c in derived.column_names]
        is_repeat = np.zeros(len(derived), dtype=bool)
        candidates = _rows_sharing_a_key_hash(derived.select(key_columns))
        if candidates.any():
            # Rows whose keys hash alike: compared exactly, in their order in the delivery.
            shared = to_frame(derived.filter(pa.array(candidates)))
            groups = row_key_groups(kind, shared)
            is_repeat[candidates] = groups.duplicated(keep="first").to_numpy()
            for file, problem in duplicate_key_problems(kind, shared, groups):
                problems.setdefault(file, []).append(problem)
        for found in problems.values():
            found.sort(key=lambda p: (p.row or 0, p.column))
        return Validation(problems, is_repeat)


# The most passing values remembered per checked column in a run (see _failing_rows_by_value).
REMEMBERED_VALUES = 50_000


def _not_judged_before(values: pa.Array, passed: pa.Array | None) -> pa.Array:
    """The distinct ``values`` that are not among the ``passed`` ones (all when none are kept)."""
    if passed is None or not len(passed):
        return values
    return values.filter(pc.invert(pc.is_in(values, value_set=passed, skip_nulls=False)))


def _rows_sharing_a_key_hash(keys: pa.Table) -> np.ndarray:
    """Per row: another row has the same hash of these columns (a superset of equal keys).

    Hashing millions of keys in DuckDB and sorting the hashes costs a fraction of grouping the
    text columns themselves; only the few rows that share a hash are then grouped exactly.
    """
    with duckdb.connect() as connection:
        hashed = connection.from_arrow(keys).select("hash(*COLUMNS(*)) as key_hash")
        # Nearly always every key differs: counting the distinct hashes says so without sorting.
        ((distinct,),) = hashed.aggregate("count(distinct key_hash)").fetchall()
        if distinct == len(keys):
            return np.zeros(len(keys), dtype=bool)
        hashes = hashed.fetchnumpy()["key_hash"]
    ordered = np.sort(hashes)
    shared = ordered[1:][ordered[1:] == ordered[:-1]]
    return np.isin(hashes, shared) if len(shared) else np.zeros(len(hashes), dtype=bool)


if __name__ == "__main__":
    _serve(*sys.argv[1:])
    end_worker()
