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
