ARG DEBIAN_IMAGE=debian:latest

FROM ${DEBIAN_IMAGE}
ENV TOOL_CHANNEL=latest
RUN go install example.org/tool/cmd/tool@latest
USER claude
