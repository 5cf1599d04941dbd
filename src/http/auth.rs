use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header, web};

use crate::{
    accounts,
    app::AppState,
    domain::account::Account,
    error::{Error, Result},
};

/// The account behind the request's `Authorization: Bearer` token; 401 without a live one.
pub struct CurrentAccount(pub Account);

impl FromRequest for CurrentAccount {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer(req);
        Box::pin(async move {
            let state = state.ok_or_else(|| Error::internal("application state missing"))?;
            let token = token?;
            Ok(CurrentAccount(accounts::authenticate(&state.db, &token).await?))
        })
    }
}

fn bearer(req: &HttpRequest) -> Result<String> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| Error::unauthorized("invalid_token", "this needs an access token"))?;
    let value = value
        .to_str()
        .map_err(|_| Error::unauthorized("invalid_token", "malformed Authorization header"))?;
    let (scheme, token) = value
        .split_once(' ')
        .ok_or_else(|| Error::unauthorized("invalid_token", "expected a Bearer token"))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(Error::unauthorized("invalid_token", "expected a Bearer token"));
    }
    Ok(token.trim().to_owned())
}
