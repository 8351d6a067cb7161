"""Checking delivered tables against the data contract with Great Expectations.

The rules are the suites in ``expectations/<kind>.json``; each expectation's ``meta`` names the
contract rule, the column a plant should look at, and the reason it reads. All files of one kind
in a run are checked as one batch, and every failing row is mapped back to its file and
spreadsheet row.

Every expectation of the monthly kinds reads one value of one column (not empty, in a set,
matching a pattern, between bounds), so its verdict on a row is its verdict on that value. GX
therefore checks each column's distinct values, not its rows: 3.5 million waste rows hold 2,000
plant ids, 180 periods and about 200,000 quantities, and GX's cost grows with the rows it is
given. A value that fails is mapped back to every row that holds it. The Data Docs of those
kinds count distinct values, not rows. A suite with an expectation over two columns (the
reference kinds' date ranges) is checked row by row.

Two rules need more than one row at a time and are explicit checks here: duplicate key rows that
disagree, and the readers' structural problems (encoding, ragged rows, missing columns).
Great Expectations is imported only when a validator is built, so the rest of the library stays
quick to import.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from envkpi.contract import KINDS
from envkpi.readers import SOURCE_ROW, Problem, to_frame

SOURCE_FILE = "source_file"
_ROW_ID = "_row_id"
_NUMBER = re.compile(r"^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?$")
_PERIOD = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")


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

    def parameters(self, frame: pd.DataFrame) -> dict[str, list[str]]:
        plants = sorted(self.known_plants) if self.plants_known else sorted(_present(frame, "plant_id"))
        return {
            "known_plants": plants,
            "known_energy_factor_keys": sorted(self.known_energy_factor_keys),
            "known_kpis": sorted(self.known_kpis),
            "known_scopes": sorted({"group"} | set(self.known_plants) | set(self.known_business_units)),
        }


def _present(frame: pd.DataFrame, column: str) -> set[str]:
    return set(frame[column].dropna()) if column in frame else set()


def _where_matches(values: pa.ChunkedArray, pattern: re.Pattern) -> pa.ChunkedArray:
    return pc.if_else(pc.match_substring_regex(values, pattern.pattern), values, pa.scalar(None, pa.string()))


def fiscal_year_of(periods: pa.ChunkedArray, start_month: int) -> pa.ChunkedArray:
    """The fiscal year of each valid ``YYYY-MM`` period (the FY is named for its start year)."""
    valid = _where_matches(periods, _PERIOD)
    year = pc.cast(pc.utf8_slice_codeunits(valid, 0, 4), pa.int32())
    month = pc.cast(pc.utf8_slice_codeunits(valid, 5, 7), pa.int32())
    return pc.subtract(year, pc.cast(pc.less(month, start_month), pa.int32()))


# Typed columns that the suites check, each computed from one delivered column.
NUMBER_COLUMNS = {f"{column}_number": column for column in ("quantity", "gj_per_unit", "target_pct")}


def _as_number(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """The number each text states (null where it is not a plain decimal number)."""
    return pc.cast(_where_matches(values, _NUMBER), pa.float64())


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
    if kind == "energy":
        fiscal_year = fiscal_year_of(derived["period"], reference.fiscal_year_start_month)
        key = pc.binary_join_element_wise(derived["energy_type"], pc.fill_null(derived["unit"], ""),
                                          pc.cast(fiscal_year, pa.string()), "|")
        derived = derived.append_column("energy_factor_key", key)
    return derived


def _shown(value: object) -> str:
    """A cell as text; a missing one (None, or NaN in Arrow-backed columns) is empty."""
    return "" if value is None or pd.isna(value) else str(value)


def row_key_groups(kind: str, frame: pd.DataFrame) -> pd.Series:
    """A number per row that is the same for rows with the same file and row key."""
    present = [c for c in (SOURCE_FILE, *KINDS[kind].row_key) if c in frame]
    return frame[present].fillna("\x00").groupby(present, sort=False, dropna=False).ngroup()


def duplicate_key_problems(kind: str, frame: pd.DataFrame, groups: pd.Series | None = None) -> list[tuple[str, Problem]]:
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
                problems.append((row[SOURCE_FILE], Problem(
                    int(row[SOURCE_ROW]), column, _shown(row[column]),
                    f"duplicate key ({', '.join(KINDS[kind].row_key)}) of row {int(first[SOURCE_ROW])} "
                    f"with a different {column}",
                )))
    return problems


@dataclass(frozen=True)
class Validation:
    """What validating one kind's rows found."""

    problems: dict[str, list[Problem]]  # per file; a file with none passes
    # Per row: it repeats an earlier row of its file with the same row key. Such a repeat is
    # identical (one that differs is a problem), so it is kept in the raw layer but counted once.
    is_repeat: np.ndarray


class Validator:
    """Runs the contract's expectation suites over delivered tables; one GX context per run."""

    def __init__(self, expectations_dir: Path, data_docs_dir: Path | None = None):
        import great_expectations as gx
        from great_expectations.core import ExpectationSuite

        logging.getLogger("great_expectations").setLevel(logging.ERROR)
        self._gx = gx
        self._context = gx.get_context(mode="ephemeral")
        self._context.variables.progress_bars = {"globally": False}
        self._data_docs = data_docs_dir is not None
        if data_docs_dir is not None:
            self._context.add_data_docs_site(
                site_name="envkpi",
                site_config={
                    "class_name": "SiteBuilder",
                    "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                                      "base_directory": str(data_docs_dir)},
                    "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                },
            )
        self._datasource = self._context.data_sources.add_pandas("deliveries")
        self._checkpoints = {}
        self.suites: dict[str, ExpectationSuite] = {}
        for kind in KINDS:
            definition = json.loads((expectations_dir / f"{kind}.json").read_text(encoding="utf-8"))
            self.suites[kind] = self._context.suites.add(ExpectationSuite(**definition))
        # Per kind, the columns its expectations read when each reads one value of one column
        # (then GX checks distinct values), or None (then GX checks rows). Read once: GX builds
        # an expectation's configuration anew on every access.
        self._value_columns: dict[str, list[str] | None] = {}
        for kind, suite in self.suites.items():
            arguments = [e.configuration.kwargs for e in suite.expectations]
            one_value = all("column" in a and not {"column_A", "column_B", "column_list"} & set(a) for a in arguments)
            self._value_columns[kind] = sorted({a["column"] for a in arguments}) if one_value else None

    def _checkpoint(self, kind: str):
        if kind not in self._checkpoints:
            batch_definition = self._datasource.add_dataframe_asset(kind).add_batch_definition_whole_dataframe(kind)
            validation = self._context.validation_definitions.add(
                self._gx.ValidationDefinition(name=kind, data=batch_definition, suite=self.suites[kind])
            )
            self._checkpoints[kind] = self._context.checkpoints.add(
                self._gx.Checkpoint(
                    name=kind,
                    validation_definitions=[validation],
                    result_format={"result_format": "COMPLETE", "unexpected_index_column_names": [_ROW_ID]},
                )
            )
        return self._checkpoints[kind]

    def build_data_docs(self) -> None:
        """Render the Data Docs of every validation this validator ran (once per run: rendering is slow)."""
        if self._data_docs and self._checkpoints:
            self._context.build_data_docs()

    def _run(self, kind: str, frame: pd.DataFrame, reference: ReferenceData):
        """The failed expectations of one run of the kind's checkpoint, with the batch's row ids."""
        result = self._checkpoint(kind).run(
            batch_parameters={"dataframe": frame}, expectation_parameters=reference.parameters(frame)
        )
        for validation in result.run_results.values():
            for outcome in validation.results:
                if outcome.success:
                    continue
                if outcome.exception_info and outcome.exception_info.get("raised_exception"):
                    raise RuntimeError(
                        f"expectation {outcome.expectation_config.type} on {kind} failed to run: "
                        f"{outcome.exception_info.get('exception_message')}"
                    )
                ids = [int(entry[_ROW_ID]) for entry in outcome.result.get("unexpected_index_list") or []]
                yield outcome.expectation_config, ids

    def _failing_rows_by_value(self, kind: str, derived: pa.Table, reference: ReferenceData):
        """Check each column's distinct values; yield every failed expectation with its rows."""
        checked = self._value_columns[kind]
        # The delivered column each checked column is judged by (a number column by its text),
        # and that column's distinct values; a number column is typed from them, not per row.
        source = {column: NUMBER_COLUMNS.get(column, column) for column in checked}
        delivered = {name: pc.unique(derived[name]) for name in set(source.values())}
        distinct = {column: _as_number(delivered[name]) if column in NUMBER_COLUMNS else delivered[name]
                    for column, name in source.items()}
        length = max(len(values) for values in distinct.values())
        # Columns of one batch have one length: a shorter column repeats its first value, which
        # changes no verdict (a value either passes or fails wherever it stands).
        positions = np.arange(length)
        padded = {column: values.take(pa.array(np.where(positions < len(values), positions, 0)))
                  for column, values in distinct.items()}
        frame = to_frame(pa.table(padded))
        frame[_ROW_ID] = range(length)
        for expectation, ids in self._run(kind, frame, reference):
            column = source[expectation.kwargs["column"]]
            values = delivered[column]
            failing = values.take(pa.array(sorted({i if i < len(values) else 0 for i in ids}), pa.int64()))
            rows = pc.is_in(derived[column], value_set=failing.drop_null())
            if failing.null_count:
                rows = pc.or_(pc.fill_null(rows, False), pc.is_null(derived[column]))
            yield expectation, np.flatnonzero(pc.fill_null(rows, False).to_numpy(zero_copy_only=False))

    def _failing_rows_by_row(self, kind: str, derived: pa.Table, reference: ReferenceData):
        frame = to_frame(derived)
        frame[_ROW_ID] = range(len(frame))
        yield from self._run(kind, frame, reference)

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
            meta = expectation.meta or {}
            column = meta.get("column", "")
            reason = meta.get("reason", expectation.type)
            shown = [SOURCE_FILE, SOURCE_ROW] + ([column] if column in derived.column_names else [])
            failing = derived.select(shown).take(pa.array(row_ids, pa.int64())).to_pydict()
            values = failing.get(column, [None] * len(row_ids))
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
