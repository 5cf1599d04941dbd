//! The audit log: what each moderator did, to whom, and why.

use sqlx::Row;

use super::{Db, now_ms};
use crate::error::Result;

#[derive(Debug, Clone, serde::Serialize)]
pub struct Entry {
    pub id: String,
    pub account_id: String,
    /// The moderator's username, when the account still exists.
    pub account_username: Option<String>,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub target_name: String,
    pub note: String,
    pub created_at: i64,
}

pub struct NewEntry<'a> {
    pub account_id: &'a str,
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: &'a str,
    pub target_name: &'a str,
    pub note: &'a str,
}

pub async fn record(db: &Db, entry: &NewEntry<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (id, account_id, action, target_type, target_id, target_name, note, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(entry.account_id)
    .bind(entry.action)
    .bind(entry.target_type)
    .bind(entry.target_id)
    .bind(entry.target_name)
    .bind(entry.note)
    .bind(now_ms())
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// The newest entries first, older than `max_id` when given.
pub async fn list(db: &Db, max_id: Option<&str>, limit: i64) -> Result<Vec<Entry>> {
    let rows = sqlx::query(
        "SELECT l.id, l.account_id, a.username, l.action, l.target_type, l.target_id, l.target_name, l.note, l.created_at
         FROM audit_log l LEFT JOIN accounts a ON a.id = l.account_id
         WHERE ($1 IS NULL OR l.id < $1) ORDER BY l.id DESC LIMIT $2",
    )
    .bind(max_id)
    .bind(limit.clamp(1, 200))
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Entry {
                id: row.try_get("id")?,
                account_id: row.try_get("account_id")?,
                account_username: row.try_get("username")?,
                action: row.try_get("action")?,
                target_type: row.try_get("target_type")?,
                target_id: row.try_get("target_id")?,
                target_name: row.try_get("target_name")?,
                note: row.try_get("note")?,
                created_at: row.try_get("created_at")?,
            })
        })
        .collect()
}
