//! Accounts and the token flow, end to end over HTTP.

mod common;

use serde_json::Value;

both_backends!(token_flow, |backend| async move {
    let app = common::start(backend).await;
    kaleido::accounts::create(app.db(), "alice", "correct horse battery", true)
        .await
        .expect("create alice");

    // Wrong password: 401 with an OAuth-shaped JSON error.
    let wrong = app
        .http
        .post(format!("{}/oauth/token", app.url))
        .form(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "nope nope nope"),
        ])
        .send()
        .await
        .expect("request");
    assert_eq!(wrong.status(), 401);
    let body: Value = wrong.json().await.expect("json");
    assert_eq!(body["error"], "invalid_grant");
    assert!(body["error_description"].as_str().is_some_and(|d| !d.is_empty()));

    // Unknown user: the same answer, so usernames cannot be probed.
    let unknown = app
        .http
        .post(format!("{}/oauth/token", app.url))
        .form(&[
            ("grant_type", "password"),
            ("username", "mallory"),
            ("password", "whatever1"),
        ])
        .send()
        .await
        .expect("request");
    assert_eq!(unknown.status(), 401);

    // JSON bodies work as well as forms.
    let issued = app
        .http
        .post(format!("{}/oauth/token", app.url))
        .json(&serde_json::json!({"grant_type": "password", "username": "Alice", "password": "correct horse battery"}))
        .send()
        .await
        .expect("request");
    assert_eq!(issued.status(), 200);
    let issued: Value = issued.json().await.expect("json");
    assert_eq!(issued["token_type"], "Bearer");
    assert!(issued["created_at"].as_i64().is_some());
    let token = issued["access_token"].as_str().expect("token").to_owned();

    let me = app
        .http
        .get(format!("{}/api/v1/accounts/verify_credentials", app.url))
        .bearer_auth(&token)
        .send()
        .await
        .expect("request");
    assert_eq!(me.status(), 200);
    let me: Value = me.json().await.expect("json");
    assert_eq!(me["username"], "alice");
    assert_eq!(me["kaleido"]["is_admin"], true);

    // The token is stored hashed: the database never holds it in the clear.
    let stored: Vec<String> = sqlx::query_scalar("SELECT token_sha256 FROM access_tokens")
        .fetch_all(&app.db().pool)
        .await
        .expect("tokens");
    assert!(!stored.iter().any(|t| t == &token));

    // Bogus, missing and malformed tokens: 401 JSON.
    for auth in [
        Some("Bearer not-a-token"),
        None,
        Some("Basic YWxpY2U6eA=="),
        Some("Bearer "),
    ] {
        let mut request = app
            .http
            .get(format!("{}/api/v1/accounts/verify_credentials", app.url));
        if let Some(auth) = auth {
            request = request.header("Authorization", auth);
        }
        let response = request.send().await.expect("request");
        assert_eq!(response.status(), 401, "{auth:?}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["error"], "invalid_token");
    }

    // Revocation takes effect at once.
    let revoked = app
        .http
        .post(format!("{}/oauth/revoke", app.url))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .expect("request");
    assert_eq!(revoked.status(), 200);
    let after = app
        .http
        .get(format!("{}/api/v1/accounts/verify_credentials", app.url))
        .bearer_auth(&token)
        .send()
        .await
        .expect("request");
    assert_eq!(after.status(), 401);

    // Grants this server does not do are refused clearly, and known ones missing their parts.
    let grant = app
        .http
        .post(format!("{}/oauth/token", app.url))
        .form(&[("grant_type", "urn:ietf:params:oauth:grant-type:device_code")])
        .send()
        .await
        .expect("request");
    assert_eq!(grant.status(), 400);
    let body: Value = grant.json().await.expect("json");
    assert_eq!(body["error"], "unsupported_grant_type");
    let grant = app
        .http
        .post(format!("{}/oauth/token", app.url))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("request");
    assert_eq!(grant.status(), 400);
    let body: Value = grant.json().await.expect("json");
    assert_eq!(body["error"], "invalid_request");
    app.stop().await;
});

both_backends!(accounts_are_unique_and_keyed, |backend| async move {
    let app = common::start(backend).await;
    let bob = kaleido::accounts::create(app.db(), "bob", "correct horse battery", false)
        .await
        .expect("create bob");
    assert!(bob.public_key_pem.starts_with("-----BEGIN PUBLIC KEY-----"));
    let private: String = sqlx::query_scalar("SELECT private_key_pem FROM accounts WHERE id = $1")
        .bind(&bob.id)
        .fetch_one(&app.db().pool)
        .await
        .expect("key");
    assert!(private.starts_with("-----BEGIN PRIVATE KEY-----"));
    let hash: String = sqlx::query_scalar("SELECT password_hash FROM accounts WHERE id = $1")
        .bind(&bob.id)
        .fetch_one(&app.db().pool)
        .await
        .expect("hash");
    assert!(hash.starts_with("$argon2id$"), "{hash}");

    let again = kaleido::accounts::create(app.db(), "BOB", "correct horse battery", false).await;
    assert_eq!(again.expect_err("duplicate").code, "username_taken");
    let short = kaleido::accounts::create(app.db(), "carol", "short", false).await;
    assert_eq!(
        short.expect_err("weak password").kind,
        kaleido::error::Kind::Unprocessable
    );
    let bad = kaleido::accounts::create(app.db(), "../etc", "correct horse battery", false).await;
    assert!(bad.is_err());
    app.stop().await;
});
