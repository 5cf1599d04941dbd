use std::collections::HashMap;

use sqlx::{Row, any::AnyRow};

use super::{Db, jobs, now_ms};
use crate::{
    domain::{
        media::Media,
        status::{Status, Visibility},
    },
    error::{Error, Result},
};

const COLUMNS: &str = "s.id, s.account_id, s.text, s.visibility, s.sensitive, s.spoiler_text, s.in_reply_to_id, s.published_at, s.created_at";

fn from_row(row: &AnyRow) -> Result<Status> {
    let visibility: String = row.try_get("visibility")?;
    Ok(Status {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        text: row.try_get("text")?,
        visibility: Visibility::parse(&visibility)?,
        sensitive: row.try_get::<i64, _>("sensitive")? != 0,
        spoiler_text: row.try_get("spoiler_text")?,
        in_reply_to_id: row.try_get("in_reply_to_id")?,
        published_at: row.try_get("published_at")?,
        created_at: row.try_get("created_at")?,
    })
}

/// Stores a status and its attachments (in order) in one transaction.
pub async fn insert(db: &Db, status: &Status, media_ids: &[String]) -> Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO statuses (id, account_id, text, visibility, sensitive, spoiler_text, in_reply_to_id, published_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&status.id)
    .bind(&status.account_id)
    .bind(&status.text)
    .bind(status.visibility.as_str())
    .bind(i64::from(status.sensitive))
    .bind(&status.spoiler_text)
    .bind(status.in_reply_to_id.as_deref())
    .bind(status.published_at)
    .bind(status.created_at)
    .execute(&mut *tx)
    .await?;
    for (position, media_id) in media_ids.iter().enumerate() {
        sqlx::query("INSERT INTO status_media (status_id, media_id, position) VALUES ($1, $2, $3)")
            .bind(&status.id)
            .bind(media_id)
            .bind(position as i64)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

pub async fn get(db: &Db, id: &str) -> Result<Option<Status>> {
    let sql = format!("SELECT {COLUMNS} FROM statuses s WHERE s.id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Deletes a status. Its media that no other status uses is marked deleted and a purge job is
/// queued for each, in the same transaction, so the files go even if this process dies now.
pub async fn delete(db: &Db, id: &str, purge: &dyn Fn(&str) -> Result<jobs::NewJob>) -> Result<Vec<String>> {
    let mut tx = db.begin().await?;
    let orphans: Vec<String> = sqlx::query_scalar(
        "SELECT media_id FROM status_media WHERE status_id = $1
           AND media_id NOT IN (SELECT media_id FROM status_media WHERE status_id <> $1)",
    )
    .bind(id)
    .fetch_all(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM status_media WHERE status_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM statuses WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    for media_id in &orphans {
        sqlx::query("UPDATE media SET deleted_at = $1 WHERE id = $2")
            .bind(now_ms())
            .bind(media_id)
            .execute(&mut *tx)
            .await?;
        jobs::enqueue(&mut *tx, &purge(media_id)?).await?;
    }
    tx.commit().await?;
    Ok(orphans)
}

/// Publishes the unpublished statuses that use this media and whose media are now all ready.
pub async fn publish_ready(db: &Db, media_id: &str) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE statuses SET published_at = $1
         WHERE published_at IS NULL
           AND id IN (SELECT status_id FROM status_media WHERE media_id = $2)
           AND NOT EXISTS (
               SELECT 1 FROM status_media sm JOIN media m ON m.id = sm.media_id
               WHERE sm.status_id = statuses.id AND m.state <> 'ready')",
    )
    .bind(now_ms())
    .bind(media_id)
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected())
}

/// Mastodon-style paging by id: `max_id` (older than), `since_id` / `min_id` (newer than).
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub max_id: Option<String>,
    pub since_id: Option<String>,
    pub min_id: Option<String>,
    pub limit: i64,
}

pub enum Timeline<'a> {
    /// Every published public status of this instance.
    Public,
    /// What an account sees at home: its own statuses (and, with federation, its follows').
    Home { account_id: &'a str },
    /// One account's profile, as seen by others: public and unlisted.
    Account { account_id: &'a str },
}

/// Newest first, whatever the paging direction.
pub async fn timeline(db: &Db, timeline: Timeline<'_>, page: &Page) -> Result<Vec<Status>> {
    let mut binds: Vec<String> = Vec::new();
    let mut conditions = vec!["s.published_at IS NOT NULL".to_owned()];
    let bind = |value: &str, binds: &mut Vec<String>| {
        binds.push(value.to_owned());
        format!("${}", binds.len())
    };
    match timeline {
        Timeline::Public => conditions.push("s.visibility = 'public'".into()),
        Timeline::Home { account_id } => {
            let mark = bind(account_id, &mut binds);
            conditions.push(format!("s.account_id = {mark}"));
        }
        Timeline::Account { account_id } => {
            let mark = bind(account_id, &mut binds);
            conditions.push(format!(
                "s.account_id = {mark} AND s.visibility IN ('public', 'unlisted')"
            ));
        }
    }
    if let Some(max) = &page.max_id {
        let mark = bind(max, &mut binds);
        conditions.push(format!("s.id < {mark}"));
    }
    // min_id pages forward from a point (oldest first, then reversed); since_id just bounds.
    let lower = page.min_id.as_ref().or(page.since_id.as_ref());
    if let Some(min) = lower {
        let mark = bind(min, &mut binds);
        conditions.push(format!("s.id > {mark}"));
    }
    let order = if page.min_id.is_some() { "ASC" } else { "DESC" };
    let sql = format!(
        "SELECT {COLUMNS} FROM statuses s WHERE {} ORDER BY s.id {order} LIMIT {}",
        conditions.join(" AND "),
        page.limit.clamp(1, 40)
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for value in &binds {
        query = query.bind(value);
    }
    let rows = query.fetch_all(&db.pool).await?;
    let mut statuses = rows.iter().map(from_row).collect::<Result<Vec<_>>>()?;
    if page.min_id.is_some() {
        statuses.reverse();
    }
    Ok(statuses)
}

/// The attachments of each status, in their posted order.
pub async fn media_of(db: &Db, status_ids: &[&str]) -> Result<HashMap<String, Vec<Media>>> {
    let mut out: HashMap<String, Vec<Media>> = HashMap::new();
    if status_ids.is_empty() {
        return Ok(out);
    }
    let marks: Vec<String> = (1..=status_ids.len()).map(|i| format!("${i}")).collect();
    let columns: Vec<String> = super::media::COLUMNS
        .split(", ")
        .map(|c| format!("m.{c}"))
        .collect();
    let sql = format!(
        "SELECT sm.status_id AS status_id, {} FROM status_media sm JOIN media m ON m.id = sm.media_id
         WHERE sm.status_id IN ({}) ORDER BY sm.status_id, sm.position",
        columns.join(", "),
        marks.join(", ")
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for id in status_ids {
        query = query.bind(*id);
    }
    for row in query.fetch_all(&db.pool).await? {
        let status_id: String = row.try_get("status_id")?;
        out.entry(status_id)
            .or_default()
            .push(super::media::from_row(&row)?);
    }
    Ok(out)
}

/// How many published statuses an account has, for its profile.
pub async fn count_for_account(db: &Db, account_id: &str) -> Result<i64> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM statuses WHERE account_id = $1 AND published_at IS NOT NULL",
    )
    .bind(account_id)
    .fetch_one(&db.pool)
    .await
    .map_err(Error::from)?;
    Ok(n)
}

/// Published local statuses, and accounts that posted since `since` (for NodeInfo).
pub async fn usage(db: &Db, month_ago: i64, half_year_ago: i64) -> Result<(i64, i64, i64)> {
    let posts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM statuses WHERE published_at IS NOT NULL")
        .fetch_one(&db.pool)
        .await?;
    let active = |since: i64| async move {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(DISTINCT account_id) FROM statuses WHERE created_at > $1")
            .bind(since)
            .fetch_one(&db.pool)
            .await
    };
    Ok((posts, active(month_ago).await?, active(half_year_ago).await?))
}
