//! OAuth as Mastodon 4.3 speaks it: apps register (`POST /api/v1/apps`), a person authorizes
//! one on the consent page and it trades the code (with PKCE, S256) for a token; an app may also
//! act as itself (client credentials). Secrets and codes are stored only as their SHA-256.

use base64::Engine;
use sha2::{Digest, Sha256};

use super::{random_token, same_secret, token_digest};
use crate::{
    db::{
        self, Db,
        oauth::{App, NewCode},
    },
    domain::{account::Account, scope},
    error::{Error, Kind, Result},
};

/// Where a code is shown on the page instead of being sent to the app.
pub const OOB: &str = "urn:ietf:wg:oauth:2.0:oob";
const CODE_MINUTES: i64 = 10;
const MAX_REDIRECT_URIS: usize = 10;

fn invalid(code: &'static str, message: impl Into<String>) -> Error {
    Error::new(Kind::BadRequest, code, message)
}

/// A redirect URI an app may register: oob, or an absolute URL that is not a script.
fn check_redirect(uri: &str) -> Result<()> {
    if uri == OOB {
        return Ok(());
    }
    let url =
        url::Url::parse(uri).map_err(|_| invalid("invalid_redirect_uri", format!("{uri:?} is not a URL")))?;
    if matches!(url.scheme(), "javascript" | "data" | "vbscript" | "file") || url.fragment().is_some() {
        return Err(invalid(
            "invalid_redirect_uri",
            format!("{uri:?} cannot be a redirect URI"),
        ));
    }
    Ok(())
}

/// Registers an app; its secret is returned now and never again.
pub async fn register(
    db: &Db,
    name: &str,
    redirect_uris: &[String],
    scopes: &str,
    website: Option<&str>,
) -> Result<(App, String)> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 60 {
        return Err(Error::unprocessable("client_name is 1 to 60 characters"));
    }
    if redirect_uris.is_empty() || redirect_uris.len() > MAX_REDIRECT_URIS {
        return Err(Error::unprocessable(format!(
            "redirect_uris names 1 to {MAX_REDIRECT_URIS} URIs"
        )));
    }
    for uri in redirect_uris {
        check_redirect(uri).map_err(|e| Error::new(Kind::Unprocessable, e.code, e.message))?;
    }
    let scopes = scope::parse(scopes, "read")?.join(" ");
    let website = website.map(str::trim).filter(|w| !w.is_empty());
    if let Some(site) = website
        && !(site.starts_with("https://") || site.starts_with("http://"))
    {
        return Err(Error::unprocessable("website must be an http(s) URL"));
    }
    let secret = random_token();
    let app = App {
        id: uuid::Uuid::now_v7().to_string(),
        client_id: random_token(),
        client_secret_sha256: token_digest(&secret),
        name: name.to_owned(),
        website: website.map(str::to_owned),
        redirect_uris: redirect_uris.to_vec(),
        scopes,
        created_at: db::now_ms(),
    };
    db::oauth::insert_app(db, &app).await?;
    Ok((app, secret))
}

/// An app known by its client id, its secret checked when one is given or `need_secret`.
pub async fn client(db: &Db, client_id: &str, secret: Option<&str>, need_secret: bool) -> Result<App> {
    let unknown = || {
        Error::new(
            Kind::Unauthorized,
            "invalid_client",
            "the client is unknown or its secret is wrong",
        )
    };
    let app = db::oauth::app_by_client_id(db, client_id)
        .await?
        .ok_or_else(unknown)?;
    match secret {
        Some(secret) if same_secret(&token_digest(secret), &app.client_secret_sha256) => Ok(app),
        None if !need_secret => Ok(app),
        _ => Err(unknown()),
    }
}

/// What the consent page asks about: checked before it is shown, so a person is never asked to
/// approve something that would then fail.
pub struct Request {
    pub app: App,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub code_challenge: Option<String>,
}

pub async fn check_request(
    db: &Db,
    client_id: &str,
    redirect_uri: Option<&str>,
    scopes: Option<&str>,
    code_challenge: Option<&str>,
    code_challenge_method: Option<&str>,
) -> Result<Request> {
    let app = client(db, client_id, None, false).await?;
    let redirect_uri = match redirect_uri {
        Some(uri) => uri.to_owned(),
        None if app.redirect_uris.len() == 1 => app.redirect_uris[0].clone(),
        None => return Err(invalid("invalid_request", "redirect_uri is required")),
    };
    if !app.redirect_uris.iter().any(|u| u == &redirect_uri) {
        return Err(invalid(
            "invalid_redirect_uri",
            "the redirect_uri is not one this app registered",
        ));
    }
    let allowed = scope::parse(&app.scopes, "read")?;
    let scopes = scope::parse(scopes.unwrap_or(""), &app.scopes)?;
    if !scope::within(&scopes, &allowed) {
        return Err(invalid(
            "invalid_scope",
            "the app asks for more than it registered for",
        ));
    }
    let code_challenge = match (code_challenge, code_challenge_method) {
        (None, _) => None,
        (Some(c), Some("S256")) if !c.is_empty() && c.len() <= 128 => Some(c.to_owned()),
        (Some(_), _) => {
            return Err(invalid("invalid_request", "code_challenge_method must be S256"));
        }
    };
    Ok(Request {
        app,
        redirect_uri,
        scopes,
        code_challenge,
    })
}

/// The person approved: a code for the app, usable once within minutes.
pub async fn grant_code(db: &Db, request: &Request, account: &Account) -> Result<String> {
    let code = random_token();
    db::oauth::insert_code(
        db,
        &NewCode {
            code_sha256: &token_digest(&code),
            app_id: &request.app.id,
            account_id: &account.id,
            redirect_uri: &request.redirect_uri,
            scopes: &request.scopes.join(" "),
            code_challenge: request.code_challenge.as_deref(),
            expires_at: db::now_ms() + CODE_MINUTES * 60 * 1000,
        },
    )
    .await?;
    Ok(code)
}

fn s256(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

pub struct CodeExchange<'a> {
    pub client_id: &'a str,
    pub client_secret: Option<&'a str>,
    pub code: &'a str,
    pub redirect_uri: Option<&'a str>,
    pub code_verifier: Option<&'a str>,
}

/// Trades a code for a token: the app's secret, or (a public client) the PKCE verifier, proves
/// the app is the one that asked.
pub async fn exchange(db: &Db, x: CodeExchange<'_>) -> Result<super::IssuedToken> {
    let bad = || {
        Error::new(
            Kind::BadRequest,
            "invalid_grant",
            "the code is invalid, used or expired",
        )
    };
    let app = client(db, x.client_id, x.client_secret, x.code_verifier.is_none()).await?;
    let taken = db::oauth::take_code(db, &token_digest(x.code))
        .await?
        .ok_or_else(bad)?;
    if taken.app_id != app.id || x.redirect_uri.is_some_and(|u| u != taken.redirect_uri) {
        return Err(bad());
    }
    match (&taken.code_challenge, x.code_verifier) {
        (Some(challenge), Some(verifier)) if same_secret(challenge, &s256(verifier)) => {}
        (Some(_), _) => {
            return Err(Error::new(
                Kind::BadRequest,
                "invalid_grant",
                "the code_verifier does not match",
            ));
        }
        // A verifier for a code that had no challenge proves nothing: the secret must.
        (None, _) if x.client_secret.is_none() => return Err(bad()),
        (None, _) => {}
    }
    let account = db::accounts::by_id(db, &taken.account_id)
        .await?
        .ok_or_else(bad)?;
    super::may_log_in(&account)?;
    super::issue_token_for(db, &account, &taken.scopes, Some(&app)).await
}

/// The scopes a token request asks for (`read` when it names none), refused beyond those the
/// app registered.
fn asked_within(app: &App, asked: Option<&str>) -> Result<Vec<String>> {
    let allowed = scope::parse(&app.scopes, "read")?;
    let scopes = scope::parse(asked.unwrap_or(""), "read")?;
    if !scope::within(&scopes, &allowed) {
        return Err(invalid(
            "invalid_scope",
            "the app asks for more than it registered for",
        ));
    }
    Ok(scopes)
}

/// The password grant from a registered app: the scopes it asks for, within those it
/// registered, on a token tied to it (listed and revocable in settings, named on its posts).
pub async fn password_token(
    db: &Db,
    account: &Account,
    client_id: &str,
    secret: Option<&str>,
    scopes: Option<&str>,
) -> Result<super::IssuedToken> {
    let app = client(db, client_id, secret, true).await?;
    let scopes = asked_within(&app, scopes)?;
    super::issue_token_for(db, account, &scopes.join(" "), Some(&app)).await
}

/// The token a new account gets from `POST /api/v1/accounts`: when an app's own token asked,
/// it belongs to that app with the scopes the app registered, as Mastodon gives it; else the
/// first-party token.
pub async fn sign_up_token(
    db: &Db,
    account: &Account,
    app_token: Option<&str>,
) -> Result<super::IssuedToken> {
    let app = match app_token {
        Some(token) => app_for_token(db, token).await?.map(|(app, _)| app),
        None => None,
    };
    match app {
        Some(app) => {
            let scopes = scope::parse(&app.scopes, "read")?;
            super::issue_token_for(db, account, &scopes.join(" "), Some(&app)).await
        }
        None => super::issue_token(db, account).await,
    }
}

/// A token for the app itself, with no account behind it.
pub async fn client_credentials(
    db: &Db,
    client_id: &str,
    secret: &str,
    scopes: Option<&str>,
) -> Result<super::IssuedToken> {
    let app = client(db, client_id, Some(secret), true).await?;
    let scopes = asked_within(&app, scopes)?;
    let token = random_token();
    let scope = scopes.join(" ");
    let created_at = db::oauth::insert_app_token(db, &token_digest(&token), &app.id, &scope).await?;
    Ok(super::IssuedToken {
        token,
        scope,
        created_at,
    })
}

/// The app behind an app token (client credentials) and its scopes.
pub async fn app_for_token(db: &Db, token: &str) -> Result<Option<(App, Vec<String>)>> {
    Ok(db::oauth::app_token(db, &token_digest(token))
        .await?
        .map(|(app, scope)| {
            let scopes = scope.split_whitespace().map(str::to_owned).collect();
            (app, scopes)
        }))
}

pub async fn revoke_app_token(db: &Db, token: &str) -> Result<bool> {
    db::oauth::revoke_app_token(db, &token_digest(token)).await
}

/// The app behind any token: its own (client credentials) or the one a person authorized.
pub async fn app_of_token(db: &Db, token: &str) -> Result<Option<App>> {
    if let Some((app, _)) = app_for_token(db, token).await? {
        return Ok(Some(app));
    }
    match db::tokens::app_of(db, &token_digest(token)).await? {
        Some(id) => db::oauth::app_by_id(db, &id).await,
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn pkce_s256_as_rfc_7636_computes_it() {
        // The example of RFC 7636, appendix B.
        assert_eq!(
            super::s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
