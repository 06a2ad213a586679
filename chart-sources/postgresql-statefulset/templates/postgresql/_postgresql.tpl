{{/* Name of the PostgreSQL objects (StatefulSet, Service, ConfigMap): "<fullname>-postgresql". */}}
{{- define "alert-history.postgresql.fullname" -}}
{{- include "alert-history.componentName" (dict "root" . "component" "postgresql") -}}
{{- end -}}

{{/*
Secret with the database passwords: .Values.postgresql.auth.existingSecret when set, otherwise
"<fullname>-postgresql", which the chart's hook Job creates when missing. Keys: postgres-password (superuser postgres),
password (app user), replication-password (role replicator), exporter-password (role postgres_exporter).
*/}}
{{- define "alert-history.postgresql.secretName" -}}
{{- if .Values.postgresql.auth.existingSecret -}}
{{- .Values.postgresql.auth.existingSecret -}}
{{- else -}}
{{- include "alert-history.postgresql.fullname" . -}}
{{- end -}}
{{- end -}}

{{/* Container env that passes one key of the PostgreSQL Secret. Usage: include "alert-history.postgresql.secretEnv" (dict "root" $ "name" "PGPASSWORD" "key" "password") */}}
{{- define "alert-history.postgresql.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ include "alert-history.postgresql.secretName" .root }}
      key: {{ .key }}
{{- end -}}

{{/* The database contract of chart-sources/postgresql (_database.tpl). */}}
{{- define "alert-history.database.section" -}}postgresql{{- end -}}
{{- define "alert-history.database.host" -}}{{ include "alert-history.postgresql.fullname" . }}{{- end -}}
{{- define "alert-history.database.appSecretName" -}}{{ include "alert-history.postgresql.secretName" . }}{{- end -}}
{{- define "alert-history.database.tlsRequired" -}}{{ .Values.postgresql.tls.enabled }}{{- end -}}

{{/*
The PostgreSQL major version of postgresql.image.tag (its leading digits: "17.6-bookworm" is
17). Fails unless it is one the chart supports ([[ postgresql_majors | join(sep=", ") ]]),
the same rule alertchart applies, for installs that change the tag with `helm --set`.
*/}}
{{- define "alert-history.postgresql.major" -}}
{{- $tag := include "alert-history.text" .Values.postgresql.image.tag -}}
{{- $major := regexFind "^[0-9]+" $tag -}}
{{- if not (has $major (splitList " " "[[ postgresql_majors | join(sep=" ") ]]")) -}}
{{- fail (printf "postgresql.image.tag: %q does not start with a supported PostgreSQL major version ([[ postgresql_majors | join(sep=", ") ]]), e.g. \"17.6\"" $tag) -}}
{{- end -}}
{{- $major -}}
{{- end -}}

{{/*
The guard of `helm install/upgrade` against a change of major version: the running
StatefulSet's postgresql container image (looked up in the cluster) names the major of the
data directory it runs on. A different major in postgresql.image.tag fails the release with
the procedure, unless postgresql.majorUpgrade.enabled is true with fromMajor that running
major. `lookup` is empty under `helm template`, --dry-run=client and GitOps tools that render
offline: there the init container check-data-version is the guard (docs/upgrades.md).
*/}}
{{- define "alert-history.postgresql.checkMajorChange" -}}
{{- $sts := lookup "apps/v1" "StatefulSet" .Release.Namespace (include "alert-history.postgresql.fullname" .) -}}
{{- with include "alert-history.postgresql.majorChangeProblem" (dict "root" . "sts" $sts) -}}
{{- fail . -}}
{{- end -}}
{{- end -}}

{{/*
Why the release must not change the major version, or nothing. Usage: include
"alert-history.postgresql.majorChangeProblem" (dict "root" $ "sts" <the running StatefulSet, or empty>)
(separate from the lookup so that tests can give it a StatefulSet).
*/}}
{{- define "alert-history.postgresql.majorChangeProblem" -}}
{{- $root := .root -}}
{{- $new := include "alert-history.postgresql.major" $root -}}
{{- $running := "" -}}
{{- $image := "" -}}
{{- if .sts -}}
{{- range ((((.sts).spec).template).spec).containers -}}
{{- if eq .name "postgresql" -}}
{{- $image = .image -}}
{{- $ref := first (splitList "@" .image) -}}
{{- if regexMatch ":[^:/]+$" $ref -}}
{{- $running = regexFind "^[0-9]+" (regexFind "[^:/]+$" $ref) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $up := $root.Values.postgresql.majorUpgrade -}}
{{- if and $running (ne $running $new) (gt (atoi $running) (atoi $new)) -}}
{{- printf "postgresql.image.tag %q is PostgreSQL %s, but StatefulSet %s runs %s, PostgreSQL %s: there is no downgrade of a data directory. Keep a %s.x tag, or restore a backup into a new release (docs/backup-restore.md)" (include "alert-history.text" $root.Values.postgresql.image.tag) $new (include "alert-history.postgresql.fullname" $root) $image $running $running -}}
{{- else if and $running (ne $running $new) (not (and $up.enabled (eq (toString $up.fromMajor) $running))) -}}
{{- printf "postgresql.image.tag %q is PostgreSQL %s, but StatefulSet %s runs %s, PostgreSQL %s, whose data directory PostgreSQL %s cannot start on. Keep a %s.x tag, or upgrade the data: take a backup, then set postgresql.majorUpgrade.enabled=true and postgresql.majorUpgrade.fromMajor=%s (docs/upgrades.md, \"PostgreSQL major versions\")" (include "alert-history.text" $root.Values.postgresql.image.tag) $new (include "alert-history.postgresql.fullname" $root) $image $running $new $running $running -}}
{{- end -}}
{{- end -}}
