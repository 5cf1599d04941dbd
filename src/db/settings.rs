use crate::error::Result;

use super::Db;

pub async fn get(db: &Db, name: &str) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT value FROM settings WHERE name = $1")
        .bind(name)
        .fetch_optional(&db.pool)
        .await?)
}

/// Stores `value` unless the setting exists; returns the value that is stored now (so two
/// processes starting together agree on one).
pub async fn get_or_insert(db: &Db, name: &str, value: &str) -> Result<String> {
    sqlx::query("INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
        .bind(name)
        .bind(value)
        .execute(&db.pool)
        .await?;
    Ok(get(db, name).await?.unwrap_or_else(|| value.to_owned()))
}
