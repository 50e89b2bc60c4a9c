//! Analysis endpoints under `/api/`: coverage, per-building minutes, gaps, isochrones, what-if,
//! partition proposals (review, then accept), rebalancing and validation of drawn grids.
//!
//! Every handler answers from a [`gridmap_service::Analysis`] built once per data generation
//! (the walking network and the snapped buildings are kept; per-kind results are cached by the
//! engine), so repeated questions and what-if drags cost milliseconds. Heavy work runs on the
//! blocking pool. Partition proposals are kept in memory until accepted or superseded; accepting
//! one whose data generation has moved on is refused (409), so a proposal never overwrites edits
//! made after it was computed.
use super::{json_value, QueryPairs};
use crate::error::{ApiError, Problem};
use crate::openapi::schemas::FeatureCollection;
use crate::query::only;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use gridmap_algo::coverage::{Change, GapOptions, WalkProfile};
use gridmap_algo::partition::{DrawnGrid, PartitionParams, PartitionResult};
use gridmap_model::{CommunityId, FacilityId};
use gridmap_service::{Analysis, CoverageQuery, ServiceError};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::Arc;
use utoipa_axum::{router::OpenApiRouter, routes};

const TAG: &str = "Analysis";
const GEOJSON: &str = "application/geo+json";

use crate::openapi::schemas::{
    AcceptResult, CoverageSummary, PartitionProposal, PartitionRequest, RebalanceRequest,
    RebalanceResult, ValidateRequest, ValidationReport, WhatIfRequest, WhatIfSummary,
};

/// A session's key: the data generation and the scope key.
type SessionKey = (u64, String);

/// The analysis session of the current data generation, and the pending partition proposals.
#[derive(Default)]
pub struct AnalysisCache {
    /// Sessions by (data generation, scope key): the whole dataset and a few grid leads' views.
    current: tokio::sync::Mutex<VecDeque<(SessionKey, Arc<Analysis>)>>,
    proposals: std::sync::Mutex<VecDeque<Proposal>>,
    next_id: std::sync::atomic::AtomicU64,
}

struct Proposal {
    id: String,
    generation: u64,
    community: Option<CommunityId>,
    result: Arc<PartitionResult>,
}

const MAX_PROPOSALS: usize = 8;

fn cache(st: &AppState) -> Result<&AnalysisCache, ApiError> {
    st.analysis
        .as_ref()
        .and_then(|a| a.downcast_ref::<AnalysisCache>())
        .ok_or_else(|| {
            ApiError::Internal("the analysis engine is not configured on this server".into())
        })
}

/// The analysis session for the current data. After a change it is derived from the caller's
/// previous session ([`Analysis::updated`]): the walking network and the building snaps are
/// kept, per-kind coverage is updated for the facilities that changed, grid statistics follow the
/// new grids — milliseconds, not a rebuild. Only the first session of a scope is built whole.
pub(crate) async fn session(st: &AppState) -> Result<(u64, Arc<Analysis>), ApiError> {
    let snap = st.snapshot().await?;
    let c = cache(st)?;
    let scope = st.scope_key();
    let key = (snap.generation, scope.clone());
    let mut cur = c.current.lock().await;
    if let Some((_, a)) = cur.iter().find(|(k, _)| *k == key) {
        return Ok((snap.generation, a.clone()));
    }
    // The newest older session of the same scope, to derive the new one from.
    let prev = cur
        .iter()
        .filter(|(k, _)| k.1 == scope && k.0 < snap.generation)
        .max_by_key(|(k, _)| k.0)
        .map(|(_, a)| a.clone());
    cur.retain(|(k, _)| k.1 != scope);
    let ds = snap.dataset.clone();
    let a = Arc::new(match prev {
        Some(p) => {
            blocking(move || Ok(p.updated(ds, &gridmap_service::AnalysisChanges::default())))
                .await?
        }
        None if scope.is_empty() => first_session(st, &snap).await?,
        None => blocking(move || Ok(Analysis::new(ds))).await?,
    });
    if cur.len() >= 8 {
        cur.pop_front();
    }
    cur.push_back((key, a.clone()));
    Ok((snap.generation, a))
}

/// The first whole-dataset session of this process: from the store's derived cache (walking
/// network, building snaps) when it matches the snapshot's layers, else built and kept there for
/// the next process. The layer versions are read after the snapshot: when the snapshot's head is
/// at or past the network's version, its ways are exactly that version (kept building snaps are
/// checked building by building).
async fn first_session(
    st: &AppState,
    snap: &crate::snapshot::Snapshot,
) -> Result<Analysis, ApiError> {
    use gridmap_model::Layer;
    use gridmap_service::{derived_versions, DerivedParts, NETWORK_CACHE_KEY, SITES_CACHE_KEY};
    let options = gridmap_algo::coverage::CoverageOptions::default();
    let versions = st.store.layer_versions().await?;
    let v = |l: Layer| versions.get(&l).copied().unwrap_or(0);
    let ds = snap.dataset.clone();
    if (snap.generation as i64) < v(Layer::Network) {
        return blocking(move || Ok(Analysis::new(ds))).await;
    }
    let (net_v, sites_v) = derived_versions(&versions, &options);
    let get = |key: &'static str, want: String| async move {
        match st.store.derived(key).await {
            Ok(Some((v, d))) if v == want => Some(d),
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(key, error = %e, "derived cache not readable");
                None
            }
        }
    };
    let parts = DerivedParts {
        network: get(NETWORK_CACHE_KEY, net_v.clone()).await,
        sites: get(SITES_CACHE_KEY, sites_v.clone()).await,
    };
    let (a, built) = blocking(move || Ok(Analysis::from_parts(ds, options, parts))).await?;
    for (key, version, data) in [
        (NETWORK_CACHE_KEY, net_v, built.network),
        (SITES_CACHE_KEY, sites_v, built.sites),
    ] {
        let Some(data) = data else { continue };
        if let Err(e) = st.store.put_derived(key, &version, &data).await {
            tracing::warn!(key, error = %e, "derived data not kept");
        }
    }
    Ok(a)
}

pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(format!("analysis task failed: {e}")))?
}

pub(crate) fn service(e: ServiceError) -> ApiError {
    match e {
        ServiceError::Invalid {
            name,
            value,
            reason,
        } => ApiError::InvalidParameter {
            name: name.into(),
            reason: format!("'{value}': {reason}"),
        },
        ServiceError::NotFound { what, id } => ApiError::NotFound {
            what: what.into(),
            id,
        },
        ServiceError::Algo(gridmap_algo::AlgoError::InvalidParameter {
            name,
            value,
            expected,
        }) => ApiError::InvalidParameter {
            name: name.into(),
            reason: format!("'{value}': expected {expected}"),
        },
        ServiceError::Algo(gridmap_algo::AlgoError::UnknownFacility(id)) => ApiError::NotFound {
            what: "facility".into(),
            id,
        },
        other => ApiError::Unprocessable(other.to_string()),
    }
}

/// Parsed common query parameters of the coverage family.
pub(crate) struct WalkQuery {
    pub(crate) kind: Option<String>,
    facility: Option<String>,
    pub(crate) minutes: Vec<f64>,
    pub(crate) profile: WalkProfile,
    bbox: Option<Vec<[f64; 4]>>,
}

/// Most thresholds or contour levels one request may ask for.
pub const MAX_LEVELS: usize = 12;
/// Walking profiles by name (`speed_kmh` overrides the speed, but the name must still be one of these).
pub const PROFILES: [&str; 5] = ["adult", "standard", "default", "elderly", "senior"];
/// Largest walking speed accepted, km/h.
pub const MAX_SPEED_KMH: f64 = 30.0;
/// Largest gap-clustering distance, metres (larger links make one gap of a whole city, slowly).
pub const MAX_CLUSTER_M: f64 = 1000.0;
/// Smallest gap-clustering distance, metres.
pub const MIN_CLUSTER_M: f64 = 10.0;
/// Largest threshold accepted, minutes (a day).
pub const MAX_MINUTES: f64 = 1440.0;

fn check_profile(p: Option<&str>) -> Result<(), ServiceError> {
    match p {
        Some(p) if !PROFILES.contains(&p) => Err(ServiceError::Invalid {
            name: "profile",
            value: p.to_owned(),
            reason: "expected adult or elderly (or standard, default, senior)".into(),
        }),
        _ => Ok(()),
    }
}

fn check_kind(k: &str) -> Result<(), ServiceError> {
    if !crate::openapi::nonblank(k) {
        return Err(ServiceError::Invalid {
            name: "kind",
            value: k.to_owned(),
            reason: "a facility kind must not be blank".into(),
        });
    }
    gridmap_service::facility_kind(k).map(|_| ())
}

/// `multi`: `minutes` may be a comma-separated list (else exactly one number).
pub(crate) fn parse_walk(
    q: &[(String, String)],
    allowed: &[&str],
    default_minutes: &[f64],
    multi: bool,
) -> Result<WalkQuery, ApiError> {
    only(q, allowed)?;
    let get = |k: &str| {
        q.iter()
            .rev()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    };
    let bad = |name: &str, reason: String| ApiError::InvalidParameter {
        name: name.into(),
        reason,
    };
    let minutes = match get("minutes") {
        None => default_minutes.to_vec(),
        Some(s) => s
            .split(',')
            .map(|x| {
                x.trim()
                    .parse::<f64>()
                    .map_err(|_| bad("minutes", format!("'{x}' is not a number of minutes")))
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    if minutes.len() > if multi { MAX_LEVELS } else { 1 } {
        let reason = if multi {
            format!("at most {MAX_LEVELS} thresholds")
        } else {
            "one number of minutes".into()
        };
        return Err(bad("minutes", reason));
    }
    gridmap_service::check_minutes(&minutes).map_err(service)?;
    let speed = match get("speed_kmh") {
        None => None,
        Some(s) => Some(
            s.trim()
                .parse::<f64>()
                .map_err(|_| bad("speed_kmh", format!("'{s}' is not a speed in km/h")))?,
        ),
    };
    if let Some(s) = speed {
        if !(s.is_finite() && s > 0.0 && s <= MAX_SPEED_KMH) {
            return Err(bad(
                "speed_kmh",
                format!("{s}: a walking speed must be between 0 and 30 km/h"),
            ));
        }
    }
    check_profile(get("profile")).map_err(service)?;
    let profile = gridmap_service::walk_profile(get("profile"), speed).map_err(service)?;
    let kind = get("kind").map(str::to_owned);
    if let Some(k) = &kind {
        check_kind(k).map_err(service)?;
    }
    // Like the OGC bbox: minx > maxx crosses the antimeridian, miny > maxy selects nothing.
    let bbox = get("bbox")
        .map(|s| crate::query::parse_bbox(s, &crate::crs::ApiCrs::DEFAULT))
        .transpose()?;
    Ok(WalkQuery {
        kind,
        facility: get("facility").map(str::to_owned),
        minutes,
        profile,
        bbox,
    })
}

pub(crate) fn need_kind(w: &WalkQuery) -> Result<String, ApiError> {
    w.kind.clone().ok_or_else(|| ApiError::InvalidParameter { name: "kind".into(), reason: "required: a facility kind (service_station, canteen, reading_room, outreach_point, other, …) or all".into() })
}

/// Adds `facility_profile` and `facility_label` (null unless a proxy profile assigned the
/// kinds) to an answer's JSON object, so the figures say what they counted.
pub(crate) fn label_answer(out: &mut serde_json::Value, c: &gridmap_model::KindCatalog) {
    if let Some(o) = out.as_object_mut() {
        o.insert("facility_profile".into(), c.profile.name.clone().into());
        o.insert(
            "facility_label".into(),
            c.label.clone().map_or(serde_json::Value::Null, Into::into),
        );
    }
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(coverage))
        .routes(routes!(coverage_buildings))
        .routes(routes!(access))
        .routes(routes!(gaps))
        .routes(routes!(isochrones))
        .routes(routes!(what_if))
        .routes(routes!(partition))
        .routes(routes!(accept_partition))
        .routes(routes!(rebalance))
        .routes(routes!(validate))
}

/// Covered households within N minutes' walk of a kind of facility: overall, per threshold,
/// per community and per grid, with elderly counts where known.
#[utoipa::path(get, path = "/api/coverage", tag = TAG, operation_id = "api_coverage",
    params(
        ("kind" = String, Query, description = "Facility kind (service_station, canteen, reading_room, outreach_point, other, a free-form kind) or `all`"),
        ("minutes" = Option<String>, Query, description = "Thresholds in minutes, comma-separated; the first is the headline (default 15)"),
        ("profile" = Option<String>, Query, description = "adult (4.5 km/h, default) or elderly (3.0 km/h)"),
        ("speed_kmh" = Option<f64>, Query, description = "Walking speed, overrides the profile"),
    ),
    responses(
        (status = 200, description = "Coverage summary", body = CoverageSummary, content_type = "application/json"),
        (status = 400, description = "Invalid or unknown parameter", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The data cannot answer the question", body = Problem, content_type = "application/problem+json"),
    ))]
async fn coverage(
    State(st): State<AppState>,
    QueryPairs(q): QueryPairs,
) -> Result<Response, ApiError> {
    let w = parse_walk(
        &q,
        &["kind", "minutes", "profile", "speed_kmh"],
        &[15.0],
        true,
    )?;
    let kind = need_kind(&w)?;
    let (_, a) = session(&st).await?;
    let query = CoverageQuery {
        kind,
        minutes: w.minutes,
        profile: w.profile,
    };
    let summary = blocking(move || a.coverage(&query).map_err(service)).await?;
    let mut out = serde_json::to_value(&summary).unwrap_or_default();
    label_answer(&mut out, &st.kind_catalog().await?);
    Ok(json_value("application/json", &out))
}

/// Buildings (optionally in a bbox) with their walking minutes to the nearest facility of a kind
/// (`minutes` null beyond the threshold or unreachable) and which facility that is.
#[utoipa::path(get, path = "/api/coverage/buildings", tag = TAG, operation_id = "api_coverage_buildings",
    params(
        ("kind" = String, Query, description = "Facility kind or `all`"),
        ("minutes" = Option<f64>, Query, description = "Largest minutes reported (default 30)"),
        ("profile" = Option<String>, Query, description = "adult or elderly"),
        ("speed_kmh" = Option<f64>, Query, description = "Walking speed, overrides the profile"),
        ("bbox" = Option<String>, Query, description = "minx,miny,maxx,maxy in WGS84 lon/lat"),
    ),
    responses(
        (status = 200, description = "Buildings with minutes", body = FeatureCollection, content_type = "application/geo+json"),
        (status = 400, description = "Invalid or unknown parameter", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The data cannot answer the question", body = Problem, content_type = "application/problem+json"),
    ))]
async fn coverage_buildings(
    State(st): State<AppState>,
    QueryPairs(q): QueryPairs,
) -> Result<Response, ApiError> {
    let w = parse_walk(
        &q,
        &["kind", "minutes", "profile", "speed_kmh", "bbox"],
        &[30.0],
        false,
    )?;
    let kind = need_kind(&w)?;
    let (_, a) = session(&st).await?;
    let body = blocking(move || {
        use geo::BoundingRect;
        let minutes = w.minutes.iter().copied().fold(0.0, f64::max);
        let times = a.building_times(&kind, minutes, w.profile).map_err(service)?;
        let ds = a.dataset();
        let mut features = Vec::new();
        for (b, t) in ds.buildings.iter().zip(&times) {
            if let Some(boxes) = &w.bbox {
                let Some(r) = b.footprint.bounding_rect() else { continue };
                if !boxes.iter().any(|bb| !(r.max().x < bb[0] || r.min().x > bb[2] || r.max().y < bb[1] || r.min().y > bb[3])) {
                    continue;
                }
            }
            let props = json!({
                "id": b.id, "households": b.households, "elderly": b.elderly,
                "minutes": t.minutes.map(|m| (m * 100.0).round() / 100.0),
                "facility_id": t.facility_id, "unreachable": t.unplaced,
            });
            features.push(json!({"type": "Feature", "id": b.id, "geometry": geojson::Geometry::from(&b.footprint), "properties": props}));
        }
        let n = features.len();
        Ok(json!({"type": "FeatureCollection", "features": features, "numberReturned": n,
                  "kind": kind, "speed_kmh": w.profile.speed_kmh, "attribution": gridmap_model::OSM_ATTRIBUTION}))
    })
    .await?;
    Ok(json_value(GEOJSON, &body))
}

/// Accessibility scores that count capacity (2SFCA / E2SFCA): per building, and household-weighted
/// per grid and community, the supply of a kind's sites within the walking limit per 1 000
/// households (supply = each site's `capacity`, else 1 per site). `f=geojson`: the buildings as
/// points with `score`.
#[utoipa::path(get, path = "/api/access", tag = TAG, operation_id = "api_access",
    params(
        ("kind" = String, Query, description = "Facility kind or `all`"),
        ("minutes" = Option<f64>, Query, description = "Catchment in walking minutes (default 15)"),
        ("profile" = Option<String>, Query, description = "adult or elderly"),
        ("speed_kmh" = Option<f64>, Query, description = "Walking speed, overrides the profile"),
        ("decay" = Option<String>, Query, description = "uniform (2SFCA), e2sfca (default: bands 1 / 0.68 / 0.22), gaussian, linear"),
        ("demand" = Option<String>, Query, description = "households (default) or elderly"),
        ("f" = Option<String>, Query, description = "json (default: the summary with every building) or geojson (buildings as points)"),
    ),
    responses(
        (status = 200, description = "Access summary (JSON) or buildings with scores (`f=geojson`: GeoJSON)", content(
            (serde_json::Value = "application/json"), (FeatureCollection = "application/geo+json"))),
        (status = 400, description = "Invalid or unknown parameter", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The data cannot answer the question", body = Problem, content_type = "application/problem+json"),
    ))]
async fn access(
    State(st): State<AppState>,
    QueryPairs(q): QueryPairs,
) -> Result<Response, ApiError> {
    use gridmap_algo::siting::{access::Decay, DemandWeight};
    let pick = |name: &str| q.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let walk: Vec<(String, String)> = q
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "decay" | "demand" | "f"))
        .cloned()
        .collect();
    for (k, _) in &q {
        if !matches!(
            k.as_str(),
            "kind" | "minutes" | "profile" | "speed_kmh" | "decay" | "demand" | "f"
        ) {
            return Err(ApiError::InvalidParameter {
                name: k.clone(),
                reason: "unknown parameter; expected kind, minutes, profile, speed_kmh, decay, demand, f".into(),
            });
        }
    }
    let w = parse_walk(
        &walk,
        &["kind", "minutes", "profile", "speed_kmh"],
        &[15.0],
        false,
    )?;
    let kind = need_kind(&w)?;
    let decay = Decay::parse(pick("decay").as_deref().unwrap_or("e2sfca")).map_err(|e| {
        ApiError::InvalidParameter {
            name: "decay".into(),
            reason: e.to_string(),
        }
    })?;
    let demand = match pick("demand").as_deref().unwrap_or("households") {
        "households" => DemandWeight::Households,
        "elderly" => DemandWeight::Elderly,
        other => {
            return Err(ApiError::InvalidParameter {
                name: "demand".into(),
                reason: format!("'{other}': households or elderly"),
            })
        }
    };
    let geo = match pick("f").as_deref().unwrap_or("json") {
        "json" => false,
        "geojson" => true,
        other => {
            return Err(ApiError::InvalidParameter {
                name: "f".into(),
                reason: format!("'{other}': json or geojson"),
            })
        }
    };
    let (_, a) = session(&st).await?;
    let req = gridmap_service::AccessRequest {
        kind,
        minutes: w.minutes[0],
        profile: w.profile,
        decay,
        demand,
    };
    let body = blocking(move || {
        let s = a.access(&req).map_err(service)?;
        if !geo {
            return Ok((false, serde_json::to_value(&s).unwrap_or_default()));
        }
        use geo::Centroid;
        let ds = a.dataset();
        let features: Vec<Value> = ds
            .buildings
            .iter()
            .zip(&s.buildings)
            .filter_map(|(b, x)| {
                let c = b.entrance.or_else(|| b.footprint.centroid())?;
                Some(json!({"type": "Feature", "id": x.id,
                    "geometry": {"type": "Point", "coordinates": [c.x(), c.y()]},
                    "properties": {"id": x.id, "households": x.households, "score": x.score}}))
            })
            .collect();
        let n = features.len();
        Ok((
            true,
            json!({"type": "FeatureCollection", "features": features, "numberReturned": n,
            "kind": s.kind, "decay": s.decay, "minutes": s.minutes, "mean_score": s.mean_score,
            "attribution": gridmap_model::OSM_ATTRIBUTION}),
        ))
    })
    .await?;
    Ok(json_value(
        if body.0 { GEOJSON } else { "application/json" },
        &body.1,
    ))
}

/// Uncovered buildings clustered into gap areas, ranked by households.
#[utoipa::path(get, path = "/api/gaps", tag = TAG, operation_id = "api_gaps",
    params(
        ("kind" = String, Query, description = "Facility kind or `all`"),
        ("minutes" = Option<f64>, Query, description = "Threshold in minutes (default 15)"),
        ("profile" = Option<String>, Query, description = "adult or elderly"),
        ("speed_kmh" = Option<f64>, Query, description = "Walking speed, overrides the profile"),
        ("cluster_m" = Option<f64>, Query, description = "Uncovered buildings closer than this belong to one gap (default 150 m)"),
    ),
    responses(
        (status = 200, description = "Gap areas", body = FeatureCollection, content_type = "application/geo+json"),
        (status = 400, description = "Invalid or unknown parameter", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The data cannot answer the question", body = Problem, content_type = "application/problem+json"),
    ))]
async fn gaps(State(st): State<AppState>, QueryPairs(q): QueryPairs) -> Result<Response, ApiError> {
    let cluster = q
        .iter()
        .rev()
        .find(|(k, _)| k == "cluster_m")
        .map(|(_, v)| v.clone());
    let rest: Vec<(String, String)> = q.into_iter().filter(|(k, _)| k != "cluster_m").collect();
    let w = parse_walk(
        &rest,
        &["kind", "minutes", "profile", "speed_kmh"],
        &[15.0],
        false,
    )?;
    let kind = need_kind(&w)?;
    let link_m = match cluster {
        None => 150.0,
        Some(s) => match s.trim().parse::<f64>() {
            Ok(v) if v.is_finite() && (MIN_CLUSTER_M..=MAX_CLUSTER_M).contains(&v) => v,
            _ => {
                return Err(ApiError::InvalidParameter {
                    name: "cluster_m".into(),
                    reason: format!("'{s}': a distance between 10 and 1000 m"),
                })
            }
        },
    };
    let (_, a) = session(&st).await?;
    let fc = blocking(move || {
        let opts = GapOptions {
            link_m,
            ..GapOptions::default()
        };
        let g = a
            .gaps(&kind, w.minutes[0], w.profile, &opts)
            .map_err(service)?;
        Ok(gridmap_service::gaps_geojson(&g))
    })
    .await?;
    Ok(json_value(
        GEOJSON,
        &serde_json::to_value(&fc).unwrap_or_default(),
    ))
}

/// Walking-time contours (default 5/10/15 min) of one facility or of all facilities of a kind.
#[utoipa::path(get, path = "/api/isochrones", tag = TAG, operation_id = "api_isochrones",
    params(
        ("kind" = Option<String>, Query, description = "Facility kind or `all` (give kind or facility)"),
        ("facility" = Option<String>, Query, description = "One facility id"),
        ("minutes" = Option<String>, Query, description = "Contour levels, comma-separated (default 5,10,15)"),
        ("profile" = Option<String>, Query, description = "adult or elderly"),
        ("speed_kmh" = Option<f64>, Query, description = "Walking speed, overrides the profile"),
    ),
    responses(
        (status = 200, description = "Contours, largest first", body = FeatureCollection, content_type = "application/geo+json"),
        (status = 400, description = "Invalid or unknown parameter", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such facility", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The data cannot answer the question", body = Problem, content_type = "application/problem+json"),
    ))]
async fn isochrones(
    State(st): State<AppState>,
    QueryPairs(q): QueryPairs,
) -> Result<Response, ApiError> {
    let w = parse_walk(
        &q,
        &["kind", "facility", "minutes", "profile", "speed_kmh"],
        &[5.0, 10.0, 15.0],
        true,
    )?;
    let (_, a) = session(&st).await?;
    let fc = blocking(move || {
        let bands = match (&w.facility, &w.kind) {
            (Some(f), kind) => {
                // With a kind too, the facility must be of that kind.
                if let Some(k) = kind
                    .as_deref()
                    .map(gridmap_service::facility_kind)
                    .transpose()
                    .map_err(service)?
                    .flatten()
                {
                    if a.dataset()
                        .facilities
                        .iter()
                        .any(|x| x.id.as_str() == f.as_str() && x.kind != k)
                    {
                        return Err(ApiError::NotFound {
                            what: format!("facility of kind {k}"),
                            id: f.clone(),
                        });
                    }
                }
                a.isochrone_for_facility(f, &w.minutes, w.profile)
            }
            (None, k) => a.isochrone_for_kind(k.as_deref().unwrap_or("all"), &w.minutes, w.profile),
        }
        .map_err(service)?;
        Ok(gridmap_service::isochrones_geojson(&bands))
    })
    .await?;
    Ok(json_value(
        GEOJSON,
        &serde_json::to_value(&fc).unwrap_or_default(),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WhatIfBody {
    kind: String,
    #[serde(default)]
    minutes: Option<f64>,
    #[serde(default)]
    profile: Option<String>,
    #[serde(default)]
    speed_kmh: Option<f64>,
    action: String,
    #[serde(default)]
    facility_id: Option<String>,
    #[serde(default)]
    location: Option<[f64; 2]>,
}

/// A JSON object body (serde would also read a struct from an array: refused).
fn body_json<T: serde::de::DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    let v: Value =
        serde_json::from_slice(bytes).map_err(|e| ApiError::InvalidBody(e.to_string()))?;
    if !v.is_object() {
        return Err(ApiError::InvalidBody(
            "the body must be a JSON object".into(),
        ));
    }
    serde_json::from_value(v).map_err(|e| ApiError::InvalidBody(e.to_string()))
}

/// What adding, moving or removing one facility does to covered households.
/// Body: `{kind, minutes?, profile?, speed_kmh?, action: add|move|remove, facility_id?, location?: [lon, lat]}`.
#[utoipa::path(post, path = "/api/whatif", tag = TAG, operation_id = "api_whatif",
    request_body(content = WhatIfRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Coverage before and after, and the buildings that changed", body = WhatIfSummary, content_type = "application/json"),
        (status = 400, description = "Invalid body", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such facility", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The change cannot be evaluated", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared application/json", body = Problem, content_type = "application/problem+json"),
    ))]
async fn what_if(
    State(st): State<AppState>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    super::require_json(&headers)?;
    let b: WhatIfBody = body_json(&body)?;
    let minutes = b.minutes.unwrap_or(15.0);
    gridmap_service::check_minutes(&[minutes]).map_err(service)?;
    if let Some(s) = b.speed_kmh {
        if !(s.is_finite() && s > 0.0 && s <= MAX_SPEED_KMH) {
            return Err(ApiError::InvalidBody(format!(
                "speed_kmh {s}: a walking speed must be between 0 and 30 km/h"
            )));
        }
    }
    check_profile(b.profile.as_deref()).map_err(service)?;
    let profile =
        gridmap_service::walk_profile(b.profile.as_deref(), b.speed_kmh).map_err(service)?;
    check_kind(&b.kind).map_err(service)?;
    let loc = |b: &WhatIfBody| -> Result<(f64, f64), ApiError> {
        match b.location {
            Some([lon, lat])
                if (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat) =>
            {
                Ok((lon, lat))
            }
            Some(_) => Err(ApiError::InvalidBody(
                "location must be [lon, lat] in WGS84".into(),
            )),
            None => Err(ApiError::InvalidBody(format!(
                "action {} needs location [lon, lat]",
                b.action
            ))),
        }
    };
    let id = |b: &WhatIfBody| {
        b.facility_id
            .clone()
            .ok_or_else(|| ApiError::InvalidBody(format!("action {} needs facility_id", b.action)))
    };
    let change = match b.action.as_str() {
        "add" => {
            let (lon, lat) = loc(&b)?;
            Change::Add {
                id: FacilityId::new(
                    b.facility_id
                        .clone()
                        .unwrap_or_else(|| "what-if-new".into()),
                ),
                lon,
                lat,
            }
        }
        "move" => {
            let (lon, lat) = loc(&b)?;
            Change::Move {
                id: FacilityId::new(id(&b)?),
                lon,
                lat,
            }
        }
        "remove" => Change::Remove {
            id: FacilityId::new(id(&b)?),
        },
        other => {
            return Err(ApiError::InvalidBody(format!(
                "action '{other}': expected add, move or remove"
            )))
        }
    };
    let (_, a) = session(&st).await?;
    let kind = b.kind.clone();
    let summary =
        blocking(move || a.what_if(&kind, minutes, profile, change).map_err(service)).await?;
    Ok(json_value(
        "application/json",
        &serde_json::to_value(&summary).unwrap_or_default(),
    ))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PartitionBody {
    #[serde(default)]
    community: Option<String>,
    #[serde(default)]
    target: Option<f64>,
    #[serde(default)]
    tolerance: Option<f64>,
    #[serde(default)]
    seed: Option<u64>,
}

/// Range of `target` (households per grid) the partition, rebalance and validate bodies accept.
pub const TARGET_RANGE: (f64, f64) = (10.0, 5_000.0);
/// Largest `tolerance` (the planner offers 0 to 0.9).
pub const MAX_TOLERANCE: f64 = 0.9;

fn partition_params(
    target: Option<f64>,
    tolerance: Option<f64>,
    seed: Option<u64>,
) -> Result<PartitionParams, ApiError> {
    let p = PartitionParams {
        seed: seed.unwrap_or(0),
        ..PartitionParams::new(target.unwrap_or(300.0), tolerance.unwrap_or(0.15))
    };
    p.band().map_err(|e| ApiError::InvalidBody(e.to_string()))?;
    if p.tolerance > MAX_TOLERANCE {
        return Err(ApiError::InvalidBody(
            "tolerance must be between 0 and 0.9".into(),
        ));
    }
    if !(TARGET_RANGE.0..=TARGET_RANGE.1).contains(&p.target) {
        return Err(ApiError::InvalidBody(
            "target must be between 10 and 5000 households".into(),
        ));
    }
    Ok(p)
}

/// Proposes grids of about `target` households for one community (or all) without storing
/// them. Body: `{community?, target?: 300, tolerance?: 0.15, seed?: 0}`. Review the proposal,
/// then accept it with `POST /api/partition/{proposal_id}/accept`.
#[utoipa::path(post, path = "/api/partition", tag = TAG, operation_id = "api_partition",
    params(("Prefer" = Option<String>, Header, description = "`respond-async`: answer 202 with a job instead of waiting for the proposal")),
    request_body(content = PartitionRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The proposal: grid outlines and the report", body = PartitionProposal, content_type = "application/json"),
        (status = 202, description = "With `Prefer: respond-async`: the partition runs as a job (`Location: /api/jobs/{jobId}`; its results are the proposal)", body = crate::jobs::StatusInfo, content_type = "application/json"),
        (status = 400, description = "Invalid body", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such community", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The data cannot be partitioned", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared application/json", body = Problem, content_type = "application/problem+json"),
    ))]
async fn partition(
    State(st): State<AppState>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    if !body.is_empty() {
        super::require_json(&headers)?;
    }
    let inputs: Value = if body.is_empty() {
        json!({})
    } else {
        body_json(&body)?
    };
    let plan = plan_partition(&st, inputs.clone()).await?;
    if crate::jobs::prefers_async(&headers) {
        return super::jobs::accepted(&st, &headers, crate::jobs::Process::Partition(plan), inputs)
            .await;
    }
    let answer = run_partition(&st, plan, &Arc::new(gridmap_model::Progress::none())).await?;
    Ok(json_value("application/json", &answer))
}

/// A JSON object as `T`; a wrongly typed field is named (`target: invalid type: …`).
pub(crate) fn from_object<T: serde::de::DeserializeOwned>(v: Value) -> Result<T, ApiError> {
    serde_json::from_value::<T>(v.clone()).map_err(|e| {
        // serde_json does not say which field had the wrong type: find it by trying each alone.
        let field = v.as_object().into_iter().flatten().find_map(|(k, x)| {
            let one = Value::Object(std::iter::once((k.clone(), x.clone())).collect());
            serde_json::from_value::<T>(one)
                .err()
                .filter(|e| !e.to_string().starts_with("missing field"))
                .map(|e| format!("{k}: {e}"))
        });
        let whole = e.to_string();
        ApiError::InvalidBody(if whole.starts_with("unknown field") {
            whole
        } else {
            field.unwrap_or(whole)
        })
    })
}

/// A checked partition request (the body of `POST /api/partition`, or a partition job's inputs).
pub struct PartitionPlan {
    community: Option<String>,
    params: PartitionParams,
}

/// Checks a partition body for the caller: parameters (400), the community (404) and the
/// caller's communities (403).
pub(crate) async fn plan_partition(st: &AppState, body: Value) -> Result<PartitionPlan, ApiError> {
    if !body.is_object() {
        return Err(ApiError::InvalidBody(
            "the body must be a JSON object".into(),
        ));
    }
    let b: PartitionBody = from_object(body)?;
    let params = partition_params(b.target, b.tolerance, b.seed)?;
    let snap = st.snapshot().await?;
    let community = gridmap_service::resolve_community(&snap.dataset, b.community.as_deref())
        .map_err(service)?;
    crate::auth::current().check_community(community.as_ref())?;
    Ok(PartitionPlan {
        community: b.community,
        params,
    })
}

/// Proposes the grids of a checked request on the current data and keeps the proposal for
/// `POST /api/partition/{proposal_id}/accept`; answers the proposal document.
pub(crate) async fn run_partition(
    st: &AppState,
    plan: PartitionPlan,
    progress: &Arc<gridmap_model::Progress>,
) -> Result<Value, ApiError> {
    let snap = st.snapshot().await?;
    let generation = snap.generation;
    let ds = snap.dataset.clone();
    // Resolved again: the data may have changed while a job waited for its turn.
    let community =
        gridmap_service::resolve_community(&ds, plan.community.as_deref()).map_err(service)?;
    crate::auth::current().check_community(community.as_ref())?;
    let c2 = community.clone();
    let params = plan.params;
    let progress = progress.clone();
    let result = Arc::new(
        blocking(move || {
            gridmap_service::propose_grids_with_progress(&ds, c2.as_ref(), &params, &progress)
                .map_err(service)
        })
        .await?,
    );
    let c = cache(st)?;
    // Unique across replicas too: a job's results (read on any replica) name the proposal, and
    // an accept sent to another replica must not find a different proposal of the same name.
    let salt: u64 = u64::from_le_bytes(gridmap_store::random_bytes::<8>()?);
    let id = format!(
        "p{}-{salt:016x}",
        c.next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1
    );
    {
        let mut list = c
            .proposals
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        list.push_back(Proposal {
            id: id.clone(),
            generation,
            community,
            result: result.clone(),
        });
        while list.len() > MAX_PROPOSALS {
            list.pop_front();
        }
    }
    let grids = gridmap_service::proposal_geojson(&result);
    Ok(json!({"proposal_id": id, "grids": grids, "report": result.report}))
}

/// Stores a partition proposal, replacing the grids of its community (or all grids).
#[utoipa::path(post, path = "/api/partition/{proposal_id}/accept", tag = TAG, operation_id = "api_partition_accept",
    params(("proposal_id" = String, Path, description = "Id returned by POST /api/partition")),
    responses(
        (status = 200, description = "Stored", body = AcceptResult, content_type = "application/json"),
        (status = 404, description = "No such proposal (expired or never made)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The data changed since the proposal was made: propose again", body = Problem, content_type = "application/problem+json"),
    ))]
async fn accept_partition(
    State(st): State<AppState>,
    Path(proposal_id): Path<String>,
) -> Result<Response, ApiError> {
    let c = cache(&st)?;
    let p = {
        let mut list = c
            .proposals
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let pos = list
            .iter()
            .position(|p| p.id == proposal_id)
            .ok_or_else(|| ApiError::NotFound {
                what: "partition proposal".into(),
                id: proposal_id.clone(),
            })?;
        // A refused caller must not consume the proposal: check before removing it.
        crate::auth::current().check_community(list.get(pos).and_then(|p| p.community.as_ref()))?;
        list.remove(pos).ok_or_else(|| ApiError::NotFound {
            what: "partition proposal".into(),
            id: proposal_id.clone(),
        })?
    };
    if st.data.generation() != p.generation {
        return Err(ApiError::Conflict(format!(
            "the data changed since proposal {} was made; propose again",
            p.id
        )));
    }
    let before: Vec<Value> = st
        .snapshot()
        .await?
        .dataset
        .grids
        .iter()
        .filter(|g| p.community.is_none() || g.community == p.community)
        .map(crate::routes::transactions::grid_record)
        .collect();
    let grids = gridmap_service::proposal_grids(&p.result);
    let target = format!("grids:{}", p.community.as_ref().map_or("*", |c| c.as_str()));
    let after: Vec<Value> = grids
        .iter()
        .map(crate::routes::transactions::grid_record)
        .collect();
    let audit = crate::edit::Audit {
        action: "grids.partition",
        target,
        before: Some(Value::Array(before)),
        after: Some(Value::Array(after)),
    };
    let stored = grids.len();
    crate::edit::commit(
        &st,
        crate::backend::Edit::ReplaceGrids {
            community: p.community.clone(),
            grids,
        },
        audit,
    )
    .await?;
    let grids_len = stored;
    Ok(json_value(
        "application/json",
        &json!({"stored": grids_len, "community": p.community, "report": p.result.report}),
    ))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RebalanceBody {
    #[serde(default)]
    target: Option<f64>,
    #[serde(default)]
    tolerance: Option<f64>,
    #[serde(default)]
    dry_run: Option<bool>,
}

/// Fixes stored grids whose households left the band, moving as few households as possible and
/// keeping grid ids and codes. Body: `{target?, tolerance?, dry_run?}`.
#[utoipa::path(post, path = "/api/rebalance", tag = TAG, operation_id = "api_rebalance",
    request_body(content = RebalanceRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The moves and the report", body = RebalanceResult, content_type = "application/json"),
        (status = 400, description = "Invalid body", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The grids cannot be rebalanced", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared application/json", body = Problem, content_type = "application/problem+json"),
    ))]
async fn rebalance(
    State(st): State<AppState>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    if !body.is_empty() {
        super::require_json(&headers)?;
    }
    let b: RebalanceBody = if body.is_empty() {
        RebalanceBody::default()
    } else {
        body_json(&body)?
    };
    let params = partition_params(b.target, b.tolerance, None)?;
    let ds = st.snapshot().await?.dataset.clone();
    let result =
        blocking(move || gridmap_service::rebalance_grids(&ds, &params).map_err(service)).await?;
    let dry = b.dry_run.unwrap_or(false);
    if !dry && !result.moves.is_empty() {
        // Rebalancing stores grids of every community: not for community-scoped planners.
        crate::auth::current().check_community(None)?;
        let audit = crate::edit::Audit {
            action: "grids.rebalance",
            target: "grids:*".into(),
            before: None,
            after: Some(json!({"moves": result.moves})),
        };
        crate::edit::commit(
            &st,
            crate::backend::Edit::ReplaceGrids {
                community: None,
                grids: result.grids.clone(),
            },
            audit,
        )
        .await?;
    }
    Ok(json_value(
        "application/json",
        &json!({"report": result.report, "moves": result.moves, "stored": !dry && !result.moves.is_empty()}),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ValidateBody {
    grids: Value,
    #[serde(default)]
    target: Option<f64>,
    #[serde(default)]
    tolerance: Option<f64>,
}

fn drawn_grids(v: &Value) -> Result<Vec<DrawnGrid>, ApiError> {
    let fc: geojson::FeatureCollection = serde_json::from_value(v.clone()).map_err(|e| {
        ApiError::InvalidBody(format!("grids must be a GeoJSON FeatureCollection: {e}"))
    })?;
    if fc.features.len() > 2000 {
        return Err(ApiError::InvalidBody(
            "at most 2000 grids per validation".into(),
        ));
    }
    let mut out = Vec::with_capacity(fc.features.len());
    let mut positions = 0usize;
    for (i, f) in fc.features.iter().enumerate() {
        let id = f
            .property("id")
            .and_then(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .or_else(|| v.as_i64().map(|n| n.to_string()))
            })
            .or_else(|| {
                f.id.as_ref().map(|id| match id {
                    geojson::feature::Id::String(s) => s.clone(),
                    geojson::feature::Id::Number(n) => n.to_string(),
                })
            })
            .unwrap_or_else(|| format!("drawn-{}", i + 1));
        let g = f.geometry.as_ref().ok_or_else(|| {
            ApiError::Unprocessable(format!("grid {id} (feature {i}): no geometry"))
        })?;
        // Checked positions first (the geojson crate's conversion panics on a 1-number position).
        let raw = serde_json::to_value(g)
            .map_err(|e| ApiError::InvalidBody(format!("grid {id} (feature {i}): {e}")))?;
        let geom = crate::geojson::read_geometry(&raw, &crate::crs::ApiCrs::DEFAULT)
            .map_err(|e| match e {
                ApiError::InvalidBody(m) => {
                    ApiError::InvalidBody(format!("grid {id} (feature {i}): {m}"))
                }
                ApiError::Unprocessable(m) => {
                    ApiError::Unprocessable(format!("grid {id} (feature {i}): {m}"))
                }
                e => e,
            })?
            .ok_or_else(|| {
                ApiError::Unprocessable(format!("grid {id} (feature {i}): no geometry"))
            })?;
        positions += geo::CoordsIter::coords_count(&geom);
        if positions > 4 * crate::geojson::MAX_VERTICES {
            return Err(ApiError::Unprocessable(format!(
                "grid {id} (feature {i}): the drawn grids hold more than {} positions in all (simplify them)",
                4 * crate::geojson::MAX_VERTICES
            )));
        }
        let boundary = crate::geojson::area(geom)
            .map_err(|m| ApiError::Unprocessable(format!("grid {id} (feature {i}): {m}")))?;
        out.push(DrawnGrid { id, boundary });
    }
    Ok(out)
}

/// Checks hand-drawn grid polygons: which buildings each gets (footprint majority), households
/// against the band, overlaps, unassigned buildings nearby, contiguity and community borders.
/// Body: `{grids: FeatureCollection of Polygons, target?, tolerance?}`. Fast enough to call on
/// every edit.
#[utoipa::path(post, path = "/api/validate", tag = TAG, operation_id = "api_validate",
    request_body(content = ValidateRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The validation report", body = ValidationReport, content_type = "application/json"),
        (status = 400, description = "Invalid body", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unusable geometry", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared application/json", body = Problem, content_type = "application/problem+json"),
    ))]
async fn validate(
    State(st): State<AppState>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    super::require_json(&headers)?;
    let b: ValidateBody = body_json(&body)?;
    let params = partition_params(b.target, b.tolerance, None)?;
    let drawn = drawn_grids(&b.grids)?;
    let ds = st.snapshot().await?.dataset.clone();
    let report =
        blocking(move || gridmap_service::validate_grids(&ds, &drawn, &params).map_err(service))
            .await?;
    Ok(json_value(
        "application/json",
        &serde_json::to_value(&report).unwrap_or_default(),
    ))
}

/// The analysis operations' parameter and request-body schemas in the OpenAPI document, as
/// precise as the handlers' checks (the handlers above are the reference).
pub fn document(v: &mut Value) {
    let kind = json!({"type": "string", "minLength": 1, "pattern": crate::openapi::NONBLANK,
        "description": "service_station, canteen, reading_room, outreach_point, other, a free-form kind, or all"});
    let minute = json!({"type": "number", "exclusiveMinimum": 0, "maximum": MAX_MINUTES});
    let minutes_list =
        json!({"type": "array", "minItems": 1, "maxItems": MAX_LEVELS, "items": minute});
    let profile = json!({"type": "string", "enum": PROFILES});
    let speed = json!({"type": "number", "exclusiveMinimum": 0, "maximum": MAX_SPEED_KMH});
    let cluster = json!({"type": "number", "minimum": MIN_CLUSTER_M, "maximum": MAX_CLUSTER_M});
    let lists = [
        "/api/coverage",
        "/api/isochrones",
        "/api/reports/coverage.pdf",
    ];
    let paper = json!({"type": "string", "enum": ["a4", "a3", "a4-landscape", "a3-landscape"]});
    for path in [
        "/api/coverage",
        "/api/coverage/buildings",
        "/api/gaps",
        "/api/isochrones",
        "/api/access",
        "/api/reports/coverage.pdf",
        "/api/reports/grids.pdf",
    ] {
        let Some(params) = v
            .pointer_mut(&format!(
                "/paths/{}/get/parameters",
                path.replace('/', "~1")
            ))
            .and_then(Value::as_array_mut)
        else {
            continue;
        };
        for p in params {
            let schema = match p.get("name").and_then(Value::as_str).unwrap_or("") {
                "kind" | "facility" if path == "/api/isochrones" => {
                    p["description"] = json!("Facility kind or `all` (default all); with `facility`, the facility must be of this kind");
                    if p["name"] == "facility" {
                        p["description"] = json!("One facility id (404 if unknown)");
                        json!({"type": "string"})
                    } else {
                        kind.clone()
                    }
                }
                "paper" => paper.clone(),
                "minutes" if path == "/api/reports/grids.pdf" => continue,
                "kind" => kind.clone(),
                "minutes" if lists.contains(&path) => {
                    p["style"] = json!("form");
                    p["explode"] = json!(false);
                    minutes_list.clone()
                }
                "minutes" => minute.clone(),
                "profile" => profile.clone(),
                "speed_kmh" => speed.clone(),
                "cluster_m" => cluster.clone(),
                "decay" => {
                    json!({"type": "string", "enum": ["uniform", "2sfca", "none", "e2sfca", "bands", "step", "gaussian", "linear"]})
                }
                "demand" => json!({"type": "string", "enum": ["households", "elderly"]}),
                "f" if path == "/api/access" => {
                    json!({"type": "string", "enum": ["json", "geojson"]})
                }
                _ => continue,
            };
            p["schema"] = schema;
        }
    }
    let nullable = |mut s: Value| {
        let t = s["type"].clone();
        s["type"] = json!([t, "null"]);
        s
    };
    let lon = json!({"type": "number", "minimum": -180, "maximum": 180});
    let lat = json!({"type": "number", "minimum": -90, "maximum": 90});
    let location = json!({"type": "array", "minItems": 2, "maxItems": 2, "prefixItems": [lon, lat], "items": false,
        "description": "[lon, lat] in WGS84"});
    let common = json!({"kind": kind, "minutes": nullable(minute.clone()), "profile": nullable(profile.clone()), "speed_kmh": nullable(speed.clone())});
    let variant = |action: &str, required: &[&str], extra: Value| {
        let mut props = common.clone();
        props["action"] = json!({"const": action});
        for (k, s) in extra.as_object().into_iter().flatten() {
            props[k] = s.clone();
        }
        let mut req = vec!["kind", "action"];
        req.extend_from_slice(required);
        json!({"type": "object", "additionalProperties": false, "required": req, "properties": props})
    };
    let id = json!({"type": "string", "description": "A facility id (404 if unknown)"});
    let what_if = json!({"oneOf": [
        variant("add", &["location"], json!({"location": location, "facility_id": nullable(json!({"type": "string"}))})),
        variant("move", &["location", "facility_id"], json!({"location": location, "facility_id": id})),
        variant("remove", &["facility_id"], json!({"facility_id": id,
            "location": {"type": ["array", "null"], "minItems": 2, "maxItems": 2, "items": {"type": "number"}, "description": "ignored"}})),
    ]});
    let target = json!({"type": ["number", "null"], "minimum": TARGET_RANGE.0, "maximum": TARGET_RANGE.1, "description": "Households per grid (default 300)"});
    let tolerance = json!({"type": ["number", "null"], "minimum": 0, "maximum": MAX_TOLERANCE, "description": "Band half-width as a fraction of target (default 0.15)"});
    let partition = json!({"type": "object", "additionalProperties": false, "properties": {
        "community": {"type": ["string", "null"], "description": "Community id or name (404 if unknown); all communities when absent"},
        "target": target, "tolerance": tolerance,
        "seed": {"type": ["integer", "null"], "minimum": 0, "maximum": u64::MAX}}});
    let rebalance = json!({"type": "object", "additionalProperties": false, "properties": {
        "target": target, "tolerance": tolerance, "dry_run": {"type": ["boolean", "null"], "description": "Report the moves without storing them"}}});
    let position = json!({"type": "array", "minItems": 2, "maxItems": 3,
        "prefixItems": [{"type": "number", "minimum": -180, "maximum": 180}, {"type": "number", "minimum": -90, "maximum": 90}, {"type": "number"}]});
    let ring = json!({"type": "array", "minItems": 4, "items": position});
    let polygon = json!({"type": "object", "required": ["type", "coordinates"], "properties": {
        "type": {"const": "Polygon"}, "coordinates": {"type": "array", "minItems": 1, "items": ring}, "bbox": {"type": "array", "items": {"type": "number"}}}});
    let multipolygon = json!({"type": "object", "required": ["type", "coordinates"], "properties": {
        "type": {"const": "MultiPolygon"}, "coordinates": {"type": "array", "minItems": 1, "items": {"type": "array", "minItems": 1, "items": ring}},
        "bbox": {"type": "array", "items": {"type": "number"}}}});
    let feature = json!({"type": "object", "required": ["type", "geometry"], "properties": {
        "type": {"const": "Feature"}, "id": {"type": ["string", "number", "null"]}, "geometry": {"oneOf": [polygon, multipolygon]},
        "properties": {"type": ["object", "null"]}, "bbox": {"type": "array", "items": {"type": "number"}}}});
    let validate = json!({"type": "object", "additionalProperties": false, "required": ["grids"], "properties": {
        "grids": {"type": "object", "required": ["type", "features"], "description": "GeoJSON FeatureCollection of the drawn grids (Polygons or MultiPolygons, WGS84)",
            "properties": {"type": {"const": "FeatureCollection"}, "features": {"type": "array", "maxItems": 2000, "items": feature},
                "bbox": {"type": "array", "items": {"type": "number"}}}},
        "target": target, "tolerance": tolerance}});
    for (name, schema) in [
        ("WhatIfRequest", what_if),
        ("PartitionRequest", partition),
        ("RebalanceRequest", rebalance),
        ("ValidateRequest", validate),
    ] {
        v["components"]["schemas"][name] = schema;
    }
    // An empty body means all defaults.
    for path in ["/api/partition", "/api/rebalance"] {
        if let Some(rb) = v.pointer_mut(&format!(
            "/paths/{}/post/requestBody",
            path.replace('/', "~1")
        )) {
            rb["required"] = json!(false);
        }
    }
}
