use sqlx::{Row, any::AnyRow};

use super::Db;
use crate::{
    domain::account::{Account, NewAccount},
    error::{Error, Kind, Result},
};

const COLUMNS: &str = "id, username, display_name, is_admin, public_key_pem, created_at";

pub(super) fn from_row(row: &AnyRow) -> Result<Account> {
    Ok(Account {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        display_name: row.try_get("display_name")?,
        is_admin: row.try_get::<i64, _>("is_admin")? != 0,
        public_key_pem: row.try_get("public_key_pem")?,
        created_at: row.try_get("created_at")?,
    })
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
    let sql = format!("SELECT {COLUMNS}, password_hash FROM accounts WHERE username_key = $1");
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
    let row = sqlx::query("SELECT COUNT(*) AS n FROM accounts")
        .fetch_one(&db.pool)
        .await?;
    Ok(row.try_get("n")?)
}

pub async fn by_username(db: &Db, username_key: &str) -> Result<Option<Account>> {
    let sql = format!("SELECT {COLUMNS} FROM accounts WHERE username_key = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(username_key)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}
