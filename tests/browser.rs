//! The upload page in real Chromium (Debian's, driven by playwright-core): log in, pick two
//! photos, write alt text for each, watch the progress, post, and see the album.

mod common;

use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_two_photos_with_alt_text_in_chromium() {
    let app = common::start(common::Backend::SqliteLocal).await;
    kaleido::accounts::create(app.db(), "alice", "correct horse battery", false)
        .await
        .expect("user");
    let dir = tempfile::tempdir().expect("dir");
    let first = dir.path().join("fox.jpg");
    let second = dir.path().join("leaving.jpg");
    // Big enough that the upload takes more than one progress event.
    std::fs::write(&first, common::jpeg(2400, 1600)).expect("write");
    std::fs::write(&second, common::jpeg(1600, 2400)).expect("write");

    let report = common::node(
        "upload.mjs",
        vec![
            app.url.clone().into(),
            "alice".into(),
            "correct horse battery".into(),
            first.into(),
            second.into(),
        ],
    )
    .await;
    assert_eq!(
        report["alts"],
        serde_json::json!([
            "A red fox sitting in fresh snow",
            "The fox trotting away between pine trees"
        ])
    );
    // Both photos decoded and shown, from the display size that srcset picks for the slot.
    for image in report["loaded"].as_array().expect("list") {
        assert!(image["width"].as_u64().unwrap_or(0) > 0, "{report}");
        assert!(
            image["src"].as_str().is_some_and(|s| s.contains("/display.jpg")),
            "{report}"
        );
    }
    assert_eq!(
        report["caption"].as_str().map(str::trim),
        Some("Foxes this morning")
    );
    let progress: Vec<f64> = report["progress"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(Value::as_f64)
        .collect();
    assert!(progress.contains(&100.0), "the bars reached 100: {progress:?}");
    assert!(
        progress.iter().any(|p| *p > 0.0 && *p < 100.0),
        "the bars moved in between: {progress:?}"
    );
    assert!(
        report["problems"].as_array().expect("list").is_empty(),
        "page errors: {report}"
    );

    // The same post through the API.
    let token = app.login("alice", "correct horse battery").await;
    let home: Value = app
        .http
        .get(format!("{}/api/v1/timelines/home", app.url))
        .bearer_auth(&token)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(home[0]["url"], report["url"]);
    assert_eq!(
        home[0]["media_attachments"][1]["description"],
        "The fox trotting away between pine trees"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_and_watch_a_video_with_hls_js() {
    let app = common::start(common::Backend::SqliteLocal).await;
    kaleido::accounts::create(app.db(), "alice", "correct horse battery", false)
        .await
        .expect("user");
    let dir = tempfile::tempdir().expect("dir");
    let clip = dir.path().join("pattern.mp4");
    std::fs::write(&clip, common::clip(10, 854, 480)).expect("write");
    let report = common::node(
        "watch.mjs",
        vec![
            app.url.clone().into(),
            "alice".into(),
            "correct horse battery".into(),
            clip.into(),
        ],
    )
    .await;
    assert_eq!(report["engine"], "hls.js", "{report}");
    assert_eq!(report["levels"], serde_json::json!([240, 480]), "{report}");
    assert!(report["playedTo"].as_f64().unwrap_or(0.0) >= 3.0, "{report}");
    assert_eq!(report["switchedTo"], 240, "{report}");
    assert_eq!(
        report["menu"],
        serde_json::json!(["Auto", "480p", "240p"]),
        "{report}"
    );
    assert!(
        report["poster"]
            .as_str()
            .is_some_and(|p| p.ends_with("/thumb.jpg")),
        "{report}"
    );
    let states: Vec<&str> = report["states"]
        .as_array()
        .expect("states")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        states.iter().any(|s| s.starts_with("Transcoding")),
        "the page showed transcoding: {states:?}"
    );
    assert!(
        report["problems"].as_array().expect("list").is_empty(),
        "{report}"
    );

    // Link previews: OpenGraph video, a player card, oEmbed and the embed page.
    let post_url = report["url"].as_str().expect("url");
    let html = app
        .http
        .get(post_url)
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("text");
    assert!(html.contains("property=\"og:video\"") && html.contains("name=\"twitter:player\""));
    let oembed: Value = app
        .http
        .get(format!("{}/api/oembed", app.url))
        .query(&[("url", post_url)])
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(oembed["type"], "video");
    let embed_url = format!(
        "{}/statuses/{}/embed",
        app.url,
        post_url.rsplit('/').next().expect("id")
    );
    assert!(
        oembed["html"].as_str().is_some_and(|h| h.contains(&embed_url)),
        "{oembed}"
    );
    let embed = app.http.get(&embed_url).send().await.expect("get");
    assert_eq!(embed.status(), 200);
    assert!(
        embed.headers()["content-security-policy"]
            .to_str()
            .expect("ascii")
            .contains("frame-ancestors *")
    );
    app.stop().await;
}

async fn sign_up_in_chromium(url: String, username: &str, pending: bool) -> Value {
    let dir = tempfile::tempdir().expect("dir");
    let avatar = dir.path().join("me.jpg");
    std::fs::write(&avatar, common::jpeg(900, 600)).expect("write");
    let mut args: Vec<std::ffi::OsString> = vec![
        url.into(),
        username.into(),
        "night trains run late".into(),
        avatar.into(),
    ];
    if pending {
        args.push("pending".into());
    }
    let report = common::node("signup.mjs", args).await;
    assert!(
        report["problems"].as_array().expect("list").is_empty(),
        "page errors: {report}"
    );
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_set_up_a_profile_and_leave_in_chromium() {
    let app = common::start_with(common::Backend::SqliteLocal, |c| {
        c.registrations.mode = kaleido::config::RegistrationMode::Open;
        c.registrations.rules = vec!["No photos of people without their consent".into()];
    })
    .await;
    let report = sign_up_in_chromium(format!("{}/signup", app.url), "nightrail", false).await;
    assert_eq!(
        report["rules"],
        serde_json::json!(["No photos of people without their consent"])
    );
    assert!(
        report["saved"].as_str().is_some_and(|s| s.starts_with("Saved")),
        "{report}"
    );
    assert_eq!(report["name"], "Trains at Night");
    assert_eq!(report["note"], "Night trains, mostly. #railways");
    assert!(
        report["tagLink"]
            .as_str()
            .is_some_and(|h| h.ends_with("/tags/railways")),
        "{report}"
    );
    assert_eq!(report["field"], "Pentax 67");
    // The uploaded 900×600 photo, cropped square: the largest centred square is 600×600.
    assert_eq!(report["avatarSize"]["width"], 400);
    assert_eq!(report["avatarSize"]["height"], 400);
    assert_eq!(report["deleted"], "Your account is deleted");
    assert_eq!(report["gone"], 410);
    let account = kaleido::db::accounts::by_username(app.db(), "nightrail")
        .await
        .expect("db")
        .expect("the row stays, so the name stays taken");
    assert!(account.standing.deleted_at.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_by_invite_and_for_approval_in_chromium() {
    let app = common::start_with(common::Backend::SqliteLocal, |c| {
        c.registrations.mode = kaleido::config::RegistrationMode::Invite;
    })
    .await;
    let admin = kaleido::accounts::create(app.db(), "boss", "correct horse battery", true)
        .await
        .expect("admin");
    let invite = kaleido::accounts::signup::make_invite(&app.running.state, &admin, Some(1), None)
        .await
        .expect("invite");
    // Invite mode: without the link the page says so; with it, straight in.
    let closed = app
        .http
        .get(format!("{}/signup", app.url))
        .send()
        .await
        .expect("page");
    assert_eq!(closed.status(), 403);
    let report = sign_up_in_chromium(format!("{}/invite/{}", app.url, invite.code), "invited", false).await;
    assert_eq!(report["name"], "Trains at Night");

    let app = common::start_with(common::Backend::SqliteLocal, |c| {
        c.registrations.mode = kaleido::config::RegistrationMode::Approval;
    })
    .await;
    let report = sign_up_in_chromium(format!("{}/signup", app.url), "hopeful", true).await;
    assert_eq!(report["title"], "Thanks for signing up");
    let waiting = kaleido::db::accounts::by_username(app.db(), "hopeful")
        .await
        .expect("db")
        .expect("queued");
    assert!(!waiting.standing.approved);
    let details = kaleido::db::accounts::sign_up_details(app.db(), &waiting.id)
        .await
        .expect("db");
    assert_eq!(details.reason.as_deref(), Some("I take pictures of trains"));
}
