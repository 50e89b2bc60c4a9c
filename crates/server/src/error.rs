//! The server's one error type and its RFC 9457 `application/problem+json` rendering.
use crate::backend::StoreError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

tokio::task_local! {
    /// Path of the request being served, used as the problem's `instance`.
    pub(crate) static REQUEST_PATH: String;
}

/// Everything that can go wrong while answering a request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A query parameter has a value the operation cannot use.
    #[error("parameter '{name}': {reason}")]
    InvalidParameter { name: String, reason: String },
    /// A query parameter the operation does not know (OGC API Part 1 wants 400).
    #[error("unknown query parameter '{name}' (this operation accepts: {allowed})")]
    UnknownParameter { name: String, allowed: String },
    /// The request body is not what the operation expects (malformed JSON, wrong type).
    #[error("request body: {0}")]
    InvalidBody(String),
    /// The request body is well-formed but describes something impossible (bad geometry).
    #[error("request body: {0}")]
    Unprocessable(String),
    #[error("{what} '{id}' not found")]
    NotFound { what: String, id: String },
    /// `If-Match` names a version that is not the stored one.
    #[error("{what} '{id}' has version {current}, the request's If-Match names another; nothing changed")]
    PreconditionFailed {
        what: String,
        id: String,
        current: i64,
    },
    /// `If-Match` is required for this edit.
    #[error("this edit needs an If-Match header with the item's ETag (GET the item first)")]
    PreconditionRequired,
    /// The edit conflicts with the current data (an id already taken, a building in another grid).
    #[error("{0}")]
    Conflict(String),
    #[error("request body is larger than the limit of {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("unsupported media type '{0}' (send application/geo+json or application/json)")]
    UnsupportedMediaType(String),
    /// Too many failed logins: wait `retry_after` seconds.
    #[error("too many failed logins for this user name or address; try again in {retry_after} s")]
    TooManyRequests { retry_after: u64 },
    #[error("the request took longer than {0:?}")]
    Timeout(std::time::Duration),
    /// No credentials, or credentials that name no active user.
    #[error("{0}")]
    Unauthorized(String),
    /// The caller's role or scope does not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// The server cannot take this now (it holds too many jobs): retry after `retry_after` s.
    #[error("{reason}")]
    Busy { reason: String, retry_after: u64 },
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    /// The data cannot be written in the asked format (a shapefile of mixed geometry).
    #[error("export: {0}")]
    Export(#[from] gridmap_export::ExportError),
    #[error("internal error: {0}")]
    Internal(String),
}

/// The problem document (RFC 9457).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// URI reference naming the problem type.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The request path that failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
}

impl ApiError {
    /// HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidParameter { .. }
            | Self::UnknownParameter { .. }
            | Self::InvalidBody(_) => StatusCode::BAD_REQUEST,
            Self::Export(gridmap_export::ExportError::Io { .. }) | Self::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            Self::Unprocessable(_) | Self::Export(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
            Self::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Timeout(_) | Self::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Store(e) => store_status(e),
        }
    }

    fn slug(&self) -> &'static str {
        match self {
            Self::InvalidParameter { .. } => "invalid-parameter",
            Self::UnknownParameter { .. } => "unknown-parameter",
            Self::InvalidBody(_) => "invalid-body",
            Self::Unprocessable(_) => "unprocessable-body",
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound { .. } => "not-found",
            Self::PreconditionFailed { .. } => "version-conflict",
            Self::PreconditionRequired => "if-match-required",
            Self::Conflict(_) => "conflict",
            Self::PayloadTooLarge { .. } => "payload-too-large",
            Self::UnsupportedMediaType(_) => "unsupported-media-type",
            Self::TooManyRequests { .. } => "too-many-requests",
            Self::Timeout(_) => "timeout",
            Self::Busy { .. } => "busy",
            Self::Store(e) => match store_status(e) {
                StatusCode::NOT_FOUND => "not-found",
                StatusCode::PRECONDITION_FAILED => "version-conflict",
                StatusCode::CONFLICT => "conflict",
                StatusCode::UNPROCESSABLE_ENTITY => "unprocessable-body",
                StatusCode::BAD_REQUEST => "invalid-parameter",
                _ => "storage",
            },
            Self::Export(gridmap_export::ExportError::Io { .. }) | Self::Internal(_) => "internal",
            Self::Export(_) => "unprocessable-export",
        }
    }

    /// Builds the problem document for this error.
    pub fn problem(&self) -> Problem {
        let status = self.status();
        let detail =
            if status.is_server_error() && !matches!(self, Self::Timeout(_) | Self::Busy { .. }) {
                // Internals stay in the log; the client gets a pointer to it.
                "the server failed to answer this request; the error is in its log".to_owned()
            } else {
                self.to_string()
            };
        Problem {
            kind: format!("urn:gridmap:problem:{}", self.slug()),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail,
            instance: REQUEST_PATH.try_with(Clone::clone).ok(),
        }
    }
}

fn store_status(e: &StoreError) -> StatusCode {
    match e {
        StoreError::NotFound { .. } => StatusCode::NOT_FOUND,
        StoreError::VersionConflict { .. } => StatusCode::PRECONDITION_FAILED,
        StoreError::BuildingInOtherGrid { .. }
        | StoreError::UnknownBuilding { .. }
        | StoreError::UnknownReference { .. }
        | StoreError::DuplicateId { .. }
        | StoreError::AmbiguousAddress { .. } => StatusCode::CONFLICT,
        StoreError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        StoreError::InvalidQuery { .. } => StatusCode::BAD_REQUEST,
        StoreError::DiskFull { .. } => StatusCode::INSUFFICIENT_STORAGE,
        StoreError::InvalidUrl { .. }
        | StoreError::Database { .. }
        | StoreError::Migration { .. }
        | StoreError::Corrupt { .. } => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Renders any problem as a response (also used for errors raised outside handlers).
pub(crate) fn problem_response(p: &Problem) -> Response {
    let body = serde_json::to_vec(p).unwrap_or_else(|_| b"{}".to_vec());
    let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON))],
        body,
    )
        .into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        } else {
            tracing::debug!(error = %self, status = status.as_u16(), "request rejected");
        }
        let mut resp = problem_response(&self.problem());
        if let Self::TooManyRequests { retry_after } | Self::Busy { retry_after, .. } = &self {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
        }
        if let Self::Unauthorized(_) = &self {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"gridmap\""),
            );
        }
        if let Self::PreconditionFailed { current, .. }
        | Self::Store(StoreError::VersionConflict { current, .. }) = &self
        {
            if let Ok(v) = HeaderValue::from_str(&crate::etag::etag(*current)) {
                resp.headers_mut().insert(header::ETAG, v);
            }
        }
        resp
    }
}

/// Shorthand for an invalid query parameter.
pub(crate) fn invalid(name: &str, reason: impl Into<String>) -> ApiError {
    ApiError::InvalidParameter {
        name: name.to_owned(),
        reason: reason.into(),
    }
}
