//! Accounts over HTTP: login (session cookie), logout, `/api/me`; for admins the users and the
//! audit log; for everyone who may see a grid, its change history (what the web undo replays).
//! Who may call what is decided in [`crate::auth`], not here.
use super::{json_value, QueryPairs};
use crate::auth::{self, SESSION_COOKIE};
use crate::error::{ApiError, Problem};
use crate::snapshot::Collection;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gridmap_model::{AuditEntry, CommunityId, GridId, Role, User, UserId};
use gridmap_store::{AuditQuery, TokenKind};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa_axum::{router::OpenApiRouter, routes};

const TAG: &str = "Accounts";

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(list_users, add_user))
        .routes(routes!(update_user, remove_user))
        .routes(routes!(audit_log))
        .routes(routes!(grid_history))
}

/// Body of `POST /api/login`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Login name.
    #[schema(min_length = 1, max_length = 64)]
    pub user: String,
    #[schema(min_length = 1, max_length = 1024)]
    pub password: String,
}

/// The logged-in account and what it may do.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Me {
    pub user: String,
    pub display_name: Option<String>,
    /// admin, planner, department or grid_lead.
    pub role: String,
    /// A grid lead's grids.
    pub grids: Vec<String>,
    /// A community planner's communities (empty: all).
    pub communities: Vec<String>,
    /// Actions allowed: read, what_if, plan, edit_grids, edit_facilities, admin.
    pub permissions: Vec<String>,
}

fn me_of(u: &User) -> Me {
    let access = auth::Access::of(auth::Principal::User(std::sync::Arc::new(u.clone())));
    let names = [
        (auth::Action::Read, "read"),
        (auth::Action::WhatIf, "what_if"),
        (auth::Action::Plan, "plan"),
        (auth::Action::EditGrids, "edit_grids"),
        (auth::Action::EditFacilities, "edit_facilities"),
        (auth::Action::Admin, "admin"),
    ];
    Me {
        user: u.id.to_string(),
        display_name: u.display_name.clone(),
        role: u.role.as_str().to_owned(),
        grids: u.grids.iter().map(ToString::to_string).collect(),
        communities: u.communities.iter().map(ToString::to_string).collect(),
        permissions: names
            .iter()
            .filter(|(a, _)| access.permits(*a, auth::Anonymous::None).is_ok())
            .map(|(_, n)| (*n).to_owned())
            .collect(),
    }
}

fn json_body<T: serde::de::DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::InvalidBody(e.to_string()))
}

/// A hash no password matches, verified when the user is unknown so that a wrong name and a
/// wrong password take the same time.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0mK6xVwZ1VmFyp7qkbPpHkA5wYxZNHfGmPVSDcRxY2s";

/// Logs in with a name and password: sets the session cookie (HttpOnly, SameSite=Strict) and
/// answers the account. Wrong name or password: 401, with the same message for both.
#[utoipa::path(post, path = "/api/login", tag = TAG, operation_id = "login", request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in; the session cookie is set", body = Me, content_type = "application/json",
            headers(("Set-Cookie" = String, description = "gridmap_session=…; HttpOnly; SameSite=Strict; Path=/"))),
        (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Wrong user name or password", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared application/json", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed logins for this user name or client address: wait Retry-After seconds", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
async fn login(
    State(st): State<AppState>,
    peer: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    super::require_json(&headers)?;
    let req: LoginRequest = json_body(&body)?;
    if req.user.is_empty()
        || req.user.len() > 64
        || req.password.is_empty()
        || req.password.len() > 1024
    {
        return Err(ApiError::InvalidBody(
            "user (1-64 characters) and password (1-1024 characters) are required".into(),
        ));
    }
    // The same check for known and unknown names, before the store is asked.
    let keys = throttle::keys(&st, &req.user, peer.map(|p| p.0 .0.ip()));
    if let Some(wait) = throttle::blocked(&keys) {
        record(
            &st,
            None,
            "login.throttled",
            &format!("user:{}", req.user),
            None,
            None,
        )
        .await;
        return Err(ApiError::TooManyRequests { retry_after: wait });
    }
    let found = st.store.user(&UserId::from(req.user.as_str())).await?;
    let (user, hash) = match found {
        Some((u, Some(h))) if !u.disabled => (Some(u), h),
        _ => (None, DUMMY_HASH.to_owned()),
    };
    let password = req.password;
    let ok = tokio::task::spawn_blocking(move || gridmap_store::verify_password(&password, &hash))
        .await
        .map_err(|e| ApiError::Internal(format!("password check failed: {e}")))?;
    let Some(user) = user.filter(|_| ok) else {
        throttle::failed(&st, &keys);
        tracing::warn!(user = %req.user, "failed login");
        return Err(ApiError::Unauthorized("wrong user name or password".into()));
    };
    throttle::succeeded(&keys);
    let token = gridmap_store::new_token("gs_")?;
    let ttl = st.config.session_ttl.as_secs();
    st.store
        .create_session(
            &gridmap_store::hash_token(&token),
            &user.id,
            gridmap_store::now_unix() + ttl as i64,
        )
        .await?;
    record(
        &st,
        Some(&user.id),
        "session.login",
        &format!("user:{}", user.id),
        None,
        None,
    )
    .await;
    let secure = st
        .config
        .public_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https:"))
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            == Some("https");
    let cookie = format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={ttl}{}",
        if secure { "; Secure" } else { "" }
    );
    let mut resp = json_value(
        "application/json",
        &serde_json::to_value(me_of(&user)).unwrap_or_default(),
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// Ends the login session of the cookie (API tokens are revoked with `gridmap user`).
#[utoipa::path(post, path = "/api/logout", tag = TAG, operation_id = "logout",
    responses(
        (status = 204, description = "Logged out; the cookie is cleared"),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
    ))]
async fn logout(State(st): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(token) = auth::session_cookie(&headers) {
        st.store
            .delete_session(&gridmap_store::hash_token(&token))
            .await?;
        auth::forget(&st, TokenKind::Session, &token);
    }
    let clear =
        HeaderValue::from_static("gridmap_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear)]).into_response())
}

/// The logged-in account (cookie or API token) and its permissions.
#[utoipa::path(get, path = "/api/me", tag = TAG, operation_id = "me",
    responses(
        (status = 200, description = "The account", body = Me, content_type = "application/json"),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
    ))]
async fn me(QueryPairs(q): QueryPairs) -> Result<Response, ApiError> {
    crate::query::only(&q, &[])?;
    let access = auth::current();
    let u = access
        .user()
        .ok_or_else(|| ApiError::Unauthorized("not logged in".into()))?;
    let mut resp = json_value(
        "application/json",
        &serde_json::to_value(me_of(u)).unwrap_or_default(),
    );
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// Appends an audit entry; a failure is logged, never shown to the caller (the change is made).
pub async fn record(
    st: &AppState,
    user: Option<&UserId>,
    action: &str,
    target: &str,
    before: Option<Value>,
    after: Option<Value>,
) {
    let e = AuditEntry {
        id: 0,
        at: String::new(),
        user: user.cloned(),
        action: action.into(),
        target: target.into(),
        before,
        after,
    };
    if let Err(err) = st.store.append_audit(&e).await {
        tracing::error!(error = %err, action, target, "could not write the audit log");
    }
}

/// The current caller's user id, for audit entries.
pub fn caller_id() -> Option<UserId> {
    auth::current().user().map(|u| u.id.clone())
}

/// Body of `POST /api/users` and `PATCH /api/users/{id}`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserInput {
    /// Login name (POST only): 1-64 letters, digits, `.`, `_`, `-`, `@`.
    #[schema(pattern = "^[A-Za-z0-9._@-]{1,64}$")]
    pub id: Option<String>,
    /// admin, planner, department or grid_lead (required on POST).
    pub role: Option<String>,
    /// New password (required on POST).
    #[schema(min_length = 8, max_length = 1024)]
    pub password: Option<String>,
    pub display_name: Option<String>,
    /// A grid lead's grids (must exist).
    pub grids: Option<Vec<String>>,
    /// A community planner's communities (must exist; empty = all).
    pub communities: Option<Vec<String>>,
    pub disabled: Option<bool>,
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
}

async fn apply_user(
    st: &AppState,
    u: &mut User,
    inp: &UserInput,
) -> Result<Option<String>, ApiError> {
    if let Some(r) = &inp.role {
        u.role = r
            .parse::<Role>()
            .map_err(|e| ApiError::InvalidBody(format!("role: {e}")))?;
    }
    if let Some(d) = &inp.display_name {
        u.display_name = Some(d.clone()).filter(|d| !d.trim().is_empty());
    }
    if let Some(g) = &inp.grids {
        for id in g {
            if st.store.grid(&GridId::new(id)).await?.is_none() {
                return Err(ApiError::Unprocessable(format!("grids: no grid '{id}'")));
            }
        }
        u.grids = g.iter().map(GridId::new).collect();
    }
    if let Some(c) = &inp.communities {
        for id in c {
            if st.store.community(&CommunityId::new(id)).await?.is_none() {
                return Err(ApiError::Unprocessable(format!(
                    "communities: no community '{id}'"
                )));
            }
        }
        u.communities = c.iter().map(CommunityId::new).collect();
    }
    if let Some(d) = inp.disabled {
        u.disabled = d;
    }
    match &inp.password {
        Some(p) if p.chars().count() < 8 => Err(ApiError::InvalidBody(
            "password: at least 8 characters".into(),
        )),
        Some(p) => {
            let p = p.clone();
            let h = tokio::task::spawn_blocking(move || gridmap_store::hash_password(&p))
                .await
                .map_err(|e| ApiError::Internal(format!("password hashing failed: {e}")))??;
            Ok(Some(h))
        }
        None => Ok(None),
    }
}

fn user_json(u: &User) -> Value {
    serde_json::to_value(u).unwrap_or(Value::Null)
}

/// All accounts (admins only).
#[utoipa::path(get, path = "/api/users", tag = TAG, operation_id = "listUsers",
    responses(
        (status = 200, description = "The accounts", content_type = "application/json"),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_users(
    State(st): State<AppState>,
    QueryPairs(q): QueryPairs,
) -> Result<Response, ApiError> {
    crate::query::only(&q, &[])?;
    let users = st.store.users().await?;
    Ok(json_value(
        "application/json",
        &json!({"users": users.iter().map(user_json).collect::<Vec<_>>()}),
    ))
}

/// Creates an account (admins only); audited.
#[utoipa::path(post, path = "/api/users", tag = TAG, operation_id = "addUser", request_body = UserInput,
    responses(
        (status = 201, description = "Created", content_type = "application/json"),
        (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown grid or community in the scope", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared application/json", body = Problem, content_type = "application/problem+json"),
    ))]
async fn add_user(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    super::require_json(&headers)?;
    let inp: UserInput = json_body(&body)?;
    let id = inp
        .id
        .clone()
        .ok_or_else(|| ApiError::InvalidBody("id is required".into()))?;
    if !valid_name(&id) {
        return Err(ApiError::InvalidBody(format!(
            "id: '{id}' is not a login name (1-64 letters, digits, '.', '_', '-', '@')"
        )));
    }
    let role = inp
        .role
        .as_deref()
        .ok_or_else(|| ApiError::InvalidBody("role is required".into()))?;
    let role = role
        .parse::<Role>()
        .map_err(|e| ApiError::InvalidBody(format!("role: {e}")))?;
    if inp.password.is_none() {
        return Err(ApiError::InvalidBody("password is required".into()));
    }
    if st.store.user(&UserId::from(id.as_str())).await?.is_some() {
        return Err(ApiError::Conflict(format!("user '{id}' already exists")));
    }
    let mut u = User::new(id.as_str(), role);
    let hash = apply_user(&st, &mut u, &inp).await?;
    st.store.put_user(&u, hash.as_deref()).await?;
    record(
        &st,
        caller_id().as_ref(),
        "user.add",
        &format!("user:{id}"),
        None,
        Some(user_json(&u)),
    )
    .await;
    Ok((
        StatusCode::CREATED,
        [(header::CONTENT_TYPE, "application/json")],
        user_json(&u).to_string(),
    )
        .into_response())
}

/// Changes an account's role, scope, password or disabled flag (admins only); audited. Its
/// cached logins are re-checked at once.
#[utoipa::path(patch, path = "/api/users/{userId}", tag = TAG, operation_id = "updateUser", request_body = UserInput,
    params(("userId" = String, Path, description = "Login name")),
    responses(
        (status = 200, description = "Updated", content_type = "application/json"),
        (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown grid or community in the scope", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared application/json", body = Problem, content_type = "application/problem+json"),
    ))]
async fn update_user(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    super::require_json(&headers)?;
    let inp: UserInput = json_body(&body)?;
    if inp.id.as_deref().is_some_and(|i| i != id) {
        return Err(ApiError::InvalidBody("id cannot be changed".into()));
    }
    let (before, _) = st
        .store
        .user(&UserId::from(id.as_str()))
        .await?
        .ok_or_else(|| ApiError::NotFound {
            what: "user".into(),
            id: id.clone(),
        })?;
    let mut u = before.clone();
    let hash = apply_user(&st, &mut u, &inp).await?;
    st.store.put_user(&u, hash.as_deref()).await?;
    st.identities.clear();
    let mut after = user_json(&u);
    if hash.is_some() {
        after["password_changed"] = Value::Bool(true);
    }
    record(
        &st,
        caller_id().as_ref(),
        "user.update",
        &format!("user:{id}"),
        Some(user_json(&before)),
        Some(after),
    )
    .await;
    Ok(json_value("application/json", &user_json(&u)))
}

/// Deletes an account with its sessions and tokens (admins only; not one's own); audited.
#[utoipa::path(delete, path = "/api/users/{userId}", tag = TAG, operation_id = "removeUser",
    params(("userId" = String, Path, description = "Login name")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Admins cannot delete themselves", body = Problem, content_type = "application/problem+json"),
    ))]
async fn remove_user(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let uid = UserId::from(id.as_str());
    if caller_id().as_ref() == Some(&uid) {
        return Err(ApiError::Conflict(
            "an admin cannot delete their own account".into(),
        ));
    }
    let (before, _) = st
        .store
        .user(&uid)
        .await?
        .ok_or_else(|| ApiError::NotFound {
            what: "user".into(),
            id: id.clone(),
        })?;
    st.store.delete_user(&uid).await?;
    st.identities.clear();
    record(
        &st,
        caller_id().as_ref(),
        "user.remove",
        &format!("user:{id}"),
        Some(user_json(&before)),
        None,
    )
    .await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(crate) fn audit_query(q: &[(String, String)]) -> Result<AuditQuery, ApiError> {
    let mut a = AuditQuery {
        limit: Some(100),
        ..AuditQuery::default()
    };
    for (k, v) in q {
        match k.as_str() {
            "user" => a.user = Some(UserId::from(v.as_str())),
            "target" => a.target_prefix = Some(v.clone()),
            "since" if crate::time::is_rfc3339_utc(v) => a.since = Some(v.clone()),
            "since" => return Err(crate::error::invalid(
                "since",
                "expected an RFC 3339 UTC time such as 2026-05-01T12:00:00Z (or a date 2026-05-01)",
            )),
            "limit" => {
                let n: usize = v
                    .parse()
                    .map_err(|_| crate::error::invalid("limit", "expected 1..=1000"))?;
                if !(1..=1000).contains(&n) {
                    return Err(crate::error::invalid("limit", "expected 1..=1000"));
                }
                a.limit = Some(n);
            }
            "offset" => {
                // Any whole number: one past the last entry is an empty page, however far.
                a.offset = match v.parse::<usize>() {
                    Ok(n) => n,
                    Err(_) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => usize::MAX,
                    Err(_) => {
                        return Err(crate::error::invalid("offset", "expected a whole number"))
                    }
                };
            }
            other => {
                return Err(ApiError::UnknownParameter {
                    name: other.to_owned(),
                    allowed: "user, target, since, limit, offset".into(),
                })
            }
        }
    }
    Ok(a)
}

/// The audit log, newest first (admins only): who changed what, when, before and after.
#[utoipa::path(get, path = "/api/audit", tag = TAG, operation_id = "auditLog",
    params(
        ("user" = Option<String>, Query, description = "Only entries by this user"),
        ("target" = Option<String>, Query, description = "Only targets starting with this, e.g. `grid:` or `user:alice`"),
        ("since" = Option<String>, Query, description = "Only entries at or after this RFC 3339 UTC time"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "Page size (default 100)"),
        ("offset" = Option<u32>, Query, description = "Entries to skip"),
    ),
    responses(
        (status = 200, description = "Entries", content_type = "application/json"),
        (status = 400, description = "Invalid parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not logged in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
    ))]
async fn audit_log(
    State(st): State<AppState>,
    QueryPairs(q): QueryPairs,
) -> Result<Response, ApiError> {
    let a = audit_query(&q)?;
    let entries = st.store.audit(&a).await?;
    Ok(json_value("application/json", &json!({"entries": entries})))
}

/// Changes of one grid, newest first: each with who, when, and the grid before and after (a
/// client undoes a change by writing `before` back with the grid's current ETag).
#[utoipa::path(get, path = "/api/grids/{gridId}/history", tag = TAG, operation_id = "gridHistory",
    params(("gridId" = String, Path, description = "Grid id"),
           ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "At most this many entries (default 100)")),
    responses(
        (status = 200, description = "Entries", content_type = "application/json"),
        (status = 400, description = "Invalid parameter", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such grid (or not in the caller's scope) and no history of it", body = Problem, content_type = "application/problem+json"),
    ))]
async fn grid_history(
    State(st): State<AppState>,
    Path(id): Path<String>,
    QueryPairs(q): QueryPairs,
) -> Result<Response, ApiError> {
    let mut a = audit_query(&q)?;
    if a.user.is_some() || a.target_prefix.is_some() || a.since.is_some() {
        return Err(ApiError::UnknownParameter {
            name: "user/target/since".into(),
            allowed: "limit, offset".into(),
        });
    }
    let snap = st.snapshot().await?;
    let visible = snap.layer(Collection::Grids).contains(&id);
    let target = format!("grid:{id}");
    a.target_prefix = Some(target.clone());
    let entries: Vec<AuditEntry> = st
        .store
        .audit(&a)
        .await?
        .into_iter()
        .filter(|e| e.target == target)
        .collect();
    // A deleted grid keeps its history for those who see everything.
    if !visible && (entries.is_empty() || !auth::current().scope.is_all()) {
        return Err(ApiError::NotFound {
            what: "grid".into(),
            id,
        });
    }
    Ok(json_value(
        "application/json",
        &json!({"grid": id, "entries": entries}),
    ))
}

/// Login brute-force limit: failures are counted per user name and per client (peer) address;
/// after [`FREE_FAILURES`] a key is locked for 2, 4, 8, … seconds (at most [`MAX_LOCK`]) and a
/// login for it answers 429 with `Retry-After` — for known and unknown names alike. A successful
/// login clears its user name's count. Kept in memory (at most [`MAX_KEYS`] keys): each replica
/// throttles on its own, and a restart forgets.
mod throttle {
    use crate::state::AppState;
    use std::collections::HashMap;
    use std::net::IpAddr;
    use std::sync::{Arc, Mutex, OnceLock};
    use std::time::{Duration, Instant};

    pub const FREE_FAILURES: u32 = 5;
    pub const MAX_LOCK: Duration = Duration::from_mins(15);
    pub const MAX_KEYS: usize = 10_000;

    struct Entry {
        /// Keeps the server's config allocation alive, so that its address (the key's first
        /// part) is never reused by another server of this process while the entry lives.
        _owner: std::sync::Weak<crate::ServerConfig>,
        failures: u32,
        until: Instant,
        last: Instant,
    }

    /// Keys: (server instance, "u:name" or "a:address"). The instance part keeps two servers
    /// of one process (tests) apart. TODO(lead): move this map into `AppState`.
    pub type Key = (usize, String);

    fn map() -> &'static Mutex<HashMap<Key, Entry>> {
        static MAP: OnceLock<Mutex<HashMap<Key, Entry>>> = OnceLock::new();
        MAP.get_or_init(|| Mutex::new(HashMap::new()))
    }

    pub fn keys(st: &AppState, user: &str, addr: Option<IpAddr>) -> Vec<Key> {
        let inst = Arc::as_ptr(&st.config) as usize;
        let mut k = vec![(inst, format!("u:{}", user.to_lowercase()))];
        if let Some(a) = addr {
            k.push((inst, format!("a:{a}")));
        }
        k
    }

    /// Seconds to wait if any key is locked.
    pub fn blocked(keys: &[Key]) -> Option<u64> {
        let m = map()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        keys.iter()
            .filter_map(|k| m.get(k))
            .filter(|e| e.until > now)
            .map(|e| (e.until - now).as_secs().max(1))
            .max()
    }

    pub fn failed(st: &AppState, keys: &[Key]) {
        let mut m = map()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        if m.len() + keys.len() > MAX_KEYS {
            // Drop what no longer locks anything, then (under a flood) the oldest half.
            m.retain(|_, e| e.until > now || now.duration_since(e.last) < MAX_LOCK);
            if m.len() + keys.len() > MAX_KEYS {
                let mut ages: Vec<Instant> = m.values().map(|e| e.last).collect();
                ages.sort_unstable();
                let cut = ages[ages.len() / 2];
                m.retain(|_, e| e.last > cut);
            }
        }
        for k in keys {
            let e = m.entry(k.clone()).or_insert_with(|| Entry {
                _owner: Arc::downgrade(&st.config),
                failures: 0,
                until: now,
                last: now,
            });
            // A key quiet for longer than the longest lock starts over.
            if now.duration_since(e.last) > MAX_LOCK && e.until <= now {
                e.failures = 0;
            }
            e.failures += 1;
            e.last = now;
            if e.failures >= FREE_FAILURES {
                let secs = 2u64
                    .checked_shl(e.failures - FREE_FAILURES)
                    .unwrap_or(u64::MAX)
                    .min(MAX_LOCK.as_secs());
                e.until = now + Duration::from_secs(secs);
            }
        }
    }

    pub fn succeeded(keys: &[Key]) {
        let mut m = map()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(k) = keys.first() {
            m.remove(k);
        }
    }
}
