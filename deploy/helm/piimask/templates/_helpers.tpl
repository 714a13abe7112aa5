{{/* The labels of the webhook's objects. */}}
{{- define "piimask.labels" -}}
app.kubernetes.io/name: piimask-webhook
app.kubernetes.io/part-of: piimask
{{- end -}}

{{/* The PII label's key (KEY=VALUE). */}}
{{- define "piimask.piiKey" -}}
{{- $parts := splitList "=" .Values.webhook.pii_label -}}
{{- if lt (len $parts) 2 -}}
{{- fail (printf "webhook.pii_label `%s`: expected KEY=VALUE" .Values.webhook.pii_label) -}}
{{- end -}}
{{- first $parts -}}
{{- end -}}
