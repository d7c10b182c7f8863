# meterbridge in a container (behind a reverse proxy). Build:
#   docker build -t meterbridge .        (or: podman build --pull=never ...)
# Run with the config and secrets mounted, the database on a volume:
#   docker run -v /srv/meterbridge:/var/lib/meterbridge -v /etc/meterbridge:/etc/meterbridge:ro \
#     --env-file /etc/meterbridge/secrets.env -p 127.0.0.1:8080:8080 meterbridge
FROM debian:bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config libboost-dev libboost-system-dev libssl-dev \
      nlohmann-json3-dev libspdlog-dev libfmt-dev libsqlite3-dev libsystemd-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DMETERBRIDGE_BUILD_TESTS=OFF \
    && cmake --build build -j2 --target meterbridge && strip build/meterbridge

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
      libsqlite3-0 libssl3 libspdlog1.10 libfmt9 libsystemd0 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/meterbridge meterbridge \
    && install -d -o meterbridge -g meterbridge /var/lib/meterbridge
COPY --from=build /src/build/meterbridge /usr/bin/meterbridge
USER meterbridge
WORKDIR /var/lib/meterbridge
# The config must listen on 0.0.0.0 inside the container; an ops token is then required.
ENV MB_CONFIG=/etc/meterbridge/meterbridge.json
EXPOSE 8080
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/meterbridge"]
CMD ["serve"]
