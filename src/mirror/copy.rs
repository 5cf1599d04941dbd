//! Copying a remote video: its master playlist, every rendition playlist and file, and its
//! hash list, fetched through the guarded client; every segment checked against the hash list
//! before anything is stored; then the copy is announced to the origin.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use url::Url;

use super::{HashList, MAX_PLAYLIST_BYTES, plain_name, range_of, uris};
use crate::{
    app::AppState,
    db,
    error::{Error, Result},
    federation::{parse, resolve},
    jobs::{JobError, JobHandler, JobRun},
    storage::Key,
};

pub const COPY: &str = "mirror.copy";

#[derive(Serialize, Deserialize)]
pub struct CopyPayload {
    pub status_id: String,
}

/// The segment hash list a Video object points at (PeerTube's `sha256` Link in the HLS tag).
pub fn hash_list_url(video: &serde_json::Value) -> Option<String> {
    parse::many(video.get("url")?)
        .into_iter()
        .filter(|l| parse::str_of(l, "mediaType") == Some("application/x-mpegURL"))
        .flat_map(|l| parse::many(l.get("tag").unwrap_or(&serde_json::Value::Null)))
        .find(|t| parse::str_of(t, "name") == Some("sha256"))
        .and_then(|t| parse::str_of(t, "href"))
        .map(str::to_owned)
}

fn refused(message: impl Into<String>) -> Error {
    Error::unprocessable(message)
}

/// The name of `target` relative to the master playlist's folder; copies keep the same layout.
fn relative_name(master: &Url, target: &Url) -> Result<String> {
    let folder = master.join(".").map_err(|_| refused("unreadable playlist URL"))?;
    let name = target
        .as_str()
        .strip_prefix(folder.as_str())
        .ok_or_else(|| refused(format!("{target} is outside the playlist's folder")))?;
    // Renditions may sit in folders of their own (`240p/index.m3u8`); every part is plain.
    let parts: Vec<&str> = name.split('/').collect();
    if parts.len() > 3 || !parts.iter().all(|p| plain_name(p)) {
        return Err(refused(format!("{name:?} is not a file name a copy can keep")));
    }
    Ok(name.to_owned())
}

/// Checks every listed range of a downloaded file against its hash.
pub fn verify_file(path: &std::path::Path, name: &str, hashes: &HashList) -> Result<()> {
    // The hash list names files without their folder, as PeerTube's does.
    let name = name.rsplit('/').next().unwrap_or(name);
    let expected = hashes
        .get(name)
        .ok_or_else(|| refused(format!("the hash list does not cover {name}")))?;
    // One segment in memory at a time: a rendition file may be gigabytes.
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path)?;
    let size = file.metadata()?.len();
    let mut buffer = Vec::new();
    for (range, hash) in expected {
        let (start, end) = range_of(range).ok_or_else(|| refused(format!("bad range {range:?}")))?;
        if end >= size {
            return Err(refused(format!("{name} is shorter than its hash list says")));
        }
        buffer.resize((end - start + 1) as usize, 0);
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut buffer)?;
        if hex::encode(Sha256::digest(&buffer)) != *hash {
            return Err(refused(format!(
                "segment {range} of {name} does not match its hash"
            )));
        }
    }
    Ok(())
}

/// Makes (or remakes) our copy of the video of `status_id`. Returns the copy's master key and
/// its size.
pub async fn copy(state: &AppState, status_id: &str) -> Result<Option<(String, i64)>> {
    let Some(status) = db::statuses::get(&state.db, status_id).await? else {
        return Ok(None);
    };
    let Some(video_uri) = status.uri.clone() else {
        return Ok(None);
    };
    let media = db::statuses::media_of(&state.db, &[status.id.as_str()]).await?;
    let Some(hls) = media.get(&status.id).and_then(|m| {
        m.iter()
            .find_map(|m| m.remote.as_ref().and_then(|r| r.hls_url.clone()))
    }) else {
        return Ok(None);
    };
    let mirror = db::mirrors::start_mirror(&state.db, &status.id, &video_uri, &hls).await?;
    let result = copy_into(state, &mirror.id, &video_uri, &hls).await;
    match &result {
        Ok((key, size)) => {
            db::mirrors::mirror_done(&state.db, &mirror.id, key, *size).await?;
            db::mirrors::count(&state.db, "mirror_bytes_copied_total", *size).await?;
            super::announce::announce(state, &mirror.id).await?;
            enforce_quota(state).await?;
        }
        Err(e) => {
            db::mirrors::mirror_failed(&state.db, &mirror.id, &e.message).await?;
            db::mirrors::count(&state.db, "mirror_copy_failures_total", 1).await?;
        }
    }
    result.map(Some)
}

async fn copy_into(state: &AppState, mirror_id: &str, video_uri: &str, hls: &str) -> Result<(String, i64)> {
    resolve::ensure_allowed(state, hls).await?;
    let signer = resolve::instance_signer(state).await?;
    let (_, video) = state.http.get_json(video_uri, Some(&signer)).await?;
    let hashes_url = hash_list_url(&video).ok_or_else(|| refused("the video lists no segment hash list"))?;
    let hash_bytes = state.http.get_bytes(&hashes_url, MAX_PLAYLIST_BYTES).await?;
    let hashes: HashList =
        serde_json::from_slice(&hash_bytes).map_err(|_| refused("the segment hash list is not readable"))?;
    let master_url = Url::parse(hls).map_err(|_| refused("unreadable playlist URL"))?;
    let master = String::from_utf8(state.http.get_bytes(hls, MAX_PLAYLIST_BYTES).await?)
        .map_err(|_| refused("the master playlist is not text"))?;
    let master_name = relative_name(&master_url, &master_url)?;

    tokio::fs::create_dir_all(&state.config.storage.tmp_path).await?;
    let work = tempfile::tempdir_in(&state.config.storage.tmp_path)?;
    let mut files: Vec<(String, std::path::PathBuf, &'static str)> = Vec::new();
    let mut size = 0i64;
    for variant in uris(&master) {
        let variant_url = master_url
            .join(&variant)
            .map_err(|_| refused("unreadable variant URI"))?;
        let variant_name = relative_name(&master_url, &variant_url)?;
        let playlist = state
            .http
            .get_bytes(variant_url.as_str(), MAX_PLAYLIST_BYTES)
            .await?;
        let text = String::from_utf8(playlist.clone()).map_err(|_| refused("a playlist is not text"))?;
        let path = work.path().join(&variant_name);
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        tokio::fs::write(&path, &playlist).await?;
        files.push((variant_name, path, "application/vnd.apple.mpegurl"));
        for file in uris(&text) {
            let file_url = variant_url
                .join(&file)
                .map_err(|_| refused("unreadable segment URI"))?;
            let name = relative_name(&master_url, &file_url)?;
            if files.iter().any(|(n, _, _)| *n == name) {
                continue;
            }
            let path = work.path().join(&name);
            if let Some(parent) = path.parent() {
                tokio::fs::create_dir_all(parent).await?;
            }
            size += state
                .http
                .download(file_url.as_str(), &path, state.config.limits.max_upload_bytes)
                .await? as i64;
            // Nothing unverified is ever stored, let alone served.
            let (check_path, check_name, list) = (path.clone(), name.clone(), hashes.clone());
            tokio::task::spawn_blocking(move || verify_file(&check_path, &check_name, &list))
                .await
                .map_err(|e| Error::internal("verification task failed").with_source(e))??;
            files.push((name, path, "video/mp4"));
        }
    }
    let master_path = work.path().join(&master_name);
    tokio::fs::write(&master_path, master.as_bytes()).await?;
    let hashes_path = work.path().join("segments-sha256.json");
    tokio::fs::write(&hashes_path, &hash_bytes).await?;
    files.push(("segments-sha256.json".into(), hashes_path, "application/json"));
    // The master goes last: a copy without its master is never listed.
    files.push((master_name.clone(), master_path, "application/vnd.apple.mpegurl"));
    for (name, path, mime) in &files {
        let key = Key::parse(&format!("mirrors/{mirror_id}/{name}"))?;
        state.store.put_path(&key, path, mime).await?;
    }
    Ok((format!("mirrors/{mirror_id}/{master_name}"), size))
}

/// Reads a stored copy back and checks every segment against its hash list. A rotten copy is
/// withdrawn from use at once and copied again. Returns whether the copy was sound.
pub async fn reverify(state: &AppState, mirror_id: &str) -> Result<bool> {
    let Some(mirror) = db::mirrors::mirror(&state.db, mirror_id).await? else {
        return Ok(true);
    };
    if mirror.state != "verified" {
        return Ok(true);
    }
    let prefix = format!("mirrors/{mirror_id}/");
    let hashes: HashList = serde_json::from_slice(
        &crate::storage::read_small(
            &state.store,
            &Key::parse(&format!("{prefix}segments-sha256.json"))?,
            MAX_PLAYLIST_BYTES,
        )
        .await?,
    )
    .map_err(|_| refused("the stored hash list is unreadable"))?;
    let mut problem = None;
    'files: for object in state.store.list(&prefix).await? {
        let name = object
            .key
            .as_str()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        let Some(ranges) = hashes.get(&name) else {
            continue;
        };
        for (range, hash) in ranges {
            let Some((start, end)) = range_of(range) else {
                problem = Some(format!("bad range {range:?}"));
                break 'files;
            };
            if end >= object.size {
                problem = Some(format!("{name} is shorter than its hash list says"));
                break 'files;
            }
            let mut part = state
                .store
                .get(&object.key, Some(crate::storage::ByteRange { start, end }))
                .await?;
            let mut digest = Sha256::new();
            while let Some(chunk) = futures_util::StreamExt::next(&mut part.body).await {
                digest.update(chunk?);
            }
            if hex::encode(digest.finalize()) != *hash {
                problem = Some(format!("segment {range} of {name} no longer matches its hash"));
                break 'files;
            }
        }
    }
    match problem {
        None => {
            db::mirrors::mirror_done(
                &state.db,
                mirror_id,
                mirror.master_key.as_deref().unwrap_or_default(),
                mirror.size_bytes,
            )
            .await?;
            // Still sound: promised again for another lifetime.
            super::announce::renew(state, mirror_id).await?;
            Ok(true)
        }
        Some(problem) => {
            tracing::warn!(mirror = mirror_id, %problem, "a stored copy is rotten; copying it again");
            db::mirrors::mirror_failed(&state.db, mirror_id, &problem).await?;
            db::mirrors::count(&state.db, "mirror_verification_failures_total", 1).await?;
            let job = state.queue.prepare(
                COPY,
                &CopyPayload {
                    status_id: mirror.status_id.clone(),
                },
            )?;
            db::jobs::enqueue(&state.db.pool, &job).await?;
            state.queue.wake();
            Ok(false)
        }
    }
}

/// Keeps the copies within `mirroring.quota_bytes`: the oldest give way first (the newest
/// copy stays even when it alone is over, so a small quota still mirrors something). Each
/// dropped copy is deleted and withdrawn from its origin.
pub async fn enforce_quota(state: &AppState) -> Result<Vec<String>> {
    let quota = i64::try_from(state.config.mirroring.quota_bytes).unwrap_or(i64::MAX);
    let copies = db::mirrors::verified_oldest_first(&state.db).await?;
    let mut total: i64 = copies.iter().map(|m| m.size_bytes).sum();
    let mut dropped = Vec::new();
    for mirror in copies.iter().take(copies.len().saturating_sub(1)) {
        if total <= quota {
            break;
        }
        db::mirrors::mark_dropped(&state.db, &mirror.id, "over mirroring.quota_bytes").await?;
        for object in state.store.list(&format!("mirrors/{}/", mirror.id)).await? {
            state.store.delete(&object.key).await?;
        }
        super::announce::withdraw(state, mirror).await?;
        tracing::info!(mirror = %mirror.id, bytes = mirror.size_bytes, "a copy dropped for the quota");
        total -= mirror.size_bytes;
        dropped.push(mirror.id.clone());
    }
    Ok(dropped)
}

pub const VERIFY: &str = "mirror.verify";

#[derive(Serialize, Deserialize)]
pub struct VerifyPayload {
    pub mirror_id: String,
}

/// Queues a check of every copy not checked within `mirroring.reverify_interval_seconds`.
pub async fn schedule_checks(state: &AppState) -> Result<usize> {
    let interval = i64::try_from(
        state
            .config
            .mirroring
            .reverify_interval_seconds
            .saturating_mul(1000),
    )
    .unwrap_or(i64::MAX);
    let due = db::mirrors::due_for_check(&state.db, db::now_ms() - interval).await?;
    for mirror_id in &due {
        let job = state.queue.prepare(
            VERIFY,
            &VerifyPayload {
                mirror_id: mirror_id.clone(),
            },
        )?;
        db::jobs::enqueue(&state.db.pool, &job).await?;
    }
    state.queue.wake();
    Ok(due.len())
}

pub struct Verify {
    pub state: AppState,
}

#[async_trait::async_trait]
impl JobHandler for Verify {
    async fn run(&self, job: &JobRun) -> Result<(), JobError> {
        let payload: VerifyPayload = job.payload()?;
        reverify(&self.state, &payload.mirror_id).await?;
        Ok(())
    }
}

pub struct Copy {
    pub state: AppState,
}

#[async_trait::async_trait]
impl JobHandler for Copy {
    async fn run(&self, job: &JobRun) -> Result<(), JobError> {
        let payload: CopyPayload = job.payload()?;
        // A corrupt or unreachable origin may be fixed later: retried with backoff.
        copy(&self.state, &payload.status_id)
            .await
            .map_err(|e| JobError::retry(e.message))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_range_is_checked() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("240p.mp4");
        let data: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
        std::fs::write(&path, &data).expect("write");
        let hash = |range: std::ops::RangeInclusive<usize>| hex::encode(Sha256::digest(&data[range]));
        let mut list = HashList::new();
        list.insert(
            "240p.mp4".into(),
            [
                ("800-1799".to_owned(), hash(800..=1799)),
                ("1800-2999".to_owned(), hash(1800..=2999)),
            ]
            .into(),
        );
        assert!(verify_file(&path, "240p/240p.mp4", &list).is_ok());
        let mut rotten = data.clone();
        rotten[2500] ^= 1;
        std::fs::write(&path, &rotten).expect("write");
        assert!(verify_file(&path, "240p.mp4", &list).is_err());
        std::fs::write(&path, &data[..2000]).expect("write");
        assert!(verify_file(&path, "240p.mp4", &list).is_err(), "a short file");
        assert!(
            verify_file(&path, "other.mp4", &list).is_err(),
            "a file the list does not cover"
        );
    }
}
