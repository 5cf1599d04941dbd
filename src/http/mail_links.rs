//! The pages behind mailed links: confirming an address, and resetting a forgotten password.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use minijinja::context;
use serde::Deserialize;

use super::{
    auth::Viewer,
    pages::page_with_status,
    session::{form_token, form_token_ok},
    throttle::Throttle,
};
use crate::{
    accounts::mail,
    error::{Error, Result},
    state::AppState,
};

fn message(
    state: &AppState,
    viewer: &Viewer,
    title: &str,
    text: &str,
    status: StatusCode,
) -> Result<HttpResponse> {
    page_with_status(
        state,
        viewer,
        "message.html",
        context! { title => title, message => text, link => context! { href => "/login", text => "Log in" } },
        status,
    )
}

/// A form page for anonymous visitors, with its CSRF cookie.
fn form_page(
    state: &AppState,
    viewer: &Viewer,
    name: &str,
    ctx: minijinja::Value,
    status: StatusCode,
) -> Result<HttpResponse> {
    let (token, cookie) = form_token(state);
    let mut response = page_with_status(
        state,
        viewer,
        name,
        context! { form_csrf => token, ..ctx },
        status,
    )?;
    response
        .add_cookie(&cookie)
        .map_err(|e| Error::internal("cannot set cookie").with_source(e))?;
    Ok(response)
}

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

pub async fn confirm(
    state: web::Data<AppState>,
    viewer: Viewer,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse> {
    match mail::confirm(&state, &query.token).await {
        Ok(_) => message(
            &state,
            &viewer,
            "Your address is confirmed",
            "You can log in now.",
            StatusCode::OK,
        ),
        Err(e) if e.kind.status().is_client_error() => message(
            &state,
            &viewer,
            "This link is not valid",
            &e.message,
            e.kind.status(),
        ),
        Err(e) => Err(e),
    }
}

pub async fn reset_form(state: web::Data<AppState>, viewer: Viewer) -> Result<HttpResponse> {
    form_page(&state, &viewer, "password_new.html", context! {}, StatusCode::OK)
}

#[derive(Deserialize)]
pub struct ResetRequest {
    csrf: String,
    email: String,
}

pub async fn request_reset(
    state: web::Data<AppState>,
    throttle: web::Data<Throttle>,
    viewer: Viewer,
    req: HttpRequest,
    form: web::Form<ResetRequest>,
) -> Result<HttpResponse> {
    if !form_token_ok(&req, &form.csrf) {
        let ctx = context! { error => "The form expired. Please try again." };
        return form_page(&state, &viewer, "password_new.html", ctx, StatusCode::FORBIDDEN);
    }
    // Each request may send a mail: limited like logins, per address and per account.
    throttle.check(super::beacons::viewer_address(&req), &form.email)?;
    throttle.failed(&form.email);
    mail::request_reset(&state, &form.email).await?;
    message(
        &state,
        &viewer,
        "Check your mail",
        "If an account here has this address, a link to choose a new password is on its way.",
        StatusCode::OK,
    )
}

pub async fn new_password_form(
    state: web::Data<AppState>,
    viewer: Viewer,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse> {
    if !mail::reset_link_live(&state, &query.token).await? {
        return message(
            &state,
            &viewer,
            "This link is not valid",
            "It has expired or was used already.",
            StatusCode::NOT_FOUND,
        );
    }
    form_page(
        &state,
        &viewer,
        "password_edit.html",
        context! { token => query.token },
        StatusCode::OK,
    )
}

#[derive(Deserialize)]
pub struct NewPassword {
    csrf: String,
    token: String,
    new_password: String,
}

pub async fn set_new_password(
    state: web::Data<AppState>,
    viewer: Viewer,
    req: HttpRequest,
    form: web::Form<NewPassword>,
) -> Result<HttpResponse> {
    if !form_token_ok(&req, &form.csrf) {
        let ctx = context! { token => form.token, error => "The form expired. Please try again." };
        return form_page(&state, &viewer, "password_edit.html", ctx, StatusCode::FORBIDDEN);
    }
    match mail::reset(&state, &form.token, &form.new_password).await {
        Ok(_) => message(
            &state,
            &viewer,
            "Your password is changed",
            "Every other session was logged out. Log in with the new password.",
            StatusCode::OK,
        ),
        Err(e) if e.code == "unprocessable_entity" => {
            let ctx = context! { token => form.token, error => e.message };
            form_page(
                &state,
                &viewer,
                "password_edit.html",
                ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(e) if e.kind.status().is_client_error() => message(
            &state,
            &viewer,
            "This link is not valid",
            &e.message,
            e.kind.status(),
        ),
        Err(e) => Err(e),
    }
}
