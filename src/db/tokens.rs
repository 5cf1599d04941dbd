use super::{Db, now_ms};
use crate::{domain::account::Account, error::Result};

pub async fn insert(db: &Db, id: &str, account_id: &str, token_sha256: &str, scope: &str) -> Result<i64> {
    let created_at = now_ms();
    sqlx::query(
        "INSERT INTO access_tokens (id, account_id, token_sha256, scope, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(account_id)
    .bind(token_sha256)
    .bind(scope)
    .bind(created_at)
    .execute(&db.pool)
    .await?;
    Ok(created_at)
}

/// The account a live (not revoked) token belongs to.
pub async fn account_for(db: &Db, token_sha256: &str) -> Result<Option<Account>> {
    let sql = format!(
        "SELECT {} FROM access_tokens t JOIN accounts a ON a.id = t.account_id
         WHERE t.token_sha256 = $1 AND t.revoked_at IS NULL AND a.domain IS NULL",
        super::accounts::columns_of("a")
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(token_sha256)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(super::accounts::from_row).transpose()
}

/// Revokes the token; true when a live token was revoked.
pub async fn revoke(db: &Db, token_sha256: &str) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE access_tokens SET revoked_at = $1 WHERE token_sha256 = $2 AND revoked_at IS NULL",
    )
    .bind(now_ms())
    .bind(token_sha256)
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected() > 0)
}
