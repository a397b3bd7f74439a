# Image for the Airbyte destination `destination-twenty`.
# Build:  docker build -t airbyte/destination-twenty:dev .
# Run:    docker run --rm -i airbyte/destination-twenty:dev spec
#
# Base image: Airbyte's python-connector-base (Python 3.11, ships a non-root `airbyte` user, uid 1000).
# Keep the tag/digest equal to `connectorBuildOptions.baseImage` in metadata.yaml (a unit test checks it).
FROM docker.io/airbyte/python-connector-base:4.0.2@sha256:9fdb1888c4264cf6fee473649ecb593f56f58e5d0096a87ee0b231777e2e3e73

WORKDIR /airbyte/integration_code

# Only what `pip install .` needs: the connector package (the emulator and tests stay out of the image).
COPY pyproject.toml README.md ./
COPY destination_twenty ./destination_twenty

RUN pip install --no-cache-dir . \
    && rm -rf build ./*.egg-info

# Drop root: the connector only reads its config/catalog and talks HTTPS.
USER airbyte

ENV AIRBYTE_ENTRYPOINT="destination-twenty"
ENTRYPOINT ["destination-twenty"]

LABEL io.airbyte.name=airbyte/destination-twenty
LABEL io.airbyte.version=0.1.0
