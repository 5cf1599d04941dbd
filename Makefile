# Kaleido: `make run` serves an instance, `make test` runs every test with the services they use.
# Both install what is missing on a Debian machine (as root) first.

CARGO_TARGET_DIR ?= /var/cache/kaleido/target
export CARGO_TARGET_DIR
export CARGO_TERM_COLOR ?= never

# Build: libturbojpeg, FFmpeg's libraries (bindgen needs clang). Tests: the ffmpeg CLI makes
# clips, ImageMagick and ExifTool make and read photos, Chromium runs the browser tests.
# Benchmarks: libvips' vipsthumbnail. Mail tests: aiosmtpd, a real SMTP server.
APT_PACKAGES := curl pkg-config build-essential ca-certificates libturbojpeg0-dev \
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libswresample-dev libavfilter-dev \
  clang libclang-dev ffmpeg \
  imagemagick libimage-exiftool-perl ghostscript libvips-tools chromium python3-aiosmtpd \
  python3-venv zip
BIN := $(CARGO_TARGET_DIR)/release/kaleido

.PHONY: help deps services build run test test-only test-captured lint fmt bench docker docker-test clean-data

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

deps: ## install the Debian packages, npm packages and cargo tools the build and tests use
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p > /dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing > /dev/null; \
	fi
	@# Node.js may come from elsewhere than Debian (its npm then conflicts with Debian's): only
	@# install Debian's when there is none.
	@command -v npm > /dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm > /dev/null; }
	@command -v cargo-nextest > /dev/null || cargo install cargo-nextest --locked
	@# The browser tests' packages and masto.js, as pinned in tests/browser/package-lock.json.
	@[ -d tests/browser/node_modules/playwright-core ] && [ -d tests/browser/node_modules/masto ] || \
	  npm ci --prefix tests/browser --no-audit --no-fund
	@[ -f web/node_modules/hls.js/dist/hls.min.js ] || npm ci --prefix web --no-audit --no-fund
	@# Mastodon.py (PyPI), pinned, in a virtualenv beside its script; Debian's python3 makes it.
	@cmp -s tests/clients/requirements.txt tests/clients/.venv/requirements.txt || { \
	  /usr/bin/python3 -m venv tests/clients/.venv && \
	  tests/clients/.venv/bin/pip install --quiet --disable-pip-version-check -r tests/clients/requirements.txt && \
	  cp tests/clients/requirements.txt tests/clients/.venv/requirements.txt; }

services: deps ## start PostgreSQL and the Garage S3 server the tests use
	@scripts/postgres.sh ensure
	@scripts/garage.sh start

build: deps ## build $CARGO_TARGET_DIR/release/kaleido (templates, assets, migrations inside)
	cargo build --release --bin kaleido

run: build ## serve http://localhost:8080 on SQLite and ./data
	$(BIN) serve

test: services ## run every test on SQLite+local files and PostgreSQL+S3, then fmt and clippy
	@$(MAKE) --no-print-directory test-only
	@$(MAKE) --no-print-directory lint

test-only: ## run the tests against already running services
	env TEST_PG_URL=$$(scripts/postgres.sh url) $$(scripts/garage.sh env | xargs) \
	  cargo nextest run --workspace --no-fail-fast -E 'not binary(captured)'

# The objects captured from Mastodon, PeerTube and Pixelfed live in ../shared, beside the clone,
# not in it; the tests' own fixtures (tests/fixtures/) are written here in their shapes. This
# parses every captured one the same way, as a second check (.ci/run runs it).
test-captured: ## parse the captured fixtures in ../shared/fixtures/activitypub as the inbox does
	cargo nextest run --test captured

lint: ## cargo fmt --check, clippy with warnings as errors, and the layer check of docs/architecture.md
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo run --quiet -p kaleido-layers -- .

fmt: ## format the code
	cargo fmt --all

bench: deps services ## photos vs libvips/ImageMagick, video ladder vs ffmpeg CLI, ingest vs cp/curl, export vs zip
	@# One build for both, so shared crates are compiled once with one feature set.
	cargo build --release --bin kaleido --example photo_variants
	benches/photos.sh
	benches/video.sh $(BIN)
	env TEST_PG_URL=$$(scripts/postgres.sh url) $$(scripts/garage.sh env | xargs) benches/ingest.sh $(BIN)
	benches/federation.sh
	benches/mirror.sh $(BIN)
	benches/export.sh $(BIN)

# The container image. `docker-test` builds its runtime stage around the binary the tests already
# built (debug, no second compile) and runs serve + worker containers on the test services.
DOCKER_PACKAGES := podman runc mmdebstrap jq

docker-test: services ## build the image with podman, run serve + worker containers, upload and play
	@missing=""; for p in $(DOCKER_PACKAGES); do dpkg -s $$p > /dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing > /dev/null; \
	fi
	@# The binary exactly as the tests build it (their features unified), so after `make test`
	@# this compiles nothing.
	cargo test --workspace --no-run --quiet
	scripts/docker-test.sh $(CARGO_TARGET_DIR)/debug/kaleido

docker: ## build the release image from source (its build stage needs the rust:1.95-bookworm image)
	podman build -f docker/Dockerfile -t localhost/kaleido:latest .

clean-data: ## remove ./data (the default instance's database and media)
	rm -rf data
