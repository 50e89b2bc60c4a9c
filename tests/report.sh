#!/usr/bin/env bash
# End-to-end: printable reports (issue 17) on Monaco. `gridmap report grids` (the atlas) and
# `gridmap report coverage`, read back with poppler: the page count (a cover + a page per grid),
# every grid code and its households in the text, Chinese text extractable (the font carries
# ToUnicode), the attribution on every map page, the coverage figure equal to `gridmap coverage`;
# refusals (bad paper, unknown community, unknown kind, empty minutes) that leave no file; the
# HTTP routes as PDF by role: a grid lead's atlas holds their grid only, a bad parameter is a
# problem+json 400. Page renders go to $GRIDMAP_REPORT_PNG (default: the scratch folder).
source "$(dirname "$0")/lib.sh"
echo "report (binary: $BIN)"
M=$ROOT/data/monaco.osm.pbf
DB="sqlite://$T/r.db"
PNG=${GRIDMAP_REPORT_PNG:-$T/png}
mkdir -p "$PNG"
for tool in pdfinfo pdftotext pdftoppm; do
  command -v $tool >/dev/null || { fail "$tool (poppler-utils) is not installed"; summary; exit 1; }
done
pages() { pdfinfo "$1" 2>/dev/null | sed -n 's/^Pages: *//p'; }

check "import monaco.osm.pbf" "$BIN" import "$M" --db "$DB" --quiet
check "partition" "$BIN" partition --db "$DB" --quiet
"$BIN" export --layer grids --db "$DB" >"$T/grids.geojson"
ngrids=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["features"]))' "$T/grids.geojson")
[ "$ngrids" -gt 1 ] && pass "Monaco has $ngrids grids" || fail "grids: $ngrids"

# --- the atlas -----------------------------------------------------------------------------
t0=$(date +%s.%N)
check "report grids -o atlas.pdf" "$BIN" report grids --db "$DB" -o "$T/atlas.pdf" --title "Monaco" --quiet
t1=$(date +%s.%N)
echo "  atlas of $ngrids grids: $(python3 -c "print(round($t1-$t0,2))") s, $(( $(stat -c %s "$T/atlas.pdf") / 1024 )) KB"
n=$(pages "$T/atlas.pdf")
[ "${n:-0}" -ge $((ngrids + 1)) ] && pass "atlas: $n pages ≥ a cover + $ngrids grid pages" || fail "atlas pages: '$n' for $ngrids grids"
pdftotext -layout "$T/atlas.pdf" "$T/atlas.txt"
missing=$(python3 - "$T/grids.geojson" "$T/atlas.txt" <<'EOF'
import json, sys
text = open(sys.argv[2], encoding="utf-8").read()
gone = [f["properties"]["code"] for f in json.load(open(sys.argv[1]))["features"] if f["properties"]["code"] not in text]
print(" ".join(gone))
EOF
)
[ -z "$missing" ] && pass "atlas: every grid code is in the text" || fail "atlas: grid codes missing from the text: $missing"
grep -q "网格" "$T/atlas.txt" && grep -q "户数" "$T/atlas.txt" && pass "atlas: Chinese text is extractable (网格, 户数)" || fail "atlas: no Chinese text in $(head -c 300 "$T/atlas.txt")"
attr=$(grep -c "© OpenStreetMap contributors" "$T/atlas.txt")
[ "$attr" -ge $((ngrids + 1)) ] && pass "atlas: the OSM attribution on every map ($attr)" || fail "atlas: attribution $attr times for $((ngrids + 1)) maps"
total=$("$BIN" coverage --db "$DB" --kind all --minutes 15 --json 2>/dev/null | json_get "['total_households']")
python3 - "$T/atlas.txt" "$total" <<'EOF' && pass "atlas: the cover's household total is the grids' total ($total)" || fail "atlas: total $total not on the cover"
import sys
text = open(sys.argv[1], encoding="utf-8").read().split("\f")[0]
total = int(sys.argv[2])
sys.exit(0 if f"{total:,}" in text or str(total) in text else 1)
EOF
grep -q "第 1 / $n 页\|1 / $n" "$T/atlas.txt" && pass "atlas: page footers count n / $n" || fail "atlas: no '1 / $n' footer"
pdftoppm -r 60 -png -f 1 -l 2 "$T/atlas.pdf" "$PNG/atlas" && pass "atlas: pages 1-2 render (pdftoppm) to $PNG" || fail "atlas: pdftoppm failed"

community=$(python3 -c 'import json,sys; print(sorted(f["properties"]["community"] for f in json.load(open(sys.argv[1]))["features"] if f["properties"].get("community"))[0])' "$T/grids.geojson")
incomm=$(python3 -c 'import json,sys; print(sum(1 for f in json.load(open(sys.argv[1]))["features"] if f["properties"].get("community")==sys.argv[2]))' "$T/grids.geojson" "$community")
check "report grids --community $community --paper a3-landscape" "$BIN" report grids --db "$DB" -o "$T/one.pdf" --community "$community" --paper a3-landscape --quiet
[ "$(pages "$T/one.pdf")" -ge $((incomm + 1)) ] && pass "one community: $(pages "$T/one.pdf") pages for its $incomm grids" || fail "one community: $(pages "$T/one.pdf") pages for $incomm grids"
pdfinfo "$T/one.pdf" | grep -q "1190.55 x 841.89\|1191 x 842" && pass "a3-landscape is 1191 × 842 pt" || fail "a3-landscape page size: $(pdfinfo "$T/one.pdf" | grep 'Page size')"

# --- refusals leave nothing behind ---------------------------------------------------------
check_fails "an unknown paper is refused" "$BIN" report grids --db "$DB" -o "$T/bad1.pdf" --paper b5
grep -q "paper" "$T/last.err" && pass "the error names --paper" || fail "paper error: $(cat "$T/last.err")"
check_fails "an unknown community is refused" "$BIN" report grids --db "$DB" -o "$T/bad2.pdf" --community no-such-community
grep -q "no-such-community" "$T/last.err" && pass "the error names the community" || fail "community error: $(cat "$T/last.err")"
check_fails "an empty kind is refused" "$BIN" report coverage --db "$DB" -o "$T/bad3.pdf" --kind ""
check_fails "a walk of 0 minutes is refused" "$BIN" report coverage --db "$DB" -o "$T/bad4.pdf" --kind all --minutes 0
ls "$T"/bad*.pdf* >/dev/null 2>&1 && fail "a refused report left a file: $(ls "$T"/bad*)" || pass "refused reports leave no file (nor a .part)"

# --- the coverage report --------------------------------------------------------------------
check "report coverage --kind reading_room --minutes 5,10,15" "$BIN" report coverage --db "$DB" --kind reading_room --minutes 5,10,15 -o "$T/cov.pdf" --quiet
pdftotext -layout "$T/cov.pdf" "$T/cov.txt"
"$BIN" coverage --db "$DB" --kind reading_room --minutes 15 --json >"$T/cov.json" 2>/dev/null
want=$(json_get "['pct']" <"$T/cov.json" | python3 -c 'import sys; print(f"{float(sys.stdin.read()):.1f} %")')
grep -qF "$want" "$T/cov.txt" && pass "coverage report: the headline $want = gridmap coverage" || fail "coverage report: '$want' not in the text"
grep -q "覆盖" "$T/cov.txt" && grep -q "© OpenStreetMap contributors" "$T/cov.txt" && pass "coverage report: Chinese text and the attribution" || fail "coverage report text: $(head -c 300 "$T/cov.txt")"
grep -q "proxy\|设施口径" "$T/cov.txt" && fail "coverage report: a proxy label on the strict profile" || pass "coverage report: no proxy label on the strict profile"
pdftoppm -r 60 -png -f 1 -l 1 "$T/cov.pdf" "$PNG/coverage" && pass "coverage report: page 1 renders" || fail "coverage report: pdftoppm failed"

# --- where new sites help most (MCLP inside the report) -------------------------------------
check "report coverage --kind reading_room --add-sites 3" "$BIN" report coverage --db "$DB" --kind reading_room --add-sites 3 --candidates 500 -o "$T/cov3.pdf" --quiet
pdftotext -layout "$T/cov3.pdf" "$T/cov3.txt"
python3 - "$T/cov3.txt" "$want" <<'EOF2' && pass "add-sites: a ranked table of 3 proposed sites, after ≥ now ($want)" || fail "add-sites page: $(grep -A12 '新增 3' "$T/cov3.txt" | head -c 600)"
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
page = next(p for p in text.split("\f") if "新增 3 处设施建议" in p)
ranks = re.findall(r"^\s+([123]) node-\d+", page, re.M)
pcts = [float(x) for x in re.findall(r"([\d.]+) %", page)[:2]]
now = float(sys.argv[2].split()[0])
sys.exit(0 if ranks == ["1", "2", "3"] and len(pcts) == 2 and abs(pcts[0] - now) < 0.05 and pcts[1] >= pcts[0] else 1)
EOF2
check_fails "--add-sites 51 is refused" "$BIN" report coverage --db "$DB" --kind reading_room --add-sites 51 -o "$T/bad5.pdf"
[ -e "$T/bad5.pdf" ] && fail "a refused --add-sites left a file" || pass "a refused --add-sites leaves no file"

# --- over HTTP, by role ---------------------------------------------------------------------
lead_grid=$(python3 -c 'import json,sys; print(sorted(f["properties"]["id"] for f in json.load(open(sys.argv[1]))["features"])[0])' "$T/grids.geojson")
lead_code=$(python3 -c 'import json,sys; print([f["properties"]["code"] for f in json.load(open(sys.argv[1]))["features"] if f["properties"]["id"]==sys.argv[2]][0])' "$T/grids.geojson" "$lead_grid")
"$BIN" user add ada --role admin --password pw-ada --db "$DB" >/dev/null
"$BIN" user add lee --role grid_lead --grids "$lead_grid" --password pw-lee --db "$DB" >/dev/null
ADMIN=$("$BIN" user token ada --db "$DB" | tail -n 1)
LEAD=$("$BIN" user token lee --db "$DB" | tail -n 1)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" serve --db "$DB" --bind "127.0.0.1:$port" >"$T/serve.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; lib_cleanup' EXIT
BASE="http://127.0.0.1:$port"
for _ in $(seq 1 100); do curl -fs "$BASE/health" >/dev/null 2>&1 && break; sleep 0.2; done
code=$(curl -s -o "$T/h-admin.pdf" -w '%{http_code} %{content_type}' -H "Authorization: Bearer $ADMIN" "$BASE/api/reports/grids.pdf")
[ "$code" = "200 application/pdf" ] && pass "GET /api/reports/grids.pdf (admin): $code" || fail "admin atlas: $code $(head -c 200 "$T/h-admin.pdf")"
[ "$(pages "$T/h-admin.pdf")" -ge $((ngrids + 1)) ] && pass "admin's atlas: every grid ($(pages "$T/h-admin.pdf") pages)" || fail "admin's atlas: $(pages "$T/h-admin.pdf") pages"
code=$(curl -s -o "$T/h-lead.pdf" -w '%{http_code}' -H "Authorization: Bearer $LEAD" "$BASE/api/reports/grids.pdf")
pdftotext -layout "$T/h-lead.pdf" "$T/h-lead.txt" 2>/dev/null
others=$(python3 - "$T/grids.geojson" "$T/h-lead.txt" "$lead_grid" <<'EOF'
import json, sys
text = open(sys.argv[2], encoding="utf-8").read()
print(" ".join(f["properties"]["code"] for f in json.load(open(sys.argv[1]))["features"]
               if f["properties"]["id"] != sys.argv[3] and f["properties"]["code"] in text))
EOF
)
[ "$code" = 200 ] && [ "$(pages "$T/h-lead.pdf")" -lt "$(pages "$T/h-admin.pdf")" ] && grep -q "$lead_code" "$T/h-lead.txt" && [ -z "$others" ] \
  && pass "grid lead's atlas: their grid $lead_code only ($(pages "$T/h-lead.pdf") pages)" || fail "grid lead's atlas: $code, $(pages "$T/h-lead.pdf") pages, other grids: '$others'"
other=$(python3 -c 'import json,sys; print(sorted(f["properties"]["id"] for f in json.load(open(sys.argv[1]))["features"])[-1])' "$T/grids.geojson")
code=$(curl -s -o "$T/h.err" -w '%{http_code}' -H "Authorization: Bearer $LEAD" "$BASE/api/reports/grids.pdf?grids=$other")
[ "$code" = 404 ] && grep -q "$other" "$T/h.err" && pass "grid lead asking for grid $other outside their scope: 404 naming it" || fail "grid lead, other grid: $code $(head -c 200 "$T/h.err")"
code=$(curl -s -o "$T/h-one.pdf" -w '%{http_code}' -H "Authorization: Bearer $ADMIN" "$BASE/api/reports/grids.pdf?grids=$lead_code,$other")
[ "$code" = 200 ] && [ "$(pages "$T/h-one.pdf")" -lt "$(pages "$T/h-admin.pdf")" ] && pdftotext "$T/h-one.pdf" - | grep -q "$lead_code" \
  && pass "grids=$lead_code,$other (a code and an id): $(pages "$T/h-one.pdf") pages" || fail "grids=: $code $(pages "$T/h-one.pdf") pages"
cc=$(curl -s -D "$T/h.hdr" -o "$T/h-cov.pdf" -w '%{http_code}' "$BASE/api/reports/coverage.pdf?kind=canteen&minutes=15,5")
[ "$cc" = 200 ] && grep -qi "cache-control: private, no-store" "$T/h.hdr" && pass "GET /api/reports/coverage.pdf (anonymous): 200, private, no-store" || fail "coverage.pdf: $cc $(cat "$T/h.hdr")"
pdftotext "$T/h-cov.pdf" - 2>/dev/null | grep -q "15 分钟" && pass "minutes=15,5: the widest circle is the headline" || fail "coverage.pdf headline"
code=$(curl -s -o "$T/h-cov3.pdf" -w '%{http_code}' "$BASE/api/reports/coverage.pdf?kind=reading_room&minutes=15&add_sites=2&candidates=300")
[ "$code" = 200 ] && pdftotext "$T/h-cov3.pdf" - 2>/dev/null | grep -q "新增 2 处设施建议" && pass "coverage.pdf?add_sites=2: the proposal page" || fail "coverage.pdf add_sites=2: $code"
for q in "grids.pdf?paper=b5" "grids.pdf?minutes=0" "grids.pdf?colour=red" "coverage.pdf" "coverage.pdf?kind=canteen&gaps=501" "coverage.pdf?kind=canteen&add_sites=51" "coverage.pdf?kind=canteen&add_sites=2&candidates=5" "grids.pdf?community=nope"; do
  code=$(curl -s -o "$T/h.err" -w '%{http_code} %{content_type}' -H "Authorization: Bearer $ADMIN" "$BASE/api/reports/$q")
  case "$code" in 400\ application/problem+json|404\ application/problem+json) pass "GET /api/reports/$q: $code";;
    *) fail "GET /api/reports/$q: $code $(head -c 200 "$T/h.err")";; esac
done
summary
