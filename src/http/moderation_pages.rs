//! The moderators' pages: users (the approval queue among them), reports with the posts they
//! name, and the audit log. Every button is a form with the session's CSRF token.

use actix_web::{HttpResponse, http::StatusCode, web};
use minijinja::{Value as Ctx, context};
use serde::Deserialize;

use super::{auth::Viewer, pages::page_with_status, session::redirect};
use crate::{
    admin::{self, Action},
    db::{self, accounts::AdminFilter},
    domain::{account::Account, time::rfc3339},
    error::{Error, Kind, Result},
    state::AppState,
};

/// The admin viewing, or the answer for anyone else (the login page, or 403).
fn moderator<'a>(
    state: &AppState,
    viewer: &'a Viewer,
    here: &str,
) -> std::result::Result<&'a Account, Box<Result<HttpResponse>>> {
    match &viewer.account {
        None => Err(Box::new(Ok(redirect(&format!("/login?next={here}"))))),
        Some(a) if !a.is_admin => Err(Box::new(page_with_status(
            state,
            viewer,
            "message.html",
            context! { title => "Forbidden", message => "This page is for the server's admins." },
            StatusCode::FORBIDDEN,
        ))),
        Some(a) => Ok(a),
    }
}

fn nav(account: &Account, section: &str) -> Ctx {
    context! { section => section, can_invite => true, is_admin => account.is_admin }
}

fn state_of(a: &Account) -> &'static str {
    let s = &a.standing;
    if s.deleted_at.is_some() {
        "deleted"
    } else if s.suspended_at.is_some() {
        "suspended"
    } else if !s.approved {
        "pending"
    } else if s.silenced_at.is_some() {
        "silenced"
    } else {
        "active"
    }
}

/// What can be done next to an account in its state.
fn actions_for(a: &Account, me: &Account) -> Vec<&'static str> {
    if a.id == me.id {
        return Vec::new();
    }
    match state_of(a) {
        "pending" => vec!["approve", "reject"],
        "deleted" => Vec::new(),
        "suspended" => vec!["unsuspend", "delete"],
        "silenced" => vec!["unsilence", "suspend"],
        _ => vec!["silence", "suspend"],
    }
}

#[derive(Deserialize)]
pub struct AccountsQuery {
    q: Option<String>,
    status: Option<String>,
    origin: Option<String>,
    done: Option<String>,
}

pub async fn accounts(
    state: web::Data<AppState>,
    viewer: Viewer,
    query: web::Query<AccountsQuery>,
) -> Result<HttpResponse> {
    let me = match moderator(&state, &viewer, "/admin/accounts") {
        Ok(a) => a,
        Err(answer) => return *answer,
    };
    let status = query.status.clone().filter(|s| !s.is_empty());
    let filter = AdminFilter {
        local: match query.origin.as_deref() {
            Some("local") => Some(true),
            Some("remote") => Some(false),
            _ => None,
        },
        status: status.clone(),
        username: query.q.clone(),
        limit: 100,
        ..AdminFilter::default()
    };
    let mut rows = Vec::new();
    for a in db::accounts::admin_list(&state.db, &filter).await? {
        let details = db::accounts::sign_up_details(&state.db, &a.id).await?;
        rows.push(context! {
            id => a.id,
            username => a.username,
            acct => a.acct(),
            url => if a.is_local() { format!("/@{}", a.username) } else { format!("/@{}", a.acct()) },
            is_admin => a.is_admin,
            created => rfc3339(a.created_at),
            state => state_of(&a),
            reason => details.reason,
            email => details.email,
            actions => actions_for(&a, me),
        });
    }
    page_with_status(
        &state,
        &viewer,
        "admin_accounts.html",
        context! {
            ..nav(me, "accounts"),
            ..context! {
                accounts => rows,
                q => query.q,
                status => status.unwrap_or_default(),
                origin => query.origin.clone().unwrap_or_default(),
                notice => query.done.as_deref().map(|d| format!("Done: {d}.")),
            }
        },
        StatusCode::OK,
    )
}

#[derive(Deserialize)]
pub struct ActionForm {
    csrf: String,
    #[serde(default)]
    note: String,
}

fn csrf_refused() -> Error {
    Error::new(
        Kind::Forbidden,
        "invalid_csrf_token",
        "the form has expired; reload the page",
    )
}

pub async fn account_action(
    state: web::Data<AppState>,
    viewer: Viewer,
    path: web::Path<(String, String)>,
    form: web::Form<ActionForm>,
) -> Result<HttpResponse> {
    let me = match moderator(&state, &viewer, "/admin/accounts") {
        Ok(a) => a,
        Err(answer) => return *answer,
    };
    if !viewer.sent_own_token(&form.csrf) {
        return Err(csrf_refused());
    }
    let (id, verb) = path.into_inner();
    let action = Action::parse(&verb)
        .filter(|a| *a != Action::None)
        .ok_or_else(|| Error::not_found(&format!("action {verb}")))?;
    admin::act(&state, me, &id, action, &form.note).await?;
    Ok(redirect(&format!("/admin/accounts?done={}", action.as_str())))
}

pub async fn reports(state: web::Data<AppState>, viewer: Viewer) -> Result<HttpResponse> {
    let me = match moderator(&state, &viewer, "/admin/reports") {
        Ok(a) => a,
        Err(answer) => return *answer,
    };
    let base = state.config.public_url();
    let mut rows = Vec::new();
    for report in db::moderation::reports(&state.db).await? {
        let (_, resolved, resolution) = db::moderation::report(&state.db, &report.id)
            .await?
            .ok_or_else(|| Error::not_found("report"))?;
        let name = |a: Option<Account>| a.map(|a| a.acct()).unwrap_or_else(|| "(gone)".into());
        let target = name(db::accounts::by_id(&state.db, &report.target_id).await?);
        let reporter = name(db::accounts::by_id(&state.db, &report.account_id).await?);
        let mut posts = Vec::new();
        let ids: Vec<&str> = report.status_ids.iter().map(String::as_str).take(20).collect();
        let media = db::statuses::media_of(&state.db, &ids).await?;
        for id in &ids {
            if let Some(status) = db::statuses::get(&state.db, id).await? {
                let url = status
                    .url
                    .clone()
                    .or(status.uri.clone())
                    .unwrap_or_else(|| format!("{base}/statuses/{}", status.id));
                posts.push(context! {
                    url => url,
                    text => status.text,
                    media => media.get(*id).map_or(0, Vec::len),
                });
            }
        }
        rows.push(context! {
            id => report.id,
            target => target,
            reporter => reporter,
            created => rfc3339(report.created_at),
            forwarded => report.forwarded,
            comment => report.comment,
            posts => posts,
            resolved => resolved.is_some(),
            resolution => resolution,
        });
    }
    page_with_status(
        &state,
        &viewer,
        "admin_reports.html",
        context! { ..nav(me, "reports"), ..context! { reports => rows } },
        StatusCode::OK,
    )
}

#[derive(Deserialize)]
pub struct ResolveForm {
    csrf: String,
    action: String,
    #[serde(default)]
    note: String,
}

pub async fn resolve_report(
    state: web::Data<AppState>,
    viewer: Viewer,
    id: web::Path<String>,
    form: web::Form<ResolveForm>,
) -> Result<HttpResponse> {
    let me = match moderator(&state, &viewer, "/admin/reports") {
        Ok(a) => a,
        Err(answer) => return *answer,
    };
    if !viewer.sent_own_token(&form.csrf) {
        return Err(csrf_refused());
    }
    let action = Action::parse(&form.action)
        .filter(|a| {
            matches!(
                a,
                Action::None | Action::Silence | Action::Suspend | Action::Delete
            )
        })
        .ok_or_else(|| Error::unprocessable("the action is none, silence, suspend or delete"))?;
    admin::resolve_report(&state, me, &id, action, &form.note).await?;
    Ok(redirect("/admin/reports"))
}

pub async fn audit(state: web::Data<AppState>, viewer: Viewer) -> Result<HttpResponse> {
    let me = match moderator(&state, &viewer, "/admin/audit") {
        Ok(a) => a,
        Err(answer) => return *answer,
    };
    let entries: Vec<Ctx> = db::audit::list(&state.db, None, 200)
        .await?
        .into_iter()
        .map(|e| {
            context! {
                created => rfc3339(e.created_at),
                who => e.account_username.unwrap_or(e.account_id),
                action => e.action,
                target => e.target_name,
                note => e.note,
            }
        })
        .collect();
    page_with_status(
        &state,
        &viewer,
        "admin_audit.html",
        context! { ..nav(me, "audit"), ..context! { entries => entries } },
        StatusCode::OK,
    )
}
