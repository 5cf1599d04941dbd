//! What accounts mail, when `[email]` is set: the link that confirms an address, the link that
//! resets a password, and a notice of each new login. Mail goes out from the `mail.send` job,
//! so it is retried when the mail server is down and never slows a request.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{random_token, token_digest};
use crate::{
    db,
    domain::account::Account,
    error::{Error, Kind, Result},
    jobs::{JobError, JobHandler, JobRun},
    net::mail::Mailer,
    state::AppState,
};

pub const SEND_MAIL: &str = "mail.send";

const CONFIRM: &str = "confirm";
const RESET: &str = "reset";
const CONFIRM_HOURS: i64 = 72;
const RESET_MINUTES: i64 = 60;

#[derive(Serialize, Deserialize)]
pub struct MailPayload {
    pub to: String,
    pub subject: String,
    pub body: String,
}

pub struct SendMail {
    pub mailer: Arc<Mailer>,
}

#[async_trait::async_trait]
impl JobHandler for SendMail {
    async fn run(&self, job: &JobRun) -> Result<(), JobError> {
        let mail: MailPayload = job.payload()?;
        self.mailer
            .send(&mail.to, &mail.subject, mail.body)
            .await
            .map_err(JobError::from)
    }
}

fn enabled(state: &AppState) -> bool {
    state.config.email.is_some()
}

async fn queue(state: &AppState, to: &str, subject: String, body: String) -> Result<()> {
    state
        .queue
        .enqueue(
            SEND_MAIL,
            &MailPayload {
                to: to.to_owned(),
                subject,
                body,
            },
        )
        .await?;
    Ok(())
}

fn host(state: &AppState) -> String {
    url::Url::parse(state.config.public_url())
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Mails the link that confirms `account`'s address (a sign-up's).
pub async fn send_confirmation(state: &AppState, account: &Account, email: &str) -> Result<()> {
    if !enabled(state) {
        return Ok(());
    }
    let token = random_token();
    let expires = db::now_ms() + CONFIRM_HOURS * 3600 * 1000;
    db::email::insert_token(
        &state.db,
        &token_digest(&token),
        &account.id,
        CONFIRM,
        email,
        expires,
    )
    .await?;
    let link = format!("{}/auth/confirm?token={token}", state.config.public_url());
    let host = host(state);
    queue(
        state,
        email,
        format!("Confirm your address for {host}"),
        format!(
            "Hello {name},\n\nTo finish signing up as @{name}@{host}, confirm your address by opening this link:\n\n{link}\n\n\
             The link works for {CONFIRM_HOURS} hours. If you did not sign up, ignore this mail.\n",
            name = account.username
        ),
    )
    .await
}

/// Confirms the address the token was mailed to.
pub async fn confirm(state: &AppState, token: &str) -> Result<Account> {
    let invalid = || {
        Error::new(
            Kind::NotFound,
            "invalid_token",
            "this confirmation link is not valid any more",
        )
    };
    let (account_id, email) = db::email::take_token(&state.db, &token_digest(token), CONFIRM)
        .await?
        .ok_or_else(invalid)?;
    if !db::email::confirm(&state.db, &account_id, &email).await? {
        return Err(invalid());
    }
    db::accounts::by_id(&state.db, &account_id)
        .await?
        .ok_or_else(invalid)
}

/// Mails a reset link to the account with this address, if there is one. The answer is the same
/// either way, so the form does not tell who has an account here.
pub async fn request_reset(state: &AppState, email: &str) -> Result<()> {
    if !enabled(state) {
        return Err(Error::new(
            Kind::NotFound,
            "email_disabled",
            "this server sends no mail; ask an admin to reset your password",
        ));
    }
    let email = email.trim().to_lowercase();
    let Some(account) = db::email::account_by_email(&state.db, &email).await? else {
        return Ok(());
    };
    if account.standing.gone() {
        return Ok(());
    }
    let token = random_token();
    let expires = db::now_ms() + RESET_MINUTES * 60 * 1000;
    db::email::insert_token(
        &state.db,
        &token_digest(&token),
        &account.id,
        RESET,
        &email,
        expires,
    )
    .await?;
    let link = format!("{}/auth/password/edit?token={token}", state.config.public_url());
    queue(
        state,
        &email,
        format!("Reset your password on {}", host(state)),
        format!(
            "Hello {name},\n\nSomeone asked to reset the password of @{name}. To choose a new one, open:\n\n{link}\n\n\
             The link works for {RESET_MINUTES} minutes, once. If it was not you, ignore this mail: your password stays.\n",
            name = account.username
        ),
    )
    .await
}

/// Whether a reset link is still good (the form asks for a new password only then).
pub async fn reset_link_live(state: &AppState, token: &str) -> Result<bool> {
    db::email::token_live(&state.db, &token_digest(token), RESET).await
}

/// Sets a new password from a reset link, and ends every session and token: whoever had the
/// old password is out.
pub async fn reset(state: &AppState, token: &str, new_password: &str) -> Result<Account> {
    crate::domain::account::check_password_strength(new_password)?;
    let (account_id, email) = db::email::take_token(&state.db, &token_digest(token), RESET)
        .await?
        .ok_or_else(|| {
            Error::new(
                Kind::NotFound,
                "invalid_token",
                "this reset link is not valid any more",
            )
        })?;
    let account = db::accounts::by_id(&state.db, &account_id)
        .await?
        .ok_or_else(|| Error::not_found("account"))?;
    super::set_password(&state.db, &account, new_password).await?;
    super::log_out_everywhere(&state.db, &account, None).await?;
    // Following a mailed link proves the address too.
    db::email::confirm(&state.db, &account.id, &email).await?;
    Ok(account)
}

/// Tells the owner of a confirmed address that their account was just logged in to.
pub async fn login_notice(
    state: &AppState,
    account: &Account,
    user_agent: &str,
    address: &str,
) -> Result<()> {
    if !enabled(state) {
        return Ok(());
    }
    let Some(email) = db::email::confirmed_address(&state.db, &account.id).await? else {
        return Ok(());
    };
    let host = host(state);
    let agent = if user_agent.is_empty() {
        "an unknown browser or app"
    } else {
        user_agent
    };
    queue(
        state,
        &email,
        format!("New login to @{}@{host}", account.username),
        format!(
            "Hello {name},\n\nYour account was just logged in to from {agent} at {address}.\n\n\
             If that was you, there is nothing to do. If not, change your password now at {base}/settings/account \
             and log out every other session there.\n",
            name = account.username,
            base = state.config.public_url(),
        ),
    )
    .await
}
