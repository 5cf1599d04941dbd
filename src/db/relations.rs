//! Lists of accounts in a relation: followers and following, who liked or boosted a status,
//! whom an account blocked or muted. Each pages by the relation row's id, newest first.

use sqlx::Row;

use super::Db;
use crate::{domain::account::Account, error::Result};

pub enum Relation<'a> {
    /// Accepted follows of this account.
    Followers(&'a str),
    Following(&'a str),
    FavouritedBy(&'a str),
    RebloggedBy(&'a str),
    Blocked(&'a str),
    Muted(&'a str),
}

/// (cursor, account) pairs; the cursor is what `max_id` takes for the next page.
pub async fn list(
    db: &Db,
    relation: Relation<'_>,
    max_id: Option<&str>,
    limit: i64,
) -> Result<Vec<(String, Account)>> {
    let columns = crate::db::accounts::columns_of("a");
    let (from, key) = match relation {
        Relation::Followers(id) => (
            "follows r JOIN accounts a ON a.id = r.account_id WHERE r.target_id = $1 AND r.state = 'accepted'",
            id,
        ),
        Relation::Following(id) => (
            "follows r JOIN accounts a ON a.id = r.target_id WHERE r.account_id = $1 AND r.state = 'accepted'",
            id,
        ),
        Relation::FavouritedBy(id) => (
            "favourites r JOIN accounts a ON a.id = r.account_id WHERE r.status_id = $1",
            id,
        ),
        Relation::RebloggedBy(id) => (
            "statuses r JOIN accounts a ON a.id = r.account_id WHERE r.reblog_of_id = $1",
            id,
        ),
        Relation::Blocked(id) => (
            "account_blocks r JOIN accounts a ON a.id = r.target_id WHERE r.account_id = $1 AND r.kind = 'block'",
            id,
        ),
        Relation::Muted(id) => (
            "account_blocks r JOIN accounts a ON a.id = r.target_id WHERE r.account_id = $1 AND r.kind = 'mute'",
            id,
        ),
    };
    // Blocks have no id of their own: their target is their cursor.
    let cursor = if from.starts_with("account_blocks") {
        "r.target_id"
    } else {
        "r.id"
    };
    let sql = format!(
        "SELECT {cursor} AS cursor, {columns} FROM {from} AND a.suspended_at IS NULL AND a.deleted_at IS NULL
           AND ($2 IS NULL OR {cursor} < $2) ORDER BY {cursor} DESC LIMIT $3"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(key)
        .bind(max_id)
        .bind(limit.clamp(1, 80))
        .fetch_all(&db.pool)
        .await?;
    rows.iter()
        .map(|row| Ok((row.try_get("cursor")?, crate::db::accounts::from_row(row)?)))
        .collect()
}
