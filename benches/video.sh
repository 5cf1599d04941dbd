#!/usr/bin/env bash
# Video ladder benchmark: 240p/480p/720p HLS (fMP4, 4 s segments, x264 veryfast, AAC 128k) from a
# 720p and a 1080p source, Kaleido's decode-once transcoder against the ffmpeg CLI doing the same
# ladder in one process (split filter) and against PeerTube's way (one ffmpeg run per rung).
# Wall time, CPU time and peak memory, as ratios, measured side by side.
# Usage: benches/video.sh path/to/kaleido   (make bench)
set -euo pipefail

BIN=${1:?path to the kaleido binary}
RUNS=${RUNS:-3}
SECONDS_LONG=${VIDEO_BENCH_SECONDS:-20}
INPUTS=${VIDEO_BENCH_DIR:-/var/tmp/kaleido-video-bench}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$INPUTS"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

for size in 1280x720 1920x1080; do
  file="$INPUTS/source-$size.mp4"
  # Moving detail and a little noise, so the encoders have real work.
  [ -f "$file" ] || ffmpeg -hide_banner -loglevel error -y \
    -f lavfi -i "testsrc2=size=$size:rate=30:duration=$SECONDS_LONG" \
    -f lavfi -i "sine=frequency=440:duration=$SECONDS_LONG" \
    -vf "noise=alls=12:allf=t" -c:v libx264 -preset fast -crf 18 -c:a aac -shortest "$file"
done

measure() { python3 "$HERE/measure.py" "$RUNS" "$1"; }
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }

kaleido_cmd() {
  echo "rm -rf $out/k && KALEIDO_TRANSCODING__RESOLUTIONS='[720, 480, 240]' KALEIDO_TRANSCODING__PRESET=veryfast \
    KALEIDO_TRANSCODING__SEGMENT_SECONDS=4 $BIN transcode --input $1 --output $out/k"
}
cli_cmd() {
  echo "rm -rf $out/c && mkdir -p $out/c && ffmpeg -hide_banner -loglevel error -y -i $1 \
    -filter_complex '[0:v]split=3[s0][s1][s2];[s0]scale=-2:240,setsar=1,format=yuv420p[v0];[s1]scale=-2:480,setsar=1,format=yuv420p[v1];[s2]scale=-2:720,setsar=1,format=yuv420p[v2]' \
    -map '[v0]' -map 0:a -map '[v1]' -map 0:a -map '[v2]' -map 0:a -c:v libx264 -preset veryfast \
    -force_key_frames 'expr:gte(t,n_forced*4)' -c:a aac -b:a 128k -ar 48000 -ac 2 \
    -f hls -hls_time 4 -hls_playlist_type vod -hls_flags independent_segments+single_file -hls_segment_type fmp4 \
    -master_pl_name master.m3u8 -var_stream_map 'v:0,a:0 v:1,a:1 v:2,a:2' $out/c/%v.m3u8"
}
peertube_cmd() {
  local cmd="rm -rf $out/p && mkdir -p $out/p"
  for h in 240 480 720; do
    cmd="$cmd && ffmpeg -hide_banner -loglevel error -y -i $1 -vf scale=-2:$h,setsar=1,format=yuv420p -c:v libx264 -preset veryfast \
      -force_key_frames 'expr:gte(t,n_forced*4)' -c:a aac -b:a 128k -ar 48000 -ac 2 -f hls -hls_time 4 -hls_playlist_type vod \
      -hls_flags independent_segments+single_file -hls_segment_type fmp4 $out/p/$h.m3u8"
  done
  echo "$cmd"
}

printf '%-10s %-22s %8s %8s %9s %11s %10s %12s\n' source tool "wall s" "cpu s" "peak MiB" "wall ratio" "cpu ratio" "memory ratio"
for size in 1280x720 1920x1080; do
  file="$INPUTS/source-$size.mp4"
  read -r kw kc km < <(measure "$(kaleido_cmd "$file")")
  read -r cw cc cm < <(measure "$(cli_cmd "$file")")
  read -r pw pc pm < <(measure "$(peertube_cmd "$file")")
  printf '%-10s %-22s %8s %8s %9s %11s %10s %12s\n' "$size" kaleido "$kw" "$kc" "$km" 1.00 1.00 1.00
  printf '%-10s %-22s %8s %8s %9s %11s %10s %12s\n' "$size" "ffmpeg CLI, one run" "$cw" "$cc" "$cm" "$(ratio "$kw" "$cw")" "$(ratio "$kc" "$cc")" "$(ratio "$km" "$cm")"
  printf '%-10s %-22s %8s %8s %9s %11s %10s %12s\n' "$size" "one run per rung" "$pw" "$pc" "$pm" "$(ratio "$kw" "$pw")" "$(ratio "$kc" "$pc")" "$(ratio "$km" "$pm")"
done
echo "ratios are kaleido / tool: below 1 means Kaleido is faster or smaller (${SECONDS_LONG} s sources, median of $RUNS)"
