use sqlx::{Row, any::AnyRow};

use super::{Db, now_ms};
use crate::error::Result;

#[derive(Debug, Clone)]
pub struct TusUpload {
    pub id: String,
    pub account_id: String,
    pub length: i64,
    pub offset: i64,
    pub file_name: Option<String>,
    pub description: Option<String>,
    pub media_id: Option<String>,
    pub expires_at: i64,
}

fn from_row(row: &AnyRow) -> Result<TusUpload> {
    Ok(TusUpload {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        length: row.try_get("length")?,
        offset: row.try_get("upload_offset")?,
        file_name: row.try_get("file_name")?,
        description: row.try_get("description")?,
        media_id: row.try_get("media_id")?,
        expires_at: row.try_get("expires_at")?,
    })
}

pub async fn insert(db: &Db, upload: &TusUpload) -> Result<()> {
    sqlx::query(
        "INSERT INTO tus_uploads (id, account_id, length, upload_offset, file_name, description, created_at, expires_at)
         VALUES ($1, $2, $3, 0, $4, $5, $6, $7)",
    )
    .bind(&upload.id)
    .bind(&upload.account_id)
    .bind(upload.length)
    .bind(upload.file_name.as_deref())
    .bind(upload.description.as_deref())
    .bind(now_ms())
    .bind(upload.expires_at)
    .execute(&db.pool)
    .await?;
    Ok(())
}

pub async fn get(db: &Db, id: &str) -> Result<Option<TusUpload>> {
    let row = sqlx::query(
        "SELECT id, account_id, length, upload_offset, file_name, description, media_id, expires_at
         FROM tus_uploads WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&db.pool)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Moves the offset forward only from where the caller saw it: two writers cannot both win.
pub async fn advance(db: &Db, id: &str, from: i64, to: i64) -> Result<bool> {
    let done = sqlx::query("UPDATE tus_uploads SET upload_offset = $1 WHERE id = $2 AND upload_offset = $3")
        .bind(to)
        .bind(id)
        .bind(from)
        .execute(&db.pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn set_media(db: &Db, id: &str, media_id: &str) -> Result<()> {
    sqlx::query("UPDATE tus_uploads SET media_id = $1 WHERE id = $2")
        .bind(media_id)
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

pub async fn delete(db: &Db, id: &str) -> Result<()> {
    sqlx::query("DELETE FROM tus_uploads WHERE id = $1")
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}
