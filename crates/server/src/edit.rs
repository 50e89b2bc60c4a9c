//! The one edit path (as abstreet's `map_model/src/edits`): every change of the dataset made
//! through the API is an [`Edit`] with the audit entry that describes it, applied here and
//! nowhere else. The store writes the edit, its change-log rows and the audit entry in one
//! transaction, so "every change leaves an audit entry" cannot silently break; then the live
//! state catches up with the log (this edit and any other writer's before it), so the response
//! and every later read show the edit.
//!
//! The work runs in its own task: a client that goes away or a request timeout cannot cancel an
//! edit between its commit and its answer. (Writes are also exempt from the request timeout, see
//! `middleware`.) A request either commits and answers 2xx, or fails and commits nothing.
use crate::backend::{Applied, Edit};
use crate::error::ApiError;
use crate::state::AppState;
use gridmap_model::AuditEntry;
use serde_json::Value;

/// Who did what to which target, with the states before and after (GeoJSON records).
pub struct Audit {
    pub action: &'static str,
    pub target: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// Applies `edit` with its audit entry and advances the live state past it.
pub async fn commit(st: &AppState, edit: Edit, audit: Audit) -> Result<Applied, ApiError> {
    let entry = AuditEntry {
        id: 0,
        at: String::new(),
        user: crate::routes::account::caller_id(),
        action: audit.action.into(),
        target: audit.target,
        before: audit.before,
        after: audit.after,
    };
    let st = st.clone();
    tokio::spawn(async move {
        let applied = st.store.apply_edit(&edit, Some(&entry)).await?;
        // The edit is committed: from here on the answer is its success. A failure to advance
        // the cached state is logged; the change follower applies it on its next turn.
        if let Err(e) = crate::live::catch_up(&st).await {
            tracing::warn!(error = %e, seq = applied.seq, "edit committed, but the live state could not catch up yet");
        }
        Ok(applied)
    })
    .await
    .map_err(|e| ApiError::Internal(format!("the edit task failed: {e}")))?
}
