# The size checks' proof, "before": the OS image plus one small file.
ARG DEBIAN_IMAGE=debian:trixie-slim
FROM ${DEBIAN_IMAGE}
RUN echo "size sample" > /opt/sample.txt
