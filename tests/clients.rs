//! The client libraries apps are built on, driving Kaleido as those apps do. Mastodon.py (PyPI,
//! pinned in tests/clients/requirements.txt, installed by `make deps`): register an app, authorize
//! it on the consent page in Chromium, then instance, verify_credentials, a profile update with an
//! avatar, an upload with a focal point, a post, the home timeline, a favourite, and revoking.

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
    let out =
        tokio::task::spawn_blocking(move || python(&["use", &url, &id, &secret, &code, &avatar, &photo]))
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
    assert_eq!(out["favourited"], true);
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
    assert!(
        kaleido::db::accounts::by_username(app.db(), "newpy")
            .await
            .expect("db")
            .is_some_and(|a| a.standing.approved)
    );
}
