# syntax=docker/dockerfile:1
# mqtt-kafka-proxy container image.
#   docker build -t mqtt-kafka-proxy:0.1.0 .
#   docker run -p 1883:1883 -p 8080:8080 -p 9090:9090 -v "$PWD/topic-mappings.yaml:/config/topic-mappings.yaml:ro" \
#     mqtt-kafka-proxy:0.1.0 --config /config/topic-mappings.yaml --kafka-brokers kafka:9092

# Build: compile TypeScript with the dev dependencies.
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY patches ./patches
RUN npm ci --ignore-scripts --no-audit --no-fund && npx --no-install patch-package
COPY src ./src
COPY test ./test
RUN npx --no-install tsc -p tsconfig.json

# Runtime: production dependencies only (mqtt-packet and debug patched at install), non-root, read-only friendly.
FROM node:24-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
  && npx --no-install patch-package \
  && npm cache clean --force \
  && rm -rf /root/.npm /tmp/*
COPY --from=build /app/dist/src ./dist/src
COPY bin ./bin
COPY topic-mappings.yaml /config/topic-mappings.yaml
# The image's `node` user (uid 1000); nothing in /app is writable by it.
USER node
# Mount your topic-mappings.yaml here (a ConfigMap in Kubernetes).
VOLUME ["/config"]
# MQTT, MQTT over TLS, WebSockets (ws or wss), admin HTTP (/metrics, /healthz, /readyz): the ports
# of the sample topic-mappings.yaml and of deploy/kubernetes.
EXPOSE 1883 8883 8080 8090 9090
# No curl in the slim image: Node's fetch asks /healthz on the admin port. MKP_HTTP_PORT, when set,
# is that port for the proxy too (it replaces http.port), so moving the admin server is one
# variable: docker run -e MKP_HTTP_PORT=9191 ... Unset, both use 9090 (http.port's default; not
# set here, or it would override http.port from the mounted file).
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.MKP_HTTP_PORT || 9090) + '/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM starts the graceful drain (drain.delayMs, then drain.timeoutMs at most).
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "bin/mqtt-kafka-proxy"]
CMD ["--config", "/config/topic-mappings.yaml"]
