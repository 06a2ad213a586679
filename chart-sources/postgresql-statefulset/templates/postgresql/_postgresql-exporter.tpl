{{/*
Extra command-line flags of the postgres-exporter sidecar (v0.19.1, which reads PostgreSQL
16 and 17, and 18's statistics views): the non-default collectors that the PostgreSQL
alerts need, as a YAML list.
  --collector.database_wraparound  pg_database_wraparound_age_datfrozenxid_seconds and
                                   _datminmxid_seconds (xid ages per database, despite the
                                   name): PostgreSQLTxidExhaustionRisk.
  --collector.stat_checkpointer    pg_stat_checkpointer_num_timed_total and
                                   _num_requested_total on PostgreSQL 17+, where the
                                   checkpoint counters left pg_stat_bgwriter:
                                   PostgreSQLHighCheckpointRate. On 16 it logs a warning per
                                   scrape ("not available on PostgreSQL < 17") and exports
                                   nothing.
The default collectors (database, locks, replication, replication_slot, stat_bgwriter,
stat_database, stat_user_tables, statio_user_tables, wal) and the built-in pg_settings,
pg_stat_activity and pg_stat_archiver metrics cover the other alerts, with the custom
queries of <fullname>-postgresql-exporter. On PostgreSQL 17 stat_bgwriter exports only
buffers_clean, maxwritten_clean and buffers_alloc (buffers_backend is gone from
PostgreSQL, buffers_checkpoint moved to pg_stat_checkpointer). long_running_transactions is
not enabled: PostgreSQLSlowQueries uses the pg_long_running_queries custom query, which
measures statements, not transactions.
Usage: args: {{- include "alert-history.postgresql.exporterArgs" . | nindent 12 }}
*/}}
{{- define "alert-history.postgresql.exporterArgs" -}}
- --collector.database_wraparound
- --collector.stat_checkpointer
{{- end -}}
