# The api and the worker (one image, two commands; see docker-compose.yml). Quay runs its
# TypeScript with tsx: there is no build step, so the image is the sources plus node_modules.
FROM node:22-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY apps ./apps
COPY libs ./libs
COPY migrations ./migrations
# dev dependencies included: tsx, which runs the code, is one of them
RUN npm ci --no-audit --no-fund && npm cache clean --force
ENV NODE_ENV=production
USER node
