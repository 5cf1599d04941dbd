//! `/api/v1/notifications` (and the grouped `/api/v2/notifications`): what the caller was
//! told about, filtered and paged as Mastodon does, dismissed one by one or all at once.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, http::header, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{auth::CurrentAccount, body, entities};
use crate::{
    db::notifications::Filter,
    domain::time::rfc3339,
    error::{Error, Result},
    social::{self, Told},
    state::AppState,
};

/// The types Kaleido writes; asking for others finds nothing, as on Mastodon.
const KINDS: &[&str] = &[
    "mention",
    "status",
    "reblog",
    "follow",
    "follow_request",
    "favourite",
    "poll",
    "update",
    "admin.sign_up",
    "admin.report",
];

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default, deserialize_with = "body::one_or_many")]
    types: Vec<String>,
    #[serde(default, deserialize_with = "body::one_or_many")]
    exclude_types: Vec<String>,
    account_id: Option<String>,
    max_id: Option<String>,
    since_id: Option<String>,
    min_id: Option<String>,
    limit: Option<String>,
}

impl ListQuery {
    fn filter(self, default_limit: i64) -> Result<Filter> {
        for kind in self.types.iter().chain(&self.exclude_types) {
            if !KINDS.contains(&kind.as_str()) {
                return Err(Error::unprocessable(format!(
                    "{kind:?} is not a notification type"
                )));
            }
        }
        let limit = match self.limit.as_deref() {
            Some(raw) => raw
                .parse::<i64>()
                .map_err(|_| Error::unprocessable("limit is a number"))?,
            None => default_limit,
        };
        Ok(Filter {
            types: self.types,
            exclude_types: self.exclude_types,
            from_account_id: self.account_id,
            max_id: self.max_id,
            since_id: self.since_id,
            min_id: self.min_id,
            limit,
        })
    }
}

pub(super) fn entity(state: &AppState, told: &Told) -> Value {
    let n = &told.notification;
    let mut value = json!({
        "id": n.id,
        "type": n.kind,
        "created_at": rfc3339(n.created_at),
        "group_key": group_key(told),
        "account": entities::account(state, &told.from),
    });
    if let Some(status) = &told.status {
        value["status"] = entities::status_full(state, status);
    }
    if let Some(report) = &told.report {
        value["report"] = super::moderation::report_entity(state, report);
    }
    value
}

/// Likes and boosts of one post, and follows, make one group each, as Mastodon 4.3 groups
/// them; anything else stands alone.
fn group_key(told: &Told) -> String {
    let n = &told.notification;
    match (n.kind.as_str(), &n.status_id) {
        ("favourite" | "reblog", Some(status)) => format!("{}-{status}", n.kind),
        ("follow", _) => "follow".to_owned(),
        _ => format!("ungrouped-{}", n.id),
    }
}

fn with_links(
    state: &AppState,
    req: &HttpRequest,
    first: Option<&str>,
    last: Option<&str>,
) -> actix_web::HttpResponseBuilder {
    let mut response = HttpResponse::Ok();
    if let (Some(first), Some(last)) = (first, last) {
        response.insert_header((
            header::LINK,
            super::paging::link(state.config.public_url(), req, Some(first), last),
        ));
    }
    response
}

/// `GET /api/v1/notifications`
pub async fn list(
    state: web::Data<AppState>,
    current: CurrentAccount,
    req: HttpRequest,
) -> Result<HttpResponse> {
    let filter = body::query::<ListQuery>(&req)?.filter(40)?;
    let told = social::notifications(&state, &current.0, &filter).await?;
    let body: Vec<Value> = told.iter().map(|t| entity(&state, t)).collect();
    let ids: Vec<&str> = told.iter().map(|t| t.notification.id.as_str()).collect();
    Ok(with_links(&state, &req, ids.first().copied(), ids.last().copied()).json(body))
}

/// `GET /api/v2/notifications`: the same, grouped, with each account and post once.
pub async fn grouped(
    state: web::Data<AppState>,
    current: CurrentAccount,
    req: HttpRequest,
) -> Result<HttpResponse> {
    let filter = body::query::<ListQuery>(&req)?.filter(40)?;
    let told = social::notifications(&state, &current.0, &filter).await?;
    let mut order: Vec<String> = Vec::new();
    let mut groups: HashMap<String, Vec<&Told>> = HashMap::new();
    for t in &told {
        let key = group_key(t);
        if !groups.contains_key(&key) {
            order.push(key.clone());
        }
        groups.entry(key).or_default().push(t);
    }
    let mut accounts: Vec<Value> = Vec::new();
    let mut seen_accounts: Vec<&str> = Vec::new();
    let mut statuses: Vec<Value> = Vec::new();
    let mut seen_statuses: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    for key in &order {
        let members = &groups[key];
        let newest = members[0];
        let oldest = members[members.len() - 1];
        for t in members {
            if !seen_accounts.contains(&t.from.id.as_str()) {
                seen_accounts.push(&t.from.id);
                accounts.push(entities::account(&state, &t.from));
            }
            if let Some(s) = &t.status
                && !seen_statuses.contains(&s.status.id.as_str())
            {
                seen_statuses.push(&s.status.id);
                statuses.push(entities::status_full(&state, s));
            }
        }
        let mut group = json!({
            "group_key": key,
            "notifications_count": members.len(),
            "type": newest.notification.kind,
            "most_recent_notification_id": newest.notification.id,
            "page_min_id": oldest.notification.id,
            "page_max_id": newest.notification.id,
            "latest_page_notification_at": rfc3339(newest.notification.created_at),
            "sample_account_ids": members.iter().take(8).map(|t| t.from.id.clone()).collect::<Vec<_>>(),
            "status_id": newest.notification.status_id,
        });
        if let Some(report) = &newest.report {
            group["report"] = super::moderation::report_entity(&state, report);
        }
        out.push(group);
    }
    let ids: Vec<&str> = told.iter().map(|t| t.notification.id.as_str()).collect();
    Ok(
        with_links(&state, &req, ids.first().copied(), ids.last().copied()).json(json!({
            "accounts": accounts,
            "statuses": statuses,
            "notification_groups": out,
        })),
    )
}

/// `GET /api/v1/notifications/:id`
pub async fn show(
    state: web::Data<AppState>,
    current: CurrentAccount,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let told = social::notification(&state, &current.0, &id).await?;
    Ok(HttpResponse::Ok().json(entity(&state, &told)))
}

/// `POST /api/v1/notifications/:id/dismiss`
pub async fn dismiss(
    state: web::Data<AppState>,
    current: CurrentAccount,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    if !crate::db::notifications::dismiss(&state.db, &current.0.id, &id).await? {
        return Err(Error::not_found("notification"));
    }
    Ok(HttpResponse::Ok().json(json!({})))
}

/// `POST /api/v1/notifications/clear`
pub async fn clear(state: web::Data<AppState>, current: CurrentAccount) -> Result<HttpResponse> {
    crate::db::notifications::clear(&state.db, &current.0.id).await?;
    Ok(HttpResponse::Ok().json(json!({})))
}

/// `GET /api/v1/notifications/unread_count`: past the `notifications` marker, up to 1000.
pub async fn unread_count(state: web::Data<AppState>, current: CurrentAccount) -> Result<HttpResponse> {
    let count = crate::db::notifications::unread_count(&state.db, &current.0.id, 1000).await?;
    Ok(HttpResponse::Ok().json(json!({ "count": count })))
}
