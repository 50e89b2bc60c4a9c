//! HTTP-level tests of the server on a SQLite store holding a small synthetic city in Beijing
//! (so GCJ-02 really shifts coordinates): two communities, 30 buildings, two grids, facilities.
use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use geo::Intersects;
use geo_types::{LineString, MultiPolygon, Point, Polygon, Rect};
use gridmap_model::*;
use gridmap_server::{router, AppState, ServerConfig};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::sync::Arc;
use tower::ServiceExt;

const LON0: f64 = 116.30;
const LAT0: f64 = 39.90;
const STEP: f64 = 0.001;

fn square(x: f64, y: f64, s: f64) -> MultiPolygon<f64> {
    MultiPolygon(vec![Polygon::new(
        LineString::from(vec![(x, y), (x + s, y), (x + s, y + s), (x, y + s), (x, y)]),
        vec![],
    )])
}

/// 6 × 5 buildings; columns 0-2 in community c1, 3-5 in c2. Grids: g1 = first 6 of c1, g2 = next 3.
fn city() -> Dataset {
    let mut ds = Dataset::default();
    ds.streets.push(Street {
        id: "s1".into(),
        name: "学院路街道".into(),
        boundary: None,
    });
    for (id, name, x0) in [("c1", "一社区", 0.0), ("c2", "二社区", 3.0)] {
        ds.communities.push(Community {
            id: id.into(),
            name: name.into(),
            street: Some("s1".into()),
            boundary: Some(square(LON0 + x0 * STEP - 0.0001, LAT0 - 0.0001, 3.0 * STEP)),
        });
    }
    ds.compounds.push(Compound {
        id: "k1".into(),
        name: Some("清华园小区".into()),
        kind: CompoundKind::Old,
        community: Some("c1".into()),
        boundary: None,
    });
    for i in 0..6 {
        for j in 0..5 {
            let comm = if i < 3 { "c1" } else { "c2" };
            ds.buildings.push(Building {
                id: BuildingId::new(format!("b{i}{j}")),
                name: (i == 0 && j == 0).then(|| "1号楼".to_owned()),
                building_type: Some("apartments".into()),
                address: None,
                footprint: square(
                    LON0 + f64::from(i) * STEP,
                    LAT0 + f64::from(j) * STEP,
                    0.0006,
                ),
                entrance: None,
                levels: Some(6.0),
                households: 20 + i * 5 + j,
                households_source: HouseholdSource::Estimated,
                elderly: Some(3),
                steward: None,
                compound: (i == 0).then(|| "k1".into()),
                community: Some(comm.into()),
            });
        }
    }
    let c1: Vec<BuildingId> = ds
        .buildings
        .iter()
        .filter(|b| b.community.as_ref().is_some_and(|c| c.as_str() == "c1"))
        .map(|b| b.id.clone())
        .collect();
    for (id, code, range) in [("g1", "C1-01", 0..6), ("g2", "C1-02", 6..9)] {
        ds.grids.push(Grid {
            id: id.into(),
            code: code.into(),
            name: None,
            community: Some("c1".into()),
            buildings: c1[range].to_vec(),
            leads: vec![],
            boundary: None,
            version: 1,
        });
    }
    for (id, kind, dx) in [
        ("f1", FacilityKind::Canteen, 0.5),
        ("f2", FacilityKind::ReadingRoom, 4.5),
        ("f3", FacilityKind::ServiceStation, 2.5),
    ] {
        ds.facilities.push(Facility {
            id: id.into(),
            kind,
            name: Some(format!("facility {id}")),
            location: Point::new(LON0 + dx * STEP, LAT0 + 2.5 * STEP),
            capacity: Some(40),
            opening_hours: None,
        });
    }
    ds
}

struct App {
    router: axum::Router,
    _dir: tempfile::TempDir,
}

async fn app_with(cfg: ServerConfig) -> App {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = gridmap_store::open(&url).await.expect("open store");
    store.import(&city()).await.expect("import");
    add_users(store.as_ref()).await;
    App {
        router: router(AppState::new(store, cfg)),
        _dir: dir,
    }
}

/// One account per role, each with API token `tok-NAME` and password `NAME-pass`: `lead` leads
/// grid g1, `cplanner` plans community c2 only, `off` is a disabled planner.
async fn add_users(store: &dyn gridmap_store::Store) {
    let users = [
        ("admin", Role::Admin),
        ("planner", Role::Planner),
        ("department", Role::Department),
        ("lead", Role::GridLead),
        ("cplanner", Role::Planner),
        ("off", Role::Planner),
    ];
    for (name, role) in users {
        let mut u = User::new(name, role);
        if name == "lead" {
            u.grids = vec![GridId::new("g1")];
        }
        if name == "cplanner" {
            u.communities = vec![CommunityId::new("c2")];
        }
        u.disabled = name == "off";
        // Argon2 is slow by design: hash each password once per test binary.
        static HASHES: std::sync::OnceLock<std::collections::HashMap<String, String>> =
            std::sync::OnceLock::new();
        let hashes = HASHES.get_or_init(|| {
            users
                .iter()
                .map(|(n, _)| {
                    (
                        (*n).to_owned(),
                        gridmap_store::hash_password(&format!("{n}-pass")).expect("hash"),
                    )
                })
                .collect()
        });
        store.put_user(&u, Some(&hashes[name])).await.expect("user");
        store
            .create_api_token(
                &gridmap_store::hash_token(&format!("tok-{name}")),
                &u.id,
                None,
                None,
            )
            .await
            .expect("token");
    }
}

/// The Authorization header of a test account.
fn bearer(name: &str) -> String {
    format!("Bearer tok-{name}")
}

async fn app() -> App {
    app_with(ServerConfig {
        public_url: Some("http://test".into()),
        ..Default::default()
    })
    .await
}

struct Resp {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    fn header(&self, k: &str) -> &str {
        self.headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// A request; edits (anything but GET/HEAD) are sent as the planner unless `headers` carry
/// their own `authorization` (`""` for none).
async fn call(
    app: &App,
    method: Method,
    uri: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Resp {
    let planner = bearer("planner");
    let mut headers = headers.to_vec();
    if method != Method::GET
        && method != Method::HEAD
        && !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("authorization"))
    {
        headers.push(("authorization", &planner));
    }
    headers.retain(|(k, v)| !(k.eq_ignore_ascii_case("authorization") && v.is_empty()));
    let mut b = Request::builder().method(method).uri(uri);
    for (k, v) in &headers {
        b = b.header(*k, *v);
    }
    let req = match body {
        Some(v) => b
            .header(header::CONTENT_TYPE, "application/geo+json")
            .body(Body::from(v.to_string())),
        None => b.body(Body::empty()),
    }
    .expect("request");
    let resp = app.router.clone().oneshot(req).await.expect("infallible");
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .to_vec();
    Resp {
        status,
        headers,
        body,
    }
}

async fn get(app: &App, uri: &str) -> Resp {
    call(app, Method::GET, uri, &[], None).await
}

fn ids(fc: &Value) -> Vec<String> {
    fc["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| f["id"].as_str().expect("id").to_owned())
        .collect()
}

#[tokio::test]
async fn paging_follows_next_links_to_every_building_once() {
    let app = app().await;
    let mut url = "/collections/buildings/items?limit=7".to_owned();
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let r = get(&app, &url).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), "application/geo+json");
        let fc = r.json();
        assert_eq!(fc["numberMatched"], 30);
        assert_eq!(
            fc["numberReturned"].as_u64().unwrap() as usize,
            fc["features"].as_array().unwrap().len()
        );
        seen.extend(ids(&fc));
        pages += 1;
        let next = fc["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["rel"] == "next")
            .map(|l| l["href"].as_str().unwrap().to_owned());
        match next {
            Some(n) => url = n.trim_start_matches("http://test").to_owned(),
            None => break,
        }
        assert!(pages < 10, "paging does not end");
    }
    assert_eq!(pages, 5);
    let mut all: Vec<String> = city().buildings.iter().map(|b| b.id.to_string()).collect();
    all.sort();
    assert_eq!(seen, all, "every building exactly once, in id order");
    let last = get(&app, "/collections/buildings/items?limit=7&offset=28")
        .await
        .json();
    assert!(last["links"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["rel"] == "prev"));
}

#[tokio::test]
async fn bbox_filtering_equals_a_brute_force_intersection() {
    let app = app().await;
    let ds = city();
    for (x0, y0, x1, y1) in [
        (116.3005, 39.9005, 116.3025, 39.9021),
        (116.299, 39.899, 116.2995, 39.8995),
        (116.3031, 39.9, 116.31, 39.91),
    ] {
        let r = get(
            &app,
            &format!("/collections/buildings/items?limit=100&bbox={x0},{y0},{x1},{y1}"),
        )
        .await;
        assert_eq!(r.status, 200);
        let rect = Rect::new((x0, y0), (x1, y1));
        let mut want: Vec<String> = ds
            .buildings
            .iter()
            .filter(|b| b.footprint.intersects(&rect))
            .map(|b| b.id.to_string())
            .collect();
        want.sort();
        assert_eq!(ids(&r.json()), want, "bbox {x0},{y0},{x1},{y1}");
    }
}

#[tokio::test]
async fn epsg_4490_output_is_lat_lon_and_gcj02_is_shifted() {
    let app = app().await;
    let base = get(&app, "/collections/facilities/items/f1").await;
    let p = base.json()["geometry"]["coordinates"].clone();
    let r = get(
        &app,
        "/collections/facilities/items/f1?crs=http://www.opengis.net/def/crs/EPSG/0/4490",
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-crs"),
        "<http://www.opengis.net/def/crs/EPSG/0/4490>"
    );
    let q = r.json()["geometry"]["coordinates"].clone();
    assert_eq!(
        (q[0].clone(), q[1].clone()),
        (p[1].clone(), p[0].clone()),
        "EPSG:4490 is lat,lon"
    );
    let g = get(
        &app,
        "/collections/facilities/items?crs=urn:gridmap:crs:gcj02&kind=canteen",
    )
    .await
    .json();
    let gp = &g["features"][0]["geometry"]["coordinates"];
    let (lon, lat) = (gp[0].as_f64().unwrap(), gp[1].as_f64().unwrap());
    let (elon, elat) =
        gridmap_model::crs::Crs::Gcj02.from_wgs84(p[0].as_f64().unwrap(), p[1].as_f64().unwrap());
    assert!((lon - elon).abs() < 1e-9 && (lat - elat).abs() < 1e-9);
    assert!(
        (lon - p[0].as_f64().unwrap()).abs() > 1e-4,
        "GCJ-02 moves points in Beijing"
    );
}

#[tokio::test]
async fn bad_parameters_are_400_problem_documents_naming_the_parameter() {
    let app = app().await;
    for (q, name) in [
        ("limit=0", "limit"),
        ("limit=-1", "limit"),
        ("limit=abc", "limit"),
        ("bbox=1,2,3", "bbox"),
        ("bbox=a,b,c,d", "bbox"),
        ("zz_unknown=1", "zz_unknown"),
        ("crs=http://www.opengis.net/def/crs/EPSG/0/99999", "crs"),
        ("kind=canteen", "kind"),
    ] {
        let r = get(&app, &format!("/collections/buildings/items?{q}")).await;
        assert_eq!(r.status, 400, "{q}");
        assert_eq!(r.header("content-type"), "application/problem+json", "{q}");
        let p = r.json();
        assert_eq!(p["status"], 400);
        assert!(p["detail"].as_str().unwrap().contains(name), "{q}: {p}");
        assert_eq!(p["instance"], "/collections/buildings/items");
        assert!(p["type"]
            .as_str()
            .unwrap()
            .starts_with("urn:gridmap:problem:"));
    }
    let r = get(&app, "/collections/buildings/items?limit=1000000").await;
    assert_eq!(r.status, 200, "huge limits are clamped, not errors");
    let r = get(&app, "/collections/nope/items").await;
    assert_eq!(
        (r.status, r.header("content-type")),
        (StatusCode::NOT_FOUND, "application/problem+json")
    );
    let r = call(
        &app,
        Method::DELETE,
        "/collections/buildings/items/b00",
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 405, "buildings are read-only");
    assert_eq!(r.header("content-type"), "application/problem+json");
    assert!(r.header("allow").contains("GET"));
}

async fn etag_of(app: &App, uri: &str) -> String {
    let r = get(app, uri).await;
    assert_eq!(r.status, 200);
    r.header("etag").to_owned()
}

#[tokio::test]
async fn a_stale_if_match_is_412_and_changes_nothing() {
    let app = app().await;
    let tag = etag_of(&app, "/collections/grids/items/g1").await;
    assert_eq!(tag, "\"1\"");
    let before = get(&app, "/collections/grids/items/g1").await.json();
    let body = json!({"type": "Feature", "geometry": null, "properties": {"code": "C1-09", "community": "c1", "buildings": ["b00"]}});
    let r = call(
        &app,
        Method::PUT,
        "/collections/grids/items/g1",
        &[("if-match", "\"7\"")],
        Some(body.clone()),
    )
    .await;
    assert_eq!(r.status, 412);
    assert_eq!(
        r.header("etag"),
        "\"1\"",
        "the 412 names the current version"
    );
    assert_eq!(
        get(&app, "/collections/grids/items/g1").await.json(),
        before,
        "nothing changed"
    );
    let r = call(
        &app,
        Method::PUT,
        "/collections/grids/items/g1",
        &[],
        Some(body.clone()),
    )
    .await;
    assert_eq!(r.status, 428, "If-Match is required");
    let r = call(
        &app,
        Method::PUT,
        "/collections/grids/items/g1",
        &[("if-match", &tag)],
        Some(body),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("etag"), "\"2\"");
    let now = get(&app, "/collections/grids/items/g1").await.json();
    assert_eq!(now["properties"]["code"], "C1-09");
    assert_eq!(now["properties"]["buildings"], json!(["b00"]));
    // the buildings layer follows the edit (cache invalidated): b01 left grid g1
    let b = get(&app, "/collections/buildings/items/b01").await.json();
    assert_eq!(b["properties"]["grid"], Value::Null);
}

#[tokio::test]
async fn concurrent_puts_with_the_same_etag_let_exactly_one_win() {
    let app = Arc::new(app().await);
    let tag = etag_of(&app, "/collections/facilities/items/f2").await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let app = app.clone();
        let tag = tag.clone();
        tasks.push(tokio::spawn(async move {
            let body = json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [116.3045, 39.9025]},
                              "properties": {"kind": "reading_room", "name": format!("writer {i}")}});
            call(&app, Method::PUT, "/collections/facilities/items/f2", &[("if-match", &tag)], Some(body)).await.status
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.expect("task"));
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::PRECONDITION_FAILED)
            .count(),
        7,
        "{statuses:?}"
    );
    assert_eq!(
        etag_of(&app, "/collections/facilities/items/f2").await,
        "\"2\""
    );
}

#[tokio::test]
async fn post_creates_with_location_patch_merges_and_delete_removes() {
    let app = app().await;
    let body = json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [116.3011, 39.9012]},
                      "properties": {"kind": "outreach_point", "name": "暖新驿站"}});
    let r = call(
        &app,
        Method::POST,
        "/collections/facilities/items",
        &[],
        Some(body),
    )
    .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let loc = r
        .header("location")
        .trim_start_matches("http://test")
        .to_owned();
    assert!(loc.starts_with("/collections/facilities/items/"));
    let created = get(&app, &loc).await;
    assert_eq!(created.json()["properties"]["kind_label"], "暖\"新\"驿站");
    let tag = created.header("etag").to_owned();
    let r = call(
        &app,
        Method::PATCH,
        &loc,
        &[("if-match", &tag)],
        Some(json!({"properties": {"capacity": 12}})),
    )
    .await;
    assert_eq!(r.status, 200);
    let p = r.json();
    assert_eq!(
        (
            p["properties"]["capacity"].clone(),
            p["properties"]["name"].clone()
        ),
        (json!(12), json!("暖新驿站"))
    );
    let tag = r.header("etag").to_owned();
    let r = call(&app, Method::DELETE, &loc, &[("if-match", &tag)], None).await;
    assert_eq!(r.status, 204);
    assert_eq!(get(&app, &loc).await.status, 404);
    let n = get(&app, "/collections/facilities/items").await.json()["numberMatched"].clone();
    assert_eq!(n, 3);
}

#[tokio::test]
async fn a_grid_never_spans_two_communities() {
    let app = app().await;
    let tag = etag_of(&app, "/collections/grids/items/g2").await;
    let body = json!({"type": "Feature", "geometry": null, "properties": {"code": "C1-02", "community": "c1", "buildings": ["b40"]}});
    let r = call(
        &app,
        Method::PUT,
        "/collections/grids/items/g2",
        &[("if-match", &tag)],
        Some(body),
    )
    .await;
    assert_eq!(r.status, 409);
    assert!(r.json()["detail"]
        .as_str()
        .unwrap()
        .contains("two communities"));
    let body = json!({"type": "Feature", "geometry": null, "properties": {"code": "C1-03", "community": "c1", "buildings": ["b00"]}});
    let r = call(
        &app,
        Method::POST,
        "/collections/grids/items",
        &[],
        Some(body),
    )
    .await;
    assert_eq!(
        r.status,
        409,
        "b00 is already in g1: {}",
        String::from_utf8_lossy(&r.body)
    );
}

#[tokio::test]
async fn an_oversized_body_is_413_problem_json() {
    let app = app_with(ServerConfig {
        body_limit_bytes: 200,
        ..Default::default()
    })
    .await;
    let tag = etag_of(&app, "/collections/grids/items/g2").await;
    let body =
        json!({"type": "Feature", "geometry": null, "properties": {"code": "x".repeat(400)}});
    let r = call(
        &app,
        Method::PUT,
        "/collections/grids/items/g2",
        &[("if-match", &tag)],
        Some(body),
    )
    .await;
    assert_eq!(r.status, 413);
    assert_eq!(r.header("content-type"), "application/problem+json");
}

fn tile_of(lon: f64, lat: f64, z: u32) -> (u32, u32) {
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n).floor() as u32;
    let lr = lat.to_radians();
    let y =
        ((1.0 - (lr.tan() + 1.0 / lr.cos()).ln() / std::f64::consts::PI) / 2.0 * n).floor() as u32;
    (x, y)
}

#[tokio::test]
async fn vector_tiles_decode_and_contain_the_features() {
    use geozero::mvt::{Message, Tile};
    let app = app().await;
    let (x, y) = tile_of(LON0 + 0.0003, LAT0 + 0.0003, 16);
    let r = get(&app, &format!("/tiles/buildings/16/{x}/{y}.mvt")).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        "application/vnd.mapbox-vector-tile"
    );
    let tile = Tile::decode(r.body.as_slice()).expect("valid MVT");
    let layer = tile
        .layers
        .iter()
        .find(|l| l.name == "buildings")
        .expect("buildings layer");
    let id_key = layer.keys.iter().position(|k| k == "id").expect("id key") as u32;
    let tile_ids: Vec<String> = layer
        .features
        .iter()
        .filter_map(|f| {
            f.tags
                .chunks(2)
                .find(|kv| kv[0] == id_key)
                .and_then(|kv| layer.values[kv[1] as usize].string_value.clone())
        })
        .collect();
    assert!(tile_ids.contains(&"b00".to_owned()), "{tile_ids:?}");
    assert_eq!(layer.extent, Some(4096));
    // the tile's ETag revalidates
    let tag = r.header("etag").to_owned();
    let r2 = call(
        &app,
        Method::GET,
        &format!("/tiles/buildings/16/{x}/{y}.mvt"),
        &[("if-none-match", &tag)],
        None,
    )
    .await;
    assert_eq!(r2.status, 304);
    // a tile far away is empty but not an error
    let r3 = get(&app, "/tiles/buildings/16/0/0.mvt").await;
    assert_eq!((r3.status, r3.body.len()), (StatusCode::OK, 0));
    assert_eq!(
        get(&app, "/tiles/buildings/2/9/0.mvt").await.status,
        404,
        "x outside the zoom's grid"
    );
    let (fx, fy) = tile_of(LON0 + 0.5 * STEP, LAT0 + 2.5 * STEP, 16); // facility f1
    let facilities = get(&app, &format!("/tiles/facilities/16/{fx}/{fy}.mvt")).await;
    let t = Tile::decode(facilities.body.as_slice()).expect("valid MVT");
    assert_eq!(t.layers[0].name, "facilities");
    assert!(!t.layers[0].features.is_empty());
}

#[tokio::test]
async fn tilejson_describes_the_layer() {
    let app = app().await;
    let r = get(&app, "/tiles/grids.json").await;
    assert_eq!(r.status, 200);
    let tj = r.json();
    assert_eq!(tj["tilejson"], "3.0.0");
    assert_eq!(tj["tiles"][0], "http://test/tiles/grids/{z}/{x}/{y}.mvt");
    assert_eq!(tj["vector_layers"][0]["id"], "grids");
    let b = tj["bounds"].as_array().unwrap();
    assert!(
        (b[0].as_f64().unwrap() - LON0).abs() < 0.01
            && (b[1].as_f64().unwrap() - LAT0).abs() < 0.01
    );
    assert!(tj["attribution"]
        .as_str()
        .unwrap()
        .contains("OpenStreetMap"));
    assert_eq!(get(&app, "/tiles/nope.json").await.status, 404);
}

#[tokio::test]
async fn the_openapi_document_parses_and_lists_every_route() {
    let app = app().await;
    let r = get(&app, "/openapi.json").await;
    assert_eq!(r.status, 200);
    let doc = r.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/",
        "/conformance",
        "/collections",
        "/collections/{collectionId}",
        "/collections/buildings/items",
        "/collections/compounds/items",
        "/collections/communities/items",
        "/collections/grids/items",
        "/collections/grids/items/{featureId}",
        "/collections/facilities/items",
        "/collections/facilities/items/{featureId}",
        "/collections/{collectionId}/items/{featureId}",
        "/collections/{collectionId}/queryables",
        "/health",
        "/api/buildings",
        "/api/grids",
        "/api/grids/{id}",
        "/api/stats",
        "/tiles/{layer}/{z}/{x}/{y}.mvt",
        "/tiles/{layer}.json",
        "/openapi.json",
        "/docs",
        "/api/jobs",
        "/api/jobs/{jobId}",
        "/api/jobs/{jobId}/results",
    ] {
        assert!(paths.contains_key(p), "missing {p}");
    }
    for m in ["get", "put", "patch", "delete"] {
        assert!(
            paths["/collections/grids/items/{featureId}"]
                .get(m)
                .is_some(),
            "grids item lacks {m}"
        );
    }
    // every schema reference resolves
    let text = r.body.clone();
    let s = String::from_utf8(text).unwrap();
    for cap in s.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = cap.split('"').next().unwrap();
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "dangling $ref {name}"
        );
    }
    let docs = get(&app, "/docs").await;
    assert!(String::from_utf8_lossy(&docs.body).contains("/openapi.json"));
}

#[tokio::test]
async fn landing_page_is_json_for_tools_and_html_for_browsers() {
    let app = app().await;
    let r = call(
        &app,
        Method::GET,
        "/",
        &[("accept", "application/json")],
        None,
    )
    .await;
    assert_eq!(r.header("content-type"), "application/json");
    let doc = r.json();
    let mut rels: Vec<String> = doc["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["rel"].as_str().unwrap().to_owned())
        .collect();
    rels.sort();
    insta::assert_json_snapshot!("landing_rels", rels);
    assert!(doc["attribution"]
        .as_str()
        .unwrap()
        .contains("OpenStreetMap"));
    let r = call(
        &app,
        Method::GET,
        "/",
        &[("accept", "text/html,application/xhtml+xml,*/*;q=0.8")],
        None,
    )
    .await;
    assert!(r.header("content-type").starts_with("text/html"));
    let r = call(
        &app,
        Method::GET,
        "/?f=json",
        &[("accept", "text/html")],
        None,
    )
    .await;
    assert_eq!(r.header("content-type"), "application/json");
    let conf = get(&app, "/conformance").await.json();
    insta::assert_json_snapshot!("conformance", conf);
}

#[tokio::test]
async fn collections_advertise_crs_attribution_and_extent() {
    let app = app().await;
    let c = get(&app, "/collections/grids").await.json();
    assert_eq!(
        c["storageCrs"],
        "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
    );
    assert!(c["crs"]
        .as_array()
        .unwrap()
        .contains(&json!("http://www.opengis.net/def/crs/EPSG/0/4490")));
    assert_eq!(c["attribution"], OSM_ATTRIBUTION);
    let all = get(&app, "/collections").await.json();
    assert_eq!(all["collections"].as_array().unwrap().len(), 5);
    let q = get(&app, "/collections/buildings/queryables").await;
    assert_eq!(q.header("content-type"), "application/schema+json");
    assert!(q.json()["properties"].get("grid").is_some());
}

#[tokio::test]
async fn rest_api_returns_grid_detail_and_stats() {
    let app = app().await;
    let d = get(&app, "/api/grids/g1").await.json();
    assert_eq!(d["statistics"]["building_count"], 6);
    let want: u64 = city()
        .buildings
        .iter()
        .filter(|b| city().grids[0].buildings.contains(&b.id))
        .map(|b| u64::from(b.households))
        .sum();
    assert_eq!(d["statistics"]["households"], want);
    assert_eq!(d["buildings"]["features"].as_array().unwrap().len(), 6);
    assert_eq!(d["grid"]["properties"]["households"], want);
    let s = get(&app, "/api/stats").await.json();
    assert_eq!(s["counts"]["buildings"], 30);
    assert_eq!(s["households"]["total"], city().households());
    let b = get(&app, "/api/buildings?grid=g2&limit=100").await.json();
    assert_eq!(b["numberMatched"], 3);
    assert_eq!(
        b["features"][0]["properties"]["households_source"],
        "estimated"
    );
    assert_eq!(
        get(&app, "/api/buildings?crs=EPSG:4326").await.status,
        400,
        "the REST API is WGS84 only"
    );
    let h = get(&app, "/health").await.json();
    assert_eq!(
        (
            h["status"].clone(),
            h["backend"].clone(),
            h["counts"]["buildings"].clone()
        ),
        (json!("ok"), json!("sqlite"), json!(30))
    );
}

// ------------------------------------------------------------------ users, roles and scope

/// The accounts of [`add_users`] plus no credentials at all.
const CALLERS: [&str; 6] = [
    "anonymous",
    "admin",
    "planner",
    "department",
    "lead",
    "cplanner",
];

/// What the issue allows, written out independently of the server's policy table: anonymous
/// callers read (on the default config), grid leads read their scope, departments also run
/// what-if and edit facilities, planners also plan and edit grids, admins also manage users.
fn allowed(caller: &str, method: &Method, path: &str) -> bool {
    let public = [
        "/",
        "/conformance",
        "/health",
        "/openapi.json",
        "/docs",
        "/api/login",
    ]
    .contains(&path)
        || (path.starts_with("/open311/v2/services") && *method == Method::GET);
    if public {
        return true;
    }
    let admin_only = path.starts_with("/api/users") || path == "/api/audit";
    // Jobs have an owner: any login (starting one also needs its process's permission, which
    // an empty body never reaches).
    // Events and Open311 requests: any login; scoped per event by the handlers (issue 15).
    let session = path == "/api/me"
        || path == "/api/logout"
        || path.starts_with("/api/jobs")
        || path == "/api/siting"
        || path.starts_with("/api/events")
        || path.starts_with("/open311/v2/requests");
    let write = *method != Method::GET && *method != Method::HEAD;
    let rank = |c: &str| match c {
        "admin" => 4,
        "planner" | "cplanner" => 3,
        "department" => 2,
        "lead" => 1,
        _ => 0,
    };
    let r = rank(caller);
    if admin_only {
        return r == 4;
    }
    if session {
        return r >= 1;
    }
    if !write {
        return true;
    }
    // Corrections of a building's counts: grid leads (their grids), planners, admins.
    if path.starts_with("/api/buildings/") {
        return r == 1 || r >= 3;
    }
    if path == "/api/whatif" || path.starts_with("/collections/facilities/items") {
        return r >= 2;
    }
    // grids, partition, rebalance, validate, accept
    r >= 3
}

/// Fills a route pattern's parameters with ids that exist in the test city.
fn concrete(path: &str) -> String {
    path.replace("{collectionId}", "buildings")
        .replace(
            "{featureId}",
            if path.contains("/grids/") {
                "g1"
            } else if path.contains("/facilities/") {
                "f1"
            } else {
                "b00"
            },
        )
        .replace("{layer}", "buildings")
        .replace("{z}", "14")
        .replace("{x}", "13515")
        .replace("{y}", "6208.mvt")
        .replace("{id}", "g1")
        .replace("{gridId}", "g1")
        .replace("{buildingId}", "b00")
        .replace("{userId}", "nobody")
        .replace("{proposal_id}", "p999")
        .replace("{proposalId}", "p999")
        .replace("{jobId}", "jnope")
        .replace("{eventId}", "ev-nope")
        .replace("{file}", "nope.json")
}

#[tokio::test]
async fn every_route_answers_each_role_as_the_policy_says() {
    let app = app().await;
    let doc = get(&app, "/openapi.json").await.json();
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_none() {
                continue;
            }
            let m: Method = method.to_uppercase().parse().expect("method");
            for caller in CALLERS {
                let auth = if caller == "anonymous" {
                    String::new()
                } else {
                    bearer(caller)
                };
                let mut h = vec![("authorization", auth.as_str())];
                h.push(("accept", "application/json"));
                // Deliberately harmless requests: a stale If-Match and an empty body never change data.
                h.push(("if-match", "\"999999\""));
                let body = (m != Method::GET && m != Method::DELETE).then(|| json!({}));
                let r = call(&app, m.clone(), &concrete(path), &h, body).await;
                let s = r.status.as_u16();
                let scope_refusal = caller == "cplanner"
                    && s == 403
                    && String::from_utf8_lossy(&r.body).contains("plans only communities");
                if allowed(caller, &m, path) && !scope_refusal {
                    assert!(
                        s != 401 && s != 403,
                        "{caller} {method} {path}: {s} but allowed: {}",
                        String::from_utf8_lossy(&r.body)
                    );
                } else {
                    let want = if caller == "anonymous" { 401 } else { 403 };
                    assert_eq!(
                        s,
                        want,
                        "{caller} {method} {path}: {}",
                        String::from_utf8_lossy(&r.body)
                    );
                    assert_eq!(r.header("content-type"), "application/problem+json");
                }
                checked += 1;
            }
        }
    }
    assert!(
        checked > 150,
        "only {checked} route × role checks: is the OpenAPI document complete?"
    );
}

#[tokio::test]
async fn anonymous_access_can_be_switched_off() {
    let app = app_with(ServerConfig {
        anonymous: gridmap_server::auth::Anonymous::None,
        ..Default::default()
    })
    .await;
    assert_eq!(get(&app, "/collections/buildings/items").await.status, 401);
    assert_eq!(
        get(&app, "/tiles/buildings/14/13515/6208.mvt").await.status,
        401
    );
    assert_eq!(get(&app, "/api/coverage?kind=canteen").await.status, 401);
    let r = get(&app, "/api/stats").await;
    assert_eq!(r.status, 401);
    assert!(r.header("www-authenticate").starts_with("Bearer"));
    for public in ["/conformance", "/openapi.json", "/health"] {
        assert_eq!(get(&app, public).await.status, 200, "{public}");
    }
    let r = call(
        &app,
        Method::GET,
        "/collections/buildings/items",
        &[("authorization", &bearer("department"))],
        None,
    )
    .await;
    assert_eq!(r.status, 200);
}

async fn as_lead(app: &App, uri: &str) -> Resp {
    call(
        app,
        Method::GET,
        uri,
        &[("authorization", &bearer("lead"))],
        None,
    )
    .await
}

#[tokio::test]
async fn a_grid_lead_sees_only_their_grid_everywhere() {
    use geozero::mvt::{Message, Tile};
    let app = app().await;
    let g1: Vec<String> = city().grids[0]
        .buildings
        .iter()
        .map(ToString::to_string)
        .collect();
    // OGC items and REST lists: only g1's buildings, even when asking for another grid.
    let r = as_lead(&app, "/collections/buildings/items?limit=100").await;
    let mut got = ids(&r.json());
    got.sort();
    let mut want = g1.clone();
    want.sort();
    assert_eq!(got, want);
    assert_eq!(
        ids(&as_lead(&app, "/collections/buildings/items?grid=g2")
            .await
            .json()),
        Vec::<String>::new()
    );
    assert_eq!(
        ids(&as_lead(&app, "/api/buildings?limit=100").await.json()).len(),
        g1.len()
    );
    assert_eq!(
        ids(&as_lead(&app, "/collections/grids/items").await.json()),
        ["g1"]
    );
    assert_eq!(
        as_lead(&app, "/collections/grids/items/g2").await.status,
        404
    );
    assert_eq!(
        as_lead(&app, "/collections/buildings/items/b50")
            .await
            .status,
        404
    );
    assert_eq!(as_lead(&app, "/api/grids/g2").await.status, 404);
    assert_eq!(as_lead(&app, "/api/grids/g1").await.status, 200);
    assert_eq!(
        ids(&as_lead(&app, "/collections/communities/items").await.json()),
        ["c1"]
    );
    // Facilities within reach (the test city is 600 m wide: all three).
    assert_eq!(
        ids(&as_lead(&app, "/collections/facilities/items").await.json()).len(),
        3
    );
    // Statistics count only the scope.
    let st = as_lead(&app, "/api/stats").await.json();
    assert_eq!(st["counts"]["buildings"], g1.len());
    assert_eq!(st["counts"]["grids"], 1);
    // Coverage is computed for the lead's buildings only.
    let cov = as_lead(&app, "/api/coverage/buildings?kind=canteen").await;
    assert_eq!(cov.status, 200, "{}", String::from_utf8_lossy(&cov.body));
    assert_eq!(
        cov.json()["features"].as_array().map(Vec::len),
        Some(g1.len())
    );
    // Tiles: the building of column 5 is not in the lead's tile, but in the planner's.
    let (x, y) = tile_of(LON0 + 5.0 * STEP + 0.0003, LAT0 + 0.0003, 16);
    let uri = format!("/tiles/buildings/16/{x}/{y}.mvt");
    let count = |r: &Resp| {
        Tile::decode(r.body.as_slice()).map_or(0, |t| {
            t.layers.iter().map(|l| l.features.len()).sum::<usize>()
        })
    };
    let lead_tile = as_lead(&app, &uri).await;
    assert_eq!(lead_tile.status, 200);
    let tile_ids = |r: &Resp| -> Vec<String> {
        let t = Tile::decode(r.body.as_slice()).expect("valid MVT");
        t.layers
            .iter()
            .flat_map(|l| {
                let k = l.keys.iter().position(|k| k == "id").map(|k| k as u32);
                l.features.iter().filter_map(move |f| {
                    f.tags
                        .chunks(2)
                        .find(|kv| Some(kv[0]) == k)
                        .and_then(|kv| l.values[kv[1] as usize].string_value.clone())
                })
            })
            .collect()
    };
    let leaked: Vec<String> = tile_ids(&lead_tile)
        .into_iter()
        .filter(|i| !g1.contains(i))
        .collect();
    assert!(
        leaked.is_empty(),
        "buildings outside the lead's grid leaked into a tile: {leaked:?}"
    );
    assert!(!tile_ids(&lead_tile).contains(&"b50".to_owned()));
    assert!(lead_tile.header("cache-control").starts_with("private"));
    assert!(
        tile_ids(&get(&app, &uri).await).contains(&"b50".to_owned()),
        "the same tile has b50 for others"
    );
    // ... and the lead's own still has them after the others' were cached.
    let (x, y) = tile_of(LON0 + 0.0003, LAT0 + 0.0003, 16);
    assert!(count(&as_lead(&app, &format!("/tiles/buildings/16/{x}/{y}.mvt")).await) > 0);
    // Reads by others after the lead's are not filtered (no cache mix-up).
    assert_eq!(
        get(&app, "/collections/buildings/items?limit=100")
            .await
            .json()["numberMatched"],
        30
    );
}

#[tokio::test]
async fn basemap_tiles_hold_no_project_feature_for_a_grid_lead() {
    use geozero::mvt::{Message, Tile};
    let app = app().await;
    let ds = city();
    let g1: Vec<String> = ds.grids[0]
        .buildings
        .iter()
        .map(ToString::to_string)
        .collect();
    let names: Vec<String> = ds
        .buildings
        .iter()
        .filter(|b| !g1.contains(&b.id.to_string()))
        .filter_map(|b| b.name.clone())
        .chain(ds.facilities.iter().filter_map(|f| f.name.clone()))
        .chain(ds.compounds.iter().filter_map(|c| c.name.clone()))
        .collect();
    assert!(!names.is_empty());
    // Every basemap tile over the city, z12-16, as the lead and as a planner (one cached copy).
    let mut tiles = 0;
    for z in 12..=16u32 {
        let (x0, y1) = tile_of(LON0 - 0.001, LAT0 - 0.001, z);
        let (x1, y0) = tile_of(LON0 + 0.007, LAT0 + 0.006, z);
        for x in x0..=x1 {
            for y in y0..=y1 {
                for r in [
                    as_lead(&app, &format!("/tiles/basemap/{z}/{x}/{y}.mvt")).await,
                    get(&app, &format!("/tiles/basemap/{z}/{x}/{y}.mvt")).await,
                ] {
                    assert_eq!(r.status, 200);
                    tiles += 1;
                    let t = Tile::decode(r.body.as_slice()).expect("valid MVT");
                    for l in &t.layers {
                        assert!(
                            ["water", "railways", "roads", "labels"].contains(&l.name.as_str()),
                            "project layer '{}' in the basemap",
                            l.name
                        );
                        assert!(
                            !l.keys.iter().any(|k| k == "id"),
                            "feature ids in basemap layer '{}'",
                            l.name
                        );
                        for v in &l.values {
                            if let Some(s) = &v.string_value {
                                assert!(
                                    !names.contains(s),
                                    "project name '{s}' in basemap layer '{}' ({z}/{x}/{y})",
                                    l.name
                                );
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(tiles > 10);
}

#[tokio::test]
async fn login_sets_a_secure_cookie_and_logout_ends_the_session() {
    let app = app().await;
    let login = |user: &str, pw: &str| json!({"user": user, "password": pw});
    let r = call(
        &app,
        Method::POST,
        "/api/login",
        &[("authorization", "")],
        Some(login("lead", "wrong")),
    )
    .await;
    assert_eq!(r.status, 401);
    let r2 = call(
        &app,
        Method::POST,
        "/api/login",
        &[("authorization", "")],
        Some(login("nobody", "wrong")),
    )
    .await;
    assert_eq!(
        (r2.status, r2.json()["detail"].clone()),
        (r.status, r.json()["detail"].clone()),
        "same answer for unknown users"
    );
    assert_eq!(
        call(
            &app,
            Method::POST,
            "/api/login",
            &[("authorization", "")],
            Some(login("off", "off-pass"))
        )
        .await
        .status,
        401,
        "disabled"
    );
    let r = call(
        &app,
        Method::POST,
        "/api/login",
        &[("authorization", "")],
        Some(login("lead", "lead-pass")),
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let cookie = r.header("set-cookie").to_owned();
    assert!(
        cookie.starts_with("gridmap_session=gs_")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert_eq!(r.json()["role"], "grid_lead");
    assert_eq!(r.json()["grids"], json!(["g1"]));
    let session = cookie.split(';').next().unwrap().to_owned();
    let me = call(&app, Method::GET, "/api/me", &[("cookie", &session)], None).await;
    assert_eq!(
        (me.status, me.json()["user"].clone()),
        (StatusCode::OK, json!("lead"))
    );
    assert_eq!(
        call(
            &app,
            Method::GET,
            "/collections/grids/items",
            &[("cookie", &session)],
            None
        )
        .await
        .json()["numberMatched"],
        1
    );
    // A cookie-authenticated write from another site is refused.
    let r = call(
        &app,
        Method::POST,
        "/api/logout",
        &[
            ("cookie", &session),
            ("authorization", ""),
            ("origin", "https://evil.example"),
            ("host", "test"),
        ],
        None,
    )
    .await;
    assert_eq!(r.status, 403);
    let r = call(
        &app,
        Method::POST,
        "/api/logout",
        &[("cookie", &session), ("authorization", "")],
        None,
    )
    .await;
    assert_eq!(r.status, 204);
    assert!(r.header("set-cookie").contains("Max-Age=0"));
    assert_eq!(
        call(&app, Method::GET, "/api/me", &[("cookie", &session)], None)
            .await
            .status,
        401,
        "the session is over"
    );
    assert_eq!(get(&app, "/api/me").await.status, 401);
    assert_eq!(
        call(
            &app,
            Method::GET,
            "/api/me",
            &[("authorization", "Bearer tok-invalid")],
            None
        )
        .await
        .status,
        401
    );
}

#[tokio::test]
async fn community_planners_edit_only_their_communities() {
    let app = app().await;
    let tag = get(&app, "/collections/grids/items/g1")
        .await
        .header("etag")
        .to_owned();
    let body = json!({"type": "Feature", "geometry": null, "properties": {"name": "renamed"}});
    let cp = bearer("cplanner");
    let r = call(
        &app,
        Method::PATCH,
        "/collections/grids/items/g1",
        &[("authorization", &cp), ("if-match", &tag)],
        Some(body.clone()),
    )
    .await;
    assert_eq!(
        r.status,
        403,
        "g1 lies in c1: {}",
        String::from_utf8_lossy(&r.body)
    );
    assert_eq!(
        get(&app, "/collections/grids/items/g1")
            .await
            .header("etag"),
        tag,
        "nothing changed"
    );
    let r = call(
        &app,
        Method::POST,
        "/api/partition",
        &[("authorization", &cp)],
        Some(json!({"community": "c1"})),
    )
    .await;
    assert_eq!(r.status, 403);
    let r = call(
        &app,
        Method::POST,
        "/api/partition",
        &[("authorization", &cp)],
        Some(json!({"community": "c2"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    // Moving a grid into a community they do not plan is refused too.
    let r = call(&app, Method::POST, "/collections/grids/items", &[("authorization", &cp)],
        Some(json!({"type": "Feature", "geometry": null, "properties": {"code": "X-1", "community": "c1"}}))).await;
    assert_eq!(r.status, 403);
    let r = call(
        &app,
        Method::PATCH,
        "/collections/grids/items/g1",
        &[("if-match", &tag)],
        Some(body),
    )
    .await;
    assert_eq!(r.status, 200, "an unscoped planner may");
}

#[tokio::test]
async fn edits_are_audited_with_before_and_after_and_the_grid_history_undoes() {
    let app = app().await;
    let tag = get(&app, "/collections/grids/items/g1")
        .await
        .header("etag")
        .to_owned();
    let r = call(
        &app,
        Method::PATCH,
        "/collections/grids/items/g1",
        &[("if-match", &tag)],
        Some(json!({"properties": {"name": "东区一格"}})),
    )
    .await;
    assert_eq!(r.status, 200);
    let r = call(&app, Method::POST, "/collections/facilities/items", &[("authorization", &bearer("department"))],
        Some(json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [116.301, 39.901]}, "properties": {"kind": "canteen"}}))).await;
    assert_eq!(r.status, 201);
    // Admins read the log; others may not.
    assert_eq!(
        call(
            &app,
            Method::GET,
            "/api/audit",
            &[("authorization", &bearer("planner"))],
            None
        )
        .await
        .status,
        403
    );
    let log = call(
        &app,
        Method::GET,
        "/api/audit",
        &[("authorization", &bearer("admin"))],
        None,
    )
    .await
    .json();
    let entries = log["entries"].as_array().expect("entries");
    let fac = &entries[0];
    assert_eq!(
        (fac["user"].as_str(), fac["action"].as_str()),
        (Some("department"), Some("facility.create"))
    );
    assert!(fac["before"].is_null() && fac["after"]["properties"]["kind"] == "canteen");
    let grid = entries
        .iter()
        .find(|e| e["target"] == "grid:g1")
        .expect("grid entry");
    assert_eq!(
        (grid["user"].as_str(), grid["action"].as_str()),
        (Some("planner"), Some("grid.update"))
    );
    assert_eq!(grid["before"]["properties"]["name"], Value::Null);
    assert_eq!(grid["after"]["properties"]["name"], "东区一格");
    // The history of g1, visible to its lead, carries what an undo writes back.
    let h = as_lead(&app, "/api/grids/g1/history").await.json();
    let before = h["entries"][0]["before"].clone();
    assert_eq!(as_lead(&app, "/api/grids/g2/history").await.status, 404);
    let tag = get(&app, "/collections/grids/items/g1")
        .await
        .header("etag")
        .to_owned();
    let r = call(
        &app,
        Method::PUT,
        "/collections/grids/items/g1",
        &[("if-match", &tag)],
        Some(before),
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let g = get(&app, "/collections/grids/items/g1").await.json();
    assert!(
        g["properties"].get("name").is_none_or(Value::is_null),
        "undone: {}",
        g["properties"]
    );
    assert_eq!(
        g["properties"]["buildings"].as_array().map(Vec::len),
        Some(6)
    );
}

#[tokio::test]
async fn admins_manage_users_over_http_and_changes_apply_at_once() {
    let app = app().await;
    let admin = bearer("admin");
    let r = call(
        &app,
        Method::POST,
        "/api/users",
        &[("authorization", &admin)],
        Some(
            json!({"id": "lead2", "role": "grid_lead", "password": "longenough", "grids": ["g2"]}),
        ),
    )
    .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let r = call(
        &app,
        Method::POST,
        "/api/users",
        &[("authorization", &admin)],
        Some(json!({"id": "x", "role": "grid_lead", "password": "longenough", "grids": ["nope"]})),
    )
    .await;
    assert_eq!(r.status, 422, "unknown grid");
    let r = call(
        &app,
        Method::POST,
        "/api/users",
        &[("authorization", &admin)],
        Some(json!({"id": "lead2", "role": "planner", "password": "longenough"})),
    )
    .await;
    assert_eq!(r.status, 409);
    let r = call(
        &app,
        Method::POST,
        "/api/login",
        &[("authorization", "")],
        Some(json!({"user": "lead2", "password": "longenough"})),
    )
    .await;
    assert_eq!(r.status, 200);
    let cookie = r.header("set-cookie").split(';').next().unwrap().to_owned();
    assert_eq!(
        call(
            &app,
            Method::GET,
            "/collections/grids/items",
            &[("cookie", &cookie)],
            None
        )
        .await
        .json()["numberMatched"],
        1
    );
    // Disabling the account ends its session at once.
    let r = call(
        &app,
        Method::PATCH,
        "/api/users/lead2",
        &[("authorization", &admin)],
        Some(json!({"disabled": true})),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        call(&app, Method::GET, "/api/me", &[("cookie", &cookie)], None)
            .await
            .status,
        401
    );
    assert_eq!(
        call(
            &app,
            Method::DELETE,
            "/api/users/admin",
            &[("authorization", &admin)],
            None
        )
        .await
        .status,
        409
    );
    assert_eq!(
        call(
            &app,
            Method::DELETE,
            "/api/users/lead2",
            &[("authorization", &admin)],
            None
        )
        .await
        .status,
        204
    );
    let users = call(
        &app,
        Method::GET,
        "/api/users",
        &[("authorization", &admin)],
        None,
    )
    .await
    .json();
    assert!(users["users"]
        .as_array()
        .unwrap()
        .iter()
        .all(|u| u["id"] != "lead2"));
    let log = call(
        &app,
        Method::GET,
        "/api/audit?target=user:lead2",
        &[("authorization", &admin)],
        None,
    )
    .await
    .json();
    let actions: Vec<&str> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        ["user.remove", "user.update", "session.login", "user.add"]
    );
}

#[tokio::test]
async fn a_cookie_write_is_origin_checked_whatever_authorization_header_it_carries() {
    let app = app().await;
    let r = call(
        &app,
        Method::POST,
        "/api/login",
        &[("authorization", "")],
        Some(json!({"user": "admin", "password": "admin-pass"})),
    )
    .await;
    assert_eq!(r.status, 200);
    let cookie = r.header("set-cookie").split(';').next().unwrap().to_owned();
    let body = json!({"id": "evil", "role": "admin", "password": "longenough"});
    for extra in [
        ("origin", "http://evil.example"),
        ("sec-fetch-site", "cross-site"),
    ] {
        let r = call(
            &app,
            Method::POST,
            "/api/users",
            &[
                ("cookie", &cookie),
                ("authorization", "Basic YWRtaW46eA=="),
                ("host", "test"),
                extra,
            ],
            Some(body.clone()),
        )
        .await;
        assert_eq!(
            r.status,
            403,
            "{extra:?}: {}",
            String::from_utf8_lossy(&r.body)
        );
    }
    // A valid Bearer token authenticates by itself and is not origin-checked.
    let r = call(
        &app,
        Method::POST,
        "/api/users",
        &[
            ("cookie", &cookie),
            ("authorization", &bearer("admin")),
            ("host", "test"),
            ("origin", "http://evil.example"),
        ],
        Some(body),
    )
    .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
}

#[tokio::test]
async fn a_refused_accept_leaves_the_proposal_for_its_owner() {
    let app = app().await;
    let r = call(
        &app,
        Method::POST,
        "/api/partition",
        &[],
        Some(json!({"community": "c1"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let id = r.json()["proposal_id"]
        .as_str()
        .expect("proposal id")
        .to_owned();
    let uri = format!("/api/partition/{id}/accept");
    assert_eq!(
        call(
            &app,
            Method::POST,
            &uri,
            &[("authorization", &bearer("cplanner"))],
            None
        )
        .await
        .status,
        403
    );
    let r = call(&app, Method::POST, &uri, &[], None).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
}

#[tokio::test]
async fn a_malformed_audit_since_is_400_naming_the_parameter() {
    let app = app().await;
    let admin = bearer("admin");
    let r = call(
        &app,
        Method::GET,
        "/api/audit?since=yesterday",
        &[("authorization", &admin)],
        None,
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(
        r.json()["detail"].as_str().unwrap_or("").contains("since"),
        "{}",
        r.json()
    );
    let r = call(
        &app,
        Method::GET,
        "/api/audit?since=2020-01-01T00:00:00Z",
        &[("authorization", &admin)],
        None,
    )
    .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn a_one_number_position_in_validate_is_400_not_a_panic() {
    let app = app().await;
    let fc = json!({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},
        "geometry": {"type": "MultiPolygon", "coordinates": [[[[0.0], [0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0], [0.0, 0.0]]]]}}]});
    let r = call(
        &app,
        Method::POST,
        "/api/validate",
        &[],
        Some(json!({"grids": fc})),
    )
    .await;
    assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&r.body));
    assert!(r
        .header("content-type")
        .starts_with("application/problem+json"));
}

#[tokio::test]
async fn json_routes_refuse_other_media_types_with_415() {
    let app = app().await;
    let send = |uri: &'static str, auth: String, ctype: &'static str, body: &'static str| {
        let router = app.router.clone();
        async move {
            let mut b = Request::builder()
                .method(Method::POST)
                .uri(uri)
                .header(header::CONTENT_TYPE, ctype);
            if !auth.is_empty() {
                b = b.header(header::AUTHORIZATION, auth);
            }
            let resp = router
                .oneshot(b.body(Body::from(body)).expect("request"))
                .await
                .expect("infallible");
            let ct = resp
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            (resp.status().as_u16(), ct)
        }
    };
    let login = r#"{"user":"admin","password":"admin-pass"}"#;
    for (uri, auth, body) in [
        ("/api/login", String::new(), login),
        (
            "/api/users",
            bearer("admin"),
            r#"{"id":"x1","role":"planner","password":"longenough"}"#,
        ),
        ("/api/whatif", bearer("planner"), "{}"),
        ("/api/partition", bearer("planner"), "{}"),
        ("/api/rebalance", bearer("planner"), r#"{"dry_run":true}"#),
        ("/api/validate", bearer("planner"), "{}"),
    ] {
        let (status, ct) = send(uri, auth, "text/plain", body).await;
        assert_eq!(
            (status, ct.as_str()),
            (415, "application/problem+json"),
            "{uri}"
        );
    }
    assert_eq!(
        send(
            "/api/login",
            String::new(),
            "application/json; charset=utf-8",
            login
        )
        .await
        .0,
        200
    );
    // Routes whose body is optional still take none.
    let r = call(&app, Method::POST, "/api/partition", &[], None).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
}

#[tokio::test]
async fn repeated_failed_logins_are_throttled_alike_for_known_and_unknown_names() {
    let app = app().await;
    let login = |user: &str, pw: &str| json!({"user": user, "password": pw});
    let mut last = (StatusCode::OK, Value::Null);
    for user in ["lead", "nobody"] {
        let mut statuses = vec![];
        for _ in 0..6 {
            let r = call(
                &app,
                Method::POST,
                "/api/login",
                &[("authorization", "")],
                Some(login(user, "wrong")),
            )
            .await;
            statuses.push(r.status.as_u16());
            last = (r.status, r.json()["detail"].clone());
            if r.status == 429 {
                assert!(
                    r.header("retry-after").parse::<u64>().is_ok_and(|s| s >= 1),
                    "Retry-After: {:?}",
                    r.header("retry-after")
                );
            }
        }
        assert_eq!(statuses, [401, 401, 401, 401, 401, 429], "{user}");
        if user == "lead" {
            // Even the right password waits while locked (the 6th attempt was refused at once).
            let r = call(
                &app,
                Method::POST,
                "/api/login",
                &[("authorization", "")],
                Some(login("lead", "lead-pass")),
            )
            .await;
            assert_eq!(r.status, 429);
        }
    }
    assert_eq!(last.0, 429);
    let log = call(
        &app,
        Method::GET,
        "/api/audit?target=user:lead",
        &[("authorization", &bearer("admin"))],
        None,
    )
    .await
    .json();
    assert!(log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["action"] == "login.throttled"));
    // Other users are not locked out by someone else's failures (no peer address here).
    let r = call(
        &app,
        Method::POST,
        "/api/login",
        &[("authorization", "")],
        Some(login("planner", "planner-pass")),
    )
    .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn kinds_come_from_the_recorded_profile_and_figures_carry_its_label() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = gridmap_store::open(&url).await.expect("open store");
    store.import(&city()).await.expect("import");
    let app = App {
        router: router(AppState::new(store.clone(), ServerConfig::default())),
        _dir: dir,
    };
    // Nothing recorded (a database from before profiles were kept): the core kinds, no label.
    let k = get(&app, "/api/kinds").await.json();
    assert_eq!(k["profile"]["name"], "unrecorded");
    assert_eq!(k["label"], Value::Null);
    let codes: Vec<&str> = k["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes[..5],
        [
            "service_station",
            "canteen",
            "reading_room",
            "outreach_point",
            "other"
        ]
    );
    // A proxy import records its label; a department's own kind is listed with its colour.
    let catalog = KindCatalog::new(
        FacilityProfile {
            name: "proxy".into(),
            label: Some("proxy: restaurants counted as canteens".into()),
            substitutions: vec!["restaurants counted as canteens".into()],
        },
        vec![KindDef {
            code: FacilityKind::Canteen,
            zh: "幸福食堂".into(),
            en: "Canteen".into(),
            colour: "#ec7014".into(),
            minutes: 10.0,
        }],
    );
    store
        .put_meta(
            FACILITY_PROFILE_META,
            &serde_json::to_value(&catalog).unwrap(),
        )
        .await
        .unwrap();
    let k = get(&app, "/api/kinds").await.json();
    let label = "proxy: restaurants counted as canteens (restaurants counted as canteens)";
    assert_eq!(k["label"], label);
    assert_eq!(k["profile"]["name"], "proxy");
    assert_eq!(k["kinds"][0]["code"], "canteen");
    assert_eq!(k["kinds"][0]["minutes"], 10.0);
    let n = city().facilities.len() as u64;
    let listed: u64 = k["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["facilities"].as_u64().unwrap())
        .sum();
    assert_eq!(listed, n, "kinds present but undeclared are listed too");
    let c = get(&app, "/api/coverage?kind=canteen&minutes=15")
        .await
        .json();
    assert_eq!(c["facility_label"], label);
    assert_eq!(c["facility_profile"], "proxy");
    let s = get(&app, "/api/stats").await.json();
    assert_eq!(s["facility_label"], label);
}

// ------------------------------------------------------------------ issue 20: QGIS as a client

/// Declared property names of a collection (its Part 5 schema, without id and geometry).
async fn declared(app: &App, c: &str) -> Vec<String> {
    let s = get(app, &format!("/collections/{c}/schema")).await.json();
    s["properties"]
        .as_object()
        .expect("schema properties")
        .keys()
        .filter(|k| *k != "id" && *k != "geometry")
        .cloned()
        .collect()
}

#[tokio::test]
async fn every_feature_carries_every_declared_property_with_null_where_unknown() {
    let app = app().await;
    for c in [
        "buildings",
        "compounds",
        "communities",
        "grids",
        "facilities",
    ] {
        let want = declared(&app, c).await;
        assert!(!want.is_empty(), "{c}: nothing declared");
        let fc = get(&app, &format!("/collections/{c}/items?limit=1000"))
            .await
            .json();
        for f in fc["features"].as_array().expect("features") {
            let props = f["properties"].as_object().expect("properties");
            let mut got: Vec<&String> = props.keys().collect();
            got.sort();
            let mut w: Vec<&String> = want.iter().collect();
            w.sort();
            assert_eq!(got, w, "{c} {}: properties differ from the schema", f["id"]);
        }
        // The REST list and a single item carry the same fields.
        let one = &fc["features"][0];
        let id = one["id"].as_str().expect("id");
        let item = get(&app, &format!("/collections/{c}/items/{id}"))
            .await
            .json();
        assert_eq!(
            item["properties"].as_object().map(serde_json::Map::len),
            Some(want.len()),
            "{c}/{id}"
        );
    }
    // Unknown values are null, not left out: the test city has no addresses, stewards or hours.
    let b = get(&app, "/collections/buildings/items/b00").await.json();
    assert!(b["properties"]["address"].is_null() && b["properties"]["steward"].is_null());
    assert_eq!(b["properties"]["levels"], 6.0);
    let f = get(&app, "/collections/facilities/items/f1").await.json();
    assert!(f["properties"]["opening_hours"].is_null());
    assert_eq!(f["properties"]["capacity"], 40);
    let g = get(&app, "/api/grids").await.json();
    assert!(g["features"][0]["properties"]
        .as_object()
        .is_some_and(|p| p.contains_key("name") && p["name"].is_null()));
}

#[tokio::test]
async fn the_schema_types_every_property_and_is_linked_and_advertised() {
    let app = app().await;
    let r = get(&app, "/collections/buildings/schema").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), "application/schema+json");
    let s = r.json();
    assert_eq!(s["$schema"], "https://json-schema.org/draft/2020-12/schema");
    assert_eq!(s["$id"], "http://test/collections/buildings/schema");
    let p = &s["properties"];
    assert_eq!(p["id"]["x-ogc-role"], "id");
    assert_eq!(p["geometry"]["x-ogc-role"], "primary-geometry");
    assert_eq!(p["levels"]["type"], json!(["number", "null"]));
    assert_eq!(p["households"]["type"], json!(["integer", "null"]));
    assert_eq!(p["grid"]["type"], json!(["string", "null"]));
    assert!(p["levels"]["description"]
        .as_str()
        .is_some_and(|d| !d.is_empty()));
    let f = get(&app, "/collections/facilities/schema").await.json();
    assert_eq!(
        f["properties"]["capacity"]["type"],
        json!(["integer", "null"])
    );
    assert_eq!(f["properties"]["kind_label"]["readOnly"], true);
    assert_eq!(f["properties"]["geometry"]["format"], "geometry-point");
    let g = get(&app, "/collections/grids/schema").await.json();
    assert_eq!(g["properties"]["buildings"]["items"]["type"], "string");
    assert_eq!(get(&app, "/collections/nope/schema").await.status, 404);
    assert_eq!(get(&app, "/collections/grids/schema?x=1").await.status, 400);
    // Linked from the collection and advertised in the conformance classes.
    let c = get(&app, "/collections/buildings").await.json();
    assert!(c["links"].as_array().unwrap().iter().any(|l| l["rel"]
        == "http://www.opengis.net/def/rel/ogc/1.0/schema"
        && l["href"] == "http://test/collections/buildings/schema"));
    let conf = get(&app, "/conformance").await.json();
    assert!(conf["conformsTo"].as_array().unwrap().contains(&json!(
        "http://www.opengis.net/spec/ogcapi-features-5/1.0/conf/schemas"
    )));
    // Queryables are typed from the same table.
    let q = get(&app, "/collections/buildings/queryables").await.json();
    assert_eq!(q["properties"]["grid"]["type"], json!(["string", "null"]));
    assert!(q["properties"]["grid"]["description"].is_string());
}

#[tokio::test]
async fn tilejson_fields_are_the_collections_scalar_properties_and_zooms_agree() {
    let app = app().await;
    for c in [
        "buildings",
        "compounds",
        "communities",
        "grids",
        "facilities",
    ] {
        let schema = get(&app, &format!("/collections/{c}/schema")).await.json();
        let tj = get(&app, &format!("/tiles/{c}.json")).await.json();
        let layers = tj["vector_layers"].as_array().expect("vector_layers");
        let layer = layers
            .iter()
            .find(|l| l["id"] == c)
            .expect("collection layer");
        let mut fields: Vec<String> = layer["fields"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        fields.sort();
        let mut want: Vec<String> = schema["properties"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, v)| *k != "geometry" && !v["type"].to_string().contains("array"))
            .map(|(k, _)| k.clone())
            .collect();
        want.sort();
        assert_eq!(fields, want, "{c}: TileJSON fields");
        let (lo, hi) = (
            tj["minzoom"].as_u64().unwrap(),
            tj["maxzoom"].as_u64().unwrap(),
        );
        let mins: Vec<u64> = layers
            .iter()
            .map(|l| l["minzoom"].as_u64().unwrap())
            .collect();
        let maxs: Vec<u64> = layers
            .iter()
            .map(|l| l["maxzoom"].as_u64().unwrap())
            .collect();
        assert_eq!(mins.iter().min(), Some(&lo), "{c}: top-level minzoom");
        assert_eq!(maxs.iter().max(), Some(&hi), "{c}: top-level maxzoom");
    }
    let tj = get(&app, "/tiles/buildings.json").await.json();
    let zooms: Vec<(String, u64, u64)> = tj["vector_layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["id"].as_str().unwrap().to_owned(),
                l["minzoom"].as_u64().unwrap(),
                l["maxzoom"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        zooms,
        [
            ("building_cells".to_owned(), 0, 12),
            ("buildings".to_owned(), 13, 16)
        ]
    );
    assert_eq!(tj["minzoom"], 0);
}

/// Sum of an integer property over the features of one MVT layer of a tile.
fn layer_sum(body: &[u8], layer: &str, key: &str) -> (usize, i64) {
    use geozero::mvt::{Message, Tile};
    if body.is_empty() {
        return (0, 0);
    }
    let t = Tile::decode(body).expect("valid MVT");
    let Some(l) = t.layers.iter().find(|l| l.name == layer) else {
        return (0, 0);
    };
    let k = l.keys.iter().position(|k| k == key).expect("key") as u32;
    let sum = l
        .features
        .iter()
        .filter_map(|f| f.tags.chunks(2).find(|kv| kv[0] == k))
        .map(|kv| {
            let v = &l.values[kv[1] as usize];
            v.sint_value
                .or(v.int_value)
                .or(v.uint_value.map(|u| u as i64))
                .unwrap_or(0)
        })
        .sum();
    (l.features.len(), sum)
}

/// Every tile of zoom `z` over the test city, summed: (cells, households, buildings).
async fn cells_over_city(app: &App, z: u32, auth: &str) -> (usize, i64, i64) {
    let (x0, y1) = tile_of(LON0 - 0.001, LAT0 - 0.001, z);
    let (x1, y0) = tile_of(LON0 + 0.007, LAT0 + 0.006, z);
    let mut out = (0, 0, 0);
    for x in x0..=x1 {
        for y in y0..=y1 {
            let r = call(
                app,
                Method::GET,
                &format!("/tiles/buildings/{z}/{x}/{y}.mvt"),
                &[("authorization", auth)],
                None,
            )
            .await;
            assert_eq!(r.status, 200);
            let (n, hh) = layer_sum(&r.body, "building_cells", "households");
            let (_, nb) = layer_sum(&r.body, "building_cells", "buildings");
            assert_eq!(
                layer_sum(&r.body, "buildings", "households").0,
                0,
                "no footprints below z13"
            );
            out = (out.0 + n, out.1 + hh, out.2 + nb);
        }
    }
    out
}

#[tokio::test]
async fn building_tiles_below_z13_hold_household_cells_scoped_like_every_tile() {
    let app = app().await;
    let ds = city();
    let total: i64 = ds.buildings.iter().map(|b| i64::from(b.households)).sum();
    for z in [4, 9, 11, 12] {
        let (cells, hh, nb) = cells_over_city(&app, z, "").await;
        assert!(cells > 0, "z{z}: no cells");
        assert_eq!((hh, nb), (total, 30), "z{z}: every household counted once");
    }
    // Finer zooms have more cells (the city is ~600 m wide: 220 m cells at z12).
    assert!(cells_over_city(&app, 12, "").await.0 > cells_over_city(&app, 9, "").await.0);
    // At z13 and above the footprints come back.
    let (x, y) = tile_of(LON0 + 0.0003, LAT0 + 0.0003, 13);
    let r = get(&app, &format!("/tiles/buildings/13/{x}/{y}.mvt")).await;
    assert!(layer_sum(&r.body, "buildings", "households").0 > 0);
    // A grid lead's cells count only their grid's buildings.
    let g1: std::collections::HashSet<String> = ds.grids[0]
        .buildings
        .iter()
        .map(ToString::to_string)
        .collect();
    let lead_total: i64 = ds
        .buildings
        .iter()
        .filter(|b| g1.contains(b.id.as_str()))
        .map(|b| i64::from(b.households))
        .sum();
    let (_, hh, nb) = cells_over_city(&app, 11, &bearer("lead")).await;
    assert_eq!((hh, nb as usize), (lead_total, g1.len()));
    // ... and the others' cached tiles are not mixed up with the lead's.
    assert_eq!(cells_over_city(&app, 11, "").await.1, total);
}

#[tokio::test]
async fn the_map_style_names_served_sources_and_source_layers() {
    let app = app().await;
    let r = get(&app, "/styles/gridmap.json").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), "application/json");
    let s = r.json();
    assert_eq!(s["version"], 8);
    let layers = s["layers"]
        .as_array()
        .expect("a layers list (QGIS needs it)");
    assert!(layers.len() >= 5);
    let mut seen = std::collections::HashSet::new();
    for l in layers {
        let src = l["source"].as_str().expect("source");
        let url = s["sources"][src]["url"].as_str().expect("source url");
        let path = url.strip_prefix("http://test").expect("absolute URL");
        let tj = get(&app, path).await;
        assert_eq!(tj.status, 200, "{url}");
        let sl = l["source-layer"].as_str().expect("source-layer");
        assert!(
            tj.json()["vector_layers"]
                .as_array()
                .unwrap()
                .iter()
                .any(|v| v["id"] == sl),
            "{} draws {sl}, which {url} does not declare",
            l["id"]
        );
        seen.insert(sl.to_owned());
    }
    for sl in [
        "buildings",
        "building_cells",
        "grids",
        "facilities",
        "communities",
    ] {
        assert!(seen.contains(sl), "the style does not draw {sl}");
    }
    assert_eq!(get(&app, "/styles/gridmap.json?f=x").await.status, 400);
    let doc = get(&app, "/openapi.json").await.json();
    assert!(doc["paths"].get("/styles/gridmap.json").is_some());
    assert!(doc["paths"]
        .get("/collections/{collectionId}/schema")
        .is_some());
}
