#!/usr/bin/env bash
# Federation benchmark: delivery fan-out and signed inbox POSTs of one instance against a loopback
# sink (benches/federation.rs), then `openssl speed rsa2048` on one core in the same run, for
# the floor of an inbox POST: one RSA verification.
# Usage: benches/federation.sh   (make bench; sizes: FOLLOWERS, INSTANCES, ACTIVITIES, SIGNERS,
# CONCURRENCY, WORKERS, PER_HOST in the environment)
set -euo pipefail

cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/cache/kaleido/target}
cargo build --release --example federation_bench
WORK=$(mktemp -d /var/tmp/kaleido-fed-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

start=$SECONDS
RUST_LOG=${RUST_LOG:-warn} "$CARGO_TARGET_DIR/release/examples/federation_bench" > "$WORK/out" 2> "$WORK/log" ||
  { cat "$WORK/out" "$WORK/log" >&2; exit 1; }
grep -v -E '^(steady_inbox|verify)_per_second ' "$WORK/out"
grep -E '^(setup|inbox setup|pass|run):' "$WORK/log" || true
warnings=$(grep -c -E ' (WARN|ERROR) ' "$WORK/log" || true)
if [ "$warnings" -gt 0 ]; then
  echo "Kaleido logged $warnings warnings/errors; the first:"
  grep -E ' (WARN|ERROR) ' "$WORK/log" | head -5 | cut -c1-300
fi

openssl speed -seconds 3 rsa2048 > "$WORK/openssl" 2> /dev/null
# The verify/s column, wherever this OpenSSL version prints it ("rsa 2048 bits" takes 3 fields).
read -r sign verify < <(awk '/verify\/s/ { for (i = 1; i <= NF; i++) { if ($i == "sign/s") s = i + 3; if ($i == "verify/s") v = i + 3 } }
  /^rsa *2048 bits/ && v { print $s, $v }' "$WORK/openssl")
inbox=$(awk '/^steady_inbox_per_second/ {print $2}' "$WORK/out")
own=$(awk '/^verify_per_second/ {print $2}' "$WORK/out")
echo
echo "openssl speed rsa2048, 1 core: $sign sign/s, $verify verify/s"
awk -v k="$inbox" -v o="$verify" -v r="$own" 'BEGIN {
  printf "Kaleido inbox POSTs/s (keys cached) / openssl verify/s = %.1f / %.0f = %.4f\n", k, o, k / o
  printf "Kaleido'\''s own verify (rsa crate) / openssl verify/s = %.0f / %.0f = %.3f\n", r, o, r / o }'
echo "benchmark run: $((SECONDS - start)) s"
