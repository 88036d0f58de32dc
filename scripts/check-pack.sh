#!/usr/bin/env bash
# Checks what `npm pack` ships: packs the committed HEAD (a copy, so the checkout's own dist/ is
# left alone; prepack compiles a fresh one), installs the tarball into an empty project from the
# registry, and runs the installed CLI and server there. About 3 minutes on two cores, most of it
# the install: a script, not part of npm test. Needs npm install done in the checkout (tsc).
#   bash scripts/check-pack.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/zhengzhao-pack.XXXXXX")
SERVER=
cleanup() {
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
step() { printf '\n== %s\n' "$*"; }

step "npm pack (HEAD $(git -C "$ROOT" rev-parse --short HEAD))"
mkdir "$WORK/src" && git -C "$ROOT" archive HEAD | tar -x -C "$WORK/src"
ln -s "$ROOT/node_modules" "$WORK/src/node_modules"
(cd "$WORK/src" && npm pack --pack-destination "$WORK" --silent >/dev/null)
TARBALL=$(ls "$WORK"/zhengzhao-*.tgz)
tar -tzf "$TARBALL" > "$WORK/files" # a file, not a pipe: grep -q would leave tar to SIGPIPE, and pipefail
for f in dist/server.js dist/cli/main.js dist/crypto/sm2Worker.js dist/ofd/worker.js bin/zhengzhao.js migrations/meta/_journal.json LICENSE; do
  grep -qx "package/$f" "$WORK/files" || { echo "no $f in $TARBALL"; exit 1; }
done
if grep -q '^package/\(src\|test\|keys.example\)/' "$WORK/files"; then echo "src/, test/ or keys.example/ shipped"; exit 1; fi
echo "$(wc -l < "$WORK/files") files, $(du -k "$TARBALL" | cut -f1) kB"

step "npm install the tarball into an empty project"
mkdir "$WORK/app" && cd "$WORK/app"
npm init -y >/dev/null
npm install --no-audit --no-fund --loglevel=error "$TARBALL"

step "the installed CLI"
npx zhengzhao --version
# Into files, not `| head`: a reader that leaves early makes zhengzhao exit 141, and pipefail sees it.
npx zhengzhao --help > "$WORK/help" && head -3 "$WORK/help"
npx zhengzhao cert-id check 1.2.156.3005.2.11100000000013338W032.11330105002500287C.2025000001.001.1
npx zhengzhao keys --out ./keys >/dev/null
npx zhengzhao issuer-cert --code 11330106MB12345688 --ca-dir ./keys --out-dir ./issuers > "$WORK/issuer" && head -1 "$WORK/issuer"

step "the installed server (dist/server.js, its migrations and workers)"
PORT=$((20000 + RANDOM % 20000))
AUTH_KEYS=./keys/idp.jwks.json TRUST_ANCHORS=./keys/trust-anchors.pem DATA_PROTECTION_KEYS=./keys/data-protection.json \
  SERVICE_KEYS=./keys/service-ed25519.private.pem DATA_DIR=memory:// PORT=$PORT LOG_LEVEL=warn \
  node node_modules/zhengzhao/dist/server.js &
SERVER=$!
for _ in $(seq 1 120); do
  if curl -fsS "http://127.0.0.1:$PORT/readyz" 2>/dev/null; then echo; step "ok: the package works"; exit 0; fi
  sleep 1
done
echo "the installed server did not become ready on port $PORT"
exit 1
