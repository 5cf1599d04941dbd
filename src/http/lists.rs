//! The lists apps open on a tab: followers and following (hidden when the owner hides them),
//! who liked or boosted a post, blocks, mutes, favourites, account search; and, where Kaleido
//! has no such thing yet, the honest empty answers apps expect rather than a 404.

use actix_web::{HttpRequest, HttpResponse, http::header, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    accounts::visible_account,
    auth::{CurrentAccount, Viewer},
    entities,
};
use crate::{
    db::{
        self,
        relations::{Relation, list},
    },
    domain::account::Account,
    error::Result,
    social,
    state::AppState,
    statuses,
};

#[derive(Deserialize)]
pub struct Paging {
    max_id: Option<String>,
    limit: Option<i64>,
}

/// Accounts with Mastodon's `Link` to the next page.
async fn accounts_page(
    state: &AppState,
    req: &HttpRequest,
    rows: Vec<(String, Account)>,
) -> Result<HttpResponse> {
    let mut response = HttpResponse::Ok();
    if let Some((last, _)) = rows.last() {
        response.insert_header((
            header::LINK,
            super::paging::link(state.config.public_url(), req, None, last),
        ));
    }
    let mut out = Vec::with_capacity(rows.len());
    for (_, account) in &rows {
        out.push(entities::account_with_counts(state, account).await?);
    }
    Ok(response.json(out))
}

/// `GET /api/v1/accounts/:id/followers` and `/following`.
pub async fn relations(
    state: web::Data<AppState>,
    viewer: Viewer,
    req: HttpRequest,
    id: web::Path<String>,
    paging: web::Query<Paging>,
) -> Result<HttpResponse> {
    let account = visible_account(&state, &id, viewer.account.as_ref()).await?;
    let own = viewer.account.as_ref().is_some_and(|v| v.id == account.id);
    if account.profile.hide_collections && !own {
        return Ok(HttpResponse::Ok().json(Vec::<Value>::new()));
    }
    let relation = if req.path().ends_with("/followers") {
        Relation::Followers(&account.id)
    } else {
        Relation::Following(&account.id)
    };
    let rows = list(
        &state.db,
        relation,
        paging.max_id.as_deref(),
        paging.limit.unwrap_or(40),
    )
    .await?;
    accounts_page(&state, &req, rows).await
}

/// `GET /api/v1/statuses/:id/favourited_by` and `/reblogged_by`, of a post the viewer may see.
pub async fn interactions(
    state: web::Data<AppState>,
    viewer: Viewer,
    req: HttpRequest,
    id: web::Path<String>,
    paging: web::Query<Paging>,
) -> Result<HttpResponse> {
    let (status, _, _) = statuses::fetch(&state, &id, viewer.account.as_ref()).await?;
    let relation = if req.path().ends_with("/favourited_by") {
        Relation::FavouritedBy(&status.id)
    } else {
        Relation::RebloggedBy(&status.id)
    };
    let rows = list(
        &state.db,
        relation,
        paging.max_id.as_deref(),
        paging.limit.unwrap_or(40),
    )
    .await?;
    accounts_page(&state, &req, rows).await
}

/// `GET /api/v1/blocks` and `/api/v1/mutes`: the caller's own.
pub async fn shunned(
    state: web::Data<AppState>,
    current: CurrentAccount,
    req: HttpRequest,
    paging: web::Query<Paging>,
) -> Result<HttpResponse> {
    let relation = if req.path().ends_with("/blocks") {
        Relation::Blocked(&current.0.id)
    } else {
        Relation::Muted(&current.0.id)
    };
    let rows = list(
        &state.db,
        relation,
        paging.max_id.as_deref(),
        paging.limit.unwrap_or(40),
    )
    .await?;
    accounts_page(&state, &req, rows).await
}

/// `GET /api/v1/favourites` and `/api/v1/bookmarks`: what the caller liked or bookmarked,
/// newest first, that they may still see.
pub async fn favourites(
    state: web::Data<AppState>,
    current: CurrentAccount,
    req: HttpRequest,
    paging: web::Query<Paging>,
) -> Result<HttpResponse> {
    let (max_id, limit) = (paging.max_id.as_deref(), paging.limit.unwrap_or(20));
    let rows = if req.path().ends_with("/bookmarks") {
        db::marks::bookmarks(&state.db, &current.0.id, max_id, limit).await?
    } else {
        db::statuses::favourited_by_account(&state.db, &current.0.id, max_id, limit).await?
    };
    let mut response = HttpResponse::Ok();
    if let Some((last, _)) = rows.last() {
        response.insert_header((
            header::LINK,
            super::paging::link(state.config.public_url(), &req, None, last),
        ));
    }
    let visible = statuses::only_visible(
        &state,
        rows.into_iter().map(|(_, s)| s).collect(),
        Some(&current.0),
    )
    .await?;
    let items = statuses::hydrate(&state, visible, Some(&current.0)).await?;
    Ok(response.json(
        items
            .iter()
            .map(|i| entities::status_full(&state, i))
            .collect::<Vec<_>>(),
    ))
}

#[derive(Deserialize)]
pub struct AccountSearch {
    q: String,
    #[serde(default, deserialize_with = "super::body::flex_bool_or_false")]
    resolve: bool,
}

/// `GET /api/v1/accounts/search?q=`: the same lookups as `/api/v2/search`, accounts only
/// (by address, then by name).
pub async fn search_accounts(
    state: web::Data<AppState>,
    viewer: Viewer,
    query: web::Query<AccountSearch>,
) -> Result<HttpResponse> {
    let mut found = social::search(&state, &query.q, query.resolve, viewer.account.as_ref()).await?;
    let wanted = social::Wanted {
        accounts: true,
        statuses: false,
        hashtags: false,
        limit: 40,
        offset: 0,
    };
    social::full_text(&state, &query.q, &wanted, viewer.account.as_ref(), &mut found).await?;
    let mut out = Vec::with_capacity(found.accounts.len());
    for account in found
        .accounts
        .iter()
        .filter(|a| a.standing.approved && !a.standing.gone())
    {
        out.push(entities::account_with_counts(&state, account).await?);
    }
    Ok(HttpResponse::Ok().json(out))
}

/// `GET /api/v1/preferences`: the account's posting defaults, as Mastodon names them.
pub async fn preferences(current: CurrentAccount) -> HttpResponse {
    let p = &current.0.profile;
    HttpResponse::Ok().json(json!({
        "posting:default:visibility": p.default_privacy,
        "posting:default:sensitive": p.default_sensitive,
        "posting:default:language": p.default_language,
        "reading:expand:media": "default",
        "reading:expand:spoilers": false,
    }))
}

/// What Kaleido has none of yet (lists, filters, announcements, custom emoji, trends,
/// suggestions, conversations): an empty list, which is true, rather than a 404
/// that apps show as an error. Signed-in only where Mastodon's are.
pub async fn nothing_yet_signed_in(_current: CurrentAccount) -> HttpResponse {
    HttpResponse::Ok().json(Vec::<Value>::new())
}

/// Making one of those: refused in words, rather than a 200 that keeps nothing.
pub async fn not_kept(_current: CurrentAccount, req: HttpRequest) -> Result<HttpResponse> {
    let what = if req.path().contains("/filters") {
        "filters"
    } else {
        "lists"
    };
    Err(crate::error::Error::unprocessable(format!(
        "Kaleido keeps no {what} yet"
    )))
}

pub async fn nothing_yet(_viewer: Viewer) -> HttpResponse {
    HttpResponse::Ok().json(Vec::<Value>::new())
}

/// The timelines an app may keep its place in.
const MARKER_TIMELINES: &[&str] = &["home", "notifications"];

fn markers_json(markers: &[db::marks::Marker]) -> Value {
    let mut out = serde_json::Map::new();
    for m in markers {
        out.insert(
            m.timeline.clone(),
            json!({
                "last_read_id": m.last_read_id,
                "version": m.version,
                "updated_at": crate::domain::time::rfc3339(m.updated_at),
            }),
        );
    }
    Value::Object(out)
}

/// `GET /api/v1/markers?timeline[]=home&timeline[]=notifications`: where the caller stopped;
/// with no timeline named, all of them.
pub async fn markers(
    state: web::Data<AppState>,
    current: CurrentAccount,
    req: HttpRequest,
) -> Result<HttpResponse> {
    let asked: Vec<String> = serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| k == "timeline" || k == "timeline[]")
        .map(|(_, v)| v)
        .collect();
    let markers: Vec<_> = db::marks::markers(&state.db, &current.0.id)
        .await?
        .into_iter()
        .filter(|m| asked.is_empty() || asked.contains(&m.timeline))
        .collect();
    Ok(HttpResponse::Ok().json(markers_json(&markers)))
}

/// `POST /api/v1/markers` with `home[last_read_id]=…` and/or `notifications[last_read_id]=…`.
pub async fn save_markers(
    state: web::Data<AppState>,
    current: CurrentAccount,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse> {
    let body: Value = super::body::read(&req, payload, 16 * 1024).await?;
    let mut saved = Vec::new();
    for timeline in MARKER_TIMELINES {
        let Some(entry) = body.get(*timeline) else {
            continue;
        };
        let id = entry
            .get("last_read_id")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty() && id.len() <= 64)
            .ok_or_else(|| {
                crate::error::Error::unprocessable(format!(
                    "{timeline}[last_read_id] must be the id of a post or notification"
                ))
            })?;
        db::marks::set_marker(&state.db, &current.0.id, timeline, id).await?;
        saved.push(*timeline);
    }
    if saved.is_empty() {
        return Err(crate::error::Error::unprocessable(
            "name a timeline to mark: home[last_read_id] or notifications[last_read_id]",
        ));
    }
    let markers: Vec<_> = db::marks::markers(&state.db, &current.0.id)
        .await?
        .into_iter()
        .filter(|m| saved.contains(&m.timeline.as_str()))
        .collect();
    Ok(HttpResponse::Ok().json(markers_json(&markers)))
}
