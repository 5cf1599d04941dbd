//! Statuses as ActivityPub objects. A photo post is a `Note` with `Document` attachments in
//! the shape Mastodon and Pixelfed read (url, mediaType, width, height, `name` = alt text,
//! blurhash, focalPoint); `to`/`cc` follow the visibility. (Videos as PeerTube `Video`
//! objects come with the rest of the federation work.)

use serde_json::{Value, json};

use super::actors::{context, person_id};
use crate::{
    domain::{
        account::Account,
        media::{Media, MediaState},
        status::{Status, Visibility, to_html},
    },
    http::entities::rfc3339,
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
    let actor = person_id(base, &author.username);
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
        "actor": object["attributedTo"],
        "published": object["published"],
        "to": object["to"],
        "cc": object["cc"],
        "object": object,
    })
}
