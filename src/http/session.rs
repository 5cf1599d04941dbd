//! Logging in and out of the web UI, and the pages that need a login.
//!
//! The session cookie is HttpOnly and SameSite=Lax; forms carry a CSRF token (the login form a
//! double-submit cookie, since there is no session yet).

use actix_web::{
    HttpRequest, HttpResponse,
    cookie::{Cookie, SameSite, time::Duration as CookieDuration},
    http::{StatusCode, header},
    web,
};
use minijinja::context;
use serde::Deserialize;

use super::{
    auth::{SESSION_COOKIE, Viewer},
    pages::{page, page_with_status},
    throttle::Throttle,
};
use crate::{
    accounts::{self, SESSION_DAYS},
    error::{Error, Kind, Result},
    state::AppState,
};

const LOGIN_CSRF_COOKIE: &str = "kaleido_login_csrf";

/// Only same-site paths are followed after login: never `//evil.example` or a full URL.
/// Where to go after logging in: only a path of this site. Browsers drop tabs and newlines
/// from URLs (`/\t/evil.example` becomes `//evil.example`, another host) and a newline cannot
/// be sent in a header at all, so any control character sends the visitor home instead.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(char::is_control) =>
        {
            n.to_owned()
        }
        _ => "/".to_owned(),
    }
}

fn secure(state: &AppState) -> bool {
    state.config.public_url().starts_with("https://")
}

fn cookie<'a>(state: &AppState, name: &'a str, value: String, max_age: CookieDuration) -> Cookie<'a> {
    Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure(state))
        .max_age(max_age)
        .finish()
}

/// Forms anonymous visitors post (following from another server): a token in a cookie and in
/// the form, which another site can neither read nor make the browser send with a cross-site
/// POST (SameSite=Lax).
const FORM_CSRF_COOKIE: &str = "kaleido_form_csrf";

/// A fresh form token and the cookie that carries it.
pub fn form_token(state: &AppState) -> (String, Cookie<'static>) {
    let token = accounts::new_csrf_token();
    let cookie = cookie(state, FORM_CSRF_COOKIE, token.clone(), CookieDuration::hours(2));
    (token, cookie)
}

/// Whether `sent` is the token this browser's cookie carries.
pub fn form_token_ok(req: &HttpRequest, sent: &str) -> bool {
    req.cookie(FORM_CSRF_COOKIE)
        .is_some_and(|c| !sent.is_empty() && accounts::same_secret(c.value(), sent))
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
    /// Show the form to someone signed in already, to sign in as another account (an app's
    /// `force_login`).
    #[serde(default, deserialize_with = "super::body::flex_bool_or_false")]
    switch: bool,
}

pub async fn login_form(
    state: web::Data<AppState>,
    viewer: Viewer,
    query: web::Query<NextQuery>,
) -> Result<HttpResponse> {
    if viewer.account.is_some() && !query.switch {
        return Ok(redirect(&safe_next(query.next.as_deref())));
    }
    render_login(&state, &viewer, query.next.as_deref(), None, StatusCode::OK)
}

fn render_login(
    state: &AppState,
    viewer: &Viewer,
    next: Option<&str>,
    error: Option<&str>,
    status: StatusCode,
) -> Result<HttpResponse> {
    let token = accounts::new_csrf_token();
    let mut response = page_with_status(
        state,
        viewer,
        "login.html",
        context! { next => safe_next(next), login_csrf => token.clone(), error => error },
        status,
    )?;
    response
        .add_cookie(&cookie(state, LOGIN_CSRF_COOKIE, token, CookieDuration::hours(2)))
        .map_err(|e| Error::internal("cannot set cookie").with_source(e))?;
    Ok(response)
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    csrf: String,
    next: Option<String>,
}

pub async fn login(
    state: web::Data<AppState>,
    throttle: web::Data<Throttle>,
    viewer: Viewer,
    req: HttpRequest,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse> {
    let expected = req.cookie(LOGIN_CSRF_COOKIE).map(|c| c.value().to_owned());
    if !expected.is_some_and(|e| accounts::same_secret(&e, &form.csrf)) {
        return render_login(
            &state,
            &viewer,
            form.next.as_deref(),
            Some("The form expired. Please try again."),
            StatusCode::FORBIDDEN,
        );
    }
    if let Err(e) = throttle.check(super::beacons::viewer_address(&req), &form.username) {
        let mut page = render_login(
            &state,
            &viewer,
            form.next.as_deref(),
            Some(&e.message),
            StatusCode::TOO_MANY_REQUESTS,
        )?;
        if let Some(seconds) = e.retry_after()
            && let Ok(value) = actix_web::http::header::HeaderValue::from_str(&seconds.to_string())
        {
            page.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return Ok(page);
    }
    let account = match accounts::login(&state.db, &form.username, &form.password).await {
        Ok(account) => {
            throttle.succeeded(&form.username);
            account
        }
        Err(e) if e.kind == Kind::Unauthorized => {
            throttle.failed(&form.username);
            return render_login(
                &state,
                &viewer,
                form.next.as_deref(),
                Some("That username and password do not match."),
                StatusCode::UNAUTHORIZED,
            );
        }
        // Suspended, waiting for approval or for a confirmed address: said on the form.
        Err(e) if e.kind == Kind::Forbidden => {
            return render_login(
                &state,
                &viewer,
                form.next.as_deref(),
                Some(&e.message),
                StatusCode::FORBIDDEN,
            );
        }
        Err(e) => return Err(e),
    };
    if accounts::two_factor::enabled(&state.db, &account).await? {
        let challenge =
            accounts::two_factor::challenge(&state.db, &account, &safe_next(form.next.as_deref())).await?;
        return page_with_status(
            &state,
            &viewer,
            "two_factor_login.html",
            context! { challenge => challenge },
            StatusCode::OK,
        );
    }
    finish_login(&state, &req, &account, &safe_next(form.next.as_deref())).await
}

#[derive(Deserialize)]
pub struct TwoFactorForm {
    challenge: String,
    code: String,
}

/// The second step of a login with two-factor authentication. The challenge token itself is
/// the proof of the first step; each allows a few codes for a few minutes.
pub async fn two_factor(
    state: web::Data<AppState>,
    throttle: web::Data<Throttle>,
    viewer: Viewer,
    req: HttpRequest,
    form: web::Form<TwoFactorForm>,
) -> Result<HttpResponse> {
    throttle.check(super::beacons::viewer_address(&req), &form.challenge)?;
    match accounts::two_factor::answer(&state.db, &form.challenge, &form.code).await {
        Ok((account, next)) => finish_login(&state, &req, &account, &safe_next(Some(&next))).await,
        Err(e) if e.code == "invalid_code" => page_with_status(
            &state,
            &viewer,
            "two_factor_login.html",
            context! { challenge => form.challenge, error => e.message },
            StatusCode::FORBIDDEN,
        ),
        Err(e) if e.kind.status().is_client_error() => {
            render_login(&state, &viewer, None, Some(&e.message), e.kind.status())
        }
        Err(e) => Err(e),
    }
}

async fn finish_login(
    state: &AppState,
    req: &HttpRequest,
    account: &crate::domain::account::Account,
    next: &str,
) -> Result<HttpResponse> {
    // Signing in as someone else (an app's force_login) ends the session this browser had.
    if let Some(previous) = req.cookie(SESSION_COOKIE) {
        accounts::end_session(&state.db, previous.value()).await?;
    }
    let mut response = start_browser_session(state, req, account, next).await?;
    let agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let address = super::beacons::viewer_address(req)
        .map(|a| a.to_string())
        .unwrap_or_default();
    accounts::mail::login_notice(state, account, agent, &address).await?;
    response
        .add_removal_cookie(&Cookie::build(LOGIN_CSRF_COOKIE, "").path("/").finish())
        .map_err(|e| Error::internal("cannot set cookie").with_source(e))?;
    Ok(response)
}

/// Logs the browser in as `account` and sends it to `to`; the session remembers the browser
/// and address for the sessions page.
pub async fn start_browser_session(
    state: &AppState,
    req: &HttpRequest,
    account: &crate::domain::account::Account,
    to: &str,
) -> Result<HttpResponse> {
    let user_agent: String = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .chars()
        .take(300)
        .collect();
    let address = super::beacons::viewer_address(req)
        .map(|a| a.to_string())
        .unwrap_or_default();
    let session = accounts::start_session(&state.db, account).await?;
    accounts::remember_origin(&state.db, &session.cookie, &user_agent, &address).await?;
    let mut response = redirect(to);
    response
        .add_cookie(&cookie(
            state,
            SESSION_COOKIE,
            session.cookie,
            CookieDuration::days(SESSION_DAYS),
        ))
        .map_err(|e| Error::internal("cannot set cookie").with_source(e))?;
    Ok(response)
}

#[derive(Deserialize)]
pub struct LogoutForm {
    csrf: String,
}

pub async fn logout(
    state: web::Data<AppState>,
    viewer: Viewer,
    req: HttpRequest,
    form: web::Form<LogoutForm>,
) -> Result<HttpResponse> {
    if !viewer.sent_own_token(&form.csrf) {
        return Err(Error::new(
            Kind::Forbidden,
            "invalid_csrf_token",
            "the form has expired; reload the page",
        ));
    }
    if let Some(cookie) = req.cookie(SESSION_COOKIE) {
        accounts::end_session(&state.db, cookie.value()).await?;
    }
    let mut response = redirect("/");
    response
        .add_removal_cookie(&Cookie::build(SESSION_COOKIE, "").path("/").finish())
        .map_err(|e| Error::internal("cannot clear cookie").with_source(e))?;
    Ok(response)
}

pub async fn upload_page(state: web::Data<AppState>, viewer: Viewer) -> Result<HttpResponse> {
    if viewer.account.is_none() {
        return Ok(redirect("/login?next=/upload"));
    }
    page(
        &state,
        &viewer,
        "upload.html",
        context! {
            max_album => state.config.limits.max_album_size,
            max_bytes => state.config.limits.max_image_bytes,
        },
    )
}

pub fn redirect(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .finish()
}
