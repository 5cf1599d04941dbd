//! Blocks, mutes, reports and domain blocks, in Mastodon's API shapes.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::{
    auth::{CurrentAccount, admin},
    entities,
};
use crate::{
    db,
    error::{Error, Result},
    social,
    state::AppState,
};

#[derive(Deserialize)]
pub struct DomainBlockRequest {
    domain: String,
    #[serde(default)]
    private_comment: String,
}

fn block_entity(domain: &str, reason: &str, created_at: i64) -> serde_json::Value {
    json!({
        "id": domain,
        "domain": domain,
        "severity": "suspend",
        "private_comment": reason,
        "created_at": crate::domain::time::rfc3339(created_at),
    })
}

pub async fn domain_blocks(state: web::Data<AppState>, current: CurrentAccount) -> Result<HttpResponse> {
    admin(&current)?;
    let mut out: Vec<_> = state
        .config
        .federation
        .blocked_domains
        .iter()
        .map(|d| block_entity(d, "configuration (federation.blocked_domains)", 0))
        .collect();
    for (domain, reason, at) in db::federation::domain_blocks(&state.db).await? {
        out.push(block_entity(&domain, &reason, at));
    }
    Ok(HttpResponse::Ok().json(out))
}

pub async fn block_domain(
    state: web::Data<AppState>,
    current: CurrentAccount,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse> {
    admin(&current)?;
    let request: DomainBlockRequest =
        super::body::read(&req, payload, state.config.limits.max_request_body_bytes).await?;
    let domain = social::domain_of(&request.domain)?;
    db::federation::block_domain(&state.db, &domain, &request.private_comment).await?;
    Ok(HttpResponse::Ok().json(block_entity(&domain, &request.private_comment, db::now_ms())))
}

pub async fn unblock_domain(
    state: web::Data<AppState>,
    current: CurrentAccount,
    domain: web::Path<String>,
) -> Result<HttpResponse> {
    admin(&current)?;
    let domain = social::domain_of(&domain)?;
    if !db::federation::unblock_domain(&state.db, &domain).await? {
        return Err(Error::not_found("domain block"));
    }
    Ok(HttpResponse::Ok().json(json!({})))
}

/// `/block`, `/unblock`, `/mute`, `/unmute` on an account.
pub async fn shun(
    state: web::Data<AppState>,
    current: CurrentAccount,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    use crate::db::moderation::Shun;
    let (kind, undo) = match req.path().rsplit('/').next().unwrap_or("") {
        "block" => (Shun::Block, false),
        "unblock" => (Shun::Block, true),
        "mute" => (Shun::Mute, false),
        "unmute" => (Shun::Mute, true),
        _ => return Err(Error::not_found("action")),
    };
    Ok(HttpResponse::Ok().json(social::shun(&state, &current.0, &id, kind, undo).await?))
}

#[derive(Deserialize)]
pub struct ReportRequest {
    account_id: String,
    #[serde(default)]
    status_ids: Vec<String>,
    #[serde(default)]
    comment: String,
    #[serde(default, deserialize_with = "super::body::flex_bool_or_false")]
    forward: bool,
}

pub(super) fn report_entity(state: &AppState, report: &crate::db::moderation::Report) -> serde_json::Value {
    json!({
        "id": report.id,
        "comment": report.comment,
        "forwarded": report.forwarded,
        "status_ids": report.status_ids,
        "created_at": crate::domain::time::rfc3339(report.created_at),
        "target_account": { "id": report.target_id },
        "account": { "id": report.account_id },
        "kaleido": { "host": state.config.public_url() },
    })
}

pub async fn report(
    state: web::Data<AppState>,
    current: CurrentAccount,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse> {
    let request: ReportRequest =
        super::body::read(&req, payload, state.config.limits.max_request_body_bytes).await?;
    let report = social::report(
        &state,
        &current.0,
        &request.account_id,
        request.status_ids,
        request.comment,
        request.forward,
    )
    .await?;
    Ok(HttpResponse::Ok().json(report_entity(&state, &report)))
}

/// Reports made here and received from other servers, newest first, with who and whom.
pub async fn reports(state: web::Data<AppState>, current: CurrentAccount) -> Result<HttpResponse> {
    admin(&current)?;
    let mut out = Vec::new();
    for report in crate::db::moderation::reports(&state.db).await? {
        let mut entity = report_entity(&state, &report);
        if let Some(a) = crate::db::accounts::by_id(&state.db, &report.account_id).await? {
            entity["account"] = entities::account(&state, &a);
        }
        if let Some(a) = crate::db::accounts::by_id(&state.db, &report.target_id).await? {
            entity["target_account"] = entities::account(&state, &a);
        }
        out.push(entity);
    }
    Ok(HttpResponse::Ok().json(out))
}
