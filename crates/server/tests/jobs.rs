//! `/api/jobs`: long analysis work as jobs with progress (issue 12 item 3), on a SQLite store
//! holding a small city (two communities of 15 buildings, facilities of three kinds).
use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use geo_types::{LineString, MultiPolygon, Point, Polygon};
use gridmap_model::*;
use gridmap_server::{router, AppState, ServerConfig};
use gridmap_store::{JobRecord, JobStatus, Store};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
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
    state: AppState,
    router: axum::Router,
    dir: Option<tempfile::TempDir>,
}

impl App {
    fn store(&self) -> &dyn Store {
        self.state.store.as_ref()
    }
}

fn config() -> ServerConfig {
    ServerConfig {
        public_url: Some("http://test".into()),
        ..Default::default()
    }
}

async fn app() -> App {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = gridmap_store::open(&url).await.expect("open store");
    store.import(&city()).await.expect("import");
    add_users(store.as_ref()).await;
    let state = AppState::new(store, config());
    App {
        router: router(state.clone()),
        state,
        dir: Some(dir),
    }
}

/// A second server over the same database file.
async fn replica(of: &App) -> App {
    let dir = of.dir.as_ref().expect("dir");
    let store = gridmap_store::open(&format!("sqlite://{}", dir.path().join("t.db").display()))
        .await
        .expect("open store");
    let state = AppState::new(store, config());
    App {
        router: router(state.clone()),
        state,
        dir: None,
    }
}

/// Accounts with API token `tok-NAME`: `lead` leads grid g1, `cplanner` plans community c2 only.
async fn add_users(store: &dyn Store) {
    for (name, role) in [
        ("admin", Role::Admin),
        ("planner", Role::Planner),
        ("planner2", Role::Planner),
        ("department", Role::Department),
        ("lead", Role::GridLead),
        ("cplanner", Role::Planner),
    ] {
        let mut u = User::new(name, role);
        if name == "lead" {
            u.grids = vec![GridId::new("g1")];
        }
        if name == "cplanner" {
            u.communities = vec![CommunityId::new("c2")];
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

async fn start(app: &App, user: &str, body: Value) -> Resp {
    call(app, Method::POST, "/api/jobs", user, &[], Some(body)).await
}

/// Starts a job and checks the 202 answer; returns its id.
async fn started(app: &App, user: &str, body: Value) -> String {
    let r = start(app, user, body).await;
    assert_eq!(r.status, 202, "{}", r.text());
    let doc = r.json();
    let id = doc["jobID"].as_str().expect("jobID").to_owned();
    assert_eq!(r.header("location"), format!("/api/jobs/{id}"));
    assert!(
        ["accepted", "running", "successful"].contains(&doc["status"].as_str().unwrap_or("")),
        "{doc}"
    );
    assert_eq!(doc["type"], "process");
    assert_eq!(doc["links"][0]["rel"], "self");
    assert_eq!(
        doc["links"][0]["href"],
        format!("http://test/api/jobs/{id}")
    );
    id
}

/// Polls a job's status until it is `want` (panics after 30 s); returns the status document.
async fn wait_for(app: &App, user: &str, id: &str, want: &str) -> Value {
    let t0 = Instant::now();
    loop {
        let r = call(
            app,
            Method::GET,
            &format!("/api/jobs/{id}"),
            user,
            &[],
            None,
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let doc = r.json();
        let status = doc["status"].as_str().unwrap_or("").to_owned();
        let p = doc["progress"].as_u64().expect("progress");
        assert!(p <= 100, "{doc}");
        if status == want {
            return doc;
        }
        assert!(
            !["successful", "failed", "dismissed"].contains(&status.as_str()) || status == want,
            "job ended {status}, waited for {want}: {doc}"
        );
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "job still {status} after 30 s: {doc}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn without_seconds(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.remove("seconds");
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_job_answers_what_the_synchronous_route_answers() {
    let app = app().await;
    let inputs = json!({"community": "c1", "target": 100, "tolerance": 0.3});
    let sync = call(
        &app,
        Method::POST,
        "/api/partition",
        "planner",
        &[],
        Some(inputs.clone()),
    )
    .await;
    assert_eq!(sync.status, 200, "{}", sync.text());
    let sync = sync.json();
    let id = started(
        &app,
        "planner",
        json!({"process": "partition", "inputs": inputs}),
    )
    .await;
    let doc = wait_for(&app, "planner", &id, "successful").await;
    assert_eq!(doc["progress"], 100);
    assert_eq!(doc["processID"], "partition");
    assert!(
        doc["finished"].as_str().is_some_and(|t| t.ends_with('Z'))
            && doc["started"].is_string()
            && doc["created"].is_string(),
        "{doc}"
    );
    let results = doc["links"]
        .as_array()
        .expect("links")
        .iter()
        .find(|l| l["rel"] == "http://www.opengis.net/def/rel/ogc/1.0/results")
        .expect("results link");
    assert_eq!(
        results["href"],
        format!("http://test/api/jobs/{id}/results")
    );
    let r = call(
        &app,
        Method::GET,
        &format!("/api/jobs/{id}/results"),
        "planner",
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), "application/json");
    let got = r.json();
    assert_eq!(
        without_seconds(got["report"].clone()),
        without_seconds(sync["report"].clone())
    );
    assert_eq!(got["grids"], sync["grids"]);
    assert!(
        got["report"]["grids"].as_u64().unwrap_or(0) >= 2,
        "{}",
        got["report"]
    );
    // The job's proposal is accepted like a synchronous one.
    let pid = got["proposal_id"].as_str().expect("proposal_id");
    assert_ne!(Some(pid), sync["proposal_id"].as_str());
    let r = call(
        &app,
        Method::POST,
        &format!("/api/partition/{pid}/accept"),
        "planner",
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["stored"], got["report"]["grids"]);
    // Its record: owner, scope, inputs as given.
    let rec = app.store().job(&id).await.unwrap().expect("stored");
    assert_eq!(
        (rec.owner, rec.inputs, rec.status),
        (Some(UserId::new("planner")), inputs, JobStatus::Successful)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefer_respond_async_turns_a_partition_into_a_job() {
    let app = app().await;
    let r = call(
        &app,
        Method::POST,
        "/api/partition",
        "planner",
        &[("prefer", "respond-async")],
        Some(json!({"target": 100})),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.text());
    assert_eq!(r.header("preference-applied"), "respond-async");
    let id = r.json()["jobID"].as_str().expect("jobID").to_owned();
    assert_eq!(r.header("location"), format!("/api/jobs/{id}"));
    wait_for(&app, "planner", &id, "successful").await;
    let got = call(
        &app,
        Method::GET,
        &format!("/api/jobs/{id}/results"),
        "planner",
        &[],
        None,
    )
    .await
    .json();
    assert!(
        got["proposal_id"].is_string() && got["grids"]["features"].is_array(),
        "{got}"
    );
    // The checks of the route come first: a bad body is 400, not a failed job.
    let r = call(
        &app,
        Method::POST,
        "/api/partition",
        "planner",
        &[("prefer", "respond-async")],
        Some(json!({"tolerance": 5})),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
    // A community planner cannot partition another community, synchronously or not.
    let r = call(
        &app,
        Method::POST,
        "/api/partition",
        "cplanner",
        &[("prefer", "respond-async")],
        Some(json!({"community": "c1"})),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dismissing_a_running_or_finished_job_answers_dismissed() {
    let app = app().await;
    app.state.jobs.pause_before_work(Duration::from_secs(3));
    let id = started(
        &app,
        "planner",
        json!({"process": "partition", "inputs": {}}),
    )
    .await;
    let doc = wait_for(&app, "planner", &id, "running").await;
    assert!(doc["progress"].as_u64().is_some_and(|p| p < 100), "{doc}");
    let r = call(
        &app,
        Method::GET,
        &format!("/api/jobs/{id}/results"),
        "planner",
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 409, "not ready: {}", r.text());
    assert!(
        r.json()["detail"]
            .as_str()
            .unwrap_or("")
            .contains("running"),
        "{}",
        r.text()
    );
    let r = call(
        &app,
        Method::DELETE,
        &format!("/api/jobs/{id}"),
        "planner",
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["status"], "dismissed");
    // The work is cancelled: the job stays dismissed and never gets results.
    let t0 = Instant::now();
    while app.state.jobs.holds(&id) {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "the runner still holds the dismissed job"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let rec = app.store().job(&id).await.unwrap().expect("kept");
    assert_eq!((rec.status, rec.result), (JobStatus::Dismissed, None));
    let r = call(
        &app,
        Method::GET,
        &format!("/api/jobs/{id}/results"),
        "planner",
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.text());
    // A finished job: its results are deleted.
    app.state.jobs.pause_before_work(Duration::ZERO);
    let id = started(
        &app,
        "planner",
        json!({"process": "coverage", "inputs": {"kind": "canteen"}}),
    )
    .await;
    wait_for(&app, "planner", &id, "successful").await;
    let r = call(
        &app,
        Method::DELETE,
        &format!("/api/jobs/{id}"),
        "planner",
        &[],
        None,
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.json()["status"].clone()),
        (200, json!("dismissed"))
    );
    assert_eq!(
        call(
            &app,
            Method::GET,
            &format!("/api/jobs/{id}/results"),
            "planner",
            &[],
            None
        )
        .await
        .status,
        409
    );
    assert_eq!(
        app.store().job(&id).await.unwrap().expect("kept").result,
        None
    );
    // Dismissing twice answers the same; an unknown job is 404.
    assert_eq!(
        call(
            &app,
            Method::DELETE,
            &format!("/api/jobs/{id}"),
            "planner",
            &[],
            None
        )
        .await
        .json()["status"],
        "dismissed"
    );
    assert_eq!(
        call(
            &app,
            Method::DELETE,
            "/api/jobs/jnope",
            "planner",
            &[],
            None
        )
        .await
        .status,
        404
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dismissal_through_another_replica_stops_the_runner() {
    let a = app().await;
    let b = replica(&a).await;
    a.state.jobs.pause_before_work(Duration::from_secs(4));
    let id = started(
        &a,
        "planner",
        json!({"process": "coverage", "inputs": {"kind": "all"}}),
    )
    .await;
    // Replica B answers the job's status from the store.
    wait_for(&b, "planner", &id, "running").await;
    let r = call(
        &b,
        Method::DELETE,
        &format!("/api/jobs/{id}"),
        "planner",
        &[],
        None,
    )
    .await;
    assert_eq!(r.json()["status"], "dismissed", "{}", r.text());
    // A sees it at its next heartbeat and stops.
    let t0 = Instant::now();
    while a.state.jobs.holds(&id) {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "replica A still runs the job dismissed through B"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(t0.elapsed() < Duration::from_secs(6));
    assert_eq!(
        wait_for(&a, "planner", &id, "dismissed").await["status"],
        "dismissed"
    );
    assert_eq!(
        a.store().job(&id).await.unwrap().expect("kept").result,
        None
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_is_seen_only_by_its_owner_and_admins() {
    let app = app().await;
    let id = started(
        &app,
        "planner",
        json!({"process": "coverage", "inputs": {"kind": "canteen"}}),
    )
    .await;
    wait_for(&app, "planner", &id, "successful").await;
    for path in [format!("/api/jobs/{id}"), format!("/api/jobs/{id}/results")] {
        for other in ["planner2", "department", "lead"] {
            let r = call(&app, Method::GET, &path, other, &[], None).await;
            assert_eq!(r.status, 404, "{other} {path}: {}", r.text());
            assert_eq!(r.header("content-type"), "application/problem+json");
        }
        assert_eq!(
            call(&app, Method::GET, &path, "admin", &[], None)
                .await
                .status,
            200,
            "{path}"
        );
        assert_eq!(
            call(&app, Method::GET, &path, "", &[], None).await.status,
            401,
            "anonymous {path}"
        );
    }
    assert_eq!(
        call(
            &app,
            Method::DELETE,
            &format!("/api/jobs/{id}"),
            "planner2",
            &[],
            None
        )
        .await
        .status,
        404
    );
    assert_eq!(
        app.store().job(&id).await.unwrap().expect("kept").status,
        JobStatus::Successful,
        "another user's DELETE changed nothing"
    );
    let mine = started(
        &app,
        "planner2",
        json!({"process": "coverage", "inputs": {"kind": "reading_room"}}),
    )
    .await;
    let list = |user: &'static str| {
        let app = &app;
        async move {
            let r = call(app, Method::GET, "/api/jobs", user, &[], None).await;
            assert_eq!(r.status, 200, "{}", r.text());
            r.json()["jobs"]
                .as_array()
                .expect("jobs")
                .iter()
                .map(|j| j["jobID"].as_str().unwrap_or("").to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(list("planner").await, vec![id.clone()]);
    assert_eq!(list("planner2").await, vec![mine.clone()]);
    assert_eq!(
        list("admin").await,
        vec![mine, id],
        "admins see all, newest first"
    );
    assert!(list("department").await.is_empty());
    assert_eq!(
        call(&app, Method::GET, "/api/jobs", "", &[], None)
            .await
            .status,
        401
    );
    assert_eq!(
        call(&app, Method::GET, "/api/jobs?limit=0", "admin", &[], None)
            .await
            .status,
        400
    );
    assert_eq!(
        call(&app, Method::GET, "/api/jobs?page=2", "admin", &[], None)
            .await
            .status,
        400
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starting_a_job_needs_the_permission_of_its_route() {
    let app = app().await;
    // As POST /api/partition: not for grid leads or departments, not for anonymous callers.
    assert_eq!(
        call(
            &app,
            Method::POST,
            "/api/partition",
            "lead",
            &[],
            Some(json!({}))
        )
        .await
        .status,
        403
    );
    for (user, want) in [("lead", 403), ("department", 403), ("", 401)] {
        let r = start(&app, user, json!({"process": "partition", "inputs": {}})).await;
        assert_eq!(r.status.as_u16(), want, "{user}: {}", r.text());
    }
    assert_eq!(
        start(
            &app,
            "cplanner",
            json!({"process": "partition", "inputs": {"community": "c1"}})
        )
        .await
        .status,
        403
    );
    assert!(
        app.store().jobs(None, 10).await.unwrap().is_empty(),
        "no refused job was stored"
    );
    // Coverage is a read: a grid lead may, and sees their scope only — as GET /api/coverage.
    let id = started(
        &app,
        "lead",
        json!({"process": "coverage", "inputs": {"kind": "canteen", "minutes": 10}}),
    )
    .await;
    wait_for(&app, "lead", &id, "successful").await;
    let got = call(
        &app,
        Method::GET,
        &format!("/api/jobs/{id}/results"),
        "lead",
        &[],
        None,
    )
    .await
    .json();
    let sync = call(
        &app,
        Method::GET,
        "/api/coverage?kind=canteen&minutes=10",
        "lead",
        &[],
        None,
    )
    .await
    .json();
    assert_eq!(without_seconds(got), without_seconds(sync.clone()));
    assert_eq!(sync["total_buildings"], 6, "the lead's grid only");
    assert_eq!(
        app.store().job(&id).await.unwrap().expect("job").scope,
        "grids:g1"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_jobs_are_refused_naming_the_field() {
    let app = app().await;
    for (body, status, needle) in [
        (json!({"process": "nope"}), 400, "process"),
        (json!({"inputs": {}}), 400, "process"),
        (json!({"process": "partition", "input": {}}), 400, "input"),
        (
            json!({"process": "partition", "inputs": {"tolerance": 2}}),
            400,
            "tolerance",
        ),
        (
            json!({"process": "partition", "inputs": {"target": "many"}}),
            400,
            "target",
        ),
        (
            json!({"process": "partition", "inputs": {"comunity": "c1"}}),
            400,
            "comunity",
        ),
        (
            json!({"process": "partition", "inputs": [1]}),
            400,
            "object",
        ),
        (
            json!({"process": "partition", "inputs": {"community": "nowhere"}}),
            404,
            "nowhere",
        ),
        (json!({"process": "coverage", "inputs": {}}), 400, "kind"),
        (
            json!({"process": "coverage", "inputs": {"kind": "canteen", "minutes": -5}}),
            400,
            "minutes",
        ),
        (
            json!({"process": "coverage", "inputs": {"kind": "canteen", "minutes": [5, "x"]}}),
            400,
            "minutes",
        ),
        (
            json!({"process": "coverage", "inputs": {"kind": "canteen", "profile": "runner"}}),
            400,
            "profile",
        ),
        (
            json!({"process": "coverage", "inputs": {"kind": "canteen", "speed_kmh": 99}}),
            400,
            "speed_kmh",
        ),
        (
            json!({"process": "coverage", "inputs": {"kind": " "}}),
            400,
            "kind",
        ),
        (
            json!({"process": "coverage", "inputs": {"kind": "canteen", "bbox": "1,2,3,4"}}),
            400,
            "bbox",
        ),
        (json!([{"process": "coverage"}]), 400, "object"),
    ] {
        let r = start(&app, "planner", body.clone()).await;
        assert_eq!(r.status.as_u16(), status, "{body}: {}", r.text());
        assert_eq!(
            r.header("content-type"),
            "application/problem+json",
            "{body}"
        );
        assert!(
            r.json()["detail"].as_str().unwrap_or("").contains(needle),
            "{body}: {} lacks '{needle}'",
            r.text()
        );
    }
    let mut b = Request::builder()
        .method(Method::POST)
        .uri("/api/jobs")
        .header(header::AUTHORIZATION, "Bearer tok-planner");
    b = b.header(header::CONTENT_TYPE, "text/plain");
    let resp = app
        .router
        .clone()
        .oneshot(
            b.body(Body::from(
                r#"{"process":"coverage","inputs":{"kind":"canteen"}}"#,
            ))
            .expect("request"),
        )
        .await
        .expect("infallible");
    assert_eq!(resp.status(), 415);
    assert!(
        app.store().jobs(None, 10).await.unwrap().is_empty(),
        "no refused job was stored"
    );
    assert_eq!(
        call(&app, Method::GET, "/api/jobs/jnope", "planner", &[], None)
            .await
            .status,
        404
    );
    assert_eq!(
        call(
            &app,
            Method::GET,
            "/api/jobs/jnope/results",
            "planner",
            &[],
            None
        )
        .await
        .status,
        404
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_coverage_job_of_all_kinds_has_a_summary_per_kind() {
    let app = app().await;
    let id = started(
        &app,
        "department",
        json!({"process": "coverage", "inputs": {"kind": "all", "minutes": [5, 15], "profile": "elderly"}}),
    )
    .await;
    let doc = wait_for(&app, "department", &id, "successful").await;
    assert_eq!(doc["progress"], 100);
    let got = call(
        &app,
        Method::GET,
        &format!("/api/jobs/{id}/results"),
        "department",
        &[],
        None,
    )
    .await
    .json();
    assert_eq!(got["kind"], "all");
    let summaries = got["summaries"].as_array().expect("summaries");
    let kinds: Vec<&str> = summaries
        .iter()
        .map(|s| s["kind"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        kinds,
        [
            "service_station",
            "canteen",
            "reading_room",
            "outreach_point"
        ]
    );
    for s in summaries {
        let kind = s["kind"].as_str().unwrap_or("");
        let sync = call(
            &app,
            Method::GET,
            &format!("/api/coverage?kind={kind}&minutes=5,15&profile=elderly"),
            "department",
            &[],
            None,
        )
        .await;
        assert_eq!(sync.status, 200, "{}", sync.text());
        assert_eq!(
            without_seconds(s.clone()),
            without_seconds(sync.json()),
            "{kind}"
        );
    }
    assert!(
        summaries[1]["covered_households"].as_u64().unwrap_or(0) > 0,
        "the canteen covers someone: {}",
        summaries[1]
    );
    assert_eq!(summaries[3]["facilities"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_server_stopped_is_reported_failed() {
    let app = app().await;
    let now = gridmap_store::now_millis();
    let job = |id: &str, updated: i64| JobRecord {
        id: id.into(),
        process: "partition".into(),
        owner: Some(UserId::new("planner")),
        scope: String::new(),
        status: JobStatus::Running,
        progress: 40.0,
        message: Some("running".into()),
        inputs: json!({}),
        result: None,
        error: None,
        created: updated - 5_000,
        started: Some(updated - 4_000),
        finished: None,
        updated,
    };
    // Another server held these: one stopped two minutes ago, one wrote a heartbeat just now.
    app.store()
        .put_job(&job("jstale", now - 120_000))
        .await
        .unwrap();
    app.store().put_job(&job("jalive", now)).await.unwrap();
    let doc = call(&app, Method::GET, "/api/jobs/jstale", "planner", &[], None)
        .await
        .json();
    assert_eq!(
        (doc["status"].as_str(), doc["message"].as_str()),
        (Some("failed"), Some("the server running this job stopped")),
        "{doc}"
    );
    let stored = app.store().job("jstale").await.unwrap().expect("kept");
    assert_eq!(stored.status, JobStatus::Failed, "the verdict is stored");
    assert!(stored.finished.is_some());
    let r = call(
        &app,
        Method::GET,
        "/api/jobs/jstale/results",
        "planner",
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 500);
    assert_eq!(r.header("content-type"), "application/problem+json");
    assert!(r.text().contains("stopped"), "{}", r.text());
    let doc = call(&app, Method::GET, "/api/jobs/jalive", "planner", &[], None)
        .await
        .json();
    assert_eq!(
        (doc["status"].as_str(), doc["progress"].as_u64()),
        (Some("running"), Some(40))
    );
    // The list settles stale jobs too.
    app.store()
        .put_job(&job("jstale2", now - 61_000))
        .await
        .unwrap();
    let list = call(&app, Method::GET, "/api/jobs", "planner", &[], None)
        .await
        .json();
    let st = list["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .find(|j| j["jobID"] == "jstale2")
        .expect("listed")["status"]
        .clone();
    assert_eq!(st, "failed");
    // Old jobs are pruned when a job is created.
    app.store()
        .put_job(&JobRecord {
            status: JobStatus::Successful,
            ..job("jold", now - 25 * 3600 * 1000)
        })
        .await
        .unwrap();
    started(
        &app,
        "planner",
        json!({"process": "coverage", "inputs": {"kind": "canteen"}}),
    )
    .await;
    assert_eq!(app.store().job("jold").await.unwrap(), None);
    assert!(app.store().job("jalive").await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_most_two_jobs_run_at_once_and_the_rest_wait_accepted() {
    let app = app().await;
    app.state.jobs.pause_before_work(Duration::from_millis(800));
    let mut ids = Vec::new();
    for _ in 0..4 {
        ids.push(
            started(
                &app,
                "planner",
                json!({"process": "coverage", "inputs": {"kind": "canteen"}}),
            )
            .await,
        );
    }
    for id in &ids {
        wait_for(&app, "planner", id, "successful").await;
    }
    // By the stored times: when any job started, at most one other was running.
    let mut spans = Vec::new();
    for id in &ids {
        let r = app.store().job(id).await.unwrap().expect("job");
        spans.push((r.started.expect("started"), r.finished.expect("finished")));
    }
    for (s, _) in &spans {
        let running = spans.iter().filter(|(s2, f2)| s2 <= s && s < f2).count();
        assert!(running <= 2, "{running} jobs ran at once: {spans:?}");
    }
    let waited = spans
        .iter()
        .filter(|(s, _)| spans.iter().any(|(_, f)| f <= s))
        .count();
    assert!(waited >= 2, "two of four jobs waited for a slot: {spans:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_holding_sixteen_jobs_answers_503_with_retry_after() {
    let app = app().await;
    app.state.jobs.pause_before_work(Duration::from_secs(2));
    for _ in 0..gridmap_server::jobs::MAX_HELD {
        started(
            &app,
            "planner",
            json!({"process": "coverage", "inputs": {"kind": "canteen"}}),
        )
        .await;
    }
    let r = start(
        &app,
        "planner",
        json!({"process": "coverage", "inputs": {"kind": "canteen"}}),
    )
    .await;
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(r.header("retry-after"), "30");
    assert!(
        r.json()["detail"]
            .as_str()
            .unwrap_or("")
            .contains("16 jobs"),
        "{}",
        r.text()
    );
    assert_eq!(
        app.store().jobs(None, 100).await.unwrap().len(),
        gridmap_server::jobs::MAX_HELD,
        "the refused job was not stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_siting_job_adds_sites_that_the_coverage_of_the_kind_confirms() {
    let app = app().await;
    let before = call(
        &app,
        Method::GET,
        "/api/coverage?kind=reading_room&minutes=5",
        "department",
        &[],
        None,
    )
    .await
    .json();
    let id = started(
        &app,
        "department",
        json!({"process": "siting", "inputs": {"kind": "reading_room", "add": 2, "minutes": 5, "candidates": {"sample": 40, "seed": 3}}}),
    )
    .await;
    let doc = wait_for(&app, "department", &id, "successful").await;
    assert_eq!(doc["progress"], 100);
    let got = call(
        &app,
        Method::GET,
        &format!("/api/jobs/{id}/results"),
        "department",
        &[],
        None,
    )
    .await
    .json();
    let sites = got["sites"].as_array().expect("sites");
    assert!(!sites.is_empty() && sites.len() <= 2, "{got}");
    assert_eq!(
        got["sites_geojson"]["features"].as_array().map(Vec::len),
        Some(sites.len())
    );
    let pct = |v: &Value| {
        v["pct_after"]
            .as_f64()
            .or_else(|| v["pct_before"].as_f64())
            .unwrap_or(-1.0)
    };
    assert!(
        pct(&got) >= got["pct_before"].as_f64().unwrap_or(101.0),
        "adding sites never lowers coverage: {got}"
    );
    let t = &before["thresholds"][0];
    let route_pct = 100.0 * t["covered_households"].as_f64().unwrap_or(-1.0)
        / t["total_households"].as_f64().unwrap_or(1.0);
    assert!(
        (got["pct_before"].as_f64().unwrap_or(-1.0) - route_pct).abs() < 0.01,
        "before = the coverage route's figure: {got} vs {before}"
    );
    // bad inputs name the field
    for (inputs, field) in [
        (
            json!({"kind": "reading_room", "add": 0, "candidates": {"sample": 5}}),
            "inputs.add",
        ),
        (
            json!({"kind": "reading_room", "add": 1, "candidates": {}}),
            "inputs.candidates",
        ),
        (
            json!({"kind": "reading_room", "add": 1, "candidates": {"points": {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [400, 1]}}]}}}),
            "inputs.candidates.points.features[0]",
        ),
        (
            json!({"kind": "reading_room", "add": 1, "model": "best", "candidates": {"sample": 5}}),
            "inputs.model",
        ),
    ] {
        let r = start(
            &app,
            "department",
            json!({"process": "siting", "inputs": inputs}),
        )
        .await;
        assert_eq!(r.status, 400, "{}", r.text());
        assert!(r.text().contains(field), "{field}: {}", r.text());
    }
}

#[tokio::test]
async fn post_siting_runs_closure_and_capacitated_jobs_and_access_scores_answer() {
    let app = app().await;
    // closure: no candidates needed; the sites to close come back least loss first
    let r = call(
        &app,
        Method::POST,
        "/api/siting",
        "department",
        &[],
        Some(json!({"kind": "reading_room", "add": 1, "model": "closure", "minutes": 5})),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.text());
    let id = r.json()["jobID"].as_str().expect("jobID").to_owned();
    wait_for(&app, "department", &id, "successful").await;
    let got = call(
        &app,
        Method::GET,
        &format!("/api/jobs/{id}/results"),
        "department",
        &[],
        None,
    )
    .await
    .json();
    let closed = got["closed"].as_array().expect("closed");
    assert_eq!(closed.len(), 1, "{got}");
    let loss = closed[0]["loss"].as_u64().expect("loss");
    assert_eq!(
        got["households_before"].as_u64().unwrap_or(0) - loss,
        got["households_after"].as_u64().unwrap_or(u64::MAX),
        "{got}"
    );
    // capacitated: no site serves more than its capacity
    let id = started(
        &app,
        "department",
        json!({"process": "siting", "inputs": {"kind": "reading_room", "add": 2, "minutes": 5, "model": "capacitated", "capacity": 20, "candidates": {"sample": 40, "seed": 3}}}),
    )
    .await;
    wait_for(&app, "department", &id, "successful").await;
    let got = call(
        &app,
        Method::GET,
        &format!("/api/jobs/{id}/results"),
        "department",
        &[],
        None,
    )
    .await
    .json();
    for s in got["sites"].as_array().expect("sites") {
        assert!(s["served"].as_u64().unwrap_or(u64::MAX) <= 20, "{got}");
    }
    // bad inputs are refused before a job starts
    let r = call(
        &app,
        Method::POST,
        "/api/siting",
        "department",
        &[],
        Some(json!({"kind": "reading_room", "add": 1, "model": "capacitated", "capacity": 0, "candidates": {"sample": 5}})),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("inputs.capacity"), "{}", r.text());
    // a drawn area with a malformed position, or not an area: refused, naming the field
    for within in [
        json!({"type": "Polygon", "coordinates": [[[7.42], [7.43, 43.73], [7.43, 43.74], [7.42]]]}),
        json!({"type": "Point", "coordinates": [7.42, 43.73]}),
        json!({"type": "Polygon", "coordinates": [[[7.42, 43.73], [7.43, 43.73], [7.42, 43.73]]]}),
    ] {
        let r = call(
            &app,
            Method::POST,
            "/api/siting",
            "department",
            &[],
            Some(json!({"kind": "reading_room", "add": 1, "candidates": {"sample": 50, "within": within}})),
        )
        .await;
        assert_eq!(r.status, 400, "{}", r.text());
        assert!(
            r.text().contains("inputs.candidates.within"),
            "{}",
            r.text()
        );
    }
    // access scores: JSON summary and GeoJSON points
    let r = call(
        &app,
        Method::GET,
        "/api/access?kind=reading_room&minutes=5&decay=gaussian",
        "department",
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let a = r.json();
    assert_eq!(a["decay"], "gaussian");
    assert!(
        a["buildings"].as_array().is_some_and(|b| !b.is_empty()),
        "{a}"
    );
    assert!(
        a["by_grid"].is_array() && a["mean_score"].is_number(),
        "{a}"
    );
    let r = call(
        &app,
        Method::GET,
        "/api/access?kind=reading_room&f=geojson",
        "department",
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["type"], "FeatureCollection");
    for bad in ["decay=cosine", "demand=cats", "f=xml", "colour=red"] {
        let r = call(
            &app,
            Method::GET,
            &format!("/api/access?kind=reading_room&{bad}"),
            "department",
            &[],
            None,
        )
        .await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text());
        let name = bad.split('=').next().unwrap_or_default();
        assert!(r.text().contains(name), "{bad}: {}", r.text());
    }
}
