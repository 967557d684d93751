# syntax=docker/dockerfile:1
# Build: compile TypeScript with dev dependencies.
FROM node:22-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY patches ./patches
RUN npm ci --ignore-scripts && npx patch-package
COPY src ./src
COPY test ./test
RUN npx tsc -p tsconfig.json

# Runtime: production dependencies only (aedes patched at install), non-root.
FROM node:22-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --omit=dev --ignore-scripts && npx --no-install patch-package && npm cache clean --force
COPY --from=build /app/dist/src ./dist/src
COPY bin ./bin
COPY topic-mappings.yaml /config/topic-mappings.yaml
USER node
VOLUME ["/config"]
EXPOSE 1883 8883 8080 9090
ENTRYPOINT ["node", "bin/mqtt-kafka-proxy"]
CMD ["--config", "/config/topic-mappings.yaml"]
