"""What landed: the files found in the landing folder, and what a run made of each one.

Apart from the reading and loading (``envkpi.ingest.deliveries``) and free of pandas and Arrow,
so that a night can find out that nothing is new (``envkpi.outputs``) without importing them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from envkpi.contract import KINDS, READABLE_SUFFIXES, kind_of
from envkpi.runtime import timing

if TYPE_CHECKING:
    import pandas as pd

REJECTION_COLUMNS = ["file", "row", "column", "value", "reason"]


@dataclass(frozen=True)
class Problem:
    """One reason to reject a file, located as a plant would look for it."""

    row: int | None
    column: str
    value: str
    reason: str


@dataclass(frozen=True)
class LandedFile:
    """One file found in the landing folder."""

    path: Path
    relative: str  # path relative to the landing folder, with forward slashes
    kind: str | None
    size: int
    modified_ns: int


@dataclass
class IngestSummary:
    """What one ingest did with each file it found."""

    run_id: str
    # The first delivery_id this run could give: derived tables recompute from here on.
    first_delivery_id: int = 1
    loaded: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    problems: list[tuple[str, Problem]] = field(default_factory=list)
    # Rows of loaded files that repeat an earlier row of their file exactly: kept, counted once.
    repeated_rows: list[tuple[str, int]] = field(default_factory=list)

    @property
    def files_seen(self) -> int:
        return len(self.loaded) + len(self.rejected) + len(self.unchanged) + len(self.ignored)

    def rejections(self) -> pd.DataFrame:
        """The rows of ``rejections.csv``: one per problem found in a rejected or ignored file."""
        import pandas as pd  # here: a quiet night makes a summary without writing this table

        rows = [
            {
                "file": file,
                "row": problem.row,
                "column": problem.column,
                "value": problem.value,
                "reason": problem.reason,
            }
            for file, problem in self.problems
        ]
        frame = pd.DataFrame(rows, columns=REJECTION_COLUMNS)
        frame["row"] = frame["row"].astype("Int64")
        return frame


# Contract 1: the kind is the file name's first word, up to the first `_`, `-` or `.`.
EXPECTED_NAME = (
    f"<kind>_...csv or <kind>_...xlsx, where <kind> is one of {', '.join(KINDS)} (e.g. energy_P01_2017-04.csv)"
)
NOT_A_CONTRACT_FILE = f"not a contract file: the name names no kind; name it {EXPECTED_NAME}; left alone"


def not_a_contract_file_reason(name: str) -> str:
    """Why a file name names no kind, with the expected pattern and, where one is near, the name meant."""
    first = re.split(r"[\s_\-.]+", name)[0]
    if first.casefold() in KINDS:  # `Energy P01 April.csv`: a kind, but followed by a space
        suffix = Path(name).suffix.lower()
        meant = "_".join(word for word in re.split(r"\s+", Path(name).stem) if word)
        meant = first.casefold() + meant[len(first) :] + (suffix if suffix in READABLE_SUFFIXES else ".csv")
        return (
            f"not a contract file: the name names no kind (a kind followed by _, - or .); name it "
            f"{EXPECTED_NAME}; here: {meant}; left alone"
        )
    return NOT_A_CONTRACT_FILE


NOT_UTF8_NAME = (
    "the {what} name is not valid UTF-8 (shown with \\x escapes): rename it with plain characters; left alone"
)
UNREADABLE = "cannot be read ({error}): make the {what} readable for the user that runs envkpi; left alone this run"
STILL_BEING_WRITTEN = (
    "modified {age} before the run started (less than {settle:g} s): probably still being copied or "
    "written, so left for the next run"
)


def shown_name(name: str) -> str:
    """A file name as text that can be written anywhere: bytes that are not UTF-8 as \\x escapes."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:  # os.scandir keeps undecodable bytes as lone surrogates
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


@timing.phase("discover files")
def discover(
    landing: Path, started_ns: int | None = None, settle_seconds: float = 0
) -> tuple[list[LandedFile], list[tuple[str, Problem]]]:
    """Every regular file under ``landing``, and the ones that are not contract files.

    Hidden files and folders (a leading dot, as editors and OS tools leave them) are skipped
    silently; symbolic links are never followed, so nothing outside the landing folder is ever
    read. One ``scandir`` per folder: a nightly run looks at tens of thousands of files. A folder
    that cannot be listed, a name that is not UTF-8 and a file modified less than
    ``settle_seconds`` before ``started_ns`` are listed with their reason and left alone.
    """
    found: list[LandedFile] = []
    ignored: list[tuple[str, Problem]] = []
    root = landing.resolve()
    pending = [(root, "")]
    while pending:
        folder, prefix = pending.pop()
        try:
            with os.scandir(folder) as entries:
                listed = sorted(entries, key=lambda entry: entry.name)
        except OSError as error:
            if folder == root:
                raise  # no landing folder at all is the run's problem, not a delivery's
            label = prefix.rstrip("/")
            ignored.append(
                (
                    label,
                    Problem(
                        None,
                        "",
                        label.rsplit("/", 1)[-1],
                        UNREADABLE.format(error=error.strerror or type(error).__name__, what="folder"),
                    ),
                )
            )
            continue
        subfolders = []
        for entry in listed:
            if entry.name.startswith("."):
                continue
            name = shown_name(entry.name)
            relative = prefix + name
            try:
                if name != entry.name:
                    what = "folder" if entry.is_dir(follow_symlinks=False) else "file"
                    ignored.append((relative, Problem(None, "", name, NOT_UTF8_NAME.format(what=what))))
                elif entry.is_symlink() or not (entry.is_file() or entry.is_dir()):
                    ignored.append(
                        (relative, Problem(None, "", entry.name, "not a regular file (a link or a device): left alone"))
                    )
                elif entry.is_dir():
                    subfolders.append((Path(entry.path), relative + "/"))
                elif (kind := kind_of(entry.name)) is None:
                    ignored.append((relative, Problem(None, "", entry.name, not_a_contract_file_reason(entry.name))))
                else:
                    stat = entry.stat()
                    age = (started_ns - stat.st_mtime_ns) / 1e9 if started_ns is not None else None
                    if age is not None and settle_seconds > 0 and age < settle_seconds:
                        ignored.append(
                            (
                                relative,
                                Problem(
                                    None,
                                    "",
                                    entry.name,
                                    STILL_BEING_WRITTEN.format(age=f"{max(age, 0):.0f} s", settle=settle_seconds),
                                ),
                            )
                        )
                    else:
                        found.append(LandedFile(Path(entry.path), relative, kind, stat.st_size, stat.st_mtime_ns))
            except OSError as error:
                ignored.append(
                    (
                        relative,
                        Problem(
                            None,
                            "",
                            entry.name,
                            UNREADABLE.format(error=error.strerror or type(error).__name__, what="file"),
                        ),
                    )
                )
        pending.extend(reversed(subfolders))  # depth first, in name order
    return found, ignored
