use actix_web::{HttpRequest, HttpResponse, http::header, web};
use serde::Deserialize;
use serde_json::json;

use super::{beacons::viewer_address, throttle::Throttle};
use crate::{
    accounts,
    error::{Error, Kind, Result},
    state::AppState,
};

#[derive(Deserialize)]
pub struct TokenRequest {
    grant_type: String,
    username: Option<String>,
    password: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    scope: Option<String>,
}

fn token_answer(issued: &accounts::IssuedToken) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({
            "access_token": issued.token,
            "token_type": "Bearer",
            "scope": issued.scope,
            "created_at": issued.created_at / 1000,
        }))
}

/// Client credentials from HTTP Basic (RFC 6749 §2.3.1) when the body has none.
fn basic_client(req: &HttpRequest) -> Option<(String, String)> {
    use base64::Engine;
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let unescape = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((unescape(id)?, unescape(secret)?))
}

#[derive(Deserialize)]
pub struct RevokeRequest {
    token: String,
}

pub async fn token(
    state: web::Data<AppState>,
    throttle: web::Data<Throttle>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse> {
    let mut request: TokenRequest =
        super::body::read(&req, payload, state.config.limits.max_request_body_bytes).await?;
    if request.client_id.is_none()
        && let Some((id, secret)) = basic_client(&req)
    {
        request.client_id = Some(id);
        request.client_secret = Some(secret);
    }
    match request.grant_type.as_str() {
        "password" => {}
        "authorization_code" => {
            let (Some(client_id), Some(code)) = (request.client_id.as_deref(), request.code.as_deref())
            else {
                return Err(Error::new(
                    Kind::BadRequest,
                    "invalid_request",
                    "client_id and code are required",
                ));
            };
            let issued = accounts::oauth::exchange(
                &state.db,
                accounts::oauth::CodeExchange {
                    client_id,
                    client_secret: request.client_secret.as_deref(),
                    code,
                    redirect_uri: request.redirect_uri.as_deref(),
                    code_verifier: request.code_verifier.as_deref(),
                },
            )
            .await?;
            return Ok(token_answer(&issued));
        }
        "client_credentials" => {
            let (Some(client_id), Some(secret)) =
                (request.client_id.as_deref(), request.client_secret.as_deref())
            else {
                return Err(Error::new(
                    Kind::BadRequest,
                    "invalid_request",
                    "client_id and client_secret are required",
                ));
            };
            let issued =
                accounts::oauth::client_credentials(&state.db, client_id, secret, request.scope.as_deref())
                    .await?;
            return Ok(token_answer(&issued));
        }
        _ => {
            return Err(Error::new(
                Kind::BadRequest,
                "unsupported_grant_type",
                "grant_type is authorization_code, client_credentials or password",
            ));
        }
    }
    let (Some(username), Some(password)) = (request.username, request.password) else {
        return Err(Error::new(
            Kind::BadRequest,
            "invalid_request",
            "username and password are required",
        ));
    };
    throttle.check(viewer_address(&req), &username)?;
    let account = match accounts::login(&state.db, &username, &password).await {
        Ok(account) => {
            throttle.succeeded(&username);
            account
        }
        Err(e) => {
            if e.kind == Kind::Unauthorized {
                throttle.failed(&username);
            }
            return Err(e);
        }
    };
    if accounts::two_factor::enabled(&state.db, &account).await? {
        // The password alone is not enough for this account, and the password grant has no
        // place for a second factor: apps sign such accounts in through the web login.
        return Err(Error::new(
            Kind::Unauthorized,
            "invalid_grant",
            "this account uses two-factor authentication: sign in through the web login",
        ));
    }
    let issued = match request.client_id.as_deref() {
        Some(client_id) => {
            accounts::oauth::password_token(
                &state.db,
                &account,
                client_id,
                request.client_secret.as_deref(),
                request.scope.as_deref(),
            )
            .await?
        }
        // Kaleido's own tools (and its tests) sign in with no app.
        None => accounts::issue_token(&state.db, &account).await?,
    };
    let agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let address = viewer_address(&req).map(|a| a.to_string()).unwrap_or_default();
    accounts::mail::login_notice(&state, &account, agent, &address).await?;
    Ok(token_answer(&issued))
}

/// As RFC 7009 and Mastodon: revoking an unknown token is not an error.
pub async fn revoke(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse> {
    let request: RevokeRequest =
        super::body::read(&req, payload, state.config.limits.max_request_body_bytes).await?;
    if !accounts::revoke(&state.db, &request.token).await? {
        accounts::oauth::revoke_app_token(&state.db, &request.token).await?;
    }
    Ok(HttpResponse::Ok().json(json!({})))
}
