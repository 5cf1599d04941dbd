//! Resumable uploads over tus 1.0: creation, resuming after a dropped connection, checksums,
//! termination, and the finished upload becoming a media.

mod common;

use base64::Engine;
use serde_json::Value;
use sha1::Digest;

fn b64(value: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(value)
}

both_backends!(
    resumable_upload_survives_a_dropped_connection,
    |backend| async move {
        let app = common::start(backend).await;
        let token = app.user("alice").await;
        let other = app.user("bob").await;
        let endpoint = format!("{}/api/v1/tus", app.url);

        let options = app
            .http
            .request(reqwest::Method::OPTIONS, &endpoint)
            .send()
            .await
            .expect("options");
        assert_eq!(options.status(), 204);
        assert_eq!(options.headers()["tus-version"], "1.0.0");
        assert!(
            options.headers()["tus-extension"]
                .to_str()
                .expect("ascii")
                .contains("creation")
        );
        assert!(
            options.headers()["tus-checksum-algorithm"]
                .to_str()
                .expect("ascii")
                .contains("sha1")
        );

        let video = common::clip(2, 320, 240);
        let created = app
            .http
            .post(&endpoint)
            .bearer_auth(&token)
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Length", video.len().to_string())
            .header(
                "Upload-Metadata",
                format!("filename {},description {}", b64(b"walk.mp4"), b64(b"a walk")),
            )
            .send()
            .await
            .expect("create");
        assert_eq!(created.status(), 201);
        let location = created.headers()["location"].to_str().expect("ascii").to_owned();
        let patch = |offset: usize, body: reqwest::Body| {
            app.http
                .patch(&location)
                .bearer_auth(&token)
                .header("Tus-Resumable", "1.0.0")
                .header("Content-Type", "application/offset+octet-stream")
                .header("Upload-Offset", offset.to_string())
                .body(body)
        };
        let offset_now = || async {
            let head = app
                .http
                .head(&location)
                .bearer_auth(&token)
                .header("Tus-Resumable", "1.0.0")
                .send()
                .await
                .expect("head");
            assert_eq!(head.status(), 200);
            assert_eq!(head.headers()["upload-length"], video.len().to_string().as_str());
            head.headers()["upload-offset"]
                .to_str()
                .expect("ascii")
                .parse::<usize>()
                .expect("offset")
        };

        // The first third, with a checksum.
        let third = video.len() / 3;
        let first = patch(0, video[..third].to_vec().into())
            .header(
                "Upload-Checksum",
                format!("sha1 {}", b64(&sha1::Sha1::digest(&video[..third]))),
            )
            .send()
            .await
            .expect("patch");
        assert_eq!(first.status(), 204);
        assert_eq!(first.headers()["upload-offset"], third.to_string().as_str());

        // A chunk whose checksum is wrong is refused (460) and nothing moves.
        let bad = patch(third, video[third..third + 100].to_vec().into())
            .header("Upload-Checksum", format!("sha1 {}", b64(&[0u8; 20])))
            .send()
            .await
            .expect("patch");
        assert_eq!(bad.status(), 460);
        assert_eq!(offset_now().await, third);

        // The wrong offset: 409. The wrong type: 415. No protocol version: 412. Not yours: 404.
        assert_eq!(
            patch(5, vec![1, 2, 3].into())
                .send()
                .await
                .expect("patch")
                .status(),
            409
        );
        let wrong_type = app
            .http
            .patch(&location)
            .bearer_auth(&token)
            .header("Tus-Resumable", "1.0.0")
            .header("Content-Type", "application/json")
            .header("Upload-Offset", third.to_string())
            .body("{}")
            .send()
            .await
            .expect("patch");
        assert_eq!(wrong_type.status(), 415);
        let no_version = app
            .http
            .patch(&location)
            .bearer_auth(&token)
            .header("Content-Type", "application/offset+octet-stream")
            .header("Upload-Offset", third.to_string())
            .body(vec![1u8])
            .send()
            .await
            .expect("patch");
        assert_eq!(no_version.status(), 412);
        let foreign = app
            .http
            .head(&location)
            .bearer_auth(&other)
            .send()
            .await
            .expect("head");
        assert_eq!(foreign.status(), 404);

        // The connection drops after some of the second third: what arrived is kept.
        let second: Vec<u8> = video[third..2 * third].to_vec();
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> = vec![
            Ok(second[..second.len() / 2].to_vec()),
            Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "network gone",
            )),
        ];
        let dropped = patch(
            third,
            reqwest::Body::wrap_stream(futures_util::stream::iter(chunks)),
        )
        .send()
        .await;
        assert!(dropped.is_err() || !dropped.as_ref().is_ok_and(|r| r.status() == 204));
        let resumed_at = common::eventually(10, "the server to record the partial chunk", || async {
            let at = offset_now().await;
            (at >= third).then_some(at)
        })
        .await;
        assert!(resumed_at <= third + second.len() / 2);

        // Resume from where the server says, to the end: the upload becomes a media.
        let last = patch(resumed_at, video[resumed_at..].to_vec().into())
            .send()
            .await
            .expect("patch");
        assert_eq!(last.status(), 204);
        assert_eq!(last.headers()["upload-offset"], video.len().to_string().as_str());
        let media_id = last.headers()["kaleido-media-id"]
            .to_str()
            .expect("ascii")
            .to_owned();
        let (status, media) = app.wait_processed(&token, &media_id).await;
        assert_eq!(status, 200, "{media}");
        assert_eq!(media["type"], "video");
        assert_eq!(media["description"], "a walk");
        // The stored original is exactly the file, byte for byte.
        let originals = app.running.state.store.list("originals/").await.expect("list");
        assert_eq!(originals.len(), 1);
        assert_eq!(originals[0].size, video.len() as u64);
        let stored: Value = app
            .http
            .get(format!("{}/api/v1/media/{media_id}", app.url))
            .bearer_auth(&token)
            .send()
            .await
            .expect("get")
            .json()
            .await
            .expect("json");
        assert_eq!(stored["id"], media_id.as_str());
        app.stop().await;
    }
);

both_backends!(uploads_can_be_refused_and_terminated, |backend| async move {
    let app = common::start_with(backend, |c| c.limits.max_upload_bytes = 1024 * 1024).await;
    let token = app.user("alice").await;
    let endpoint = format!("{}/api/v1/tus", app.url);
    let create = |length: usize| {
        app.http
            .post(&endpoint)
            .bearer_auth(&token)
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Length", length.to_string())
            .send()
    };
    assert_eq!(create(2 * 1024 * 1024).await.expect("create").status(), 413);
    let anonymous = app
        .http
        .post(&endpoint)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", "10")
        .send()
        .await
        .expect("create");
    assert_eq!(anonymous.status(), 401);
    let created = create(1000).await.expect("create");
    assert_eq!(created.status(), 201);
    let location = created.headers()["location"].to_str().expect("ascii").to_owned();
    let deleted = app
        .http
        .delete(&location)
        .bearer_auth(&token)
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await
        .expect("delete");
    assert_eq!(deleted.status(), 204);
    let gone = app
        .http
        .head(&location)
        .bearer_auth(&token)
        .send()
        .await
        .expect("head");
    assert_eq!(gone.status(), 404);

    // A finished upload that is not an image or video: refused at the last chunk, nothing kept.
    let created = create(12).await.expect("create");
    let location = created.headers()["location"].to_str().expect("ascii").to_owned();
    let done = app
        .http
        .patch(&location)
        .bearer_auth(&token)
        .header("Tus-Resumable", "1.0.0")
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", "0")
        .body("hello world!")
        .send()
        .await
        .expect("patch");
    assert_eq!(done.status(), 415);
    assert!(app.running.state.store.list("").await.expect("list").is_empty());
    // The chunks' spools are `tus-*` files in the temp folder.
    let left = std::fs::read_dir(app.tmp_path())
        .expect("the temp folder")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("tus-"))
        .count();
    assert_eq!(
        left, 0,
        "neither the terminated nor the refused upload left bytes behind"
    );
    app.stop().await;
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_tus_client_uploads_in_chunks() {
    let app = common::start(common::Backend::SqliteLocal).await;
    let token = app.user("alice").await;
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("walk.mp4");
    let video = common::clip(3, 640, 360);
    std::fs::write(&file, &video).expect("write");
    let report = common::node(
        "tus-upload.mjs",
        vec![app.url.clone().into(), token.clone().into(), file.into()],
    )
    .await;
    assert!(
        report["patches"].as_u64().unwrap_or(0) >= (video.len() / (64 * 1024)) as u64,
        "{report}"
    );
    let media_id = report["mediaId"].as_str().expect("media id");
    let (status, media) = app.wait_processed(&token, media_id).await;
    assert_eq!(status, 200, "{media}");
    assert_eq!(media["description"], "sent with tus-js-client");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_started_on_one_node_finishes_on_another() {
    // Two serve nodes on one PostgreSQL and one bucket, as behind a load balancer.
    let first = common::start(common::Backend::PostgresS3).await;
    let shared = first.running.state.config.clone();
    let second = common::start_with(common::Backend::PostgresS3, |c| {
        c.database.url = shared.database.url.clone();
        c.storage.s3.bucket = shared.storage.s3.bucket.clone();
    })
    .await;
    let token = first.user("alice").await;
    let photo = common::jpeg(800, 600);
    let created = first
        .http
        .post(format!("{}/api/v1/tus", first.url))
        .bearer_auth(&token)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", photo.len().to_string())
        .send()
        .await
        .expect("create");
    let id = created.headers()["location"]
        .to_str()
        .expect("ascii")
        .rsplit('/')
        .next()
        .expect("id")
        .to_owned();
    let half = photo.len() / 2;
    for (node, range) in [(&first, 0..half), (&second, half..photo.len())] {
        let response = node
            .http
            .patch(format!("{}/api/v1/tus/{id}", node.url))
            .bearer_auth(&token)
            .header("Tus-Resumable", "1.0.0")
            .header("Content-Type", "application/offset+octet-stream")
            .header("Upload-Offset", range.start.to_string())
            .body(photo[range].to_vec())
            .send()
            .await
            .expect("patch");
        assert_eq!(response.status(), 204);
    }
    let head = second
        .http
        .head(format!("{}/api/v1/tus/{id}", second.url))
        .bearer_auth(&token)
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await
        .expect("head");
    let media_id = head.headers()["kaleido-media-id"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let (status, media) = second.wait_processed(&token, &media_id).await;
    assert_eq!(status, 200, "{media}");
    assert_eq!(media["meta"]["original"]["width"], 800);
    second.stop().await;
    first.stop().await;
}

/// The sizes of the tus spools (`tus-*`) under the instance's temp folder.
fn tus_spools(app: &common::Instance) -> Vec<u64> {
    std::fs::read_dir(app.tmp_path())
        .map(|dir| {
            dir.filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().starts_with("tus-"))
                .filter_map(|e| e.metadata().ok().map(|m| m.len()))
                .collect()
        })
        .unwrap_or_default()
}

both_backends!(
    a_cut_off_duplicate_patch_does_not_spoil_the_one_that_won,
    |backend| async move {
        use std::io::Write;

        let app = common::start(backend).await;
        let token = app.user("alice").await;
        let photo = common::jpeg(640, 480);
        let half = photo.len() / 2;
        let created = app
            .http
            .post(format!("{}/api/v1/tus", app.url))
            .bearer_auth(&token)
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Length", photo.len().to_string())
            .send()
            .await
            .expect("create");
        assert_eq!(created.status(), 201);
        let location = created.headers()["location"].to_str().expect("ascii").to_owned();
        let patch = |offset: usize, body: Vec<u8>| {
            app.http
                .patch(&location)
                .bearer_auth(&token)
                .header("Tus-Resumable", "1.0.0")
                .header("Content-Type", "application/offset+octet-stream")
                .header("Upload-Offset", offset.to_string())
                .body(body)
                .send()
        };

        // A client's first PATCH of the first half stalls after a quarter of the file...
        let address = app.url.trim_start_matches("http://").to_owned();
        let path = location.trim_start_matches(&app.url).to_owned();
        let mut stalled = std::net::TcpStream::connect(&address).expect("connect");
        write!(
            stalled,
            "PATCH {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
             Tus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\n\
             Upload-Offset: 0\r\nContent-Length: {half}\r\n\r\n"
        )
        .expect("headers");
        stalled.write_all(&photo[..half / 2]).expect("a quarter");
        stalled.flush().expect("flush");
        common::eventually(10, "the stalled PATCH to be spooling", || async {
            tus_spools(&app)
                .iter()
                .any(|size| *size >= (half / 2) as u64)
                .then_some(())
        })
        .await;
        // ...so it sends the same PATCH again, whole, and that one is counted.
        let retry = patch(0, photo[..half].to_vec()).await.expect("retry");
        assert_eq!(retry.status(), 204);
        assert_eq!(retry.headers()["upload-offset"], half.to_string().as_str());
        // Then the stalled connection dies, and the server finishes with what it got of it.
        drop(stalled);
        common::eventually(10, "the cut-off PATCH to be done with", || async {
            tus_spools(&app).is_empty().then_some(())
        })
        .await;

        // The rest: the upload completes, and the stored original is exactly the file.
        let last = patch(half, photo[half..].to_vec()).await.expect("last");
        assert_eq!(last.status(), 204, "{}", last.text().await.unwrap_or_default());
        let media_id = last.headers()["kaleido-media-id"]
            .to_str()
            .expect("ascii")
            .to_owned();
        let store = &app.running.state.store;
        let originals = store.list("originals/").await.expect("list");
        assert_eq!(originals.len(), 1);
        let mut object = store.get(&originals[0].key, None).await.expect("get");
        let mut stored = Vec::new();
        while let Some(bytes) = futures_util::StreamExt::next(&mut object.body).await {
            stored.extend_from_slice(&bytes.expect("bytes"));
        }
        assert!(
            stored == photo,
            "the stored original differs from the uploaded file"
        );
        let (status, media) = app.wait_processed(&token, &media_id).await;
        assert_eq!(status, 200, "{media}");
        // Nothing of either attempt is left behind in the store.
        assert!(store.list("uploads/").await.expect("list").is_empty());
        app.stop().await;
    }
);
