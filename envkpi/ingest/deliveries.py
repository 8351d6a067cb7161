"""Ingest: take what landed, load what is right, reject what is wrong, lose nothing.

The delivery rules of contract section 3, in the order a run applies them:

1. every file under the landing folder is found; a file whose name names no contract kind is
   reported and left alone;
2. a file whose content (sha256) an earlier run already loaded changes nothing;
3. the other files are read and validated kind by kind, reference kinds first (plants, factors,
   targets), so that a new plant and its first month can arrive together;
4. a file with any problem is rejected whole and reported; it is reported again on every run
   until it is replaced, and checked again once what it is checked against changes (the
   reference it lacked arrives, a suite or a setting changes: ``envkpi.validation.check_basis``). Until
   then a run reuses the stored rejection without reading the file;
5. an accepted file's rows go to the raw layer with their lineage, and its (kind, plant, month)
   slices replace what earlier deliveries said. Within a run files apply in order of
   modification time, then path.

No file in the landing folder is ever written, moved or deleted.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from concurrent.futures import Future
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from envkpi.contract import KINDS, READABLE_SUFFIXES, SLICE_KEY_SEPARATOR
from envkpi.ingest.landing import (  # noqa: F401 - defined there, imported from here by callers
    EXPECTED_NAME,
    NOT_A_CONTRACT_FILE,
    NOT_UTF8_NAME,
    REJECTION_COLUMNS,
    STILL_BEING_WRITTEN,
    UNREADABLE,
    IngestSummary,
    LandedFile,
    discover,
    not_a_contract_file_reason,
    shown_name,
)
from envkpi.ingest.readers import SOURCE_ROW, DeliveredTable, Problem, read_deliveries, trimmed, without_blank_rows
from envkpi.runtime import memory, timing
from envkpi.runtime.faults import fault_point
from envkpi.runtime.read_ahead import ReadAhead
from envkpi.settings import Limits, Settings
from envkpi.validation.check_basis import check_basis
from envkpi.validation.plausibility import implausible
from envkpi.validation.rules import ANY_YEAR
from envkpi.validation.validator import SOURCE_FILE, ReferenceData, Validation, Validator
from envkpi.warehouse.database import one_row, rebuild_conversion, unstorable_numbers

UNSTORABLE_REASON = (
    "{column} cannot be stored as an exact decimal (too many digits or too large an exponent): "
    "write a plain decimal number, e.g. 1234.5"
)


@timing.phase("reference for checks")
def current_reference(
    connection: duckdb.DuckDBPyConnection,
    fiscal_year_start_month: int,
    plants_known: bool = True,
    reporting_currency: str = "JPY",
    period_range: tuple[str, str] = ("0000-01", "9999-12"),
) -> ReferenceData:
    """The boundary, factors and KPIs that deliveries are checked against right now."""
    plants = connection.execute("select plant_id, business_unit from accepted_plants").fetchall()
    factor_keys = connection.execute(
        "select energy_type || '|' || unit || '|' || fiscal_year from normalised_conversion where measure = 'energy'"
    ).fetchall()
    kpis = connection.execute("select kpi from reference_kpi").fetchall()
    return ReferenceData(
        known_plants=frozenset(p for p, _ in plants),
        known_business_units=frozenset(b for _, b in plants if b),
        # Each type and unit also with any year ("*"), for rows whose period is not valid.
        known_energy_factor_keys=frozenset(k for (k,) in factor_keys)
        | frozenset(k.rsplit("|", 1)[0] + "|" + ANY_YEAR for (k,) in factor_keys),
        known_kpis=frozenset(k for (k,) in kpis),
        fiscal_year_start_month=fiscal_year_start_month,
        plants_known=plants_known,
        reporting_currency=reporting_currency,
        period_range=period_range,
    )


@timing.phase("assemble kind frame")
def kind_table(kind: str, tables: dict[str, DeliveredTable]) -> pa.Table:
    """The rows of several readable files of one kind as one Arrow table of trimmed text.

    Columns: ``source_file``, ``source_row``, every contract column of the kind (missing where a
    file leaves an optional one out) and ``extra_columns`` (JSON of the columns beyond the
    contract). Built in Arrow, so its cost is per row in C++ and per file only a few calls.
    """
    names = KINDS[kind].columns
    if not tables:
        return pa.table(
            {
                SOURCE_FILE: pa.array([], pa.string()),
                SOURCE_ROW: pa.array([], pa.int64()),
                **{name: pa.array([], pa.string()) for name in [*names, "extra_columns"]},
            }
        )
    # Columns are gathered as lists of pieces and joined once: tens of thousands of small
    # tables, or kernels run over as many chunks, cost more than the rows themselves.
    labels, counts = list(tables), np.array([len(table) for table in tables.values()], dtype=np.int64)
    file_index = pa.array(np.repeat(np.arange(len(labels), dtype=np.int32), counts))
    columns = {
        SOURCE_FILE: pa.DictionaryArray.from_arrays(file_index, pa.array(labels, pa.string())).cast(pa.string()),
        SOURCE_ROW: pa.array(np.concatenate([_row_numbers(table.source_rows) for table in tables.values()])),
    }
    pieces: dict[str, list] = {name: [] for name in [*names, "extra_columns"]}
    for run in _consecutive_in_a_batch(list(tables.values())):
        first, count = run[0], sum(len(table) for table in run)
        if first.batch is not None:  # the files' rows are one slice of the batch they were parsed in
            part = first.batch.slice(first.batch_start, count)
            values = {
                name: part.column(name) if name in part.column_names else pa.nulls(count, pa.string()) for name in names
            }
        else:
            values = first.arrow(names)
        for name, column in values.items():
            pieces[name].extend(column.chunks if isinstance(column, pa.ChunkedArray) else [column])
        if first.extra_columns:  # the same header for the whole run
            pieces["extra_columns"].extend(_extra_columns_json(table) for table in run)
        else:
            pieces["extra_columns"].append(pa.nulls(count, pa.string()))
    for name in names:
        columns[name] = trimmed(pa.chunked_array(pieces[name], pa.string()).combine_chunks())
    columns["extra_columns"] = pa.chunked_array(pieces["extra_columns"], pa.string()).combine_chunks()
    return without_blank_rows(pa.table(columns), [*names, "extra_columns"])


def _consecutive_in_a_batch(tables: list[DeliveredTable]) -> list[list[DeliveredTable]]:
    """The tables in order, in runs of files whose rows follow one another in one plain batch."""
    runs: list[list[DeliveredTable]] = []
    for table in tables:
        if runs and table.batch is not None:
            last = runs[-1][-1]
            if last.batch is table.batch and last.batch_start + len(last) == table.batch_start:
                runs[-1].append(table)
                continue
        runs.append([table])
    return runs


def _row_numbers(rows) -> np.ndarray:
    if isinstance(rows, range):
        return np.arange(rows.start, rows.stop, rows.step, dtype=np.int64)
    return np.asarray(rows, dtype=np.int64)


def _extra_columns_json(table: DeliveredTable) -> pa.Array:
    """Per row, JSON of the cells beyond the contract's columns (null where there are none)."""
    if not table.extra_columns:
        return pa.nulls(len(table), pa.string())
    extras = zip(*(table.arrow(table.extra_columns)[c].to_pylist() for c in table.extra_columns))
    values = [[(v or "").strip() for v in row] for row in extras]
    # No JSON for a row whose extra cells are all empty: a blank row stays recognisably blank.
    return pa.array(
        [json.dumps(dict(zip(table.extra_columns, row)), ensure_ascii=False) if any(row) else None for row in values],
        pa.string(),
    )


# A batch's checks: its validation by the suites (None when it has no rows), the numbers the
# warehouse could not store, as (source_file, source_row, column, text), and the values that are
# implausible (envkpi.validation.plausibility), as (source_file, problem).
Checked = tuple[Validation | None, list[tuple[str, int, str, str]], list[tuple[str, Problem]]]


def _checked(
    kind: str, rows: pa.Table, validator: Validator, reference: ReferenceData, connection: duckdb.DuckDBPyConnection
) -> Checked:
    if not len(rows):
        return None, [], []
    return (
        validator.validate(kind, rows, reference),
        unstorable_numbers(connection, rows),
        implausible(kind, rows, reference.period_range),
    )


def _checked_ahead(
    batch: tuple[str, list],
    read: tuple[dict[str, DeliveredTable], pa.Table, dict[str, ReadContent]],
    validator: Validator,
    reference: ReferenceData,
) -> Checked:
    """A batch's checks in the checking thread, once it is read (``ReadAhead.check_with``)."""
    with duckdb.connect() as scratch:  # the warehouse's connection belongs to the run's thread
        return _checked(batch[0], read[1], validator, reference, scratch)


@timing.phase("validation: waiting for the check ahead")
def _check_result(checking: Future) -> Checked:
    return checking.result()  # a function of its own, so that the benchmark times this wait


CHANGED_WHILE_READ = (
    "changed while it was being read (size or modification time differ from when the run found "
    "it): probably still being copied or written, so left for the next run"
)


@dataclass(frozen=True)
class ReadContent:
    """What one read of a file's bytes gave: its sha256, size and modification time, or why not."""

    sha256: str | None
    size: int
    modified_ns: int
    problem: Problem | None = None  # the file could not be read, or changed while being read


@timing.phase("hash files", memory=False)
def read_landed(landed: LandedFile) -> tuple[bytes | None, ReadContent]:
    """A file's bytes, read once: the sha256, the size and the rows all come from these bytes.

    The file is opened once and its status taken from the open file before and after the read,
    so that a file still growing (a copy in progress) is noticed rather than loaded in part.
    """
    try:
        with open(landed.path, "rb") as handle:
            before = os.fstat(handle.fileno())
            raw = handle.read()
            after = os.fstat(handle.fileno())
    except OSError as error:
        return None, ReadContent(
            None,
            landed.size,
            landed.modified_ns,
            Problem(
                None, "", landed.path.name, UNREADABLE.format(error=error.strerror or type(error).__name__, what="file")
            ),
        )
    stats = {(s.st_size, s.st_mtime_ns) for s in (before, after)} | {(landed.size, landed.modified_ns)}
    if len(stats) > 1 or len(raw) != after.st_size:
        return None, ReadContent(
            None, len(raw), after.st_mtime_ns, Problem(None, "", landed.path.name, CHANGED_WHILE_READ)
        )
    return raw, ReadContent(hashlib.sha256(raw).hexdigest(), len(raw), after.st_mtime_ns)


def _read_batch(
    kind: str,
    candidates: list[tuple[LandedFile, str | None, int | None]],
    limits: Limits = Limits(),
    loaded_content: frozenset[str] = frozenset(),
) -> tuple[dict[str, DeliveredTable], pa.Table, dict[str, ReadContent]]:
    """A batch's files as read (or why not), the rows of the readable ones as one table, and what
    each read gave (files whose sha256 the run knew by their status are read too: their rows).
    A file whose stored rejection the run reuses (a rejected delivery_id as the candidate's third
    item) is not read. A file whose bytes an earlier run loaded (``loaded_content``, by sha256:
    the same file copied again, or touched) is not parsed or checked: it changes nothing."""
    candidates = [candidate for candidate in candidates if candidate[2] is None]
    contents: dict[str, bytes] = {}
    reads: dict[str, ReadContent] = {}
    tables: dict[str, DeliveredTable] = {}
    for landed, _, _ in candidates:
        raw, reads[landed.relative] = read_landed(landed)
        if raw is not None and reads[landed.relative].sha256 in loaded_content:
            tables[landed.relative] = DeliveredTable()  # unchanged: the run reports it so by its sha256
        elif raw is not None and landed.path.suffix.casefold() not in READABLE_SUFFIXES:
            tables[landed.relative] = DeliveredTable(
                problems=[
                    Problem(
                        None, "", landed.path.suffix, "unsupported file format: deliver CSV (.csv) or Excel (.xlsx)"
                    )
                ]
            )
        elif raw is not None:
            contents[landed.relative] = raw
    tables.update(
        read_deliveries(
            {landed.relative: landed.path for landed, _, _ in candidates if landed.relative in contents},
            kind,
            contents,
            limits,
        )
    )
    contents.clear()
    for landed, _, _ in candidates:
        if landed.relative not in tables:  # not readable, or changed while being read
            problem = reads[landed.relative].problem
            if problem is None:  # read_deliveries gives a table for every file read whole
                raise RuntimeError(f"{landed.relative} was read, but gave no table")
            tables[landed.relative] = DeliveredTable(problems=[problem])
    tables = {landed.relative: tables[landed.relative] for landed, _, _ in candidates}
    parsed = {label: t for label, t in tables.items() if t.readable and reads[label].sha256 not in loaded_content}
    return tables, kind_table(kind, parsed), reads


# A kind's new files are read, validated and loaded in batches of about this many bytes of
# delivered text: memory stays bounded (a full history of a large group is gigabytes of CSV)
# while each batch stays large enough that Great Expectations' fixed cost per run is small.
# Three batches are in memory at once: one loaded, one validated and one read ahead (up to five
# at the start, before checks can run ahead; see Ingest._run and runtime.read_ahead).
BATCH_BYTES = 96 * 1024 * 1024


def _batches(candidates: list) -> list[list]:
    """Consecutive runs of candidates (in delivery order) of at most BATCH_BYTES (one file at least)."""
    batches: list[list] = []
    size = 0
    for candidate in candidates:
        read = 0 if candidate[2] is not None else candidate[0].size  # a reused rejection is not read
        if not batches or size + read > BATCH_BYTES:
            batches.append([])
            size = 0
        batches[-1].append(candidate)
        size += read
    return batches


def known_deliveries(connection: duckdb.DuckDBPyConnection) -> dict:
    """What earlier runs know of files: ``by_stat`` maps (path, size, modification time) to the
    sha256 of the content found under it; ``by_sha`` says of each content whether a delivery of
    it was accepted, and for a rejected one its delivery_id and what it was checked against."""
    by_stat: dict[tuple[str, int, int], str] = {}
    by_sha: dict[str, dict] = {}
    for source_file, size, modified_ns, sha, status, delivery_id, checked_against in connection.execute(
        "select source_file, size_bytes, modified_ns, sha256, status, delivery_id, checked_against "
        "from delivery left join rejection_check using (delivery_id) order by delivery_id"
    ).fetchall():
        by_stat[(source_file, size, modified_ns)] = sha
        entry = by_sha.setdefault(sha, {"accepted": False, "rejected_id": None, "checked_against": None})
        if status == "accepted":
            entry["accepted"] = True
        else:
            entry["rejected_id"] = delivery_id
            entry["checked_against"] = checked_against
    for source_file, size, modified_ns, sha in connection.execute(
        "select source_file, size_bytes, modified_ns, sha256 from known_status"
    ).fetchall():
        if sha in by_sha:
            by_stat.setdefault((source_file, size, modified_ns), sha)
    return {"by_stat": by_stat, "by_sha": by_sha}


def verdicts_without_reading(
    files: list[LandedFile], known: dict, basis: str
) -> list[tuple[LandedFile, str, int | None]] | None:
    """What a run would make of each file without reading a byte of it, in the order it takes
    them: ``unchanged`` (content loaded before, known by its path, size and modification time),
    or ``rejected`` again with the problems stored for its rejected delivery_id (checked against
    ``basis``, the check basis of now). None when a run would read some file: one not known by
    its status, or a rejection checked against something else. The rules of ``Ingest._candidates``
    and ``Ingest._reusing_rejections`` for a night when no file is new.
    """
    accepted = {sha for sha, status in known["by_sha"].items() if status["accepted"]}
    seen: set[str] = set()
    verdicts: list[tuple[LandedFile, str, int | None]] = []
    for landed in sorted(files, key=lambda f: (f.modified_ns, f.relative)):
        sha = known["by_stat"].get((landed.relative, landed.size, landed.modified_ns))
        if sha is None:
            return None
        if sha in accepted or sha in seen:
            verdicts.append((landed, "unchanged", None))
            continue
        seen.add(sha)
        if known["by_sha"][sha]["checked_against"] != basis:
            return None
        verdicts.append((landed, "rejected", known["by_sha"][sha]["rejected_id"]))
    return verdicts


class Ingest:
    """One run's ingest into an open warehouse connection (the caller owns the transaction)."""

    def __init__(
        self,
        connection: duckdb.DuckDBPyConnection,
        run_id: str,
        ingested_at: pd.Timestamp,
        fiscal_year_start_month: int,
        make_validator,
        plants_known: bool = True,
        settings: Settings | None = None,
    ):
        settings = settings or Settings()
        self.settings = settings
        self.limits = settings.limits
        self.reporting_currency = settings.reporting_currency
        self.max_problems_per_file = settings.max_problems_per_file
        self.period_range = (settings.min_period, settings.max_period())
        self._accepted_content: set[str] = set()
        self._seen_this_run: set[str] = set()
        self.connection = connection
        self.run_id = run_id
        self.ingested_at = ingested_at
        self.fiscal_year_start_month = fiscal_year_start_month
        self._make_validator = make_validator  # builds a Validator only when something is new
        self._validator: Validator | None = None
        self._validator_build: Future | None = None
        self._pending_deliveries: list[tuple] = []
        self._bases: dict[ReferenceData, str] = {}  # check_basis of each reference this run checked against
        self._stored_problems: dict[int, list[Problem]] = {}  # of the rejections this run reuses
        self._new_statuses: list[tuple[str, int, int, str]] = []  # of loaded content under a new status
        self.plants_known = plants_known
        self._next_delivery_id = (
            1
            + one_row(
                connection,
                "select greatest(coalesce((select max(delivery_id) from delivery), 0),"
                "                coalesce((select max(delivery_id) from current_slice), 0))",
            )[0]
        )

    @property
    def validator(self) -> Validator:
        if self._validator is None:
            self._validator = self._built_validator()
        return self._validator

    @timing.phase("GX setup")
    def _built_validator(self) -> Validator:
        """The validator being built beside the hashing and reading (waiting for it), or a new one."""
        return self._validator_build.result() if self._validator_build else self._make_validator(0)

    def _reference(self) -> ReferenceData:
        return current_reference(
            self.connection, self.fiscal_year_start_month, self.plants_known, self.reporting_currency, self.period_range
        )

    @timing.phase("ingest bookkeeping (known files, order, waiting for reads)")
    def run(self, files: list[LandedFile], ignored: list[tuple[str, Problem]]) -> IngestSummary:
        summary = IngestSummary(self.run_id, first_delivery_id=self._next_delivery_id)
        for relative, problem in ignored:
            summary.ignored.append(relative)
            summary.problems.append((relative, problem))
        known = self._known_deliveries()
        try:
            self._run(files, known, summary)
        except BaseException:
            self._close_validator()
            raise
        return summary

    def _run(self, files: list[LandedFile], known: dict, summary: IngestSummary) -> None:
        # The kinds in contract order, each kind's new files in delivery order, in batches. While
        # a batch is loaded here, the next is checked and the one after read (runtime.read_ahead).
        # Checks run ahead only for the monthly kinds: by then every reference kind is loaded, so
        # what a batch is checked against no longer changes. The validator is built (GX
        # imported) while the files are hashed, and only when something is new.
        with ReadAhead[tuple[str, list], tuple](depth=2, depth_before_checks=4) as ahead:
            new_bytes = sum(f.size for f in files if (f.relative, f.size, f.modified_ns) not in known["by_stat"])
            if new_bytes:
                self._validator_build = ahead.beside(self._make_validator, new_bytes)
            candidates = self._candidates(files, known, summary)
            batches_of = {kind: _batches([c for c in candidates if c[0].kind == kind]) for kind in KINDS}
            loaded_content = frozenset(self._accepted_content)
            ahead.start(
                [(kind, batch) for kind in KINDS for batch in batches_of[kind]],
                read=lambda work: _read_batch(*work, self.limits, loaded_content),
            )
            for kind in KINDS:
                to_check = any(candidate[2] is None for batch in batches_of[kind] for candidate in batch)
                if KINDS[kind].monthly and to_check and not ahead.checking:
                    ahead.check_with(
                        functools.partial(_checked_ahead, validator=self.validator, reference=self._reference()),
                        applies=lambda work: KINDS[work[0]].monthly,
                    )
                for batch in batches_of[kind]:
                    (tables, rows, reads), checking = ahead.next()
                    checked = _check_result(checking) if checking else None
                    self._ingest_kind(kind, batch, tables, rows, summary, checked, reads)
                    del tables, rows, checked, reads
                if kind == "factors" and batches_of[kind]:
                    rebuild_conversion(self.connection)
                fault_point(f"ingest:kind-done:{kind}")

    def finish_validation(self) -> None:
        """Render the Data Docs of this run's validations (nothing when nothing was validated) and
        end the validator's worker process, if it has one."""
        if self._validator is None and self._validator_build is None:
            return
        validator = self.validator
        try:
            validator.build_data_docs()
        finally:
            validator.close()

    def _close_validator(self) -> None:
        """End the validator's worker process on the way out of a failed ingest."""
        try:
            if self._validator is not None or self._validator_build is not None:
                self.validator.close()
        except Exception:  # noqa: BLE001 - the error that ended the ingest is the one to report
            pass

    @timing.phase("ingest bookkeeping (known files, order, waiting for reads)")
    def _candidates(
        self, files: list[LandedFile], known: dict, summary: IngestSummary
    ) -> list[tuple[LandedFile, str | None, int | None]]:
        """The files whose content may be new, in delivery order, with the sha256 their status gives.

        A file whose path, size and modification time an earlier delivery had is known by that
        delivery's sha256 without reading it; every other file is read once, in its batch, and its
        sha256 taken from those bytes (``read_landed``): whether it is new is decided then.
        """
        self._accepted_content = {sha for sha, status in known["by_sha"].items() if status["accepted"]}
        self._known_by_sha = known["by_sha"]
        candidates: list[tuple[LandedFile, str | None, int | None]] = []
        for landed in sorted(files, key=lambda f: (f.modified_ns, f.relative)):
            sha = known["by_stat"].get((landed.relative, landed.size, landed.modified_ns))
            if sha is not None and (sha in self._accepted_content or sha in self._seen_this_run):
                summary.unchanged.append(landed.relative)
                continue
            rejected = None
            if sha is not None:
                self._seen_this_run.add(sha)
                if known["by_sha"][sha]["checked_against"] is not None:
                    rejected = known["by_sha"][sha]["rejected_id"]
            candidates.append((landed, sha, rejected))
        return self._reusing_rejections(candidates, known)

    def _reusing_rejections(
        self, candidates: list[tuple[LandedFile, str | None, int | None]], known: dict
    ) -> list[tuple[LandedFile, str | None, int | None]]:
        """The candidates, each rejected file marked (by its rejected delivery_id) only where the
        run would check it against exactly what it was checked against when it was rejected.

        A kind is checked against the reference as the kinds before it leave it; the reference
        kinds (plants, factors, ...) may change it when a file of theirs is new this run, so from
        the kind after such a file on, rejected files are checked again.
        """
        if not any(rejected is not None for _, _, rejected in candidates):
            return candidates
        basis = self._basis(self._reference())
        same_reference: dict[str | None, bool] = {}
        may_change = False
        for kind in KINDS:
            same_reference[kind] = not may_change
            if not KINDS[kind].monthly and any(c[0].kind == kind and c[2] is None for c in candidates):
                may_change = True
        checked_against = {status["rejected_id"]: status["checked_against"] for status in known["by_sha"].values()}
        reused = {
            rejected
            for landed, _, rejected in candidates
            if rejected is not None and same_reference[landed.kind] and checked_against[rejected] == basis
        }
        self._stored_problems = self._stored_rejections(reused)
        return [
            (landed, sha, rejected if rejected in self._stored_problems else None)
            for landed, sha, rejected in candidates
        ]

    def _stored_rejections(self, delivery_ids: set[int]) -> dict[int, list[Problem]]:
        """The problems of these rejected deliveries, in the order their run listed them."""
        if not delivery_ids:
            return {}
        stored: dict[int, list[Problem]] = {}
        unnumbered: set[int] = set()  # written before problems were numbered: cannot be put back in order
        for delivery_id, row, column, value, reason, number in self.connection.execute(
            'select delivery_id, "row", "column", value, reason, problem_number from rejection '
            "where delivery_id in (select unnest($ids)) order by delivery_id, problem_number",
            {"ids": sorted(delivery_ids)},
        ).fetchall():
            if number is None:
                unnumbered.add(delivery_id)
            else:
                stored.setdefault(delivery_id, []).append(Problem(row, column, value, reason))
        # The rows of an unnumbered one are checked again.
        return {delivery_id: problems for delivery_id, problems in stored.items() if delivery_id not in unnumbered}

    def _basis(self, reference: ReferenceData) -> str:
        if reference not in self._bases:
            self._bases[reference] = check_basis(reference, self.settings)
        return self._bases[reference]

    @timing.phase("ingest bookkeeping (known files, order, waiting for reads)")
    def _known_deliveries(self) -> dict:
        return known_deliveries(self.connection)

    @timing.phase("kind bookkeeping (accepted rows, slice keys)")
    def _ingest_kind(
        self,
        kind: str,
        candidates: list[tuple[LandedFile, str | None, int | None]],
        tables: dict[str, DeliveredTable],
        rows: pa.Table,
        summary: IngestSummary,
        checked: Checked | None,
        reads: dict[str, ReadContent],
    ) -> None:
        if checked is None and len(rows):  # not checked ahead
            reference = self._reference()
            checked = _checked(kind, rows, self.validator, reference, self.connection)
        validation, unstorable, implausible_values = checked or (None, [], [])
        found = {file: list(problems) for file, problems in (validation.problems if validation else {}).items()}
        for file, problem in implausible_values:  # the more telling reason for its cell (an invisible character)
            found[file] = [p for p in found.get(file, []) if (p.row, p.column) != (problem.row, problem.column)]
            found[file].append(problem)
        for file, row, column, value in unstorable:
            if not any(p.row == row and p.column == column for p in found.get(file, [])):  # not reported yet
                found.setdefault(file, []).append(Problem(row, column, value, UNSTORABLE_REASON.format(column=column)))
        for problems in found.values():
            problems.sort(key=lambda p: (p.row or 0, p.column))
        fault_point(f"ingest:validated:{kind}")
        delivery_ids: dict[str, int] = {}
        basis = None  # of the reference this batch was checked against, once a file is rejected
        for landed, known_sha, reused in candidates:
            if reused is not None:  # rejected before, against the same as now: the same problems
                summary.rejected.append(landed.relative)
                summary.problems.extend((landed.relative, p) for p in self._stored_problems[reused])
                continue
            table = tables[landed.relative]
            read = reads.get(landed.relative)
            if read is not None and read.problem is not None:  # unreadable, or still being written
                summary.ignored.append(landed.relative)
                summary.problems.append((landed.relative, read.problem))
                continue
            sha = read.sha256 if read is not None else known_sha
            if sha is None:  # a file not known by its status is read, and a file read whole has its sha256
                raise RuntimeError(f"{landed.relative} has no sha256")
            if read is not None:  # the status and the content of the one read
                landed = LandedFile(landed.path, landed.relative, landed.kind, read.size, read.modified_ns)
            if sha != known_sha:  # content the status did not vouch for
                if sha in self._known_by_sha:  # an earlier run's content: known by this status from now on
                    self._new_statuses.append((landed.relative, landed.size, landed.modified_ns, sha))
                if sha in self._accepted_content or sha in self._seen_this_run:
                    summary.unchanged.append(landed.relative)
                    continue
                self._seen_this_run.add(sha)
            rejected_before = self._known_by_sha.get(sha, {}).get("rejected_id")
            problems = table.problems or found.get(landed.relative, [])
            if problems:
                problems = self._listed(problems)
                # Nothing of this batch is loaded yet: the reference now is the one it was checked against.
                basis = basis or self._basis(self._reference())
                self._record_rejection(landed, sha, kind, table, problems, rejected_before, basis)
                summary.rejected.append(landed.relative)
                summary.problems.extend((landed.relative, p) for p in problems)
                continue
            delivery_ids[landed.relative] = self._record_delivery(landed, sha, kind, table, "accepted")
            summary.loaded.append(landed.relative)
        self._flush_deliveries()
        if self._new_statuses:
            self.connection.executemany("insert into known_status values (?, ?, ?, ?)", self._new_statuses)
            self._new_statuses = []
        fault_point(f"ingest:deliveries-recorded:{kind}")
        if delivery_ids:
            if validation is not None and validation.is_repeat.any():
                repeats = rows.filter(pa.array(validation.is_repeat)).select([SOURCE_FILE, SOURCE_ROW]).to_pydict()
                summary.repeated_rows.extend(
                    (file, int(row))
                    for file, row in zip(repeats[SOURCE_FILE], repeats[SOURCE_ROW])
                    if file in delivery_ids
                )
            # No validation when the batch has no rows: none repeats.
            is_repeat = validation.is_repeat if validation is not None else np.zeros(len(rows), dtype=bool)
            self._load(kind, rows.append_column("is_repeat", pa.array(is_repeat)), delivery_ids)

    def _listed(self, problems: list[Problem]) -> list[Problem]:
        """At most ``max_problems_per_file`` problems, and a last one counting the rest."""
        limit = self.max_problems_per_file
        if len(problems) <= limit:
            return problems
        rest = len(problems) - limit
        return [
            *problems[:limit],
            Problem(
                None,
                "",
                f"{rest:,} more",
                (
                    f"{rest:,} more problems in this file are not listed (at most {limit:,} are, setting "
                    f"max_problems_per_file): fix the ones above, then check the file again"
                ),
            ),
        ]

    @timing.phase("delivery rows", memory=False)
    def _record_delivery(self, landed: LandedFile, sha: str, kind: str, table: DeliveredTable, status: str) -> int:
        """Give the file its delivery_id; the row is written with the kind's others by ``_flush_deliveries``."""
        delivery_id = self._next_delivery_id
        self._next_delivery_id += 1
        self._pending_deliveries.append(
            (
                delivery_id,
                self.run_id,
                landed.relative,
                sha,
                landed.size,
                landed.modified_ns,
                kind,
                status,
                len(table),
                table.encoding or None,
                self.ingested_at,
            )
        )
        return delivery_id

    @timing.phase("delivery rows", memory=False)
    def _flush_deliveries(self) -> None:
        """One insert for a kind's deliveries: a statement per file costs more than reading the file."""
        if not self._pending_deliveries:
            return
        columns = [
            "delivery_id",
            "run_id",
            "source_file",
            "sha256",
            "size_bytes",
            "modified_ns",
            "kind",
            "status",
            "row_count",
            "encoding",
            "ingested_at",
        ]
        self.connection.register("incoming_deliveries", pd.DataFrame(self._pending_deliveries, columns=columns))
        try:
            self.connection.execute("insert into delivery by name select * from incoming_deliveries")
        finally:
            self.connection.unregister("incoming_deliveries")
        self._pending_deliveries = []

    @timing.phase("rejection rows", memory=False)
    def _record_rejection(
        self,
        landed: LandedFile,
        sha: str,
        kind: str,
        table: DeliveredTable,
        problems: list[Problem],
        rejected_before: int | None,
        checked_against: str,
    ) -> None:
        if rejected_before is None:
            delivery_id = self._record_delivery(landed, sha, kind, table, "rejected")
        else:
            # The same content was rejected before: keep one delivery row, with today's reasons.
            delivery_id = rejected_before
            self.connection.execute("delete from rejection where delivery_id = ?", [delivery_id])
        self.connection.executemany(
            'insert into rejection (delivery_id, "row", "column", value, reason, problem_number) values (?, ?, ?, ?, ?, ?)',
            [[delivery_id, p.row, p.column, p.value, p.reason, number] for number, p in enumerate(problems)],
        )
        self.connection.execute("insert or replace into rejection_check values (?, ?)", [delivery_id, checked_against])

    @timing.phase("load raw rows + slices")
    def _load(self, kind: str, rows: pa.Table, delivery_ids: dict[str, int]) -> None:
        """Append the accepted files' rows to the raw layer and let them state the slices they cover."""
        # Identifiers only, all from the contract's fixed names; no delivered text enters the SQL.
        table = f"raw_{kind}"
        columns = ", ".join(KINDS[kind].columns)
        # Each row's delivery_id (null for a rejected file's rows) and slice key, computed in
        # Arrow: cheaper than joining millions of rows on the file name and concatenating text in
        # SQL. A slice key joins its columns with SLICE_KEY_SEPARATOR.
        files = pa.array(list(delivery_ids), pa.string())
        position = pc.index_in(rows[SOURCE_FILE], value_set=files)
        rows = rows.append_column("delivery_id", pc.take(pa.array(list(delivery_ids.values()), pa.int64()), position))
        slice_columns = [pc.fill_null(rows[c], "") for c in KINDS[kind].slice_columns]
        rows = rows.append_column("slice_key", pc.binary_join_element_wise(*slice_columns, SLICE_KEY_SEPARATOR))
        # Each scan gets a reader of its own (memory.scanned_once): the open transaction would
        # otherwise keep the batch's rows alive until the commit.
        self.connection.register("incoming_rows", memory.scanned_once(rows))
        try:
            self.connection.execute(
                f"insert into {table} by name "
                f"select delivery_id, {SOURCE_ROW}, slice_key, is_repeat, {columns}, extra_columns "
                f"from incoming_rows where delivery_id is not null"
            )
        finally:
            self.connection.unregister("incoming_rows")
        fault_point(f"ingest:raw-inserted:{kind}")
        # The latest delivery of this run states each slice it covers.
        self.connection.register("incoming_rows", memory.scanned_once(rows, ["slice_key", "delivery_id"]))
        try:
            self.connection.execute(
                "create or replace temp table incoming_slice as "
                "select slice_key, max(delivery_id) as delivery_id from incoming_rows "
                "where delivery_id is not null group by slice_key"
            )
        finally:
            self.connection.unregister("incoming_rows")
        self.connection.execute(
            "delete from current_slice where kind = ? and slice_key in (select slice_key from incoming_slice)", [kind]
        )
        self.connection.execute(
            "insert into current_slice select ?, slice_key, delivery_id from incoming_slice", [kind]
        )
        self.connection.execute("drop table incoming_slice")
        fault_point(f"ingest:slices-replaced:{kind}")
