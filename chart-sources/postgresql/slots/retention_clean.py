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
