#!/usr/bin/env bash
# The container image, tested for real: builds docker/Dockerfile's runtime stage around a binary
# built outside (no second compile), then runs the scaled-out deployment against the test
# PostgreSQL and Garage: a `serve` container without workers and a `worker` container. Through
# the serve container it creates an account, uploads a photo and a video, and fetches the HLS the
# worker container transcoded. Usage: docker-test.sh BINARY
#
# No container registry is reachable here: the Debian base image is made with mmdebstrap from
# Debian's own packages and imported under the name the Dockerfile uses.
set -euo pipefail
cd "$(dirname "$0")/.."

BINARY=${1:?usage: docker-test.sh BINARY}
CACHE=${KALEIDO_CACHE:-/var/cache/kaleido}
IMAGE=localhost/kaleido:test
BASE=docker.io/library/debian:bookworm-slim
PORT=${DOCKER_TEST_PORT:-18080}
URL="http://127.0.0.1:$PORT"
started=$(date +%s)

mkdir -p "$CACHE/docker"
# This machine refuses podman's default ulimits, and crun its cgroup set-up: runc, no ulimits.
printf '[containers]\ndefault_ulimits = []\n' > "$CACHE/docker/containers.conf"
export CONTAINERS_CONF="$CACHE/docker/containers.conf"
pod() { podman --runtime runc "$@"; }
step() { echo "docker-test [$(( $(date +%s) - started )) s] $*"; }
fail() { echo "docker-test: $*" >&2; exit 1; }

if ! pod image exists "$BASE"; then
  if [ ! -f "$CACHE/docker/debian-bookworm-slim.tar" ]; then
    step "making the Debian 12 base image with mmdebstrap (about a minute, once)"
    # The format is named: from the ".part" name mmdebstrap would make a directory. A
    # directory left by such a run is cleared first.
    rm -rf "$CACHE/docker/debian-bookworm-slim.tar" "$CACHE/docker/debian-bookworm-slim.tar.part"
    mmdebstrap --quiet --variant=minbase --format=tar --include=ca-certificates bookworm \
      "$CACHE/docker/debian-bookworm-slim.tar.part"
    mv "$CACHE/docker/debian-bookworm-slim.tar.part" "$CACHE/docker/debian-bookworm-slim.tar"
  fi
  pod import --quiet "$CACHE/docker/debian-bookworm-slim.tar" "$BASE" > /dev/null
fi

step "building the runtime image around $BINARY"
context=$(mktemp -d)
work=$(mktemp -d)
serve=kt-serve-$$
worker=kt-worker-$$
db=kt_docker_$$
admin_url=$(scripts/postgres.sh url)
cleanup() {
  pod rm -f -v "$serve" "$worker" > /dev/null 2>&1 || true
  psql "$admin_url" -qc "DROP DATABASE IF EXISTS $db" > /dev/null 2>&1 || true
  rm -rf "$context" "$work"
}
trap cleanup EXIT
cp "$BINARY" "$context/kaleido"
pod build --quiet --isolation=chroot --format docker --build-arg BINARY=prebuilt --target runtime \
  -f docker/Dockerfile -t "$IMAGE" "$context" > /dev/null

step "starting serve and worker containers on PostgreSQL and Garage"
psql "$admin_url" -qc "CREATE DATABASE $db" > /dev/null
eval "$(scripts/garage.sh env)"
bucket=kt-docker-$$
# Garage wants the payload's hash (here of the empty body) in the signed headers.
curl -fsS --aws-sigv4 "aws:amz:us-east-1:s3" --user "$TEST_S3_ACCESS_KEY:$TEST_S3_SECRET_KEY" \
  -H "x-amz-content-sha256: $(sha256sum < /dev/null | cut -d' ' -f1)" \
  -X PUT "$TEST_S3_ENDPOINT/$bucket" > /dev/null
# The deployment docker/compose.yaml describes, with the test services' addresses.
cat > "$work/env" <<ENV
KALEIDO_SERVER__BIND=127.0.0.1:$PORT
KALEIDO_SERVER__PUBLIC_URL=$URL
KALEIDO_DATABASE__URL=${admin_url%/postgres}/$db
KALEIDO_STORAGE__BACKEND=s3
KALEIDO_STORAGE__S3__ENDPOINT=$TEST_S3_ENDPOINT
KALEIDO_STORAGE__S3__BUCKET=$bucket
KALEIDO_STORAGE__S3__REGION=us-east-1
KALEIDO_STORAGE__S3__ACCESS_KEY_ID=$TEST_S3_ACCESS_KEY
KALEIDO_STORAGE__S3__SECRET_ACCESS_KEY=$TEST_S3_SECRET_KEY
KALEIDO_STORAGE__S3__PATH_STYLE=true
KALEIDO_TRANSCODING__PRESET=ultrafast
ENV
# Host networking: the test PostgreSQL and Garage listen on 127.0.0.1 only. No systemd here to
# run podman's health timers: the image's check is run by hand below.
pod run -d --name "$serve" --network host --env-file "$work/env" -e KALEIDO_WORKERS__COUNT=0 \
  --health-interval disable "$IMAGE" > /dev/null
# A worker serves no HTTP, so the image's /healthz check does not apply to it.
pod run -d --name "$worker" --network host --env-file "$work/env" --no-healthcheck "$IMAGE" worker \
  > /dev/null

# The image's own HEALTHCHECK decides when serve is up.
for _ in $(seq 120); do
  pod healthcheck run "$serve" > /dev/null 2>&1 && break
  [ "$(pod inspect -f '{{.State.Running}}' "$serve")" = true ] || { pod logs "$serve"; fail "serve exited"; }
  sleep 0.5
done
pod healthcheck run "$serve" > /dev/null 2>&1 || { pod logs "$serve"; fail "serve never became healthy"; }
[ "$(pod inspect -f '{{.Config.User}}' "$serve")" = kaleido ] || fail "the container does not run as kaleido"
[ "$(pod exec "$serve" id -u)" != 0 ] || fail "the server runs as root"
curl -fsS "$URL/healthz" | grep -q '"status":"ok"' || fail "/healthz is not ok"

step "creating an account and a token through the container"
password="docker test password 1"
pod exec "$serve" kaleido user create alice --admin --password "$password" > /dev/null
token=$(curl -fsS "$URL/oauth/token" -d grant_type=password -d username=alice -d "password=$password" |
  jq -r .access_token)
[ -n "$token" ] && [ "$token" != null ] || fail "no token"
auth=(-H "Authorization: Bearer $token")

# Waits until a media is processed by the worker container; prints its JSON.
ready() {
  local id=$1 media state
  for _ in $(seq 240); do
    media=$(curl -fsS "${auth[@]}" "$URL/api/v1/media/$id")
    state=$(jq -r .kaleido.state <<< "$media")
    case $state in
      ready) echo "$media"; return ;;
      failed) fail "media $id failed: $(jq -r .kaleido.error <<< "$media")" ;;
    esac
    sleep 0.5
  done
  pod logs "$worker" | tail -20 >&2
  fail "media $id still $state"
}

step "uploading a photo"
convert -size 1200x800 gradient:steelblue-orange "$work/photo.jpg"
photo_id=$(curl -fsS "${auth[@]}" -F file=@"$work/photo.jpg" -F description=Gradient "$URL/api/v2/media" | jq -r .id)
photo=$(ready "$photo_id")
photo_url=$(jq -r .url <<< "$photo")
curl -fsS "$photo_url" -o "$work/served.jpg"
[ "$(identify -format '%m' "$work/served.jpg")" = JPEG ] || fail "the served photo is not a JPEG"

step "uploading a video"
ffmpeg -loglevel error -f lavfi -i testsrc=size=640x360:rate=25 -f lavfi -i sine=frequency=440 \
  -t 3 -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac "$work/clip.mp4"
video_id=$(curl -fsS "${auth[@]}" -F file=@"$work/clip.mp4" "$URL/api/v2/media" | jq -r .id)
video=$(ready "$video_id")
status=$(curl -fsS "${auth[@]}" -H 'Content-Type: application/json' \
  -d "{\"status\": \"From a container\", \"media_ids\": [\"$photo_id\"]}" "$URL/api/v1/statuses")
[ "$(jq -r '.media_attachments[0].id' <<< "$status")" = "$photo_id" ] || fail "the photo post lacks its photo"
curl -fsS "${auth[@]}" -H 'Content-Type: application/json' \
  -d "{\"status\": \"A clip\", \"media_ids\": [\"$video_id\"]}" "$URL/api/v1/statuses" > /dev/null

step "fetching the transcoded HLS"
hls=$(jq -r .kaleido.hls <<< "$video")
curl -fsS "$hls" -o "$work/master.m3u8"
head -1 "$work/master.m3u8" | grep -q '#EXTM3U' || fail "the master playlist is not one"
variant=$(grep -v '^#' "$work/master.m3u8" | grep . | head -1)
vdir=$(dirname "$variant"); if [ "$vdir" = . ]; then vdir=; else vdir="$vdir/"; fi
curl -fsS "${hls%/*}/$variant" -o "$work/variant.m3u8"
grep -q '#EXT-X-ENDLIST' "$work/variant.m3u8" || fail "the variant playlist is incomplete"
segment=$(grep -v '^#' "$work/variant.m3u8" | grep . | head -1)
size=$(curl -fsS "${hls%/*}/$vdir$segment" -o "$work/segment" -w '%{size_download}')
[ "$size" -gt 1000 ] || fail "segment $segment has $size bytes"
curl -fsS "$URL/media/$video_id/master.m3u8" | grep -q '#EXT-X-STREAM-INF' || fail "no combined master"
[ "$(pod inspect -f '{{.State.Running}}' "$worker")" = true ] || fail "the worker container died"

step "passed: photo and video through serve + worker containers ($(pod image inspect -f '{{.Size}}' "$IMAGE" | numfmt --to=iec) image)"
