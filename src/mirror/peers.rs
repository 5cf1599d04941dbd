//! Instance-to-instance follows: `mirroring.follow` makes our instance actor follow theirs; an
//! instance that follows ours receives all our public posts (as PeerTube does).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    db::{self, mirrors::Direction},
    domain::account::Account,
    error::Result,
    federation::{objects, outbox, resolve},
    jobs::{JobError, JobHandler, JobRun},
    state::AppState,
};

pub const FOLLOW_PEER: &str = "mirror.follow_peer";

#[derive(Serialize, Deserialize)]
pub struct FollowPayload {
    pub base_url: String,
}

pub fn instance_actor_id(state: &AppState) -> String {
    format!("{}/actor", state.config.public_url())
}

/// Queues a follow of each configured peer, once per peer however many processes start.
pub async fn follow_configured(state: &AppState) -> Result<()> {
    for base in &state.config.mirroring.follow {
        let base = base.trim_end_matches('/').to_owned();
        let mut job = state.queue.prepare(
            FOLLOW_PEER,
            &FollowPayload {
                base_url: base.clone(),
            },
        )?;
        job.id = format!("mirror.follow:{base}");
        db::jobs::enqueue_once(&state.db, &job).await?;
    }
    state.queue.wake();
    Ok(())
}

/// Our instance actor follows the instance actor at `base_url/actor`.
pub async fn follow(state: &AppState, base_url: &str) -> Result<()> {
    let peer = resolve::actor(state, &format!("{}/actor", base_url.trim_end_matches('/'))).await?;
    let Some(remote) = peer.remote.as_ref() else {
        // Our own address: there is nothing to mirror, and saying "following" would mislead.
        return Err(crate::error::Error::unprocessable(
            "that is this instance; mirroring follows other instances",
        ));
    };
    let ours = instance_actor_id(state);
    let id = format!("{ours}#follows/{}", uuid::Uuid::now_v7());
    db::mirrors::record_follow(
        &state.db,
        &remote.uri,
        Direction::Out,
        remote.delivery_inbox(),
        false,
        Some(&id),
    )
    .await?;
    let activity = objects::activity(
        "Follow",
        id,
        &ours,
        Value::String(remote.uri.clone()),
        vec![remote.uri.clone()],
        vec![],
    );
    outbox::send(state, None, &activity, vec![remote.inbox_url.clone()]).await?;
    Ok(())
}

pub struct FollowPeer {
    pub state: AppState,
}

#[async_trait::async_trait]
impl JobHandler for FollowPeer {
    async fn run(&self, job: &JobRun) -> Result<(), JobError> {
        let payload: FollowPayload = job.payload()?;
        follow(&self.state, &payload.base_url).await?;
        Ok(())
    }
}

/// Another instance's actor follows ours: accepted, and it gets our public posts from now on.
pub async fn on_follow(state: &AppState, follower: &Account, activity: &Value) -> Result<()> {
    let Some(remote) = follower.remote.as_ref() else {
        return Ok(());
    };
    db::mirrors::record_follow(
        &state.db,
        &remote.uri,
        Direction::In,
        remote.delivery_inbox(),
        true,
        activity.get("id").and_then(Value::as_str),
    )
    .await?;
    let ours = instance_actor_id(state);
    let mut follow = activity.clone();
    if let Some(o) = follow.as_object_mut() {
        o.remove("@context");
    }
    let accept = objects::activity(
        "Accept",
        format!("{ours}#accepts/{}", uuid::Uuid::now_v7()),
        &ours,
        follow,
        vec![remote.uri.clone()],
        vec![],
    );
    outbox::send(state, None, &accept, vec![remote.inbox_url.clone()]).await?;
    Ok(())
}

/// Whether a post's author lives on an instance whose actor we follow (to mirror it).
pub async fn mirrored_host(state: &AppState, author_uri: &str) -> Result<bool> {
    Ok(db::mirrors::followed_actors(&state.db)
        .await?
        .iter()
        .any(|actor| crate::federation::parse::same_host(actor, author_uri)))
}
