#!/usr/bin/env bash
# End-to-end: exports in the formats GIS tools open (issue 17.4), read back by GDAL's ogrinfo.
# Every layer of Monaco in FlatGeobuf, GeoPackage, Shapefile, CSV and XLSX: the feature count
# equals the GeoJSON export's, and a grid code, a community name and a household count survive;
# CGCS2000 / GCJ-02 are named in the files and GCJ-02 coordinates are the shifted ones; a GBK
# shapefile says GBK in its .cpg and reads back in Chinese; an analysis result (gaps) converts
# with --input; refusals (unknown format, a shapefile of mixed geometry, a GeoPackage to stdout)
# leave no file. Over HTTP: OGC API items with f=fgb|gpkg|shp|csv|xlsx, read by ogrinfo.
source "$(dirname "$0")/lib.sh"
echo "export (binary: $BIN)"
command -v ogrinfo >/dev/null || { fail "ogrinfo (gdal-bin) is not installed"; summary; exit 1; }
M=$ROOT/data/monaco.osm.pbf
DB="sqlite://$T/x.db"
check "import monaco.osm.pbf" "$BIN" import "$M" --db "$DB" --quiet
check "partition" "$BIN" partition --db "$DB" --quiet
# (XLSX: the header row is forced, as GDAL guesses it only when a column holds numbers.)
count() { local oo=(); case "$1" in *.xlsx) oo=(--config OGR_XLSX_HEADERS FORCE);; esac
  ogrinfo -ro -al -so "${oo[@]}" "$@" 2>/dev/null | sed -n 's/^Feature Count: //p' | head -n 1; }
nfeat() { python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["features"]))' "$1"; }

for layer in buildings facilities grids communities network; do
  "$BIN" export --layer $layer --db "$DB" -o "$T/$layer.geojson" --quiet
  want=$(nfeat "$T/$layer.geojson")
  for fmt in fgb gpkg shp csv xlsx; do
    out="$T/$layer.$fmt"
    if ! "$BIN" export --layer $layer --db "$DB" -o "$out" --quiet 2>"$T/last.err"; then
      fail "export --layer $layer -o $layer.$fmt: $(head -c 300 "$T/last.err")"; continue
    fi
    got=$(count "$out" "$layer")
    [ -z "$got" ] && got=$(count "$out")
    [ "$got" = "$want" ] && pass "$layer.$fmt: GDAL reads $got features (= the GeoJSON export)" || fail "$layer.$fmt: GDAL reads '$got' features, want $want"
  done
done

# Values survive: a grid code and its community, in every format.
read -r code comm < <(python3 -c '
import json,sys
f=sorted(json.load(open(sys.argv[1]))["features"], key=lambda f: f["properties"]["code"])[0]["properties"]
print(f["code"], f.get("community") or "-")' "$T/grids.geojson")
for fmt in fgb gpkg shp csv xlsx; do
  ogrinfo -ro -al "$T/grids.$fmt" >"$T/grids-$fmt.txt" 2>/dev/null
  grep -q "$code" "$T/grids-$fmt.txt" && grep -q "$comm" "$T/grids-$fmt.txt" \
    && pass "grids.$fmt: grid $code of community $comm is in the file" || fail "grids.$fmt: $code / $comm not found"
done
grep -Eq "households: (Integer|Integer64|Real)" <(ogrinfo -ro -al -so "$T/buildings.gpkg" 2>/dev/null) \
  && pass "buildings.gpkg: households is a number column" || fail "buildings.gpkg: households not numeric"
ogrinfo -ro -al -so "$T/grids.gpkg" 2>&1 | grep -qi "warning\|error" && fail "grids.gpkg: GDAL warns: $(ogrinfo -ro -al -so "$T/grids.gpkg" 2>&1 | grep -i 'warning\|error' | head -n 2)" || pass "grids.gpkg: GDAL opens it without a warning"

# CRS: CGCS2000 by its EPSG code; GCJ-02 named, with shifted coordinates.
check "export grids --crs EPSG:4490 -o grids4490.gpkg" "$BIN" export --layer facilities --db "$DB" --crs EPSG:4490 -o "$T/f4490.gpkg" --quiet
ogrinfo -ro -al -so "$T/f4490.gpkg" 2>/dev/null | grep -q '4490\|China Geodetic Coordinate System 2000' && pass "CGCS2000 GeoPackage: EPSG:4490" || fail "CGCS2000 GeoPackage: no 4490 in $(ogrinfo -ro -al -so "$T/f4490.gpkg" 2>&1 | head -c 400)"
H="sqlite://$T/h.db"
check "import haidian.osm.pbf" "$BIN" import "$ROOT/data/haidian.osm.pbf" --db "$H" --quiet
"$BIN" export --layer buildings --db "$H" -o "$T/hb.geojson" --quiet
check "export haidian buildings --crs GCJ02 -o hgcj.fgb" "$BIN" export --layer buildings --db "$H" --crs GCJ02 -o "$T/hgcj.fgb" --quiet
ogr2ogr -f GeoJSON "$T/hgcj-back.geojson" "$T/hgcj.fgb" >/dev/null 2>&1
python3 - "$T/hgcj-back.geojson" "$T/hb.geojson" <<'EOF' && pass "GCJ-02 FlatGeobuf of Haidian: every building shifted 100-700 m off WGS84, ids and counts unchanged" || fail "GCJ-02 export coordinates"
import json, math, sys
a = {f["properties"]["id"]: f for f in json.load(open(sys.argv[1]))["features"]}
b = {f["properties"]["id"]: f for f in json.load(open(sys.argv[2]))["features"]}
def first(g):
    c = g["coordinates"]
    while isinstance(c[0], list):
        c = c[0]
    return c
ok = len(a) == len(b) > 0
for k, f in b.items():
    g = a.get(k)
    if g is None or g["properties"].get("households") != f["properties"].get("households"):
        ok = False; break
    (x0, y0), (x1, y1) = first(f["geometry"]), first(g["geometry"])
    d = math.hypot((x1 - x0) * 111320 * math.cos(math.radians(y0)), (y1 - y0) * 110540)
    if not 100 < d < 700:
        ok = False; break
sys.exit(0 if ok else 1)
EOF
ogrinfo -ro -al -so "$T/hgcj.fgb" 2>/dev/null | grep -q "GCJ-02" && pass "GCJ-02 FlatGeobuf names its CRS" || fail "GCJ-02 FlatGeobuf CRS: $(ogrinfo -ro -al -so "$T/hgcj.fgb" 2>&1 | grep -i 'crs\|GEOG' | head -n 3)"

# GBK shapefile.
check "export communities --format shp --encoding gbk" "$BIN" export --layer communities --db "$DB" --format shp --encoding gbk -o "$T/cgbk.shp" --quiet
[ "$(cat "$T/cgbk.cpg" 2>/dev/null)" = GBK ] && pass "GBK shapefile: .cpg says GBK" || fail "GBK .cpg: $(cat "$T/cgbk.cpg" 2>&1)"
[ "$(count "$T/cgbk.shp")" = "$(nfeat "$T/communities.geojson")" ] && pass "GBK shapefile: GDAL reads every community" || fail "GBK shapefile count"

# An analysis result converts.
"$BIN" gaps --db "$DB" --kind reading_room --minutes 15 --geojson "$T/gaps.geojson" >/dev/null 2>&1
check "export --input gaps.geojson -o gaps.gpkg" "$BIN" export --input "$T/gaps.geojson" -o "$T/gaps.gpkg" --quiet
[ "$(count "$T/gaps.gpkg")" = "$(nfeat "$T/gaps.geojson")" ] && pass "gaps.gpkg: every gap ($(nfeat "$T/gaps.geojson"))" || fail "gaps.gpkg: $(count "$T/gaps.gpkg") vs $(nfeat "$T/gaps.geojson")"
check "export --input gaps.geojson --format csv to stdout" bash -c "'$BIN' export --input '$T/gaps.geojson' --format csv | head -c 3 | od -An -tx1 | grep -q 'ef bb bf'"

# Refusals leave nothing.
mkdir -p "$T/bad"
check_fails "an unknown --format is refused" "$BIN" export --layer grids --db "$DB" --format kml -o "$T/bad/g.kml"
grep -q "kml" "$T/last.err" && pass "the error names the format" || fail "format error: $(cat "$T/last.err")"
python3 - "$T/grids.geojson" "$T/mixed.geojson" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1])); f = d["features"]
f[1]["geometry"] = {"type": "Point", "coordinates": [7.42, 43.73]}
json.dump(d, open(sys.argv[2], "w"))
EOF
check_fails "a shapefile of mixed geometry is refused" "$BIN" export --input "$T/mixed.geojson" -o "$T/bad/mixed.shp"
grep -q "feature" "$T/last.err" && pass "the error names the feature" || fail "mixed error: $(cat "$T/last.err")"
check_fails "a GeoPackage to stdout is refused" "$BIN" export --layer grids --db "$DB" --format gpkg
check_fails "an output with no known extension and no --format is refused" "$BIN" export --layer grids --db "$DB" -o "$T/bad/grids.dat"
[ -z "$(ls -A "$T/bad")" ] && pass "refused exports leave no file (nor a .part)" || fail "refused exports left: $(ls -A "$T/bad")"

# Over HTTP: OGC API items as files.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" serve --db "$DB" --bind "127.0.0.1:$port" >"$T/serve.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; lib_cleanup' EXIT
BASE="http://127.0.0.1:$port"
for _ in $(seq 1 100); do curl -fs "$BASE/health" >/dev/null 2>&1 && break; sleep 0.2; done
want=$(nfeat "$T/grids.geojson")
for fmt in fgb gpkg shp csv xlsx; do
  ext=$fmt; [ $fmt = shp ] && ext=shp.zip
  code=$(curl -s -D "$T/h.hdr" -o "$T/h.$ext" -w '%{http_code}' "$BASE/collections/grids/items?f=$fmt")
  src="$T/h.$ext"; [ $fmt = shp ] && src="/vsizip/$T/h.$ext"
  got=$(count "$src")
  [ "$code" = 200 ] && [ "$got" = "$want" ] && grep -qi "content-disposition: attachment; filename=\"grids.$ext\"" "$T/h.hdr" \
    && pass "GET /collections/grids/items?f=$fmt: 200, a $ext of all $got grids" || fail "f=$fmt: $code, '$got' of $want features, $(grep -i 'content-' "$T/h.hdr" | tr '\r\n' '  ')"
done
code=$(curl -s -o "$T/h1.gpkg" -w '%{http_code}' "$BASE/collections/buildings/items?f=gpkg&limit=5&crs=http://www.opengis.net/def/crs/EPSG/0/4490")
[ "$code" = 200 ] && [ "$(count "$T/h1.gpkg")" = 5 ] && pass "f=gpkg&limit=5&crs=EPSG:4490: 5 buildings" || fail "f=gpkg limit=5: $code $(count "$T/h1.gpkg")"
code=$(curl -s -o "$T/h.err" -w '%{http_code} %{content_type}' "$BASE/collections/grids/items?f=kml")
case "$code" in 400\ application/problem+json) pass "f=kml: $code";; *) fail "f=kml: $code";; esac
summary
