{{- define "vihat.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "vihat.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "vihat.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "vihat.labels" -}}
app.kubernetes.io/name: {{ include "vihat.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "vihat.selectorLabels" -}}
app.kubernetes.io/name: {{ include "vihat.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "vihat.secretName" -}}
{{- default (include "vihat.fullname" .) .Values.existingSecret -}}
{{- end -}}

{{/* The deployments to render: one per role when splitRoles, else one running every role. */}}
{{- define "vihat.deployments" -}}
{{- if .Values.splitRoles -}}
{{- range .Values.roles }}
- name: {{ . }}
  roles: [{{ . }}]
{{- end }}
{{- else -}}
- name: ""
  roles: {{ toJson .Values.roles }}
{{- end -}}
{{- end -}}
