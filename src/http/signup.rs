//! The sign-up page (`/signup`, `/invite/:code`): the same rules as `POST /api/v1/accounts`,
//! in a form, with the instance's rules to agree to.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use minijinja::context;
use serde::Deserialize;

use super::{
    auth::Viewer,
    pages::page_with_status,
    session::{form_token, form_token_ok, redirect, start_browser_session},
    throttle::Throttle,
};
use crate::{
    accounts::signup::{self, SignUp},
    config::RegistrationMode,
    error::{Error, Result},
    state::AppState,
};

struct Filled<'a> {
    username: &'a str,
    email: &'a str,
    reason: &'a str,
}

fn render(
    state: &AppState,
    viewer: &Viewer,
    invite: Option<&str>,
    filled: Filled,
    error: Option<&str>,
    status: StatusCode,
) -> Result<HttpResponse> {
    let rules = &state.config.registrations;
    if rules.mode == RegistrationMode::Closed || (rules.mode == RegistrationMode::Invite && invite.is_none())
    {
        let message = if rules.mode == RegistrationMode::Closed {
            "This server is not taking sign-ups."
        } else {
            "This server takes sign-ups by invitation only: ask someone here for an invite link."
        };
        return page_with_status(
            state,
            viewer,
            "message.html",
            context! { title => "Sign-ups are closed", message => message },
            StatusCode::FORBIDDEN,
        );
    }
    let (token, cookie) = form_token(state);
    let mut response = page_with_status(
        state,
        viewer,
        "signup.html",
        context! {
            form_csrf => token,
            mode => rules.mode.as_str(),
            invite => invite,
            rules => rules.rules,
            email => state.config.email.is_some(),
            reason_required => rules.require_reason,
            username => filled.username,
            email_value => filled.email,
            reason => filled.reason,
            error => error,
        },
        status,
    )?;
    response
        .add_cookie(&cookie)
        .map_err(|e| Error::internal("cannot set cookie").with_source(e))?;
    Ok(response)
}

const EMPTY: Filled<'static> = Filled {
    username: "",
    email: "",
    reason: "",
};

pub async fn form(state: web::Data<AppState>, viewer: Viewer) -> Result<HttpResponse> {
    if viewer.account.is_some() {
        return Ok(redirect("/"));
    }
    render(&state, &viewer, None, EMPTY, None, StatusCode::OK)
}

pub async fn invite(
    state: web::Data<AppState>,
    viewer: Viewer,
    code: web::Path<String>,
) -> Result<HttpResponse> {
    let usable = crate::db::invites::get(&state.db, &code)
        .await?
        .is_some_and(|i| i.usable(crate::db::now_ms()));
    if !usable {
        return page_with_status(
            &state,
            &viewer,
            "message.html",
            context! { title => "This invite is not valid", message => "The link has expired, was used up, or was revoked." },
            StatusCode::NOT_FOUND,
        );
    }
    render(&state, &viewer, Some(&code), EMPTY, None, StatusCode::OK)
}

#[derive(Deserialize)]
pub struct SignUpForm {
    csrf: String,
    username: String,
    password: String,
    email: Option<String>,
    #[serde(default, deserialize_with = "super::body::flex_bool_or_false")]
    agreement: bool,
    reason: Option<String>,
    invite_code: Option<String>,
}

pub async fn submit(
    state: web::Data<AppState>,
    throttle: web::Data<Throttle>,
    viewer: Viewer,
    req: HttpRequest,
    form: web::Form<SignUpForm>,
) -> Result<HttpResponse> {
    let form = form.into_inner();
    let invite = form.invite_code.as_deref().filter(|c| !c.is_empty());
    let filled = Filled {
        username: &form.username,
        email: form.email.as_deref().unwrap_or(""),
        reason: form.reason.as_deref().unwrap_or(""),
    };
    if !form_token_ok(&req, &form.csrf) {
        return render(
            &state,
            &viewer,
            invite,
            filled,
            Some("The form expired. Please try again."),
            StatusCode::FORBIDDEN,
        );
    }
    let address = super::beacons::viewer_address(&req);
    let attempt = async {
        throttle.sign_up(address, state.config.registrations.max_per_address_per_hour)?;
        signup::sign_up(
            &state,
            SignUp {
                username: form.username.clone(),
                password: form.password.clone(),
                email: form.email.clone().filter(|e| !e.is_empty()),
                agreement: form.agreement,
                locale: None,
                reason: form.reason.clone(),
                invite: invite.map(str::to_owned),
                address: address.map(|a| a.to_string()),
            },
        )
        .await
    };
    let registered = match attempt.await {
        Ok(r) => r,
        Err(e) if e.kind.status().is_client_error() => {
            return render(&state, &viewer, invite, filled, Some(&e.message), e.kind.status());
        }
        Err(e) => return Err(e),
    };
    if registered.confirm_email {
        return page_with_status(
            &state,
            &viewer,
            "message.html",
            context! {
                title => "Check your mail",
                message => "We sent you a link to confirm your address. Follow it, then log in.",
            },
            StatusCode::OK,
        );
    }
    if !registered.approved {
        return page_with_status(
            &state,
            &viewer,
            "message.html",
            context! {
                title => "Thanks for signing up",
                message => "An admin will review your sign-up. You can log in once it is approved.",
            },
            StatusCode::OK,
        );
    }
    start_browser_session(&state, &req, &registered.account, "/settings/profile").await
}
