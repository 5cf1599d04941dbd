//! Actor documents: every account is a `Person`, with a default channel `Group` (PeerTube
//! accepts a video only when a channel is in `attributedTo`), and the instance is an
//! `Application`. Extension terms are defined inline, as Mastodon does: remote servers do not
//! fetch third-party contexts.

use serde_json::{Value, json};

use crate::domain::{
    account::{Account, person_id},
    media::mime_for_key,
    text::{Links, field_html, to_html},
    time::rfc3339,
};

pub fn context() -> Value {
    json!([
        "https://www.w3.org/ns/activitystreams",
        "https://w3id.org/security/v1",
        {
            "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
            "sensitive": "as:sensitive",
            "toot": "http://joinmastodon.org/ns#",
            "discoverable": "toot:discoverable",
            "indexable": "toot:indexable",
            "schema": "http://schema.org#",
            "PropertyValue": "schema:PropertyValue",
            "value": "schema:value",
            "blurhash": "toot:blurhash",
            "focalPoint": { "@container": "@list", "@id": "toot:focalPoint" },
            "pt": "https://joinpeertube.org/ns#",
            "sc": "http://schema.org/",
            "uuid": "sc:identifier",
        }
    ])
}

pub fn channel_id(base: &str, username: &str) -> String {
    format!("{base}/channels/{username}")
}

fn collections(id: &str, base: &str) -> Value {
    json!({
        "inbox": format!("{id}/inbox"),
        "outbox": format!("{id}/outbox"),
        "followers": format!("{id}/followers"),
        "following": format!("{id}/following"),
        "endpoints": { "sharedInbox": format!("{base}/inbox") },
    })
}

fn merge(mut target: Value, extra: Value) -> Value {
    if let (Some(t), Value::Object(e)) = (target.as_object_mut(), extra) {
        t.extend(e);
    }
    target
}

/// How a stored picture is reached from outside: `state.file_url`.
pub type FileUrl<'a> = &'a dyn Fn(&str) -> String;

fn image(key: Option<&String>, file_url: FileUrl) -> Value {
    match key {
        Some(key) => json!({ "type": "Image", "mediaType": mime_for_key(key), "url": file_url(key) }),
        None => Value::Null,
    }
}

/// What the Person and the channel share: the face and words of the account.
fn profile(base: &str, account: &Account, file_url: FileUrl) -> Value {
    let text = Links { base, rel_me: false };
    let field_links = Links { base, rel_me: true };
    let mut face = json!({
        "summary": to_html(&account.note, &text),
        "url": format!("{base}/@{}", account.username),
        "published": rfc3339(account.created_at),
        "manuallyApprovesFollowers": account.locked,
        "discoverable": account.profile.discoverable,
        "indexable": account.profile.indexable,
        "attachment": account.profile.fields.iter().map(|f| json!({
            "type": "PropertyValue",
            "name": f.name,
            "value": field_html(&f.value, &field_links),
        })).collect::<Vec<_>>(),
    });
    for (name, key) in [
        ("icon", account.profile.avatar_key.as_ref()),
        ("image", account.profile.header_key.as_ref()),
    ] {
        let picture = image(key, file_url);
        if !picture.is_null() {
            face[name] = picture;
        }
    }
    if let Some(updated) = account.profile.updated_at {
        face["updated"] = json!(rfc3339(updated));
    }
    face
}

pub fn person(base: &str, account: &Account, file_url: FileUrl) -> Value {
    let id = person_id(base, &account.username);
    let person = merge(
        json!({
            "@context": context(),
            "id": id,
            "type": if account.profile.bot { "Service" } else { "Person" },
            "preferredUsername": account.username,
            "name": if account.display_name.is_empty() { &account.username } else { &account.display_name },
            "publicKey": {
                "id": format!("{id}#main-key"),
                "owner": id,
                "publicKeyPem": account.public_key_pem,
            },
        }),
        collections(&id, base),
    );
    merge(person, profile(base, account, file_url))
}

pub fn channel(base: &str, account: &Account, file_url: FileUrl) -> Value {
    let id = channel_id(base, &account.username);
    let owner = person_id(base, &account.username);
    let name = if account.display_name.is_empty() {
        &account.username
    } else {
        &account.display_name
    };
    let face = profile(base, account, file_url);
    let group = merge(
        json!({
            "@context": context(),
            "id": id,
            "type": "Group",
            "preferredUsername": format!("{}_channel", account.username),
            "name": format!("{name}'s videos"),
            "attributedTo": [{ "type": "Person", "id": owner }],
            // The channel signs with its account's key: one identity, two actor faces.
            "publicKey": {
                "id": format!("{id}#main-key"),
                "owner": id,
                "publicKeyPem": account.public_key_pem,
            },
        }),
        collections(&id, base),
    );
    merge(group, face)
}

pub fn instance_actor(base: &str, host: &str, public_key_pem: &str) -> Value {
    let id = format!("{base}/actor");
    json!({
        "@context": context(),
        "id": id,
        "type": "Application",
        "preferredUsername": super::instance::USERNAME,
        "name": host,
        "summary": "The server itself: it signs fetches and follows other instances to mirror their videos.",
        "url": base,
        "manuallyApprovesFollowers": true,
        "inbox": format!("{id}/inbox"),
        "outbox": format!("{id}/outbox"),
        "endpoints": { "sharedInbox": format!("{base}/inbox") },
        "publicKey": { "id": format!("{id}#main-key"), "owner": id, "publicKeyPem": public_key_pem },
    })
}
