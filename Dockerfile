# release-flow, run against an existing Temporal (TEMPORAL_ADDRESS), as docker-compose.yml does.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
RUN apt-get update && apt-get install -y --no-install-recommends git ca-certificates && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
EXPOSE 3000
# TEMPORAL_ADDRESS set: no embedded dev server, so no Temporal CLI is needed in the image.
CMD ["node", "--import", "tsx", "src/main.ts"]
