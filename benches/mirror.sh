#!/usr/bin/env bash
# Mirroring benchmark: instance B copies a 10-minute, 4-rendition video from instance A
# (benches/mirror.rs, both on loopback in one process), against `curl` fetching the same files
# in the same run, and the time Kaleido's per-segment verification takes on its own.
# Usage: benches/mirror.sh path/to/kaleido   (make bench; MIRROR_BENCH_SIZE, MIRROR_BENCH_SECONDS,
# RESOLUTIONS (comma-separated heights, none above the source's), RUNS in the environment)
set -euo pipefail

BIN=${1:?path to the kaleido binary}
SIZE=${MIRROR_BENCH_SIZE:-1920x1080}
LENGTH=${MIRROR_BENCH_SECONDS:-600}
INPUTS=${MIRROR_BENCH_DIR:-/var/tmp/kaleido-mirror-bench}
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/cache/kaleido/target}
cargo build --release --example mirror_bench
mkdir -p "$INPUTS"
WORK=$(mktemp -d /var/tmp/kaleido-mirror-run.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# A plain test pattern and a tone: cheap to encode, so the set-up's transcode stays bearable.
source="$INPUTS/source-$SIZE-${LENGTH}s.mp4"
if [ ! -f "$source" ]; then
  ffmpeg -hide_banner -loglevel error -y -f lavfi -i "testsrc2=size=$SIZE:rate=25:duration=$LENGTH" \
    -f lavfi -i "sine=frequency=440:duration=$LENGTH" -c:v libx264 -preset veryfast -crf 23 \
    -c:a aac -shortest "$WORK/source.mp4"
  mv "$WORK/source.mp4" "$source"
fi

start=$SECONDS
RUST_LOG=${RUST_LOG:-warn} "$CARGO_TARGET_DIR/release/examples/mirror_bench" "$BIN" "$source" \
  > "$WORK/out" 2> "$WORK/log" || { cat "$WORK/out" "$WORK/log" >&2; exit 1; }
cat "$WORK/out"
grep -E '^(setup|run):' "$WORK/log" || true
warnings=$(grep -c -E ' (WARN|ERROR) ' "$WORK/log" || true)
if [ "$warnings" -gt 0 ]; then
  echo "Kaleido logged $warnings warnings/errors; the first:"
  grep -E ' (WARN|ERROR) ' "$WORK/log" | head -5 | cut -c1-300
fi
echo "source: $SIZE, $LENGTH s, $(du -m "$source" | cut -f1) MiB; benchmark run: $((SECONDS - start)) s"
