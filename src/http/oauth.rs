use actix_web::{HttpRequest, HttpResponse, http::header, web};
use serde::{Deserialize, de::DeserializeOwned};
use serde_json::json;

use crate::{
    accounts,
    app::AppState,
    error::{Error, Kind, Result},
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

/// OAuth bodies come as forms (RFC 6749) or, from Mastodon-style clients, as JSON.
fn parse_body<T: DeserializeOwned>(req: &HttpRequest, body: &[u8]) -> Result<T> {
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        serde_json::from_slice(body).map_err(|e| Error::bad_request(format!("invalid JSON body: {e}")))
    } else {
        serde_urlencoded::from_bytes(body).map_err(|e| {
            Error::new(
                Kind::BadRequest,
                "invalid_request",
                format!("invalid form body: {e}"),
            )
        })
    }
}

pub async fn token(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> Result<HttpResponse> {
    let request: TokenRequest = parse_body(&req, &body)?;
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
    let account = accounts::login(&state.db, &username, &password).await?;
    let issued = accounts::issue_token(&state.db, &account).await?;
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
    let request: RevokeRequest = parse_body(&req, &body)?;
    accounts::revoke(&state.db, &request.token).await?;
    Ok(HttpResponse::Ok().json(json!({})))
}
