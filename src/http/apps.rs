//! OAuth apps: registering (`POST /api/v1/apps`), checking an app's token, the consent page
//! (`/oauth/authorize`), and the server's OAuth metadata.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, http::header, web};
use minijinja::context;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{auth::Viewer, pages::page_with_status, session::redirect, throttle::Throttle};
use crate::{
    accounts::oauth::{self, OOB},
    db::oauth::App,
    error::{Error, Kind, Result},
    state::AppState,
};

/// Mastodon's Application entity; the secret only when just registered.
fn application(app: &App, secret: Option<&str>) -> Value {
    let mut value = json!({
        "id": app.id,
        "name": app.name,
        "website": app.website,
        "scopes": app.scopes.split_whitespace().collect::<Vec<_>>(),
        "redirect_uri": app.redirect_uris.join("\n"),
        "redirect_uris": app.redirect_uris,
        "vapid_key": "",
    });
    if let Some(secret) = secret {
        value["client_id"] = json!(app.client_id);
        value["client_secret"] = json!(secret);
        value["client_secret_expires_at"] = json!(0);
    }
    value
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Uris {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
pub struct AppRequest {
    client_name: String,
    redirect_uris: Uris,
    #[serde(default)]
    scopes: String,
    website: Option<String>,
}

/// `POST /api/v1/apps`: anyone may register an app (apps do it on their first start), limited
/// per address like logins.
pub async fn create(
    state: web::Data<AppState>,
    throttle: web::Data<Throttle>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse> {
    let request: AppRequest =
        super::body::read(&req, payload, state.config.limits.max_request_body_bytes).await?;
    throttle.check(super::beacons::viewer_address(&req), "registering an app")?;
    let uris: Vec<String> = match request.redirect_uris {
        Uris::One(text) => text.split_whitespace().map(str::to_owned).collect(),
        Uris::Many(list) => list,
    };
    let (app, secret) = oauth::register(
        &state.db,
        &request.client_name,
        &uris,
        &request.scopes,
        request.website.as_deref(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(application(&app, Some(&secret))))
}

/// `GET /api/v1/apps/verify_credentials`: the app a token belongs to.
pub async fn verify(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse> {
    let token = super::auth::bearer(&req)
        .ok_or_else(|| Error::unauthorized("invalid_token", "this needs an access token"))?;
    let app = oauth::app_of_token(&state.db, &token).await?.ok_or_else(|| {
        Error::unauthorized(
            "invalid_token",
            "the access token is invalid or belongs to no app",
        )
    })?;
    Ok(HttpResponse::Ok().json(application(&app, None)))
}

/// `/.well-known/oauth-authorization-server` (RFC 8414), as Mastodon 4.3 serves it.
pub async fn metadata(state: web::Data<AppState>) -> HttpResponse {
    let base = state.config.public_url();
    HttpResponse::Ok().json(json!({
        "issuer": format!("{base}/"),
        "service_documentation": "https://docs.joinmastodon.org/",
        "authorization_endpoint": format!("{base}/oauth/authorize"),
        "token_endpoint": format!("{base}/oauth/token"),
        "revocation_endpoint": format!("{base}/oauth/revoke"),
        "app_registration_endpoint": format!("{base}/api/v1/apps"),
        "scopes_supported": ["read", "write", "follow", "push", "profile", "admin:read", "admin:write",
            "read:accounts", "read:blocks", "read:bookmarks", "read:favourites", "read:filters", "read:follows",
            "read:lists", "read:mutes", "read:notifications", "read:search", "read:statuses",
            "write:accounts", "write:blocks", "write:bookmarks", "write:conversations", "write:favourites",
            "write:filters", "write:follows", "write:lists", "write:media", "write:mutes",
            "write:notifications", "write:reports", "write:statuses"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "grant_types_supported": ["authorization_code", "password", "client_credentials"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
    }))
}

#[derive(Deserialize, Default)]
pub struct AuthorizeQuery {
    #[serde(default)]
    response_type: String,
    #[serde(default)]
    client_id: String,
    redirect_uri: Option<String>,
    scope: Option<String>,
    #[serde(default)]
    state: String,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    /// Ask for a login even when someone is signed in, so a person with several accounts
    /// can choose which one the app gets.
    #[serde(default, deserialize_with = "super::body::flex_bool_or_false")]
    force_login: bool,
}

fn describe(scope: &str) -> String {
    match scope {
        "read" => "read everything of your account: posts, follows, notifications".into(),
        "write" => "post, upload, edit your profile and change anything of your account".into(),
        "follow" => "follow, block and mute accounts".into(),
        "push" => "receive push notifications".into(),
        "profile" => "see your profile (name and avatar) only".into(),
        "admin:read" => "read the server's moderation data".into(),
        "admin:write" => "take moderation actions".into(),
        other => match other.split_once(':') {
            Some(("read", what)) => format!("read your {}", what.replace('_', " ")),
            Some(("write", what)) => format!("change your {}", what.replace('_', " ")),
            _ => other.to_owned(),
        },
    }
}

fn error_page(state: &AppState, viewer: &Viewer, e: &Error) -> Result<HttpResponse> {
    page_with_status(
        state,
        viewer,
        "message.html",
        context! { title => "This app's request is not valid", message => e.message },
        e.kind.status(),
    )
}

async fn checked(state: &AppState, q: &AuthorizeQuery) -> Result<oauth::Request> {
    if q.response_type != "code" {
        return Err(Error::new(
            Kind::BadRequest,
            "unsupported_response_type",
            "response_type must be code",
        ));
    }
    oauth::check_request(
        &state.db,
        &q.client_id,
        q.redirect_uri.as_deref(),
        q.scope.as_deref(),
        q.code_challenge.as_deref().filter(|c| !c.is_empty()),
        q.code_challenge_method.as_deref().filter(|c| !c.is_empty()),
    )
    .await
}

/// `GET /oauth/authorize`: signs in first when needed, then asks. A request that would fail
/// is refused on the page, never redirected to a URI that was not checked.
pub async fn authorize(
    state: web::Data<AppState>,
    viewer: Viewer,
    req: HttpRequest,
    query: web::Query<AuthorizeQuery>,
) -> Result<HttpResponse> {
    if viewer.account.is_none() || query.force_login {
        // Back here after the login, without force_login, or it would ask again forever.
        let kept: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(
                url::form_urlencoded::parse(req.query_string().as_bytes())
                    .filter(|(k, _)| k != "force_login"),
            )
            .finish();
        let here = format!("{}?{kept}", req.path());
        let next: String = url::form_urlencoded::byte_serialize(here.as_bytes()).collect();
        let switch = if viewer.account.is_some() { "&switch=1" } else { "" };
        return Ok(redirect(&format!("/login?next={next}{switch}")));
    }
    let request = match checked(&state, &query).await {
        Ok(r) => r,
        Err(e) if e.kind.status().is_client_error() => return error_page(&state, &viewer, &e),
        Err(e) => return Err(e),
    };
    let mut page = page_with_status(
        &state,
        &viewer,
        "oauth_authorize.html",
        context! {
            app => context! { name => request.app.name, website => request.app.website },
            scopes => request.scopes.iter().map(|s| context! { name => s, text => describe(s) }).collect::<Vec<_>>(),
            client_id => query.client_id,
            redirect_uri => request.redirect_uri,
            scope => request.scopes.join(" "),
            state => query.state,
            code_challenge => request.code_challenge.clone().unwrap_or_default(),
            code_challenge_method => if request.code_challenge.is_some() { "S256" } else { "" },
        },
        StatusCode::OK,
    )?;
    allow_form_to(&mut page, &request.redirect_uri);
    Ok(page)
}

/// Our pages' CSP lets forms go only to this site; the consent form's answer redirects to the
/// app, which browsers check against `form-action` too. So this page also allows the one
/// redirect URI it was checked against (its origin, or its scheme for an app's own scheme).
fn allow_form_to(page: &mut HttpResponse, redirect_uri: &str) {
    let Ok(url) = url::Url::parse(redirect_uri) else {
        return;
    };
    let source = match url.scheme() {
        "http" | "https" => url.origin().ascii_serialization(),
        // The oob URI never leaves the page.
        "urn" => return,
        scheme => format!("{scheme}:"),
    };
    let headers = page.headers_mut();
    let Some(csp) = headers
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.replace("form-action 'self'", &format!("form-action 'self' {source}")))
    else {
        return;
    };
    if let Ok(value) = header::HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
}

#[derive(Deserialize)]
pub struct Decision {
    csrf: String,
    decision: String,
    #[serde(flatten)]
    query: AuthorizeQueryForm,
}

#[derive(Deserialize)]
pub struct AuthorizeQueryForm {
    client_id: String,
    redirect_uri: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    code_challenge: String,
    #[serde(default)]
    code_challenge_method: String,
}

fn back_to_app(redirect_uri: &str, pairs: &[(&str, &str)]) -> Result<HttpResponse> {
    let mut url =
        url::Url::parse(redirect_uri).map_err(|_| Error::bad_request("the redirect_uri is not a URL"))?;
    {
        let mut query = url.query_pairs_mut();
        for (k, v) in pairs.iter().filter(|(_, v)| !v.is_empty()) {
            query.append_pair(k, v);
        }
    }
    Ok(HttpResponse::Found()
        .insert_header((header::LOCATION, url.as_str()))
        .finish())
}

/// The person's answer on the consent page.
pub async fn decide(
    state: web::Data<AppState>,
    viewer: Viewer,
    form: web::Form<Decision>,
) -> Result<HttpResponse> {
    let Some(account) = viewer.account.as_ref() else {
        return Ok(redirect("/login"));
    };
    if !viewer.sent_own_token(&form.csrf) {
        return Err(Error::new(
            Kind::Forbidden,
            "invalid_csrf_token",
            "the form has expired; reload the page",
        ));
    }
    let q = &form.query;
    let query = AuthorizeQuery {
        response_type: "code".into(),
        client_id: q.client_id.clone(),
        redirect_uri: Some(q.redirect_uri.clone()),
        scope: Some(q.scope.clone()),
        state: q.state.clone(),
        code_challenge: Some(q.code_challenge.clone()),
        code_challenge_method: Some(q.code_challenge_method.clone()),
        force_login: false,
    };
    let request = match checked(&state, &query).await {
        Ok(r) => r,
        Err(e) if e.kind.status().is_client_error() => return error_page(&state, &viewer, &e),
        Err(e) => return Err(e),
    };
    let oob = request.redirect_uri == OOB;
    if form.decision != "approve" {
        if oob {
            return page_with_status(
                &state,
                &viewer,
                "message.html",
                context! { title => "Not authorized", message => format!("{} has no access to your account.", request.app.name) },
                StatusCode::OK,
            );
        }
        return back_to_app(
            &request.redirect_uri,
            &[("error", "access_denied"), ("state", &q.state)],
        );
    }
    let code = oauth::grant_code(&state.db, &request, account).await?;
    if oob {
        return page_with_status(
            &state,
            &viewer,
            "oauth_code.html",
            context! { code => code, app_name => request.app.name },
            StatusCode::OK,
        );
    }
    back_to_app(&request.redirect_uri, &[("code", &code), ("state", &q.state)])
}
