//! The master playlist players get: every rendition listed once per known copy, the origin
//! first, with identical attributes, so hls.js moves to the next copy when one fails.

use url::Url;

use super::MAX_PLAYLIST_BYTES;
use crate::{
    db,
    domain::media::Media,
    error::{Error, Result},
    state::AppState,
    storage::{self, Key},
};

/// Rewrites `master` (whose variant URIs are relative to `origin`) so each variant appears
/// for the origin and then for each copy's master URL.
pub fn combine(master: &str, origin: &Url, copies: &[Url]) -> String {
    let mut out = String::new();
    let mut stream_inf: Option<&str> = None;
    for line in master.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("#EXT-X-STREAM-INF") {
            stream_inf = Some(trimmed);
            continue;
        }
        if let Some(inf) = stream_inf.take()
            && !trimmed.is_empty()
            && !trimmed.starts_with('#')
        {
            for base in std::iter::once(origin).chain(copies) {
                if let Ok(variant) = base.join(trimmed) {
                    out.push_str(inf);
                    out.push('\n');
                    out.push_str(variant.as_str());
                    out.push('\n');
                }
            }
            continue;
        }
        out.push_str(trimmed);
        out.push('\n');
    }
    out
}

/// Servers asked for a remote video's master playlist, at most.
const MAX_MASTER_SOURCES: usize = 3;

/// What a player should load for a video: a combined playlist, or (a remote video we hold no
/// copy of) the origin's own.
pub enum Playlist {
    Combined(String),
    Origin(String),
}

/// A remote video we hold no copy of, with the copies its origin vouched for: the master comes
/// from the origin, or from a copy when the origin does not answer.
async fn known_copies(state: &AppState, media: &Media, origin: &str) -> Result<Playlist> {
    let copies = db::mirrors::copies(&state.db, &media.id).await?;
    if copies.is_empty() {
        return Ok(Playlist::Origin(origin.to_owned()));
    }
    let mut master = None;
    // Each anonymous request may cost these fetches (the answer is cached for a minute): the
    // origin and a couple of copies at most.
    for source in std::iter::once(origin)
        .chain(copies.iter().map(|(_, m)| m.as_str()))
        .take(MAX_MASTER_SOURCES)
    {
        if let Ok(bytes) = state.http.get_bytes(source, MAX_PLAYLIST_BYTES).await
            && let Ok(text) = String::from_utf8(bytes)
            && text.starts_with("#EXTM3U")
        {
            master = Some(text);
            break;
        }
    }
    let Some(master) = master else {
        return Ok(Playlist::Origin(origin.to_owned()));
    };
    let origin = Url::parse(origin).map_err(|_| Error::internal("unreadable origin URL"))?;
    let copies: Vec<Url> = copies.iter().filter_map(|(_, m)| Url::parse(m).ok()).collect();
    Ok(Playlist::Combined(combine(&master, &origin, &copies)))
}

/// The combined master playlist of a video: a local one with the copies others announced, or a
/// remote one with our own verified copy, built from that copy so it is served even when the
/// origin is gone.
pub async fn for_media(state: &AppState, media: &Media) -> Result<Playlist> {
    if let Some(remote) = &media.remote {
        let origin = remote
            .hls_url
            .clone()
            .ok_or_else(|| Error::not_found("playlist"))?;
        let Some(copy) = db::mirrors::verified_for_media(&state.db, &media.id).await? else {
            return known_copies(state, media, &origin).await;
        };
        let key = copy.master_key.unwrap_or_default();
        let master = String::from_utf8(
            storage::read_small(&state.store, &Key::parse(&key)?, MAX_PLAYLIST_BYTES).await?,
        )
        .map_err(|_| Error::internal("our copy's playlist is not text"))?;
        let origin = Url::parse(&origin).map_err(|_| Error::internal("unreadable origin URL"))?;
        let ours = Url::parse(&state.file_url(&key)).map_err(|_| Error::internal("unreadable file URL"))?;
        return Ok(Playlist::Combined(combine(&master, &origin, &[ours])));
    }
    let hls = media.variant("hls").ok_or_else(|| Error::not_found("playlist"))?;
    let master = String::from_utf8(
        storage::read_small(&state.store, &Key::parse(&hls.key)?, MAX_PLAYLIST_BYTES).await?,
    )
    .map_err(|_| Error::internal("our own playlist is not text"))?;
    let origin = Url::parse(&state.file_url(&hls.key)).map_err(|_| Error::internal("unreadable file URL"))?;
    let copies: Vec<Url> = db::mirrors::copies(&state.db, &media.id)
        .await?
        .into_iter()
        .filter_map(|(_, master_url)| Url::parse(&master_url).ok())
        .collect();
    Ok(Playlist::Combined(combine(&master, &origin, &copies)))
}

/// Where a remote video's poster is best fetched: our copy's when we hold one, else the
/// origin's.
pub async fn poster_for(state: &AppState, media: &Media) -> Result<Option<String>> {
    let Some(remote) = &media.remote else {
        return Ok(None);
    };
    if let Some(copy) = db::mirrors::verified_for_media(&state.db, &media.id).await?
        && let Some(key) = copy.poster_key
    {
        return Ok(Some(state.file_url(&key)));
    }
    // A redirect only to the post's own server, over http(s): the post names the URL, and we
    // must not become anyone's redirector.
    let author_host = db::accounts::by_id(&state.db, &media.account_id)
        .await?
        .and_then(|a| a.domain);
    Ok(remote.preview_url.clone().filter(|url| {
        (url.starts_with("https://") || url.starts_with("http://"))
            && author_host
                .as_deref()
                .is_some_and(|host| crate::federation::parse::host(url).as_deref() == Some(host))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_once_per_copy() {
        let master = "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-STREAM-INF:BANDWIDTH=900,RESOLUTION=640x360\n360.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=400,RESOLUTION=426x240\n240.m3u8\n";
        let origin = Url::parse("https://a.example/files/media/1/hls/master.m3u8").expect("url");
        let copy = Url::parse("https://b.example/files/mirrors/9/master.m3u8").expect("url");
        let combined = combine(master, &origin, &[copy]);
        let uris: Vec<&str> = combined.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            uris,
            vec![
                "https://a.example/files/media/1/hls/360.m3u8",
                "https://b.example/files/mirrors/9/360.m3u8",
                "https://a.example/files/media/1/hls/240.m3u8",
                "https://b.example/files/mirrors/9/240.m3u8",
            ]
        );
        assert_eq!(combined.matches("BANDWIDTH=900").count(), 2);
        assert!(combined.starts_with("#EXTM3U\n#EXT-X-VERSION:7\n"));
    }
}
