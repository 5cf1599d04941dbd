//! Accounts, relationships, search, likes, boosts and admin domain blocks in Mastodon's API
//! shapes.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::{
    auth::{CurrentAccount, Viewer},
    entities,
};
use crate::{
    app::AppState,
    db::{
        self,
        statuses::{Page, Timeline},
    },
    error::{Error, Kind, Result},
    social, statuses,
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

fn admin(current: &CurrentAccount) -> Result<()> {
    if current.0.is_admin {
        Ok(())
    } else {
        Err(Error::new(
            Kind::Forbidden,
            "forbidden",
            "this needs an admin account",
        ))
    }
}

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
        "created_at": entities::rfc3339(created_at),
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
    bytes: web::Bytes,
) -> Result<HttpResponse> {
    admin(&current)?;
    let request: DomainBlockRequest = super::body::parse(&req, &bytes)?;
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

#[derive(Deserialize)]
pub struct ReportRequest {
    account_id: String,
    #[serde(default)]
    status_ids: Vec<String>,
    #[serde(default)]
    comment: String,
    #[serde(default)]
    forward: bool,
}

fn report_entity(state: &AppState, report: &crate::db::moderation::Report) -> serde_json::Value {
    json!({
        "id": report.id,
        "comment": report.comment,
        "forwarded": report.forwarded,
        "status_ids": report.status_ids,
        "created_at": entities::rfc3339(report.created_at),
        "target_account": { "id": report.target_id },
        "account": { "id": report.account_id },
        "kaleido": { "host": state.config.public_url() },
    })
}

pub async fn report(
    state: web::Data<AppState>,
    current: CurrentAccount,
    req: HttpRequest,
    bytes: web::Bytes,
) -> Result<HttpResponse> {
    let request: ReportRequest = super::body::parse(&req, &bytes)?;
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

/// Copies this instance holds, and the copies of our videos that others announced.
pub async fn mirrors(state: web::Data<AppState>, current: CurrentAccount) -> Result<HttpResponse> {
    admin(&current)?;
    let held: Vec<_> = crate::db::mirrors::mirrors(&state.db)
        .await?
        .into_iter()
        .map(|m| {
            json!({
                "id": m.id,
                "status_id": m.status_id,
                "video": m.video_uri,
                "origin_master": m.origin_master,
                "state": m.state,
                "error": m.error,
                "size_bytes": m.size_bytes,
                "verified_at": m.verified_at.map(entities::rfc3339),
            })
        })
        .collect();
    let ours: Vec<_> = crate::db::mirrors::copies_of_ours(&state.db)
        .await?
        .into_iter()
        .map(|(media_id, base, verified_at)| {
            json!({ "media_id": media_id, "mirror": base, "verified_at": entities::rfc3339(verified_at) })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "held": held, "ours": ours })))
}

#[derive(Deserialize)]
pub struct MirrorPeerRequest {
    url: String,
}

/// Follows another instance's actor at run time, to mirror its videos.
pub async fn mirror_peer(
    state: web::Data<AppState>,
    current: CurrentAccount,
    req: HttpRequest,
    bytes: web::Bytes,
) -> Result<HttpResponse> {
    admin(&current)?;
    let request: MirrorPeerRequest = super::body::parse(&req, &bytes)?;
    crate::mirror::peers::follow(&state, &request.url).await?;
    Ok(HttpResponse::Ok().json(json!({ "following": request.url.trim_end_matches('/') })))
}

/// Reads one stored copy back now and checks it; a rotten one is withdrawn and copied again.
pub async fn verify_mirror(
    state: web::Data<AppState>,
    current: CurrentAccount,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    admin(&current)?;
    let sound = crate::mirror::copy::reverify(&state, &id).await?;
    Ok(HttpResponse::Ok().json(json!({ "id": id.as_str(), "sound": sound })))
}

/// Prometheus text: copies held and their bytes, copy and verification failures, copies of our
/// videos elsewhere, deliveries by state, dead servers. Admins only (a scraper sends a token).
pub async fn metrics(state: web::Data<AppState>, current: CurrentAccount) -> Result<HttpResponse> {
    admin(&current)?;
    let mut body = String::new();
    for (name, value) in crate::db::mirrors::metrics(&state.db).await? {
        body.push_str(&format!("kaleido_{name} {value}\n"));
    }
    Ok(HttpResponse::Ok()
        .insert_header(("Content-Type", "text/plain; version=0.0.4"))
        .body(body))
}
