# Zhengzhao service image: compiled JavaScript, production dependencies only, non-root.
# Run with DATABASE_URL=postgres://… or with a volume on /var/lib/zhengzhao for embedded PGlite.
# Production needs AUTH_KEYS, AUTH_ISSUER, AUTH_AUDIENCE, TRUST_ANCHORS, DATA_PROTECTION_KEYS and
# SERVICE_KEYS (the image ships no keys). Node 24, the current LTS; the code runs on 20.19+ too.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY bin ./bin
COPY src ./src
RUN npm run build

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    NODE_OPTIONS=--max-old-space-size=128 \
    DATA_DIR=/var/lib/zhengzhao
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY migrations ./migrations
COPY bin ./bin
RUN mkdir -p /var/lib/zhengzhao && chown node:node /var/lib/zhengzhao
USER node
VOLUME ["/var/lib/zhengzhao"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/server.js"]
