ARG DEBIAN_IMAGE=debian:trixie-slim

FROM ${DEBIAN_IMAGE}
RUN mkdir -p /opt/one
RUN mkdir -p /opt/two
COPY shared/entrypoint.sh /usr/local/bin/entrypoint
RUN chmod 0755 /usr/local/bin/entrypoint
USER claude
