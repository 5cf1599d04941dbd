//! The JSON shapes of the client API, as Mastodon clients expect them. Kaleido-only fields go
//! under a `kaleido` key.

use serde::Serialize;
use serde_json::{Value, json};

use crate::{
    app::AppState,
    domain::{
        account::Account,
        media::{Media, MediaKind, MediaState},
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
}

pub fn media_attachment(state: &AppState, media: &Media) -> Value {
    let ready = media.state == MediaState::Ready;
    let url = ready.then(|| file_url(state, &media.original_key));
    json!({
        "id": media.id,
        "type": match media.kind { MediaKind::Image => "image", MediaKind::Video => "video" },
        "url": url,
        "preview_url": url,
        "remote_url": Value::Null,
        "text_url": Value::Null,
        "meta": { "original": { "size": media.size_bytes } },
        "description": media.description,
        "blurhash": Value::Null,
        "kaleido": KaleidoMedia { state: media.state, progress: media.progress, error: media.error.as_deref() },
    })
}
