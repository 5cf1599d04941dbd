#!/usr/bin/env bash
# Installs (once, cached) and runs a single-node Garage S3 server on loopback for the tests and
# benchmarks. Usage: garage.sh install | start | stop | env
set -euo pipefail

CACHE=${KALEIDO_CACHE:-/var/cache/kaleido}
VERSION=2.5.0
BIN="$CACHE/tools/bin/garage"
RUN=${GARAGE_RUN_DIR:-$CACHE/garage-run}
S3_PORT=${GARAGE_S3_PORT:-3900}
RPC_PORT=$((S3_PORT + 1))
ADMIN_PORT=$((S3_PORT + 3))
# Test-only credentials for a server bound to 127.0.0.1.
ACCESS_KEY=GKkaleidotest0000000000000000
SECRET_KEY=kaleido-test-secret-0000000000000000000000000000000000000000000
BUCKET=kaleido-test

install() {
  if [ -x "$BIN" ] && "$BIN" --version 2>/dev/null | grep -q "$VERSION"; then return; fi
  echo "building Garage $VERSION (about 3 minutes, once)"
  CARGO_TARGET_DIR="$CACHE/garage-build" cargo install garage --version "$VERSION" --locked \
    --debug --no-default-features --features bundled-libs,sqlite --root "$CACHE/tools"
}

stop() {
  if [ -f "$RUN/pid" ]; then
    kill "$(cat "$RUN/pid")" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$(cat "$RUN/pid")" 2>/dev/null || break; sleep 0.1; done
    rm -f "$RUN/pid"
  fi
}

start() {
  install
  stop
  rm -rf "$RUN" && mkdir -p "$RUN"
  cat > "$RUN/garage.toml" <<TOML
metadata_dir = "$RUN/meta"
data_dir = "$RUN/data"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:$RPC_PORT"
rpc_public_addr = "127.0.0.1:$RPC_PORT"
rpc_secret = "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"

[s3_api]
s3_region = "us-east-1"
api_bind_addr = "127.0.0.1:$S3_PORT"

[admin]
api_bind_addr = "127.0.0.1:$ADMIN_PORT"
TOML
  GARAGE_DEFAULT_ACCESS_KEY=$ACCESS_KEY GARAGE_DEFAULT_SECRET_KEY=$SECRET_KEY GARAGE_DEFAULT_BUCKET=$BUCKET \
    setsid "$BIN" -c "$RUN/garage.toml" server --single-node --default-bucket > "$RUN/garage.log" 2>&1 &
  echo $! > "$RUN/pid"
  for _ in $(seq 100); do
    if curl -sf "http://127.0.0.1:$ADMIN_PORT/health" > /dev/null; then
      # Tests make a fresh bucket each; the default key may create them.
      "$BIN" -c "$RUN/garage.toml" key allow --create-bucket "$ACCESS_KEY" > /dev/null
      echo "garage listening on http://127.0.0.1:$S3_PORT"
      return
    fi
    sleep 0.2
  done
  echo "garage did not become healthy; its log:" >&2
  cat "$RUN/garage.log" >&2
  exit 1
}

env_vars() {
  echo "TEST_S3_ENDPOINT=http://127.0.0.1:$S3_PORT"
  echo "TEST_S3_ACCESS_KEY=$ACCESS_KEY"
  echo "TEST_S3_SECRET_KEY=$SECRET_KEY"
  echo "TEST_S3_BUCKET=$BUCKET"
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  env) env_vars ;;
  *) echo "usage: $0 install|start|stop|env" >&2; exit 2 ;;
esac
