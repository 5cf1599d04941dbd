//! Who a post mentions and which hashtags it carries, and the tags accounts follow.

use std::collections::HashMap;

use sqlx::Row;

use super::{Db, Tx, now_ms};
use crate::{domain::account::Account, error::Result};

/// At most this many mentions and tags are kept per post: what a stranger's post can make
/// this server do (notify, deliver, index) stays bounded.
pub const MAX_PER_POST: usize = 50;

/// A post's mentions (account ids) and tags (case-folded names), written with it.
#[derive(Default, Clone, Copy)]
pub struct Attached<'a> {
    pub mentions: &'a [String],
    pub tags: &'a [String],
}

/// Replaces a post's mentions and tags (a new post, an edit, an Update from its server).
pub async fn attach(tx: &mut Tx, status_id: &str, mention_ids: &[String], tags: &[String]) -> Result<()> {
    sqlx::query("DELETE FROM status_mentions WHERE status_id = $1")
        .bind(status_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM status_tags WHERE status_id = $1")
        .bind(status_id)
        .execute(&mut **tx)
        .await?;
    for account_id in mention_ids.iter().take(MAX_PER_POST) {
        sqlx::query(
            "INSERT INTO status_mentions (status_id, account_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(status_id)
        .bind(account_id)
        .execute(&mut **tx)
        .await?;
    }
    for name in tags.iter().take(MAX_PER_POST) {
        let tag_id = tag_id(tx, name).await?;
        sqlx::query("INSERT INTO status_tags (status_id, tag_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(status_id)
            .bind(tag_id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// The id of a tag, made on first use.
async fn tag_id(tx: &mut Tx, name: &str) -> Result<String> {
    sqlx::query("INSERT INTO tags (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING")
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(name)
        .bind(now_ms())
        .execute(&mut **tx)
        .await?;
    Ok(sqlx::query_scalar("SELECT id FROM tags WHERE name = $1")
        .bind(name)
        .fetch_one(&mut **tx)
        .await?)
}

fn placeholders(from: usize, n: usize) -> String {
    (0..n)
        .map(|i| format!("${}", i + from))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The accounts each post mentions.
pub async fn mentions_of(db: &Db, status_ids: &[&str]) -> Result<HashMap<String, Vec<Account>>> {
    let mut out: HashMap<String, Vec<Account>> = HashMap::new();
    if status_ids.is_empty() {
        return Ok(out);
    }
    let sql = format!(
        "SELECT m.status_id AS mentioned_in, {} FROM status_mentions m JOIN accounts a ON a.id = m.account_id
         WHERE m.status_id IN ({}) ORDER BY a.username",
        crate::db::accounts::columns_of("a"),
        placeholders(1, status_ids.len())
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for id in status_ids {
        query = query.bind(*id);
    }
    for row in query.fetch_all(&db.pool).await? {
        let status_id: String = row.try_get("mentioned_in")?;
        out.entry(status_id)
            .or_default()
            .push(crate::db::accounts::from_row(&row)?);
    }
    Ok(out)
}

/// The tags each post carries, by name.
pub async fn tags_of(db: &Db, status_ids: &[&str]) -> Result<HashMap<String, Vec<String>>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    if status_ids.is_empty() {
        return Ok(out);
    }
    let sql = format!(
        "SELECT st.status_id, t.name FROM status_tags st JOIN tags t ON t.id = st.tag_id
         WHERE st.status_id IN ({}) ORDER BY t.name",
        placeholders(1, status_ids.len())
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for id in status_ids {
        query = query.bind(*id);
    }
    for row in query.fetch_all(&db.pool).await? {
        out.entry(row.try_get("status_id")?)
            .or_default()
            .push(row.try_get("name")?);
    }
    Ok(out)
}

pub async fn mentions_account(db: &Db, status_id: &str, account_id: &str) -> Result<bool> {
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM status_mentions WHERE status_id = $1 AND account_id = $2")
            .bind(status_id)
            .bind(account_id)
            .fetch_one(&db.pool)
            .await?;
    Ok(n > 0)
}

/// Whether a tag is known, by its case-folded name.
pub async fn tag_exists(db: &Db, name: &str) -> Result<bool> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tags WHERE name = $1")
        .bind(name)
        .fetch_one(&db.pool)
        .await?;
    Ok(n > 0)
}

pub async fn follow_tag(db: &Db, account_id: &str, name: &str) -> Result<()> {
    let mut tx = db.begin().await?;
    let tag_id = tag_id(&mut tx, name).await?;
    sqlx::query(
        "INSERT INTO tag_follows (account_id, tag_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(account_id)
    .bind(tag_id)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn unfollow_tag(db: &Db, account_id: &str, name: &str) -> Result<()> {
    sqlx::query(
        "DELETE FROM tag_follows WHERE account_id = $1 AND tag_id IN (SELECT id FROM tags WHERE name = $2)",
    )
    .bind(account_id)
    .bind(name)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// The tags an account follows, by name, in the order it followed them.
pub async fn followed_tags(db: &Db, account_id: &str) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT t.name FROM tag_follows f JOIN tags t ON t.id = f.tag_id WHERE f.account_id = $1
         ORDER BY f.created_at LIMIT 1000",
    )
    .bind(account_id)
    .fetch_all(&db.pool)
    .await?)
}

/// A tag an account shows on its profile, with how it used it.
pub struct Featured {
    pub id: String,
    pub name: String,
    pub statuses_count: i64,
    pub last_status_at: Option<i64>,
}

/// At most this many tags on a profile, as Mastodon allows.
pub const MAX_FEATURED: i64 = 10;

/// Shows a tag on the account's profile: its id (the one already there if it was), or None
/// past the limit.
pub async fn feature_tag(db: &Db, account_id: &str, name: &str) -> Result<Option<String>> {
    let mut tx = db.begin().await?;
    let tag_id = tag_id(&mut tx, name).await?;
    let existing: Option<String> =
        sqlx::query_scalar("SELECT id FROM featured_tags WHERE account_id = $1 AND tag_id = $2")
            .bind(account_id)
            .bind(&tag_id)
            .fetch_optional(&mut *tx)
            .await?;
    if let Some(id) = existing {
        return Ok(Some(id));
    }
    let id = uuid::Uuid::now_v7().to_string();
    let done = sqlx::query(
        "INSERT INTO featured_tags (id, account_id, tag_id, created_at)
         SELECT $1, $2, $3, $4 WHERE (SELECT COUNT(*) FROM featured_tags WHERE account_id = $2) < $5",
    )
    .bind(&id)
    .bind(account_id)
    .bind(&tag_id)
    .bind(now_ms())
    .bind(MAX_FEATURED)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((done.rows_affected() > 0).then_some(id))
}

pub async fn unfeature_tag(db: &Db, account_id: &str, id: &str) -> Result<bool> {
    let done = sqlx::query("DELETE FROM featured_tags WHERE account_id = $1 AND id = $2")
        .bind(account_id)
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// An account's featured tags, in the order it chose them, with its public posts in each.
pub async fn featured_tags(db: &Db, account_id: &str) -> Result<Vec<Featured>> {
    let rows = sqlx::query(
        "SELECT f.id, t.name,
            (SELECT COUNT(*) FROM status_tags st JOIN statuses s ON s.id = st.status_id
              WHERE st.tag_id = t.id AND s.account_id = f.account_id AND s.visibility = 'public' AND s.published_at IS NOT NULL) AS n,
            (SELECT MAX(s.published_at) FROM status_tags st JOIN statuses s ON s.id = st.status_id
              WHERE st.tag_id = t.id AND s.account_id = f.account_id AND s.visibility = 'public') AS last
         FROM featured_tags f JOIN tags t ON t.id = f.tag_id WHERE f.account_id = $1 ORDER BY f.created_at",
    )
    .bind(account_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Featured {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                statuses_count: r.try_get("n")?,
                last_status_at: r.try_get("last")?,
            })
        })
        .collect()
}

/// The tags an account used lately, most used first: what to suggest it features.
pub async fn used_tags(db: &Db, account_id: &str, limit: i64) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT t.name FROM status_tags st JOIN statuses s ON s.id = st.status_id JOIN tags t ON t.id = st.tag_id
         WHERE s.account_id = $1 GROUP BY t.name ORDER BY COUNT(*) DESC, t.name LIMIT $2",
    )
    .bind(account_id)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?)
}
