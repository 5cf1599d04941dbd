//! The JSON shapes of the client API, as Mastodon clients expect them. Kaleido-only fields go
//! under a `kaleido` key.

use serde::Serialize;
use serde_json::{Value, json};

use crate::{
    app::AppState,
    domain::{
        account::Account,
        media::{Media, MediaKind, MediaState},
        status::{Status, to_html},
    },
    storage::Key,
};

pub fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

pub fn account(state: &AppState, account: &Account) -> Value {
    let base = state.config.public_url();
    json!({
        "id": account.id,
        "username": account.username,
        "acct": account.username,
        "display_name": account.display_name,
        "locked": false,
        "bot": false,
        "created_at": rfc3339(account.created_at),
        "note": "",
        "url": format!("{base}/@{}", account.username),
        "avatar": Value::Null,
        "header": Value::Null,
        "followers_count": 0,
        "following_count": 0,
        "statuses_count": 0,
        "kaleido": { "is_admin": account.is_admin },
    })
}

/// Where a browser fetches a stored file: the store itself when public, else through Kaleido.
pub fn file_url(state: &AppState, key: &str) -> String {
    Key::parse(key)
        .ok()
        .and_then(|k| state.store.public_url(&k))
        .unwrap_or_else(|| format!("{}/files/{key}", state.config.public_url()))
}

#[derive(Serialize)]
struct KaleidoMedia<'a> {
    state: MediaState,
    progress: i64,
    error: Option<&'a str>,
    thumb_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hls: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mirrors: Option<Vec<String>>,
}

fn size_meta(width: u32, height: u32) -> Value {
    json!({
        "width": width,
        "height": height,
        "size": format!("{width}x{height}"),
        "aspect": if height == 0 { 0.0 } else { f64::from(width) / f64::from(height) },
    })
}

pub fn media_attachment(state: &AppState, media: &Media) -> Value {
    let ready = media.state == MediaState::Ready;
    let url_of = |name: &str| {
        media
            .variant(name)
            .filter(|_| ready)
            .map(|v| file_url(state, &v.key))
    };
    // A video's `url` is its progressive MP4; its ladder is under `kaleido.hls`.
    let url = url_of("display")
        .or_else(|| url_of("mp4"))
        .or_else(|| url_of("original"));
    let mut meta = serde_json::Map::new();
    if let (Some(w), Some(h)) = (media.width, media.height)
        && w > 0
        && h > 0
    {
        meta.insert("original".into(), size_meta(w as u32, h as u32));
    }
    if let Some(preview) = media.variant("preview") {
        meta.insert("small".into(), size_meta(preview.width, preview.height));
    }
    if let Some(focus) = media.focus {
        meta.insert("focus".into(), json!({"x": focus.x, "y": focus.y}));
    }
    json!({
        "id": media.id,
        "type": match media.kind { MediaKind::Image => "image", MediaKind::Video => "video" },
        "url": url,
        "preview_url": url_of("preview").or_else(|| url.clone()),
        "remote_url": Value::Null,
        "text_url": Value::Null,
        "meta": meta,
        "description": media.description,
        "blurhash": media.blurhash,
        "kaleido": KaleidoMedia {
            state: media.state,
            progress: media.progress,
            error: media.error.as_deref(),
            thumb_url: url_of("thumb"),
            hls: url_of("hls"),
            // Copies elsewhere arrive with mirroring; a video already lists its (empty) set.
            mirrors: (media.kind == MediaKind::Video).then(Vec::new),
        },
    })
}

/// The pages and ids of a status: `url` is its page, `uri` its ActivityPub id.
pub fn status_url(state: &AppState, username: &str, id: &str) -> String {
    format!("{}/@{username}/{id}", state.config.public_url())
}

pub fn status_uri(state: &AppState, username: &str, id: &str) -> String {
    crate::federation::objects::status_uri(state.config.public_url(), username, id)
}

pub fn status(state: &AppState, status: &Status, author: &Account, media: &[Media]) -> Value {
    json!({
        "id": status.id,
        "uri": status_uri(state, &author.username, &status.id),
        "url": status_url(state, &author.username, &status.id),
        "created_at": rfc3339(status.created_at),
        "account": account(state, author),
        "content": to_html(&status.text),
        "text": status.text,
        "visibility": status.visibility.as_str(),
        "sensitive": status.sensitive,
        "spoiler_text": status.spoiler_text,
        "in_reply_to_id": status.in_reply_to_id,
        "in_reply_to_account_id": Value::Null,
        "language": Value::Null,
        "replies_count": 0,
        "reblogs_count": 0,
        "favourites_count": 0,
        "media_attachments": media.iter().map(|m| media_attachment(state, m)).collect::<Vec<_>>(),
        "mentions": [],
        "tags": [],
        "emojis": [],
        "card": Value::Null,
        "poll": Value::Null,
        "kaleido": { "published": status.published_at.is_some() },
    })
}
