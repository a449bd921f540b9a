# No USER at all: a language image inherits claude from the family's base.
ARG BASE_IMAGE=reactor/base:latest

FROM ${BASE_IMAGE}
COPY shared/entrypoint.sh /usr/local/bin/entrypoint
