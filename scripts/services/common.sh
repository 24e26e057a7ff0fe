# Shared helpers for the real-server scripts (sourced, not run).
# Servers are fetched from Maven Central into a cache folder outside the work tree,
# bound to 127.0.0.1, started in the background with their output in log files,
# and stopped by pid file. A server that already answers on its port is re-used
# and is never stopped by us (no pid file of ours).
set -euo pipefail

FERRY_CACHE="${FERRY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ferry}"
FERRY_RUN="${FERRY_RUN:-$FERRY_CACHE/run}"
JAVA_HOME="${JAVA_HOME_17:-/usr/lib/jvm/java-17-openjdk-amd64}"
JAVA="$JAVA_HOME/bin/java"
[ -x "$JAVA" ] || JAVA="$(command -v java)"
mkdir -p "$FERRY_CACHE" "$FERRY_RUN"

log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }

# fetch_jars DIR COORD... : resolve the runtime classpath of the given Maven
# coordinates (group:artifact:version) into DIR/libs, once.
fetch_jars() {
  local dir="$1"; shift
  if [ -f "$dir/libs/.complete" ]; then return 0; fi
  mkdir -p "$dir/libs"
  local deps=""
  for c in "$@"; do
    IFS=: read -r g a v <<<"$c"
    deps="$deps<dependency><groupId>$g</groupId><artifactId>$a</artifactId><version>$v</version></dependency>"
  done
  cat >"$dir/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
<groupId>ferry</groupId><artifactId>fetch</artifactId><version>1</version><packaging>pom</packaging>
<dependencies>$deps</dependencies></project>
POM
  log "fetching $* into $dir/libs (once)"
  (cd "$dir" && mvn -B -q dependency:copy-dependencies -DincludeScope=runtime \
      -DoutputDirectory=libs >"$dir/fetch.log" 2>&1) || { log "maven fetch failed, see $dir/fetch.log"; tail -20 "$dir/fetch.log" >&2; return 1; }
  touch "$dir/libs/.complete"
}

# make_certificate DIR NAME CN [SAN] : a self-signed certificate made with the JDK's keytool:
# DIR/NAME.p12 (PKCS12, password $CERT_STOREPASS), DIR/NAME-cert.pem and DIR/NAME-key.pem (PKCS#8,
# exported by PemKey.java: no openssl needed). SAN e.g. ip:127.0.0.1,dns:localhost.
CERT_STOREPASS=ferry-test-store
KEYTOOL="$JAVA_HOME/bin/keytool"
[ -x "$KEYTOOL" ] || KEYTOOL="$(command -v keytool)"
make_certificate() {
  local dir="$1" name="$2" cn="$3" san="${4:-}"
  local ext=(); [ -n "$san" ] && ext=(-ext "SAN=$san")
  rm -f "$dir/$name.p12"
  "$KEYTOOL" -genkeypair -alias "$name" -keyalg RSA -keysize 2048 -validity 3650 -dname "CN=$cn" "${ext[@]}" \
    -storetype PKCS12 -keystore "$dir/$name.p12" -storepass "$CERT_STOREPASS" -keypass "$CERT_STOREPASS" >/dev/null 2>&1
  "$KEYTOOL" -exportcert -rfc -alias "$name" -keystore "$dir/$name.p12" -storepass "$CERT_STOREPASS" -file "$dir/$name-cert.pem" >/dev/null 2>&1
  "$JAVA" "$(dirname "${BASH_SOURCE[0]}")/PemKey.java" "$dir/$name.p12" "$CERT_STOREPASS" "$name" >"$dir/$name-key.pem"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_for DESC TIMEOUT_S CMD... : poll CMD until it succeeds.
wait_for() {
  local desc="$1" timeout="$2"; shift 2
  local start=$SECONDS
  until "$@"; do
    if (( SECONDS - start > timeout )); then log "timed out after ${timeout}s waiting for $desc"; return 1; fi
    sleep 0.5
  done
  log "$desc ready after $((SECONDS - start))s"
}

# stop_pidfile FILE : stop the process we started (TERM, then KILL).
stop_pidfile() {
  local f="$1"
  [ -f "$f" ] || return 0
  local pid; pid="$(cat "$f")"
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}
