# release-flow, run against an existing Temporal (TEMPORAL_ADDRESS), as docker-compose.yml does.
# oras: the OCI registry adapter's client (README "Integrations").
FROM golang:1.26-bookworm AS oras
RUN GOBIN=/out go install oras.land/oras/cmd/oras@v1.3.6

FROM node:20-bookworm-slim
WORKDIR /app
COPY --from=oras /out/oras /usr/local/bin/oras
ENV NODE_ENV=production
RUN apt-get update && apt-get install -y --no-install-recommends git ca-certificates && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
EXPOSE 3000
# TEMPORAL_ADDRESS set: no embedded dev server, so no Temporal CLI is needed in the image.
CMD ["node", "--import", "tsx", "src/main.ts"]
