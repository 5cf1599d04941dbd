//! The periodic clean-up, as a job on the durable queue: media uploaded but never posted,
//! expired resumable uploads and sessions, old finished jobs, received activities no sender
//! still retries, and temp files killed processes left. Every process schedules it with the same
//! id per period, so it runs once per period however many processes there are.

use std::{
    path::{Path, PathBuf},
    time::{Duration, SystemTime},
};

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
/// Received activities are kept this long, for their ids: a repeat of one we still know is
/// dropped. A replayed request is refused by its signature's Date after an hour anyway, but a
/// sender that retries a delivery signs it afresh, and servers retry for days (Mastodon's 16
/// Sidekiq retries span about two days, Sidekiq's default 25 about three weeks); a month
/// outlasts them. Processing ends within the jobs' retries (hours), so nothing waiting goes.
pub const INBOX_MS: i64 = 30 * DAY_MS;
/// A temp file or folder nothing has written to for this long belongs to no live request or
/// transcode: a spool grows with every chunk that arrives, a transcode writes a segment every few
/// seconds. The names record no owner (another process may share the folder), so age decides.
pub const STALE_TEMP: Duration = Duration::from_secs(6 * 3600);
/// What the sweep may remove from `storage.tmp_path`: the upload spools
/// (`media::ingest::spool`), tus chunk and assembly spools (`media::tus`) and transcode folders
/// (`media::process`). Anything else stays: `mirrors/` holds partial copies that resume, and
/// the folder may be shared with other programs.
const TEMP_PREFIXES: [&str; 3] = ["upload-", "tus-", "transcode-"];

pub struct Cleanup {
    pub state: AppState,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub media: usize,
    pub uploads: usize,
    pub sessions: u64,
    pub jobs: u64,
    pub activities: u64,
    pub copies_checked: usize,
    /// Stale temp files and folders removed.
    pub temp: usize,
    /// Account archives past their week.
    pub exports: usize,
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
    for (export_id, key) in db::exports::expired(&state.db).await? {
        if let Some(key) = key.as_deref().and_then(|k| crate::storage::Key::parse(k).ok()) {
            state.store.delete(&key).await?;
        }
        db::exports::remove(&state.db, &export_id).await?;
        report.exports += 1;
    }
    report.sessions = db::maintenance::expire_sessions(&state.db).await?;
    report.jobs = db::maintenance::prune_done_jobs(&state.db, now - DONE_JOBS_MS).await?;
    report.activities = db::maintenance::prune_inbox(&state.db, now - INBOX_MS).await?;
    report.temp = sweep_temp(&state.config.storage.tmp_path, STALE_TEMP).await?;
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

/// Removes what killed processes left in the temp folder (`TEMP_PREFIXES`, untouched for
/// `older_than`); run at startup and by the clean-up. Returns how many entries went.
pub async fn sweep_temp(dir: &Path, older_than: Duration) -> crate::error::Result<usize> {
    let dir = dir.to_owned();
    tokio::task::spawn_blocking(move || sweep_temp_blocking(&dir, older_than))
        .await
        .map_err(|e| crate::error::Error::internal("temp sweep task failed").with_source(e))?
}

fn sweep_temp_blocking(dir: &Path, older_than: Duration) -> crate::error::Result<usize> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e.into()),
    };
    let Some(cutoff) = SystemTime::now().checked_sub(older_than) else {
        return Ok(0);
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        if !TEMP_PREFIXES
            .iter()
            .any(|p| name.to_string_lossy().starts_with(p))
        {
            continue;
        }
        let path = entry.path();
        // One entry that vanished meanwhile (its owner finished) or cannot be read does not stop
        // the sweep of the others.
        let gone = match last_written(&path) {
            Ok(written) if written < cutoff => {
                if entry.file_type()?.is_dir() {
                    std::fs::remove_dir_all(&path)
                } else {
                    std::fs::remove_file(&path)
                }
            }
            Ok(_) => continue,
            Err(e) => Err(e),
        };
        match gone {
            Ok(()) => {
                tracing::info!(path = %path.display(), "removed a stale temp file");
                removed += 1;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(error = %e, path = %path.display(), "cannot remove a stale temp file"),
        }
    }
    Ok(removed)
}

/// The newest modification time of a file, or of a folder and everything in it (a transcode
/// writes deep inside its folder, not to the folder itself). Links are not followed.
fn last_written(path: &Path) -> std::io::Result<SystemTime> {
    let mut newest = SystemTime::UNIX_EPOCH;
    let mut stack: Vec<PathBuf> = vec![path.to_owned()];
    while let Some(path) = stack.pop() {
        let metadata = std::fs::symlink_metadata(&path)?;
        newest = newest.max(metadata.modified()?);
        if metadata.is_dir() {
            for entry in std::fs::read_dir(&path)? {
                stack.push(entry?.path());
            }
        }
    }
    Ok(newest)
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
