#!/usr/bin/env python3
"""Regenerates the committed seed corpora under crates/fuzz/corpus/ (a few KB each).

Inputs: small cuts of the real extracts (data/*.osm.pbf, ../shared/data/haidian.osm) made with
osmium (apt: osmium-tool), a hand-written OSM file holding every layer the importer builds, the
GeoJSON export of that file (written by `gridmap export`, path in $GRIDMAP_BIN, default
target/release/gridmap), household CSVs, query strings, If-Match headers and edit geometries.
Run from the repository root: python3 crates/fuzz/make_seeds.py
"""
import json, os, pathlib, shutil, subprocess, sys, tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "crates/fuzz/corpus"
SHARED = pathlib.Path(os.environ.get("GRIDMAP_SHARED", ROOT.parent / "shared"))
BIN = os.environ.get("GRIDMAP_BIN", str(ROOT / "target/release/gridmap"))
TMP = pathlib.Path(tempfile.mkdtemp())


def put(target, name, data):
    d = OUT / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def osmium(*args):
    subprocess.run(["osmium", *args, "--overwrite"], check=True, stderr=subprocess.DEVNULL)


# ---- a hand-written OSM file with every layer: street, community, compound, buildings (way and
# multipolygon relation), facilities (node and area), walking network, a barrier.
def square(id0, x, y, s):
    pts = [(x, y), (x + s, y), (x + s, y + s), (x, y + s)]
    return "".join(f"<node id='{id0 + i}' lon='{116.3 + a * 1e-4:.7f}' lat='{39.9 + b * 1e-4:.7f}'/>\n" for i, (a, b) in enumerate(pts))


def closed(wid, n0, tags):
    return f"<way id='{wid}'><nd ref='{n0}'/><nd ref='{n0 + 1}'/><nd ref='{n0 + 2}'/><nd ref='{n0 + 3}'/><nd ref='{n0}'/>{tags}</way>\n"


def t(k, v):
    return f"<tag k='{k}' v='{v}'/>"


FULL = "<?xml version='1.0' encoding='UTF-8'?>\n<osm version='0.6'>\n" + "".join([
    square(1, 0, 0, 1), square(5, 3, 0, 1), square(9, 0, 3, 2), square(13, 0.5, 3.5, 0.5),
    square(21, -5, -5, 20), square(31, -50, -50, 200), square(41, -60, -60, 300),
    "<node id='51' lon='116.3002000' lat='39.9002000'>" + t("amenity", "community_centre") + t("name", "服务站") + "</node>\n",
    "<node id='52' lon='116.3001000' lat='39.8999000'/><node id='53' lon='116.3006000' lat='39.8999000'/>\n",
    closed(100, 1, t("building", "apartments") + t("building:levels", "6") + t("name", "3号楼") + t("addr:street", "学院路") + t("addr:housenumber", "17号")),
    closed(101, 5, t("building", "residential") + t("building:flats", "24")),
    "<way id='102'><nd ref='9'/><nd ref='10'/><nd ref='11'/><nd ref='12'/><nd ref='9'/></way>\n",
    "<way id='103'><nd ref='13'/><nd ref='14'/><nd ref='15'/><nd ref='16'/><nd ref='13'/></way>\n",
    "<relation id='200'><member type='way' ref='102' role='outer'/><member type='way' ref='103' role='inner'/>" + t("type", "multipolygon") + t("building", "yes") + "</relation>\n",
    closed(104, 21, t("landuse", "residential") + t("name", "富润家园") + t("residential", "old")),
    closed(105, 31, t("boundary", "administrative") + t("admin_level", "10") + t("name", "社区")),
    closed(106, 41, t("boundary", "administrative") + t("admin_level", "8") + t("name", "街道")),
    "<way id='107'><nd ref='52'/><nd ref='53'/>" + t("highway", "footway") + "</way>\n",
    "<way id='108'><nd ref='2'/><nd ref='6'/>" + t("barrier", "wall") + "</way>\n",
    "<way id='109'><nd ref='52'/><nd ref='1'/>" + t("highway", "residential") + t("oneway", "yes") + "</way>\n",
]) + "</osm>\n"
put("osm_xml_import", "full.osm", FULL)

# ---- cuts of the real Haidian XML (complete ways, no metadata): 1-8 KB each
boxes = [(116.3468, 40.0002, 0.0010, 0.0007), (116.3486, 40.0014, 0.0010, 0.0007), (116.3504, 40.0026, 0.0010, 0.0007),
         (116.3522, 40.0038, 0.0010, 0.0007), (116.3540, 40.0050, 0.0010, 0.0007), (116.3558, 40.0062, 0.0010, 0.0007)]
haidian = SHARED / "data/haidian.osm"
if haidian.exists():
    for i, (x, y, w, h) in enumerate(boxes):
        f = TMP / f"h{i}.osm"
        osmium("extract", "-b", f"{x},{y},{x + w},{y + h}", "-s", "complete_ways", str(haidian), "-o", str(f), "-f", "osm,add_metadata=false")
        if 300 < f.stat().st_size < 12000:
            put("osm_xml_import", f"haidian{i}.osm", f.read_bytes())

# ---- PBF: the hand-written file and cuts of Monaco, compressed and uncompressed blobs
xml = TMP / "full.osm"
xml.write_text(FULL)
for comp in ["none", "zlib"]:
    f = TMP / f"full-{comp}.osm.pbf"
    osmium("cat", str(xml), "-o", str(f), "-f", f"pbf,pbf_compression={comp},add_metadata=false")
    put("osm_pbf_import", f"full-{comp}.osm.pbf", f.read_bytes())
monaco = ROOT / "data/monaco.osm.pbf"
for i, (x, y) in enumerate([(7.4200, 43.7300), (7.4150, 43.7350), (7.4250, 43.7400)]):
    f = TMP / f"m{i}.osm.pbf"
    osmium("extract", "-b", f"{x},{y},{x + 0.0008},{y + 0.0006}", "-s", "complete_ways", str(monaco), "-o", str(f),
           "-f", f"pbf,pbf_compression={'none' if i == 0 else 'zlib'},add_metadata=false")
    if f.stat().st_size < 16000:
        put("osm_pbf_import", f"monaco{i}.osm.pbf", f.read_bytes())

# ---- GeoJSON: gridmap's export of every layer of the hand-written file. The first byte of a
# geojson_import input selects the options; ' ' = layer inferred, WGS84 (and is JSON whitespace).
db = TMP / "seed.db"
subprocess.run([BIN, "import", str(xml), "--db", f"sqlite://{db}", "--quiet"], check=True, stdout=subprocess.DEVNULL)
layers = ["streets", "communities", "compounds", "buildings", "facilities", "grids", "network"]
for layer in layers:
    out = subprocess.run([BIN, "export", "--layer", layer, "--db", f"sqlite://{db}"], check=True, capture_output=True).stdout
    fc = json.loads(out)
    fc["features"] = fc["features"][:4]
    if fc["features"]:
        put("geojson_import", f"{layer}.geojson", b" " + json.dumps(fc, ensure_ascii=False).encode())
# explicit --layer (selector k = layer index + 1) and GCJ-02 input (selector 16 + k)
fac = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "id": "f1", "properties": {"kind": "canteen", "name": "食堂", "capacity": 40}, "geometry": {"type": "Point", "coordinates": [116.3, 39.9]}}]}
put("geojson_import", "facilities-layer-gcj02.geojson", bytes([16 + 5]) + json.dumps(fac, ensure_ascii=False).encode())
grid = {"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}, "features": [
    {"type": "Feature", "properties": {"id": "g1", "code": "G-1", "name": "一网格", "community": "w105", "buildings": ["w100", "w101"], "version": 3},
     "geometry": {"type": "MultiPolygon", "coordinates": [[[[116.3, 39.9], [116.301, 39.9], [116.301, 39.901], [116.3, 39.9]]]]}}]}
put("geojson_import", "grids-layer.geojson", bytes([6]) + json.dumps(grid, ensure_ascii=False).encode())
bow = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "properties": {"id": "b1", "households": 10, "levels": "5"}, "geometry": {"type": "Polygon", "coordinates": [[[7.42, 43.73], [7.4201, 43.7301], [7.4201, 43.73], [7.42, 43.7301], [7.42, 43.73]]]}}]}
put("geojson_import", "bowtie.geojson", b" " + json.dumps(bow).encode())

# ---- household CSV
put("csv_import", "by_id.csv", "building_id,households,elderly,steward\nw100,12,3,王芳\nw101,,2,\nr200,40,,李明\n")
put("csv_import", "by_address.csv", "\ufeffaddress,households\n学院路17号,30\n\"Rue Grimaldi, 12\",8\n")
put("csv_import", "crlf_id.csv", "id,elderly\r\nw1,1\r\nw2,0\r\n")

# ---- query strings of the items endpoints
for i, q in enumerate([
    "bbox=7.415,43.728,7.430,43.740&limit=100",
    "bbox=43.728,7.415,43.740,7.430&bbox-crs=http://www.opengis.net/def/crs/EPSG/0/4326&crs=EPSG:4490&limit=10&offset=20",
    "bbox=116.30,39.90,116.31,39.91&bbox-crs=urn:gridmap:crs:gcj02&crs=BD09&f=json",
    "limit=1000000000000000000000&offset=%2B5&kind=canteen&community=%E7%A4%BE%E5%8C%BA",
    "bbox=170,-10,-170,10&crs=%5BCRS84%5D&street=w106&compound=w104",
]):
    put("query_params", f"q{i}.txt", q)

# ---- If-Match headers
for i, h in enumerate(['"3"', '*', 'W/"3", "5"', '"a,b"\t, W/"" ,"4"', '"-9223372036854775808"', '0']):
    put("if_match", f"h{i}.txt", h)

# ---- edit geometries (first byte ' ' = CRS84; '#' (35) = EPSG:4326 lat,lon; '$' = EPSG:4490;
# '%' = GCJ-02; '&' = BD-09)
geoms = [
    (" ", {"type": "Point", "coordinates": [7.42, 43.73]}),
    ("#", {"type": "Point", "coordinates": [43.73, 7.42, 12.5]}),
    (" ", {"type": "Polygon", "coordinates": [[[7.42, 43.73], [7.421, 43.73], [7.421, 43.731]]]}),
    ("%", {"type": "Feature", "properties": {"name": "x"}, "geometry": {"type": "MultiPolygon", "coordinates": [
        [[[116.3, 39.9], [116.31, 39.9], [116.31, 39.91], [116.3, 39.9]], [[116.301, 39.901], [116.302, 39.901], [116.302, 39.902], [116.301, 39.901]]]]}}),
    ("&", {"type": "Point", "coordinates": [179.9999, 89.99]}),
    (" ", None),
]
for i, (sel, g) in enumerate(geoms):
    put("edit_geometry", f"g{i}.json", sel + json.dumps(g))

shutil.rmtree(TMP)
for d in sorted(OUT.iterdir()):
    files = list(d.iterdir())
    print(f"{d.name}: {len(files)} seeds, {sum(f.stat().st_size for f in files)} bytes")
