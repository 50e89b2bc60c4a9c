//! `/api/jobs`: long analysis work as jobs (see [`crate::jobs`]). Start with `POST /api/jobs`
//! (or `POST /api/partition` with `Prefer: respond-async`): `202 Accepted`, `Location:
//! /api/jobs/{jobId}` and the status document; poll `GET /api/jobs/{jobId}`; fetch
//! `GET /api/jobs/{jobId}/results` once `successful` (409 before; a failed job answers its
//! problem document with its status); `DELETE` dismisses. Any replica answers: jobs live in the
//! store. Every route needs a login; a job is visible to its owner and to admins only (404 to
//! anyone else).
use super::{json_value, QueryPairs};
use crate::error::{ApiError, Problem};
use crate::jobs::{self, Process, StatusInfo};
use crate::query::only;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gridmap_store::JobStatus;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa_axum::{router::OpenApiRouter, routes};

const TAG: &str = "Jobs";

/// The body of `POST /api/jobs`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobRequest {
    /// `partition` (needs the planner role, as `POST /api/partition`) or `coverage`.
    pub process: String,
    /// partition: the body of `POST /api/partition` (`{community?, target?, tolerance?, seed?}`);
    /// coverage: `{kind, minutes?, profile?, speed_kmh?}` where `kind` may be `all` (one summary
    /// per kind) and `minutes` a number or a list.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub inputs: Option<Value>,
}

/// A list of jobs.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct JobList {
    pub jobs: Vec<StatusInfo>,
    pub links: Vec<jobs::Link>,
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(status, dismiss))
        .routes(routes!(results))
        .routes(routes!(siting))
}

/// Starts a siting job: the body is the `inputs` of `POST /api/jobs {process: siting}` (`{kind,
/// add, model?, minutes?, candidates, capacity?, …}`: mclp, setcover, pmedian, pcenter,
/// capacitated, closure). Answers 202 with the job's status and `Location`; poll it and fetch
/// its results (the siting summary) as for any job.
#[utoipa::path(post, path = "/api/siting", tag = TAG, operation_id = "api_siting",
    request_body(content = crate::jobs::SitingInputs, content_type = "application/json"),
    responses(
        (status = 202, description = "Accepted: `Location` names the job; the body is its status", body = StatusInfo, content_type = "application/json",
            headers(("Location" = String, description = "/api/jobs/{jobId}"))),
        (status = 400, description = "Invalid inputs (the field is named)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared application/json", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The server holds too many jobs: try again after `Retry-After` seconds", body = Problem, content_type = "application/problem+json"),
    ))]
async fn siting(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    super::require_json(&headers)?;
    let inputs: Value =
        serde_json::from_slice(&body).map_err(|e| ApiError::InvalidBody(e.to_string()))?;
    let process = Process::parse(&st, "siting", inputs.clone()).await?;
    accepted(&st, &headers, process, inputs).await
}

/// Most jobs one list answers.
const MAX_LIST: usize = 1000;

fn document(st: &AppState, headers: &HeaderMap, rec: &gridmap_store::JobRecord) -> Value {
    serde_json::to_value(jobs::status_info(rec, &st.base_url(headers))).unwrap_or_default()
}

/// The `202 Accepted` answer of a started job: `Location` and the status document.
pub(crate) async fn accepted(
    st: &AppState,
    headers: &HeaderMap,
    process: Process,
    inputs: Value,
) -> Result<Response, ApiError> {
    let rec = jobs::start(st, process, inputs).await?;
    let mut resp = json_value("application/json", &document(st, headers, &rec));
    *resp.status_mut() = StatusCode::ACCEPTED;
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("/api/jobs/{}", rec.id)) {
        h.insert(header::LOCATION, v);
    }
    if jobs::prefers_async(headers) {
        h.insert(
            "preference-applied",
            HeaderValue::from_static("respond-async"),
        );
    }
    Ok(resp)
}

/// Starts a job. Body: `{process: partition|coverage, inputs: {…}}`. The inputs are checked
/// before the job is accepted, as the synchronous route checks them; a partition job needs the
/// permission of `POST /api/partition`. At most 2 jobs run at once per server, later ones wait
/// `accepted`; a server holding 16 jobs answers 503 with `Retry-After`.
#[utoipa::path(post, path = "/api/jobs", tag = TAG, operation_id = "api_jobs_create",
    request_body(content = JobRequest, content_type = "application/json"),
    responses(
        (status = 202, description = "Accepted: `Location` names the job; the body is its status", body = StatusInfo, content_type = "application/json",
            headers(("Location" = String, description = "/api/jobs/{jobId}"))),
        (status = 400, description = "Unknown process or invalid inputs (the field is named)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The inputs name something that does not exist (a community)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not declared application/json", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The server holds too many jobs: try again after `Retry-After` seconds", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    super::require_json(&headers)?;
    let v: Value =
        serde_json::from_slice(&body).map_err(|e| ApiError::InvalidBody(e.to_string()))?;
    if !v.is_object() {
        return Err(ApiError::InvalidBody(
            "the body must be a JSON object {process, inputs}".into(),
        ));
    }
    let req: JobRequest =
        serde_json::from_value(v).map_err(|e| ApiError::InvalidBody(e.to_string()))?;
    let inputs = req.inputs.unwrap_or_else(|| json!({}));
    let process = Process::parse(&st, &req.process, inputs.clone()).await?;
    accepted(&st, &headers, process, inputs).await
}

/// The caller's jobs, newest first (an admin sees everyone's).
#[utoipa::path(get, path = "/api/jobs", tag = TAG, operation_id = "api_jobs_list",
    params(("limit" = Option<usize>, Query, description = "At most this many jobs (default 10, at most 1000)")),
    responses(
        (status = 200, description = "The jobs", body = JobList, content_type = "application/json"),
        (status = 400, description = "Invalid or unknown parameter", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list(
    State(st): State<AppState>,
    headers: HeaderMap,
    QueryPairs(q): QueryPairs,
) -> Result<Response, ApiError> {
    only(&q, &["limit"])?;
    let limit = match q.iter().rev().find(|(k, _)| k == "limit") {
        None => 10,
        Some((_, v)) => match v.trim().parse::<usize>() {
            Ok(n) if (1..=MAX_LIST).contains(&n) => n,
            _ => {
                return Err(ApiError::InvalidParameter {
                    name: "limit".into(),
                    reason: format!("'{v}': a whole number from 1 to {MAX_LIST}"),
                })
            }
        },
    };
    let base = st.base_url(&headers);
    let jobs: Vec<StatusInfo> = jobs::list(&st, limit)
        .await?
        .iter()
        .map(|r| jobs::status_info(r, &base))
        .collect();
    let links = vec![jobs::Link {
        href: format!("{base}/api/jobs"),
        rel: "self".into(),
        media_type: "application/json".into(),
        title: "these jobs".into(),
    }];
    Ok(json_value(
        "application/json",
        &serde_json::to_value(JobList { jobs, links }).unwrap_or_default(),
    ))
}

/// A job's status: accepted, running (with progress), successful, failed or dismissed. A job
/// whose server stopped (no heartbeat for 60 s) is reported failed.
#[utoipa::path(get, path = "/api/jobs/{jobId}", tag = TAG, operation_id = "api_jobs_status",
    params(("jobId" = String, Path, description = "Id from POST /api/jobs")),
    responses(
        (status = 200, description = "The job's status", body = StatusInfo, content_type = "application/json"),
        (status = 404, description = "No such job (or not the caller's)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn status(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let rec = jobs::get(&st, &id).await?;
    Ok(json_value(
        "application/json",
        &document(&st, &headers, &rec),
    ))
}

/// Dismisses a job: a waiting or running job is cancelled (it stops at its next progress step,
/// also when another replica runs it), a finished job's results are deleted. Answers the
/// status document (`dismissed`).
#[utoipa::path(delete, path = "/api/jobs/{jobId}", tag = TAG, operation_id = "api_jobs_dismiss",
    params(("jobId" = String, Path, description = "Id from POST /api/jobs")),
    responses(
        (status = 200, description = "Dismissed", body = StatusInfo, content_type = "application/json"),
        (status = 404, description = "No such job (or not the caller's)", body = Problem, content_type = "application/problem+json"),
    ))]
async fn dismiss(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let rec = jobs::dismiss(&st, &id).await?;
    Ok(json_value(
        "application/json",
        &document(&st, &headers, &rec),
    ))
}

/// A successful job's results, exactly as the synchronous route answers (a partition: the
/// proposal with its `proposal_id`, to accept on the server that ran the job; coverage: the
/// summary, or `{kind: all, summaries: [...]}`). A failed job answers its problem document with
/// its status; a job still waiting or running, or dismissed, answers 409.
#[utoipa::path(get, path = "/api/jobs/{jobId}/results", tag = TAG, operation_id = "api_jobs_results",
    params(("jobId" = String, Path, description = "Id from POST /api/jobs")),
    responses(
        (status = 200, description = "The results", content_type = "application/json"),
        (status = 404, description = "No such job (or not the caller's)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not finished yet (poll the status) or dismissed", body = Problem, content_type = "application/problem+json"),
        (status = "default", description = "The job failed: its problem document, with its status", body = Problem, content_type = "application/problem+json"),
    ))]
async fn results(State(st): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let rec = jobs::get(&st, &id).await?;
    match rec.status {
        JobStatus::Successful => Ok(json_value(
            "application/json",
            &rec.result.unwrap_or(Value::Null),
        )),
        JobStatus::Failed => {
            let problem = rec
                .error
                .unwrap_or_else(|| json!({"status": 500, "detail": rec.message}));
            let code = problem
                .get("status")
                .and_then(Value::as_u64)
                .and_then(|s| u16::try_from(s).ok())
                .and_then(|s| StatusCode::from_u16(s).ok());
            let code = code
                .filter(|c| c.is_client_error() || c.is_server_error())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let body = serde_json::to_vec(&problem).unwrap_or_default();
            Ok((
                code,
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(crate::error::PROBLEM_JSON),
                )],
                body,
            )
                .into_response())
        }
        JobStatus::Dismissed => Err(ApiError::Conflict(format!(
            "job '{id}' was dismissed: it has no results"
        ))),
        JobStatus::Accepted | JobStatus::Running => Err(ApiError::Conflict(format!(
            "job '{id}' is {} ({} %): its results are not ready; poll /api/jobs/{id}",
            rec.status,
            rec.progress.floor()
        ))),
    }
}
