//! Discovery as other servers do it: WebFinger, host-meta, NodeInfo, and actor documents by
//! content negotiation, checked against the shape of Mastodon's own captured objects.

mod common;

use serde_json::Value;

const AP: &str = "application/activity+json";
const LD: &str = "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"";

fn mastodon_person() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/fixtures/activitypub/mastodon-person.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("shared fixture")).expect("json")
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
    let via_profile: Value = app
        .http
        .get(format!("{}/@alice", app.url))
        .header("Accept", AP)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(via_profile["id"], actor_url.as_str());

    // The channel PeerTube needs, and the instance actor.
    let channel: Value = app
        .http
        .get(format!("{}/channels/alice", app.url))
        .header("Accept", AP)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(channel["type"], "Group");
    assert_eq!(channel["attributedTo"][0]["id"], actor_url.as_str());
    let instance: Value = app
        .http
        .get(format!("{}/actor", app.url))
        .header("Accept", AP)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
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
