#!/usr/bin/env bash
# `make image-test`: build the connector image on a local stand-in for Airbyte's base image and run it as Airbyte
# does (scripts/image/check_image.py). Needs root or sudo (apt, podman as root) and a host venv (`make setup`).
#
# Steps: install podman, runc and mmdebstrap from Debian if missing; build Debian bookworm with mmdebstrap and turn
# it into the stand-in base (standin-base.Containerfile); meanwhile the host builds the wheels the image needs; build
# the project's Dockerfile on it with --build-arg BASE_IMAGE, installing only from those wheels with no network
# (pip in a build may not reach the index); run the checks. Every wait is bounded.
set -euo pipefail
cd "$(dirname "$0")/../.."

PY="${PY:-.venv/bin/python}"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
PREFIX=localhost/twenty-image-test
ROOTFS_TAG="$PREFIX/rootfs:bookworm"
BASE_TAG="$PREFIX/python-connector-base:bookworm"
IMAGE_TAG="$PREFIX/destination-twenty:test"

SUDO=()
if [ "$(id -u)" != 0 ]; then SUDO=(sudo); fi
step() { echo "== image-test $(date -u +%H:%M:%S) $*"; }

[ -x "$PY" ] || { echo "image-test: $PY missing; run 'make setup' first" >&2; exit 1; }

work="$(mktemp -d /tmp/image-test.XXXXXX)"
wheels_pid=""
mmdebstrap_pid=""
cleanup() {
    local pid
    for pid in $wheels_pid $mmdebstrap_pid; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# The wheels do not need podman: build them while apt works. setuptools and wheel are the build backend, which
# pip inside the image needs from the same directory once it has no index.
step "host wheels (background)"
timeout 600 "$PY" -m pip wheel -q --wheel-dir "$work/wheels" . 'setuptools>=69' wheel >"$work/wheels.log" 2>&1 &
wheels_pid=$!

apt_install() { # PACKAGES...; a fresh machine may carry stale package lists: update only when needed
    local log="$work/apt.log"
    run_apt() {
        timeout 600 "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            -o DPkg::Lock::Timeout=300 "$@" >>"$log" 2>&1
    }
    run_apt "$@" && return 0
    timeout 600 "${SUDO[@]}" apt-get update -q -o DPkg::Lock::Timeout=300 >>"$log" 2>&1 || true
    run_apt "$@" || { tail -30 "$log" >&2; return 1; }
}

if ! command -v mmdebstrap >/dev/null 2>&1; then
    step "apt-get install mmdebstrap"
    apt_install mmdebstrap
fi

# mmdebstrap keeps its own apt state, so it runs while the host's apt installs podman.
step "mmdebstrap bookworm (background)"
# The mirror is explicit and stdin closed: without a mirror mmdebstrap would read a sources.list from stdin.
timeout 600 "${SUDO[@]}" mmdebstrap --variant=apt --include=python3,python3-venv,ca-certificates,tzdata,passwd \
    --dpkgopt=force-unsafe-io bookworm "$work/rootfs.tar" "$MIRROR" </dev/null >"$work/mmdebstrap.log" 2>&1 &
mmdebstrap_pid=$!

if ! command -v podman >/dev/null 2>&1 || ! command -v runc >/dev/null 2>&1; then
    step "apt-get install podman runc"
    apt_install podman runc
fi
ENGINE=podman
. scripts/image/engine.sh
pick_engine
podman=("${SUDO[@]}" podman)

step "waiting for mmdebstrap"
if ! wait "$mmdebstrap_pid"; then
    mmdebstrap_pid=""
    tail -30 "$work/mmdebstrap.log" >&2
    exit 1
fi
mmdebstrap_pid=""

step "stand-in base"
timeout 300 "${podman[@]}" import "$work/rootfs.tar" "$ROOTFS_TAG" >/dev/null
rm -f "$work/rootfs.tar"
timeout 300 "${podman[@]}" build -q "${BUILD_FLAGS[@]}" --network none --build-arg ROOTFS="$ROOTFS_TAG" \
    -f scripts/image/standin-base.Containerfile -t "$BASE_TAG" scripts/image >/dev/null

step "waiting for the host wheels"
if ! wait "$wheels_pid"; then
    wheels_pid=""
    tail -30 "$work/wheels.log" >&2
    exit 1
fi
wheels_pid=""
rm -f "$work"/wheels/airbyte_destination_twenty-*.whl # the image builds the package from its own copy

step "project image on the stand-in base"
# No network: the install must come from the wheels alone.
if ! timeout 600 "${podman[@]}" build "${BUILD_FLAGS[@]}" --network none \
    -v "$work/wheels:/wheels:ro" --build-arg WHEELS=/wheels --build-arg BASE_IMAGE="$BASE_TAG" \
    -t "$IMAGE_TAG" . >"$work/build.log" 2>&1; then
    tail -40 "$work/build.log" >&2
    exit 1
fi

step "running the image as Airbyte does"
timeout 900 "$PY" scripts/image/check_image.py "$IMAGE_TAG" -- "${podman[@]}" run --rm "${RUN_FLAGS[@]}"
step "passed ($IMAGE_TAG)"
