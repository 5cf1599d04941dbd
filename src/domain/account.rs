use crate::error::{Error, Result};

/// A local account's ActivityPub id (its Person), under the instance's public URL.
pub fn person_id(base: &str, username: &str) -> String {
    format!("{base}/users/{username}")
}

/// A local username: 1–30 ASCII letters, digits or underscores, as Mastodon allows, so that
/// `name@host` addresses survive every server that will see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Username> {
        let ok =
            !raw.is_empty() && raw.len() <= 30 && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if ok {
            Ok(Username(raw.to_owned()))
        } else {
            Err(Error::unprocessable(
                "username must be 1 to 30 letters, digits or underscores",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Usernames are unique regardless of case.
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

pub const MIN_PASSWORD_LEN: usize = 8;

pub fn check_password_strength(password: &str) -> Result<()> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(Error::unprocessable(format!(
            "password must be at least {MIN_PASSWORD_LEN} characters"
        )));
    }
    Ok(())
}

#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub is_admin: bool,
    pub public_key_pem: String,
    pub created_at: i64,
    /// None for local accounts.
    pub domain: Option<String>,
    /// A remote actor's ActivityPub id and addresses; None for local accounts.
    pub remote: Option<RemoteActor>,
    pub locked: bool,
    pub note: String,
}

impl Account {
    pub fn is_local(&self) -> bool {
        self.domain.is_none()
    }

    /// `name` for local accounts, `name@domain` for remote ones, as Mastodon's `acct`.
    pub fn acct(&self) -> String {
        match &self.domain {
            Some(domain) => format!("{}@{domain}", self.username),
            None => self.username.clone(),
        }
    }
}

/// What we keep of a remote actor's document.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteActor {
    pub uri: String,
    pub actor_type: String,
    pub inbox_url: String,
    pub shared_inbox_url: Option<String>,
    pub followers_url: Option<String>,
    pub profile_url: Option<String>,
    pub avatar_url: Option<String>,
    pub key_id: String,
}

impl RemoteActor {
    /// Where to deliver: the shared inbox when there is one, so one POST reaches everyone there.
    pub fn delivery_inbox(&self) -> &str {
        self.shared_inbox_url.as_deref().unwrap_or(&self.inbox_url)
    }
}

/// A remote actor as parsed from its document, ready to store.
#[derive(Debug, Clone)]
pub struct NewRemoteAccount {
    pub username: String,
    pub domain: String,
    pub display_name: String,
    pub note: String,
    pub locked: bool,
    pub public_key_pem: String,
    pub actor: RemoteActor,
}

/// What creating an account stores; the secrets never leave `db` and `accounts`.
pub struct NewAccount {
    pub id: String,
    pub username: Username,
    pub password_hash: String,
    pub is_admin: bool,
    pub private_key_pem: String,
    pub public_key_pem: String,
    pub created_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert!(Username::parse("alice_01").is_ok());
        assert_eq!(
            Username::parse("Alice").map(|u| u.key()).ok().as_deref(),
            Some("alice")
        );
        for bad in ["", "a b", "../x", "émile", &"x".repeat(31)] {
            assert!(Username::parse(bad).is_err(), "{bad}");
        }
    }
}
