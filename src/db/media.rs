use sqlx::{Row, any::AnyRow};

use super::{Db, jobs, now_ms};
use crate::{
    domain::media::{Media, MediaKind, MediaState},
    error::{Error, Result},
};

const COLUMNS: &str = "id, account_id, kind, content_type, state, progress, error, original_key, size_bytes, sha256, description, created_at";

fn from_row(row: &AnyRow) -> Result<Media> {
    let kind: String = row.try_get("kind")?;
    let state: String = row.try_get("state")?;
    Ok(Media {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        kind: MediaKind::parse(&kind)
            .ok_or_else(|| Error::internal(format!("unknown media kind {kind:?}")))?,
        content_type: row.try_get("content_type")?,
        state: MediaState::parse(&state)
            .ok_or_else(|| Error::internal(format!("unknown media state {state:?}")))?,
        progress: row.try_get("progress")?,
        error: row.try_get("error")?,
        original_key: row.try_get("original_key")?,
        size_bytes: row.try_get("size_bytes")?,
        sha256: row.try_get("sha256")?,
        description: row.try_get("description")?,
        created_at: row.try_get("created_at")?,
    })
}

/// Records an uploaded media and its processing job atomically: a media row never exists without
/// the job that will finish it.
pub async fn insert_with_job(db: &Db, media: &Media, job: &jobs::NewJob<'_>) -> Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO media (id, account_id, kind, content_type, state, progress, original_key, size_bytes, sha256, description, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, 0, $6, $7, $8, $9, $10, $10)",
    )
    .bind(&media.id)
    .bind(&media.account_id)
    .bind(media.kind.as_str())
    .bind(&media.content_type)
    .bind(media.state.as_str())
    .bind(&media.original_key)
    .bind(media.size_bytes)
    .bind(&media.sha256)
    .bind(media.description.as_deref())
    .bind(media.created_at)
    .execute(&mut *tx)
    .await?;
    jobs::enqueue(&mut *tx, job).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn get(db: &Db, id: &str) -> Result<Option<Media>> {
    let sql = format!("SELECT {COLUMNS} FROM media WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn set_state(
    db: &Db,
    id: &str,
    state: MediaState,
    progress: i64,
    error: Option<&str>,
) -> Result<()> {
    sqlx::query("UPDATE media SET state = $1, progress = $2, error = $3, updated_at = $4 WHERE id = $5")
        .bind(state.as_str())
        .bind(progress)
        .bind(error)
        .bind(now_ms())
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}
