# ferry: one binary, one image, every role (choose it with the first argument or FERRY_MODE).
# Multi-arch: linux/amd64 and linux/arm64 from this one file, e.g.
#   docker buildx build --platform linux/amd64,linux/arm64 -t ferry .
#   buildah bud --platform linux/arm64 --build-arg BUILDPLATFORM=linux/amd64 -t ferry:arm64 .
#
# The build stages run on the machine's own platform (BUILDPLATFORM: Docker sets it; Debian
# bookworm's buildah 1.28 does not, so pass it, else they run emulated) and cross-compile ferry for the target with
# scripts/release.ts, which makes the same archive a release ships; the target's stage only copies
# files (no RUN), so building the arm64 image needs no emulation at all.
# Base images are plain Debian bookworm; scripts/image-test builds them locally from Debian
# packages (debootstrap, per architecture) when no registry is reachable.
#
# Where the binary comes from (FERRY_BINARY):
#   source  (default) built here from this folder's sources (npm ci, then scripts/release.ts: minutes of CPU);
#   release unpacked from release archives already made (`npm run release`, or a downloaded release
#           folder), given as the build context "release-archives"; the target's archive is checked
#           against that folder's SHA256SUMS first:
#     buildah bud --build-arg FERRY_BINARY=release --build-context release-archives=dist/release -t ferry .
#     docker buildx build --build-arg FERRY_BINARY=release --build-context release-archives=dist/release -t ferry .
# Only the chosen stage is built (BuildKit, and buildah's --skip-unused-stages, its default).
ARG FERRY_BINARY=source

FROM --platform=$BUILDPLATFORM docker.io/library/debian:bookworm-slim AS binary-source
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
COPY tsconfig.json bunfig.toml README.md ./
COPY scripts/*.ts scripts/*.json scripts/
COPY src src
# The release build fetches the target's DuckDB binding from npm and its extensions from PyPI (each
# checked against its pin), with the same CA, into a cache kept between builds; then the archive is
# checked against its SHA256SUMS and unpacked. SOURCE_DATE_EPOCH: the archive's file times (no git
# here; scripts/image-test passes the last commit's).
ARG TARGETARCH
ARG SOURCE_DATE_EPOCH=1
RUN --mount=type=secret,id=ca,required=false \
    --mount=type=cache,target=/src/node_modules/.cache \
    if [ -s /run/secrets/ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/ca npm_config_cafile=/run/secrets/ca; fi \
 && case "${TARGETARCH:-amd64}" in \
      amd64) target=linux-x64 ;; \
      arm64) target=linux-arm64 ;; \
      *) echo "no ferry build for linux/$TARGETARCH (amd64 and arm64 are)" >&2; exit 1 ;; \
    esac \
 && node_modules/.bin/bun scripts/release.ts --targets "$target" --out /tmp/release \
 && cd /tmp/release \
 && grep -E " ferry-[^ ]+-$target\.tar\.gz\$" SHA256SUMS | sha256sum -c - \
 && tar -xzf ferry-*-"$target".tar.gz \
 && mkdir -p /out \
 && mv ferry-*-"$target"/ferry /out/ferry \
 && rm -rf /tmp/release

# The binary from release archives: SHA256SUMS and the linux archives of the folder given as the
# build context "release-archives" (no network, no compiler). Exactly one archive of the target is
# expected; its line in SHA256SUMS must match before it is unpacked.
FROM --platform=$BUILDPLATFORM docker.io/library/debian:bookworm-slim AS binary-release
COPY --from=release-archives SHA256SUMS ferry-*-linux-*.tar.gz /tmp/release/
ARG TARGETARCH
RUN case "${TARGETARCH:-amd64}" in \
      amd64) target=linux-x64 ;; \
      arm64) target=linux-arm64 ;; \
      *) echo "no ferry build for linux/$TARGETARCH (amd64 and arm64 are)" >&2; exit 1 ;; \
    esac \
 && cd /tmp/release \
 && set -- ferry-*-"$target".tar.gz \
 && if [ ! -e "$1" ]; then echo "the release-archives context holds no ferry-<version>-$target.tar.gz" >&2; exit 1; fi \
 && if [ "$#" != 1 ]; then echo "the release-archives context holds $# archives for $target ($*), not one" >&2; exit 1; fi \
 && sum=$(awk -v f="$1" '$2 == f || $2 == "*" f' SHA256SUMS) \
 && if [ -z "$sum" ]; then echo "SHA256SUMS in the release-archives context does not list $1" >&2; exit 1; fi \
 && printf '%s\n' "$sum" | sha256sum -c --strict - \
 && tar -xzf "$1" \
 && mkdir -p /out \
 && mv "${1%.tar.gz}/ferry" /out/ferry \
 && rm -rf /tmp/release

# The binary the image ships: FERRY_BINARY's stage. (The ":-source" again: buildah 1.28 picks the
# stages to build from --build-arg values alone, without the ARG's default above. The WORKDIR: a
# stage of a FROM alone leaves its working container behind in buildah 1.28.)
FROM binary-${FERRY_BINARY:-source} AS binary
WORKDIR /out

# The files the image needs besides ferry, made on the build platform too: CA certificates, the
# non-root user (passwd and group from the same Debian base with one user added) and /data.
FROM --platform=$BUILDPLATFORM docker.io/library/debian:bookworm-slim AS rootfs
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 ferry \
 && useradd --system --uid 10001 --gid ferry --home-dir /data --shell /usr/sbin/nologin ferry \
 && mkdir -p /data

# The target platform's Debian (explicit: buildah otherwise re-uses the build stages' platform).
FROM --platform=$TARGETPLATFORM docker.io/library/debian:bookworm-slim
COPY --from=rootfs /etc/passwd /etc/group /etc/shadow /etc/gshadow /etc/
COPY --from=rootfs /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=rootfs --chown=10001:10001 /data /data
COPY --from=binary /out/ferry /usr/local/bin/ferry
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
