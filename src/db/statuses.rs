use std::collections::HashMap;

use sqlx::{Row, any::AnyRow};

use super::{Db, jobs, now_ms};
use crate::{
    db::conversation::Attached,
    db::media as media_rows,
    domain::media::Media,
    domain::status::{Status, Visibility},
    error::{Error, Result},
};

pub(super) const COLUMNS: &str = "s.id, s.account_id, s.text, s.visibility, s.sensitive, s.spoiler_text, s.in_reply_to_id, s.published_at, s.created_at, s.uri, s.url, s.reblog_of_id, s.title, s.edited_at, s.language, s.app_id";

pub(super) fn from_row(row: &AnyRow) -> Result<Status> {
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
        uri: row.try_get("uri")?,
        url: row.try_get("url")?,
        reblog_of_id: row.try_get("reblog_of_id")?,
        title: row.try_get("title")?,
        edited_at: row.try_get("edited_at")?,
        language: row.try_get("language")?,
        app_id: row.try_get("app_id")?,
    })
}

async fn insert_row(tx: &mut super::Tx, status: &Status) -> Result<()> {
    sqlx::query(
        "INSERT INTO statuses (id, account_id, text, visibility, sensitive, spoiler_text, in_reply_to_id, published_at, created_at, uri, url, reblog_of_id, title, edited_at, language, app_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
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
    .bind(status.uri.as_deref())
    .bind(status.url.as_deref())
    .bind(status.reblog_of_id.as_deref())
    .bind(status.title.as_deref())
    .bind(status.edited_at)
    .bind(status.language.as_deref())
    .bind(status.app_id.as_deref())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Stores a status and its attachments (in order) in one transaction, with the job that
/// federates it when it is published already.
/// The origin's view count of a remote video, as it last told us.
pub async fn set_remote_views(db: &Db, status_id: &str, views: i64) -> Result<()> {
    sqlx::query("UPDATE statuses SET remote_views = $1 WHERE id = $2")
        .bind(views)
        .bind(status_id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// One more play, here, of the post that carries `media_id`. False when there is no such post.
pub async fn add_view(db: &Db, media_id: &str) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE statuses SET views = views + 1
         WHERE id IN (SELECT status_id FROM status_media WHERE media_id = $1) AND published_at IS NOT NULL",
    )
    .bind(media_id)
    .execute(&db.pool)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Plays counted here.
pub async fn views(db: &Db, status_id: &str) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT views FROM statuses WHERE id = $1")
        .bind(status_id)
        .fetch_optional(&db.pool)
        .await?
        .unwrap_or(0))
}

pub async fn insert(
    db: &Db,
    status: &Status,
    media_ids: &[String],
    attached: Attached<'_>,
    announce: Option<&jobs::NewJob>,
) -> Result<()> {
    let mut tx = db.begin().await?;
    insert_row(&mut tx, status).await?;
    crate::db::conversation::attach(&mut tx, &status.id, attached.mentions, attached.tags).await?;
    for (position, media_id) in media_ids.iter().enumerate() {
        sqlx::query("INSERT INTO status_media (status_id, media_id, position) VALUES ($1, $2, $3)")
            .bind(&status.id)
            .bind(media_id)
            .bind(position as i64)
            .execute(&mut *tx)
            .await?;
    }
    if let Some(job) = announce {
        jobs::enqueue(&mut *tx, job).await?;
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
/// `tombstone` (ActivityPub id, former type) is left for a published local post.
pub async fn delete(
    db: &Db,
    id: &str,
    tombstone: Option<(&str, &str)>,
    purge: &dyn Fn(&str) -> Result<jobs::NewJob>,
) -> Result<Vec<String>> {
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
    sqlx::query("DELETE FROM statuses WHERE id = $1 OR reblog_of_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    if let Some((uri, former_type)) = tombstone {
        sqlx::query("INSERT INTO tombstones (uri, former_type, deleted_at) VALUES ($1, $2, $3)")
            .bind(uri)
            .bind(former_type)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
    }
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
/// Each status published gets its `announce` job (federation) in the same transaction, and by
/// exactly one caller. Returns the ids this call published.
pub async fn publish_ready(
    db: &Db,
    media_id: &str,
    announce: &(dyn Fn(&str) -> Result<jobs::NewJob> + Sync),
) -> Result<Vec<String>> {
    let candidates: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM statuses
         WHERE published_at IS NULL
           AND id IN (SELECT status_id FROM status_media WHERE media_id = $1)
           AND NOT EXISTS (
               SELECT 1 FROM status_media sm JOIN media m ON m.id = sm.media_id
               WHERE sm.status_id = statuses.id AND m.state <> 'ready')",
    )
    .bind(media_id)
    .fetch_all(&db.pool)
    .await?;
    let mut published = Vec::new();
    for id in candidates {
        let mut tx = db.begin().await?;
        let done =
            sqlx::query("UPDATE statuses SET published_at = $1 WHERE id = $2 AND published_at IS NULL")
                .bind(now_ms())
                .bind(&id)
                .execute(&mut *tx)
                .await?;
        if done.rows_affected() == 1 {
            jobs::enqueue(&mut *tx, &announce(&id)?).await?;
            tx.commit().await?;
            published.push(id);
        }
    }
    Ok(published)
}

pub async fn get_by_uri(db: &Db, uri: &str) -> Result<Option<Status>> {
    let sql = format!("SELECT {COLUMNS} FROM statuses s WHERE s.uri = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(uri)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// An account's boost of a status, if it boosted it.
pub async fn reblog_by(db: &Db, account_id: &str, status_id: &str) -> Result<Option<Status>> {
    let sql = format!("SELECT {COLUMNS} FROM statuses s WHERE s.account_id = $1 AND s.reblog_of_id = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(account_id)
        .bind(status_id)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Stores a remote status with its media, or, when its uri is known, replaces its content and
/// media (an `Update`). Returns the status's local id.
/// Stores a remote post, or its new version: (its id here, whether its text changed).
pub async fn upsert_remote(
    db: &Db,
    status: &Status,
    media: &[Media],
    attached: Attached<'_>,
) -> Result<(String, bool)> {
    let uri = status.uri.as_deref().unwrap_or_default();
    let mut tx = db.begin().await?;
    let sql = format!("SELECT {COLUMNS} FROM statuses s WHERE s.uri = $1");
    let existing = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(uri)
        .fetch_optional(&mut *tx)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()?;
    let mut edited = false;
    let id = match existing {
        Some(old) => {
            let id = old.id.clone();
            edited = changed(&old, status);
            // Servers send Update for views and copies too: only a changed text is an edit.
            let edited_at = if edited {
                save_version(&mut tx, &old).await?;
                Some(status.edited_at.unwrap_or_else(now_ms))
            } else {
                old.edited_at
            };
            sqlx::query(
                "UPDATE statuses SET text = $1, visibility = $2, sensitive = $3, spoiler_text = $4, title = $5, url = $6,
                    edited_at = $7, language = $8 WHERE id = $9",
            )
            .bind(&status.text)
            .bind(status.visibility.as_str())
            .bind(i64::from(status.sensitive))
            .bind(&status.spoiler_text)
            .bind(status.title.as_deref())
            .bind(status.url.as_deref())
            .bind(edited_at)
            .bind(status.language.as_deref())
            .bind(&id)
            .execute(&mut *tx)
            .await?;
            remove_remote_media(&mut tx, &id).await?;
            id
        }
        None => {
            // An edit is a change seen here (PeerTube stamps `updated` on every Video): the
            // first copy we get has no earlier version to show.
            let fresh = Status {
                edited_at: None,
                ..status.clone()
            };
            insert_row(&mut tx, &fresh).await?;
            status.id.clone()
        }
    };
    for (position, m) in media.iter().enumerate() {
        let remote = m.remote.as_ref();
        sqlx::query(
            "INSERT INTO media (id, account_id, kind, content_type, state, progress, original_key, size_bytes, sha256,
                description, created_at, updated_at, width, height, blurhash, focus_x, focus_y, remote_url, remote_preview_url, remote_hls_url)
             VALUES ($1, $2, $3, $4, 'ready', 100, '', 0, '', $5, $6, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(&m.id)
        .bind(&m.account_id)
        .bind(m.kind.as_str())
        .bind(&m.content_type)
        .bind(m.description.as_deref())
        .bind(m.created_at)
        .bind(m.width)
        .bind(m.height)
        .bind(m.blurhash.as_deref())
        .bind(m.focus.map(|f| f.x))
        .bind(m.focus.map(|f| f.y))
        .bind(remote.map(|r| r.url.as_str()))
        .bind(remote.and_then(|r| r.preview_url.as_deref()))
        .bind(remote.and_then(|r| r.hls_url.as_deref()))
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO status_media (status_id, media_id, position) VALUES ($1, $2, $3)")
            .bind(&id)
            .bind(&m.id)
            .bind(position as i64)
            .execute(&mut *tx)
            .await?;
    }
    crate::db::conversation::attach(&mut tx, &id, attached.mentions, attached.tags).await?;
    tx.commit().await?;
    Ok((id, edited))
}

fn changed(old: &Status, new: &Status) -> bool {
    old.text != new.text
        || old.spoiler_text != new.spoiler_text
        || old.sensitive != new.sensitive
        || old.title != new.title
}

/// Keeps the version a post had until now, for its history.
async fn save_version(tx: &mut super::Tx, old: &Status) -> Result<()> {
    sqlx::query(
        "INSERT INTO status_edits (id, status_id, text, spoiler_text, sensitive, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(&old.id)
    .bind(match &old.title {
        Some(title) => format!("{title}\n\n{}", old.text),
        None => old.text.clone(),
    })
    .bind(&old.spoiler_text)
    .bind(i64::from(old.sensitive))
    .bind(old.edited_at.unwrap_or(old.created_at))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// What an edit of a local post changes. The media set stays; its order may change.
pub struct Edit<'a> {
    pub text: &'a str,
    pub spoiler_text: &'a str,
    pub sensitive: bool,
    pub language: Option<&'a str>,
    pub media_order: &'a [String],
    /// An attachment's alt text or focal point changed: an edit too, as Mastodon counts it.
    pub media_changed: bool,
    pub attached: Attached<'a>,
}

/// Applies an edit to a local post, keeping the version before it, with the job that sends
/// the `Update` (None while the post is unpublished), in one transaction. Returns false when
/// nothing changed (no version is kept and nothing is sent).
pub async fn edit(db: &Db, old: &Status, edit: &Edit<'_>, announce: Option<&jobs::NewJob>) -> Result<bool> {
    let mut tx = db.begin().await?;
    let mut next = old.clone();
    next.text = edit.text.to_owned();
    next.spoiler_text = edit.spoiler_text.to_owned();
    next.sensitive = edit.sensitive;
    let text_changed = changed(old, &next);
    let language_changed = edit.language != old.language.as_deref();
    let mut reordered = false;
    if !edit.media_order.is_empty() {
        let current: Vec<String> =
            sqlx::query_scalar("SELECT media_id FROM status_media WHERE status_id = $1 ORDER BY position")
                .bind(&old.id)
                .fetch_all(&mut *tx)
                .await?;
        reordered = current != edit.media_order;
        for (position, media_id) in edit.media_order.iter().enumerate() {
            sqlx::query("UPDATE status_media SET position = $1 WHERE status_id = $2 AND media_id = $3")
                .bind(position as i64)
                .bind(&old.id)
                .bind(media_id)
                .execute(&mut *tx)
                .await?;
        }
    }
    if !text_changed && !language_changed && !reordered && !edit.media_changed {
        return Ok(false);
    }
    crate::db::conversation::attach(&mut tx, &old.id, edit.attached.mentions, edit.attached.tags).await?;
    // Before publishing there is no one who saw the first version: no history, no edited mark.
    let edited_at = match old.published_at {
        Some(_) => {
            save_version(&mut tx, old).await?;
            Some(now_ms())
        }
        None => None,
    };
    sqlx::query(
        "UPDATE statuses SET text = $1, spoiler_text = $2, sensitive = $3, language = $4, edited_at = $5 WHERE id = $6",
    )
    .bind(edit.text)
    .bind(edit.spoiler_text)
    .bind(i64::from(edit.sensitive))
    .bind(edit.language)
    .bind(edited_at)
    .bind(&old.id)
    .execute(&mut *tx)
    .await?;
    if let Some(job) = announce.filter(|_| old.published_at.is_some()) {
        jobs::enqueue(&mut *tx, job).await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// A post's earlier versions, oldest first.
pub struct Version {
    pub text: String,
    pub spoiler_text: String,
    pub sensitive: bool,
    pub created_at: i64,
}

pub async fn versions(db: &Db, status_id: &str) -> Result<Vec<Version>> {
    let rows = sqlx::query(
        "SELECT text, spoiler_text, sensitive, created_at FROM status_edits WHERE status_id = $1 ORDER BY created_at, id LIMIT 100",
    )
    .bind(status_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Version {
                text: r.try_get("text")?,
                spoiler_text: r.try_get("spoiler_text")?,
                sensitive: r.try_get::<i64, _>("sensitive")? != 0,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}

async fn remove_remote_media(tx: &mut super::Tx, status_id: &str) -> Result<()> {
    let ids: Vec<String> = sqlx::query_scalar("SELECT media_id FROM status_media WHERE status_id = $1")
        .bind(status_id)
        .fetch_all(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM status_media WHERE status_id = $1")
        .bind(status_id)
        .execute(&mut **tx)
        .await?;
    for id in ids {
        sqlx::query("DELETE FROM media WHERE id = $1 AND remote_url IS NOT NULL")
            .bind(id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Removes a remote status (or a boost), its media records and the boosts of it.
pub async fn delete_remote(db: &Db, id: &str) -> Result<()> {
    let mut tx = db.begin().await?;
    remove_remote_media(&mut tx, id).await?;
    sqlx::query("DELETE FROM statuses WHERE reblog_of_id = $1 OR id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// A deleted local post's former type and deletion time.
pub async fn tombstone(db: &Db, uri: &str) -> Result<Option<(String, i64)>> {
    let row = sqlx::query("SELECT former_type, deleted_at FROM tombstones WHERE uri = $1")
        .bind(uri)
        .fetch_optional(&db.pool)
        .await?;
    row.map(|r| Ok((r.try_get("former_type")?, r.try_get("deleted_at")?)))
        .transpose()
}

/// The published replies to a status, oldest first.
pub async fn replies(db: &Db, id: &str) -> Result<Vec<Status>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM statuses s WHERE s.in_reply_to_id = $1 AND s.published_at IS NOT NULL ORDER BY s.id LIMIT 200"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(from_row).collect()
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
    /// Published public statuses, boosts aside: all, only this instance's, or only other servers'.
    /// A signed-in viewer does not see the accounts they blocked or muted.
    Public {
        local: bool,
        remote: bool,
        viewer: Option<&'a str>,
    },
    /// What an account sees at home: its own statuses (and, with federation, its follows').
    Home { account_id: &'a str },
    /// One account's profile, as seen by others: public and unlisted.
    Account { account_id: &'a str },
    /// Public posts with any of `any` (at least one must be given), all of `all` and none of
    /// `none`, by case-folded tag name; `local`, `remote` and `viewer` as for `Public`.
    Tag {
        any: &'a [String],
        all: &'a [String],
        none: &'a [String],
        local: bool,
        remote: bool,
        viewer: Option<&'a str>,
    },
}

/// The public timelines' common rules: public posts (no boosts) of authors not silenced nor
/// blocked or muted by the viewer, from here, elsewhere, or both.
fn public_conditions(
    conditions: &mut Vec<String>,
    binds: &mut Vec<String>,
    local: bool,
    remote: bool,
    viewer: Option<&str>,
) {
    conditions.push("s.visibility = 'public' AND s.reblog_of_id IS NULL".into());
    conditions.push("s.account_id NOT IN (SELECT id FROM accounts WHERE silenced_at IS NOT NULL)".into());
    if let Some(viewer) = viewer {
        binds.push(viewer.to_owned());
        conditions.push(format!(
            "s.account_id NOT IN (SELECT target_id FROM account_blocks WHERE account_id = ${})",
            binds.len()
        ));
    }
    if local {
        conditions.push("s.uri IS NULL".into());
    }
    if remote {
        conditions.push("s.uri IS NOT NULL".into());
    }
}

fn tagged(names: &[String], binds: &mut Vec<String>) -> String {
    let marks: Vec<String> = names
        .iter()
        .map(|n| {
            binds.push(n.clone());
            format!("${}", binds.len())
        })
        .collect();
    format!(
        "SELECT st.status_id FROM status_tags st JOIN tags t ON t.id = st.tag_id WHERE t.name IN ({})",
        marks.join(", ")
    )
}

/// Newest first, whatever the paging direction.
pub async fn timeline(db: &Db, timeline: Timeline<'_>, page: &Page) -> Result<Vec<Status>> {
    let mut binds: Vec<String> = Vec::new();
    // Suspended authors are gone for everyone; silenced ones are left out of public timelines.
    let mut conditions = vec![
        "s.published_at IS NOT NULL".to_owned(),
        "s.account_id NOT IN (SELECT id FROM accounts WHERE suspended_at IS NOT NULL OR deleted_at IS NOT NULL)".to_owned(),
    ];
    let bind = |value: &str, binds: &mut Vec<String>| {
        binds.push(value.to_owned());
        format!("${}", binds.len())
    };
    match timeline {
        Timeline::Public {
            local,
            remote,
            viewer,
        } => public_conditions(&mut conditions, &mut binds, local, remote, viewer),
        Timeline::Tag {
            any,
            all,
            none,
            local,
            remote,
            viewer,
        } => {
            public_conditions(&mut conditions, &mut binds, local, remote, viewer);
            let any = tagged(any, &mut binds);
            conditions.push(format!("s.id IN ({any})"));
            for name in all {
                let one = tagged(std::slice::from_ref(name), &mut binds);
                conditions.push(format!("s.id IN ({one})"));
            }
            if !none.is_empty() {
                let excluded = tagged(none, &mut binds);
                conditions.push(format!("s.id NOT IN ({excluded})"));
            }
        }
        Timeline::Home { account_id } => {
            // Its own posts and those of the accounts it follows (accepted), boosts included;
            // a followed account's followers-only posts too.
            let mark = bind(account_id, &mut binds);
            // Also: posts addressed to it (followers-only or direct ones that mention it), and
            // public posts with a tag it follows.
            conditions.push(format!(
                "(s.account_id = {mark} OR (s.visibility IN ('public', 'unlisted', 'private') AND s.account_id IN
                   (SELECT target_id FROM follows WHERE account_id = {mark} AND state = 'accepted'))
                 OR (s.visibility IN ('private', 'direct') AND s.id IN
                   (SELECT status_id FROM status_mentions WHERE account_id = {mark}))
                 OR (s.visibility = 'public' AND s.id IN (SELECT st.status_id FROM status_tags st
                   JOIN tag_follows tf ON tf.tag_id = st.tag_id WHERE tf.account_id = {mark})))
                 AND s.account_id NOT IN (SELECT target_id FROM account_blocks WHERE account_id = {mark})
                 AND (s.reblog_of_id IS NULL OR s.reblog_of_id NOT IN (SELECT r.id FROM statuses r
                   WHERE r.account_id IN (SELECT target_id FROM account_blocks WHERE account_id = {mark})))"
            ));
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
    let columns: Vec<String> = media_rows::COLUMNS
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
            .push(media_rows::from_row(&row)?);
    }
    Ok(out)
}

/// How many published statuses an account has, for its profile.
pub async fn count_for_account(db: &Db, account_id: &str) -> Result<i64> {
    Ok(activity_of(db, account_id).await?.0)
}

/// An account's published posts and when the newest was published.
pub async fn activity_of(db: &Db, account_id: &str) -> Result<(i64, Option<i64>)> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n, MAX(published_at) AS last FROM statuses WHERE account_id = $1 AND published_at IS NOT NULL",
    )
    .bind(account_id)
    .fetch_one(&db.pool)
    .await
    .map_err(Error::from)?;
    Ok((row.try_get("n")?, row.try_get("last")?))
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

/// The statuses `account_id` favourited, newest like first: (like id, status). `max_id` pages
/// by like id, as Mastodon pages favourites.
pub async fn favourited_by_account(
    db: &Db,
    account_id: &str,
    max_id: Option<&str>,
    limit: i64,
) -> Result<Vec<(String, Status)>> {
    marked_by(db, "favourites", account_id, max_id, limit).await
}

/// The statuses an account marked in `table` (favourites, bookmarks, pins), newest mark first,
/// with the mark's cursor for `max_id` (its id; a pin's time, as pins are not paged).
pub async fn marked_by(
    db: &Db,
    table: &'static str,
    account_id: &str,
    max_id: Option<&str>,
    limit: i64,
) -> Result<Vec<(String, Status)>> {
    let cursor = if table == "pins" {
        "CAST(f.created_at AS TEXT)"
    } else {
        "f.id"
    };
    let sql = format!(
        "SELECT {cursor} AS mark_id, {COLUMNS} FROM {table} f JOIN statuses s ON s.id = f.status_id
         WHERE f.account_id = $1 AND ($2 IS NULL OR {cursor} < $2) ORDER BY {cursor} DESC LIMIT $3"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(account_id)
        .bind(max_id)
        .bind(limit.clamp(1, 40))
        .fetch_all(&db.pool)
        .await?;
    rows.iter()
        .map(|row| Ok((row.try_get("mark_id")?, from_row(row)?)))
        .collect()
}

/// What an Idempotency-Key found.
pub enum Claim {
    /// The key is new and now ours: make the post, then `finish_key`.
    Fresh,
    /// A post was made with this key already.
    Done(String),
    /// Another request with this key is still making its post.
    Busy,
}

const KEY_HOURS_MS: i64 = 3600 * 1000;

pub async fn claim_key(db: &Db, account_id: &str, key: &str) -> Result<Claim> {
    let now = now_ms();
    sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
        .bind(now - KEY_HOURS_MS)
        .execute(&db.pool)
        .await?;
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (account_id, idempotency_key, created_at) VALUES ($1, $2, $3)",
    )
    .bind(account_id)
    .bind(key)
    .bind(now)
    .execute(&db.pool)
    .await;
    match inserted {
        Ok(_) => Ok(Claim::Fresh),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            let status: Option<Option<String>> = sqlx::query_scalar(
                "SELECT status_id FROM idempotency_keys WHERE account_id = $1 AND idempotency_key = $2",
            )
            .bind(account_id)
            .bind(key)
            .fetch_optional(&db.pool)
            .await?;
            Ok(match status.flatten() {
                Some(id) => Claim::Done(id),
                None => Claim::Busy,
            })
        }
        Err(e) => Err(e.into()),
    }
}

/// Records the post made under a key, or (None) gives the key up after a failure.
pub async fn finish_key(db: &Db, account_id: &str, key: &str, status_id: Option<&str>) -> Result<()> {
    let query = match status_id {
        Some(_) => {
            "UPDATE idempotency_keys SET status_id = $3 WHERE account_id = $1 AND idempotency_key = $2"
        }
        None => "DELETE FROM idempotency_keys WHERE account_id = $1 AND idempotency_key = $2 AND $3 IS NULL",
    };
    sqlx::query(query)
        .bind(account_id)
        .bind(key)
        .bind(status_id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// An account's own posts (not its boosts), whatever their visibility: for its archive.
pub async fn count_all_of(db: &Db, account_id: &str) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM statuses WHERE account_id = $1 AND reblog_of_id IS NULL")
            .bind(account_id)
            .fetch_one(&db.pool)
            .await?,
    )
}

/// An account's own posts, oldest first, `limit` after the id `after`.
pub async fn all_of(db: &Db, account_id: &str, after: Option<&str>, limit: i64) -> Result<Vec<Status>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM statuses s WHERE s.account_id = $1 AND s.reblog_of_id IS NULL
         AND ($2 IS NULL OR s.id > $2) ORDER BY s.id LIMIT $3"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(account_id)
        .bind(after)
        .bind(limit)
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(from_row).collect()
}
