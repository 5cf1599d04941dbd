#!/usr/bin/env bash
# Account export benchmark: an account's archive (POST /api/kaleido/v1/exports until its
# download is done) against what a user would do instead with the same photos, in the same
# run: `zip -0` of the original files (the archive stores media uncompressed too). Also the
# server's peak memory, to show it does not grow with the archive.
# Usage: benches/export.sh path/to/kaleido   (make bench)
set -euo pipefail

BIN=${1:?path to the kaleido binary}
PHOTOS=${PHOTOS:-"16 48"}
WORK=$(mktemp -d /var/tmp/kaleido-bench.XXXXXX)
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT

seconds() { python3 -c "import time; print(time.monotonic())"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

serve() { # → starts a server with its workers, sets SERVER, URL and TOKEN
  local dir=$WORK/server
  rm -rf "$dir" && mkdir -p "$dir"
  local env=(KALEIDO_SERVER__BIND=127.0.0.1:0 KALEIDO_WORKERS__COUNT=2
             KALEIDO_DATABASE__URL="sqlite://$dir/kaleido.db"
             KALEIDO_STORAGE__TMP_PATH="$dir/tmp" KALEIDO_STORAGE__LOCAL__PATH="$dir/media" RUST_LOG=warn)
  env "${env[@]}" "$BIN" user create bench --password "benchmark password" > /dev/null
  env "${env[@]}" "$BIN" serve > "$dir/stdout" 2> "$dir/stderr" &
  SERVER=$!
  for _ in $(seq 100); do grep -q listening "$dir/stdout" 2>/dev/null && break; sleep 0.1; done
  URL=$(sed -n 's/^listening on //p' "$dir/stdout")
  TOKEN=$(curl -sf "$URL/oauth/token" -d grant_type=password -d username=bench -d "password=benchmark password" |
          json 'd["access_token"]')
}

# Photos a phone would make: 12 MP of noise (nothing compresses it away), about 3 MB each.
mkdir -p "$WORK/photos"
max=$(echo "$PHOTOS" | tr ' ' '\n' | sort -n | tail -1)
for n in $(seq "$max"); do
  convert -size 4000x3000 xc:gray +noise Random -quality 85 "$WORK/photos/$n.jpg"
done

printf '%6s %9s %11s %8s %7s %12s %16s\n' photos "MiB" "kaleido s" "zip s" ratio "archive MiB" "server peak MiB"
for count in $PHOTOS; do
  serve
  files=()
  for n in $(seq "$count"); do
    file=$WORK/photos/$n.jpg
    files+=("$file")
    id=$(curl -sf -H "Authorization: Bearer $TOKEN" -F "file=@$file;type=image/jpeg" -F "description=photo $n" \
         "$URL/api/v2/media" | json 'd["id"]')
    for _ in $(seq 600); do
      code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$URL/api/v1/media/$id")
      [ "$code" = 206 ] || break
      sleep 0.1
    done
    curl -sf -o /dev/null -H "Authorization: Bearer $TOKEN" -d "status=photo $n" -d "media_ids[]=$id" "$URL/api/v1/statuses"
  done
  mib=$(du -cm "${files[@]}" | tail -1 | cut -f1)
  sync
  start=$(seconds)
  export_id=$(curl -sf -X POST -H "Authorization: Bearer $TOKEN" "$URL/api/kaleido/v1/exports" | json 'd["id"]')
  for _ in $(seq 3000); do
    state=$(curl -sf -H "Authorization: Bearer $TOKEN" "$URL/api/kaleido/v1/exports" | json 'd[0]["state"]')
    [ "$state" = queued ] || break
    sleep 0.05
  done
  [ "$state" = ready ] || { echo "the export is $state" >&2; cat "$WORK/server/stderr" >&2; exit 1; }
  curl -sf -o "$WORK/archive.zip" -H "Authorization: Bearer $TOKEN" \
    "$URL/api/kaleido/v1/exports/$export_id/download"
  sync
  took=$(python3 -c "import time; print(round(time.monotonic() - $start, 3))")
  peak_kib=$(awk '/VmHWM/ {print $2}' "/proc/$SERVER/status")
  archive_mib=$(du -m "$WORK/archive.zip" | cut -f1)
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
  rm -f "$WORK/peer.zip"
  start=$(seconds)
  zip -0 -q "$WORK/peer.zip" "${files[@]}"
  sync
  peer_took=$(python3 -c "import time; print(round(time.monotonic() - $start, 3))")
  printf '%6s %9s %11s %8s %7s %12s %16s\n' "$count" "$mib" "$took" "$peer_took" \
    "$(python3 -c "print(round($took / $peer_took, 2))")" "$archive_mib" "$((peak_kib / 1024))"
done
