{{/*
The single-pod Redis or NATS of a trial install (redis.bundled, nats.bundled): a StatefulSet of one with its
Service, ServiceAccount (no token) and the same hardening as the services. Argument: a dict with
  root, component (redis or nats), v (its bundled values), port, portName, args (container args),
  probe (the probes' action: a dict), dataPath (where its data volume is mounted)
*/}}
{{- define "profiles.bundled" -}}
{{- $ctx := dict "root" .root "component" .component -}}
{{- $name := include "profiles.componentName" $ctx -}}
{{- $v := .v -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ $name }}
  labels: {{- include "profiles.labels" $ctx | nindent 4 }}
automountServiceAccountToken: false
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $name }}
  labels: {{- include "profiles.labels" $ctx | nindent 4 }}
spec:
  selector: {{- include "profiles.selectorLabels" $ctx | nindent 4 }}
  ports:
    - { name: {{ .portName }}, port: {{ .port }}, targetPort: {{ .portName }}, protocol: TCP }
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {{ $name }}
  labels: {{- include "profiles.labels" $ctx | nindent 4 }}
spec:
  replicas: 1
  serviceName: {{ $name }}
  selector:
    matchLabels: {{- include "profiles.selectorLabels" $ctx | nindent 6 }}
  template:
    metadata:
      labels: {{- include "profiles.labels" $ctx | nindent 8 }}
    spec:
      serviceAccountName: {{ $name }}
      automountServiceAccountToken: false
      securityContext: {{- include "profiles.podSecurityContext" $v.runAsUser | nindent 8 }}
      containers:
        - name: {{ .component }}
          image: {{ printf "%s:%s" $v.image.repository $v.image.tag | quote }}
          imagePullPolicy: {{ $v.image.pullPolicy }}
          args: {{- toYaml .args | nindent 12 }}
          ports:
            - { name: {{ .portName }}, containerPort: {{ .port }}, protocol: TCP }
            {{- range .extraPorts }}
            - { name: {{ .name }}, containerPort: {{ .port }}, protocol: TCP }
            {{- end }}
          readinessProbe:
            {{- toYaml .readiness | nindent 12 }}
            periodSeconds: 10
          livenessProbe:
            {{- toYaml .liveness | nindent 12 }}
            periodSeconds: 20
            failureThreshold: 6
          resources: {{- toYaml $v.resources | nindent 12 }}
          securityContext: {{- include "profiles.containerSecurityContext" . | nindent 12 }}
          volumeMounts:
            - { name: data, mountPath: {{ .dataPath }} }
      {{- if not $v.persistence.enabled }}
      volumes:
        - name: data
          emptyDir: {}
      {{- end }}
  {{- if $v.persistence.enabled }}
  volumeClaimTemplates:
    - metadata:
        name: data
      spec:
        accessModes: [ReadWriteOnce]
        {{- with $v.persistence.storageClass }}
        storageClassName: {{ . }}
        {{- end }}
        resources:
          requests: { storage: {{ $v.persistence.size }} }
  {{- end }}
{{- end -}}
