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
