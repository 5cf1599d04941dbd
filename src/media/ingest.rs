//! The first half of an upload: the body streams to a temp file while it is hashed and counted
//! (never held whole in memory), its type is read from its bytes, and the original goes to the
//! object store before the row and its job are committed together.

use std::path::Path;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::{
    config::LimitsConfig,
    db,
    domain::media::{Media, MediaKind, MediaState, accepted_type},
    error::{Error, Kind, Result},
    state::AppState,
    storage::Key,
};

use super::{
    photo::{self, PhotoError},
    process::{PROCESS_MEDIA, TRANSCODE_VIDEO},
};

/// Enough of the start of a file for every signature we recognise.
const SNIFF_BYTES: usize = 8192;
pub const MAX_DESCRIPTION_CHARS: usize = 1500;

pub struct Spooled {
    /// Removed when dropped, unless the store adopted it first (a hard link on local storage).
    pub file: tempfile::TempPath,
    pub size: u64,
    pub sha256: String,
    head: Vec<u8>,
}

/// Streams `body` into a temp file under `dir`, refusing it as soon as it passes `limit` bytes.
/// On any error the temp file is removed.
pub async fn spool<S, E>(mut body: S, limit: u64, dir: &Path) -> Result<Spooled>
where
    S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    tokio::fs::create_dir_all(dir).await?;
    let file = tempfile::Builder::new().prefix("upload-").tempfile_in(dir)?;
    let mut writer =
        tokio::io::BufWriter::with_capacity(256 * 1024, tokio::fs::File::from_std(file.reopen()?));
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| Error::bad_request(format!("the upload was interrupted: {e}")))?;
        size += chunk.len() as u64;
        if size > limit {
            return Err(Error::new(
                Kind::PayloadTooLarge,
                "file_too_large",
                format!("the file is larger than this instance's limit of {limit} bytes"),
            ));
        }
        if head.len() < SNIFF_BYTES {
            let take = (SNIFF_BYTES - head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..take]);
        }
        hasher.update(&chunk);
        writer.write_all(&chunk).await?;
    }
    writer.flush().await?;
    writer.into_inner().sync_all().await?;
    Ok(Spooled {
        file: file.into_temp_path(),
        size,
        sha256: hex::encode(hasher.finalize()),
        head,
    })
}

impl Spooled {
    /// A file already on disk (a finished resumable upload), hashed here; removed when dropped.
    pub async fn from_path(path: std::path::PathBuf) -> Result<Spooled> {
        let file = tempfile::TempPath::try_from_path(path)?;
        let reading = file.to_path_buf();
        tokio::task::spawn_blocking(move || -> Result<Spooled> {
            use std::io::Read;
            let mut input = std::fs::File::open(&reading)?;
            let mut hasher = Sha256::new();
            let mut head = Vec::with_capacity(SNIFF_BYTES);
            let mut buffer = vec![0u8; 256 * 1024];
            let mut size = 0u64;
            loop {
                let n = input.read(&mut buffer)?;
                if n == 0 {
                    break;
                }
                if head.len() < SNIFF_BYTES {
                    head.extend_from_slice(&buffer[..n.min(SNIFF_BYTES - head.len())]);
                }
                hasher.update(&buffer[..n]);
                size += n as u64;
            }
            Ok(Spooled {
                file,
                size,
                sha256: hex::encode(hasher.finalize()),
                head,
            })
        })
        .await
        .map_err(|e| Error::internal("hashing task failed").with_source(e))?
    }
}

pub fn check_description(description: Option<String>) -> Result<Option<String>> {
    match description {
        Some(d) if d.chars().count() > MAX_DESCRIPTION_CHARS => Err(Error::unprocessable(format!(
            "the description is longer than {MAX_DESCRIPTION_CHARS} characters"
        ))),
        Some(d) if d.trim().is_empty() => Ok(None),
        other => Ok(other),
    }
}

/// Refuses, before anything is stored, an image that is too large in bytes or pixels, damaged
/// at its header, or in a format the photo pipeline does not read (HEIC, AVIF for now).
async fn check_image(upload: &Spooled, limits: &LimitsConfig, shown_name: &str) -> Result<()> {
    if upload.size > limits.max_image_bytes {
        return Err(Error::new(
            Kind::PayloadTooLarge,
            "file_too_large",
            format!(
                "{shown_name} is larger than this instance's image limit of {} bytes",
                limits.max_image_bytes
            ),
        ));
    }
    let path = upload.file.to_path_buf();
    let max_pixels = limits.max_image_pixels;
    let probed = tokio::task::spawn_blocking(move || -> Result<()> {
        let data = std::fs::read(path)?;
        photo::probe(&data, max_pixels).map(|_| ()).map_err(photo_error)
    })
    .await
    .map_err(|e| Error::internal("probe task failed").with_source(e))?;
    probed.map_err(|e| Error::new(e.kind, e.code, format!("{shown_name}: {}", e.message)))
}

/// How a photo pipeline verdict reads in the API.
pub fn photo_error(e: PhotoError) -> Error {
    match e {
        PhotoError::Unsupported(m) => Error::new(Kind::UnsupportedMediaType, "unsupported_media_type", m),
        e @ PhotoError::TooManyPixels { .. } => {
            Error::new(Kind::Unprocessable, "too_many_pixels", e.to_string())
        }
        e @ PhotoError::Broken(_) => Error::new(Kind::Unprocessable, "broken_image", e.to_string()),
    }
}

/// Stores a spooled upload and records it as `queued` with its processing job.
pub async fn accept(
    state: &AppState,
    account_id: &str,
    upload: Spooled,
    description: Option<String>,
    file_name: Option<&str>,
) -> Result<Media> {
    let (db, store, queue, limits) = (
        &state.db,
        state.store.as_ref(),
        &state.queue,
        &state.config.limits,
    );
    let shown_name = file_name.unwrap_or("the file");
    if upload.size == 0 {
        return Err(Error::unprocessable(format!("{shown_name} is empty")));
    }
    super::quota::check(state, account_id, upload.size).await?;
    let detected = infer::get(&upload.head).map(|t| t.mime_type());
    let accepted = detected.and_then(accepted_type).ok_or_else(|| {
        Error::new(
            Kind::UnsupportedMediaType,
            "unsupported_media_type",
            format!(
                "{shown_name} is not an image or video Kaleido accepts (its content looks like {})",
                detected.unwrap_or("unknown data")
            ),
        )
    })?;
    let description = check_description(description)?;
    if matches!(accepted.mime, "image/heif" | "image/avif") {
        return Err(Error::new(
            Kind::UnsupportedMediaType,
            "unsupported_media_type",
            format!("{shown_name}: HEIC and AVIF photos are not supported yet; export the photo as JPEG"),
        ));
    }
    if accepted.kind == MediaKind::Image {
        check_image(&upload, limits, shown_name).await?;
    }
    let id = uuid::Uuid::now_v7().to_string();
    // Originals stay private (they still carry their metadata); only processed files are public.
    let key = Key::parse(&format!("originals/{id}.{}", accepted.extension))?;
    store.put_path(&key, &upload.file, accepted.mime).await?;
    let now = db::now_ms();
    let media = Media {
        id: id.clone(),
        account_id: account_id.to_owned(),
        kind: accepted.kind,
        content_type: accepted.mime.to_owned(),
        state: MediaState::Queued,
        progress: 0,
        error: None,
        original_key: key.as_str().to_owned(),
        size_bytes: i64::try_from(upload.size).map_err(|_| Error::internal("size overflow"))?,
        sha256: upload.sha256.clone(),
        description,
        created_at: now,
        width: None,
        height: None,
        blurhash: None,
        focus: None,
        variants: Vec::new(),
        remote: None,
    };
    let kind = match accepted.kind {
        MediaKind::Image => PROCESS_MEDIA,
        MediaKind::Video => TRANSCODE_VIDEO,
    };
    let job = queue.prepare(kind, &super::process::Payload { media_id: id })?;
    if let Err(e) = db::media::insert_with_job(db, &media, &job).await {
        // Nothing half-done stays behind: the object goes with the failed record.
        if let Err(cleanup) = store.delete(&key).await {
            tracing::warn!(error = %cleanup, key = %key, "cannot remove an orphaned upload");
        }
        return Err(e);
    }
    queue.wake();
    Ok(media)
}
