//! Creating accounts, logging in and bearer tokens. Password hashing (argon2) and key generation
//! (RSA-2048) are CPU-heavy and run on the blocking pool, off the async runtime.

use argon2::{Argon2, PasswordHasher};
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::{
    db::{self, Db},
    domain::account::{Account, NewAccount, SignUpDetails, Username, check_password_strength},
    error::{Error, Kind, Result},
};

pub mod mail;
pub mod oauth;
pub mod signup;
pub mod two_factor;

/// Scopes granted to password-grant tokens: everything a first-party client needs.
pub const DEFAULT_SCOPE: &str = "read write follow push";

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::internal("background task failed").with_source(e))?
}

/// Password hashes run on threads of their own, one per core, fed by a bounded queue. Each
/// argon2 hash takes 19 MiB and a core for tens of milliseconds: on the blocking pool, hundreds
/// ran at once (64 parallel logins once cost about 950 MiB), and as glibc keeps a freed block of
/// that size in the arena of the thread that used it, every pool thread kept one. On a few
/// long-lived threads the same blocks are reused, so memory stays at a few times 19 MiB.
async fn hashing<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    type Job = Box<dyn FnOnce() + Send>;
    /// Logins waiting for a hasher at most; more are told to come back.
    const QUEUE: usize = 256;
    static HASHERS: std::sync::LazyLock<std::io::Result<std::sync::mpsc::SyncSender<Job>>> =
        std::sync::LazyLock::new(|| {
            let (jobs, queue) = std::sync::mpsc::sync_channel::<Job>(QUEUE);
            let queue = std::sync::Arc::new(std::sync::Mutex::new(queue));
            for n in 0..std::thread::available_parallelism().map_or(2, |n| n.get()) {
                let queue = queue.clone();
                std::thread::Builder::new()
                    .name(format!("argon2-{n}"))
                    .spawn(move || {
                        loop {
                            // The lock is held only while waiting for the next job.
                            let job = match queue.lock() {
                                Ok(queue) => queue.recv(),
                                Err(_) => return,
                            };
                            match job {
                                Ok(job) => job(),
                                Err(_) => return,
                            }
                        }
                    })?;
            }
            Ok(jobs)
        });
    let hashers = HASHERS
        .as_ref()
        .map_err(|e| Error::internal(format!("cannot start the password hashers: {e}")))?;
    let (done, result) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = done.send(f());
    });
    hashers.try_send(job).map_err(|_| {
        Error::unavailable("too many logins at once; try again in a moment").with_retry_after(1)
    })?;
    result
        .await
        .map_err(|_| Error::internal("a password hasher stopped"))?
}

/// An account made by an admin (the command line): approved from the start.
pub async fn create(db: &Db, username: &str, password: &str, is_admin: bool) -> Result<Account> {
    create_with(db, username, password, is_admin, true, SignUpDetails::default()).await
}

pub(crate) async fn create_with(
    db: &Db,
    username: &str,
    password: &str,
    is_admin: bool,
    approved: bool,
    sign_up: SignUpDetails,
) -> Result<Account> {
    let username = Username::parse(username)?;
    check_password_strength(password)?;
    let password = password.to_owned();
    let password_hash = hashing(move || hash_password(&password)).await?;
    let (private_key_pem, public_key_pem) = blocking(crate::net::keys::generate_key_pair).await?;
    let new = NewAccount {
        id: uuid::Uuid::now_v7().to_string(),
        username,
        password_hash,
        is_admin,
        private_key_pem,
        public_key_pem,
        created_at: db::now_ms(),
        approved,
        sign_up,
    };
    db::accounts::insert(db, &new).await?;
    db::accounts::by_id(db, &new.id)
        .await?
        .ok_or_else(|| Error::internal("account vanished after insert"))
}

fn hash_password(password: &str) -> Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| Error::internal(format!("password hashing failed: {e}")))
}

/// A hash of a throwaway password, verified against when the username does not exist so that
/// a login's timing does not tell which usernames are taken.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password for timing").unwrap_or_default())
}

/// The account whose username and password these are.
pub async fn login(db: &Db, username: &str, password: &str) -> Result<Account> {
    let invalid = || Error::unauthorized("invalid_grant", "the username or password is wrong");
    let found = match Username::parse(username) {
        Ok(name) => db::accounts::credentials(db, &name.key()).await?,
        Err(_) => None,
    };
    let password = password.to_owned();
    match found {
        Some((account, hash)) => {
            let ok = hashing(move || Ok(verify(password.as_bytes(), &hash))).await?;
            if !ok {
                return Err(invalid());
            }
            // Only someone who knows the password learns why the account cannot log in.
            may_log_in(&account)?;
            Ok(account)
        }
        None => {
            hashing(move || Ok(verify(password.as_bytes(), decoy_hash()))).await?;
            Err(invalid())
        }
    }
}

/// Whether `password` matches a PHC argon2 string. Computed in memory this hasher thread keeps
/// for the next login: argon2 asks for 19 MiB each time, and glibc keeps every block it freed
/// (its mmap threshold rises to that size), so allocating anew grew the server by tens of MiB
/// per thread. A hash that cannot be read matches nothing.
fn verify(password: &[u8], phc: &str) -> bool {
    use argon2::{Algorithm, Block, Params, PasswordHash, Version};
    thread_local! {
        static MEMORY: std::cell::RefCell<Vec<Block>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
        return false;
    };
    let (Ok(params), Ok(algorithm)) = (
        Params::try_from(&hash),
        Algorithm::try_from(hash.algorithm.as_str()),
    ) else {
        return false;
    };
    let version = match hash.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(version)) => version,
        Some(Err(_)) => return false,
    };
    let blocks = params.block_count();
    let mut out = vec![0u8; expected.len()];
    let computed = MEMORY.with(|memory| {
        let mut memory = memory.borrow_mut();
        if memory.len() < blocks {
            memory.resize(blocks, Block::new());
        }
        Argon2::new(algorithm, version, params)
            .hash_password_into_with_memory(password, salt.as_ref(), &mut out, &mut memory[..blocks])
            .is_ok()
    });
    // Constant time: how much of a guess matched must not show in how long the answer took.
    let expected = expected.as_bytes();
    computed
        && out.len() == expected.len()
        && out.iter().zip(expected).fold(0u8, |diff, (a, b)| diff | (a ^ b)) == 0
}

/// Tokens are stored only as their SHA-256: a leaked database does not leak sessions.
pub fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub struct IssuedToken {
    pub token: String,
    pub scope: String,
    pub created_at: i64,
}

/// A token for the password grant: everything a first-party client needs, and admin scopes
/// for admins (their tools use this grant).
pub async fn issue_token(db: &Db, account: &Account) -> Result<IssuedToken> {
    let scope = if account.is_admin {
        format!("{DEFAULT_SCOPE} admin:read admin:write")
    } else {
        DEFAULT_SCOPE.to_owned()
    };
    issue_token_for(db, account, &scope, None).await
}

pub(crate) async fn issue_token_for(
    db: &Db,
    account: &Account,
    scope: &str,
    app: Option<&db::oauth::App>,
) -> Result<IssuedToken> {
    let token = random_token();
    let created_at = db::tokens::insert(
        db,
        &uuid::Uuid::now_v7().to_string(),
        &account.id,
        &token_digest(&token),
        scope,
        app.map(|a| (a.id.as_str(), a.name.as_str())),
    )
    .await?;
    Ok(IssuedToken {
        token,
        scope: scope.to_owned(),
        created_at,
    })
}

/// Refuses an account that exists but may not act: deleted, suspended, or not approved yet.
pub fn may_log_in(account: &Account) -> Result<()> {
    let standing = &account.standing;
    if standing.deleted_at.is_some() {
        return Err(Error::unauthorized(
            "invalid_grant",
            "the username or password is wrong",
        ));
    }
    if standing.suspended_at.is_some() {
        return Err(Error::new(
            Kind::Forbidden,
            "account_suspended",
            "this account is suspended",
        ));
    }
    if !standing.email_confirmed {
        return Err(Error::new(
            Kind::Forbidden,
            "unconfirmed_email",
            "confirm your email address first: follow the link in the mail we sent",
        ));
    }
    if !standing.approved {
        return Err(Error::new(
            Kind::Forbidden,
            "pending_approval",
            "this account is waiting for an admin to approve it",
        ));
    }
    Ok(())
}

/// The account and scopes of a live user token.
pub async fn authenticate(db: &Db, token: &str) -> Result<(Account, Vec<String>)> {
    let (account, scope) = db::tokens::account_for(db, &token_digest(token))
        .await?
        .ok_or_else(|| Error::unauthorized("invalid_token", "the access token is invalid or revoked"))?;
    may_log_in(&account)?;
    Ok((account, scope.split_whitespace().map(str::to_owned).collect()))
}

/// Checks the current password, then sets a new one. With `end_others`, every other session
/// and every token of the account end too; `keep` is the session cookie that stays.
pub async fn change_password(
    db: &Db,
    account: &Account,
    current: &str,
    new: &str,
    end_others: bool,
    keep: Option<&str>,
) -> Result<()> {
    check_password(db, account, current).await?;
    set_password(db, account, new).await?;
    if end_others {
        log_out_everywhere(db, account, keep).await?;
    }
    Ok(())
}

/// Hashes and stores a new password (its strength checked).
pub(crate) async fn set_password(db: &Db, account: &Account, new: &str) -> Result<()> {
    check_password_strength(new)?;
    let new = new.to_owned();
    let hash = hashing(move || hash_password(&new)).await?;
    db::accounts::set_password(db, &account.id, &hash).await
}

/// Whether `password` is this account's: asked again before anything that cannot be undone.
pub async fn check_password(db: &Db, account: &Account, password: &str) -> Result<()> {
    let wrong = || {
        Error::new(
            Kind::Forbidden,
            "wrong_password",
            "that is not your current password",
        )
    };
    let Some((_, hash)) = db::accounts::credentials(db, &account.username.to_ascii_lowercase()).await? else {
        return Err(wrong());
    };
    let password = password.to_owned();
    if hashing(move || Ok(verify(password.as_bytes(), &hash))).await? {
        Ok(())
    } else {
        Err(wrong())
    }
}

/// Ends every session but `keep` (a cookie value) and revokes every token.
pub async fn log_out_everywhere(db: &Db, account: &Account, keep: Option<&str>) -> Result<()> {
    let keep = keep.map(token_digest);
    db::sessions::delete_all(db, &account.id, keep.as_deref()).await?;
    db::tokens::revoke_all(db, &account.id).await?;
    Ok(())
}

pub async fn revoke(db: &Db, token: &str) -> Result<bool> {
    db::tokens::revoke(db, &token_digest(token)).await
}

/// How long a browser stays logged in.
pub const SESSION_DAYS: i64 = 30;

pub struct Session {
    pub cookie: String,
    pub csrf_token: String,
}

pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A browser session: the cookie value (stored only hashed) and its CSRF token.
pub async fn start_session(db: &Db, account: &Account) -> Result<Session> {
    let session = Session {
        cookie: random_token(),
        csrf_token: random_token(),
    };
    let expires = db::now_ms() + SESSION_DAYS * 24 * 3600 * 1000;
    db::sessions::insert(
        db,
        &token_digest(&session.cookie),
        &account.id,
        &session.csrf_token,
        expires,
    )
    .await?;
    Ok(session)
}

/// The account and CSRF token of a live session cookie; a session of an account that may not
/// log in (suspended, say) is no session.
pub async fn session(db: &Db, cookie: &str) -> Result<Option<(Account, String)>> {
    Ok(db::sessions::lookup(db, &token_digest(cookie))
        .await?
        .filter(|(account, _)| may_log_in(account).is_ok()))
}

/// Which browser and address a session began from, for its owner's list of sessions.
pub async fn remember_origin(db: &Db, cookie: &str, user_agent: &str, address: &str) -> Result<()> {
    db::sessions::set_origin(db, &token_digest(cookie), user_agent, address).await
}

pub async fn end_session(db: &Db, cookie: &str) -> Result<()> {
    db::sessions::delete(db, &token_digest(cookie)).await
}

/// A fresh random value for a login form's CSRF cookie.
pub fn new_csrf_token() -> String {
    random_token()
}

/// Compares secrets in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifying_in_reused_memory_agrees_with_argon2() {
        use argon2::PasswordVerifier;
        let hash = hash_password("correct horse battery").expect("hash");
        for _ in 0..2 {
            // Twice: the second time in the memory the first one left.
            assert!(verify(b"correct horse battery", &hash));
            assert!(!verify(b"correct horse batterz", &hash));
        }
        assert!(
            Argon2::default()
                .verify_password(b"correct horse battery", hash.as_str())
                .is_ok()
        );
        // Other parameters than ours (an older or tuned hash) still verify.
        let small = Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            argon2::Params::new(8 * 1024, 2, 1, None).expect("params"),
        )
        .hash_password(b"another one")
        .expect("hash")
        .to_string();
        assert!(verify(b"another one", &small));
        assert!(!verify(b"x", "not a hash"));
        assert!(!verify(b"x", ""));
    }
}
