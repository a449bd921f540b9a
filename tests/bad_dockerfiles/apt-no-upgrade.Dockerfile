ARG DEBIAN_IMAGE=debian:trixie-slim

FROM ${DEBIAN_IMAGE}
RUN apt-get update \
    && apt-get -y dist-upgrade \
    && rm -rf /var/lib/apt/lists/*
USER claude
