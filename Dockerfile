# ferry: one binary, one image, every role (choose it with the first argument or FERRY_MODE).
#
# Stage 1 builds dist/ferry with Bun from npm (pinned in package.json); stage 2 ships only the
# binary, CA certificates and a data volume, running as a non-root user.
# Base images are plain Debian bookworm; scripts/image-test builds them locally from Debian
# packages when no registry is reachable.

FROM docker.io/library/debian:bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
# An optional build secret "ca" adds a CA bundle for registries behind a TLS-inspecting proxy:
#   buildah bud --secret id=ca,src=/etc/ssl/certs/ca-certificates.crt .
RUN --mount=type=secret,id=ca,required=false \
    if [ -s /run/secrets/ca ]; then export npm_config_cafile=/run/secrets/ca; fi \
 && npm ci --no-audit --no-fund
COPY tsconfig.json bunfig.toml ./
COPY scripts/build.ts scripts/duckdb-extensions.ts scripts/
COPY src src
# The build fetches DuckDB's httpfs extension from PyPI (scripts/duckdb-extensions.ts), with the same CA.
RUN --mount=type=secret,id=ca,required=false \
    if [ -s /run/secrets/ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/ca; fi \
 && node_modules/.bin/bun scripts/build.ts dist/ferry && ./dist/ferry --version

FROM docker.io/library/debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin ferry \
 && mkdir -p /data && chown ferry:ferry /data
COPY --from=build /src/dist/ferry /usr/local/bin/ferry
USER ferry
WORKDIR /data
# The embedded DuckDB library is unpacked once into a private (0700) cache folder and checked by
# SHA-256 at every start. FERRY_HOST=0.0.0.0 listens beyond loopback: without a token
# (FERRY_AUTH_TOKEN_FILE=/run/secrets/…, or FERRY_AUTH_TOKEN) ferry logs a warning at start.
ENV FERRY_DATA_DIR=/data/ferry-data \
    FERRY_HOST=0.0.0.0 \
    XDG_CACHE_HOME=/data/.cache
VOLUME ["/data"]
EXPOSE 8080
# For the HTTP roles (run, serve); the binary probes itself (its FERRY_PORT, HTTPS with FERRY_TLS_CERT), no curl in the image.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 CMD ["ferry", "probe"]
ENTRYPOINT ["ferry"]
CMD ["run"]
