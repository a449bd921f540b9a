ARG DEBIAN_IMAGE=debian:trixie-slim
# renovate: datasource=deb depName=curl
ARG CURL_VERSION=8.14.1

FROM ${DEBIAN_IMAGE}
ARG CURL_VERSION
RUN apt-get update \
    && apt-get install -y "curl=${CURL_VERSION}-*" \
    && rm -rf /var/lib/apt/lists/*
USER claude
