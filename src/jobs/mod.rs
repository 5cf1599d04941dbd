//! The durable job queue: jobs live in the database, carry ids rather than data, and are claimed
//! under a lease that a heartbeat extends. A worker that dies simply stops heartbeating; its job
//! becomes claimable again when the lease runs out.

pub mod pool;

use std::{collections::HashMap, sync::Arc, time::Duration};

use tokio::sync::Notify;

use crate::{
    db::{self, Db},
    error::{Error, Kind},
};

/// One claimed run of a job, as its handler sees it.
#[derive(Debug, Clone)]
pub struct JobRun {
    pub id: String,
    pub payload: String,
    /// 1 on the first run.
    pub attempt: i64,
    pub max_attempts: i64,
}

impl JobRun {
    pub fn payload<T: serde::de::DeserializeOwned>(&self) -> Result<T, JobError> {
        serde_json::from_str(&self.payload)
            .map_err(|e| JobError::permanent(format!("malformed job payload: {e}")))
    }
}

/// Why a run failed, and whether another attempt could succeed.
#[derive(Debug, Clone)]
pub struct JobError {
    pub message: String,
    pub permanent: bool,
    /// Not a failure: the job cannot run yet (its target is known to be down). It waits this
    /// long and the attempt does not count.
    pub defer: Option<Duration>,
}

impl JobError {
    pub fn retry(message: impl Into<String>) -> Self {
        JobError {
            message: message.into(),
            permanent: false,
            defer: None,
        }
    }
    pub fn permanent(message: impl Into<String>) -> Self {
        JobError {
            message: message.into(),
            permanent: true,
            defer: None,
        }
    }
    pub fn defer(message: impl Into<String>, wait: Duration) -> Self {
        JobError {
            message: message.into(),
            permanent: false,
            defer: Some(wait),
        }
    }
}

impl From<Error> for JobError {
    fn from(e: Error) -> Self {
        // Infrastructure trouble may pass; a verdict about the input will not.
        let permanent = !matches!(e.kind, Kind::Internal | Kind::Unavailable | Kind::BadGateway);
        JobError {
            message: e.to_string(),
            permanent,
            defer: None,
        }
    }
}

impl From<std::io::Error> for JobError {
    fn from(e: std::io::Error) -> Self {
        // Local disk trouble (full, busy) may well pass.
        JobError::retry(format!("i/o error: {e}"))
    }
}

#[async_trait::async_trait]
pub trait JobHandler: Send + Sync {
    async fn run(&self, job: &JobRun) -> Result<(), JobError>;

    /// Called once when the job has failed for good (attempts spent, permanent error, or its
    /// worker vanished on the last attempt), so the owner of the work can say so.
    async fn failed(&self, _payload: &str, _error: &str) {}
}

#[derive(Clone, Default)]
pub struct Registry {
    handlers: HashMap<&'static str, Arc<dyn JobHandler>>,
    /// Kinds that may run at most this many at once in one process.
    limits: HashMap<&'static str, usize>,
}

impl Registry {
    pub fn register(&mut self, kind: &'static str, handler: Arc<dyn JobHandler>) {
        self.handlers.insert(kind, handler);
    }

    /// A kind of job that may run at most `limit` at a time in this process (heavy work, such
    /// as transcoding, that must leave workers free for the rest).
    pub fn register_limited(&mut self, kind: &'static str, handler: Arc<dyn JobHandler>, limit: usize) {
        self.handlers.insert(kind, handler);
        self.limits.insert(kind, limit.max(1));
    }

    pub fn limit(&self, kind: &str) -> Option<usize> {
        self.limits.get(kind).copied()
    }
    pub fn get(&self, kind: &str) -> Option<&Arc<dyn JobHandler>> {
        self.handlers.get(kind)
    }
    pub fn kinds(&self) -> Vec<&'static str> {
        let mut kinds: Vec<_> = self.handlers.keys().copied().collect();
        kinds.sort_unstable();
        kinds
    }
}

/// Enqueues jobs and wakes this process's idle workers; workers elsewhere find them by polling.
#[derive(Clone)]
pub struct Queue {
    pub db: Db,
    notify: Arc<Notify>,
    max_attempts: u32,
}

impl Queue {
    pub fn new(db: Db, max_attempts: u32) -> Queue {
        Queue {
            db,
            notify: Arc::new(Notify::new()),
            max_attempts,
        }
    }

    /// A job to write, due now, for the caller's own transaction or for [`Queue::enqueue`].
    pub fn prepare(
        &self,
        kind: &'static str,
        payload: &impl serde::Serialize,
    ) -> Result<db::jobs::NewJob, Error> {
        let payload = serde_json::to_string(payload)
            .map_err(|e| Error::internal("cannot encode job payload").with_source(e))?;
        Ok(db::jobs::NewJob {
            id: uuid::Uuid::now_v7().to_string(),
            kind,
            payload,
            max_attempts: self.max_attempts,
            run_after: db::now_ms(),
        })
    }

    pub async fn enqueue(
        &self,
        kind: &'static str,
        payload: &impl serde::Serialize,
    ) -> Result<String, Error> {
        let job = self.prepare(kind, payload)?;
        db::jobs::enqueue(&self.db.pool, &job).await?;
        self.wake();
        Ok(job.id)
    }

    /// Tells idle workers of this process that a job was committed.
    pub fn wake(&self) {
        self.notify.notify_waiters();
    }

    pub(crate) fn notified(&self) -> Arc<Notify> {
        self.notify.clone()
    }
}

/// Delay before attempt `attempt + 1`: the base doubled per failed attempt, at most an hour,
/// with up to a tenth added at random so retries of many jobs do not arrive together.
pub fn backoff(base_ms: u64, attempt: i64) -> Duration {
    let exponent = u32::try_from(attempt.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    let delay = base_ms.saturating_mul(1u64 << exponent).min(3_600_000);
    let jitter = rand::random_range(0..=delay / 10);
    Duration::from_millis(delay + jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        for (attempt, base) in [(1, 1000u64), (2, 2000), (3, 4000), (5, 16000)] {
            let d = backoff(1000, attempt).as_millis() as u64;
            assert!(d >= base && d <= base + base / 10, "attempt {attempt}: {d}");
        }
        assert!(backoff(1000, 40).as_millis() <= 3_960_000);
    }
}
