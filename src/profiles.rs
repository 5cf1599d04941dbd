//! What an account shows and how it leaves: profile edits (text, pictures through the photo
//! pipeline, fields with rel=me verification), the `Update{Person}` that carries them to other
//! servers, and deleting an account with everything it posted.

use serde::{Deserialize, Serialize};

use crate::{
    accounts,
    db::{
        self,
        accounts::{Picture, ProfileEdit},
    },
    domain::{
        account::{Account, Field, person_id},
        text::links_back_with_rel_me,
    },
    error::{Error, Kind, Result},
    federation::outbox,
    jobs::{JobError, JobHandler, JobRun},
    media::{
        ingest::photo_error,
        process::{PURGE_MEDIA, Payload},
    },
    state::AppState,
    storage::Key,
};

pub const VERIFY_LINKS: &str = "profiles.verify_links";

/// Avatar and header sizes, as Mastodon makes them.
const AVATAR: (u32, u32) = (400, 400);
const HEADER: (u32, u32) = (1500, 500);

/// A picture sent with an edit: its bytes (already bounded by the upload limit).
pub struct NewPicture {
    pub which: Picture,
    pub bytes: Vec<u8>,
}

/// Applies an edit and tells other servers. Pictures are scaled and cropped before anything
/// is written, so a broken picture leaves the profile as it was.
pub async fn edit(
    state: &AppState,
    account: &Account,
    edit: ProfileEdit,
    pictures: Vec<NewPicture>,
) -> Result<Account> {
    let max_pixels = state.config.limits.max_image_pixels;
    let mut made = Vec::new();
    for picture in pictures {
        let which = picture.which;
        let (w, h) = match which {
            Picture::Avatar => AVATAR,
            Picture::Header => HEADER,
        };
        let picture_made = tokio::task::spawn_blocking(move || {
            crate::media::photo::profile_picture(&picture.bytes, w, h, max_pixels)
        })
        .await
        .map_err(|e| Error::internal("picture task failed").with_source(e))?
        .map_err(photo_error)?;
        made.push((which, picture_made));
    }
    let fields_changed = edit.fields.is_some();
    db::accounts::edit_profile(&state.db, &account.id, &edit).await?;
    for (which, picture) in made {
        let name = match which {
            Picture::Avatar => "avatar",
            Picture::Header => "header",
        };
        let stem = format!("accounts/{}/{name}-{}", account.id, uuid::Uuid::now_v7().simple());
        let still = store_variant(state, &stem, picture.still).await?;
        // An animation is the picture; its first frame stands beside it as the still.
        let (main, static_key) = match picture.animated {
            Some(animated) => (store_variant(state, &stem, animated).await?, Some(still)),
            None => (still, None),
        };
        let replaced = db::accounts::set_picture(
            &state.db,
            &account.id,
            which,
            Some(main.as_str()),
            static_key.as_deref(),
        )
        .await?;
        delete_keys(state, replaced).await;
    }
    let updated = db::accounts::by_id(&state.db, &account.id)
        .await?
        .ok_or_else(|| Error::not_found("account"))?;
    if fields_changed && updated.profile.fields.iter().any(|f| verifiable(&f.value)) {
        state
            .queue
            .enqueue(
                VERIFY_LINKS,
                &VerifyPayload {
                    account_id: updated.id.clone(),
                },
            )
            .await?;
    }
    outbox::actor_updated(state, &updated).await?;
    Ok(updated)
}

async fn store_variant(
    state: &AppState,
    stem: &str,
    variant: crate::media::photo::Variant,
) -> Result<String> {
    let key = Key::parse(&format!("{stem}.{}", variant.extension))?;
    let size = variant.bytes.len() as u64;
    let body = futures_util::stream::iter([Ok(bytes::Bytes::from(variant.bytes))]);
    state
        .store
        .put(&key, Box::pin(body), Some(size), variant.mime)
        .await?;
    Ok(key.as_str().to_owned())
}

/// Pictures no longer used. A leftover costs only space, so a failure is logged, not raised.
async fn delete_keys(state: &AppState, keys: Vec<String>) {
    for key in keys {
        if let Ok(key) = Key::parse(&key)
            && let Err(e) = state.store.delete(&key).await
        {
            tracing::warn!(error = %e, "old profile picture not deleted");
        }
    }
}

/// Removes the avatar or header.
pub async fn remove_picture(state: &AppState, account: &Account, which: Picture) -> Result<Account> {
    let replaced = db::accounts::set_picture(&state.db, &account.id, which, None, None).await?;
    delete_keys(state, replaced).await;
    let updated = db::accounts::by_id(&state.db, &account.id)
        .await?
        .ok_or_else(|| Error::not_found("account"))?;
    outbox::actor_updated(state, &updated).await?;
    Ok(updated)
}

/// A field value that names a page we can check: one https (or, where allowed, http) link.
fn verifiable(value: &str) -> bool {
    let v = value.trim();
    (v.starts_with("https://") || v.starts_with("http://")) && !v.contains(char::is_whitespace)
}

#[derive(Serialize, Deserialize)]
pub struct VerifyPayload {
    pub account_id: String,
}

/// The rel=me check of a profile's links: each linked page is fetched through the guarded
/// client (no private addresses, a size cap) and a field is verified when the page links back.
pub struct VerifyLinks {
    pub state: AppState,
}

/// Pages are read up to this much: a profile page that links back does so early.
const MAX_PAGE_BYTES: usize = 1024 * 1024;

#[async_trait::async_trait]
impl JobHandler for VerifyLinks {
    async fn run(&self, job: &JobRun) -> Result<(), JobError> {
        let payload: VerifyPayload = job.payload()?;
        let state = &self.state;
        let Some(account) = db::accounts::by_id(&state.db, &payload.account_id).await? else {
            return Ok(());
        };
        let base = state.config.public_url();
        let targets = vec![
            format!("{base}/@{}", account.username),
            person_id(base, &account.username),
        ];
        let mut fields: Vec<Field> = account.profile.fields.clone();
        for field in &mut fields {
            field.verified_at = None;
            if !verifiable(&field.value) {
                continue;
            }
            match state.http.get_bytes(field.value.trim(), MAX_PAGE_BYTES).await {
                Ok(page) => {
                    let html = String::from_utf8_lossy(&page);
                    if links_back_with_rel_me(&html, &targets) {
                        field.verified_at = Some(db::now_ms());
                    }
                }
                // A page that cannot be fetched is simply not verified; the owner sees no mark.
                Err(e) => tracing::info!(error = %e.message, "profile link not verified"),
            }
        }
        // Written only if the profile's fields are still the ones checked.
        if db::accounts::set_fields_if(&state.db, &account.id, &account.profile.fields, &fields).await?
            && let Some(current) = db::accounts::by_id(&state.db, &account.id).await?
        {
            outbox::actor_updated(state, &current).await?;
        }
        Ok(())
    }
}

/// Deleting one's own account: the password again, then [`delete`].
pub async fn leave(state: &AppState, account: &Account, password: &str) -> Result<()> {
    accounts::check_password(&state.db, account, password).await?;
    delete(state, account).await
}

/// Deletes a local account: every server that knows it is told, its posts (each leaving a
/// tombstone) and media are purged, its sessions end, and its name stays taken for good.
pub async fn delete(state: &AppState, account: &Account) -> Result<()> {
    if !account.is_local() {
        return Err(Error::new(
            Kind::Unprocessable,
            "not_local",
            "only accounts of this server can be deleted here",
        ));
    }
    if account.standing.deleted_at.is_some() {
        return Ok(());
    }
    // Told first: the Delete goes to the followers' servers, which are gone from the database
    // once the account is retired.
    outbox::actor_deleted(state, account).await?;
    let queue = &state.queue;
    let purge = |media_id: &str| {
        queue.prepare(
            PURGE_MEDIA,
            &Payload {
                media_id: media_id.to_owned(),
            },
        )
    };
    let base = state.config.public_url();
    for id in db::accounts::status_ids(&state.db, &account.id).await? {
        let uri = crate::federation::objects::status_uri(base, &account.username, &id);
        db::statuses::delete(&state.db, &id, Some((uri.as_str(), "Note")), &purge).await?;
    }
    db::media::purge_all_of(&state.db, &account.id, &purge).await?;
    for key in [&account.profile.avatar_key, &account.profile.header_key]
        .into_iter()
        .flatten()
    {
        if let Ok(key) = Key::parse(key) {
            let _ = state.store.delete(&key).await;
        }
    }
    db::accounts::retire(&state.db, &account.id).await?;
    state.queue.wake();
    Ok(())
}
