#!/usr/bin/env bash
# Bulk load: starts the service (development keys; DATABASE_URL if set, else a fresh PGlite
# folder), pushes a .jwsl file with `zhengzhao push`, prints the CLI's summary, stops the service.
#
#   npx tsx bench/generate-certificates.ts --count 100000 --out /tmp/certs.jwsl
#   bash .ci/with-postgres bash bench/bulk-load.sh /tmp/certs.jwsl     # on PostgreSQL
#   bash bench/bulk-load.sh /tmp/certs.jwsl                            # on PGlite
set -euo pipefail
cd "$(dirname "$0")/.."
FILE=${1:?usage: bench/bulk-load.sh FILE.jwsl [push options...]}
shift
PORT=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
DATA=$(mktemp -d /tmp/zhengzhao-load.XXXXXX)
PORT=$PORT DATA_DIR=$DATA LOG_LEVEL=warn RATE_LIMIT_MAX=0 node --import tsx src/server.ts >"$DATA/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$DATA"' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.3; done
echo "service on :$PORT ($([ -n "${DATABASE_URL:-}" ] && echo PostgreSQL || echo PGlite)), pushing $(wc -l <"$FILE") certificates" >&2
ZHENGZHAO_TOKEN=$(node bin/zhengzhao.js token --role issuer --org 11330100MB1234567E --sub bulk-load --ttl 2h) \
  node bin/zhengzhao.js push "$FILE" --url "http://127.0.0.1:$PORT" --batch-size 1000 "$@"
