{{/* RoleBindings/ClusterRoleBindings and ClusterRoles of templates/rbac.yaml. */}}

{{/* Binds a component's ClusterRole to its ServiceAccount: in .namespace (a RoleBinding) or cluster-wide. */}}
{{- define "profiles.binding" -}}
{{- $name := include "profiles.componentName" (dict "root" .root "component" .component) }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: {{ if .namespace }}RoleBinding{{ else }}ClusterRoleBinding{{ end }}
metadata:
  name: {{ $name }}
  {{- with .namespace }}
  namespace: {{ . }}
  {{- end }}
  labels: {{- include "profiles.labels" (dict "root" .root "component" .component) | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: {{ $name }}
subjects:
  - kind: ServiceAccount
    name: {{ $name }}
    namespace: {{ .root.Release.Namespace }}
{{- end -}}

{{/* A component's ClusterRole with .rules. */}}
{{- define "profiles.clusterRole" -}}
{{- $ctx := dict "root" .root "component" .component }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {{ include "profiles.componentName" $ctx }}
  labels: {{- include "profiles.labels" $ctx | nindent 4 }}
rules: {{- toYaml .rules | nindent 2 }}
{{- end -}}

