#!/usr/bin/env bash
# The chart's alert rules under test (called by scripts/lint-deploy.sh):
#   1. render helm/tvmaze with the rules on (release tvmaze, namespace tvmaze) and
#      write the PrometheusRule's spec.groups to a rule file, checking severities,
#      annotations, runbook anchors and metric names (check-monitoring.js);
#   2. promtool check rules, then promtool test rules with rules.test.yaml (every
#      alert fires in one case and stays quiet in another);
#   3. mutants: the same tests against rules rendered with a broken threshold
#      must fail, or the tests could not catch a wrong rule.
#   helm/tests/rules.sh [WORKDIR]
# promtool is Debian's package prometheus (scripts/bootstrap.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
work="${1:-$(mktemp -d /tmp/tvmaze-rules.XXXXXX)}"
tests=helm/tests/rules.test.yaml
check=helm/tests/check-monitoring.js
command -v promtool >/dev/null 2>&1 ||
  { echo "rules: promtool missing: run scripts/bootstrap.sh (Debian package prometheus)" >&2; exit 1; }

# rules DIR TESTS_MATCHING [helm flags]: renders the rules into DIR/rules.yaml,
# beside DIR/rules.test.yaml holding the test groups whose names match the regex
rules() {
  local dir="$1" match="$2"
  shift 2
  mkdir -p "$dir"
  scripts/helm.sh template tvmaze helm/tvmaze --namespace tvmaze \
    --set monitoring.prometheusRule.enabled=true "$@" >"$dir/rendered.yaml"
  node -e '
    const fs = require("fs"), YAML = require(process.argv[1]);
    const d = YAML.parse(fs.readFileSync(process.argv[2], "utf8"));
    d.tests = d.tests.filter((t) => new RegExp(process.argv[4]).test(t.name));
    if (d.tests.length === 0) throw new Error("no test group matches " + process.argv[4]);
    fs.writeFileSync(process.argv[3], YAML.stringify(d, { lineWidth: 0 }));' \
    "$PWD/tools/node_modules/yaml" "$tests" "$dir/rules.test.yaml" "$match"
  node "$check" rules "$dir/rendered.yaml" "$dir/rules.yaml" "$tests"
}

rules "$work/rules" .
promtool check rules "$work/rules/rules.yaml"
promtool test rules "$work/rules/rules.test.yaml"

# name|test groups|flags: a threshold broken so that a firing case must stop
# firing (--set-json: helm's --set makes 0.95 a string)
mutants=(
  "cpu-95|^server CPU|--set-json monitoring.prometheusRule.thresholds.cpuRatio=0.95"
  "errors-20|^10 % of REST|--set-json monitoring.prometheusRule.thresholds.errorRatio=0.2"
  "stale-27h|^the last success 24 h|--set-json monitoring.prometheusRule.thresholds.freshnessHours=27"
)
status=0
for m in "${mutants[@]}"; do
  IFS='|' read -r name match flags_s <<<"$m"
  read -r -a flags <<<"$flags_s"
  rules "$work/mutant-$name" "$match" "${flags[@]}" >/dev/null
  if promtool test rules "$work/mutant-$name/rules.test.yaml" >"$work/mutant-$name/test.log" 2>&1; then
    echo "rules: FAIL: the tests pass with a broken rule ($name: ${flags[*]})" >&2
    status=1
  else
    echo "rules: mutant $name caught"
  fi
done
exit "$status"
