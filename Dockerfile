# release-flow, run against an existing Temporal (TEMPORAL_ADDRESS), as docker-compose.yml does.
# One image for every role: the command picks it (worker, serve; start-all needs the Temporal CLI).
# oras: the OCI registry adapter's client (docs/integrations.md "Integrations").
FROM golang:1.26-bookworm AS oras
RUN GOBIN=/out go install oras.land/oras/cmd/oras@v1.3.6

FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# The compiled dist/ and the prebuilt workflow bundle, packed as `npm pack` ships them.
RUN npm pack --silent --pack-destination /tmp && mv /tmp/release-flow-*.tgz /tmp/release-flow.tgz

FROM node:20-bookworm-slim
ENV NODE_ENV=production
# tini is the init process: it reaps the children that build, test and deploy steps leave behind
# and forwards SIGTERM, so node is not pid 1 and stale-lock checks never see a recycled pid.
# bubblewrap: the sandbox build, test and deploy steps run in (docs/threat-model.md).
RUN apt-get update \
  && apt-get install -y --no-install-recommends git ca-certificates tini bubblewrap \
  && rm -rf /var/lib/apt/lists/*
COPY --from=oras /out/oras /usr/local/bin/oras
COPY --from=build /tmp/release-flow.tgz /tmp/release-flow.tgz
RUN npm install -g --no-audit --no-fund /tmp/release-flow.tgz && rm /tmp/release-flow.tgz
# A non-root user owns the state directory and nothing else.
RUN useradd --create-home --uid 10001 release-flow && mkdir -p /app/.release-flow && chown -R release-flow /app
USER release-flow
WORKDIR /app
EXPOSE 3000
ENTRYPOINT ["/usr/bin/tini", "--", "release-flow"]
# TEMPORAL_ADDRESS set: no embedded dev server, so no Temporal CLI is needed in the image.
CMD ["serve"]
