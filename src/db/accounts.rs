use sqlx::{Row, any::AnyRow};

use super::{Db, now_ms};
use crate::{
    domain::account::{
        Account, Field, NewAccount, NewRemoteAccount, Profile, RemoteActor, SignUpDetails, Standing,
    },
    error::{Error, Kind, Result},
};

/// The columns `from_row` reads, prefixed by `a.` for joins.
pub(super) fn columns_of(alias: &str) -> String {
    COLUMNS
        .split(", ")
        .map(|c| format!("{alias}.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

const COLUMNS: &str = "id, username, display_name, is_admin, public_key_pem, created_at, domain, uri, actor_type, inbox_url, shared_inbox_url, followers_url, profile_url, avatar_url, note, key_id, locked, avatar_key, header_key, avatar_static_key, header_static_key, header_url, fields, bot, discoverable, indexable, hide_collections, default_privacy, default_sensitive, default_language, updated_at, approved, email, email_confirmed_at, silenced_at, suspended_at, deleted_at";

pub(super) fn from_row(row: &AnyRow) -> Result<Account> {
    let uri: Option<String> = row.try_get("uri")?;
    let remote = match uri {
        Some(uri) => Some(RemoteActor {
            uri,
            actor_type: row
                .try_get::<Option<String>, _>("actor_type")?
                .unwrap_or_else(|| "Person".into()),
            inbox_url: row.try_get::<Option<String>, _>("inbox_url")?.unwrap_or_default(),
            shared_inbox_url: row.try_get("shared_inbox_url")?,
            followers_url: row.try_get("followers_url")?,
            profile_url: row.try_get("profile_url")?,
            avatar_url: row.try_get("avatar_url")?,
            header_url: row.try_get("header_url")?,
            key_id: row.try_get::<Option<String>, _>("key_id")?.unwrap_or_default(),
        }),
        None => None,
    };
    Ok(Account {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        display_name: row.try_get("display_name")?,
        is_admin: row.try_get::<i64, _>("is_admin")? != 0,
        public_key_pem: row.try_get("public_key_pem")?,
        created_at: row.try_get("created_at")?,
        domain: row.try_get("domain")?,
        remote,
        locked: row.try_get::<i64, _>("locked")? != 0,
        note: row.try_get("note")?,
        profile: Profile {
            avatar_key: row.try_get("avatar_key")?,
            header_key: row.try_get("header_key")?,
            avatar_static_key: row.try_get("avatar_static_key")?,
            header_static_key: row.try_get("header_static_key")?,
            // A field list that cannot be read shows as none rather than failing the account.
            fields: serde_json::from_str(&row.try_get::<String, _>("fields")?).unwrap_or_default(),
            bot: flag(row, "bot")?,
            discoverable: flag(row, "discoverable")?,
            indexable: flag(row, "indexable")?,
            hide_collections: flag(row, "hide_collections")?,
            default_privacy: row.try_get("default_privacy")?,
            default_sensitive: flag(row, "default_sensitive")?,
            default_language: row.try_get("default_language")?,
            updated_at: row.try_get("updated_at")?,
        },
        standing: Standing {
            approved: flag(row, "approved")?,
            // Without an address (no mail here, or made on the command line) nothing waits for
            // a confirmation.
            email_confirmed: row.try_get::<Option<i64>, _>("email_confirmed_at")?.is_some()
                || row.try_get::<Option<String>, _>("email")?.is_none(),
            silenced_at: row.try_get("silenced_at")?,
            suspended_at: row.try_get("suspended_at")?,
            deleted_at: row.try_get("deleted_at")?,
        },
    })
}

fn flag(row: &AnyRow, column: &str) -> Result<bool> {
    Ok(row.try_get::<i64, _>(column)? != 0)
}

/// Stores a remote actor, or refreshes the one with the same id (its key may have rotated).
pub async fn upsert_remote(db: &Db, new: &NewRemoteAccount) -> Result<Account> {
    let now = now_ms();
    let a = &new.actor;
    let fields = serde_json::to_string(&new.fields)
        .map_err(|e| Error::internal("fields unwritable").with_source(e))?;
    let bot = matches!(a.actor_type.as_str(), "Service" | "Application");
    let updated = sqlx::query(
        "UPDATE accounts SET username = $1, display_name = $2, note = $3, locked = $4, public_key_pem = $5,
            actor_type = $6, inbox_url = $7, shared_inbox_url = $8, followers_url = $9, profile_url = $10,
            avatar_url = $11, key_id = $12, fetched_at = $13, header_url = $15, fields = $16,
            discoverable = $17, indexable = $18, bot = $19, updated_at = $13
         WHERE uri = $14",
    )
    .bind(&new.username)
    .bind(&new.display_name)
    .bind(&new.note)
    .bind(i64::from(new.locked))
    .bind(&new.public_key_pem)
    .bind(&a.actor_type)
    .bind(&a.inbox_url)
    .bind(a.shared_inbox_url.as_deref())
    .bind(a.followers_url.as_deref())
    .bind(a.profile_url.as_deref())
    .bind(a.avatar_url.as_deref())
    .bind(&a.key_id)
    .bind(now)
    .bind(&a.uri)
    .bind(a.header_url.as_deref())
    .bind(&fields)
    .bind(i64::from(new.discoverable))
    .bind(i64::from(new.indexable))
    .bind(i64::from(bot))
    .execute(&db.pool)
    .await?;
    if updated.rows_affected() == 0 {
        // The key is unique per actor: two actors may share a preferredUsername on one domain
        // (a PeerTube account and its channel), so the uri disambiguates.
        let key = format!("{}@{}#{}", new.username.to_lowercase(), new.domain, a.uri);
        let inserted = sqlx::query(
            "INSERT INTO accounts (id, username, username_key, display_name, password_hash, is_admin, private_key_pem,
                public_key_pem, created_at, domain, uri, actor_type, inbox_url, shared_inbox_url, followers_url,
                profile_url, avatar_url, note, key_id, locked, fetched_at, header_url, fields, discoverable, indexable,
                bot, updated_at)
             VALUES ($1, $2, $3, $4, '', 0, '', $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $6, $18, $19,
                $20, $21, $22, $6)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(&new.username)
        .bind(key)
        .bind(&new.display_name)
        .bind(&new.public_key_pem)
        .bind(now)
        .bind(&new.domain)
        .bind(&a.uri)
        .bind(&a.actor_type)
        .bind(&a.inbox_url)
        .bind(a.shared_inbox_url.as_deref())
        .bind(a.followers_url.as_deref())
        .bind(a.profile_url.as_deref())
        .bind(a.avatar_url.as_deref())
        .bind(&new.note)
        .bind(&a.key_id)
        .bind(i64::from(new.locked))
        .bind(a.header_url.as_deref())
        .bind(&fields)
        .bind(i64::from(new.discoverable))
        .bind(i64::from(new.indexable))
        .bind(i64::from(bot))
        .execute(&db.pool)
        .await;
        match inserted {
            Ok(_) => {}
            // Another request stored the same actor a moment ago: theirs is as good.
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {}
            Err(e) => return Err(e.into()),
        }
    }
    by_uri(db, &a.uri)
        .await?
        .ok_or_else(|| Error::internal("remote account vanished after upsert"))
}

pub async fn by_uri(db: &Db, uri: &str) -> Result<Option<Account>> {
    let sql = format!("SELECT {COLUMNS} FROM accounts WHERE uri = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(uri)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn by_key_id(db: &Db, key_id: &str) -> Result<Option<Account>> {
    let sql = format!("SELECT {COLUMNS} FROM accounts WHERE key_id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(key_id)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// A remote account by `name` and `domain`, as a search names it.
pub async fn remote_by_acct(db: &Db, username: &str, domain: &str) -> Result<Option<Account>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM accounts WHERE domain = $1 AND LOWER(username) = $2 AND actor_type = 'Person' ORDER BY created_at LIMIT 1"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(domain)
        .bind(username.to_lowercase())
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// A local account's private key, for signing what it sends.
pub async fn private_key(db: &Db, id: &str) -> Result<Option<String>> {
    let key: Option<String> =
        sqlx::query_scalar("SELECT private_key_pem FROM accounts WHERE id = $1 AND domain IS NULL")
            .bind(id)
            .fetch_optional(&db.pool)
            .await?;
    Ok(key)
}

/// Removes a remote actor and, through the cascades, its statuses, follows and likes.
pub async fn delete_remote(db: &Db, id: &str) -> Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query(
        "DELETE FROM status_media WHERE status_id IN (SELECT id FROM statuses WHERE account_id = $1)",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM media WHERE account_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM accounts WHERE id = $1 AND domain IS NOT NULL")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn insert(db: &Db, account: &NewAccount) -> Result<()> {
    let result = sqlx::query(
        "INSERT INTO accounts (id, username, username_key, password_hash, is_admin, private_key_pem, public_key_pem, created_at,
            approved, email, locale, sign_up_reason, invite_code, sign_up_address, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $8)",
    )
    .bind(&account.id)
    .bind(account.username.as_str())
    .bind(account.username.key())
    .bind(&account.password_hash)
    .bind(i64::from(account.is_admin))
    .bind(&account.private_key_pem)
    .bind(&account.public_key_pem)
    .bind(account.created_at)
    .bind(i64::from(account.approved))
    .bind(account.sign_up.email.as_deref())
    .bind(account.sign_up.locale.as_deref())
    .bind(account.sign_up.reason.as_deref())
    .bind(account.sign_up.invite_code.as_deref())
    .bind(account.sign_up.address.as_deref())
    .execute(&db.pool)
    .await;
    match result {
        Ok(_) => Ok(()),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() && e.message().contains("email") => {
            Err(Error::new(
                Kind::Conflict,
                "email_taken",
                "an account with this email address exists already",
            ))
        }
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(Error::new(
            Kind::Conflict,
            "username_taken",
            format!("the username {} is taken", account.username.as_str()),
        )),
        Err(e) => Err(e.into()),
    }
}

pub async fn by_id(db: &Db, id: &str) -> Result<Option<Account>> {
    let sql = format!("SELECT {COLUMNS} FROM accounts WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The account and its password hash, for logging in.
pub async fn credentials(db: &Db, username_key: &str) -> Result<Option<(Account, String)>> {
    let sql =
        format!("SELECT {COLUMNS}, password_hash FROM accounts WHERE username_key = $1 AND domain IS NULL");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(username_key)
        .fetch_optional(&db.pool)
        .await?;
    match row {
        Some(row) => Ok(Some((from_row(&row)?, row.try_get("password_hash")?))),
        None => Ok(None),
    }
}

pub async fn count(db: &Db) -> Result<i64> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM accounts WHERE domain IS NULL")
        .fetch_one(&db.pool)
        .await?;
    Ok(row.try_get("n")?)
}

pub async fn by_username(db: &Db, username_key: &str) -> Result<Option<Account>> {
    let sql = format!("SELECT {COLUMNS} FROM accounts WHERE username_key = $1 AND domain IS NULL");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(username_key)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn set_password(db: &Db, id: &str, hash: &str) -> Result<()> {
    sqlx::query("UPDATE accounts SET password_hash = $1 WHERE id = $2 AND domain IS NULL")
        .bind(hash)
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// A profile edit: None leaves a value as it is.
#[derive(Debug, Default, Clone)]
pub struct ProfileEdit {
    pub display_name: Option<String>,
    pub note: Option<String>,
    pub fields: Option<Vec<Field>>,
    pub locked: Option<bool>,
    pub bot: Option<bool>,
    pub discoverable: Option<bool>,
    pub indexable: Option<bool>,
    pub hide_collections: Option<bool>,
    pub default_privacy: Option<String>,
    pub default_sensitive: Option<bool>,
    pub default_language: Option<String>,
}

pub async fn edit_profile(db: &Db, id: &str, edit: &ProfileEdit) -> Result<()> {
    let fields = edit
        .fields
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| Error::internal("fields unwritable").with_source(e))?;
    let flag = |b: Option<bool>| b.map(i64::from);
    sqlx::query(
        "UPDATE accounts SET display_name = COALESCE($1, display_name), note = COALESCE($2, note),
            fields = COALESCE($3, fields), locked = COALESCE($4, locked), bot = COALESCE($5, bot),
            discoverable = COALESCE($6, discoverable), indexable = COALESCE($7, indexable),
            hide_collections = COALESCE($8, hide_collections), default_privacy = COALESCE($9, default_privacy),
            default_sensitive = COALESCE($10, default_sensitive), default_language = COALESCE($11, default_language),
            updated_at = $12
         WHERE id = $13 AND domain IS NULL",
    )
    .bind(edit.display_name.as_deref())
    .bind(edit.note.as_deref())
    .bind(fields)
    .bind(flag(edit.locked))
    .bind(flag(edit.bot))
    .bind(flag(edit.discoverable))
    .bind(flag(edit.indexable))
    .bind(flag(edit.hide_collections))
    .bind(edit.default_privacy.as_deref())
    .bind(flag(edit.default_sensitive))
    .bind(edit.default_language.as_deref())
    .bind(now_ms())
    .bind(id)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Which picture of a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Picture {
    Avatar,
    Header,
}

/// Sets (or with None removes) a local account's avatar or header, with the still of an
/// animated one; returns the keys it replaced, to delete.
pub async fn set_picture(
    db: &Db,
    id: &str,
    which: Picture,
    key: Option<&str>,
    static_key: Option<&str>,
) -> Result<Vec<String>> {
    let (column, still) = match which {
        Picture::Avatar => ("avatar_key", "avatar_static_key"),
        Picture::Header => ("header_key", "header_static_key"),
    };
    let mut tx = db.begin().await?;
    let old = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {column} AS main, {still} AS still FROM accounts WHERE id = $1 AND domain IS NULL"
    )))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let mut replaced = Vec::new();
    if let Some(row) = old {
        for name in ["main", "still"] {
            if let Some(key) = row.try_get::<Option<String>, _>(name)? {
                replaced.push(key);
            }
        }
    }
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE accounts SET {column} = $1, {still} = $2, updated_at = $3 WHERE id = $4 AND domain IS NULL"
    )))
    .bind(key)
    .bind(static_key)
    .bind(now_ms())
    .bind(id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(replaced)
}

/// Writes fields back with their link verification, only if they are still `checked` (a
/// profile edited meanwhile keeps its new fields). True when written.
pub async fn set_fields_if(db: &Db, id: &str, checked: &[Field], fields: &[Field]) -> Result<bool> {
    let text = |f: &[Field]| {
        serde_json::to_string(f).map_err(|e| Error::internal("fields unwritable").with_source(e))
    };
    let done = sqlx::query("UPDATE accounts SET fields = $1 WHERE id = $2 AND fields = $3")
        .bind(text(fields)?)
        .bind(id)
        .bind(text(checked)?)
        .execute(&db.pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Lets a sign-up in; false when it was not waiting.
pub async fn approve(db: &Db, id: &str) -> Result<bool> {
    let done =
        sqlx::query("UPDATE accounts SET approved = 1 WHERE id = $1 AND approved = 0 AND domain IS NULL")
            .bind(id)
            .execute(&db.pool)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Turns a sign-up away: the row goes (it never posted), so its name is free again.
pub async fn reject(db: &Db, id: &str) -> Result<bool> {
    let done = sqlx::query("DELETE FROM accounts WHERE id = $1 AND approved = 0 AND domain IS NULL")
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn set_silenced(db: &Db, id: &str, at: Option<i64>) -> Result<()> {
    sqlx::query("UPDATE accounts SET silenced_at = $1 WHERE id = $2")
        .bind(at)
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

pub async fn set_suspended(db: &Db, id: &str, at: Option<i64>) -> Result<()> {
    sqlx::query("UPDATE accounts SET suspended_at = $1 WHERE id = $2")
        .bind(at)
        .bind(id)
        .execute(&db.pool)
        .await?;
    if at.is_some() {
        end_access(db, id).await?;
    }
    Ok(())
}

/// Ends every session and token of an account.
async fn end_access(db: &Db, id: &str) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE account_id = $1")
        .bind(id)
        .execute(&db.pool)
        .await?;
    sqlx::query("UPDATE access_tokens SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL")
        .bind(now_ms())
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// What is left of a deleted local account: its name (never given again), its key (to sign
/// the Delete that tells other servers) and the time. Posts go separately, one by one, so each
/// leaves its tombstone.
pub async fn retire(db: &Db, id: &str) -> Result<()> {
    end_access(db, id).await?;
    let mut tx = db.begin().await?;
    sqlx::query(
        "UPDATE accounts SET deleted_at = $1, password_hash = '', display_name = '', note = '', fields = '[]',
            avatar_key = NULL, header_key = NULL, avatar_static_key = NULL, header_static_key = NULL, email = NULL, sign_up_reason = NULL, sign_up_address = NULL
         WHERE id = $2 AND domain IS NULL",
    )
    .bind(now_ms())
    .bind(id)
    .execute(&mut *tx)
    .await?;
    for sql in [
        "DELETE FROM follows WHERE account_id = $1 OR target_id = $1",
        "DELETE FROM favourites WHERE account_id = $1",
        "DELETE FROM account_blocks WHERE account_id = $1 OR target_id = $1",
        "DELETE FROM invites WHERE account_id = $1",
        "DELETE FROM tus_uploads WHERE account_id = $1",
    ] {
        sqlx::query(sql).bind(id).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// What admins filter the account list by (Mastodon's v2 admin accounts).
#[derive(Debug, Default, Clone)]
pub struct AdminFilter {
    /// Some(true): local only; Some(false): remote only.
    pub local: Option<bool>,
    /// active | pending | silenced | suspended | disabled
    pub status: Option<String>,
    pub username: Option<String>,
    pub display_name: Option<String>,
    pub by_domain: Option<String>,
    pub staff: bool,
    pub max_id: Option<String>,
    pub limit: i64,
}

pub async fn admin_list(db: &Db, filter: &AdminFilter) -> Result<Vec<Account>> {
    let status = match filter.status.as_deref() {
        None | Some("") => "",
        Some("active") => " AND approved = 1 AND suspended_at IS NULL AND deleted_at IS NULL",
        Some("pending") => " AND approved = 0",
        Some("silenced") => " AND silenced_at IS NOT NULL",
        Some("suspended") => " AND suspended_at IS NOT NULL",
        Some("disabled") => " AND deleted_at IS NOT NULL",
        Some(other) => {
            return Err(Error::unprocessable(format!(
                "status {other:?}: expected active, pending, silenced, suspended or disabled"
            )));
        }
    };
    let origin = match filter.local {
        Some(true) => " AND domain IS NULL",
        Some(false) => " AND domain IS NOT NULL",
        None => "",
    };
    let staff = if filter.staff { " AND is_admin = 1" } else { "" };
    let like = |v: &Option<String>| {
        v.as_deref()
            .filter(|v| !v.is_empty())
            .map(|v| format!("%{}%", v.to_lowercase().replace(['%', '_'], "")))
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM accounts
         WHERE actor_type IS DISTINCT FROM 'Application' {origin}{status}{staff}
           AND ($1 IS NULL OR LOWER(username) LIKE $1) AND ($2 IS NULL OR LOWER(display_name) LIKE $2)
           AND ($3 IS NULL OR domain = $3) AND ($4 IS NULL OR id < $4)
         ORDER BY id DESC LIMIT $5"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(like(&filter.username))
        .bind(like(&filter.display_name))
        .bind(
            filter
                .by_domain
                .as_deref()
                .filter(|d| !d.is_empty())
                .map(str::to_lowercase),
        )
        .bind(filter.max_id.as_deref())
        .bind(filter.limit.clamp(1, 200))
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(from_row).collect()
}

/// What an account's sign-up said, for admins.
pub async fn sign_up_details(db: &Db, id: &str) -> Result<SignUpDetails> {
    let row = sqlx::query(
        "SELECT email, locale, sign_up_reason, invite_code, sign_up_address FROM accounts WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&db.pool)
    .await?;
    let Some(row) = row else {
        return Ok(SignUpDetails::default());
    };
    Ok(SignUpDetails {
        email: row.try_get("email")?,
        locale: row.try_get("locale")?,
        reason: row.try_get("sign_up_reason")?,
        invite_code: row.try_get("invite_code")?,
        address: row.try_get("sign_up_address")?,
    })
}

/// Per-account quotas when an admin set them: (storage, daily upload).
pub async fn quotas(db: &Db, id: &str) -> Result<(Option<i64>, Option<i64>)> {
    let row = sqlx::query("SELECT storage_quota_bytes, daily_upload_quota_bytes FROM accounts WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    match row {
        Some(row) => Ok((
            row.try_get("storage_quota_bytes")?,
            row.try_get("daily_upload_quota_bytes")?,
        )),
        None => Ok((None, None)),
    }
}

pub async fn set_quotas(db: &Db, id: &str, storage: Option<i64>, daily: Option<i64>) -> Result<()> {
    sqlx::query("UPDATE accounts SET storage_quota_bytes = $1, daily_upload_quota_bytes = $2 WHERE id = $3")
        .bind(storage)
        .bind(daily)
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Bytes of originals an account keeps, and those it uploaded since `since` (epoch ms).
pub async fn usage(db: &Db, id: &str, since: i64) -> Result<(i64, i64)> {
    let row = sqlx::query(
        "SELECT CAST(COALESCE(SUM(size_bytes), 0) AS BIGINT) AS kept,
                CAST(COALESCE(SUM(CASE WHEN created_at > $2 THEN size_bytes ELSE 0 END), 0) AS BIGINT) AS recent
         FROM media WHERE account_id = $1 AND remote_url IS NULL",
    )
    .bind(id)
    .bind(since)
    .fetch_one(&db.pool)
    .await?;
    Ok((row.try_get("kept")?, row.try_get("recent")?))
}

/// Every server that may know our accounts: the inboxes (shared ones merged) of remote
/// accounts we store, for a Delete of an account that must reach all of them.
pub async fn known_inboxes(db: &Db) -> Result<Vec<String>> {
    let inboxes: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT COALESCE(shared_inbox_url, inbox_url) FROM accounts
         WHERE domain IS NOT NULL AND inbox_url IS NOT NULL LIMIT 50000",
    )
    .fetch_all(&db.pool)
    .await?;
    Ok(inboxes)
}

/// Ids of an account's own statuses (boosts too), newest first.
pub async fn status_ids(db: &Db, id: &str) -> Result<Vec<String>> {
    let ids: Vec<String> =
        sqlx::query_scalar("SELECT id FROM statuses WHERE account_id = $1 ORDER BY id DESC")
            .bind(id)
            .fetch_all(&db.pool)
            .await?;
    Ok(ids)
}

/// The other servers this one knows accounts of, as `/api/v1/instance/peers` lists them.
pub async fn peer_domains(db: &Db) -> Result<Vec<String>> {
    let domains: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT domain FROM accounts WHERE domain IS NOT NULL ORDER BY domain LIMIT 10000",
    )
    .fetch_all(&db.pool)
    .await?;
    Ok(domains)
}

/// Local posts, sign-ups and logins between two times (epoch ms), for the weekly activity.
pub async fn activity_between(db: &Db, from: i64, to: i64) -> Result<(i64, i64, i64)> {
    let count = |sql: &'static str| async move {
        sqlx::query_scalar::<_, i64>(sql)
            .bind(from)
            .bind(to)
            .fetch_one(&db.pool)
            .await
    };
    let statuses =
        count("SELECT COUNT(*) FROM statuses WHERE uri IS NULL AND published_at >= $1 AND published_at < $2")
            .await?;
    let registrations =
        count("SELECT COUNT(*) FROM accounts WHERE domain IS NULL AND created_at >= $1 AND created_at < $2")
            .await?;
    let logins =
        count("SELECT COUNT(DISTINCT account_id) FROM sessions WHERE created_at >= $1 AND created_at < $2")
            .await?;
    Ok((statuses, registrations, logins))
}
