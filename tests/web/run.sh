#!/usr/bin/env bash
# tests/web/run.sh GRIDMAP_BIN -- end-to-end browser tests of the web map against the real binary.
# Starts `GRIDMAP_BIN demo --bind 127.0.0.1:PORT` in a temp dir, drives Debian's /usr/bin/chromium
# with playwright-core (from web/node_modules), saves a screenshot per view to $GRIDMAP_SCREENSHOTS
# (default /tmp/gridmap-web-shots), prints `N passed, N failed` and exits non-zero on failure.
# Extra arguments after the binary are scenario names to run (default: all).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
[ $# -ge 1 ] || { sed -n 2,6p "$0"; exit 2; }
bin=$1; shift
case "$bin" in /*) ;; *) bin="$PWD/$bin" ;; esac
[ -x "$bin" ] || { echo "run.sh: $bin is not an executable gridmap binary" >&2; exit 2; }
chromium=${CHROMIUM_PATH:-/usr/bin/chromium}
[ -x "$chromium" ] || { echo "run.sh: $chromium not found (apt-get install chromium, or bash shared/tools/setup.sh)" >&2; exit 2; }
if [ ! -d "$root/web/node_modules/playwright-core" ]; then
  (cd "$root/web" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund >/dev/null) ||
    { echo "run.sh: npm ci in web/ failed" >&2; exit 2; }
fi
work=$(mktemp -d /tmp/gridmap-web-test.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
base="http://127.0.0.1:$port"
(cd "$work" && exec "$bin" demo --bind "127.0.0.1:$port") >"$work/demo.log" 2>&1 &
server=$!
cleanup() { kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
for _ in $(seq 1 600); do
  curl -fs -H 'Accept: text/html' "$base/" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || break
  sleep 0.2
done
if ! curl -fs -H 'Accept: text/html' "$base/" >/dev/null 2>&1; then
  echo "run.sh: gridmap demo did not serve / on $base" >&2; tail -n 20 "$work/demo.log" >&2
  echo "0 passed, 1 failed"; exit 1
fi
# GRIDMAP_WEB_PREVIEW=1: serve web/dist with `vite preview` and proxy the API to the demo
# (for working on the web app before/without rebuilding the binary that embeds web/dist).
if [ "${GRIDMAP_WEB_PREVIEW:-0}" = 1 ]; then
  pport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
  (cd "$root/web" && GRIDMAP_URL="$base" exec ./node_modules/.bin/vite preview --host 127.0.0.1 --port "$pport" --strictPort) >"$work/preview.log" 2>&1 &
  preview=$!
  trap 'kill $preview 2>/dev/null; wait $preview 2>/dev/null; cleanup' EXIT
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$pport/" >/dev/null 2>&1 && break; sleep 0.2; done
  base="http://127.0.0.1:$pport"
fi
export CHROMIUM_PATH="$chromium"
node "$here/e2e.mjs" "$base" "$@"
