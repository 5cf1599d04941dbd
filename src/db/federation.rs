//! Follows, likes, the activities we send and receive, what we know of other servers, and the
//! domains we refuse.

use sqlx::Row;

use super::{Db, Tx, jobs, now_ms};
use crate::error::Result;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Follow {
    pub id: String,
    pub account_id: String,
    pub target_id: String,
    pub accepted: bool,
    pub uri: Option<String>,
    /// The follower asked to be told of each new post.
    pub notify: bool,
}

fn follow_from_row(row: &sqlx::any::AnyRow) -> Result<Follow> {
    Ok(Follow {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        target_id: row.try_get("target_id")?,
        accepted: row.try_get::<String, _>("state")? == "accepted",
        uri: row.try_get("uri")?,
        notify: row.try_get::<i64, _>("notify")? != 0,
    })
}

/// Whether a follower is told of each new post of the account it follows.
pub async fn set_notify(db: &Db, account_id: &str, target_id: &str, notify: bool) -> Result<()> {
    sqlx::query("UPDATE follows SET notify = $1 WHERE account_id = $2 AND target_id = $3")
        .bind(i64::from(notify))
        .bind(account_id)
        .bind(target_id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Records a follow (or returns the one already there: following twice changes nothing).
pub async fn follow(
    db: &Db,
    account_id: &str,
    target_id: &str,
    accepted: bool,
    uri: Option<&str>,
) -> Result<Follow> {
    let result = sqlx::query(
        "INSERT INTO follows (id, account_id, target_id, state, uri, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(account_id)
    .bind(target_id)
    .bind(if accepted { "accepted" } else { "pending" })
    .bind(uri)
    .bind(now_ms())
    .execute(&db.pool)
    .await;
    match result {
        Ok(_) => {}
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            if accepted {
                sqlx::query("UPDATE follows SET state = 'accepted' WHERE account_id = $1 AND target_id = $2")
                    .bind(account_id)
                    .bind(target_id)
                    .execute(&db.pool)
                    .await?;
            }
        }
        Err(e) => return Err(e.into()),
    }
    get_follow(db, account_id, target_id)
        .await?
        .ok_or_else(|| crate::error::Error::internal("follow vanished after insert"))
}

pub async fn get_follow(db: &Db, account_id: &str, target_id: &str) -> Result<Option<Follow>> {
    let row = sqlx::query("SELECT * FROM follows WHERE account_id = $1 AND target_id = $2")
        .bind(account_id)
        .bind(target_id)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(follow_from_row).transpose()
}

pub async fn follow_by_uri(db: &Db, uri: &str) -> Result<Option<Follow>> {
    let row = sqlx::query("SELECT * FROM follows WHERE uri = $1")
        .bind(uri)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(follow_from_row).transpose()
}

pub async fn accept_follow(db: &Db, id: &str) -> Result<bool> {
    let done = sqlx::query("UPDATE follows SET state = 'accepted' WHERE id = $1")
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn unfollow(db: &Db, account_id: &str, target_id: &str) -> Result<bool> {
    let done = sqlx::query("DELETE FROM follows WHERE account_id = $1 AND target_id = $2")
        .bind(account_id)
        .bind(target_id)
        .execute(&db.pool)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Where a local account's followers are to be reached: one inbox per server (its shared inbox
/// when it has one), never twice.
pub async fn follower_inboxes(db: &Db, target_id: &str) -> Result<Vec<String>> {
    let inboxes: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT COALESCE(a.shared_inbox_url, a.inbox_url) FROM follows f JOIN accounts a ON a.id = f.account_id
         WHERE f.target_id = $1 AND f.state = 'accepted' AND a.domain IS NOT NULL AND a.inbox_url IS NOT NULL",
    )
    .bind(target_id)
    .fetch_all(&db.pool)
    .await?;
    Ok(inboxes)
}

/// Whether any local account follows (accepted) this remote account.
pub async fn has_local_follower(db: &Db, target_id: &str) -> Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM follows f JOIN accounts a ON a.id = f.account_id
         WHERE f.target_id = $1 AND f.state = 'accepted' AND a.domain IS NULL",
    )
    .bind(target_id)
    .fetch_one(&db.pool)
    .await?;
    Ok(n > 0)
}

pub async fn counts(db: &Db, account_id: &str) -> Result<(i64, i64)> {
    let followers: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM follows WHERE target_id = $1 AND state = 'accepted'")
            .bind(account_id)
            .fetch_one(&db.pool)
            .await?;
    let following: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM follows WHERE account_id = $1 AND state = 'accepted'")
            .bind(account_id)
            .fetch_one(&db.pool)
            .await?;
    Ok((followers, following))
}

/// Actor ids of an account's accepted followers or followings, newest first, for the collections.
pub async fn relation_uris(db: &Db, account_id: &str, followers: bool, base: &str) -> Result<Vec<String>> {
    let sql = if followers {
        "SELECT a.uri, a.username FROM follows f JOIN accounts a ON a.id = f.account_id
         WHERE f.target_id = $1 AND f.state = 'accepted' ORDER BY f.created_at DESC LIMIT 1000"
    } else {
        "SELECT a.uri, a.username FROM follows f JOIN accounts a ON a.id = f.target_id
         WHERE f.account_id = $1 AND f.state = 'accepted' ORDER BY f.created_at DESC LIMIT 1000"
    };
    let rows = sqlx::query(sql).bind(account_id).fetch_all(&db.pool).await?;
    rows.iter()
        .map(|r| {
            let uri: Option<String> = r.try_get("uri")?;
            let username: String = r.try_get("username")?;
            Ok(uri.unwrap_or_else(|| crate::domain::account::person_id(base, &username)))
        })
        .collect()
}

/// Likes: recording one twice is the same as once.
pub async fn favourite(db: &Db, account_id: &str, status_id: &str, uri: Option<&str>) -> Result<bool> {
    let result = sqlx::query(
        "INSERT INTO favourites (id, account_id, status_id, uri, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(account_id)
    .bind(status_id)
    .bind(uri)
    .bind(now_ms())
    .execute(&db.pool)
    .await;
    match result {
        Ok(_) => Ok(true),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
        Err(e) => Err(e.into()),
    }
}

pub async fn unfavourite(db: &Db, account_id: &str, status_id: &str) -> Result<bool> {
    let done = sqlx::query("DELETE FROM favourites WHERE account_id = $1 AND status_id = $2")
        .bind(account_id)
        .bind(status_id)
        .execute(&db.pool)
        .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn favourited(db: &Db, account_id: &str, status_id: &str) -> Result<bool> {
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM favourites WHERE account_id = $1 AND status_id = $2")
            .bind(account_id)
            .bind(status_id)
            .fetch_one(&db.pool)
            .await?;
    Ok(n > 0)
}

/// Replies, boosts and likes of a status.
pub async fn status_counts(db: &Db, status_id: &str) -> Result<(i64, i64, i64)> {
    let count = |sql: &'static str| async move {
        sqlx::query_scalar::<_, i64>(sql)
            .bind(status_id)
            .fetch_one(&db.pool)
            .await
    };
    Ok((
        count("SELECT COUNT(*) FROM statuses WHERE in_reply_to_id = $1 AND published_at IS NOT NULL").await?,
        count("SELECT COUNT(*) FROM statuses WHERE reblog_of_id = $1").await?,
        count("SELECT COUNT(*) FROM favourites WHERE status_id = $1").await?,
    ))
}

/// Stores an activity to send and one delivery job per inbox, in one transaction: once this
/// returns, the activity will reach every inbox or run out of attempts trying.
pub async fn store_outgoing(
    db: &Db,
    id: &str,
    account_id: Option<&str>,
    payload: &str,
    deliveries: &[jobs::NewJob],
) -> Result<()> {
    let mut tx: Tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO outbox_activities (id, account_id, payload, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(id)
    .bind(account_id)
    .bind(payload)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    for job in deliveries {
        jobs::enqueue(&mut *tx, job).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// An activity to send: who sends it (None: the instance actor) and its JSON.
pub async fn outgoing(db: &Db, id: &str) -> Result<Option<(Option<String>, String)>> {
    let row = sqlx::query("SELECT account_id, payload FROM outbox_activities WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    row.map(|r| Ok((r.try_get("account_id")?, r.try_get("payload")?)))
        .transpose()
}

/// Records a verified incoming activity and the job that will process it. False when the same
/// activity id was already received: a repeat changes nothing.
pub async fn store_incoming(
    db: &Db,
    uri: &str,
    signer: &str,
    payload: &str,
    job: &jobs::NewJob,
) -> Result<bool> {
    let mut tx: Tx = db.begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO inbox_activities (id, uri, signer, payload, received_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(uri)
    .bind(signer)
    .bind(payload)
    .bind(now_ms())
    .execute(&mut *tx)
    .await;
    match inserted {
        Ok(_) => {}
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => return Ok(false),
        Err(e) => return Err(e.into()),
    }
    jobs::enqueue(&mut *tx, job).await?;
    tx.commit().await?;
    Ok(true)
}

/// A received activity by its id: (signer's actor id, JSON).
pub async fn incoming(db: &Db, uri: &str) -> Result<Option<(String, String)>> {
    let row = sqlx::query("SELECT signer, payload FROM inbox_activities WHERE uri = $1")
        .bind(uri)
        .fetch_optional(&db.pool)
        .await?;
    row.map(|r| Ok((r.try_get("signer")?, r.try_get("payload")?)))
        .transpose()
}

/// A server answered: it is alive again. Returns whether it had been marked dead.
pub async fn peer_succeeded(db: &Db, domain: &str) -> Result<bool> {
    let was_dead: Option<i64> = sqlx::query_scalar("SELECT dead FROM peers WHERE domain = $1")
        .bind(domain)
        .fetch_optional(&db.pool)
        .await?;
    let now = now_ms();
    if was_dead.is_some() {
        sqlx::query(
            "UPDATE peers SET failing_since = NULL, dead = 0, last_success_at = $1 WHERE domain = $2",
        )
        .bind(now)
        .bind(domain)
        .execute(&db.pool)
        .await?;
    } else {
        let _ = sqlx::query("INSERT INTO peers (domain, last_success_at, dead) VALUES ($1, $2, 0)")
            .bind(domain)
            .bind(now)
            .execute(&db.pool)
            .await;
    }
    Ok(was_dead == Some(1))
}

/// A server failed to answer. It is marked dead once it has failed for `dead_after_ms`.
/// Returns whether it is now dead.
pub async fn peer_failed(db: &Db, domain: &str, dead_after_ms: i64) -> Result<bool> {
    let now = now_ms();
    let _ = sqlx::query("INSERT INTO peers (domain, failing_since, dead) VALUES ($1, $2, 0)")
        .bind(domain)
        .bind(now)
        .execute(&db.pool)
        .await;
    sqlx::query("UPDATE peers SET failing_since = COALESCE(failing_since, $1) WHERE domain = $2")
        .bind(now)
        .bind(domain)
        .execute(&db.pool)
        .await?;
    sqlx::query("UPDATE peers SET dead = 1 WHERE domain = $1 AND failing_since <= $2")
        .bind(domain)
        .bind(now - dead_after_ms)
        .execute(&db.pool)
        .await?;
    peer_dead(db, domain).await
}

pub async fn peer_dead(db: &Db, domain: &str) -> Result<bool> {
    let dead: Option<i64> = sqlx::query_scalar("SELECT dead FROM peers WHERE domain = $1")
        .bind(domain)
        .fetch_optional(&db.pool)
        .await?;
    Ok(dead == Some(1))
}

/// For a dead server: whether the caller may try it now (no probe within `interval_ms`). At
/// most one caller wins per interval, so a dead server is not hammered.
pub async fn claim_probe(db: &Db, domain: &str, interval_ms: i64) -> Result<bool> {
    let now = now_ms();
    let done = sqlx::query(
        "UPDATE peers SET last_probe_at = $1 WHERE domain = $2 AND (last_probe_at IS NULL OR last_probe_at <= $3)",
    )
    .bind(now)
    .bind(domain)
    .bind(now - interval_ms)
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn dead_peers(db: &Db) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar("SELECT domain FROM peers WHERE dead = 1")
        .fetch_all(&db.pool)
        .await?)
}

/// Moves the parked deliveries to a server that answers again to now.
pub async fn wake_deliveries(db: &Db, kind: &str, domain: &str) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE jobs SET run_after = $1 WHERE kind = $2 AND state = 'queued' AND payload LIKE $3",
    )
    .bind(now_ms())
    .bind(kind)
    .bind(format!(
        "%\"domain\":\"{}\"%",
        domain.replace(['%', '_', '"'], "")
    ))
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected())
}

pub async fn block_domain(db: &Db, domain: &str, reason: &str) -> Result<()> {
    let result = sqlx::query("INSERT INTO domain_blocks (domain, reason, created_at) VALUES ($1, $2, $3)")
        .bind(domain)
        .bind(reason)
        .bind(now_ms())
        .execute(&db.pool)
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            sqlx::query("UPDATE domain_blocks SET reason = $1 WHERE domain = $2")
                .bind(reason)
                .bind(domain)
                .execute(&db.pool)
                .await?;
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn unblock_domain(db: &Db, domain: &str) -> Result<bool> {
    let done = sqlx::query("DELETE FROM domain_blocks WHERE domain = $1")
        .bind(domain)
        .execute(&db.pool)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Blocked domains with their reasons and when they were blocked.
pub async fn domain_blocks(db: &Db) -> Result<Vec<(String, String, i64)>> {
    let rows = sqlx::query("SELECT domain, reason, created_at FROM domain_blocks ORDER BY domain")
        .fetch_all(&db.pool)
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("domain")?,
                r.try_get("reason")?,
                r.try_get("created_at")?,
            ))
        })
        .collect()
}
