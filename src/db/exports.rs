//! Account archives: one row per export asked for, with where the built archive is stored.

use sqlx::{Row, any::AnyRow};

use super::{Db, jobs, now_ms};
use crate::error::Result;

#[derive(Debug, Clone)]
pub struct Export {
    pub id: String,
    pub account_id: String,
    /// `queued`, `ready` or `failed`.
    pub state: String,
    pub storage_key: Option<String>,
    pub size_bytes: Option<i64>,
    pub error: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
}

fn from_row(row: &AnyRow) -> Result<Export> {
    Ok(Export {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        state: row.try_get("state")?,
        storage_key: row.try_get("storage_key")?,
        size_bytes: row.try_get("size_bytes")?,
        error: row.try_get("error")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
    })
}

const COLUMNS: &str = "id, account_id, state, storage_key, size_bytes, error, created_at, expires_at";

/// Records an export with the job that builds it, unless the account asked for one since
/// `since` (one a day): None then. One conditional insert, so two requests at once make one.
pub async fn start(db: &Db, export: &Export, since: i64, job: &jobs::NewJob) -> Result<bool> {
    let mut tx = db.begin().await?;
    let done = sqlx::query(
        "INSERT INTO exports (id, account_id, state, created_at, expires_at)
         SELECT $1, $2, 'queued', $3, $4
         WHERE NOT EXISTS (SELECT 1 FROM exports WHERE account_id = $2 AND created_at > $5 AND state <> 'failed')",
    )
    .bind(&export.id)
    .bind(&export.account_id)
    .bind(export.created_at)
    .bind(export.expires_at)
    .bind(since)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    jobs::enqueue(&mut *tx, job).await?;
    tx.commit().await?;
    Ok(true)
}

pub async fn get(db: &Db, id: &str) -> Result<Option<Export>> {
    let sql = format!("SELECT {COLUMNS} FROM exports WHERE id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// An account's exports, newest first.
pub async fn of_account(db: &Db, account_id: &str) -> Result<Vec<Export>> {
    let sql =
        format!("SELECT {COLUMNS} FROM exports WHERE account_id = $1 ORDER BY created_at DESC LIMIT 20");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(account_id)
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(from_row).collect()
}

pub async fn finish(db: &Db, id: &str, key: &str, size: i64) -> Result<()> {
    sqlx::query("UPDATE exports SET state = 'ready', storage_key = $1, size_bytes = $2 WHERE id = $3")
        .bind(key)
        .bind(size)
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

pub async fn fail(db: &Db, id: &str, error: &str) -> Result<()> {
    sqlx::query("UPDATE exports SET state = 'failed', error = $1 WHERE id = $2")
        .bind(error)
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Exports past their expiry: (id, stored key), for the clean-up to remove.
pub async fn expired(db: &Db) -> Result<Vec<(String, Option<String>)>> {
    let rows = sqlx::query("SELECT id, storage_key FROM exports WHERE expires_at < $1 LIMIT 100")
        .bind(now_ms())
        .fetch_all(&db.pool)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("storage_key")?)))
        .collect()
}

pub async fn remove(db: &Db, id: &str) -> Result<()> {
    sqlx::query("DELETE FROM exports WHERE id = $1")
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}
