#!/usr/bin/env bash
# Static checks: proto lint/format, C formatting, banned C functions, shell
# scripts, and (when the chart and the validators are present) Helm and YAML.
set -euo pipefail
cd "$(dirname "$0")/.."
buf="tools/node_modules/.bin/buf"

echo "lint: buf lint + format"
(cd proto && "../$buf" lint && "../$buf" format -d --exit-code)

echo "lint: clang-format"
mapfile -t c_files < <(git ls-files '*.c' '*.h')
if [ "${#c_files[@]}" -gt 0 ]; then
  clang-format --dry-run --Werror "${c_files[@]}"
fi

echo "lint: banned functions"
# Unbounded or unchecked string and number functions (as curl bans them):
# use snprintf / strbuf, strtol with an end check, strtok_r never.
banned='(^|[^A-Za-z0-9_])(sprintf|vsprintf|strcpy|strcat|strtok|atoi|atol|atoll|gets)[[:space:]]*\('
if [ "${#c_files[@]}" -gt 0 ] && grep -nE "$banned" "${c_files[@]}"; then
  echo "lint: banned function used (above)" >&2
  exit 1
fi

echo "lint: shellcheck"
mapfile -t sh_files < <(git ls-files '*.sh' '.ci/run')
shellcheck "${sh_files[@]}"

if [ -x scripts/lint-deploy.sh ]; then
  echo "lint: deployment (helm, yaml, manifests)"
  scripts/lint-deploy.sh
fi
echo "lint: ok"
