{{/*
The Secrets of passwords the chart generates, as a JSON list for fromJsonArray: each
component with generated passwords appends its Secret (name, component, keys, and the
value that replaces it) unless its existingSecret is set. The hook Job creates those that
do not exist yet; NOTES names them.
Usage: include "alert-history.generatedSecrets" . | fromJsonArray
*/}}
{{- define "alert-history.generatedSecrets" -}}
{{- $secrets := list -}}
[[- slots.generated_secrets ]]
{{- toJson $secrets -}}
{{- end -}}

{{/* Hook annotations of the objects of the Secret-creating Job; "weight" orders them. */}}
{{- define "alert-history.generatedSecrets.hook" -}}
# Helm runs it before installing or upgrading anything else; Argo CD maps both to PreSync.
helm.sh/hook: pre-install,pre-upgrade
helm.sh/hook-weight: {{ .weight | quote }}
# Replaced on the next run; gone once every hook succeeded. A failed Job stays for its log.
helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
{{- end -}}
