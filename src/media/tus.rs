//! Resumable uploads with the tus 1.0 protocol (core, creation, termination, checksum), so
//! standard clients (tus-js-client, Uppy) can send files of any size over flaky connections.
//!
//! The offset is kept in the database and every received chunk in the object store
//! (`uploads/{id}/{offset}-{attempt}`), so any `serve` node can take the next request of an
//! upload. A finished upload is streamed back from its chunks into the usual intake of
//! `POST /api/v2/media`.

use std::collections::{BTreeMap, HashSet};

use base64::Engine;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use sha1::Digest;
use tokio::io::AsyncWriteExt;

use super::ingest::{self, Spooled};
use crate::{
    db::{self, tus::TusUpload},
    domain::media::Media,
    error::{Error, Kind, Result},
    state::AppState,
    storage::{Key, ObjectMeta},
};

pub const VERSION: &str = "1.0.0";
pub const EXTENSIONS: &str = "creation,termination,checksum";
pub const CHECKSUMS: &str = "sha1,sha256";
/// Unfinished uploads are kept this long.
const LIFETIME_MS: i64 = 24 * 3600 * 1000;

/// Chunk keys sort by offset (zero-padded), so listing them gives the file in order. Every PATCH
/// writes under a key of its own (`{offset}-{attempt}`): a retried request at the same offset
/// must not overwrite the bytes of the one whose offset update won, only its own.
fn chunk_key(id: &str, offset: i64, attempt: &str) -> Result<Key> {
    Key::parse(&format!("uploads/{id}/{offset:020}-{attempt}"))
}

/// Where a stored chunk starts: the zero-padded offset before the attempt (keys written before
/// attempts had their own are the bare offset).
fn chunk_start(key: &Key) -> Option<u64> {
    let name = key.as_str().rsplit('/').next()?;
    name.split('-').next()?.parse().ok()
}

fn chunk_prefix(id: &str) -> String {
    format!("uploads/{id}/")
}

/// `Upload-Metadata`: comma-separated `key base64value` pairs.
pub fn parse_metadata(header: Option<&str>) -> Vec<(String, String)> {
    header
        .unwrap_or_default()
        .split(',')
        .filter_map(|pair| {
            let mut parts = pair.trim().splitn(2, ' ');
            let key = parts.next()?.trim();
            if key.is_empty() {
                return None;
            }
            let value = parts
                .next()
                .and_then(|v| base64::engine::general_purpose::STANDARD.decode(v.trim()).ok())
                .and_then(|v| String::from_utf8(v).ok())
                .unwrap_or_default();
            Some((key.to_owned(), value))
        })
        .collect()
}

pub async fn create(
    state: &AppState,
    account_id: &str,
    length: u64,
    metadata: &[(String, String)],
) -> Result<TusUpload> {
    let limit = state.config.limits.max_upload_bytes;
    if length > limit {
        return Err(Error::new(
            Kind::PayloadTooLarge,
            "file_too_large",
            format!("the file is larger than this instance's limit of {limit} bytes"),
        ));
    }
    super::quota::check(state, account_id, length).await?;
    let find = |key: &str| metadata.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let upload = TusUpload {
        id: uuid::Uuid::now_v7().simple().to_string(),
        account_id: account_id.to_owned(),
        length: i64::try_from(length).map_err(|_| Error::bad_request("Upload-Length too large"))?,
        offset: 0,
        file_name: find("filename").or_else(|| find("name")),
        description: ingest::check_description(find("description"))?,
        media_id: None,
        expires_at: db::now_ms() + LIFETIME_MS,
    };
    db::tus::insert(&state.db, &upload).await?;
    Ok(upload)
}

/// The upload, if it exists, has not expired and belongs to `account_id`.
pub async fn find(state: &AppState, id: &str, account_id: &str) -> Result<TusUpload> {
    db::tus::get(&state.db, id)
        .await?
        .filter(|u| u.account_id == account_id && u.expires_at > db::now_ms())
        .ok_or_else(|| Error::not_found("upload"))
}

pub struct Checksum {
    algorithm: String,
    expected: Vec<u8>,
}

/// `Upload-Checksum: sha1 BASE64`.
pub fn parse_checksum(header: &str) -> Result<Checksum> {
    let (algorithm, value) = header
        .trim()
        .split_once(' ')
        .ok_or_else(|| Error::bad_request("Upload-Checksum must be \"ALGORITHM BASE64\""))?;
    if !CHECKSUMS.split(',').any(|a| a == algorithm) {
        return Err(Error::bad_request(format!(
            "unsupported checksum algorithm {algorithm}; use sha1 or sha256"
        )));
    }
    let expected = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .map_err(|_| Error::bad_request("Upload-Checksum is not base64"))?;
    Ok(Checksum {
        algorithm: algorithm.to_owned(),
        expected,
    })
}

pub enum Appended {
    /// More to come; the new offset.
    Partial(i64),
    /// The last byte arrived: the upload is now this media.
    Complete(i64, Box<Media>),
}

/// Appends a PATCH body at `offset`. Bytes that arrived before a dropped connection are kept
/// (unless a checksum was sent, which only a whole chunk can satisfy).
pub async fn append<S, E>(
    state: &AppState,
    upload: &TusUpload,
    offset: i64,
    mut body: S,
    checksum: Option<Checksum>,
) -> Result<Appended>
where
    S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    if upload.media_id.is_some() {
        return Err(Error::new(
            Kind::Conflict,
            "upload_complete",
            "this upload is already complete",
        ));
    }
    if offset != upload.offset {
        return Err(Error::new(
            Kind::Conflict,
            "offset_mismatch",
            format!("Upload-Offset is {offset} but the upload is at {}", upload.offset),
        ));
    }
    // The chunk is spooled locally first, then stored whole as one object.
    tokio::fs::create_dir_all(&state.config.storage.tmp_path).await?;
    let spool = tempfile::Builder::new()
        .prefix("tus-")
        .tempfile_in(&state.config.storage.tmp_path)?;
    let mut file = tokio::fs::File::from_std(spool.reopen()?);
    let mut sha1 = sha1::Sha1::new();
    let mut sha256 = sha2::Sha256::new();
    let mut written: i64 = 0;
    let mut broken = None;
    while let Some(chunk) = body.next().await {
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => {
                broken = Some(e.to_string());
                break;
            }
        };
        if offset + written + chunk.len() as i64 > upload.length {
            return Err(Error::new(
                Kind::PayloadTooLarge,
                "upload_too_long",
                "the body goes past Upload-Length",
            ));
        }
        if checksum.is_some() {
            sha1.update(&chunk);
            sha2::Digest::update(&mut sha256, &chunk);
        }
        file.write_all(&chunk).await?;
        written += chunk.len() as i64;
    }
    file.flush().await?;
    if let Some(check) = checksum {
        let actual = match check.algorithm.as_str() {
            "sha1" => sha1.finalize().to_vec(),
            _ => sha2::Digest::finalize(sha256).to_vec(),
        };
        if broken.is_some() || actual != check.expected {
            return Err(Error::new(
                Kind::ChecksumMismatch,
                "checksum_mismatch",
                "the chunk does not match Upload-Checksum",
            ));
        }
    }
    let stored = if written > 0 {
        let key = chunk_key(&upload.id, offset, &uuid::Uuid::new_v4().simple().to_string())?;
        state
            .store
            .put_path(&key, spool.path(), "application/octet-stream")
            .await?;
        Some(key)
    } else {
        None
    };
    let new_offset = offset + written;
    if !db::tus::advance(&state.db, &upload.id, offset, new_offset).await? {
        // Another request at this offset won: its chunk is the upload's, this one is nobody's.
        if let Some(key) = stored
            && let Err(e) = state.store.delete(&key).await
        {
            // Left behind, it is skipped by `assemble` and removed with the upload.
            tracing::warn!(error = %e, key = %key, "cannot remove a losing tus chunk");
        }
        return Err(Error::new(
            Kind::Conflict,
            "offset_mismatch",
            "another request moved this upload meanwhile",
        ));
    }
    if let Some(reason) = broken {
        return Err(Error::bad_request(format!(
            "the upload was interrupted at {new_offset}: {reason}"
        )));
    }
    if new_offset < upload.length {
        return Ok(Appended::Partial(new_offset));
    }
    let spooled = assemble(state, &upload.id, upload.length).await?;
    let accepted = ingest::accept(
        state,
        &upload.account_id,
        spooled,
        upload.description.clone(),
        upload.file_name.as_deref(),
    )
    .await;
    let media = match accepted {
        Ok(media) => media,
        Err(e) => {
            // Refused (type, size, damage): the bytes are gone with the spool; so is the upload.
            db::tus::delete(&state.db, &upload.id).await?;
            return Err(e);
        }
    };
    db::tus::set_media(&state.db, &upload.id, &media.id).await?;
    Ok(Appended::Complete(new_offset, Box::new(media)))
}

/// The chunks that make the file: from 0, at each offset a chunk starting there, up to `length`.
/// Normally there is one chunk per offset; a process killed between storing a chunk and moving
/// the offset (or a losing chunk whose removal failed) leaves a second one. Every chunk starts at
/// an offset some winner moved from, so an extra one leads on to `length` only when it ends
/// where that winner ended: a retry of the same range, as good as the winner's.
fn chain(chunks: &[ObjectMeta], length: u64) -> Option<Vec<&ObjectMeta>> {
    let mut starts: BTreeMap<u64, Vec<&ObjectMeta>> = BTreeMap::new();
    for chunk in chunks {
        if let Some(start) = chunk_start(&chunk.key)
            && chunk.size > 0
            && start.checked_add(chunk.size).is_some_and(|end| end <= length)
        {
            starts.entry(start).or_default().push(chunk);
        }
    }
    // From the end backwards (a chunk ends after it starts), the offsets from which some chain
    // reaches `length`; iterative, as an upload may have a hundred thousand chunks.
    let mut reaches: HashSet<u64> = HashSet::from([length]);
    for (start, here) in starts.iter().rev() {
        if here.iter().any(|c| reaches.contains(&(start + c.size))) {
            reaches.insert(*start);
        }
    }
    let mut pieces = Vec::new();
    let mut at = 0;
    while at < length {
        let next = starts
            .get(&at)?
            .iter()
            .find(|c| reaches.contains(&(at + c.size)))?;
        pieces.push(*next);
        at += next.size;
    }
    Some(pieces)
}

/// Streams the chunks, in order, into one spooled file, and removes them from the store.
async fn assemble(state: &AppState, id: &str, length: i64) -> Result<Spooled> {
    let chunks = state.store.list(&chunk_prefix(id)).await?;
    let pieces = chain(&chunks, u64::try_from(length).unwrap_or(0)).ok_or_else(|| {
        Error::new(
            Kind::Conflict,
            "upload_inconsistent",
            "the upload's pieces do not line up; start the upload again",
        )
    })?;
    let spool = tempfile::Builder::new()
        .prefix("tus-")
        .tempfile_in(&state.config.storage.tmp_path)?;
    let mut file = tokio::fs::File::from_std(spool.reopen()?);
    for chunk in pieces {
        let mut object = state.store.get(&chunk.key, None).await?;
        while let Some(bytes) = object.body.next().await {
            file.write_all(&bytes?).await?;
        }
    }
    file.flush().await?;
    file.sync_all().await?;
    for chunk in &chunks {
        state.store.delete(&chunk.key).await?;
    }
    Spooled::from_path(
        spool
            .into_temp_path()
            .keep()
            .map_err(|e| Error::internal("cannot keep the upload").with_source(e.error))?,
    )
    .await
}

pub async fn terminate(state: &AppState, upload: &TusUpload) -> Result<()> {
    for chunk in state.store.list(&chunk_prefix(&upload.id)).await? {
        state.store.delete(&chunk.key).await?;
    }
    db::tus::delete(&state.db, &upload.id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn piece(name: &str, size: u64) -> ObjectMeta {
        ObjectMeta {
            key: Key::parse(&format!("uploads/u/{name}")).expect("key"),
            size,
            etag: String::new(),
            modified: None,
        }
    }

    fn starts(pieces: Option<Vec<&ObjectMeta>>) -> Option<Vec<String>> {
        pieces.map(|p| p.iter().map(|c| c.key.as_str().to_owned()).collect())
    }

    #[test]
    fn leftover_chunks_at_an_offset_are_skipped() {
        let chunks = [
            piece("00000000000000000000-a", 100),
            // Cut off and never counted: a crash before its offset moved.
            piece("00000000000000000000-b", 40),
            piece("00000000000000000100-c", 50),
            piece("00000000000000000100-d", 60),
        ];
        assert_eq!(
            starts(chain(&chunks, 150)),
            Some(vec![
                "uploads/u/00000000000000000000-a".to_owned(),
                "uploads/u/00000000000000000100-c".to_owned()
            ])
        );
        assert_eq!(starts(chain(&chunks, 170)), None);
        // Keys from before attempts had their own name still line up.
        let old = [
            piece("00000000000000000000", 10),
            piece("00000000000000000010", 5),
        ];
        assert_eq!(chain(&old, 15).map(|p| p.len()), Some(2));
    }
}
