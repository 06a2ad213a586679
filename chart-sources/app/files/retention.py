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
[%- if facts.postgresql %]


async def clean():
    """The SQL function cleanup_old_data of the app's migration, through its storage:
    deletes alerts whose rows are older than DAYS by the database's clock."""
    import asyncpg
    from src.alert_history.database.postgresql_adapter import PostgreSQLStorage

    url = os.environ["DATABASE_URL"]
    check = await asyncpg.connect(url, timeout=30)
    try:
        cutoff = await check.fetchval("SELECT now() - make_interval(days => $1)", DAYS)
        storage = PostgreSQLStorage(url, min_pool_size=1, max_pool_size=1)
        await storage.initialize()
        try:
            deleted = await storage.cleanup_old_alerts(DAYS)
        finally:
            await storage.close()
        left = await check.fetchval(
            "SELECT count(*) FROM alerts WHERE created_at < $1", cutoff
        )
    finally:
        await check.close()
    return deleted, left
[%- else %]


async def clean():
    """The SQLite storage's cleanup: deletes alerts that started more than DAYS ago,
    comparing the app's ISO timestamps as text, as the app does."""
    import datetime
    import sqlite3

    from src.alert_history.database.sqlite_adapter import SQLiteLegacyStorage

    path = os.environ["SQLITE_PATH"]
    # Taken before the cleanup, this cutoff is at or before the one the app uses.
    cutoff = (datetime.datetime.utcnow() - datetime.timedelta(days=DAYS)).isoformat()
    deleted = await SQLiteLegacyStorage(path).cleanup_old_alerts(DAYS)
    db = sqlite3.connect(path)
    try:
        (left,) = db.execute(
            "SELECT count(*) FROM alerts WHERE starts_at < ?", (cutoff,)
        ).fetchone()
    finally:
        db.close()
    return deleted, left
[%- endif %]


setup_logging()
deleted, left = asyncio.run(clean())
if left:
    raise SystemExit(
        f"retention: {left} alerts older than {DAYS} days are left: "
        "the app's cleanup failed (see its log above)"
    )
print(f"retention: deleted {deleted} alerts older than {DAYS} days", flush=True)
