#!/usr/bin/env bash
# End-to-end: two `gridmap serve` replicas (A and B) over one PostGIS database see each other's
# writes (issue 12). Monaco is imported and partitioned once; then, with a planner token:
#   * a facility created through A is served by B within 2 s: in the facility list, a bbox query,
#     the facilities vector tile, the coverage analysis of its kind, and by item id;
#   * the same facility moved and renamed through A (PATCH): B's list, item, old and new bbox and
#     tile follow;
#   * a grid renamed through A (PATCH): B's item, list, grid detail and grids tile follow;
#   * a PATCH and a DELETE sent to B with the ETag that A's PATCH made stale are 412 and change
#     nothing (on A, on B, in the store);
#   * a facility file imported with `gridmap import` while both run is served by both within 2 s.
# Prints every measured propagation delay ("figure:" lines). Servers are stopped by the EXIT
# trap, the database dropped. Every curl has a timeout and every wait a deadline.
source "$(dirname "$0")/lib.sh"
echo "replicas (binary: $BIN)"
M=${GRIDMAP_REPLICAS_EXTRACT:-$SHARED/data/monaco.osm.pbf}
[ -f "$M" ] || M=$ROOT/data/monaco.osm.pbf
WINDOW_MS=${GRIDMAP_REPLICAS_WINDOW_MS:-2000}   # the issue's "within 2 s"
KIND=canteen                                      # the kind whose coverage must follow the edit

SERVERS=()
trap 'for p in "${SERVERS[@]}"; do kill "$p" 2>/dev/null; done; for p in "${SERVERS[@]}"; do wait "$p" 2>/dev/null; done; lib_cleanup' EXIT

cu() { curl -s --connect-timeout 3 --max-time "${CURL_MAX:-20}" "$@"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
# pyv EXPR ARGS... < JSON: prints the Python expression EXPR over the parsed body `d` (args in A).
pyv() { python3 -c 'import json,sys; d=json.load(sys.stdin); A=sys.argv[2:]; print(eval(sys.argv[1]))' "$@" 2>/dev/null; }
# pyt EXPR ARGS... < JSON: succeeds when EXPR is true.
pyt() { python3 -c 'import json,sys; d=json.load(sys.stdin); A=sys.argv[2:]; sys.exit(0 if eval(sys.argv[1]) else 1)' "$@" 2>/dev/null; }
etag_of() { tr -d '\r' < "$1" | awk -F': ' 'tolower($1)=="etag"{print $2}' | tail -n 1; }

# start_server NAME PORT: starts `gridmap serve` on the database, waits (max 60 s) for /health.
start_server() {
  local name=$1 port=$2
  "$BIN" serve --db "$DB" --bind "127.0.0.1:$port" >"$T/serve-$name.log" 2>&1 &
  local pid=$!; SERVERS+=("$pid")
  for _ in $(seq 1 300); do
    cu --max-time 2 -f "http://127.0.0.1:$port/health" >/dev/null 2>&1 && { pass "replica $name (pid $pid) answers /health on port $port"; return 0; }
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  fail "replica $name did not start: $(tail -n 3 "$T/serve-$name.log" | tr '\n' ' ')"; return 1
}

# within LABEL T0 COMMAND...: polls COMMAND (every 50 ms) until it succeeds or WINDOW_MS after T0
# (ms) have passed; passes with the delay since T0, fails past the window. One try at least.
DELAYS=()
within() {
  local label=$1 t0=$2; shift 2
  local deadline=$((t0 + WINDOW_MS)) n=0 t
  while :; do
    if "$@" >/dev/null 2>&1; then
      t=$(( $(now_ms) - t0 ))
      if [ "$t" -le "$WINDOW_MS" ]; then pass "$label (after $t ms)"; DELAYS+=("$label: $t ms"); return 0; fi
      fail "$label only after $t ms (window $WINDOW_MS ms)"; DELAYS+=("$label: $t ms (late)"); return 1
    fi
    n=$((n + 1))
    if [ "$(now_ms)" -ge "$deadline" ] || [ $n -ge 2000 ]; then
      fail "$label: not served within $WINDOW_MS ms ($n tries)"; DELAYS+=("$label: not within $WINDOW_MS ms"); return 1
    fi
    sleep 0.05
  done
}

# --- the probes: each succeeds when the server at $1 shows the expected state
list_has() { # BASE COLLECTION ID [NAME]: the full list holds ID (with NAME)
  cu "$1/collections/$2/items?limit=10000" | pyt 'any(f.get("id")==A[0] and (len(A)<2 or f["properties"].get("name")==A[1]) for f in d["features"])' "${@:3}"
}
item_has() { # BASE COLLECTION ID NAME: the item by id has NAME
  cu -f "$1/collections/$2/items/$3" | pyt 'd["properties"].get("name")==A[0]' "$4"
}
bbox_has() { # BASE BBOX ID: a bbox query of facilities returns ID
  cu -f "$1/collections/facilities/items?bbox=$2&limit=10000" | pyt 'any(f.get("id")==A[0] for f in d["features"])' "$3"
}
bbox_lacks() { # BASE BBOX ID: the bbox query answers and does not return ID
  cu -f "$1/collections/facilities/items?bbox=$2&limit=10000" | pyt 'all(f.get("id")!=A[0] for f in d["features"])' "$3"
}
tile_has() { # BASE LAYER Z/X/Y TEXT: the vector tile's bytes contain TEXT (an id or a name)
  local f; f=$(mktemp "$T/tile.XXXXXX")
  [ "$(cu -o "$f" -w '%{http_code}' "$1/tiles/$2/$3.mvt")" = 200 ] && grep -qaF -- "$4" "$f"; local rc=$?; rm -f "$f"; return $rc
}
coverage_moved() { # BASE FACILITIES COVERED: coverage of KIND counts FACILITIES sites and a covered figure other than COVERED
  cu -f "$1/api/coverage?kind=$KIND" | pyt 'd["facilities"]==int(A[0]) and d["covered_households"]!=int(A[1])' "$2" "$3"
}
grid_detail_has() { # BASE GRID NAME
  cu -f "$1/api/grids/$2" | pyt '(d.get("grid",{}).get("properties",{}).get("name") or d.get("grid",{}).get("name"))==A[0]' "$3"
}
# tile_of LON LAT Z: "z/x/y" of the tile holding the point.
tile_of() { python3 -c 'import math,sys; lon,lat,z=float(sys.argv[1]),float(sys.argv[2]),int(sys.argv[3]); n=2**z
print(f"{z}/{int((lon+180)/360*n)}/{int((1-math.asinh(math.tan(math.radians(lat)))/math.pi)/2*n)}")' "$@"; }
bbox_around() { python3 -c 'import sys; x,y,r=map(float,sys.argv[1:4]); print(f"{x-r:.6f},{y-r:.6f},{x+r:.6f},{y+r:.6f}")' "$1" "$2" "${3:-0.0005}"; }

# --- one database, imported and partitioned once
DB=$(fresh_pg) || { fail "create a PostGIS database"; summary; exit 1; }
PGDBS+=("${DB##*/}")   # fresh_pg ran in a subshell: register the database for the cleanup here
check "import $(basename "$M") into PostGIS" "$BIN" import "$M" --facility-tags proxy --db "$DB" --quiet
check "partition" "$BIN" partition --db "$DB" --quiet
echo "replicas-planner-pw" | "$BIN" user add replicas --role planner --password-stdin --db "$DB" --quiet >/dev/null 2>"$T/user.err" \
  && pass "planner user added" || fail "gridmap user add: $(head -c 200 "$T/user.err")"
TOKEN=$("$BIN" user token replicas --name replicas --json --db "$DB" --quiet 2>"$T/token.err" | tail -n 1 | pyv 'd["token"]')
[ -n "$TOKEN" ] && pass "API token created" || fail "gridmap user token: $(head -c 200 "$T/token.err")"
AUTH=(-H "Authorization: Bearer ${TOKEN:-none}")

PA=$(free_port); PB=$(free_port); while [ "$PB" = "$PA" ]; do PB=$(free_port); done
A="http://127.0.0.1:$PA"; B="http://127.0.0.1:$PB"
start_server A "$PA" && start_server B "$PB" || { summary; exit 1; }
# Warm both (the first read of a server may load its state): the delays below are propagation.
for base in "$A" "$B"; do CURL_MAX=120 cu -o /dev/null "$base/collections/facilities/items?limit=1"; CURL_MAX=120 cu -o /dev/null "$base/api/coverage?kind=$KIND"; done

# --- where to put the new facility: the building farthest from every facility of KIND (so its
# coverage must change), read from B before any edit
cu "$B/collections/facilities/items?limit=10000" >"$T/fac0.json"
cu "$B/api/buildings?limit=10000" >"$T/bld0.json"
read -r LON LAT < <(python3 - "$T/fac0.json" "$T/bld0.json" "$KIND" <<'EOF' 2>/dev/null
import json, math, sys
fac = [f for f in json.load(open(sys.argv[1]))["features"] if f["properties"].get("kind") == sys.argv[3] and f.get("geometry")]
sites = [f["geometry"]["coordinates"] for f in fac]
def first(g):
    c = g["coordinates"]
    while isinstance(c[0], list):
        c = c[0]
    return c
best, far = None, -1.0
for b in json.load(open(sys.argv[2]))["features"]:
    if not b.get("geometry"):
        continue
    x, y = first(b["geometry"])
    d = min((math.hypot((x - s[0]) * math.cos(math.radians(y)), y - s[1]) for s in sites), default=1.0)
    if d > far:
        best, far = (x, y), d
print(f"{best[0]:.6f} {best[1]:.6f}")
EOF
)
[ -n "${LON:-}" ] && pass "site for a new $KIND, far from the others: $LON,$LAT" || { fail "could not read facilities/buildings from B"; summary; exit 1; }
n_fac0=$(cu "$B/collections/facilities/items?limit=10000" | pyv 'len(d["features"])')
read -r cov_n0 cov_h0 < <(cu "$B/api/coverage?kind=$KIND" | pyv 'str(d["facilities"])+" "+str(d["covered_households"])')
TILE=$(tile_of "$LON" "$LAT" 16)
cu -D "$T/tile0.h" -o "$T/tile0.mvt" "$B/tiles/facilities/$TILE.mvt"
echo "  before: B lists ${n_fac0:-?} facilities; coverage of $KIND: ${cov_n0:-?} sites, ${cov_h0:-?} covered households; tile $TILE $(stat -c %s "$T/tile0.mvt" 2>/dev/null) bytes"

# --- 1. facility create through A
NAME="replica e2e $$-$RANDOM"
code=$(cu -D "$T/create.h" -o "$T/create.json" -w '%{http_code}' -X POST "${AUTH[@]}" -H 'Content-Type: application/geo+json' \
  -d "{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":[$LON,$LAT]},\"properties\":{\"kind\":\"$KIND\",\"name\":\"$NAME\"}}" \
  "$A/collections/facilities/items")
t0=$(now_ms)
FID=$(pyv 'd["id"]' <"$T/create.json")
[ "$code" = 201 ] && [ -n "$FID" ] && pass "facility created through A (201, id $FID)" || { fail "facility create through A gave $code: $(head -c 200 "$T/create.json")"; summary; exit 1; }
FIDQ=$(python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$FID")
BOX=$(bbox_around "$LON" "$LAT")
within "B serves A's new facility by id" "$t0" item_has "$B" facilities "$FIDQ" "$NAME"
within "B lists A's new facility" "$t0" list_has "$B" facilities "$FID" "$NAME"
within "B's bbox query returns A's new facility" "$t0" bbox_has "$B" "$BOX" "$FID"
within "B's facilities tile $TILE holds A's new facility" "$t0" tile_has "$B" facilities "$TILE" "$FID"
within "B's coverage of $KIND counts A's new site and changes" "$t0" coverage_moved "$B" $((cov_n0 + 1)) "$cov_h0"
cu -D "$T/tile1.h" -o "$T/tile1.mvt" "$B/tiles/facilities/$TILE.mvt"
[ "$(etag_of "$T/tile0.h")" != "$(etag_of "$T/tile1.h")" ] && pass "B's tile ETag changed ($(etag_of "$T/tile0.h") → $(etag_of "$T/tile1.h"))" \
  || fail "B's facilities tile $TILE kept its ETag $(etag_of "$T/tile1.h") after A's create"
list_has "$A" facilities "$FID" "$NAME" && pass "A lists its own new facility" || fail "A does not list the facility it created"

# --- 2. facility PATCH through A (renamed and moved ~300 m east), then stale writes to B
cu -D "$T/b-item.h" -o /dev/null "$B/collections/facilities/items/$FIDQ"
cu -D "$T/a-item.h" -o /dev/null "$A/collections/facilities/items/$FIDQ"
OLD_ETAG=$(etag_of "$T/a-item.h")
[ -n "$OLD_ETAG" ] && [ "$OLD_ETAG" = "$(etag_of "$T/b-item.h")" ] && pass "A and B give the same ETag for the facility ($OLD_ETAG)" \
  || fail "ETags differ: A $OLD_ETAG, B $(etag_of "$T/b-item.h")"
LON2=$(python3 -c "print(f'{$LON + 0.004:.6f}')"); NAME2="$NAME renamed"
code=$(cu -D "$T/patch.h" -o "$T/patch.json" -w '%{http_code}' -X PATCH "${AUTH[@]}" -H "If-Match: $OLD_ETAG" -H 'Content-Type: application/geo+json' \
  -d "{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":[$LON2,$LAT]},\"properties\":{\"name\":\"$NAME2\"}}" \
  "$A/collections/facilities/items/$FIDQ")
t0=$(now_ms); NEW_ETAG=$(etag_of "$T/patch.h")
[ "$code" = 200 ] && pass "facility renamed and moved through A (200, ETag $OLD_ETAG → $NEW_ETAG)" || fail "facility PATCH through A gave $code: $(head -c 200 "$T/patch.json")"
BOX2=$(bbox_around "$LON2" "$LAT"); TILE2=$(tile_of "$LON2" "$LAT" 16)
within "B serves the new name by id" "$t0" item_has "$B" facilities "$FIDQ" "$NAME2"
within "B lists the new name" "$t0" list_has "$B" facilities "$FID" "$NAME2"
within "B's bbox query at the new place returns it" "$t0" bbox_has "$B" "$BOX2" "$FID"
within "B's bbox query at the old place no longer returns it" "$t0" bbox_lacks "$B" "$BOX" "$FID"
within "B's tile $TILE2 shows the new name" "$t0" tile_has "$B" facilities "$TILE2" "$NAME2"

cu -o "$T/b-before.json" "$B/collections/facilities/items/$FIDQ"; cu -o "$T/a-before.json" "$A/collections/facilities/items/$FIDQ"
code=$(cu -o "$T/stale.json" -w '%{http_code}' -X PATCH "${AUTH[@]}" -H "If-Match: $OLD_ETAG" -H 'Content-Type: application/geo+json' \
  -d '{"type":"Feature","properties":{"name":"stale write to B"}}' "$B/collections/facilities/items/$FIDQ")
[ "$code" = 412 ] && pass "PATCH to B with the ETag A made stale → 412" || fail "stale PATCH to B gave $code: $(head -c 200 "$T/stale.json")"
code=$(cu -o "$T/stale-del.json" -w '%{http_code}' -X DELETE "${AUTH[@]}" -H "If-Match: $OLD_ETAG" "$B/collections/facilities/items/$FIDQ")
[ "$code" = 412 ] && pass "DELETE to B with the stale ETag → 412" || fail "stale DELETE to B gave $code: $(head -c 200 "$T/stale-del.json")"
cu -D "$T/b-after.h" -o "$T/b-after.json" "$B/collections/facilities/items/$FIDQ"; cu -o "$T/a-after.json" "$A/collections/facilities/items/$FIDQ"
cmp -s "$T/b-before.json" "$T/b-after.json" && cmp -s "$T/a-before.json" "$T/a-after.json" && pass "the stale writes changed nothing on A or B" \
  || fail "a stale write changed the facility (B: $(head -c 160 "$T/b-after.json"))"
"$BIN" export --layer facilities --db "$DB" 2>/dev/null | pyt 'any((f.get("id") or f["properties"].get("id"))==A[0] and f["properties"].get("name")==A[1] for f in d["features"])' "$FID" "$NAME2" \
  && pass "the store holds A's name, not the stale one" || fail "the store does not hold A's name for $FID"
[ "$(etag_of "$T/b-after.h")" = "$NEW_ETAG" ] && pass "B gives A's new ETag ($NEW_ETAG)" || fail "B gives ETag $(etag_of "$T/b-after.h"), A gave $NEW_ETAG"

# --- 3. grid PATCH through A
cu "$A/collections/grids/items?limit=1" >"$T/grid.json"
GID=$(pyv 'd["features"][0]["id"]' <"$T/grid.json")
read -r GLON GLAT < <(python3 - "$T/grid.json" <<'EOF' 2>/dev/null
import json, sys
g = json.load(open(sys.argv[1]))["features"][0]["geometry"]
pts = []
def walk(c):
    if isinstance(c[0], (int, float)):
        pts.append(c)
    else:
        for x in c:
            walk(x)
walk(g["coordinates"])
print(sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts))
EOF
)
if [ -z "$GID" ] || [ -z "${GLON:-}" ]; then fail "no grid to edit (partition stored none?)"; else
  GIDQ=$(python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$GID")
  GETAG=$(cu -D - -o /dev/null "$A/collections/grids/items/$GIDQ" | tr -d '\r' | awk -F': ' 'tolower($1)=="etag"{print $2}')
  GNAME="replica grid $$-$RANDOM"
  code=$(cu -o "$T/gpatch.json" -w '%{http_code}' -X PATCH "${AUTH[@]}" -H "If-Match: $GETAG" -H 'Content-Type: application/geo+json' \
    -d "{\"type\":\"Feature\",\"properties\":{\"name\":\"$GNAME\"}}" "$A/collections/grids/items/$GIDQ")
  t0=$(now_ms)
  [ "$code" = 200 ] && pass "grid $GID renamed through A (200)" || fail "grid PATCH through A gave $code: $(head -c 200 "$T/gpatch.json")"
  GTILE=$(tile_of "$GLON" "$GLAT" 15)
  within "B serves the grid's new name by id" "$t0" item_has "$B" grids "$GIDQ" "$GNAME"
  within "B lists the grid's new name" "$t0" list_has "$B" grids "$GID" "$GNAME"
  within "B's grid detail (/api/grids) has the new name" "$t0" grid_detail_has "$B" "$GIDQ" "$GNAME"
  within "B's grids tile $GTILE shows the new name" "$t0" tile_has "$B" grids "$GTILE" "$GNAME"
  code=$(cu -o /dev/null -w '%{http_code}' -X PATCH "${AUTH[@]}" -H "If-Match: $GETAG" -H 'Content-Type: application/geo+json' \
    -d '{"type":"Feature","properties":{"name":"stale grid write to B"}}' "$B/collections/grids/items/$GIDQ")
  [ "$code" = 412 ] && item_has "$B" grids "$GIDQ" "$GNAME" && pass "grid PATCH to B with the stale ETag → 412, name kept" || fail "stale grid PATCH to B gave $code"
fi

# --- 4. `gridmap import` of a facility file while both replicas run
ILON=$(python3 -c "print(f'{$LON - 0.003:.6f}')"); IID="e2e-import-$$-$RANDOM"; INAME="imported while serving $$"
cat >"$T/extra.geojson" <<EOF
{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[$ILON,$LAT]},
 "properties":{"id":"$IID","kind":"reading_room","name":"$INAME"}}]}
EOF
check "gridmap import of a facility GeoJSON while A and B run" "$BIN" import "$T/extra.geojson" --layer facilities --db "$DB" --quiet
t0=$(now_ms); IBOX=$(bbox_around "$ILON" "$LAT")
for r in A B; do
  base=$A; [ $r = B ] && base=$B
  within "$r serves the imported facility by id" "$t0" item_has "$base" facilities "$IID" "$INAME"
  within "$r lists the imported facility" "$t0" list_has "$base" facilities "$IID" "$INAME"
  within "$r's bbox query returns the imported facility" "$t0" bbox_has "$base" "$IBOX" "$IID"
done

# --- the servers survived
for i in 0 1; do
  r=A; [ $i = 1 ] && r=B
  kill -0 "${SERVERS[$i]}" 2>/dev/null && pass "replica $r still running" || fail "replica $r died: $(tail -n 3 "$T/serve-$r.log" | tr '\n' ' ')"
  grep -qi "panicked" "$T/serve-$r.log" && fail "replica $r logged a panic: $(grep -m1 -i panicked "$T/serve-$r.log")"
done
echo "  figure: propagation delays (window $WINDOW_MS ms; measured from the writer's answer, polling every 50 ms):"
for d in "${DELAYS[@]}"; do echo "    $d"; done
summary
