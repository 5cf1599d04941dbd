//! Invite links: a code with an optional use limit and expiry.

use sqlx::Row;

use super::{Db, now_ms};
use crate::error::Result;

#[derive(Debug, Clone, serde::Serialize)]
pub struct Invite {
    pub code: String,
    pub account_id: String,
    pub max_uses: Option<i64>,
    pub uses: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub created_at: i64,
}

impl Invite {
    pub fn usable(&self, now: i64) -> bool {
        self.revoked_at.is_none()
            && self.expires_at.is_none_or(|e| e > now)
            && self.max_uses.is_none_or(|m| self.uses < m)
    }
}

pub async fn create(
    db: &Db,
    code: &str,
    account_id: &str,
    max_uses: Option<i64>,
    expires_at: Option<i64>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO invites (code, account_id, max_uses, uses, expires_at, created_at) VALUES ($1, $2, $3, 0, $4, $5)",
    )
    .bind(code)
    .bind(account_id)
    .bind(max_uses)
    .bind(expires_at)
    .bind(now_ms())
    .execute(&db.pool)
    .await?;
    Ok(())
}

fn from_row(row: &sqlx::any::AnyRow) -> Result<Invite> {
    Ok(Invite {
        code: row.try_get("code")?,
        account_id: row.try_get("account_id")?,
        max_uses: row.try_get("max_uses")?,
        uses: row.try_get("uses")?,
        expires_at: row.try_get("expires_at")?,
        revoked_at: row.try_get("revoked_at")?,
        created_at: row.try_get("created_at")?,
    })
}

pub async fn get(db: &Db, code: &str) -> Result<Option<Invite>> {
    let row = sqlx::query(
        "SELECT code, account_id, max_uses, uses, expires_at, revoked_at, created_at FROM invites WHERE code = $1",
    )
    .bind(code)
    .fetch_optional(&db.pool)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// The invites `account_id` made, newest first.
pub async fn of_account(db: &Db, account_id: &str) -> Result<Vec<Invite>> {
    let rows = sqlx::query(
        "SELECT code, account_id, max_uses, uses, expires_at, revoked_at, created_at FROM invites
         WHERE account_id = $1 ORDER BY created_at DESC LIMIT 100",
    )
    .bind(account_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Uses the invite once, if it is still good; one statement, so two sign-ups cannot both take
/// its last use.
pub async fn spend(db: &Db, code: &str, now: i64) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE invites SET uses = uses + 1
         WHERE code = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)
           AND (max_uses IS NULL OR uses < max_uses)",
    )
    .bind(code)
    .bind(now)
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Returns a use taken by a sign-up that then failed.
pub async fn give_back(db: &Db, code: &str) -> Result<()> {
    sqlx::query("UPDATE invites SET uses = uses - 1 WHERE code = $1 AND uses > 0")
        .bind(code)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Revokes an invite of `account_id` (or any, for an admin: `account_id` None).
pub async fn revoke(db: &Db, code: &str, account_id: Option<&str>) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE invites SET revoked_at = $1 WHERE code = $2 AND revoked_at IS NULL AND ($3 IS NULL OR account_id = $3)",
    )
    .bind(now_ms())
    .bind(code)
    .bind(account_id)
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected() == 1)
}
