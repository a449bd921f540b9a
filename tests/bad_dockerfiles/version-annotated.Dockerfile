ARG DEBIAN_IMAGE=debian:trixie-slim
# Build parameters, not versions: left alone.
ARG IMAGE_VERSION=dev
ARG USER_UID=1000

ARG TOOL_VERSION=1.2.3
# renovate: datasource=deb
ARG JQ_VERSION=1.7.1
ARG LINTER_VERSION
# renovate: datasource=deb depName=git

ARG GIT_VERSION=2.47.3

FROM ${DEBIAN_IMAGE}
ARG FORMATTER_VERSION=2.0
ENV GO_VERSION=1.26.1
USER claude
