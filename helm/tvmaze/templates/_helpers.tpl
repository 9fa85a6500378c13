{{/* Chart name, truncated to the DNS label limit. */}}
{{- define "tvmaze.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified release name. */}}
{{- define "tvmaze.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "tvmaze.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "tvmaze.labels" -}}
helm.sh/chart: {{ include "tvmaze.chart" . }}
app.kubernetes.io/name: {{ include "tvmaze.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tvmaze-ingest
{{- end }}

{{/* Selector labels; call with (dict "ctx" $ "component" "server"). */}}
{{- define "tvmaze.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tvmaze.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "tvmaze.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "tvmaze.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "tvmaze.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "tvmaze.serverTarget" -}}
{{- printf "%s-server:%d" (include "tvmaze.fullname" .) (int .Values.server.service.port) }}
{{- end }}

{{/* A secret env var; call with (dict "ctx" $ "name" "DATABASE_URL" "key" ... "optional" bool). */}}
{{- define "tvmaze.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .ctx.Values.secrets.existingSecret }}
      key: {{ .key }}
      {{- if .optional }}
      optional: true
      {{- end }}
{{- end }}

{{/* Writable scratch space under a read-only root filesystem. */}}
{{- define "tvmaze.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: 16Mi
{{- end }}
{{- define "tvmaze.tmpMount" -}}
- name: tmp
  mountPath: /tmp
{{- end }}
