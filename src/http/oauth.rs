use actix_web::{HttpRequest, HttpResponse, http::header, web};
use serde::Deserialize;
use serde_json::json;

use super::{beacons::viewer_address, body, throttle::Throttle};
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
}

#[derive(Deserialize)]
pub struct RevokeRequest {
    token: String,
}

pub async fn token(
    state: web::Data<AppState>,
    throttle: web::Data<Throttle>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse> {
    let request: TokenRequest = body::parse(&req, &body)?;
    if request.grant_type != "password" {
        return Err(Error::new(
            Kind::BadRequest,
            "unsupported_grant_type",
            "only grant_type=password is supported",
        ));
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
    let issued = accounts::issue_token(&state.db, &account).await?;
    let agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let address = viewer_address(&req).map(|a| a.to_string()).unwrap_or_default();
    accounts::mail::login_notice(&state, &account, agent, &address).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({
            "access_token": issued.token,
            "token_type": "Bearer",
            "scope": issued.scope,
            "created_at": issued.created_at / 1000,
        })))
}

/// As RFC 7009 and Mastodon: revoking an unknown token is not an error.
pub async fn revoke(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> Result<HttpResponse> {
    let request: RevokeRequest = body::parse(&req, &body)?;
    accounts::revoke(&state.db, &request.token).await?;
    Ok(HttpResponse::Ok().json(json!({})))
}
