//! Two-factor authentication through the web pages, with codes computed as an authenticator
//! app computes them (totp-rs, from the key the settings page shows): enabling, the second
//! login step, replayed and recovery codes, the password grant refused, and turning it off.

mod common;

use totp_rs::{Algorithm, Secret, TOTP};

fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("a csrf field") + marker.len();
    html[start..].split('"').next().expect("token").to_owned()
}

fn between<'a>(html: &'a str, before: &str, after: &str) -> &'a str {
    let start = html
        .find(before)
        .unwrap_or_else(|| panic!("{before:?} in {html}"))
        + before.len();
    let end = html[start..].find(after).expect("the end") + start;
    &html[start..end]
}

fn app_code(secret: &str, offset_steps: i64) -> String {
    let totp = TOTP::new(
        Algorithm::SHA1,
        6,
        1,
        30,
        Secret::Encoded(secret.to_owned()).to_bytes().expect("base32"),
    )
    .expect("totp");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs();
    totp.generate(now.saturating_add_signed(offset_steps * 30))
}

async fn password_login(app: &common::Instance, client: &reqwest::Client) -> String {
    common::log_in_form(app, client, "tara", "correct horse battery", "/settings/account")
        .await
        .text()
        .await
        .expect("html")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_factor_logins_from_enabling_to_turning_off() {
    let app = common::start(common::Backend::SqliteLocal).await;
    app.user("tara").await;
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    let page = password_login(&app, &client).await;
    assert!(page.contains("Set up two-factor authentication"));
    let csrf = csrf_of(&page);
    let page = client
        .post(format!("{}/settings/two_factor/begin", app.url))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .expect("begin")
        .text()
        .await
        .expect("html");
    let secret = between(&page, "class=\"totp-secret\">", "<").to_owned();
    let uri = between(&page, "class=\"totp-uri\" href=\"", "\"").replace("&amp;", "&");
    assert!(
        uri.starts_with("otpauth://totp/") && uri.contains(&format!("secret={secret}")),
        "{uri}"
    );

    let wrong = client
        .post(format!("{}/settings/two_factor/confirm", app.url))
        .form(&[("csrf", csrf.as_str()), ("code", "000000")])
        .send()
        .await
        .expect("confirm");
    assert_eq!(wrong.status(), 403);
    let confirmed = client
        .post(format!("{}/settings/two_factor/confirm", app.url))
        .form(&[("csrf", csrf.as_str()), ("code", app_code(&secret, 0).as_str())])
        .send()
        .await
        .expect("confirm");
    assert_eq!(confirmed.status(), 200);
    let page = confirmed.text().await.expect("html");
    let codes: Vec<String> = page
        .split("<li><code>")
        .skip(1)
        .map(|c| c.split('<').next().expect("code").to_owned())
        .collect();
    assert_eq!(codes.len(), 10, "{page}");

    // The password grant has no room for a code: refused, saying why.
    let grant = app
        .http
        .post(format!("{}/oauth/token", app.url))
        .form(&[
            ("grant_type", "password"),
            ("username", "tara"),
            ("password", "correct horse battery"),
        ])
        .send()
        .await
        .expect("token");
    assert_eq!(grant.status(), 401);
    let body: serde_json::Value = grant.json().await.expect("json");
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| d.contains("two-factor")),
        "{body}"
    );

    // A new browser: the password leads to the second step, not in.
    let fresh = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    let step = password_login(&app, &fresh).await;
    assert!(step.contains("Enter your code"), "{step}");
    let challenge = between(&step, "name=\"challenge\" value=\"", "\"").to_owned();
    let answer = |code: String| {
        let fresh = fresh.clone();
        let url = app.url.clone();
        let challenge = challenge.clone();
        async move {
            fresh
                .post(format!("{url}/login/two_factor"))
                .form(&[("challenge", challenge.as_str()), ("code", code.as_str())])
                .send()
                .await
                .expect("answer")
        }
    };
    assert_eq!(answer("123456".into()).await.status(), 403);
    // The code that enabled it was used: the same code does not log in.
    assert_eq!(
        answer(app_code(&secret, 0)).await.status(),
        403,
        "a code counts once"
    );
    let inside = answer(app_code(&secret, 1)).await;
    assert_eq!(inside.url().path(), "/settings/account", "logged in and sent on");
    assert!(inside.text().await.expect("html").contains("recovery codes left"));

    // A recovery code logs in once.
    let other = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    let step = password_login(&app, &other).await;
    let challenge = between(&step, "name=\"challenge\" value=\"", "\"").to_owned();
    let with_recovery = other
        .post(format!("{}/login/two_factor", app.url))
        .form(&[("challenge", challenge.as_str()), ("code", codes[0].as_str())])
        .send()
        .await
        .expect("recovery");
    assert_eq!(with_recovery.url().path(), "/settings/account");
    let page = with_recovery.text().await.expect("html");
    assert!(page.contains("9 recovery codes left"), "{page}");
    let again = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    let step = password_login(&app, &again).await;
    let challenge = between(&step, "name=\"challenge\" value=\"", "\"").to_owned();
    let reused = again
        .post(format!("{}/login/two_factor", app.url))
        .form(&[("challenge", challenge.as_str()), ("code", codes[0].as_str())])
        .send()
        .await
        .expect("reuse");
    assert_eq!(reused.status(), 403);

    // Off, with the password and a code: the password grant works again.
    let csrf = csrf_of(&page);
    let off = other
        .post(format!("{}/settings/two_factor/disable", app.url))
        .form(&[
            ("csrf", csrf.as_str()),
            ("password", "correct horse battery"),
            ("code", codes[1].as_str()),
        ])
        .send()
        .await
        .expect("disable");
    assert!(
        off.text()
            .await
            .expect("html")
            .contains("Two-factor authentication is off")
    );
    app.login("tara", "correct horse battery").await;
}
