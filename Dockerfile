# syntax=docker/dockerfile:1
# tvmaze-ingest: one image, three binaries (tvmaze-server, tvmaze-gateway, tvmaze).
#
#   stage "build": Debian 12 toolchain + -dev packages, release build (warnings
#   are errors), then the unit tests. The integration tests need PostgreSQL and
#   Redis, which an image build does not have: they run in scripts/test.sh (CI).
#   stage "runtime": debian slim + the runtime libraries + the three binaries,
#   non-root, nothing written outside /tmp (read-only root filesystem friendly).
#
# Built here without a Docker daemon by scripts/image-build.sh (podman, base image
# debootstrapped from Debian); in CI by .github/workflows/deploy.yml.
ARG BASE_IMAGE=debian:bookworm-slim

FROM ${BASE_IMAGE} AS build
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update -q \
 && apt-get install -y -q --no-install-recommends \
      build-essential cmake pkg-config ca-certificates \
      libgrpc-dev protobuf-compiler libprotobuf-dev grpc-proto \
      protobuf-c-compiler libprotobuf-c-dev \
      libpq-dev libhiredis-dev libcurl4-openssl-dev libjansson-dev \
      libmicrohttpd-dev libcmocka-dev libssl-dev zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
ARG BUILD_JOBS=2
# One step (one layer): release build with warnings as errors of the three
# programs and the unit tests (tests/unit/test_*.c, which need no services; the
# integration tests are not built here), the unit tests run, then the binaries,
# stripped, into /out/bin for the runtime stage.
RUN set -eu; \
    units="$(find tests/unit -maxdepth 1 -name 'test_*.c' -exec basename {} .c \; | sort)"; \
    cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTVMAZE_WERROR=ON; \
    cmake --build build -j"${BUILD_JOBS}" --target tvmaze-server tvmaze-gateway tvmaze $units; \
    names="$(echo "$units" | paste -sd '|')"; \
    if [ -n "$names" ]; then \
      (cd build && ctest --output-on-failure --timeout 300 --no-tests=error -R "^(${names})\$"); \
    else \
      echo "no unit tests in tests/unit"; \
    fi; \
    mkdir -p /out/bin; \
    for b in tvmaze-server tvmaze-gateway tvmaze; do \
      f="$(find build -type f -name "$b" -perm -u+x | head -1)"; \
      [ -n "$f" ] || { echo "binary $b was not built" >&2; exit 1; }; \
      install -m 0755 -s "$f" /out/bin/"$b"; \
    done

FROM ${BASE_IMAGE} AS runtime
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update -q \
 && apt-get install -y -q --no-install-recommends \
      libgrpc29 libprotobuf-c1 libpq5 libhiredis0.14 libcurl4 libjansson4 \
      libmicrohttpd12 zlib1g ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /var/log/apt /var/log/dpkg.log \
 && groupadd --system --gid 10001 tvmaze \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin tvmaze
COPY --from=build /out/bin/ /usr/local/bin/
# Fail the build if a shared library is missing from the runtime stage.
RUN set -eu; for b in tvmaze-server tvmaze-gateway tvmaze; do \
      if ldd /usr/local/bin/"$b" | grep -F 'not found'; then echo "$b: missing libraries" >&2; exit 1; fi; \
    done; \
    tvmaze-server --version

ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
ARG SOURCE=""
LABEL org.opencontainers.image.title="tvmaze-ingest" \
      org.opencontainers.image.description="TVMaze releases for the next 90 days over gRPC (tvmaze-server), REST (tvmaze-gateway) and a CLI (tvmaze)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.base.name="${BASE_IMAGE}"

ENV LOG_FORMAT=json \
    TVMAZE_GRPC_ADDR=0.0.0.0:50051 \
    TVMAZE_HTTP_ADDR=0.0.0.0:8080 \
    TMPDIR=/tmp
WORKDIR /tmp
USER 10001:10001
EXPOSE 50051 8080
STOPSIGNAL SIGTERM
# The server by default; the gateway and the CLI by overriding the entrypoint:
#   --entrypoint tvmaze-gateway   /   --entrypoint tvmaze ... ingest start --wait
ENTRYPOINT ["tvmaze-server"]
CMD ["serve"]
