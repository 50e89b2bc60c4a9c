#!/usr/bin/env python3
"""Mixed traffic against a running `gridmap serve` for a bounded time (used by tests/soak.sh).

usage: soak.py BASE_URL SERVER_PID SECONDS TOKEN [CLIENTS]

CLIENTS threads (default 6) each loop over a weighted mix: bbox GeoJSON reads (REST), OGC items
paging (following `next` links), vector tiles, grid detail, coverage and coverage-of-buildings
reads, a facility's whole life (create → GET ETag → PATCH with If-Match → GET → DELETE → 404),
an increment of one shared facility's `capacity` and of a number in one shared grid's name,
both with If-Match and a retry on 412. Every request sends `Authorization: Bearer TOKEN`.

Checks, printed as "ok"/"FAIL" lines and a closing "N passed, N failed":
  * no 5xx answer and no connection error at all;
  * every successful edit is visible afterwards: each client's own facilities read back with the
    name it set, deleted ones are 404, and the shared counters equal their start plus the number
    of PATCHes that succeeded (no lost update);
  * the server's RSS (VmRSS of /proc/PID/status, sampled every 3 s) at the end (mean of the last
    3 samples) is at most 20 % above its highest sample between 1/6 and 1/3 of the run (warm-up
    fills the caches first).
"""
import http.client, json, math, os, random, statistics, sys, threading, time, urllib.parse

BASE, PID, SECONDS, TOKEN = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
CLIENTS = int(sys.argv[5]) if len(sys.argv) > 5 else 6
U = urllib.parse.urlsplit(BASE)
BBOX = (7.405, 43.725, 7.440, 43.750)  # Monaco
lock = threading.Lock()
counts, errors, statuses, samples, latency = {}, {}, {}, [], {}
conn_errors, server_errors, unexpected = [], [], []
counter_patches = {"facility": 0, "grid": 0}
own = {}  # facility id -> expected name, or None when deleted


def bump(d, k, n=1):
    with lock:
        d[k] = d.get(k, 0) + n


class Client:
    def __init__(self):
        self.c = None

    def req(self, kind, method, path, body=None, headers=None, expect=(200,)):
        h = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/geo+json, application/json"}
        if body is not None:
            h["Content-Type"] = "application/geo+json"
            body = json.dumps(body).encode()
        h.update(headers or {})
        if path.startswith("http"):
            s = urllib.parse.urlsplit(path)
            path = s.path + ("?" + s.query if s.query else "")
        try:
            if self.c is None:
                self.c = http.client.HTTPConnection(U.hostname, U.port, timeout=60)
            t0 = time.time()
            self.c.request(method, path, body=body, headers=h)
            r = self.c.getresponse()
            data = r.read()
            with lock:
                latency.setdefault(kind, []).append(time.time() - t0)
        except Exception as e:  # refused, reset, timeout, broken pipe: all count
            if self.c is not None:
                self.c.close()
            self.c = None
            with lock:
                conn_errors.append(f"{kind} {method} {path}: {type(e).__name__}: {e}")
            return None, None, b""
        bump(counts, kind)
        bump(statuses, r.status)
        if r.status >= 500:
            with lock:
                server_errors.append(f"{kind} {method} {path}: {r.status} {data[:200]!r}")
        elif r.status not in expect:
            bump(errors, f"{kind} {r.status}")
            with lock:
                if len(unexpected) < 20:
                    unexpected.append(f"{kind} {method} {path}: {r.status} {data[:200]!r}")
        return r.status, r, data


def tile(lon, lat, z):
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def rand_bbox(rng, size):
    x = rng.uniform(BBOX[0], BBOX[2] - size)
    y = rng.uniform(BBOX[1], BBOX[3] - size)
    return f"{x:.5f},{y:.5f},{x + size:.5f},{y + size:.5f}"


def etag_of(r):
    return r.getheader("ETag") if r is not None else None


def increment(cl, kind, path, read, write):
    """GET → modify → PATCH with If-Match, retrying on 412 until it lands (or time runs out)."""
    for _ in range(50):
        st, r, data = cl.req(kind + "-get", "GET", path)
        if st != 200:
            return
        new = write(json.loads(data))
        st, r, _ = cl.req(kind + "-patch", "PATCH", path, {"type": "Feature", "properties": new},
                          {"If-Match": etag_of(r)}, expect=(200, 412))
        if st == 200:
            with lock:
                counter_patches[read] += 1
            return
        if st != 412:
            return
        bump(counts, kind + "-retry-412")


def worker(n, deadline, grid_ids, counter_facility, counter_grid):
    rng = random.Random(n)
    cl = Client()
    mine = 0
    ops = ["bbox"] * 6 + ["items"] * 3 + ["tile"] * 4 + ["grid"] * 3 + ["coverage"] * 2 + ["cov_buildings"] * 2 + \
          ["facility_life"] * 2 + ["counter_facility"] * 2 + ["counter_grid"] * 2
    while time.time() < deadline:
        op = rng.choice(ops)
        if op == "bbox":
            cl.req("bbox", "GET", f"/api/buildings?bbox={rand_bbox(rng, 0.006)}&limit=1000")
        elif op == "items":
            url = f"/collections/buildings/items?limit=200&offset={rng.randrange(0, 20000)}"
            for _ in range(3):
                st, r, data = cl.req("items", "GET", url)
                if st != 200:
                    break
                nxt = [l["href"] for l in json.loads(data).get("links", []) if l.get("rel") == "next"]
                if not nxt:
                    break
                url = nxt[0]
        elif op == "tile":
            z = rng.choice([13, 14, 15, 16])
            x, y = tile(rng.uniform(BBOX[0], BBOX[2]), rng.uniform(BBOX[1], BBOX[3]), z)
            layer = rng.choice(["buildings", "grids", "facilities"])
            cl.req("tile", "GET", f"/tiles/{layer}/{z}/{x}/{y}.mvt", expect=(200, 204))
        elif op == "grid":
            cl.req("grid", "GET", f"/api/grids/{urllib.parse.quote(rng.choice(grid_ids))}")
        elif op == "coverage":
            kind = rng.choice(["all", "canteen", "service_station"])
            cl.req("coverage", "GET", f"/api/coverage?kind={kind}&minutes={rng.choice([5, 10, 15])}")
        elif op == "cov_buildings":
            cl.req("coverage", "GET", f"/api/coverage/buildings?kind=all&bbox={rand_bbox(rng, 0.005)}")
        elif op == "facility_life":
            mine += 1
            lon, lat = rng.uniform(7.41, 7.43), rng.uniform(43.73, 43.745)
            st, r, data = cl.req("fac-create", "POST", "/collections/facilities/items",
                                 {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
                                  "properties": {"kind": "canteen", "name": f"soak {n}-{mine}"}}, expect=(201,))
            if st != 201:
                continue
            fid = json.loads(data)["id"]
            path = f"/collections/facilities/items/{urllib.parse.quote(fid)}"
            with lock:
                own[fid] = f"soak {n}-{mine}"
            st, r, _ = cl.req("fac-get", "GET", path)
            if st != 200:
                continue
            name = f"soak {n}-{mine} edited"
            st, r, _ = cl.req("fac-patch", "PATCH", path, {"type": "Feature", "properties": {"name": name}}, {"If-Match": etag_of(r)})
            if st == 200:
                with lock:
                    own[fid] = name
            if rng.random() < 0.5:  # keep half of them, delete the others
                st, r, data = cl.req("fac-get", "GET", path)
                if st == 200 and json.loads(data)["properties"].get("name") != own[fid]:
                    bump(errors, "fac-get shows another name than the last successful PATCH")
                st, _, _ = cl.req("fac-delete", "DELETE", path, headers={"If-Match": etag_of(r)}, expect=(204,))
                if st == 204:
                    with lock:
                        own[fid] = None
                    cl.req("fac-get-deleted", "GET", path, expect=(404,))
        elif op == "counter_facility":
            increment(cl, "counter-fac", f"/collections/facilities/items/{urllib.parse.quote(counter_facility)}", "facility",
                      lambda f: {"capacity": (f["properties"].get("capacity") or 0) + 1})
        elif op == "counter_grid":
            def next_name(g):
                name = g["properties"].get("name") or "soak 0"
                return {"name": f"soak {int(name.split()[-1]) + 1}"}
            increment(cl, "counter-grid", f"/collections/grids/items/{urllib.parse.quote(counter_grid)}", "grid", next_name)


def rss_kb():
    with open(f"/proc/{PID}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def sampler(start, deadline):
    while time.time() < deadline:
        try:
            samples.append((round(time.time() - start, 1), rss_kb()))
        except OSError as e:
            conn_errors.append(f"server process gone: {e}")
            return
        time.sleep(3)


def main():
    setup = Client()
    _, _, data = setup.req("setup", "GET", "/api/grids?limit=10000")
    grid_ids = [f["id"] for f in json.loads(data)["features"]]
    counter_grid = grid_ids[0]
    _, _, data = setup.req("setup", "GET", "/collections/facilities/items?limit=1")
    counter_facility = json.loads(data)["features"][0]["id"]
    # start values of the two shared counters
    _, _, data = setup.req("setup", "GET", f"/collections/facilities/items/{urllib.parse.quote(counter_facility)}")
    cap0 = json.loads(data)["properties"].get("capacity") or 0
    st, r, data = setup.req("setup", "GET", f"/collections/grids/items/{urllib.parse.quote(counter_grid)}")
    st, _, _ = setup.req("setup", "PATCH", f"/collections/grids/items/{urllib.parse.quote(counter_grid)}",
                         {"type": "Feature", "properties": {"name": "soak 0"}}, {"If-Match": etag_of(r)})
    if st != 200:
        print(f"  FAIL setup: renaming grid {counter_grid} gave {st}")
    print(f"  {len(grid_ids)} grids; counters: facility {counter_facility} capacity {cap0}, grid {counter_grid} name 'soak 0'; "
          f"{CLIENTS} clients for {SECONDS:.0f} s")
    start = time.time()
    deadline = start + SECONDS
    threads = [threading.Thread(target=worker, args=(n, deadline, grid_ids, counter_facility, counter_grid)) for n in range(CLIENTS)]
    threads.append(threading.Thread(target=sampler, args=(start, deadline)))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.time() - start
    samples.append((round(time.time() - start, 1), rss_kb()))

    ok = bad = 0

    def check(cond, what):
        nonlocal ok, bad
        if cond:
            ok += 1
            print(f"  ok   {what}")
        else:
            bad += 1
            print(f"  FAIL {what}")

    total = sum(v for k, v in counts.items() if k != "setup")
    print(f"  requests: {total} in {elapsed:.0f} s ({total / elapsed:.0f}/s); by kind: "
          + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()) if k != "setup"))
    def pct(v, q):
        v = sorted(v)
        return v[min(len(v) - 1, int(q * len(v)))] * 1000
    print("  latency ms (p50/p95/max): " + ", ".join(
        f"{k} {pct(v, .5):.0f}/{pct(v, .95):.0f}/{max(v) * 1000:.0f}" for k, v in sorted(latency.items()) if k not in ("setup", "verify")))
    print("  statuses: " + ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items())))
    print(f"  unexpected 4xx: {sum(errors.values())} " + (json.dumps(errors, ensure_ascii=False) if errors else ""))
    for u in unexpected[:5]:
        print(f"       {u}")
    check(not server_errors, f"no 5xx answers ({len(server_errors)})")
    for e in server_errors[:5]:
        print(f"       {e}")
    check(not conn_errors, f"no connection errors ({len(conn_errors)})")
    for e in conn_errors[:5]:
        print(f"       {e}")
    check(not errors, "no unexpected 4xx answers")
    # every successful edit is visible afterwards
    v = Client()
    _, _, data = v.req("verify", "GET", f"/collections/facilities/items/{urllib.parse.quote(counter_facility)}")
    cap = json.loads(data)["properties"].get("capacity") or 0
    check(cap == cap0 + counter_patches["facility"],
          f"shared facility: capacity {cap} = {cap0} + {counter_patches['facility']} successful PATCHes "
          f"({counts.get('counter-fac-retry-412', 0)} retries after 412)")
    _, _, data = v.req("verify", "GET", f"/collections/grids/items/{urllib.parse.quote(counter_grid)}")
    name = json.loads(data)["properties"].get("name")
    check(name == f"soak {counter_patches['grid']}",
          f"shared grid: name '{name}' = 'soak {counter_patches['grid']}' after {counter_patches['grid']} successful PATCHes "
          f"({counts.get('counter-grid-retry-412', 0)} retries after 412)")
    wrong = []
    for fid, want in own.items():
        st, _, data = v.req("verify", "GET", f"/collections/facilities/items/{urllib.parse.quote(fid)}", expect=(200, 404))
        got = json.loads(data)["properties"].get("name") if st == 200 else None
        if (want is None and st != 404) or (want is not None and got != want):
            wrong.append(f"{fid}: want {want!r}, got {st} {got!r}")
    kept = sum(1 for w in own.values() if w is not None)
    check(not wrong and own, f"all {len(own)} created facilities read back as last written ({kept} kept, {len(own) - kept} deleted)")
    for w in wrong[:5]:
        print(f"       {w}")
    # memory
    print("  RSS (s: MB): " + ", ".join(f"{t:.0f}: {kb / 1024:.0f}" for t, kb in samples))
    # Caches (tiles, coverage per kind, snapshots) fill during the first sixth; the level reached by
    # the end of the first third is the baseline.
    third = [kb for t, kb in samples if SECONDS / 6 <= t <= SECONDS / 3] or [samples[0][1]]
    end = [kb for _, kb in samples[-3:]]
    base, last = max(third), statistics.mean(end)
    check(last <= base * 1.2, f"RSS at the end {last / 1024:.0f} MB within 20 % of the first third's {base / 1024:.0f} MB "
                              f"({(last / base - 1) * 100:+.1f} %)")
    print(f"{ok} passed, {bad} failed")
    sys.exit(0 if bad == 0 else 1)


main()
