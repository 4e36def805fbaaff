# syntax=docker/dockerfile:1
# stingray's container image: the weather example (examples/weather.ts) served by the compiled
# `stingray run`. Build and run (README, "Containers and Kubernetes"):
#   docker build -t stingray-weather:0.1.0 .
#   docker run --rm -p 8000:8000 --stop-timeout 50 stingray-weather:0.1.0
# Three stages: `build` compiles src/ to dist/ with the dev dependencies (TypeScript); `deps`
# installs the production dependencies only; the final image holds those two plus bin/, the
# examples and package.json, owned by root and run by the unprivileged `node` user (uid 1000).
# test/unit/deploy/dockerfile.test.ts checks this file; test/integration/deploy/container-command.test.ts
# runs its command on the host against a build laid out as the final stage is.

ARG NODE_VERSION=20

FROM node:${NODE_VERSION}-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No install script runs: compiling needs none, and none may download anything.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.mjs scripts/build.mjs
COPY src src
RUN npm run build

FROM node:${NODE_VERSION}-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only: the translator example's optional peers (onnxruntime-node,
# @huggingface/transformers) and the repository's tooling stay out.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:${NODE_VERSION}-slim
# HOST/PORT: where the proxy listens (the entrypoint passes them to --host/--port).
# STINGRAY_STATE_DIR: where `stingray run` records its address, so `stingray status` inside the
# container needs no --address; /tmp stays writable with a read-only root filesystem (an emptyDir
# in deploy/kubernetes), and tsx caches the example's compiled TypeScript there too.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    STINGRAY_STATE_DIR=/tmp/stingray
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY examples ./examples
# `kubectl exec … -- stingray status` and `docker exec … stingray status` work.
RUN ln -s /app/bin/stingray.js /usr/local/bin/stingray
# Numeric, so Kubernetes can enforce runAsNonRoot without a runAsUser of its own.
USER 1000:1000
EXPOSE 8000
# SIGTERM (the default, stated): `stingray run` stops accepting, drains in-flight requests up to
# the graceful timeouts, stops the replica threads and exits 0. node is PID 1 through `exec`.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8000)+'/-/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# The CMD is what to run and its options; HOST and PORT always apply.
ENTRYPOINT ["/bin/sh", "-c", "exec node bin/stingray.js run \"$@\" --host \"$HOST\" --port \"$PORT\"", "stingray"]
CMD ["examples/weather.ts:app", "--name", "weather", "--no-progress"]
