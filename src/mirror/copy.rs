//! Copying a remote video: its master playlist, every rendition playlist and file, and its
//! hash list, fetched through the guarded client; every segment checked against the hash list
//! before anything is stored; then the copy is announced to the origin.

use serde::{Deserialize, Serialize};
use url::Url;

use super::{
    HashList, MAX_PLAYLIST_BYTES, plain_name, refused, uris,
    verify::{RangeCheck, feed_file, verify_file},
};
use crate::{
    config::StrategyKind,
    db,
    error::{Error, Result},
    federation::{parse, resolve},
    jobs::{JobError, JobHandler, JobRun},
    state::AppState,
    storage::Key,
};

pub const COPY: &str = "mirror.copy";

#[derive(Serialize, Deserialize)]
pub struct CopyPayload {
    pub status_id: String,
    /// The strategy the copy is made for; a re-copy of a rotten copy keeps its own.
    #[serde(default)]
    pub strategy: Option<String>,
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

/// The video of a remote status: its id, the status's ActivityPub id and its HLS master URL.
async fn video_of(state: &AppState, status_id: &str) -> Result<Option<Video>> {
    let Some(status) = db::statuses::get(&state.db, status_id).await? else {
        return Ok(None);
    };
    let Some(video_uri) = status.uri.clone() else {
        return Ok(None);
    };
    let media = db::statuses::media_of(&state.db, &[status.id.as_str()]).await?;
    let Some(remote) = media.get(&status.id).and_then(|m| {
        m.iter()
            .find_map(|m| m.remote.as_ref().filter(|r| r.hls_url.is_some()))
    }) else {
        return Ok(None);
    };
    Ok(Some(Video {
        hls: remote.hls_url.clone().unwrap_or_default(),
        poster: remote.preview_url.clone(),
        status,
        uri: video_uri,
    }))
}

struct Video {
    status: crate::domain::status::Status,
    uri: String,
    hls: String,
    poster: Option<String>,
}

/// Queues a copy of the video of `status_id` for `strategy`, unless one is held or being made
/// (two planners racing queue it once).
pub async fn queue(state: &AppState, status_id: &str, strategy: StrategyKind) -> Result<bool> {
    let Some(video) = video_of(state, status_id).await? else {
        return Ok(false);
    };
    let status = &video.status;
    if !db::mirrors::claim(&state.db, &status.id, &video.uri, &video.hls, strategy.as_str()).await? {
        return Ok(false);
    }
    let job = state.queue.prepare(
        COPY,
        &CopyPayload {
            status_id: status.id.clone(),
            strategy: Some(strategy.as_str().to_owned()),
        },
    )?;
    db::jobs::enqueue(&state.db.pool, &job).await?;
    state.queue.wake();
    Ok(true)
}

/// Makes (or remakes) our copy of the video of `status_id`. Returns the copy's master key and
/// its size.
pub async fn copy(
    state: &AppState,
    status_id: &str,
    strategy: Option<&str>,
) -> Result<Option<(String, i64)>> {
    let Some(video) = video_of(state, status_id).await? else {
        return Ok(None);
    };
    let status = &video.status;
    let existing = db::mirrors::for_status(&state.db, &status.id).await?;
    if existing.as_ref().is_some_and(|m| m.state == "dropped") {
        // Let go while the job waited: copying it now would undo that decision.
        return Ok(None);
    }
    let strategy = strategy
        .map(str::to_owned)
        .or_else(|| existing.map(|m| m.strategy))
        .unwrap_or_else(|| StrategyKind::All.as_str().to_owned());
    let mirror = db::mirrors::start_mirror(&state.db, &status.id, &video.uri, &video.hls, &strategy).await?;
    let host = Url::parse(&video.hls)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    // Held for the whole copy: no origin serves more than its share of our copies at once.
    let _slot = state.mirror_limits.slot(&host).await;
    let result = copy_into(state, &mirror.id, &video).await;
    match &result {
        Ok(copied) => {
            db::mirrors::mirror_done(&state.db, &mirror.id, &copied.master_key, copied.size).await?;
            db::mirrors::set_poster(&state.db, &mirror.id, copied.poster_key.as_deref()).await?;
            super::announce::announce(state, &mirror.id).await?;
            // Weighs the new copy against its strategy's quota and starts the next one.
            super::strategy::run(state).await?;
        }
        Err(e) => {
            db::mirrors::mirror_failed(&state.db, &mirror.id, &e.message).await?;
            db::mirrors::count(&state.db, "mirror_copy_failures_total", 1).await?;
        }
    }
    result.map(|c| Some((c.master_key, c.size)))
}

struct Copied {
    master_key: String,
    size: i64,
    poster_key: Option<String>,
}

/// Fetches one file of the copy into the work folder, picking up where an earlier attempt
/// stopped, and checks it. A file already complete and sound is not fetched again.
async fn fetch_checked(
    state: &AppState,
    url: &Url,
    path: &std::path::Path,
    name: &str,
    hashes: &HashList,
) -> Result<u64> {
    let check = |path: std::path::PathBuf| {
        let (name, list) = (name.to_owned(), hashes.clone());
        async move {
            tokio::task::spawn_blocking(move || verify_file(&path, &name, &list))
                .await
                .map_err(|e| Error::internal("verification task failed").with_source(e))?
        }
    };
    if tokio::fs::try_exists(path).await? {
        if check(path.to_owned()).await.is_ok() {
            return Ok(tokio::fs::metadata(path).await?.len());
        }
        tokio::fs::remove_file(path).await?;
    }
    let part = path.with_extension("part");
    // Cut off after its last byte came in (while paced, say): complete already.
    if tokio::fs::try_exists(&part).await? && check(part.clone()).await.is_ok() {
        tokio::fs::rename(&part, path).await?;
        return Ok(tokio::fs::metadata(path).await?.len());
    }
    // What an earlier attempt left is checked first; the rest is checked as it arrives.
    let checker = {
        let (part, name, list) = (part.clone(), name.to_owned(), hashes.clone());
        tokio::task::spawn_blocking(move || {
            let mut check = RangeCheck::new(&name, &list)?;
            if part.exists() {
                feed_file(&mut check, &part)?;
            }
            Ok::<_, Error>(check)
        })
        .await
        .map_err(|e| Error::internal("verification task failed").with_source(e))?
    };
    let mut checker = match checker {
        Ok(check) => check,
        Err(e) => {
            // Bad bytes from before: start this file over.
            tokio::fs::remove_file(&part).await.ok();
            RangeCheck::new(name, hashes).map_err(|_| e)?
        }
    };
    let host = url.host_str().unwrap_or_default().to_owned();
    let limits = state.mirror_limits.clone();
    let downloaded = state
        .http
        .download_resuming(
            url.as_str(),
            &part,
            state.config.limits.max_upload_bytes,
            |offset, chunk| {
                let checked = checker.feed_at(offset, chunk);
                let (limits, host, n) = (limits.clone(), host.clone(), chunk.len());
                async move {
                    checked?;
                    limits.pace(&host, n).await;
                    Ok(())
                }
            },
        )
        .await;
    let (size, fetched) = match downloaded.and_then(|d| checker.finish().map(|()| d)) {
        Ok(done) => done,
        Err(e) => {
            // Nothing unverified is ever stored, let alone served: a file that failed its
            // check is thrown away whole (resuming it could only keep the bad bytes). One cut
            // off by the network is kept, to be resumed.
            if e.kind == crate::error::Kind::Unprocessable {
                tokio::fs::remove_file(&part).await.ok();
            }
            return Err(e);
        }
    };
    db::mirrors::count(
        &state.db,
        "mirror_bytes_copied_total",
        i64::try_from(fetched).unwrap_or(i64::MAX),
    )
    .await?;
    tokio::fs::rename(&part, path).await?;
    Ok(size)
}

async fn copy_into(state: &AppState, mirror_id: &str, source: &Video) -> Result<Copied> {
    let hls = source.hls.as_str();
    resolve::ensure_allowed(state, hls).await?;
    let signer = resolve::instance_signer(state).await?;
    // Read afresh from the origin: the hash list it names now is the one to check against.
    let (_, video) = state.http.get_json(&source.uri, Some(&signer)).await?;
    let hashes_url = hash_list_url(&video).ok_or_else(|| refused("the video lists no segment hash list"))?;
    let hash_bytes = state.http.get_bytes(&hashes_url, MAX_PLAYLIST_BYTES).await?;
    let hashes: HashList =
        serde_json::from_slice(&hash_bytes).map_err(|_| refused("the segment hash list is not readable"))?;
    let master_url = Url::parse(hls).map_err(|_| refused("unreadable playlist URL"))?;
    let master = String::from_utf8(state.http.get_bytes(hls, MAX_PLAYLIST_BYTES).await?)
        .map_err(|_| refused("the master playlist is not text"))?;
    let master_name = relative_name(&master_url, &master_url)?;

    // A fixed folder per copy, kept across attempts and restarts: what is already fetched and
    // sound is not asked of the origin again.
    let work = state.config.storage.tmp_path.join("mirrors").join(mirror_id);
    tokio::fs::create_dir_all(&work).await?;
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
        let path = work.join(&variant_name);
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
            let path = work.join(&name);
            if let Some(parent) = path.parent() {
                tokio::fs::create_dir_all(parent).await?;
            }
            size += fetch_checked(state, &file_url, &path, &name, &hashes).await? as i64;
            files.push((name, path, "video/mp4"));
        }
    }
    let poster_key = match &source.poster {
        Some(url) => copy_poster(state, mirror_id, url, &work).await,
        None => None,
    };
    let master_path = work.join(&master_name);
    tokio::fs::write(&master_path, master.as_bytes()).await?;
    let hashes_path = work.join("segments-sha256.json");
    tokio::fs::write(&hashes_path, &hash_bytes).await?;
    files.push(("segments-sha256.json".into(), hashes_path, "application/json"));
    // The master goes last: a copy without its master is never listed.
    files.push((master_name.clone(), master_path, "application/vnd.apple.mpegurl"));
    for (name, path, mime) in &files {
        let key = Key::parse(&format!("mirrors/{mirror_id}/{name}"))?;
        state.store.put_path(&key, path, mime).await?;
    }
    tokio::fs::remove_dir_all(&work).await?;
    Ok(Copied {
        master_key: format!("mirrors/{mirror_id}/{master_name}"),
        size,
        poster_key,
    })
}

/// Copies the video's poster, so a page served from our copy shows it without the origin.
/// No hash covers it, so it is kept only when it is plainly an image of a sane size; a poster
/// that cannot be had does not fail the copy.
async fn copy_poster(state: &AppState, mirror_id: &str, url: &str, work: &std::path::Path) -> Option<String> {
    let cap = usize::try_from(state.config.limits.max_image_bytes).unwrap_or(usize::MAX);
    let stored = async {
        resolve::ensure_allowed(state, url).await?;
        let bytes = state.http.get_bytes(url, cap).await?;
        // Files are served with the type their name says.
        let (mime, name) = match bytes.as_slice() {
            [0xFF, 0xD8, 0xFF, ..] => ("image/jpeg", "poster.jpg"),
            [0x89, b'P', b'N', b'G', ..] => ("image/png", "poster.png"),
            [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => ("image/webp", "poster.webp"),
            _ => return Err(refused("the poster is not a JPEG, PNG or WebP image")),
        };
        let path = work.join(name);
        tokio::fs::write(&path, &bytes).await?;
        let key = Key::parse(&format!("mirrors/{mirror_id}/{name}"))?;
        state.store.put_path(&key, &path, mime).await?;
        Ok::<_, Error>(key.as_str().to_owned())
    };
    match stored.await {
        Ok(key) => Some(key),
        Err(e) => {
            tracing::info!(mirror = mirror_id, error = %e.message, "the poster is not copied");
            None
        }
    }
}

/// Lets a copy go: the row says why, the files are deleted, the origin is told. Nothing
/// happens when it was already gone (two planners may decide the same).
pub async fn drop_copy(state: &AppState, mirror_id: &str, reason: &str) -> Result<()> {
    let Some(mirror) = db::mirrors::mirror(&state.db, mirror_id).await? else {
        return Ok(());
    };
    if !db::mirrors::mark_dropped(&state.db, mirror_id, reason).await? {
        return Ok(());
    }
    for object in state.store.list(&format!("mirrors/{mirror_id}/")).await? {
        state.store.delete(&object.key).await?;
    }
    super::announce::withdraw(state, &mirror).await?;
    tracing::info!(
        mirror = mirror_id,
        bytes = mirror.size_bytes,
        reason,
        "a copy is dropped"
    );
    Ok(())
}

pub struct Copy {
    pub state: AppState,
}

#[async_trait::async_trait]
impl JobHandler for Copy {
    async fn run(&self, job: &JobRun) -> Result<(), JobError> {
        let payload: CopyPayload = job.payload()?;
        // A corrupt or unreachable origin may be fixed later: retried with backoff.
        copy(&self.state, &payload.status_id, payload.strategy.as_deref())
            .await
            .map_err(|e| JobError::retry(e.message))?;
        Ok(())
    }
}
