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
    language: Option<String>,
    /// Neither is kept yet: a post that asks for one is refused, not posted without it.
    poll: Option<serde_json::Value>,
    scheduled_at: Option<String>,
}

/// The app behind the request's bearer token, if any.
async fn posting_app(state: &AppState, req: &HttpRequest) -> Result<Option<String>> {
    let Some(token) = super::auth::bearer(req) else {
        return Ok(None);
    };
    Ok(crate::accounts::oauth::app_of_token(&state.db, &token)
        .await?
        .map(|app| app.id))
}

pub async fn create(
    state: web::Data<AppState>,
    current: CurrentAccount,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse> {
    let request: CreateRequest =
        body::read(&req, payload, state.config.limits.max_request_body_bytes).await?;
    if request.poll.as_ref().is_some_and(|p| !p.is_null()) {
        return Err(crate::error::Error::unprocessable("Kaleido has no polls yet"));
    }
    if request.scheduled_at.as_deref().is_some_and(|s| !s.is_empty()) {
        return Err(crate::error::Error::unprocessable(
            "Kaleido does not schedule posts yet; post it when it is time",
        ));
    }
    let app_id = posting_app(&state, &req).await?;
    let key = req
        .headers()
        .get("Idempotency-Key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (status, _) = statuses::create_once(
        &state,
        &current.0,
        NewStatus {
            text: request.status,
            media_ids: request.media_ids,
            visibility: request.visibility,
            sensitive: request.sensitive,
            spoiler_text: request.spoiler_text,
            in_reply_to_id: request.in_reply_to_id,
            language: request.language,
            app_id,
        },
        key.as_deref(),
    )
    .await?;
    shown(&state, status, &current.0).await
}

/// A status as the API answers it, with counts and the viewer's own marks.
async fn shown(
    state: &AppState,
    status: crate::domain::status::Status,
    viewer: &crate::domain::account::Account,
) -> Result<HttpResponse> {
    let item = statuses::hydrate(state, vec![status], Some(viewer))
        .await?
        .pop()
        .ok_or_else(|| crate::error::Error::not_found("status"))?;
    Ok(HttpResponse::Ok().json(entities::status_full(state, &item)))
}

#[derive(Deserialize)]
pub struct EditRequest {
    status: Option<String>,
    spoiler_text: Option<String>,
    #[serde(default, deserialize_with = "body::flex_bool")]
    sensitive: Option<bool>,
    language: Option<String>,
    media_ids: Option<Vec<String>>,
    #[serde(default)]
    media_attributes: Vec<MediaAttributesRequest>,
    /// Polls are not kept: an edit that sends one is refused rather than half done.
    poll: Option<serde_json::Value>,
}

#[derive(Deserialize)]
pub struct MediaAttributesRequest {
    id: String,
    description: Option<String>,
    focus: Option<String>,
}

/// `PUT /api/v1/statuses/:id`: edits one of the caller's posts.
pub async fn edit(
    state: web::Data<AppState>,
    current: CurrentAccount,
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse> {
    let request: EditRequest = body::read(&req, payload, state.config.limits.max_request_body_bytes).await?;
    if request.poll.as_ref().is_some_and(|p| !p.is_null()) {
        return Err(crate::error::Error::unprocessable("Kaleido has no polls yet"));
    }
    let (status, _) = statuses::edit(
        &state,
        &current.0,
        &id,
        statuses::StatusEdit {
            text: request.status,
            spoiler_text: request.spoiler_text,
            sensitive: request.sensitive,
            language: request.language,
            media_ids: request.media_ids,
            media_attributes: request
                .media_attributes
                .into_iter()
                .map(|a| statuses::MediaAttributes {
                    id: a.id,
                    description: a.description,
                    focus: a.focus,
                })
                .collect(),
        },
    )
    .await?;
    shown(&state, status, &current.0).await
}

/// `GET /api/v1/statuses/:id/source`: the plain text an edit starts from (the author's only).
pub async fn source(
    state: web::Data<AppState>,
    current: CurrentAccount,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let (status, _, _) = statuses::fetch(&state, &id, Some(&current.0)).await?;
    if status.account_id != current.0.id {
        return Err(crate::error::Error::not_found("status"));
    }
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "id": status.id,
        "text": status.text,
        "spoiler_text": status.spoiler_text,
    })))
}

/// `GET /api/v1/statuses/:id/history`: every version, oldest first.
pub async fn history(
    state: web::Data<AppState>,
    viewer: Viewer,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let (versions, _, author, media) = statuses::history(&state, &id, viewer.account.as_ref()).await?;
    let account = entities::account(&state, &author);
    let attachments: Vec<_> = media
        .iter()
        .map(|m| entities::media_attachment(&state, m))
        .collect();
    let body: Vec<_> = versions
        .iter()
        .map(|v| {
            serde_json::json!({
                "content": crate::domain::status::to_html(&v.text),
                "spoiler_text": v.spoiler_text,
                "sensitive": v.sensitive,
                "created_at": crate::domain::time::rfc3339(v.created_at),
                "account": account,
                "poll": null,
                "media_attachments": attachments,
                "emojis": [],
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(body))
}

/// `POST /api/v1/statuses/:id/bookmark`, `/unbookmark`, `/pin` and `/unpin`.
pub async fn mark(
    state: web::Data<AppState>,
    current: CurrentAccount,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let path = req.path();
    let item = if path.ends_with("/bookmark") || path.ends_with("/unbookmark") {
        statuses::bookmark(&state, &current.0, &id, path.ends_with("/unbookmark")).await?
    } else {
        statuses::pin(&state, &current.0, &id, path.ends_with("/unpin")).await?
    };
    Ok(HttpResponse::Ok().json(entities::status_full(&state, &item)))
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
    // The post as it was, with its source text, so an app can offer to write it again.
    let gone = Hydrated {
        status,
        author: current.0.clone(),
        media,
        counts: (0, 0, 0),
        favourited: false,
        reblogged: false,
        bookmarked: false,
        pinned: false,
        in_reply_to_account_id: None,
        application: None,
        mentions: Vec::new(),
        tags: Vec::new(),
        reblog: None,
    };
    Ok(HttpResponse::Ok().json(entities::status_full(&state, &gone)))
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
pub(super) fn page_response(state: &AppState, req: &HttpRequest, items: &[Hydrated]) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    if let (Some(first), Some(last)) = (items.first(), items.last()) {
        response.insert_header((
            header::LINK,
            super::paging::link(
                state.config.public_url(),
                req,
                Some(&first.status.id),
                &last.status.id,
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
