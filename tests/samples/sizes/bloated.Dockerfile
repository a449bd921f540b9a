# The size checks' proof, "after": the lean sample plus a planted file and two kinds of waste.
# Random bytes, so gzip cannot shrink them and the compressed size grows by about as much.
ARG DEBIAN_IMAGE=debian:trixie-slim
FROM ${DEBIAN_IMAGE}
RUN echo "size sample" > /opt/sample.txt
# 40 MB planted in the image: over any budget set just above the lean sample, and > 20% growth.
RUN head -c 40000000 /dev/urandom > /opt/planted.bin
# A cache removed in a separate RUN: all 8 MB are waste.
RUN mkdir -p /var/cache/sample && head -c 8000000 /dev/urandom > /var/cache/sample/blob.bin
RUN rm -rf /var/cache/sample
# A file written, then overwritten: the first copy (3 MB) is waste, the surviving one is not.
RUN head -c 3000000 /dev/urandom > /opt/settings.bin
RUN head -c 3000000 /dev/urandom > /opt/settings.bin
