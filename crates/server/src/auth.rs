//! Who is calling, what they may do, and what they may see — decided here and nowhere else.
//!
//! * **Identity**: a session cookie ([`SESSION_COOKIE`], set by `POST /api/login`) or an API
//!   token (`Authorization: Bearer gm_…`, made with `gridmap user token`). Only SHA-256 hashes of
//!   either are stored; lookups are cached for [`IDENTITY_TTL`] so a tile burst costs one query.
//! * **Permission**: [`action`] classifies every routed request by method and route pattern
//!   into an [`Action`]; [`Access::permits`] decides by role. Unknown writes default to
//!   [`Action::Admin`], so a new route is closed until it is classified. Denied → 401 (no or bad
//!   credentials) or 403 (the role may not).
//! * **Scope**: the [`Access`] of the request is set as a task-local for the handler
//!   ([`current`]); the layer snapshot every handler reads through (`AppState::snapshot`) is
//!   filtered to it, and so are the page and tile caches' keys. A grid lead's snapshot holds only
//!   their grids, those grids' buildings, compounds and communities, and the facilities within
//!   [`FACILITY_REACH_M`] of them: GeoJSON, OGC API items, tiles, statistics and analysis all see
//!   the same filtered data. Community-scoped planners read everything but edit only grids of
//!   their communities ([`Access::check_community`]).
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use gridmap_model::{CommunityId, Role, User};
use gridmap_store::TokenKind;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Name of the login session cookie.
pub const SESSION_COOKIE: &str = "gridmap_session";
/// How long a resolved token → user lookup is reused before the store is asked again (a
/// disabled user or revoked token stops working within this time; logout is immediate).
pub const IDENTITY_TTL: Duration = Duration::from_secs(20);
/// A grid lead sees the facilities within this straight-line distance of their buildings: a
/// 15-minute walk (~1.2 km) can never reach farther than its straight line, and 2 km leaves room
/// for 20–25 minute thresholds.
pub const FACILITY_REACH_M: f64 = 2000.0;

/// What anonymous callers may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Anonymous {
    /// Read layers, tiles and coverage (no what-if, no edits).
    Read,
    /// Nothing but the public pages (landing, conformance, OpenAPI, web app, login).
    None,
}

/// The caller of a request.
#[derive(Clone, Debug)]
pub enum Principal {
    Anonymous,
    User(Arc<User>),
}

/// What a request may see of the data.
#[derive(Clone, Debug)]
pub enum Scope {
    All,
    /// Only these grids (a grid lead's); `key` names the scope in cache keys.
    Grids {
        key: Arc<str>,
        grids: Arc<BTreeSet<String>>,
    },
}

impl Scope {
    /// Part of every cache key of scoped data: empty for the whole dataset.
    pub fn key(&self) -> &str {
        match self {
            Scope::All => "",
            Scope::Grids { key, .. } => key,
        }
    }
    pub fn is_all(&self) -> bool {
        matches!(self, Scope::All)
    }
}

/// The caller and their scope, as decided for one request.
#[derive(Clone, Debug)]
pub struct Access {
    pub principal: Principal,
    pub scope: Scope,
}

impl Access {
    /// No access at all: an empty scope (what code outside any request gets).
    pub fn nobody() -> Self {
        Access {
            principal: Principal::Anonymous,
            scope: Scope::Grids {
                key: Arc::from("\u{0}nobody"),
                grids: Arc::new(BTreeSet::new()),
            },
        }
    }

    /// Internal work (warm-up, tests) sees everything.
    pub fn internal() -> Self {
        Access {
            principal: Principal::Anonymous,
            scope: Scope::All,
        }
    }

    /// The access of a caller.
    pub fn of(principal: Principal) -> Self {
        let scope = match &principal {
            Principal::User(u) if u.role == Role::GridLead => {
                let grids: BTreeSet<String> =
                    u.grids.iter().map(|g| g.as_str().to_owned()).collect();
                let key = format!(
                    "grids:{}",
                    grids.iter().cloned().collect::<Vec<_>>().join("\u{1f}")
                );
                Scope::Grids {
                    key: key.into(),
                    grids: Arc::new(grids),
                }
            }
            _ => Scope::All,
        };
        Access { principal, scope }
    }

    pub fn user(&self) -> Option<&User> {
        match &self.principal {
            Principal::User(u) => Some(u),
            Principal::Anonymous => None,
        }
    }

    /// Whether this caller may perform `action`; `Err` is the 401/403 to answer.
    pub fn permits(&self, action: Action, anonymous: Anonymous) -> Result<(), ApiError> {
        let Some(u) = self.user() else {
            return match action {
                Action::Public => Ok(()),
                Action::Read if anonymous == Anonymous::Read => Ok(()),
                _ => Err(ApiError::Unauthorized(format!(
                    "{} needs a login (POST /api/login) or an API token",
                    action.describe()
                ))),
            };
        };
        let ok = match action {
            Action::Public | Action::Read | Action::Session | Action::Events => true,
            Action::WhatIf => matches!(u.role, Role::Admin | Role::Planner | Role::Department),
            Action::EditFacilities => {
                matches!(u.role, Role::Admin | Role::Planner | Role::Department)
            }
            Action::Plan | Action::EditGrids => matches!(u.role, Role::Admin | Role::Planner),
            Action::Correct => matches!(u.role, Role::Admin | Role::Planner | Role::GridLead),
            Action::Admin => u.role == Role::Admin,
        };
        if ok {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "{} is not allowed for role {} (user '{}')",
                action.describe(),
                u.role,
                u.id
            )))
        }
    }

    /// Community-scoped planners edit only grids of their communities; `None` (the whole
    /// dataset, or a grid without community) is refused for them.
    pub fn check_community(&self, community: Option<&CommunityId>) -> Result<(), ApiError> {
        let Some(u) = self.user() else { return Ok(()) };
        if u.role != Role::Planner || u.communities.is_empty() {
            return Ok(());
        }
        match community {
            Some(c) if u.communities.contains(c) => Ok(()),
            Some(c) => Err(ApiError::Forbidden(format!("user '{}' plans only communities {}; '{c}' is not one of them", u.id, list(&u.communities)))),
            None => Err(ApiError::Forbidden(format!(
                "user '{}' plans only communities {}: name the community (grids without one cannot be edited)",
                u.id,
                list(&u.communities)
            ))),
        }
    }
}

fn list(c: &[CommunityId]) -> String {
    c.iter()
        .map(gridmap_model::CommunityId::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

tokio::task_local! {
    static ACCESS: Access;
}

/// The access of the request being served. Outside a request it fails closed: nothing is in
/// scope ([`Access::nobody`]); internal work passes its access explicitly ([`with_access`]).
pub fn current() -> Access {
    ACCESS
        .try_with(Clone::clone)
        .unwrap_or_else(|_| Access::nobody())
}

/// Runs `f` as `access` (tests and internal callers).
pub async fn with_access<F: std::future::Future>(access: Access, f: F) -> F::Output {
    ACCESS.scope(access, f).await
}

/// What a request does, for the permission check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Landing page, conformance, OpenAPI, docs, health, the web app, login.
    Public,
    /// Layers, tiles, statistics, coverage, gaps, isochrones (scoped).
    Read,
    /// Own account: `/api/me`, logout; own jobs (`/api/jobs`).
    Session,
    /// What-if coverage of moved / added / removed facilities (computes, writes nothing).
    WhatIf,
    /// Partition proposals, rebalancing, validation of drawn grids.
    Plan,
    /// Create / replace / update / delete grids, accept a partition.
    EditGrids,
    /// Create / replace / update / delete facilities.
    EditFacilities,
    /// Events (`/api/events`, Open311 requests): any login; what each role sees and may move
    /// is decided per event by `routes::events` (grid leads their grids, departments their queue).
    Events,
    /// Correcting a building's counts (`PATCH /api/buildings/{id}/counts`): grid leads within
    /// their grids (the scoped view), planners within their communities, admins.
    Correct,
    /// Users and the audit log.
    Admin,
}

impl Action {
    pub const ALL: [Action; 10] = [
        Action::Public,
        Action::Read,
        Action::Session,
        Action::WhatIf,
        Action::Plan,
        Action::EditGrids,
        Action::EditFacilities,
        Action::Events,
        Action::Correct,
        Action::Admin,
    ];

    fn describe(self) -> &'static str {
        match self {
            Action::Public => "this page",
            Action::Read => "reading the data",
            Action::Session => "this account operation",
            Action::WhatIf => "a what-if analysis",
            Action::Plan => "partitioning, rebalancing or validating grids",
            Action::EditGrids => "editing grids",
            Action::EditFacilities => "editing facilities",
            Action::Events => "reading or acting on events",
            Action::Correct => "correcting a building's counts",
            Action::Admin => "managing users and reading the audit log",
        }
    }

    /// The roles this action is open to (for the OpenAPI document).
    pub fn roles(self) -> &'static [&'static str] {
        match self {
            Action::Public | Action::Read | Action::Session | Action::Events => {
                &["admin", "planner", "department", "grid_lead"]
            }
            Action::WhatIf | Action::EditFacilities => &["admin", "planner", "department"],
            Action::Plan | Action::EditGrids => &["admin", "planner"],
            Action::Correct => &["admin", "planner", "grid_lead"],
            Action::Admin => &["admin"],
        }
    }
}

/// Classifies a routed request. `route` is the matched route pattern (`/collections/grids/items/{featureId}`).
pub fn action(method: &Method, route: &str) -> Action {
    let read = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    match route {
        "/" | "/conformance" | "/health" | "/openapi.json" | "/docs" | "/api" | "/api/login" => {
            Action::Public
        }
        r if r.starts_with("/assets/")
            || r.starts_with("/fonts/")
            || r == "/index.html"
            || r == "/favicon.ico"
            || r == "/app" =>
        {
            if read {
                Action::Public
            } else {
                Action::Admin
            }
        }
        "/api/me" | "/api/logout" => Action::Session,
        // The service list is public (Open311 discovery); requests and events need a login and
        // are scoped per event by the handlers.
        // Any other method on them is the router's 405, not a 401.
        "/open311/v2/services.json" | "/open311/v2/services/{file}" => Action::Public,
        "/api/events"
        | "/api/events/{eventId}"
        | "/api/events/{eventId}/transitions"
        | "/open311/v2/requests.json"
        | "/open311/v2/requests/{file}" => Action::Events,
        r if r.starts_with("/api/users") || r.starts_with("/api/audit") => Action::Admin,
        // Jobs have an owner: any logged-in caller; starting one also needs the permission of
        // its process (`jobs::Process::action`), checked by the handler.
        "/api/jobs" | "/api/jobs/{jobId}" | "/api/jobs/{jobId}/results" | "/api/siting" => {
            Action::Session
        }
        _ if read => Action::Read,
        "/api/whatif" => Action::WhatIf,
        "/api/partition" | "/api/rebalance" | "/api/validate" => Action::Plan,
        "/api/buildings/{buildingId}/counts" => Action::Correct,
        r if r.starts_with("/api/partition/") && r.ends_with("/accept") => Action::EditGrids,
        r if r.starts_with("/collections/grids/items") => Action::EditGrids,
        r if r.starts_with("/collections/facilities/items") => Action::EditFacilities,
        // Part 4 on the other collections: no such operation (405), but never below a planner.
        r if r.starts_with("/collections/{collectionId}/items") => Action::EditGrids,
        // Closed until classified.
        _ => Action::Admin,
    }
}

/// Cached identities: token hash → user (or none), with the time of the lookup.
pub type IdentityCache =
    quick_cache::sync::Cache<(TokenKind, String), (Instant, Option<Arc<User>>)>;

/// The credential a request carries: a Bearer token wins over the session cookie.
pub fn credential(headers: &HeaderMap) -> Option<(TokenKind, String)> {
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let v = v.trim();
        if v.len() > 7 && v[..7].eq_ignore_ascii_case("bearer ") {
            return Some((TokenKind::Api, v[7..].trim().to_owned()));
        }
    }
    session_cookie(headers).map(|t| (TokenKind::Session, t))
}

/// Open311's `api_key` query parameter (GeoReport v2 clients send the key that way).
pub fn api_key_param(uri: &axum::http::Uri) -> Option<(TokenKind, String)> {
    if !uri.path().starts_with("/open311/") {
        return None;
    }
    let q = uri.query()?;
    serde_urlencoded::from_str::<Vec<(String, String)>>(q)
        .ok()?
        .into_iter()
        .find(|(k, v)| k == "api_key" && !v.is_empty())
        .map(|(_, v)| (TokenKind::Api, v))
}

/// The value of the session cookie, if sent.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// The user behind a credential (cached for [`IDENTITY_TTL`]); `None` for an unknown, expired
/// or disabled one.
pub async fn identify(
    st: &AppState,
    kind: TokenKind,
    token: &str,
) -> Result<Option<Arc<User>>, ApiError> {
    let key = (kind, gridmap_store::hash_token(token));
    if let Some((at, u)) = st.identities.get(&key) {
        if at.elapsed() < IDENTITY_TTL {
            return Ok(u);
        }
    }
    let u = match kind {
        TokenKind::Session => st.store.session_user(&key.1).await?,
        TokenKind::Api => st.store.api_token_user(&key.1).await?,
    };
    let u = u.filter(|u| !u.disabled).map(Arc::new);
    st.identities.insert(key, (Instant::now(), u.clone()));
    Ok(u)
}

/// Forgets a cached credential (logout).
pub fn forget(st: &AppState, kind: TokenKind, token: &str) {
    st.identities
        .remove(&(kind, gridmap_store::hash_token(token)));
}

/// The middleware on every routed request: identify, classify, permit, then run the handler
/// with the caller's [`Access`] in scope.
pub async fn authorize(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| req.uri().path(), |m| m.as_str());
    let (method, headers) = (req.method(), req.headers());
    let ask = Ask {
        action: action(method, route),
        credential: credential(headers).or_else(|| api_key_param(req.uri())),
        write: !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS),
        origin: check_origin(headers),
    };
    match decide(&st, ask).await {
        Ok(access) => ACCESS.scope(access, next.run(req)).await,
        Err(e) => e.into_response(),
    }
}

/// What the permission decision needs from a request, read before any await (a `Request` is
/// not `Sync`, and cloning its headers on every tile request would be waste).
struct Ask {
    action: Action,
    credential: Option<(TokenKind, String)>,
    /// A state-changing request (checked for its origin when its cookie authenticates it).
    write: bool,
    /// `check_origin` of its headers.
    origin: Result<(), ApiError>,
}

async fn decide(st: &AppState, ask: Ask) -> Result<Access, ApiError> {
    let act = ask.action;
    // The credential that authenticates decides the CSRF check: only a Bearer token skips it;
    // any other `Authorization` header (Basic, …) leaves the cookie checked.
    let by_cookie = matches!(ask.credential, Some((TokenKind::Session, _)));
    let principal = match ask.credential {
        None => Principal::Anonymous,
        Some((kind, token)) => match identify(st, kind, &token).await? {
            Some(u) => Principal::User(u),
            // A stale cookie on a public page is not an error (the login page must still load).
            None if act == Action::Public => Principal::Anonymous,
            None if kind == TokenKind::Session => {
                return Err(ApiError::Unauthorized(
                    "the login session has expired or was ended; log in again".into(),
                ))
            }
            None => {
                return Err(ApiError::Unauthorized(
                    "the API token is not valid (unknown, revoked or its user is disabled)".into(),
                ))
            }
        },
    };
    // Cookies ride along on cross-site requests: a state-changing request authenticated by the
    // cookie must come from this site (SameSite=Strict already stops modern browsers).
    if matches!(principal, Principal::User(_)) && by_cookie && ask.write {
        ask.origin?;
    }
    let access = Access::of(principal);
    access.permits(act, st.config.anonymous)?;
    Ok(access)
}

/// Refuses a cookie-authenticated write whose `Origin` names another host than `Host`, or
/// that the browser marks `Sec-Fetch-Site: cross-site`.
fn check_origin(h: &HeaderMap) -> Result<(), ApiError> {
    if h.get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("cross-site"))
    {
        return Err(ApiError::Forbidden("cross-site request (Sec-Fetch-Site: cross-site) refused (use an API token for scripts)".into()));
    }
    let Some(origin) = h.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let host = h
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin_host = origin
        .split_once("://")
        .map_or(origin, |(_, r)| r)
        .trim_end_matches('/');
    if origin_host.eq_ignore_ascii_case(host) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "cross-site request from origin '{origin}' refused (use an API token for scripts)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn user(role: Role) -> Access {
        Access::of(Principal::User(Arc::new(User::new("u", role))))
    }

    #[test]
    fn writes_are_closed_until_classified() {
        assert_eq!(action(&Method::POST, "/api/something-new"), Action::Admin);
        assert_eq!(action(&Method::DELETE, "/assets/app.js"), Action::Admin);
        assert_eq!(action(&Method::GET, "/api/something-new"), Action::Read);
        assert_eq!(
            action(&Method::PATCH, "/collections/grids/items/{featureId}"),
            Action::EditGrids
        );
        assert_eq!(
            action(&Method::POST, "/collections/facilities/items"),
            Action::EditFacilities
        );
        assert_eq!(action(&Method::GET, "/api/users"), Action::Admin);
    }

    #[test]
    fn roles_permit_what_the_issue_says() {
        let anon = Access::of(Principal::Anonymous);
        assert!(anon.permits(Action::Read, Anonymous::Read).is_ok());
        assert_eq!(
            anon.permits(Action::Read, Anonymous::None)
                .unwrap_err()
                .status(),
            401
        );
        assert_eq!(
            anon.permits(Action::WhatIf, Anonymous::Read)
                .unwrap_err()
                .status(),
            401
        );
        assert_eq!(
            user(Role::Department)
                .permits(Action::EditGrids, Anonymous::None)
                .unwrap_err()
                .status(),
            403
        );
        assert!(user(Role::Department)
            .permits(Action::WhatIf, Anonymous::None)
            .is_ok());
        assert_eq!(
            user(Role::GridLead)
                .permits(Action::WhatIf, Anonymous::None)
                .unwrap_err()
                .status(),
            403
        );
        assert!(user(Role::Planner)
            .permits(Action::EditGrids, Anonymous::None)
            .is_ok());
        assert_eq!(
            user(Role::Planner)
                .permits(Action::Admin, Anonymous::None)
                .unwrap_err()
                .status(),
            403
        );
        assert!(user(Role::Admin)
            .permits(Action::Admin, Anonymous::None)
            .is_ok());
        for a in Action::ALL {
            let roles = a.roles();
            for r in Role::ALL {
                assert_eq!(
                    user(r).permits(a, Anonymous::None).is_ok(),
                    roles.contains(&r.as_str()),
                    "{a:?} {r}"
                );
            }
        }
    }

    #[test]
    fn community_planners_edit_only_their_communities() {
        let mut u = User::new("p", Role::Planner);
        u.communities = vec![CommunityId::new("c1")];
        let a = Access::of(Principal::User(Arc::new(u)));
        assert!(a.check_community(Some(&CommunityId::new("c1"))).is_ok());
        assert_eq!(
            a.check_community(Some(&CommunityId::new("c2")))
                .unwrap_err()
                .status(),
            403
        );
        assert_eq!(a.check_community(None).unwrap_err().status(), 403);
        assert!(user(Role::Planner).check_community(None).is_ok());
    }

    #[test]
    fn grid_leads_get_a_grid_scope_and_others_everything() {
        let mut u = User::new("l", Role::GridLead);
        u.grids = vec![
            gridmap_model::GridId::new("g2"),
            gridmap_model::GridId::new("g1"),
        ];
        let a = Access::of(Principal::User(Arc::new(u)));
        match &a.scope {
            Scope::Grids { grids, key } => {
                assert_eq!(
                    grids.iter().map(String::as_str).collect::<Vec<_>>(),
                    ["g1", "g2"]
                );
                assert!(key.starts_with("grids:"));
            }
            Scope::All => panic!("a grid lead must be scoped"),
        }
        assert!(user(Role::Department).scope.is_all());
    }

    #[test]
    fn bearer_wins_over_the_cookie_and_cross_site_writes_are_refused() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; gridmap_session=gs_abc; b=2"),
        );
        assert_eq!(credential(&h), Some((TokenKind::Session, "gs_abc".into())));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer gm_xyz"),
        );
        assert_eq!(credential(&h), Some((TokenKind::Api, "gm_xyz".into())));
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8080"),
        );
        assert!(check_origin(&h).is_ok());
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert_eq!(check_origin(&h).unwrap_err().status(), 403);
    }
}
