//! Sign-up: who may create an account, under which name, and whether it waits for an admin.
//! The rules follow Mastodon's, so apps that sign people up (`POST /api/v1/accounts`) behave
//! as they do there.

use crate::{
    config::RegistrationMode,
    db,
    domain::account::{Account, SignUpDetails, Username},
    error::{Error, Kind, Result},
    state::AppState,
};

/// What a sign-up form or app sends.
#[derive(Debug, Default)]
pub struct SignUp {
    pub username: String,
    pub password: String,
    pub email: Option<String>,
    /// The instance's rules (and terms) were agreed to.
    pub agreement: bool,
    pub locale: Option<String>,
    /// Why they want to join, for the approval queue.
    pub reason: Option<String>,
    pub invite: Option<String>,
    pub address: Option<String>,
}

pub struct Registered {
    pub account: Account,
    /// False: the account waits for an admin before it can log in.
    pub approved: bool,
    /// True: a confirmation link was mailed, and logging in waits for it.
    pub confirm_email: bool,
}

const MAX_REASON: usize = 1000;
const MAX_PASSWORD: usize = 1000;

fn refused(code: &'static str, message: impl Into<String>) -> Error {
    Error::new(Kind::Forbidden, code, message)
}

/// Whether anyone can start a sign-up here (NodeInfo's `openRegistrations`, the sign-up link).
pub fn open_to_strangers(mode: RegistrationMode) -> bool {
    matches!(mode, RegistrationMode::Open | RegistrationMode::Approval)
}

/// A plausible address: one `@`, something either side, a dot in the domain, no spaces. The
/// real check is the confirmation mail.
pub fn check_email(raw: &str) -> Result<String> {
    let email = raw.trim().to_lowercase();
    let ok = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.contains('@')
        });
    if ok {
        Ok(email)
    } else {
        Err(Error::new(
            Kind::Unprocessable,
            "invalid_email",
            "that does not look like an email address",
        ))
    }
}

pub async fn sign_up(state: &AppState, form: SignUp) -> Result<Registered> {
    let rules = &state.config.registrations;
    let mode = rules.mode;
    if mode == RegistrationMode::Closed {
        return Err(refused(
            "registrations_closed",
            "this server is not taking sign-ups",
        ));
    }
    let invite = form.invite.as_deref().map(str::trim).filter(|c| !c.is_empty());
    if mode == RegistrationMode::Invite && invite.is_none() {
        return Err(refused(
            "invite_required",
            "this server takes sign-ups by invitation only",
        ));
    }
    if !form.agreement {
        return Err(Error::new(
            Kind::Unprocessable,
            "agreement_required",
            "you must agree to the server's rules to sign up",
        ));
    }
    let username = Username::parse(&form.username)?;
    if username.is_reserved(&rules.reserved_usernames) {
        return Err(Error::new(
            Kind::Unprocessable,
            "username_reserved",
            format!("the username {} is reserved", username.as_str()),
        ));
    }
    if form.password.chars().count() > MAX_PASSWORD {
        return Err(Error::unprocessable("the password is too long"));
    }
    let email = match (&state.config.email, form.email.as_deref()) {
        (Some(_), Some(raw)) => Some(check_email(raw)?),
        (Some(_), None) => {
            return Err(Error::new(
                Kind::Unprocessable,
                "email_required",
                "an email address is needed to sign up here",
            ));
        }
        // Without mail there is nothing to confirm an address with: none is kept.
        (None, _) => None,
    };
    let reason = form
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned);
    if reason.as_ref().is_some_and(|r| r.chars().count() > MAX_REASON) {
        return Err(Error::unprocessable(format!(
            "the reason is at most {MAX_REASON} characters"
        )));
    }
    if mode == RegistrationMode::Approval && rules.require_reason && reason.is_none() && invite.is_none() {
        return Err(Error::new(
            Kind::Unprocessable,
            "reason_required",
            "say in a few words why you want to join",
        ));
    }
    let locale = form
        .locale
        .as_deref()
        .filter(|l| {
            !l.is_empty()
                && l.len() <= 16
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map(str::to_owned);
    // An invite is spent before the account exists and given back if creating it fails, so a
    // race for its last use cannot let two people in.
    if let Some(code) = invite
        && !db::invites::spend(&state.db, code, db::now_ms()).await?
    {
        return Err(refused(
            "invalid_invite",
            "this invite link is not valid any more",
        ));
    }
    let approved = mode == RegistrationMode::Open || invite.is_some();
    let details_email = email.clone();
    let details = SignUpDetails {
        email,
        locale,
        reason,
        invite_code: invite.map(str::to_owned),
        address: form.address,
    };
    let created = super::create_with(
        &state.db,
        username.as_str(),
        &form.password,
        false,
        approved,
        details,
    )
    .await;
    match created {
        Ok(account) => {
            if let Some(email) = &details_email {
                super::mail::send_confirmation(state, &account, email).await?;
            }
            // Admins hear of every sign-up, and of those waiting for them above all.
            db::notifications::notify_admins(&state.db, &account.id, "admin.sign_up", None).await?;
            Ok(Registered {
                confirm_email: details_email.is_some(),
                account,
                approved,
            })
        }
        Err(e) => {
            if let Some(code) = invite {
                db::invites::give_back(&state.db, code).await?;
            }
            // Mastodon answers a taken name as a failed validation, and so do we.
            if e.code == "username_taken" || e.code == "email_taken" {
                return Err(Error::new(Kind::Unprocessable, e.code, e.message));
            }
            Err(e)
        }
    }
}

/// Whether `account` may make invite links: admins always, others when the instance lets them,
/// and nobody while sign-ups are closed.
pub fn may_invite(state: &AppState, account: &Account) -> bool {
    state.config.registrations.mode != RegistrationMode::Closed
        && (account.is_admin || state.config.registrations.users_can_invite)
}

/// Makes an invite link's code: usable `max_uses` times (None: any), for `expires_in` seconds
/// (None: until revoked).
pub async fn make_invite(
    state: &AppState,
    account: &Account,
    max_uses: Option<i64>,
    expires_in: Option<i64>,
) -> Result<db::invites::Invite> {
    if !may_invite(state, account) {
        return Err(refused(
            "forbidden",
            "you cannot make invite links on this server",
        ));
    }
    if max_uses.is_some_and(|m| !(1..=1000).contains(&m))
        || expires_in.is_some_and(|e| !(60..=365 * 86400).contains(&e))
    {
        return Err(Error::unprocessable(
            "an invite is used 1 to 1000 times and lasts a minute to a year",
        ));
    }
    // Twelve URL-safe characters: 72 bits, not guessable, short enough to read out.
    let code: String = super::new_csrf_token().chars().take(12).collect();
    let expires_at = expires_in.map(|e| db::now_ms() + e * 1000);
    db::invites::create(&state.db, &code, &account.id, max_uses, expires_at).await?;
    db::invites::get(&state.db, &code)
        .await?
        .ok_or_else(|| Error::internal("invite vanished after insert"))
}
