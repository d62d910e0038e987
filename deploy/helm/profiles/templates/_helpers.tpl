{{/* Names, labels and the parts every workload of the chart shares. */}}

{{- define "profiles.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* <release>-<chart>, or <release> when it already contains the chart name; 63 characters at most. */}}
{{- define "profiles.fullname" -}}
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

{{/* The name of one component's objects: <fullname>-<component>. Argument: (dict "root" $ "component" "api"). */}}
{{- define "profiles.componentName" -}}
{{- printf "%s-%s" (include "profiles.fullname" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "profiles.selectorLabels" -}}
app.kubernetes.io/name: {{ include "profiles.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "profiles.labels" -}}
{{ include "profiles.selectorLabels" . }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: profiles
{{- end -}}

{{/* Selects every pod of the release (the default-deny NetworkPolicy). */}}
{{- define "profiles.releaseSelector" -}}
app.kubernetes.io/name: {{ include "profiles.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "profiles.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* Namespaces listed in a comma-separated config value, as a list. */}}
{{- define "profiles.watchNamespaces" -}}
{{- $list := list -}}
{{- range splitList "," (default "" .Values.config.WATCH_NAMESPACES) -}}
{{- if trim . }}{{ $list = append $list (trim .) }}{{ end -}}
{{- end -}}
{{- toJson $list -}}
{{- end -}}

{{/* Whether the API calls the Kubernetes API (TokenReview, SubjectAccessReview): "true" or "". */}}
{{- define "profiles.apiNeedsKube" -}}
{{- if or (eq (toString .Values.config.AUTH_KUBERNETES) "true") (eq (toString .Values.config.AUTH_ACCESS_MODE) "rbac") -}}true{{- end -}}
{{- end -}}

{{/* Whether the indexer and the installer read Secrets from the Kubernetes API: "true" or "". */}}
{{- define "profiles.readsSecrets" -}}
{{- if eq (toString .Values.config.SECRETS_SOURCE) "kubernetes" -}}true{{- end -}}
{{- end -}}

{{/*
REDIS_URL, REDIS_READ_URL and NATS_URL: the bundled servers, an existing Secret, or the external URLs. Each
service gets only the addresses (and so the credentials) it uses: the watcher no Redis, only the API the
read replica. Argument: dict root, component.
*/}}
{{- define "profiles.backendEnv" -}}
{{- $component := .component -}}
{{- with .root -}}
{{- $r := .Values.redis -}}
{{- if ne $component "watcher" }}
{{- if $r.bundled.enabled }}
- name: REDIS_URL
  value: {{ printf "redis://%s:6379" (include "profiles.componentName" (dict "root" . "component" "redis")) | quote }}
{{- else if $r.external.existingSecret }}
- name: REDIS_URL
  valueFrom: { secretKeyRef: { name: {{ $r.external.existingSecret | quote }}, key: {{ $r.external.urlKey | quote }} } }
{{- if and $r.external.readUrlKey (eq $component "api") }}
- name: REDIS_READ_URL
  valueFrom: { secretKeyRef: { name: {{ $r.external.existingSecret | quote }}, key: {{ $r.external.readUrlKey | quote }} } }
{{- end }}
{{- else }}
- name: REDIS_URL
  value: {{ required "redis.external.url is required (or redis.external.existingSecret, or redis.bundled.enabled)" $r.external.url | quote }}
{{- end }}
{{- if and (not $r.bundled.enabled) $r.external.readUrl (not $r.external.readUrlKey) (eq $component "api") }}
- name: REDIS_READ_URL
  value: {{ $r.external.readUrl | quote }}
{{- end }}
{{- end }}
{{- $n := .Values.nats -}}
{{- if $n.bundled.enabled }}
- name: NATS_URL
  value: {{ printf "nats://%s:4222" (include "profiles.componentName" (dict "root" . "component" "nats")) | quote }}
{{- else if $n.external.existingSecret }}
- name: NATS_URL
  valueFrom: { secretKeyRef: { name: {{ $n.external.existingSecret | quote }}, key: {{ $n.external.urlKey | quote }} } }
{{- else }}
- name: NATS_URL
  value: {{ required "nats.external.url is required (or nats.external.existingSecret, or nats.bundled.enabled)" $n.external.url | quote }}
{{- end }}
{{- if .Values.tracing.otlpEndpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ .Values.tracing.otlpEndpoint | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Pod-level security: non-root with a fixed uid/gid and the runtime's seccomp profile. Argument: the uid. */}}
{{- define "profiles.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ . }}
runAsGroup: {{ . }}
fsGroup: {{ . }}
seccompProfile: { type: RuntimeDefault }
{{- end -}}

{{/* Container-level security: nothing to escalate to, no capabilities, nothing written outside its volumes. */}}
{{- define "profiles.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities: { drop: [ALL] }
{{- end -}}

{{/* The scheduling keys of a component's values. Argument: the component's values. */}}
{{- define "profiles.scheduling" -}}
{{- with .nodeSelector }}
nodeSelector: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .topologySpreadConstraints }}
topologySpreadConstraints: {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
