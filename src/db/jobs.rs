//! The durable job queue's statements. Claiming is the one place where SQLite and PostgreSQL
//! differ: PostgreSQL locks the chosen row with `FOR UPDATE SKIP LOCKED` so concurrent workers
//! pick different jobs; SQLite runs the whole `UPDATE … RETURNING` under its single writer lock.

use sqlx::{Any, Executor, Row, any::AnyRow};

use super::{Backend, Db, now_ms};
use crate::error::Result;

/// A job ready to be written, inside a caller's transaction or on its own.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub id: String,
    pub kind: &'static str,
    pub payload: String,
    pub max_attempts: u32,
    pub run_after: i64,
}

/// A job as a worker holds it after claiming.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: String,
    pub kind: String,
    pub payload: String,
    pub attempts: i64,
    pub max_attempts: i64,
    pub lease_token: String,
}

/// A job's full row, for status pages and tests.
#[derive(Debug, Clone)]
pub struct JobRow {
    pub id: String,
    pub kind: String,
    pub payload: String,
    pub state: String,
    pub attempts: i64,
    pub max_attempts: i64,
    pub run_after: i64,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<i64>,
    pub last_error: Option<String>,
}

pub async fn enqueue<'c, E>(exec: E, job: &NewJob) -> Result<()>
where
    E: Executor<'c, Database = Any>,
{
    let now = now_ms();
    sqlx::query(
        "INSERT INTO jobs (id, kind, payload, state, attempts, max_attempts, run_after, created_at, updated_at)
         VALUES ($1, $2, $3, 'queued', 0, $4, $5, $6, $6)",
    )
    .bind(&job.id)
    .bind(job.kind)
    .bind(&job.payload)
    .bind(i64::from(job.max_attempts))
    .bind(job.run_after)
    .bind(now)
    .execute(exec)
    .await?;
    Ok(())
}

/// Enqueues a job unless one with this id exists: several processes scheduling the same
/// periodic job with a shared id enqueue it once.
pub async fn enqueue_once(db: &Db, job: &NewJob) -> Result<bool> {
    let now = now_ms();
    let done = sqlx::query(
        "INSERT INTO jobs (id, kind, payload, state, attempts, max_attempts, run_after, created_at, updated_at)
         VALUES ($1, $2, $3, 'queued', 0, $4, $5, $6, $6) ON CONFLICT (id) DO NOTHING",
    )
    .bind(&job.id)
    .bind(job.kind)
    .bind(&job.payload)
    .bind(i64::from(job.max_attempts))
    .bind(job.run_after)
    .bind(now)
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Takes one runnable job (queued and due, or running with an expired lease) of the given kinds,
/// or of any kind when `kinds` is empty.
pub async fn claim(
    db: &Db,
    owner: &str,
    lease_token: &str,
    lease_ms: i64,
    kinds: &[&str],
) -> Result<Option<Claimed>> {
    let now = now_ms();
    let kind_filter = if kinds.is_empty() {
        String::new()
    } else {
        let marks: Vec<String> = (0..kinds.len()).map(|i| format!("${}", i + 5)).collect();
        format!("AND kind IN ({})", marks.join(", "))
    };
    let lock = match db.backend {
        Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    // Checked again on the row being updated, so a job can never be claimed twice even if the
    // subquery saw a stale version of it.
    let runnable = "((state = 'queued' AND run_after <= $4)
          OR (state = 'running' AND lease_expires_at < $4 AND attempts < max_attempts))";
    let sql = format!(
        "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = $1,
                lease_token = $2, lease_expires_at = $3, updated_at = $4
         WHERE id = (
             SELECT id FROM jobs
             WHERE {runnable} {kind_filter}
             ORDER BY run_after, id
             LIMIT 1 {lock})
           AND {runnable}
         RETURNING id, kind, payload, attempts, max_attempts"
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(owner)
        .bind(lease_token)
        .bind(now + lease_ms)
        .bind(now);
    for kind in kinds {
        query = query.bind(*kind);
    }
    let row = query.fetch_optional(&db.pool).await?;
    match row {
        Some(row) => Ok(Some(Claimed {
            id: row.try_get("id")?,
            kind: row.try_get("kind")?,
            payload: row.try_get("payload")?,
            attempts: row.try_get("attempts")?,
            max_attempts: row.try_get("max_attempts")?,
            lease_token: lease_token.to_owned(),
        })),
        None => Ok(None),
    }
}

/// Fails the jobs whose worker vanished on their last allowed attempt, and returns them so their
/// owners can learn of it.
pub async fn reap_abandoned(db: &Db) -> Result<Vec<(String, String, String)>> {
    let now = now_ms();
    let rows = sqlx::query(
        "UPDATE jobs SET state = 'failed', lease_token = NULL, updated_at = $1,
                last_error = 'the worker running it stopped answering on its last attempt'
         WHERE state = 'running' AND lease_expires_at < $1 AND attempts >= max_attempts
         RETURNING id, kind, payload",
    )
    .bind(now)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("kind")?, r.try_get("payload")?)))
        .collect()
}

/// Extends a lease; false when it was lost (expired and taken by another worker).
pub async fn heartbeat(db: &Db, id: &str, lease_token: &str, lease_ms: i64) -> Result<bool> {
    let now = now_ms();
    let done = sqlx::query(
        "UPDATE jobs SET lease_expires_at = $1, updated_at = $2
         WHERE id = $3 AND lease_token = $4 AND state = 'running'",
    )
    .bind(now + lease_ms)
    .bind(now)
    .bind(id)
    .bind(lease_token)
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks the job done, only if this worker still holds its lease.
pub async fn complete(db: &Db, id: &str, lease_token: &str) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE jobs SET state = 'done', lease_token = NULL, lease_expires_at = NULL, updated_at = $1
         WHERE id = $2 AND lease_token = $3 AND state = 'running'",
    )
    .bind(now_ms())
    .bind(id)
    .bind(lease_token)
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records a failed attempt: back to `queued` at `retry_at`, or `failed` when attempts are spent
/// or `permanent`. Returns the new state, or None when the lease was lost meanwhile.
pub async fn fail(
    db: &Db,
    id: &str,
    lease_token: &str,
    error: &str,
    retry_at: i64,
    permanent: bool,
) -> Result<Option<String>> {
    let row = sqlx::query(
        "UPDATE jobs SET
             state = CASE WHEN $1 = 1 OR attempts >= max_attempts THEN 'failed' ELSE 'queued' END,
             run_after = $2, last_error = $3, lease_token = NULL, lease_expires_at = NULL,
             updated_at = $4
         WHERE id = $5 AND lease_token = $6 AND state = 'running'
         RETURNING state",
    )
    .bind(i64::from(permanent))
    .bind(retry_at)
    .bind(error)
    .bind(now_ms())
    .bind(id)
    .bind(lease_token)
    .fetch_optional(&db.pool)
    .await?;
    row.map(|r| r.try_get("state")).transpose().map_err(Into::into)
}

/// Puts a job back to wait until `run_after` without counting the attempt.
pub async fn defer(db: &Db, id: &str, lease_token: &str, reason: &str, run_after: i64) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE jobs SET state = 'queued', attempts = attempts - 1, run_after = $1, last_error = $2,
                lease_token = NULL, lease_expires_at = NULL, updated_at = $3
         WHERE id = $4 AND lease_token = $5 AND state = 'running'",
    )
    .bind(run_after)
    .bind(reason)
    .bind(now_ms())
    .bind(id)
    .bind(lease_token)
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives a job back untouched (shutdown): the attempt does not count.
pub async fn release(db: &Db, id: &str, lease_token: &str) -> Result<bool> {
    let now = now_ms();
    let done = sqlx::query(
        "UPDATE jobs SET state = 'queued', attempts = attempts - 1, run_after = $1,
                lease_token = NULL, lease_expires_at = NULL, updated_at = $1
         WHERE id = $2 AND lease_token = $3 AND state = 'running'",
    )
    .bind(now)
    .bind(id)
    .bind(lease_token)
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

fn job_from_row(row: &AnyRow) -> Result<JobRow> {
    Ok(JobRow {
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        payload: row.try_get("payload")?,
        state: row.try_get("state")?,
        attempts: row.try_get("attempts")?,
        max_attempts: row.try_get("max_attempts")?,
        run_after: row.try_get("run_after")?,
        lease_owner: row.try_get("lease_owner")?,
        lease_expires_at: row.try_get("lease_expires_at")?,
        last_error: row.try_get("last_error")?,
    })
}

const JOB_COLUMNS: &str =
    "id, kind, payload, state, attempts, max_attempts, run_after, lease_owner, lease_expires_at, last_error";

pub async fn get(db: &Db, id: &str) -> Result<Option<JobRow>> {
    let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(job_from_row).transpose()
}

pub async fn list_by_kind(db: &Db, kind: &str) -> Result<Vec<JobRow>> {
    let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE kind = $1 ORDER BY id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(kind)
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(job_from_row).collect()
}
