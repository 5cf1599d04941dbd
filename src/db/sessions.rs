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
        super::accounts::columns_of("a")
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(token_sha256)
        .bind(now_ms())
        .fetch_optional(&db.pool)
        .await?;
    match row {
        Some(row) => Ok(Some((
            super::accounts::from_row(&row)?,
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
