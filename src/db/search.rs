//! Search without a search server: posts by the words in them (SQLite's FTS5, PostgreSQL's
//! text search), accounts by name, tags by prefix. One set of functions for both databases;
//! only the word match is written twice.

use super::{Backend, Db};
use crate::{domain::account::Account, domain::status::Status, error::Result};

/// At most this many words of a query are matched: a long query costs more, finds no more.
const MAX_WORDS: usize = 8;

/// The words of a query, for the word match: letters and digits only, so nothing a person
/// types is read as the search syntax of either database.
pub fn words(q: &str) -> Vec<String> {
    q.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .take(MAX_WORDS)
        .map(str::to_lowercase)
        .collect()
}

/// Published posts with every word of `words` that `viewer` may be shown in a search, as
/// Mastodon decides: public posts of accounts that chose to be indexed, and the viewer's own
/// posts and those it liked, boosted, bookmarked or was mentioned in. Newest first. (The
/// caller still checks each against who may see it.)
pub async fn statuses(
    db: &Db,
    words: &[String],
    viewer: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<Vec<Status>> {
    if words.is_empty() {
        return Ok(Vec::new());
    }
    let matched = match db.backend {
        // Each word quoted: FTS5 takes the quoted strings as terms, all required.
        Backend::Sqlite => {
            "s.id IN (SELECT k.status_id FROM status_search f JOIN status_search_keys k ON k.n = f.rowid
                      WHERE status_search MATCH $1)"
        }
        Backend::Postgres => {
            "to_tsvector('simple', s.spoiler_text || ' ' || s.text || ' ' || COALESCE(s.title, '')) @@ plainto_tsquery('simple', $1)"
        }
    };
    let query_text = match db.backend {
        Backend::Sqlite => words
            .iter()
            .map(|w| format!("\"{w}\""))
            .collect::<Vec<_>>()
            .join(" "),
        Backend::Postgres => words.join(" "),
    };
    let sql = format!(
        "SELECT {} FROM statuses s
         WHERE {matched} AND s.published_at IS NOT NULL AND s.reblog_of_id IS NULL
           AND s.account_id NOT IN (SELECT id FROM accounts WHERE suspended_at IS NOT NULL OR deleted_at IS NOT NULL)
           AND ((s.visibility = 'public' AND s.account_id IN (SELECT id FROM accounts WHERE indexable <> 0))
             OR s.account_id = $2
             OR s.id IN (SELECT status_id FROM favourites WHERE account_id = $2)
             OR s.id IN (SELECT reblog_of_id FROM statuses WHERE account_id = $2 AND reblog_of_id IS NOT NULL)
             OR s.id IN (SELECT status_id FROM bookmarks WHERE account_id = $2)
             OR s.id IN (SELECT status_id FROM status_mentions WHERE account_id = $2))
         ORDER BY s.id DESC LIMIT $3 OFFSET $4",
        crate::db::statuses::COLUMNS
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(query_text)
        .bind(viewer.unwrap_or(""))
        .bind(limit.clamp(1, 40))
        .bind(offset.clamp(0, 10_000))
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(crate::db::statuses::from_row).collect()
}

/// Accounts whose name or display name contains `q`: those that chose to be found
/// (`discoverable`), and any the viewer follows. Exact usernames first.
pub async fn accounts(
    db: &Db,
    q: &str,
    viewer: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<Vec<Account>> {
    let q = q.trim().trim_start_matches('@').to_lowercase();
    if q.is_empty() || q.chars().count() > 100 {
        return Ok(Vec::new());
    }
    let like = format!(
        "%{}%",
        q.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
    );
    let sql = format!(
        "SELECT {} FROM accounts a
         WHERE (LOWER(a.username) LIKE $1 ESCAPE '\\' OR LOWER(a.display_name) LIKE $1 ESCAPE '\\')
           AND a.suspended_at IS NULL AND a.deleted_at IS NULL AND a.approved <> 0
           AND (a.discoverable <> 0 OR a.id = $2
             OR a.id IN (SELECT target_id FROM follows WHERE account_id = $2 AND state = 'accepted'))
         ORDER BY CASE WHEN LOWER(a.username) = $3 THEN 0 ELSE 1 END, a.username LIMIT $4 OFFSET $5",
        crate::db::accounts::columns_of("a")
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(like)
        .bind(viewer.unwrap_or(""))
        .bind(q)
        .bind(limit.clamp(1, 40))
        .bind(offset.clamp(0, 10_000))
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(crate::db::accounts::from_row).collect()
}

/// Tags that start with `prefix` (case-folded), most used first.
pub async fn tags(db: &Db, prefix: &str, limit: i64) -> Result<Vec<String>> {
    let prefix = crate::domain::text::normal_tag(prefix.trim());
    if !crate::domain::text::is_tag(&prefix) && !prefix.chars().all(|c| c.is_alphanumeric() || c == '_') {
        return Ok(Vec::new());
    }
    if prefix.is_empty() {
        return Ok(Vec::new());
    }
    let like = format!("{}%", prefix.replace('_', "\\_"));
    Ok(sqlx::query_scalar(
        "SELECT t.name FROM tags t WHERE t.name LIKE $1 ESCAPE '\\'
         ORDER BY (SELECT COUNT(*) FROM status_tags st WHERE st.tag_id = t.id) DESC, t.name LIMIT $2",
    )
    .bind(like)
    .bind(limit.clamp(1, 40))
    .fetch_all(&db.pool)
    .await?)
}
