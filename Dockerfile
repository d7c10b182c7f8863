# meterbridge in a container, behind a reverse proxy (docs/deployment.md §2).
#   docker build -t meterbridge .       (podman: podman build --format docker --pull=never ...)
#   docker compose up -d                 (compose.yaml: the daemon, nginx, a named volume)
# The image runs as uid/gid 10001 (user meterbridge) and keeps its database in
# /var/lib/meterbridge. A named volume inherits that folder's owner; a host
# folder (bind mount) must be given to 10001 first, or the container run with
# the folder owner's uid:
#   install -d -o 10001 -g 10001 -m 0750 /srv/meterbridge
#   docker run -v /srv/meterbridge:/var/lib/meterbridge ...
#   docker run --user "$(stat -c %u:%g /srv/meterbridge)" -v /srv/meterbridge:/var/lib/meterbridge ...
# Otherwise the daemon stops at start (exit 1) with "cannot write in the database
# directory /var/lib/meterbridge (storage.sqlite_path): Permission denied".

# The build: only what the daemon needs (.dockerignore lets in CMakeLists.txt,
# cmake/, include/, src/ and LICENSE), tests off, stripped.
FROM debian:bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config libboost-dev libboost-system-dev libssl-dev \
      nlohmann-json3-dev libspdlog-dev libfmt-dev libsqlite3-dev libsystemd-dev zlib1g-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_FLAGS_RELEASE=-O2 -DNDEBUG" \
      -DMETERBRIDGE_BUILD_TESTS=OFF \
    && cmake --build build -j"$(nproc)" --target meterbridge && strip build/meterbridge

# Everything of the runtime image but the binary: scripts/test-deploy puts
# the binary its test build made on top of this stage (--target runtime-base)
# instead of compiling it a second time.
FROM debian:bookworm-slim AS runtime-base
RUN apt-get update && apt-get install -y --no-install-recommends \
      libsqlite3-0 libssl3 libspdlog1.10 libfmt9 libsystemd0 zlib1g ca-certificates \
    && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
    && groupadd --system --gid 10001 meterbridge \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/meterbridge --shell /usr/sbin/nologin \
         meterbridge \
    && install -d -o 10001 -g 10001 -m 0750 /var/lib/meterbridge \
    && install -d -m 0755 /etc/meterbridge
# Numeric, so that a runtime's "must not run as root" check can see it.
USER 10001:10001
WORKDIR /var/lib/meterbridge
# The config (mounted read-only) must listen on 0.0.0.0 for the proxy to reach
# it; an ops token is then required (config/meterbridge.production.json).
ENV MB_CONFIG=/etc/meterbridge/meterbridge.json
# Docker and podman SIGKILL a container 10 s after the stop signal unless told
# otherwise (--stop-timeout, compose's stop_grace_period). The daemon's drain
# is 10 s (+1 s to close) by default; 6 here, so a stop during a slow Azure
# call still ends in exit 0 by 7 s. What a cut-short drain leaves is re-sent
# unchanged on restart. Raise it only together with the stop timeout.
ENV MB_DRAIN_TIMEOUT_S=6
STOPSIGNAL SIGTERM
EXPOSE 8080
# /healthz of the configured listener (no curl in the image).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD ["/usr/bin/meterbridge", "healthcheck"]
ENTRYPOINT ["/usr/bin/meterbridge"]
CMD ["serve"]

FROM runtime-base AS runtime
COPY LICENSE /usr/share/doc/meterbridge/LICENSE
COPY --from=build /src/build/meterbridge /usr/bin/meterbridge
