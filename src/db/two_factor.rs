//! TOTP secrets, recovery codes and pending logins of accounts with two-factor authentication.

use sqlx::Row;

use super::{Db, now_ms};
use crate::error::Result;

/// (secret, enabled, last accepted step) of an account.
pub async fn totp(db: &Db, account_id: &str) -> Result<Option<(String, bool, i64)>> {
    let row = sqlx::query("SELECT totp_secret, totp_enabled_at, totp_last_step FROM accounts WHERE id = $1")
        .bind(account_id)
        .fetch_optional(&db.pool)
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let secret: Option<String> = row.try_get("totp_secret")?;
    let enabled: Option<i64> = row.try_get("totp_enabled_at")?;
    Ok(secret.map(|s| (s, enabled.is_some(), row.try_get("totp_last_step").unwrap_or(0))))
}

pub async fn enabled(db: &Db, account_id: &str) -> Result<bool> {
    Ok(totp(db, account_id).await?.is_some_and(|(_, on, _)| on))
}

/// Starts enabling: a new secret, not yet in force.
pub async fn set_pending_secret(db: &Db, account_id: &str, secret: &str) -> Result<()> {
    sqlx::query(
        "UPDATE accounts SET totp_secret = $1, totp_enabled_at = NULL, totp_last_step = 0 WHERE id = $2",
    )
    .bind(secret)
    .bind(account_id)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Puts the secret in force with its recovery codes (stored hashed), replacing older ones.
pub async fn enable(db: &Db, account_id: &str, code_digests: &[String]) -> Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query("UPDATE accounts SET totp_enabled_at = $1 WHERE id = $2 AND totp_secret IS NOT NULL")
        .bind(now_ms())
        .bind(account_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM recovery_codes WHERE account_id = $1")
        .bind(account_id)
        .execute(&mut *tx)
        .await?;
    for digest in code_digests {
        sqlx::query("INSERT INTO recovery_codes (account_id, code_sha256) VALUES ($1, $2)")
            .bind(account_id)
            .bind(digest)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

pub async fn disable(db: &Db, account_id: &str) -> Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query(
        "UPDATE accounts SET totp_secret = NULL, totp_enabled_at = NULL, totp_last_step = 0 WHERE id = $1",
    )
    .bind(account_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM recovery_codes WHERE account_id = $1")
        .bind(account_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Records `step` as used, if it is newer than the last one: false means a replayed code.
pub async fn advance_step(db: &Db, account_id: &str, step: i64) -> Result<bool> {
    let done = sqlx::query("UPDATE accounts SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1")
        .bind(step)
        .bind(account_id)
        .execute(&db.pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Uses a recovery code once.
pub async fn use_recovery_code(db: &Db, account_id: &str, digest: &str) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE recovery_codes SET used_at = $1 WHERE account_id = $2 AND code_sha256 = $3 AND used_at IS NULL",
    )
    .bind(now_ms())
    .bind(account_id)
    .bind(digest)
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn recovery_codes_left(db: &Db, account_id: &str) -> Result<i64> {
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM recovery_codes WHERE account_id = $1 AND used_at IS NULL")
            .bind(account_id)
            .fetch_one(&db.pool)
            .await?;
    Ok(n)
}

pub async fn insert_challenge(
    db: &Db,
    digest: &str,
    account_id: &str,
    next: &str,
    expires_at: i64,
) -> Result<()> {
    sqlx::query("INSERT INTO login_challenges (token_sha256, account_id, next_path, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(digest)
        .bind(account_id)
        .bind(next)
        .bind(expires_at)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Counts an attempt at a live challenge: (account id, next path) while attempts remain.
pub async fn attempt_challenge(db: &Db, digest: &str, max_attempts: i64) -> Result<Option<(String, String)>> {
    let row = sqlx::query(
        "UPDATE login_challenges SET attempts = attempts + 1
         WHERE token_sha256 = $1 AND expires_at > $2 AND attempts < $3
         RETURNING account_id, next_path",
    )
    .bind(digest)
    .bind(now_ms())
    .bind(max_attempts)
    .fetch_optional(&db.pool)
    .await?;
    match row {
        Some(row) => Ok(Some((row.try_get("account_id")?, row.try_get("next_path")?))),
        None => Ok(None),
    }
}

pub async fn delete_challenge(db: &Db, digest: &str) -> Result<()> {
    sqlx::query("DELETE FROM login_challenges WHERE token_sha256 = $1")
        .bind(digest)
        .execute(&db.pool)
        .await?;
    Ok(())
}
