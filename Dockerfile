# syntax=docker/dockerfile:1.20
#
# alignda's one image. Every service of docker-compose.yml is built from it, and the command chooses what runs:
# the entrypoint is the `alignda` CLI, so `serve <service>` runs one service (ingest, encoder, sampler, forecast,
# reward, orchestrator, gateway) as `alignda up` starts it, and `check`, `train`, `keys create`, ... run as they do
# on a workstation.
#
#   docker build -t alignda .                                  # the CPU image (the last stage, `runtime`)
#   docker run --rm alignda serve sampler -- --help
#   docker build --target sampler-gpu -t alignda-sampler-gpu .  # the sampler on CUDA 12 (linux/amd64 only)
#
# Stages:
#   deps         `npm ci` of the whole workspace from the lockfile; install scripts run as the root package.json's
#                "allowScripts" says (npm >= 11 reads it: esbuild and better-sqlite3 build, onnxruntime-node's and
#                Prisma's are skipped, and .npmrc's onnxruntime-node-install=skip backs that up: the CPU build of
#                onnxruntime ships inside the package)
#   app          deps + the sources, which run as TypeScript through tsx (as `npm run alignda` does), and the two
#                commands `alignda` and `alignda-health` (the compose healthchecks' probe)
#   cuda-deps    app + onnxruntime-node's CUDA 12 execution provider: its own install script, run with
#                ONNXRUNTIME_NODE_INSTALL=cuda12 (the package's documented switch), fetches the CUDA provider
#                libraries from NuGet
#   sampler-gpu  the GPU image: NVIDIA's CUDA 12 + cuDNN 9 runtime, the same node, sources and user
#   runtime      the CPU image: node 20 slim, non-root user `alignda`, the shared state in /data (ALIGNDA_HOME)

ARG NODE_IMAGE=node:20-bookworm
ARG NODE_SLIM_IMAGE=node:20-bookworm-slim
ARG CUDA_IMAGE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04
# The npm of this repository's lockfile and "allowScripts" (node 20 images ship npm 10, which ignores allowScripts).
ARG NPM_VERSION=11.19.1

FROM ${NODE_IMAGE} AS deps
ARG NPM_VERSION
RUN npm install --global "npm@${NPM_VERSION}"
WORKDIR /app
# The manifests alone first, so that a change of sources does not reinstall the dependencies.
COPY package.json package-lock.json .npmrc ./
COPY --parents packages/*/package.json services/*/package.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund

FROM deps AS app
COPY . .
# onnxruntime-node ships its libraries for every platform; keep this one's (about 240 MB less).
RUN cd node_modules/onnxruntime-node/bin/napi-v6 \
 && find . -mindepth 2 -maxdepth 2 -type d ! -path "./linux/$(node -p process.arch)" -exec rm -rf {} + \
 && test -f "linux/$(node -p process.arch)/onnxruntime_binding.node"
# `alignda` (the CLI) and `alignda-health` (packages/rpc/scripts/health-check.ts), with tsx's loader resolved here
# once: node resolves `--import tsx` from the working directory, and these must work from any.
RUN tsx="$(node --input-type=module -e "console.log(import.meta.resolve('tsx'))")" \
 && printf '#!/bin/sh\nexec node --import %s /app/packages/cli/src/main.ts "$@"\n' "$tsx" > /usr/local/bin/alignda \
 && printf '#!/bin/sh\nexec node --import %s /app/packages/rpc/scripts/health-check.ts "$@"\n' "$tsx" \
      > /usr/local/bin/alignda-health \
 && chmod 755 /usr/local/bin/alignda /usr/local/bin/alignda-health

FROM app AS cuda-deps
RUN ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js \
 && test -f node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so

FROM ${CUDA_IMAGE} AS sampler-gpu
COPY --from=deps /usr/local/bin/node /usr/local/bin/node
RUN groupadd --gid 10001 alignda \
 && useradd --uid 10001 --gid alignda --no-create-home --shell /usr/sbin/nologin alignda \
 && mkdir -p /data && chown alignda:alignda /data
COPY --from=app /usr/local/bin/alignda /usr/local/bin/alignda-health /usr/local/bin/
COPY --from=cuda-deps /app /app
WORKDIR /app
# ALIGNDA_HOME: the shared volume (models, nature runs, results); cuda: fail at start rather than fall back to CPU.
ENV ALIGNDA_HOME=/data ALIGNDA_EXECUTION_PROVIDER=cuda GRPC_HOST=0.0.0.0
USER alignda
EXPOSE 50052
ENTRYPOINT ["alignda"]
CMD ["serve", "sampler"]

FROM ${NODE_SLIM_IMAGE} AS runtime
RUN groupadd --gid 10001 alignda \
 && useradd --uid 10001 --gid alignda --no-create-home --shell /usr/sbin/nologin alignda \
 && mkdir -p /data && chown alignda:alignda /data
COPY --from=app /usr/local/bin/alignda /usr/local/bin/alignda-health /usr/local/bin/
# The sources and node_modules stay root's: the service user can read them, not change them.
COPY --from=app /app /app
WORKDIR /app
# ALIGNDA_HOME: the shared volume; GRPC_HOST: the gRPC services listen beyond the container's loopback.
ENV ALIGNDA_HOME=/data GRPC_HOST=0.0.0.0
USER alignda
# The gateway's HTTP port and the gRPC services' own ports (encoder 50051 .. orchestrator's health 50056).
EXPOSE 8080 50051-50056
ENTRYPOINT ["alignda"]
CMD ["--help"]
