ARG BASE_IMAGE=reactor/base:latest

FROM ${BASE_IMAGE}
USER root
ENV TOOL_HOME=/opt/tool PATH=/opt/tool/bin:${PATH}
RUN reactor-env record PATH STRAY
ENV LATE=1
USER claude
