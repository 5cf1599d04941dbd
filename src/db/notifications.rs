//! What each local account is told about: one row per event, written where the event happens
//! (a local action or the inbox), read by `/api/v1/notifications`.

use sqlx::{Row, any::AnyRow};

use super::{Db, now_ms};
use crate::error::Result;

#[derive(Debug, Clone)]
pub struct Notification {
    pub id: String,
    pub kind: String,
    pub from_account_id: String,
    pub status_id: Option<String>,
    pub report_id: Option<String>,
    pub created_at: i64,
}

fn from_row(row: &AnyRow) -> Result<Notification> {
    Ok(Notification {
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        from_account_id: row.try_get("from_account_id")?,
        status_id: row.try_get("status_id")?,
        report_id: row.try_get("report_id")?,
        created_at: row.try_get("created_at")?,
    })
}

/// What happened, to whom, by whom, about what.
pub struct Event<'a> {
    pub to: &'a str,
    pub from: &'a str,
    pub kind: &'a str,
    pub status_id: Option<&'a str>,
    pub report_id: Option<&'a str>,
}

/// Tells a local account of an event, unless it is its own doing or it blocked or muted
/// whoever did it. Telling the same event twice (an inbox retry) keeps one row.
pub async fn notify(db: &Db, event: &Event<'_>) -> Result<()> {
    let id = uuid::Uuid::now_v7().to_string();
    let done = sqlx::query(
        "INSERT INTO notifications (id, account_id, from_account_id, kind, status_id, report_id, created_at)
         SELECT $1, $2, $3, $4, $5, $6, $7
         WHERE $2 <> $3
           AND EXISTS (SELECT 1 FROM accounts WHERE id = $2 AND domain IS NULL AND deleted_at IS NULL)
           AND NOT EXISTS (SELECT 1 FROM account_blocks WHERE account_id = $2 AND target_id = $3)
         ON CONFLICT DO NOTHING",
    )
    .bind(&id)
    .bind(event.to)
    .bind(event.from)
    .bind(event.kind)
    .bind(event.status_id)
    .bind(event.report_id)
    .bind(now_ms())
    .execute(&db.pool)
    .await?;
    if done.rows_affected() > 0 {
        crate::db::events::emit(
            db,
            crate::db::events::Event::Told {
                account_id: event.to.to_owned(),
                notification_id: id,
            },
        )
        .await;
    }
    Ok(())
}

/// [`notify`] of an event about a post (or none).
pub async fn about(db: &Db, to: &str, from: &str, kind: &str, status_id: Option<&str>) -> Result<()> {
    notify(
        db,
        &Event {
            to,
            from,
            kind,
            status_id,
            report_id: None,
        },
    )
    .await
}

/// Tells every local admin (sign-ups waiting, reports).
pub async fn notify_admins(db: &Db, from: &str, kind: &str, report_id: Option<&str>) -> Result<()> {
    let admins: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM accounts WHERE is_admin <> 0 AND domain IS NULL AND deleted_at IS NULL",
    )
    .fetch_all(&db.pool)
    .await?;
    for admin in admins {
        notify(
            db,
            &Event {
                to: &admin,
                from,
                kind,
                status_id: None,
                report_id,
            },
        )
        .await?;
    }
    Ok(())
}

/// Which notifications a list shows, Mastodon's query parameters.
#[derive(Default)]
pub struct Filter {
    pub types: Vec<String>,
    pub exclude_types: Vec<String>,
    pub from_account_id: Option<String>,
    pub max_id: Option<String>,
    pub since_id: Option<String>,
    pub min_id: Option<String>,
    pub limit: i64,
}

const COLUMNS: &str = "n.id, n.kind, n.from_account_id, n.status_id, n.report_id, n.created_at";

/// An account's notifications, newest first (oldest first from `min_id`, then reversed),
/// leaving out those from accounts gone or blocked since.
pub async fn list(db: &Db, account_id: &str, filter: &Filter) -> Result<Vec<Notification>> {
    let mut binds: Vec<String> = vec![account_id.to_owned()];
    let mut conditions = vec![
        "n.account_id = $1".to_owned(),
        "NOT EXISTS (SELECT 1 FROM account_blocks b WHERE b.account_id = n.account_id AND b.target_id = n.from_account_id)".to_owned(),
        "EXISTS (SELECT 1 FROM accounts f WHERE f.id = n.from_account_id AND f.suspended_at IS NULL AND f.deleted_at IS NULL)".to_owned(),
    ];
    let bind = |value: &str, binds: &mut Vec<String>| {
        binds.push(value.to_owned());
        format!("${}", binds.len())
    };
    if !filter.types.is_empty() {
        let marks: Vec<String> = filter.types.iter().map(|t| bind(t, &mut binds)).collect();
        conditions.push(format!("n.kind IN ({})", marks.join(", ")));
    }
    if !filter.exclude_types.is_empty() {
        let marks: Vec<String> = filter.exclude_types.iter().map(|t| bind(t, &mut binds)).collect();
        conditions.push(format!("n.kind NOT IN ({})", marks.join(", ")));
    }
    if let Some(from) = &filter.from_account_id {
        let mark = bind(from, &mut binds);
        conditions.push(format!("n.from_account_id = {mark}"));
    }
    if let Some(max) = &filter.max_id {
        let mark = bind(max, &mut binds);
        conditions.push(format!("n.id < {mark}"));
    }
    if let Some(min) = filter.min_id.as_ref().or(filter.since_id.as_ref()) {
        let mark = bind(min, &mut binds);
        conditions.push(format!("n.id > {mark}"));
    }
    let order = if filter.min_id.is_some() { "ASC" } else { "DESC" };
    let sql = format!(
        "SELECT {COLUMNS} FROM notifications n WHERE {} ORDER BY n.id {order} LIMIT {}",
        conditions.join(" AND "),
        filter.limit.clamp(1, 80)
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for value in &binds {
        query = query.bind(value);
    }
    let mut rows: Vec<Notification> = query
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(from_row)
        .collect::<Result<_>>()?;
    if filter.min_id.is_some() {
        rows.reverse();
    }
    Ok(rows)
}

pub async fn get(db: &Db, account_id: &str, id: &str) -> Result<Option<Notification>> {
    let sql = format!("SELECT {COLUMNS} FROM notifications n WHERE n.account_id = $1 AND n.id = $2");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(account_id)
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// Removes one of the account's notifications; false when it has no such one.
pub async fn dismiss(db: &Db, account_id: &str, id: &str) -> Result<bool> {
    let done = sqlx::query("DELETE FROM notifications WHERE account_id = $1 AND id = $2")
        .bind(account_id)
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn clear(db: &Db, account_id: &str) -> Result<()> {
    sqlx::query("DELETE FROM notifications WHERE account_id = $1")
        .bind(account_id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Notifications newer than the account's `notifications` marker (all of them without one),
/// counted up to `cap`.
pub async fn unread_count(db: &Db, account_id: &str, cap: i64) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT n.id FROM notifications n WHERE n.account_id = $1
           AND n.id > COALESCE((SELECT last_read_id FROM markers WHERE account_id = $1 AND timeline = 'notifications'), '')
           LIMIT $2) unread",
    )
    .bind(account_id)
    .bind(cap)
    .fetch_one(&db.pool)
    .await?)
}

/// Tells of a new post: each account it mentions, and the author of the post it answers when
/// the answer is public or unlisted (a narrower one reaches only whom it mentions). Called
/// once it is published, from here or another server; telling twice is harmless.
pub async fn for_new_post(db: &Db, status_id: &str) -> Result<()> {
    let Some(row) = sqlx::query(
        "SELECT s.account_id, s.visibility, p.account_id AS parent_author
         FROM statuses s LEFT JOIN statuses p ON p.id = s.in_reply_to_id WHERE s.id = $1 AND s.reblog_of_id IS NULL",
    )
    .bind(status_id)
    .fetch_optional(&db.pool)
    .await?
    else {
        return Ok(());
    };
    let author: String = row.try_get("account_id")?;
    let visibility: String = row.try_get("visibility")?;
    let parent_author: Option<String> = row.try_get("parent_author")?;
    let mut recipients: Vec<String> =
        sqlx::query_scalar("SELECT account_id FROM status_mentions WHERE status_id = $1")
            .bind(status_id)
            .fetch_all(&db.pool)
            .await?;
    if let Some(parent_author) = parent_author
        && matches!(visibility.as_str(), "public" | "unlisted")
        && !recipients.contains(&parent_author)
    {
        recipients.push(parent_author);
    }
    for to in &recipients {
        about(db, to, &author, "mention", Some(status_id)).await?;
    }
    // Followers who rang the bell hear of every post they may see (not direct ones).
    if visibility != "direct" {
        let bells: Vec<String> = sqlx::query_scalar(
            "SELECT account_id FROM follows WHERE target_id = $1 AND state = 'accepted' AND notify <> 0",
        )
        .bind(&author)
        .fetch_all(&db.pool)
        .await?;
        for to in bells.iter().filter(|b| !recipients.contains(b)) {
            about(db, to, &author, "status", Some(status_id)).await?;
        }
    }
    Ok(())
}

/// Tells those who boosted a post that it was edited.
pub async fn for_edit(db: &Db, status_id: &str) -> Result<()> {
    let Some(author) = sqlx::query_scalar::<_, String>("SELECT account_id FROM statuses WHERE id = $1")
        .bind(status_id)
        .fetch_optional(&db.pool)
        .await?
    else {
        return Ok(());
    };
    let boosters: Vec<String> = sqlx::query_scalar("SELECT account_id FROM statuses WHERE reblog_of_id = $1")
        .bind(status_id)
        .fetch_all(&db.pool)
        .await?;
    for to in &boosters {
        // An edit is news each time: the same booster hears of every one.
        sqlx::query("DELETE FROM notifications WHERE account_id = $1 AND kind = 'update' AND status_id = $2")
            .bind(to)
            .bind(status_id)
            .execute(&db.pool)
            .await?;
        notify(
            db,
            &Event {
                to,
                from: &author,
                kind: "update",
                status_id: Some(status_id),
                report_id: None,
            },
        )
        .await?;
    }
    Ok(())
}
