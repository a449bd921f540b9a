ARG DEBIAN_IMAGE=debian:trixie-slim
# renovate: datasource deb depName jq
ARG JQ_VERSION=1.7.1

FROM ${DEBIAN_IMAGE}
USER claude
