#!/usr/bin/env bash
# Builds the qplay web bundle and serves it locally:
#   1. ./scripts/setup.sh (installs whatever is missing; quick when nothing is)
#   2. cmake --preset wasm && cmake --build --preset wasm --target qp_web
#   3. node scripts/serve.mjs --dir build/wasm/web/dist --port 8080 (127.0.0.1, COOP/COEP)
# Options: --port N (default 8080), --host H (default 127.0.0.1), --skip-setup, --no-serve.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export NODE_PATH=/usr/share/nodejs
PORT=8080
HOST=127.0.0.1
SKIP_SETUP=0
SERVE=1
while [ $# -gt 0 ]; do
  case "$1" in
    --port) PORT="${2:?--port needs a value}"; shift ;;
    --port=*) PORT="${1#--port=}" ;;
    --host) HOST="${2:?--host needs a value}"; shift ;;
    --host=*) HOST="${1#--host=}" ;;
    --skip-setup) SKIP_SETUP=1 ;;
    --no-serve) SERVE=0 ;;
    -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "play.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done
case "$PORT" in (*[!0-9]*|'') echo "play.sh: --port '$PORT' is not a number" >&2; exit 2 ;; esac

if [ "$SKIP_SETUP" = 0 ]; then
  ./scripts/setup.sh
fi

echo "[play] building the web bundle (preset wasm, target qp_web)"
cmake --preset wasm >build/play-configure.log 2>&1 || \
  { tail -30 build/play-configure.log >&2; echo "play.sh: configuring the wasm preset failed (build/play-configure.log)" >&2; exit 1; }
JOBS="${QP_JOBS:-$(nproc)}"
cmake --build --preset wasm --target qp_web -j "$JOBS" || \
  { echo "play.sh: building the web bundle failed" >&2; exit 1; }

DIST="$ROOT/build/wasm/web/dist"
for f in index.html qplay.js qplay.wasm; do
  [ -f "$DIST/$f" ] || { echo "play.sh: $DIST/$f is missing after the build" >&2; exit 1; }
done
echo "[play] bundle: $DIST ($(du -sh "$DIST" | cut -f1))"
OFFLINE="$ROOT/build/wasm/web/qplay-offline.html"
[ -f "$OFFLINE" ] && echo "[play] offline single file (open from disk, no server): $OFFLINE" \
  "($(du -h "$OFFLINE" | cut -f1); ./scripts/make_offline.sh adds the Fashion-MNIST subset)"
[ "$SERVE" = 1 ] || exit 0
echo "[play] open the URL below in a browser (Ctrl+C stops the server)"
exec node "$ROOT/scripts/serve.mjs" --dir "$DIST" --port "$PORT" --host "$HOST"
