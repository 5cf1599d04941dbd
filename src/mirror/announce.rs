//! Announcing copies: the mirror sends `Create{CacheFile}` (PeerTube's shape) to the video's
//! origin; the origin checks a sample of the copy against its own hash list before it lists it.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use url::Url;

use super::{HashList, MAX_PLAYLIST_BYTES, peers::instance_actor_id, refused, uris};
use crate::{
    config::AcceptFrom,
    db::{self, mirrors::Direction},
    domain::{
        account::{Account, RemoteActor},
        media::MediaKind,
        time::rfc3339,
    },
    error::{Error, Result},
    federation::{outbox, parse, resolve},
    state::AppState,
    storage::{self, Key},
};

/// How long a copy is promised for: two re-verification intervals (at least a day), so the
/// `Update` after each sound check comes well before the promise runs out.
fn lifetime_ms(state: &AppState) -> i64 {
    let interval = i64::try_from(state.config.mirroring.reverify_interval_seconds).unwrap_or(i64::MAX / 4000);
    interval.saturating_mul(2000).max(24 * 3600 * 1000)
}

/// The longest promise an origin takes from a mirror, whatever it says.
const MAX_PROMISE_MS: i64 = 30 * 24 * 3600 * 1000;

/// Tells the origin of a verified copy that we hold it: `Create` the first time, `Update`
/// (a later expiry) after each successful re-verification.
pub async fn announce(state: &AppState, mirror_id: &str) -> Result<()> {
    announce_as(state, mirror_id, "Create").await
}

pub async fn renew(state: &AppState, mirror_id: &str) -> Result<()> {
    announce_as(state, mirror_id, "Update").await
}

async fn announce_as(state: &AppState, mirror_id: &str, kind: &str) -> Result<()> {
    let Some(mirror) = db::mirrors::mirror(&state.db, mirror_id).await? else {
        return Ok(());
    };
    let Some(master_key) = mirror.master_key.as_deref() else {
        return Ok(());
    };
    let Some(remote) = origin_of(state, &mirror).await? else {
        return Ok(());
    };
    let ours = instance_actor_id(state);
    let id = format!("{}/mirrors/{}", state.config.public_url(), mirror.id);
    let cache_file = cache_file(state, &mirror, master_key, &remote.uri);
    let activity_id = if kind == "Create" {
        format!("{id}/activity")
    } else {
        format!("{id}/updates/{}", db::now_ms())
    };
    let mut activity = crate::federation::objects::activity(
        kind,
        activity_id,
        &ours,
        cache_file,
        vec![remote.uri.clone()],
        vec![],
    );
    activity["@context"] = cache_file_context();
    outbox::send(state, None, &activity, vec![remote.delivery_inbox().to_owned()]).await?;
    Ok(())
}

/// The author of the copied video, on its origin server.
async fn origin_of(state: &AppState, mirror: &db::mirrors::Mirror) -> Result<Option<RemoteActor>> {
    let Some(status) = db::statuses::get(&state.db, &mirror.status_id).await? else {
        return Ok(None);
    };
    Ok(db::accounts::by_id(&state.db, &status.account_id)
        .await?
        .and_then(|author| author.remote))
}

/// The `CacheFile` describing a verified copy, as announced and as served at its id.
fn cache_file(state: &AppState, mirror: &db::mirrors::Mirror, master_key: &str, owner: &str) -> Value {
    json!({
        "id": format!("{}/mirrors/{}", state.config.public_url(), mirror.id),
        "type": "CacheFile",
        "attributedTo": instance_actor_id(state),
        "object": mirror.video_uri,
        "expires": rfc3339(mirror.verified_at.unwrap_or_else(db::now_ms) + lifetime_ms(state)),
        "url": {
            "type": "Link",
            "mediaType": "application/x-mpegURL",
            // The copy's folder, as PeerTube names its redundancy (players there append file
            // names to it); the master keeps the origin's file name inside it.
            "href": folder_of(&state.file_url(master_key)),
        },
        "to": [owner],
        "cc": [],
    })
}

fn folder_of(url: &str) -> String {
    url.rsplit_once('/').map_or(url, |(folder, _)| folder).to_owned()
}

/// The master playlist of an announced copy. PeerTube's `href` names the copy's folder, whose
/// files keep the origin's names; an `href` to a playlist is taken as the master itself.
fn copy_master(href: &str, our_master_key: &str) -> String {
    if href.ends_with(".m3u8") {
        return href.to_owned();
    }
    let name = our_master_key.rsplit('/').next().unwrap_or(our_master_key);
    format!("{}/{name}", href.trim_end_matches('/'))
}

/// A copy we hold, dereferenced at its id (None when it is not, or no longer, verified).
pub async fn served(state: &AppState, mirror_id: &str) -> Result<Option<Value>> {
    let Some(mirror) = db::mirrors::mirror(&state.db, mirror_id).await? else {
        return Ok(None);
    };
    let Some(master_key) = mirror.master_key.clone().filter(|_| mirror.state == "verified") else {
        return Ok(None);
    };
    let mut object = cache_file(
        state,
        &mirror,
        &master_key,
        "https://www.w3.org/ns/activitystreams#Public",
    );
    object["@context"] = cache_file_context();
    Ok(Some(object))
}

/// Tells the origin we no longer hold a copy (`Undo{CacheFile}`).
pub async fn withdraw(state: &AppState, mirror: &db::mirrors::Mirror) -> Result<()> {
    let Some(remote) = origin_of(state, mirror).await? else {
        return Ok(());
    };
    let ours = instance_actor_id(state);
    let id = format!("{}/mirrors/{}", state.config.public_url(), mirror.id);
    let cache_file = json!({ "id": id, "type": "CacheFile", "object": mirror.video_uri });
    let mut activity = crate::federation::objects::activity(
        "Undo",
        format!("{id}/undo"),
        &ours,
        cache_file,
        vec![remote.uri.clone()],
        vec![],
    );
    activity["@context"] = cache_file_context();
    outbox::send(state, None, &activity, vec![remote.delivery_inbox().to_owned()]).await?;
    Ok(())
}

fn cache_file_context() -> Value {
    json!([
        "https://www.w3.org/ns/activitystreams",
        "https://w3id.org/security/v1",
        {
            "pt": "https://joinpeertube.org/ns#",
            "sc": "http://schema.org/",
            "expires": "sc:expires",
            "CacheFile": "pt:CacheFile",
        }
    ])
}

/// The origin's side: a `CacheFile` about one of our videos. Listed only when the policy
/// allows its sender and a sample of the copy matches our own hash list.
pub async fn on_cache_file(state: &AppState, actor: &Account, object: &Value) -> Result<()> {
    let Some(remote) = actor.remote.as_ref() else {
        return Ok(());
    };
    let allowed = match state.config.mirroring.accept_from {
        AcceptFrom::Nobody => false,
        AcceptFrom::Anybody => true,
        // Instances we chose to follow (and that accepted): a stranger that follows us is not
        // trusted to be listed in every viewer's playlist.
        AcceptFrom::Followings => db::mirrors::follows(&state.db, &remote.uri, Direction::Out).await?,
    };
    if !allowed {
        tracing::info!(actor = %remote.uri, "a mirror announcement refused by mirroring.accept_from");
        return Ok(());
    }
    let (Some(id), Some(video), Some(href)) = (
        parse::str_of(object, "id"),
        object.get("object").and_then(parse::id_of),
        object.get("url").and_then(|u| parse::str_of(u, "href")),
    ) else {
        tracing::info!(
            reason = "it lacks an id, a video or a URL",
            "a mirror announcement ignored"
        );
        return Ok(());
    };
    // The copy must live where its announcer does.
    if !parse::same_host(id, &remote.uri) || !parse::same_host(href, &remote.uri) {
        tracing::info!(
            reason = "the copy is not on its announcer's host",
            "a mirror announcement ignored"
        );
        return Ok(());
    }
    let Some(status_id) = resolve::local_status_id(state, video) else {
        tracing::info!(
            reason = "the video is not one of ours",
            "a mirror announcement ignored"
        );
        return Ok(());
    };
    let media = db::statuses::media_of(&state.db, &[status_id]).await?;
    let Some(media) = media.get(status_id).and_then(|m| {
        m.iter()
            .find(|m| m.kind == MediaKind::Video && m.remote.is_none())
    }) else {
        tracing::info!(
            reason = "the post has no local video",
            "a mirror announcement ignored"
        );
        return Ok(());
    };
    let hashes_key = media
        .variant("hashes")
        .ok_or_else(|| refused("this video has no hash list"))?;
    let hashes: HashList = serde_json::from_slice(
        &storage::read_small(&state.store, &Key::parse(&hashes_key.key)?, MAX_PLAYLIST_BYTES).await?,
    )
    .map_err(|_| Error::internal("our own hash list is unreadable"))?;
    let hls = media
        .variant("hls")
        .ok_or_else(|| refused("this video has no playlist"))?;
    let master = copy_master(href, &hls.key);
    if let Err(e) = check_sample(state, &master, &hashes, &hls.key).await {
        // A copy that was listed and now fails its sample is listed no more.
        if db::mirrors::remove_copy(&state.db, id, &remote.uri).await? {
            tracing::warn!(copy = %id, error = %e, "a listed copy failed its sample and is dropped");
            outbox::updated(state, status_id).await?;
        }
        return Err(e);
    }
    let base = Url::parse(&master)
        .map(|u| u.origin().ascii_serialization())
        .map_err(|_| refused("unreadable copy URL"))?;
    let now = db::now_ms();
    let expires = parse::time_ms(parse::str_of(object, "expires"))
        .unwrap_or(now + 7 * 24 * 3600 * 1000)
        .min(now + MAX_PROMISE_MS);
    if expires <= now {
        tracing::info!(
            reason = "its promise has run out",
            "a mirror announcement ignored"
        );
        return Ok(());
    }
    let new = db::mirrors::add_copy(
        &state.db,
        &media.id,
        &base,
        &master,
        id,
        &remote.uri,
        Some(expires),
    )
    .await?;
    tracing::info!(media = %media.id, copy = %base, "a verified copy is listed");
    if new {
        // Followers' servers learn of the copy with the video itself.
        outbox::updated(state, status_id).await?;
    }
    Ok(())
}

/// Media segments of a copy compared with our hash list each time it is announced or renewed,
/// chosen at random across its renditions: a copy that is right only where a fixed sample looks
/// (the first segment) cannot pass twice.
const SAMPLED_SEGMENTS: usize = 3;
/// Renditions of a copy looked at, at most (ours have a handful).
const MAX_RENDITIONS: usize = 8;

/// A byte range of a file a playlist names.
#[derive(Debug, Clone, PartialEq)]
struct Part {
    file: String,
    start: u64,
    end: u64,
}

/// Compares a random sample of the copy with ours: several media segments against our hash
/// list, and one rendition's init section (which the hash list does not cover) against our own
/// stored bytes.
async fn check_sample(state: &AppState, master_href: &str, hashes: &HashList, hls_key: &str) -> Result<()> {
    resolve::ensure_allowed(state, master_href).await?;
    let master_url = Url::parse(master_href).map_err(|_| refused("unreadable copy URL"))?;
    let master = String::from_utf8(state.http.get_bytes(master_href, MAX_PLAYLIST_BYTES).await?)
        .map_err(|_| refused("the copy's playlist is not text"))?;
    let variants = uris(&master);
    if variants.is_empty() {
        return Err(refused("the copy's playlist lists no rendition"));
    }
    let mut segments: Vec<(Url, Part, String)> = Vec::new();
    let mut inits: Vec<(Url, Part)> = Vec::new();
    for variant in variants.iter().take(MAX_RENDITIONS) {
        let variant_url = master_url
            .join(variant)
            .map_err(|_| refused("unreadable variant URI"))?;
        let playlist = String::from_utf8(
            state
                .http
                .get_bytes(variant_url.as_str(), MAX_PLAYLIST_BYTES)
                .await?,
        )
        .map_err(|_| refused("the copy's rendition playlist is not text"))?;
        let (init, parts) =
            parts_of(&playlist).ok_or_else(|| refused("the copy's rendition playlist is not ours"))?;
        for part in parts {
            let name = part.file.rsplit('/').next().unwrap_or(&part.file).to_owned();
            let expected = hashes
                .get(&name)
                .and_then(|ranges| ranges.get(&format!("{}-{}", part.start, part.end)))
                .ok_or_else(|| refused("the copy lists a segment that is not one of ours"))?;
            segments.push((variant_url.clone(), part, expected.clone()));
        }
        inits.extend(init.map(|init| (variant_url.clone(), init)));
    }
    if segments.is_empty() {
        return Err(refused("the copy's renditions list no byte-range segment"));
    }
    let picked: Vec<usize> = {
        let mut rng = rand::rng();
        rand::seq::index::sample(&mut rng, segments.len(), SAMPLED_SEGMENTS.min(segments.len())).into_vec()
    };
    for i in picked {
        let (variant_url, part, expected) = &segments[i];
        let bytes = fetch_part(state, variant_url, part).await?;
        if hex::encode(Sha256::digest(&bytes)) != *expected {
            return Err(refused(format!(
                "the copy's segment {}-{} of {} does not match our hash",
                part.start, part.end, part.file
            )));
        }
    }
    if !inits.is_empty() {
        let pick = rand::random_range(0..inits.len());
        let (variant_url, init) = &inits[pick];
        let theirs = fetch_part(state, variant_url, init).await?;
        // The copy keeps our layout below its master: the same path below ours names our file.
        let init_url = variant_url
            .join(&init.file)
            .map_err(|_| refused("unreadable init URI"))?;
        let copy_folder = master_url.join(".").map_err(|_| refused("unreadable copy URL"))?;
        let relative = init_url
            .as_str()
            .strip_prefix(copy_folder.as_str())
            .ok_or_else(|| refused("the copy's init section is outside its folder"))?;
        let folder = hls_key.rsplit_once('/').map_or("", |(folder, _)| folder);
        let ours = our_part(state, &format!("{folder}/{relative}"), init).await?;
        if theirs != ours {
            return Err(refused(format!(
                "the copy's init section of {relative} is not ours"
            )));
        }
    }
    Ok(())
}

async fn fetch_part(state: &AppState, variant_url: &Url, part: &Part) -> Result<Vec<u8>> {
    let url = variant_url
        .join(&part.file)
        .map_err(|_| refused("unreadable segment URI"))?;
    let length = usize::try_from(part.end - part.start + 1)
        .ok()
        .filter(|&n| n <= MAX_SAMPLE_BYTES)
        .ok_or_else(|| refused("the copy's segment is larger than any segment we make"))?;
    state
        .http
        .get_range(url.as_str(), part.start, part.end, length)
        .await
}

/// The same range of our own stored file.
async fn our_part(state: &AppState, key: &str, part: &Part) -> Result<Vec<u8>> {
    use futures_util::StreamExt;
    let key = Key::parse(key).map_err(|_| refused("the copy names a file we do not have"))?;
    let meta = state.store.head(&key).await.map_err(|e| match e.kind {
        crate::error::Kind::NotFound => refused("the copy names a file we do not have"),
        _ => e,
    })?;
    if part.end >= meta.size {
        return Err(refused("the copy's init section is beyond the end of ours"));
    }
    let mut object = state
        .store
        .get(
            &key,
            Some(storage::ByteRange {
                start: part.start,
                end: part.end,
            }),
        )
        .await?;
    let mut bytes = Vec::new();
    while let Some(chunk) = object.body.next().await {
        bytes.extend_from_slice(&chunk?);
    }
    Ok(bytes)
}

/// A sampled segment larger than this is not one of ours (they are seconds of video).
const MAX_SAMPLE_BYTES: usize = 64 * 1024 * 1024;

/// A byte-range playlist's init section (`EXT-X-MAP` with a `BYTERANGE`) and media segments.
/// None when a number is unreadable or overflows: another server's numbers are refused, not
/// wrapped.
fn parts_of(playlist: &str) -> Option<(Option<Part>, Vec<Part>)> {
    fn range(spec: &str) -> Option<(u64, u64)> {
        let (length, offset) = spec.split_once('@')?;
        let (length, offset): (u64, u64) = (length.parse().ok()?, offset.parse().ok()?);
        let end = offset.checked_add(length.checked_sub(1)?)?;
        end.checked_add(1)?;
        Some((offset, end))
    }
    let mut init = None;
    let mut parts = Vec::new();
    let mut pending: Option<(u64, u64)> = None;
    for line in playlist.lines().map(str::trim) {
        if let Some(map) = line.strip_prefix("#EXT-X-MAP:") {
            let attribute = |name: &str| {
                map.split(',')
                    .find_map(|a| a.trim().strip_prefix(name)?.strip_prefix('='))
                    .map(|v| v.trim_matches('"').to_owned())
            };
            if let (Some(file), Some(spec)) = (attribute("URI"), attribute("BYTERANGE")) {
                let (start, end) = range(&spec)?;
                init = Some(Part { file, start, end });
            }
        } else if let Some(spec) = line.strip_prefix("#EXT-X-BYTERANGE:") {
            pending = Some(range(spec)?);
        } else if !line.starts_with('#') && !line.is_empty() {
            let (start, end) = pending.take()?;
            parts.push(Part {
                file: line.to_owned(),
                start,
                end,
            });
        }
    }
    Some((init, parts))
}

/// A mirror no longer holds its copy.
pub async fn on_undo(state: &AppState, actor: &Account, object: &Value) -> Result<()> {
    if let (Some(remote), Some(id)) = (actor.remote.as_ref(), parse::str_of(object, "id"))
        && db::mirrors::remove_copy(&state.db, id, &remote.uri).await?
        && let Some(video) = object.get("object").and_then(parse::id_of)
        && let Some(status_id) = resolve::local_status_id(state, video)
    {
        outbox::updated(state, status_id).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_folder_holds_a_master_of_our_name() {
        let ours = "media/01/hls/master.m3u8";
        assert_eq!(
            copy_master("https://mirror.example/static/redundancy/hls/e794", ours),
            "https://mirror.example/static/redundancy/hls/e794/master.m3u8"
        );
        assert_eq!(
            copy_master("https://b.example/files/mirrors/9/", ours),
            "https://b.example/files/mirrors/9/master.m3u8"
        );
        assert_eq!(
            copy_master("https://b.example/files/mirrors/9/master.m3u8", ours),
            "https://b.example/files/mirrors/9/master.m3u8"
        );
        assert_eq!(
            folder_of("https://b.example/files/mirrors/9/master.m3u8"),
            "https://b.example/files/mirrors/9"
        );
    }

    #[test]
    fn a_byte_range_playlist_names_its_init_and_segments() {
        let playlist = "#EXTM3U\n#EXT-X-MAP:URI=\"v.mp4\",BYTERANGE=\"800@0\"\n#EXTINF:1,\n#EXT-X-BYTERANGE:100@800\nv.mp4\n#EXTINF:1,\n#EXT-X-BYTERANGE:50@900\nv.mp4\n";
        let part = |start, end| Part {
            file: "v.mp4".into(),
            start,
            end,
        };
        assert_eq!(
            parts_of(playlist),
            Some((Some(part(0, 799)), vec![part(800, 899), part(900, 949)]))
        );
        // A segment without its byte range is not one of ours.
        assert_eq!(parts_of("#EXTM3U\nv.mp4\n"), None);
    }

    #[test]
    fn byte_ranges_that_overflow_are_refused_not_wrapped() {
        let max = u64::MAX;
        for range in [
            format!("2@{max}"),
            format!("{max}@2"),
            format!("1@{max}"),
            "0@5".to_owned(),
        ] {
            let playlist = format!("#EXTM3U\n#EXT-X-BYTERANGE:{range}\nv.mp4\n");
            assert_eq!(parts_of(&playlist), None, "{range}");
            let init = format!("#EXTM3U\n#EXT-X-MAP:URI=\"v.mp4\",BYTERANGE=\"{range}\"\n");
            assert_eq!(parts_of(&init), None, "{range}");
        }
    }
}
