# One image for the four services; the command picks the service:
#   node --import tsx services/<watcher|indexer|api|installer>/src/main.ts
# TypeScript runs through tsx (no build step), so the image holds sources and production dependencies.
FROM node:20-bookworm-slim
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends git ca-certificates openssh-client \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
COPY shared/package.json shared/
COPY services/api/package.json services/api/
COPY services/indexer/package.json services/indexer/
COPY services/watcher/package.json services/watcher/
COPY services/installer/package.json services/installer/
# tsx is a dev dependency of the root: keep dev dependencies (they are small) rather than duplicate it.
RUN npm ci --no-audit --no-fund && npm cache clean --force
COPY tsconfig.json ./
COPY shared/src shared/src
COPY services services
ENV NODE_ENV=production HEALTH_HOST=0.0.0.0 API_HOST=0.0.0.0
USER node
CMD ["node", "--import", "tsx", "services/api/src/main.ts"]
