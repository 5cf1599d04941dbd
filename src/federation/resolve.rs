//! Finding remote actors and posts: WebFinger, fetching (signed by the instance actor, through
//! the guarded client), parsing, and storing what we learnt. Blocked domains are never asked.

use serde_json::Value;

use super::{
    instance,
    parse::{self, RemoteStatus},
};
use crate::{
    db,
    domain::{
        account::{Account, Username},
        media::{Focus, Media, MediaState, RemoteFiles},
        status::Status,
    },
    error::{Error, Kind, Result},
    net::client::Signer,
    state::AppState,
};

pub async fn instance_signer(state: &AppState) -> Result<Signer> {
    let keys = instance::keys(&state.db).await?;
    Ok(Signer {
        key_id: format!("{}/actor#main-key", state.config.public_url()),
        private_key_pem: std::sync::Arc::new(keys.private_pem),
    })
}

pub async fn account_signer(state: &AppState, account: &Account) -> Result<Signer> {
    let pem = db::accounts::private_key(&state.db, &account.id)
        .await?
        .ok_or_else(|| Error::internal("a local account without a private key"))?;
    Ok(Signer {
        key_id: format!(
            "{}#main-key",
            crate::domain::account::person_id(state.config.public_url(), &account.username)
        ),
        private_key_pem: std::sync::Arc::new(pem),
    })
}

/// Whether this instance refuses to talk to `host` (configuration or the admin's list); a
/// block covers subdomains.
pub async fn blocked(state: &AppState, host: &str) -> Result<bool> {
    let host = host.to_ascii_lowercase();
    let bare = host.split(':').next().unwrap_or(&host).to_owned();
    let matches = |blocked: &str| {
        let blocked = blocked.trim().to_ascii_lowercase();
        !blocked.is_empty() && (host == blocked || bare == blocked || bare.ends_with(&format!(".{blocked}")))
    };
    if state.config.federation.blocked_domains.iter().any(|d| matches(d)) {
        return Ok(true);
    }
    Ok(db::federation::domain_blocks(&state.db)
        .await?
        .iter()
        .any(|(d, _, _)| matches(d)))
}

fn blocked_error(host: &str) -> Error {
    Error::new(
        Kind::Forbidden,
        "domain_blocked",
        format!("{host} is blocked by this instance"),
    )
}

/// Refuses URLs on blocked domains before anything is sent there.
pub async fn ensure_allowed(state: &AppState, url: &str) -> Result<String> {
    let host = parse::host(url).ok_or_else(|| Error::unprocessable(format!("{url:?} is not a URL")))?;
    if blocked(state, &host).await? {
        return Err(blocked_error(&host));
    }
    Ok(host)
}

/// Our own host, as actor addresses name it.
pub fn own_host(state: &AppState) -> String {
    parse::host(state.config.public_url()).unwrap_or_default()
}

/// The local account an actor id of ours names (`/users/name`, `/channels/name`).
pub async fn local_actor(state: &AppState, uri: &str) -> Result<Option<Account>> {
    let base = state.config.public_url();
    let Some(rest) = uri.strip_prefix(base) else {
        return Ok(None);
    };
    let name = rest
        .strip_prefix("/users/")
        .or_else(|| rest.strip_prefix("/channels/"))
        .or_else(|| rest.strip_prefix("/@"));
    let Some(name) = name.filter(|n| !n.contains('/')) else {
        return Ok(None);
    };
    let Ok(name) = Username::parse(name) else {
        return Ok(None);
    };
    db::accounts::by_username(&state.db, &name.key()).await
}

/// The id of a local status named by its ActivityPub id or page.
pub fn local_status_id<'a>(state: &AppState, uri: &'a str) -> Option<&'a str> {
    let rest = uri.strip_prefix(state.config.public_url())?;
    let id = if let Some(users) = rest.strip_prefix("/users/") {
        users.split_once("/statuses/")?.1
    } else if let Some(at) = rest.strip_prefix("/@") {
        at.split_once('/')?.1
    } else {
        rest.strip_prefix("/statuses/")?
    };
    let id = id.strip_suffix("/activity").unwrap_or(id);
    (!id.is_empty() && !id.contains('/')).then_some(id)
}

/// An actor by id: ours, or a remote one from the cache, fetched when unknown.
pub async fn actor(state: &AppState, uri: &str) -> Result<Account> {
    if let Some(local) = local_actor(state, uri).await? {
        return Ok(local);
    }
    if let Some(known) = db::accounts::by_uri(&state.db, uri).await? {
        return Ok(known);
    }
    refresh_actor(state, uri).await
}

/// Fetches an actor's document again (first sight, or its key may have rotated) and stores it.
pub async fn refresh_actor(state: &AppState, uri: &str) -> Result<Account> {
    ensure_allowed(state, uri).await?;
    let signer = instance_signer(state).await?;
    let (from, doc) = state.http.get_json(uri, Some(&signer)).await?;
    let new = parse::actor(&doc, from.as_str())?;
    if parse::host(&new.actor.uri) == Some(own_host(state)) {
        return Err(Error::unprocessable("that actor is on this instance"));
    }
    db::accounts::upsert_remote(&state.db, &new).await
}

/// `name@host` (a leading `@` allowed) through WebFinger to the actor, stored.
pub async fn webfinger(state: &AppState, address: &str) -> Result<Account> {
    let address = address.trim().trim_start_matches('@');
    let (name, host) = address
        .split_once('@')
        .filter(|(n, h)| !n.is_empty() && !h.is_empty() && !h.contains(['/', '@', '?', '#']))
        .ok_or_else(|| Error::unprocessable(format!("{address:?} is not a name@host address")))?;
    let host = host.to_ascii_lowercase();
    if host == own_host(state) {
        let name = Username::parse(name).map_err(|_| Error::not_found("account"))?;
        return db::accounts::by_username(&state.db, &name.key())
            .await?
            .ok_or_else(|| Error::not_found("account"));
    }
    let jrd = webfinger_document(state, name, &host).await?;
    let href = self_link(&jrd).ok_or_else(|| {
        Error::new(
            Kind::BadGateway,
            "remote_error",
            "the WebFinger answer names no actor",
        )
    })?;
    if parse::host(&href).as_deref() != Some(host.as_str()) {
        // The actor may live on another host than the address (a split domain); it is then
        // that host's word, fetched and checked like any actor.
        ensure_allowed(state, &href).await?;
    }
    actor(state, &href).await
}

/// Where a user of another server follows from: the "subscribe" template its WebFinger names.
pub async fn subscribe_template(state: &AppState, address: &str) -> Result<String> {
    let address = address.trim().trim_start_matches('@');
    let (name, host) = address
        .split_once('@')
        .filter(|(n, h)| !n.is_empty() && !h.is_empty() && !h.contains(['/', '@', '?', '#']))
        .ok_or_else(|| Error::unprocessable(format!("{address:?} is not a name@host address")))?;
    let jrd = webfinger_document(state, name, &host.to_ascii_lowercase()).await?;
    let template = jrd
        .get("links")
        .and_then(Value::as_array)
        .and_then(|links| {
            links.iter().find_map(|l| {
                (parse::str_of(l, "rel") == Some("http://ostatus.org/schema/1.0/subscribe"))
                    .then(|| parse::str_of(l, "template"))
                    .flatten()
            })
        })
        .filter(|t| t.contains("{uri}") && (t.starts_with("https://") || t.starts_with("http://")))
        .ok_or_else(|| Error::unprocessable(format!("{host} does not say how to follow from there")))?;
    Ok(template.to_owned())
}

/// The JRD for `name@host` from that host, https first (http too when allowed).
async fn webfinger_document(state: &AppState, name: &str, host: &str) -> Result<Value> {
    if blocked(state, host).await? {
        return Err(blocked_error(host));
    }
    let resource = format!("acct:{name}@{host}");
    let query = serde_urlencoded::to_string([("resource", resource.as_str())])
        .map_err(|e| Error::internal("cannot encode a WebFinger query").with_source(e))?;
    let mut schemes = vec!["https"];
    if state.config.federation.allow_http {
        schemes.push("http");
    }
    let mut last = Error::not_found("account");
    for scheme in schemes {
        let url = format!("{scheme}://{host}/.well-known/webfinger?{query}");
        match state
            .http
            .get(&url, "application/jrd+json, application/json", None)
            .await
        {
            Ok((_, jrd)) => return Ok(jrd),
            Err(e) => last = e,
        }
    }
    Err(last)
}

pub fn self_link(jrd: &Value) -> Option<String> {
    jrd.get("links")?.as_array()?.iter().find_map(|l| {
        let rel = parse::str_of(l, "rel")?;
        let kind = parse::str_of(l, "type").unwrap_or("");
        (rel == "self" && (kind.contains("activity+json") || kind.contains("ld+json")))
            .then(|| parse::str_of(l, "href").map(str::to_owned))
            .flatten()
    })
}

/// A post by id: ours, known, or fetched from its origin and stored (with its author).
pub async fn post(state: &AppState, uri: &str) -> Result<Status> {
    if let Some(id) = local_status_id(state, uri) {
        return db::statuses::get(&state.db, id)
            .await?
            .ok_or_else(|| Error::not_found("status"));
    }
    if let Some(known) = db::statuses::get_by_uri(&state.db, uri).await? {
        return Ok(known);
    }
    ensure_allowed(state, uri).await?;
    let signer = instance_signer(state).await?;
    let (from, object) = state.http.get_json(uri, Some(&signer)).await?;
    let parsed = parse::post(&object, from.as_str())?;
    Ok(store_post(state, parsed).await?.0)
}

/// The hosts whose copies may be listed here, as `mirroring.accept_from` says; None: any.
async fn mirror_hosts_we_trust(state: &AppState) -> Result<Option<Vec<String>>> {
    Ok(match state.config.mirroring.accept_from {
        crate::config::AcceptFrom::Anybody => None,
        crate::config::AcceptFrom::Nobody => Some(Vec::new()),
        crate::config::AcceptFrom::Followings => Some(
            db::mirrors::followed_actors(&state.db)
                .await?
                .iter()
                .filter_map(|actor| parse::host(actor))
                .collect(),
        ),
    })
}

fn parsed_author_uri(author: &Account) -> String {
    author.remote.as_ref().map(|r| r.uri.clone()).unwrap_or_default()
}

/// The accounts a remote post mentions, among those known here: ours, and other servers'
/// we hold already (a stranger's post makes us fetch nobody).
async fn known_mentions(state: &AppState, uris: &[String]) -> Result<Vec<String>> {
    let mut ids = Vec::new();
    for uri in uris {
        let found = match local_actor(state, uri).await? {
            Some(local) => Some(local),
            None => db::accounts::by_uri(&state.db, uri).await?,
        };
        if let Some(account) = found
            && !ids.contains(&account.id)
        {
            ids.push(account.id);
        }
    }
    Ok(ids)
}

/// Stores (or updates) a remote post: (the post, whether this changed its text). Its author
/// is fetched if unknown; a reply's parent is linked when we have it.
pub async fn store_post(state: &AppState, parsed: RemoteStatus) -> Result<(Status, bool)> {
    let author = actor(state, &parsed.author).await?;
    if author.is_local() {
        return Err(Error::unprocessable("a remote post cannot be by a local account"));
    }
    let in_reply_to_id = match &parsed.in_reply_to {
        Some(parent) => match local_status_id(state, parent) {
            Some(id) => Some(id.to_owned()),
            None => db::statuses::get_by_uri(&state.db, parent).await?.map(|s| s.id),
        },
        None => None,
    };
    let now = db::now_ms();
    let status = Status {
        id: uuid::Uuid::now_v7().to_string(),
        account_id: author.id.clone(),
        text: parsed.text,
        visibility: parsed.visibility,
        sensitive: parsed.sensitive,
        spoiler_text: parsed.spoiler_text,
        in_reply_to_id,
        published_at: Some(now),
        created_at: parsed.published_ms.filter(|p| *p <= now).unwrap_or(now),
        uri: Some(parsed.uri.clone()),
        url: parsed.url,
        reblog_of_id: None,
        title: parsed.title,
        // The author's edit time, used only if this turns out to change a post we hold.
        edited_at: parsed.updated_ms.filter(|u| *u <= now),
        language: parsed.language,
        app_id: None,
    };
    let copies: Vec<Vec<String>> = parsed.media.iter().map(|m| m.mirrors.clone()).collect();
    let media: Vec<Media> = parsed
        .media
        .into_iter()
        .map(|m| Media {
            id: uuid::Uuid::now_v7().to_string(),
            account_id: author.id.clone(),
            kind: m.kind,
            content_type: m.mime,
            state: MediaState::Ready,
            progress: 100,
            error: None,
            original_key: String::new(),
            size_bytes: 0,
            sha256: String::new(),
            description: m.description,
            created_at: now,
            width: m.width,
            height: m.height,
            blurhash: m.blurhash,
            focus: m.focus.map(|(x, y)| Focus { x, y }),
            variants: Vec::new(),
            remote: Some(RemoteFiles {
                url: m.url,
                preview_url: m.preview_url,
                hls_url: m.hls_url,
            }),
        })
        .collect();
    let mentions = known_mentions(state, &parsed.mentions).await?;
    let attached = db::conversation::Attached {
        mentions: &mentions,
        tags: &parsed.tags,
    };
    let (id, edited) = db::statuses::upsert_remote(&state.db, &status, &media, attached).await?;
    // Copies the origin vouches for (it checked them); players here may use them, but only
    // from hosts our own mirroring policy trusts: every anonymous play of the video makes us
    // fetch from them.
    let trusted = mirror_hosts_we_trust(state).await?;
    for (m, masters) in media.iter().zip(&copies) {
        for master in masters {
            if let Ok(url) = url::Url::parse(master)
                && trusted
                    .as_ref()
                    .is_none_or(|hosts| parse::host(master).is_some_and(|h| hosts.contains(&h)))
            {
                let base = url.origin().ascii_serialization();
                db::mirrors::add_copy(
                    &state.db,
                    &m.id,
                    &base,
                    master,
                    master,
                    &parsed_author_uri(&author),
                    None,
                )
                .await?;
            }
        }
    }
    let stored = db::statuses::get(&state.db, &id)
        .await?
        .ok_or_else(|| Error::internal("remote status vanished after insert"))?;
    Ok((stored, edited))
}
