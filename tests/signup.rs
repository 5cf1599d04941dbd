//! Sign-up in each registration mode, through `POST /api/v1/accounts` as apps do it: invites,
//! the approval queue, username rules, the rules agreed to, and what NodeInfo says.

mod common;

use kaleido::config::RegistrationMode;
use serde_json::{Value, json};

async fn sign_up(app: &common::Instance, body: Value) -> (u16, Value) {
    let response = app
        .http
        .post(format!("{}/api/v1/accounts", app.url))
        .json(&body)
        .send()
        .await
        .expect("sign-up request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json"))
}

fn person(name: &str) -> Value {
    json!({"username": name, "password": "correct horse battery", "agreement": true, "locale": "en"})
}

async fn open_registrations(app: &common::Instance) -> bool {
    let info: Value = app
        .http
        .get(format!("{}/nodeinfo/2.1", app.url))
        .send()
        .await
        .expect("nodeinfo")
        .json()
        .await
        .expect("json");
    info["openRegistrations"].as_bool().expect("a boolean")
}

async fn me(app: &common::Instance, token: &str) -> (u16, Value) {
    let response = app
        .http
        .get(format!("{}/api/v1/accounts/verify_credentials", app.url))
        .bearer_auth(token)
        .send()
        .await
        .expect("verify_credentials");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_instance_is_closed() {
    let app = common::start(common::Backend::SqliteLocal).await;
    let (status, body) = sign_up(&app, person("newcomer")).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|e| e.contains("not taking sign-ups")),
        "{body}"
    );
    assert!(!open_registrations(&app).await);
    let page = app
        .http
        .get(format!("{}/signup", app.url))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), 403);
    assert!(page.text().await.expect("text").contains("not taking sign-ups"));
}

both_backends!(open_sign_up_with_mastodon_rules, |backend| async move {
    let app = common::start_with(backend, |c| {
        c.registrations.mode = RegistrationMode::Open;
        c.registrations.reserved_usernames = vec!["fotograf".into()];
        c.registrations.rules = vec!["Be kind".into(), "Credit other people's work".into()];
        c.registrations.max_per_address_per_hour = 1000;
    })
    .await;
    assert!(open_registrations(&app).await);
    let rules: Value = app
        .http
        .get(format!("{}/api/v1/instance/rules", app.url))
        .send()
        .await
        .expect("rules")
        .json()
        .await
        .expect("json");
    assert_eq!(rules[1]["text"], "Credit other people's work");
    assert_eq!(rules[0]["id"], "1");

    // The rules must be agreed to.
    let mut disagree = person("marta");
    disagree["agreement"] = json!(false);
    let (status, body) = sign_up(&app, disagree).await;
    assert_eq!(status, 422, "{body}");

    // Mastodon's username rules, and reserved names, built in and configured.
    for bad in ["marta.k", "a b", "émile", "x_________________________________"] {
        let (status, body) = sign_up(&app, person(bad)).await;
        assert_eq!(status, 422, "{bad}: {body}");
    }
    for reserved in ["admin", "Support", "fotograf"] {
        let (status, body) = sign_up(&app, person(reserved)).await;
        assert_eq!(status, 422, "{reserved}: {body}");
        assert!(
            body["error_description"]
                .as_str()
                .is_some_and(|e| e.contains("reserved")),
            "{body}"
        );
    }
    let mut short = person("marta");
    short["password"] = json!("short");
    assert_eq!(sign_up(&app, short).await.0, 422);

    let (status, body) = sign_up(&app, person("marta")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    let token = body["access_token"].as_str().expect("token");
    let (status, account) = me(&app, token).await;
    assert_eq!(status, 200);
    assert_eq!(account["username"], "marta");
    assert_eq!(account["source"]["privacy"], "public");

    // Taken whatever the case.
    let (status, body) = sign_up(&app, person("MARTA")).await;
    assert_eq!(status, 422, "{body}");
    // And the new account logs in with its password.
    app.login("marta", "correct horse battery").await;
});

both_backends!(approval_queue, |backend| async move {
    let app = common::start_with(backend, |c| {
        c.registrations.mode = RegistrationMode::Approval;
        c.registrations.require_reason = true;
        c.registrations.max_per_address_per_hour = 1000;
    })
    .await;
    assert!(open_registrations(&app).await, "approval mode is open to asking");
    kaleido::accounts::create(app.db(), "boss", "correct horse battery", true)
        .await
        .expect("admin");
    let admin = app.login("boss", "correct horse battery").await;

    let (status, body) = sign_up(&app, person("wren")).await;
    assert_eq!(status, 422, "a reason is required: {body}");
    let mut asking = person("wren");
    asking["reason"] = json!("I photograph birds on the coast");
    let (status, body) = sign_up(&app, asking).await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().expect("token").to_owned();

    // Until approved, neither the token nor the password lets them in, and the profile is not shown.
    let (status, body) = me(&app, &token).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|e| e.contains("waiting")),
        "{body}"
    );
    let login = app
        .http
        .post(format!("{}/oauth/token", app.url))
        .form(&[
            ("grant_type", "password"),
            ("username", "wren"),
            ("password", "correct horse battery"),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(login.status(), 403);

    let pending: Value = app
        .http
        .get(format!(
            "{}/api/v2/admin/accounts?status=pending&origin=local",
            app.url
        ))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("pending")
        .json()
        .await
        .expect("json");
    let pending = pending.as_array().expect("list");
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(pending[0]["username"], "wren");
    assert_eq!(pending[0]["approved"], false);
    assert_eq!(pending[0]["invite_request"], "I photograph birds on the coast");
    assert_eq!(pending[0]["ip"], "127.0.0.1");
    let id = pending[0]["id"].as_str().expect("id");

    // Not for users: only admins see the queue.
    let nosy = app.user("nosy").await;
    let refused = app
        .http
        .get(format!("{}/api/v1/admin/accounts?pending=true", app.url))
        .bearer_auth(&nosy)
        .send()
        .await
        .expect("request");
    assert_eq!(refused.status(), 403);

    let approved: Value = app
        .http
        .post(format!("{}/api/v1/admin/accounts/{id}/approve", app.url))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("approve")
        .json()
        .await
        .expect("json");
    assert_eq!(approved["approved"], true);
    let (status, _) = me(&app, &token).await;
    assert_eq!(status, 200, "approved: the token works");

    // A rejected sign-up is gone, and its name free again.
    let mut other = person("spammy");
    other["reason"] = json!("cheap watches");
    sign_up(&app, other.clone()).await;
    let queue: Value = app
        .http
        .get(format!("{}/api/v1/admin/accounts?pending=true", app.url))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("pending")
        .json()
        .await
        .expect("json");
    let spammy = queue[0]["id"].as_str().expect("id");
    let rejected = app
        .http
        .post(format!("{}/api/v1/admin/accounts/{spammy}/reject", app.url))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("reject");
    assert_eq!(rejected.status(), 200);
    let again = app
        .http
        .get(format!("{}/api/v1/admin/accounts/{spammy}", app.url))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("gone");
    assert_eq!(again.status(), 404);

    // Both decisions are in the audit log, by whom.
    let page = common::log_in_form(
        &app,
        &reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .expect("client"),
        "boss",
        "correct horse battery",
        "/admin/audit",
    )
    .await;
    let audit = page.text().await.expect("text");
    assert!(audit.contains("approve") && audit.contains("@wren"), "{audit}");
    assert!(audit.contains("reject") && audit.contains("@spammy"), "{audit}");
});

both_backends!(invite_only, |backend| async move {
    let app = common::start_with(backend, |c| {
        c.registrations.mode = RegistrationMode::Invite;
        c.registrations.max_per_address_per_hour = 1000;
    })
    .await;
    assert!(
        !open_registrations(&app).await,
        "an invite-only server is not open"
    );
    kaleido::accounts::create(app.db(), "boss", "correct horse battery", true)
        .await
        .expect("admin");

    let (status, body) = sign_up(&app, person("guest")).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|e| e.contains("invitation")),
        "{body}"
    );

    let admin = app.running.state.clone();
    let boss = kaleido::db::accounts::by_username(app.db(), "boss")
        .await
        .expect("db")
        .expect("boss");
    let invite = kaleido::accounts::signup::make_invite(&admin, &boss, Some(2), Some(3600))
        .await
        .expect("invite");
    let mut with = person("guest");
    with["invite_code"] = json!(invite.code);
    let (status, body) = sign_up(&app, with).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = me(&app, body["access_token"].as_str().expect("token")).await;
    assert_eq!(status, 200, "invited sign-ups need no approval");

    let mut second = person("guest2");
    second["invite_code"] = json!(invite.code);
    assert_eq!(sign_up(&app, second).await.0, 200);
    // Used up: the third is refused, and a made-up code too.
    let mut third = person("guest3");
    third["invite_code"] = json!(invite.code);
    let (status, body) = sign_up(&app, third).await;
    assert_eq!(status, 403, "{body}");
    let mut forged = person("guest4");
    forged["invite_code"] = json!("notacode");
    assert_eq!(sign_up(&app, forged).await.0, 403);

    // A user may not make invites unless the server allows it.
    let guest = kaleido::db::accounts::by_username(app.db(), "guest")
        .await
        .expect("db")
        .expect("guest");
    assert!(
        kaleido::accounts::signup::make_invite(&admin, &guest, Some(1), None)
            .await
            .is_err()
    );
    // The invite page knows a spent link.
    let page = app
        .http
        .get(format!("{}/invite/{}", app.url, invite.code))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), 404);
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_ups_are_limited_per_address() {
    let app = common::start_with(common::Backend::SqliteLocal, |c| {
        c.registrations.mode = RegistrationMode::Open;
        c.registrations.max_per_address_per_hour = 2;
    })
    .await;
    assert_eq!(sign_up(&app, person("one")).await.0, 200);
    // A failed attempt counts too: the limit is on trying, not only on succeeding.
    assert_eq!(sign_up(&app, person("admin")).await.0, 422);
    let response = app
        .http
        .post(format!("{}/api/v1/accounts", app.url))
        .json(&person("three"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 429);
    assert!(response.headers().get("retry-after").is_some());
    assert!(
        kaleido::db::accounts::by_username(app.db(), "three")
            .await
            .expect("db")
            .is_none(),
        "nothing was created"
    );
}
