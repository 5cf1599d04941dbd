//! Mailed links (confirm an address, reset a password), kept as their SHA-256 and used once.

use sqlx::Row;

use super::{Db, now_ms};
use crate::{domain::account::Account, error::Result};

pub async fn insert_token(
    db: &Db,
    token_sha256: &str,
    account_id: &str,
    purpose: &str,
    email: &str,
    expires_at: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO email_tokens (token_sha256, account_id, purpose, email, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_sha256)
    .bind(account_id)
    .bind(purpose)
    .bind(email)
    .bind(expires_at)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Uses a live token of `purpose` once: (account id, address) when it was good.
pub async fn take_token(db: &Db, token_sha256: &str, purpose: &str) -> Result<Option<(String, String)>> {
    let now = now_ms();
    let row = sqlx::query(
        "UPDATE email_tokens SET used_at = $1
         WHERE token_sha256 = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $1
         RETURNING account_id, email",
    )
    .bind(now)
    .bind(token_sha256)
    .bind(purpose)
    .fetch_optional(&db.pool)
    .await?;
    match row {
        Some(row) => Ok(Some((row.try_get("account_id")?, row.try_get("email")?))),
        None => Ok(None),
    }
}

/// Whether a token of `purpose` is live, without using it (the reset form checks before it asks).
pub async fn token_live(db: &Db, token_sha256: &str, purpose: &str) -> Result<bool> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT expires_at FROM email_tokens WHERE token_sha256 = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3",
    )
    .bind(token_sha256)
    .bind(purpose)
    .bind(now_ms())
    .fetch_optional(&db.pool)
    .await?;
    Ok(found.is_some())
}

/// Marks the account's address confirmed, if it is still `email`.
pub async fn confirm(db: &Db, account_id: &str, email: &str) -> Result<bool> {
    let done = sqlx::query("UPDATE accounts SET email_confirmed_at = $1 WHERE id = $2 AND email = $3")
        .bind(now_ms())
        .bind(account_id)
        .bind(email)
        .execute(&db.pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The local account with this (lowercased) address, and whether it was confirmed.
pub async fn account_by_email(db: &Db, email: &str) -> Result<Option<Account>> {
    let sql = format!(
        "SELECT {} FROM accounts WHERE email = $1 AND domain IS NULL",
        crate::db::accounts::columns_of("accounts")
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(email)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(crate::db::accounts::from_row).transpose()
}

/// The address mail for this account goes to: only a confirmed one.
pub async fn confirmed_address(db: &Db, account_id: &str) -> Result<Option<String>> {
    let email: Option<Option<String>> =
        sqlx::query_scalar("SELECT email FROM accounts WHERE id = $1 AND email_confirmed_at IS NOT NULL")
            .bind(account_id)
            .fetch_optional(&db.pool)
            .await?;
    Ok(email.flatten())
}
