ARG DEBIAN_IMAGE=debian:trixie-slim
# renovate: datasource=github-releases depName=example/tool
ARG TOOL_VERSION=1.2.3
ARG TOOL_SHA256=0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0

FROM ${DEBIAN_IMAGE}
ARG TOOL_VERSION
ARG TOOL_SHA256
RUN curl -fsSLo /tmp/tool.tgz "https://downloads.example/tool-${TOOL_VERSION}.tgz" \
    && tar -xzf /tmp/tool.tgz -C /usr/local/bin
# Names the pin but never checks the file against it.
RUN wget -qO /tmp/tool.tgz "https://downloads.example/tool-${TOOL_VERSION}.tgz" \
    && echo "expecting ${TOOL_SHA256}"
USER claude
