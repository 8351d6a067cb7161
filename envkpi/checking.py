"""`envkpi check`: the ingest's validation for a plant, before it sends its files.

The files go through the same reading and validation as a nightly run, into a throwaway
in-memory warehouse that holds a copy of the real one's reference data (plants, factors,
targets), taken from the snapshot (or the warehouse before the first snapshot).
Nothing is written anywhere.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from envkpi.contract import kind_of
from envkpi.ingest.deliveries import Ingest, IngestSummary, LandedFile, discover, not_a_contract_file_reason, shown_name
from envkpi.ingest.readers import Problem
from envkpi.pipeline import REPEATED_ROW_WARNING, make_validator
from envkpi.settings import Settings
from envkpi.warehouse.reference import reference_connection


@dataclass
class CheckOutcome:
    summary: IngestSummary
    notes: list[str] = field(default_factory=list)
    # The plant ids of the reference checked against (to name the plant of each file in the report).
    known_plants: set[str] = field(default_factory=set)

    @property
    def rejected(self) -> list[str]:
        return self.summary.rejected + self.summary.ignored

    def lines(self) -> list[str]:
        lines = list(self.notes)
        for file in self.summary.loaded:
            lines.append(f"OK        {file}")
        for file in self.summary.unchanged:
            lines.append(f"SAME      {file}: the same content as another file checked, checked once")
        by_file: dict[str, list[Problem]] = {}
        for problem_file, problem in self.summary.problems:
            by_file.setdefault(problem_file, []).append(problem)
        for file in self.rejected:
            lines.append(f"REJECTED  {file}")
            for p in by_file.get(file, []):
                where = f"row {p.row}" if p.row is not None else "whole file"
                column = f", column {p.column}" if p.column else ""
                value = f", value {p.value!r}" if p.value else ""
                lines.append(f"    {where}{column}{value}: {p.reason}")
        for file, row in self.summary.repeated_rows:
            lines.append(f"WARNING   {file}: row {row} {REPEATED_ROW_WARNING}")
        return lines


def checked_files(paths: list[Path]) -> tuple[list[LandedFile], list[tuple[str, Problem]]]:
    """The files to check: each file given, and every file under each folder given (as a run finds them)."""
    files: list[LandedFile] = []
    ignored: list[tuple[str, Problem]] = []
    for path in paths:
        label = shown_name(str(path))  # a name that is not UTF-8 prints with \x escapes
        if path.is_dir():
            found, left = discover(path)
            prefix = label.rstrip("/") + "/"
            files.extend(LandedFile(f.path, prefix + f.relative, f.kind, f.size, f.modified_ns) for f in found)
            ignored.extend((prefix + relative, problem) for relative, problem in left)
        elif not path.exists():
            ignored.append((label, Problem(None, "", label, "no such file or folder: check the path")))
        elif not path.is_file():
            ignored.append((label, Problem(None, "", label, "not a regular file: give a file or a folder")))
        elif kind_of(path.name) is None:
            ignored.append((label, Problem(None, "", path.name, not_a_contract_file_reason(path.name))))
        else:
            stat = os.stat(path)
            files.append(LandedFile(path, label, kind_of(path.name), stat.st_size, stat.st_mtime_ns))
    return files, ignored


def check_files(paths: list[Path], settings: Settings, progress: Callable[[str], None] | None = None) -> CheckOutcome:
    """Validate ``paths`` (files, and every file under folders) as if delivered now, without loading them.

    ``progress`` is told each step (the CLI shows it on a terminal).
    """
    connection, source = reference_connection(settings)
    notes: list[str] = []
    files, ignored = checked_files(paths)
    delivers_plants = any(f.kind == "plants" for f in files)
    if source is None and not delivers_plants:
        notes.append("note: no warehouse and no plants file given, so plant_id values are not checked")
    if progress is not None:
        progress(f"checking {len(files)} file{'s' if len(files) != 1 else ''}")
    ingest = Ingest(
        connection,
        "check",
        pd.Timestamp.now(),
        settings.fiscal_year_start_month,
        make_validator(settings, data_docs=False),
        plants_known=source is not None or delivers_plants,
        settings=settings,
    )
    summary = ingest.run(files, ignored)
    ingest.finish_validation()
    known_plants = {plant for (plant,) in connection.execute("select plant_id from accepted_plants").fetchall()}
    connection.close()
    return CheckOutcome(summary, notes, known_plants)
