"""Serve the nightly flow as the deployment ``envkpi-nightly/nightly``: ``python -m flows.serve``.

The schedule comes from Settings (``ENVKPI_SCHEDULE_CRON``, default ``0 2 * * *``, in
``ENVKPI_SCHEDULE_TIMEZONE``, default ``Asia/Tokyo``). ``flow.serve`` registers the deployment
with the Prefect API named by ``PREFECT_API_URL`` and runs each of its flow runs in a subprocess
of this process: no work pool, no worker. Stopping this process pauses the schedule (no runs
pile up as "late" while nobody serves them); starting it again resumes it.
"""

from __future__ import annotations

from prefect.schedules import Cron, Schedule

from envkpi.settings import Settings
from flows.nightly import NOTIFICATION_BLOCK, nightly, notification_block

DEPLOYMENT_NAME = "nightly"


def nightly_schedule(settings: Settings) -> Schedule:
    """The deployment's schedule: cron in the settings' time zone (daylight saving included)."""
    return Cron(settings.schedule_cron, timezone=settings.schedule_timezone)


def save_notification_block(settings: Settings) -> bool:
    """Save the webhook block of ``ENVKPI_NOTIFY_URL`` (visible under Blocks in the UI); False when unset.

    The flow's own hooks send through it when a night fails or completes with rejected files.
    """
    if not settings.notify_url:
        return False
    notification_block(settings).save(NOTIFICATION_BLOCK, overwrite=True)
    return True


def main() -> None:
    settings = Settings()
    if save_notification_block(settings):
        print(f"bad nights are notified to {settings.notify_url} (block {NOTIFICATION_BLOCK})")
    else:
        print("no notifications of bad nights: set ENVKPI_NOTIFY_URL to a webhook to get them")
    nightly.serve(
        name=DEPLOYMENT_NAME,
        schedule=nightly_schedule(settings),
        description=(
            f"Nightly envkpi run at '{settings.schedule_cron}' ({settings.schedule_timezone}): "
            "ingest the landing folder, rebuild the KPIs, write the reports, publish the snapshot."
        ),
        tags=["envkpi"],
        # Runs must not overlap: a second one would only wait for the writer lock.
        limit=1,
    )


if __name__ == "__main__":
    main()
