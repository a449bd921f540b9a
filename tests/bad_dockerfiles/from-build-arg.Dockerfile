FROM debian:trixie-slim AS fetch
RUN echo fetched > /fetched

FROM reactor/base:1.0
COPY --from=fetch /fetched /fetched
USER claude
