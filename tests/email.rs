//! Mail, against a real SMTP server the test starts (aiosmtpd, Debian's python3-aiosmtpd, which
//! writes what it receives to a maildir): confirming an address at sign-up, resetting a forgotten
//! password by a mailed link, the notice of a new login, and a mail server that is down at first.

mod common;

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use kaleido::config::{EmailConfig, RegistrationMode, Secret, SmtpSecurity};
use serde_json::{Value, json};

/// aiosmtpd on `port`, storing mail under `dir`; stopped when dropped.
struct SmtpServer {
    child: Child,
    dir: PathBuf,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

async fn smtp_server(port: u16, parent: &Path) -> SmtpServer {
    // A maildir aiosmtpd makes itself (with its tmp, new and cur folders).
    let dir = parent.join("maildir");
    let mut child = Command::new("/usr/bin/python3")
        .args([
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            &format!("127.0.0.1:{port}"),
            "-c",
            "aiosmtpd.handlers.Mailbox",
        ])
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("aiosmtpd (python3-aiosmtpd, installed by `make deps`)");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return SmtpServer { child, dir };
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("aiosmtpd did not start on {port}");
}

/// Every mail received so far, quoted-printable soft breaks undone.
fn mails(server: &SmtpServer) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(server.dir.join("new")) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
        .map(|m| m.replace("=\r\n", "").replace("=\n", "").replace("=3D", "="))
        .collect()
}

async fn mail_to(server: &SmtpServer, to: &str, subject: &str) -> String {
    common::eventually(30, &format!("a mail to {to} about {subject:?}"), || async {
        mails(server)
            .into_iter()
            .find(|m| m.contains(&format!("To: {to}")) && m.contains(subject))
    })
    .await
}

fn link_in(mail: &str, path: &str) -> String {
    let start = mail.find("http://").expect("a link");
    let link: String = mail[start..].chars().take_while(|c| !c.is_whitespace()).collect();
    assert!(link.contains(path), "{link}");
    link
}

async fn instance(port: u16) -> common::Instance {
    common::start_with(common::Backend::SqliteLocal, |c| {
        c.registrations.mode = RegistrationMode::Open;
        c.workers.retry_base_ms = 100;
        c.email = Some(EmailConfig {
            smtp_host: "127.0.0.1".into(),
            smtp_port: port,
            security: SmtpSecurity::None,
            username: String::new(),
            password: Secret::default(),
            from: "Kaleido <noreply@kaleido.test>".into(),
        });
    })
    .await
}

async fn sign_up(app: &common::Instance, name: &str, email: &str) -> String {
    let response = app
        .http
        .post(format!("{}/api/v1/accounts", app.url))
        .json(&json!({"username": name, "password": "correct horse battery", "email": email, "agreement": true}))
        .send()
        .await
        .expect("sign-up");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    body["access_token"].as_str().expect("token").to_owned()
}

async fn me(app: &common::Instance, token: &str) -> u16 {
    app.http
        .get(format!("{}/api/v1/accounts/verify_credentials", app.url))
        .bearer_auth(token)
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_confirms_the_address_and_logins_are_noticed() {
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let server = smtp_server(port, dir.path()).await;
    let app = instance(port).await;

    // With mail on, an address is required, and logging in waits for its confirmation.
    let no_address = app
        .http
        .post(format!("{}/api/v1/accounts", app.url))
        .json(&json!({"username": "ines", "password": "correct horse battery", "agreement": true}))
        .send()
        .await
        .expect("sign-up");
    assert_eq!(no_address.status(), 422);
    let token = sign_up(&app, "ines", "Ines@Example.org").await;
    assert_eq!(me(&app, &token).await, 403);

    let mail = mail_to(&server, "ines@example.org", "Confirm your address").await;
    assert!(mail.contains("From: Kaleido <noreply@kaleido.test>"), "{mail}");
    let link = link_in(&mail, "/auth/confirm?token=");
    let page = app.http.get(&link).send().await.expect("confirm");
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .expect("text")
            .contains("Your address is confirmed")
    );
    assert_eq!(me(&app, &token).await, 200);
    assert_eq!(
        app.http.get(&link).send().await.expect("again").status(),
        404,
        "used once"
    );

    // The same address cannot sign up twice.
    let twice = app
        .http
        .post(format!("{}/api/v1/accounts", app.url))
        .json(&json!({"username": "ines2", "password": "correct horse battery", "email": "ines@example.org", "agreement": true}))
        .send()
        .await
        .expect("sign-up");
    assert_eq!(twice.status(), 422);

    // A new login is mailed, naming the app.
    let login = app
        .http
        .post(format!("{}/oauth/token", app.url))
        .header("User-Agent", "Tusky/25.0")
        .form(&[
            ("grant_type", "password"),
            ("username", "ines"),
            ("password", "correct horse battery"),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(login.status(), 200);
    let notice = mail_to(&server, "ines@example.org", "New login").await;
    assert!(
        notice.contains("Tusky/25.0") && notice.contains("127.0.0.1"),
        "{notice}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forgotten_password_is_reset_by_a_mailed_link() {
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let server = smtp_server(port, dir.path()).await;
    let app = instance(port).await;
    let old_token = sign_up(&app, "omar", "omar@example.org").await;
    let confirm = mail_to(&server, "omar@example.org", "Confirm your address").await;
    app.http
        .get(link_in(&confirm, "/auth/confirm"))
        .send()
        .await
        .expect("confirm");
    assert_eq!(me(&app, &old_token).await, 200);

    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    let ask = |email: &'static str| {
        let client = client.clone();
        let url = app.url.clone();
        async move {
            let page = client
                .get(format!("{url}/auth/password/new"))
                .send()
                .await
                .expect("page")
                .text()
                .await
                .expect("html");
            let marker = "name=\"csrf\" value=\"";
            let start = page.find(marker).expect("csrf") + marker.len();
            let csrf = page[start..].split('"').next().expect("token").to_owned();
            client
                .post(format!("{url}/auth/password/new"))
                .form(&[("csrf", csrf.as_str()), ("email", email)])
                .send()
                .await
                .expect("ask")
                .text()
                .await
                .expect("html")
        }
    };
    // An unknown address gets the same answer, and no mail.
    let unknown = ask("nobody@example.org").await;
    let known = ask("OMAR@example.org").await;
    assert!(unknown.contains("If an account here has this address"));
    assert_eq!(
        unknown.replace("nobody", ""),
        known.replace("OMAR", ""),
        "the answers do not tell"
    );
    let mail = mail_to(&server, "omar@example.org", "Reset your password").await;
    assert!(!mails(&server).iter().any(|m| m.contains("nobody@example.org")));
    let link = link_in(&mail, "/auth/password/edit?token=");

    let form = client
        .get(&link)
        .send()
        .await
        .expect("form")
        .text()
        .await
        .expect("html");
    let marker = "name=\"csrf\" value=\"";
    let start = form.find(marker).expect("csrf") + marker.len();
    let csrf = form[start..].split('"').next().expect("token").to_owned();
    let token = link.split("token=").nth(1).expect("token").to_owned();
    // Too short: asked again, the link still good.
    let short = client
        .post(format!("{}/auth/password/edit", app.url))
        .form(&[
            ("csrf", csrf.as_str()),
            ("token", token.as_str()),
            ("new_password", "short"),
        ])
        .send()
        .await
        .expect("reset");
    assert_eq!(short.status(), 422);
    // The form comes back with a fresh token, as any re-rendered form does.
    let again = short.text().await.expect("html");
    let start = again.find(marker).expect("csrf") + marker.len();
    let csrf = again[start..].split('"').next().expect("token").to_owned();
    let done = client
        .post(format!("{}/auth/password/edit", app.url))
        .form(&[
            ("csrf", csrf.as_str()),
            ("token", token.as_str()),
            ("new_password", "a brand new passphrase"),
        ])
        .send()
        .await
        .expect("reset");
    assert_eq!(done.status(), 200);
    assert!(
        done.text()
            .await
            .expect("html")
            .contains("Your password is changed")
    );

    assert_eq!(me(&app, &old_token).await, 401, "every old token ends");
    app.login("omar", "a brand new passphrase").await;
    let old = app
        .http
        .post(format!("{}/oauth/token", app.url))
        .form(&[
            ("grant_type", "password"),
            ("username", "omar"),
            ("password", "correct horse battery"),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(old.status(), 401);
    assert_eq!(
        client.get(&link).send().await.expect("again").status(),
        404,
        "the link works once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_waits_for_a_mail_server_that_is_down() {
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let app = instance(port).await;
    let token = sign_up(&app, "patient", "patient@example.org").await;
    assert_eq!(me(&app, &token).await, 403);
    // Nothing listens yet: the mail job fails and is retried, nothing is lost.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let server = smtp_server(port, dir.path()).await;
    let mail = mail_to(&server, "patient@example.org", "Confirm your address").await;
    app.http
        .get(link_in(&mail, "/auth/confirm"))
        .send()
        .await
        .expect("confirm");
    assert_eq!(me(&app, &token).await, 200);
}
