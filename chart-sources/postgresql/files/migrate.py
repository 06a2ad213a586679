"""Schema migration of alert-history, run by the `migrate` init container of every app pod.

It waits for PostgreSQL, takes a session-level advisory lock so that pods starting together
migrate one at a time, applies the pending migrations with the app's own MigrationManager
(the code behind `python -m src.alert_history.cli.database_migrate schema`, which exits 0 even
when it fails), checks that the newest migration is recorded, and exits non-zero otherwise,
so that the pod never starts its app on a schema that is not there.
"""

import asyncio
import os
import sys
import time

# The working directory is the image's WORKDIR, the app's root: the app is imported from
# there, as uvicorn imports it, and MigrationManager finds its SQL files relative to it.
sys.path.insert(0, os.getcwd())

import asyncpg  # noqa: E402  (the image's venv)
from src.alert_history.database.migration_manager import MigrationManager  # noqa: E402
from src.alert_history.logging_config import setup_logging  # noqa: E402

# Any fixed 64-bit key, the same in every pod of every release that shares the database.
LOCK_KEY = 0x616C657274686973  # "alerthis"
DATABASE_URL = os.environ["DATABASE_URL"]
WAIT_SECONDS = int(os.environ.get("MIGRATION_WAIT_SECONDS", "600"))

# Errors that mean "not yet": no route or no listener yet, a server still starting or
# full. Anything else (a wrong password, a missing database) fails at once.
TRANSIENT = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
)


def log(message):
    print(f"migrate: {message}", flush=True)


async def connect():
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        try:
            return await asyncpg.connect(DATABASE_URL, timeout=10)
        except TRANSIENT as e:
            if time.monotonic() > deadline:
                raise SystemExit(
                    f"migrate: PostgreSQL is not reachable after {WAIT_SECONDS} s: {e}"
                ) from e
            log(f"waiting for PostgreSQL: {e}")
            await asyncio.sleep(2)


async def migrate():
    lock = await connect()
    try:
        log("waiting for the migration lock")
        await lock.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
        # sqlite_path: MigrationManager also opens the SQLite source of its data
        # migration, which a schema migration does not read.
        manager = MigrationManager(postgresql_url=DATABASE_URL, sqlite_path=":memory:")
        await manager.initialize()
        try:
            available = await manager.get_available_migrations()
            if not available:
                raise SystemExit(
                    f"migrate: no migration files under {manager.migrations_dir} "
                    f"(working directory {os.getcwd()})"
                )
            if not await manager.apply_schema_migrations():
                raise SystemExit("migrate: the app's migration failed (see its log above)")
        finally:
            await manager.close()
        newest = available[-1]["version"]
        recorded = await lock.fetchval(
            "SELECT count(*) FROM migration_history WHERE version = $1", newest
        )
        if recorded != 1:
            raise SystemExit(f"migrate: migration {newest} is not recorded")
        log(f"schema is at migration {newest}")
    finally:
        # Closing the session releases the advisory lock.
        await lock.close()


# The app's own log format and LOG_LEVEL (default INFO), so its migration log shows.
setup_logging()
asyncio.run(migrate())
