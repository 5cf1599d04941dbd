//! Leaving with everything: an account's archive, asked for through the API (once a day), made
//! by a job, downloaded by its owner only (with ranges), read back with two zip readers (the
//! zip crate and Python's zipfile), in Mastodon's layout with a sha256 manifest; and the same
//! from the command line.

mod common;

use std::{collections::HashMap, io::Read};

use common::Backend;
use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn entries(bytes: &[u8]) -> HashMap<String, Vec<u8>> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip");
    let mut out = HashMap::new();
    for i in 0..zip.len() {
        let mut file = zip.by_index(i).expect("entry");
        let mut data = Vec::new();
        file.read_to_end(&mut data).expect("read");
        out.insert(file.name().expect("a name").to_string(), data);
    }
    out
}

fn text(files: &HashMap<String, Vec<u8>>, name: &str) -> String {
    String::from_utf8(
        files
            .get(name)
            .unwrap_or_else(|| panic!("{name} in the archive"))
            .clone(),
    )
    .expect("utf-8")
}

both_backends!(an_account_leaves_with_everything, |backend| async move {
    let app = common::start(backend).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let dave = app.user("dave").await;
    let id_of = |token: String| {
        let app = &app;
        async move {
            let (_, me) = app
                .api(&token, Method::GET, "/api/v1/accounts/verify_credentials", None)
                .await;
            me["id"].as_str().expect("id").to_owned()
        }
    };
    let (alice_id, bob_id, dave_id) = (
        id_of(alice.clone()).await,
        id_of(bob.clone()).await,
        id_of(dave.clone()).await,
    );

    // Two photos in an album, with alt text and a focal point.
    let photos = [common::jpeg(96, 64), common::jpeg(64, 96)];
    let mut media_ids = Vec::new();
    for (n, bytes) in photos.iter().enumerate() {
        let part = reqwest::multipart::Part::bytes(bytes.clone())
            .file_name(format!("p{n}.jpg"))
            .mime_str("image/jpeg")
            .expect("mime");
        let form = reqwest::multipart::Form::new()
            .part("file", part)
            .text("description", format!("photo {n}"))
            .text("focus", "0.25,-0.5");
        let uploaded: Value = app
            .http
            .post(format!("{}/api/v2/media", app.url))
            .bearer_auth(&alice)
            .multipart(form)
            .send()
            .await
            .expect("upload")
            .json()
            .await
            .expect("json");
        let id = uploaded["id"].as_str().expect("id").to_owned();
        app.wait_processed(&alice, &id).await;
        media_ids.push(id);
    }
    let (_, album) = app
        .api(
            &alice,
            Method::POST,
            "/api/v1/statuses",
            Some(json!({"status": "the coast, two ways", "media_ids": media_ids, "spoiler_text": "sea"})),
        )
        .await;
    let album_id = album["id"].as_str().expect("id").to_owned();
    app.api(
        &alice,
        Method::POST,
        "/api/v1/statuses",
        Some(json!({"status": "and a reply to myself", "in_reply_to_id": album_id})),
    )
    .await;
    app.api(
        &alice,
        Method::POST,
        "/api/v1/statuses",
        Some(json!({"status": "friends only", "visibility": "private"})),
    )
    .await;
    let (_, bobs) = app
        .api(
            &bob,
            Method::POST,
            "/api/v1/statuses",
            Some(json!({"status": "bob's"})),
        )
        .await;
    let bobs_id = bobs["id"].as_str().expect("id").to_owned();
    app.api(
        &alice,
        Method::POST,
        &format!("/api/v1/statuses/{bobs_id}/favourite"),
        None,
    )
    .await;
    app.api(
        &alice,
        Method::POST,
        &format!("/api/v1/statuses/{bobs_id}/bookmark"),
        None,
    )
    .await;
    app.api(
        &alice,
        Method::POST,
        &format!("/api/v1/accounts/{bob_id}/follow"),
        Some(json!({"notify": true})),
    )
    .await;
    app.api(
        &carol,
        Method::POST,
        &format!("/api/v1/accounts/{alice_id}/follow"),
        None,
    )
    .await;
    app.api(
        &alice,
        Method::POST,
        &format!("/api/v1/accounts/{dave_id}/block"),
        None,
    )
    .await;

    // Asked for once; a second time the same day is refused.
    let (status, export) = app
        .api(&alice, Method::POST, "/api/kaleido/v1/exports", None)
        .await;
    assert_eq!(status, 202, "{export}");
    let (status, _) = app
        .api(&alice, Method::POST, "/api/kaleido/v1/exports", None)
        .await;
    assert_eq!(status, 429);
    let export_id = export["id"].as_str().expect("id").to_owned();
    let url = common::eventually(60, "the archive to be made", || async {
        let (_, list) = app
            .api(&alice, Method::GET, "/api/kaleido/v1/exports", None)
            .await;
        let first = list[0].clone();
        assert_ne!(first["state"], "failed", "{first}");
        (first["id"] == export_id.as_str() && first["state"] == "ready")
            .then(|| first["url"].as_str().expect("url").to_owned())
    })
    .await;
    let download = |token: String, range: Option<&'static str>| {
        let (app, url) = (&app, url.clone());
        async move {
            let mut request = app.http.get(&url).bearer_auth(token);
            if let Some(range) = range {
                request = request.header("Range", range);
            }
            let response = request.send().await.expect("download");
            let status = response.status().as_u16();
            (status, response.bytes().await.expect("bytes").to_vec())
        }
    };
    let (status, _) = download(bob.clone(), None).await;
    assert_eq!(status, 404, "an archive is its owner's");
    let (status, bytes) = download(alice.clone(), None).await;
    assert_eq!(status, 200);
    let (status, part) = download(alice.clone(), Some("bytes=100-199")).await;
    assert_eq!(
        (status, part.as_slice()),
        (206, &bytes[100..200]),
        "a download resumes"
    );

    // The settings page lists it, to a browser signed in as alice.
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    common::log_in_form(
        &app,
        &browser,
        "alice",
        "correct horse battery",
        "/settings/export",
    )
    .await;
    let page = browser
        .get(format!("{}/settings/export", app.url))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(page.contains("id=\"make-archive\""), "{page}");
    assert!(page.contains(&format!("href=\"{url}\" download")), "{page}");
    let files = entries(&bytes);
    // The manifest names every other file with its size and sha256.
    let manifest: Value = serde_json::from_str(&text(&files, "manifest.json")).expect("manifest");
    assert_eq!(
        manifest["account"],
        format!("alice@{}", app.url.trim_start_matches("http://"))
    );
    let listed = manifest["files"].as_array().expect("files");
    assert_eq!(listed.len(), files.len() - 1, "{manifest}");
    for f in listed {
        let data = &files[f["path"].as_str().expect("path")];
        assert_eq!(f["size"], data.len());
        assert_eq!(f["sha256"], hex::encode(Sha256::digest(data)));
    }
    let actor: Value = serde_json::from_str(&text(&files, "actor.json")).expect("actor");
    assert_eq!(actor["preferredUsername"], "alice");
    // Every post, private ones too, oldest first, as Mastodon's outbox; the album's originals,
    // byte for byte, with their alt text and focal point, in order.
    let outbox: Value = serde_json::from_str(&text(&files, "outbox.json")).expect("outbox");
    assert_eq!(outbox["totalItems"], 3);
    let items = outbox["orderedItems"].as_array().expect("items");
    assert_eq!(items.len(), 3);
    assert!(items.iter().all(|a| a["type"] == "Create"));
    let first = &items[0]["object"];
    assert_eq!(first["summary"], "sea");
    let attachments = first["attachment"].as_array().expect("attachments");
    assert_eq!(attachments.len(), 2);
    for (n, a) in attachments.iter().enumerate() {
        let path = a["url"].as_str().expect("a path in the archive");
        assert_eq!(files[path], photos[n], "the original of photo {n}");
        assert_eq!(a["name"], format!("photo {n}"));
        assert_eq!(a["focalPoint"], json!([0.25, -0.5]));
    }
    assert!(
        items[1]["object"]["inReplyTo"]
            .as_str()
            .is_some_and(|p| p.ends_with(&album_id))
    );
    assert_eq!(
        items[2]["object"]["to"],
        json!([format!("{}/users/alice/followers", app.url)])
    );
    let likes: Value = serde_json::from_str(&text(&files, "likes.json")).expect("likes");
    assert_eq!(
        likes["orderedItems"],
        json!([format!("{}/users/bob/statuses/{bobs_id}", app.url)])
    );
    assert!(text(&files, "bookmarks.json").contains(&bobs_id));
    let host = app.url.trim_start_matches("http://");
    assert_eq!(
        text(&files, "following_accounts.csv"),
        format!("Account address,Show boosts,Notify on new posts,Languages\nbob@{host},true,true,\n")
    );
    assert_eq!(
        text(&files, "followers.csv"),
        format!("Account address,Inbox\ncarol@{host},\n")
    );
    assert_eq!(text(&files, "blocked_accounts.csv"), format!("dave@{host}\n"));
    assert_eq!(
        text(&files, "muted_accounts.csv"),
        "Account address,Hide notifications\n"
    );

    // A second reader, Python's zipfile, checks every entry's CRC.
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("archive.zip");
    std::fs::write(&path, &bytes).expect("write");
    let checked = std::process::Command::new("python3")
        .args(["-m", "zipfile", "-t"])
        .arg(&path)
        .output()
        .expect("python3");
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );

    // The command line writes the same layout.
    let config = &app.running.state.config;
    let out = dir.path().join("cli.zip");
    let s3 = &config.storage.s3;
    let mut cli = std::process::Command::new(env!("CARGO_BIN_EXE_kaleido"));
    cli.args(["account", "export", "alice"])
        .arg(&out)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("KALEIDO_DATABASE__URL", config.database.url.expose())
        .env(
            "KALEIDO_STORAGE__BACKEND",
            match backend {
                Backend::SqliteLocal => "local",
                Backend::PostgresS3 => "s3",
            },
        )
        .env("KALEIDO_STORAGE__LOCAL__PATH", &config.storage.local.path)
        .env("KALEIDO_STORAGE__TMP_PATH", &config.storage.tmp_path)
        .env("KALEIDO_STORAGE__S3__BUCKET", &s3.bucket)
        .env("KALEIDO_STORAGE__S3__REGION", &s3.region)
        .env("KALEIDO_STORAGE__S3__ACCESS_KEY_ID", &s3.access_key_id)
        .env(
            "KALEIDO_STORAGE__S3__SECRET_ACCESS_KEY",
            s3.secret_access_key.expose(),
        )
        .env("KALEIDO_STORAGE__S3__PATH_STYLE", s3.path_style.to_string())
        .env("KALEIDO_SERVER__PUBLIC_URL", &app.url);
    if let Some(endpoint) = &s3.endpoint {
        cli.env("KALEIDO_STORAGE__S3__ENDPOINT", endpoint);
    }
    let cli = cli.output().expect("kaleido");
    assert!(cli.status.success(), "{}", String::from_utf8_lossy(&cli.stderr));
    let again = entries(&std::fs::read(&out).expect("cli zip"));
    let mut names: Vec<&String> = again.keys().collect();
    let mut before: Vec<&String> = files.keys().collect();
    names.sort();
    before.sort();
    assert_eq!(names, before);
});
