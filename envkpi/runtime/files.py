"""Files replaced atomically, and the temporary files of writers that were killed removed.

Every file a run writes (reports, charts, the snapshot, records) goes through
``replace_atomically``: a reader, or a run killed half-way, sees the old file or the new one,
never half. Apart from ``envkpi.reporting.export`` so that a run with nothing to write but its
summary (a quiet night) needs no pandas to write it.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from envkpi.runtime.faults import fault_point


def replace_atomically(path: Path, write) -> None:
    """Write through a temporary file in the same folder, then rename over ``path``.

    A reader (or a run killed half-way) then sees the old file or the new one, never half.
    The temporary file is named ``.<name>.<pid>.<random>.tmp`` (hidden, and never a report), is
    flushed to disk before the rename, and the folder after it, so that a power cut leaves the
    old file or the new one too. A temporary file of a writer that was killed is removed by the
    next run (``remove_stale_temporaries``).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")
    os.close(handle)
    try:
        write(Path(temporary))
        # mkstemp creates the file readable by its owner only; a report or snapshot is for everyone
        # the folder lets in, as a plainly created file would be.
        os.chmod(temporary, _CREATE_MODE)
        fsync_path(temporary)
        fault_point(f"write:{path.name}")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    fsync_path(path.parent)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


_CREATE_MODE = 0o666 & ~_umask()


def fsync_path(path: Path | str) -> None:
    """Flush a file or folder to disk (a folder: the names in it)."""
    handle = os.open(path, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


_TEMPORARY = re.compile(r"^\..+\.(?P<pid>[0-9]+)\.[^.]+\.tmp$")


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Remove the temporary files that killed writers left under ``folder``; returns them.

    Only files named as ``replace_atomically`` names them, of a process that no longer runs.
    """
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    for path in folder.rglob(".*.tmp"):
        match = _TEMPORARY.match(path.name)
        if match is None or path.is_symlink() or not path.is_file() or process_running(int(match["pid"])):
            continue
        path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def process_running(pid: int) -> bool:
    """Whether a process with this id runs (another user's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True
