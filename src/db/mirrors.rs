//! Instance follows and video copies: ours of others', and others' of ours.

use sqlx::Row;

use super::{Db, now_ms};
use crate::error::Result;

/// A copy we hold (being made, verified, or failed and waiting for its retry).
#[derive(Debug, Clone)]
pub struct Held {
    pub mirror_id: String,
    pub status_id: String,
    pub strategy: String,
    pub size_bytes: i64,
    /// When this copy was (last) started: minimum lifetimes count from here.
    pub created_at: i64,
    pub published_at: i64,
    pub views: i64,
    pub verified: bool,
    pub copying: bool,
}

/// A public video of a followed instance that we do not hold.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub status_id: String,
    pub published_at: i64,
    pub views: i64,
    /// We held a copy once and let it go.
    pub dropped_before: bool,
}

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
/// Our instance follow `follow_uri` of `actor_uri` was accepted: only by the actor we followed.
pub async fn accept_out(db: &Db, follow_uri: &str, actor_uri: &str) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE instance_follows SET state = 'accepted'
         WHERE follow_uri = $1 AND actor_uri = $2 AND direction = 'out'",
    )
    .bind(follow_uri)
    .bind(actor_uri)
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
    pub strategy: String,
    pub poster_key: Option<String>,
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
        strategy: r.try_get("strategy")?,
        poster_key: r.try_get("poster_key")?,
    })
}

/// A copy to make for `strategy`; an existing row for the status is taken over (a retried or
/// renewed copy keeps its id, so files it already fetched can be reused). A dropped copy
/// starts its lifetime again.
pub async fn start_mirror(
    db: &Db,
    status_id: &str,
    video_uri: &str,
    origin_master: &str,
    strategy: &str,
) -> Result<Mirror> {
    if !claim(db, status_id, video_uri, origin_master, strategy).await? {
        sqlx::query(
            "UPDATE mirrors SET state = 'copying', strategy = $1, origin_master = $2 WHERE status_id = $3",
        )
        .bind(strategy)
        .bind(origin_master)
        .bind(status_id)
        .execute(&db.pool)
        .await?;
    }
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

/// Every copy not dropped, with what the strategies weigh it by.
pub async fn held(db: &Db) -> Result<Vec<Held>> {
    let rows = sqlx::query(
        "SELECT m.id, m.status_id, m.strategy, m.size_bytes, m.state, m.created_at,
                s.created_at AS published_at, s.views + s.remote_views AS views
         FROM mirrors m JOIN statuses s ON s.id = m.status_id WHERE m.state <> 'dropped'",
    )
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            let state: String = r.try_get("state")?;
            Ok(Held {
                mirror_id: r.try_get("id")?,
                status_id: r.try_get("status_id")?,
                strategy: r.try_get("strategy")?,
                size_bytes: r.try_get("size_bytes")?,
                created_at: r.try_get("created_at")?,
                published_at: r.try_get("published_at")?,
                views: r.try_get("views")?,
                verified: state == "verified",
                copying: state == "copying",
            })
        })
        .collect()
}

/// Public remote videos we hold no copy of, with their authors' ids: the newest and the most
/// viewed, `limit` of each.
pub async fn candidates(db: &Db, limit: i64) -> Result<Vec<(String, Candidate)>> {
    let mut out: Vec<(String, Candidate)> = Vec::new();
    const BY_DATE: &str = "ORDER BY published_at DESC, s.id LIMIT $1";
    const BY_VIEWS: &str = "ORDER BY views DESC, s.id LIMIT $1";
    for order in [BY_DATE, BY_VIEWS] {
        let sql = format!(
            "SELECT s.id, a.uri AS author, s.created_at AS published_at, m.id AS mirror_id,
                    s.views + s.remote_views AS views
             FROM statuses s
             JOIN accounts a ON a.id = s.account_id
             LEFT JOIN mirrors m ON m.status_id = s.id
             WHERE s.visibility = 'public' AND s.reblog_of_id IS NULL AND a.domain IS NOT NULL
               AND (m.id IS NULL OR m.state = 'dropped')
               AND EXISTS (SELECT 1 FROM status_media sm JOIN media md ON md.id = sm.media_id
                           WHERE sm.status_id = s.id AND md.remote_hls_url IS NOT NULL)
             {order}"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(limit)
            .fetch_all(&db.pool)
            .await?;
        for r in rows {
            let id: String = r.try_get("id")?;
            if out.iter().any(|(_, c)| c.status_id == id) {
                continue;
            }
            out.push((
                r.try_get::<Option<String>, _>("author")?.unwrap_or_default(),
                Candidate {
                    status_id: id,
                    published_at: r.try_get("published_at")?,
                    views: r.try_get("views")?,
                    dropped_before: r.try_get::<Option<String>, _>("mirror_id")?.is_some(),
                },
            ));
        }
    }
    Ok(out)
}

/// False when it was dropped already.
pub async fn mark_dropped(db: &Db, id: &str, reason: &str) -> Result<bool> {
    let done =
        sqlx::query("UPDATE mirrors SET state = 'dropped', error = $1 WHERE id = $2 AND state <> 'dropped'")
            .bind(reason)
            .bind(id)
            .execute(&db.pool)
            .await?;
    Ok(done.rows_affected() > 0)
}

/// Takes a video for copying: true when no copy of it was held (or the last was dropped).
pub async fn claim(
    db: &Db,
    status_id: &str,
    video_uri: &str,
    origin_master: &str,
    strategy: &str,
) -> Result<bool> {
    let now = now_ms();
    let inserted = sqlx::query(
        "INSERT INTO mirrors (id, status_id, video_uri, origin_master, state, strategy, created_at)
         VALUES ($1, $2, $3, $4, 'copying', $5, $6) ON CONFLICT (status_id) DO NOTHING",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(status_id)
    .bind(video_uri)
    .bind(origin_master)
    .bind(strategy)
    .bind(now)
    .execute(&db.pool)
    .await?;
    if inserted.rows_affected() > 0 {
        return Ok(true);
    }
    let retaken = sqlx::query(
        "UPDATE mirrors SET state = 'copying', strategy = $1, origin_master = $2, error = NULL, created_at = $3
         WHERE status_id = $4 AND state = 'dropped'",
    )
    .bind(strategy)
    .bind(origin_master)
    .bind(now)
    .bind(status_id)
    .execute(&db.pool)
    .await?;
    Ok(retaken.rows_affected() > 0)
}

pub async fn for_status(db: &Db, status_id: &str) -> Result<Option<Mirror>> {
    let row = sqlx::query("SELECT * FROM mirrors WHERE status_id = $1")
        .bind(status_id)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(mirror_from_row).transpose()
}

pub async fn set_poster(db: &Db, id: &str, poster_key: Option<&str>) -> Result<()> {
    sqlx::query("UPDATE mirrors SET poster_key = $1 WHERE id = $2")
        .bind(poster_key)
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
    expires_at: Option<i64>,
) -> Result<bool> {
    let now = now_ms();
    let updated = sqlx::query(
        "UPDATE media_mirrors SET master_url = $1, cachefile_uri = $2, actor_uri = $3, verified_at = $4, expires_at = $7
         WHERE media_id = $5 AND base_url = $6",
    )
    .bind(master_url)
    .bind(cachefile_uri)
    .bind(actor_uri)
    .bind(now)
    .bind(media_id)
    .bind(base_url)
    .bind(expires_at)
    .execute(&db.pool)
    .await?;
    if updated.rows_affected() == 0 {
        let inserted = sqlx::query(
            "INSERT INTO media_mirrors (media_id, base_url, master_url, cachefile_uri, actor_uri, verified_at, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6, $7)",
        )
        .bind(media_id)
        .bind(base_url)
        .bind(master_url)
        .bind(cachefile_uri)
        .bind(actor_uri)
        .bind(now)
        .bind(expires_at)
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

/// Forgets copies whose mirrors let their promise run out without renewing it; returns the
/// statuses whose videos lost a copy.
pub async fn forget_expired(db: &Db) -> Result<Vec<String>> {
    let now = now_ms();
    let statuses: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT sm.status_id FROM media_mirrors mm JOIN status_media sm ON sm.media_id = mm.media_id
         WHERE mm.expires_at IS NOT NULL AND mm.expires_at <= $1",
    )
    .bind(now)
    .fetch_all(&db.pool)
    .await?;
    sqlx::query("DELETE FROM media_mirrors WHERE expires_at IS NOT NULL AND expires_at <= $1")
        .bind(now)
        .execute(&db.pool)
        .await?;
    Ok(statuses)
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

/// The known copies of a media not past their promise: (base URL, master playlist URL),
/// oldest first.
pub async fn copies(db: &Db, media_id: &str) -> Result<Vec<(String, String)>> {
    let rows = sqlx::query(
        "SELECT base_url, master_url FROM media_mirrors
         WHERE media_id = $1 AND (expires_at IS NULL OR expires_at > $2) ORDER BY created_at",
    )
    .bind(media_id)
    .bind(now_ms())
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
