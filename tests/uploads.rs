//! Uploads end to end: stored, processed by the workers, served with ranges; and every kind of
//! bad input answered clearly with nothing left behind.

mod common;

use serde_json::Value;

async fn files_in(dir: &std::path::Path) -> usize {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries.count(),
        Err(_) => 0,
    }
}

both_backends!(
    upload_is_stored_processed_and_served_with_ranges,
    |backend| async move {
        let app = common::start(backend).await;
        let token = app.user("alice").await;
        let bytes = common::jpeg(1000, 700);

        // Uploaded under a misleading name and type: the bytes decide.
        let response = app
            .upload(&token, bytes.clone(), "holiday.png", "application/octet-stream")
            .await;
        assert_eq!(response.status(), 202);
        let media: Value = response.json().await.expect("json");
        assert_eq!(media["type"], "image");
        assert_eq!(media["description"], "a test file");
        assert_eq!(media["kaleido"]["state"], "queued");
        assert!(media["url"].is_null(), "no url before processing");
        let id = media["id"].as_str().expect("id").to_owned();

        let (status, media) = app.wait_processed(&token, &id).await;
        assert_eq!(status, 200, "{media}");
        assert_eq!(media["kaleido"]["state"], "ready");
        assert_eq!(media["kaleido"]["progress"], 100);
        let url = media["url"].as_str().expect("url").to_owned();
        assert!(url.ends_with("/display.jpg"), "the server chose the key: {url}");
        assert!(!url.contains("holiday"), "client names never reach keys: {url}");

        // The whole file, with validators and caching headers.
        let whole = app.http.get(&url).send().await.expect("get");
        assert_eq!(whole.status(), 200);
        assert_eq!(whole.headers()["accept-ranges"], "bytes");
        assert_eq!(whole.headers()["content-type"], "image/jpeg");
        assert!(
            whole.headers()["cache-control"]
                .to_str()
                .expect("ascii")
                .contains("max-age")
        );
        let etag = whole.headers()["etag"].to_str().expect("etag").to_owned();
        // Ranges are checked against the served file (metadata-stripped, so not the upload).
        let bytes = whole.bytes().await.expect("body").to_vec();
        assert!(bytes.len() > 1000);

        // A range, an open range and a suffix range.
        let len = bytes.len();
        for (range, start, end) in [
            ("bytes=0-99".to_owned(), 0, 99),
            (format!("bytes={}-", len - 10), len - 10, len - 1),
            ("bytes=-25".to_owned(), len - 25, len - 1),
        ] {
            let part = app
                .http
                .get(&url)
                .header("Range", &range)
                .send()
                .await
                .expect("get");
            assert_eq!(part.status(), 206, "{range}");
            assert_eq!(
                part.headers()["content-range"].to_str().expect("ascii"),
                format!("bytes {start}-{end}/{len}")
            );
            assert_eq!(
                part.headers()["content-length"].to_str().expect("ascii"),
                (end - start + 1).to_string()
            );
            assert_eq!(
                part.bytes().await.expect("body").as_ref(),
                &bytes[start..=end],
                "{range}"
            );
        }

        // Outside the file: 416 naming the size.
        let beyond = app
            .http
            .get(&url)
            .header("Range", format!("bytes={len}-"))
            .send()
            .await
            .expect("get");
        assert_eq!(beyond.status(), 416);
        assert_eq!(
            beyond.headers()["content-range"].to_str().expect("ascii"),
            format!("bytes */{len}")
        );

        // Revalidation and HEAD.
        let cached = app
            .http
            .get(&url)
            .header("If-None-Match", &etag)
            .send()
            .await
            .expect("get");
        assert_eq!(cached.status(), 304);
        let head = app.http.head(&url).send().await.expect("head");
        assert_eq!(head.status(), 200);
        assert_eq!(
            head.headers()["content-length"].to_str().expect("ascii"),
            len.to_string()
        );
        // A stale If-Range gets the whole file, not a part of a different one.
        let stale = app
            .http
            .get(&url)
            .header("Range", "bytes=0-9")
            .header("If-Range", "\"something-else\"")
            .send()
            .await
            .expect("get");
        assert_eq!(stale.status(), 200);

        // Another account cannot see the media.
        let other = app.user("bob").await;
        let foreign = app
            .http
            .get(format!("{}/api/v1/media/{id}", app.url))
            .bearer_auth(&other)
            .send()
            .await
            .expect("get");
        assert_eq!(foreign.status(), 404);
        app.stop().await;
    }
);

both_backends!(
    large_upload_streams_through_multipart_parts,
    |backend| async move {
        // 12 MiB: more than two S3 parts at the test part size of 5 MiB.
        let app = common::start(backend).await;
        let token = app.user("alice").await;
        let video = common::fake_mp4(12 * 1024 * 1024 + 123);
        let response = app.upload(&token, video.clone(), "clip.mp4", "video/mp4").await;
        assert_eq!(response.status(), 202);
        let media: Value = response.json().await.expect("json");
        assert_eq!(media["type"], "video");
        let id = media["id"].as_str().expect("id").to_owned();
        // The original arrived whole, through multipart parts, and reads back by range.
        let originals = app.running.state.store.list("originals/").await.expect("list");
        assert_eq!(originals.len(), 1);
        assert_eq!(originals[0].size, video.len() as u64);
        let start = 5 * 1024 * 1024 - 10;
        let range = kaleido::storage::ByteRange {
            start: start as u64,
            end: start as u64 + 19,
        };
        let mut part = app
            .running
            .state
            .store
            .get(&originals[0].key, Some(range))
            .await
            .expect("get");
        let mut read = Vec::new();
        while let Some(chunk) = futures_util::StreamExt::next(&mut part.body).await {
            read.extend_from_slice(&chunk.expect("chunk"));
        }
        assert_eq!(read, &video[start..start + 20]);
        // It is not a real video: processing fails with a reason a person can read.
        let (status, media) = app.wait_processed(&token, &id).await;
        assert_eq!(status, 422, "{media}");
        assert_eq!(media["kaleido"]["state"], "failed");
        let error = media["kaleido"]["error"].as_str().expect("error");
        assert!(error.contains("video"), "{error}");
        assert!(media["url"].is_null());
        app.stop().await;
    }
);

both_backends!(bad_uploads_are_refused_cleanly, |backend| async move {
    let app = common::start_with(backend, |c| c.limits.max_upload_bytes = 64 * 1024).await;
    let token = app.user("alice").await;
    let url = format!("{}/api/v2/media", app.url);

    // Too big: 413, and neither the store nor the spool keeps anything.
    let big = app
        .upload(&token, common::fake_mp4(200 * 1024), "big.mp4", "video/mp4")
        .await;
    assert_eq!(big.status(), 413);
    let body: Value = big.json().await.expect("json");
    assert_eq!(body["error"], "file_too_large");

    // Text pretending to be a JPEG: 415 naming the file.
    let fake = app
        .upload(
            &token,
            b"just some text, honestly".to_vec(),
            "cat.jpg",
            "image/jpeg",
        )
        .await;
    assert_eq!(fake.status(), 415);
    let body: Value = fake.json().await.expect("json");
    assert!(
        body["error_description"]
            .as_str()
            .expect("text")
            .contains("cat.jpg"),
        "{body}"
    );

    // An empty file: 422.
    let empty = app.upload(&token, Vec::new(), "empty.jpg", "image/jpeg").await;
    assert_eq!(empty.status(), 422);

    // No file at all: 422.
    let form = reqwest::multipart::Form::new().text("description", "nothing");
    let missing = app
        .http
        .post(&url)
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .expect("post");
    assert_eq!(missing.status(), 422);

    // Broken multipart: 400 with a JSON error.
    let broken = app
        .http
        .post(&url)
        .bearer_auth(&token)
        .header("Content-Type", "multipart/form-data; boundary=XYZ")
        .body("--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\n\r\n\u{ff}\u{d8}garbage-without-end")
        .send()
        .await
        .expect("post");
    assert_eq!(broken.status(), 400);
    let body: Value = broken.json().await.expect("json");
    assert!(body["error"].is_string());

    // Not multipart at all.
    let json = app
        .http
        .post(&url)
        .bearer_auth(&token)
        .json(&serde_json::json!({"file": "x"}))
        .send()
        .await
        .expect("post");
    assert!(json.status().is_client_error(), "{}", json.status());

    // Without a token: 401 before anything is read.
    let anonymous = app.upload("", common::tiny_jpeg(), "a.jpg", "image/jpeg").await;
    assert_eq!(anonymous.status(), 401);

    // An oversized JSON body on the API: refused, not buffered.
    let huge = app
        .http
        .post(format!("{}/oauth/token", app.url))
        .header("Content-Type", "application/json")
        .body(vec![b' '; 2 * 1024 * 1024])
        .send()
        .await
        .expect("post");
    assert_eq!(huge.status(), 413);

    let objects = app.running.state.store.list("").await.expect("list");
    assert!(objects.is_empty(), "refused uploads left objects: {objects:?}");
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM media")
        .fetch_one(&app.db().pool)
        .await
        .expect("count");
    assert_eq!(rows, 0);
    assert_eq!(files_in(&app.tmp_path()).await, 0, "spooled files left behind");
    app.stop().await;
});

both_backends!(served_paths_cannot_escape, |backend| async move {
    let app = common::start(backend).await;
    let token = app.user("alice").await;
    // A private object outside the public prefix exists, to prove it stays private.
    let secret = kaleido::storage::Key::parse("originals/secret.txt").expect("key");
    app.running
        .state
        .store
        .put(
            &secret,
            Box::pin(futures_util::stream::iter([Ok(bytes::Bytes::from_static(
                b"secret",
            ))])),
            Some(6),
            "text/plain",
        )
        .await
        .expect("put");
    let _ = token;
    for path in [
        "/files/originals/secret.txt",
        "/files/media/..%2F..%2Foriginals%2Fsecret.txt",
        "/files/media/%2e%2e/originals/secret.txt",
        "/files/..%2F..%2F..%2Fetc%2Fpasswd",
        "/files/media/.partial/x",
    ] {
        let response = app
            .http
            .get(format!("{}{path}", app.url))
            .send()
            .await
            .expect("get");
        assert!(
            response.status() == 400 || response.status() == 404,
            "{path}: {}",
            response.status()
        );
        let text = response.text().await.expect("body");
        assert!(
            !text.contains("secret") || text.contains("error"),
            "{path}: {text}"
        );
        assert!(!text.contains("root:"), "{path} leaked /etc/passwd");
    }
    app.stop().await;
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_public_url_points_at_the_store() {
    let app = common::start_with(common::Backend::PostgresS3, |c| {
        c.storage.s3.public_url = Some("https://cdn.example/media-bucket".into());
    })
    .await;
    let token = app.user("alice").await;
    let media: Value = app
        .upload(&token, common::tiny_jpeg(), "a.jpg", "image/jpeg")
        .await
        .json()
        .await
        .expect("json");
    let (status, media) = app
        .wait_processed(&token, media["id"].as_str().expect("id"))
        .await;
    assert_eq!(status, 200);
    let url = media["url"].as_str().expect("url");
    assert!(
        url.starts_with("https://cdn.example/media-bucket/media/"),
        "{url}"
    );
    app.stop().await;
}
