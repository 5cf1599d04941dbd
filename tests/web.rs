//! The web UI over HTTP: pages readable without JavaScript, login with CSRF-protected forms,
//! session-authenticated API calls, post pages with alt text, srcset and OpenGraph.

mod common;

use serde_json::{Value, json};

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// A page's HTML as the given client sees it.
async fn page_text(client: &reqwest::Client, url: impl reqwest::IntoUrl) -> String {
    client
        .get(url)
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("text")
}

/// The value of `name="field" value="…"` in a form.
fn field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no {name} field")) + marker.len();
    html[start..].split('"').next().expect("value").to_owned()
}

fn meta(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" content=\"");
    let start = html.find(&marker)? + marker.len();
    Some(html[start..].split('"').next()?.to_owned())
}

async fn log_in(
    app: &common::Instance,
    client: &reqwest::Client,
    user: &str,
    password: &str,
) -> reqwest::Response {
    common::log_in_form(app, client, user, password, "/upload").await
}

both_backends!(login_upload_post_and_read_pages, |backend| async move {
    let app = common::start(backend).await;
    kaleido::accounts::create(app.db(), "alice", "correct horse battery", false)
        .await
        .expect("user");
    let client = browser();

    // The upload page needs a login and says where to come back to.
    let gated = client
        .get(format!("{}/upload", app.url))
        .send()
        .await
        .expect("get");
    assert_eq!(gated.status(), 303);
    assert_eq!(gated.headers()["location"], "/login?next=/upload");

    // Wrong password: the form again, with a message; a forged form: refused.
    let wrong = log_in(&app, &client, "alice", "wrong password").await;
    assert_eq!(wrong.status(), 401);
    assert!(wrong.text().await.expect("text").contains("do not match"));
    let forged = client
        .post(format!("{}/login", app.url))
        .form(&[
            ("username", "alice"),
            ("password", "correct horse battery"),
            ("csrf", "made-up"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(forged.status(), 403);

    let ok = log_in(&app, &client, "alice", "correct horse battery").await;
    assert_eq!(ok.status(), 303);
    assert_eq!(ok.headers()["location"], "/upload");
    let cookie = ok
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().expect("ascii").to_owned())
        .find(|c| c.starts_with("kaleido_session="))
        .expect("session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );

    let upload_page = page_text(&client, format!("{}/upload", app.url)).await;
    assert!(upload_page.contains("id=\"files\""));
    let csrf = meta(&upload_page, "csrf-token").expect("csrf meta");

    // Cookie-authenticated API calls need the CSRF header.
    let form = || {
        reqwest::multipart::Form::new()
            .part(
                "file",
                reqwest::multipart::Part::bytes(common::jpeg(1000, 700)).file_name("fox.jpg"),
            )
            .text("description", "a fox <in> the \"snow\"")
    };
    let refused = client
        .post(format!("{}/api/v2/media", app.url))
        .multipart(form())
        .send()
        .await
        .expect("post");
    assert_eq!(refused.status(), 403);
    let mut ids = Vec::new();
    for _ in 0..2 {
        let media: Value = client
            .post(format!("{}/api/v2/media", app.url))
            .header("X-CSRF-Token", &csrf)
            .multipart(form())
            .send()
            .await
            .expect("post")
            .json()
            .await
            .expect("json");
        ids.push(media["id"].as_str().expect("id").to_owned());
    }
    for id in &ids {
        common::eventually(20, "processing", || async {
            let r = client
                .get(format!("{}/api/v1/media/{id}", app.url))
                .send()
                .await
                .expect("get");
            (r.status() == 200).then_some(())
        })
        .await;
    }
    let status: Value = client
        .post(format!("{}/api/v1/statuses", app.url))
        .header("X-CSRF-Token", &csrf)
        .json(&json!({"status": "Morning walk", "media_ids": ids}))
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    let url = status["url"].as_str().expect("url").to_owned();

    // The post page, as anyone sees it: the album with both alt texts, srcset, OpenGraph.
    let anonymous = reqwest::Client::new();
    let page = anonymous.get(&url).send().await.expect("get");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("text");
    assert_eq!(
        html.matches("alt=\"a fox &lt;in&gt; the &quot;snow&quot;\"")
            .count(),
        2,
        "alt text, escaped, on both"
    );
    assert!(
        html.contains("srcset=\"")
            && html.contains(" 160w")
            && html.contains(" 640w")
            && html.contains(" 1000w")
    );
    assert!(html.contains("loading=\"lazy\""));
    assert!(
        html.contains("property=\"og:image\"") && html.contains("/display.jpg"),
        "{html}"
    );
    assert!(html.contains("Morning walk"));
    assert!(
        !html.contains("<script>"),
        "no inline scripts (the CSP forbids them)"
    );
    let by_id = anonymous
        .get(format!(
            "{}/statuses/{}",
            app.url,
            status["id"].as_str().expect("id")
        ))
        .send()
        .await
        .expect("get");
    assert_eq!(by_id.status(), 200);

    // The feed and the profile show it as a photo grid.
    let feed = page_text(&anonymous, &app.url).await;
    assert!(feed.contains(&url) && feed.contains("2 photos"));
    let profile = page_text(&anonymous, format!("{}/@alice", app.url)).await;
    assert!(profile.contains(&url) && profile.contains("1 post"));
    assert_eq!(
        anonymous
            .get(format!("{}/@nobody", app.url))
            .send()
            .await
            .expect("get")
            .status(),
        404
    );

    // Logging out needs the form's token, and ends the session.
    let page = page_text(&client, &app.url).await;
    let token = field(&page, "csrf");
    let out = client
        .post(format!("{}/logout", app.url))
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(out.status(), 303);
    let after = client
        .get(format!("{}/upload", app.url))
        .send()
        .await
        .expect("get");
    assert_eq!(after.status(), 303);
    app.stop().await;
});

both_backends!(content_warnings_hide_until_opened, |backend| async move {
    let app = common::start(backend).await;
    let token = app.user("alice").await;
    let media: Value = app
        .upload(&token, common::tiny_jpeg(), "x.jpg", "image/jpeg")
        .await
        .json()
        .await
        .expect("json");
    let id = media["id"].as_str().expect("id").to_owned();
    app.wait_processed(&token, &id).await;
    let status: Value = app
        .http
        .post(format!("{}/api/v1/statuses", app.url))
        .bearer_auth(&token)
        .json(&json!({"status": "the reveal", "media_ids": [id], "spoiler_text": "spiders"}))
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    let html = page_text(&app.http, status["url"].as_str().expect("url")).await;
    // Hidden in a closed <details> (works without JavaScript), the warning in its summary.
    let details = html
        .find("<details class=\"cw\">")
        .unwrap_or_else(|| panic!("no details in {html}"));
    let summary = details + html[details..].find("spiders").expect("warning in the summary");
    let image = html.find("<img").expect("image");
    assert!(
        summary < image,
        "the image comes after the warning, inside the details"
    );
    assert!(!html.contains("<details class=\"cw\" open"));
    // Sensitive posts do not put their image in link previews.
    assert!(!html.contains("og:image\""));
    let feed = page_text(&app.http, &app.url).await;
    assert!(feed.contains("spiders") && !feed.contains("/preview.jpg"));
    app.stop().await;
});
