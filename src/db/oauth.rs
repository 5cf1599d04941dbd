//! OAuth apps, their authorization codes and their own tokens.

use sqlx::Row;

use super::{Db, now_ms};
use crate::error::Result;

#[derive(Debug, Clone)]
pub struct App {
    pub id: String,
    pub client_id: String,
    pub client_secret_sha256: String,
    pub name: String,
    pub website: Option<String>,
    pub redirect_uris: Vec<String>,
    pub scopes: String,
    pub created_at: i64,
}

fn app_from(row: &sqlx::any::AnyRow) -> Result<App> {
    let uris: String = row.try_get("redirect_uris")?;
    Ok(App {
        id: row.try_get("id")?,
        client_id: row.try_get("client_id")?,
        client_secret_sha256: row.try_get("client_secret_sha256")?,
        name: row.try_get("name")?,
        website: row.try_get("website")?,
        redirect_uris: uris.lines().map(str::to_owned).collect(),
        scopes: row.try_get("scopes")?,
        created_at: row.try_get("created_at")?,
    })
}

const APP_COLUMNS: &str =
    "id, client_id, client_secret_sha256, name, website, redirect_uris, scopes, created_at";

pub async fn insert_app(db: &Db, app: &App) -> Result<()> {
    sqlx::query(
        "INSERT INTO oauth_apps (id, client_id, client_secret_sha256, name, website, redirect_uris, scopes, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&app.id)
    .bind(&app.client_id)
    .bind(&app.client_secret_sha256)
    .bind(&app.name)
    .bind(app.website.as_deref())
    .bind(app.redirect_uris.join("\n"))
    .bind(&app.scopes)
    .bind(app.created_at)
    .execute(&db.pool)
    .await?;
    Ok(())
}

pub async fn app_by_client_id(db: &Db, client_id: &str) -> Result<Option<App>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {APP_COLUMNS} FROM oauth_apps WHERE client_id = $1"
    )))
    .bind(client_id)
    .fetch_optional(&db.pool)
    .await?;
    row.as_ref().map(app_from).transpose()
}

pub async fn app_by_id(db: &Db, id: &str) -> Result<Option<App>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {APP_COLUMNS} FROM oauth_apps WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&db.pool)
    .await?;
    row.as_ref().map(app_from).transpose()
}

pub struct NewCode<'a> {
    pub code_sha256: &'a str,
    pub app_id: &'a str,
    pub account_id: &'a str,
    pub redirect_uri: &'a str,
    pub scopes: &'a str,
    pub code_challenge: Option<&'a str>,
    pub expires_at: i64,
}

pub async fn insert_code(db: &Db, code: &NewCode<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO oauth_codes (code_sha256, app_id, account_id, redirect_uri, scopes, code_challenge, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(code.code_sha256)
    .bind(code.app_id)
    .bind(code.account_id)
    .bind(code.redirect_uri)
    .bind(code.scopes)
    .bind(code.code_challenge)
    .bind(code.expires_at)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// A code taken once: (app id, account id, redirect URI, scopes, PKCE challenge).
pub struct TakenCode {
    pub app_id: String,
    pub account_id: String,
    pub redirect_uri: String,
    pub scopes: String,
    pub code_challenge: Option<String>,
}

pub async fn take_code(db: &Db, code_sha256: &str) -> Result<Option<TakenCode>> {
    let now = now_ms();
    let row = sqlx::query(
        "UPDATE oauth_codes SET used_at = $1 WHERE code_sha256 = $2 AND used_at IS NULL AND expires_at > $1
         RETURNING app_id, account_id, redirect_uri, scopes, code_challenge",
    )
    .bind(now)
    .bind(code_sha256)
    .fetch_optional(&db.pool)
    .await?;
    match row {
        Some(row) => Ok(Some(TakenCode {
            app_id: row.try_get("app_id")?,
            account_id: row.try_get("account_id")?,
            redirect_uri: row.try_get("redirect_uri")?,
            scopes: row.try_get("scopes")?,
            code_challenge: row.try_get("code_challenge")?,
        })),
        None => Ok(None),
    }
}

pub async fn insert_app_token(db: &Db, token_sha256: &str, app_id: &str, scope: &str) -> Result<i64> {
    let created = now_ms();
    sqlx::query("INSERT INTO app_tokens (token_sha256, app_id, scope, created_at) VALUES ($1, $2, $3, $4)")
        .bind(token_sha256)
        .bind(app_id)
        .bind(scope)
        .bind(created)
        .execute(&db.pool)
        .await?;
    Ok(created)
}

/// The app and scope of a live app token.
pub async fn app_token(db: &Db, token_sha256: &str) -> Result<Option<(App, String)>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {}, t.scope AS token_scope FROM app_tokens t JOIN oauth_apps a ON a.id = t.app_id
         WHERE t.token_sha256 = $1 AND t.revoked_at IS NULL",
        APP_COLUMNS
            .split(", ")
            .map(|c| format!("a.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    )))
    .bind(token_sha256)
    .fetch_optional(&db.pool)
    .await?;
    match row {
        Some(row) => Ok(Some((app_from(&row)?, row.try_get("token_scope")?))),
        None => Ok(None),
    }
}

pub async fn revoke_app_token(db: &Db, token_sha256: &str) -> Result<bool> {
    let done =
        sqlx::query("UPDATE app_tokens SET revoked_at = $1 WHERE token_sha256 = $2 AND revoked_at IS NULL")
            .bind(now_ms())
            .bind(token_sha256)
            .execute(&db.pool)
            .await?;
    Ok(done.rows_affected() > 0)
}
