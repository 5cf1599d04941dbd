//! Processing an uploaded media on the workers, and purging deleted media.
//!
//! Photos go through the photo pipeline (upright, metadata-free, colour-managed variants).
//! Videos, until the transcoder lands, are checked whole and published as uploaded.

use bytes::BytesMut;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::photo::{self, PhotoError, Sizes};
use crate::{
    db::{self, Db},
    domain::media::{Media, MediaKind, MediaState, StoredVariant},
    jobs::{JobError, JobHandler, JobRun},
    storage::{Key, Store},
};

pub const PROCESS_MEDIA: &str = "media.process";
pub const PURGE_MEDIA: &str = "media.purge";

#[derive(Serialize, Deserialize)]
pub struct Payload {
    pub media_id: String,
}

pub struct ProcessMedia {
    pub db: Db,
    pub store: Store,
    pub max_image_pixels: u64,
    pub sizes: Sizes,
}

/// Decoding is CPU-bound: at most one photo per core at a time, off the async runtime.
fn photo_permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    PERMITS.get_or_init(|| {
        tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    })
}

impl ProcessMedia {
    /// Reads the original whole, checking it is exactly what was uploaded.
    async fn read_original(&self, media: &Media, keep: bool) -> Result<Vec<u8>, JobError> {
        let key = Key::parse(&media.original_key)?;
        let mut object = self.store.get(&key, None).await?;
        let mut hasher = Sha256::new();
        let mut size: i64 = 0;
        let mut bytes = BytesMut::new();
        while let Some(chunk) = object.body.next().await {
            let chunk = chunk.map_err(|e| JobError::retry(format!("reading the original failed: {e}")))?;
            size += chunk.len() as i64;
            hasher.update(&chunk);
            if keep {
                bytes.extend_from_slice(&chunk);
            }
        }
        if size != media.size_bytes || hex::encode(hasher.finalize()) != media.sha256 {
            return Err(JobError::permanent(format!(
                "the stored original is damaged ({size} bytes stored, {} uploaded, or its checksum differs)",
                media.size_bytes
            )));
        }
        Ok(bytes.to_vec())
    }

    async fn photo(&self, media: &Media) -> Result<(), JobError> {
        let data = self.read_original(media, true).await?;
        let (sizes, max_pixels) = (self.sizes, self.max_image_pixels);
        let permit = photo_permits()
            .acquire()
            .await
            .map_err(|_| JobError::retry("the photo pool is closed"))?;
        let processed = tokio::task::spawn_blocking(move || photo::process(&data, sizes, max_pixels))
            .await
            .map_err(|e| JobError::retry(format!("the photo task failed: {e}")))?;
        drop(permit);
        let processed = processed.map_err(|e| match e {
            PhotoError::Broken(_) | PhotoError::TooManyPixels { .. } | PhotoError::Unsupported(_) => {
                JobError::permanent(e.to_string())
            }
        })?;
        let mut stored = Vec::with_capacity(processed.variants.len());
        for variant in &processed.variants {
            let key = Key::parse(&format!(
                "media/{}/{}.{}",
                media.id, variant.name, variant.extension
            ))?;
            let body = futures_util::stream::iter([Ok(bytes::Bytes::from(variant.bytes.clone()))]);
            self.store
                .put(
                    &key,
                    Box::pin(body),
                    Some(variant.bytes.len() as u64),
                    variant.mime,
                )
                .await?;
            stored.push(StoredVariant {
                name: variant.name.to_owned(),
                key: key.as_str().to_owned(),
                width: variant.width,
                height: variant.height,
                mime: variant.mime.to_owned(),
            });
        }
        db::media::set_processed(
            &self.db,
            &media.id,
            i64::from(processed.width),
            i64::from(processed.height),
            Some(&processed.blurhash),
            &stored,
        )
        .await?;
        Ok(())
    }

    /// Until the transcoder exists: the verified upload itself is what plays.
    async fn video(&self, media: &Media) -> Result<(), JobError> {
        self.read_original(media, false).await?;
        let source = Key::parse(&media.original_key)?;
        let extension = media.original_key.rsplit_once('.').map_or("bin", |(_, e)| e);
        let target = Key::parse(&format!("media/{}/original.{extension}", media.id))?;
        let object = self.store.get(&source, None).await?;
        self.store
            .put(&target, object.body, Some(object.meta.size), &media.content_type)
            .await?;
        let variant = StoredVariant {
            name: "original".into(),
            key: target.as_str().to_owned(),
            width: 0,
            height: 0,
            mime: media.content_type.clone(),
        };
        db::media::set_processed(&self.db, &media.id, 0, 0, None, &[variant]).await?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl JobHandler for ProcessMedia {
    async fn run(&self, job: &JobRun) -> Result<(), JobError> {
        let payload: Payload = job.payload()?;
        let Some(media) = db::media::get(&self.db, &payload.media_id).await? else {
            // Deleted meanwhile: nothing left to do.
            return Ok(());
        };
        if media.state != MediaState::Ready {
            db::media::set_state(&self.db, &media.id, MediaState::Processing, 10, None).await?;
            match media.kind {
                MediaKind::Image => self.photo(&media).await?,
                MediaKind::Video => self.video(&media).await?,
            }
        }
        // Posts that were waiting for this media go out once all of theirs is ready.
        db::statuses::publish_ready(&self.db, &media.id).await?;
        Ok(())
    }

    async fn failed(&self, payload: &str, error: &str) {
        let Ok(payload) = serde_json::from_str::<Payload>(payload) else {
            return;
        };
        if let Err(e) =
            db::media::set_state(&self.db, &payload.media_id, MediaState::Failed, 0, Some(error)).await
        {
            tracing::warn!(error = %e, media = %payload.media_id, "cannot mark media failed");
        }
    }
}

/// Removes a deleted media's files from the store, then its row.
pub struct PurgeMedia {
    pub db: Db,
    pub store: Store,
}

#[async_trait::async_trait]
impl JobHandler for PurgeMedia {
    async fn run(&self, job: &JobRun) -> Result<(), JobError> {
        let payload: Payload = job.payload()?;
        let Some(media) = db::media::get_deleted(&self.db, &payload.media_id).await? else {
            return Ok(());
        };
        let original = Key::parse(&media.original_key)?;
        self.store.delete(&original).await?;
        for object in self.store.list(&format!("media/{}/", media.id)).await? {
            self.store.delete(&object.key).await?;
        }
        db::media::remove(&self.db, &media.id).await?;
        Ok(())
    }
}
