//! Processing an uploaded media on the workers, and purging deleted media.
//!
//! Photos go through the photo pipeline (upright, metadata-free, colour-managed variants);
//! videos through the transcoder, in a child process (an HLS ladder, an MP4, a thumbnail).

use bytes::BytesMut;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use std::sync::Arc;

use tokio::io::AsyncWriteExt;

use super::{
    photo::{self, PhotoError, Sizes},
    video,
};
use crate::{
    config::Config,
    db::{self, Db},
    domain::media::{Media, MediaKind, MediaState, StoredVariant, mime_for_key},
    jobs::{JobError, JobHandler, JobRun},
    storage::{Key, Store},
};

/// Photos (and anything quick).
pub const PROCESS_MEDIA: &str = "media.process";
/// Videos: the same handler, a kind of its own so `transcoding.max_concurrent` can cap it.
pub const TRANSCODE_VIDEO: &str = "media.transcode";
pub const PURGE_MEDIA: &str = "media.purge";

#[derive(Serialize, Deserialize)]
pub struct Payload {
    pub media_id: String,
}

pub struct ProcessMedia {
    pub db: Db,
    pub queue: crate::jobs::Queue,
    pub store: Store,
    pub config: Arc<Config>,
    pub sizes: Sizes,
    /// The job that publishes a post once all its media is ready. Given by whoever builds the
    /// instance, so media processing need not know what publishing means (federation is above).
    pub publish_job: PublishJob,
}

/// Makes the job that publishes the post with this id.
pub type PublishJob = fn(&crate::jobs::Queue, &str) -> crate::error::Result<db::jobs::NewJob>;

/// Where a verified original goes while it is read.
enum Destination<'a> {
    Memory(&'a mut BytesMut),
    File(&'a mut tokio::fs::File),
}

/// Decoding is CPU-bound: at most one photo per core at a time, off the async runtime.
fn photo_permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    PERMITS.get_or_init(|| {
        tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    })
}

/// Megapixels decoded at once by this process, at most (about 400 MB of RGBA), however many
/// cores: two photos at the pixel limit never decode side by side with a third.
const PIXEL_BUDGET_MP: u32 = 100;

fn pixel_budget() -> &'static tokio::sync::Semaphore {
    static BUDGET: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(PIXEL_BUDGET_MP as usize);
    &BUDGET
}

/// What a decode of `pixels` takes from the budget: its megapixels, rounded up, at most all.
fn pixel_cost(pixels: u64) -> u32 {
    u32::try_from(pixels.div_ceil(1_000_000))
        .unwrap_or(u32::MAX)
        .clamp(1, PIXEL_BUDGET_MP)
}

impl ProcessMedia {
    /// Reads the original whole, checking it is exactly what was uploaded.
    async fn read_original(&self, media: &Media, mut into: Destination<'_>) -> Result<(), JobError> {
        let key = Key::parse(&media.original_key)?;
        let mut object = self.store.get(&key, None).await?;
        let mut hasher = Sha256::new();
        let mut size: i64 = 0;
        while let Some(chunk) = object.body.next().await {
            let chunk = chunk.map_err(|e| JobError::retry(format!("reading the original failed: {e}")))?;
            size += chunk.len() as i64;
            hasher.update(&chunk);
            match &mut into {
                Destination::Memory(bytes) => bytes.extend_from_slice(&chunk),
                Destination::File(file) => file
                    .write_all(&chunk)
                    .await
                    .map_err(|e| JobError::retry(format!("cannot spool the original: {e}")))?,
            }
        }
        if size != media.size_bytes || hex::encode(hasher.finalize()) != media.sha256 {
            return Err(JobError::permanent(format!(
                "the stored original is damaged ({size} bytes stored, {} uploaded, or its checksum differs)",
                media.size_bytes
            )));
        }
        Ok(())
    }

    async fn photo(&self, media: &Media) -> Result<(), JobError> {
        let mut data = BytesMut::new();
        self.read_original(media, Destination::Memory(&mut data)).await?;
        let data = data.to_vec();
        let (sizes, max_pixels) = (self.sizes, self.config.limits.max_image_pixels);
        // The header says how much memory decoding will take; it waits for that much budget.
        let probe = photo::probe(&data, max_pixels).map_err(|e| JobError::permanent(e.to_string()))?;
        let pixels = u64::from(probe.width) * u64::from(probe.height);
        let budget = pixel_budget()
            .acquire_many(pixel_cost(pixels))
            .await
            .map_err(|_| JobError::retry("the photo pool is closed"))?;
        let permit = photo_permits()
            .acquire()
            .await
            .map_err(|_| JobError::retry("the photo pool is closed"))?;
        let processed = tokio::task::spawn_blocking(move || photo::process(&data, sizes, max_pixels))
            .await
            .map_err(|e| JobError::retry(format!("the photo task failed: {e}")))?;
        drop((permit, budget));
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
                ..StoredVariant::default()
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

    /// Transcodes in a child process, then publishes the ladder, the MP4 and the thumbnail.
    async fn video(&self, media: &Media) -> Result<(), JobError> {
        tokio::fs::create_dir_all(&self.config.storage.tmp_path).await?;
        let work = tempfile::Builder::new()
            .prefix("transcode-")
            .tempdir_in(&self.config.storage.tmp_path)
            .map_err(|e| JobError::retry(format!("no room to transcode: {e}")))?;
        let extension = media.original_key.rsplit_once('.').map_or("bin", |(_, e)| e);
        let source = work.path().join(format!("source.{extension}"));
        {
            let mut file = tokio::fs::File::create(&source).await?;
            self.read_original(media, Destination::File(&mut file)).await?;
            file.flush().await?;
        }
        let output = work.path().join("out");
        let (db, id) = (self.db.clone(), media.id.clone());
        let done = video::transcode(&self.config, &source, &output, move |p| {
            let (db, id) = (db.clone(), id.clone());
            Box::pin(async move {
                let progress = 10 + i64::from(p) * 85 / 100;
                if let Err(e) = db::media::set_state(&db, &id, MediaState::Processing, progress, None).await {
                    tracing::warn!(error = %e, "cannot record progress");
                }
            })
        })
        .await?;

        let base = format!("media/{}", media.id);
        let hls_dir = output.join("hls");
        for path in files_under(&hls_dir)? {
            let relative = path
                .strip_prefix(&hls_dir)
                .map_err(|_| JobError::retry("transcoder output outside its folder"))?
                .to_string_lossy()
                .replace('\\', "/");
            let key = Key::parse(&format!("{base}/hls/{relative}"))?;
            self.store
                .put_path(&key, &path, mime_for_key(key.as_str()))
                .await?;
        }
        let thumb_key = Key::parse(&format!("{base}/thumb.jpg"))?;
        self.store
            .put_path(&thumb_key, &output.join(&done.thumbnail), "image/jpeg")
            .await?;

        let probe = &done.ladder.probe;
        // The progressive MP4: the largest rendition up to 720p, else the smallest.
        let mp4 = done
            .ladder
            .renditions
            .iter()
            .filter(|r| r.height <= 720)
            .max_by_key(|r| r.height)
            .or_else(|| done.ladder.renditions.iter().min_by_key(|r| r.height))
            .ok_or_else(|| JobError::permanent("the transcoder produced no rendition"))?;
        let thumb = StoredVariant {
            name: "thumb".into(),
            key: thumb_key.as_str().to_owned(),
            width: done.thumbnail_width,
            height: done.thumbnail_height,
            mime: "image/jpeg".into(),
            ..StoredVariant::default()
        };
        let mut variants = vec![
            StoredVariant {
                name: "hls".into(),
                key: format!("{base}/hls/{}", done.ladder.master),
                width: probe.width,
                height: probe.height,
                mime: "application/vnd.apple.mpegurl".into(),
                seconds: Some(probe.duration_seconds),
                fps: Some(probe.frame_rate),
                size: None,
            },
            StoredVariant {
                name: "mp4".into(),
                key: format!("{base}/hls/{}", mp4.file),
                width: mp4.width,
                height: mp4.height,
                mime: "video/mp4".into(),
                ..StoredVariant::default()
            },
            StoredVariant {
                name: "hashes".into(),
                key: format!("{base}/hls/{}", done.ladder.hashes),
                mime: "application/json".into(),
                ..StoredVariant::default()
            },
            StoredVariant {
                name: "preview".into(),
                ..thumb.clone()
            },
            thumb,
        ];
        // Every rendition, so the ActivityPub Video can list them as PeerTube does.
        for r in &done.ladder.renditions {
            variants.push(StoredVariant {
                name: format!("rendition-{}", r.height),
                key: format!("{base}/hls/{}", r.file),
                width: r.width,
                height: r.height,
                mime: "video/mp4".into(),
                seconds: None,
                fps: Some(probe.frame_rate),
                size: std::fs::metadata(hls_dir.join(&r.file)).ok().map(|m| m.len()),
            });
        }
        db::media::set_processed(
            &self.db,
            &media.id,
            i64::from(probe.width),
            i64::from(probe.height),
            None,
            &variants,
        )
        .await?;
        Ok(())
    }
}

/// Every file below `dir`, depth first.
fn files_under(dir: &std::path::Path) -> Result<Vec<std::path::PathBuf>, JobError> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current).map_err(|e| JobError::retry(e.to_string()))? {
            let path = entry.map_err(|e| JobError::retry(e.to_string()))?.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                found.push(path);
            }
        }
    }
    Ok(found)
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
        let (queue, publish_job) = (&self.queue, self.publish_job);
        db::statuses::publish_ready(&self.db, &media.id, &|id| publish_job(queue, id)).await?;
        queue.wake();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_take_their_megapixels_from_the_budget() {
        assert_eq!(pixel_cost(1), 1);
        assert_eq!(pixel_cost(12_000_000), 12);
        assert_eq!(pixel_cost(12_000_001), 13);
        // Larger than the budget (a limit set above it): it waits for all of it, never forever.
        assert_eq!(pixel_cost(500_000_000), PIXEL_BUDGET_MP);
        assert_eq!(pixel_cost(u64::MAX), PIXEL_BUDGET_MP);
    }
}
