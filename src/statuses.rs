//! Posting, reading and deleting statuses, and who may see them.

use std::collections::HashMap;

use crate::{
    db::{self, statuses::Page},
    domain::{
        account::Account,
        media::{Media, MediaState},
        status::{self, Status, Visibility},
    },
    error::{Error, Result},
    media::process::{PURGE_MEDIA, Payload},
    state::AppState,
};

pub struct NewStatus {
    pub text: String,
    pub media_ids: Vec<String>,
    pub visibility: Option<String>,
    pub sensitive: bool,
    pub spoiler_text: String,
    pub in_reply_to_id: Option<String>,
    pub language: Option<String>,
    /// The OAuth app posting it, for the post's `application`.
    pub app_id: Option<String>,
}

pub async fn create(state: &AppState, author: &Account, new: NewStatus) -> Result<(Status, Vec<Media>)> {
    let visibility = Visibility::parse(new.visibility.as_deref().unwrap_or("public"))?;
    let mut ids = new.media_ids;
    let unique: std::collections::HashSet<&String> = ids.iter().collect();
    if unique.len() != ids.len() {
        return Err(Error::unprocessable("the same media is attached twice"));
    }
    let found = db::media::owned(&state.db, &author.id, &ids).await?;
    let mut by_id: HashMap<String, Media> = found.into_iter().map(|m| (m.id.clone(), m)).collect();
    let mut media = Vec::with_capacity(ids.len());
    for id in ids.drain(..) {
        let item = by_id
            .remove(&id)
            .ok_or_else(|| Error::unprocessable(format!("media {id} not found")))?;
        if item.state == MediaState::Failed {
            return Err(Error::unprocessable(format!(
                "media {id} could not be processed: {}",
                item.error.as_deref().unwrap_or("unknown error")
            )));
        }
        media.push(item);
    }
    let kinds: Vec<_> = media.iter().map(|m| m.kind).collect();
    status::validate(
        &new.text,
        &new.spoiler_text,
        &kinds,
        state.config.limits.max_album_size,
    )?;
    if let Some(parent) = &new.in_reply_to_id {
        let parent = db::statuses::get(&state.db, parent).await?;
        let visible = match &parent {
            Some(p) => may_see(state, p, Some(author)).await?,
            None => false,
        };
        if !visible {
            return Err(Error::not_found("the status replied to"));
        }
    }
    let mentioned = mentioned_accounts(state, &new.text).await?;
    let tags = crate::domain::text::hashtags(&new.text);
    let language = checked_language(new.language)?.or_else(|| author.profile.default_language.clone());
    let now = db::now_ms();
    let all_ready = media.iter().all(|m| m.state == MediaState::Ready);
    let status = Status {
        id: uuid::Uuid::now_v7().to_string(),
        account_id: author.id.clone(),
        text: new.text,
        visibility,
        // A content warning implies the media is hidden too, as Mastodon does.
        sensitive: new.sensitive || !new.spoiler_text.trim().is_empty(),
        spoiler_text: new.spoiler_text.trim().to_owned(),
        in_reply_to_id: new.in_reply_to_id,
        published_at: all_ready.then_some(now),
        created_at: now,
        uri: None,
        url: None,
        reblog_of_id: None,
        title: None,
        edited_at: None,
        language,
        app_id: new.app_id,
    };
    let media_ids: Vec<String> = media.iter().map(|m| m.id.clone()).collect();
    let announce = match status.published_at {
        Some(_) => Some(crate::federation::outbox::publish_job(&state.queue, &status.id)?),
        None => None,
    };
    let attached = db::conversation::Attached {
        mentions: &mentioned,
        tags: &tags,
    };
    db::statuses::insert(&state.db, &status, &media_ids, attached, announce.as_ref()).await?;
    if !all_ready {
        // A job may have finished between our read and the insert: publish if so.
        for m in &media {
            db::statuses::publish_ready(&state.db, &m.id, &|id| {
                crate::federation::outbox::publish_job(&state.queue, id)
            })
            .await?;
        }
    }
    state.queue.wake();
    let status = db::statuses::get(&state.db, &status.id)
        .await?
        .ok_or_else(|| Error::internal("status vanished after insert"))?;
    Ok((status, media))
}

fn checked_language(raw: Option<String>) -> Result<Option<String>> {
    match raw.map(|l| l.trim().to_owned()).filter(|l| !l.is_empty()) {
        Some(l) if !status::is_language(&l) => Err(Error::unprocessable(format!(
            "language must be an ISO 639 code such as en, not {l:?}"
        ))),
        other => Ok(other),
    }
}

/// A reply written on a post's page: as visible as the author's default allows and never
/// wider than the post it answers.
pub async fn reply(
    state: &AppState,
    author: &Account,
    parent_id: &str,
    text: String,
    spoiler_text: String,
) -> Result<(Status, Vec<Media>)> {
    let (parent, _, _) = fetch(state, parent_id, Some(author)).await?;
    let own = Visibility::parse(&author.profile.default_privacy).unwrap_or(Visibility::Public);
    let visibility = own.narrower(parent.visibility);
    create(
        state,
        author,
        NewStatus {
            text,
            media_ids: Vec::new(),
            visibility: Some(visibility.as_str().to_owned()),
            sensitive: false,
            spoiler_text,
            in_reply_to_id: Some(parent.id),
            language: None,
            app_id: None,
        },
    )
    .await
}

/// What an edit sends; what it leaves out stays as it was.
pub struct StatusEdit {
    pub text: Option<String>,
    pub spoiler_text: Option<String>,
    pub sensitive: Option<bool>,
    pub language: Option<String>,
    /// The post's media, possibly reordered: changing the set is refused.
    pub media_ids: Option<Vec<String>>,
    /// New alt text or focal points for the post's media (`media_attributes[]`, as Elk and
    /// Ivory send them with an edit).
    pub media_attributes: Vec<MediaAttributes>,
}

pub struct MediaAttributes {
    pub id: String,
    pub description: Option<String>,
    pub focus: Option<String>,
}

/// Edits one of the owner's posts; followers get an `Update` once it is published.
pub async fn edit(
    state: &AppState,
    owner: &Account,
    id: &str,
    change: StatusEdit,
) -> Result<(Status, Vec<Media>)> {
    let (status, _, media) = fetch(state, id, Some(owner)).await?;
    if status.account_id != owner.id || status.reblog_of_id.is_some() {
        return Err(Error::not_found("status"));
    }
    let order = match change.media_ids {
        Some(ids) => {
            let mut sent = ids.clone();
            let mut had: Vec<String> = media.iter().map(|m| m.id.clone()).collect();
            sent.sort();
            had.sort();
            if sent != had {
                return Err(Error::unprocessable(
                    "an edit keeps the post's photos or video (their order may change); to change them, delete the post and write it again",
                ));
            }
            ids
        }
        None => Vec::new(),
    };
    let text = change.text.unwrap_or_else(|| status.text.clone());
    let spoiler_text = change
        .spoiler_text
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| status.spoiler_text.clone());
    let sensitive = change.sensitive.unwrap_or(status.sensitive) || !spoiler_text.is_empty();
    let language = match change.language {
        Some(raw) => checked_language(Some(raw))?,
        None => status.language.clone(),
    };
    let kinds: Vec<_> = media.iter().map(|m| m.kind).collect();
    status::validate(&text, &spoiler_text, &kinds, state.config.limits.max_album_size)?;
    // Checked whole before anything is written: one bad attribute changes nothing.
    let mut details = Vec::with_capacity(change.media_attributes.len());
    for attributes in change.media_attributes {
        let Some(item) = media.iter().find(|m| m.id == attributes.id) else {
            return Err(Error::unprocessable(format!(
                "media {} is not attached to this post",
                attributes.id
            )));
        };
        let description = match attributes.description {
            Some(d) => crate::media::ingest::check_description(Some(d))?,
            None => item.description.clone(),
        };
        let focus = match attributes.focus.as_deref() {
            Some(raw) => Some(crate::domain::media::Focus::parse(raw).ok_or_else(|| {
                Error::unprocessable("focus must be \"x,y\" with both between -1.0 and 1.0")
            })?),
            None => item.focus,
        };
        if description != item.description || focus != item.focus {
            details.push((item.id.clone(), description, focus));
        }
    }
    for (id, description, focus) in &details {
        db::media::update_details(&state.db, id, description.as_deref(), *focus).await?;
    }
    let mentioned = mentioned_accounts(state, &text).await?;
    let tags = crate::domain::text::hashtags(&text);
    let job = crate::federation::outbox::edit_job(&state.queue, &status.id)?;
    db::statuses::edit(
        &state.db,
        &status,
        &db::statuses::Edit {
            text: &text,
            spoiler_text: &spoiler_text,
            sensitive,
            language: language.as_deref(),
            media_order: &order,
            media_changed: !details.is_empty(),
            attached: db::conversation::Attached {
                mentions: &mentioned,
                tags: &tags,
            },
        },
        Some(&job),
    )
    .await?;
    state.queue.wake();
    let (status, _, media) = fetch(state, id, Some(owner)).await?;
    Ok((status, media))
}

/// A post's versions, oldest first, the current one last: (text, spoiler, sensitive, since).
pub async fn history(
    state: &AppState,
    id: &str,
    viewer: Option<&Account>,
) -> Result<(Vec<db::statuses::Version>, Status, Account, Vec<Media>)> {
    let (status, author, media) = fetch(state, id, viewer).await?;
    let mut versions = db::statuses::versions(&state.db, &status.id).await?;
    versions.push(db::statuses::Version {
        text: match &status.title {
            Some(title) => format!("{title}\n\n{}", status.text),
            None => status.text.clone(),
        },
        spoiler_text: status.spoiler_text.clone(),
        sensitive: status.sensitive,
        created_at: status.edited_at.unwrap_or(status.created_at),
    });
    Ok((versions, status, author, media))
}

/// At most this many pinned posts per account, as Mastodon allows.
pub const MAX_PINS: i64 = 5;

/// Bookmarks (or un-bookmarks) a post the account may see.
pub async fn bookmark(state: &AppState, me: &Account, id: &str, undo: bool) -> Result<Hydrated> {
    let (status, _, _) = fetch(state, id, Some(me)).await?;
    if undo {
        db::marks::unbookmark(&state.db, &me.id, &status.id).await?;
    } else {
        db::marks::bookmark(&state.db, &me.id, &status.id).await?;
    }
    hydrated(state, status, me).await
}

/// Pins (or unpins) one of the account's own posts to its profile. Direct posts and boosts
/// cannot be pinned, as in Mastodon.
pub async fn pin(state: &AppState, me: &Account, id: &str, undo: bool) -> Result<Hydrated> {
    let (status, _, _) = fetch(state, id, Some(me)).await?;
    if status.account_id != me.id {
        return Err(Error::unprocessable("only your own posts can be pinned"));
    }
    if undo {
        db::marks::unpin(&state.db, &me.id, &status.id).await?;
    } else {
        if status.reblog_of_id.is_some() || status.visibility == Visibility::Direct {
            return Err(Error::unprocessable("boosts and direct posts cannot be pinned"));
        }
        if status.published_at.is_none() {
            return Err(Error::unprocessable("the post is not published yet"));
        }
        if !db::marks::pin(&state.db, &me.id, &status.id, MAX_PINS).await? {
            return Err(Error::unprocessable(format!(
                "at most {MAX_PINS} posts can be pinned: unpin one first"
            )));
        }
    }
    hydrated(state, status, me).await
}

async fn hydrated(state: &AppState, status: Status, viewer: &Account) -> Result<Hydrated> {
    hydrate(state, vec![status], Some(viewer))
        .await?
        .pop()
        .ok_or_else(|| Error::not_found("status"))
}

/// At most this many mentions of a new post are looked up: each may be a WebFinger fetch.
const MAX_MENTION_LOOKUPS: usize = 20;

/// The accounts a post's text mentions that answer: ours by name, others' known here or
/// found through WebFinger (the guarded client). A mention nobody answers to stays text.
async fn mentioned_accounts(state: &AppState, text: &str) -> Result<Vec<String>> {
    let own = crate::federation::resolve::own_host(state);
    let mut ids: Vec<String> = Vec::new();
    for (name, domain) in crate::domain::text::mentions(text)
        .into_iter()
        .take(MAX_MENTION_LOOKUPS)
    {
        let found = match domain.as_deref() {
            None => db::accounts::by_username(&state.db, &name).await?,
            Some(host) if host == own => db::accounts::by_username(&state.db, &name).await?,
            Some(host) => match db::accounts::remote_by_acct(&state.db, &name, host).await? {
                Some(known) => Some(known),
                None => crate::federation::resolve::webfinger(state, &format!("{name}@{host}"))
                    .await
                    .ok(),
            },
        };
        if let Some(account) = found.filter(|a| !a.standing.gone())
            && !ids.contains(&account.id)
        {
            ids.push(account.id);
        }
    }
    Ok(ids)
}

/// Whether `viewer` (None: anonymous) may see the status: its author always; a published
/// public or unlisted post anyone; a followers-only post the author's followers and whom it
/// mentions; a direct post only whom it mentions.
pub async fn may_see(state: &AppState, status: &Status, viewer: Option<&Account>) -> Result<bool> {
    let Some(viewer) = viewer else {
        return Ok(status.published_at.is_some()
            && matches!(status.visibility, Visibility::Public | Visibility::Unlisted));
    };
    if viewer.id == status.account_id {
        return Ok(true);
    }
    if status.published_at.is_none() {
        return Ok(false);
    }
    Ok(match status.visibility {
        Visibility::Public | Visibility::Unlisted => true,
        Visibility::Private => {
            db::conversation::mentions_account(&state.db, &status.id, &viewer.id).await?
                || db::federation::get_follow(&state.db, &viewer.id, &status.account_id)
                    .await?
                    .is_some_and(|f| f.accepted)
        }
        Visibility::Direct => db::conversation::mentions_account(&state.db, &status.id, &viewer.id).await?,
    })
}

/// The statuses `viewer` may see, in their order.
pub async fn only_visible(
    state: &AppState,
    statuses: Vec<Status>,
    viewer: Option<&Account>,
) -> Result<Vec<Status>> {
    let mut out = Vec::with_capacity(statuses.len());
    for status in statuses {
        if may_see(state, &status, viewer).await? {
            out.push(status);
        }
    }
    Ok(out)
}

/// A status, its author and its media, if `viewer` may see it.
pub async fn fetch(
    state: &AppState,
    id: &str,
    viewer: Option<&Account>,
) -> Result<(Status, Account, Vec<Media>)> {
    let status = db::statuses::get(&state.db, id)
        .await?
        .ok_or_else(|| Error::not_found("status"))?;
    if !may_see(state, &status, viewer).await? {
        return Err(Error::not_found("status"));
    }
    let author = db::accounts::by_id(&state.db, &status.account_id)
        .await?
        .ok_or_else(|| Error::not_found("status"))?;
    if author.standing.gone() && viewer.is_none_or(|v| !v.is_admin) {
        return Err(Error::new(
            crate::error::Kind::Gone,
            "account_gone",
            "the author of this post is suspended",
        ));
    }
    let mut media = db::statuses::media_of(&state.db, &[status.id.as_str()]).await?;
    let media = media.remove(&status.id).unwrap_or_default();
    Ok((status, author, media))
}

pub async fn delete(state: &AppState, id: &str, owner: &Account) -> Result<(Status, Vec<Media>)> {
    let (status, _, media) = fetch(state, id, Some(owner)).await?;
    if status.account_id != owner.id {
        return Err(Error::not_found("status"));
    }
    let queue = &state.queue;
    let purge = |media_id: &str| {
        queue.prepare(
            PURGE_MEDIA,
            &Payload {
                media_id: media_id.to_owned(),
            },
        )
    };
    let uri = crate::federation::objects::status_uri(state.config.public_url(), &owner.username, &status.id);
    let former = if media
        .iter()
        .any(|m| m.kind == crate::domain::media::MediaKind::Video)
    {
        "Video"
    } else {
        "Note"
    };
    let tombstone = status.published_at.map(|_| (uri.as_str(), former));
    db::statuses::delete(&state.db, &status.id, tombstone, &purge).await?;
    if status.published_at.is_some() {
        crate::federation::outbox::deleted(state, owner, &status).await?;
        let event = db::events::Event::Deleted {
            status_id: status.id.clone(),
            author_id: owner.id.clone(),
            public: status.visibility == Visibility::Public,
        };
        db::events::emit(&state.db, event).await;
    }
    state.queue.wake();
    Ok((status, media))
}

/// Statuses with their authors and media, ready to render.
#[derive(Clone)]
pub struct Hydrated {
    pub status: Status,
    pub author: Account,
    pub media: Vec<Media>,
    /// Replies, boosts, likes.
    pub counts: (i64, i64, i64),
    /// Whether the viewer liked or boosted it.
    pub favourited: bool,
    pub reblogged: bool,
    pub bookmarked: bool,
    pub pinned: bool,
    /// The author of the post this one replies to.
    pub in_reply_to_account_id: Option<String>,
    /// The app it was written with: (name, website), shown to its author only.
    pub application: Option<(String, Option<String>)>,
    /// The accounts it mentions and its hashtags (case-folded).
    pub mentions: Vec<Account>,
    pub tags: Vec<String>,
    /// For a boost: the status boosted.
    pub reblog: Option<Box<Hydrated>>,
}

/// Statuses with everything they are shown with; `viewer` decides `favourited`/`reblogged`.
pub async fn hydrate(
    state: &AppState,
    statuses: Vec<Status>,
    viewer: Option<&Account>,
) -> Result<Vec<Hydrated>> {
    let mut out = hydrate_one_level(state, statuses, viewer).await?;
    for item in &mut out {
        if let Some(inner_id) = &item.status.reblog_of_id
            && let Some(inner) = db::statuses::get(&state.db, inner_id).await?
            && may_see(state, &inner, viewer).await?
        {
            item.reblog = hydrate_one_level(state, vec![inner], viewer)
                .await?
                .pop()
                .map(Box::new);
            // A boost is marked as what it boosts, as Mastodon marks it: apps read the
            // outer post's flags to draw the buttons.
            if let Some(inner) = &item.reblog {
                item.favourited = inner.favourited;
                item.reblogged = inner.reblogged;
                item.bookmarked = inner.bookmarked;
            }
        }
    }
    // A boost of what the viewer may not see shows nothing, so it is not shown at all.
    out.retain(|item| item.status.reblog_of_id.is_none() || item.reblog.is_some());
    Ok(out)
}

async fn hydrate_one_level(
    state: &AppState,
    statuses: Vec<Status>,
    viewer: Option<&Account>,
) -> Result<Vec<Hydrated>> {
    let ids: Vec<&str> = statuses.iter().map(|s| s.id.as_str()).collect();
    let mut media = db::statuses::media_of(&state.db, &ids).await?;
    let mut mentions = db::conversation::mentions_of(&state.db, &ids).await?;
    let mut tags = db::conversation::tags_of(&state.db, &ids).await?;
    let (bookmarks, pins) = match viewer {
        Some(v) => (
            db::marks::bookmarked(&state.db, &v.id, &ids).await?,
            db::marks::pinned(&state.db, &v.id, &ids).await?,
        ),
        None => Default::default(),
    };
    let mut authors: HashMap<String, Account> = HashMap::new();
    let mut out = Vec::with_capacity(statuses.len());
    for status in statuses {
        if !authors.contains_key(&status.account_id)
            && let Some(a) = db::accounts::by_id(&state.db, &status.account_id).await?
        {
            authors.insert(a.id.clone(), a);
        }
        let Some(author) = authors.get(&status.account_id).cloned() else {
            continue;
        };
        let media = media.remove(&status.id).unwrap_or_default();
        let counts = db::federation::status_counts(&state.db, &status.id).await?;
        let (favourited, reblogged) = match viewer {
            Some(v) => (
                db::federation::favourited(&state.db, &v.id, &status.id).await?,
                db::statuses::reblog_by(&state.db, &v.id, &status.id)
                    .await?
                    .is_some(),
            ),
            None => (false, false),
        };
        let in_reply_to_account_id = match &status.in_reply_to_id {
            Some(parent) => db::statuses::get(&state.db, parent).await?.map(|p| p.account_id),
            None => None,
        };
        let own = viewer.is_some_and(|v| v.id == status.account_id);
        let application = match &status.app_id {
            Some(app_id) if own => db::oauth::app_by_id(&state.db, app_id)
                .await?
                .map(|a| (a.name, a.website)),
            _ => None,
        };
        let status_id = status.id.clone();
        out.push(Hydrated {
            bookmarked: bookmarks.contains(&status.id),
            pinned: pins.contains(&status.id),
            status,
            author,
            media,
            counts,
            favourited,
            reblogged,
            in_reply_to_account_id,
            application,
            mentions: mentions.remove(&status_id).unwrap_or_default(),
            tags: tags.remove(&status_id).unwrap_or_default(),
            reblog: None,
        });
    }
    Ok(out)
}

pub async fn timeline(
    state: &AppState,
    timeline: db::statuses::Timeline<'_>,
    page: &Page,
    viewer: Option<&Account>,
) -> Result<Vec<Hydrated>> {
    let statuses = db::statuses::timeline(&state.db, timeline, page).await?;
    hydrate(state, statuses, viewer).await
}

/// [`create`] under an app's Idempotency-Key: the same key (from the same account, within an
/// hour) gives back the post the first request made instead of a second one.
pub async fn create_once(
    state: &AppState,
    author: &Account,
    new: NewStatus,
    key: Option<&str>,
) -> Result<(Status, Vec<Media>)> {
    let Some(key) = key.map(str::trim).filter(|k| !k.is_empty()) else {
        return create(state, author, new).await;
    };
    if key.len() > 255 {
        return Err(Error::bad_request(
            "the Idempotency-Key is longer than 255 characters",
        ));
    }
    // The first request may still be posting (uploading checks take a moment): wait for it.
    for _ in 0..50 {
        match db::statuses::claim_key(&state.db, &author.id, key).await? {
            db::statuses::Claim::Fresh => {
                let made = create(state, author, new).await;
                let status_id = made.as_ref().ok().map(|(s, _)| s.id.clone());
                db::statuses::finish_key(&state.db, &author.id, key, status_id.as_deref()).await?;
                return made;
            }
            db::statuses::Claim::Done(id) => {
                let (status, _, media) = fetch(state, &id, Some(author)).await?;
                return Ok((status, media));
            }
            db::statuses::Claim::Busy => tokio::time::sleep(std::time::Duration::from_millis(200)).await,
        }
    }
    Err(Error::new(
        crate::error::Kind::Conflict,
        "idempotency_key_in_use",
        "a request with this Idempotency-Key is still being handled",
    ))
}
