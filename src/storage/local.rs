//! Objects as files under one folder. Writes go to `.partial/` and are renamed into place, so a
//! reader never sees half an object and a crash leaves no torn file under a real key.

use std::{
    io::SeekFrom,
    path::{Path, PathBuf},
    time::UNIX_EPOCH,
};

use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use super::{ByteRange, ByteStream, Key, Object, ObjectMeta, ObjectStore, not_found};
use crate::error::{Error, Result};

const PARTIAL: &str = ".partial";

pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    pub async fn open(root: &Path) -> Result<LocalStore> {
        tokio::fs::create_dir_all(root.join(PARTIAL)).await.map_err(|e| {
            Error::internal(format!("cannot create storage folder {}", root.display())).with_source(e)
        })?;
        let root = tokio::fs::canonicalize(root).await?;
        Ok(LocalStore { root })
    }

    fn path(&self, key: &Key) -> PathBuf {
        // `Key` has no empty, dotted or absolute segments, so the join stays under the root.
        self.root.join(key.as_str())
    }

    async fn meta(&self, key: &Key) -> Result<ObjectMeta> {
        let metadata = match tokio::fs::metadata(self.path(key)).await {
            Ok(m) if m.is_file() => m,
            Ok(_) => return Err(not_found(key)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(not_found(key)),
            Err(e) => return Err(e.into()),
        };
        Ok(meta_of(key.clone(), &metadata))
    }
}

fn meta_of(key: Key, metadata: &std::fs::Metadata) -> ObjectMeta {
    let modified = metadata
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok());
    let nanos = modified.map_or(0, |d| d.as_nanos());
    ObjectMeta {
        key,
        size: metadata.len(),
        etag: format!("\"{:x}-{:x}\"", metadata.len(), nanos),
        modified: modified.map(|d| d.as_secs() as i64),
    }
}

#[async_trait::async_trait]
impl ObjectStore for LocalStore {
    async fn put(
        &self,
        key: &Key,
        mut body: ByteStream,
        _size_hint: Option<u64>,
        _content_type: &str,
    ) -> Result<()> {
        let partial = self.root.join(PARTIAL).join(uuid::Uuid::new_v4().to_string());
        let result = async {
            let mut file = tokio::fs::File::create(&partial).await?;
            while let Some(chunk) = body.next().await {
                file.write_all(&chunk?).await?;
            }
            file.sync_all().await?;
            let target = self.path(key);
            if let Some(parent) = target.parent() {
                tokio::fs::create_dir_all(parent).await?;
            }
            tokio::fs::rename(&partial, &target).await
        }
        .await;
        if let Err(e) = result {
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(Error::internal(format!("cannot store {key}")).with_source(e));
        }
        Ok(())
    }

    async fn put_path(&self, key: &Key, path: &Path, content_type: &str) -> Result<()> {
        // On the same filesystem a hard link adopts the spooled upload without copying a byte;
        // the caller still owns (and removes) its own name for it.
        let partial = self.root.join(PARTIAL).join(uuid::Uuid::new_v4().to_string());
        if tokio::fs::hard_link(path, &partial).await.is_ok() {
            let target = self.path(key);
            let placed = async {
                if let Some(parent) = target.parent() {
                    tokio::fs::create_dir_all(parent).await?;
                }
                tokio::fs::rename(&partial, &target).await
            }
            .await;
            if placed.is_ok() {
                return Ok(());
            }
            let _ = tokio::fs::remove_file(&partial).await;
        }
        let (stream, size) = super::file_stream(path).await?;
        self.put(key, stream, Some(size), content_type).await
    }

    async fn get(&self, key: &Key, range: Option<ByteRange>) -> Result<Object> {
        let meta = self.meta(key).await?;
        let mut file = tokio::fs::File::open(self.path(key)).await?;
        let body: ByteStream = match range {
            Some(r) => {
                file.seek(SeekFrom::Start(r.start)).await?;
                Box::pin(tokio_util::io::ReaderStream::with_capacity(
                    file.take(r.len()),
                    256 * 1024,
                ))
            }
            None => Box::pin(tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024)),
        };
        Ok(Object { meta, body, range })
    }

    async fn head(&self, key: &Key) -> Result<ObjectMeta> {
        self.meta(key).await
    }

    async fn delete(&self, key: &Key) -> Result<()> {
        match tokio::fs::remove_file(self.path(key)).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>> {
        let root = self.root.clone();
        let prefix = prefix.to_owned();
        tokio::task::spawn_blocking(move || {
            let mut found = Vec::new();
            let mut stack = vec![root.clone()];
            // Objects may be deleted while we walk (a purge job, another process): a folder or
            // file that vanished is simply not listed, rather than failing the whole listing.
            let gone = |e: &std::io::Error| e.kind() == std::io::ErrorKind::NotFound;
            while let Some(dir) = stack.pop() {
                let entries = match std::fs::read_dir(&dir) {
                    Ok(entries) => entries,
                    Err(e) if gone(&e) => continue,
                    Err(e) => return Err(e.into()),
                };
                for entry in entries {
                    let entry = entry?;
                    let path = entry.path();
                    let Ok(relative) = path.strip_prefix(&root) else {
                        continue;
                    };
                    let Some(relative) = relative.to_str() else {
                        continue;
                    };
                    if relative.starts_with('.') {
                        continue;
                    }
                    let file_type = match entry.file_type() {
                        Ok(file_type) => file_type,
                        Err(e) if gone(&e) => continue,
                        Err(e) => return Err(e.into()),
                    };
                    if file_type.is_dir() {
                        // Only descend where the prefix can still match.
                        let dir_prefix = format!("{relative}/");
                        if dir_prefix.starts_with(&prefix) || prefix.starts_with(&dir_prefix) {
                            stack.push(path);
                        }
                    } else if file_type.is_file()
                        && relative.starts_with(&prefix)
                        && let Ok(key) = Key::parse(relative)
                    {
                        match entry.metadata() {
                            Ok(metadata) => found.push(meta_of(key, &metadata)),
                            Err(e) if gone(&e) => {}
                            Err(e) => return Err(e.into()),
                        }
                    }
                }
            }
            found.sort_by(|a, b| a.key.as_str().cmp(b.key.as_str()));
            Ok(found)
        })
        .await
        .map_err(|e| Error::internal("listing task failed").with_source(e))?
    }

    async fn check(&self) -> Result<()> {
        let probe = self.root.join(PARTIAL).join("healthz");
        tokio::fs::write(&probe, b"ok").await?;
        tokio::fs::remove_file(&probe).await?;
        Ok(())
    }

    fn public_url(&self, _key: &Key) -> Option<String> {
        None
    }
}
