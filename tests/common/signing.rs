//! Signed deliveries as another server would make them, for tests that play that server.
#![allow(dead_code)]

use std::collections::HashMap;

use super::Instance;

/// Signs a POST of `body` to `inbox` as `key_id` with `private_pem`, dated `date`.
pub fn signed_headers(
    inbox: &str,
    body: &[u8],
    key_id: &str,
    private_pem: &str,
    date: std::time::SystemTime,
) -> HashMap<String, String> {
    let url = url::Url::parse(inbox).expect("inbox url");
    let mut headers = HashMap::from([
        (
            "host".to_owned(),
            format!("{}:{}", url.host_str().expect("host"), url.port().expect("port")),
        ),
        ("date".to_owned(), httpdate::fmt_http_date(date)),
        ("digest".to_owned(), kaleido::net::signatures::digest(body)),
    ]);
    let signature = kaleido::net::signatures::sign(
        "POST",
        url.path(),
        &headers,
        kaleido::net::signatures::SIGNED_HEADERS,
        key_id,
        private_pem,
    )
    .expect("sign");
    headers.insert("signature".into(), signature);
    headers
}

pub async fn deliver(app: &Instance, inbox: &str, body: &[u8], headers: &HashMap<String, String>) -> u16 {
    deliver_as(app, inbox, body, headers, None).await
}

/// Posts to `inbox` with these headers; `host` Some sends that Host header instead of the URL's
/// (what a replay of a request signed for another server looks like).
pub async fn deliver_as(
    app: &Instance,
    inbox: &str,
    body: &[u8],
    headers: &HashMap<String, String>,
    host: Option<&str>,
) -> u16 {
    let mut request = app
        .http
        .post(inbox)
        .header("content-type", "application/activity+json")
        .body(body.to_vec());
    for (name, value) in headers {
        if name != "host" {
            request = request.header(name, value);
        }
    }
    if let Some(host) = host {
        request = request.header("host", host);
    }
    request.send().await.expect("post").status().as_u16()
}

/// A local account's private key, to sign requests as its server would.
pub async fn private_key_of(app: &Instance, name: &str) -> String {
    let account = kaleido::db::accounts::by_username(app.db(), name)
        .await
        .expect("db")
        .expect("account");
    kaleido::db::accounts::private_key(app.db(), &account.id)
        .await
        .expect("db")
        .expect("key")
}
