ARG BASE_IMAGE=reactor/base:latest
# renovate: datasource=pypi depName=ruff
ARG RUFF_VERSION=0.17.5

FROM ${BASE_IMAGE}
ARG RUFF_VERSION
USER root
RUN python3 -m pip install --no-cache-dir requests "ruff==${RUFF_VERSION}" \
    && npm install -g --prefix /opt/tools prettier@3.3.3 \
    && go install "example.org/tool/cmd/tool@${TOOL_REF}"
USER claude
