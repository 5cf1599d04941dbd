//! Health, the landing page, request ids and JSON errors.

mod common;

use serde_json::Value;

both_backends!(health_page_and_request_ids, |backend| async move {
    let app = common::start(backend).await;
    let health = app
        .http
        .get(format!("{}/healthz", app.url))
        .send()
        .await
        .expect("get");
    assert_eq!(health.status(), 200);
    let generated = health.headers()["x-request-id"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(generated.len() >= 16);
    let body: Value = health.json().await.expect("json");
    assert_eq!(
        body,
        serde_json::json!({"status": "ok", "database": "ok", "storage": "ok"})
    );

    // A proxy's request id is kept so logs line up; a hostile one is replaced.
    let echoed = app
        .http
        .get(format!("{}/healthz", app.url))
        .header("X-Request-Id", "edge-42")
        .send()
        .await
        .expect("get");
    assert_eq!(echoed.headers()["x-request-id"], "edge-42");
    let hostile = app
        .http
        .get(format!("{}/healthz", app.url))
        .header("X-Request-Id", "x\" onload=alert(1)")
        .send()
        .await
        .expect("get");
    assert_ne!(hostile.headers()["x-request-id"], "x\" onload=alert(1)");

    let page = app.http.get(&app.url).send().await.expect("get");
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/html")
    );
    let html = page.text().await.expect("text");
    assert!(html.contains("Kaleido") && html.contains("/static/style.css"));
    let css = app
        .http
        .get(format!("{}/static/style.css", app.url))
        .send()
        .await
        .expect("get");
    assert_eq!(css.status(), 200);

    let bad_json = app
        .http
        .post(format!("{}/oauth/token", app.url))
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("post");
    assert_eq!(bad_json.status(), 400);
    let body: Value = bad_json.json().await.expect("json");
    assert!(body["error"].is_string() && body["error_description"].is_string());
    app.stop().await;
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reports_an_unreachable_store() {
    // The store is checked at each health probe, not only at startup.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let endpoint = format!("http://{}", closed.local_addr().expect("addr"));
    drop(closed);
    let app = common::start_with(common::Backend::PostgresS3, |c| {
        c.storage.s3.endpoint = Some(endpoint)
    })
    .await;
    let health = app
        .http
        .get(format!("{}/healthz", app.url))
        .send()
        .await
        .expect("get");
    assert_eq!(health.status(), 503);
    let body: Value = health.json().await.expect("json");
    assert_eq!(body["database"], "ok");
    assert_eq!(body["storage"], "unavailable");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_outage_answers_503_and_the_rest_keeps_working() {
    // The S3 endpoint is a port where nothing listens: the store is down, the database is not.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let endpoint = format!("http://{}", closed.local_addr().expect("addr"));
    drop(closed);
    let app = common::start_with(common::Backend::PostgresS3, |c| {
        c.storage.s3.endpoint = Some(endpoint)
    })
    .await;
    let token = app.user("alice").await;
    let check_outage = |response: reqwest::Response, what: &'static str| async move {
        assert_eq!(response.status(), 503, "{what}");
        let wait: u64 = response.headers()["retry-after"]
            .to_str()
            .expect("ascii")
            .parse()
            .expect("Retry-After in seconds");
        assert!(wait > 0, "{what}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["error"], "storage_unavailable", "{what}: {body}");
        assert!(
            body["error_description"]
                .as_str()
                .is_some_and(|d| d.contains("storage")),
            "{what}: {body}"
        );
    };

    let upload = app
        .upload(&token, common::tiny_jpeg(), "p.jpg", "image/jpeg")
        .await;
    check_outage(upload, "an upload").await;
    // A resumable upload is created in the database alone; its first chunk needs the store.
    let created = app
        .http
        .post(format!("{}/api/v1/tus", app.url))
        .bearer_auth(&token)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", "100")
        .send()
        .await
        .expect("create");
    assert_eq!(created.status(), 201);
    let chunk = app
        .http
        .patch(created.headers()["location"].to_str().expect("ascii"))
        .bearer_auth(&token)
        .header("Tus-Resumable", "1.0.0")
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", "0")
        .body(vec![7u8; 40])
        .send()
        .await
        .expect("patch");
    check_outage(chunk, "a tus chunk").await;

    let health = app
        .http
        .get(format!("{}/healthz", app.url))
        .send()
        .await
        .expect("get");
    assert_eq!(health.status(), 503);
    let body: Value = health.json().await.expect("json");
    assert_eq!(
        (&body["database"], &body["storage"]),
        (&"ok".into(), &"unavailable".into())
    );
    // What needs no store still answers.
    for page in ["/api/v1/timelines/public", "/.well-known/nodeinfo", "/"] {
        let response = app
            .http
            .get(format!("{}{page}", app.url))
            .send()
            .await
            .expect("get");
        assert_eq!(response.status(), 200, "{page}");
    }
    app.stop().await;
}
