//! Live updates as Mastodon's streaming API names them: which of a viewer's streams an event
//! belongs to, and what it shows there. The rules are the timelines' own: the public streams
//! show what the public timelines would, `user` what the home timeline would (and the viewer's
//! notifications), `direct` the direct posts it is part of, `hashtag` a tag's public posts.

use crate::{
    db::{self, events::Event},
    domain::{account::Account, status::Visibility},
    error::Result,
    social::{self, Told},
    state::AppState,
    statuses::{self, Hydrated},
};

/// A stream a client subscribed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stream {
    User,
    UserNotification,
    Public,
    PublicLocal,
    PublicRemote,
    Hashtag(String),
    HashtagLocal(String),
    Direct,
}

impl Stream {
    /// A stream by Mastodon's name (`hashtag` ones with their tag). None for one Kaleido does
    /// not have (lists) or a tag that is none.
    pub fn parse(name: &str, tag: Option<&str>) -> Option<Stream> {
        let tag = || {
            tag.map(crate::domain::text::normal_tag)
                .filter(|t| crate::domain::text::is_tag(t))
        };
        Some(match name {
            "user" => Stream::User,
            "user:notification" => Stream::UserNotification,
            "public" => Stream::Public,
            "public:local" => Stream::PublicLocal,
            "public:remote" => Stream::PublicRemote,
            "hashtag" => Stream::Hashtag(tag()?),
            "hashtag:local" => Stream::HashtagLocal(tag()?),
            "direct" => Stream::Direct,
            _ => return None,
        })
    }

    /// The `stream` array of an event sent on it.
    pub fn names(&self) -> Vec<String> {
        match self {
            Stream::User => vec!["user".into()],
            Stream::UserNotification => vec!["user:notification".into()],
            Stream::Public => vec!["public".into()],
            Stream::PublicLocal => vec!["public:local".into()],
            Stream::PublicRemote => vec!["public:remote".into()],
            Stream::Hashtag(t) => vec!["hashtag".into(), t.clone()],
            Stream::HashtagLocal(t) => vec!["hashtag:local".into(), t.clone()],
            Stream::Direct => vec!["direct".into()],
        }
    }

    /// Whether the stream is someone's own (a token is needed).
    pub fn personal(&self) -> bool {
        matches!(self, Stream::User | Stream::UserNotification | Stream::Direct)
    }
}

/// What an event shows on one stream.
pub enum Shown {
    /// `update` (new) or `status.update` (edited).
    Status {
        edited: bool,
        status: Box<Hydrated>,
    },
    Delete(String),
    Notification(Box<Told>),
}

/// The event as each of `streams` shows it to `viewer`; streams it does not belong to are
/// left out.
pub async fn show(
    state: &AppState,
    event: &Event,
    viewer: Option<&Account>,
    streams: &[Stream],
) -> Result<Vec<(Stream, Shown)>> {
    let mut out = Vec::new();
    match event {
        Event::Posted { status_id } | Event::Edited { status_id } => {
            let edited = matches!(event, Event::Edited { .. });
            let Some(status) = db::statuses::get(&state.db, status_id).await? else {
                return Ok(out);
            };
            if !statuses::may_see(state, &status, viewer).await? {
                return Ok(out);
            }
            let Some(item) = statuses::hydrate(state, vec![status], viewer).await?.pop() else {
                return Ok(out);
            };
            for stream in streams {
                if belongs(state, stream, &item, viewer).await? {
                    out.push((
                        stream.clone(),
                        Shown::Status {
                            edited,
                            status: Box::new(item.clone()),
                        },
                    ));
                }
            }
        }
        Event::Deleted {
            status_id,
            author_id,
            public,
        } => {
            let follows = match viewer {
                Some(v) if v.id == *author_id => true,
                Some(v) => db::federation::get_follow(&state.db, &v.id, author_id)
                    .await?
                    .is_some_and(|f| f.accepted),
                None => false,
            };
            for stream in streams {
                let hears = match stream {
                    Stream::User | Stream::Direct => follows,
                    Stream::UserNotification => false,
                    _ => *public,
                };
                if hears {
                    out.push((stream.clone(), Shown::Delete(status_id.clone())));
                }
            }
        }
        Event::Told {
            account_id,
            notification_id,
        } => {
            let Some(me) = viewer.filter(|v| v.id == *account_id) else {
                return Ok(out);
            };
            let wanted: Vec<&Stream> = streams
                .iter()
                .filter(|s| matches!(s, Stream::User | Stream::UserNotification))
                .collect();
            if wanted.is_empty() {
                return Ok(out);
            }
            let Ok(told) = social::notification(state, me, notification_id).await else {
                return Ok(out);
            };
            for stream in wanted {
                out.push((stream.clone(), Shown::Notification(Box::new(told.clone()))));
            }
        }
    }
    Ok(out)
}

/// Whether a post the viewer may see belongs on a stream, as it would on the timeline.
async fn belongs(
    state: &AppState,
    stream: &Stream,
    item: &Hydrated,
    viewer: Option<&Account>,
) -> Result<bool> {
    let status = &item.status;
    let public = status.visibility == Visibility::Public && status.reblog_of_id.is_none();
    let local = item.author.is_local();
    let shunned = match viewer {
        Some(v) => {
            db::moderation::shuns(&state.db, &v.id, &status.account_id, db::moderation::Shun::Block).await?
                || db::moderation::shuns(&state.db, &v.id, &status.account_id, db::moderation::Shun::Mute)
                    .await?
        }
        None => false,
    };
    let silenced = item.author.standing.silenced_at.is_some();
    Ok(match stream {
        Stream::Public => public && !shunned && !silenced,
        Stream::PublicLocal => public && local && !shunned && !silenced,
        Stream::PublicRemote => public && !local && !shunned && !silenced,
        Stream::Hashtag(tag) => public && !shunned && !silenced && item.tags.contains(tag),
        Stream::HashtagLocal(tag) => public && local && !shunned && !silenced && item.tags.contains(tag),
        Stream::Direct => status.visibility == Visibility::Direct,
        Stream::UserNotification => false,
        Stream::User => match viewer {
            Some(v) if !shunned => in_home(state, v, item).await?,
            _ => false,
        },
    })
}

/// Whether the post is one the viewer's home timeline shows (the timeline query's rules).
async fn in_home(state: &AppState, viewer: &Account, item: &Hydrated) -> Result<bool> {
    let status = &item.status;
    if status.account_id == viewer.id {
        return Ok(true);
    }
    let mentioned = item.mentions.iter().any(|m| m.id == viewer.id);
    if matches!(status.visibility, Visibility::Private | Visibility::Direct) && mentioned {
        return Ok(true);
    }
    if status.visibility != Visibility::Direct
        && db::federation::get_follow(&state.db, &viewer.id, &status.account_id)
            .await?
            .is_some_and(|f| f.accepted)
    {
        return Ok(true);
    }
    if status.visibility == Visibility::Public && !item.tags.is_empty() {
        let followed = db::conversation::followed_tags(&state.db, &viewer.id).await?;
        return Ok(item.tags.iter().any(|t| followed.contains(t)));
    }
    Ok(false)
}
