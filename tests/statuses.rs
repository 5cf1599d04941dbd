//! Posts with photos: albums, alt text, content warnings, visibility, timelines and deletion.

mod common;

use serde_json::{Value, json};

async fn photo(app: &common::Instance, token: &str, description: &str) -> String {
    let part = reqwest::multipart::Part::bytes(common::tiny_jpeg()).file_name("p.jpg");
    let form = reqwest::multipart::Form::new()
        .part("file", part)
        .text("description", description.to_owned());
    let response = app
        .http
        .post(format!("{}/api/v2/media", app.url))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .expect("upload");
    assert_eq!(response.status(), 202);
    let body: Value = response.json().await.expect("json");
    body["id"].as_str().expect("id").to_owned()
}

async fn post(app: &common::Instance, token: &str, body: Value) -> reqwest::Response {
    app.http
        .post(format!("{}/api/v1/statuses", app.url))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("post")
}

async fn get_json(app: &common::Instance, path: &str, token: Option<&str>) -> (u16, Value, Option<String>) {
    let mut request = app.http.get(format!("{}{path}", app.url));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("get");
    let status = response.status().as_u16();
    let link = response
        .headers()
        .get("link")
        .map(|v| v.to_str().expect("ascii").to_owned());
    (status, response.json().await.expect("json"), link)
}

both_backends!(album_with_alt_text_and_content_warning, |backend| async move {
    let app = common::start(backend).await;
    let token = app.user("alice").await;
    let first = photo(&app, &token, "a red fox in the snow").await;
    let second = photo(&app, &token, "the same fox, leaving").await;
    // Alt text and focal point can be edited before posting.
    let edited = app
        .http
        .put(format!("{}/api/v1/media/{second}", app.url))
        .bearer_auth(&token)
        .json(&json!({"description": "the fox walks away", "focus": "0.5,-0.25"}))
        .send()
        .await
        .expect("put");
    assert_eq!(edited.status(), 200);
    let bad_focus = app
        .http
        .put(format!("{}/api/v1/media/{second}", app.url))
        .bearer_auth(&token)
        .json(&json!({"focus": "3,0"}))
        .send()
        .await
        .expect("put");
    assert_eq!(bad_focus.status(), 422);

    let response = post(
        &app,
        &token,
        json!({
            "status": "Foxes <3\n\nSeen this morning.",
            "media_ids": [first, second],
            "spoiler_text": "wild animals",
            "visibility": "public",
        }),
    )
    .await;
    assert_eq!(response.status(), 200);
    let status: Value = response.json().await.expect("json");
    let id = status["id"].as_str().expect("id").to_owned();
    assert_eq!(status["content"], "<p>Foxes &lt;3</p><p>Seen this morning.</p>");
    assert_eq!(status["spoiler_text"], "wild animals");
    assert_eq!(status["sensitive"], true, "a content warning hides the media too");
    assert_eq!(status["visibility"], "public");
    assert!(
        status["url"]
            .as_str()
            .expect("url")
            .ends_with(&format!("/@alice/{id}"))
    );
    assert!(
        status["uri"]
            .as_str()
            .expect("uri")
            .ends_with(&format!("/users/alice/statuses/{id}"))
    );
    let attachments = status["media_attachments"].as_array().expect("media");
    assert_eq!(attachments.len(), 2);
    assert_eq!(attachments[0]["description"], "a red fox in the snow");
    assert_eq!(attachments[1]["description"], "the fox walks away");
    assert_eq!(attachments[1]["meta"]["focus"], json!({"x": 0.5, "y": -0.25}));

    // Published once both photos are processed; then anyone can read it.
    let published = common::eventually(20, "publication", || async {
        let (code, body, _) = get_json(&app, &format!("/api/v1/statuses/{id}"), None).await;
        (code == 200 && body["kaleido"]["published"] == true).then_some(body)
    })
    .await;
    assert!(
        published["media_attachments"][0]["url"]
            .as_str()
            .is_some_and(|u| u.contains("/display."))
    );

    let (_, timeline, _) = get_json(&app, "/api/v1/timelines/public?local=true", None).await;
    assert_eq!(timeline[0]["id"], id.as_str());
    let (_, home, _) = get_json(&app, "/api/v1/timelines/home", Some(&token)).await;
    assert_eq!(home[0]["id"], id.as_str());
    let (code, _, _) = get_json(&app, "/api/v1/timelines/home", None).await;
    assert_eq!(code, 401);
    app.stop().await;
});

both_backends!(timelines_page_and_respect_visibility, |backend| async move {
    let app = common::start(backend).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let mut public = Vec::new();
    for n in 0..5 {
        let body: Value = post(&app, &alice, json!({"status": format!("post {n}")}))
            .await
            .json()
            .await
            .expect("json");
        public.push(body["id"].as_str().expect("id").to_owned());
    }
    let unlisted: Value = post(&app, &alice, json!({"status": "quiet", "visibility": "unlisted"}))
        .await
        .json()
        .await
        .expect("json");
    let private: Value = post(
        &app,
        &alice,
        json!({"status": "friends", "visibility": "private"}),
    )
    .await
    .json()
    .await
    .expect("json");
    let private_id = private["id"].as_str().expect("id");

    // Newest first, two at a time, following the Link header.
    let (_, page, link) = get_json(&app, "/api/v1/timelines/public?limit=2", None).await;
    let ids: Vec<&str> = page
        .as_array()
        .expect("list")
        .iter()
        .map(|s| s["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, vec![public[4].as_str(), public[3].as_str()]);
    let link = link.expect("Link header");
    let next = link.split(';').next().expect("next").trim_matches(['<', '>']);
    assert!(next.contains(&format!("max_id={}", public[3])), "{link}");
    let path = next
        .split_once(&app.url)
        .map(|(_, p)| p)
        .expect("own url")
        .to_owned();
    assert!(
        path.contains("limit=2"),
        "the next page is of the same size: {path}"
    );
    let (_, page, _) = get_json(&app, &path, None).await;
    let ids: Vec<&str> = page
        .as_array()
        .expect("list")
        .iter()
        .map(|s| s["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, vec![public[2].as_str(), public[1].as_str()]);
    let (_, newer, _) = get_json(
        &app,
        &format!("/api/v1/timelines/public?min_id={}&limit=2", public[1]),
        None,
    )
    .await;
    let ids: Vec<&str> = newer
        .as_array()
        .expect("list")
        .iter()
        .map(|s| s["id"].as_str().expect("id"))
        .collect();
    assert_eq!(
        ids,
        vec![public[3].as_str(), public[2].as_str()],
        "min_id pages forward, newest first"
    );

    // Unlisted and private posts stay off the public timeline; private ones are the author's.
    let (_, all, _) = get_json(&app, "/api/v1/timelines/public?limit=40", None).await;
    let all_ids: Vec<&str> = all
        .as_array()
        .expect("list")
        .iter()
        .map(|s| s["id"].as_str().expect("id"))
        .collect();
    assert!(!all_ids.contains(&unlisted["id"].as_str().expect("id")));
    assert!(!all_ids.contains(&private_id));
    assert_eq!(
        get_json(&app, &format!("/api/v1/statuses/{private_id}"), None)
            .await
            .0,
        404
    );
    assert_eq!(
        get_json(&app, &format!("/api/v1/statuses/{private_id}"), Some(&bob))
            .await
            .0,
        404
    );
    assert_eq!(
        get_json(&app, &format!("/api/v1/statuses/{private_id}"), Some(&alice))
            .await
            .0,
        200
    );
    app.stop().await;
});

both_backends!(invalid_posts_are_refused, |backend| async move {
    let app = common::start(backend).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let bobs_photo = photo(&app, &bob, "bob's").await;
    for (body, why) in [
        (json!({"status": ""}), "empty"),
        (json!({"status": "x", "visibility": "everyone"}), "bad visibility"),
        (
            json!({"status": "x", "media_ids": [bobs_photo]}),
            "someone else's media",
        ),
        (
            json!({"status": "x", "media_ids": ["no-such-id"]}),
            "unknown media",
        ),
        (json!({"status": "x".repeat(5001)}), "too long"),
    ] {
        let response = post(&app, &alice, body).await;
        assert_eq!(response.status(), 422, "{why}");
        let error: Value = response.json().await.expect("json");
        assert!(error["error_description"].is_string(), "{why}");
    }
    let mut many = Vec::new();
    for _ in 0..11 {
        many.push(photo(&app, &alice, "one of many").await);
    }
    let response = post(&app, &alice, json!({"status": "too many", "media_ids": many})).await;
    assert_eq!(response.status(), 422);
    let video: Value = app
        .upload(&alice, common::clip(1, 160, 90), "v.mp4", "video/mp4")
        .await
        .json()
        .await
        .expect("json");
    let mixed = post(&app, &alice, json!({"media_ids": [video["id"], many[0]]})).await;
    assert_eq!(mixed.status(), 422, "a video and a photo together");
    // Forms work too, with media_ids[] repeated.
    let form = app
        .http
        .post(format!("{}/api/v1/statuses", app.url))
        .bearer_auth(&alice)
        .body(format!(
            "status=from+a+form&media_ids[]={}&media_ids[]={}&sensitive=true",
            many[0], many[1]
        ))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .send()
        .await
        .expect("post");
    assert_eq!(form.status(), 200);
    let body: Value = form.json().await.expect("json");
    assert_eq!(body["media_attachments"].as_array().expect("list").len(), 2);
    assert_eq!(body["sensitive"], true);
    app.stop().await;
});

both_backends!(
    deleting_a_post_removes_media_nobody_else_uses,
    |backend| async move {
        let app = common::start(backend).await;
        let alice = app.user("alice").await;
        let bob = app.user("bob").await;
        let shared = photo(&app, &alice, "shared").await;
        let own = photo(&app, &alice, "own").await;
        let first: Value = post(&app, &alice, json!({"media_ids": [shared, own]}))
            .await
            .json()
            .await
            .expect("json");
        let second: Value = post(&app, &alice, json!({"media_ids": [shared]}))
            .await
            .json()
            .await
            .expect("json");
        let (first_id, second_id) = (
            first["id"].as_str().expect("id"),
            second["id"].as_str().expect("id"),
        );
        common::eventually(20, "both published", || async {
            let a = get_json(&app, &format!("/api/v1/statuses/{first_id}"), None)
                .await
                .1;
            let b = get_json(&app, &format!("/api/v1/statuses/{second_id}"), None)
                .await
                .1;
            (a["kaleido"]["published"] == true && b["kaleido"]["published"] == true).then_some(())
        })
        .await;
        let store = app.running.state.store.clone();
        let objects_of = |id: String| {
            let store = store.clone();
            async move { store.list(&format!("media/{id}/")).await.expect("list").len() }
        };
        assert_eq!(objects_of(own.clone()).await, 3);

        // Only the author may delete.
        let refused = app
            .http
            .delete(format!("{}/api/v1/statuses/{first_id}", app.url))
            .bearer_auth(&bob)
            .send()
            .await
            .expect("delete");
        assert_eq!(refused.status(), 404);
        let deleted = app
            .http
            .delete(format!("{}/api/v1/statuses/{first_id}", app.url))
            .bearer_auth(&alice)
            .send()
            .await
            .expect("delete");
        assert_eq!(deleted.status(), 200);
        assert_eq!(
            get_json(&app, &format!("/api/v1/statuses/{first_id}"), None)
                .await
                .0,
            404
        );
        common::eventually(20, "purge of the unshared photo", || async {
            (objects_of(own.clone()).await == 0).then_some(())
        })
        .await;
        assert_eq!(
            objects_of(shared.clone()).await,
            3,
            "still used by the second post"
        );
        let (code, _, _) = get_json(&app, &format!("/api/v1/statuses/{second_id}"), None).await;
        assert_eq!(code, 200);

        app.http
            .delete(format!("{}/api/v1/statuses/{second_id}", app.url))
            .bearer_auth(&alice)
            .send()
            .await
            .expect("delete");
        common::eventually(20, "purge of the shared photo", || async {
            (objects_of(shared.clone()).await == 0).then_some(())
        })
        .await;
        let originals = app.running.state.store.list("originals/").await.expect("list");
        assert!(originals.is_empty(), "originals purged too: {originals:?}");
        app.stop().await;
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_wait_for_their_media() {
    // No workers: the photo stays queued, so the post waits unpublished.
    let app = common::start_with(common::Backend::SqliteLocal, |c| c.workers.count = 0).await;
    let token = app.user("alice").await;
    let media = photo(&app, &token, "pending").await;
    let status: Value = post(&app, &token, json!({"status": "soon", "media_ids": [media]}))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(status["kaleido"]["published"], false);
    let id = status["id"].as_str().expect("id").to_owned();
    let (_, timeline, _) = get_json(&app, "/api/v1/timelines/public", None).await;
    assert_eq!(timeline.as_array().expect("list").len(), 0);
    assert_eq!(
        get_json(&app, &format!("/api/v1/statuses/{id}"), None).await.0,
        404
    );
    // A worker comes along; the post goes out when its photo is ready.
    let pool = kaleido::app::start_workers_with(&app.running.state, 1);
    common::eventually(20, "publication", || async {
        let (_, timeline, _) = get_json(&app, "/api/v1/timelines/public", None).await;
        (timeline[0]["id"] == id.as_str()).then_some(())
    })
    .await;
    pool.shutdown().await;
    app.stop().await;
}
