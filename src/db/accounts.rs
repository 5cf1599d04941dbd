use sqlx::{Row, any::AnyRow};

use super::{Db, now_ms};
use crate::{
    domain::account::{Account, NewAccount, NewRemoteAccount, RemoteActor},
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

const COLUMNS: &str = "id, username, display_name, is_admin, public_key_pem, created_at, domain, uri, actor_type, inbox_url, shared_inbox_url, followers_url, profile_url, avatar_url, note, key_id, locked";

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
    })
}

/// Stores a remote actor, or refreshes the one with the same id (its key may have rotated).
pub async fn upsert_remote(db: &Db, new: &NewRemoteAccount) -> Result<Account> {
    let now = now_ms();
    let a = &new.actor;
    let updated = sqlx::query(
        "UPDATE accounts SET username = $1, display_name = $2, note = $3, locked = $4, public_key_pem = $5,
            actor_type = $6, inbox_url = $7, shared_inbox_url = $8, followers_url = $9, profile_url = $10,
            avatar_url = $11, key_id = $12, fetched_at = $13
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
    .execute(&db.pool)
    .await?;
    if updated.rows_affected() == 0 {
        // The key is unique per actor: two actors may share a preferredUsername on one domain
        // (a PeerTube account and its channel), so the uri disambiguates.
        let key = format!("{}@{}#{}", new.username.to_lowercase(), new.domain, a.uri);
        let inserted = sqlx::query(
            "INSERT INTO accounts (id, username, username_key, display_name, password_hash, is_admin, private_key_pem,
                public_key_pem, created_at, domain, uri, actor_type, inbox_url, shared_inbox_url, followers_url,
                profile_url, avatar_url, note, key_id, locked, fetched_at)
             VALUES ($1, $2, $3, $4, '', 0, '', $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $6)",
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
        "INSERT INTO accounts (id, username, username_key, password_hash, is_admin, private_key_pem, public_key_pem, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&account.id)
    .bind(account.username.as_str())
    .bind(account.username.key())
    .bind(&account.password_hash)
    .bind(i64::from(account.is_admin))
    .bind(&account.private_key_pem)
    .bind(&account.public_key_pem)
    .bind(account.created_at)
    .execute(&db.pool)
    .await;
    match result {
        Ok(_) => Ok(()),
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
