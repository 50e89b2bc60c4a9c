//! Corrections of a building's counts over HTTP (issue 16.3) on a SQLite store: a grid lead
//! corrects a building of their grid with If-Match, the grid's statistics, the buildings layer
//! and coverage count the corrected figures at once, the correction is audited and listed with
//! who/before/after; outside the caller's scope, without or with a stale If-Match, with a bad
//! body or for a role that may not correct, nothing changes.
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use geo_types::{LineString, MultiPolygon, Point, Polygon};
use gridmap_model::*;
use gridmap_server::{router, AppState, ServerConfig};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

const X0: f64 = 121.47;
const Y0: f64 = 31.23;
const D: f64 = 0.0012;

fn rect(x: f64, y: f64, w: f64) -> MultiPolygon<f64> {
    MultiPolygon(vec![Polygon::new(
        LineString::from(vec![(x, y), (x + w, y), (x + w, y + w), (x, y + w), (x, y)]),
        vec![],
    )])
}

/// Two communities side by side (c1 west, c2 east), four buildings each; grid g1 holds c1's,
/// g2 c2's; one canteen in the middle of c1; a street grid to walk on.
fn town() -> Dataset {
    let mut ds = Dataset::default();
    for (n, c) in ["c1", "c2"].iter().enumerate() {
        ds.communities.push(Community {
            id: (*c).into(),
            name: format!("{c} 社区"),
            street: None,
            boundary: Some(rect(X0 + n as f64 * 2.0 * D - 0.0002, Y0 - 0.0002, 2.0 * D)),
        });
        let mut members = vec![];
        for k in 0..4u32 {
            let id = BuildingId::new(format!("{c}-b{k}"));
            members.push(id.clone());
            ds.buildings.push(Building {
                id,
                name: Some(format!("{k}号楼")),
                building_type: Some("residential".into()),
                address: None,
                footprint: rect(
                    X0 + n as f64 * 2.0 * D + f64::from(k % 2) * D,
                    Y0 + f64::from(k / 2) * D,
                    0.0005,
                ),
                entrance: None,
                levels: None,
                households: 40 + k,
                households_source: HouseholdSource::Imported,
                elderly: Some(k),
                steward: None,
                compound: None,
                community: Some((*c).into()),
            });
        }
        ds.grids.push(Grid {
            id: format!("g{}", n + 1).as_str().into(),
            code: format!("G-{}", n + 1),
            name: None,
            community: Some((*c).into()),
            buildings: members,
            leads: vec![],
            boundary: None,
            version: 1,
        });
    }
    ds.facilities.push(Facility {
        id: "f1".into(),
        kind: FacilityKind::Canteen,
        name: Some("幸福食堂".into()),
        location: Point::new(X0 + D, Y0 + D),
        capacity: None,
        opening_hours: None,
    });
    for k in 0..6u32 {
        let x = X0 + f64::from(k) * D - 0.0001;
        let y = Y0 + f64::from(k.min(3)) * D - 0.0001;
        for (id, line) in [
            (format!("v{k}"), vec![(x, Y0 - 0.0002), (x, Y0 + 2.0 * D)]),
            (format!("h{k}"), vec![(X0 - 0.0002, y), (X0 + 4.0 * D, y)]),
        ] {
            ds.ways.push(NetworkWay {
                id: WayId::new(id),
                geometry: LineString::from(line),
                tags: [("highway".to_owned(), "footway".to_owned())]
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
    _dir: tempfile::TempDir,
}

async fn app() -> App {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = gridmap_store::open(&url).await.expect("open store");
    store.import(&town()).await.expect("import");
    for (name, role, grids, communities) in [
        ("admin", Role::Admin, vec![], vec![]),
        ("planner", Role::Planner, vec![], vec![]),
        ("cplanner", Role::Planner, vec![], vec!["c2"]),
        ("department", Role::Department, vec![], vec![]),
        ("lead", Role::GridLead, vec!["g1"], vec![]),
        ("lead2", Role::GridLead, vec!["g2"], vec![]),
    ] {
        let mut u = User::new(name, role);
        u.grids = grids.into_iter().map(GridId::new).collect();
        u.communities = communities.into_iter().map(CommunityId::new).collect();
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
    let state = AppState::new(store, ServerConfig::default());
    App {
        router: router(state),
        _dir: dir,
    }
}

struct Resp {
    status: StatusCode,
    etag: String,
    body: Value,
}

async fn call(
    app: &App,
    method: Method,
    uri: &str,
    user: &str,
    if_match: Option<&str>,
    body: Option<&str>,
) -> Resp {
    let mut b = Request::builder().method(method).uri(uri);
    if !user.is_empty() {
        b = b.header(header::AUTHORIZATION, format!("Bearer tok-{user}"));
    }
    if let Some(m) = if_match {
        b = b.header(header::IF_MATCH, m);
    }
    let req = match body {
        Some(s) => b
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(s.to_owned())),
        None => b.body(Body::empty()),
    }
    .expect("request");
    let resp = app.router.clone().oneshot(req).await.expect("infallible");
    let status = resp.status();
    let etag = resp
        .headers()
        .get(header::ETAG)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    Resp { status, etag, body }
}

async fn counts(app: &App, user: &str, id: &str) -> Resp {
    call(
        app,
        Method::GET,
        &format!("/api/buildings/{id}/counts"),
        user,
        None,
        None,
    )
    .await
}

async fn correct(app: &App, user: &str, id: &str, if_match: Option<&str>, body: &str) -> Resp {
    call(
        app,
        Method::PATCH,
        &format!("/api/buildings/{id}/counts"),
        user,
        if_match,
        Some(body),
    )
    .await
}

async fn grid_households(app: &App, user: &str, grid: &str) -> u64 {
    let r = call(
        app,
        Method::GET,
        &format!("/collections/grids/items/{grid}"),
        user,
        None,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["properties"]["households"]
        .as_u64()
        .expect("households")
}

async fn covered_total(app: &App) -> (u64, u64) {
    let r = call(
        app,
        Method::GET,
        "/api/coverage?kind=canteen&minutes=30",
        "planner",
        None,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let level = r.body["levels"]
        .as_array()
        .and_then(|l| l.first())
        .cloned()
        .unwrap_or_else(|| r.body.clone());
    (
        level["covered_households"]
            .as_u64()
            .unwrap_or_else(|| panic!("covered_households in {}", r.body)),
        level["total_households"]
            .as_u64()
            .unwrap_or_else(|| panic!("total_households in {}", r.body)),
    )
}

#[tokio::test]
async fn a_grid_lead_corrects_a_building_of_their_grid_and_every_figure_follows() {
    let app = app().await;
    let before = counts(&app, "lead", "c1-b1").await;
    assert_eq!(before.status, StatusCode::OK, "{}", before.body);
    assert_eq!(before.body["households"], 41);
    assert_eq!(before.body["households_source"], "imported");
    assert_eq!(before.body["elderly"], 1);
    assert_eq!(before.body["grid"], "g1");
    assert!(!before.etag.is_empty());
    let g1 = grid_households(&app, "lead", "g1").await;
    let (cov0, tot0) = covered_total(&app).await;

    let r = correct(
        &app,
        "lead",
        "c1-b1",
        Some(&before.etag),
        r#"{"households": 141, "elderly": 30, "reason": "入户核实 door-to-door count"}"#,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["households"], 141);
    assert_eq!(r.body["households_source"], "edited");
    assert_eq!(r.body["elderly"], 30);
    assert_ne!(r.etag, before.etag);
    assert_eq!(counts(&app, "lead", "c1-b1").await.etag, r.etag);

    // The grid's statistics, the buildings layer and coverage count the corrected figures.
    assert_eq!(grid_households(&app, "lead", "g1").await, g1 + 100);
    let item = call(
        &app,
        Method::GET,
        "/collections/buildings/items/c1-b1",
        "department",
        None,
        None,
    )
    .await;
    assert_eq!(item.body["properties"]["households"], 141, "{}", item.body);
    assert_eq!(item.body["properties"]["households_source"], "edited");
    let (cov1, tot1) = covered_total(&app).await;
    assert_eq!(tot1, tot0 + 100);
    assert!(cov1 >= cov0, "covered {cov0} → {cov1}");

    // Grid tiles take a cache-busting `v` (the web map changes it after a correction); any
    // other parameter is still refused.
    let tile = |q: &'static str| {
        let app = &app;
        async move {
            call(
                app,
                Method::GET,
                &format!("/tiles/grids/14/13720/6694.mvt{q}"),
                "lead",
                None,
                None,
            )
            .await
            .status
        }
    };
    assert_eq!(tile("?v=lq3x9").await, StatusCode::OK);
    assert_eq!(tile("?w=1").await, StatusCode::BAD_REQUEST);

    // The correction history: who, before, after, the reason; also in the audit log.
    let h = call(
        &app,
        Method::GET,
        "/api/buildings/c1-b1/corrections",
        "planner",
        None,
        None,
    )
    .await;
    assert_eq!(h.status, StatusCode::OK, "{}", h.body);
    let e = &h.body["entries"][0];
    assert_eq!(h.body["entries"].as_array().map(Vec::len), Some(1));
    assert_eq!(e["user"], "lead");
    assert_eq!(e["action"], "building.correct");
    assert_eq!(e["before"]["households"], 41);
    assert_eq!(e["after"]["households"], 141);
    assert_eq!(e["after"]["reason"], "入户核实 door-to-door count");
    let audit = call(
        &app,
        Method::GET,
        "/api/audit?target=building:c1-b1",
        "admin",
        None,
        None,
    )
    .await;
    assert_eq!(audit.body["entries"].as_array().map(Vec::len), Some(1));

    // elderly null: unknown again; an unchanged household count keeps its source.
    let r2 = correct(
        &app,
        "planner",
        "c1-b1",
        Some(&r.etag),
        r#"{"elderly": null}"#,
    )
    .await;
    assert_eq!(r2.status, StatusCode::OK, "{}", r2.body);
    assert_eq!(r2.body["elderly"], Value::Null);
    assert_eq!(r2.body["households"], 141);
    assert_eq!(r2.body["households_source"], "edited");
    let h = call(
        &app,
        Method::GET,
        "/api/buildings/c1-b1/corrections?limit=1",
        "lead",
        None,
        None,
    )
    .await;
    assert_eq!(h.body["entries"][0]["user"], "planner");
    assert_eq!(h.body["entries"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn nothing_changes_without_the_right_precondition_scope_role_or_body() {
    let app = app().await;
    let id = "c1-b2";
    let tag = counts(&app, "admin", id).await.etag;
    let cases: Vec<(&str, Option<&str>, &str, StatusCode, &str)> = vec![
        (
            "lead",
            None,
            r#"{"households": 1}"#,
            StatusCode::PRECONDITION_REQUIRED,
            "",
        ),
        (
            "lead",
            Some("\"999\""),
            r#"{"households": 1}"#,
            StatusCode::PRECONDITION_FAILED,
            "",
        ),
        (
            "lead2",
            Some(&tag),
            r#"{"households": 1}"#,
            StatusCode::NOT_FOUND,
            "building",
        ),
        (
            "department",
            Some(&tag),
            r#"{"households": 1}"#,
            StatusCode::FORBIDDEN,
            "department",
        ),
        (
            "",
            Some(&tag),
            r#"{"households": 1}"#,
            StatusCode::UNAUTHORIZED,
            "",
        ),
        (
            "cplanner",
            Some(&tag),
            r#"{"households": 1}"#,
            StatusCode::FORBIDDEN,
            "plans only communities",
        ),
        (
            "lead",
            Some(&tag),
            r#"{"households": -1}"#,
            StatusCode::BAD_REQUEST,
            "households",
        ),
        (
            "lead",
            Some(&tag),
            r#"{"elderly": 99999}"#,
            StatusCode::BAD_REQUEST,
            "20000",
        ),
        (
            "lead",
            Some(&tag),
            r#"{"steward": "王"}"#,
            StatusCode::BAD_REQUEST,
            "steward",
        ),
        (
            "lead",
            Some(&tag),
            r"{}",
            StatusCode::BAD_REQUEST,
            "nothing to correct",
        ),
        (
            "lead",
            Some(&tag),
            r#"{"households": 1"#,
            StatusCode::BAD_REQUEST,
            "not JSON",
        ),
    ];
    for (user, m, body, want, says) in cases {
        let r = correct(&app, user, id, m, body).await;
        assert_eq!(r.status, want, "{user} {m:?} {body}: {}", r.body);
        assert!(
            r.body.to_string().contains(says),
            "{user} {body}: {} should name {says}",
            r.body
        );
        let now = counts(&app, "admin", id).await;
        assert_eq!(now.etag, tag, "{user} {body} changed the building");
        assert_eq!(now.body["households"], 42);
    }
    // Another grid's building does not exist for a grid lead, for reads too.
    assert_eq!(
        counts(&app, "lead2", id).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(
            &app,
            Method::GET,
            &format!("/api/buildings/{id}/corrections"),
            "lead2",
            None,
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        counts(&app, "admin", "no-such").await.status,
        StatusCode::NOT_FOUND
    );
    // Not JSON at all: 415.
    let r = call(
        &app,
        Method::PATCH,
        &format!("/api/buildings/{id}/counts"),
        "lead",
        Some(&tag),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", r.body);
    // No audit entry came of any of it.
    let audit = call(
        &app,
        Method::GET,
        "/api/audit?target=building:",
        "admin",
        None,
        None,
    )
    .await;
    assert_eq!(
        audit.body["entries"].as_array().map(Vec::len),
        Some(0),
        "{}",
        audit.body
    );
}

#[tokio::test]
async fn two_corrections_with_one_etag_commit_once() {
    let app = app().await;
    let tag = counts(&app, "lead", "c1-b3").await.etag;
    let a = correct(&app, "lead", "c1-b3", Some(&tag), r#"{"households": 60}"#);
    let b = correct(
        &app,
        "planner",
        "c1-b3",
        Some(&tag),
        r#"{"households": 70}"#,
    );
    let (a, b) = tokio::join!(a, b);
    let mut codes = [a.status.as_u16(), b.status.as_u16()];
    codes.sort_unstable();
    assert_eq!(codes, [200, 412], "{} / {}", a.body, b.body);
    let won = if a.status == StatusCode::OK { &a } else { &b };
    let now = counts(&app, "admin", "c1-b3").await;
    assert_eq!(now.body["households"], won.body["households"]);
    let h = call(
        &app,
        Method::GET,
        "/api/buildings/c1-b3/corrections",
        "admin",
        None,
        None,
    )
    .await;
    assert_eq!(h.body["entries"].as_array().map(Vec::len), Some(1));
}
