//! What a stranger tried and must not get: private posts through search, memory through
//! beacons for media that do not exist, and a redirect to another site after logging in.

mod common;

use common::{Backend, Instance};
use serde_json::{Value, json};

async fn get(app: &Instance, token: Option<&str>, path: &str) -> (u16, Value) {
    let mut request = app.http.get(format!("{}{path}", app.url));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("get");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

async fn post_status(app: &Instance, token: &str, body: Value) -> Value {
    let response = app
        .http
        .post(format!("{}/api/v1/statuses", app.url))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), 200);
    response.json().await.expect("json")
}

fn query(q: &str) -> String {
    format!(
        "/api/v2/search?q={}",
        url::form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>()
    )
}

both_backends!(
    search_answers_only_what_the_searcher_may_see,
    |backend| async move {
        let app = common::start(backend).await;
        let alice = app.user("alice").await;
        let bob = app.user("bob").await;
        let followers_only = post_status(
            &app,
            &alice,
            json!({"status": "the secret plan", "visibility": "private"}),
        )
        .await;
        let direct = post_status(
            &app,
            &alice,
            json!({"status": "just for us two", "visibility": "direct"}),
        )
        .await;
        let public = post_status(&app, &alice, json!({"status": "hello world"})).await;
        for post in [&followers_only, &direct] {
            // Its page URL and its ActivityPub id both name it; neither finds it for others.
            for address in [
                post["url"].as_str().expect("url"),
                post["uri"].as_str().expect("uri"),
            ] {
                for (who, token) in [("anonymous", None), ("bob", Some(bob.as_str()))] {
                    let (status, found) = get(&app, token, &query(address)).await;
                    assert_eq!(status, 200, "{found}");
                    assert_eq!(found["statuses"], json!([]), "{who} found {address}: {found}");
                }
                let (_, own) = get(&app, Some(&alice), &query(address)).await;
                assert_eq!(own["statuses"].as_array().map(Vec::len), Some(1), "{own}");
            }
        }
        // What anyone may see is still found, by anyone.
        let (_, found) = get(&app, None, &query(public["url"].as_str().expect("url"))).await;
        assert_eq!(found["statuses"][0]["id"], public["id"], "{found}");
        app.stop().await;
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beacons_for_media_that_do_not_exist_cost_nothing() {
    let app = common::start(Backend::SqliteLocal).await;
    kaleido::accounts::create(app.db(), "admin", "correct horse battery", true)
        .await
        .expect("admin");
    let admin = app.login("admin", "correct horse battery").await;
    let remembered = || async {
        let (status, metrics) = get(&app, Some(&admin), "/metrics").await;
        assert_eq!(status, 200);
        let text = metrics.as_str().expect("text").to_owned();
        text.lines()
            .find_map(|l| l.strip_prefix("kaleido_beacons_remembered "))
            .expect("the beacon gauge")
            .parse::<usize>()
            .expect("number")
    };
    for i in 0..50 {
        let id = format!("{i}{}", "x".repeat(16_000));
        for kind in ["views", "failovers"] {
            let response = app
                .http
                .post(format!("{}/media/{id}/{kind}", app.url))
                .send()
                .await
                .expect("beacon");
            assert_eq!(response.status(), 404);
        }
    }
    assert_eq!(remembered().await, 0, "beacons for missing media were remembered");
    // A real video's view is remembered (and counted once), so the gauge does measure.
    let response = app
        .upload(&admin, common::clip(1, 160, 120), "clip.mp4", "video/mp4")
        .await;
    let media: Value = response.json().await.expect("json");
    let id = media["id"].as_str().expect("id").to_owned();
    app.wait_processed(&admin, &id).await;
    post_status(&app, &admin, json!({"status": "a clip", "media_ids": [id]})).await;
    let response = app
        .http
        .post(format!("{}/media/{id}/views", app.url))
        .send()
        .await
        .expect("view");
    assert_eq!(response.status(), 204);
    assert_eq!(remembered().await, 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_logging_in_only_this_sites_paths_are_followed() {
    let app = common::start(Backend::SqliteLocal).await;
    app.user("alice").await;
    let client = || {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client")
    };
    for (next, expected) in [
        ("/upload", "/upload"),
        // `next=/%09/evil.example` as the form sends it, decoded: a browser drops the tab and
        // goes to `//evil.example`, another site. A newline cannot even be sent in a header.
        ("/\t/evil.example", "/"),
        ("/\n/evil.example", "/"),
        ("/\r\nSet-Cookie: x=1", "/"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
    ] {
        let response = common::log_in_form(&app, &client(), "alice", "correct horse battery", next).await;
        assert_eq!(response.status(), 303, "next={next}");
        assert_eq!(response.headers()["location"], expected, "next={next}");
    }
    app.stop().await;
}

async fn token_attempt(app: &Instance, user: &str, password: &str) -> reqwest::Response {
    app.http
        .post(format!("{}/oauth/token", app.url))
        .form(&[
            ("grant_type", "password"),
            ("username", user),
            ("password", password),
        ])
        .send()
        .await
        .expect("token request")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guessing_passwords_is_slowed_per_account_and_per_address() {
    let app = common::start(Backend::SqliteLocal).await;
    app.user("alice").await;
    for _ in 0..5 {
        assert_eq!(token_attempt(&app, "alice", "wrong guess").await.status(), 401);
    }
    // Now even the right password waits, answered at once and without hashing anything.
    let refused = token_attempt(&app, "Alice", "correct horse battery").await;
    assert_eq!(refused.status(), 429);
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .expect("text")
        .parse()
        .expect("seconds");
    assert!((1..=900).contains(&wait), "{wait}");
    let body: Value = refused.json().await.expect("json");
    assert_eq!(body["error"], "too_many_attempts");
    // The login form is throttled the same way, for the same account.
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let form = common::log_in_form(&app, &browser, "alice", "correct horse battery", "/").await;
    let (form_status, form_headers) = (form.status(), form.headers().clone());
    let page = form.text().await.expect("page");
    assert_eq!(form_status, 429, "{page}");
    assert!(form_headers.contains_key("retry-after"));
    assert!(page.contains("too many login attempts"), "{page}");
    tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
    assert_eq!(
        token_attempt(&app, "alice", "correct horse battery")
            .await
            .status(),
        200
    );
    app.stop().await;

    // One address trying many accounts gets a burst, then waits.
    let app = common::start(Backend::SqliteLocal).await;
    let mut answers = Vec::new();
    for i in 0..25 {
        let response = token_attempt(&app, &format!("nobody{i}"), "guess").await;
        answers.push((
            response.status().as_u16(),
            response.headers().get("retry-after").cloned(),
        ));
    }
    let first_refusal = answers
        .iter()
        .position(|(s, _)| *s == 429)
        .expect("a 429 within 25 attempts");
    assert_eq!(first_refusal, 20, "{answers:?}");
    assert!(answers[first_refusal].1.is_some(), "429 without Retry-After");
    assert!(answers[..20].iter().all(|(s, _)| *s == 401), "{answers:?}");
    app.stop().await;
}

/// The profile page's form for following from another server: a cross-site POST (no token)
/// is refused, and a WebFinger answer cannot send the visitor to a third site.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn following_from_another_server_needs_the_pages_token_and_goes_only_there() {
    let a = common::start_federated(Backend::SqliteLocal, |_| {}).await;
    let b = common::start_federated(Backend::SqliteLocal, |_| {}).await;
    a.user("alice").await;
    b.user("bob").await;
    let b_host = b.url.trim_start_matches("http://").to_owned();
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let submit = |client: reqwest::Client, address: String, csrf: String| {
        let url = format!("{}/@alice/remote_follow", a.url);
        async move {
            let response = client
                .post(url)
                .form(&[("address", address.as_str()), ("csrf", csrf.as_str())])
                .send()
                .await
                .expect("post");
            (response.status().as_u16(), response.text().await.expect("text"))
        }
    };
    // What another site's page posts: no token, no cookie.
    let (status, _) = submit(reqwest::Client::new(), format!("bob@{b_host}"), String::new()).await;
    assert_eq!(status, 403);
    // From the profile page itself.
    let page = browser
        .get(format!("{}/@alice", a.url))
        .send()
        .await
        .expect("profile");
    let page = page.text().await.expect("html");
    let marker = "name=\"csrf\" value=\"";
    let start = page.find(marker).expect("a token in the form") + marker.len();
    let token = page[start..].split('"').next().expect("value").to_owned();
    assert!(!token.is_empty());
    let (status, _) = submit(reqwest::Client::new(), format!("bob@{b_host}"), token.clone()).await;
    assert_eq!(status, 403, "the token without its cookie");
    let (status, body) = submit(browser.clone(), format!("bob@{b_host}"), token.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains(&format!("http://{b_host}/authorize_interaction?uri=")),
        "{body}"
    );

    // A WebFinger server whose subscribe template points at a third site.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let liar = listener.local_addr().expect("addr").to_string();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = [0u8; 4096];
            let _ = socket.read(&mut request).await;
            let body = r#"{"subject":"acct:x@liar","links":[{"rel":"http://ostatus.org/schema/1.0/subscribe","template":"https://evil.example/follow?uri={uri}"}]}"#;
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/jrd+json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(answer.as_bytes()).await;
        }
    });
    let (status, body) = submit(browser.clone(), format!("x@{liar}"), token).await;
    assert_eq!(status, 422, "{body}");
    assert!(!body.contains("evil.example/follow"), "{body}");
    a.stop().await;
    b.stop().await;
}
