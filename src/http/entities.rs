//! The JSON shapes of the client API, as Mastodon clients expect them. Kaleido-only fields go
//! under a `kaleido` key.

use serde::Serialize;
use serde_json::{Value, json};

use crate::{
    domain::{
        account::Account,
        media::{Media, MediaKind, MediaState},
        status::Status,
        text::{Links, field_html},
        time::rfc3339,
    },
    state::AppState,
};

/// An account's pictures as URLs: its own, or the instance's stand-ins.
pub struct Pictures {
    pub avatar: String,
    pub avatar_static: String,
    pub header: String,
    pub header_static: String,
}

pub fn pictures(state: &AppState, account: &Account) -> Pictures {
    let base = state.config.public_url();
    let url = |key: &Option<String>| key.as_deref().map(|k| state.file_url(k));
    let p = &account.profile;
    let (avatar, header, avatar_static, header_static) = match &account.remote {
        Some(r) => (r.avatar_url.clone(), r.header_url.clone(), None, None),
        None => (
            url(&p.avatar_key),
            url(&p.header_key),
            url(&p.avatar_static_key),
            url(&p.header_static_key),
        ),
    };
    let avatar = avatar.unwrap_or_else(|| format!("{base}/static/avatar.png"));
    let header = header.unwrap_or_else(|| format!("{base}/static/header.png"));
    Pictures {
        avatar_static: avatar_static.unwrap_or_else(|| avatar.clone()),
        header_static: header_static.unwrap_or_else(|| header.clone()),
        avatar,
        header,
    }
}

pub fn account(state: &AppState, account: &Account) -> Value {
    let base = state.config.public_url();
    let url = match &account.remote {
        Some(r) => r.profile_url.clone().unwrap_or_else(|| r.uri.clone()),
        None => format!("{base}/@{}", account.username),
    };
    let text = Links { base, rel_me: false };
    let field_links = Links { base, rel_me: true };
    let pictures = pictures(state, account);
    let kind = account.remote.as_ref().map(|r| r.actor_type.as_str());
    let mut value = json!({
        "id": account.id,
        "username": account.username,
        "acct": account.acct(),
        "display_name": account.display_name,
        "locked": account.locked,
        "bot": account.profile.bot || matches!(kind, Some("Service" | "Application")),
        "group": kind == Some("Group"),
        "discoverable": account.profile.discoverable,
        "indexable": account.profile.indexable,
        "hide_collections": account.profile.hide_collections,
        "noindex": !account.profile.indexable,
        "created_at": rfc3339(account.created_at),
        "note": crate::domain::text::to_html(&account.note, &text),
        "url": url,
        "uri": account.remote.as_ref().map(|r| r.uri.clone()).unwrap_or_else(|| crate::domain::account::person_id(base, &account.username)),
        "avatar": pictures.avatar,
        "avatar_static": pictures.avatar_static,
        "header": pictures.header,
        "header_static": pictures.header_static,
        "fields": account.profile.fields.iter().map(|f| json!({
            "name": f.name,
            "value": field_html(&f.value, &field_links),
            "verified_at": f.verified_at.map(rfc3339),
        })).collect::<Vec<_>>(),
        "emojis": [],
        "roles": [],
        "last_status_at": Value::Null,
        "followers_count": 0,
        "following_count": 0,
        "statuses_count": 0,
        "kaleido": { "is_admin": account.is_admin, "local": account.is_local() },
    });
    if account.standing.suspended_at.is_some() {
        value["suspended"] = json!(true);
    }
    if account.standing.silenced_at.is_some() {
        value["limited"] = json!(true);
    }
    value
}

/// What only the account itself sees of itself (`verify_credentials`, `update_credentials`):
/// the plain text behind its bio and fields, and its posting defaults.
pub fn source(account: &Account, follow_requests: i64) -> Value {
    json!({
        "note": account.note,
        "fields": account.profile.fields.iter().map(|f| json!({
            "name": f.name,
            "value": f.value,
            "verified_at": f.verified_at.map(rfc3339),
        })).collect::<Vec<_>>(),
        "privacy": account.profile.default_privacy,
        "sensitive": account.profile.default_sensitive,
        "language": account.profile.default_language,
        "follow_requests_count": follow_requests,
    })
}

/// The role Mastodon gives the signed-in account in `verify_credentials`: the built-in
/// "everyone" role, or an admin's. Permissions are Mastodon's bit flags (1 administrator,
/// 65536 invite users).
pub fn role(account: &Account, users_can_invite: bool) -> Value {
    if account.is_admin {
        json!({ "id": "3", "name": "Admin", "permissions": "1", "color": "", "highlighted": true })
    } else {
        let permissions = if users_can_invite { "65536" } else { "0" };
        json!({ "id": "-99", "name": "", "permissions": permissions, "color": "", "highlighted": false })
    }
}

/// An account with its follow counts, as the account endpoints answer.
pub async fn account_with_counts(state: &AppState, a: &Account) -> crate::error::Result<Value> {
    let mut value = account(state, a);
    let (followers, following) = crate::db::federation::counts(&state.db, &a.id).await?;
    value["followers_count"] = json!(followers);
    value["following_count"] = json!(following);
    let (posts, last) = crate::db::statuses::activity_of(&state.db, &a.id).await?;
    value["statuses_count"] = json!(posts);
    // A day, not a time, as Mastodon gives it: when someone posts is theirs to keep.
    value["last_status_at"] = json!(last.map(|ms| rfc3339(ms)[..10].to_owned()));
    Ok(value)
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
    if let Some(remote) = &media.remote {
        return remote_attachment(media, remote);
    }
    let ready = media.state == MediaState::Ready;
    let url_of = |name: &str| {
        media
            .variant(name)
            .filter(|_| ready)
            .map(|v| state.file_url(&v.key))
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
    if media.kind == MediaKind::Video {
        video_meta(media, &mut meta);
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

/// A video's length, frame rate and bit rate, at the top of `meta` and in `original`, where
/// Mastodon puts them.
fn video_meta(media: &Media, meta: &mut serde_json::Map<String, Value>) {
    let hls = media.variant("hls");
    let mp4 = media.variant("mp4");
    let Some(seconds) = hls.and_then(|v| v.seconds).filter(|s| *s > 0.0) else {
        return;
    };
    let fps = hls.and_then(|v| v.fps).or_else(|| mp4.and_then(|v| v.fps));
    let bits_per_second = |bytes: u64| (bytes as f64 * 8.0 / seconds).round() as u64;
    // `original` is the upload; the top level is the MP4 people download (one of the ladder's
    // renditions, which carry their sizes).
    let original_bitrate = u64::try_from(media.size_bytes)
        .ok()
        .filter(|b| *b > 0)
        .map(bits_per_second);
    let bitrate = mp4
        .and_then(|m| {
            m.size.or_else(|| {
                media
                    .variants
                    .iter()
                    .find(|v| v.key == m.key && v.size.is_some())
                    .and_then(|v| v.size)
            })
        })
        .map(bits_per_second);
    let whole = seconds.floor() as u64;
    let length = format!(
        "{}:{:02}:{:02}.{:02}",
        whole / 3600,
        (whole / 60) % 60,
        whole % 60,
        ((seconds.fract()) * 100.0).round().min(99.0) as u64
    );
    meta.insert("length".into(), json!(length));
    meta.insert("duration".into(), json!(seconds));
    if let Some(fps) = fps {
        meta.insert("fps".into(), json!(fps.round() as u64));
    }
    if let Some(Value::Object(original)) = meta.get_mut("original") {
        original.insert("duration".into(), json!(seconds));
        if let Some(fps) = fps {
            original.insert("frame_rate".into(), json!(format!("{}/1", fps.round() as u64)));
        }
        if let Some(bitrate) = original_bitrate {
            original.insert("bitrate".into(), json!(bitrate));
        }
    }
    if let Some(bitrate) = bitrate {
        meta.insert("bitrate".into(), json!(bitrate));
    }
}

/// Another server's media, pointed at where it lives.
fn remote_attachment(media: &Media, remote: &crate::domain::media::RemoteFiles) -> Value {
    let mut meta = serde_json::Map::new();
    if let (Some(w), Some(h)) = (media.width, media.height)
        && w > 0
        && h > 0
    {
        meta.insert("original".into(), size_meta(w as u32, h as u32));
    }
    if let Some(focus) = media.focus {
        meta.insert("focus".into(), json!({"x": focus.x, "y": focus.y}));
    }
    json!({
        "id": media.id,
        "type": media.kind.as_str(),
        "url": remote.url,
        "preview_url": remote.preview_url.clone().unwrap_or_else(|| remote.url.clone()),
        "remote_url": remote.url,
        "text_url": Value::Null,
        "meta": meta,
        "description": media.description,
        "blurhash": media.blurhash,
        "kaleido": {
            "state": "ready",
            "progress": 100,
            "thumb_url": remote.preview_url,
            "hls": remote.hls_url,
            "mirrors": (media.kind == MediaKind::Video).then(Vec::<String>::new),
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

/// An account's page, where links to it go.
fn account_page(state: &AppState, account: &Account) -> String {
    match &account.remote {
        Some(r) => r.profile_url.clone().unwrap_or_else(|| r.uri.clone()),
        None => format!("{}/@{}", state.config.public_url(), account.username),
    }
}

/// A post's text as HTML: a remote video's title first (as Mastodon shows PeerTube videos),
/// links, #tags, and the mentions that were resolved, linked to their accounts.
pub fn content_html(state: &AppState, status: &Status, mentioned: &[Account]) -> String {
    let text = match &status.title {
        Some(title) => format!("{title}\n\n{}", status.text.trim()),
        None => status.text.clone(),
    };
    let own_host = crate::federation::resolve::own_host(state);
    let mut resolved: Vec<(String, String)> = Vec::new();
    for m in mentioned {
        let page = account_page(state, m);
        let host = m.domain.clone().unwrap_or_else(|| own_host.clone());
        resolved.push((m.username.to_lowercase(), page.clone()));
        resolved.push((format!("{}@{host}", m.username).to_lowercase(), page));
    }
    let links = Links {
        base: state.config.public_url(),
        rel_me: false,
    };
    crate::domain::text::post_html(&text, &links, &resolved)
}

fn status(
    state: &AppState,
    status: &Status,
    author: &Account,
    media: &[Media],
    mentioned: &[Account],
    tags: &[String],
) -> Value {
    let uri = status
        .uri
        .clone()
        .unwrap_or_else(|| status_uri(state, &author.username, &status.id));
    let url = match &status.uri {
        Some(remote) => status.url.clone().unwrap_or_else(|| remote.clone()),
        None => status_url(state, &author.username, &status.id),
    };
    let base = state.config.public_url();
    let content = content_html(state, status, mentioned);
    json!({
        "id": status.id,
        "uri": uri,
        "url": url,
        "created_at": rfc3339(status.created_at),
        "account": account(state, author),
        "content": content,
        "text": status.text,
        "visibility": status.visibility.as_str(),
        "sensitive": status.sensitive,
        "spoiler_text": status.spoiler_text,
        "in_reply_to_id": status.in_reply_to_id,
        "in_reply_to_account_id": Value::Null,
        "language": status.language,
        "edited_at": status.edited_at.map(rfc3339),
        "replies_count": 0,
        "reblogs_count": 0,
        "favourites_count": 0,
        "media_attachments": media.iter().map(|m| media_attachment(state, m)).collect::<Vec<_>>(),
        "mentions": mentioned.iter().map(|m| json!({
            "id": m.id,
            "username": m.username,
            "acct": m.acct(),
            "url": account_page(state, m),
        })).collect::<Vec<_>>(),
        "tags": tags.iter().map(|t| json!({ "name": t, "url": format!("{base}/tags/{t}") })).collect::<Vec<_>>(),
        "emojis": [],
        "card": Value::Null,
        "poll": Value::Null,
        "kaleido": { "published": status.published_at.is_some(), "title": status.title },
    })
}

/// A status with its counts, the viewer's own marks, and the status it boosts.
pub fn status_full(state: &AppState, item: &crate::statuses::Hydrated) -> Value {
    let mut value = status(
        state,
        &item.status,
        &item.author,
        &item.media,
        &item.mentions,
        &item.tags,
    );
    let (replies, reblogs, favourites) = item.counts;
    value["replies_count"] = json!(replies);
    value["reblogs_count"] = json!(reblogs);
    value["favourites_count"] = json!(favourites);
    value["favourited"] = json!(item.favourited);
    value["reblogged"] = json!(item.reblogged);
    value["bookmarked"] = json!(item.bookmarked);
    // Kaleido mutes accounts, not conversations: no conversation is ever muted.
    value["muted"] = json!(false);
    value["in_reply_to_account_id"] = json!(item.in_reply_to_account_id);
    if item.author.is_local() {
        // Mastodon sends `pinned` only with the author's local posts.
        value["pinned"] = json!(item.pinned);
    }
    value["application"] = match &item.application {
        Some((name, website)) => json!({ "name": name, "website": website }),
        None => Value::Null,
    };
    value["reblog"] = match &item.reblog {
        Some(inner) => status_full(state, inner),
        None => Value::Null,
    };
    value
}
