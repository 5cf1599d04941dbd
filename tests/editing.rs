//! What apps keep per post and per reader: edits with their history (sent to and received
//! from another server as `Update`), bookmarks, pins, markers, a media description changed by
//! multipart, and the fields strict clients parse (Relationship, role, last_status_at, a
//! video's duration and frame rate, the app a post came from).

mod common;

use common::Backend;
use reqwest::Method;
use serde_json::{Value, json};

fn contents(history: &Value) -> Vec<String> {
    history
        .as_array()
        .expect("a list")
        .iter()
        .map(|v| v["content"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn an_edit_keeps_its_history_here_and_on_the_followers_server() {
    let home = common::start_federated(Backend::SqliteLocal, |_| {}).await;
    let there = common::start_federated(Backend::SqliteLocal, |_| {}).await;
    let alice = home.user("alice").await;
    let mallory = home.user("mallory").await;
    let bob = there.user("bob").await;

    there.follow_remote(&bob, &home, "alice").await;

    let (status, post) = home
        .api(
            &alice,
            Method::POST,
            "/api/v1/statuses",
            Some(json!({"status": "the lake at dawn", "language": "en"})),
        )
        .await;
    assert_eq!(status, 200, "{post}");
    assert_eq!(post["edited_at"], Value::Null);
    assert_eq!(post["language"], "en");
    let id = post["id"].as_str().expect("id").to_owned();
    let uri = post["uri"].as_str().expect("uri").to_owned();
    let remote_id = common::eventually(20, "the post to reach bob", || async {
        let (_, timeline) = there.api(&bob, Method::GET, "/api/v1/timelines/home", None).await;
        timeline.as_array().and_then(|items| {
            items
                .iter()
                .find(|s| s["uri"] == uri.as_str())
                .and_then(|s| s["id"].as_str().map(str::to_owned))
        })
    })
    .await;

    // Refused, and nothing changes: someone else's post, a poll, other media, a bad language.
    let path = format!("/api/v1/statuses/{id}");
    let (status, _) = home
        .api(&mallory, Method::PUT, &path, Some(json!({"status": "hijacked"})))
        .await;
    assert_eq!(status, 404);
    let (status, body) = home
        .api(
            &alice,
            Method::PUT,
            &path,
            Some(json!({"status": "x", "poll": {"options": ["a", "b"], "expires_in": 600}})),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = home
        .api(
            &alice,
            Method::PUT,
            &path,
            Some(json!({"status": "x", "media_ids": ["0190f0f0-0000-7000-8000-000000000000"]})),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|m| m.contains("delete the post")),
        "{body}"
    );
    let (status, _) = home
        .api(
            &alice,
            Method::PUT,
            &path,
            Some(json!({"status": "x", "language": "English"})),
        )
        .await;
    assert_eq!(status, 422);
    let (_, history) = home
        .api(&alice, Method::GET, &format!("{path}/history"), None)
        .await;
    assert_eq!(contents(&history), vec!["<p>the lake at dawn</p>"]);

    // The edit, as a form, the way Mastodon.py sends it.
    let response = home
        .http
        .put(format!("{}{path}", home.url))
        .bearer_auth(&alice)
        .form(&[("status", "the lake at dawn, in fog"), ("spoiler_text", "grey")])
        .send()
        .await
        .expect("edit");
    assert_eq!(response.status(), 200);
    let edited: Value = response.json().await.expect("json");
    assert_eq!(edited["content"], "<p>the lake at dawn, in fog</p>");
    assert_eq!(edited["spoiler_text"], "grey");
    assert_eq!(edited["sensitive"], true, "a content warning hides the post");
    assert_eq!(edited["language"], "en", "kept as it was");
    assert!(edited["edited_at"].is_string(), "{edited}");
    let (_, source) = home
        .api(&alice, Method::GET, &format!("{path}/source"), None)
        .await;
    assert_eq!(
        source,
        json!({"id": id, "text": "the lake at dawn, in fog", "spoiler_text": "grey"})
    );
    let (status, _) = home
        .api(&mallory, Method::GET, &format!("{path}/source"), None)
        .await;
    assert_eq!(status, 404, "the source is the author's");
    let (_, history) = home
        .api(&mallory, Method::GET, &format!("{path}/history"), None)
        .await;
    assert_eq!(
        contents(&history),
        vec!["<p>the lake at dawn</p>", "<p>the lake at dawn, in fog</p>"]
    );
    assert_eq!(history[0]["spoiler_text"], "");
    assert_eq!(history[1]["spoiler_text"], "grey");
    assert_eq!(history[1]["created_at"], edited["edited_at"]);

    // The same text again is no edit: no third version.
    home.api(
        &alice,
        Method::PUT,
        &path,
        Some(json!({"status": "the lake at dawn, in fog"})),
    )
    .await;
    let (_, history) = home
        .api(&alice, Method::GET, &format!("{path}/history"), None)
        .await;
    assert_eq!(history.as_array().map(Vec::len), Some(2));

    // bob's server got the Update: the new text, marked edited, with both versions.
    let there_path = format!("/api/v1/statuses/{remote_id}");
    let seen = common::eventually(20, "the edit to reach bob", || async {
        let (_, s) = there.api(&bob, Method::GET, &there_path, None).await;
        (s["content"] == "<p>the lake at dawn, in fog</p>").then_some(s)
    })
    .await;
    assert!(seen["edited_at"].is_string(), "{seen}");
    assert_eq!(seen["spoiler_text"], "grey");
    assert_eq!(seen["language"], "en");
    let (_, history) = there
        .api(&bob, Method::GET, &format!("{there_path}/history"), None)
        .await;
    assert_eq!(
        contents(&history),
        vec!["<p>the lake at dawn</p>", "<p>the lake at dawn, in fog</p>"]
    );
    // And the object served at its id says when it was edited.
    let object: Value = home
        .http
        .get(&uri)
        .header("Accept", "application/activity+json")
        .send()
        .await
        .expect("object")
        .json()
        .await
        .expect("json");
    assert!(object["updated"].is_string(), "{object}");
    assert_eq!(object["contentMap"]["en"], object["content"]);
}

both_backends!(bookmarks_pins_and_markers, |backend| async move {
    let app = common::start(backend).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let post = |token: String, text: &'static str, visibility: &'static str| {
        let app = &app;
        async move {
            let (status, body) = app
                .api(
                    &token,
                    Method::POST,
                    "/api/v1/statuses",
                    Some(json!({"status": text, "visibility": visibility})),
                )
                .await;
            assert_eq!(status, 200, "{body}");
            body["id"].as_str().expect("id").to_owned()
        }
    };
    let first = post(alice.clone(), "one", "public").await;
    let second = post(alice.clone(), "two", "public").await;
    let secret = post(alice.clone(), "for bob's eyes only", "direct").await;

    // Bookmarks are bob's own: listed newest first, marked on the post, and gone when undone.
    for id in [&first, &second] {
        let (status, s) = app
            .api(
                &bob,
                Method::POST,
                &format!("/api/v1/statuses/{id}/bookmark"),
                None,
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(s["bookmarked"], true);
    }
    let (status, _) = app
        .api(
            &bob,
            Method::POST,
            &format!("/api/v1/statuses/{secret}/bookmark"),
            None,
        )
        .await;
    assert_eq!(status, 404, "a post bob may not see cannot be bookmarked");
    let response = app
        .http
        .get(format!("{}/api/v1/bookmarks?limit=1", app.url))
        .bearer_auth(&bob)
        .send()
        .await
        .expect("bookmarks");
    let link = response
        .headers()
        .get("link")
        .and_then(|v| v.to_str().ok())
        .expect("a Link to the next page")
        .to_owned();
    let page: Value = response.json().await.expect("json");
    assert_eq!(page[0]["id"], second.as_str());
    let next = link
        .split(['<', '>'])
        .nth(1)
        .expect("next url")
        .replace(&app.url, "");
    let (_, page) = app.api(&bob, Method::GET, &next, None).await;
    assert_eq!(page[0]["id"], first.as_str());
    let (_, list) = app.api(&alice, Method::GET, "/api/v1/bookmarks", None).await;
    assert_eq!(list, json!([]), "alice bookmarked nothing");
    let (_, s) = app
        .api(&alice, Method::GET, &format!("/api/v1/statuses/{first}"), None)
        .await;
    assert_eq!(s["bookmarked"], false, "bob's bookmark is not alice's");
    app.api(
        &bob,
        Method::POST,
        &format!("/api/v1/statuses/{first}/unbookmark"),
        None,
    )
    .await;
    let (_, list) = app.api(&bob, Method::GET, "/api/v1/bookmarks", None).await;
    assert_eq!(list.as_array().map(Vec::len), Some(1));

    // Pins: alice's own, not direct, five at most; the profile lists them.
    let (status, _) = app
        .api(&bob, Method::POST, &format!("/api/v1/statuses/{first}/pin"), None)
        .await;
    assert_eq!(status, 422, "bob cannot pin alice's post");
    let (status, _) = app
        .api(
            &alice,
            Method::POST,
            &format!("/api/v1/statuses/{secret}/pin"),
            None,
        )
        .await;
    assert_eq!(status, 422, "a direct post is not for a profile");
    let (status, s) = app
        .api(
            &alice,
            Method::POST,
            &format!("/api/v1/statuses/{first}/pin"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(s["pinned"], true);
    let mut more = Vec::new();
    for text in ["three", "four", "five", "six"] {
        more.push(post(alice.clone(), text, "public").await);
    }
    for id in &more[..3] {
        let (status, _) = app
            .api(&alice, Method::POST, &format!("/api/v1/statuses/{id}/pin"), None)
            .await;
        assert_eq!(status, 200);
    }
    app.api(
        &alice,
        Method::POST,
        &format!("/api/v1/statuses/{second}/pin"),
        None,
    )
    .await;
    let (status, body) = app
        .api(
            &alice,
            Method::POST,
            &format!("/api/v1/statuses/{}/pin", more[3]),
            None,
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|m| m.contains("at most 5")),
        "{body}"
    );
    let (_, me) = app
        .api(&alice, Method::GET, "/api/v1/accounts/verify_credentials", None)
        .await;
    let alice_id = me["id"].as_str().expect("id").to_owned();
    let (_, pinned) = app
        .api(
            &bob,
            Method::GET,
            &format!("/api/v1/accounts/{alice_id}/statuses?pinned=true"),
            None,
        )
        .await;
    let pinned_ids: Vec<&str> = pinned
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|s| s["id"].as_str())
        .collect();
    assert_eq!(pinned_ids.len(), 5);
    assert_eq!(pinned_ids[0], second.as_str(), "newest pin first");
    assert!(!pinned_ids.contains(&more[3].as_str()));
    app.api(
        &alice,
        Method::POST,
        &format!("/api/v1/statuses/{second}/unpin"),
        None,
    )
    .await;
    let (_, pinned) = app
        .api(
            &bob,
            Method::GET,
            &format!("/api/v1/accounts/{alice_id}/statuses?pinned=1"),
            None,
        )
        .await;
    assert_eq!(pinned.as_array().map(Vec::len), Some(4));
    let (_, s) = app
        .api(&alice, Method::GET, &format!("/api/v1/statuses/{second}"), None)
        .await;
    assert_eq!(s["pinned"], false);

    // Markers: none at first, then where bob stopped, counted up by each move.
    let (_, markers) = app.api(&bob, Method::GET, "/api/v1/markers", None).await;
    assert_eq!(markers, json!({}));
    let response = app
        .http
        .post(format!("{}/api/v1/markers", app.url))
        .bearer_auth(&bob)
        .form(&[("home[last_read_id]", first.as_str())])
        .send()
        .await
        .expect("markers");
    assert_eq!(response.status(), 200);
    let saved: Value = response.json().await.expect("json");
    assert_eq!(saved["home"]["last_read_id"], first.as_str());
    assert_eq!(saved["home"]["version"], 0);
    let (_, saved) = app
        .api(
            &bob,
            Method::POST,
            "/api/v1/markers",
            Some(json!({"home": {"last_read_id": second}, "notifications": {"last_read_id": "7"}})),
        )
        .await;
    assert_eq!(saved["home"]["version"], 1);
    assert_eq!(saved["notifications"]["last_read_id"], "7");
    let (_, markers) = app
        .api(&bob, Method::GET, "/api/v1/markers?timeline[]=home", None)
        .await;
    assert_eq!(markers["home"]["last_read_id"], second.as_str());
    assert!(markers["home"]["updated_at"].is_string());
    assert!(markers.get("notifications").is_none(), "only what was asked");
    let (_, theirs) = app.api(&alice, Method::GET, "/api/v1/markers", None).await;
    assert_eq!(theirs, json!({}), "bob's place is his own");
    let (status, _) = app
        .api(&bob, Method::POST, "/api/v1/markers", Some(json!({"home": {}})))
        .await;
    assert_eq!(status, 422);
});

#[tokio::test]
async fn media_descriptions_change_by_multipart_and_a_thumbnail_is_refused() {
    let app = common::start(Backend::SqliteLocal).await;
    let alice = app.user("alice").await;
    let uploaded: Value = app
        .upload(&alice, common::jpeg(64, 48), "a.jpg", "image/jpeg")
        .await
        .json()
        .await
        .expect("json");
    let id = uploaded["id"].as_str().expect("id").to_owned();
    app.wait_processed(&alice, &id).await;
    let put = |form: reqwest::multipart::Form| {
        let app = &app;
        let (alice, id) = (alice.clone(), id.clone());
        async move {
            let response = app
                .http
                .put(format!("{}/api/v1/media/{id}", app.url))
                .bearer_auth(alice)
                .multipart(form)
                .send()
                .await
                .expect("put");
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.expect("json"))
        }
    };
    let (status, media) = put(reqwest::multipart::Form::new()
        .text("description", "a heron, standing")
        .text("focus", "0.5,-0.25"))
    .await;
    assert_eq!(status, 200, "{media}");
    assert_eq!(media["description"], "a heron, standing");
    assert_eq!(media["meta"]["focus"], json!({"x": 0.5, "y": -0.25}));
    let (status, body) = put(reqwest::multipart::Form::new()
        .text("description", "changed?")
        .part(
            "thumbnail",
            reqwest::multipart::Part::bytes(common::jpeg(8, 8)).file_name("t.jpg"),
        ))
    .await;
    assert_eq!(status, 422, "{body}");
    let (_, media) = app
        .api(&alice, Method::GET, &format!("/api/v1/media/{id}"), None)
        .await;
    assert_eq!(media["description"], "a heron, standing", "nothing changed");

    // What a post does not keep is refused, not dropped: a poll, a time to post it at.
    for extra in [
        json!({"poll": {"options": ["yes", "no"], "expires_in": 600}}),
        json!({"scheduled_at": "2030-01-01T00:00:00Z"}),
    ] {
        let mut body = json!({"status": "later", "media_ids": [id]});
        body.as_object_mut()
            .expect("object")
            .extend(extra.as_object().expect("object").clone());
        let (status, answer) = app
            .api(&alice, Method::POST, "/api/v1/statuses", Some(body))
            .await;
        assert_eq!(status, 422, "{answer}");
    }
    // An edit changes an attachment's alt text and focal point, as Elk sends them.
    let (_, post) = app
        .api(
            &alice,
            Method::POST,
            "/api/v1/statuses",
            Some(json!({"status": "heron", "media_ids": [id]})),
        )
        .await;
    let path = format!("/api/v1/statuses/{}", post["id"].as_str().expect("id"));
    let (status, _) = app
        .api(
            &alice,
            Method::PUT,
            &path,
            Some(
                json!({"status": "heron", "media_attributes": [{"id": "someone-elses", "description": "x"}]}),
            ),
        )
        .await;
    assert_eq!(status, 422, "only the post's own media");
    let (status, edited) = app
        .api(
            &alice,
            Method::PUT,
            &path,
            Some(json!({"status": "heron", "media_ids": [id], "media_attributes": [{"id": id, "description": "a heron, flying", "focus": "0.1,0.2"}]})),
        )
        .await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["media_attachments"][0]["description"], "a heron, flying");
    assert_eq!(
        edited["media_attachments"][0]["meta"]["focus"],
        json!({"x": 0.1, "y": 0.2})
    );
    assert!(edited["edited_at"].is_string(), "a new alt text is an edit");
}

#[tokio::test]
async fn whole_entities_for_strict_clients() {
    let app = common::start(Backend::SqliteLocal).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let (_, me) = app
        .api(&alice, Method::GET, "/api/v1/accounts/verify_credentials", None)
        .await;
    assert_eq!(me["last_status_at"], Value::Null);
    assert_eq!(me["role"]["id"], "-99", "{me}");
    assert_eq!(me["role"]["permissions"], "0");
    let alice_id = me["id"].as_str().expect("id").to_owned();
    kaleido::accounts::create(app.db(), "root", "correct horse battery", true)
        .await
        .expect("admin");
    let admin = app.login("root", "correct horse battery").await;
    let (_, root) = app
        .api(&admin, Method::GET, "/api/v1/accounts/verify_credentials", None)
        .await;
    assert_eq!(root["role"]["permissions"], "1");

    // A video's meta: its length, frame rate and bit rate.
    let uploaded: Value = app
        .upload(&alice, common::clip(2, 320, 240), "clip.mp4", "video/mp4")
        .await
        .json()
        .await
        .expect("json");
    let media_id = uploaded["id"].as_str().expect("id").to_owned();
    let (_, video) = app.wait_processed(&alice, &media_id).await;
    let meta = &video["meta"];
    let duration = meta["duration"].as_f64().expect("duration");
    assert!((1.5..=2.5).contains(&duration), "{meta}");
    assert!(
        meta["length"].as_str().is_some_and(|l| l.starts_with("0:00:0")),
        "{meta}"
    );
    assert!(meta["fps"].as_u64().is_some_and(|f| f > 0), "{meta}");
    assert!(
        meta["original"]["bitrate"].as_u64().is_some_and(|b| b > 1000),
        "{meta}"
    );
    assert!(meta["bitrate"].as_u64().is_some_and(|b| b > 1000), "{meta}");
    assert_eq!(meta["original"]["width"], 320);
    assert!(meta["original"]["frame_rate"].is_string(), "{meta}");

    // A post from an app names the app, to its author only; a reply names whom it answers.
    let (_, registered) = app
        .api(
            "",
            Method::POST,
            "/api/v1/apps",
            Some(json!({"client_name": "Heron", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": "read write", "website": "https://heron.example"})),
        )
        .await;
    let heron: Value = app
        .http
        .post(format!("{}/oauth/token", app.url))
        .form(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "correct horse battery"),
            ("client_id", registered["client_id"].as_str().expect("client_id")),
            (
                "client_secret",
                registered["client_secret"].as_str().expect("secret"),
            ),
            ("scope", "read write"),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    assert_eq!(heron["scope"], "read write", "{heron}");
    let heron = heron["access_token"].as_str().expect("token").to_owned();
    let (status, post) = app
        .api(
            &heron,
            Method::POST,
            "/api/v1/statuses",
            Some(json!({"status": "a short film", "media_ids": [media_id]})),
        )
        .await;
    assert_eq!(status, 200, "{post}");
    for key in [
        "favourited",
        "reblogged",
        "bookmarked",
        "muted",
        "pinned",
        "edited_at",
        "reblog",
        "application",
        "language",
    ] {
        assert!(post.get(key).is_some(), "{key} missing from {post}");
    }
    let post_id = post["id"].as_str().expect("id").to_owned();
    // The profile's grid shows the video by its poster, marked as a video.
    let grid = app
        .http
        .get(format!("{}/@alice", app.url))
        .send()
        .await
        .expect("profile")
        .text()
        .await
        .expect("html");
    let poster = video["preview_url"].as_str().expect("poster");
    assert!(grid.contains(&format!("<img src=\"{poster}\"")), "{grid}");
    assert!(grid.contains("<span class=\"visually-hidden\">Video</span>"));
    let (_, reply) = app
        .api(
            &bob,
            Method::POST,
            "/api/v1/statuses",
            Some(json!({"status": "lovely", "in_reply_to_id": post_id})),
        )
        .await;
    assert_eq!(reply["in_reply_to_account_id"], alice_id.as_str());
    assert_eq!(
        post["application"],
        json!({"name": "Heron", "website": "https://heron.example"})
    );
    let (_, seen_by_bob) = app
        .api(&bob, Method::GET, &format!("/api/v1/statuses/{post_id}"), None)
        .await;
    assert_eq!(
        seen_by_bob["application"],
        Value::Null,
        "the app is the author's to know"
    );
    assert_eq!(reply["application"], Value::Null, "bob posted with no app");
    let (_, me) = app
        .api(&alice, Method::GET, "/api/v1/accounts/verify_credentials", None)
        .await;
    let today = &kaleido::domain::time::rfc3339(kaleido::db::now_ms())[..10];
    assert_eq!(me["last_status_at"], today);

    // Every Relationship field Mastodon sends.
    app.api(
        &bob,
        Method::POST,
        &format!("/api/v1/accounts/{alice_id}/follow"),
        None,
    )
    .await;
    let (_, rel) = app
        .api(
            &bob,
            Method::GET,
            &format!("/api/v1/accounts/relationships?id[]={alice_id}"),
            None,
        )
        .await;
    let rel = &rel[0];
    for key in [
        "id",
        "following",
        "showing_reblogs",
        "notifying",
        "languages",
        "followed_by",
        "blocking",
        "blocked_by",
        "muting",
        "muting_notifications",
        "requested",
        "requested_by",
        "domain_blocking",
        "endorsed",
        "note",
    ] {
        assert!(rel.get(key).is_some(), "{key} missing from {rel}");
    }
    assert_eq!(rel["following"], true);
    assert_eq!(rel["showing_reblogs"], true);
    let bob_id = {
        let (_, b) = app
            .api(&bob, Method::GET, "/api/v1/accounts/verify_credentials", None)
            .await;
        b["id"].as_str().expect("id").to_owned()
    };
    app.api(
        &alice,
        Method::POST,
        &format!("/api/v1/accounts/{bob_id}/block"),
        None,
    )
    .await;
    let (_, rel) = app
        .api(
            &bob,
            Method::GET,
            &format!("/api/v1/accounts/relationships?id[]={alice_id}"),
            None,
        )
        .await;
    assert_eq!(rel[0]["blocked_by"], true, "{rel}");
}
