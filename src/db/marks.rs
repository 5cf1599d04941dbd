//! What an account marks for itself: bookmarks (private), pins (shown on its profile) and
//! markers (where it stopped reading a timeline).

use std::collections::HashSet;

use sqlx::Row;

use super::{Db, now_ms};
use crate::{domain::status::Status, error::Result};

pub async fn bookmark(db: &Db, account_id: &str, status_id: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO bookmarks (id, account_id, status_id, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (account_id, status_id) DO NOTHING",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(account_id)
    .bind(status_id)
    .bind(now_ms())
    .execute(&db.pool)
    .await?;
    Ok(())
}

pub async fn unbookmark(db: &Db, account_id: &str, status_id: &str) -> Result<()> {
    sqlx::query("DELETE FROM bookmarks WHERE account_id = $1 AND status_id = $2")
        .bind(account_id)
        .bind(status_id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// The statuses `account_id` bookmarked, newest bookmark first: (bookmark id, status).
pub async fn bookmarks(
    db: &Db,
    account_id: &str,
    max_id: Option<&str>,
    limit: i64,
) -> Result<Vec<(String, Status)>> {
    crate::db::statuses::marked_by(db, "bookmarks", account_id, max_id, limit).await
}

/// Which of `status_ids` the account bookmarked.
pub async fn bookmarked(db: &Db, account_id: &str, status_ids: &[&str]) -> Result<HashSet<String>> {
    among(db, "bookmarks", account_id, status_ids).await
}

/// Which of `status_ids` the account pinned.
pub async fn pinned(db: &Db, account_id: &str, status_ids: &[&str]) -> Result<HashSet<String>> {
    among(db, "pins", account_id, status_ids).await
}

async fn among(db: &Db, table: &str, account_id: &str, status_ids: &[&str]) -> Result<HashSet<String>> {
    if status_ids.is_empty() {
        return Ok(HashSet::new());
    }
    let marks = (0..status_ids.len())
        .map(|i| format!("${}", i + 2))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!("SELECT status_id FROM {table} WHERE account_id = $1 AND status_id IN ({marks})");
    let mut query = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql)).bind(account_id);
    for id in status_ids {
        query = query.bind(*id);
    }
    Ok(query.fetch_all(&db.pool).await?.into_iter().collect())
}

/// Pins a status unless `max` are pinned already. False when the limit is reached; pinning a
/// pinned status again is no change and true.
pub async fn pin(db: &Db, account_id: &str, status_id: &str, max: i64) -> Result<bool> {
    let mut tx = db.begin().await?;
    let already: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM pins WHERE account_id = $1 AND status_id = $2")
            .bind(account_id)
            .bind(status_id)
            .fetch_one(&mut *tx)
            .await?;
    if already > 0 {
        return Ok(true);
    }
    let done = sqlx::query(
        "INSERT INTO pins (account_id, status_id, created_at)
         SELECT $1, $2, $3 WHERE (SELECT COUNT(*) FROM pins WHERE account_id = $1) < $4
         ON CONFLICT (account_id, status_id) DO NOTHING",
    )
    .bind(account_id)
    .bind(status_id)
    .bind(now_ms())
    .bind(max)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(done.rows_affected() > 0)
}

pub async fn unpin(db: &Db, account_id: &str, status_id: &str) -> Result<()> {
    sqlx::query("DELETE FROM pins WHERE account_id = $1 AND status_id = $2")
        .bind(account_id)
        .bind(status_id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// An account's pinned statuses, newest pin first.
pub async fn pins(db: &Db, account_id: &str) -> Result<Vec<Status>> {
    Ok(crate::db::statuses::marked_by(db, "pins", account_id, None, 40)
        .await?
        .into_iter()
        .map(|(_, s)| s)
        .collect())
}

pub struct Marker {
    pub timeline: String,
    pub last_read_id: String,
    pub version: i64,
    pub updated_at: i64,
}

pub async fn markers(db: &Db, account_id: &str) -> Result<Vec<Marker>> {
    let rows =
        sqlx::query("SELECT timeline, last_read_id, version, updated_at FROM markers WHERE account_id = $1")
            .bind(account_id)
            .fetch_all(&db.pool)
            .await?;
    rows.iter()
        .map(|r| {
            Ok(Marker {
                timeline: r.try_get("timeline")?,
                last_read_id: r.try_get("last_read_id")?,
                version: r.try_get("version")?,
                updated_at: r.try_get("updated_at")?,
            })
        })
        .collect()
}

/// Moves a marker (made at version 0, counted up by each move).
pub async fn set_marker(db: &Db, account_id: &str, timeline: &str, last_read_id: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO markers (account_id, timeline, last_read_id, version, updated_at) VALUES ($1, $2, $3, 0, $4)
         ON CONFLICT (account_id, timeline)
         DO UPDATE SET last_read_id = excluded.last_read_id, version = markers.version + 1, updated_at = excluded.updated_at",
    )
    .bind(account_id)
    .bind(timeline)
    .bind(last_read_id)
    .bind(now_ms())
    .execute(&db.pool)
    .await?;
    Ok(())
}
