//! Events (issue 15): `/api/events` (GeoJSON list and detail, create, transitions with
//! `If-Match`) and Open311 GeoReport v2 at `/open311/v2/` (services, service definitions,
//! requests GET/POST, one request). Routing (grid, community), the department and the due
//! times are set at creation; every transition goes through the state machine of
//! `gridmap_model::events::flow` (409 naming the allowed moves) and is one store transaction
//! with its audit entry (412 on a stale `If-Match`).
//!
//! Scope: a grid lead sees and acts on events of their grids only, a department on its queue
//! (events whose department is the department user's id), planners and admins on all; an
//! event outside the caller's scope answers 404, as if it did not exist.
use super::{json_value, require_json, QueryPairs};
use crate::auth::{self, Access};
use crate::error::{ApiError, Problem};
use crate::etag::{etag, IfMatch};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gridmap_model::events::{
    rfc3339_at, rfc3339_utc, Clock, Event, EventCategories, EventId, EventStatus, HistoryEntry,
    Priority, SystemClock, TransitionError, TransitionInput,
};
use gridmap_model::{AuditEntry, BuildingId, GridId, Role, User};
use gridmap_service::EventRouter;
use gridmap_store::EventQuery;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use utoipa_axum::{router::OpenApiRouter, routes};

const TAG: &str = "Events";
const OPEN311: &str = "Open311 GeoReport v2";
const GEOJSON: &str = "application/geo+json";
/// Most events one page answers.
const MAX_LIMIT: u64 = 1000;

/// Categories, the clock and the routing index of the events API.
pub struct EventsState {
    pub categories: Arc<EventCategories>,
    pub clock: Arc<dyn Clock>,
    /// The router of the newest snapshot generation it was built for.
    router: Mutex<Option<(u64, Arc<EventRouter>)>>,
}

impl Default for EventsState {
    fn default() -> Self {
        Self::new(Arc::new(EventCategories::default()), Arc::new(SystemClock))
    }
}

impl EventsState {
    pub fn new(categories: Arc<EventCategories>, clock: Arc<dyn Clock>) -> Self {
        EventsState {
            categories,
            clock,
            router: Mutex::new(None),
        }
    }
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(detail))
        .routes(routes!(transition))
        .routes(routes!(services))
        .routes(routes!(service_definition))
        .routes(routes!(requests, post_request))
        .routes(routes!(one_request))
}

/// The router over the whole (unscoped) dataset of the current generation, built once per
/// generation.
async fn router(st: &AppState) -> Result<Arc<EventRouter>, ApiError> {
    let snap = st.data.get(st.store.as_ref()).await?;
    if let Ok(g) = st.events.router.lock() {
        if let Some((gen, r)) = g.as_ref() {
            if *gen == snap.generation {
                return Ok(r.clone());
            }
        }
    }
    let ds = snap.dataset.clone();
    let r = tokio::task::spawn_blocking(move || Arc::new(EventRouter::new(&ds)))
        .await
        .map_err(|e| ApiError::Internal(format!("building the event router: {e}")))?;
    if let Ok(mut g) = st.events.router.lock() {
        *g = Some((snap.generation, r.clone()));
    }
    Ok(r)
}

/// What the caller may see: `None` = everything.
fn scope_query(access: &Access) -> Result<(Option<Vec<GridId>>, Option<String>), ApiError> {
    match access.user() {
        None => Err(ApiError::Unauthorized(
            "events need a login or an API token".into(),
        )),
        Some(u) => Ok(match u.role {
            Role::GridLead => (Some(u.grids.clone()), None),
            Role::Department => (None, Some(u.id.to_string())),
            Role::Admin | Role::Planner => (None, None),
        }),
    }
}

fn in_scope(u: &User, e: &Event) -> bool {
    match u.role {
        Role::GridLead => e.grid.as_ref().is_some_and(|g| u.grids.contains(g)),
        Role::Department => e.department == u.id.as_str(),
        Role::Admin | Role::Planner => true,
    }
}

fn caller() -> Result<Arc<User>, ApiError> {
    match auth::current().principal {
        auth::Principal::User(u) => Ok(u),
        auth::Principal::Anonymous => Err(ApiError::Unauthorized(
            "events need a login or an API token".into(),
        )),
    }
}

/// The event if the caller may see it, else 404.
async fn scoped_event(st: &AppState, u: &User, id: &str) -> Result<Event, ApiError> {
    let not_found = || ApiError::NotFound {
        what: "event".into(),
        id: id.to_owned(),
    };
    let e = st
        .store
        .event(&EventId::new(id))
        .await?
        .ok_or_else(not_found)?;
    if in_scope(u, &e) {
        Ok(e)
    } else {
        Err(not_found())
    }
}

/// An event as a GeoJSON feature (`history` only when asked).
fn feature(e: &Event, now: i64, cats: &EventCategories, history: bool) -> Value {
    let cat = cats.get(&e.category);
    let mut p = json!({
        "category": e.category,
        "category_name": cat.map(|c| json!({"zh": c.zh, "en": c.en})),
        "description": e.description,
        "status": e.status.as_str(),
        "grid": e.grid,
        "community": e.community,
        "routed_by": e.routed_by.map(gridmap_model::events::RoutedBy::as_str),
        "department": e.department,
        "priority": e.priority.as_str(),
        "building": e.building,
        "reporter": e.reporter,
        "photos": e.photos,
        "reported_at": rfc3339_utc(e.reported_at),
        "updated_at": rfc3339_utc(e.updated_at),
        "due_at": e.due_at().map(rfc3339_utc),
        "due": {
            "arrive": e.due.arrive.map(rfc3339_utc),
            "resolve": e.due.resolve.map(rfc3339_utc),
        },
        "overdue": e.overdue(now),
        "version": e.version,
    });
    if history {
        p["history"] = Value::Array(e.history.iter().map(history_json).collect());
    }
    json!({
        "type": "Feature",
        "id": e.id,
        "geometry": e.location.map(|l| json!({"type": "Point", "coordinates": [l.x(), l.y()]})),
        "properties": p,
    })
}

fn history_json(h: &HistoryEntry) -> Value {
    json!({
        "at": rfc3339_utc(h.at),
        "user": h.user,
        "role": h.role,
        "from": h.from.map(gridmap_model::events::EventStatus::as_str),
        "to": h.to.as_str(),
        "reason": h.reason,
        "note": h.note,
    })
}

fn parse_bool(name: &str, v: &str) -> Result<bool, ApiError> {
    match v {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(ApiError::InvalidParameter {
            name: name.into(),
            reason: format!("'{v}' is not true or false"),
        }),
    }
}

fn parse_u64(name: &str, v: &str) -> Result<u64, ApiError> {
    v.parse().map_err(|_| ApiError::InvalidParameter {
        name: name.into(),
        reason: format!("'{v}' is not a non-negative integer"),
    })
}

fn parse_statuses(name: &str, v: &str) -> Result<Vec<EventStatus>, ApiError> {
    v.split(',')
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.trim()
                .parse()
                .map_err(|e: gridmap_model::ModelError| ApiError::InvalidParameter {
                    name: name.into(),
                    reason: e.to_string(),
                })
        })
        .collect()
}

fn time_param(name: &str, v: &str) -> Result<i64, ApiError> {
    gridmap_model::events::parse_rfc3339(v).map_err(|reason| ApiError::InvalidParameter {
        name: name.into(),
        reason,
    })
}

/// Lists events as GeoJSON, newest first: `status` (comma list), `category`, `grid`,
/// `department`, `overdue` (true: only those past their resolution deadline whose clock
/// runs), `since`/`until` (RFC 3339, reported time), `limit` (default 100, at most 1000),
/// `offset`. Scoped: a grid lead sees their grids' events, a department its queue.
#[utoipa::path(get, path = "/api/events", tag = TAG, operation_id = "api_events",
    params(
        ("status" = Option<String>, Query, description = "comma list of statuses"),
        ("category" = Option<String>, Query),
        ("grid" = Option<String>, Query),
        ("department" = Option<String>, Query),
        ("overdue" = Option<bool>, Query),
        ("since" = Option<String>, Query, description = "reported at or after (RFC 3339)"),
        ("until" = Option<String>, Query, description = "reported before (RFC 3339)"),
        ("limit" = Option<u64>, Query),
        ("offset" = Option<u64>, Query),
    ),
    responses(
        (status = 200, description = "A GeoJSON FeatureCollection of events", content_type = "application/geo+json"),
        (status = 400, description = "A bad parameter (named)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No login", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list(State(st): State<AppState>, QueryPairs(q): QueryPairs) -> Result<Response, ApiError> {
    let access = auth::current();
    let (grids_in, dept) = scope_query(&access)?;
    let now = st.events.clock.now();
    let mut eq = EventQuery {
        grids_in,
        department: dept,
        limit: Some(100),
        ..Default::default()
    };
    for (k, v) in &q {
        match k.as_str() {
            "status" => eq.statuses = parse_statuses(k, v)?,
            "category" => eq.category = Some(v.clone()),
            "grid" => eq.grid = Some(GridId::new(v.clone())),
            "department" => {
                if eq.department.as_ref().is_some_and(|d| d != v) {
                    // a department asking for another queue sees nothing
                    eq.grids_in = Some(vec![]);
                }
                eq.department = Some(v.clone());
            }
            "overdue" => {
                if parse_bool(k, v)? {
                    eq.overdue_at = Some(now);
                }
            }
            "since" => eq.reported_since = Some(time_param(k, v)?),
            "until" => eq.reported_before = Some(time_param(k, v)?),
            "limit" => eq.limit = Some(parse_u64(k, v)?.min(MAX_LIMIT)),
            "offset" => eq.offset = parse_u64(k, v)?,
            "f" => {}
            _ => {
                return Err(ApiError::UnknownParameter {
                    name: k.clone(),
                    allowed:
                        "status, category, grid, department, overdue, since, until, limit, offset"
                            .into(),
                })
            }
        }
    }
    let page = st.store.events(&eq).await?;
    let cats = &st.events.categories;
    let features: Vec<Value> = page
        .items
        .iter()
        .map(|e| feature(e, now, cats, false))
        .collect();
    let returned = features.len() as u64;
    let mut links = vec![];
    if eq.offset + returned < page.matched {
        links.push(json!({"rel": "next", "href": format!("/api/events?offset={}&limit={}", eq.offset + returned, eq.limit.unwrap_or(100))}));
    }
    Ok(json_value(
        GEOJSON,
        &json!({
            "type": "FeatureCollection",
            "features": features,
            "numberMatched": page.matched,
            "numberReturned": returned,
            "links": links,
        }),
    ))
}

/// One event as a GeoJSON feature with its history; `ETag` is its version (send it back as
/// `If-Match` with a transition). 404 outside the caller's scope.
#[utoipa::path(get, path = "/api/events/{eventId}", tag = TAG, operation_id = "api_event",
    params(("eventId" = String, Path)),
    responses(
        (status = 200, description = "The event (properties grid, community, department, category, status, due_at, overdue, history)", content_type = "application/geo+json",
            headers(("ETag" = String, description = "the event's version"))),
        (status = 404, description = "No such event in the caller's scope", body = Problem, content_type = "application/problem+json"),
    ))]
async fn detail(State(st): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let u = caller()?;
    let e = scoped_event(&st, &u, &id).await?;
    Ok(with_etag(
        json_value(
            GEOJSON,
            &feature(&e, st.events.clock.now(), &st.events.categories, true),
        ),
        e.version,
    ))
}

fn with_etag(mut r: Response, version: i64) -> Response {
    if let Ok(v) = HeaderValue::from_str(&etag(version)) {
        r.headers_mut().insert(header::ETAG, v);
    }
    r
}

/// The body of `POST /api/events`.
#[derive(Deserialize, utoipa::ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct NewEvent {
    /// A category code (`GET /open311/v2/services.json` lists them).
    pub category: String,
    #[serde(default)]
    pub description: String,
    /// WGS84 longitude / latitude of the problem.
    #[serde(default)]
    pub lon: Option<f64>,
    #[serde(default)]
    pub lat: Option<f64>,
    /// The building concerned (its id).
    #[serde(default)]
    pub building: Option<String>,
    #[serde(default)]
    pub photos: Vec<String>,
    /// low, normal (default), high, urgent.
    #[serde(default)]
    pub priority: Option<String>,
    /// Who reported it (default: the caller).
    #[serde(default)]
    pub reporter: Option<String>,
}

/// Checks, routes and stores a new event as the caller: the grid from the building or point,
/// the department from the category, due times from its class and calendar.
async fn create_event(st: &AppState, u: &User, n: NewEvent) -> Result<Event, ApiError> {
    let cats = &st.events.categories;
    let cat = cats
        .get(&n.category)
        .ok_or_else(|| ApiError::InvalidParameter {
            name: "category".into(),
            reason: format!(
                "unknown category '{}' (expected one of: {})",
                n.category,
                cats.codes()
            ),
        })?;
    let point = match (n.lon, n.lat) {
        (Some(x), Some(y)) => Some(geo_types::Point::new(x, y)),
        (None, None) => None,
        (Some(_), None) => {
            return Err(ApiError::InvalidParameter {
                name: "lat".into(),
                reason: "lon given without lat".into(),
            })
        }
        (None, Some(_)) => {
            return Err(ApiError::InvalidParameter {
                name: "lon".into(),
                reason: "lat given without lon".into(),
            })
        }
    };
    let priority = match n.priority.as_deref() {
        None => Priority::Normal,
        Some(p) => {
            p.parse()
                .map_err(|e: gridmap_model::ModelError| ApiError::InvalidParameter {
                    name: "priority".into(),
                    reason: e.to_string(),
                })?
        }
    };
    if n.description.chars().count() > 4000 {
        return Err(ApiError::InvalidParameter {
            name: "description".into(),
            reason: "longer than 4000 characters".into(),
        });
    }
    let building = n.building.filter(|b| !b.is_empty()).map(BuildingId::new);
    let r = router(st).await?;
    let route = r.route(point, building.as_ref()).map_err(|e| {
        let (name, reason) = e
            .to_string()
            .split_once(": ")
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
            .unwrap_or(("location".into(), e.to_string()));
        ApiError::InvalidParameter { name, reason }
    })?;
    if u.role == Role::GridLead && !route.grid.as_ref().is_some_and(|g| u.grids.contains(g)) {
        return Err(ApiError::Forbidden(format!(
            "grid lead '{}' reports only in their grids; this place routes to {}",
            u.id,
            route.grid.as_ref().map_or("no grid", |g| g.as_str())
        )));
    }
    let now = st.events.clock.now();
    let id = EventId::new(format!(
        "ev-{now:x}-{:08x}",
        u32::from_le_bytes(gridmap_store::random_bytes::<4>()?)
    ));
    let e = Event {
        id,
        category: cat.code.clone(),
        description: n.description,
        location: point,
        building,
        reporter: Some(n.reporter.unwrap_or_else(|| u.id.to_string())),
        photos: n.photos,
        grid: route.grid,
        community: route.community,
        routed_by: route.routed_by,
        department: cat.department.clone(),
        priority,
        status: EventStatus::Reported,
        reported_at: now,
        updated_at: now,
        due: cats.due(cat, now),
        history: vec![HistoryEntry {
            at: now,
            user: Some(u.id.clone()),
            role: Some(u.role),
            from: None,
            to: EventStatus::Reported,
            reason: None,
            note: route
                .distance_m
                .map(|d| format!("routed to the nearest grid, {d:.0} m away")),
        }],
        version: 1,
    };
    let audit = AuditEntry {
        id: 0,
        at: String::new(),
        user: Some(u.id.clone()),
        action: "event.create".into(),
        target: format!("event:{}", e.id),
        before: None,
        after: serde_json::to_value(&e).ok(),
    };
    Ok(st.store.create_event(&e, Some(&audit)).await?)
}

/// Reports an event (JSON body `{category, description, lon, lat, building?, photos?,
/// priority?}`): routed to its grid (`routed_by` building | outline | nearest), its department
/// from the category, due times set. 201 with `Location` and `ETag`.
#[utoipa::path(post, path = "/api/events", tag = TAG, operation_id = "api_events_create",
    request_body(content = NewEvent, content_type = "application/json"),
    responses(
        (status = 201, description = "Created: the event as a GeoJSON feature", content_type = "application/geo+json"),
        (status = 400, description = "A bad field (named)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A grid lead reporting outside their grids", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not application/json", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    require_json(&headers)?;
    let u = caller()?;
    let n: NewEvent =
        serde_json::from_slice(&body).map_err(|e| ApiError::InvalidBody(e.to_string()))?;
    let e = create_event(&st, &u, n).await?;
    let mut r = json_value(
        GEOJSON,
        &feature(&e, st.events.clock.now(), &st.events.categories, true),
    );
    *r.status_mut() = StatusCode::CREATED;
    if let Ok(v) = HeaderValue::from_str(&format!("/api/events/{}", e.id)) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    Ok(with_etag(r, e.version))
}

/// The body of `POST /api/events/{eventId}/transitions`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionBody {
    /// The status to move to.
    pub to: String,
    /// Required for returned, suspended, reopened and a failed check (resolved → in_progress).
    #[serde(default)]
    pub reason: Option<String>,
    /// A new responsible department (on dispatch).
    #[serde(default)]
    pub department: Option<String>,
}

/// Moves an event to another status. `If-Match` (the event's ETag) is required (428 without,
/// 412 when stale); a move the state machine or the caller's role does not allow is 409 and
/// names the allowed ones (`allowed` in the problem document). Audited.
#[utoipa::path(post, path = "/api/events/{eventId}/transitions", tag = TAG, operation_id = "api_event_transition",
    params(("eventId" = String, Path), ("If-Match" = String, Header, description = "the event's ETag")),
    request_body(content = TransitionBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The event after the move, with its new ETag", content_type = "application/geo+json"),
        (status = 404, description = "No such event in the caller's scope", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not an allowed move: the allowed ones are named", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale If-Match", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
    ))]
async fn transition(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    require_json(&headers)?;
    let u = caller()?;
    let t: TransitionBody =
        serde_json::from_slice(&body).map_err(|e| ApiError::InvalidBody(e.to_string()))?;
    let to: EventStatus =
        t.to.parse()
            .map_err(|e: gridmap_model::ModelError| ApiError::InvalidParameter {
                name: "to".into(),
                reason: e.to_string(),
            })?;
    let if_match = IfMatch::from_headers(&headers)?.ok_or(ApiError::PreconditionRequired)?;
    let before = scoped_event(&st, &u, &id).await?;
    let expected = if_match.check("event", &id, before.version)?;
    if let Some(d) = &t.department {
        if d.trim().is_empty() {
            return Err(ApiError::InvalidParameter {
                name: "department".into(),
                reason: "empty".into(),
            });
        }
    }
    let mut after = before.clone();
    let input = TransitionInput {
        reason: t.reason,
        department: t.department,
    };
    let now = st.events.clock.now();
    after
        .transition(to, Some(&u.id), u.role, &input, now)
        .map_err(|e| match e {
            TransitionError::NotAllowed { .. } => ApiError::Conflict(e.to_string()),
            TransitionError::ReasonRequired { .. } => ApiError::InvalidParameter {
                name: "reason".into(),
                reason: e.to_string(),
            },
        })?;
    let audit = AuditEntry {
        id: 0,
        at: String::new(),
        user: Some(u.id.clone()),
        action: "event.transition".into(),
        target: format!("event:{id}"),
        before: Some(
            json!({"status": before.status.as_str(), "version": before.version, "department": before.department}),
        ),
        after: Some(
            json!({"status": after.status.as_str(), "version": before.version + 1, "department": after.department, "reason": input.reason}),
        ),
    };
    let stored = st
        .store
        .update_event(&after, expected, Some(&audit))
        .await?;
    Ok(with_etag(
        json_value(GEOJSON, &feature(&stored, now, &st.events.categories, true)),
        stored.version,
    ))
}

// ----- Open311 GeoReport v2

fn open311_service(c: &gridmap_model::events::EventCategory, cats: &EventCategories) -> Value {
    json!({
        "service_code": c.code,
        "service_name": format!("{} / {}", c.zh, c.en),
        "description": format!("{} ({}); settled within {} minutes on the {} calendar", c.en, c.zh, cats.resolve_minutes(c), c.calendar),
        "metadata": false,
        "type": "realtime",
        "keywords": c.class,
        "group": c.group.clone().unwrap_or_else(|| c.department.clone()),
    })
}

/// GeoReport v2 service list: one service per event category.
#[utoipa::path(get, path = "/open311/v2/services.json", tag = OPEN311, operation_id = "open311_services",
    responses((status = 200, description = "The services (event categories)", content_type = "application/json")))]
async fn services(State(st): State<AppState>) -> Result<Response, ApiError> {
    let cats = &st.events.categories;
    let v: Vec<Value> = cats
        .categories
        .iter()
        .map(|c| open311_service(c, cats))
        .collect();
    Ok(json_value("application/json", &Value::Array(v)))
}

fn strip_json<'a>(file: &'a str, what: &str) -> Result<&'a str, ApiError> {
    file.strip_suffix(".json")
        .ok_or_else(|| ApiError::NotFound {
            what: format!("{what} (only the .json format is served)"),
            id: file.to_owned(),
        })
}

/// GeoReport v2 service definition: no extra attributes are asked.
#[utoipa::path(get, path = "/open311/v2/services/{file}", tag = OPEN311, operation_id = "open311_service_definition",
    params(("file" = String, Path, description = "`{service_code}.json`")),
    responses(
        (status = 200, description = "The service definition", content_type = "application/json"),
        (status = 404, description = "Unknown service code", body = Problem, content_type = "application/problem+json"),
    ))]
async fn service_definition(
    State(st): State<AppState>,
    Path(file): Path<String>,
) -> Result<Response, ApiError> {
    let code = strip_json(&file, "service")?;
    let c = st
        .events
        .categories
        .get(code)
        .ok_or_else(|| ApiError::NotFound {
            what: "service".into(),
            id: code.to_owned(),
        })?;
    Ok(json_value(
        "application/json",
        &json!({"service_code": c.code, "attributes": []}),
    ))
}

/// An event as a GeoReport v2 service request.
fn open311_request(e: &Event, cats: &EventCategories) -> Value {
    let off = 8 * 3600;
    let c = cats.get(&e.category);
    json!({
        "service_request_id": e.id,
        "status": e.status.open311(),
        "status_notes": format!("{}{}", e.status.as_str(), e.history.last().and_then(|h| h.reason.as_ref()).map(|r| format!(": {r}")).unwrap_or_default()),
        "service_name": c.map(|c| format!("{} / {}", c.zh, c.en)),
        "service_code": e.category,
        "description": e.description,
        "agency_responsible": e.department,
        "service_notice": e.grid.as_ref().map(|g| format!("grid {g}")),
        "requested_datetime": rfc3339_at(e.reported_at, off),
        "updated_datetime": rfc3339_at(e.updated_at, off),
        "expected_datetime": e.due_at().map(|t| rfc3339_at(t, off)),
        "address": Value::Null,
        "address_id": e.building,
        "zipcode": Value::Null,
        "lat": e.location.map(geo::Point::y),
        "long": e.location.map(geo::Point::x),
        "media_url": e.photos.first(),
    })
}

/// GeoReport v2 request list: `service_request_id` (comma list), `service_code`,
/// `start_date`, `end_date`, `status` (open | closed); at most 1000, newest first; scoped as
/// `/api/events`.
#[utoipa::path(get, path = "/open311/v2/requests.json", tag = OPEN311, operation_id = "open311_requests",
    responses(
        (status = 200, description = "Service requests", content_type = "application/json"),
        (status = 401, description = "No API key", body = Problem, content_type = "application/problem+json"),
    ))]
async fn requests(
    State(st): State<AppState>,
    QueryPairs(q): QueryPairs,
) -> Result<Response, ApiError> {
    let access = auth::current();
    let (grids_in, department) = scope_query(&access)?;
    let u = caller()?;
    let mut eq = EventQuery {
        grids_in,
        department,
        limit: Some(MAX_LIMIT),
        ..Default::default()
    };
    let mut ids: Option<Vec<String>> = None;
    let mut open: Option<bool> = None;
    for (k, v) in &q {
        match k.as_str() {
            "service_request_id" => ids = Some(v.split(',').map(|s| s.trim().to_owned()).collect()),
            "service_code" => eq.category = Some(v.clone()),
            "start_date" => eq.reported_since = Some(time_param(k, v)?),
            "end_date" => eq.reported_before = Some(time_param(k, v)?),
            "status" => {
                open = Some(match v.as_str() {
                    "open" => true,
                    "closed" => false,
                    _ => {
                        return Err(ApiError::InvalidParameter {
                            name: "status".into(),
                            reason: format!("'{v}' is not open or closed"),
                        })
                    }
                });
            }
            "api_key" | "jurisdiction_id" => {}
            _ => {
                return Err(ApiError::UnknownParameter {
                    name: k.clone(),
                    allowed: "service_request_id, service_code, start_date, end_date, status, api_key, jurisdiction_id".into(),
                })
            }
        }
    }
    if let Some(o) = open {
        eq.statuses = EventStatus::ALL
            .into_iter()
            .filter(|s| (s.open311() == "open") == o)
            .collect();
    }
    let cats = &st.events.categories;
    let out: Vec<Value> = match ids {
        Some(ids) => {
            let mut v = vec![];
            for id in ids.iter().take(MAX_LIMIT as usize) {
                if let Some(e) = st.store.event(&EventId::new(id.clone())).await? {
                    if in_scope(&u, &e) {
                        v.push(open311_request(&e, cats));
                    }
                }
            }
            v
        }
        None => st
            .store
            .events(&eq)
            .await?
            .items
            .iter()
            .map(|e| open311_request(e, cats))
            .collect(),
    };
    Ok(json_value("application/json", &Value::Array(out)))
}

/// GeoReport v2 one request (an array of one, as the spec answers).
#[utoipa::path(get, path = "/open311/v2/requests/{file}", tag = OPEN311, operation_id = "open311_request",
    params(("file" = String, Path, description = "`{service_request_id}.json`")),
    responses(
        (status = 200, description = "The request, in an array of one", content_type = "application/json"),
        (status = 404, description = "No such request in the caller's scope", body = Problem, content_type = "application/problem+json"),
    ))]
async fn one_request(
    State(st): State<AppState>,
    Path(file): Path<String>,
) -> Result<Response, ApiError> {
    let id = strip_json(&file, "request")?;
    let u = caller()?;
    let e = scoped_event(&st, &u, id).await?;
    Ok(json_value(
        "application/json",
        &json!([open311_request(&e, &st.events.categories)]),
    ))
}

/// GeoReport v2 request creation, form-encoded or JSON: `service_code`, `lat` + `long` and/or
/// `address_id` (a building id), `description`, `media_url`, `first_name`/`last_name`/`email`
/// (kept as the reporter), `api_key` (or a Bearer token). Answers
/// `[{service_request_id, service_notice, account_id}]`.
#[utoipa::path(post, path = "/open311/v2/requests.json", tag = OPEN311, operation_id = "open311_post_request",
    request_body(content = String, description = "form fields (or the same as a JSON object)", content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 201, description = "Created: [{service_request_id, service_notice, account_id}]", content_type = "application/json"),
        (status = 400, description = "A bad field (named)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn post_request(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let u = caller()?;
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let fields: Vec<(String, String)> = if ctype.starts_with("application/x-www-form-urlencoded") {
        serde_urlencoded::from_bytes(&body).map_err(|e| ApiError::InvalidBody(e.to_string()))?
    } else if ctype.starts_with("application/json") {
        let v: serde_json::Map<String, Value> =
            serde_json::from_slice(&body).map_err(|e| ApiError::InvalidBody(e.to_string()))?;
        v.into_iter()
            .map(|(k, v)| {
                let s = match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                (k, s)
            })
            .collect()
    } else {
        return Err(ApiError::UnsupportedMediaType(if ctype.is_empty() {
            "(no Content-Type; send application/x-www-form-urlencoded or application/json)".into()
        } else {
            ctype
        }));
    };
    let get = |k: &str| {
        fields
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    let num = |k: &str| -> Result<Option<f64>, ApiError> {
        get(k)
            .map(|v| {
                v.parse::<f64>().map_err(|_| ApiError::InvalidParameter {
                    name: k.into(),
                    reason: format!("'{v}' is not a number"),
                })
            })
            .transpose()
    };
    let category = get("service_code").ok_or_else(|| ApiError::InvalidParameter {
        name: "service_code".into(),
        reason: "required".into(),
    })?;
    let (lat, lon) = (num("lat")?, num("long")?);
    if lat.is_none() && lon.is_none() && get("address_id").is_none() {
        return Err(ApiError::InvalidParameter {
            name: "lat".into(),
            reason: "a location is required: lat and long, or address_id (a building id)".into(),
        });
    }
    let name = [get("first_name"), get("last_name")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let reporter = [
        Some(name).filter(|n| !n.is_empty()),
        get("email"),
        get("phone"),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" / ");
    let n = NewEvent {
        category,
        description: get("description").unwrap_or_default(),
        lon,
        lat,
        building: get("address_id"),
        photos: get("media_url").into_iter().collect(),
        priority: None,
        reporter: Some(reporter).filter(|r| !r.is_empty()),
    };
    let e = create_event(&st, &u, n).await.map_err(|err| match err {
        ApiError::InvalidParameter { name, reason } => ApiError::InvalidParameter {
            name: match name.as_str() {
                "category" => "service_code".into(),
                "lon" => "long".into(),
                "building" => "address_id".into(),
                _ => name,
            },
            reason,
        },
        other => other,
    })?;
    let mut r = json_value(
        "application/json",
        &json!([{
            "service_request_id": e.id,
            "service_notice": e.grid.as_ref().map(|g| format!("routed to grid {g}; due {}", e.due_at().map(|t| rfc3339_at(t, 8 * 3600)).unwrap_or_default())),
            "account_id": Value::Null,
        }]),
    );
    *r.status_mut() = StatusCode::CREATED;
    Ok(r.into_response())
}
