"""What someone hears about a bad night: the subject and text of a notification.

A night is bad when its run failed, or completed with rejected files (or files left alone as not
contract files), or changed figures of a published year (contract 10). The text names the files and the plants they come from, and where the reports
are. Sending is the orchestrator's (``flows/nightly.py``, through a Prefect webhook block to
``Settings.notify_url``); this module only words it, so it is tested without Prefect.
"""

from __future__ import annotations

from envkpi.reporting.rejection_report import plant_of

# A notification is read on a phone: past this many files it says how many more.
MAX_FILES_NAMED = 20


def bad_night_message(
    run_name: str, rejected: list[str], ignored: list[str], reports: str, failure: str | None = None, restated: int = 0
) -> tuple[str, str] | None:
    """(subject, body) for a night that failed, rejected files or changed ``restated`` published
    figures; None for a good night."""
    if failure is not None:
        return (
            f"envkpi night {run_name} FAILED",
            f"The nightly run {run_name} failed: {failure}\n"
            f"No figures of this night were published; the last complete snapshot stays in place. "
            f"Look at the run in the Prefect UI, fix the cause, then run again (envkpi run or a new flow run).",
        )
    if not rejected and not ignored and not restated:
        return None
    changed = (
        (
            f"{restated} published figure{'s' * (restated != 1)} changed since their publication: each with "
            f"the files that caused it in {reports}/restatements_since_publication.csv"
        )
        if restated
        else None
    )
    if not rejected and not ignored:
        return (
            f"envkpi night {run_name}: {restated} published figure{'s' * (restated != 1)} changed",
            f"The nightly run {run_name} completed. {changed}.",
        )
    files = [(file, "rejected") for file in rejected] + [(file, "not a contract file") for file in ignored]
    plants = sorted({plant_of(file) for file in rejected})
    lines = [
        f"The nightly run {run_name} completed with {len(rejected)} rejected "
        f"file{'s' * (len(rejected) != 1)}"
        + (f" and {len(ignored)} not contract file{'s' * (len(ignored) != 1)}" if ignored else "")
        + "."
    ]
    if plants:
        lines.append(f"Plants to contact: {', '.join(plants)}.")
    for file, what in files[:MAX_FILES_NAMED]:
        lines.append(f"- {file} ({what}{', ' + plant_of(file) if what == 'rejected' else ''})")
    if len(files) > MAX_FILES_NAMED:
        lines.append(f"- and {len(files) - MAX_FILES_NAMED} more")
    lines.append(f"Each problem with what to do: {reports}/rejections.html (per plant and file) or rejections.xlsx.")
    if changed:
        lines.append(f"Also: {changed}.")
    subject = f"envkpi night {run_name}: {len(rejected)} rejected file{'s' * (len(rejected) != 1)}" + (
        f" from {', '.join(plants)}" if plants else ""
    )
    return subject, "\n".join(lines)
