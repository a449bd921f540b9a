# A language image on the family's base: parent through a build arg, tools from lock files or pins.
ARG BASE_IMAGE=reactor/base:latest
ARG IMAGE_VERSION=dev

# renovate: datasource=deb depName=python3
ARG PYTHON3_VERSION=3.13.5
# gopls 0.20 from the Go module proxy, checked by Go's checksum database.
# renovate: datasource=go depName=golang.org/x/tools/gopls
ARG GOPLS_VERSION=v0.20.0
# renovate: datasource=npm depName=typescript
ARG TYPESCRIPT_VERSION=6.0.3

FROM ${BASE_IMAGE}
ARG PYTHON3_VERSION
ARG GOPLS_VERSION
ARG TYPESCRIPT_VERSION
USER root
COPY python/requirements.txt /opt/tools/requirements.txt
RUN apt-get update \
    && apt-get install -y --no-install-recommends "python3=${PYTHON3_VERSION}-*" \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv /opt/tools/venv \
    && /opt/tools/venv/bin/pip install --require-hashes -r /opt/tools/requirements.txt \
    && GOBIN=/opt/tools/bin go install "golang.org/x/tools/gopls@${GOPLS_VERSION}" \
    && npm install -g --prefix /opt/tools "typescript@${TYPESCRIPT_VERSION}" ./local-tool.tgz \
    && cd /opt/tools && npm ci --omit=dev
USER 1000:1000
