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

{{/* TLS to the server (values grpcTls): the client side's volume, mount and
environment (gateway, CronJob), and the server's. */}}
{{- define "tvmaze.tlsCheck" -}}
{{- if .Values.grpcTls.enabled }}
{{- if not .Values.grpcTls.secretName }}
{{- fail "grpcTls.enabled needs grpcTls.secretName (a Secret with tls.crt, tls.key, ca.crt)" }}
{{- end }}
{{- if and .Values.grpcTls.mtls (not .Values.grpcTls.clientSecretName) }}
{{- fail "grpcTls.mtls needs grpcTls.clientSecretName (the client certificate of the gateway and the CronJob)" }}
{{- end }}
{{- end }}
{{- end }}
{{- define "tvmaze.tlsClientVolume" -}}
{{- if .Values.grpcTls.enabled }}
- name: grpc-tls
  secret:
    {{- if .Values.grpcTls.clientSecretName }}
    secretName: {{ .Values.grpcTls.clientSecretName }}
    {{- else }}
    secretName: {{ .Values.grpcTls.secretName }}
    items:
      - key: ca.crt
        path: ca.crt
    {{- end }}
{{- end }}
{{- end }}
{{- define "tvmaze.tlsMount" -}}
{{- if .Values.grpcTls.enabled }}
- name: grpc-tls
  mountPath: /etc/tvmaze/tls
  readOnly: true
{{- end }}
{{- end }}
{{- define "tvmaze.tlsClientEnv" -}}
{{- if .Values.grpcTls.enabled }}
- name: TVMAZE_GRPC_TLS_CA
  value: /etc/tvmaze/tls/ca.crt
{{- if .Values.grpcTls.mtls }}
- name: TVMAZE_GRPC_TLS_CLIENT_CERT
  value: /etc/tvmaze/tls/tls.crt
- name: TVMAZE_GRPC_TLS_CLIENT_KEY
  value: /etc/tvmaze/tls/tls.key
{{- end }}
{{- end }}
{{- end }}
{{- define "tvmaze.tlsServerEnv" -}}
{{- if .Values.grpcTls.enabled }}
- name: TVMAZE_GRPC_TLS_CERT
  value: /etc/tvmaze/tls/tls.crt
- name: TVMAZE_GRPC_TLS_KEY
  value: /etc/tvmaze/tls/tls.key
{{- if .Values.grpcTls.mtls }}
- name: TVMAZE_GRPC_TLS_CLIENT_CA
  value: /etc/tvmaze/tls/ca.crt
{{- end }}
{{- end }}
{{- end }}
{{/* The server's probe with TLS on: kubelet's gRPC probe speaks plaintext
only, so the CLI asks Health/Check over TLS, dialling the Service's name
(the name the certificate carries), which hostAliases maps to the pod
itself; with mTLS it presents the server's own certificate. */}}
{{- define "tvmaze.tlsProbe" -}}
exec:
  command:
    - tvmaze
    - --timeout
    - "1500"
    - --target
    - {{ include "tvmaze.serverTarget" . | quote }}
    - --grpc-tls-ca
    - /etc/tvmaze/tls/ca.crt
    {{- if .Values.grpcTls.mtls }}
    - --grpc-tls-client-cert
    - /etc/tvmaze/tls/tls.crt
    - --grpc-tls-client-key
    - /etc/tvmaze/tls/tls.key
    {{- end }}
    - health
    {{- with .Values.server.healthService }}
    - {{ . | quote }}
    {{- end }}
{{- end }}
{{- define "tvmaze.grpcProbe" -}}
{{- if .Values.grpcTls.enabled }}
{{- include "tvmaze.tlsProbe" . }}
{{- else }}
grpc:
  port: {{ .Values.server.service.port }}
  service: {{ .Values.server.healthService | quote }}
{{- end }}
{{- end }}
