//! Apps sign in the way Mastodon apps do: register, send the person to the consent page (real
//! Chromium), trade the code with PKCE, and use a token limited to the scopes granted. Also the
//! app's own token, revocation, the OAuth metadata and the instance endpoints apps read first.

mod common;

use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

async fn register(app: &common::Instance, uris: Value, scopes: &str) -> (u16, Value) {
    let response = app
        .http
        .post(format!("{}/api/v1/apps", app.url))
        .json(&json!({"client_name": "Pocket Kaleido", "redirect_uris": uris, "scopes": scopes, "website": "https://pocket.invalid"}))
        .send()
        .await
        .expect("apps");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json"))
}

async fn token(app: &common::Instance, form: &[(&str, &str)]) -> (u16, Value) {
    let response = app
        .http
        .post(format!("{}/oauth/token", app.url))
        .form(form)
        .send()
        .await
        .expect("token");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json"))
}

fn query_value(url: &str, key: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    url.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_is_authorized_on_the_consent_page_with_pkce() {
    let app = common::start(common::Backend::SqliteLocal).await;
    app.user("lena").await;

    // Scripts and unknown scopes are refused at registration.
    assert_eq!(register(&app, json!("javascript:alert(1)"), "read").await.0, 422);
    assert_eq!(
        register(&app, json!("http://app.invalid/cb"), "read everything")
            .await
            .0,
        400
    );
    let (status, registered) = register(
        &app,
        json!(["http://app.invalid/cb", "urn:ietf:wg:oauth:2.0:oob"]),
        "read write:statuses follow",
    )
    .await;
    assert_eq!(status, 200, "{registered}");
    let client_id = registered["client_id"].as_str().expect("client_id").to_owned();
    let secret = registered["client_secret"]
        .as_str()
        .expect("client_secret")
        .to_owned();
    assert_eq!(registered["scopes"], json!(["read", "write:statuses", "follow"]));

    let verifier = "a-long-random-verifier-made-by-the-app-0123456789abcdef";
    let challenge =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let authorize = format!(
        "{}/oauth/authorize?response_type=code&client_id={client_id}&redirect_uri={}&scope=read+write:statuses&state=xyz&code_challenge={challenge}&code_challenge_method=S256",
        app.url,
        urlencode("http://app.invalid/cb"),
    );
    let report = common::node(
        "oauth-consent.mjs",
        vec![
            authorize.clone().into(),
            "lena".into(),
            "correct horse battery".into(),
            "approve".into(),
        ],
    )
    .await;
    assert_eq!(
        report["title"], "Let Pocket Kaleido use your account?",
        "{report}"
    );
    assert_eq!(report["scopes"], json!(["read", "write:statuses"]));
    let back = report["redirected"].as_str().expect("sent back to the app");
    assert_eq!(query_value(back, "state").as_deref(), Some("xyz"));
    let code = query_value(back, "code").expect("a code");

    // A wrong verifier fails; the right one (no secret: a public client) works, once.
    let wrong = token(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &client_id),
            ("code", &code),
            ("redirect_uri", "http://app.invalid/cb"),
            ("code_verifier", "not-the-verifier"),
        ],
    )
    .await;
    assert_eq!(wrong.0, 400, "{}", wrong.1);
    // The failed try spent the code: a stolen code cannot be retried until the verifier is guessed.
    let report = common::node(
        "oauth-consent.mjs",
        vec![
            authorize.into(),
            "lena".into(),
            "correct horse battery".into(),
            "approve".into(),
        ],
    )
    .await;
    let code = query_value(report["redirected"].as_str().expect("back"), "code").expect("code");
    let (status, issued) = token(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &client_id),
            ("code", &code),
            ("redirect_uri", "http://app.invalid/cb"),
            ("code_verifier", verifier),
        ],
    )
    .await;
    assert_eq!(status, 200, "{issued}");
    assert_eq!(issued["scope"], "read write:statuses");
    let user_token = issued["access_token"].as_str().expect("token").to_owned();
    let again = token(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &client_id),
            ("code", &code),
            ("code_verifier", verifier),
        ],
    )
    .await;
    assert_eq!(again.0, 400, "a code works once");

    // The token does what its scopes allow, and is refused the rest, naming the scope.
    let (status, me) = app
        .api(
            &user_token,
            reqwest::Method::GET,
            "/api/v1/accounts/verify_credentials",
            None,
        )
        .await;
    assert_eq!((status, me["username"].as_str()), (200, Some("lena")));
    let (status, _) = app
        .api(
            &user_token,
            reqwest::Method::POST,
            "/api/v1/statuses",
            Some(json!({"status": "from the app"})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, refused) = app
        .api(
            &user_token,
            reqwest::Method::PATCH,
            "/api/v1/accounts/update_credentials",
            Some(json!({"display_name": "x"})),
        )
        .await;
    assert_eq!(status, 403, "{refused}");
    assert!(
        refused["error_description"]
            .as_str()
            .is_some_and(|d| d.contains("write:accounts")),
        "{refused}"
    );
    let (status, which) = app
        .api(
            &user_token,
            reqwest::Method::GET,
            "/api/v1/apps/verify_credentials",
            None,
        )
        .await;
    assert_eq!((status, which["name"].as_str()), (200, Some("Pocket Kaleido")));

    // The app is listed in the person's settings, by name, and can be revoked there.
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    let page = common::log_in_form(
        &app,
        &client,
        "lena",
        "correct horse battery",
        "/settings/account",
    )
    .await
    .text()
    .await
    .expect("html");
    assert!(page.contains("Pocket Kaleido"), "{page}");

    // Out of band: the code is shown on the page.
    let oob = format!(
        "{}/oauth/authorize?response_type=code&client_id={client_id}&redirect_uri=urn:ietf:wg:oauth:2.0:oob&scope=read",
        app.url
    );
    let report = common::node(
        "oauth-consent.mjs",
        vec![
            oob.into(),
            "lena".into(),
            "correct horse battery".into(),
            "approve".into(),
        ],
    )
    .await;
    let code = report["code"].as_str().expect("an oob code").to_owned();
    let (status, issued) = token(
        &app,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &client_id),
            ("client_secret", &secret),
            ("code", &code),
            ("redirect_uri", "urn:ietf:wg:oauth:2.0:oob"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{issued}");

    // Denied: back to the app with access_denied, and no code.
    let deny = format!(
        "{}/oauth/authorize?response_type=code&client_id={client_id}&redirect_uri={}",
        app.url,
        urlencode("http://app.invalid/cb")
    );
    let report = common::node(
        "oauth-consent.mjs",
        vec![
            deny.into(),
            "lena".into(),
            "correct horse battery".into(),
            "deny".into(),
        ],
    )
    .await;
    let back = report["redirected"].as_str().expect("back");
    assert_eq!(query_value(back, "error").as_deref(), Some("access_denied"));
    assert!(query_value(back, "code").is_none());

    // A redirect URI the app did not register is refused on our page, never followed.
    let evil = client
        .get(format!(
            "{}/oauth/authorize?response_type=code&client_id={client_id}&redirect_uri={}",
            app.url,
            urlencode("https://evil.invalid/steal")
        ))
        .send()
        .await
        .expect("authorize");
    assert_eq!(evil.status(), 400);
    assert!(
        evil.text()
            .await
            .expect("html")
            .contains("not one this app registered")
    );
    // And signing in comes first for a visitor.
    let anonymous = app
        .http
        .get(format!(
            "{}/oauth/authorize?response_type=code&client_id={client_id}",
            app.url
        ))
        .send()
        .await
        .expect("authorize");
    assert!(anonymous.url().path().starts_with("/login"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_tokens_metadata_and_the_instance() {
    let app = common::start_with(common::Backend::SqliteLocal, |c| {
        c.registrations.mode = kaleido::config::RegistrationMode::Approval;
        c.registrations.rules = vec!["Be kind".into()];
    })
    .await;
    kaleido::accounts::create(app.db(), "boss", "correct horse battery", true)
        .await
        .expect("admin");
    let (_, registered) = register(&app, json!("urn:ietf:wg:oauth:2.0:oob"), "read write").await;
    let client_id = registered["client_id"].as_str().expect("id").to_owned();
    let secret = registered["client_secret"].as_str().expect("secret").to_owned();

    let (status, _) = token(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &client_id),
            ("client_secret", "wrong"),
        ],
    )
    .await;
    assert_eq!(status, 401);
    let (status, issued) = token(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &client_id),
            ("client_secret", &secret),
            ("scope", "read"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{issued}");
    let app_token = issued["access_token"].as_str().expect("token").to_owned();
    let (status, which) = app
        .api(
            &app_token,
            reqwest::Method::GET,
            "/api/v1/apps/verify_credentials",
            None,
        )
        .await;
    assert_eq!((status, which["name"].as_str()), (200, Some("Pocket Kaleido")));
    assert!(
        which.get("client_secret").is_none(),
        "the secret is shown once only"
    );
    // Nobody is signed in behind it.
    let (status, body) = app
        .api(
            &app_token,
            reqwest::Method::GET,
            "/api/v1/accounts/verify_credentials",
            None,
        )
        .await;
    assert_eq!(status, 403, "{body}");
    // Asking for more than the app registered is refused.
    let (status, _) = token(
        &app,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &client_id),
            ("client_secret", &secret),
            ("scope", "admin:read"),
        ],
    )
    .await;
    assert_eq!(status, 400);
    app.http
        .post(format!("{}/oauth/revoke", app.url))
        .form(&[("token", app_token.as_str())])
        .send()
        .await
        .expect("revoke");
    assert_eq!(
        app.api(
            &app_token,
            reqwest::Method::GET,
            "/api/v1/apps/verify_credentials",
            None
        )
        .await
        .0,
        401
    );

    let meta: Value = app
        .http
        .get(format!("{}/.well-known/oauth-authorization-server", app.url))
        .send()
        .await
        .expect("meta")
        .json()
        .await
        .expect("json");
    assert_eq!(
        meta["authorization_endpoint"],
        format!("{}/oauth/authorize", app.url)
    );
    assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));

    let v1: Value = app
        .http
        .get(format!("{}/api/v1/instance", app.url))
        .send()
        .await
        .expect("v1")
        .json()
        .await
        .expect("json");
    assert!(
        v1["version"]
            .as_str()
            .is_some_and(|v| v.starts_with("4.3.0 (compatible; Kaleido")),
        "{v1}"
    );
    assert_eq!(v1["approval_required"], true);
    assert_eq!(v1["configuration"]["statuses"]["max_media_attachments"], 10);
    assert!(
        v1["configuration"]["media_attachments"]["supported_mime_types"]
            .as_array()
            .is_some_and(|t| t.contains(&json!("video/mp4"))),
        "{v1}"
    );
    assert_eq!(v1["contact_account"]["username"], "boss");
    assert_eq!(v1["rules"][0]["text"], "Be kind");
    let v2: Value = app
        .http
        .get(format!("{}/api/v2/instance", app.url))
        .send()
        .await
        .expect("v2")
        .json()
        .await
        .expect("json");
    assert_eq!(v2["registrations"]["enabled"], true);
    assert_eq!(v2["api_versions"]["mastodon"], 2);
    assert_eq!(
        v2["configuration"]["media_attachments"]["image_matrix_limit"],
        50_000_000
    );
    let activity: Value = app
        .http
        .get(format!("{}/api/v1/instance/activity", app.url))
        .send()
        .await
        .expect("activity")
        .json()
        .await
        .expect("json");
    assert_eq!(activity.as_array().map(Vec::len), Some(12));
    assert_eq!(activity[0]["registrations"], "1", "the admin made this week");
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn force_login_asks_who_signs_in_even_when_someone_is() {
    let app = common::start(common::Backend::SqliteLocal).await;
    app.user("first").await;
    app.user("second").await;
    let (_, registered) = register(&app, json!("http://app.invalid/cb"), "read").await;
    let client_id = registered["client_id"].as_str().expect("client_id").to_owned();
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let signed_in = common::log_in_form(&app, &browser, "first", "correct horse battery", "/").await;
    assert_eq!(signed_in.status(), 303);
    let authorize = format!(
        "{}/oauth/authorize?response_type=code&client_id={client_id}&redirect_uri=http%3A%2F%2Fapp.invalid%2Fcb&scope=read",
        app.url
    );
    // Signed in already: straight to the consent page...
    let consent = browser.get(&authorize).send().await.expect("authorize");
    assert_eq!(consent.status(), 200);
    // ...unless the app asks for a login, which then comes back without asking again.
    let forced = browser
        .get(format!("{authorize}&force_login=true"))
        .send()
        .await
        .expect("authorize");
    assert_eq!(forced.status(), 303);
    let to = forced.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    assert!(
        to.starts_with("/login?next=") && to.ends_with("&switch=1"),
        "{to}"
    );
    let next = query_value(&format!("{}{to}", app.url), "next").expect("next");
    assert!(
        next.starts_with("/oauth/authorize?") && !next.contains("force_login"),
        "{next}"
    );
    let form = browser
        .get(format!("{}{to}", app.url))
        .send()
        .await
        .expect("login");
    assert_eq!(form.status(), 200, "the form, though someone is signed in");
    let page = form.text().await.expect("text");
    assert!(page.contains("id=\"password\""), "a login form");
    let marker = "name=\"csrf\" value=\"";
    // The login form's own token (the header's log-out form has the session's).
    let form_start = page.find("action=\"/login\"").expect("the login form");
    let csrf = page[form_start + page[form_start..].find(marker).expect("csrf") + marker.len()..]
        .split('"')
        .next()
        .expect("value")
        .to_owned();
    let switched = browser
        .post(format!("{}/login", app.url))
        .form(&[
            ("username", "second"),
            ("password", "correct horse battery"),
            ("csrf", csrf.as_str()),
            ("next", next.as_str()),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(switched.status(), 303);
    let back = switched.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    assert_eq!(back, next);
    let consent = browser
        .get(format!("{}{back}", app.url))
        .send()
        .await
        .expect("consent")
        .text()
        .await
        .expect("text");
    assert!(consent.contains("Signed in as @second"), "{consent}");
}
