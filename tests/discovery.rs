//! Discovery as other servers do it: WebFinger, host-meta, NodeInfo, and actor documents by
//! content negotiation, checked against the shape of Mastodon's own captured objects.

mod common;

use serde_json::Value;

const AP: &str = "application/activity+json";
const LD: &str = "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"";

/// GETs a URL as an ActivityPub client does and parses the answer.
async fn activity(app: &common::Instance, url: impl reqwest::IntoUrl) -> Value {
    app.http
        .get(url)
        .header("Accept", AP)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json")
}

fn mastodon_person() -> Value {
    common::fixtures::read(&common::fixtures::OURS, "mastodon-person.json")
}

both_backends!(webfinger_nodeinfo_and_actors, |backend| async move {
    let app = common::start(backend).await;
    let token = app.user("alice").await;
    let host = app.url.trim_start_matches("http://").to_owned();

    // WebFinger by acct: and by actor URL.
    let finger = app
        .http
        .get(format!("{}/.well-known/webfinger", app.url))
        .query(&[("resource", format!("acct:alice@{host}"))])
        .send()
        .await
        .expect("get");
    assert_eq!(finger.status(), 200);
    assert!(
        finger.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("application/jrd+json")
    );
    let jrd: Value = finger.json().await.expect("json");
    assert_eq!(jrd["subject"], format!("acct:alice@{host}"));
    let self_link = jrd["links"]
        .as_array()
        .expect("links")
        .iter()
        .find(|l| l["rel"] == "self")
        .expect("self link");
    assert_eq!(self_link["type"], AP);
    let actor_url = self_link["href"].as_str().expect("href").to_owned();
    assert_eq!(actor_url, format!("{}/users/alice", app.url));
    let by_url = app
        .http
        .get(format!("{}/.well-known/webfinger", app.url))
        .query(&[("resource", &actor_url)])
        .send()
        .await
        .expect("get");
    assert_eq!(by_url.status(), 200);
    for (resource, status) in [
        (format!("acct:nobody@{host}"), 404),
        ("acct:alice@elsewhere.example".to_owned(), 404),
        ("acct:alice".to_owned(), 400),
    ] {
        let response = app
            .http
            .get(format!("{}/.well-known/webfinger", app.url))
            .query(&[("resource", &resource)])
            .send()
            .await
            .expect("get");
        assert_eq!(response.status(), status, "{resource}");
    }
    let missing = app
        .http
        .get(format!("{}/.well-known/webfinger", app.url))
        .send()
        .await
        .expect("get");
    assert_eq!(missing.status(), 400);

    let host_meta = app
        .http
        .get(format!("{}/.well-known/host-meta", app.url))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("text");
    assert!(host_meta.contains("/.well-known/webfinger?resource={uri}"));

    // The Person, with both ActivityPub media types; the keys Mastodon's own Person has.
    for accept in [AP, LD] {
        let response = app
            .http
            .get(&actor_url)
            .header("Accept", accept)
            .send()
            .await
            .expect("get");
        assert_eq!(response.status(), 200, "{accept}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .expect("ascii")
                .starts_with(AP)
        );
        let person: Value = response.json().await.expect("json");
        for key in [
            "id",
            "type",
            "preferredUsername",
            "inbox",
            "outbox",
            "followers",
            "following",
            "url",
            "publicKey",
            "endpoints",
        ] {
            assert!(mastodon_person().get(key).is_some(), "fixture lacks {key}");
            assert!(person.get(key).is_some(), "{key} missing: {person}");
        }
        assert_eq!(person["type"], "Person");
        assert_eq!(person["id"], actor_url.as_str());
        assert_eq!(person["publicKey"]["owner"], actor_url.as_str());
        assert_eq!(person["publicKey"]["id"], format!("{actor_url}#main-key"));
        assert!(
            person["publicKey"]["publicKeyPem"]
                .as_str()
                .expect("pem")
                .starts_with("-----BEGIN PUBLIC KEY-----")
        );
        assert_eq!(person["endpoints"]["sharedInbox"], format!("{}/inbox", app.url));
        let context = person["@context"].as_array().expect("context");
        assert_eq!(context[0], "https://www.w3.org/ns/activitystreams");
        assert_eq!(context[1], "https://w3id.org/security/v1");
        assert!(
            context.iter().skip(2).all(Value::is_object),
            "no third-party context URLs"
        );
    }
    // A browser asking the same URL is sent to the profile page; the profile URL answers
    // ActivityPub clients with the Person.
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let html = browser
        .get(&actor_url)
        .header("Accept", "text/html")
        .send()
        .await
        .expect("get");
    assert_eq!(html.status(), 303);
    assert_eq!(html.headers()["location"], "/@alice");
    let via_profile: Value = activity(&app, format!("{}/@alice", app.url)).await;
    assert_eq!(via_profile["id"], actor_url.as_str());

    // The channel PeerTube needs, and the instance actor.
    let channel: Value = activity(&app, format!("{}/channels/alice", app.url)).await;
    assert_eq!(channel["type"], "Group");
    assert_eq!(channel["attributedTo"][0]["id"], actor_url.as_str());
    let instance: Value = activity(&app, format!("{}/actor", app.url)).await;
    assert_eq!(instance["type"], "Application");
    let instance_again: Value = app
        .http
        .get(format!("{}/actor", app.url))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(
        instance["publicKey"]["publicKeyPem"], instance_again["publicKey"]["publicKeyPem"],
        "one stable key"
    );

    // NodeInfo 2.0 and 2.1, with usage that counts.
    let status: Value = app
        .http
        .post(format!("{}/api/v1/statuses", app.url))
        .bearer_auth(&token)
        .json(&serde_json::json!({"status": "hello fediverse"}))
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    assert!(status["id"].is_string());
    let links: Value = app
        .http
        .get(format!("{}/.well-known/nodeinfo", app.url))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    for link in links["links"].as_array().expect("links") {
        let info: Value = app
            .http
            .get(link["href"].as_str().expect("href"))
            .send()
            .await
            .expect("get")
            .json()
            .await
            .expect("json");
        assert_eq!(info["software"]["name"], "kaleido");
        assert_eq!(info["protocols"], serde_json::json!(["activitypub"]));
        assert_eq!(info["usage"]["users"]["total"], 1);
        assert_eq!(info["usage"]["users"]["activeMonth"], 1);
        assert_eq!(info["usage"]["localPosts"], 1);
        assert_eq!(info["openRegistrations"], false);
        assert!(
            info["metadata"]["acceptedMediaTypes"]
                .as_array()
                .expect("types")
                .iter()
                .any(|t| t == "video/mp4")
        );
    }
    app.stop().await;
});

both_backends!(statuses_as_notes_and_the_outbox, |backend| async move {
    let app = common::start(backend).await;
    let token = app.user("alice").await;
    let media: Value = app
        .upload(&token, common::jpeg(400, 300), "fox.jpg", "image/jpeg")
        .await
        .json()
        .await
        .expect("json");
    let media_id = media["id"].as_str().expect("id").to_owned();
    app.wait_processed(&token, &media_id).await;
    app.http
        .put(format!("{}/api/v1/media/{media_id}", app.url))
        .bearer_auth(&token)
        .json(&serde_json::json!({"focus": "0.25,-0.5"}))
        .send()
        .await
        .expect("put");
    let post = |body: Value| {
        let (http, url, token) = (app.http.clone(), app.url.clone(), token.clone());
        async move {
            http.post(format!("{url}/api/v1/statuses"))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .expect("post")
                .json::<Value>()
                .await
                .expect("json")
        }
    };
    let status =
        post(serde_json::json!({"status": "A fox", "media_ids": [media_id], "spoiler_text": "animals"}))
            .await;
    let uri = status["uri"].as_str().expect("uri").to_owned();

    // The status's id answers ActivityPub clients with a Note in Mastodon's shape.
    let note: Value = activity(&app, &uri).await;
    let fixture = common::fixtures::read(&common::fixtures::OURS, "mastodon-create-note-media.json");
    for key in [
        "id",
        "type",
        "summary",
        "inReplyTo",
        "published",
        "url",
        "attributedTo",
        "to",
        "cc",
        "sensitive",
        "content",
        "attachment",
    ] {
        assert!(fixture["object"].get(key).is_some(), "fixture lacks {key}");
        assert!(note.get(key).is_some(), "{key} missing: {note}");
    }
    assert_eq!(note["type"], "Note");
    assert_eq!(note["id"], uri.as_str());
    assert_eq!(note["attributedTo"], format!("{}/users/alice", app.url));
    assert_eq!(
        note["to"],
        serde_json::json!(["https://www.w3.org/ns/activitystreams#Public"])
    );
    assert_eq!(note["summary"], "animals");
    assert_eq!(note["sensitive"], true);
    let attachment = &note["attachment"][0];
    for key in [
        "type",
        "mediaType",
        "url",
        "name",
        "blurhash",
        "focalPoint",
        "width",
        "height",
    ] {
        assert!(
            fixture["object"]["attachment"][0].get(key).is_some(),
            "fixture attachment lacks {key}"
        );
        assert!(attachment.get(key).is_some(), "{key} missing: {attachment}");
    }
    assert_eq!(attachment["name"], "a test file");
    assert_eq!(attachment["mediaType"], "image/jpeg");
    assert_eq!(attachment["focalPoint"], serde_json::json!([0.25, -0.5]));
    assert_eq!(
        (attachment["width"].as_u64(), attachment["height"].as_u64()),
        (Some(400), Some(300))
    );

    // Browsers asking the same id go to the post page; followers-only posts are not served.
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let page = browser
        .get(&uri)
        .header("Accept", "text/html")
        .send()
        .await
        .expect("get");
    assert_eq!(page.status(), 303);
    let private = post(serde_json::json!({"status": "friends only", "visibility": "private"})).await;
    let hidden = app
        .http
        .get(private["uri"].as_str().expect("uri"))
        .header("Accept", AP)
        .send()
        .await
        .expect("get");
    assert_eq!(hidden.status(), 404);
    let unlisted = post(serde_json::json!({"status": "quiet", "visibility": "unlisted"})).await;
    let quiet: Value = activity(&app, unlisted["uri"].as_str().expect("uri")).await;
    assert_eq!(
        quiet["cc"],
        serde_json::json!(["https://www.w3.org/ns/activitystreams#Public"])
    );

    // The outbox: a collection, its first page with the public post as a Create.
    let outbox_url = format!("{}/users/alice/outbox", app.url);
    let outbox: Value = activity(&app, &outbox_url).await;
    assert_eq!(outbox["type"], "OrderedCollection");
    // As on Mastodon, the count is every post; the pages list only the public ones.
    assert_eq!(outbox["totalItems"], 3);
    let first: Value = activity(&app, outbox["first"].as_str().expect("first")).await;
    let items = first["orderedItems"].as_array().expect("items");
    assert_eq!(items.len(), 1, "only the public post is listed");
    assert_eq!(items[0]["type"], "Create");
    assert_eq!(items[0]["object"]["id"], uri.as_str());
    let followers: Value = activity(&app, format!("{}/users/alice/followers", app.url)).await;
    assert_eq!(followers["totalItems"], 0);
    app.stop().await;
});
