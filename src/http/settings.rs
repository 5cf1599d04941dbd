//! The settings pages of a signed-in account: profile (the same edit as `update_credentials`),
//! account and security (password, sessions, apps, deletion, storage), and invites.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use minijinja::{Value as Ctx, context};
use serde::Deserialize;
use serde_json::Value;

use super::{
    accounts::{pictures, profile_edit},
    auth::{SESSION_COOKIE, Viewer},
    pages::page_with_status,
    session::redirect,
};
use crate::{
    accounts::{self, signup},
    db,
    domain::{account::Account, time::rfc3339},
    error::{Error, Kind, Result},
    profiles,
    state::AppState,
};

/// The signed-in account, or the login page that comes back here.
fn signed_in<'a>(viewer: &'a Viewer, here: &str) -> std::result::Result<&'a Account, Box<HttpResponse>> {
    viewer
        .account
        .as_ref()
        .ok_or_else(|| Box::new(redirect(&format!("/login?next={here}"))))
}

/// The account behind a posted form: the login page without one, 403 without its CSRF token.
fn posted<'a>(
    viewer: &'a Viewer,
    here: &str,
    csrf: &str,
) -> std::result::Result<&'a Account, Box<Result<HttpResponse>>> {
    let account = signed_in(viewer, here).map_err(|to_login| Box::new(Ok(*to_login)))?;
    if viewer.sent_own_token(csrf) {
        Ok(account)
    } else {
        Err(Box::new(Err(csrf_refused())))
    }
}

fn csrf_refused() -> Error {
    Error::new(
        Kind::Forbidden,
        "invalid_csrf_token",
        "the form has expired; reload the page",
    )
}

pub(super) fn nav(state: &AppState, account: &Account, section: &str) -> Ctx {
    context! {
        section => section,
        can_invite => signup::may_invite(state, account),
        is_admin => account.is_admin,
    }
}

fn human(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / f64::from(1u32 << 30)),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / f64::from(1u32 << 20)),
        b => format!("{:.0} KiB", b as f64 / 1024.0),
    }
}

fn render_profile(
    state: &AppState,
    viewer: &Viewer,
    account: &Account,
    saved: bool,
    error: Option<&str>,
    status: StatusCode,
) -> Result<HttpResponse> {
    let super::entities::Pictures { avatar, header, .. } = super::entities::pictures(state, account);
    let mut fields: Vec<Ctx> = account
        .profile
        .fields
        .iter()
        .map(|f| context! { name => f.name, value => f.value, verified => f.verified_at.is_some() })
        .collect();
    while fields.len() < crate::domain::account::MAX_FIELDS {
        fields.push(context! { name => "", value => "", verified => false });
    }
    let p = &account.profile;
    let flags = vec![
        context! { name => "locked", label => "Approve each follower yourself", on => account.locked },
        context! { name => "bot", label => "This account is a bot", on => p.bot },
        context! { name => "discoverable", label => "Suggest this account to others and list it in the directory", on => p.discoverable },
        context! { name => "indexable", label => "Let my public posts be found by search", on => p.indexable },
        context! { name => "hide_collections", label => "Hide whom I follow and who follows me", on => p.hide_collections },
    ];
    page_with_status(
        state,
        viewer,
        "settings_profile.html",
        context! {
            ..nav(state, account, "profile"),
            ..context! {
                account => context! { display_name => account.display_name, note => account.note },
                avatar => avatar,
                header => header,
                fields => fields,
                flags => flags,
                profile_url => format!("{}/@{}", state.config.public_url(), account.username),
                saved => saved,
                error => error,
            }
        },
        status,
    )
}

#[derive(Deserialize)]
pub struct SavedQuery {
    #[serde(default)]
    saved: Option<String>,
}

pub async fn profile(
    state: web::Data<AppState>,
    viewer: Viewer,
    query: web::Query<SavedQuery>,
) -> Result<HttpResponse> {
    let account = match signed_in(&viewer, "/settings/profile") {
        Ok(a) => a,
        Err(to_login) => return Ok(*to_login),
    };
    render_profile(
        &state,
        &viewer,
        account,
        query.saved.is_some(),
        None,
        StatusCode::OK,
    )
}

/// The profile form: multipart, so pictures come with it; the CSRF token is a field.
pub async fn save_profile(
    state: web::Data<AppState>,
    viewer: Viewer,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse> {
    let account = match signed_in(&viewer, "/settings/profile") {
        Ok(a) => a,
        Err(to_login) => return Ok(*to_login),
    };
    let limits = &state.config.limits;
    let outcome = async {
        let mut body = super::body::read_with_files(
            &req,
            payload,
            limits.max_request_body_bytes,
            limits.max_avatar_bytes as usize,
        )
        .await?;
        let sent = body
            .value
            .get("csrf")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if !viewer.sent_own_token(&sent) {
            return Err(csrf_refused());
        }
        if let Some(map) = body.value.as_object_mut() {
            map.remove("csrf");
        }
        // A file input left empty still sends an empty part.
        let files = body.files.into_iter().filter(|f| !f.bytes.is_empty()).collect();
        let edit = profile_edit(super::body::into(body.value)?)?;
        profiles::edit(&state, account, edit, pictures(files)?).await
    };
    match outcome.await {
        Ok(_) => Ok(redirect("/settings/profile?saved=1")),
        Err(e) if e.kind.status().is_client_error() => {
            render_profile(&state, &viewer, account, false, Some(&e.message), e.kind.status())
        }
        Err(e) => Err(e),
    }
}

async fn render_account(
    state: &AppState,
    viewer: &Viewer,
    req: &HttpRequest,
    account: &Account,
    notice: Option<&str>,
    error: Option<&str>,
    status: StatusCode,
) -> Result<HttpResponse> {
    let current = req
        .cookie(SESSION_COOKIE)
        .map(|c| accounts::token_digest(c.value()));
    let sessions: Vec<Ctx> = db::sessions::of_account(&state.db, &account.id)
        .await?
        .into_iter()
        .map(|(digest, s)| {
            context! {
                handle => s.handle,
                user_agent => s.user_agent,
                address => s.address,
                created => rfc3339(s.created_at),
                current => current.as_deref() == Some(digest.as_str()),
            }
        })
        .collect();
    let apps: Vec<Ctx> = db::tokens::of_account(&state.db, &account.id)
        .await?
        .into_iter()
        .map(|(id, name, scope, created)| context! { id => id, name => name, scope => scope, created => rfc3339(created) })
        .collect();
    let usage = crate::media::quota::usage(state, &account.id).await?;
    let issuer = super::views::host(state);
    let pending = accounts::two_factor::pending(&state.db, account, &issuer).await?;
    let two_factor = context! {
        enabled => accounts::two_factor::enabled(&state.db, account).await?,
        recovery_left => accounts::two_factor::recovery_codes_left(&state.db, account).await?,
        pending => pending.map(|p| context! { secret => p.secret, uri => p.uri }),
    };
    let limit = |q: u64| (q > 0).then(|| human(q));
    page_with_status(
        state,
        viewer,
        "settings_account.html",
        context! {
            ..nav(state, account, "account"),
            ..context! {
                sessions => sessions,
                apps => apps,
                two_factor => two_factor,
                usage => context! {
                    used => human(usage.storage_used_bytes),
                    quota => limit(usage.storage_quota_bytes),
                    today => human(usage.uploaded_last_day_bytes),
                    daily => limit(usage.daily_quota_bytes),
                },
                notice => notice,
                error => error,
            }
        },
        status,
    )
}

#[derive(Deserialize)]
pub struct NoticeQuery {
    done: Option<String>,
}

pub async fn account_page(
    state: web::Data<AppState>,
    viewer: Viewer,
    req: HttpRequest,
    query: web::Query<NoticeQuery>,
) -> Result<HttpResponse> {
    let account = match signed_in(&viewer, "/settings/account") {
        Ok(a) => a,
        Err(to_login) => return Ok(*to_login),
    };
    let notice = match query.done.as_deref() {
        Some("password") => Some("Your password was changed."),
        Some("sessions") => Some("Every other session and app was logged out."),
        Some("session") => Some("That session was logged out."),
        Some("app") => Some("That app's access was revoked."),
        Some("two_factor_off") => Some("Two-factor authentication is off."),
        _ => None,
    };
    render_account(&state, &viewer, &req, account, notice, None, StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct PasswordForm {
    csrf: String,
    current_password: String,
    new_password: String,
    #[serde(default, deserialize_with = "super::body::flex_bool_or_false")]
    end_others: bool,
}

/// A form whose checkboxes follow a hidden "0" of the same name: the last value wins, as
/// browsers send them in order.
fn form<T: serde::de::DeserializeOwned>(req: &HttpRequest, body: &[u8]) -> Result<T> {
    super::body::parse(req, body)
}

pub async fn change_password(
    state: web::Data<AppState>,
    viewer: Viewer,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse> {
    let form: PasswordForm = form(&req, &body)?;
    let account = match posted(&viewer, "/settings/account", &form.csrf) {
        Ok(a) => a,
        Err(answer) => return *answer,
    };
    let keep = req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned());
    match accounts::change_password(
        &state.db,
        account,
        &form.current_password,
        &form.new_password,
        form.end_others,
        keep.as_deref(),
    )
    .await
    {
        Ok(()) => Ok(redirect("/settings/account?done=password")),
        Err(e) if e.kind.status().is_client_error() => {
            render_account(
                &state,
                &viewer,
                &req,
                account,
                None,
                Some(&e.message),
                e.kind.status(),
            )
            .await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

pub async fn end_all_sessions(
    state: web::Data<AppState>,
    viewer: Viewer,
    req: HttpRequest,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse> {
    let account = match posted(&viewer, "/settings/account", &form.csrf) {
        Ok(a) => a,
        Err(answer) => return *answer,
    };
    let keep = req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned());
    accounts::log_out_everywhere(&state.db, account, keep.as_deref()).await?;
    Ok(redirect("/settings/account?done=sessions"))
}

pub async fn end_session(
    state: web::Data<AppState>,
    viewer: Viewer,
    handle: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse> {
    let account = match posted(&viewer, "/settings/account", &form.csrf) {
        Ok(a) => a,
        Err(answer) => return *answer,
    };
    if !db::sessions::delete_by_handle(&state.db, &account.id, &handle).await? {
        return Err(Error::not_found("session"));
    }
    Ok(redirect("/settings/account?done=session"))
}

pub async fn revoke_app(
    state: web::Data<AppState>,
    viewer: Viewer,
    id: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse> {
    let account = match posted(&viewer, "/settings/account", &form.csrf) {
        Ok(a) => a,
        Err(answer) => return *answer,
    };
    if !db::tokens::revoke_by_id(&state.db, &account.id, &id).await? {
        return Err(Error::not_found("app"));
    }
    Ok(redirect("/settings/account?done=app"))
}

#[derive(Deserialize)]
pub struct DeleteForm {
    csrf: String,
    password: String,
}

pub async fn delete_account(
    state: web::Data<AppState>,
    viewer: Viewer,
    req: HttpRequest,
    form: web::Form<DeleteForm>,
) -> Result<HttpResponse> {
    let account = match posted(&viewer, "/settings/account", &form.csrf) {
        Ok(a) => a,
        Err(answer) => return *answer,
    };
    match profiles::leave(&state, account, &form.password).await {
        Ok(()) => {
            let mut response = page_with_status(
                &state,
                &Viewer::nobody(),
                "message.html",
                context! {
                    title => "Your account is deleted",
                    message => "Your posts and media are being removed, and the servers that knew your account are being told.",
                },
                StatusCode::OK,
            )?;
            response
                .add_removal_cookie(
                    &actix_web::cookie::Cookie::build(SESSION_COOKIE, "")
                        .path("/")
                        .finish(),
                )
                .map_err(|e| Error::internal("cannot clear cookie").with_source(e))?;
            Ok(response)
        }
        Err(e) if e.kind.status().is_client_error() => {
            render_account(
                &state,
                &viewer,
                &req,
                account,
                None,
                Some(&e.message),
                e.kind.status(),
            )
            .await
        }
        Err(e) => Err(e),
    }
}

async fn render_invites(
    state: &AppState,
    viewer: &Viewer,
    account: &Account,
    error: Option<&str>,
    status: StatusCode,
) -> Result<HttpResponse> {
    let now = db::now_ms();
    let base = state.config.public_url();
    let invites: Vec<Ctx> = db::invites::of_account(&state.db, &account.id)
        .await?
        .into_iter()
        .map(|i| {
            context! {
                url => format!("{base}/invite/{}", i.code),
                usable => i.usable(now),
                uses => i.uses,
                max_uses => i.max_uses,
                expires => i.expires_at.map(rfc3339),
                code => i.code,
            }
        })
        .collect();
    page_with_status(
        state,
        viewer,
        "settings_invites.html",
        context! { ..nav(state, account, "invites"), ..context! { invites => invites, error => error } },
        status,
    )
}

pub async fn invites(state: web::Data<AppState>, viewer: Viewer) -> Result<HttpResponse> {
    let account = match signed_in(&viewer, "/settings/invites") {
        Ok(a) => a,
        Err(to_login) => return Ok(*to_login),
    };
    if !signup::may_invite(&state, account) {
        return Err(Error::new(
            Kind::Forbidden,
            "forbidden",
            "you cannot make invite links on this server",
        ));
    }
    render_invites(&state, &viewer, account, None, StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct InviteForm {
    csrf: String,
    #[serde(default)]
    max_uses: String,
    #[serde(default)]
    expires_in: String,
}

pub async fn make_invite(
    state: web::Data<AppState>,
    viewer: Viewer,
    form: web::Form<InviteForm>,
) -> Result<HttpResponse> {
    let account = match posted(&viewer, "/settings/invites", &form.csrf) {
        Ok(a) => a,
        Err(answer) => return *answer,
    };
    let number = |raw: &str| -> Result<Option<i64>> {
        if raw.is_empty() {
            Ok(None)
        } else {
            raw.parse()
                .map(Some)
                .map_err(|_| Error::unprocessable("expected a number"))
        }
    };
    let made = match (number(&form.max_uses), number(&form.expires_in)) {
        (Ok(uses), Ok(expires)) => signup::make_invite(&state, account, uses, expires)
            .await
            .map(|_| ()),
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    match made {
        Ok(()) => Ok(redirect("/settings/invites")),
        Err(e) if e.kind.status().is_client_error() => {
            render_invites(&state, &viewer, account, Some(&e.message), e.kind.status()).await
        }
        Err(e) => Err(e),
    }
}

pub async fn revoke_invite(
    state: web::Data<AppState>,
    viewer: Viewer,
    code: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse> {
    let account = match posted(&viewer, "/settings/invites", &form.csrf) {
        Ok(a) => a,
        Err(answer) => return *answer,
    };
    let owner = (!account.is_admin).then_some(account.id.as_str());
    if !db::invites::revoke(&state.db, &code, owner).await? {
        return Err(Error::not_found("invite"));
    }
    Ok(redirect("/settings/invites"))
}

pub async fn begin_two_factor(
    state: web::Data<AppState>,
    viewer: Viewer,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse> {
    let account = match posted(&viewer, "/settings/account", &form.csrf) {
        Ok(a) => a,
        Err(answer) => return *answer,
    };
    accounts::two_factor::begin(&state.db, account, &super::views::host(&state)).await?;
    Ok(redirect("/settings/account"))
}

#[derive(Deserialize)]
pub struct CodeForm {
    csrf: String,
    code: String,
    #[serde(default)]
    password: String,
}

pub async fn confirm_two_factor(
    state: web::Data<AppState>,
    viewer: Viewer,
    req: HttpRequest,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse> {
    let account = match posted(&viewer, "/settings/account", &form.csrf) {
        Ok(a) => a,
        Err(answer) => return *answer,
    };
    match accounts::two_factor::confirm(&state.db, account, &form.code).await {
        Ok(codes) => page_with_status(
            &state,
            &viewer,
            "recovery_codes.html",
            context! { codes => codes },
            StatusCode::OK,
        ),
        Err(e) if e.kind.status().is_client_error() => {
            render_account(
                &state,
                &viewer,
                &req,
                account,
                None,
                Some(&e.message),
                e.kind.status(),
            )
            .await
        }
        Err(e) => Err(e),
    }
}

pub async fn disable_two_factor(
    state: web::Data<AppState>,
    viewer: Viewer,
    req: HttpRequest,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse> {
    let account = match posted(&viewer, "/settings/account", &form.csrf) {
        Ok(a) => a,
        Err(answer) => return *answer,
    };
    match accounts::two_factor::disable(&state.db, account, &form.password, &form.code).await {
        Ok(()) => Ok(redirect("/settings/account?done=two_factor_off")),
        Err(e) if e.kind.status().is_client_error() => {
            render_account(
                &state,
                &viewer,
                &req,
                account,
                None,
                Some(&e.message),
                e.kind.status(),
            )
            .await
        }
        Err(e) => Err(e),
    }
}
