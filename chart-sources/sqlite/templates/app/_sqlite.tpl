{{/*
The app's storage env (each database component defines it): SQLite on the data volume. The
image opens SQLITE_PATH; DATABASE_URL only has to name another scheme than the server one.
*/}}
{{- define "alert-history.app.storageEnv" -}}
- name: DATABASE_URL
  value: sqlite:////data/alert_history.db
- name: SQLITE_PATH
  value: /data/alert_history.db
{{- end -}}
