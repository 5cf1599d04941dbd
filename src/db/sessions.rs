//! Browser sessions: a random cookie value, stored as its SHA-256, with its CSRF token.

use sqlx::Row;

use super::{Db, now_ms};
use crate::{domain::account::Account, error::Result};

pub async fn insert(
    db: &Db,
    token_sha256: &str,
    account_id: &str,
    csrf_token: &str,
    expires_at: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO sessions (token_sha256, account_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_sha256)
    .bind(account_id)
    .bind(csrf_token)
    .bind(now_ms())
    .bind(expires_at)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// The account and CSRF token of a live session.
pub async fn lookup(db: &Db, token_sha256: &str) -> Result<Option<(Account, String)>> {
    let sql = format!(
        "SELECT {}, s.csrf_token FROM sessions s JOIN accounts a ON a.id = s.account_id
         WHERE s.token_sha256 = $1 AND s.expires_at > $2 AND a.domain IS NULL",
        crate::db::accounts::columns_of("a")
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(token_sha256)
        .bind(now_ms())
        .fetch_optional(&db.pool)
        .await?;
    match row {
        Some(row) => Ok(Some((
            crate::db::accounts::from_row(&row)?,
            row.try_get("csrf_token")?,
        ))),
        None => Ok(None),
    }
}

pub async fn delete(db: &Db, token_sha256: &str) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE token_sha256 = $1")
        .bind(token_sha256)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Ends every session of an account but the one whose digest is `keep`.
pub async fn delete_all(db: &Db, account_id: &str, keep: Option<&str>) -> Result<u64> {
    let done =
        sqlx::query("DELETE FROM sessions WHERE account_id = $1 AND ($2 IS NULL OR token_sha256 <> $2)")
            .bind(account_id)
            .bind(keep)
            .execute(&db.pool)
            .await?;
    Ok(done.rows_affected())
}

/// A session as its owner sees it listed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SessionInfo {
    /// A short public handle (the first characters of the digest), to end it by.
    pub handle: String,
    pub user_agent: String,
    pub address: String,
    pub created_at: i64,
    pub expires_at: i64,
}

pub async fn of_account(db: &Db, account_id: &str) -> Result<Vec<(String, SessionInfo)>> {
    let rows = sqlx::query(
        "SELECT token_sha256, user_agent, address, created_at, expires_at FROM sessions
         WHERE account_id = $1 AND expires_at > $2 ORDER BY created_at DESC LIMIT 200",
    )
    .bind(account_id)
    .bind(now_ms())
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|row| {
            let digest: String = row.try_get("token_sha256")?;
            Ok((
                digest.clone(),
                SessionInfo {
                    handle: digest.chars().take(16).collect(),
                    user_agent: row.try_get("user_agent")?,
                    address: row.try_get("address")?,
                    created_at: row.try_get("created_at")?,
                    expires_at: row.try_get("expires_at")?,
                },
            ))
        })
        .collect()
}

/// Ends the session of `account_id` whose digest starts with `handle`.
pub async fn delete_by_handle(db: &Db, account_id: &str, handle: &str) -> Result<bool> {
    if handle.len() < 16 || !handle.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(false);
    }
    let done = sqlx::query("DELETE FROM sessions WHERE account_id = $1 AND token_sha256 LIKE $2")
        .bind(account_id)
        .bind(format!("{handle}%"))
        .execute(&db.pool)
        .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn set_origin(db: &Db, token_sha256: &str, user_agent: &str, address: &str) -> Result<()> {
    sqlx::query("UPDATE sessions SET user_agent = $1, address = $2 WHERE token_sha256 = $3")
        .bind(user_agent)
        .bind(address)
        .bind(token_sha256)
        .execute(&db.pool)
        .await?;
    Ok(())
}
