//! Jobs: long analysis work (a whole-city partition, coverage of every kind) that a server runs
//! in the background while clients poll its status. One row per job in `jobs` (migration 0005 on
//! both backends), written by the server that runs the job and read by any: every replica behind
//! a load balancer answers a job's status, and a dismissal written by one is seen by the runner
//! on another at its next heartbeat.
//!
//! Jobs are not part of the dataset: their writes bump no layer counter and append nothing to
//! the change log. Times are unix milliseconds ([`now_millis`]).
use crate::error::StoreError;
use gridmap_model::UserId;
use serde_json::Value;
use std::time::{SystemTime, UNIX_EPOCH};

/// The states of a job, as OGC API - Processes names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JobStatus {
    /// Waiting for a free runner.
    Accepted,
    Running,
    Successful,
    Failed,
    /// Cancelled (or its results deleted) by its owner.
    Dismissed,
}

impl JobStatus {
    pub const ALL: [JobStatus; 5] = [
        Self::Accepted,
        Self::Running,
        Self::Successful,
        Self::Failed,
        Self::Dismissed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Running => "running",
            Self::Successful => "successful",
            Self::Failed => "failed",
            Self::Dismissed => "dismissed",
        }
    }

    /// Successful, failed and dismissed jobs never change status again.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Successful | Self::Failed | Self::Dismissed)
    }
}

impl std::fmt::Display for JobStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for JobStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|j| j.as_str() == s)
            .ok_or_else(|| format!("unknown job status '{s}'"))
    }
}

/// One stored job.
#[derive(Clone, Debug, PartialEq)]
pub struct JobRecord {
    pub id: String,
    /// The process run: `partition`, `coverage`, …
    pub process: String,
    /// Who started it (`None`: internal work).
    pub owner: Option<UserId>,
    /// The starter's scope key (empty = the whole dataset).
    pub scope: String,
    pub status: JobStatus,
    /// Percent done, 0..=100.
    pub progress: f64,
    pub message: Option<String>,
    pub inputs: Value,
    /// The answer, once successful.
    pub result: Option<Value>,
    /// The problem document, once failed.
    pub error: Option<Value>,
    /// Unix milliseconds.
    pub created: i64,
    pub started: Option<i64>,
    pub finished: Option<i64>,
    /// The last write: the runner's heartbeat while the job is accepted or running.
    pub updated: i64,
}

/// Milliseconds since the Unix epoch, now.
pub fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

pub(crate) const COLS: &str = "id, process, owner, scope, status, progress, message, inputs, result, error, created, started, finished, updated";

/// The upsert of [`crate::Store::put_job`]: a stored job that is final is left alone.
pub(crate) const UPSERT: &str =
    "INSERT INTO jobs (id, process, owner, scope, status, progress, message, inputs, result, error, created, started, finished, updated)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
     ON CONFLICT (id) DO UPDATE SET process = excluded.process, owner = excluded.owner, scope = excluded.scope,
       status = excluded.status, progress = excluded.progress, message = excluded.message, inputs = excluded.inputs,
       result = excluded.result, error = excluded.error, created = excluded.created, started = excluded.started,
       finished = excluded.finished, updated = excluded.updated
     WHERE jobs.status NOT IN ('successful', 'failed', 'dismissed')";

/// The dismissal of [`crate::Store::dismiss_job`] ($1 id, $2 now): one statement, so a runner's
/// concurrent heartbeat either lands before it or is refused after it.
pub(crate) const DISMISS: &str =
    "UPDATE jobs SET status = 'dismissed', result = NULL, message = 'dismissed',
       finished = COALESCE(finished, $2), updated = $2
     WHERE id = $1 AND status <> 'dismissed'";

pub(crate) type JobRow = (
    String,
    String,
    Option<String>,
    String,
    String,
    f64,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    i64,
    Option<i64>,
    Option<i64>,
    i64,
);

fn corrupt(id: &str, reason: impl ToString) -> StoreError {
    StoreError::Corrupt {
        what: "job",
        id: id.to_owned(),
        reason: reason.to_string(),
    }
}

fn json(id: &str, field: &str, text: &str) -> Result<Value, StoreError> {
    serde_json::from_str(text).map_err(|e| corrupt(id, format!("{field}: {e}")))
}

pub(crate) fn decode(row: JobRow) -> Result<JobRecord, StoreError> {
    let (
        id,
        process,
        owner,
        scope,
        status,
        progress,
        message,
        inputs,
        result,
        error,
        created,
        started,
        finished,
        updated,
    ) = row;
    let status = status.parse().map_err(|e| corrupt(&id, e))?;
    let inputs = json(&id, "inputs", &inputs)?;
    let result = result.map(|t| json(&id, "result", &t)).transpose()?;
    let error = error.map(|t| json(&id, "error", &t)).transpose()?;
    Ok(JobRecord {
        id,
        process,
        owner: owner.map(UserId),
        scope,
        status,
        progress,
        message,
        inputs,
        result,
        error,
        created,
        started,
        finished,
        updated,
    })
}

/// The limit of a list read as SQL wants it.
pub(crate) fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_and_final_ones_are_final() {
        for s in JobStatus::ALL {
            assert_eq!(s.as_str().parse::<JobStatus>(), Ok(s));
        }
        assert!("done".parse::<JobStatus>().is_err());
        assert!(!JobStatus::Running.is_final() && !JobStatus::Accepted.is_final());
        assert!(
            JobStatus::Dismissed.is_final()
                && JobStatus::Failed.is_final()
                && JobStatus::Successful.is_final()
        );
        assert!(now_millis() > 1_700_000_000_000);
    }
}
