//! Blocks and mutes between accounts, pending follow requests, and reports.

use sqlx::Row;

use super::{Db, now_ms};
use crate::error::Result;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shun {
    Block,
    Mute,
}

impl Shun {
    fn as_str(self) -> &'static str {
        match self {
            Shun::Block => "block",
            Shun::Mute => "mute",
        }
    }
}

/// Records a block or mute; a block also ends follows both ways. True when it is new.
pub async fn shun(db: &Db, account_id: &str, target_id: &str, kind: Shun) -> Result<bool> {
    let mut tx = db.begin().await?;
    let exists: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM account_blocks WHERE account_id = $1 AND target_id = $2 AND kind = $3",
    )
    .bind(account_id)
    .bind(target_id)
    .bind(kind.as_str())
    .fetch_one(&mut *tx)
    .await?;
    if exists == 0 {
        sqlx::query(
            "INSERT INTO account_blocks (account_id, target_id, kind, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(account_id)
        .bind(target_id)
        .bind(kind.as_str())
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
    }
    if kind == Shun::Block {
        sqlx::query(
            "DELETE FROM follows WHERE (account_id = $1 AND target_id = $2) OR (account_id = $2 AND target_id = $1)",
        )
        .bind(account_id)
        .bind(target_id)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(exists == 0)
}

pub async fn unshun(db: &Db, account_id: &str, target_id: &str, kind: Shun) -> Result<bool> {
    let done =
        sqlx::query("DELETE FROM account_blocks WHERE account_id = $1 AND target_id = $2 AND kind = $3")
            .bind(account_id)
            .bind(target_id)
            .bind(kind.as_str())
            .execute(&db.pool)
            .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn shuns(db: &Db, account_id: &str, target_id: &str, kind: Shun) -> Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM account_blocks WHERE account_id = $1 AND target_id = $2 AND kind = $3",
    )
    .bind(account_id)
    .bind(target_id)
    .bind(kind.as_str())
    .fetch_one(&db.pool)
    .await?;
    Ok(n > 0)
}

/// Follow requests waiting for `target_id`'s answer: (follow id, follower id).
pub async fn follow_requests(db: &Db, target_id: &str) -> Result<Vec<(String, String)>> {
    let rows = sqlx::query(
        "SELECT id, account_id FROM follows WHERE target_id = $1 AND state = 'pending' ORDER BY created_at LIMIT 80",
    )
    .bind(target_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("account_id")?)))
        .collect()
}

#[derive(Debug, Clone)]
pub struct Report {
    pub id: String,
    pub account_id: String,
    pub target_id: String,
    pub status_ids: Vec<String>,
    pub comment: String,
    pub forwarded: bool,
    pub created_at: i64,
}

pub async fn insert_report(db: &Db, report: &Report, uri: Option<&str>) -> Result<bool> {
    let result = sqlx::query(
        "INSERT INTO reports (id, account_id, target_id, status_ids, comment, uri, forwarded, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&report.id)
    .bind(&report.account_id)
    .bind(&report.target_id)
    .bind(serde_json::to_string(&report.status_ids).unwrap_or_else(|_| "[]".into()))
    .bind(&report.comment)
    .bind(uri)
    .bind(i64::from(report.forwarded))
    .bind(report.created_at)
    .execute(&db.pool)
    .await;
    match result {
        Ok(_) => Ok(true),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
        Err(e) => Err(e.into()),
    }
}

pub async fn reports(db: &Db) -> Result<Vec<Report>> {
    let rows = sqlx::query("SELECT * FROM reports ORDER BY created_at DESC LIMIT 200")
        .fetch_all(&db.pool)
        .await?;
    rows.iter()
        .map(|r| {
            let ids: String = r.try_get("status_ids")?;
            Ok(Report {
                id: r.try_get("id")?,
                account_id: r.try_get("account_id")?,
                target_id: r.try_get("target_id")?,
                status_ids: serde_json::from_str(&ids).unwrap_or_default(),
                comment: r.try_get("comment")?,
                forwarded: r.try_get::<i64, _>("forwarded")? != 0,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}

pub async fn set_locked(db: &Db, account_id: &str, locked: bool) -> Result<()> {
    sqlx::query("UPDATE accounts SET locked = $1 WHERE id = $2 AND domain IS NULL")
        .bind(i64::from(locked))
        .bind(account_id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// One report, with whether it was resolved.
pub async fn report(db: &Db, id: &str) -> Result<Option<(Report, Option<i64>, Option<String>)>> {
    let row = sqlx::query("SELECT * FROM reports WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    let Some(r) = row else {
        return Ok(None);
    };
    let ids: String = r.try_get("status_ids")?;
    Ok(Some((
        Report {
            id: r.try_get("id")?,
            account_id: r.try_get("account_id")?,
            target_id: r.try_get("target_id")?,
            status_ids: serde_json::from_str(&ids).unwrap_or_default(),
            comment: r.try_get("comment")?,
            forwarded: r.try_get::<i64, _>("forwarded")? != 0,
            created_at: r.try_get("created_at")?,
        },
        r.try_get("action_taken_at")?,
        r.try_get("resolution")?,
    )))
}

/// Marks a report resolved by `moderator` with what was done; false when it already was.
pub async fn resolve_report(db: &Db, id: &str, moderator: &str, resolution: &str) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE reports SET action_taken_at = $1, action_taken_by = $2, resolution = $3
         WHERE id = $4 AND action_taken_at IS NULL",
    )
    .bind(now_ms())
    .bind(moderator)
    .bind(resolution)
    .bind(id)
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Ids of reports not resolved yet.
pub async fn open_report_ids(db: &Db) -> Result<Vec<String>> {
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM reports WHERE action_taken_at IS NULL ORDER BY created_at DESC LIMIT 200",
    )
    .fetch_all(&db.pool)
    .await?;
    Ok(ids)
}
