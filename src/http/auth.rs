//! Who is asking: a bearer token (apps) or a session cookie (the web UI). Cookie-authenticated
//! requests that change something must carry the session's CSRF token in `X-CSRF-Token`.

use std::{future::Future, pin::Pin};

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::Method, http::header, web};

use crate::{
    accounts,
    domain::account::Account,
    error::{Error, Kind, Result},
    state::AppState,
};

pub const SESSION_COOKIE: &str = "kaleido_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The requesting account; 401 without valid credentials.
pub struct CurrentAccount(pub Account);

/// The requesting account when there is one (public pages), with the session's CSRF token.
pub struct Viewer {
    pub account: Option<Account>,
    pub csrf_token: Option<String>,
    /// A signed-in browser's unread notifications, for the pages' header.
    pub unread: i64,
}

impl Viewer {
    /// Nobody signed in.
    pub fn nobody() -> Viewer {
        Viewer {
            account: None,
            csrf_token: None,
            unread: 0,
        }
    }
}

impl Viewer {
    /// Whether a form came with this session's CSRF token: the cookie alone would let another
    /// site post the form in the viewer's name.
    pub fn sent_own_token(&self, sent: &str) -> bool {
        self.csrf_token
            .as_deref()
            .is_some_and(|expected| accounts::same_secret(expected, sent))
    }
}

/// The bearer token of a request, if it sent one.
pub fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| token.trim().to_owned())
}

type Pending<T> = Pin<Box<dyn Future<Output = Result<T>>>>;

enum Credential {
    Bearer(String),
    Session(String),
    None,
}

fn credential(req: &HttpRequest) -> Result<Credential> {
    if let Some(value) = req.headers().get(header::AUTHORIZATION) {
        let value = value
            .to_str()
            .map_err(|_| Error::unauthorized("invalid_token", "malformed Authorization header"))?;
        let (scheme, token) = value
            .split_once(' ')
            .ok_or_else(|| Error::unauthorized("invalid_token", "expected a Bearer token"))?;
        if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
            return Err(Error::unauthorized("invalid_token", "expected a Bearer token"));
        }
        return Ok(Credential::Bearer(token.trim().to_owned()));
    }
    Ok(req
        .cookie(SESSION_COOKIE)
        .map_or(Credential::None, |c| Credential::Session(c.value().to_owned())))
}

/// How a request is signed in: a browser session (with its CSRF token) or a token (with its
/// scopes).
enum Access {
    Session(String),
    Token(Vec<String>),
}

async fn resolve(state: &AppState, credential: Credential) -> Result<Option<(Account, Access)>> {
    match credential {
        Credential::Bearer(token) => match accounts::authenticate(&state.db, &token).await {
            Ok((account, scopes)) => Ok(Some((account, Access::Token(scopes)))),
            // An app's own token is valid, but there is nobody signed in behind it.
            Err(e)
                if e.kind == Kind::Unauthorized
                    && accounts::oauth::app_for_token(&state.db, &token).await?.is_some() =>
            {
                Err(Error::new(
                    Kind::Forbidden,
                    "app_token",
                    "this is an app's own token: a person has to sign in for this",
                ))
            }
            Err(e) => Err(e),
        },
        Credential::Session(cookie) => Ok(accounts::session(&state.db, &cookie)
            .await?
            .map(|(a, csrf)| (a, Access::Session(csrf)))),
        Credential::None => Ok(None),
    }
}

fn state_of(req: &HttpRequest) -> Result<web::Data<AppState>> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| Error::internal("application state missing"))
}

impl FromRequest for CurrentAccount {
    type Error = Error;
    type Future = Pending<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = state_of(req);
        let credential = credential(req);
        let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
        let needed = super::scopes::required(req.method(), req.path());
        let sent_csrf = req
            .headers()
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Box::pin(async move {
            let (state, credential) = (state?, credential?);
            let Some((account, access)) = resolve(&state, credential).await? else {
                return Err(Error::unauthorized("invalid_token", "this needs an access token"));
            };
            match access {
                Access::Session(expected) if unsafe_method => {
                    let ok = sent_csrf.is_some_and(|sent| accounts::same_secret(&sent, &expected));
                    if !ok {
                        return Err(Error::new(
                            Kind::Forbidden,
                            "invalid_csrf_token",
                            "the form has expired; reload the page",
                        ));
                    }
                }
                Access::Session(_) => {}
                Access::Token(scopes) => {
                    if !crate::domain::scope::covers(&scopes, needed) {
                        return Err(Error::new(
                            Kind::Forbidden,
                            "insufficient_scope",
                            format!("this token lacks the scope {needed} this needs"),
                        ));
                    }
                }
            }
            Ok(CurrentAccount(account))
        })
    }
}

impl FromRequest for Viewer {
    type Error = Error;
    type Future = Pending<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = state_of(req);
        let credential = credential(req);
        Box::pin(async move {
            let (state, credential) = (state?, credential?);
            // A stale cookie on a public page is simply no login.
            let resolved = resolve(&state, credential).await.ok().flatten();
            Ok(match resolved {
                Some((account, Access::Session(csrf))) => {
                    // Pages show it in their header; a count that cannot be read is no reason
                    // not to show the page.
                    let unread = crate::db::notifications::unread_count(&state.db, &account.id, 100)
                        .await
                        .unwrap_or(0);
                    Viewer {
                        account: Some(account),
                        csrf_token: Some(csrf),
                        unread,
                    }
                }
                Some((account, Access::Token(_))) => Viewer {
                    account: Some(account),
                    csrf_token: None,
                    unread: 0,
                },
                None => Viewer::nobody(),
            })
        })
    }
}

/// Refuses anyone but an admin.
pub fn admin(current: &CurrentAccount) -> Result<()> {
    if current.0.is_admin {
        Ok(())
    } else {
        Err(Error::new(
            Kind::Forbidden,
            "forbidden",
            "this needs an admin account",
        ))
    }
}
