ARG DEBIAN_IMAGE=debian:trixie-slim
# renovate: datasource=deb depName=curl
ARG CURL_VERSION=8.14.1

FROM ${DEBIAN_IMAGE}
ARG CURL_VERSION
# apt-get clean empties the archive cache, not the package lists.
RUN apt-get update \
    && apt-get install -y --no-install-recommends "curl=${CURL_VERSION}-*" \
    && apt-get clean
# The lists of a separate update stay in that layer for good.
RUN apt-get update
USER claude
