//! Accounts, relationships, search and follow requests in Mastodon's API shapes.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::{
    auth::{CurrentAccount, Viewer},
    entities,
};
use crate::{
    db::{
        self,
        statuses::{Page, Timeline},
    },
    error::{Error, Result},
    social,
    state::AppState,
    statuses,
};

pub async fn verify_credentials(state: web::Data<AppState>, current: CurrentAccount) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(entities::account_with_counts(&state, &current.0).await?))
}

pub async fn show(state: web::Data<AppState>, id: web::Path<String>) -> Result<HttpResponse> {
    let account = db::accounts::by_id(&state.db, &id)
        .await?
        .ok_or_else(|| Error::not_found("account"))?;
    Ok(HttpResponse::Ok().json(entities::account_with_counts(&state, &account).await?))
}

#[derive(Deserialize)]
pub struct LookupQuery {
    acct: String,
}

/// `GET /api/v1/accounts/lookup?acct=name[@host]`: known accounts only, nothing fetched.
pub async fn lookup(
    state: web::Data<AppState>,
    viewer: Viewer,
    query: web::Query<LookupQuery>,
) -> Result<HttpResponse> {
    let found = social::search(&state, &query.acct, false, viewer.account.as_ref()).await?;
    let account = found
        .accounts
        .first()
        .ok_or_else(|| Error::not_found("account"))?;
    Ok(HttpResponse::Ok().json(entities::account_with_counts(&state, account).await?))
}

#[derive(Deserialize)]
pub struct AccountStatusesQuery {
    max_id: Option<String>,
    limit: Option<i64>,
}

pub async fn statuses(
    state: web::Data<AppState>,
    viewer: Viewer,
    id: web::Path<String>,
    query: web::Query<AccountStatusesQuery>,
) -> Result<HttpResponse> {
    let page = Page {
        max_id: query.max_id.clone(),
        limit: query.limit.unwrap_or(20),
        ..Page::default()
    };
    let items = statuses::timeline(
        &state,
        Timeline::Account { account_id: &id },
        &page,
        viewer.account.as_ref(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(
        items
            .iter()
            .map(|i| entities::status_full(&state, i))
            .collect::<Vec<_>>(),
    ))
}

pub async fn follow(
    state: web::Data<AppState>,
    current: CurrentAccount,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(social::follow(&state, &current.0, &id).await?))
}

pub async fn unfollow(
    state: web::Data<AppState>,
    current: CurrentAccount,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(social::unfollow(&state, &current.0, &id).await?))
}

/// `GET /api/v1/accounts/relationships?id[]=a&id[]=b` (or `id=a`).
pub async fn relationships(
    state: web::Data<AppState>,
    current: CurrentAccount,
    req: HttpRequest,
) -> Result<HttpResponse> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(req.query_string())
        .map_err(|e| Error::bad_request(format!("invalid query: {e}")))?;
    let mut out = Vec::new();
    for (name, id) in pairs.into_iter().take(40) {
        if name == "id[]" || name == "id" {
            out.push(social::relationship(&state, &current.0, &id).await?);
        }
    }
    Ok(HttpResponse::Ok().json(out))
}

#[derive(Deserialize)]
pub struct SearchQuery {
    q: String,
    #[serde(default)]
    resolve: bool,
}

pub async fn search(
    state: web::Data<AppState>,
    viewer: Viewer,
    query: web::Query<SearchQuery>,
) -> Result<HttpResponse> {
    let found = social::search(&state, &query.q, query.resolve, viewer.account.as_ref()).await?;
    let mut accounts = Vec::with_capacity(found.accounts.len());
    for account in &found.accounts {
        accounts.push(entities::account_with_counts(&state, account).await?);
    }
    Ok(HttpResponse::Ok().json(json!({
        "accounts": accounts,
        "statuses": found.statuses.iter().map(|s| entities::status_full(&state, s)).collect::<Vec<_>>(),
        "hashtags": [],
    })))
}

pub async fn follow_requests(state: web::Data<AppState>, current: CurrentAccount) -> Result<HttpResponse> {
    let accounts = social::follow_requests(&state, &current.0).await?;
    Ok(HttpResponse::Ok().json(
        accounts
            .iter()
            .map(|a| entities::account(&state, a))
            .collect::<Vec<_>>(),
    ))
}

/// `/api/v1/follow_requests/:account_id/authorize` or `/reject`.
pub async fn answer_request(
    state: web::Data<AppState>,
    current: CurrentAccount,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let accept = req.path().ends_with("/authorize");
    Ok(HttpResponse::Ok().json(social::answer_request(&state, &current.0, &id, accept).await?))
}

#[derive(Deserialize)]
pub struct CredentialsUpdate {
    locked: Option<bool>,
}

/// `PATCH /api/v1/accounts/update_credentials`: for now, whether follows need approval.
pub async fn update_credentials(
    state: web::Data<AppState>,
    current: CurrentAccount,
    req: HttpRequest,
    bytes: web::Bytes,
) -> Result<HttpResponse> {
    let update: CredentialsUpdate = super::body::parse(&req, &bytes)?;
    let account = match update.locked {
        Some(locked) => social::set_locked(&state, &current.0, locked).await?,
        None => current.0,
    };
    Ok(HttpResponse::Ok().json(entities::account_with_counts(&state, &account).await?))
}
