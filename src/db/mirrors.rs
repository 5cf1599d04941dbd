//! Instance follows and video copies: ours of others', and others' of ours.

use sqlx::Row;

use super::{Db, now_ms};
use crate::error::Result;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// We follow them: we mirror their videos.
    Out,
    /// They follow us.
    In,
}

impl Direction {
    fn as_str(self) -> &'static str {
        match self {
            Direction::Out => "out",
            Direction::In => "in",
        }
    }
}

pub async fn record_follow(
    db: &Db,
    actor_uri: &str,
    direction: Direction,
    inbox: &str,
    accepted: bool,
    follow_uri: Option<&str>,
) -> Result<()> {
    let state = if accepted { "accepted" } else { "pending" };
    let updated = sqlx::query(
        "UPDATE instance_follows SET inbox = $1, state = $2, follow_uri = COALESCE($3, follow_uri)
         WHERE actor_uri = $4 AND direction = $5",
    )
    .bind(inbox)
    .bind(state)
    .bind(follow_uri)
    .bind(actor_uri)
    .bind(direction.as_str())
    .execute(&db.pool)
    .await?;
    if updated.rows_affected() == 0 {
        let _ = sqlx::query(
            "INSERT INTO instance_follows (actor_uri, direction, inbox, state, follow_uri, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(actor_uri)
        .bind(direction.as_str())
        .bind(inbox)
        .bind(state)
        .bind(follow_uri)
        .bind(now_ms())
        .execute(&db.pool)
        .await;
    }
    Ok(())
}

/// Marks our follow accepted by its Follow id; false when it is not ours.
pub async fn accept_out(db: &Db, follow_uri: &str) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE instance_follows SET state = 'accepted' WHERE follow_uri = $1 AND direction = 'out'",
    )
    .bind(follow_uri)
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn remove_follow(db: &Db, actor_uri: &str, direction: Direction) -> Result<bool> {
    let done = sqlx::query("DELETE FROM instance_follows WHERE actor_uri = $1 AND direction = $2")
        .bind(actor_uri)
        .bind(direction.as_str())
        .execute(&db.pool)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Whether the instance actor `actor_uri` and we have an accepted follow in that direction.
pub async fn follows(db: &Db, actor_uri: &str, direction: Direction) -> Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM instance_follows WHERE actor_uri = $1 AND direction = $2 AND state = 'accepted'",
    )
    .bind(actor_uri)
    .bind(direction.as_str())
    .fetch_one(&db.pool)
    .await?;
    Ok(n > 0)
}

/// The instance actors we follow (accepted), by id.
pub async fn followed_actors(db: &Db) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT actor_uri FROM instance_follows WHERE direction = 'out' AND state = 'accepted'",
    )
    .fetch_all(&db.pool)
    .await?)
}

/// Inboxes of the instances that follow ours: they get every public post.
pub async fn follower_inboxes(db: &Db) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT inbox FROM instance_follows WHERE direction = 'in' AND state = 'accepted'",
    )
    .fetch_all(&db.pool)
    .await?)
}

#[derive(Debug, Clone)]
pub struct Mirror {
    pub id: String,
    pub status_id: String,
    pub video_uri: String,
    pub origin_master: String,
    pub master_key: Option<String>,
    pub size_bytes: i64,
    pub state: String,
    pub error: Option<String>,
    pub verified_at: Option<i64>,
}

fn mirror_from_row(r: &sqlx::any::AnyRow) -> Result<Mirror> {
    Ok(Mirror {
        id: r.try_get("id")?,
        status_id: r.try_get("status_id")?,
        video_uri: r.try_get("video_uri")?,
        origin_master: r.try_get("origin_master")?,
        master_key: r.try_get("master_key")?,
        size_bytes: r.try_get("size_bytes")?,
        state: r.try_get("state")?,
        error: r.try_get("error")?,
        verified_at: r.try_get("verified_at")?,
    })
}

/// A copy to make; returns the existing one when the status already has one.
pub async fn start_mirror(db: &Db, status_id: &str, video_uri: &str, origin_master: &str) -> Result<Mirror> {
    let _ = sqlx::query(
        "INSERT INTO mirrors (id, status_id, video_uri, origin_master, state, created_at) VALUES ($1, $2, $3, $4, 'copying', $5)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(status_id)
    .bind(video_uri)
    .bind(origin_master)
    .bind(now_ms())
    .execute(&db.pool)
    .await;
    let row = sqlx::query("SELECT * FROM mirrors WHERE status_id = $1")
        .bind(status_id)
        .fetch_one(&db.pool)
        .await?;
    mirror_from_row(&row)
}

pub async fn mirror(db: &Db, id: &str) -> Result<Option<Mirror>> {
    let row = sqlx::query("SELECT * FROM mirrors WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(mirror_from_row).transpose()
}

/// Our verified copy of the video of the status that carries `media_id`, if we hold one.
pub async fn verified_for_media(db: &Db, media_id: &str) -> Result<Option<Mirror>> {
    let row = sqlx::query(
        "SELECT m.* FROM mirrors m JOIN status_media sm ON sm.status_id = m.status_id
         WHERE sm.media_id = $1 AND m.state = 'verified' AND m.master_key IS NOT NULL",
    )
    .bind(media_id)
    .fetch_optional(&db.pool)
    .await?;
    row.as_ref().map(mirror_from_row).transpose()
}

/// Verified copies not checked since `before` (epoch ms).
pub async fn due_for_check(db: &Db, before: i64) -> Result<Vec<String>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM mirrors WHERE state = 'verified' AND verified_at < $1 LIMIT 100")
            .bind(before)
            .fetch_all(&db.pool)
            .await?,
    )
}

/// Verified copies, oldest first, with their sizes: the order they give way in.
pub async fn verified_oldest_first(db: &Db) -> Result<Vec<Mirror>> {
    let rows = sqlx::query("SELECT * FROM mirrors WHERE state = 'verified' ORDER BY created_at, id")
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(mirror_from_row).collect()
}

pub async fn mark_dropped(db: &Db, id: &str, reason: &str) -> Result<()> {
    sqlx::query("UPDATE mirrors SET state = 'dropped', error = $1 WHERE id = $2")
        .bind(reason)
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

pub async fn mirrors(db: &Db) -> Result<Vec<Mirror>> {
    let rows = sqlx::query("SELECT * FROM mirrors ORDER BY created_at DESC LIMIT 500")
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(mirror_from_row).collect()
}

pub async fn mirror_done(db: &Db, id: &str, master_key: &str, size: i64) -> Result<()> {
    sqlx::query(
        "UPDATE mirrors SET state = 'verified', master_key = $1, size_bytes = $2, error = NULL, verified_at = $3 WHERE id = $4",
    )
    .bind(master_key)
    .bind(size)
    .bind(now_ms())
    .bind(id)
    .execute(&db.pool)
    .await?;
    Ok(())
}

pub async fn mirror_failed(db: &Db, id: &str, error: &str) -> Result<()> {
    sqlx::query("UPDATE mirrors SET state = 'failed', error = $1 WHERE id = $2")
        .bind(error)
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// A known copy of a video, verified. True when it was not known before.
pub async fn add_copy(
    db: &Db,
    media_id: &str,
    base_url: &str,
    master_url: &str,
    cachefile_uri: &str,
    actor_uri: &str,
) -> Result<bool> {
    let now = now_ms();
    let updated = sqlx::query(
        "UPDATE media_mirrors SET master_url = $1, cachefile_uri = $2, actor_uri = $3, verified_at = $4
         WHERE media_id = $5 AND base_url = $6",
    )
    .bind(master_url)
    .bind(cachefile_uri)
    .bind(actor_uri)
    .bind(now)
    .bind(media_id)
    .bind(base_url)
    .execute(&db.pool)
    .await?;
    if updated.rows_affected() == 0 {
        let inserted = sqlx::query(
            "INSERT INTO media_mirrors (media_id, base_url, master_url, cachefile_uri, actor_uri, verified_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6)",
        )
        .bind(media_id)
        .bind(base_url)
        .bind(master_url)
        .bind(cachefile_uri)
        .bind(actor_uri)
        .bind(now)
        .execute(&db.pool)
        .await;
        return match inserted {
            Ok(_) => Ok(true),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
            Err(e) => Err(e.into()),
        };
    }
    Ok(false)
}

pub async fn remove_copy(db: &Db, cachefile_uri: &str, actor_uri: &str) -> Result<bool> {
    let done = sqlx::query("DELETE FROM media_mirrors WHERE cachefile_uri = $1 AND actor_uri = $2")
        .bind(cachefile_uri)
        .bind(actor_uri)
        .execute(&db.pool)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Copies others hold of our videos: (media id, base URL, last verified).
pub async fn copies_of_ours(db: &Db) -> Result<Vec<(String, String, i64)>> {
    let rows = sqlx::query(
        "SELECT mm.media_id, mm.base_url, mm.verified_at FROM media_mirrors mm JOIN media m ON m.id = mm.media_id
         WHERE m.remote_url IS NULL ORDER BY mm.created_at DESC LIMIT 500",
    )
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("media_id")?,
                r.try_get("base_url")?,
                r.try_get("verified_at")?,
            ))
        })
        .collect()
}

/// The known copies of a media: (base URL, master playlist URL), oldest first.
pub async fn copies(db: &Db, media_id: &str) -> Result<Vec<(String, String)>> {
    let rows =
        sqlx::query("SELECT base_url, master_url FROM media_mirrors WHERE media_id = $1 ORDER BY created_at")
            .bind(media_id)
            .fetch_all(&db.pool)
            .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("base_url")?, r.try_get("master_url")?)))
        .collect()
}

/// Adds to a running total.
pub async fn count(db: &Db, name: &str, by: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO counters (name, value) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE SET value = counters.value + excluded.value",
    )
    .bind(name)
    .bind(by)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// What /metrics reports: running totals and the state of copies and deliveries.
pub async fn metrics(db: &Db) -> Result<Vec<(String, i64)>> {
    let mut out: Vec<(String, i64)> = Vec::new();
    for row in sqlx::query("SELECT name, value FROM counters ORDER BY name")
        .fetch_all(&db.pool)
        .await?
    {
        out.push((row.try_get("name")?, row.try_get("value")?));
    }
    for row in sqlx::query(
        "SELECT state, COUNT(*) AS n, CAST(COALESCE(SUM(size_bytes), 0) AS BIGINT) AS bytes FROM mirrors GROUP BY state",
    )
    .fetch_all(&db.pool)
    .await?
    {
        let state: String = row.try_get("state")?;
        out.push((format!("mirror_copies{{state=\"{state}\"}}"), row.try_get("n")?));
        out.push((
            format!("mirror_copy_bytes{{state=\"{state}\"}}"),
            row.try_get("bytes")?,
        ));
    }
    let ours: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM media_mirrors mm JOIN media m ON m.id = mm.media_id WHERE m.remote_url IS NULL",
    )
    .fetch_one(&db.pool)
    .await?;
    out.push(("copies_of_our_videos".into(), ours));
    for row in
        sqlx::query("SELECT state, COUNT(*) AS n FROM jobs WHERE kind = 'federation.deliver' GROUP BY state")
            .fetch_all(&db.pool)
            .await?
    {
        let state: String = row.try_get("state")?;
        out.push((format!("deliveries{{state=\"{state}\"}}"), row.try_get("n")?));
    }
    let dead: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM peers WHERE dead = 1")
        .fetch_one(&db.pool)
        .await?;
    out.push(("dead_servers".into(), dead));
    Ok(out)
}
