//! Statements of the periodic clean-up: what is old enough to go.

use super::{Db, jobs, now_ms};
use crate::error::Result;

/// Finished jobs are kept a while for diagnosis, then dropped.
pub async fn prune_done_jobs(db: &Db, older_than: i64) -> Result<u64> {
    let done = sqlx::query("DELETE FROM jobs WHERE state = 'done' AND updated_at < $1")
        .bind(older_than)
        .execute(&db.pool)
        .await?;
    Ok(done.rows_affected())
}

pub async fn expire_sessions(db: &Db) -> Result<u64> {
    let done = sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
        .bind(now_ms())
        .execute(&db.pool)
        .await?;
    Ok(done.rows_affected())
}

/// Media uploaded before `older_than` that no status uses (uploads that were never posted).
pub async fn unattached_media(db: &Db, older_than: i64) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM media WHERE deleted_at IS NULL AND created_at < $1
           AND id NOT IN (SELECT media_id FROM status_media)",
    )
    .bind(older_than)
    .fetch_all(&db.pool)
    .await?)
}

/// Marks a media deleted and queues its purge, together.
pub async fn delete_media(db: &Db, media_id: &str, purge: &jobs::NewJob) -> Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query("UPDATE media SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL")
        .bind(now_ms())
        .bind(media_id)
        .execute(&mut *tx)
        .await?;
    jobs::enqueue(&mut *tx, purge).await?;
    tx.commit().await?;
    Ok(())
}

/// Resumable uploads past their expiry, finished or not.
pub async fn expired_uploads(db: &Db) -> Result<Vec<String>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM tus_uploads WHERE expires_at < $1")
            .bind(now_ms())
            .fetch_all(&db.pool)
            .await?,
    )
}

/// Incoming activities received before `older_than`: their ids no longer need to stop a repeat.
pub async fn prune_inbox(db: &Db, older_than: i64) -> Result<u64> {
    let done = sqlx::query("DELETE FROM inbox_activities WHERE received_at < $1")
        .bind(older_than)
        .execute(&db.pool)
        .await?;
    Ok(done.rows_affected())
}
