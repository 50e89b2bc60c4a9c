#!/usr/bin/env bash
# Scale benchmark of issue 12: prints ONE table, a row per measure and a column per N, for
# `gridmap synth -n N` of a real extract (Monaco by default), beside the issue's targets.
#
# Usage: scripts/bench-scale.sh [N_LIST] [--pg] [--extract FILE]
#   N_LIST      tilings to measure, e.g. "1 2 4 8" (the default) or 1 2
#   --pg        also measure, over PostGIS, how long replica B takes to serve replica A's edit
#   --extract   the extract to tile (default ../shared/data/monaco.osm.pbf, else data/monaco.osm.pbf)
# For each N, into a scratch SQLite file:
#   synth -n N; `gridmap partition` (time, peak RSS: /usr/bin/time -v); `gridmap coverage --kind
#   canteen` cold (time, peak RSS); then `gridmap serve` with a planner token: one coverage of one
#   kind (canteen) through the API, 5 facility creates, server VmRSS/VmHWM (/proc/PID/status);
#   then facility creates up to EDITS in all and EDITS grid PATCHes (If-Match), each followed by a
#   bbox read of ~1,000 buildings, timed with curl's %{time_total}: the p50 of each. With --pg,
#   the same city in a fresh PostGIS database with two servers: the delay until B's bbox query
#   returns a facility created through A (median of 3).
# It is a benchmark: it prints numbers and fails only when it cannot run (bad arguments, no
# binary). A tiling is skipped (and said so in the table) when memory or disk is short for it,
# estimated from the smaller tilings measured before; every process runs under a wall-clock limit
# and a free-memory guard; every curl has a timeout. Scratch files and databases are removed at
# exit.
# Environment:
#   GRIDMAP_BIN             binary (default target/release/gridmap)
#   GRIDMAP_BENCH_EDITS     edits of each kind (default 20)
#   GRIDMAP_BENCH_BUDGET_S  wall-clock budget of each edit loop, s (default 120; at least 3 edits)
#   GRIDMAP_BENCH_BBOX      the bbox read (default: Monaco's 7.415,43.728,7.430,43.740, else fitted)
#   GRIDMAP_BENCH_MIN_FREE_MB  kill a measured process when MemAvailable drops below (default 700)
#   GRIDMAP_BENCH_OUT       also write the table to this file
#   GRIDMAP_TEST_PG         PostGIS base URL (default postgres://postgres@127.0.0.1:5432/test)
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${GRIDMAP_BIN:-$ROOT/target/release/gridmap}
SHARED=${GRIDMAP_SHARED:-$(cd "$ROOT/.." && pwd)/shared}
PGBASE=${GRIDMAP_TEST_PG:-postgres://postgres@127.0.0.1:5432/test}
EDITS=${GRIDMAP_BENCH_EDITS:-20}
BUDGET=${GRIDMAP_BENCH_BUDGET_S:-120}
MIN_FREE_MB=${GRIDMAP_BENCH_MIN_FREE_MB:-700}
KIND=canteen

NS=(); PG=0; EXTRACT=""
while [ $# -gt 0 ]; do
  case $1 in
    --pg) PG=1 ;;
    --extract) EXTRACT=${2:-}; shift ;;
    --extract=*) EXTRACT=${1#--extract=} ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) for n in $1; do
         [[ $n =~ ^[1-9][0-9]?$ ]] || { echo "bench-scale: '$n' is not a tiling (1-99)" >&2; exit 2; }
         NS+=("$n")
       done ;;
  esac
  shift
done
[ ${#NS[@]} -gt 0 ] || NS=(1 2 4 8)
if [ -z "$EXTRACT" ]; then EXTRACT=$SHARED/data/monaco.osm.pbf; [ -f "$EXTRACT" ] || EXTRACT=$ROOT/data/monaco.osm.pbf; fi
[ -x "$BIN" ] || { echo "bench-scale: no binary $BIN (cargo build --release -p gridmap-cli)" >&2; exit 2; }
[ -f "$EXTRACT" ] || { echo "bench-scale: no extract $EXTRACT" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "bench-scale: /usr/bin/time is missing (apt-get install time)" >&2; exit 2; }
if [ $PG = 1 ] && ! psql "$PGBASE" -qAtc 'select 1' >/dev/null 2>&1; then echo "bench-scale: --pg but no PostgreSQL at $PGBASE" >&2; exit 2; fi

T=$(mktemp -d /tmp/gridmap-bench-scale.XXXXXX)
PIDS=(); PGDBS=()
G_PID=""
cleanup() {
  [ -n "$G_PID" ] && kill_tree "$G_PID"
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  for d in "${PGDBS[@]}"; do psql "$PGBASE" -qc "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null 2>&1; done
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { echo "  [$(date +%H:%M:%S)] $*" >&2; }
cu() { curl -s --noproxy '*' --connect-timeout 3 --max-time "${CURL_MAX:-300}" "$@"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
mem_avail_mb() { awk '/^MemAvailable:/{print int($2/1024)}' /proc/meminfo; }
disk_avail_mb() { df -Pm "$T" | awk 'NR==2{print $4}'; }
pyv() { python3 -c 'import json,sys; d=json.load(sys.stdin); A=sys.argv[2:]; print(eval(sys.argv[1]))' "$@" 2>/dev/null; }
etag_of() { tr -d '\r' < "$1" | awk -F': ' 'tolower($1)=="etag"{print $2}' | tail -n 1; }
proc_kb() { awk -v k="$2:" '$1==k{print $2}' "/proc/$1/status" 2>/dev/null; }
p50() { python3 -c 'import statistics,sys; v=[float(x) for x in sys.argv[1:]]; print(f"{statistics.median(v):.0f}" if v else "")' "$@"; }
ms_of() { python3 -c "print(round(float('$1')*1000, 1))"; }
mb() { [ -n "${1:-}" ] && echo $(( $1 / 1024 )) || echo ""; }

# Server timeout flag (the rewrite may rename it): generous, so slow answers are measured, not cut.
help=$("$BIN" serve --help 2>&1)
if grep -q -- '--timeout-ms' <<<"$help"; then TFLAG=(--timeout-ms 3600000)
elif grep -q -- '--timeout-s' <<<"$help"; then TFLAG=(--timeout-s 3600)
elif grep -q -- '--timeout' <<<"$help"; then TFLAG=(--timeout 3600)
else TFLAG=(); fi

# kill_tree PID: SIGKILL to PID's children (by id, from /proc) and then PID.
kill_tree() {
  local c; for c in $(cat "/proc/$1/task/$1/children" 2>/dev/null); do kill -KILL "$c" 2>/dev/null; done
  kill -KILL "$1" 2>/dev/null
}
# guarded NAME LIMIT_S COMMAND...: runs COMMAND under /usr/bin/time -v with a wall-clock limit and
# a free-memory guard. Sets G_SECS (wall), G_RSS_KB (peak RSS), G_RC and G_NOTE.
guarded() {
  local name=$1 limit=$2; shift 2
  local tv="$T/time-$name.txt" t0; t0=$(now_ms)
  /usr/bin/time -v -o "$tv" "$@" >"$T/$name.out" 2>"$T/$name.err" &
  local pid=$! killed=""; G_PID=$pid
  while kill -0 $pid 2>/dev/null; do
    if [ $(( ($(now_ms) - t0) / 1000 )) -ge "$limit" ]; then killed="over ${limit} s"; kill_tree $pid; break; fi
    if [ "$(mem_avail_mb)" -lt "$MIN_FREE_MB" ]; then killed="memory short (< $MIN_FREE_MB MB free)"; kill_tree $pid; break; fi
    sleep 0.25
  done
  wait $pid 2>/dev/null; G_RC=$?; G_PID=""
  G_SECS=$(python3 -c "print(f'{($(now_ms) - $t0) / 1000:.1f}')")
  G_RSS_KB=$(awk -F': ' '/Maximum resident set size/{print $2}' "$tv" 2>/dev/null)
  G_NOTE=$killed
  [ -z "$killed" ] && [ "$G_RC" != 0 ] && G_NOTE="exit $G_RC: $(tail -n 1 "$T/$name.err" | head -c 120)"
  [ -z "$G_NOTE" ]
}

declare -A V     # V[row|N] = cell
ROWS=(); declare -A TARGET
row() { ROWS+=("$1"); TARGET[$1]=$2; }
row "buildings"                                        "1.13M at 8×8"
row "synth -n N (s)"                                   ""
row "gridmap partition (s)"                            "< 45 s"
row "gridmap partition peak RSS (MB)"                  "< 3 GB"
row "gridmap coverage --kind $KIND cold (s)"           "< 5 s"
row "gridmap coverage --kind $KIND peak RSS (MB)"      ""
row "serve: start to /health (s)"                      ""
row "API coverage of $KIND, first (ms)"                ""
row "facility create via API, p50 (ms)"                "< 50 ms, ≤ 3× 1×1"
row "facility create p50 ÷ 1×1"                        "≤ 3"
row "grid PATCH via API, p50 (ms)"                     "< 50 ms, ≤ 3× 1×1"
row "grid PATCH p50 ÷ 1×1"                             "≤ 3"
row "bbox read (~1,000 bldgs) after an edit, p50 (ms)" "< 100 ms"
row "server VmRSS after load+coverage+5 edits (MB)"    "< 2 GB (< 300 MB at 100k bldgs)"
row "server VmHWM at that point (MB)"                  ""
row "server VmRSS after all edits (MB)"                ""
row "edits / bbox reads done (non-2xx)"                "all 2xx"
row "replica B serves A's edit (ms)"                   "< 1 s"
set_v() { V["$1|$2"]=$3; }

# Resource estimate per 1×1 copy, refined from what smaller tilings measured.
PER_COPY_RAM_MB=160; PER_COPY_DISK_MB=60
BBOX=${GRIDMAP_BENCH_BBOX:-}
[ -z "$BBOX" ] && [ "$(basename "$EXTRACT")" = monaco.osm.pbf ] && BBOX=7.415,43.728,7.430,43.740

# fit_bbox BASE N: a bbox around copy (0,0)'s centre holding ~1,000 buildings.
fit_bbox() {
  local base=$1 n=$2
  cu "$base/collections/buildings" | python3 -c '
import json, sys, urllib.request
d = json.load(sys.stdin); base, n = sys.argv[1], int(sys.argv[2])
x0, y0, x1, y1 = d["extent"]["spatial"]["bbox"][0][:4]
cx, cy = x0 + (x1 - x0) / n / 2, y0 + (y1 - y0) / n / 2
def count(r):
    u = f"{base}/collections/buildings/items?bbox={cx-r:.6f},{cy-r:.6f},{cx+r:.6f},{cy+r:.6f}&limit=1"
    return json.load(urllib.request.urlopen(u, timeout=120)).get("numberMatched", 0)
lo, hi = 0.0, 0.0005
while count(hi) < 1000 and hi < 1:
    lo, hi = hi, hi * 2
for _ in range(8):
    mid = (lo + hi) / 2
    if count(mid) < 1000: lo = mid
    else: hi = mid
print(f"{cx-hi:.6f},{cy-hi:.6f},{cx+hi:.6f},{cy+hi:.6f}")' "$base" "$n" 2>/dev/null
}

# start_serve NAME DB PORT: starts a server, waits for /health (bounded); sets S_PID, S_SECS.
start_serve() {
  local name=$1 db=$2 port=$3 t0; t0=$(now_ms)
  "$BIN" serve --db "$db" --bind "127.0.0.1:$port" "${TFLAG[@]}" >"$T/serve-$name.log" 2>&1 &
  S_PID=$!; PIDS+=("$S_PID")
  for _ in $(seq 1 3000); do
    cu --max-time 2 -f -o /dev/null "http://127.0.0.1:$port/health" 2>/dev/null && { S_SECS=$(python3 -c "print(f'{($(now_ms) - $t0) / 1000:.1f}')"); return 0; }
    kill -0 $S_PID 2>/dev/null || break
    [ "$(mem_avail_mb)" -lt "$MIN_FREE_MB" ] && { say "memory short while $name starts"; break; }
    sleep 0.2
  done
  stop_serve "$S_PID"; S_SECS=""; return 1
}
stop_serve() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; }

token_for() { # DB: a planner token (user bench)
  echo "bench-planner-pw" | "$BIN" user add bench --role planner --password-stdin --db "$1" --quiet >/dev/null 2>&1
  "$BIN" user token bench --json --db "$1" --quiet 2>/dev/null | tail -n 1 | pyv 'd["token"]'
}

# create_at BASE TOKEN LON LAT NAME: POST a facility; prints "CODE SECONDS ID".
create_at() {
  local f="$T/create.json" res
  res=$(cu -o "$f" -w '%{http_code} %{time_total}' -X POST -H "Authorization: Bearer $2" -H 'Content-Type: application/geo+json' \
    -d "{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":[$3,$4]},\"properties\":{\"kind\":\"$KIND\",\"name\":\"$5\"}}" \
    "$1/collections/facilities/items")
  echo "$res $(pyv 'd["id"]' <"$f")"
}
bbox_read() { cu -o "$T/bbox.json" -w '%{http_code} %{time_total}' "$1/api/buildings?bbox=$BBOX&limit=1000"; }
point_in_bbox() { python3 -c 'import random,sys; b=[float(v) for v in sys.argv[1].split(",")]; print(f"{random.uniform(b[0],b[2]):.6f} {random.uniform(b[1],b[3]):.6f}")' "$BBOX"; }

bench_n() {
  local n=$1 copies=$(( $1 * $1 ))
  local need_ram=$(( copies * PER_COPY_RAM_MB + 1024 )) need_disk=$(( copies * PER_COPY_DISK_MB * (1 + PG) + 1024 ))
  local ram; ram=$(mem_avail_mb); local disk; disk=$(disk_avail_mb)
  if [ "$ram" -lt "$need_ram" ] || [ "$disk" -lt "$need_disk" ]; then
    local why="skipped: needs ~$((need_ram / 1024)) GB RAM / $((need_disk / 1024)) GB disk, $((ram / 1024)) / $((disk / 1024)) GB free"
    say "N=$n $why"; set_v buildings "$n" "$why"; return
  fi
  local lim=$(( 600 + copies * 60 ))   # wall-clock limit of each CLI step, s
  local db="sqlite://$T/n$n.db"
  say "N=$n: synth"
  if ! guarded "synth$n" "$lim" "$BIN" synth "$EXTRACT" -n "$n" --db "$db" --quiet; then set_v buildings "$n" "synth failed: $G_NOTE"; rm -f "$T/n$n.db"*; return; fi
  set_v "synth -n N (s)" "$n" "$G_SECS"
  local nb; nb=$("$BIN" stats --db "$db" --json 2>/dev/null | tail -n 1 | pyv 'd["counts"]["buildings"]')
  set_v buildings "$n" "${nb:-?}"
  local size_mb; size_mb=$(du -cm "$T/n$n.db"* 2>/dev/null | tail -n 1 | cut -f1)
  [ -n "$size_mb" ] && [ $(( size_mb / copies + 1 )) -gt $PER_COPY_DISK_MB ] && PER_COPY_DISK_MB=$(( size_mb / copies + 1 ))

  say "N=$n: partition"
  if guarded "part$n" "$lim" "$BIN" partition --db "$db" --quiet; then
    set_v "gridmap partition (s)" "$n" "$G_SECS"; set_v "gridmap partition peak RSS (MB)" "$n" "$(mb "$G_RSS_KB")"
  else set_v "gridmap partition (s)" "$n" "failed: $G_NOTE"; fi
  local peak=${G_RSS_KB:-0}
  say "N=$n: coverage --kind $KIND (cold)"
  if guarded "cov$n" "$lim" "$BIN" coverage --kind "$KIND" --db "$db" --quiet; then
    set_v "gridmap coverage --kind $KIND cold (s)" "$n" "$G_SECS"; set_v "gridmap coverage --kind $KIND peak RSS (MB)" "$n" "$(mb "$G_RSS_KB")"
  else set_v "gridmap coverage --kind $KIND cold (s)" "$n" "failed: $G_NOTE"; fi
  [ "${G_RSS_KB:-0}" -gt "$peak" ] && peak=$G_RSS_KB

  local token; token=$(token_for "$db")
  local port; port=$(free_port); local base="http://127.0.0.1:$port"
  say "N=$n: serve"
  if ! start_serve "s$n" "$db" "$port"; then set_v "serve: start to /health (s)" "$n" "failed: $(tail -n 1 "$T/serve-s$n.log" | head -c 80)"; rm -f "$T/n$n.db"*; return; fi
  local spid=$S_PID
  set_v "serve: start to /health (s)" "$n" "$S_SECS"
  [ -z "$BBOX" ] && BBOX=$(fit_bbox "$base" "$n") && say "bbox read: $BBOX"
  local res; res=$(cu -o "$T/cov.json" -w '%{http_code} %{time_total}' "$base/api/coverage?kind=$KIND")
  [ "${res%% *}" = 200 ] && set_v "API coverage of $KIND, first (ms)" "$n" "$(ms_of "${res#* }")" || set_v "API coverage of $KIND, first (ms)" "$n" "HTTP ${res%% *}"

  local creates=() patches=() reads=() bad=0 done_e=0 done_r=0 i t0 code secs id
  t0=$(now_ms)
  for i in $(seq 1 "$EDITS"); do
    read -r lon lat < <(point_in_bbox)
    read -r code secs id < <(create_at "$base" "$token" "$lon" "$lat" "bench $n-$i")
    done_e=$((done_e + 1)); [ "$code" = 201 ] && creates+=("$(ms_of "$secs")") || bad=$((bad + 1))
    res=$(bbox_read "$base"); done_r=$((done_r + 1))
    [ "${res%% *}" = 200 ] && reads+=("$(ms_of "${res#* }")") || bad=$((bad + 1))
    if [ "$i" = 5 ]; then
      set_v "server VmRSS after load+coverage+5 edits (MB)" "$n" "$(mb "$(proc_kb "$spid" VmRSS)")"
      set_v "server VmHWM at that point (MB)" "$n" "$(mb "$(proc_kb "$spid" VmHWM)")"
    fi
    [ "$i" -ge 5 ] && [ $(( ($(now_ms) - t0) / 1000 )) -ge "$BUDGET" ] && { say "N=$n: create budget of $BUDGET s spent after $i"; break; }
    kill -0 "$spid" 2>/dev/null || break
  done
  # grid PATCHes: ETags of EDITS grids read first (so no GET stands between an edit and its read)
  cu "$base/collections/grids/items?limit=$EDITS" | pyv '"\n".join(f["id"] for f in d["features"])' >"$T/gids"
  local gids=() etags=() g
  while read -r g; do [ -n "$g" ] && gids+=("$g"); done <"$T/gids"
  for g in "${gids[@]}"; do
    g=$(python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$g")
    cu -D "$T/g.h" -o /dev/null "$base/collections/grids/items/$g"; etags+=("$g $(etag_of "$T/g.h")")
  done
  t0=$(now_ms); i=0
  for g in "${etags[@]}"; do
    i=$((i + 1))
    res=$(cu -o "$T/gp.json" -w '%{http_code} %{time_total}' -X PATCH -H "Authorization: Bearer $token" -H "If-Match: ${g#* }" \
      -H 'Content-Type: application/geo+json' -d "{\"type\":\"Feature\",\"properties\":{\"name\":\"bench grid $i\"}}" "$base/collections/grids/items/${g%% *}")
    done_e=$((done_e + 1)); [ "${res%% *}" = 200 ] && patches+=("$(ms_of "${res#* }")") || bad=$((bad + 1))
    res=$(bbox_read "$base"); done_r=$((done_r + 1))
    [ "${res%% *}" = 200 ] && reads+=("$(ms_of "${res#* }")") || bad=$((bad + 1))
    [ "$i" -ge 3 ] && [ $(( ($(now_ms) - t0) / 1000 )) -ge "$BUDGET" ] && { say "N=$n: PATCH budget of $BUDGET s spent after $i"; break; }
    kill -0 "$spid" 2>/dev/null || break
  done
  [ ${#creates[@]} -gt 0 ] && set_v "facility create via API, p50 (ms)" "$n" "$(p50 "${creates[@]}")$([ ${#creates[@]} -lt "$EDITS" ] && echo " (n=${#creates[@]})")"
  [ ${#patches[@]} -gt 0 ] && set_v "grid PATCH via API, p50 (ms)" "$n" "$(p50 "${patches[@]}")$([ ${#patches[@]} -lt "$EDITS" ] && echo " (n=${#patches[@]})")"
  [ ${#reads[@]} -gt 0 ] && set_v "bbox read (~1,000 bldgs) after an edit, p50 (ms)" "$n" "$(p50 "${reads[@]}") ($(pyv 'd["numberReturned"]' <"$T/bbox.json") bldgs)"
  set_v "server VmRSS after all edits (MB)" "$n" "$(mb "$(proc_kb "$spid" VmRSS)")"
  set_v "edits / bbox reads done (non-2xx)" "$n" "$done_e / $done_r ($bad)"
  local hwm; hwm=$(proc_kb "$spid" VmHWM); [ "${hwm:-0}" -gt "$peak" ] && peak=$hwm
  kill -0 "$spid" 2>/dev/null || set_v "server VmRSS after all edits (MB)" "$n" "server died"
  stop_serve "$spid"
  rm -f "$T/n$n.db"*
  [ $(( peak / 1024 / copies + 1 )) -gt $PER_COPY_RAM_MB ] && PER_COPY_RAM_MB=$(( peak / 1024 / copies + 1 ))

  if [ $PG = 1 ]; then bench_replicas "$n" "$lim"; else set_v "replica B serves A's edit (ms)" "$n" "— (--pg)"; fi
}

bench_replicas() { # N LIMIT: synth into a fresh PostGIS database, servers A and B, B's delay for A's edit
  local n=$1 lim=$2 name="gridmap_bench_scale_$$_$1"
  psql "$PGBASE" -qc "CREATE DATABASE $name" >/dev/null 2>&1 || { set_v "replica B serves A's edit (ms)" "$n" "no database"; return; }
  PGDBS+=("$name"); local db="${PGBASE%/*}/$name"
  psql "$db" -qc "CREATE EXTENSION IF NOT EXISTS postgis" >/dev/null 2>&1
  say "N=$n: synth into PostGIS"
  if ! guarded "pgsynth$n" "$lim" "$BIN" synth "$EXTRACT" -n "$n" --db "$db" --quiet; then set_v "replica B serves A's edit (ms)" "$n" "synth failed: $G_NOTE"; drop_db "$name"; return; fi
  local token; token=$(token_for "$db")
  local pa pb; pa=$(free_port); pb=$(free_port)
  if start_serve "pa$n" "$db" "$pa"; then local a=$S_PID
    if start_serve "pb$n" "$db" "$pb"; then local b=$S_PID
      local A="http://127.0.0.1:$pa" B="http://127.0.0.1:$pb" delays=() k code secs id lon lat t0 box hit
      cu -o /dev/null "$A/collections/facilities/items?limit=1"; cu -o /dev/null "$B/collections/facilities/items?limit=1"
      for k in 1 2 3; do
        read -r lon lat < <(point_in_bbox)
        read -r code secs id < <(create_at "$A" "$token" "$lon" "$lat" "replica bench $k")
        t0=$(now_ms); [ "$code" = 201 ] || continue
        box=$(python3 -c "print(f'{$lon-0.0005:.6f},{$lat-0.0005:.6f},{$lon+0.0005:.6f},{$lat+0.0005:.6f}')")
        hit=""
        while [ $(( $(now_ms) - t0 )) -lt 30000 ]; do
          if CURL_MAX=30 cu "$B/collections/facilities/items?bbox=$box&limit=10000" | pyv 'any(f.get("id")==A[0] for f in d["features"])' "$id" | grep -q True; then
            hit=$(( $(now_ms) - t0 )); break
          fi
          sleep 0.02
        done
        delays+=("${hit:-30000}")
      done
      if [ ${#delays[@]} -gt 0 ]; then
        local m; m=$(p50 "${delays[@]}")
        [ "$m" -ge 30000 ] 2>/dev/null && m="> 30000 (not seen)"
        set_v "replica B serves A's edit (ms)" "$n" "$m"
      else set_v "replica B serves A's edit (ms)" "$n" "create failed"; fi
      stop_serve "$b"
    else set_v "replica B serves A's edit (ms)" "$n" "B did not start"; fi
    stop_serve "$a"
  else set_v "replica B serves A's edit (ms)" "$n" "A did not start"; fi
  drop_db "$name"
}
drop_db() { psql "$PGBASE" -qc "DROP DATABASE IF EXISTS $1 WITH (FORCE)" >/dev/null 2>&1; }

echo "bench-scale: $(basename "$EXTRACT") tiled ${NS[*]}; binary $BIN ($("$BIN" --version 2>/dev/null)); $(nproc) cores, $(( $(mem_avail_mb) / 1024 )) GB RAM free" >&2
START=$(date +%s)
for n in "${NS[@]}"; do bench_n "$n"; done

# ratios to the 1×1 figures
for pair in "facility create via API, p50 (ms)|facility create p50 ÷ 1×1" "grid PATCH via API, p50 (ms)|grid PATCH p50 ÷ 1×1"; do
  src=${pair%|*}; dst=${pair#*|}; one=${V["$src|1"]:-}; one=${one%% *}
  for n in "${NS[@]}"; do
    v=${V["$src|$n"]:-}; v=${v%% *}
    [ -n "$one" ] && [ -n "$v" ] && [[ $v =~ ^[0-9.]+$ ]] && [[ $one =~ ^[0-9.]+$ ]] && set_v "$dst" "$n" "$(python3 -c "print(f'{$v / max($one, 0.001):.1f}')")"
  done
done

{
  printf '| measure | target (8×8) |'; for n in "${NS[@]}"; do printf ' %s×%s |' "$n" "$n"; done; echo
  printf '|---|---|'; for _ in "${NS[@]}"; do printf -- '---:|'; done; echo
  for r in "${ROWS[@]}"; do
    printf '| %s | %s |' "$r" "${TARGET[$r]}"
    for n in "${NS[@]}"; do printf ' %s |' "${V["$r|$n"]:-—}"; done; echo
  done
  echo
  echo "$(basename "$EXTRACT"), $(date -u +%Y-%m-%dT%H:%MZ), $("$BIN" --version 2>/dev/null), $(nproc) cores; $EDITS edits of each kind (budget $BUDGET s a loop); took $(( $(date +%s) - START )) s."
  echo "The shared coverage check (≥ 10× scipy) is measured by ../shared/checks/coverage.sh, not here."
} | tee ${GRIDMAP_BENCH_OUT:+"$GRIDMAP_BENCH_OUT"}
