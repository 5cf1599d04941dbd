//! Receiving: a POST to an inbox is verified at the door (digest before parsing, signature by
//! the sender's key, fetched and cached, refetched once in case it rotated; the key's owner must
//! be the activity's actor), stored, and acknowledged; a job then applies it. The activity id is
//! unique in storage, so the same activity twice changes nothing.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    db::{self, moderation::Shun},
    domain::{account::Account, status::Status},
    error::{Error, Kind, Result},
    federation::{
        outbox,
        parse::{self, id_of, str_of, type_of},
        resolve,
    },
    jobs::{JobError, JobHandler, JobRun},
    net::{rfc9421, signatures},
    state::AppState,
};

pub const PROCESS: &str = "federation.inbox";

#[derive(Serialize, Deserialize)]
pub struct ProcessPayload {
    pub uri: String,
}

fn unauthorized(message: impl Into<String>) -> Error {
    Error::new(Kind::Unauthorized, "invalid_signature", message)
}

/// The request as the door sees it.
pub struct Incoming<'a> {
    pub method: &'a str,
    /// Path and query, as signed by draft-cavage.
    pub path: &'a str,
    /// The full URI, as RFC 9421 signs it.
    pub target_uri: String,
    /// Lowercase names.
    pub headers: HashMap<String, String>,
    pub body: &'a [u8],
}

fn now_seconds() -> i64 {
    db::now_ms() / 1000
}

/// Which key signed the request, and how to check it.
enum Scheme {
    Cavage(String),
    Rfc9421(rfc9421::Signed),
}

impl Scheme {
    fn key_id(&self) -> &str {
        match self {
            Scheme::Cavage(k) => k,
            Scheme::Rfc9421(s) => &s.key_id,
        }
    }
}

async fn check(request: &Incoming<'_>, scheme: &Scheme, public_key_pem: &str) -> Result<()> {
    let (method, path, headers, body) = (
        request.method.to_owned(),
        request.path.to_owned(),
        request.headers.clone(),
        request.body.to_vec(),
    );
    let pem = public_key_pem.to_owned();
    let signed = match scheme {
        Scheme::Rfc9421(s) => Some(rfc9421::Signed {
            label: s.label.clone(),
            key_id: s.key_id.clone(),
            components: s.components.clone(),
            created: s.created,
            expires: s.expires,
            alg: s.alg.clone(),
            signature: s.signature.clone(),
            signature_base: s.signature_base.clone(),
        }),
        Scheme::Cavage(_) => None,
    };
    // RSA verification is CPU work: off the async runtime.
    tokio::task::spawn_blocking(move || match signed {
        Some(signed) => rfc9421::verify(
            &signed,
            Some(&body),
            &headers,
            &pem,
            now_seconds(),
            signatures::MAX_SKEW_SECONDS,
        )
        .map(|_| ()),
        None => signatures::verify(&method, &path, &headers, &body, &pem, now_seconds()).map(|_| ()),
    })
    .await
    .map_err(|e| Error::internal("verification task failed").with_source(e))?
}

/// The actor that owns a key id: cached, else fetched. A key id is usually `actor#main-key`;
/// GoToSocial's `…/main-key` is a document of its own that names its owner.
async fn key_owner(state: &AppState, key_id: &str, refresh: bool) -> Result<Account> {
    if !refresh && let Some(known) = db::accounts::by_key_id(&state.db, key_id).await? {
        return Ok(known);
    }
    let actor_url = key_id.split('#').next().unwrap_or(key_id);
    let account = match resolve::refresh_actor(state, actor_url).await {
        Ok(account) => account,
        Err(first) => {
            let owner = actor_url
                .strip_suffix("/main-key")
                .or_else(|| actor_url.strip_suffix("/publickey"))
                .ok_or(first)?;
            resolve::refresh_actor(state, owner).await?
        }
    };
    match account.remote.as_ref() {
        Some(remote) if remote.key_id == key_id => Ok(account),
        _ => Err(unauthorized("the key is not its owner's current key")),
    }
}

/// Verifies and stores an incoming activity. Ok(false): already received (nothing changes).
pub async fn receive(state: &AppState, request: Incoming<'_>) -> Result<bool> {
    let scheme = if rfc9421::present(&request.headers) {
        Scheme::Rfc9421(rfc9421::parse(
            request.method,
            &request.target_uri,
            &request.headers,
        )?)
    } else {
        let header = request
            .headers
            .get("signature")
            .ok_or_else(|| unauthorized("the request is not signed"))?;
        Scheme::Cavage(signatures::parse(header)?.key_id)
    };
    // The digest is checked before the key is even fetched: a forged body costs us nothing, and
    // a key is refetched below only when the signature, not the body, failed.
    match &scheme {
        Scheme::Cavage(_) => {
            let sent = request
                .headers
                .get("digest")
                .ok_or_else(|| unauthorized("no Digest header"))?;
            let ours = signatures::digest(request.body);
            if !sent.split(',').any(|d| d.trim() == ours) {
                return Err(unauthorized("the body does not match its Digest"));
            }
        }
        Scheme::Rfc9421(signed) => rfc9421::check_body(signed, Some(request.body), &request.headers)?,
    }
    // draft-cavage signs the Host the sender addressed: a request signed for another server
    // (taken from its inbox) must not be accepted here within the Date window. RFC 9421's
    // @authority is checked against our own URL by construction of `target_uri`.
    if let Scheme::Cavage(_) = scheme {
        let ours = url::Url::parse(state.config.public_url())
            .map(|u| crate::net::client::authority(&u))
            .unwrap_or_default();
        let sent = request.headers.get("host").map(|h| h.trim()).unwrap_or_default();
        if !sent.eq_ignore_ascii_case(&ours) {
            return Err(unauthorized(format!(
                "the request was signed for {sent:?}, not for this server ({ours})"
            )));
        }
    }
    let key_id = scheme.key_id().to_owned();
    resolve::ensure_allowed(state, &key_id).await?;
    let mut signer = key_owner(state, &key_id, false).await.map_err(|e| match e.kind {
        Kind::Forbidden => e,
        _ => unauthorized(format!("the signing key could not be fetched: {}", e.message)),
    })?;
    if check(&request, &scheme, &signer.public_key_pem).await.is_err() {
        // The key may have rotated since we cached it: fetch it once more.
        signer = key_owner(state, &key_id, true)
            .await
            .map_err(|e| unauthorized(format!("the signing key could not be fetched: {}", e.message)))?;
        check(&request, &scheme, &signer.public_key_pem).await?;
    }
    let activity: Value = serde_json::from_slice(request.body)
        .map_err(|e| Error::bad_request(format!("the body is not JSON: {e}")))?;
    let signer_uri = signer.remote.as_ref().map(|r| r.uri.clone()).unwrap_or_default();
    let actor = activity.get("actor").and_then(id_of).unwrap_or_default();
    if actor != signer_uri {
        // Someone else's activity, passed on (a reply forwarded to a thread's followers): its
        // object will be fetched from where it lives rather than trusted as embedded.
        let relayable = matches!(type_of(&activity), "Create" | "Update" | "Announce");
        if !relayable
            || !parse::same_host(actor, &signer_uri) && activity.get("object").and_then(id_of).is_none()
        {
            return Err(unauthorized("the signer is not the activity's actor"));
        }
    }
    resolve::ensure_allowed(state, actor).await?;
    // De-duplication is by id, but an id may name any host: one a server could claim in advance
    // for another server's predictable id (`…#delete`) would make the real one a "repeat". So an
    // id counts as itself only from a signer on its host; any other is keyed by signer and id.
    let uri = match str_of(&activity, "id") {
        Some(id) if parse::same_host(id, &signer_uri) => id.to_owned(),
        Some(id) => format!("{signer_uri} relayed {id}"),
        None => format!("{signer_uri}#anonymous/{}", signatures::digest(request.body)),
    };
    let job = state
        .queue
        .prepare(PROCESS, &ProcessPayload { uri: uri.clone() })?;
    let fresh =
        db::federation::store_incoming(&state.db, &uri, &signer_uri, &activity.to_string(), &job).await?;
    if fresh {
        state.queue.wake();
    }
    // A server that talks to us is alive: its parked deliveries can go.
    if let Some(domain) = parse::host(&signer_uri)
        && db::federation::peer_succeeded(&state.db, &domain).await?
    {
        db::federation::wake_deliveries(&state.db, outbox::DELIVER, &domain).await?;
        state.queue.wake();
    }
    Ok(fresh)
}

/// Applies stored activities.
pub struct Process {
    pub state: AppState,
}

#[async_trait::async_trait]
impl JobHandler for Process {
    async fn run(&self, job: &JobRun) -> Result<(), JobError> {
        let payload: ProcessPayload = job.payload()?;
        let Some((signer, raw)) = db::federation::incoming(&self.state.db, &payload.uri).await? else {
            return Ok(());
        };
        let activity: Value = serde_json::from_str(&raw)
            .map_err(|e| JobError::permanent(format!("stored activity unreadable: {e}")))?;
        apply(&self.state, &signer, &activity)
            .await
            .map_err(JobError::from)
    }
}

async fn apply(state: &AppState, signer: &str, activity: &Value) -> Result<()> {
    let actor_uri = activity.get("actor").and_then(id_of).unwrap_or_default();
    let trusted = actor_uri == signer;
    let actor = resolve::actor(state, actor_uri).await?;
    if actor.is_local() {
        return Ok(());
    }
    let object = activity.get("object").cloned().unwrap_or(Value::Null);
    match (type_of(activity), trusted) {
        ("Follow", true) => on_follow(state, &actor, activity, &object).await,
        ("Accept", true) => on_answer(state, &actor, &object, true).await,
        ("Reject", true) => on_answer(state, &actor, &object, false).await,
        ("Undo", true) => on_undo(state, &actor, &object).await,
        ("Create" | "Update", true) if type_of(&object) == "CacheFile" => {
            crate::mirror::announce::on_cache_file(state, &actor, &object).await
        }
        ("Create" | "Update", _) => {
            on_post(state, &actor, &object, trusted, type_of(activity) == "Update").await
        }
        ("Delete", true) => on_delete(state, &actor, &object).await,
        ("Like", true) => on_like(state, &actor, &object, activity).await,
        ("Announce", _) => on_announce(state, &actor, &object, activity, trusted).await,
        ("Block", true) => on_block(state, &actor, &object).await,
        ("Flag", true) => on_flag(state, &actor, &object, activity).await,
        (other, _) => {
            tracing::debug!(kind = other, "activity ignored");
            Ok(())
        }
    }
}

async fn on_follow(state: &AppState, follower: &Account, activity: &Value, object: &Value) -> Result<()> {
    if id_of(object) == Some(crate::mirror::peers::instance_actor_id(state).as_str()) {
        return crate::mirror::peers::on_follow(state, follower, activity).await;
    }
    let Some(target) = resolve::local_actor(state, id_of(object).unwrap_or_default()).await? else {
        return Ok(());
    };
    if db::moderation::shuns(&state.db, &target.id, &follower.id, Shun::Block).await? {
        return outbox::answer_follow(state, &target, follower, activity.clone(), false).await;
    }
    let id = str_of(activity, "id");
    let follow = db::federation::follow(&state.db, &follower.id, &target.id, !target.locked, id).await?;
    let kind = if follow.accepted {
        "follow"
    } else {
        "follow_request"
    };
    db::notifications::about(&state.db, &target.id, &follower.id, kind, None).await?;
    if follow.accepted {
        outbox::answer_follow(state, &target, follower, activity.clone(), true).await?;
    }
    Ok(())
}

/// A remote account blocked one of ours: no follows either way any more.
async fn on_block(state: &AppState, actor: &Account, object: &Value) -> Result<()> {
    if let Some(local) = resolve::local_actor(state, id_of(object).unwrap_or_default()).await? {
        db::federation::unfollow(&state.db, &actor.id, &local.id).await?;
        db::federation::unfollow(&state.db, &local.id, &actor.id).await?;
    }
    Ok(())
}

/// A report from another server about accounts and posts of ours, for our admins.
async fn on_flag(state: &AppState, actor: &Account, object: &Value, activity: &Value) -> Result<()> {
    let mut target = None;
    let mut statuses = Vec::new();
    for item in parse::many(object).into_iter().filter_map(id_of) {
        if let Some(account) = resolve::local_actor(state, item).await? {
            target.get_or_insert(account);
        } else if let Some(id) = resolve::local_status_id(state, item)
            && let Some(status) = db::statuses::get(&state.db, id).await?
        {
            if target.is_none() {
                target = db::accounts::by_id(&state.db, &status.account_id).await?;
            }
            statuses.push(status.id);
        }
    }
    let Some(target) = target else {
        return Ok(());
    };
    let report = db::moderation::Report {
        id: uuid::Uuid::now_v7().to_string(),
        account_id: actor.id.clone(),
        target_id: target.id,
        status_ids: statuses,
        comment: str_of(activity, "content")
            .unwrap_or("")
            .chars()
            .take(1000)
            .collect(),
        forwarded: false,
        created_at: db::now_ms(),
    };
    if db::moderation::insert_report(&state.db, &report, str_of(activity, "id")).await? {
        db::notifications::notify_admins(&state.db, &actor.id, "admin.report", Some(&report.id)).await?;
    }
    Ok(())
}

async fn on_answer(state: &AppState, actor: &Account, object: &Value, accepted: bool) -> Result<()> {
    let Some(uri) = id_of(object) else {
        return Ok(());
    };
    let Some(follow) = db::federation::follow_by_uri(&state.db, uri).await? else {
        // Perhaps our instance actor's follow of theirs (mirroring): only they may accept it.
        if accepted && let Some(remote) = actor.remote.as_ref() {
            db::mirrors::accept_out(&state.db, uri, &remote.uri).await?;
        }
        return Ok(());
    };
    // Only the account that was asked can answer.
    if follow.target_id != actor.id {
        return Ok(());
    }
    if accepted {
        db::federation::accept_follow(&state.db, &follow.id).await?;
    } else {
        db::federation::unfollow(&state.db, &follow.account_id, &follow.target_id).await?;
    }
    Ok(())
}

async fn on_undo(state: &AppState, actor: &Account, inner: &Value) -> Result<()> {
    let target = inner.get("object").and_then(id_of).unwrap_or_default();
    match type_of(inner) {
        "Follow" => {
            if let Some(local) = resolve::local_actor(state, target).await? {
                db::federation::unfollow(&state.db, &actor.id, &local.id).await?;
            } else if let Some(remote) = actor.remote.as_ref()
                && target == crate::mirror::peers::instance_actor_id(state)
            {
                db::mirrors::remove_follow(&state.db, &remote.uri, db::mirrors::Direction::In).await?;
            }
        }
        "CacheFile" => crate::mirror::announce::on_undo(state, actor, inner).await?,
        // PeerTube undoes the Create that carried the CacheFile.
        "Create" if inner.get("object").is_some_and(|o| type_of(o) == "CacheFile") => {
            let object = inner.get("object").cloned().unwrap_or(Value::Null);
            crate::mirror::announce::on_undo(state, actor, &object).await?
        }
        "Block" => {
            // Nothing to restore: follows ended with the block and are asked for anew.
        }
        "Like" => {
            if let Some(status) = known_status(state, target).await? {
                db::federation::unfavourite(&state.db, &actor.id, &status.id).await?;
            }
        }
        "Announce" => {
            if let Some(status) = known_status(state, target).await?
                && let Some(boost) = db::statuses::reblog_by(&state.db, &actor.id, &status.id).await?
            {
                db::statuses::delete_remote(&state.db, &boost.id).await?;
                gone(state, &boost).await;
            }
        }
        _ => {}
    }
    Ok(())
}

async fn known_status(state: &AppState, uri: &str) -> Result<Option<Status>> {
    match resolve::local_status_id(state, uri) {
        Some(id) => db::statuses::get(&state.db, id).await,
        None => db::statuses::get_by_uri(&state.db, uri).await,
    }
}

/// Whether a post concerns this instance: someone here follows its author, it replies to a
/// post we have, or it is addressed to someone here.
async fn relevant(state: &AppState, author: &Account, object: &Value) -> Result<bool> {
    if db::federation::has_local_follower(&state.db, &author.id).await? {
        return Ok(true);
    }
    if let Some(remote) = author.remote.as_ref()
        && crate::mirror::peers::mirrored_host(state, &remote.uri).await?
    {
        return Ok(true);
    }
    if let Some(parent) = object.get("inReplyTo").and_then(id_of)
        && known_status(state, parent).await?.is_some()
    {
        return Ok(true);
    }
    // Addressed to, or mentioning, someone here.
    let base = state.config.public_url();
    let addressed = ["to", "cc"].iter().any(|key| {
        parse::many(object.get(*key).unwrap_or(&Value::Null))
            .into_iter()
            .filter_map(id_of)
            .any(|a| a.starts_with(base))
    });
    let mentioned = parse::many(object.get("tag").unwrap_or(&Value::Null))
        .into_iter()
        .filter(|t| type_of(t) == "Mention")
        .filter_map(|t| parse::str_of(t, "href"))
        .any(|href| href.starts_with(base));
    Ok(addressed || mentioned)
}

async fn on_post(
    state: &AppState,
    actor: &Account,
    object: &Value,
    trusted: bool,
    update: bool,
) -> Result<()> {
    let Some(remote) = actor.remote.as_ref() else {
        return Ok(());
    };
    let uri = id_of(object).unwrap_or_default();
    if uri.is_empty() {
        return Ok(());
    }
    // Embedded objects are believed only from their own server's signed actor; anything else
    // is fetched from its origin.
    let embedded = object.is_object() && trusted && parse::same_host(uri, &remote.uri);
    let parsed = if embedded {
        parse::post(object, &remote.uri)
    } else {
        resolve::ensure_allowed(state, uri).await?;
        let signer = resolve::instance_signer(state).await?;
        let (from, fetched) = state.http.get_json(uri, Some(&signer)).await?;
        parse::post(&fetched, from.as_str())
    };
    let parsed = match parsed {
        Ok(p) => p,
        // A type we do not show (a poll, an event, an actor Update): nothing to do.
        Err(e) if e.kind == Kind::Unprocessable => {
            if update && parse::ACTOR_TYPES.contains(&type_of(object)) && uri == remote.uri {
                resolve::refresh_actor(state, uri).await?;
            }
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    if parsed.author != remote.uri && trusted {
        return Ok(());
    }
    let known = db::statuses::get_by_uri(&state.db, &parsed.uri).await?;
    if update && known.is_none() {
        return Ok(());
    }
    let author = resolve::actor(state, &parsed.author).await?;
    if known.is_none() && !relevant(state, &author, object).await? {
        return Ok(());
    }
    let is_video = parsed.media.iter().any(|m| m.hls_url.is_some());
    let views = parsed.views;
    let (stored, edited) = resolve::store_post(state, parsed).await?;
    if known.is_none() {
        db::notifications::for_new_post(&state.db, &stored.id).await?;
        let status_id = stored.id.clone();
        db::events::emit(&state.db, db::events::Event::Posted { status_id }).await;
    } else if edited {
        db::notifications::for_edit(&state.db, &stored.id).await?;
        let status_id = stored.id.clone();
        db::events::emit(&state.db, db::events::Event::Edited { status_id }).await;
    }
    if let Some(views) = views {
        db::statuses::set_remote_views(&state.db, &stored.id, views).await?;
    }
    // A public video from an instance we mirror: copy it.
    let author_uri = author.remote.as_ref().map(|r| r.uri.clone()).unwrap_or_default();
    if known.is_none()
        && is_video
        && stored.visibility == crate::domain::status::Visibility::Public
        && crate::mirror::peers::mirrored_host(state, &author_uri).await?
    {
        // The strategies decide whether it is copied, and which copy gives way for it.
        crate::mirror::strategy::schedule(state).await?;
    }
    Ok(())
}

async fn on_delete(state: &AppState, actor: &Account, object: &Value) -> Result<()> {
    let Some(uri) = id_of(object) else {
        return Ok(());
    };
    if actor.remote.as_ref().is_some_and(|r| r.uri == uri) {
        // The actor itself is gone: so is everything of theirs.
        return db::accounts::delete_remote(&state.db, &actor.id).await;
    }
    if let Some(status) = db::statuses::get_by_uri(&state.db, uri).await?
        && status.account_id == actor.id
    {
        db::statuses::delete_remote(&state.db, &status.id).await?;
        gone(state, &status).await;
    }
    Ok(())
}

/// Tells live listeners a post is gone.
async fn gone(state: &AppState, status: &Status) {
    let event = db::events::Event::Deleted {
        status_id: status.id.clone(),
        author_id: status.account_id.clone(),
        public: status.visibility == crate::domain::status::Visibility::Public,
    };
    db::events::emit(&state.db, event).await;
}

async fn on_like(state: &AppState, actor: &Account, object: &Value, activity: &Value) -> Result<()> {
    let Some(uri) = id_of(object) else {
        return Ok(());
    };
    if let Some(id) = resolve::local_status_id(state, uri)
        && let Some(status) = db::statuses::get(&state.db, id).await?
    {
        db::federation::favourite(&state.db, &actor.id, &status.id, str_of(activity, "id")).await?;
        db::notifications::about(
            &state.db,
            &status.account_id,
            &actor.id,
            "favourite",
            Some(&status.id),
        )
        .await?;
    }
    Ok(())
}

async fn on_announce(
    state: &AppState,
    actor: &Account,
    object: &Value,
    activity: &Value,
    trusted: bool,
) -> Result<()> {
    let Some(uri) = id_of(object) else {
        return Ok(());
    };
    if !trusted {
        return Ok(());
    }
    let status = match known_status(state, uri).await? {
        Some(status) => status,
        // A boost of something new is worth fetching only for someone here who follows the booster.
        None if db::federation::has_local_follower(&state.db, &actor.id).await? => {
            resolve::post(state, uri).await?
        }
        None => return Ok(()),
    };
    // Only what anyone may see can be boosted (Mastodon refuses the rest too): a boost of a
    // followers-only post would put it before the booster's followers.
    if !matches!(
        status.visibility,
        crate::domain::status::Visibility::Public | crate::domain::status::Visibility::Unlisted
    ) {
        tracing::info!(booster = %actor.acct(), status = %status.id, "ignored a boost of a post that is not public");
        return Ok(());
    }
    if db::statuses::reblog_by(&state.db, &actor.id, &status.id)
        .await?
        .is_some()
    {
        return Ok(());
    }
    let now = db::now_ms();
    let boost = Status {
        id: uuid::Uuid::now_v7().to_string(),
        account_id: actor.id.clone(),
        text: String::new(),
        visibility: parse::visibility(activity).narrower(status.visibility),
        sensitive: false,
        spoiler_text: String::new(),
        in_reply_to_id: None,
        published_at: Some(now),
        created_at: now,
        uri: Some(str_of(activity, "id").unwrap_or(uri).to_owned()),
        url: None,
        reblog_of_id: Some(status.id.clone()),
        title: None,
        edited_at: None,
        language: None,
        app_id: None,
    };
    let (boost_id, _) = db::statuses::upsert_remote(&state.db, &boost, &[], Default::default()).await?;
    db::notifications::about(
        &state.db,
        &status.account_id,
        &actor.id,
        "reblog",
        Some(&status.id),
    )
    .await?;
    db::events::emit(&state.db, db::events::Event::Posted { status_id: boost_id }).await;
    Ok(())
}
