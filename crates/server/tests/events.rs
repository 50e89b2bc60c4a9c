//! Events (issue 15) over HTTP on a SQLite store holding a small city (two communities, grid
//! g1 of six buildings in c1, grid g2 of six in c2), on a fake clock: routing at creation,
//! scope per role for list, detail and Open311, 409 naming the allowed moves, If-Match, the
//! Open311 GeoReport v2 shapes.
use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use geo_types::{LineString, MultiPolygon, Point, Polygon};
use gridmap_model::events::{days_from_civil, EventCategories, FakeClock};
use gridmap_model::*;
use gridmap_server::routes::events::EventsState;
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

/// 6 × 5 buildings: columns 0-2 in community c1, 3-5 in c2; grid g1 holds six of c1.
fn city() -> Dataset {
    let mut ds = Dataset::default();
    for (id, x0) in [("c1", 0.0), ("c2", 3.0)] {
        ds.communities.push(Community {
            id: id.into(),
            name: format!("社区{id}"),
            street: None,
            boundary: Some(square(LON0 + x0 * STEP - 0.0001, LAT0 - 0.0001, 3.0 * STEP)),
        });
    }
    for i in 0..6u32 {
        for j in 0..5u32 {
            ds.buildings.push(Building {
                id: BuildingId::new(format!("b{i}{j}")),
                name: None,
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
                compound: None,
                community: Some(if i < 3 { "c1" } else { "c2" }.into()),
            });
        }
    }
    let g1: Vec<BuildingId> = ds
        .buildings
        .iter()
        .filter(|b| b.community.as_ref().is_some_and(|c| c.as_str() == "c1"))
        .take(6)
        .map(|b| b.id.clone())
        .collect();
    ds.grids.push(Grid {
        id: "g1".into(),
        code: "C1-01".into(),
        name: None,
        community: Some("c1".into()),
        buildings: g1,
        leads: vec![],
        boundary: None,
        version: 1,
    });
    for (id, kind, dx) in [
        ("f1", FacilityKind::Canteen, 0.5),
        ("f2", FacilityKind::ReadingRoom, 4.5),
        ("f3", FacilityKind::ServiceStation, 2.5),
    ] {
        ds.facilities.push(Facility {
            id: id.into(),
            kind,
            name: None,
            location: Point::new(LON0 + dx * STEP, LAT0 + 2.5 * STEP),
            capacity: None,
            opening_hours: None,
        });
    }
    // A walking network: one street per row and per column.
    for k in 0..7u32 {
        let x = LON0 + f64::from(k) * STEP - 0.0002;
        let y = LAT0 + f64::from(k) * STEP - 0.0002;
        for (id, line) in [
            (
                format!("wv{k}"),
                vec![(x, LAT0 - 0.0002), (x, LAT0 + 5.0 * STEP)],
            ),
            (
                format!("wh{k}"),
                vec![(LON0 - 0.0002, y), (LON0 + 6.0 * STEP, y)],
            ),
        ] {
            ds.ways.push(NetworkWay {
                id: WayId::new(id),
                geometry: LineString::from(line),
                tags: [("highway".to_owned(), "residential".to_owned())]
                    .into_iter()
                    .collect(),
                length_m: None,
            });
        }
    }
    ds
}

struct App {
    router: axum::Router,
    clock: Arc<FakeClock>,
    _dir: tempfile::TempDir,
}

/// Friday 2026-12-04 10:00 +08:00.
fn t0() -> i64 {
    days_from_civil(2026, 12, 4) * 86_400 + 2 * 3600
}

async fn app() -> App {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = gridmap_store::open(&url).await.expect("open store");
    let mut ds = city();
    let g2: Vec<BuildingId> = ds
        .buildings
        .iter()
        .filter(|b| b.community.as_ref().is_some_and(|c| c.as_str() == "c2"))
        .take(6)
        .map(|b| b.id.clone())
        .collect();
    ds.grids.push(Grid {
        id: "g2".into(),
        code: "C2-01".into(),
        name: None,
        community: Some("c2".into()),
        buildings: g2,
        leads: vec![],
        boundary: None,
        version: 1,
    });
    store.import(&ds).await.expect("import");
    for (name, role) in [
        ("admin", Role::Admin),
        ("planner", Role::Planner),
        ("urban_management", Role::Department),
        ("civil_affairs", Role::Department),
        ("lead", Role::GridLead),
        ("lead2", Role::GridLead),
    ] {
        let mut u = User::new(name, role);
        if name == "lead" {
            u.grids = vec![GridId::new("g1")];
        }
        if name == "lead2" {
            u.grids = vec![GridId::new("g2")];
        }
        store.put_user(&u, None).await.expect("user");
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
    let clock = Arc::new(FakeClock::at(t0()));
    let mut state = AppState::new(
        store,
        ServerConfig {
            public_url: Some("http://test".into()),
            ..Default::default()
        },
    );
    state.events = Arc::new(EventsState::new(
        Arc::new(EventCategories::default()),
        clock.clone(),
    ));
    App {
        router: router(state),
        clock,
        _dir: dir,
    }
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
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A request as `user` (`""`: anonymous) with a JSON body.
async fn call(
    app: &App,
    method: Method,
    uri: &str,
    user: &str,
    extra: &[(&str, &str)],
    body: Option<Value>,
) -> Resp {
    let mut b = Request::builder().method(method).uri(uri);
    if !user.is_empty() {
        b = b.header(header::AUTHORIZATION, format!("Bearer tok-{user}"));
    }
    for (k, v) in extra {
        b = b.header(*k, *v);
    }
    let req = match body {
        Some(v) => b
            .header(header::CONTENT_TYPE, "application/json")
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

async fn call_raw(
    app: &App,
    method: Method,
    uri: &str,
    user: &str,
    extra: &[(&str, &str)],
    ctype: &str,
    body: String,
) -> Resp {
    let mut b = Request::builder().method(method).uri(uri);
    if !user.is_empty() {
        b = b.header(header::AUTHORIZATION, format!("Bearer tok-{user}"));
    }
    for (k, v) in extra {
        b = b.header(*k, *v);
    }
    let req = b
        .header(header::CONTENT_TYPE, ctype)
        .body(Body::from(body))
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

/// The centre of building b{i}{j}.
fn at(i: u32, j: u32) -> (f64, f64) {
    (
        LON0 + f64::from(i) * STEP + 0.0003,
        LAT0 + f64::from(j) * STEP + 0.0003,
    )
}

async fn report(app: &App, user: &str, category: &str, p: (f64, f64)) -> Resp {
    call(
        app,
        Method::POST,
        "/api/events",
        user,
        &[],
        Some(json!({"category": category, "description": "垃圾 litter", "lon": p.0, "lat": p.1})),
    )
    .await
}

async fn move_to(app: &App, user: &str, id: &str, etag: &str, body: Value) -> Resp {
    call(
        app,
        Method::POST,
        &format!("/api/events/{id}/transitions"),
        user,
        &[("if-match", etag)],
        Some(body),
    )
    .await
}

fn g1_building(app_ds: &Dataset) -> (u32, u32) {
    let _ = app_ds;
    (0, 0)
}

#[tokio::test]
async fn events_are_routed_scoped_and_moved_through_the_loop() {
    let app = app().await;
    let ds = city();
    let g1 = &ds.grids[0];
    let (i, j) = g1_building(&ds);
    assert!(g1.buildings.contains(&BuildingId::new(format!("b{i}{j}"))));

    // the lead reports in their grid: routed by building, department and due times set
    let r = report(&app, "lead", "sanitation", at(i, j)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let e = r.json();
    let id = e["id"].as_str().unwrap().to_owned();
    let p = &e["properties"];
    assert_eq!(
        (p["grid"].as_str(), p["community"].as_str()),
        (Some("g1"), Some("c1"))
    );
    assert_eq!(p["routed_by"], "building");
    assert_eq!(p["department"], "urban_management");
    assert_eq!(p["status"], "reported");
    assert_eq!(
        p["due_at"], "2026-12-04T02:30:00Z",
        "sanitation: 30 wall minutes"
    );
    assert_eq!(p["due"]["arrive"], "2026-12-04T02:10:00Z");
    assert_eq!(p["overdue"], false);
    assert_eq!(r.header("etag"), "\"1\"");
    assert_eq!(r.header("location"), format!("/api/events/{id}"));

    // a road damage event is counted in working hours: Friday 10:00 + 4 h (lunch 12:00-13:30) -> 15:30
    let r = report(&app, "planner", "road_damage", at(4, 4)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let road = r.json();
    assert_eq!(road["properties"]["grid"], "g2");
    assert_eq!(road["properties"]["due_at"], "2026-12-04T07:30:00Z");
    let road_id = road["id"].as_str().unwrap().to_owned();

    // outside any grid (column 2 of c1 is in no grid here): the nearest grid of its community
    let r = report(&app, "planner", "sanitation", at(2, 4)).await;
    let near = r.json();
    assert_eq!(near["properties"]["routed_by"], "nearest", "{near}");
    assert_eq!(near["properties"]["grid"], "g1");

    // a grid lead cannot report into another grid; bad fields are named
    let r = report(&app, "lead", "sanitation", at(4, 4)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    let r = report(&app, "lead", "nope", at(i, j)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text().contains("category"), "{}", r.text());
    let r = call(
        &app,
        Method::POST,
        "/api/events",
        "lead",
        &[],
        Some(json!({"category": "sanitation", "lon": 1.0})),
    )
    .await;
    assert!(
        r.status == StatusCode::BAD_REQUEST && r.text().contains("lat"),
        "{}",
        r.text()
    );
    let r = call(
        &app,
        Method::POST,
        "/api/events",
        "",
        &[],
        Some(json!({"category": "sanitation", "lon": 1.0, "lat": 1.0})),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // scope of the list and the detail
    let count = |r: Resp| r.json()["numberMatched"].as_u64().unwrap();
    assert_eq!(
        count(call(&app, Method::GET, "/api/events", "planner", &[], None).await),
        3
    );
    assert_eq!(
        count(call(&app, Method::GET, "/api/events", "admin", &[], None).await),
        3
    );
    assert_eq!(
        count(call(&app, Method::GET, "/api/events", "lead", &[], None).await),
        2
    );
    assert_eq!(
        count(call(&app, Method::GET, "/api/events", "lead2", &[], None).await),
        1
    );
    assert_eq!(
        count(
            call(
                &app,
                Method::GET,
                "/api/events",
                "urban_management",
                &[],
                None
            )
            .await
        ),
        2
    );
    assert_eq!(
        count(call(&app, Method::GET, "/api/events", "civil_affairs", &[], None).await),
        0
    );
    assert_eq!(
        count(
            call(
                &app,
                Method::GET,
                "/api/events?department=housing_construction",
                "urban_management",
                &[],
                None
            )
            .await
        ),
        0
    );
    assert_eq!(
        count(
            call(
                &app,
                Method::GET,
                "/api/events?category=road_damage",
                "planner",
                &[],
                None
            )
            .await
        ),
        1
    );
    assert_eq!(
        count(
            call(
                &app,
                Method::GET,
                "/api/events?grid=g1&status=reported",
                "planner",
                &[],
                None
            )
            .await
        ),
        2
    );
    let page = call(
        &app,
        Method::GET,
        "/api/events?limit=2",
        "planner",
        &[],
        None,
    )
    .await
    .json();
    assert_eq!(
        (
            page["numberReturned"].as_u64(),
            page["links"][0]["rel"].as_str()
        ),
        (Some(2), Some("next"))
    );
    let r = call(
        &app,
        Method::GET,
        "/api/events?status=lost",
        "planner",
        &[],
        None,
    )
    .await;
    assert!(r.status == StatusCode::BAD_REQUEST && r.text().contains("status"));
    let r = call(
        &app,
        Method::GET,
        "/api/events?colour=red",
        "planner",
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        call(
            &app,
            Method::GET,
            &format!("/api/events/{road_id}"),
            "lead",
            &[],
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(
            &app,
            Method::GET,
            &format!("/api/events/{road_id}"),
            "urban_management",
            &[],
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    let d = call(
        &app,
        Method::GET,
        &format!("/api/events/{id}"),
        "lead",
        &[],
        None,
    )
    .await;
    assert_eq!(d.status, StatusCode::OK);
    assert_eq!(d.json()["properties"]["history"][0]["to"], "reported");
    assert_eq!(
        call(
            &app,
            Method::GET,
            &format!("/api/events/{id}"),
            "",
            &[],
            None
        )
        .await
        .status,
        StatusCode::UNAUTHORIZED
    );

    // transitions: If-Match required and checked; forbidden moves are 409 naming the allowed
    let r = call(
        &app,
        Method::POST,
        &format!("/api/events/{id}/transitions"),
        "planner",
        &[],
        Some(json!({"to": "accepted"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::PRECONDITION_REQUIRED);
    let r = move_to(&app, "planner", &id, "\"7\"", json!({"to": "accepted"})).await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED);
    let r = move_to(&app, "lead", &id, "\"1\"", json!({"to": "accepted"})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert!(
        r.text().contains("allowed from reported: returned"),
        "{}",
        r.text()
    );
    let r = move_to(&app, "lead", &id, "\"1\"", json!({"to": "returned"})).await;
    assert!(
        r.status == StatusCode::BAD_REQUEST && r.text().contains("reason"),
        "{}",
        r.text()
    );
    let r = move_to(
        &app,
        "urban_management",
        &id,
        "\"1\"",
        json!({"to": "accepted"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    let r = move_to(
        &app,
        "lead2",
        &id,
        "\"1\"",
        json!({"to": "returned", "reason": "x"}),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "another grid's lead does not see it"
    );

    // the loop: planner accepts and dispatches, the department works and resolves, the lead
    // verifies, the planner closes; then a failed revisit reopens it
    let mut tag = "\"1\"".to_owned();
    for (user, to, reason) in [
        ("planner", "accepted", None),
        ("planner", "dispatched", None),
        ("urban_management", "in_progress", None),
        ("urban_management", "resolved", None),
        ("lead", "verified", None),
        ("planner", "closed", None),
        ("lead", "reopened", Some("still dirty at the revisit")),
    ] {
        let mut body = json!({"to": to});
        if let Some(r) = reason {
            body["reason"] = json!(r);
        }
        let r = move_to(&app, user, &id, &tag, body).await;
        assert_eq!(r.status, StatusCode::OK, "{user} -> {to}: {}", r.text());
        assert_eq!(r.json()["properties"]["status"], to);
        tag = r.header("etag").to_owned();
        app.clock.advance(60);
    }
    assert_eq!(tag, "\"8\"");
    let d = call(
        &app,
        Method::GET,
        &format!("/api/events/{id}"),
        "planner",
        &[],
        None,
    )
    .await
    .json();
    let h = d["properties"]["history"].as_array().unwrap();
    assert_eq!(h.len(), 8);
    assert_eq!(h[7]["reason"], "still dirty at the revisit");
    assert_eq!(h[3]["user"], "urban_management");

    // overdue on the fake clock: the nearest-routed sanitation event is due at 10:30
    assert_eq!(
        count(
            call(
                &app,
                Method::GET,
                "/api/events?overdue=true",
                "planner",
                &[],
                None
            )
            .await
        ),
        0
    );
    app.clock.advance(3600);
    let over = call(
        &app,
        Method::GET,
        "/api/events?overdue=true",
        "planner",
        &[],
        None,
    )
    .await
    .json();
    // the reopened one (due 10:30) and the nearest one (10:30); not the road (15:30)
    assert_eq!(over["numberMatched"], 2, "{over}");
    assert!(over["features"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["properties"]["overdue"] == true));
}

#[tokio::test]
async fn open311_answers_the_georeport_v2_shapes() {
    let app = app().await;
    let s = call(
        &app,
        Method::GET,
        "/open311/v2/services.json",
        "",
        &[],
        None,
    )
    .await;
    assert_eq!(s.status, StatusCode::OK, "{}", s.text());
    let services = s.json();
    let first = &services[0];
    for k in [
        "service_code",
        "service_name",
        "description",
        "metadata",
        "type",
        "keywords",
        "group",
    ] {
        assert!(first.get(k).is_some(), "services.json lacks {k}: {first}");
    }
    assert_eq!(first["type"], "realtime");
    let d = call(
        &app,
        Method::GET,
        "/open311/v2/services/road_damage.json",
        "",
        &[],
        None,
    )
    .await
    .json();
    assert_eq!(d["service_code"], "road_damage");
    assert!(d["attributes"].is_array());
    assert_eq!(
        call(
            &app,
            Method::GET,
            "/open311/v2/services/nope.json",
            "",
            &[],
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    // the service list is public for every method: an undeclared one is 405, not a 401
    for uri in [
        "/open311/v2/services.json",
        "/open311/v2/services/road_damage.json",
    ] {
        for m in [Method::TRACE, Method::POST, Method::DELETE] {
            let r = call(&app, m.clone(), uri, "", &[], None).await;
            assert_eq!(
                r.status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{m} {uri}: {}",
                r.text()
            );
        }
    }

    // POST a form with the api_key parameter in the query
    let (x, y) = at(0, 0);
    let form = format!("service_code=sanitation&lat={y}&long={x}&description=%E5%9E%83%E5%9C%BE&first_name=Li&last_name=Wei&media_url=https%3A%2F%2Fexample.invalid%2F1.jpg");
    let r = call_raw(
        &app,
        Method::POST,
        "/open311/v2/requests.json?api_key=tok-lead",
        "",
        &[],
        "application/x-www-form-urlencoded",
        form,
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let created = r.json();
    let id = created[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(created[0].get("service_notice").is_some() && created[0].get("account_id").is_some());
    // JSON body with a Bearer token
    let r = call_raw(
        &app,
        Method::POST,
        "/open311/v2/requests.json",
        "planner",
        &[],
        "application/json",
        json!({"service_code": "road_damage", "lat": at(4, 4).1, "long": at(4, 4).0}).to_string(),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    // fields are named in Open311's words
    let r = call_raw(
        &app,
        Method::POST,
        "/open311/v2/requests.json",
        "planner",
        &[],
        "application/json",
        json!({"service_code": "zzz", "lat": 1, "long": 1}).to_string(),
    )
    .await;
    assert!(
        r.status == StatusCode::BAD_REQUEST && r.text().contains("service_code"),
        "{}",
        r.text()
    );
    let r = call_raw(
        &app,
        Method::POST,
        "/open311/v2/requests.json",
        "planner",
        &[],
        "application/json",
        json!({"service_code": "sanitation"}).to_string(),
    )
    .await;
    assert!(
        r.status == StatusCode::BAD_REQUEST && r.text().contains("lat"),
        "{}",
        r.text()
    );
    let r = call_raw(
        &app,
        Method::POST,
        "/open311/v2/requests.json",
        "",
        &[],
        "application/json",
        json!({"service_code": "sanitation", "lat": 1, "long": 1}).to_string(),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    let one = call(
        &app,
        Method::GET,
        &format!("/open311/v2/requests/{id}.json?api_key=tok-lead"),
        "",
        &[],
        None,
    )
    .await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text());
    let req = &one.json()[0];
    for k in [
        "service_request_id",
        "status",
        "status_notes",
        "service_name",
        "service_code",
        "description",
        "agency_responsible",
        "service_notice",
        "requested_datetime",
        "updated_datetime",
        "expected_datetime",
        "address",
        "address_id",
        "zipcode",
        "lat",
        "long",
        "media_url",
    ] {
        assert!(req.get(k).is_some(), "request lacks {k}: {req}");
    }
    assert_eq!(req["status"], "open");
    assert_eq!(req["agency_responsible"], "urban_management");
    assert_eq!(req["requested_datetime"], "2026-12-04T10:00:00+08:00");
    assert_eq!(req["expected_datetime"], "2026-12-04T10:30:00+08:00");
    assert_eq!(req["media_url"], "https://example.invalid/1.jpg");
    assert!((req["lat"].as_f64().unwrap() - y).abs() < 1e-9);

    // scope: lead2 does not see g1's request; lists per role and status
    assert_eq!(
        call(
            &app,
            Method::GET,
            &format!("/open311/v2/requests/{id}.json"),
            "lead2",
            &[],
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    let n = |v: Value| v.as_array().unwrap().len();
    assert_eq!(
        n(call(
            &app,
            Method::GET,
            "/open311/v2/requests.json",
            "planner",
            &[],
            None
        )
        .await
        .json()),
        2
    );
    assert_eq!(
        n(call(
            &app,
            Method::GET,
            "/open311/v2/requests.json",
            "lead",
            &[],
            None
        )
        .await
        .json()),
        1
    );
    assert_eq!(
        n(call(
            &app,
            Method::GET,
            "/open311/v2/requests.json?status=closed",
            "planner",
            &[],
            None
        )
        .await
        .json()),
        0
    );
    assert_eq!(
        n(call(
            &app,
            Method::GET,
            "/open311/v2/requests.json?service_code=road_damage",
            "planner",
            &[],
            None
        )
        .await
        .json()),
        1
    );
    assert_eq!(
        n(call(
            &app,
            Method::GET,
            &format!("/open311/v2/requests.json?service_request_id={id}"),
            "lead2",
            &[],
            None
        )
        .await
        .json()),
        0
    );
    assert_eq!(
        call(
            &app,
            Method::GET,
            "/open311/v2/requests.json",
            "",
            &[],
            None
        )
        .await
        .status,
        StatusCode::UNAUTHORIZED
    );

    // the OpenAPI document lists every route
    let doc = call(&app, Method::GET, "/openapi.json", "", &[], None)
        .await
        .json();
    for p in [
        "/api/events",
        "/api/events/{eventId}",
        "/api/events/{eventId}/transitions",
        "/open311/v2/services.json",
        "/open311/v2/services/{file}",
        "/open311/v2/requests.json",
        "/open311/v2/requests/{file}",
    ] {
        assert!(doc["paths"].get(p).is_some(), "OpenAPI lacks {p}");
    }
}
