//! Following, likes, boosts and search: what an account does about other accounts and their
//! posts, local or remote. Remote effects go out through the federation outbox.

use crate::{
    db::{self, moderation::Shun},
    domain::{
        account::Account,
        status::{Status, Visibility},
    },
    error::{Error, Result},
    federation::{outbox, parse, resolve},
    state::AppState,
    statuses::{self, Hydrated},
};

#[derive(Debug, Clone, serde::Serialize)]
pub struct Relationship {
    pub id: String,
    pub following: bool,
    pub requested: bool,
    pub followed_by: bool,
    pub blocking: bool,
    pub muting: bool,
    pub domain_blocking: bool,
    /// Kaleido always shows a followed account's boosts.
    pub showing_reblogs: bool,
    /// Told of each new post.
    pub notifying: bool,
    /// None: every language is shown.
    pub languages: Option<Vec<String>>,
    pub blocked_by: bool,
    /// A mute hides notifications too.
    pub muting_notifications: bool,
    pub requested_by: bool,
    /// Kaleido has no featured accounts (endorsements) or private notes on accounts.
    pub endorsed: bool,
    pub note: String,
}

pub async fn relationship(state: &AppState, me: &Account, other_id: &str) -> Result<Relationship> {
    let mine = db::federation::get_follow(&state.db, &me.id, other_id).await?;
    let theirs = db::federation::get_follow(&state.db, other_id, &me.id).await?;
    let domain_blocking = match db::accounts::by_id(&state.db, other_id)
        .await?
        .and_then(|a| a.domain)
    {
        Some(domain) => resolve::blocked(state, &domain).await?,
        None => false,
    };
    let following = mine.as_ref().is_some_and(|f| f.accepted);
    let muting = db::moderation::shuns(&state.db, &me.id, other_id, Shun::Mute).await?;
    Ok(Relationship {
        id: other_id.to_owned(),
        following,
        requested: mine.as_ref().is_some_and(|f| !f.accepted),
        followed_by: theirs.as_ref().is_some_and(|f| f.accepted),
        requested_by: theirs.as_ref().is_some_and(|f| !f.accepted),
        blocking: db::moderation::shuns(&state.db, &me.id, other_id, Shun::Block).await?,
        blocked_by: db::moderation::shuns(&state.db, other_id, &me.id, Shun::Block).await?,
        muting,
        muting_notifications: muting,
        domain_blocking,
        showing_reblogs: following,
        notifying: mine.as_ref().is_some_and(|f| f.notify),
        languages: None,
        endorsed: false,
        note: String::new(),
    })
}

async fn account(state: &AppState, id: &str) -> Result<Account> {
    db::accounts::by_id(&state.db, id)
        .await?
        .ok_or_else(|| Error::not_found("account"))
}

/// Follows an account: at once for local ones, as a request answered by the server for remote
/// ones (`requested` until their Accept arrives).
pub async fn follow(state: &AppState, me: &Account, target_id: &str) -> Result<Relationship> {
    let target = account(state, target_id).await?;
    if target.id == me.id {
        return Err(Error::unprocessable("you cannot follow yourself"));
    }
    match &target.domain {
        Some(domain) => {
            if resolve::blocked(state, domain).await? {
                return Err(Error::new(
                    crate::error::Kind::Forbidden,
                    "domain_blocked",
                    format!("{domain} is blocked by this instance"),
                ));
            }
            let existing = db::federation::get_follow(&state.db, &me.id, &target.id).await?;
            if existing.is_none() {
                outbox::follow(state, me, &target).await?;
            }
        }
        None => {
            let follow = db::federation::follow(&state.db, &me.id, &target.id, !target.locked, None).await?;
            let kind = if follow.accepted {
                "follow"
            } else {
                "follow_request"
            };
            db::notifications::about(&state.db, &target.id, &me.id, kind, None).await?;
        }
    }
    relationship(state, me, &target.id).await
}

/// Rings (or silences) the bell of an account one follows: told of each new post or not.
pub async fn ring(state: &AppState, me: &Account, target_id: &str, notify: bool) -> Result<Relationship> {
    if db::federation::get_follow(&state.db, &me.id, target_id)
        .await?
        .is_none()
    {
        return Err(Error::unprocessable("follow the account first"));
    }
    db::federation::set_notify(&state.db, &me.id, target_id, notify).await?;
    relationship(state, me, target_id).await
}

pub async fn unfollow(state: &AppState, me: &Account, target_id: &str) -> Result<Relationship> {
    let target = account(state, target_id).await?;
    outbox::unfollow(state, me, &target).await?;
    relationship(state, me, &target.id).await
}

async fn visible(state: &AppState, me: &Account, status_id: &str) -> Result<Status> {
    let (status, _, _) = statuses::fetch(state, status_id, Some(me)).await?;
    Ok(status)
}

async fn shown(state: &AppState, me: &Account, status_id: &str) -> Result<Hydrated> {
    let status = db::statuses::get(&state.db, status_id)
        .await?
        .ok_or_else(|| Error::not_found("status"))?;
    statuses::hydrate(state, vec![status], Some(me))
        .await?
        .pop()
        .ok_or_else(|| Error::not_found("status"))
}

pub async fn favourite(state: &AppState, me: &Account, status_id: &str, undo: bool) -> Result<Hydrated> {
    let status = visible(state, me, status_id).await?;
    let changed = if undo {
        db::federation::unfavourite(&state.db, &me.id, &status.id).await?
    } else {
        db::federation::favourite(&state.db, &me.id, &status.id, None).await?
    };
    if changed {
        outbox::like(state, me, &status, undo).await?;
        if !undo {
            db::notifications::about(
                &state.db,
                &status.account_id,
                &me.id,
                "favourite",
                Some(&status.id),
            )
            .await?;
        }
    }
    shown(state, me, &status.id).await
}

/// Boosts (or un-boosts) a public or unlisted status: a status of our own pointing at it.
pub async fn reblog(state: &AppState, me: &Account, status_id: &str, undo: bool) -> Result<Hydrated> {
    let status = visible(state, me, status_id).await?;
    let status = match &status.reblog_of_id {
        Some(inner) => visible(state, me, inner).await?,
        None => status,
    };
    let existing = db::statuses::reblog_by(&state.db, &me.id, &status.id).await?;
    if undo {
        if let Some(boost) = existing {
            db::statuses::delete_remote(&state.db, &boost.id).await?;
            outbox::announce(state, me, &status, &boost.id, true).await?;
            let event = db::events::Event::Deleted {
                status_id: boost.id.clone(),
                author_id: me.id.clone(),
                public: boost.visibility == Visibility::Public,
            };
            db::events::emit(&state.db, event).await;
        }
        return shown(state, me, &status.id).await;
    }
    if !matches!(status.visibility, Visibility::Public | Visibility::Unlisted) {
        return Err(Error::unprocessable(
            "only public and unlisted posts can be boosted",
        ));
    }
    let boost = match existing {
        Some(boost) => boost,
        None => {
            let now = db::now_ms();
            let boost = Status {
                id: uuid::Uuid::now_v7().to_string(),
                account_id: me.id.clone(),
                text: String::new(),
                visibility: Visibility::Public,
                sensitive: false,
                spoiler_text: String::new(),
                in_reply_to_id: None,
                published_at: Some(now),
                created_at: now,
                uri: None,
                url: None,
                reblog_of_id: Some(status.id.clone()),
                title: None,
                edited_at: None,
                language: None,
                app_id: None,
            };
            db::statuses::insert(&state.db, &boost, &[], Default::default(), None).await?;
            outbox::announce(state, me, &status, &boost.id, false).await?;
            db::notifications::about(&state.db, &status.account_id, &me.id, "reblog", Some(&status.id))
                .await?;
            let status_id = boost.id.clone();
            db::events::emit(&state.db, db::events::Event::Posted { status_id }).await;
            boost
        }
    };
    shown(state, me, &boost.id).await
}

/// What a search found.
#[derive(Default)]
pub struct Found {
    pub accounts: Vec<Account>,
    pub statuses: Vec<Hydrated>,
    pub hashtags: Vec<String>,
}

/// Which kinds a search looks for, and which page of them.
pub struct Wanted {
    pub accounts: bool,
    pub statuses: bool,
    pub hashtags: bool,
    pub limit: i64,
    pub offset: i64,
}

/// Search by words, after the exact lookups of [`search`]: posts by the words in them (for a
/// signed-in searcher, as Mastodon), accounts by name, tags by prefix. What was found already
/// is not repeated.
pub async fn full_text(
    state: &AppState,
    q: &str,
    wanted: &Wanted,
    me: Option<&Account>,
    found: &mut Found,
) -> Result<()> {
    let q = q.trim();
    // An address or a link was looked up as such.
    if q.contains("://") || q.trim_start_matches('@').contains('@') {
        return Ok(());
    }
    let viewer = me.map(|m| m.id.as_str());
    if wanted.accounts {
        for account in db::search::accounts(&state.db, q, viewer, wanted.limit, wanted.offset).await? {
            if !found.accounts.iter().any(|a| a.id == account.id) {
                found.accounts.push(account);
            }
        }
    }
    if wanted.statuses && me.is_some() {
        let words = db::search::words(q);
        let hits = db::search::statuses(&state.db, &words, viewer, wanted.limit, wanted.offset).await?;
        let visible = statuses::only_visible(state, hits, me).await?;
        found
            .statuses
            .extend(statuses::hydrate(state, visible, me).await?);
    }
    if wanted.hashtags {
        found.hashtags = db::search::tags(&state.db, q.trim_start_matches('#'), wanted.limit).await?;
    }
    Ok(())
}

/// `@name@host` or `name@host` (WebFinger), or the URL of an actor or post. Remote lookups
/// happen only with `resolve` and a signed-in searcher, as on Mastodon.
pub async fn search(state: &AppState, q: &str, resolve_remote: bool, me: Option<&Account>) -> Result<Found> {
    let q = q.trim();
    let mut found = Found::default();
    let may_fetch = resolve_remote && me.is_some();
    // Nothing from a blocked domain is shown or fetched, known or not.
    let named_host = if q.contains("://") {
        parse::host(q)
    } else {
        q.trim_start_matches('@')
            .split_once('@')
            .map(|(_, h)| h.to_ascii_lowercase())
    };
    if let Some(host) = named_host
        && resolve::blocked(state, &host).await?
    {
        return Err(Error::new(
            crate::error::Kind::Forbidden,
            "domain_blocked",
            format!("{host} is blocked by this instance"),
        ));
    }
    if q.starts_with("https://") || q.starts_with("http://") {
        if let Some(known) = db::accounts::by_uri(&state.db, q).await? {
            found.accounts.push(known);
            return Ok(found);
        }
        // Post ids are not secret (a public reply names its parent's): what is found is only
        // what the searcher may see.
        if let Some(id) = resolve::local_status_id(state, q).map(str::to_owned) {
            let status = db::statuses::get(&state.db, &id).await?;
            let visible = statuses::only_visible(state, status.into_iter().collect(), me).await?;
            found.statuses = statuses::hydrate(state, visible, me).await?;
            return Ok(found);
        }
        if !may_fetch {
            let status = db::statuses::get_by_uri(&state.db, q).await?;
            let visible = statuses::only_visible(state, status.into_iter().collect(), me).await?;
            found.statuses = statuses::hydrate(state, visible, me).await?;
            return Ok(found);
        }
        // A post first (the common case: a link someone shared), else an actor.
        match resolve::post(state, q).await {
            Ok(status) => {
                let visible = statuses::only_visible(state, vec![status], me).await?;
                found.statuses = statuses::hydrate(state, visible, me).await?;
            }
            Err(_) => {
                if let Ok(account) = resolve::actor(state, q).await {
                    found.accounts.push(account);
                }
            }
        }
        return Ok(found);
    }
    let address = q.trim_start_matches('@');
    if let Some((name, host)) = address.split_once('@') {
        let host = host.to_ascii_lowercase();
        if host == resolve::own_host(state) {
            if let Some(local) = db::accounts::by_username(&state.db, &name.to_ascii_lowercase()).await? {
                found.accounts.push(local);
            }
            return Ok(found);
        }
        if let Some(known) = db::accounts::remote_by_acct(&state.db, name, &host).await? {
            found.accounts.push(known);
        } else if may_fetch {
            match resolve::webfinger(state, address).await {
                Ok(account) => found.accounts.push(account),
                Err(e) if e.kind == crate::error::Kind::Forbidden => return Err(e),
                Err(e) => tracing::info!(error = %e, address, "search could not resolve"),
            }
        }
        return Ok(found);
    }
    if let Ok(name) = crate::domain::account::Username::parse(address)
        && let Some(local) = db::accounts::by_username(&state.db, &name.key()).await?
    {
        found.accounts.push(local);
    }
    Ok(found)
}

/// The replies under a status (and the chain above it), visible to `me`.
pub async fn context(
    state: &AppState,
    status_id: &str,
    me: Option<&Account>,
) -> Result<(Vec<Hydrated>, Vec<Hydrated>)> {
    let (status, _, _) = statuses::fetch(state, status_id, me).await?;
    let mut ancestors = Vec::new();
    let mut cursor = status.in_reply_to_id.clone();
    while let Some(id) = cursor.take() {
        if ancestors.len() >= 40 {
            break;
        }
        let Some(parent) = db::statuses::get(&state.db, &id).await? else {
            break;
        };
        if !statuses::may_see(state, &parent, me).await? {
            break;
        }
        cursor = parent.in_reply_to_id.clone();
        ancestors.push(parent);
    }
    ancestors.reverse();
    let replies =
        statuses::only_visible(state, db::statuses::replies(&state.db, &status.id).await?, me).await?;
    Ok((
        statuses::hydrate(state, ancestors, me).await?,
        statuses::hydrate(state, replies, me).await?,
    ))
}

/// Normalises an admin's domain input (a bare host, or a URL).
pub fn domain_of(input: &str) -> Result<String> {
    let input = input.trim();
    let host = if input.contains("://") {
        parse::host(input)
    } else {
        parse::host(&format!("https://{input}"))
    };
    host.filter(|h| !h.is_empty())
        .ok_or_else(|| Error::unprocessable(format!("{input:?} is not a domain")))
}

/// Blocks or mutes an account (or lifts it). A block ends follows both ways and tells the
/// account's server; a mute only hides them from the one who muted.
pub async fn shun(
    state: &AppState,
    me: &Account,
    target_id: &str,
    kind: Shun,
    undo: bool,
) -> Result<Relationship> {
    let target = account(state, target_id).await?;
    if target.id == me.id {
        return Err(Error::unprocessable("you cannot block or mute yourself"));
    }
    let changed = if undo {
        db::moderation::unshun(&state.db, &me.id, &target.id, kind).await?
    } else {
        db::moderation::shun(&state.db, &me.id, &target.id, kind).await?
    };
    if changed && kind == Shun::Block {
        outbox::block(state, me, &target, undo).await?;
    }
    relationship(state, me, &target.id).await
}

/// The accounts waiting for `me` to answer their follow request.
pub async fn follow_requests(state: &AppState, me: &Account) -> Result<Vec<Account>> {
    let mut out = Vec::new();
    for (_, follower_id) in db::moderation::follow_requests(&state.db, &me.id).await? {
        if let Some(a) = db::accounts::by_id(&state.db, &follower_id).await? {
            out.push(a);
        }
    }
    Ok(out)
}

/// Answers a follow request: accepted, or refused (and forgotten). A remote follower's server
/// is told either way.
pub async fn answer_request(
    state: &AppState,
    me: &Account,
    follower_id: &str,
    accept: bool,
) -> Result<Relationship> {
    let follow = db::federation::get_follow(&state.db, follower_id, &me.id)
        .await?
        .filter(|f| !f.accepted)
        .ok_or_else(|| Error::not_found("follow request"))?;
    let follower = account(state, follower_id).await?;
    if accept {
        db::federation::accept_follow(&state.db, &follow.id).await?;
    } else {
        db::federation::unfollow(&state.db, follower_id, &me.id).await?;
    }
    if let Some(remote) = follower.remote.as_ref() {
        let me_uri = crate::domain::account::person_id(state.config.public_url(), &me.username);
        let original = serde_json::json!({
            "id": follow.uri.clone().unwrap_or_else(|| format!("{}#follows/{}", remote.uri, follow.id)),
            "type": "Follow",
            "actor": remote.uri,
            "object": me_uri,
        });
        outbox::answer_follow(state, me, &follower, original, accept).await?;
    }
    relationship(state, me, follower_id).await
}

pub async fn set_locked(state: &AppState, me: &Account, locked: bool) -> Result<Account> {
    db::moderation::set_locked(&state.db, &me.id, locked).await?;
    account(state, &me.id).await
}

/// A report about an account and some of its posts, for this instance's admins; forwarded
/// (anonymously, from the instance) to the account's own server when asked.
pub async fn report(
    state: &AppState,
    me: &Account,
    target_id: &str,
    status_ids: Vec<String>,
    comment: String,
    forward: bool,
) -> Result<db::moderation::Report> {
    let target = account(state, target_id).await?;
    let mut uris = Vec::new();
    let mut kept = Vec::new();
    for id in status_ids.into_iter().take(20) {
        let status = db::statuses::get(&state.db, &id)
            .await?
            .filter(|s| s.account_id == target.id)
            .ok_or_else(|| Error::unprocessable(format!("status {id} is not one of theirs")))?;
        uris.push(status.uri.clone().unwrap_or_else(|| {
            crate::federation::objects::status_uri(state.config.public_url(), &target.username, &status.id)
        }));
        kept.push(status.id);
    }
    let comment: String = comment.chars().take(1000).collect();
    let report = db::moderation::Report {
        id: uuid::Uuid::now_v7().to_string(),
        account_id: me.id.clone(),
        target_id: target.id.clone(),
        status_ids: kept,
        comment: comment.clone(),
        forwarded: forward && !target.is_local(),
        created_at: db::now_ms(),
    };
    db::moderation::insert_report(&state.db, &report, None).await?;
    db::notifications::notify_admins(&state.db, &me.id, "admin.report", Some(&report.id)).await?;
    if report.forwarded {
        outbox::flag(state, &target, uris, &comment, &report.id).await?;
    }
    Ok(report)
}

/// A notification with what it is about, ready to show.
#[derive(Clone)]
pub struct Told {
    pub notification: db::notifications::Notification,
    pub from: Account,
    pub status: Option<Hydrated>,
    pub report: Option<db::moderation::Report>,
}

/// An account's notifications, each with its sender and post (left out when the post is no
/// longer one it may see) or report (admins only).
pub async fn notifications(
    state: &AppState,
    me: &Account,
    filter: &db::notifications::Filter,
) -> Result<Vec<Told>> {
    let rows = db::notifications::list(&state.db, &me.id, filter).await?;
    let mut out = Vec::with_capacity(rows.len());
    for notification in rows {
        if let Some(told) = told(state, me, notification).await? {
            out.push(told);
        }
    }
    Ok(out)
}

pub async fn notification(state: &AppState, me: &Account, id: &str) -> Result<Told> {
    let found = db::notifications::get(&state.db, &me.id, id)
        .await?
        .ok_or_else(|| Error::not_found("notification"))?;
    told(state, me, found)
        .await?
        .ok_or_else(|| Error::not_found("notification"))
}

async fn told(
    state: &AppState,
    me: &Account,
    notification: db::notifications::Notification,
) -> Result<Option<Told>> {
    let Some(from) = db::accounts::by_id(&state.db, &notification.from_account_id).await? else {
        return Ok(None);
    };
    let status = match &notification.status_id {
        Some(id) => match db::statuses::get(&state.db, id).await? {
            Some(s) if statuses::may_see(state, &s, Some(me)).await? => {
                statuses::hydrate(state, vec![s], Some(me)).await?.pop()
            }
            _ => return Ok(None),
        },
        None => None,
    };
    let report = match &notification.report_id {
        Some(id) if me.is_admin => db::moderation::report(&state.db, id).await?.map(|(r, _, _)| r),
        Some(_) => return Ok(None),
        None => None,
    };
    Ok(Some(Told {
        notification,
        from,
        status,
        report,
    }))
}
