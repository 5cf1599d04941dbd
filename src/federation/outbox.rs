//! Sending: every activity is stored first with one delivery job per target inbox (shared
//! inboxes once), in one transaction; the delivery job signs at send time, retries with backoff,
//! gives up on answers that will never change, and waits without spending attempts while the
//! target server is known to be dead.

use std::{
    collections::{BTreeSet, HashMap},
    sync::{Arc, Mutex},
    time::Duration,
};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::Semaphore;

use super::{
    objects::{self, PUBLIC},
    parse,
    resolve::{self, account_signer, instance_signer},
};
use crate::{
    db::{self, jobs::NewJob},
    domain::{account::Account, status::Visibility},
    error::{Error, Result},
    jobs::{JobError, JobHandler, JobRun, Queue},
    state::AppState,
};

pub const PUBLISH: &str = "federation.publish";
pub const DELIVER: &str = "federation.deliver";

#[derive(Serialize, Deserialize)]
pub struct PublishPayload {
    pub status_id: String,
    /// An edit of a post already sent: `Update` instead of `Create`.
    #[serde(default)]
    pub edit: bool,
}

#[derive(Serialize, Deserialize)]
pub struct DeliverPayload {
    pub activity_id: String,
    pub inbox: String,
    /// The target server, so its parked deliveries can be found when it comes back.
    pub domain: String,
}

/// The job that federates a status once it is published.
pub fn publish_job(queue: &Queue, status_id: &str) -> Result<NewJob> {
    queue.prepare(
        PUBLISH,
        &PublishPayload {
            status_id: status_id.to_owned(),
            edit: false,
        },
    )
}

/// The job that sends an edited post's `Update` to everyone who got its `Create`.
pub fn edit_job(queue: &Queue, status_id: &str) -> Result<NewJob> {
    queue.prepare(
        PUBLISH,
        &PublishPayload {
            status_id: status_id.to_owned(),
            edit: true,
        },
    )
}

/// Stores `activity` and queues its deliveries. `sender` None is the instance actor.
pub async fn send(
    state: &AppState,
    sender: Option<&Account>,
    activity: &Value,
    inboxes: Vec<String>,
) -> Result<usize> {
    let own = resolve::own_host(state);
    let mut targets = BTreeSet::new();
    for inbox in inboxes {
        let Some(domain) = parse::host(&inbox) else {
            continue;
        };
        if domain == own || resolve::blocked(state, &domain).await? {
            continue;
        }
        targets.insert((domain, inbox));
    }
    if targets.is_empty() {
        return Ok(0);
    }
    let id = uuid::Uuid::now_v7().to_string();
    let attempts = state.config.federation.delivery_attempts.max(1);
    let jobs = targets
        .into_iter()
        .map(|(domain, inbox)| {
            let mut job = state.queue.prepare(
                DELIVER,
                &DeliverPayload {
                    activity_id: id.clone(),
                    inbox,
                    domain,
                },
            )?;
            job.max_attempts = attempts;
            Ok(job)
        })
        .collect::<Result<Vec<_>>>()?;
    db::federation::store_outgoing(
        &state.db,
        &id,
        sender.map(|s| s.id.as_str()),
        &activity.to_string(),
        &jobs,
    )
    .await?;
    state.queue.wake();
    Ok(jobs.len())
}

fn actor_id(state: &AppState, account: &Account) -> String {
    crate::domain::account::person_id(state.config.public_url(), &account.username)
}

fn inbox_of(account: &Account) -> Option<String> {
    account.remote.as_ref().map(|r| r.delivery_inbox().to_owned())
}

/// A status's ActivityPub object, as it is served at its id.
pub async fn status_object(state: &AppState, status_id: &str) -> Result<Option<(Value, Account)>> {
    let Some(status) = db::statuses::get(&state.db, status_id).await? else {
        return Ok(None);
    };
    let Some(author) = db::accounts::by_id(&state.db, &status.account_id).await? else {
        return Ok(None);
    };
    if !author.is_local() || status.reblog_of_id.is_some() {
        return Ok(None);
    }
    let mut media = db::statuses::media_of(&state.db, &[status.id.as_str()]).await?;
    let media = media.remove(&status.id).unwrap_or_default();
    let parent = match &status.in_reply_to_id {
        Some(p) => parent_uri(state, p).await?,
        None => None,
    };
    let url_of = |key: &str| state.file_url(key);
    let mut object = objects::post_object(
        state.config.public_url(),
        &status,
        &author,
        &media,
        parent,
        &url_of,
    );
    let base = state.config.public_url();
    let mut mentioned = db::conversation::mentions_of(&state.db, &[status.id.as_str()]).await?;
    let mentioned: Vec<objects::Mentioned> = mentioned
        .remove(&status.id)
        .unwrap_or_default()
        .iter()
        .map(|a| objects::Mentioned {
            id: a
                .remote
                .as_ref()
                .map(|r| r.uri.clone())
                .unwrap_or_else(|| crate::domain::account::person_id(base, &a.username)),
            page: a
                .remote
                .as_ref()
                .map(|r| r.profile_url.clone().unwrap_or_else(|| r.uri.clone()))
                .unwrap_or_else(|| format!("{base}/@{}", a.username)),
            username: a.username.clone(),
            host: a.domain.clone().unwrap_or_else(|| resolve::own_host(state)),
        })
        .collect();
    let mut tags = db::conversation::tags_of(&state.db, &[status.id.as_str()]).await?;
    let tags = tags.remove(&status.id).unwrap_or_default();
    objects::add_conversation(&mut object, base, &status, &mentioned, &tags);
    if let Some(at) = status.edited_at {
        object["updated"] = serde_json::json!(crate::domain::time::rfc3339(at));
    }
    if let Some(language) = &status.language {
        object["contentMap"] = serde_json::json!({ language.as_str(): object["content"] });
    }
    if let Some(video) = media
        .iter()
        .find(|m| m.kind == crate::domain::media::MediaKind::Video)
    {
        // Plays counted here: what PeerTube's "most viewed" mirrors (and ours) rank by.
        object["views"] = serde_json::json!(db::statuses::views(&state.db, &status.id).await?);
        let copies = db::mirrors::copies(&state.db, &video.id).await?;
        objects::add_mirrors(
            &mut object,
            &copies.into_iter().map(|(_, master)| master).collect::<Vec<_>>(),
        );
    }
    Ok(Some((object, author)))
}

/// The ActivityPub id of the status replied to, local or remote.
pub async fn parent_uri(state: &AppState, parent_id: &str) -> Result<Option<String>> {
    let Some(parent) = db::statuses::get(&state.db, parent_id).await? else {
        return Ok(None);
    };
    if let Some(uri) = parent.uri {
        return Ok(Some(uri));
    }
    let author = db::accounts::by_id(&state.db, &parent.account_id).await?;
    Ok(author.map(|a| objects::status_uri(state.config.public_url(), &a.username, &parent.id)))
}

/// The inboxes a local status goes to: its author's followers (unless direct), and the author
/// of the status it replies to.
async fn audience_inboxes(
    state: &AppState,
    author: &Account,
    status: &crate::domain::status::Status,
) -> Result<Vec<String>> {
    let mut inboxes = Vec::new();
    if status.visibility != Visibility::Direct {
        inboxes.extend(db::federation::follower_inboxes(&state.db, &author.id).await?);
    }
    if let Some(parent) = &status.in_reply_to_id
        && let Some(parent) = db::statuses::get(&state.db, parent).await?
        && let Some(parent_author) = db::accounts::by_id(&state.db, &parent.account_id).await?
        && let Some(inbox) = inbox_of(&parent_author)
    {
        inboxes.push(inbox);
    }
    // Everyone it mentions, whatever its visibility: a direct post reaches exactly them.
    let mut mentioned = db::conversation::mentions_of(&state.db, &[status.id.as_str()]).await?;
    for account in mentioned.remove(&status.id).unwrap_or_default() {
        if let Some(inbox) = inbox_of(&account) {
            inboxes.push(inbox);
        }
    }
    Ok(inboxes)
}

/// Federates a newly published status: `Create` of its Note or Video.
pub struct Publish {
    pub state: AppState,
}

#[async_trait::async_trait]
impl JobHandler for Publish {
    async fn run(&self, job: &JobRun) -> Result<(), JobError> {
        let payload: PublishPayload = job.payload()?;
        let state = &self.state;
        let Some((object, author)) = status_object(state, &payload.status_id).await? else {
            return Ok(());
        };
        let Some(status) = db::statuses::get(&state.db, &payload.status_id).await? else {
            return Ok(());
        };
        let mut inboxes = audience_inboxes(state, &author, &status).await?;
        if status.visibility == Visibility::Public {
            // Instances that follow ours get every public post (as PeerTube does).
            inboxes.extend(db::mirrors::follower_inboxes(&state.db).await?);
        }
        // The people here it concerns hear of it now; other servers tell their own.
        let activity = if payload.edit {
            db::notifications::for_edit(&state.db, &status.id).await?;
            objects::update(object)
        } else {
            db::notifications::for_new_post(&state.db, &status.id).await?;
            objects::create(object)
        };
        send(state, Some(&author), &activity, inboxes).await?;
        let event = if payload.edit {
            db::events::Event::Edited {
                status_id: status.id.clone(),
            }
        } else {
            db::events::Event::Posted {
                status_id: status.id.clone(),
            }
        };
        db::events::emit(&state.db, event).await;
        Ok(())
    }
}

/// Tells followers that a status changed (its video gained a copy, for one).
pub async fn updated(state: &AppState, status_id: &str) -> Result<()> {
    let Some((object, author)) = status_object(state, status_id).await? else {
        return Ok(());
    };
    let Some(status) = db::statuses::get(&state.db, status_id).await? else {
        return Ok(());
    };
    let mut inboxes = audience_inboxes(state, &author, &status).await?;
    if status.visibility == Visibility::Public {
        inboxes.extend(db::mirrors::follower_inboxes(&state.db).await?);
    }
    send(state, Some(&author), &objects::update(object), inboxes).await?;
    Ok(())
}

/// Tells followers (and a replied-to author) that a status is gone.
pub async fn deleted(
    state: &AppState,
    author: &Account,
    status: &crate::domain::status::Status,
) -> Result<()> {
    let uri = objects::status_uri(state.config.public_url(), &author.username, &status.id);
    let actor = actor_id(state, author);
    let inboxes = audience_inboxes(state, author, status).await?;
    let activity = objects::activity(
        "Delete",
        format!("{uri}#delete"),
        &actor,
        objects::tombstone(&uri),
        vec![PUBLIC.into()],
        vec![format!("{actor}/followers")],
    );
    send(state, Some(author), &activity, inboxes).await?;
    Ok(())
}

/// Tells the servers of an account's followers that its profile changed: `Update{Person}`
/// carrying the whole actor, as Mastodon sends it.
pub async fn actor_updated(state: &AppState, account: &Account) -> Result<usize> {
    let base = state.config.public_url();
    let actor = actor_id(state, account);
    let mut person = super::actors::person(base, account, &|key| state.file_url(key));
    if let Some(o) = person.as_object_mut() {
        o.remove("@context");
    }
    let stamp = account.profile.updated_at.unwrap_or_else(db::now_ms);
    let mut activity = objects::activity(
        "Update",
        format!("{actor}#updates/{stamp}"),
        &actor,
        person,
        vec![PUBLIC.into()],
        vec![format!("{actor}/followers")],
    );
    activity["@context"] = super::actors::context();
    let inboxes = db::federation::follower_inboxes(&state.db, &account.id).await?;
    send(state, Some(account), &activity, inboxes).await
}

/// Tells every server that may know the account that it is gone: `Delete{Person}` to all
/// known inboxes, so copies of its posts go everywhere, not only at its followers' servers.
pub async fn actor_deleted(state: &AppState, account: &Account) -> Result<usize> {
    let actor = actor_id(state, account);
    let activity = objects::activity(
        "Delete",
        format!("{actor}#delete"),
        &actor,
        Value::String(actor.clone()),
        vec![PUBLIC.into()],
        vec![],
    );
    let mut inboxes = db::federation::follower_inboxes(&state.db, &account.id).await?;
    inboxes.extend(db::accounts::known_inboxes(&state.db).await?);
    send(state, Some(account), &activity, inboxes).await
}

/// Asks a remote account to be followed.
pub async fn follow(state: &AppState, follower: &Account, target: &Account) -> Result<()> {
    let Some(inbox) = target.remote.as_ref().map(|r| r.inbox_url.clone()) else {
        return Ok(());
    };
    let target_uri = target.remote.as_ref().map(|r| r.uri.clone()).unwrap_or_default();
    let id = format!("{}#follows/{}", actor_id(state, follower), uuid::Uuid::now_v7());
    db::federation::follow(&state.db, &follower.id, &target.id, false, Some(&id)).await?;
    let activity = objects::activity(
        "Follow",
        id,
        &actor_id(state, follower),
        Value::String(target_uri.clone()),
        vec![target_uri],
        vec![],
    );
    send(state, Some(follower), &activity, vec![inbox]).await?;
    Ok(())
}

pub async fn unfollow(state: &AppState, follower: &Account, target: &Account) -> Result<()> {
    let existing = db::federation::get_follow(&state.db, &follower.id, &target.id).await?;
    db::federation::unfollow(&state.db, &follower.id, &target.id).await?;
    let (Some(existing), Some(remote)) = (existing, target.remote.as_ref()) else {
        return Ok(());
    };
    let actor = actor_id(state, follower);
    let follow = objects::activity(
        "Follow",
        existing
            .uri
            .unwrap_or_else(|| format!("{actor}#follows/{}", existing.id)),
        &actor,
        Value::String(remote.uri.clone()),
        vec![],
        vec![],
    );
    let undo = undo(&actor, follow, vec![remote.uri.clone()]);
    send(state, Some(follower), &undo, vec![remote.inbox_url.clone()]).await?;
    Ok(())
}

fn undo(actor: &str, mut inner: Value, to: Vec<String>) -> Value {
    if let Some(o) = inner.as_object_mut() {
        o.remove("@context");
    }
    let id = format!("{}/undo", inner["id"].as_str().unwrap_or(actor));
    objects::activity("Undo", id, actor, inner, to, vec![])
}

/// Answers a remote follow: `Accept` (or `Reject`) echoing their Follow.
pub async fn answer_follow(
    state: &AppState,
    target: &Account,
    follower: &Account,
    follow: Value,
    accept: bool,
) -> Result<()> {
    let Some(inbox) = inbox_of(follower) else {
        return Ok(());
    };
    let actor = actor_id(state, target);
    let mut follow = follow;
    if let Some(o) = follow.as_object_mut() {
        o.remove("@context");
    }
    let follower_uri = follower
        .remote
        .as_ref()
        .map(|r| r.uri.clone())
        .unwrap_or_default();
    let activity = objects::activity(
        if accept { "Accept" } else { "Reject" },
        format!("{actor}#accepts/{}", uuid::Uuid::now_v7()),
        &actor,
        follow,
        vec![follower_uri],
        vec![],
    );
    send(state, Some(target), &activity, vec![inbox]).await?;
    Ok(())
}

/// Tells a remote account it is blocked (or no longer), as Mastodon does, so its server
/// stops showing it our posts.
pub async fn block(state: &AppState, me: &Account, target: &Account, undoing: bool) -> Result<()> {
    let Some(remote) = target.remote.as_ref() else {
        return Ok(());
    };
    let actor = actor_id(state, me);
    let block = objects::activity(
        "Block",
        format!("{actor}#blocks/{}", target.id),
        &actor,
        Value::String(remote.uri.clone()),
        vec![remote.uri.clone()],
        vec![],
    );
    let activity = if undoing {
        undo(&actor, block, vec![remote.uri.clone()])
    } else {
        block
    };
    send(state, Some(me), &activity, vec![remote.inbox_url.clone()]).await?;
    Ok(())
}

/// Forwards a report to the reported account's server, from the instance actor (so the
/// reporter stays anonymous there, as Mastodon does).
pub async fn flag(
    state: &AppState,
    target: &Account,
    status_uris: Vec<String>,
    comment: &str,
    report_id: &str,
) -> Result<()> {
    let Some(remote) = target.remote.as_ref() else {
        return Ok(());
    };
    let actor = format!("{}/actor", state.config.public_url());
    let mut object = vec![Value::String(remote.uri.clone())];
    object.extend(status_uris.into_iter().map(Value::String));
    let mut activity = objects::activity(
        "Flag",
        format!("{actor}#reports/{report_id}"),
        &actor,
        Value::Array(object),
        vec![remote.uri.clone()],
        vec![],
    );
    activity["content"] = Value::String(comment.to_owned());
    send(state, None, &activity, vec![remote.delivery_inbox().to_owned()]).await?;
    Ok(())
}

/// The ActivityPub id and author of any status we know.
async fn status_target(
    state: &AppState,
    status: &crate::domain::status::Status,
) -> Result<(String, Account)> {
    let author = db::accounts::by_id(&state.db, &status.account_id)
        .await?
        .ok_or_else(|| Error::not_found("status"))?;
    let uri = status
        .uri
        .clone()
        .unwrap_or_else(|| objects::status_uri(state.config.public_url(), &author.username, &status.id));
    Ok((uri, author))
}

/// A like (or its undoing) goes to the status's author.
pub async fn like(
    state: &AppState,
    liker: &Account,
    status: &crate::domain::status::Status,
    undoing: bool,
) -> Result<()> {
    let (uri, author) = status_target(state, status).await?;
    let Some(inbox) = inbox_of(&author) else {
        return Ok(());
    };
    let actor = actor_id(state, liker);
    let like = objects::activity(
        "Like",
        format!("{actor}#likes/{}", status.id),
        &actor,
        Value::String(uri),
        vec![author.remote.as_ref().map(|r| r.uri.clone()).unwrap_or_default()],
        vec![],
    );
    let activity = if undoing { undo(&actor, like, vec![]) } else { like };
    send(state, Some(liker), &activity, vec![inbox]).await?;
    Ok(())
}

/// A boost (or its undoing) goes to the booster's followers and the status's author.
pub async fn announce(
    state: &AppState,
    booster: &Account,
    status: &crate::domain::status::Status,
    boost_id: &str,
    undoing: bool,
) -> Result<()> {
    let (uri, author) = status_target(state, status).await?;
    let actor = actor_id(state, booster);
    let mut inboxes = db::federation::follower_inboxes(&state.db, &booster.id).await?;
    inboxes.extend(inbox_of(&author));
    let announce = objects::activity(
        "Announce",
        objects::status_uri(state.config.public_url(), &booster.username, boost_id) + "/activity",
        &actor,
        Value::String(uri),
        vec![PUBLIC.into()],
        vec![format!("{actor}/followers")],
    );
    let activity = if undoing {
        undo(&actor, announce, vec![PUBLIC.into()])
    } else {
        announce
    };
    send(state, Some(booster), &activity, inboxes).await?;
    Ok(())
}

/// Sends one stored activity to one inbox.
pub struct Deliver {
    pub state: AppState,
    /// Per target server, so one slow server cannot hold every worker.
    pub per_host: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl Deliver {
    pub fn new(state: AppState) -> Deliver {
        Deliver {
            state,
            per_host: Mutex::new(HashMap::new()),
        }
    }

    fn gate(&self, domain: &str) -> Arc<Semaphore> {
        let limit = self.state.config.federation.max_deliveries_per_host.max(1);
        match self.per_host.lock() {
            Ok(mut map) => map
                .entry(domain.to_owned())
                .or_insert_with(|| Arc::new(Semaphore::new(limit)))
                .clone(),
            Err(_) => Arc::new(Semaphore::new(limit)),
        }
    }
}

#[async_trait::async_trait]
impl JobHandler for Deliver {
    async fn run(&self, job: &JobRun) -> Result<(), JobError> {
        let payload: DeliverPayload = job.payload()?;
        let state = &self.state;
        let federation = &state.config.federation;
        if resolve::blocked(state, &payload.domain).await? {
            return Err(JobError::permanent(format!("{} is blocked", payload.domain)));
        }
        let retry = Duration::from_secs(federation.dead_host_retry_seconds.max(1));
        if db::federation::peer_dead(&state.db, &payload.domain).await?
            && !db::federation::claim_probe(
                &state.db,
                &payload.domain,
                i64::try_from(retry.as_millis()).unwrap_or(i64::MAX),
            )
            .await?
        {
            // Parked without spending an attempt: one delivery per interval probes the server,
            // and when it (or anything from that server) succeeds, the parked ones go at once.
            return Err(JobError::defer(
                format!("{} is marked dead", payload.domain),
                retry,
            ));
        }
        let Some((sender, activity)) = db::federation::outgoing(&state.db, &payload.activity_id).await?
        else {
            return Err(JobError::permanent("the activity is gone"));
        };
        let signer = match sender {
            Some(id) => {
                let Some(account) = db::accounts::by_id(&state.db, &id).await? else {
                    return Err(JobError::permanent("the sender is gone"));
                };
                account_signer(state, &account).await?
            }
            None => instance_signer(state).await?,
        };
        let gate = self.gate(&payload.domain);
        let _permit = gate
            .acquire()
            .await
            .map_err(|_| JobError::retry("delivery gate closed"))?;
        let outcome = state
            .http
            .post_signed(&payload.inbox, activity.into_bytes(), &signer)
            .await;
        let dead_after_ms =
            i64::try_from(federation.dead_host_after_seconds.saturating_mul(1000)).unwrap_or(i64::MAX);
        match outcome {
            Ok(done) if done.status.is_success() => {
                if db::federation::peer_succeeded(&state.db, &payload.domain).await? {
                    db::federation::wake_deliveries(&state.db, DELIVER, &payload.domain).await?;
                    state.queue.wake();
                }
                Ok(())
            }
            Ok(done) => {
                let status = done.status.as_u16();
                // The server is up and has made up its mind: a 4xx other than "later" will
                // not change by sending the same thing again.
                if (400..500).contains(&status) && status != 408 && status != 429 {
                    db::federation::peer_succeeded(&state.db, &payload.domain).await?;
                    Err(JobError::permanent(format!(
                        "{} refused it: {status}",
                        payload.inbox
                    )))
                } else {
                    db::federation::peer_failed(&state.db, &payload.domain, dead_after_ms).await?;
                    Err(JobError::retry(format!("{} answered {status}", payload.inbox)))
                }
            }
            Err(e) if e.kind == crate::error::Kind::Unprocessable => Err(JobError::permanent(e.message)),
            Err(e) => {
                db::federation::peer_failed(&state.db, &payload.domain, dead_after_ms).await?;
                Err(JobError::retry(e.message))
            }
        }
    }
}

/// Probes servers marked dead; one that answers gets its parked deliveries back at once.
pub async fn probe_dead_peers(state: &AppState) -> Result<()> {
    for domain in db::federation::dead_peers(&state.db).await? {
        let scheme = if state.config.federation.allow_http {
            "http"
        } else {
            "https"
        };
        let url = format!("{scheme}://{domain}/.well-known/nodeinfo");
        if state.http.get(&url, "application/json", None).await.is_ok()
            && db::federation::peer_succeeded(&state.db, &domain).await?
        {
            db::federation::wake_deliveries(&state.db, DELIVER, &domain).await?;
            state.queue.wake();
        }
    }
    Ok(())
}
