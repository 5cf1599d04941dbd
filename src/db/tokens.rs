use super::{Db, now_ms};
use crate::{domain::account::Account, error::Result};

/// `app`: the id and name of the app the token is for.
pub async fn insert(
    db: &Db,
    id: &str,
    account_id: &str,
    token_sha256: &str,
    scope: &str,
    app: Option<(&str, &str)>,
) -> Result<i64> {
    let created_at = now_ms();
    sqlx::query(
        "INSERT INTO access_tokens (id, account_id, token_sha256, scope, created_at, app_id, name)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(account_id)
    .bind(token_sha256)
    .bind(scope)
    .bind(created_at)
    .bind(app.map(|a| a.0))
    .bind(app.map_or("", |a| a.1))
    .execute(&db.pool)
    .await?;
    Ok(created_at)
}

/// The account a live (not revoked) token belongs to, and the token's scope.
pub async fn account_for(db: &Db, token_sha256: &str) -> Result<Option<(Account, String)>> {
    let sql = format!(
        "SELECT {}, t.scope AS token_scope FROM access_tokens t JOIN accounts a ON a.id = t.account_id
         WHERE t.token_sha256 = $1 AND t.revoked_at IS NULL AND a.domain IS NULL",
        crate::db::accounts::columns_of("a")
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(token_sha256)
        .fetch_optional(&db.pool)
        .await?;
    match row {
        Some(row) => {
            use sqlx::Row;
            Ok(Some((
                crate::db::accounts::from_row(&row)?,
                row.try_get("token_scope")?,
            )))
        }
        None => Ok(None),
    }
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

/// Revokes every live token of an account.
pub async fn revoke_all(db: &Db, account_id: &str) -> Result<u64> {
    let done =
        sqlx::query("UPDATE access_tokens SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL")
            .bind(now_ms())
            .bind(account_id)
            .execute(&db.pool)
            .await?;
    Ok(done.rows_affected())
}

/// An account's live tokens, as its apps page lists them: (id, name, scope, created_at).
pub async fn of_account(db: &Db, account_id: &str) -> Result<Vec<(String, String, String, i64)>> {
    let rows = sqlx::query(
        "SELECT id, name, scope, created_at FROM access_tokens
         WHERE account_id = $1 AND revoked_at IS NULL ORDER BY created_at DESC LIMIT 200",
    )
    .bind(account_id)
    .fetch_all(&db.pool)
    .await?;
    use sqlx::Row;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("id")?,
                r.try_get("name")?,
                r.try_get("scope")?,
                r.try_get("created_at")?,
            ))
        })
        .collect()
}

/// Revokes one token of an account by its id.
pub async fn revoke_by_id(db: &Db, account_id: &str, id: &str) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE access_tokens SET revoked_at = $1 WHERE id = $2 AND account_id = $3 AND revoked_at IS NULL",
    )
    .bind(now_ms())
    .bind(id)
    .bind(account_id)
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// The app a user token was issued to, if any.
pub async fn app_of(db: &Db, token_sha256: &str) -> Result<Option<String>> {
    let app: Option<Option<String>> =
        sqlx::query_scalar("SELECT app_id FROM access_tokens WHERE token_sha256 = $1 AND revoked_at IS NULL")
            .bind(token_sha256)
            .fetch_optional(&db.pool)
            .await?;
    Ok(app.flatten())
}
