//! Processing an uploaded media on the workers. Until the photo and video pipelines land, this
//! checks that the stored original is whole (size and SHA-256 as uploaded) and marks it ready.

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{
    db::{self, Db},
    domain::media::MediaState,
    jobs::{JobError, JobHandler, JobRun},
    storage::{Key, Store},
};

pub const PROCESS_MEDIA: &str = "media.process";

#[derive(Serialize, Deserialize)]
pub struct Payload {
    pub media_id: String,
}

pub struct ProcessMedia {
    pub db: Db,
    pub store: Store,
}

#[async_trait::async_trait]
impl JobHandler for ProcessMedia {
    async fn run(&self, job: &JobRun) -> Result<(), JobError> {
        let payload: Payload = job.payload()?;
        let Some(media) = db::media::get(&self.db, &payload.media_id).await? else {
            // Deleted meanwhile: nothing left to do.
            return Ok(());
        };
        if media.state == MediaState::Ready {
            return Ok(());
        }
        db::media::set_state(&self.db, &media.id, MediaState::Processing, 0, None).await?;
        let key = Key::parse(&media.original_key)?;
        let mut object = self.store.get(&key, None).await?;
        let mut hasher = Sha256::new();
        let mut size: i64 = 0;
        while let Some(chunk) = object.body.next().await {
            let chunk = chunk.map_err(|e| JobError::retry(format!("reading the original failed: {e}")))?;
            size += chunk.len() as i64;
            hasher.update(&chunk);
        }
        if size != media.size_bytes || hex::encode(hasher.finalize()) != media.sha256 {
            return Err(JobError::permanent(format!(
                "the stored original is damaged ({size} bytes stored, {} uploaded, or its checksum differs)",
                media.size_bytes
            )));
        }
        db::media::set_state(&self.db, &media.id, MediaState::Ready, 100, None).await?;
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
