//! The worker pool: `workers.count` loops that claim a job, run it with a heartbeat, and record
//! the outcome, fenced by the lease token so a worker that lost its lease cannot overwrite the
//! work of the one that took over.

use std::{sync::Arc, time::Duration};

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::{JobError, JobRun, Queue, Registry, backoff};
use crate::{
    config::WorkersConfig,
    db::{self, Db, jobs::Claimed},
};

pub struct WorkerPool {
    tasks: JoinSet<()>,
    cancel: CancellationToken,
    pub owner: String,
}

struct Worker {
    db: Db,
    registry: Registry,
    /// Jobs running now in this process, by kind (for the kinds with a limit).
    running: std::sync::Mutex<std::collections::HashMap<String, usize>>,
    owner: String,
    lease: Duration,
    poll: Duration,
    retry_base_ms: u64,
    grace: Duration,
    cancel: CancellationToken,
}

impl WorkerPool {
    /// Starts `config.count` workers. `owner` names this process in leases (host and pid).
    pub fn start(queue: &Queue, registry: Registry, config: &WorkersConfig, grace: Duration) -> WorkerPool {
        let owner = format!(
            "{}:{}:{}",
            std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into()),
            std::process::id(),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let cancel = CancellationToken::new();
        let worker = Arc::new(Worker {
            db: queue.db.clone(),
            registry,
            running: std::sync::Mutex::new(std::collections::HashMap::new()),
            owner: owner.clone(),
            lease: Duration::from_secs(config.lease_seconds),
            poll: Duration::from_millis(config.poll_interval_ms),
            retry_base_ms: config.retry_base_ms,
            grace,
            cancel: cancel.clone(),
        });
        let mut tasks = JoinSet::new();
        for n in 0..config.count {
            let worker = worker.clone();
            let notify = queue.notified();
            tasks.spawn(
                async move { worker.run_loop(notify).await }.instrument(tracing::info_span!("worker", n)),
            );
        }
        tracing::info!(owner = %owner, count = config.count, "workers started");
        WorkerPool { tasks, cancel, owner }
    }

    /// Runs a task alongside the workers (a scheduler), stopped with them; it receives the
    /// pool's cancellation token.
    pub fn attach<F, Fut>(&mut self, task: F)
    where
        F: FnOnce(CancellationToken) -> Fut,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        self.tasks.spawn(task(self.cancel.clone()));
    }

    /// Stops claiming; running jobs get the grace period to finish, then are released for
    /// another worker to take.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        while self.tasks.join_next().await.is_some() {}
        tracing::info!(owner = %self.owner, "workers stopped");
    }
}

impl Worker {
    /// The kinds this worker may take now: every kind but those at their limit.
    fn claimable(&self) -> Vec<&'static str> {
        let running = self.running.lock().map(|r| r.clone()).unwrap_or_default();
        self.registry
            .kinds()
            .into_iter()
            .filter(|kind| {
                self.registry
                    .limit(kind)
                    .is_none_or(|limit| running.get(*kind).copied().unwrap_or(0) < limit)
            })
            .collect()
    }

    /// Counts a claimed job against its kind's limit (claims race; the count settles it).
    fn start_counting(&self, kind: &str) -> bool {
        let Ok(mut running) = self.running.lock() else {
            return true;
        };
        let count = running.entry(kind.to_owned()).or_insert(0);
        match self.registry.limit(kind) {
            Some(limit) if *count >= limit => false,
            _ => {
                *count += 1;
                true
            }
        }
    }

    fn stop_counting(&self, kind: &str) {
        if let Ok(mut running) = self.running.lock()
            && let Some(count) = running.get_mut(kind)
        {
            *count = count.saturating_sub(1);
        }
    }

    async fn run_loop(&self, notify: Arc<tokio::sync::Notify>) {
        let lease_ms = i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX);
        while !self.cancel.is_cancelled() {
            self.reap().await;
            let kinds = self.claimable();
            let token = uuid::Uuid::new_v4().to_string();
            let claimed = if kinds.is_empty() {
                Ok(None)
            } else {
                db::jobs::claim(&self.db, &self.owner, &token, lease_ms, &kinds).await
            };
            match claimed {
                Ok(Some(job)) if !self.start_counting(&job.kind) => {
                    // Another worker of ours took the last slot meanwhile: give it back.
                    let _ = db::jobs::release(&self.db, &job.id, &job.lease_token).await;
                }
                Ok(Some(job)) => {
                    let kind = job.kind.clone();
                    let span =
                        tracing::info_span!("job", id = %job.id, kind = %job.kind, attempt = job.attempts);
                    self.run_job(job, lease_ms).instrument(span).await;
                    self.stop_counting(&kind);
                }
                Ok(None) => {
                    tokio::select! {
                        _ = tokio::time::sleep(self.poll) => {}
                        _ = notify.notified() => {}
                        _ = self.cancel.cancelled() => {}
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot claim jobs; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(self.poll.max(Duration::from_secs(1))) => {}
                        _ = self.cancel.cancelled() => {}
                    }
                }
            }
        }
    }

    /// Fails jobs whose worker vanished on their last attempt and tells their handlers.
    async fn reap(&self) {
        match db::jobs::reap_abandoned(&self.db).await {
            Ok(reaped) => {
                for (id, kind, payload) in reaped {
                    tracing::warn!(job = %id, kind = %kind, "job abandoned on its last attempt");
                    if let Some(handler) = self.registry.get(&kind) {
                        handler
                            .failed(
                                &payload,
                                "the worker running it stopped answering on its last attempt",
                            )
                            .await;
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot reap abandoned jobs"),
        }
    }

    async fn run_job(&self, job: Claimed, lease_ms: i64) {
        let Some(handler) = self.registry.get(&job.kind).cloned() else {
            // Claims are filtered by our kinds, so this is a bug, not a deployment mismatch.
            self.finish(
                &job,
                Err(JobError::permanent(format!(
                    "no handler for job kind {}",
                    job.kind
                ))),
            )
            .await;
            return;
        };
        let run = JobRun {
            id: job.id.clone(),
            payload: job.payload.clone(),
            attempt: job.attempts,
            max_attempts: job.max_attempts,
        };
        // Run in its own task: a panic in a handler fails the job, not the worker.
        let mut work =
            tokio::spawn(async move { handler.run(&run).await }.instrument(tracing::Span::current()));
        let mut beat = tokio::time::interval(self.lease / 3);
        beat.tick().await;
        let mut deadline: Option<std::pin::Pin<Box<tokio::time::Sleep>>> = None;
        loop {
            tokio::select! {
                joined = &mut work => {
                    let outcome = joined.unwrap_or_else(|e| {
                        Err(JobError::retry(if e.is_panic() { "the job panicked" } else { "the job was cancelled" }))
                    });
                    self.finish(&job, outcome).await;
                    return;
                }
                _ = beat.tick() => {
                    match db::jobs::heartbeat(&self.db, &job.id, &job.lease_token, lease_ms).await {
                        Ok(true) => {}
                        Ok(false) => {
                            tracing::warn!("lease lost; abandoning the run");
                            work.abort();
                            return;
                        }
                        Err(e) => tracing::warn!(error = %e, "heartbeat failed"),
                    }
                }
                _ = self.cancel.cancelled(), if deadline.is_none() => {
                    deadline = Some(Box::pin(tokio::time::sleep(self.grace)));
                }
                _ = async { if let Some(d) = deadline.as_mut() { d.await } }, if deadline.is_some() => {
                    work.abort();
                    match db::jobs::release(&self.db, &job.id, &job.lease_token).await {
                        Ok(_) => tracing::info!("job released at shutdown"),
                        Err(e) => tracing::warn!(error = %e, "cannot release job; its lease will expire"),
                    }
                    return;
                }
            }
        }
    }

    async fn finish(&self, job: &Claimed, outcome: Result<(), JobError>) {
        match outcome {
            Ok(()) => match db::jobs::complete(&self.db, &job.id, &job.lease_token).await {
                Ok(true) => tracing::info!("job done"),
                Ok(false) => tracing::warn!("job finished after its lease was lost"),
                Err(e) => tracing::warn!(error = %e, "cannot record completion; the job will run again"),
            },
            Err(JobError {
                message,
                defer: Some(wait),
                ..
            }) => {
                let run_after = db::now_ms() + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 2);
                match db::jobs::defer(&self.db, &job.id, &job.lease_token, &message, run_after).await {
                    Ok(true) => tracing::info!(reason = %message, "job deferred"),
                    Ok(false) => tracing::warn!("job deferred after its lease was lost"),
                    Err(e) => tracing::warn!(error = %e, "cannot defer; the lease will expire"),
                }
            }
            Err(error) => {
                let retry_at = db::now_ms()
                    + i64::try_from(backoff(self.retry_base_ms, job.attempts).as_millis())
                        .unwrap_or(i64::MAX / 2);
                let state = db::jobs::fail(
                    &self.db,
                    &job.id,
                    &job.lease_token,
                    &error.message,
                    retry_at,
                    error.permanent,
                )
                .await;
                match state {
                    Ok(Some(state)) if state == "failed" => {
                        tracing::warn!(error = %error.message, "job failed for good");
                        if let Some(handler) = self.registry.get(&job.kind) {
                            handler.failed(&job.payload, &error.message).await;
                        }
                    }
                    Ok(Some(_)) => tracing::info!(error = %error.message, "job failed; will retry"),
                    Ok(None) => tracing::warn!("job failed after its lease was lost"),
                    Err(e) => tracing::warn!(error = %e, "cannot record failure; the lease will expire"),
                }
            }
        }
    }
}
