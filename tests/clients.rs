//! The client libraries apps are built on, driving Kaleido as those apps do: Mastodon.py (PyPI,
//! pinned in tests/clients/requirements.txt) and masto.js (npm, pinned in tests/browser), both
//! installed by `make deps`. Each registers an app, authorizes it on the consent page in
//! Chromium (masto.js as a public client with PKCE), then reads the instance, updates the
//! profile with an avatar, uploads with a focal point, posts, edits, pages the home timeline,
//! favourites, boosts, bookmarks and pins, lists each, follows someone, keeps a marker, and
//! revokes its token; the test checks every answer.

mod common;

use serde_json::Value;

fn python(args: &[&str]) -> Value {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients");
    let python = dir.join(".venv/bin/python");
    assert!(
        python.exists(),
        "Mastodon.py is missing: run the tests through `make test`"
    );
    let out = std::process::Command::new(python)
        .arg(dir.join("mastodon_py.py"))
        .args(args)
        .output()
        .expect("python");
    assert!(
        out.status.success(),
        "Mastodon.py failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the script's JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mastodon_py_signs_in_and_does_what_an_app_does() {
    let app = common::start(common::Backend::SqliteLocal).await;
    app.user("py").await;
    app.user("pyfriend").await;
    let url = app.url.clone();
    let registered = tokio::task::spawn_blocking(move || python(&["register", &url]))
        .await
        .expect("join");
    let auth_url = registered["auth_url"].as_str().expect("auth_url").to_owned();
    let consent = common::node(
        "oauth-consent.mjs",
        vec![
            auth_url.into(),
            "py".into(),
            "correct horse battery".into(),
            "approve".into(),
        ],
    )
    .await;
    let code = consent["code"].as_str().expect("the oob code").to_owned();

    let dir = tempfile::tempdir().expect("dir");
    let avatar = dir.path().join("avatar.jpg");
    let photo = dir.path().join("photo.jpg");
    std::fs::write(&avatar, common::jpeg(600, 600)).expect("write");
    std::fs::write(&photo, common::jpeg(800, 600)).expect("write");
    let (url, id, secret) = (
        app.url.clone(),
        registered["client_id"].as_str().expect("id").to_owned(),
        registered["client_secret"].as_str().expect("secret").to_owned(),
    );
    let (avatar, photo) = (avatar.display().to_string(), photo.display().to_string());
    let out = tokio::task::spawn_blocking(move || {
        python(&["use", &url, &id, &secret, &code, &avatar, &photo, "pyfriend"])
    })
    .await
    .expect("join");
    assert_eq!(out["token"], true);
    assert!(
        out["instance_version"]
            .as_str()
            .is_some_and(|v| v.starts_with("4.3.0")),
        "{out}"
    );
    assert_eq!(out["max_characters"], 5000);
    assert_eq!(out["verified"], "py");
    assert_eq!(out["display_name"], "Py Thon");
    assert!(
        out["avatar"]
            .as_str()
            .is_some_and(|a| a.contains("/files/accounts/")),
        "{out}"
    );
    assert_eq!(out["fields"], serde_json::json!([["Made with", "Mastodon.py"]]));
    assert_eq!(out["focus"], serde_json::json!([0.5, -0.25]));
    assert_eq!(out["status_text"], "<p>Hello from Mastodon.py</p>");
    assert_eq!(out["home_first"], true);
    assert_eq!(out["idempotent"], true, "a retried post is the same post");
    assert_eq!(out["home_pages"], true, "{out}");
    assert_eq!(
        out["edited"],
        serde_json::json!(["<p>Hello from Mastodon.py, edited</p>", true])
    );
    assert_eq!(
        out["history"],
        serde_json::json!([
            "<p>Hello from Mastodon.py</p>",
            "<p>Hello from Mastodon.py, edited</p>"
        ])
    );
    assert_eq!(out["source"], "Hello from Mastodon.py, edited");
    assert_eq!(out["favourited"], true);
    assert_eq!(out["reblogged"], true);
    assert_eq!(out["bookmarked"], true);
    assert_eq!(out["pinned"], true);
    assert_eq!(
        out["lists"],
        serde_json::json!({"favourites": [true], "bookmarks": [true], "pinned": [true]})
    );
    assert_eq!(out["follow"], true);
    assert_eq!(out["following"], serde_json::json!(["pyfriend"]));
    assert_eq!(out["friend_followers"], serde_json::json!(["py"]));
    assert_eq!(out["marker"], true);
    assert_eq!(out["revoked"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mastodon_py_signs_up_where_sign_ups_are_open() {
    let app = common::start_with(common::Backend::SqliteLocal, |c| {
        c.registrations.mode = kaleido::config::RegistrationMode::Open;
    })
    .await;
    let url = app.url.clone();
    let out = tokio::task::spawn_blocking(move || python(&["signup", &url, "newpy"]))
        .await
        .expect("join");
    assert_eq!(out["username"], "newpy");
    assert_eq!(out["privacy"], "public");
    assert_eq!(out["app"], "Mastodon.py signing up", "the new token is the app's");
    assert!(
        kaleido::db::accounts::by_username(app.db(), "newpy")
            .await
            .expect("db")
            .is_some_and(|a| a.standing.approved)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn masto_js_signs_in_with_pkce_and_does_what_an_app_does() {
    let app = common::start(common::Backend::SqliteLocal).await;
    app.user("js").await;
    app.user("friend").await;
    let dir = tempfile::tempdir().expect("dir");
    let avatar = dir.path().join("avatar.jpg");
    let photo = dir.path().join("photo.jpg");
    std::fs::write(&avatar, common::jpeg(600, 600)).expect("write");
    std::fs::write(&photo, common::jpeg(800, 600)).expect("write");
    let out = common::node(
        "masto.mjs",
        vec![
            app.url.clone().into(),
            "js".into(),
            "correct horse battery".into(),
            "friend".into(),
            avatar.into_os_string(),
            photo.into_os_string(),
        ],
    )
    .await;
    let expect = |key: &str, value: Value| assert_eq!(out[key], value, "{key} in {out}");
    expect("app_name", "masto.js in the tests".into());
    expect("consent_scopes", serde_json::json!(["read", "write", "follow"]));
    expect("token_scope", "read write follow".into());
    assert!(
        out["version"]
            .as_str()
            .is_some_and(|v| v.starts_with("4.3.0 (compatible; Kaleido")),
        "{out}"
    );
    expect("max_characters", 5000.into());
    expect("takes_jpeg", true.into());
    expect("username", "js".into());
    expect("display_name", "Mas To".into());
    expect("avatar_stored", true.into());
    expect("fields", serde_json::json!([["Made with", "masto.js"]]));
    expect("focus", serde_json::json!([0.5, -0.25]));
    expect("description", "a heron in the reeds".into());
    expect("language", "en".into());
    expect("application", "masto.js in the tests".into());
    expect("edited_content", "<p>heron, first light (edited)</p>".into());
    expect("edited", true.into());
    expect(
        "history",
        serde_json::json!(["<p>heron, first light</p>", "<p>heron, first light (edited)</p>"]),
    );
    expect("source", "heron, first light (edited)".into());
    // Three posts in pages of two: 2, then 1, then an empty page ends the scroll.
    assert_eq!(
        out["home_pages"].as_array().map(|p| p[..2].to_vec()),
        Some(vec![2.into(), 1.into()]),
        "{out}"
    );
    expect("home_order", true.into());
    expect("favourited", true.into());
    expect("reblogged", true.into());
    expect("bookmarked", true.into());
    expect("pinned", true.into());
    expect("favourites", true.into());
    expect("bookmarks", true.into());
    assert_eq!(out["pins"], out["pins_expected"], "{out}");
    expect("reblogged_by", serde_json::json!(["js"]));
    expect("favourited_by", serde_json::json!(["js"]));
    expect("following", true.into());
    expect("following_list", serde_json::json!(["friend"]));
    expect("followers_of_friend", serde_json::json!(["js"]));
    expect(
        "relationship",
        serde_json::json!({"following": true, "showingReblogs": true}),
    );
    expect("marker", true.into());
    expect("preferences_visibility", "public".into());
    expect("lists", serde_json::json!([]));
    expect("revoked", true.into());
}
