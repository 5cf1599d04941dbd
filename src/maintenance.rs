//! The periodic clean-up, as a job on the durable queue: media uploaded but never posted,
//! expired resumable uploads and sessions, and old finished jobs. Every process schedules it
//! with the same id per period, so it runs once per period however many processes there are.

use std::time::Duration;

use crate::{
    db,
    jobs::{JobError, JobHandler, JobRun},
    media::process::{PURGE_MEDIA, Payload},
    state::AppState,
    storage::Store,
};

pub const CLEANUP: &str = "maintenance.cleanup";
const DAY_MS: i64 = 24 * 3600 * 1000;
/// Unposted uploads are kept this long (Mastodon keeps them a day too).
pub const UNATTACHED_MEDIA_MS: i64 = DAY_MS;
pub const DONE_JOBS_MS: i64 = 7 * DAY_MS;

pub struct Cleanup {
    pub state: AppState,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub media: usize,
    pub uploads: usize,
    pub sessions: u64,
    pub jobs: u64,
    pub copies_checked: usize,
}

pub async fn run(state: &AppState) -> crate::error::Result<Report> {
    let now = db::now_ms();
    let mut report = Report::default();
    for media_id in db::maintenance::unattached_media(&state.db, now - UNATTACHED_MEDIA_MS).await? {
        let purge = state.queue.prepare(
            PURGE_MEDIA,
            &Payload {
                media_id: media_id.clone(),
            },
        )?;
        db::maintenance::delete_media(&state.db, &media_id, &purge).await?;
        report.media += 1;
    }
    for upload_id in db::maintenance::expired_uploads(&state.db).await? {
        remove_chunks(&state.store, &upload_id).await?;
        db::tus::delete(&state.db, &upload_id).await?;
        report.uploads += 1;
    }
    report.sessions = db::maintenance::expire_sessions(&state.db).await?;
    report.jobs = db::maintenance::prune_done_jobs(&state.db, now - DONE_JOBS_MS).await?;
    // Stored copies of other servers' videos are read back now and then: rot is found here.
    report.copies_checked = crate::mirror::verify::schedule_checks(state).await?;
    // Mirrors that stopped renewing their promise are no longer listed, and followers' servers
    // are told with the video (an Update whose copies no longer name them).
    for status_id in db::mirrors::forget_expired(&state.db).await? {
        crate::federation::outbox::updated(state, &status_id).await?;
    }
    // Views change and videos age: what the strategies want changes with them.
    crate::mirror::strategy::schedule(state).await?;
    // Servers marked dead are asked again; one that answers gets its parked deliveries.
    if let Err(e) = crate::federation::outbox::probe_dead_peers(state).await {
        tracing::warn!(error = %e, "cannot probe dead servers");
    }
    state.queue.wake();
    Ok(report)
}

async fn remove_chunks(store: &Store, upload_id: &str) -> crate::error::Result<()> {
    for chunk in store.list(&format!("uploads/{upload_id}/")).await? {
        store.delete(&chunk.key).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl JobHandler for Cleanup {
    async fn run(&self, _job: &JobRun) -> Result<(), JobError> {
        let report = run(&self.state).await?;
        tracing::info!(?report, "clean-up done");
        Ok(())
    }
}

/// Enqueues the clean-up once per `every`, shared by all processes through the job id.
pub async fn schedule(state: AppState, every: Duration, cancel: tokio_util::sync::CancellationToken) {
    let every_ms = i64::try_from(every.as_millis()).unwrap_or(i64::MAX).max(1);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = cancel.cancelled() => return,
        }
        let period = db::now_ms() / every_ms;
        match state.queue.prepare(CLEANUP, &serde_json::json!({})) {
            Ok(mut job) => {
                job.id = format!("cleanup-{period}");
                if let Err(e) = db::jobs::enqueue_once(&state.db, &job).await {
                    tracing::warn!(error = %e, "cannot schedule the clean-up");
                }
                state.queue.wake();
            }
            Err(e) => tracing::warn!(error = %e, "cannot schedule the clean-up"),
        }
    }
}
