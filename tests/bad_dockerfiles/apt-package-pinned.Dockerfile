ARG DEBIAN_IMAGE=debian:trixie-slim

FROM ${DEBIAN_IMAGE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
         curl \
         "git=1:2.47.3-1" \
         "jq=${JQ_PIN}-*" \
    && rm -rf /var/lib/apt/lists/*
USER claude
