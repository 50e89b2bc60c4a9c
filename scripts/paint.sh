#!/usr/bin/env bash
# scripts/paint.sh GRIDMAP_BIN [CITY] [-- paint.mjs options] -- first meaningful paint of the web map.
# Starts `GRIDMAP_BIN demo --city CITY --bind 127.0.0.1:PORT` (default city: haidian, whose labels
# are Chinese) in a temp dir, then runs tests/web/paint.mjs against it: 5 cold loads in headless
# Chromium, median time from navigation to the first frame with buildings and grids drawn, limit
# 2000 ms. Prints paint.mjs's lines and `N passed, N failed`; exits non-zero over the limit.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 1 ] || { sed -n 2,6p "$0"; exit 2; }
bin=$1; shift
case "$bin" in /*) ;; *) bin="$PWD/$bin" ;; esac
city=haidian
if [ $# -ge 1 ] && [ "$1" != -- ]; then city=$1; shift; fi
[ "${1:-}" = -- ] && shift
[ -x "$bin" ] || { echo "paint.sh: $bin is not an executable gridmap binary" >&2; exit 2; }
[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || { echo "paint.sh: no Chromium (apt-get install chromium)" >&2; exit 2; }
if [ ! -d "$root/web/node_modules/playwright-core" ]; then
  (cd "$root/web" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund >/dev/null) || { echo "paint.sh: npm ci in web/ failed" >&2; exit 2; }
fi
work=$(mktemp -d /tmp/gridmap-paint.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
base="http://127.0.0.1:$port"
(cd "$work" && exec "$bin" demo --city "$city" --bind "127.0.0.1:$port") >"$work/demo.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 600); do
  curl -fs -H 'Accept: text/html' "$base/" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || break
  sleep 0.2
done
if ! curl -fs -H 'Accept: text/html' "$base/" >/dev/null 2>&1; then
  echo "paint.sh: gridmap demo did not serve / on $base" >&2; tail -n 20 "$work/demo.log" >&2
  echo "0 passed, 1 failed"; exit 1
fi
node "$root/tests/web/paint.mjs" "$base" --runs 5 --limit-ms 2000 "$@"
