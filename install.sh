#!/bin/sh
# Installs ferry: picks the release archive for this machine, checks it against the release's
# SHA256SUMS, and puts the `ferry` executable in a folder (on PATH, or the one given).
#
#   curl -fsSL <releases>/latest/download/install.sh | sh
#   sh install.sh [--dir DIR] [--version VERSION] [--base-url URL]
#
#   --dir DIR         where to put ferry (FERRY_INSTALL_DIR); default ~/.local/bin, or
#                     /usr/local/bin when run as root
#   --version V       install release V, e.g. 0.1.0 (FERRY_INSTALL_VERSION); default: the latest
#   --base-url URL    the folder that holds SHA256SUMS and the archives (FERRY_INSTALL_BASE_URL);
#                     default: the project's release of that version
#
# Needs: curl or wget, tar with gzip, and sha256sum, shasum or openssl. Plain POSIX sh (dash,
# busybox sh, bash, zsh). Linux (glibc) and macOS on x64 and arm64; on Alpine (musl) it stops and
# points to the container image unless the release has a musl archive.
set -eu

# The project's releases. A release's files are at $RELEASES_URL/download/v<version>/<file>, the
# latest release's at $RELEASES_URL/latest/download/<file> (GitHub's layout). Change it here when
# the project is published under its final address.
RELEASES_URL="https://github.com/OWNER/ferry/releases"
IMAGE_HINT="the container image (see the README's \"Container image\"), which runs on linux/amd64 and linux/arm64"

say() { printf 'ferry install: %s\n' "$*"; }
warn() { printf 'ferry install: %s\n' "$*" >&2; }
die() {
  printf 'ferry install: error: %s\n' "$*" >&2
  exit 1
}

usage() {
  cat <<'EOF'
Installs ferry: picks the release archive for this machine, checks its SHA-256 against the
release's SHA256SUMS, and puts the ferry executable in a folder.

  sh install.sh [--dir DIR] [--version VERSION] [--base-url URL]

  --dir DIR        where to put ferry (FERRY_INSTALL_DIR); default ~/.local/bin,
                   or /usr/local/bin when run as root
  --version V      the release to install, e.g. 0.1.0 (FERRY_INSTALL_VERSION); default: the latest
  --base-url URL   the folder holding SHA256SUMS and the archives (FERRY_INSTALL_BASE_URL);
                   default: the project's release of that version
EOF
}

dir="${FERRY_INSTALL_DIR:-}"
version="${FERRY_INSTALL_VERSION:-}"
base_url="${FERRY_INSTALL_BASE_URL:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) [ $# -ge 2 ] || die "--dir needs a folder"; dir="$2"; shift 2 ;;
    --dir=*) dir="${1#--dir=}"; shift ;;
    --version) [ $# -ge 2 ] || die "--version needs a version, e.g. 0.1.0"; version="$2"; shift 2 ;;
    --version=*) version="${1#--version=}"; shift ;;
    --base-url) [ $# -ge 2 ] || die "--base-url needs a URL"; base_url="$2"; shift 2 ;;
    --base-url=*) base_url="${1#--base-url=}"; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument '$1' (try --help)" ;;
  esac
done

version="${version#v}"
case "$version" in
  latest) version="" ;;
  *[!0-9A-Za-z.+_-]*) die "'$version' is not a version (e.g. 0.1.0)" ;;
esac

# --- which archive: os and arch as the release names them ---------------------------------------
kernel="$(uname -s)"
machine="$(uname -m)"
case "$kernel" in
  Linux) os=linux ;;
  Darwin) os=darwin ;;
  MINGW* | MSYS* | CYGWIN* | Windows_NT) die "this is Windows ($kernel): use install.ps1 in PowerShell, or download the windows-x64 .zip" ;;
  *) die "no ferry release for $kernel ($machine): releases are for Linux and macOS (x64, arm64) and Windows x64; on other systems use $IMAGE_HINT" ;;
esac
case "$machine" in
  x86_64 | amd64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) die "no ferry release for $kernel on $machine: releases are for x64 and arm64 (a 32-bit ARM system such as Raspberry Pi OS 32-bit needs a 64-bit OS)" ;;
esac
if [ "$os" = darwin ] && [ "$arch" = x64 ] && [ "$(sysctl -n sysctl.proc_translated 2>/dev/null || true)" = 1 ]; then
  arch=arm64 # a shell under Rosetta 2 on Apple silicon: the native build is the one to run
fi
if [ "$os" = linux ] && [ "$arch" = arm64 ] && [ "$(getconf LONG_BIT 2>/dev/null || echo 64)" = 32 ]; then
  die "this is a 32-bit userland on a 64-bit ARM kernel (e.g. Raspberry Pi OS 32-bit): the linux-arm64 release needs a 64-bit OS"
fi

# glibc or musl: the Linux releases are built for glibc.
libc=gnu
if [ "$os" = linux ]; then
  if getconf GNU_LIBC_VERSION >/dev/null 2>&1; then
    libc=gnu
  elif (ldd --version 2>&1 || true) | grep -qi musl; then
    libc=musl
  elif ls /lib/ld-musl-*.so.1 >/dev/null 2>&1; then
    libc=musl
  fi
fi
target="$os-$arch"
[ "$libc" = musl ] && target="$os-$arch-musl"

# --- tools ----------------------------------------------------------------------------------------
if command -v curl >/dev/null 2>&1; then
  download() { curl --fail --silent --show-error --location --retry 2 --output "$2" "$1"; }
elif command -v wget >/dev/null 2>&1; then
  download() { wget -q -O "$2" "$1"; }
else
  die "neither curl nor wget is installed: install one of them"
fi
if command -v sha256sum >/dev/null 2>&1; then
  sha256() { sha256sum "$1" | cut -d ' ' -f 1; }
elif command -v shasum >/dev/null 2>&1; then
  sha256() { shasum -a 256 "$1" | cut -d ' ' -f 1; }
elif command -v openssl >/dev/null 2>&1; then
  sha256() { openssl dgst -sha256 "$1" | sed 's/^.*= *//'; }
else
  die "no sha256sum, shasum or openssl to check the download's checksum: install one of them"
fi
command -v tar >/dev/null 2>&1 || die "tar is not installed"

# --- where from, where to -------------------------------------------------------------------------
if [ -z "$base_url" ]; then
  case "$RELEASES_URL" in
    */OWNER/*) die "this install.sh has no release address yet: pass --base-url (or FERRY_INSTALL_BASE_URL), the folder holding SHA256SUMS and the archives" ;;
  esac
  if [ -n "$version" ]; then base_url="$RELEASES_URL/download/v$version"; else base_url="$RELEASES_URL/latest/download"; fi
fi
base_url="${base_url%/}"

if [ -z "$dir" ]; then
  if [ "$(id -u)" = 0 ]; then
    dir=/usr/local/bin
  else
    [ -n "${HOME:-}" ] || die "HOME is not set: pass --dir"
    dir="$HOME/.local/bin"
  fi
fi
case "$dir" in
  /*) ;;
  *) dir="$(pwd)/$dir" ;;
esac

tmp="$(mktemp -d 2>/dev/null || mktemp -d -t ferry-install)" || die "cannot make a temporary folder"
trap 'rm -rf "$tmp"' EXIT
trap 'rm -rf "$tmp"; exit 130' INT TERM

# --- the release's checksums name the archive -----------------------------------------------------
download "$base_url/SHA256SUMS" "$tmp/SHA256SUMS" || die "cannot download $base_url/SHA256SUMS"
# sha256sum format: "<64 hex>  <name>" (or " *<name>" in binary mode)
entries="$(sed -n 's/^\([0-9a-fA-F]\{64\}\) [ *]\(ferry-.*\)$/\1 \2/p' "$tmp/SHA256SUMS")"
[ -n "$entries" ] || die "$base_url/SHA256SUMS lists no ferry archive"
if [ -n "$version" ]; then
  name="ferry-$version-$target.tar.gz"
  line="$(printf '%s\n' "$entries" | awk -v name="$name" '$2 == name')"
else
  line="$(printf '%s\n' "$entries" | grep -E " ferry-[0-9A-Za-z.+_-]+-$target\\.tar\\.gz\$" || true)"
  if [ "$(printf '%s\n' "$line" | grep -c .)" -gt 1 ]; then
    die "$base_url/SHA256SUMS lists several versions for $target: pass --version ($(printf '%s\n' "$line" | cut -d ' ' -f 2 | tr '\n' ' ' | sed 's/ $//'))"
  fi
fi
if [ -z "$line" ]; then
  if [ "$libc" = musl ]; then
    die "this Linux uses musl libc (e.g. Alpine): the release has no $target archive, and the glibc builds do not run here; use $IMAGE_HINT, or a glibc-based system"
  fi
  listed="$(printf '%s\n' "$entries" | cut -d ' ' -f 2 | tr '\n' ' ' | sed 's/ $//')"
  if [ -n "$version" ]; then
    die "no ferry $version archive for $target at $base_url (its SHA256SUMS lists: $listed)"
  fi
  die "no archive for $target at $base_url (its SHA256SUMS lists: $listed)"
fi
expected="$(printf '%s\n' "$line" | cut -d ' ' -f 1 | tr 'A-F' 'a-f')"
archive="$(printf '%s\n' "$line" | cut -d ' ' -f 2)"
folder="${archive%.tar.gz}"
case "$archive" in */* | *..*) die "SHA256SUMS names an odd file: $archive" ;; esac

say "downloading $archive from $base_url"
download "$base_url/$archive" "$tmp/$archive" || die "cannot download $base_url/$archive"
actual="$(sha256 "$tmp/$archive")"
if [ "$actual" != "$expected" ]; then
  die "checksum mismatch for $archive: SHA256SUMS says $expected, the download is $actual; nothing was installed"
fi
say "checksum ok (sha256 $actual)"

mkdir "$tmp/x"
tar -xzf "$tmp/$archive" -C "$tmp/x" || die "cannot unpack $archive"
[ -f "$tmp/x/$folder/ferry" ] || die "$archive has no $folder/ferry"

# --- install: a copy beside the target, then a rename (a running ferry keeps its old file) --------
mkdir -p "$dir" 2>/dev/null || die "cannot create $dir: pass another --dir, or run as a user who may write there"
[ -w "$dir" ] || die "cannot write to $dir: pass another --dir, or run as a user who may write there"
cp "$tmp/x/$folder/ferry" "$dir/.ferry.install.$$" || die "cannot write to $dir"
chmod 755 "$dir/.ferry.install.$$"
mv -f "$dir/.ferry.install.$$" "$dir/ferry" || { rm -f "$dir/.ferry.install.$$"; die "cannot replace $dir/ferry"; }

if runs="$("$dir/ferry" --version 2>&1)"; then
  say "installed $dir/ferry ($runs)"
else
  die "installed $dir/ferry, but it does not run here: $runs"
fi
case ":${PATH:-}:" in
  *":$dir:"*) ;;
  *) warn "note: $dir is not on your PATH; add it, e.g. in ~/.profile: export PATH=\"$dir:\$PATH\"" ;;
esac
