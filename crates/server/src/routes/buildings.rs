//! A building's counts and their corrections by the people who know it: a grid lead corrects
//! the households and the residents aged 65+ of a building in their grids, a planner of any
//! building in their communities, an admin of any. A correction goes through the one edit path
//! (`edit::commit`: the store's version check, the change-log row and the audit entry in one
//! transaction), needs `If-Match` with the building's ETag (428 without it, 412 when stale,
//! and then nothing changes), marks the household count `edited`, and every analysis after it
//! (grid statistics, coverage, siting, tiles) counts the corrected figures. The corrections of
//! a building are its audit entries, newest first, with who, when, before and after.
//!
//! A building outside the caller's scope answers 404, as if it did not exist.
use super::{json_value, require_json, QueryPairs};
use crate::auth;
use crate::backend::Edit;
use crate::edit::{self, Audit};
use crate::error::{ApiError, Problem};
use crate::etag::{etag, IfMatch};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;
use gridmap_model::{Building, BuildingId, HouseholdSource, MAX_COUNT_PER_BUILDING};
use serde_json::{json, Map, Value};
use utoipa_axum::{router::OpenApiRouter, routes};

const TAG: &str = "Buildings";

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(counts, correct))
        .routes(routes!(corrections))
}

/// The building `id` of the caller's scoped view (404 outside it) and the grid it is in.
async fn visible(st: &AppState, id: &str) -> Result<(Building, Option<String>), ApiError> {
    let snap = st.snapshot().await?;
    let nf = || ApiError::NotFound {
        what: "building".into(),
        id: id.to_owned(),
    };
    let pos = snap
        .layer(crate::snapshot::Collection::Buildings)
        .position(id)
        .ok_or_else(nf)?;
    let b = snap.building(id).ok_or_else(nf)?.clone();
    let grid = snap.grid_of(pos as usize).map(str::to_owned);
    Ok((b, grid))
}

/// The counts record of a building (also the audit entry's before/after).
fn record(b: &Building, grid: Option<&str>, version: i64) -> Value {
    json!({
        "building": b.id.as_str(),
        "grid": grid,
        "community": b.community.as_ref().map(gridmap_model::CommunityId::as_str),
        "households": b.households,
        "households_source": b.households_source.as_str(),
        "elderly": b.elderly,
        "version": version,
    })
}

fn with_etag(v: &Value, version: i64) -> Response {
    let mut r = json_value("application/json", v);
    if let Ok(h) = HeaderValue::from_str(&etag(version)) {
        r.headers_mut().insert(header::ETAG, h);
    }
    r
}

async fn stored_version(st: &AppState, id: &str) -> Result<i64, ApiError> {
    st.store
        .building_version(&BuildingId::new(id))
        .await?
        .ok_or_else(|| ApiError::NotFound {
            what: "building".into(),
            id: id.to_owned(),
        })
}

/// A building's household and elderly counts, where they came from, its grid, and its `ETag`
/// (the version a correction must name in `If-Match`).
#[utoipa::path(get, path = "/api/buildings/{buildingId}/counts", tag = TAG, operation_id = "buildingCounts",
    params(("buildingId" = String, Path, description = "Building id")),
    responses(
        (status = 200, description = "building, grid, community, households, households_source (estimated, imported, edited), elderly (null: unknown), version; ETag header", content_type = "application/json"),
        (status = 400, description = "A query parameter (this operation takes none)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such building in the caller's scope", body = Problem, content_type = "application/problem+json"),
    ))]
async fn counts(
    State(st): State<AppState>,
    Path(id): Path<String>,
    QueryPairs(q): QueryPairs,
) -> Result<Response, ApiError> {
    if let Some((k, _)) = q.first() {
        return Err(ApiError::UnknownParameter {
            name: k.clone(),
            allowed: "(none)".into(),
        });
    }
    let (b, grid) = visible(&st, &id).await?;
    let version = stored_version(&st, &id).await?;
    Ok(with_etag(&record(&b, grid.as_deref(), version), version))
}

/// What a correction sets: absent members stay as they are.
#[derive(Debug, PartialEq)]
struct Correction {
    households: Option<u32>,
    /// `Some(None)`: the count becomes unknown (JSON merge patch: absent, null, a value).
    #[allow(clippy::option_option)]
    elderly: Option<Option<u32>>,
}

fn count(v: &Value, field: &str) -> Result<u32, ApiError> {
    let bad = |why: String| ApiError::InvalidBody(format!("{field}: {why}"));
    let n = v
        .as_u64()
        .ok_or_else(|| bad(format!("{v} is not a whole number >= 0")))?;
    if n > u64::from(MAX_COUNT_PER_BUILDING) {
        return Err(bad(format!(
            "{n} is more than {MAX_COUNT_PER_BUILDING}, the most one building may hold"
        )));
    }
    u32::try_from(n).map_err(|_| bad(format!("{n} is too large")))
}

/// Reads a correction body: a JSON object with `households` and/or `elderly` (null clears it).
fn correction(body: &[u8]) -> Result<Correction, ApiError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::InvalidBody(format!("not JSON: {e}")))?;
    let Value::Object(o) = v else {
        return Err(ApiError::InvalidBody(
            "expected an object such as {\"households\": 120, \"elderly\": 35}".into(),
        ));
    };
    let mut c = Correction {
        households: None,
        elderly: None,
    };
    for (k, v) in &o {
        match k.as_str() {
            "households" => c.households = Some(count(v, "households")?),
            "elderly" if v.is_null() => c.elderly = Some(None),
            "elderly" => c.elderly = Some(Some(count(v, "elderly")?)),
            "reason" if v.is_string() || v.is_null() => {}
            "reason" => return Err(ApiError::InvalidBody("reason: expected a string".into())),
            other => {
                return Err(ApiError::InvalidBody(format!(
                    "unknown member '{other}': a correction sets households, elderly (and may give a reason)"
                )))
            }
        }
    }
    if c.households.is_none() && c.elderly.is_none() {
        return Err(ApiError::InvalidBody(
            "nothing to correct: give households and/or elderly".into(),
        ));
    }
    Ok(c)
}

fn reason(body: &[u8]) -> Option<String> {
    let v: Map<String, Value> = serde_json::from_slice(body).ok()?;
    v.get("reason")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.chars().take(500).collect())
}

/// Corrects a building's households and/or residents aged 65+ (`elderly`, null: unknown).
/// `If-Match` with the ETag of `GET …/counts` is required. A changed household count becomes
/// `edited`. Grid leads correct buildings of their grids, planners of their communities.
#[utoipa::path(patch, path = "/api/buildings/{buildingId}/counts", tag = TAG, operation_id = "correctBuildingCounts",
    params(
        ("buildingId" = String, Path, description = "Building id"),
        ("If-Match" = String, Header, description = "The building's ETag from GET /api/buildings/{buildingId}/counts"),
    ),
    request_body(content = Value, content_type = "application/json",
        description = "{\"households\": 0..=20000, \"elderly\": 0..=20000 or null, \"reason\": \"…\"}: at least one of households, elderly"),
    responses(
        (status = 200, description = "The counts after the correction; ETag header", content_type = "application/json"),
        (status = 400, description = "Malformed body (names the member)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role may not correct counts, or the building is outside a planner's communities", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such building in the caller's scope", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Stale If-Match: nothing changed", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
    ))]
async fn correct(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    require_json(&headers)?;
    let limit = st.config.body_limit_bytes;
    let bytes = body.map_err(|e| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge { limit }
        } else {
            ApiError::InvalidBody(e.body_text())
        }
    })?;
    // The body is checked before the precondition: a malformed correction is a 400 whatever
    // its ETag.
    let c = correction(&bytes)?;
    let (before, grid) = visible(&st, &id).await?;
    auth::current().check_community(before.community.as_ref())?;
    let current = stored_version(&st, &id).await?;
    let m = IfMatch::from_headers(&headers)?.ok_or(ApiError::PreconditionRequired)?;
    let expected = m.check("building", &id, current)?;
    let mut after = before.clone();
    if let Some(h) = c.households {
        after.households = h;
        if h != before.households {
            after.households_source = HouseholdSource::Edited;
        }
    }
    if let Some(e) = c.elderly {
        after.elderly = e;
    }
    let mut after_record = record(&after, grid.as_deref(), expected + 1);
    if let Some(r) = reason(&bytes) {
        after_record["reason"] = r.into();
    }
    let audit = Audit {
        action: "building.correct",
        target: format!("building:{id}"),
        before: Some(record(&before, grid.as_deref(), expected)),
        after: Some(after_record),
    };
    let applied = edit::commit(
        &st,
        Edit::UpdateBuilding {
            building: after,
            expected: Some(expected),
        },
        audit,
    )
    .await?;
    let (stored, version) = applied.building.ok_or_else(|| {
        ApiError::Internal("the store did not report the corrected building".into())
    })?;
    tracing::info!(building = %id, version, "counts corrected");
    Ok(with_etag(
        &record(&stored, grid.as_deref(), version),
        version,
    ))
}

/// The corrections of a building, newest first: who, when, the counts before and after.
#[utoipa::path(get, path = "/api/buildings/{buildingId}/corrections", tag = TAG, operation_id = "buildingCorrections",
    params(("buildingId" = String, Path, description = "Building id"),
           ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "At most this many entries (default 100)"),
           ("offset" = Option<u32>, Query, description = "Skip this many entries")),
    responses(
        (status = 200, description = "{building, entries: [{id, at, user, action, target, before, after}]}", content_type = "application/json"),
        (status = 400, description = "Invalid parameter", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such building in the caller's scope", body = Problem, content_type = "application/problem+json"),
    ))]
async fn corrections(
    State(st): State<AppState>,
    Path(id): Path<String>,
    QueryPairs(q): QueryPairs,
) -> Result<Response, ApiError> {
    let mut a = super::account::audit_query(&q)?;
    if a.user.is_some() || a.target_prefix.is_some() || a.since.is_some() {
        return Err(ApiError::UnknownParameter {
            name: "user/target/since".into(),
            allowed: "limit, offset".into(),
        });
    }
    visible(&st, &id).await?;
    a.target_exact = Some(format!("building:{id}"));
    let entries = st.store.audit(&a).await?;
    Ok(json_value(
        "application/json",
        &json!({"building": id, "entries": entries}),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_correction_names_what_is_wrong() {
        let ok = correction(br#"{"households": 120, "elderly": null}"#).unwrap();
        assert_eq!(
            ok,
            Correction {
                households: Some(120),
                elderly: Some(None)
            }
        );
        for (body, says) in [
            (r#"{"households": -3}"#, "households"),
            (r#"{"households": 1.5}"#, "households"),
            (r#"{"households": "12"}"#, "households"),
            (r#"{"elderly": 20001}"#, "20000"),
            (r#"{"steward": "x"}"#, "unknown member 'steward'"),
            (r"{}", "nothing to correct"),
            (r#"{"reason": 3, "households": 1}"#, "reason"),
            ("[1]", "expected an object"),
            ("{", "not JSON"),
        ] {
            let e = correction(body.as_bytes()).unwrap_err().to_string();
            assert!(e.contains(says), "{body}: {e}");
        }
    }
}
