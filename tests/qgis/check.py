"""QGIS as a client of `gridmap serve` (issue 20), headless (QT_QPA_PLATFORM=offscreen).

Run with Debian's Python (python3-qgis): /usr/bin/python3 tests/qgis/check.py BASE OUTDIR

- every collection through OAPIF: the features QGIS reads = the server's numberMatched, every
  property of the collection's schema (/collections/{id}/schema) is a QGIS field, the layer is in
  EPSG:4326 with coordinates where the server puts them, and a bbox request gives the server's count;
- the vector tiles with the server's MapLibre style (/styles/gridmap.json) as styleUrl;
- renders the whole extent at 1:140,000 and one community (district) to PNG, and counts the
  pixels each of the building and grid layers drew (tiles and OAPIF), one layer per image.

Prints one line per check ("  ok   ..." / "  FAIL ...") and a JSON summary line last; exits 1 on
any failure. QGIS 3.22 may crash in exitQgis(), so the script leaves through os._exit.
"""
import json
import math
import os
import sys
import time
import urllib.parse
import urllib.request

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qgis.core import (  # noqa: E402  (needs the environment above)
    Qgis,
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsDataSourceUri,
    QgsFeatureRequest,
    QgsMapRendererParallelJob,
    QgsMapSettings,
    QgsProject,
    QgsRectangle,
    QgsVectorLayer,
    QgsVectorTileLayer,
)
from qgis.PyQt.QtCore import QSize, Qt  # noqa: E402
from qgis.PyQt.QtGui import QColor  # noqa: E402

BASE = sys.argv[1].rstrip("/")
OUT = sys.argv[2] if len(sys.argv) > 2 else "/tmp/gridmap-qgis"
BBOX = [float(v) for v in (sys.argv[3] if len(sys.argv) > 3 else "7.415,43.728,7.430,43.740").split(",")]
os.makedirs(OUT, exist_ok=True)

ok = 0
bad = 0
summary = {"qgis": Qgis.QGIS_VERSION, "collections": {}, "pixels": {}}


def check(cond, what):
    global ok, bad
    if cond:
        ok += 1
        print(f"  ok   {what}", flush=True)
    else:
        bad += 1
        print(f"  FAIL {what}", flush=True)
    return cond


def get_json(path):
    with urllib.request.urlopen(BASE + path, timeout=60) as r:
        return json.loads(r.read())


def finish():
    summary["passed"] = ok
    summary["failed"] = bad
    print(json.dumps(summary), flush=True)
    sys.stdout.flush()
    os._exit(0 if bad == 0 else 1)


app = QgsApplication([], False)
app.initQgis()
print(f"QGIS {Qgis.QGIS_VERSION} against {BASE}", flush=True)

WGS84 = QgsCoordinateReferenceSystem("EPSG:4326")
MERC = QgsCoordinateReferenceSystem("EPSG:3857")


def oapif(collection, extra=""):
    uri = f"url='{BASE}' typename='{collection}' pageSize=1000 restrictToRequestBBOX=0 {extra}".strip()
    return QgsVectorLayer(uri, collection, "OAPIF")


# ------------------------------------------------------------------ OAPIF: every collection
collections = [c["id"] for c in get_json("/collections")["collections"]]
check(len(collections) == 5, f"5 collections listed: {collections}")
layers = {}
for c in collections:
    t0 = time.time()
    lyr = oapif(c)
    if not check(lyr.isValid(), f"{c}: QGIS opens it through OAPIF"):
        continue
    layers[c] = lyr
    server = get_json(f"/collections/{c}/items?limit=1")["numberMatched"]
    n = sum(1 for _ in lyr.getFeatures())
    secs = time.time() - t0
    check(n == server, f"{c}: QGIS read {n} features, numberMatched {server} ({secs:.1f} s)")
    declared = list(get_json(f"/collections/{c}/schema")["properties"].keys())
    declared = [p for p in declared if p not in ("id", "geometry")]
    fields = [f.name() for f in lyr.fields()]
    missing = [p for p in declared if p not in fields]
    check(not missing, f"{c}: every declared property is a QGIS field ({len(declared)} declared; missing {missing})")
    check(lyr.crs().authid() == "EPSG:4326", f"{c}: layer CRS {lyr.crs().authid()}")
    ext = lyr.extent()
    sext = get_json(f"/collections/{c}")["extent"]["spatial"]["bbox"][0]
    near = abs(ext.xMinimum() - sext[0]) < 0.01 and abs(ext.yMinimum() - sext[1]) < 0.01
    check(near, f"{c}: QGIS extent {ext.toString(4)} lies where the server's is ({sext})")
    summary["collections"][c] = {"features": n, "numberMatched": server, "fields": len(fields), "declared": len(declared), "seconds": round(secs, 1)}

# The bbox path: a fresh layer, so QGIS asks the server with bbox= (not its cache).
for c in collections:
    lyr = oapif(c)
    if not lyr.isValid():
        continue
    req = QgsFeatureRequest().setFilterRect(QgsRectangle(*BBOX)).setFlags(QgsFeatureRequest.ExactIntersect)
    n = sum(1 for _ in lyr.getFeatures(req))
    bb = ",".join(str(v) for v in BBOX)
    server = get_json(f"/collections/{c}/items?limit=1&bbox={bb}")["numberMatched"]
    check(n == server, f"{c}: bbox {bb} in EPSG:4326: QGIS {n}, server {server}")
    summary["collections"].setdefault(c, {})["bbox"] = {"qgis": n, "server": server}

# Filtering as a department user does it (Layer Properties > Source > Query Builder): a
# subset string on a queryable property gives the server's count for that filter.
for c in collections:
    lyr = layers.get(c)
    if lyr is None:
        continue
    q = get_json(f"/collections/{c}/queryables")["properties"]
    prop = next((k for k in q if k != "geometry"), None)
    value = next((f[prop] for f in lyr.getFeatures() if prop and f[prop] not in (None, "") and str(f[prop]) != "NULL"), None)
    if value is None:
        print(f"  (no {c} with a {prop} to filter on)", flush=True)
        continue
    sub = oapif(c)
    sub.setSubsetString(f"\"{prop}\" = '{value}'")
    n = sum(1 for _ in sub.getFeatures())
    server = get_json(f"/collections/{c}/items?limit=1&{prop}={urllib.parse.quote(str(value))}")["numberMatched"]
    check(n == server and n > 0, f"{c}: subset \"{prop}\" = '{value}': QGIS {n}, server ?{prop}= {server}")
    summary["collections"][c]["filter"] = {"property": prop, "qgis": n, "server": server}

# ------------------------------------------------------------------ vector tiles + the style
def tiles(layer):
    tj = get_json(f"/tiles/{layer}.json")
    u = QgsDataSourceUri()
    u.setParam("type", "xyz")
    u.setParam("url", tj["tiles"][0])
    u.setParam("zmin", str(tj["minzoom"]))
    u.setParam("zmax", str(tj["maxzoom"]))
    u.setParam("styleUrl", f"{BASE}/styles/gridmap.json")
    vt = QgsVectorTileLayer(bytes(u.encodedUri()).decode(), f"{layer} (tiles)")
    return vt, tj


vts = {}
for name in ("buildings", "grids"):
    vt, tj = tiles(name)
    if not check(vt.isValid(), f"{name} tiles: QGIS opens the XYZ vector tiles"):
        continue
    msg, loaded = vt.loadDefaultStyle()
    styles = [s.layerName() for s in vt.renderer().styles()] if vt.renderer() else []
    check(loaded and name in styles, f"{name} tiles: loadDefaultStyle() from /styles/gridmap.json ({msg or 'no message'}; {len(styles)} rules)")
    ids = [v["id"] for v in tj["vector_layers"]]
    zooms = [(v["minzoom"], v["maxzoom"]) for v in tj["vector_layers"]]
    check(min(z[0] for z in zooms) == tj["minzoom"] and max(z[1] for z in zooms) == tj["maxzoom"],
          f"{name} TileJSON: layers {ids} zooms {zooms} within top-level {tj['minzoom']}-{tj['maxzoom']}")
    vts[name] = vt


# ------------------------------------------------------------------ rendering
def render(layer_list, extent4326, size, path, background):
    ms = QgsMapSettings()
    ms.setLayers(layer_list)
    ms.setDestinationCrs(MERC)
    ms.setOutputSize(QSize(*size))
    ms.setOutputDpi(96)
    ms.setBackgroundColor(background)
    ms.setFlag(QgsMapSettings.Antialiasing, True)
    tr = QgsCoordinateTransform(WGS84, MERC, QgsProject.instance())
    ms.setExtent(tr.transformBoundingBox(extent4326))
    job = QgsMapRendererParallelJob(ms)
    job.start()
    job.waitForFinished()
    img = job.renderedImage()
    img.save(path)
    return img, ms


def drawn(img):
    n = 0
    for y in range(0, img.height(), 2):
        for x in range(0, img.width(), 2):
            if (img.pixel(x, y) >> 24) & 0xFF:
                n += 1
    return n * 4  # sampled every other pixel in both directions


def around(center_x, center_y, scale, size):
    """A WGS84 box centred on a point that QGIS shows at 1:`scale` on `size` pixels at 96 dpi
    (QGIS measures the scale of EPSG:3857 in its own metres, and picks the tile zoom from it)."""
    tr = QgsCoordinateTransform(WGS84, MERC, QgsProject.instance())
    c = tr.transform(center_x, center_y)
    m_per_px = scale * 0.0254 / 96
    hw, hh = size[0] / 2 * m_per_px, size[1] / 2 * m_per_px
    back = QgsCoordinateTransform(MERC, WGS84, QgsProject.instance())
    return back.transformBoundingBox(QgsRectangle(c.x() - hw, c.y() - hh, c.x() + hw, c.y() + hh))


if "buildings" in layers and "communities" in layers:
    full = layers["buildings"].extent()
    size = (800, 600)
    views = {"city": around(full.center().x(), full.center().y(), 140000, size)}
    # One district: the community with the most buildings.
    comms = sorted(layers["communities"].getFeatures(), key=lambda f: -(f["buildings"] or 0))
    if comms:
        d = comms[0].geometry().boundingBox()
        d.grow(0.001)
        views["district"] = d
        summary["district"] = comms[0]["name"] or comms[0].id()
    subjects = {
        "buildings-tiles": vts.get("buildings"),
        "grids-tiles": vts.get("grids"),
        "buildings-oapif": layers.get("buildings"),
        "grids-oapif": layers.get("grids"),
    }
    for view, ext in views.items():
        # One image per layer on a transparent background: its pixels are that layer's alone.
        for name, lyr in subjects.items():
            if lyr is None:
                check(False, f"{view}: {name} missing")
                continue
            img, ms = render([lyr], ext, size, f"{OUT}/{view}-{name}.png", QColor(0, 0, 0, 0))
            px = drawn(img)
            z = round(math.log2(559082264.0287178 / ms.scale()), 1)  # QgsVectorTileUtils::scaleToZoom
            summary["pixels"][f"{view}/{name}"] = px
            summary.setdefault("scales", {})[view] = {"scale": round(ms.scale()), "zoom": z}
            check(px >= 200, f"{view} (1:{ms.scale():,.0f}, tile zoom {z}): {name} drew {px} pixels")
        # And one picture to look at: tiles of buildings and grids over white.
        stack = [lyr for lyr in (vts.get("grids"), vts.get("buildings")) if lyr is not None]
        render(stack, ext, size, f"{OUT}/{view}.png", QColor(255, 255, 255))
    print(f"  PNGs in {OUT}", flush=True)

finish()
