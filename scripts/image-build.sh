#!/usr/bin/env bash
# Builds the container image from the Dockerfile without a Docker daemon (podman,
# vfs storage under a temp dir, base image debootstrapped from Debian and
# imported as localhost/debian:bookworm), then runs it:
#   1. tvmaze-server --version;
#   2. tvmaze-server against a local PostgreSQL + Redis (scripts/services.sh),
#      read-only root, --network host: logs server_started, answers
#      grpc.health.v1.Health/Check (buf curl and the image's own CLI), drains on
#      SIGTERM with exit status 0;
#   3. tvmaze-gateway against that server: GET /up answers 200.
# Everything it created (storage, containers, services) is removed at the end.
# Slow (debootstrap ~1.5 min, then a full compile): not part of scripts/test.sh.
#
#   scripts/image-build.sh                  build + run checks
#   IMAGE_TAG=tvmaze-ingest:ci  scripts/image-build.sh
#   BASE_TAR=/var/cache/bookworm.tar scripts/image-build.sh   reuse/save the base rootfs
#   IMAGE_SAVE=/tmp/tvmaze.tar scripts/image-build.sh         also write the image (docker-archive)
#   DEBIAN_MIRROR=http://deb.debian.org/debian                mirror for debootstrap
# Needs root (debootstrap, podman vfs); installs podman, buildah, debootstrap, runc.
set -euo pipefail
cd "$(dirname "$0")/.."
image="localhost/${IMAGE_TAG:-tvmaze-ingest:dev}"
jobs="${BUILD_JOBS:-2}"

[ "$(id -u)" -eq 0 ] || { echo "image-build: run as root (debootstrap, podman storage)" >&2; exit 1; }

need=()
for p in podman buildah debootstrap runc uidmap debian-archive-keyring; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ "${#need[@]}" -gt 0 ]; then
  echo "image-build: installing ${need[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi

work="$(mktemp -d /tmp/tvmaze-image.XXXXXX)"
chmod 755 "$work"
pm() {
  podman --root "$work/storage" --runroot "$work/run" --storage-driver vfs \
    --runtime runc --cgroup-manager cgroupfs --events-backend file "$@"
}
cleanup() {
  set +e
  for c in tvmaze-img-server tvmaze-img-gateway; do pm rm -f -t 0 "$c" >/dev/null 2>&1; done
  [ -d "$work/services" ] && scripts/services.sh stop "$work/services" >/dev/null 2>&1
  pm rmi -a -f >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
run_opts=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)

# Debian mirror: DEBIAN_MIRROR, else the one apt uses on this (Debian) machine.
mirror="${DEBIAN_MIRROR:-}"
if [ -z "$mirror" ] && [ -f /etc/apt/sources.list.d/debian.sources ]; then
  mirror="$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)"
fi
mirror="${mirror:-http://deb.debian.org/debian}"

echo "image-build: base image localhost/debian:bookworm" >&2
if [ -n "${BASE_TAR:-}" ] && [ -s "$BASE_TAR" ]; then
  pm import "$BASE_TAR" localhost/debian:bookworm >/dev/null
else
  echo "image-build: debootstrap bookworm from $mirror (~1.5 min)" >&2
  debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  if [ -n "${BASE_TAR:-}" ]; then
    tar -C "$work/rootfs" -cf "$BASE_TAR" .
    pm import "$BASE_TAR" localhost/debian:bookworm >/dev/null
  else
    tar -C "$work/rootfs" -c . | pm import - localhost/debian:bookworm >/dev/null
  fi
  rm -rf "$work/rootfs"
fi

echo "image-build: podman build $image (compiles the project, $jobs jobs)" >&2
pm build --isolation chroot --format oci \
  --build-arg BASE_IMAGE=localhost/debian:bookworm \
  --build-arg BUILD_JOBS="$jobs" \
  --build-arg REVISION="$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
  --build-arg CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  -t "$image" -f Dockerfile .
pm image inspect --format '{{.Config.User}} {{.Config.StopSignal}} {{.Config.ExposedPorts}}' "$image" |
  tee "$work/inspect"
grep -q '^10001:10001 SIGTERM' "$work/inspect" || { echo "image-build: user/stop signal wrong" >&2; exit 1; }
pm images --format '{{.Repository}}:{{.Tag}} {{.Size}}' "$image"

echo "image-build: tvmaze-server --version" >&2
version="$(pm run --rm "${run_opts[@]}" "$image" --version)"
echo "$version"
[ -n "$version" ] || { echo "image-build: --version printed nothing" >&2; exit 1; }

echo "image-build: start against local PostgreSQL + Redis" >&2
scripts/services.sh start "$work/services" >/dev/null
# shellcheck disable=SC1091
. "$work/services/env"
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
grpc_port="$(free_port)"
http_port="$(free_port)"
pm run -d --name tvmaze-img-server "${run_opts[@]}" --network host --read-only \
  -e DATABASE_URL="$DATABASE_URL" -e REDIS_URL="$REDIS_URL" \
  -e TVMAZE_GRPC_ADDR="127.0.0.1:$grpc_port" -e TVMAZE_INGEST_AT=off \
  "$image" >/dev/null
started=0
for _ in $(seq 1 60); do
  if pm logs tvmaze-img-server 2>&1 | grep -q 'server_started'; then started=1; break; fi
  [ "$(pm inspect -f '{{.State.Running}}' tvmaze-img-server)" = true ] || break
  sleep 1
done
pm logs tvmaze-img-server 2>&1 | tail -20
[ "$started" -eq 1 ] || { echo "image-build: server did not log server_started" >&2; exit 1; }

echo "image-build: grpc.health.v1.Health/Check" >&2
if [ -x tools/node_modules/.bin/buf ]; then
  tools/node_modules/.bin/buf curl --protocol grpc --http2-prior-knowledge -d '{}' \
    "http://127.0.0.1:$grpc_port/grpc.health.v1.Health/Check" | tee "$work/health"
  grep -q SERVING "$work/health" || { echo "image-build: health check did not answer SERVING" >&2; exit 1; }
fi
pm run --rm "${run_opts[@]}" --network host --read-only --entrypoint tvmaze \
  -e TVMAZE_GRPC_TARGET="127.0.0.1:$grpc_port" "$image" health

echo "image-build: gateway GET /up" >&2
pm run -d --name tvmaze-img-gateway "${run_opts[@]}" --network host --read-only --entrypoint tvmaze-gateway \
  -e TVMAZE_HTTP_ADDR="127.0.0.1:$http_port" -e TVMAZE_GRPC_TARGET="127.0.0.1:$grpc_port" \
  -e REDIS_URL="$REDIS_URL" -e API_USERNAME=admin -e API_PASSWORD=image-build-check \
  "$image" >/dev/null
code=000
for _ in $(seq 1 30); do
  code="$(curl -s -o "$work/up" -w '%{http_code}' "http://127.0.0.1:$http_port/up" || true)"
  [ "$code" = 200 ] && break
  sleep 1
done
cat "$work/up" 2>/dev/null; echo
[ "$code" = 200 ] || { pm logs tvmaze-img-gateway 2>&1 | tail -20; echo "image-build: /up answered $code" >&2; exit 1; }

echo "image-build: SIGTERM drains with exit status 0" >&2
for c in tvmaze-img-gateway tvmaze-img-server; do
  pm stop -t 30 "$c" >/dev/null
  status="$(pm inspect -f '{{.State.ExitCode}}' "$c")"
  [ "$status" = 0 ] || { pm logs "$c" 2>&1 | tail -10; echo "image-build: $c exited $status" >&2; exit 1; }
done

if [ -n "${IMAGE_SAVE:-}" ]; then
  pm save --format docker-archive -o "$IMAGE_SAVE" "$image"
  echo "image-build: saved $IMAGE_SAVE" >&2
fi
echo "image-build: ok ($image)"
