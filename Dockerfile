# cdc container image: compiled once with `deno task compile` (the permissions live in
# tools/compile.ts, nowhere else), shipped alone on a distroless base.
#
#   docker build -t cdc:0.1.0 .
#   docker run --rm cdc:0.1.0 stream --help

# --- build: the Deno version the project is developed and tested with -------------------
FROM denoland/deno:2.9.6 AS build
WORKDIR /src
# dependencies first, so that a source change does not download them again
COPY deno.json deno.lock ./
RUN deno install --frozen
COPY main.ts ./
COPY lib/ lib/
COPY tools/ tools/
# downloads the denort runtime from dl.deno.land, type-checks, writes /src/cdc
RUN deno task compile

# --- runtime: glibc and CA certificates, no shell, no package manager -------------------
# The digest pins the `nonroot` tag as published by the distroless project (taken from
# public Dockerfiles; gcr.io cannot be reached from the build notes' machine). Refresh it
# with `crane digest gcr.io/distroless/cc-debian12:nonroot`.
FROM gcr.io/distroless/cc-debian12:nonroot@sha256:9dac0a79194e45a7da0158a9c6da57b217585af0786db3845d1f0ec1a0dd182f
COPY --from=build /src/cdc /cdc
# the image's nonroot user (uid 65532); stated, not inherited, so the test sees it
USER 65532:65532
# `cdc stream` serves /metrics, /healthz and /readyz on every interface of the container
# (Prometheus and Kubernetes probes reach it from outside); other subcommands ignore it
ENV CDC_HTTP_LISTEN=0.0.0.0:9464
EXPOSE 9464
ENTRYPOINT ["/cdc"]
CMD ["--help"]
