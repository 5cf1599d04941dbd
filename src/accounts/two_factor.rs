//! Two-factor authentication: TOTP (RFC 6238, what every authenticator app speaks) with ten
//! one-time recovery codes. Logging in with a password then takes a second step: a code from the
//! app (never the same one twice) or a recovery code.

use totp_rs::{Algorithm, Secret, TOTP};

use super::{check_password, random_token, token_digest};
use crate::{
    db::{self, Db},
    domain::account::Account,
    error::{Error, Kind, Result},
};

const DIGITS: usize = 6;
const STEP_SECONDS: u64 = 30;
/// Codes one step early or late still count: phone clocks drift.
const SKEW: u8 = 1;
const RECOVERY_CODES: usize = 10;
/// A pending login lasts this long and allows this many codes.
const CHALLENGE_MINUTES: i64 = 10;
const CHALLENGE_ATTEMPTS: i64 = 5;

fn totp(secret_b32: &str) -> Result<TOTP> {
    let bytes = Secret::Encoded(secret_b32.to_owned())
        .to_bytes()
        .map_err(|_| Error::internal("a stored TOTP secret is unreadable"))?;
    TOTP::new(Algorithm::SHA1, DIGITS, SKEW, STEP_SECONDS, bytes)
        .map_err(|e| Error::internal(format!("TOTP set-up failed: {e}")))
}

fn wrong_code() -> Error {
    Error::new(
        Kind::Forbidden,
        "invalid_code",
        "that code is not right; try the current one",
    )
}

/// What the settings page shows while enabling: the key to type in and the `otpauth:` URI
/// authenticator apps read.
pub struct Enrolment {
    pub secret: String,
    pub uri: String,
}

/// Starts enabling two-factor authentication: a fresh secret, not in force until `confirm`.
pub async fn begin(db: &Db, account: &Account, issuer: &str) -> Result<Enrolment> {
    if db::two_factor::enabled(db, &account.id).await? {
        return Err(Error::new(
            Kind::Conflict,
            "already_enabled",
            "two-factor authentication is on already",
        ));
    }
    let mut bytes = [0u8; 20];
    rand::fill(&mut bytes);
    let secret = Secret::Raw(bytes.to_vec()).to_encoded().to_string();
    db::two_factor::set_pending_secret(db, &account.id, &secret).await?;
    Ok(Enrolment {
        uri: enrolment_uri(&secret, issuer, &account.username),
        secret,
    })
}

/// The enrolment of a secret being set up (the page shows it again until it is confirmed).
pub async fn pending(db: &Db, account: &Account, issuer: &str) -> Result<Option<Enrolment>> {
    Ok(match db::two_factor::totp(db, &account.id).await? {
        Some((secret, false, _)) => Some(Enrolment {
            uri: enrolment_uri(&secret, issuer, &account.username),
            secret,
        }),
        _ => None,
    })
}

fn enrolment_uri(secret: &str, issuer: &str, username: &str) -> String {
    let label: String =
        url::form_urlencoded::byte_serialize(format!("{issuer}:{username}").as_bytes()).collect();
    let issuer: String = url::form_urlencoded::byte_serialize(issuer.as_bytes()).collect();
    format!(
        "otpauth://totp/{label}?secret={secret}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}"
    )
}

/// The time step `code` is valid for, if it is (within the skew).
fn matching_step(totp: &TOTP, code: &str) -> Option<i64> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    let code = code.trim().replace(' ', "");
    (-i64::from(SKEW)..=i64::from(SKEW)).find_map(|offset| {
        let at = now.checked_add_signed(offset * STEP_SECONDS as i64)?;
        let candidate = totp.generate(at);
        let same = candidate.len() == code.len() && super::same_secret(&candidate, &code);
        same.then_some((at / STEP_SECONDS) as i64)
    })
}

/// Checks a code from the app against the account's secret, once per time step.
async fn check_code(db: &Db, account_id: &str, secret: &str, code: &str) -> Result<()> {
    let step = matching_step(&totp(secret)?, code).ok_or_else(wrong_code)?;
    if db::two_factor::advance_step(db, account_id, step).await? {
        Ok(())
    } else {
        Err(wrong_code())
    }
}

fn recovery_digest(code: &str) -> String {
    token_digest(&code.trim().to_lowercase().replace([' ', '-'], ""))
}

/// Puts two-factor authentication in force once a code proves the app has the secret; returns
/// the recovery codes, shown once.
pub async fn confirm(db: &Db, account: &Account, code: &str) -> Result<Vec<String>> {
    let Some((secret, false, _)) = db::two_factor::totp(db, &account.id).await? else {
        return Err(Error::unprocessable(
            "start enabling two-factor authentication first",
        ));
    };
    check_code(db, &account.id, &secret, code).await?;
    let codes: Vec<String> = (0..RECOVERY_CODES)
        .map(|_| {
            let mut bytes = [0u8; 6];
            rand::fill(&mut bytes);
            let hex = hex::encode(bytes);
            format!("{}-{}", &hex[..6], &hex[6..])
        })
        .collect();
    let digests: Vec<String> = codes.iter().map(|c| recovery_digest(c)).collect();
    db::two_factor::enable(db, &account.id, &digests).await?;
    Ok(codes)
}

/// Turns it off, with the password and a current code (or a recovery code).
pub async fn disable(db: &Db, account: &Account, password: &str, code: &str) -> Result<()> {
    check_password(db, account, password).await?;
    second_factor(db, &account.id, code).await?;
    db::two_factor::disable(db, &account.id).await
}

/// A code from the app or an unused recovery code.
async fn second_factor(db: &Db, account_id: &str, code: &str) -> Result<()> {
    let Some((secret, true, _)) = db::two_factor::totp(db, account_id).await? else {
        return Ok(());
    };
    if code.trim().len() > DIGITS
        && db::two_factor::use_recovery_code(db, account_id, &recovery_digest(code)).await?
    {
        return Ok(());
    }
    check_code(db, account_id, &secret, code).await
}

/// After the password: a pending login to finish with a code. Returns the token the second
/// form carries.
pub async fn challenge(db: &Db, account: &Account, next: &str) -> Result<String> {
    let token = random_token();
    let expires = db::now_ms() + CHALLENGE_MINUTES * 60 * 1000;
    db::two_factor::insert_challenge(db, &token_digest(&token), &account.id, next, expires).await?;
    Ok(token)
}

/// Finishes a pending login: the account and where it was going.
pub async fn answer(db: &Db, token: &str, code: &str) -> Result<(Account, String)> {
    let digest = token_digest(token);
    let expired = || {
        Error::new(
            Kind::Unauthorized,
            "login_expired",
            "this login has expired; log in again",
        )
    };
    let (account_id, next) = db::two_factor::attempt_challenge(db, &digest, CHALLENGE_ATTEMPTS)
        .await?
        .ok_or_else(expired)?;
    second_factor(db, &account_id, code).await?;
    db::two_factor::delete_challenge(db, &digest).await?;
    let account = db::accounts::by_id(db, &account_id).await?.ok_or_else(expired)?;
    super::may_log_in(&account)?;
    Ok((account, next))
}

pub async fn enabled(db: &Db, account: &Account) -> Result<bool> {
    db::two_factor::enabled(db, &account.id).await
}

pub async fn recovery_codes_left(db: &Db, account: &Account) -> Result<i64> {
    db::two_factor::recovery_codes_left(db, &account.id).await
}
