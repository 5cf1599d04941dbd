//! Actor documents: every account is a `Person`, with a default channel `Group` (PeerTube
//! accepts a video only when a channel is in `attributedTo`), and the instance is an
//! `Application`. Extension terms are defined inline, as Mastodon does: remote servers do not
//! fetch third-party contexts.

use serde_json::{Value, json};

use crate::domain::{
    account::{Account, person_id},
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

pub fn person(base: &str, account: &Account) -> Value {
    let id = person_id(base, &account.username);
    merge(
        json!({
            "@context": context(),
            "id": id,
            "type": "Person",
            "preferredUsername": account.username,
            "name": if account.display_name.is_empty() { &account.username } else { &account.display_name },
            "summary": "",
            "url": format!("{base}/@{}", account.username),
            "published": rfc3339(account.created_at),
            "manuallyApprovesFollowers": account.locked,
            "discoverable": true,
            "publicKey": {
                "id": format!("{id}#main-key"),
                "owner": id,
                "publicKeyPem": account.public_key_pem,
            },
        }),
        collections(&id, base),
    )
}

pub fn channel(base: &str, account: &Account) -> Value {
    let id = channel_id(base, &account.username);
    let owner = person_id(base, &account.username);
    let name = if account.display_name.is_empty() {
        &account.username
    } else {
        &account.display_name
    };
    merge(
        json!({
            "@context": context(),
            "id": id,
            "type": "Group",
            "preferredUsername": format!("{}_channel", account.username),
            "name": format!("{name}'s videos"),
            "summary": "",
            "url": format!("{base}/@{}", account.username),
            "published": rfc3339(account.created_at),
            "attributedTo": [{ "type": "Person", "id": owner }],
            // The channel signs with its account's key: one identity, two actor faces.
            "publicKey": {
                "id": format!("{id}#main-key"),
                "owner": id,
                "publicKeyPem": account.public_key_pem,
            },
        }),
        collections(&id, base),
    )
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
