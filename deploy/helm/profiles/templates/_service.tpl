{{/*
The Deployment of one of the four services (one image; SERVICE picks the service). Argument: a dict with
  root       the chart's root context
  component  watcher, indexer, api or installer (also the key of its values)
  port       the port its probes and /metrics are on; portName its name
  automount  whether the pod gets a service-account token (only the services that call the Kubernetes API)
  volumes    writable emptyDirs: list of dicts {name, mountPath, sizeLimit}; the root filesystem is read-only
  env        extra EnvVars of this service (list)
*/}}
{{- define "profiles.serviceDeployment" -}}
{{- $root := .root -}}
{{- $v := index $root.Values .component -}}
{{- $ctx := dict "root" $root "component" .component -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "profiles.componentName" $ctx }}
  labels: {{- include "profiles.labels" $ctx | nindent 4 }}
spec:
  {{- if not (and (eq .component "api") $v.autoscaling.enabled) }}
  replicas: {{ $v.replicas }}
  {{- end }}
  revisionHistoryLimit: 5
  selector:
    matchLabels: {{- include "profiles.selectorLabels" $ctx | nindent 6 }}
  template:
    metadata:
      labels: {{- include "profiles.labels" $ctx | nindent 8 }}
      annotations:
        # Prometheus scrapes /metrics on this port (deploy/monitoring has the dashboard and alerts).
        prometheus.io/scrape: "true"
        prometheus.io/port: {{ .port | quote }}
        prometheus.io/path: /metrics
        # A changed ConfigMap rolls the pods: the services read their environment once, at start.
        checksum/config: {{ include (print $root.Template.BasePath "/configmap.yaml") $root | sha256sum }}
        {{- with $v.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ include "profiles.componentName" $ctx }}
      automountServiceAccountToken: {{ .automount }}
      securityContext: {{- include "profiles.podSecurityContext" 1000 | nindent 8 }}
      {{- with $root.Values.image.pullSecrets }}
      imagePullSecrets:
        {{- range . }}
        - name: {{ . }}
        {{- end }}
      {{- end }}
      {{- with include "profiles.scheduling" $v | trim }}
      {{- . | nindent 6 }}
      {{- end }}
      containers:
        - name: {{ .component }}
          image: {{ include "profiles.image" $root | quote }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          env:
            - { name: SERVICE, value: {{ .component }} }
            {{- include "profiles.backendEnv" $ctx | trim | nindent 12 }}
            {{- with .env }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
            {{- with $v.extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          envFrom:
            - configMapRef: { name: {{ include "profiles.fullname" $root }}-config }
          ports:
            - { name: {{ .portName }}, containerPort: {{ .port }}, protocol: TCP }
          readinessProbe:
            httpGet: { path: /readyz, port: {{ .portName }} }
            periodSeconds: 10
            failureThreshold: 3
          livenessProbe:
            httpGet: { path: /healthz, port: {{ .portName }} }
            periodSeconds: 20
            failureThreshold: 3
          startupProbe:
            # Start-up (connecting to NATS and Redis, the API's search mirror) may take longer than a liveness
            # period; liveness starts counting once this passes.
            httpGet: { path: /healthz, port: {{ .portName }} }
            periodSeconds: 5
            failureThreshold: 24
          resources: {{- toYaml $v.resources | nindent 12 }}
          securityContext: {{- include "profiles.containerSecurityContext" . | nindent 12 }}
          volumeMounts:
            {{- range .volumes }}
            - { name: {{ .name }}, mountPath: {{ .mountPath }} }
            {{- end }}
            {{- with $v.extraVolumeMounts }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
      volumes:
        {{- range .volumes }}
        - name: {{ .name }}
          emptyDir: { sizeLimit: {{ .sizeLimit }} }
        {{- end }}
        {{- with $v.extraVolumes }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
{{- end -}}

{{/* The ServiceAccount of one workload, with no token unless it calls the Kubernetes API. Argument as above. */}}
{{- define "profiles.serviceAccount" -}}
{{- $ctx := dict "root" .root "component" .component -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "profiles.componentName" $ctx }}
  labels: {{- include "profiles.labels" $ctx | nindent 4 }}
automountServiceAccountToken: {{ .automount }}
{{- end -}}

{{/* The PodDisruptionBudget of one workload, if its values enable one. Argument: root and component. */}}
{{- define "profiles.pdb" -}}
{{- $v := index .root.Values .component -}}
{{- if $v.pdb.enabled }}
{{- $ctx := dict "root" .root "component" .component }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "profiles.componentName" $ctx }}
  labels: {{- include "profiles.labels" $ctx | nindent 4 }}
spec:
  maxUnavailable: {{ $v.pdb.maxUnavailable }}
  selector:
    matchLabels: {{- include "profiles.selectorLabels" $ctx | nindent 6 }}
{{- end }}
{{- end -}}
