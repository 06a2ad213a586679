"""Alert retention of alert-history, run by the chart's retention CronJob.

Image 1.1.9 reads RETENTION_DAYS but nothing in it ever deletes old alerts. This calls the
app's own cleanup of its storage, which logs and swallows its errors, then checks that no
alert older than the cutoff is left, and exits non-zero otherwise.
"""

import asyncio
import os
import sys

# The working directory is the image's WORKDIR, the app's root.
sys.path.insert(0, os.getcwd())

from src.alert_history.logging_config import setup_logging  # noqa: E402

DAYS = int(os.environ["RETENTION_DAYS"])
[#- clean() comes from the database component (its slot retention_clean): it runs the app's
    own cleanup of alerts older than DAYS and returns (deleted, left), left being how many
    alerts older than the cutoff are still there. #]

[[ slots.retention_clean ]]


setup_logging()
deleted, left = asyncio.run(clean())
if left:
    raise SystemExit(
        f"retention: {left} alerts older than {DAYS} days are left: "
        "the app's cleanup failed (see its log above)"
    )
print(f"retention: deleted {deleted} alerts older than {DAYS} days", flush=True)
