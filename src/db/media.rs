use sqlx::{Row, any::AnyRow};

use super::{Db, jobs, now_ms};
use crate::{
    domain::media::{Focus, Media, MediaKind, MediaState, RemoteFiles, StoredVariant},
    error::{Error, Result},
};

pub(super) const COLUMNS: &str = "id, account_id, kind, content_type, state, progress, error, original_key, size_bytes, sha256, description, created_at, width, height, blurhash, focus_x, focus_y, variants, remote_url, remote_preview_url, remote_hls_url";

pub(super) fn from_row(row: &AnyRow) -> Result<Media> {
    let kind: String = row.try_get("kind")?;
    let state: String = row.try_get("state")?;
    let focus_x: Option<f64> = row.try_get("focus_x")?;
    let focus_y: Option<f64> = row.try_get("focus_y")?;
    let variants: Option<String> = row.try_get("variants")?;
    let remote_url: Option<String> = row.try_get("remote_url")?;
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
        width: row.try_get("width")?,
        height: row.try_get("height")?,
        blurhash: row.try_get("blurhash")?,
        focus: focus_x.zip(focus_y).map(|(x, y)| Focus { x, y }),
        variants: match variants {
            Some(json) => serde_json::from_str(&json)
                .map_err(|e| Error::internal("stored media variants are unreadable").with_source(e))?,
            None => Vec::new(),
        },
        remote: match remote_url {
            Some(url) => Some(RemoteFiles {
                url,
                preview_url: row.try_get("remote_preview_url")?,
                hls_url: row.try_get("remote_hls_url")?,
            }),
            None => None,
        },
    })
}

/// Records an uploaded media and its processing job atomically: a media row never exists without
/// the job that will finish it.
pub async fn insert_with_job(db: &Db, media: &Media, job: &jobs::NewJob) -> Result<()> {
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
    let sql = format!("SELECT {COLUMNS} FROM media WHERE id = $1 AND deleted_at IS NULL");
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

/// Records a finished photo: its displayed size, blurhash and served files; marks it ready.
pub async fn set_processed(
    db: &Db,
    id: &str,
    width: i64,
    height: i64,
    blurhash: Option<&str>,
    variants: &[StoredVariant],
) -> Result<()> {
    let variants = serde_json::to_string(variants)
        .map_err(|e| Error::internal("cannot encode media variants").with_source(e))?;
    sqlx::query(
        "UPDATE media SET state = 'ready', progress = 100, error = NULL, width = $1, height = $2,
                blurhash = $3, variants = $4, updated_at = $5
         WHERE id = $6",
    )
    .bind(width)
    .bind(height)
    .bind(blurhash)
    .bind(variants)
    .bind(now_ms())
    .bind(id)
    .execute(&db.pool)
    .await?;
    Ok(())
}

pub async fn update_details(
    db: &Db,
    id: &str,
    description: Option<&str>,
    focus: Option<Focus>,
) -> Result<()> {
    sqlx::query(
        "UPDATE media SET description = $1, focus_x = $2, focus_y = $3, updated_at = $4 WHERE id = $5",
    )
    .bind(description)
    .bind(focus.map(|f| f.x))
    .bind(focus.map(|f| f.y))
    .bind(now_ms())
    .bind(id)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Media of the given ids that belong to `account_id`, in no particular order.
pub async fn owned(db: &Db, account_id: &str, ids: &[String]) -> Result<Vec<Media>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let marks: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 2)).collect();
    let sql = format!(
        "SELECT {COLUMNS} FROM media WHERE account_id = $1 AND deleted_at IS NULL AND id IN ({})",
        marks.join(", ")
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(account_id);
    for id in ids {
        query = query.bind(id);
    }
    let rows = query.fetch_all(&db.pool).await?;
    rows.iter().map(from_row).collect()
}

/// A media marked for removal, even though `get` no longer shows it.
pub async fn get_deleted(db: &Db, id: &str) -> Result<Option<Media>> {
    let sql = format!("SELECT {COLUMNS} FROM media WHERE id = $1 AND deleted_at IS NOT NULL");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Removes the row once its objects are gone.
pub async fn remove(db: &Db, id: &str) -> Result<()> {
    sqlx::query("DELETE FROM media WHERE id = $1")
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Marks every media of an account for removal and queues their purges (a deleted account).
pub async fn purge_all_of(
    db: &Db,
    account_id: &str,
    purge: &dyn Fn(&str) -> Result<jobs::NewJob>,
) -> Result<usize> {
    let mut tx = db.begin().await?;
    let ids: Vec<String> =
        sqlx::query_scalar("SELECT id FROM media WHERE account_id = $1 AND deleted_at IS NULL")
            .bind(account_id)
            .fetch_all(&mut *tx)
            .await?;
    for id in &ids {
        sqlx::query("UPDATE media SET deleted_at = $1 WHERE id = $2")
            .bind(now_ms())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        jobs::enqueue(&mut *tx, &purge(id)?).await?;
    }
    tx.commit().await?;
    Ok(ids.len())
}
