#!/usr/bin/env bash
# Side-by-side loopback load test: gridmap vs tipg (https://pypi.org/project/tipg/) serving the same
# Monaco data from the same PostGIS database (issue 6: throughput ratio, MVT tile p99 < 20 ms).
#
# Usage: scripts/bench-api.sh [BIN]        (BIN defaults to target/release/gridmap)
#   1. creates a fresh PostGIS database (CREATE EXTENSION postgis) and drops it at exit,
#   2. BIN import ../shared/data/monaco.osm.pbf --db postgres://...,
#   3. starts BIN serve --bind 127.0.0.1:PORT (anonymous read on loopback, no token needed),
#   4. installs tipg + uvicorn into a venv under $XDG_CACHE_HOME (or ~/.cache)/gridmap-bench (once) and
#      serves the same tables (public.buildings, geometry column `footprint`),
#   5. a cold pass (distinct bboxes and every z17/z18 Monaco tile, each asked once, 8 at a time),
#      since gridmap answers a repeated URL from its page / tile cache and tipg asks PostGIS each time,
#   6. runs ../shared/tools/load.sh (wrk) against both (gridmap first, tipg last: tipg's backlog at
#      64 connections outlives each run) and prints p50 / p99 / req/s per run and the ratios.
# Exit 1 when a run saw socket errors or HTTP >= 400. Reads are anonymous (loopback bind), so no
# token is sent: the two servers then do the same work per request.
# Environment:
#   BENCH_SECS (10)   BENCH_CONNS (64)   TIPG_WORKERS (2 = the machine's cores; uvicorn processes)
#   GRIDMAP_TEST_PG   base URL of a PostGIS server (default postgres://postgres@127.0.0.1:5432/test)
#   GRIDMAP_SHARED    the shared folder (default ../shared next to the repository)
#   SKIP_TIPG=1       only measure gridmap
# Not part of scripts/test.sh: it installs from PyPI and takes about 1.5 minutes.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${1:-$ROOT/target/release/gridmap}
SHARED=${GRIDMAP_SHARED:-$(cd "$ROOT/.." && pwd)/shared}
PGBASE=${GRIDMAP_TEST_PG:-postgres://postgres@127.0.0.1:5432/test}
SECS=${BENCH_SECS:-10}
CONNS=${BENCH_CONNS:-64}
TIPG_WORKERS=${TIPG_WORKERS:-2}
PBF=$SHARED/data/monaco.osm.pbf
LOAD=$SHARED/tools/load.sh
VENV=${XDG_CACHE_HOME:-$HOME/.cache}/gridmap-bench/tipg-venv

die() { echo "bench-api: $*" >&2; exit 1; }
[[ -x "$BIN" ]] || die "binary '$BIN' not found or not executable (cargo build --release -p gridmap-cli)"
[[ -f "$PBF" ]] || die "input '$PBF' not found (set GRIDMAP_SHARED)"
[[ -x "$LOAD" || -f "$LOAD" ]] || die "load tool '$LOAD' not found"
command -v wrk >/dev/null || die "wrk not installed (run bash $SHARED/tools/setup.sh, or apt-get install wrk)"
command -v psql >/dev/null || die "psql not installed"

T=$(mktemp -d /tmp/gridmap-bench.XXXXXX)
DB="gridmap_bench_$$_${RANDOM}"
URL="${PGBASE%/*}/$DB"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  psql "$PGBASE" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { # URL LOGFILE NAME
  for _ in $(seq 1 120); do
    curl -sf -o /dev/null --max-time 2 --noproxy '*' "$1" && return 0
    sleep 0.5
  done
  echo "bench-api: $3 did not answer $1 within 60 s; its log:" >&2; tail -n 20 "$2" >&2; exit 1
}

echo "== machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) (before)"
echo "== database $URL"
psql "$PGBASE" -qc "CREATE DATABASE $DB" >/dev/null
psql "$URL" -qc "CREATE EXTENSION IF NOT EXISTS postgis" >/dev/null
"$BIN" import "$PBF" --db "$URL" --quiet >"$T/import.log" 2>&1 || { cat "$T/import.log" >&2; die "import failed"; }
psql "$URL" -Atc "SELECT 'buildings: ' || count(*) FROM buildings"

GM_PORT=$(free_port)
GM="http://127.0.0.1:$GM_PORT"
MALLOC_ARENA_MAX=2 "$BIN" serve --db "$URL" --bind "127.0.0.1:$GM_PORT" --quiet >"$T/gridmap.log" 2>&1 &
PIDS+=($!)
wait_http "$GM/collections" "$T/gridmap.log" gridmap

TG=""
TIPG_WHY=""
if [[ "${SKIP_TIPG:-0}" != "1" ]]; then
  if [[ ! -x "$VENV/bin/uvicorn" ]] || ! "$VENV/bin/python" -c 'import tipg' 2>/dev/null; then
    echo "== installing tipg + uvicorn into $VENV (PyPI)"
    mkdir -p "$(dirname "$VENV")"
    if ! { python3 -m venv "$VENV" && "$VENV/bin/pip" install -q tipg uvicorn; } >"$T/pip.log" 2>&1; then
      TIPG_WHY="pip install tipg uvicorn failed: $(tail -n 3 "$T/pip.log" | tr '\n' ' ')"
    fi
  fi
  if [[ -z "$TIPG_WHY" ]]; then
    TG_PORT=$(free_port)
    TG="http://127.0.0.1:$TG_PORT"
    # tipg reads its settings from the environment; asyncpg wants postgresql://.
    DATABASE_URL="postgresql://${URL#postgres://}" TIPG_DB_SCHEMAS='["public"]' \
      "$VENV/bin/uvicorn" tipg.main:app --host 127.0.0.1 --port "$TG_PORT" --workers "$TIPG_WORKERS" \
      --no-access-log --log-level warning >"$T/tipg.log" 2>&1 &
    PIDS+=($!)
    wait_http "$TG/collections/public.buildings" "$T/tipg.log" tipg
    echo "== tipg $("$VENV/bin/python" -c 'import tipg; print(tipg.__version__)') with $TIPG_WORKERS uvicorn workers"
  fi
fi

# The same query on both: ~850 Monaco buildings (all attributes, footprints) as GeoJSON.
BBOX='bbox=7.415,43.728,7.430,43.740&limit=1000'
GM_ITEMS="$GM/collections/buildings/items?$BBOX"
# buildings has two geometry columns (footprint, entrance): tipg takes the first one unless told.
TG_ITEMS="$TG/collections/public.buildings/items?$BBOX&geom-column=footprint"
# Central Monaco (7.4236, 43.7350) at z14/15/16, plus neighbours at z15.
TILES_GM=(15/17059/11948 15/17058/11948 15/17060/11948 14/8529/5974 16/34119/23897)
TILE_TG="15/17059/11948"

count() { curl -s --noproxy '*' -H 'Accept: application/geo+json' "$1" |
  python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d["features"]))'; }
echo "== features in the bbox: gridmap $(count "$GM_ITEMS")${TG:+, tipg $(count "$TG_ITEMS")}"

RESULTS="$T/results.tsv"
: >"$RESULTS"
run() { # NAME URL SECONDS [headers...]
  local name=$1 url=$2 secs=$3; shift 3
  local out rc=0
  out=$(bash "$LOAD" "$url" "$secs" "$CONNS" "$@" 2>"$T/load.err") || rc=$?
  local j; j=$(tail -n 1 <<<"$out")
  if [[ $rc -ne 0 ]]; then echo "bench-api: load on $name failed (rc=$rc): $j $(cat "$T/load.err")" >&2; fi
  python3 - "$name" "$j" >>"$RESULTS" <<'PY'
import json, sys
name, line = sys.argv[1], sys.argv[2]
try:
    j = json.loads(line)
    l = j.get("latency_ms", {})
    req = j.get("requests", 0)
    kb = j.get("bytes", 0) / max(req, 1) / 1024
    bad = sum(j.get("errors", {}).values()) if "errors" in j else -1
    print(f"{name}\t{l.get('p50', float('nan')):.2f}\t{l.get('p99', float('nan')):.2f}\t"
          f"{j.get('requests_per_sec', 0):.1f}\t{kb:.1f}\t{bad}")
except Exception:
    print(f"{name}\tnan\tnan\t0\t0\t-1")
PY
}

# Cold pass first: gridmap answers a repeated request from its page / tile caches (and every
# query from its in-memory snapshot), tipg queries PostGIS each time. So each server also gets
# the same list of DISTINCT requests (jittered bboxes; every z17 and z18 tile over Monaco), each
# asked once, 8 at a time, by a Python client (its own overhead caps req/s; compare latencies).
cold() { # NAME KIND BASE
  "$(command -v python3)" - "$@" >>"$RESULTS" <<'PY'
import concurrent.futures as cf, math, sys, time, urllib.request
name, kind, base = sys.argv[1:4]
tg = name.startswith("tipg")
urls = []
if kind == "bbox":
    for i in range(200):  # ~1,000 buildings, shifted by up to ~1 km
        dx, dy = (i % 20) * 0.0005 - 0.005, (i // 20) * 0.0005 - 0.0025
        b = f"{7.415 + dx:.4f},{43.728 + dy:.4f},{7.430 + dx:.4f},{43.740 + dy:.4f}"
        urls.append(f"{base}/collections/{'public.' if tg else ''}buildings/items?bbox={b}&limit=1000"
                    + ("&geom-column=footprint" if tg else ""))
else:
    def tile(z, lon, lat):
        n = 2 ** z
        return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    for z in (17, 18):
        x0, y0 = tile(z, 7.409, 43.752)
        x1, y1 = tile(z, 7.440, 43.724)
        for x in range(x0, x1 + 1):
            for y in range(y0, y1 + 1):
                urls.append(f"{base}/collections/public.buildings/tiles/WebMercatorQuad/{z}/{x}/{y}?geom-column=footprint"
                            if tg else f"{base}/tiles/buildings/{z}/{x}/{y}.mvt")
def get(u):
    t = time.perf_counter()
    r = urllib.request.urlopen(urllib.request.Request(u, headers={"Accept": "application/geo+json"}), timeout=60)
    n = len(r.read())
    return (time.perf_counter() - t) * 1000, n, r.status
t0 = time.perf_counter()
errors, lat, size = 0, [], 0
with cf.ThreadPoolExecutor(8) as ex:
    for f in [ex.submit(get, u) for u in urls]:
        try:
            ms, n, st = f.result()
            lat.append(ms); size += n; errors += st >= 400
        except Exception:
            errors += 1
wall = time.perf_counter() - t0
lat.sort()
pct = lambda p: lat[min(len(lat) - 1, int(p / 100 * len(lat)))] if lat else float("nan")
print(f"{name} ({len(urls)} distinct)\t{pct(50):.2f}\t{pct(99):.2f}\t{len(lat) / wall:.1f}\t{size / max(len(lat), 1) / 1024:.1f}\t{errors}")
PY
}
echo "== cold pass: distinct requests, 8 concurrent"
cold "gridmap cold bbox" bbox "$GM"
cold "gridmap cold MVT z17-18" mvt "$GM"
if [[ -n "$TG" ]]; then
  cold "tipg    cold bbox" bbox "$TG"
  cold "tipg    cold MVT z17-18" mvt "$TG"
fi

# tipg runs last, with a pause after each: at 64 connections its queue outlives wrk by seconds
# (its p99 is seconds), and that leftover work would otherwise land in the next run.
settle() { # until no other query is active on the bench database (at most 30 s)
  for _ in $(seq 1 60); do
    n=$(psql "$URL" -Atc "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
                          AND state = 'active' AND pid <> pg_backend_pid()" 2>/dev/null || echo 0)
    [[ "$n" == 0 ]] && break
    sleep 0.5
  done
  sleep 1
}
echo "== load: $SECS s x $CONNS connections per run (wrk, 2 threads); gridmap first, then tipg"
run "gridmap bbox GeoJSON" "$GM_ITEMS" "$SECS" -H 'Accept: application/geo+json'
run "gridmap MVT z${TILES_GM[0]}" "$GM/tiles/buildings/${TILES_GM[0]}.mvt" "$SECS"
# load.sh takes one URL: the other tiles get a shorter run each.
SHORT=$(( SECS / 2 > 0 ? SECS / 2 : 1 ))
for t in "${TILES_GM[@]:1}"; do
  run "gridmap MVT z$t" "$GM/tiles/buildings/$t.mvt" "$SHORT"
done
if [[ -n "$TG" ]]; then
  settle
  run "tipg    bbox GeoJSON" "$TG_ITEMS" "$SECS" -H 'Accept: application/geo+json'
  settle
  run "tipg    MVT z$TILE_TG" "$TG/collections/public.buildings/tiles/WebMercatorQuad/$TILE_TG?geom-column=footprint" "$SECS"
  settle
fi

echo
echo "== results (load average after: $(cut -d' ' -f1-3 /proc/loadavg))"
python3 - "$RESULTS" <<'PY'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
print(f"{'run':<42} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>9} {'KiB/resp':>9} {'errors':>7}")
for n, p50, p99, rps, kb, bad in rows:
    print(f"{n:<42} {float(p50):>8.2f} {float(p99):>8.2f} {float(rps):>9.1f} {float(kb):>9.1f} {bad:>7}")
d = {}
for r in rows:  # first run of each kind (the central z15 tile for MVT)
    d.setdefault(r[0].split()[0] + " " + r[0].split()[1], r)
def ratio(kind):
    g, t = d.get("gridmap " + kind), d.get("tipg " + kind)
    if g and t and float(t[3]) > 0:
        print(f"throughput ratio gridmap/tipg, {'cold bbox (client-bound)' if kind == 'cold' else kind + ' (wrk, warm)'}: {float(g[3]) / float(t[3]):.1f}x")
ratio("bbox")
ratio("MVT")
ratio("cold")  # first cold run of each: the bbox one
def cold_mvt():
    g = [r for r in rows if r[0].startswith("gridmap cold MVT")]
    t = [r for r in rows if r[0].startswith("tipg") and "cold MVT" in r[0]]
    if g and t:
        print(f"cold MVT p50 gridmap {float(g[0][1]):.2f} ms vs tipg {float(t[0][1]):.2f} ms; "
              f"throughput ratio {float(g[0][3]) / max(float(t[0][3]), 1e-9):.1f}x (client-bound)")
cold_mvt()
tiles = [r for r in rows if r[0].startswith("gridmap MVT")]  # the wrk runs (warm cache)
worst = max((float(r[2]) for r in tiles), default=float("nan"))
print(f"gridmap MVT (wrk, warm) worst p99 over {len(tiles)} tiles: {worst:.2f} ms (issue 6 target < 20 ms: "
      f"{'met' if worst < 20 else 'NOT met'})")
bad = [r[0] for r in rows if r[5] != "0"]
if bad:
    print("runs with errors: " + ", ".join(bad))
    sys.exit(1)
PY
if [[ -n "$TIPG_WHY" ]]; then echo "tipg not measured: $TIPG_WHY"; fi
