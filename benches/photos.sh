#!/usr/bin/env bash
# Photo variants benchmark: time and peak memory to turn a 12 MP and a 24 MP camera JPEG into
# the three served sizes (2048, 640 and 160 px on the long edge), Kaleido's pipeline against
# libvips (vipsthumbnail, shrink-on-load; one run per size, as it makes one size a run) and
# ImageMagick (one convert run writing all three), side by side in the same run.
# Usage: benches/photos.sh   (make bench)
set -euo pipefail

: "${CARGO_TARGET_DIR:=/var/cache/kaleido/target}"
cargo build --release --bin kaleido --example photo_variants -q
OURS="$CARGO_TARGET_DIR/release/examples/photo_variants"
INPUTS=${PHOTO_BENCH_DIR:-/var/tmp/kaleido-photo-bench}
RUNS=${RUNS:-5}
mkdir -p "$INPUTS"

for size in 4000x3000 6000x4000; do
  file="$INPUTS/camera-$size.jpg"
  [ -f "$file" ] || convert -size "$size" plasma:fractal -blur 0x1 -quality 92 "$file"
done

# Median wall time (s) and peak RSS (MiB) of a command over RUNS runs.
measure() {
  read -r wall _cpu peak < <(python3 "$(dirname "$0")/measure.py" "$RUNS" "$1")
  echo "$wall $peak"
}

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
printf '%-10s %-14s %9s %9s %14s %14s\n' input tool "time s" "peak MiB" "time ratio" "memory ratio"
for size in 4000x3000 6000x4000; do
  file="$INPUTS/camera-$size.jpg"
  read -r ours_t ours_m < <(measure "$OURS $file $out")
  read -r vips_t vips_m < <(measure "for s in 2048 640 160; do vipsthumbnail $file -s \$s -o $out/vips-\$s.jpg[Q=90,strip]; done")
  # For scale: libvips making only the largest size, in one run.
  read -r vips1_t vips1_m < <(measure "vipsthumbnail $file -s 2048 -o $out/vips-one.jpg[Q=90,strip]")
  read -r im_t im_m < <(measure "convert $file -auto-orient -strip -quality 90 \\( +clone -resize 2048x2048 -write $out/im-2048.jpg +delete \\) \\( +clone -resize 640x640 -write $out/im-640.jpg +delete \\) -resize 160x160 $out/im-160.jpg")
  ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
  printf '%-10s %-14s %9s %9s %14s %14s\n' "$size" kaleido "$ours_t" "$ours_m" "1.00" "1.00"
  printf '%-10s %-14s %9s %9s %14s %14s\n' "$size" vipsthumbnail "$vips_t" "$vips_m" "$(ratio "$ours_t" "$vips_t")" "$(ratio "$ours_m" "$vips_m")"
  printf '%-10s %-14s %9s %9s %14s %14s\n' "$size" "vips 2048 only" "$vips1_t" "$vips1_m" "$(ratio "$ours_t" "$vips1_t")" "$(ratio "$ours_m" "$vips1_m")"
  printf '%-10s %-14s %9s %9s %14s %14s\n' "$size" imagemagick "$im_t" "$im_m" "$(ratio "$ours_t" "$im_t")" "$(ratio "$ours_m" "$im_m")"
done
echo "ratios are kaleido / tool: below 1 means Kaleido is faster or smaller"
