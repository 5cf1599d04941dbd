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
    pub profile: Profile,
    pub standing: Standing,
}

/// What an account shows of itself beyond its name and bio.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Profile {
    /// Store keys of a local account's avatar and header (remote ones are URLs in `remote`).
    pub avatar_key: Option<String>,
    pub header_key: Option<String>,
    /// The first frame of an animated avatar or header; None when the picture is a still.
    pub avatar_static_key: Option<String>,
    pub header_static_key: Option<String>,
    pub fields: Vec<Field>,
    pub bot: bool,
    pub discoverable: bool,
    pub indexable: bool,
    /// Followers and following are not listed to others.
    pub hide_collections: bool,
    pub default_privacy: String,
    pub default_sensitive: bool,
    pub default_language: Option<String>,
    pub updated_at: Option<i64>,
}

/// A profile field: `value` is plain text; `verified_at` is set when the page it links to links
/// back with `rel="me"`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Field {
    pub name: String,
    pub value: String,
    #[serde(default)]
    pub verified_at: Option<i64>,
}

pub const MAX_FIELDS: usize = 4;
pub const MAX_FIELD_NAME: usize = 255;
pub const MAX_FIELD_VALUE: usize = 255;
pub const MAX_DISPLAY_NAME: usize = 30;
pub const MAX_NOTE: usize = 500;

/// Where an account stands with its instance.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Standing {
    /// False while a sign-up waits for an admin.
    pub approved: bool,
    pub email_confirmed: bool,
    pub silenced_at: Option<i64>,
    pub suspended_at: Option<i64>,
    pub deleted_at: Option<i64>,
}

impl Standing {
    /// Suspended or deleted: nothing of it is shown to anyone.
    pub fn gone(&self) -> bool {
        self.suspended_at.is_some() || self.deleted_at.is_some()
    }
}

/// The checked text parts of a profile edit.
pub fn check_display_name(raw: &str) -> Result<String> {
    let name = raw.trim();
    if name.chars().count() > MAX_DISPLAY_NAME || name.chars().any(char::is_control) {
        return Err(Error::unprocessable(format!(
            "display_name must be at most {MAX_DISPLAY_NAME} characters, without control characters"
        )));
    }
    Ok(name.to_owned())
}

pub fn check_note(raw: &str) -> Result<String> {
    let note = raw.trim().replace("\r\n", "\n");
    if note.chars().count() > MAX_NOTE {
        return Err(Error::unprocessable(format!(
            "note must be at most {MAX_NOTE} characters"
        )));
    }
    Ok(note)
}

/// Fields as a profile edit sends them: empty pairs are dropped, the rest checked.
pub fn check_fields(raw: Vec<(String, String)>) -> Result<Vec<Field>> {
    let fields: Vec<Field> = raw
        .into_iter()
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .filter(|(name, value)| !name.is_empty() || !value.is_empty())
        .map(|(name, value)| Field {
            name,
            value,
            verified_at: None,
        })
        .collect();
    if fields.len() > MAX_FIELDS {
        return Err(Error::unprocessable(format!(
            "a profile has at most {MAX_FIELDS} fields"
        )));
    }
    for field in &fields {
        if field.name.chars().count() > MAX_FIELD_NAME || field.value.chars().count() > MAX_FIELD_VALUE {
            return Err(Error::unprocessable(format!(
                "a field's name and value are at most {MAX_FIELD_NAME} characters each"
            )));
        }
        if field.name.is_empty() {
            return Err(Error::unprocessable("a field with a value needs a name"));
        }
    }
    Ok(fields)
}

/// Names nobody signs up with: they would pass for the instance or its staff, or collide with
/// paths and actors of our own.
pub const RESERVED_USERNAMES: &[&str] = &[
    "admin",
    "administrator",
    "root",
    "support",
    "help",
    "moderator",
    "moderators",
    "mod",
    "staff",
    "security",
    "abuse",
    "postmaster",
    "hostmaster",
    "webmaster",
    "noreply",
    "no_reply",
    "info",
    "system",
    "kaleido",
    "instance",
    "actor",
    "owner",
    "official",
    "api",
    "www",
    "mail",
    "static",
    "media",
    "files",
    "settings",
    "signup",
    "login",
    "logout",
    "about",
    "explore",
];

impl Username {
    /// Whether this name is kept from sign-ups (built-in names and the instance's own list).
    pub fn is_reserved(&self, extra: &[String]) -> bool {
        let key = self.key();
        RESERVED_USERNAMES.contains(&key.as_str()) || extra.iter().any(|r| r.eq_ignore_ascii_case(&key))
    }
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
    pub header_url: Option<String>,
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
    /// Fields, bot flag and discovery choices; keys and avatar stay in `actor`.
    pub fields: Vec<Field>,
    pub discoverable: bool,
    pub indexable: bool,
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
    /// False: the sign-up waits in the approval queue.
    pub approved: bool,
    pub sign_up: SignUpDetails,
}

/// What a sign-up told us, kept for the admins who review it.
#[derive(Debug, Clone, Default)]
pub struct SignUpDetails {
    pub email: Option<String>,
    pub locale: Option<String>,
    pub reason: Option<String>,
    pub invite_code: Option<String>,
    pub address: Option<String>,
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
