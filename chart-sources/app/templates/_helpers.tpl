{{/* Chart name, overridable by .Values.nameOverride. */}}
{{- define "alert-history.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Fully qualified app name, at most 63 characters (DNS label limit). The release name is
used alone when it already contains the chart name, so "alert-history" is not repeated.
*/}}
{{- define "alert-history.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Name of one component's objects: "<fullname>-<component>", at most 63 characters. */}}
{{- define "alert-history.componentName" -}}
{{- printf "%s-%s" (include "alert-history.fullname" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Chart label value: "<name>-<version>". */}}
{{- define "alert-history.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Selector labels of one component; only labels that never change over a release's life,
because Deployment and StatefulSet selectors are immutable.
Usage: include "alert-history.selectorLabels" (dict "root" $ "component" "app")
*/}}
{{- define "alert-history.selectorLabels" -}}
app.kubernetes.io/name: {{ include "alert-history.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/*
Standard labels of one component's objects.
Usage: include "alert-history.labels" (dict "root" $ "component" "app")
*/}}
{{- define "alert-history.labels" -}}
helm.sh/chart: {{ include "alert-history.chart" .root }}
{{ include "alert-history.selectorLabels" . }}
app.kubernetes.io/version: {{ include "alert-history.text" .root.Values.image.tag | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: alert-history
{{- end -}}

{{/* ServiceAccount of the app pods. */}}
{{- define "alert-history.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "alert-history.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
A setting as the text it was given. `--set tag=17` makes it an integer and `tag=true` a boolean;
an integer read from a values file is a float64, which would print as 1.073741824e+10.
*/}}
{{- define "alert-history.text" -}}
{{- if kindIs "float64" . -}}{{- int64 . -}}{{- else -}}{{- . -}}{{- end -}}
{{- end -}}

{{/* A map of label values as YAML, each value as the text it was given (see alert-history.text). */}}
{{- define "alert-history.labelMap" -}}
{{- $out := dict -}}
{{- range $key, $value := . }}{{ $_ := set $out $key (include "alert-history.text" $value) }}{{ end -}}
{{- toYaml $out -}}
{{- end -}}

{{/*
The scheduling fields of a pod spec, from a workload's values section (the fields of
`Scheduling` in alertchart's src/profile.rs): nodeSelector, tolerations, affinity,
topologySpreadConstraints and priorityClassName, merged with the chart's own placement
rules, which the user's values add to and never remove:
- "podAffinity": a required podAffinity term the workload cannot run without (a job that
  must share a ReadWriteOnce volume's node), placed before the user's required terms;
- "tolerations": tolerations the workload needs besides its own, placed before them;
- "spread": the chart's topologySpreadConstraints; the user's follow them, and a user
  constraint replaces the chart's constraint of the same topologyKey (Kubernetes
  refuses two constraints of one topologyKey and whenUnsatisfiable).
Empty fields are left out; "indent" is the pod spec's indentation. Label values
(nodeSelector, toleration values) render as the text they were given.
Usage: include "alert-history.scheduling" (dict "values" .Values.app "indent" 6)
*/}}
{{- define "alert-history.scheduling" -}}
{{- $v := .values -}}
{{- $out := dict -}}
{{- $nodeSelector := dict -}}
{{- range $key, $value := $v.nodeSelector }}{{ $_ := set $nodeSelector $key (include "alert-history.text" $value) }}{{ end -}}
{{- with $nodeSelector }}{{ $_ := set $out "nodeSelector" . }}{{ end -}}
{{- $tolerations := list -}}
{{- range concat (default (list) .tolerations) (default (list) $v.tolerations) -}}
{{- $t := deepCopy . -}}
{{- if not (kindIs "invalid" $t.value) }}{{ $_ := set $t "value" (include "alert-history.text" $t.value) }}{{ end -}}
{{- $tolerations = append $tolerations $t -}}
{{- end -}}
{{- with $tolerations }}{{ $_ := set $out "tolerations" . }}{{ end -}}
{{- $affinity := dict -}}
{{- range $kind, $rules := $v.affinity }}{{ with $rules }}{{ $_ := set $affinity $kind (deepCopy .) }}{{ end }}{{ end -}}
{{- with .podAffinity -}}
{{- $pod := default (dict) $affinity.podAffinity -}}
{{- $required := default (list) $pod.requiredDuringSchedulingIgnoredDuringExecution -}}
{{- $_ := set $pod "requiredDuringSchedulingIgnoredDuringExecution" (prepend $required .) -}}
{{- $_ := set $affinity "podAffinity" $pod -}}
{{- end -}}
{{- with $affinity }}{{ $_ := set $out "affinity" . }}{{ end -}}
{{- $userKeys := list -}}
{{- range $v.topologySpreadConstraints }}{{ $userKeys = append $userKeys .topologyKey }}{{ end -}}
{{- $spread := list -}}
{{- range .spread }}{{ if not (has .topologyKey $userKeys) }}{{ $spread = append $spread . }}{{ end }}{{ end -}}
{{- $spread = concat $spread (default (list) $v.topologySpreadConstraints) -}}
{{- with $spread }}{{ $_ := set $out "topologySpreadConstraints" . }}{{ end -}}
{{- with $v.priorityClassName }}{{ $_ := set $out "priorityClassName" . }}{{ end -}}
{{- with $out }}{{ toYaml . | nindent $.indent }}{{ end -}}
{{- end -}}

{{/*
The selector labels of one component (as alert-history.selectorLabels) as JSON, for
fromJson: label selectors built as data, every value a string.
Usage: include "alert-history.selectorLabelsJson" (dict "root" $ "component" "app") | fromJson
*/}}
{{- define "alert-history.selectorLabelsJson" -}}
{{- dict "app.kubernetes.io/name" (include "alert-history.name" .root) "app.kubernetes.io/instance" .root.Release.Name "app.kubernetes.io/component" .component | toJson -}}
{{- end -}}

{{/*
A required pod affinity term (as JSON, for fromJson): the node of one component's pods.
Usage: include "alert-history.sameNodeAs" (dict "root" $ "component" "app") | fromJson
*/}}
{{- define "alert-history.sameNodeAs" -}}
{{- $labels := include "alert-history.selectorLabelsJson" . | fromJson -}}
{{- dict "labelSelector" (dict "matchLabels" $labels) "topologyKey" "kubernetes.io/hostname" | toJson -}}
{{- end -}}

{{/* Image reference "<repository>:<tag>" of an image block. Usage: include "alert-history.image" .Values.image */}}
{{- define "alert-history.image" -}}
{{- printf "%s:%s" .repository (include "alert-history.text" .tag) -}}
{{- end -}}

{{/*
A Kubernetes memory quantity (e.g. "512Mi", "2Gi", "1G", "1048576") in bytes, so that
settings derived from a memory limit follow the limit when it is changed at install time.
*/}}
{{- define "alert-history.quantityBytes" -}}
{{- $q := include "alert-history.text" . -}}
{{- $units := dict "Ki" 1024 "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776 "k" 1000 "M" 1000000 "G" 1000000000 "T" 1000000000000 -}}
{{- $num := regexFind "^[0-9]+" $q -}}
{{- $unit := trimPrefix $num $q -}}
{{- if not $unit -}}
{{- $num -}}
{{- else if hasKey $units $unit -}}
{{- mul (int64 $num) (get $units $unit) -}}
{{- else -}}
{{- fail (printf "unsupported memory quantity %q: use an integer with Ki, Mi, Gi, Ti, k, M, G or T" $q) -}}
{{- end -}}
{{- end -}}

{{/*
Pod spec `imagePullSecrets` from the list of Secret names in .Values.imagePullSecrets.
Callers guard it with `with .Values.imagePullSecrets` on the same line, so that an empty
list leaves no blank line in the manifest.
*/}}
{{- define "alert-history.imagePullSecrets" -}}
imagePullSecrets:
{{- range .Values.imagePullSecrets }}
  - name: {{ . }}
{{- end }}
{{- end -}}

{{/*
Secret with the app's LLM API key (key "api-key"): .Values.app.llm.existingSecret when set,
otherwise "<fullname>-llm", made by this chart from .Values.app.llm.apiKey.
*/}}
{{- define "alert-history.llm.secretName" -}}
{{- if .Values.app.llm.existingSecret -}}
{{- .Values.app.llm.existingSecret -}}
{{- else -}}
{{- include "alert-history.componentName" (dict "root" . "component" "llm") -}}
{{- end -}}
{{- end -}}
[%- if facts.stateful_services %]

{{/*
Whether the chart creates its monitoring objects: "true" or "". Each metrics.*.enabled is true,
false or "auto". With auto, ServiceMonitors and PrometheusRules are created when the cluster
serves their monitoring.coreos.com/v1 API (the Prometheus Operator's CRDs; `helm template`
knows only the APIs given with --api-versions), and the Grafana dashboards when the
ServiceMonitors are (the dashboards show what those scrape).
Usage: if include "alert-history.serviceMonitor.enabled" .
*/}}
{{- define "alert-history.autoSwitch" -}}
{{- if kindIs "bool" .value -}}
{{- if .value }}true{{ end -}}
{{- else if and (eq (toString .value) "auto") (.root.Capabilities.APIVersions.Has .api) -}}
true
{{- end -}}
{{- end -}}

{{- define "alert-history.serviceMonitor.enabled" -}}
{{- include "alert-history.autoSwitch" (dict "root" . "value" .Values.metrics.serviceMonitor.enabled "api" "monitoring.coreos.com/v1/ServiceMonitor") -}}
{{- end -}}

{{- define "alert-history.prometheusRule.enabled" -}}
{{- include "alert-history.autoSwitch" (dict "root" . "value" .Values.metrics.prometheusRule.enabled "api" "monitoring.coreos.com/v1/PrometheusRule") -}}
{{- end -}}

{{- define "alert-history.grafanaDashboards.enabled" -}}
{{- $v := .Values.metrics.grafanaDashboards.enabled -}}
{{- if kindIs "bool" $v -}}
{{- if $v }}true{{ end -}}
{{- else if eq (toString $v) "auto" -}}
{{- include "alert-history.serviceMonitor.enabled" . -}}
{{- end -}}
{{- end -}}
[%- endif %]
