{{/* Pieces of templates/networkpolicies.yaml. */}}

{{/* One egress rule: .to (peers; empty: anywhere) on .ports (TCP). */}}
{{- define "profiles.egress" -}}
{{- $ports := list -}}
{{- range .ports }}{{ $ports = append $ports (dict "protocol" "TCP" "port" .) }}{{ end -}}
{{- $rule := dict "ports" $ports -}}
{{- with .to }}{{ $_ := set $rule "to" . }}{{ end -}}
{{- list $rule | toYaml -}}
{{- end -}}

{{/* Peers selecting some components of this release. Argument: dict root, components (list). */}}
{{- define "profiles.componentPeers" -}}
{{- $root := .root -}}
{{- range .components }}
- podSelector:
    matchLabels: {{- include "profiles.selectorLabels" (dict "root" $root "component" .) | nindent 6 }}
{{- end }}
{{- end -}}

{{/* Egress to Redis: the bundled pod, or networkPolicy.redis.to. */}}
{{- define "profiles.egressRedis" -}}
{{- if .Values.redis.bundled.enabled -}}
{{- include "profiles.egress" (dict "to" (include "profiles.componentPeers" (dict "root" . "components" (list "redis")) | fromYamlArray) "ports" (list 6379)) }}
{{- else -}}
{{- include "profiles.egress" (dict "to" .Values.networkPolicy.redis.to "ports" (list .Values.networkPolicy.redis.port)) }}
{{- end -}}
{{- end -}}

{{/* Egress to NATS: the bundled pod, or networkPolicy.nats.to. */}}
{{- define "profiles.egressNats" -}}
{{- if .Values.nats.bundled.enabled -}}
{{- include "profiles.egress" (dict "to" (include "profiles.componentPeers" (dict "root" . "components" (list "nats")) | fromYamlArray) "ports" (list 4222)) }}
{{- else -}}
{{- include "profiles.egress" (dict "to" .Values.networkPolicy.nats.to "ports" (list .Values.networkPolicy.nats.port)) }}
{{- end -}}
{{- end -}}

{{- define "profiles.egressKubeAPI" -}}
{{- include "profiles.egress" (dict "to" .Values.networkPolicy.kubeAPI.to "ports" .Values.networkPolicy.kubeAPI.ports) }}
{{- end -}}

{{- define "profiles.egressGit" -}}
{{- include "profiles.egress" (dict "to" .Values.networkPolicy.git.to "ports" .Values.networkPolicy.git.ports) }}
{{- end -}}

{{- define "profiles.egressOtlp" -}}
{{- if .Values.tracing.otlpEndpoint -}}
{{- include "profiles.egress" (dict "ports" (list .Values.tracing.port)) }}
{{- end -}}
{{- end -}}

{{/* The allow policy of one component. Argument: dict root, component, ingress (rules), egress (YAML text). */}}
{{- define "profiles.allowPolicy" -}}
{{- $ctx := dict "root" .root "component" .component }}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "profiles.componentName" $ctx }}
  labels: {{- include "profiles.labels" $ctx | nindent 4 }}
spec:
  podSelector:
    matchLabels: {{- include "profiles.selectorLabels" $ctx | nindent 6 }}
  policyTypes: [Ingress, Egress]
  ingress: {{- toYaml .ingress | nindent 4 }}
  {{- if trim .egress }}
  egress: {{- .egress | nindent 4 }}
  {{- else }}
  egress: []
  {{- end }}
{{- end -}}
