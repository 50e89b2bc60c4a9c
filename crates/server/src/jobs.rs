//! Jobs: long analysis work (a whole-city partition, coverage of every kind) run in the
//! background while the client polls, instead of racing the request timeout. Modelled on the job
//! status document of OGC API - Processes Part 1 (`jobID`, `status`, `progress`, `links`, …).
//!
//! * **Start** ([`start`]): the process's inputs are checked as its synchronous route checks
//!   them (400 naming the field, 403/404 likewise) and the caller must hold the route's
//!   permission ([`Process::action`]); then a [`JobRecord`] goes to the store (`accepted`) and a
//!   task runs it with the caller's [`Access`] passed explicitly (outside a request
//!   `auth::current()` fails closed), the heavy work on the blocking pool.
//! * **Run**: at most [`MAX_RUNNING`] jobs run at once per server; more wait `accepted`, up to
//!   [`MAX_HELD`] jobs per server (then 503 with `Retry-After`). While a job waits or runs its
//!   task writes the record about once a second ([`HEARTBEAT`]): progress from the shared
//!   [`Progress`] handle and the heartbeat `updated`. The store refuses to overwrite a final job,
//!   so a dismissal (written by any replica) shows up at the next heartbeat: the task cancels the
//!   work, which stops at its next progress step.
//! * **Read**: from the store, so every replica answers. A job `accepted`/`running` whose
//!   heartbeat is older than [`STALE_AFTER`] (its server stopped) is reported — and stored —
//!   `failed` with [`STALE_MESSAGE`]. Only the owner (or an admin) sees a job; others get 404.
//! * **Keep**: rows last written more than [`KEEP`] ago are deleted when a job is created.
//!
//! A new process is a variant of [`Process`] with its inputs struct: one arm in
//! [`Process::parse`], [`Process::action`] and [`Process::run`].
use crate::auth::{Access, Action};
use crate::error::ApiError;
use crate::routes::analysis::{self, PartitionPlan};
use crate::state::AppState;
use gridmap_algo::coverage::WalkProfile;
use gridmap_model::{FacilityKind, Progress, Role};
use gridmap_store::{now_millis, JobRecord, JobStatus};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;

/// Jobs one server runs at the same time (each may use a core for minutes).
pub const MAX_RUNNING: usize = 2;
/// Jobs one server holds, running or waiting `accepted`; beyond it a start answers 503.
pub const MAX_HELD: usize = 16;
/// How often a held job's record is written (progress + heartbeat) at most.
pub const HEARTBEAT: Duration = Duration::from_secs(1);
/// A job not written for this long while `accepted` or `running` has lost its server.
pub const STALE_AFTER: Duration = Duration::from_mins(1);
/// Jobs (and their results) are kept this long after their last write.
pub const KEEP: Duration = Duration::from_hours(24);
/// The message of a job whose server stopped while it was held.
pub const STALE_MESSAGE: &str = "the server running this job stopped";
/// `Retry-After` (seconds) of a start refused because the server holds [`MAX_HELD`] jobs.
pub const RETRY_AFTER_S: u64 = 30;

/// This server's runner: the slots of running jobs and the progress handles of the jobs it holds.
pub struct JobRunner {
    running: Arc<Semaphore>,
    held: Mutex<HashMap<String, Arc<Progress>>>,
    /// A pause before each job's work, in milliseconds (tests: to catch a job running).
    pause_ms: AtomicU64,
}

impl Default for JobRunner {
    fn default() -> Self {
        Self {
            running: Arc::new(Semaphore::new(MAX_RUNNING)),
            held: Mutex::new(HashMap::new()),
            pause_ms: AtomicU64::new(0),
        }
    }
}

impl JobRunner {
    fn held(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Progress>>> {
        self.held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether this server holds (runs or queues) the job.
    pub fn holds(&self, id: &str) -> bool {
        self.held().contains_key(id)
    }

    /// Cancels a job this server holds (its work stops at the next progress step).
    fn cancel(&self, id: &str) {
        if let Some(p) = self.held().get(id) {
            p.cancel();
        }
    }

    /// Makes every job wait `pause` after it starts running, before its work (for tests that
    /// need to see a job `running`).
    #[doc(hidden)]
    pub fn pause_before_work(&self, pause: Duration) {
        self.pause_ms.store(
            u64::try_from(pause.as_millis()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Processes

/// A process with checked inputs, ready to run.
pub enum Process {
    /// A partition proposal: the body of `POST /api/partition`.
    Partition(PartitionPlan),
    /// Coverage of one kind, or of every kind (`kind: all`): [`CoverageInputs`].
    Coverage(CoveragePlan),
    /// Where new facilities help most: [`SitingInputs`].
    Siting(Box<SitingPlan>),
}

/// The names [`Process::parse`] knows.
pub const PROCESSES: [&str; 3] = ["partition", "coverage", "siting"];

impl Process {
    pub fn name(&self) -> &'static str {
        match self {
            Process::Partition(_) => "partition",
            Process::Coverage(_) => "coverage",
            Process::Siting(_) => "siting",
        }
    }

    /// The permission a process needs: that of its synchronous route.
    pub fn action(name: &str) -> Option<Action> {
        match name {
            "partition" => Some(Action::Plan),
            "coverage" | "siting" => Some(Action::Read),
            _ => None,
        }
    }

    /// Checks `inputs` of the process `name` for the current caller, as the synchronous route
    /// would: permission first (403), then the inputs (400 naming the field, 404 …).
    pub async fn parse(st: &AppState, name: &str, inputs: Value) -> Result<Process, ApiError> {
        let action = Self::action(name).ok_or_else(|| {
            ApiError::InvalidBody(format!(
                "process: '{name}' is not a process; expected one of {}",
                PROCESSES.join(", ")
            ))
        })?;
        crate::auth::current().permits(action, st.config.anonymous)?;
        match name {
            "partition" => Ok(Process::Partition(
                analysis::plan_partition(st, inputs)
                    .await
                    .map_err(in_inputs)?,
            )),
            "coverage" => Ok(Process::Coverage(CoveragePlan::parse(inputs)?)),
            "siting" => Ok(Process::Siting(Box::new(SitingPlan::parse(inputs)?))),
            _ => Err(ApiError::InvalidBody(format!(
                "process: '{name}' is not a process"
            ))),
        }
    }

    /// Runs the process as the current caller; the answer is what the synchronous route answers.
    async fn run(self, st: &AppState, progress: &Arc<Progress>) -> Result<Value, ApiError> {
        match self {
            Process::Partition(plan) => analysis::run_partition(st, plan, progress).await,
            Process::Coverage(plan) => plan.run(st, progress).await,
            Process::Siting(plan) => plan.run(st, progress).await,
        }
    }
}

/// Names the field of a job's inputs in a parameter error.
fn in_inputs(e: ApiError) -> ApiError {
    match e {
        ApiError::InvalidParameter { name, reason } => {
            ApiError::InvalidBody(format!("inputs.{name}: {reason}"))
        }
        ApiError::InvalidBody(m) => ApiError::InvalidBody(format!("inputs: {m}")),
        e => e,
    }
}

/// The inputs of a coverage job: like `GET /api/coverage`, with `minutes` a number or a list.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CoverageInputs {
    /// A facility kind, or `all`: one summary per kind (the four core kinds and every other kind
    /// the caller's facilities have).
    pub kind: String,
    /// Thresholds in minutes; the first is the headline (default 15).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub minutes: Option<Minutes>,
    /// adult (4.5 km/h, default) or elderly (3.0 km/h).
    #[serde(default)]
    pub profile: Option<String>,
    /// Walking speed in km/h, overrides the profile.
    #[serde(default)]
    pub speed_kmh: Option<f64>,
}

/// One threshold or a list.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum Minutes {
    One(f64),
    Many(Vec<f64>),
}

/// A checked coverage job.
pub struct CoveragePlan {
    /// `None`: every kind.
    kind: Option<String>,
    minutes: Vec<f64>,
    profile: WalkProfile,
}

impl CoveragePlan {
    fn parse(inputs: Value) -> Result<CoveragePlan, ApiError> {
        if !inputs.is_object() {
            return Err(ApiError::InvalidBody(
                "inputs: a JSON object {kind, minutes?, profile?, speed_kmh?}".into(),
            ));
        }
        let i: CoverageInputs = analysis::from_object(inputs).map_err(in_inputs)?;
        // The checks of GET /api/coverage, on its query form.
        let mut q = vec![("kind".to_owned(), i.kind.clone())];
        match &i.minutes {
            Some(Minutes::One(m)) => q.push(("minutes".into(), m.to_string())),
            Some(Minutes::Many(ms)) => q.push((
                "minutes".into(),
                ms.iter().map(f64::to_string).collect::<Vec<_>>().join(","),
            )),
            None => {}
        }
        if let Some(p) = &i.profile {
            q.push(("profile".into(), p.clone()));
        }
        if let Some(s) = i.speed_kmh {
            q.push(("speed_kmh".into(), s.to_string()));
        }
        let w = analysis::parse_walk(
            &q,
            &["kind", "minutes", "profile", "speed_kmh"],
            &[15.0],
            true,
        )
        .map_err(in_inputs)?;
        let kind = analysis::need_kind(&w).map_err(in_inputs)?;
        let all = gridmap_service::facility_kind(&kind)
            .map_err(analysis::service)
            .map_err(in_inputs)?
            .is_none();
        Ok(CoveragePlan {
            kind: (!all).then_some(kind),
            minutes: w.minutes,
            profile: w.profile,
        })
    }

    /// One step for the analysis session, then one per kind.
    async fn run(self, st: &AppState, progress: &Arc<Progress>) -> Result<Value, ApiError> {
        let (_, a) = analysis::session(st).await?;
        let catalog = st.kind_catalog().await?;
        let kinds: Vec<String> = if let Some(k) = &self.kind {
            vec![k.clone()]
        } else {
            // The core kinds, the kinds the profile declares (a department's own, even with
            // no facility yet: a 100 % gap is a finding), then any other kind present.
            let mut kinds: Vec<String> = FacilityKind::CORE
                .iter()
                .map(|k| k.as_str().to_owned())
                .collect();
            for k in &catalog.kinds {
                let code = k.code.as_str();
                if code != "other" && !kinds.iter().any(|x| x == code) {
                    kinds.push(code.to_owned());
                }
            }
            let mut other: Vec<String> = a
                .dataset()
                .facilities
                .iter()
                .map(|f| f.kind.as_str().to_owned())
                .filter(|k| !kinds.contains(k))
                .collect();
            other.sort();
            other.dedup();
            kinds.extend(other);
            kinds
        };
        let total = kinds.len() as u64 + 1;
        progress.step(1, total);
        let mut summaries = Vec::with_capacity(kinds.len());
        for (i, kind) in kinds.into_iter().enumerate() {
            if progress.is_cancelled() {
                return Err(ApiError::Conflict("the job was dismissed".into()));
            }
            let (a, query) = (
                a.clone(),
                gridmap_service::CoverageQuery {
                    kind,
                    minutes: self.minutes.clone(),
                    profile: self.profile,
                },
            );
            let summary =
                analysis::blocking(move || a.coverage(&query).map_err(analysis::service)).await?;
            let mut v =
                serde_json::to_value(&summary).map_err(|e| ApiError::Internal(e.to_string()))?;
            analysis::label_answer(&mut v, &catalog);
            summaries.push(v);
            progress.step(i as u64 + 2, total);
        }
        Ok(match self.kind {
            Some(_) => summaries.pop().unwrap_or_default(),
            None => json!({"kind": "all", "summaries": summaries,
                "facility_profile": catalog.profile.name, "facility_label": catalog.label}),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Starting, running, reading

/// Whether the request asks for an asynchronous answer (`Prefer: respond-async`, RFC 7240).
pub fn prefers_async(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| {
            p.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("respond-async"))
        })
}

/// A new job id: `j` + 32 hex digits (128 random bits).
fn new_id() -> Result<String, ApiError> {
    let b = gridmap_store::random_bytes::<16>()?;
    Ok(format!(
        "j{}",
        b.iter().map(|b| format!("{b:02x}")).collect::<String>()
    ))
}

/// Stores a new job for the current caller and starts its task; answers the stored record.
pub async fn start(st: &AppState, process: Process, inputs: Value) -> Result<JobRecord, ApiError> {
    let access = crate::auth::current();
    let id = new_id()?;
    let progress = Arc::new(Progress::new());
    {
        // Checked and reserved under one lock, so a burst cannot overshoot the limit.
        let mut held = st.jobs.held();
        if held.len() >= MAX_HELD {
            return Err(ApiError::Busy {
                reason: format!("this server already holds {MAX_HELD} jobs; try again later"),
                retry_after: RETRY_AFTER_S,
            });
        }
        held.insert(id.clone(), progress.clone());
    }
    match store_new(st, &access, id.clone(), &process, inputs).await {
        Ok(rec) => {
            tracing::info!(job = %rec.id, process = %rec.process, owner = ?rec.owner, "job accepted");
            let task = run(st.clone(), rec.clone(), process, progress);
            tokio::spawn(crate::auth::with_access(access, task));
            Ok(rec)
        }
        Err(e) => {
            st.jobs.held().remove(&id);
            Err(e)
        }
    }
}

/// Prunes old jobs and stores the new one, `accepted`.
async fn store_new(
    st: &AppState,
    access: &Access,
    id: String,
    process: &Process,
    inputs: Value,
) -> Result<JobRecord, ApiError> {
    let now = now_millis();
    let keep = i64::try_from(KEEP.as_millis()).unwrap_or(i64::MAX);
    match st.store.prune_jobs(now.saturating_sub(keep)).await {
        Ok(0) => {}
        Ok(n) => tracing::debug!(pruned = n, "old jobs deleted"),
        Err(e) => tracing::warn!(error = %e, "could not prune old jobs"),
    }
    let rec = JobRecord {
        id,
        process: process.name().to_owned(),
        owner: access.user().map(|u| u.id.clone()),
        scope: access.scope.key().to_owned(),
        status: JobStatus::Accepted,
        progress: 0.0,
        message: Some("waiting for a free runner".into()),
        inputs,
        result: None,
        error: None,
        created: now,
        started: None,
        finished: None,
        updated: now,
    };
    st.store.put_job(&rec).await?;
    Ok(rec)
}

/// Writes the record with the current progress and a fresh heartbeat; `false` when the stored
/// job is final meanwhile (dismissed, or given up as stale): the work must stop.
async fn heartbeat(st: &AppState, rec: &mut JobRecord, progress: &Progress) -> bool {
    if rec.status == JobStatus::Running {
        // 100 only once the result is stored.
        rec.progress = (progress.fraction() * 100.0).min(99.0);
    }
    rec.updated = now_millis();
    match st.store.put_job(rec).await {
        Ok(written) => written,
        Err(e) => {
            tracing::warn!(job = %rec.id, error = %e, "could not write the job's heartbeat");
            true
        }
    }
}

/// The job's task: wait for a slot, run, store the outcome; heartbeats all along.
async fn run(st: AppState, mut rec: JobRecord, process: Process, progress: Arc<Progress>) {
    let runner = st.jobs.clone();
    let mut tick = tokio::time::interval(HEARTBEAT);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    let slot = runner.running.clone().acquire_owned();
    tokio::pin!(slot);
    let permit = loop {
        tokio::select! {
            p = &mut slot => break p,
            _ = tick.tick() => if !heartbeat(&st, &mut rec, &progress).await {
                runner.held().remove(&rec.id);
                return;
            },
        }
    };
    let Ok(_permit) = permit else {
        runner.held().remove(&rec.id);
        return;
    };
    rec.status = JobStatus::Running;
    rec.started = Some(now_millis());
    rec.message = Some("running".into());
    let mut gone = !heartbeat(&st, &mut rec, &progress).await;
    let pause = Duration::from_millis(runner.pause_ms.load(Ordering::Relaxed));
    let work = async {
        tokio::time::sleep(pause).await;
        if progress.is_cancelled() {
            return Err(ApiError::Conflict("the job was dismissed".into()));
        }
        process.run(&st, &progress).await
    };
    tokio::pin!(work);
    let outcome = if gone {
        None
    } else {
        loop {
            tokio::select! {
                out = &mut work => break Some(out),
                _ = tick.tick(), if !gone => if !heartbeat(&st, &mut rec, &progress).await {
                    // Dismissed (here or on another replica): stop at the next progress step,
                    // and keep the slot until the work has really stopped.
                    progress.cancel();
                    gone = true;
                },
            }
        }
    };
    if let (Some(out), false) = (outcome, gone) {
        let now = now_millis();
        rec.finished = Some(now);
        rec.updated = now;
        match out {
            Ok(result) => {
                rec.status = JobStatus::Successful;
                rec.progress = 100.0;
                rec.message = Some("done".into());
                rec.result = Some(result);
            }
            Err(e) => {
                if e.status().is_server_error() {
                    tracing::error!(job = %rec.id, error = %e, "job failed");
                }
                rec.status = JobStatus::Failed;
                rec.message = Some(e.to_string());
                rec.error = Some(serde_json::to_value(e.problem()).unwrap_or_default());
            }
        }
        match st.store.put_job(&rec).await {
            Ok(true) => tracing::info!(job = %rec.id, status = %rec.status, "job finished"),
            Ok(false) => tracing::info!(job = %rec.id, "job dismissed as it finished"),
            Err(e) => {
                tracing::error!(job = %rec.id, error = %e, "could not store the job's outcome");
            }
        }
    }
    runner.held().remove(&rec.id);
}

/// Whether `access` may see the job: its owner, or an admin. Anyone else is told it does not exist.
fn visible(access: &Access, rec: &JobRecord) -> bool {
    match access.user() {
        Some(u) => u.role == Role::Admin || rec.owner.as_ref() == Some(&u.id),
        None => false,
    }
}

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound {
        what: "job".into(),
        id: id.to_owned(),
    }
}

/// A job whose server stopped holding it is reported, and stored, failed.
async fn settle(st: &AppState, rec: JobRecord) -> Result<JobRecord, ApiError> {
    let now = now_millis();
    let stale_ms = i64::try_from(STALE_AFTER.as_millis()).unwrap_or(i64::MAX);
    if rec.status.is_final()
        || now.saturating_sub(rec.updated) <= stale_ms
        || st.jobs.holds(&rec.id)
    {
        return Ok(rec);
    }
    let problem = json!({"type": "urn:gridmap:problem:job-lost", "title": "Internal Server Error", "status": 500, "detail": STALE_MESSAGE});
    let failed = JobRecord {
        status: JobStatus::Failed,
        message: Some(STALE_MESSAGE.into()),
        error: Some(problem),
        finished: Some(now),
        updated: now,
        ..rec
    };
    if st.store.put_job(&failed).await? {
        tracing::warn!(job = %failed.id, "job given up: no heartbeat for {} s", STALE_AFTER.as_secs());
        Ok(failed)
    } else {
        // Finished (or dismissed) meanwhile.
        let id = failed.id;
        st.store.job(&id).await?.ok_or_else(|| not_found(&id))
    }
}

/// The job `id` as the current caller may see it (404 otherwise), stale jobs settled.
pub async fn get(st: &AppState, id: &str) -> Result<JobRecord, ApiError> {
    let rec = st
        .store
        .job(id)
        .await?
        .filter(|r| visible(&crate::auth::current(), r))
        .ok_or_else(|| not_found(id))?;
    settle(st, rec).await
}

/// The current caller's jobs (an admin's: everyone's), newest first.
pub async fn list(st: &AppState, limit: usize) -> Result<Vec<JobRecord>, ApiError> {
    let access = crate::auth::current();
    let owner = match access.user() {
        Some(u) if u.role == Role::Admin => None,
        Some(u) => Some(u.id.clone()),
        None => return Ok(Vec::new()),
    };
    let mut out = Vec::new();
    for rec in st.store.jobs(owner.as_ref(), limit).await? {
        out.push(settle(st, rec).await?);
    }
    Ok(out)
}

/// Dismisses the job `id` (404 unless the caller may see it): a held job is cancelled here at
/// once, one held by another server at that server's next heartbeat.
pub async fn dismiss(st: &AppState, id: &str) -> Result<JobRecord, ApiError> {
    get(st, id).await?;
    let rec = st
        .store
        .dismiss_job(id)
        .await?
        .ok_or_else(|| not_found(id))?;
    st.jobs.cancel(id);
    tracing::info!(job = %id, "job dismissed");
    Ok(rec)
}

// ---------------------------------------------------------------------------------------------
// The status document

/// A link of a status document.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Link {
    pub href: String,
    pub rel: String,
    #[serde(rename = "type")]
    pub media_type: String,
    pub title: String,
}

/// A job's status (OGC API - Processes `statusInfo`).
#[derive(Serialize, utoipa::ToSchema)]
pub struct StatusInfo {
    #[serde(rename = "jobID")]
    pub job_id: String,
    #[serde(rename = "processID")]
    pub process_id: String,
    /// Always `process`.
    #[serde(rename = "type")]
    pub kind: String,
    /// accepted, running, successful, failed or dismissed.
    pub status: String,
    pub message: Option<String>,
    /// Percent done, 0..100 (100 once successful).
    pub progress: u8,
    /// RFC 3339 UTC.
    pub created: String,
    pub started: Option<String>,
    pub finished: Option<String>,
    /// The last write of the job's server (its heartbeat while the job is held).
    pub updated: String,
    /// `self`, and `results` once successful.
    pub links: Vec<Link>,
}

fn time(ms: i64) -> String {
    crate::time::rfc3339(
        std::time::UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0)),
    )
}

/// The status document of a job; `base` is the server's base URL.
pub fn status_info(rec: &JobRecord, base: &str) -> StatusInfo {
    let href = format!("{base}/api/jobs/{}", rec.id);
    let mut links = vec![Link {
        href: href.clone(),
        rel: "self".into(),
        media_type: "application/json".into(),
        title: "this job's status".into(),
    }];
    if rec.status == JobStatus::Successful {
        links.push(Link {
            href: format!("{href}/results"),
            rel: "http://www.opengis.net/def/rel/ogc/1.0/results".into(),
            media_type: "application/json".into(),
            title: "the job's results".into(),
        });
    }
    StatusInfo {
        job_id: rec.id.clone(),
        process_id: rec.process.clone(),
        kind: "process".into(),
        status: rec.status.as_str().to_owned(),
        message: rec.message.clone(),
        progress: rec.progress.clamp(0.0, 100.0).floor() as u8,
        created: time(rec.created),
        started: rec.started.map(time),
        finished: rec.finished.map(time),
        updated: time(rec.updated),
        links,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue};

    #[test]
    fn respond_async_is_found_among_preferences() {
        let mut h = HeaderMap::new();
        assert!(!prefers_async(&h));
        h.insert(
            "prefer",
            HeaderValue::from_static("return=minimal, Respond-Async; wait=10"),
        );
        assert!(prefers_async(&h));
        h.insert("prefer", HeaderValue::from_static("respond-asynchronously"));
        assert!(!prefers_async(&h));
    }

    #[test]
    fn ids_are_long_random_and_distinct() {
        let (a, b) = (new_id().unwrap(), new_id().unwrap());
        assert!(a.starts_with('j') && a.len() == 33 && a != b);
    }

    #[test]
    fn every_process_has_an_action() {
        for p in PROCESSES {
            assert!(Process::action(p).is_some(), "{p}");
        }
        assert_eq!(Process::action("partition"), Some(Action::Plan));
        assert_eq!(Process::action("nope"), None);
    }
}

/// The inputs of a siting job: the questions of `gridmap site`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SitingInputs {
    /// The facility kind to site (existing sites of the kind stay open).
    pub kind: String,
    /// New sites to add (mclp, pmedian, pcenter); the most the set cover may open.
    pub add: usize,
    /// mclp (default), setcover, pmedian, pcenter, capacitated (each site serves at most its
    /// capacity) or closure (which `add` existing sites lose the fewest covered households).
    #[serde(default)]
    pub model: Option<String>,
    /// capacitated: households each new site serves (default: the median capacity of the
    /// existing sites of the kind).
    #[serde(default)]
    pub capacity: Option<u64>,
    /// Walking minutes that count as covered (default 15).
    #[serde(default)]
    pub minutes: Option<f64>,
    /// adult (default) or elderly.
    #[serde(default)]
    pub profile: Option<String>,
    #[serde(default)]
    pub speed_kmh: Option<f64>,
    /// setcover: the share of households to reach, %.
    #[serde(default)]
    pub target_pct: Option<f64>,
    /// Seconds for the exact search (default 30, at most 600); the incumbent and its gap after.
    #[serde(default)]
    pub time_limit_s: Option<f64>,
    /// Demand: households (default) or elderly.
    #[serde(default)]
    pub demand: Option<String>,
    /// Candidate sites: a GeoJSON FeatureCollection of points (`{"points": {...}}`), or
    /// `{"sample": N, "seed": S}` graph nodes ("any street corner"); not used by closure.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub candidates: Value,
}

/// A drawn area: a GeoJSON Polygon or MultiPolygon geometry in WGS84 lon/lat (positions
/// checked before conversion, as for drawn grids).
fn within_area(g: &Value) -> Result<geo_types::MultiPolygon<f64>, String> {
    let geom = crate::geojson::read_geometry(g, &crate::crs::ApiCrs::DEFAULT)
        .map_err(|e| match e {
            ApiError::InvalidBody(m) | ApiError::Unprocessable(m) => m,
            other => other.to_string(),
        })?
        .ok_or_else(|| "no geometry".to_owned())?;
    if geo::CoordsIter::coords_count(&geom) > crate::geojson::MAX_VERTICES {
        return Err(format!(
            "more than {} positions (simplify the area)",
            crate::geojson::MAX_VERTICES
        ));
    }
    crate::geojson::area(geom).map_err(str::to_owned)
}

/// A checked siting job.
pub struct SitingPlan {
    request: gridmap_service::SitingRequest,
}

/// Most candidates one job may weigh (one bounded search each).
pub const MAX_SITING_CANDIDATES: usize = 50_000;

impl SitingPlan {
    fn parse(inputs: Value) -> Result<SitingPlan, ApiError> {
        use gridmap_algo::siting::{Candidate, DemandWeight, Model, SolverChoice};
        use gridmap_service::CandidateSource;
        if !inputs.is_object() {
            return Err(ApiError::InvalidBody(
                "inputs: a JSON object {kind, add, candidates, model?, minutes?, …}".into(),
            ));
        }
        let i: SitingInputs = analysis::from_object(inputs).map_err(in_inputs)?;
        let bad = |field: &str, reason: String| {
            ApiError::InvalidBody(format!("inputs.{field}: {reason}"))
        };
        let mut q = vec![
            ("kind".to_owned(), i.kind.clone()),
            ("minutes".to_owned(), i.minutes.unwrap_or(15.0).to_string()),
        ];
        if let Some(p) = &i.profile {
            q.push(("profile".into(), p.clone()));
        }
        if let Some(v) = i.speed_kmh {
            q.push(("speed_kmh".into(), v.to_string()));
        }
        let w = analysis::parse_walk(
            &q,
            &["kind", "minutes", "profile", "speed_kmh"],
            &[15.0],
            false,
        )
        .map_err(in_inputs)?;
        let model = Model::parse(i.model.as_deref().unwrap_or("mclp"))
            .map_err(|e| bad("model", e.to_string()))?;
        if model == Model::SetCover && i.target_pct.is_none() {
            return Err(bad(
                "target_pct",
                "the setcover model needs target_pct (share of households to reach, %)".into(),
            ));
        }
        if !(1..=1000).contains(&i.add) {
            return Err(bad(
                "add",
                format!("{}: between 1 and 1000 new sites", i.add),
            ));
        }
        let time_limit_s = i.time_limit_s.unwrap_or(30.0);
        if !(time_limit_s.is_finite() && (0.0..=600.0).contains(&time_limit_s)) {
            return Err(bad(
                "time_limit_s",
                format!("{time_limit_s}: seconds between 0 and 600"),
            ));
        }
        let demand = match i.demand.as_deref().unwrap_or("households") {
            "households" => DemandWeight::Households,
            "elderly" => DemandWeight::Elderly,
            other => return Err(bad("demand", format!("'{other}': households or elderly"))),
        };
        if i.capacity == Some(0) {
            return Err(bad("capacity", "0: households per new site ≥ 1".into()));
        }
        let candidates = match (i.candidates.get("points"), i.candidates.get("sample")) {
            _ if model == Model::Closure => CandidateSource::None,
            (Some(fc), None) => {
                let feats = fc
                    .get("features")
                    .and_then(Value::as_array)
                    .ok_or_else(|| {
                        bad("candidates.points", "a GeoJSON FeatureCollection".into())
                    })?;
                if feats.is_empty() || feats.len() > MAX_SITING_CANDIDATES {
                    return Err(bad(
                        "candidates.points",
                        format!(
                            "{} features: between 1 and {MAX_SITING_CANDIDATES}",
                            feats.len()
                        ),
                    ));
                }
                let mut out = Vec::with_capacity(feats.len());
                for (n, f) in feats.iter().enumerate() {
                    let c = f.pointer("/geometry/coordinates").and_then(Value::as_array);
                    let (Some(lon), Some(lat)) = (
                        c.and_then(|c| c.first()).and_then(Value::as_f64),
                        c.and_then(|c| c.get(1)).and_then(Value::as_f64),
                    ) else {
                        return Err(bad(
                            &format!("candidates.points.features[{n}]"),
                            "not a Point with [lon, lat]".into(),
                        ));
                    };
                    if !(lon.is_finite()
                        && lat.is_finite()
                        && (-180.0..=180.0).contains(&lon)
                        && (-90.0..=90.0).contains(&lat))
                    {
                        return Err(bad(
                            &format!("candidates.points.features[{n}]"),
                            format!("[{lon}, {lat}] is not a WGS84 position"),
                        ));
                    }
                    let id = match f.get("id").or_else(|| f.pointer("/properties/id")) {
                        Some(Value::String(s)) => s.clone(),
                        Some(Value::Number(x)) => x.to_string(),
                        _ => format!("candidate-{n}"),
                    };
                    out.push(Candidate { id, lon, lat });
                }
                CandidateSource::Points(out)
            }
            (None, Some(n)) => {
                let n = n
                    .as_u64()
                    .filter(|n| (1..=MAX_SITING_CANDIDATES as u64).contains(n))
                    .ok_or_else(|| {
                        bad(
                            "candidates.sample",
                            format!("between 1 and {MAX_SITING_CANDIDATES} nodes"),
                        )
                    })?;
                let seed = i
                    .candidates
                    .get("seed")
                    .map_or(Some(0), Value::as_u64)
                    .ok_or_else(|| bad("candidates.seed", "a non-negative integer".into()))?;
                match i.candidates.get("within") {
                    None => CandidateSource::SampleNodes {
                        n: n as usize,
                        seed,
                    },
                    Some(g) => {
                        let area = within_area(g)
                            .map_err(|reason| bad("candidates.within", reason))?;
                        CandidateSource::SampleWithin {
                            n: n as usize,
                            seed,
                            area,
                        }
                    }
                }
            }
            (None, None) if i.candidates.get("buildings").is_some() || i.candidates.get("facilities").is_some() => {
                let list = |key: &str| -> Result<Option<Vec<String>>, ApiError> {
                    match i.candidates.get(key) {
                        None => Ok(None),
                        Some(Value::Array(a)) if !a.is_empty() && a.len() <= 100 => a
                            .iter()
                            .map(|v| v.as_str().map(str::to_owned))
                            .collect::<Option<Vec<String>>>()
                            .map(Some)
                            .ok_or_else(|| bad(&format!("candidates.{key}"), "a list of names".into())),
                        Some(_) => Err(bad(&format!("candidates.{key}"), "a list of 1 to 100 names".into())),
                    }
                };
                match (list("buildings")?, list("facilities")?) {
                    (Some(b), None) => CandidateSource::Buildings(b),
                    (None, Some(f)) => CandidateSource::Facilities(f),
                    _ => return Err(bad("candidates", "one of buildings or facilities, not both".into())),
                }
            }
            _ => {
                return Err(bad(
                    "candidates",
                    "one of {\"points\": FeatureCollection}, {\"sample\": N, \"seed\": S, \"within\"?: Polygon}, {\"buildings\": [types]} or {\"facilities\": [kinds]}".into(),
                ))
            }
        };
        Ok(SitingPlan {
            request: gridmap_service::SitingRequest {
                kind: analysis::need_kind(&w).map_err(in_inputs)?,
                model,
                add: i.add,
                minutes: w.minutes[0],
                profile: w.profile,
                candidates,
                target_pct: i.target_pct,
                time_limit_s,
                solver: SolverChoice::Exact,
                demand,
                capacity: i.capacity,
            },
        })
    }

    /// One step for the analysis session; the search reports its covering searches, then the
    /// exact search (capped at 99 % until it ends). Cancelled between steps.
    async fn run(self, st: &AppState, progress: &Arc<Progress>) -> Result<Value, ApiError> {
        let (_, a) = analysis::session(st).await?;
        progress.set(0.05);
        let p = progress.clone();
        let req = self.request;
        analysis::blocking(move || {
            let report = |x: gridmap_algo::siting::Progress| match x.stage {
                "covering" | "covering existing sites" => p.set(
                    0.05 + 0.75
                        * if x.total == 0 {
                            1.0
                        } else {
                            x.done as f64 / x.total as f64
                        },
                ),
                _ => p.set(0.9),
            };
            let summary = a
                .site(&req, &report, Some(p.cancel_flag()))
                .map_err(analysis::service)?;
            let sites = gridmap_service::siting_geojson(&summary);
            let mut v =
                serde_json::to_value(&summary).map_err(|e| ApiError::Internal(e.to_string()))?;
            if let Some(o) = v.as_object_mut() {
                o.insert(
                    "sites_geojson".into(),
                    serde_json::to_value(&sites).map_err(|e| ApiError::Internal(e.to_string()))?,
                );
            }
            Ok(v)
        })
        .await
    }
}
