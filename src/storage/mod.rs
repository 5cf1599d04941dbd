//! The object store: one streaming interface, two backends (local folder, S3-compatible).
//!
//! Keys are always chosen by the server; [`Key`] refuses anything that could name a file outside
//! the store, whatever backend is behind it.

pub mod local;
pub mod s3;

use std::{path::Path, pin::Pin, sync::Arc};

use bytes::Bytes;
use futures_util::Stream;

use crate::{
    config::{StorageBackend, StorageConfig},
    error::{Error, Kind, Result},
};

pub type ByteStream = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

/// A validated object key: `/`-separated segments of `[A-Za-z0-9._-]` that do not start with a dot.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key(String);

impl Key {
    pub fn parse(raw: &str) -> Result<Key> {
        let valid = !raw.is_empty()
            && raw.len() <= 512
            && raw.split('/').all(|segment| {
                // No segment may start with a dot: that rules out `.`, `..` and hidden files,
                // and leaves `.partial/` to the local backend's unfinished writes.
                !segment.is_empty()
                    && !segment.starts_with('.')
                    && segment
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
            });
        if valid {
            Ok(Key(raw.to_owned()))
        } else {
            Err(Error::new(
                Kind::BadRequest,
                "invalid_key",
                format!("invalid object key {raw:?}"),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An inclusive byte range already checked against the object's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    pub start: u64,
    pub end: u64,
}

impl ByteRange {
    pub fn len(&self) -> u64 {
        self.end - self.start + 1
    }
    pub fn is_empty(&self) -> bool {
        false
    }
}

#[derive(Debug, Clone)]
pub struct ObjectMeta {
    pub key: Key,
    pub size: u64,
    pub etag: String,
    /// Seconds since the Unix epoch.
    pub modified: Option<i64>,
}

pub struct Object {
    pub meta: ObjectMeta,
    /// The bytes of `range` when one was asked for, else the whole object.
    pub body: ByteStream,
    pub range: Option<ByteRange>,
}

#[async_trait::async_trait]
pub trait ObjectStore: Send + Sync {
    /// Stores the stream under `key`, replacing any object there. `size_hint` lets small objects
    /// go up in one request; larger or unknown ones stream in bounded parts.
    async fn put(
        &self,
        key: &Key,
        body: ByteStream,
        size_hint: Option<u64>,
        content_type: &str,
    ) -> Result<()>;
    /// Stores a local file. Backends that can adopt the file without copying it do so.
    async fn put_path(&self, key: &Key, path: &Path, content_type: &str) -> Result<()> {
        let (stream, size) = file_stream(path).await?;
        self.put(key, stream, Some(size), content_type).await
    }
    /// The object, or the inclusive `range` of it (the caller checked it against `head`).
    async fn get(&self, key: &Key, range: Option<ByteRange>) -> Result<Object>;
    async fn head(&self, key: &Key) -> Result<ObjectMeta>;
    /// Deleting a missing object is not an error: deletes are retried by jobs.
    async fn delete(&self, key: &Key) -> Result<()>;
    async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>>;
    /// Reachable and writable enough to serve: for `/healthz`.
    async fn check(&self) -> Result<()>;
    /// Where a browser can fetch the object directly, when the store is public.
    fn public_url(&self, key: &Key) -> Option<String>;
}

pub type Store = Arc<dyn ObjectStore>;

pub async fn from_config(config: &StorageConfig) -> Result<Store> {
    Ok(match config.backend {
        StorageBackend::Local => Arc::new(local::LocalStore::open(&config.local.path).await?),
        StorageBackend::S3 => Arc::new(s3::S3Store::new(&config.s3)),
    })
}

/// A local file as a stream of chunks, and its size.
pub async fn file_stream(path: &Path) -> Result<(ByteStream, u64)> {
    let file = tokio::fs::File::open(path).await?;
    let size = file.metadata().await?.len();
    Ok((
        Box::pin(tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024)),
        size,
    ))
}

/// The store cannot be reached: 503 with Retry-After, naming the storage as `/healthz` does, so
/// a client (and its user) waits instead of reporting a bug. `detail` is logged, not sent.
pub fn unavailable(detail: String) -> Error {
    Error::new(
        Kind::Unavailable,
        "storage_unavailable",
        "the storage (object store) is unavailable; try again later",
    )
    .with_source(std::io::Error::other(detail))
}

pub fn not_found(key: &Key) -> Error {
    Error::new(Kind::NotFound, "not_found", format!("object {key} not found"))
}

/// A small object (a playlist, a hash list) read whole; more than `cap` bytes is an error.
pub async fn read_small(store: &Store, key: &Key, cap: usize) -> Result<Vec<u8>> {
    use futures_util::StreamExt;
    let mut object = store.get(key, None).await?;
    let mut data = Vec::new();
    while let Some(chunk) = object.body.next().await {
        let chunk = chunk?;
        if data.len() + chunk.len() > cap {
            return Err(crate::error::Error::unprocessable(format!(
                "{} is larger than {cap} bytes",
                key.as_str()
            )));
        }
        data.extend_from_slice(&chunk);
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_cannot_escape() {
        assert!(Key::parse("media/0190/original.jpg").is_ok());
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a//b",
            "a/./b",
            "a\\b",
            "a/b/",
            "é",
            "a b",
            "..",
            ".partial/x",
        ] {
            assert!(Key::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
