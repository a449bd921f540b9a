ARG DEBIAN_IMAGE=debian:trixie-slim

FROM ${DEBIAN_IMAGE}
ADD --chown=claude:claude https://downloads.example/tool.tgz /opt/tool.tgz
USER claude
