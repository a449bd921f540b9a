ARG BASE_IMAGE=reactor/base:latest

FROM ${BASE_IMAGE}
USER root
RUN mkdir -p /opt/tools
