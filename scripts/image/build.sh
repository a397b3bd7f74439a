#!/usr/bin/env bash
# `make image`: build the connector image with docker or podman, whichever works here.
# Usage: scripts/image/build.sh [TAG] [more build arguments, e.g. --build-arg BASE_IMAGE=...]
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/image/engine.sh
pick_engine
tag="${1:-airbyte/destination-twenty:dev}"
shift || true
if [ "$ENGINE" = podman ]; then
    BUILD_FLAGS+=(--network host) # so pip in the build reaches the package index wherever the host does
fi
set -x
"$ENGINE" build "${BUILD_FLAGS[@]}" "$@" -t "$tag" .
