# Vigil container image (docs/deploy.md). Two stages: the build stage compiles TypeScript with the
# dev dependencies, then drops them; the runtime stage holds only what `vigil serve` reads.
# Checked by src/deploy/dockerfile.test.ts (non-root, HEALTHCHECK, proto/ and strategies/ baked in).

FROM node:24-bookworm-slim AS build
WORKDIR /src
# Dependencies first, without lifecycle scripts (`prepare` would compile sources not yet copied).
COPY package.json package-lock.json .npmrc ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY web ./web
COPY proto ./proto
# Install scripts of the dependencies (native modules), then the build, then production deps only.
RUN npm rebuild && npm run build && npm prune --omit=dev && find dist -name "*.test.js" -delete

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production \
    VIGIL_HOST=0.0.0.0 \
    VIGIL_PORT=8080 \
    VIGIL_GRPC_PORT=50051 \
    VIGIL_DATA_DIR=/data \
    VIGIL_DEMO=false \
    XDG_CACHE_HOME=/data/cache
# A fixed non-root uid/gid so volume ownership and Kubernetes runAsUser agree.
RUN groupadd --system --gid 10001 vigil \
 && useradd --system --uid 10001 --gid 10001 --home-dir /data --shell /usr/sbin/nologin vigil \
 && mkdir -p /data/cache && chown -R 10001:10001 /data
WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY web/public ./web/public
COPY proto ./proto
COPY strategies ./strategies
USER 10001:10001
# Everything Vigil writes goes under /data (pglite/, spool/, the PGlite template cache); the root
# filesystem can be mounted read-only.
VOLUME /data
EXPOSE 8080 50051
# node:slim has no curl: node itself asks /healthz (liveness; /readyz is for load balancers).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.VIGIL_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Listening on 0.0.0.0 needs a tokens file (VIGIL_AUTH_TOKENS, e.g. a mounted Secret) or
# VIGIL_INSECURE=true; without either Vigil refuses to start (VIGIL_ERR_CONFIG).
ENTRYPOINT ["node", "--max-semi-space-size=32", "dist/cli/main.js"]
CMD ["serve"]
