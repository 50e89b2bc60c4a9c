#!/usr/bin/env bash
# End-to-end: QGIS as a client (issue 20). Installs Debian's QGIS Python bindings (python3-qgis,
# qgis-providers) when missing, serves Monaco (imported + partitioned) and runs tests/qgis/check.py
# headless: every collection through OAPIF (counts = numberMatched, every declared field, EPSG:4326,
# bbox), the vector tiles with the server's MapLibre style, and renders of the whole extent at
# 1:140,000 and of one community, asserting the building and grid layers drew pixels at both.
# PNGs are kept in $GRIDMAP_QGIS_OUT (default /tmp/gridmap-qgis).
source "$(dirname "$0")/lib.sh"
echo "qgis (binary: $BIN)"
PY=/usr/bin/python3 # Debian's Python: the one python3-qgis installs into
OUT=${GRIDMAP_QGIS_OUT:-/tmp/gridmap-qgis}
if ! QT_QPA_PLATFORM=offscreen "$PY" -c "import qgis.core" 2>/dev/null; then
  start=$(date +%s)
  export DEBIAN_FRONTEND=noninteractive
  if apt-get update -qq >/dev/null && apt-get install -y -qq python3-qgis qgis-providers >"$T/apt.log" 2>&1; then
    pass "apt-get install python3-qgis qgis-providers ($(( $(date +%s) - start )) s)"
  else
    fail "apt-get install python3-qgis qgis-providers"; tail -n 5 "$T/apt.log"; summary; exit 1
  fi
fi
DB="sqlite://$T/qgis.db"
MONACO=$ROOT/data/monaco.osm.pbf
[ -f "$MONACO" ] || MONACO=$SHARED/data/monaco.osm.pbf
check "import monaco" "$BIN" import "$MONACO" --db "$DB" --quiet
check "partition" "$BIN" partition --db "$DB" --quiet
port=$("$PY" -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
BASE="http://127.0.0.1:$port"
"$BIN" serve --db "$DB" --bind "127.0.0.1:$port" >"$T/serve.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; lib_cleanup' EXIT
for _ in $(seq 1 150); do curl -fs "$BASE/health" >/dev/null 2>&1 && break; sleep 0.2; done
check "serve answers /health" curl -fs "$BASE/health"
rm -rf "$OUT"; mkdir -p "$OUT"
start=$(date +%s)
QT_QPA_PLATFORM=offscreen XDG_RUNTIME_DIR=$T timeout 900 "$PY" "$ROOT/tests/qgis/check.py" "$BASE" "$OUT" >"$T/check.out" 2>"$T/check.err"
rc=$?
grep -E "^  (ok|FAIL)|^QGIS|PNGs" "$T/check.out"
tail -n 1 "$T/check.out" >"$OUT/summary.json"
if [ $rc -eq 0 ]; then
  pass "QGIS checks ($(( $(date +%s) - start )) s; summary in $OUT/summary.json)"
else
  fail "QGIS checks (exit $rc)"; grep -v "^QStandardPaths" "$T/check.err" | tail -n 10 | sed 's/^/       /'
fi
summary
