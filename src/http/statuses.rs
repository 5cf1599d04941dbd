use actix_web::{HttpRequest, HttpResponse, http::header, web};
use serde::Deserialize;

use super::{
    auth::{CurrentAccount, Viewer},
    body, entities,
};
use crate::{
    db::statuses::{Page, Timeline},
    error::Result,
    state::AppState,
    statuses::{self, Hydrated, NewStatus},
};

#[derive(Deserialize)]
pub struct CreateRequest {
    #[serde(default)]
    status: String,
    #[serde(default)]
    media_ids: Vec<String>,
    visibility: Option<String>,
    #[serde(default, deserialize_with = "body::flex_bool_or_false")]
    sensitive: bool,
    #[serde(default)]
    spoiler_text: String,
    in_reply_to_id: Option<String>,
}

pub async fn create(
    state: web::Data<AppState>,
    current: CurrentAccount,
    req: HttpRequest,
    bytes: web::Bytes,
) -> Result<HttpResponse> {
    let request: CreateRequest = body::parse(&req, &bytes)?;
    let key = req
        .headers()
        .get("Idempotency-Key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (status, media) = statuses::create_once(
        &state,
        &current.0,
        NewStatus {
            text: request.status,
            media_ids: request.media_ids,
            visibility: request.visibility,
            sensitive: request.sensitive,
            spoiler_text: request.spoiler_text,
            in_reply_to_id: request.in_reply_to_id,
        },
        key.as_deref(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(entities::status(&state, &status, &current.0, &media)))
}

pub async fn show(state: web::Data<AppState>, viewer: Viewer, id: web::Path<String>) -> Result<HttpResponse> {
    let (status, _, _) = statuses::fetch(&state, &id, viewer.account.as_ref()).await?;
    let item = statuses::hydrate(&state, vec![status], viewer.account.as_ref())
        .await?
        .pop()
        .ok_or_else(|| crate::error::Error::not_found("status"))?;
    Ok(HttpResponse::Ok().json(entities::status_full(&state, &item)))
}

pub async fn delete(
    state: web::Data<AppState>,
    current: CurrentAccount,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let (status, media) = statuses::delete(&state, &id, &current.0).await?;
    Ok(HttpResponse::Ok().json(entities::status(&state, &status, &current.0, &media)))
}

#[derive(Deserialize)]
pub struct PageQuery {
    #[serde(default, deserialize_with = "body::flex_bool_or_false")]
    local: bool,
    #[serde(default, deserialize_with = "body::flex_bool_or_false")]
    remote: bool,
    max_id: Option<String>,
    since_id: Option<String>,
    min_id: Option<String>,
    limit: Option<i64>,
}

impl PageQuery {
    fn page(&self) -> Page {
        Page {
            max_id: self.max_id.clone(),
            since_id: self.since_id.clone(),
            min_id: self.min_id.clone(),
            limit: self.limit.unwrap_or(20),
        }
    }
}

/// The statuses as JSON with Mastodon's `Link` header for the next (older) and previous pages.
fn page_response(state: &AppState, req: &HttpRequest, items: &[Hydrated]) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    if let (Some(first), Some(last)) = (items.first(), items.last()) {
        let base = format!("{}{}", state.config.public_url(), req.path());
        response.insert_header((
            header::LINK,
            format!(
                "<{base}?max_id={}>; rel=\"next\", <{base}?min_id={}>; rel=\"prev\"",
                last.status.id, first.status.id
            ),
        ));
    }
    let body: Vec<_> = items.iter().map(|h| entities::status_full(state, h)).collect();
    response.json(body)
}

pub async fn public_timeline(
    state: web::Data<AppState>,
    viewer: Viewer,
    req: HttpRequest,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse> {
    let timeline = Timeline::Public {
        local: query.local,
        remote: query.remote,
        viewer: viewer.account.as_ref().map(|a| a.id.as_str()),
    };
    let items = statuses::timeline(&state, timeline, &query.page(), viewer.account.as_ref()).await?;
    Ok(page_response(&state, &req, &items))
}

pub async fn home_timeline(
    state: web::Data<AppState>,
    current: CurrentAccount,
    req: HttpRequest,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse> {
    let items = statuses::timeline(
        &state,
        Timeline::Home {
            account_id: &current.0.id,
        },
        &query.page(),
        Some(&current.0),
    )
    .await?;
    Ok(page_response(&state, &req, &items))
}
