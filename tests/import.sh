#!/usr/bin/env bash
# End-to-end: imports into SQLite and PostGIS; bad input fails cleanly and changes nothing.
source "$(dirname "$0")/lib.sh"
echo "import (binary: $BIN)"
M=$ROOT/data/monaco.osm.pbf
H=$ROOT/data/haidian.osm.pbf
for backend in sqlite postgres; do
  if [ $backend = sqlite ]; then DB="sqlite://$T/city.db"; else DB=$(fresh_pg) || { fail "create a PostGIS database"; continue; }; fi
  check "$backend: import monaco.osm.pbf" "$BIN" import "$M" --db "$DB" --json --quiet
  # Monaco has 23,373 building ways/relations (osmium); a few have fewer than 3 distinct nodes and
  # cannot be polygons: each must be reported as skipped, so imported + skipped = 23,373.
  n=$(json_get "['buildings']" < "$T/last.out" 2>/dev/null)
  sk=$(python3 -c "import json,sys; d=json.loads(open(sys.argv[1]).read().strip().splitlines()[-1]); print(sum(1 for s in d['skipped'] if s['reason'].startswith('building')))" "$T/last.out" 2>/dev/null)
  [ -n "$n" ] && [ -n "$sk" ] && [ $((n + sk)) = 23373 ] && [ "$n" -ge 23256 ] \
    && pass "$backend: $n buildings imported + $sk degenerate ones reported = 23373" \
    || fail "$backend: buildings imported = '$n', reported skipped '$sk', expected 23373 in all"
  check "$backend: import haidian.osm.pbf on top" "$BIN" import "$H" --db "$DB" --quiet
  before=$(fingerprint "$DB")
  # Facility profiles (issue 19): an unknown name is refused naming the choices; a dry run
  # prints the report and writes nothing.
  check_fails "$backend: an unknown facility profile is refused" "$BIN" import "$M" --facility-tags lenient --db "$DB" --quiet
  grep -q "unknown facility tag profile 'lenient'" "$T/last.err" && grep -q proxy "$T/last.err" \
    && pass "$backend: the error names the profile and the choices" || fail "$backend: the error does not name 'lenient' and the choices"
  check "$backend: dry run with the proxy profile" "$BIN" import "$M" --facility-tags proxy --dry-run --db "$DB" --json --quiet
  python3 -c "import json,sys; d=json.loads(open(sys.argv[1]).read().strip().splitlines()[-1]); f=d['facility_tags']; assert d['dry_run'] and f['profile']['name']=='proxy' and sum(f['matched']['canteen'].values())==77, f" "$T/last.out" 2>/dev/null \
    && pass "$backend: the dry run reports 77 proxy canteens" || fail "$backend: the dry run report is not the proxy's"
  [ "$(fingerprint "$DB")" = "$before" ] && pass "$backend: database unchanged by the refused profile and the dry run" || fail "$backend: database changed"

  # truncated PBF
  head -c 800000 "$M" > "$T/broken.osm.pbf"
  check_fails "$backend: truncated .osm.pbf is refused" "$BIN" import "$T/broken.osm.pbf" --db "$DB" --quiet
  [ "$(fingerprint "$DB")" = "$before" ] && pass "$backend: database unchanged after the truncated file" || fail "$backend: database changed"
  # GeoJSON with a duplicate id, and a wrong geometry type
  cat > "$T/dup.geojson" <<'J'
{"type":"FeatureCollection","features":[
 {"type":"Feature","properties":{"id":"b1","households":10},"geometry":{"type":"Polygon","coordinates":[[[7.42,43.73],[7.4201,43.73],[7.4201,43.7301],[7.42,43.73]]]}},
 {"type":"Feature","properties":{"id":"b1","households":12},"geometry":{"type":"Polygon","coordinates":[[[7.43,43.73],[7.4301,43.73],[7.4301,43.7301],[7.43,43.73]]]}}]}
J
  check_fails "$backend: duplicate building id is refused" "$BIN" import "$T/dup.geojson" --layer buildings --db "$DB" --quiet
  grep -q b1 "$T/last.err" && pass "$backend: the error names the duplicate id" || fail "$backend: the error does not name b1"
  cat > "$T/line.geojson" <<'J'
{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"x9","kind":"canteen"},"geometry":{"type":"LineString","coordinates":[[7.42,43.73],[7.43,43.74]]}}]}
J
  check_fails "$backend: a LineString facility is refused" "$BIN" import "$T/line.geojson" --layer facilities --db "$DB" --quiet
  grep -q x9 "$T/last.err" && pass "$backend: the error names feature x9" || fail "$backend: the error does not name x9"
  check_fails "$backend: unknown CRS is refused" "$BIN" import "$T/dup.geojson" --layer buildings --crs EPSG:3857 --db "$DB" --quiet
  # CSV with an unknown building on line 3: nothing applied
  real=$("$BIN" export --layer buildings --db "$DB" | python3 -c 'import json,sys; print(json.load(sys.stdin)["features"][0]["properties"]["id"])')
  printf 'building_id,households,elderly\n%s,987654,2\nnope,5,1\n' "$real" > "$T/hh.csv"
  check_fails "$backend: CSV row for an unknown building is refused" "$BIN" import "$T/hh.csv" --db "$DB" --quiet
  grep -q "hh.csv:3" "$T/last.err" && pass "$backend: the error names hh.csv:3" || fail "$backend: the error does not name hh.csv:3 ($(head -c 200 "$T/last.err"))"
  [ "$(fingerprint "$DB")" = "$before" ] && pass "$backend: database unchanged after the bad inputs" || fail "$backend: database changed by a failed import"
  "$BIN" export --layer buildings --db "$DB" | grep -q 987654 && fail "$backend: the good row of a failed CSV was applied" || pass "$backend: no row of the failed CSV was applied"
  printf 'building_id,households,elderly\n%s,987654,2\n' "$real" > "$T/good.csv"
  check "$backend: a good CSV updates the building" "$BIN" import "$T/good.csv" --db "$DB" --quiet
  "$BIN" export --layer buildings --db "$DB" | python3 -c "
import json,sys
f=[f for f in json.load(sys.stdin)['features'] if f['properties']['id']=='$real'][0]['properties']
assert f['households']==987654 and f.get('elderly')==2 and f.get('households_source')=='imported', f" && pass "$backend: households 987654, elderly 2, source imported" || fail "$backend: CSV update not visible in the export"
done
# Every shared extract imports, and a corrupted copy of each (cut in half; bytes flipped in the
# middle) fails with a message and leaves the database exactly as it was.
if [ -d "$SHARED/data" ]; then
  DB="sqlite://$T/all.db"
  for f in "$SHARED"/data/*.osm "$SHARED"/data/*.osm.pbf; do
    [ -e "$f" ] || continue
    name=$(basename "$f")
    check "import $name" "$BIN" import "$f" --db "$DB" --quiet
    before=$(fingerprint "$DB")
    size=$(stat -c %s "$f"); ext=${name#*.}
    head -c $((size / 2)) "$f" > "$T/cut.$ext"
    check_fails "a truncated $name is refused" "$BIN" import "$T/cut.$ext" --db "$DB" --quiet
    python3 - "$f" "$T/flip.$ext" <<'P'
import sys
b = bytearray(open(sys.argv[1], "rb").read()); n = len(b)
for i in range(n // 3, n // 3 + 4096): b[i] ^= 0x5A
open(sys.argv[2], "wb").write(bytes(b))
P
    check_fails "a corrupted $name is refused" "$BIN" import "$T/flip.$ext" --db "$DB" --quiet
    [ "$(fingerprint "$DB")" = "$before" ] && pass "database unchanged after the broken copies of $name" || fail "a broken copy of $name changed the database"
  done
else
  echo "  (no $SHARED/data: shared extracts not tested)"
fi

# GCJ-02 round trip: export in GCJ-02, re-import with --crs gcj02 into a fresh DB: same coordinates (< 0.5 m)
DB="sqlite://$T/gcj.db"
check "import haidian" "$BIN" import "$H" --db "$DB" --quiet
check "export buildings in GCJ-02" "$BIN" export --layer buildings --crs GCJ02 --db "$DB" -o "$T/gcj.geojson"
check "export buildings in WGS84" "$BIN" export --layer buildings --db "$DB" -o "$T/wgs.geojson"
check "re-import the GCJ-02 export with --crs GCJ02" "$BIN" import "$T/gcj.geojson" --layer buildings --crs GCJ02 --db "sqlite://$T/gcj2.db" --quiet
check "export the re-import in WGS84" "$BIN" export --layer buildings --db "sqlite://$T/gcj2.db" -o "$T/wgs2.geojson"
check "GCJ-02 round trip within 0.5 m and GCJ-02 really shifted" python3 - "$T/wgs.geojson" "$T/wgs2.geojson" "$T/gcj.geojson" <<'P'
import json, math, sys
def pts(p):
    out = {}
    for f in json.load(open(p))["features"]:
        g = f["geometry"]; c = g["coordinates"]
        while isinstance(c[0][0], list): c = c[0]
        out[f["properties"]["id"]] = c[0]
    return out
a, b, g = pts(sys.argv[1]), pts(sys.argv[2]), pts(sys.argv[3])
def m(p, q): return math.hypot((p[0]-q[0])*111320*math.cos(math.radians(p[1])), (p[1]-q[1])*110540)
assert a.keys() == b.keys() and len(a) > 200, (len(a), len(b))
worst = max(m(a[k], b[k]) for k in a); shift = min(m(a[k], g[k]) for k in a)
print("worst", worst, "min shift", shift)
assert worst < 0.5 and shift > 100
P
summary
