//! The admin API in Mastodon's shapes (`/api/v1/admin/accounts`, v2 too, report resolution),
//! the instance's rules, and Kaleido's per-account quotas.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    auth::{CurrentAccount, admin},
    body::flex_bool_or_false,
    entities,
};
use crate::{
    admin::{self, Action},
    db::{self, accounts::AdminFilter},
    domain::{account::Account, time::rfc3339},
    error::{Error, Kind, Result},
    state::AppState,
};

/// Mastodon's Admin::Account.
pub async fn admin_account(state: &AppState, account: &Account) -> Result<Value> {
    let details = db::accounts::sign_up_details(&state.db, &account.id).await?;
    let (storage, daily) = db::accounts::quotas(&state.db, &account.id).await?;
    let (used, today) = db::accounts::usage(&state.db, &account.id, db::now_ms() - 24 * 3600 * 1000).await?;
    let role = if account.is_admin {
        json!({ "id": "3", "name": "Admin", "permissions": "1", "color": "", "highlighted": true })
    } else {
        json!({ "id": "-99", "name": "", "permissions": "0", "color": "", "highlighted": false })
    };
    let standing = &account.standing;
    Ok(json!({
        "id": account.id,
        "username": account.username,
        "domain": account.domain,
        "created_at": rfc3339(account.created_at),
        "email": details.email.unwrap_or_default(),
        "ip": details.address,
        "ips": [],
        "locale": details.locale.unwrap_or_default(),
        "invite_request": details.reason,
        "role": role,
        "confirmed": standing.email_confirmed || state.config.email.is_none(),
        "approved": standing.approved,
        "disabled": standing.deleted_at.is_some(),
        "silenced": standing.silenced_at.is_some(),
        "suspended": standing.suspended_at.is_some(),
        "sensitized": false,
        "account": entities::account(state, account),
        "created_by_application_id": Value::Null,
        "invited_by_account_id": Value::Null,
        "kaleido": {
            "invite_code": details.invite_code,
            "deleted": standing.deleted_at.is_some(),
            "storage_quota_bytes": storage,
            "daily_upload_quota_bytes": daily,
            "storage_used_bytes": used,
            "uploaded_last_day_bytes": today,
        },
    }))
}

async fn answer_list(state: &AppState, filter: AdminFilter) -> Result<HttpResponse> {
    let accounts = db::accounts::admin_list(&state.db, &filter).await?;
    let mut out = Vec::with_capacity(accounts.len());
    for account in &accounts {
        out.push(admin_account(state, account).await?);
    }
    Ok(HttpResponse::Ok().json(out))
}

#[derive(Deserialize)]
pub struct ListV1 {
    #[serde(default, deserialize_with = "flex_bool_or_false")]
    local: bool,
    #[serde(default, deserialize_with = "flex_bool_or_false")]
    remote: bool,
    #[serde(default, deserialize_with = "flex_bool_or_false")]
    active: bool,
    #[serde(default, deserialize_with = "flex_bool_or_false")]
    pending: bool,
    #[serde(default, deserialize_with = "flex_bool_or_false")]
    disabled: bool,
    #[serde(default, deserialize_with = "flex_bool_or_false")]
    silenced: bool,
    #[serde(default, deserialize_with = "flex_bool_or_false")]
    suspended: bool,
    #[serde(default, deserialize_with = "flex_bool_or_false")]
    staff: bool,
    username: Option<String>,
    display_name: Option<String>,
    by_domain: Option<String>,
    max_id: Option<String>,
    limit: Option<i64>,
}

/// `GET /api/v1/admin/accounts`: the older form, one flag per status.
pub async fn accounts_v1(
    state: web::Data<AppState>,
    current: CurrentAccount,
    query: web::Query<ListV1>,
) -> Result<HttpResponse> {
    admin(&current)?;
    let q = query.into_inner();
    let status = [
        (q.active, "active"),
        (q.pending, "pending"),
        (q.disabled, "disabled"),
        (q.silenced, "silenced"),
        (q.suspended, "suspended"),
    ]
    .into_iter()
    .find(|(on, _)| *on)
    .map(|(_, s)| s.to_owned());
    let filter = AdminFilter {
        local: match (q.local, q.remote) {
            (true, false) => Some(true),
            (false, true) => Some(false),
            _ => None,
        },
        status,
        username: q.username,
        display_name: q.display_name,
        by_domain: q.by_domain,
        staff: q.staff,
        max_id: q.max_id,
        limit: q.limit.unwrap_or(100),
    };
    answer_list(&state, filter).await
}

#[derive(Deserialize)]
pub struct ListV2 {
    origin: Option<String>,
    status: Option<String>,
    permissions: Option<String>,
    username: Option<String>,
    display_name: Option<String>,
    by_domain: Option<String>,
    max_id: Option<String>,
    limit: Option<i64>,
}

/// `GET /api/v2/admin/accounts`.
pub async fn accounts_v2(
    state: web::Data<AppState>,
    current: CurrentAccount,
    query: web::Query<ListV2>,
) -> Result<HttpResponse> {
    admin(&current)?;
    let q = query.into_inner();
    let local = match q.origin.as_deref() {
        None | Some("") => None,
        Some("local") => Some(true),
        Some("remote") => Some(false),
        Some(other) => {
            return Err(Error::unprocessable(format!(
                "origin {other:?}: expected local or remote"
            )));
        }
    };
    let filter = AdminFilter {
        local,
        status: q.status,
        username: q.username,
        display_name: q.display_name,
        by_domain: q.by_domain,
        staff: q.permissions.as_deref() == Some("staff"),
        max_id: q.max_id,
        limit: q.limit.unwrap_or(100),
    };
    answer_list(&state, filter).await
}

async fn target(state: &AppState, id: &str) -> Result<Account> {
    db::accounts::by_id(&state.db, id)
        .await?
        .ok_or_else(|| Error::not_found("account"))
}

pub async fn account(
    state: web::Data<AppState>,
    current: CurrentAccount,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    admin(&current)?;
    let account = target(&state, &id).await?;
    Ok(HttpResponse::Ok().json(admin_account(&state, &account).await?))
}

#[derive(Deserialize)]
pub struct ActionRequest {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    report_id: Option<String>,
    #[serde(default)]
    text: String,
}

/// `POST /api/v1/admin/accounts/:id/action`: none, silence or suspend, optionally resolving a
/// report.
pub async fn action(
    state: web::Data<AppState>,
    current: CurrentAccount,
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse> {
    admin(&current)?;
    let request: ActionRequest =
        super::body::read(&req, payload, state.config.limits.max_request_body_bytes).await?;
    let action = match request.kind.as_deref().unwrap_or("none") {
        "none" => Action::None,
        "silence" => Action::Silence,
        "suspend" => Action::Suspend,
        other @ ("disable" | "sensitive") => {
            return Err(Error::new(
                Kind::Unprocessable,
                "unsupported_action",
                format!("{other:?} is not an action this server takes; use silence or suspend"),
            ));
        }
        other => return Err(Error::unprocessable(format!("unknown action type {other:?}"))),
    };
    match request.report_id.as_deref() {
        Some(report) => admin::resolve_report(&state, &current.0, report, action, &request.text).await?,
        None => {
            admin::act(&state, &current.0, &id, action, &request.text).await?;
        }
    }
    Ok(HttpResponse::Ok().json(json!({})))
}

/// `POST /api/v1/admin/accounts/:id/{approve,reject,unsilence,unsuspend}`.
pub async fn verb(
    state: web::Data<AppState>,
    current: CurrentAccount,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    admin(&current)?;
    let (id, verb) = path.into_inner();
    let action = match verb.as_str() {
        "approve" => Action::Approve,
        "reject" => Action::Reject,
        "unsilence" => Action::Unsilence,
        "unsuspend" => Action::Unsuspend,
        "enable" | "unsensitive" => {
            return Err(Error::new(
                Kind::Unprocessable,
                "unsupported_action",
                format!("{verb:?}: this server does not disable or sensitise accounts"),
            ));
        }
        _ => return Err(Error::not_found(&format!("admin action {verb}"))),
    };
    let before = target(&state, &id).await?;
    let after = admin::act(&state, &current.0, &id, action, "").await?;
    let shown = if action == Action::Reject { before } else { after };
    Ok(HttpResponse::Ok().json(admin_account(&state, &shown).await?))
}

/// `DELETE /api/v1/admin/accounts/:id`: only a suspended account, as in Mastodon, so deleting
/// (which cannot be undone) is always a second, deliberate step.
pub async fn delete(
    state: web::Data<AppState>,
    current: CurrentAccount,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    admin(&current)?;
    let account = target(&state, &id).await?;
    admin::act(&state, &current.0, &id, Action::Delete, "").await?;
    let gone = target(&state, &id).await.unwrap_or(account);
    Ok(HttpResponse::Ok().json(admin_account(&state, &gone).await?))
}

#[derive(Deserialize)]
pub struct ResolveRequest {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    text: String,
}

/// `POST /api/v1/admin/reports/:id/resolve`: with Kaleido's optional `type` (none, silence,
/// suspend, delete) done to the reported account in the same step.
pub async fn resolve_report(
    state: web::Data<AppState>,
    current: CurrentAccount,
    req: HttpRequest,
    id: web::Path<String>,
    bytes: web::Bytes,
) -> Result<HttpResponse> {
    admin(&current)?;
    let request: ResolveRequest = if bytes.is_empty() {
        ResolveRequest {
            kind: None,
            text: String::new(),
        }
    } else {
        super::body::parse(&req, &bytes)?
    };
    let action = match request.kind.as_deref().unwrap_or("none") {
        raw @ ("none" | "silence" | "suspend" | "delete") => Action::parse(raw).unwrap_or(Action::None),
        other => return Err(Error::unprocessable(format!("unknown action type {other:?}"))),
    };
    admin::resolve_report(&state, &current.0, &id, action, &request.text).await?;
    Ok(HttpResponse::Ok().json(json!({ "id": id.as_str(), "action_taken": true })))
}

#[derive(Deserialize)]
pub struct QuotaRequest {
    storage_quota_bytes: Option<i64>,
    daily_upload_quota_bytes: Option<i64>,
}

/// `PUT /api/v1/admin/accounts/:id/quota`: null puts an account back on the defaults.
pub async fn set_quotas(
    state: web::Data<AppState>,
    current: CurrentAccount,
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse> {
    admin(&current)?;
    let request: QuotaRequest =
        super::body::read(&req, payload, state.config.limits.max_request_body_bytes).await?;
    let account = admin::set_quotas(
        &state,
        &current.0,
        &id,
        request.storage_quota_bytes,
        request.daily_upload_quota_bytes,
    )
    .await?;
    Ok(HttpResponse::Ok().json(admin_account(&state, &account).await?))
}
