{{/*
What the app and the chart's clients need of any PostgreSQL, from the named helpers each
PostgreSQL implementation defines (its _<name>.tpl):
  alert-history.database.section        its values section ("postgresql", "cnpg"): image, auth
  alert-history.database.host           the Service that reaches the primary
  alert-history.database.appSecretName  the Secret whose key "password" is the app user's
  alert-history.database.tlsRequired    "true" when the app user must connect over TLS
*/}}

{{/*
The app's storage env (each database component defines it), for the app and its migration: the
app selects PostgreSQL by a postgresql:// DATABASE_URL, and asyncpg takes the password from
PGPASSWORD when the URL has none, so the password needs no URL encoding and never sits in a
URL, a ConfigMap or a log line. SQLITE_PATH names a directory that does not exist: when
PostgreSQL cannot be reached at start-up, image 1.1.9 falls back to that SQLite file, and an
unopenable one makes the start fail (and the pod retry) instead of keeping alerts pod-local.
*/}}
{{- define "alert-history.app.storageEnv" -}}
{{- $auth := (index .Values (include "alert-history.database.section" .)).auth -}}
- name: PGPASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "alert-history.database.appSecretName" . }}
      key: password
- name: DATABASE_URL
  value: {{ printf "postgresql://%s@%s:5432/%s%s" $auth.username (include "alert-history.database.host" .) $auth.database (ternary "?sslmode=require" "" (eq (include "alert-history.database.tlsRequired" .) "true")) | quote }}
- name: SQLITE_PATH
  value: /nonexistent/sqlite-fallback-disabled.db
{{- end -}}
