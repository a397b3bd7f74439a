# Image for the Airbyte destination `destination-twenty`.
# Build:  make image            (docker or podman, whichever works; or `docker build -t airbyte/destination-twenty:dev .`)
# Run:    docker run --rm -i airbyte/destination-twenty:dev spec
#
# Base image: Airbyte's python-connector-base (Python 3.11, ships a non-root `airbyte` user, uid 1000).
# Keep the default equal to `connectorBuildOptions.baseImage` in metadata.yaml (a unit test checks it). It is an
# argument so the same file builds on a stand-in base (`make image-test`, scripts/image/) where Docker Hub is out
# of reach.
ARG BASE_IMAGE=docker.io/airbyte/python-connector-base:4.0.2@sha256:9fdb1888c4264cf6fee473649ecb593f56f58e5d0096a87ee0b231777e2e3e73
FROM ${BASE_IMAGE}

# Where the dependencies come from: empty means the package index; a directory (mounted into the build, e.g.
# `podman build -v "$PWD/wheels:/wheels:ro" --build-arg WHEELS=/wheels`) or URL of wheels means only those, for
# builds that cannot reach the index. The wheels must include setuptools and wheel (the build backend).
ARG WHEELS=

WORKDIR /airbyte/integration_code

# Only what `pip install .` needs: the connector package (the emulator and tests stay out of the image).
COPY pyproject.toml README.md ./
COPY destination_twenty ./destination_twenty

RUN pip install --no-cache-dir . ${WHEELS:+--no-index --find-links "$WHEELS"} \
    && rm -rf build ./*.egg-info

# Drop root: the connector only reads its config/catalog and talks HTTPS.
USER airbyte

ENV AIRBYTE_ENTRYPOINT="destination-twenty"
ENTRYPOINT ["destination-twenty"]

LABEL io.airbyte.name=airbyte/destination-twenty
LABEL io.airbyte.version=0.1.0
