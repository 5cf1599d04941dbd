//! Statuses as ActivityPub objects. A photo post is a `Note` with `Document` attachments in
//! the shape Mastodon and Pixelfed read (url, mediaType, width, height, `name` = alt text,
//! blurhash, focalPoint); `to`/`cc` follow the visibility. (Videos as PeerTube `Video`
//! objects come with the rest of the federation work.)

use serde_json::{Value, json};

use super::actors::context;
use crate::domain::{
    account::Account,
    media::{Media, MediaState},
    status::{Status, Visibility, to_html},
    time::rfc3339,
};

pub const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

pub fn status_uri(base: &str, username: &str, id: &str) -> String {
    format!("{base}/users/{username}/statuses/{id}")
}

/// Addressing by visibility, as Mastodon does.
fn audience(status: &Status, actor: &str) -> (Vec<String>, Vec<String>) {
    let followers = format!("{actor}/followers");
    match status.visibility {
        Visibility::Public => (vec![PUBLIC.into()], vec![followers]),
        Visibility::Unlisted => (vec![followers], vec![PUBLIC.into()]),
        Visibility::Private => (vec![followers], vec![]),
        Visibility::Direct => (vec![], vec![]),
    }
}

fn attachment(media: &Media, file_url: &dyn Fn(&str) -> String) -> Option<Value> {
    if media.state != MediaState::Ready {
        return None;
    }
    let file = media.variant("display").or_else(|| media.variant("mp4"))?;
    let mut doc = json!({
        "type": "Document",
        "mediaType": file.mime,
        "url": file_url(&file.key),
        "name": media.description,
        "width": file.width,
        "height": file.height,
    });
    if let Some(hash) = &media.blurhash {
        doc["blurhash"] = json!(hash);
    }
    if let Some(focus) = media.focus {
        doc["focalPoint"] = json!([focus.x, focus.y]);
    }
    Some(doc)
}

pub fn note(
    base: &str,
    status: &Status,
    author: &Account,
    media: &[Media],
    in_reply_to: Option<String>,
    file_url: &dyn Fn(&str) -> String,
) -> Value {
    let actor = crate::domain::account::person_id(base, &author.username);
    let (to, cc) = audience(status, &actor);
    json!({
        "@context": context(),
        "id": status_uri(base, &author.username, &status.id),
        "type": "Note",
        "attributedTo": actor,
        "url": format!("{base}/@{}/{}", author.username, status.id),
        "published": rfc3339(status.created_at),
        "to": to,
        "cc": cc,
        "inReplyTo": in_reply_to,
        "sensitive": status.sensitive,
        "summary": if status.spoiler_text.is_empty() { Value::Null } else { json!(status.spoiler_text) },
        "content": to_html(&status.text),
        "attachment": media.iter().filter_map(|m| attachment(m, file_url)).collect::<Vec<_>>(),
    })
}

/// The Person behind an object: `attributedTo` itself, or the first of a Video's Person and
/// channel Group.
fn author_of(object: &Value) -> Value {
    match &object["attributedTo"] {
        Value::Array(items) => items
            .first()
            .and_then(|p| p.get("id"))
            .cloned()
            .unwrap_or(Value::Null),
        other => other.clone(),
    }
}

/// The `Create` that carries a status to followers (and that the outbox lists).
pub fn create(note: Value) -> Value {
    let id = note["id"].as_str().unwrap_or_default().to_owned();
    let mut object = note;
    let context = object
        .as_object_mut()
        .and_then(|o| o.remove("@context"))
        .unwrap_or_else(context);
    json!({
        "@context": context,
        "id": format!("{id}/activity"),
        "type": "Create",
        "actor": author_of(&object),
        "published": object["published"],
        "to": object["to"],
        "cc": object["cc"],
        "object": object,
    })
}

/// A video's name: the caption's first line, as PeerTube requires 3 to 120 characters.
pub fn video_name(text: &str) -> String {
    let first = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    let mut name: String = first.chars().take(120).collect();
    if name.chars().count() < 3 {
        name = if name.is_empty() {
            "Video".into()
        } else {
            format!("{name} – video")
        };
    }
    name
}

/// A video post as PeerTube shapes it: the HLS master playlist as a Link whose `tag` lists every
/// rendition and the segment hash list, an MP4 Link to play without HLS, thumbnails in `icon`,
/// and the Person and the channel Group in `attributedTo`.
pub fn video(
    base: &str,
    status: &Status,
    author: &Account,
    media: &Media,
    in_reply_to: Option<String>,
    file_url: &dyn Fn(&str) -> String,
) -> Value {
    let actor = crate::domain::account::person_id(base, &author.username);
    let (to, cc) = audience(status, &actor);
    let page = format!("{base}/@{}/{}", author.username, status.id);
    let hls = media.variant("hls");
    let mut tags: Vec<Value> = Vec::new();
    if let Some(hashes) = media.variant("hashes") {
        tags.push(json!({
            "type": "Link", "name": "sha256", "mediaType": "application/json",
            "href": file_url(&hashes.key),
        }));
    }
    let mut renditions: Vec<_> = media
        .variants
        .iter()
        .filter(|v| v.name.starts_with("rendition-"))
        .collect();
    renditions.sort_by_key(|v| std::cmp::Reverse(v.height));
    for r in &renditions {
        tags.push(json!({
            "type": "Link", "mediaType": "video/mp4", "href": file_url(&r.key),
            "height": r.height, "width": r.width, "size": r.size, "fps": r.fps.map(f64::round),
            "attachment": [{ "type": "PropertyValue", "name": "peertube_format_flag", "value": "fragmented" }],
        }));
    }
    let mut urls = vec![json!({ "type": "Link", "mediaType": "text/html", "href": page })];
    if let Some(hls) = hls {
        urls.push(json!({
            "type": "Link", "mediaType": "application/x-mpegURL", "href": file_url(&hls.key), "tag": tags,
        }));
    }
    if let Some(mp4) = media.variant("mp4") {
        urls.push(json!({
            "type": "Link", "mediaType": "video/mp4", "href": file_url(&mp4.key),
            "height": mp4.height, "width": mp4.width, "fps": mp4.fps.or(hls.and_then(|h| h.fps)).map(f64::round),
        }));
    }
    let icon: Vec<Value> = media
        .variant("thumb")
        .map(|t| json!({ "type": "Image", "url": file_url(&t.key), "mediaType": t.mime, "width": t.width, "height": t.height }))
        .into_iter()
        .collect();
    let seconds = hls.and_then(|h| h.seconds).unwrap_or(0.0).round().max(0.0) as u64;
    let published = rfc3339(status.published_at.unwrap_or(status.created_at));
    json!({
        "@context": context(),
        "id": status_uri(base, &author.username, &status.id),
        "type": "Video",
        "uuid": media.id,
        "name": video_name(&status.text),
        "duration": format!("PT{seconds}S"),
        "mediaType": "text/markdown",
        "content": status.text,
        "summary": if status.spoiler_text.is_empty() { Value::Null } else { json!(status.spoiler_text) },
        "sensitive": status.sensitive,
        "inReplyTo": in_reply_to,
        "published": published,
        "updated": published,
        "url": urls,
        "icon": icon,
        "attributedTo": [
            { "type": "Person", "id": actor },
            { "type": "Group", "id": super::actors::channel_id(base, &author.username) },
        ],
        "to": to,
        "cc": cc,
        "state": 1,
        "views": 0,
        "isLiveBroadcast": false,
        "commentsEnabled": true,
        "downloadEnabled": true,
        "waitTranscoding": false,
        "tag": [],
        "aspectRatio": media.width.zip(media.height).filter(|(_, h)| *h > 0).map(|(w, h)| ((w as f64 / h as f64) * 10000.0).round() / 10000.0),
    })
}

/// Lists verified copies of a video in its HLS Link's `tag`, as `Link`s named `mirror` (other
/// servers ignore tags they do not know), so followers' servers can offer them to players.
pub fn add_mirrors(object: &mut Value, masters: &[String]) {
    if masters.is_empty() {
        return;
    }
    if let Some(links) = object.get_mut("url").and_then(Value::as_array_mut) {
        for link in links {
            if link["mediaType"] == "application/x-mpegURL"
                && let Some(tags) = link.get_mut("tag").and_then(Value::as_array_mut)
            {
                tags.extend(masters.iter().map(|href| {
                    json!({ "type": "Link", "name": "mirror", "mediaType": "application/x-mpegURL", "href": href })
                }));
            }
        }
    }
}

/// An `Update` of a post: the same object, a new activity id each time.
pub fn update(object: Value) -> Value {
    let mut activity = create(object);
    let id = format!(
        "{}#updates/{}",
        activity["object"]["id"].as_str().unwrap_or_default(),
        crate::db::now_ms()
    );
    activity["id"] = json!(id);
    activity["type"] = json!("Update");
    activity
}

/// A status as its ActivityPub object: a Video when it carries a video, else a Note.
pub fn post_object(
    base: &str,
    status: &Status,
    author: &Account,
    media: &[Media],
    in_reply_to: Option<String>,
    file_url: &dyn Fn(&str) -> String,
) -> Value {
    match media
        .iter()
        .find(|m| m.kind == crate::domain::media::MediaKind::Video)
    {
        Some(video_media) if media.len() == 1 => {
            video(base, status, author, video_media, in_reply_to, file_url)
        }
        _ => note(base, status, author, media, in_reply_to, file_url),
    }
}

/// An activity with its own id, from `actor`, about `object`.
pub fn activity(
    kind: &str,
    id: String,
    actor: &str,
    object: Value,
    to: Vec<String>,
    cc: Vec<String>,
) -> Value {
    json!({
        "@context": context(),
        "id": id,
        "type": kind,
        "actor": actor,
        "to": to,
        "cc": cc,
        "object": object,
    })
}

/// An account a post mentions, as its object names it.
pub struct Mentioned {
    /// Its actor id.
    pub id: String,
    /// Its profile page, where the mention links.
    pub page: String,
    pub username: String,
    pub host: String,
}

/// A post's mentions and hashtags: `Mention` and `Hashtag` in `tag`, the mentioned actors
/// addressed (`to` for a direct post, else `cc`, as Mastodon addresses them), and the text
/// rendered with its links. A Video keeps PeerTube's own content.
pub fn add_conversation(
    object: &mut Value,
    base: &str,
    status: &Status,
    mentioned: &[Mentioned],
    tags: &[String],
) {
    let mut items: Vec<Value> = mentioned
        .iter()
        .map(|m| json!({ "type": "Mention", "href": m.id, "name": format!("@{}@{}", m.username, m.host) }))
        .collect();
    items.extend(
        tags.iter().map(
            |t| json!({ "type": "Hashtag", "href": format!("{base}/tags/{t}"), "name": format!("#{t}") }),
        ),
    );
    match object.get_mut("tag").and_then(Value::as_array_mut) {
        Some(existing) => existing.extend(items),
        None => object["tag"] = json!(items),
    }
    let ids: Vec<Value> = mentioned.iter().map(|m| json!(m.id)).collect();
    let key = if status.visibility == Visibility::Direct {
        "to"
    } else {
        "cc"
    };
    match object.get_mut(key).and_then(Value::as_array_mut) {
        Some(list) => list.extend(ids),
        None => object[key] = json!(ids),
    }
    if object["type"] == "Note" {
        let mut resolved: Vec<(String, String)> = Vec::new();
        for m in mentioned {
            resolved.push((m.username.to_lowercase(), m.page.clone()));
            resolved.push((
                format!("{}@{}", m.username, m.host).to_lowercase(),
                m.page.clone(),
            ));
        }
        let links = crate::domain::text::Links { base, rel_me: false };
        object["content"] = json!(crate::domain::text::post_html(&status.text, &links, &resolved));
    }
}

/// What a deleted post leaves behind.
pub fn tombstone(id: &str) -> Value {
    json!({ "id": id, "type": "Tombstone" })
}
