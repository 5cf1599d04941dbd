#!/usr/bin/env bash
# Upload ingest benchmark: a large upload through `POST /api/v2/media` against what a user would
# do instead, in the same run: `cp` to the same disk (local backend) and a plain S3 PutObject with
# curl to the same store (S3 backend); and the server's peak memory for two sizes, to show it does
# not grow with the file.
# Usage: benches/ingest.sh path/to/kaleido   (make bench; needs the Garage env of scripts/garage.sh)
set -euo pipefail

BIN=${1:?path to the kaleido binary}
SIZES_MIB=${SIZES_MIB:-"256 1024"}
WORK=$(mktemp -d /var/tmp/kaleido-bench.XXXXXX)
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT

make_file() { # an MP4 signature then random bytes, so the upload is accepted as a video
  local mib=$1 out=$2
  { printf '\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2'; head -c $((mib * 1024 * 1024 - 24)) /dev/urandom; } > "$out"
}

seconds() { python3 -c "import time; print(time.monotonic())"; }

serve() { # backend → starts a server, sets SERVER and URL
  local backend=$1 dir=$WORK/$1
  rm -rf "$dir" && mkdir -p "$dir"
  local env=(KALEIDO_SERVER__BIND=127.0.0.1:0 KALEIDO_WORKERS__COUNT=0
             KALEIDO_DATABASE__URL="sqlite://$dir/kaleido.db"
             KALEIDO_STORAGE__TMP_PATH="$dir/tmp" KALEIDO_STORAGE__LOCAL__PATH="$dir/media"
             KALEIDO_LIMITS__MAX_UPLOAD_BYTES=$((8 * 1024 * 1024 * 1024)) RUST_LOG=warn)
  if [ "$backend" = s3 ]; then
    env+=(KALEIDO_STORAGE__BACKEND=s3 KALEIDO_STORAGE__S3__ENDPOINT="$TEST_S3_ENDPOINT"
          KALEIDO_STORAGE__S3__BUCKET="$TEST_S3_BUCKET" KALEIDO_STORAGE__S3__PATH_STYLE=true
          KALEIDO_STORAGE__S3__ACCESS_KEY_ID="$TEST_S3_ACCESS_KEY"
          KALEIDO_STORAGE__S3__SECRET_ACCESS_KEY="$TEST_S3_SECRET_KEY")
  fi
  env "${env[@]}" "$BIN" user create bench --password "benchmark password" > /dev/null
  env "${env[@]}" "$BIN" serve > "$dir/stdout" 2> "$dir/stderr" &
  SERVER=$!
  for _ in $(seq 100); do grep -q listening "$dir/stdout" 2>/dev/null && break; sleep 0.1; done
  URL=$(sed -n 's/^listening on //p' "$dir/stdout")
  TOKEN=$(curl -sf "$URL/oauth/token" -d grant_type=password -d username=bench -d "password=benchmark password" |
          python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
}

printf '%-7s %6s %10s %-9s %8s %7s %16s\n' backend MiB "kaleido s" peer "peer s" ratio "server peak MiB"
for backend in local s3; do
  for mib in $SIZES_MIB; do
    file=$WORK/upload-$mib.mp4
    [ -f "$file" ] || make_file "$mib" "$file"
    sync
    serve "$backend"
    start=$(seconds)
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
           -F "file=@$file;type=video/mp4" "$URL/api/v2/media")
    sync
    took=$(python3 -c "import time; print(round(time.monotonic() - $start, 3))")
    [ "$code" = 202 ] || { echo "upload failed with $code" >&2; cat "$WORK/$backend/stderr" >&2; exit 1; }
    peak_kib=$(awk '/VmHWM/ {print $2}' "/proc/$SERVER/status")
    kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
    start=$(seconds)
    if [ "$backend" = local ]; then
      peer=cp
      cp "$file" "$WORK/copy.bin" && sync
    else
      peer="curl PUT"
      curl -sf -o /dev/null --aws-sigv4 "aws:amz:us-east-1:s3" \
        --user "$TEST_S3_ACCESS_KEY:$TEST_S3_SECRET_KEY" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
        -T "$file" "$TEST_S3_ENDPOINT/$TEST_S3_BUCKET/bench-peer-copy"
    fi
    peer_took=$(python3 -c "import time; print(round(time.monotonic() - $start, 3))")
    rm -f "$WORK/copy.bin"
    printf '%-7s %6s %10s %-9s %8s %7s %16s\n' "$backend" "$mib" "$took" "$peer" "$peer_took" \
      "$(python3 -c "print(round($took / $peer_took, 2))")" "$((peak_kib / 1024))"
  done
done
