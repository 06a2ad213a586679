{{/*
Name of the CloudNativePG Cluster: cnpg.clusterName, or "<fullname>-postgresql". The operator
names the instances' pods, claims and Services after it (<name>-1, <name>-rw) and refuses
a name that is not a DNS-1035 label of at most 50 characters; a name made from a long
release name fails here, with the fix.
*/}}
{{- define "alert-history.cnpg.clusterName" -}}
{{- $name := .Values.cnpg.clusterName | default (include "alert-history.componentName" (dict "root" . "component" "postgresql")) -}}
{{- if or (gt (len $name) 50) (not (regexMatch "^[a-z]([-a-z0-9]*[a-z0-9])?$" $name)) -}}
{{- fail (printf "cnpg.clusterName: the CloudNativePG Cluster name %q must be a DNS-1035 label (a lower-case letter, then letters, digits and '-') of at most 50 characters: set cnpg.clusterName, or use a shorter release name or fullnameOverride" $name) -}}
{{- end -}}
{{- $name -}}
{{- end -}}

{{/* The Cluster's folder in the bucket: cnpg.backup.serverName, or the Cluster's name. */}}
{{- define "alert-history.cnpg.serverName" -}}
{{- .Values.cnpg.backup.serverName | default (include "alert-history.cnpg.clusterName" .) -}}
{{- end -}}

{{/* The S3 location of the backups of every cluster sharing the bucket: s3://<bucket>[/<path>]. */}}
{{- define "alert-history.cnpg.destinationPath" -}}
{{- $b := .Values.cnpg.backup -}}
{{- printf "s3://%s%s" $b.bucket (ternary (printf "/%s" $b.path) "" (ne $b.path "")) -}}
{{- end -}}

{{/* Name of the Barman Cloud ObjectStore of the Cluster's backups (and of its recovery source). */}}
{{- define "alert-history.cnpg.objectStoreName" -}}
{{- printf "%s-backup" (include "alert-history.cnpg.clusterName" .) -}}
{{- end -}}

{{/*
The app role's credentials: the kubernetes.io/basic-auth Secret of cnpg.auth.existingSecret,
or the one the operator creates for the initdb owner, "<cluster>-app" (keys username,
password, host, port, dbname, uri). Either way key "password" is the app's password.
*/}}
{{- define "alert-history.cnpg.appSecretName" -}}
{{- .Values.cnpg.auth.existingSecret | default (printf "%s-app" (include "alert-history.cnpg.clusterName" .)) -}}
{{- end -}}

{{/*
The database contract of chart-sources/postgresql (_database.tpl): the app reaches the
Cluster's read-write Service, which always points at the current primary (failover moves it).
CloudNativePG always serves TLS; with cnpg.tls.requireForApp the app must use it.
*/}}
{{- define "alert-history.database.section" -}}cnpg{{- end -}}
{{- define "alert-history.database.host" -}}{{ include "alert-history.cnpg.clusterName" . }}-rw{{- end -}}
{{- define "alert-history.database.appSecretName" -}}{{ include "alert-history.cnpg.appSecretName" . }}{{- end -}}
{{- define "alert-history.database.tlsRequired" -}}{{ .Values.cnpg.tls.requireForApp }}{{- end -}}

{{/*
The cron schedule of a ScheduledBackup: CloudNativePG's cron has six fields, seconds first,
so the five-field cnpg.backup.schedule gets a leading "0" (given as is, "0 2 * * *" would
mean every hour at minute 2, second 0). Macros such as @daily are the same in both.
*/}}
{{- define "alert-history.cnpg.schedule" -}}
{{- $s := .Values.cnpg.backup.schedule -}}
{{- if hasPrefix "@" $s -}}
{{- $s -}}
{{- else if eq (len (splitList " " $s)) 5 -}}
{{- printf "0 %s" $s -}}
{{- else -}}
{{- fail (printf "cnpg.backup.schedule: %q must have five fields (minute hour day-of-month month day-of-week); the chart adds CloudNativePG's leading seconds field" $s) -}}
{{- end -}}
{{- end -}}

{{/* Whether the chart creates PodMonitors: as ServiceMonitors (metrics.serviceMonitor.enabled), with the PodMonitor API for `auto`. */}}
{{- define "alert-history.podMonitor.enabled" -}}
{{- include "alert-history.autoSwitch" (dict "root" . "value" .Values.metrics.serviceMonitor.enabled "api" "monitoring.coreos.com/v1/PodMonitor") -}}
{{- end -}}

{{/* The TCP port of the object store: cnpg.backup.endpointUrl's, or its scheme's (443, 80). */}}
{{- define "alert-history.cnpg.objectStorePort" -}}
{{- $url := .Values.cnpg.backup.endpointUrl | default "https://s3.amazonaws.com" -}}
{{- $u := urlParse $url -}}
{{- $port := regexFind ":[0-9]+$" $u.host | trimPrefix ":" -}}
{{- $port | default (ternary "80" "443" (eq $u.scheme "http")) -}}
{{- end -}}
