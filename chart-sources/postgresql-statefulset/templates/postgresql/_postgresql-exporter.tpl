{{/*
Extra command-line flags of the postgres-exporter sidecar (v0.15): the non-default
collectors that the PostgreSQL alerts need, as a YAML list.
  --collector.database_wraparound  pg_database_wraparound_age_datfrozenxid_seconds and
                                   _datminmxid_seconds (xid ages per database, despite the
                                   name): PostgreSQLTxidExhaustionRisk.
The default collectors (database, locks, replication, replication_slot, stat_bgwriter,
stat_database, stat_user_tables, statio_user_tables, wal) and the built-in pg_settings,
pg_stat_activity and pg_stat_archiver metrics cover the other alerts, with the custom
queries of <fullname>-postgresql-exporter. long_running_transactions is not enabled: in
v0.15 it fails every scrape while no transaction is older than its fixed 1-minute floor
(NULL max age), so PostgreSQLSlowQueries uses the pg_long_running_queries custom query.
Usage: args: {{- include "alert-history.postgresql.exporterArgs" . | nindent 12 }}
*/}}
{{- define "alert-history.postgresql.exporterArgs" -}}
- --collector.database_wraparound
{{- end -}}
