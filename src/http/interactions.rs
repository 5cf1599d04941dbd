//! Likes, boosts and reply threads of a status, in Mastodon's API shapes.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::{
    auth::{CurrentAccount, Viewer},
    entities,
};
use crate::{
    error::{Error, Result},
    social,
    state::AppState,
    statuses,
};

/// `/favourite`, `/unfavourite`, `/reblog`, `/unreblog` on a status.
pub async fn interact(
    state: web::Data<AppState>,
    current: CurrentAccount,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let item = match req.path().rsplit('/').next().unwrap_or("") {
        "favourite" => social::favourite(&state, &current.0, &id, false).await?,
        "unfavourite" => social::favourite(&state, &current.0, &id, true).await?,
        "reblog" => social::reblog(&state, &current.0, &id, false).await?,
        "unreblog" => social::reblog(&state, &current.0, &id, true).await?,
        _ => return Err(Error::not_found("action")),
    };
    Ok(HttpResponse::Ok().json(entities::status_full(&state, &item)))
}

pub async fn context(
    state: web::Data<AppState>,
    viewer: Viewer,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let (ancestors, descendants) = social::context(&state, &id, viewer.account.as_ref()).await?;
    let render = |items: &[statuses::Hydrated]| {
        items
            .iter()
            .map(|i| entities::status_full(&state, i))
            .collect::<Vec<_>>()
    };
    Ok(HttpResponse::Ok().json(json!({
        "ancestors": render(&ancestors),
        "descendants": render(&descendants),
    })))
}
