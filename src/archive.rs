//! An account's archive: everything it owns in one zip, in Mastodon's archive layout so tools
//! that read those read ours (`actor.json`, `outbox.json` of `Create` activities, `likes.json`,
//! `bookmarks.json`, the originals under `media_attachments/`), its relations as Mastodon's
//! CSVs (plus followers with their inboxes, which Mastodon leaves out), and a manifest with the
//! sha256 of every file. Built by a job into the object store, a file at a time through a temp
//! folder: nothing is held whole in memory, whatever the account's size.

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use futures_util::StreamExt;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::{
    db::{
        self,
        exports::Export,
        relations::{Relation, list},
    },
    domain::account::Account,
    error::{Error, Kind, Result},
    jobs::{JobError, JobHandler, JobRun},
    state::AppState,
    storage::Key,
};

pub const EXPORT: &str = "account.export";
/// One archive a day, as building one reads everything the account has.
const ONE_DAY_MS: i64 = 24 * 3600 * 1000;
/// How long a built archive can be downloaded.
pub const KEPT_MS: i64 = 7 * ONE_DAY_MS;

#[derive(serde::Serialize, serde::Deserialize)]
struct Payload {
    export_id: String,
}

/// Asks for an archive: refused (429) when the account asked for one within the day.
pub async fn request(state: &AppState, account: &Account) -> Result<Export> {
    let now = db::now_ms();
    let export = Export {
        id: uuid::Uuid::now_v7().to_string(),
        account_id: account.id.clone(),
        state: "queued".into(),
        storage_key: None,
        size_bytes: None,
        error: None,
        created_at: now,
        expires_at: now + KEPT_MS,
    };
    let job = state.queue.prepare(
        EXPORT,
        &Payload {
            export_id: export.id.clone(),
        },
    )?;
    if !db::exports::start(&state.db, &export, now - ONE_DAY_MS, &job).await? {
        return Err(Error::new(
            Kind::TooManyRequests,
            "export_too_soon",
            "an archive can be made once a day; the last one is still there to download",
        ));
    }
    state.queue.wake();
    Ok(export)
}

/// Where `owner`'s ready, unexpired archive `id` is stored: 404 for anyone else's, 410 once
/// expired, 409 while it is still being made.
pub async fn stored(state: &AppState, owner: &Account, id: &str) -> Result<Key> {
    let export = db::exports::get(&state.db, id)
        .await?
        .filter(|e| e.account_id == owner.id)
        .ok_or_else(|| Error::not_found("export"))?;
    if export.expires_at < db::now_ms() {
        return Err(Error::new(
            Kind::Gone,
            "export_expired",
            "this archive has expired; ask for a new one",
        ));
    }
    let key = export
        .storage_key
        .as_deref()
        .filter(|_| export.state == "ready")
        .ok_or_else(|| {
            Error::new(
                Kind::Conflict,
                "export_not_ready",
                "the archive is still being made",
            )
        })?;
    Key::parse(key)
}

/// The zip being written, with the manifest of what went in.
struct Builder {
    zip: zip::ZipWriter<std::fs::File>,
    files: Vec<Value>,
}

impl Builder {
    /// Adds a file from disk (moved to a blocking thread: zip writing is synchronous).
    async fn add_file(mut self, name: String, path: PathBuf, compress: bool) -> Result<Builder> {
        tokio::task::spawn_blocking(move || {
            let method = if compress {
                zip::CompressionMethod::Deflated
            } else {
                zip::CompressionMethod::Stored
            };
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(method)
                .large_file(true);
            self.zip.start_file(name.as_str(), options).map_err(zip_error)?;
            let mut file = std::fs::File::open(&path).map_err(io_error)?;
            let mut hasher = Sha256::new();
            let mut buf = vec![0u8; 256 * 1024];
            let mut size = 0u64;
            loop {
                let n = std::io::Read::read(&mut file, &mut buf).map_err(io_error)?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
                self.zip.write_all(&buf[..n]).map_err(io_error)?;
                size += n as u64;
            }
            self.files.push(json!({
                "path": name,
                "size": size,
                "sha256": hex::encode(hasher.finalize()),
            }));
            let _ = std::fs::remove_file(&path);
            Ok(self)
        })
        .await
        .map_err(|e| Error::internal("the archive writer stopped").with_source(e))?
    }

    async fn add_bytes(self, name: &str, bytes: Vec<u8>, dir: &Path) -> Result<Builder> {
        let path = dir.join(format!("part-{}", uuid::Uuid::now_v7()));
        tokio::fs::write(&path, bytes).await.map_err(io_error)?;
        self.add_file(name.to_owned(), path, true).await
    }
}

fn json(value: &Value) -> Result<Vec<u8>> {
    serde_json::to_vec_pretty(value).map_err(|e| Error::internal("cannot write the archive").with_source(e))
}

/// A post's ActivityPub id: its origin's, or ours for a local one.
async fn object_uri(state: &AppState, status: &crate::domain::status::Status) -> Result<Option<String>> {
    if let Some(uri) = &status.uri {
        return Ok(Some(uri.clone()));
    }
    Ok(db::accounts::by_id(&state.db, &status.account_id)
        .await?
        .map(|author| {
            crate::federation::objects::status_uri(state.config.public_url(), &author.username, &status.id)
        }))
}

fn io_error(e: std::io::Error) -> Error {
    Error::internal("cannot write the archive").with_source(e)
}

fn zip_error(e: zip::result::ZipError) -> Error {
    Error::internal("cannot write the archive").with_source(e)
}

/// A stored object copied to a local file, streaming.
async fn fetch_to(state: &AppState, key: &str, path: &Path) -> Result<()> {
    let key = Key::parse(key)?;
    let mut object = state.store.get(&key, None).await?;
    let mut file = tokio::fs::File::create(path).await.map_err(io_error)?;
    while let Some(chunk) = object.body.next().await {
        file.write_all(&chunk.map_err(io_error)?)
            .await
            .map_err(io_error)?;
    }
    file.flush().await.map_err(io_error)?;
    Ok(())
}

fn extension(key: &str) -> &str {
    key.rsplit_once('.').map_or("bin", |(_, e)| e)
}

/// An account's address as Mastodon's CSVs write it: `name@host`, ours with our host.
fn address(state: &AppState, account: &Account) -> String {
    match &account.domain {
        Some(domain) => format!("{}@{domain}", account.username),
        None => format!(
            "{}@{}",
            account.username,
            crate::federation::resolve::own_host(state)
        ),
    }
}

/// Every account in a relation of `id`, page by page.
async fn all(state: &AppState, relation: fn(&str) -> Relation<'_>, id: &str) -> Result<Vec<Account>> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = list(&state.db, relation(id), cursor.as_deref(), 40).await?;
        let Some((last, _)) = page.last() else {
            break;
        };
        cursor = Some(last.clone());
        let done = page.len() < 40;
        out.extend(page.into_iter().map(|(_, a)| a));
        if done {
            break;
        }
    }
    Ok(out)
}

/// Writes the archive of `account` to `target` (a local path).
pub async fn build(state: &AppState, account: &Account, target: &Path) -> Result<u64> {
    let dir = target.with_extension("parts");
    tokio::fs::create_dir_all(&dir).await.map_err(io_error)?;
    let file = std::fs::File::create(target).map_err(io_error)?;
    let mut b = Builder {
        zip: zip::ZipWriter::new(file),
        files: Vec::new(),
    };
    let base = state.config.public_url();

    // The actor, with its pictures beside it.
    let mut actor = crate::federation::actors::person(base, account, &|key| state.file_url(key));
    for (field, key) in [
        ("icon", &account.profile.avatar_key),
        ("image", &account.profile.header_key),
    ] {
        if let Some(key) = key {
            let name = format!(
                "{}.{}",
                if field == "icon" { "avatar" } else { "header" },
                extension(key)
            );
            let path = dir.join(&name);
            fetch_to(state, key, &path).await?;
            b = b.add_file(name.clone(), path, false).await?;
            actor[field]["url"] = json!(name);
        }
    }
    b = b.add_bytes("actor.json", json(&actor)?, &dir).await?;

    // Every post, oldest first, as the Create that carried it, media pointing into the zip.
    let outbox_path = dir.join("outbox.json");
    let mut outbox = tokio::fs::File::create(&outbox_path).await.map_err(io_error)?;
    let actor_id = crate::domain::account::person_id(base, &account.username);
    let total = db::statuses::count_all_of(&state.db, &account.id).await?;
    outbox
        .write_all(
            json!({
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": format!("{actor_id}/outbox"),
                "type": "OrderedCollection",
                "totalItems": total,
            })
            .to_string()
            .trim_end_matches('}')
            .as_bytes(),
        )
        .await
        .map_err(io_error)?;
    outbox.write_all(b",\"orderedItems\":[").await.map_err(io_error)?;
    let mut first = true;
    let mut after: Option<String> = None;
    loop {
        let page = db::statuses::all_of(&state.db, &account.id, after.as_deref(), 100).await?;
        let Some(last) = page.last() else {
            break;
        };
        after = Some(last.id.clone());
        for status in &page {
            let Some((mut object, _)) = crate::federation::outbox::status_object(state, &status.id).await?
            else {
                continue;
            };
            let mut media = db::statuses::media_of(&state.db, &[status.id.as_str()]).await?;
            for m in media.remove(&status.id).unwrap_or_default() {
                if m.remote.is_some() || m.original_key.is_empty() {
                    continue;
                }
                let name = format!(
                    "media_attachments/files/{}/original.{}",
                    m.id,
                    extension(&m.original_key)
                );
                let path = dir.join(format!("media-{}", m.id));
                fetch_to(state, &m.original_key, &path).await?;
                b = b.add_file(name.clone(), path, false).await?;
                point_at_archive(&mut object, &m, &name);
            }
            let activity = crate::federation::objects::create(object);
            if !first {
                outbox.write_all(b",").await.map_err(io_error)?;
            }
            first = false;
            outbox
                .write_all(activity.to_string().as_bytes())
                .await
                .map_err(io_error)?;
        }
        if page.len() < 100 {
            break;
        }
    }
    outbox.write_all(b"]}").await.map_err(io_error)?;
    outbox.flush().await.map_err(io_error)?;
    drop(outbox);
    b = b.add_file("outbox.json".into(), outbox_path, true).await?;

    // What it liked and bookmarked, by the posts' ids.
    for (name, table) in [("likes.json", "favourites"), ("bookmarks.json", "bookmarks")] {
        let mut uris = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = db::statuses::marked_by(&state.db, table, &account.id, cursor.as_deref(), 40).await?;
            let Some((last, _)) = page.last() else {
                break;
            };
            cursor = Some(last.clone());
            let done = page.len() < 40;
            for (_, status) in page {
                if let Some(uri) = object_uri(state, &status).await? {
                    uris.push(uri);
                }
            }
            if done {
                break;
            }
        }
        if name == "bookmarks.json" {
            b = b
                .add_bytes(
                    "bookmarks.csv",
                    format!("{}\n", uris.join("\n")).into_bytes(),
                    &dir,
                )
                .await?;
        }
        let collection = json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": name,
            "type": "OrderedCollection",
            "totalItems": uris.len(),
            "orderedItems": uris,
        });
        b = b.add_bytes(name, json(&collection)?, &dir).await?;
    }

    // Relations, as Mastodon's CSVs.
    let me = account.id.as_str();
    let following = all(state, |id| Relation::Following(id), me).await?;
    let mut csv = String::from("Account address,Show boosts,Notify on new posts,Languages\n");
    for a in &following {
        let notify = db::federation::get_follow(&state.db, me, &a.id)
            .await?
            .is_some_and(|f| f.notify);
        csv.push_str(&format!("{},true,{notify},\n", address(state, a)));
    }
    b = b
        .add_bytes("following_accounts.csv", csv.into_bytes(), &dir)
        .await?;
    let followers = all(state, |id| Relation::Followers(id), me).await?;
    let mut csv = String::from("Account address,Inbox\n");
    for a in &followers {
        let inbox = a
            .remote
            .as_ref()
            .map(|r| r.delivery_inbox().to_owned())
            .unwrap_or_default();
        csv.push_str(&format!("{},{inbox}\n", address(state, a)));
    }
    b = b.add_bytes("followers.csv", csv.into_bytes(), &dir).await?;
    let blocked = all(state, |id| Relation::Blocked(id), me).await?;
    let csv: String = blocked
        .iter()
        .map(|a| format!("{}\n", address(state, a)))
        .collect();
    b = b
        .add_bytes("blocked_accounts.csv", csv.into_bytes(), &dir)
        .await?;
    let muted = all(state, |id| Relation::Muted(id), me).await?;
    let mut csv = String::from("Account address,Hide notifications\n");
    for a in &muted {
        csv.push_str(&format!("{},true\n", address(state, a)));
    }
    b = b.add_bytes("muted_accounts.csv", csv.into_bytes(), &dir).await?;
    // Kaleido keeps no domain blocks of a person's own: the file is there, and empty.
    b = b.add_bytes("blocked_domains.csv", Vec::new(), &dir).await?;

    // The manifest last, naming every file before it.
    let manifest = json!({
        "kaleido_archive": 1,
        "account": address(state, account),
        "actor": actor_id,
        "created_at": crate::domain::time::rfc3339(db::now_ms()),
        "files": b.files,
    });
    let Builder { mut zip, .. } = b;
    let size = tokio::task::spawn_blocking(move || -> Result<u64> {
        let options =
            zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("manifest.json", options).map_err(zip_error)?;
        zip.write_all(&json(&manifest)?).map_err(io_error)?;
        let file = zip.finish().map_err(zip_error)?;
        Ok(file.metadata().map_err(io_error)?.len())
    })
    .await
    .map_err(|e| Error::internal("the archive writer stopped").with_source(e))??;
    let _ = tokio::fs::remove_dir_all(&dir).await;
    Ok(size)
}

/// Points an object's attachment for `media` at its file in the archive.
fn point_at_archive(object: &mut Value, media: &crate::domain::media::Media, path: &str) {
    let Some(attachments) = object.get_mut("attachment").and_then(Value::as_array_mut) else {
        // A Video object names its files in `url`; the archive adds the original as an attachment.
        object["attachment"] = json!([{ "type": "Document", "mediaType": media.content_type, "url": path, "name": media.description }]);
        return;
    };
    let original = json!({ "type": "Document", "mediaType": media.content_type, "url": path, "name": media.description,
        "focalPoint": media.focus.map(|f| vec![f.x, f.y]), "blurhash": media.blurhash });
    match attachments
        .iter_mut()
        .find(|a| a["name"] == json!(media.description) && a.get("kaleido_archived").is_none())
    {
        Some(existing) => {
            existing["url"] = json!(path);
            existing["mediaType"] = json!(media.content_type);
            existing["kaleido_archived"] = json!(true);
        }
        None => attachments.push(original),
    }
}

/// Builds an export asked for: into a temp file, then the store; failures are recorded.
pub struct ExportJob {
    pub state: AppState,
}

#[async_trait::async_trait]
impl JobHandler for ExportJob {
    async fn run(&self, job: &JobRun) -> std::result::Result<(), JobError> {
        let payload: Payload = job.payload()?;
        let state = &self.state;
        let Some(export) = db::exports::get(&state.db, &payload.export_id).await? else {
            return Ok(());
        };
        let Some(account) = db::accounts::by_id(&state.db, &export.account_id).await? else {
            return Ok(());
        };
        let target = state
            .config
            .storage
            .tmp_path
            .join(format!("export-{}.zip", export.id));
        let size = build(state, &account, &target).await?;
        let key = Key::parse(&format!(
            "exports/{}/{}-{}.zip",
            account.id,
            export.id,
            crate::accounts::new_csrf_token()
        ))?;
        state.store.put_path(&key, &target, "application/zip").await?;
        let _ = tokio::fs::remove_file(&target).await;
        db::exports::finish(&state.db, &export.id, key.as_str(), size as i64).await?;
        Ok(())
    }

    async fn failed(&self, payload: &str, error: &str) {
        if let Ok(p) = serde_json::from_str::<Payload>(payload) {
            let _ = db::exports::fail(&self.state.db, &p.export_id, error).await;
        }
    }
}
