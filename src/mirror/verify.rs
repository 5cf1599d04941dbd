//! Checking copies against the origin's segment hash list: as they download (RangeCheck), on
//! disk (verify_file), and read back from the store now and then (reverify), where a rotten
//! copy is withdrawn at once and copied again.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{
    HashList, MAX_PLAYLIST_BYTES,
    copy::{COPY, CopyPayload},
    range_of, refused,
};
use crate::{
    db,
    error::{Error, Result},
    jobs::{JobError, JobHandler, JobRun},
    state::AppState,
    storage::Key,
};

/// Checks a file's hashed ranges as its bytes go by, in order: a copy is verified while it
/// downloads, with no second read. Bytes outside every range (the init section, which
/// PeerTube's list does not hash) pass unchecked.
pub struct RangeCheck {
    name: String,
    /// (start, end inclusive, hex SHA-256), by start; never overlapping.
    ranges: Vec<(u64, u64, String)>,
    next: usize,
    at: u64,
    digest: Sha256,
}

impl RangeCheck {
    pub fn new(name: &str, hashes: &HashList) -> Result<RangeCheck> {
        // The hash list names files without their folder, as PeerTube's does.
        let name = name.rsplit('/').next().unwrap_or(name).to_owned();
        let listed = hashes
            .get(&name)
            .ok_or_else(|| refused(format!("the hash list does not cover {name}")))?;
        let mut ranges = Vec::with_capacity(listed.len());
        for (range, hash) in listed {
            let (start, end) = range_of(range).ok_or_else(|| refused(format!("bad range {range:?}")))?;
            ranges.push((start, end, hash.to_ascii_lowercase()));
        }
        ranges.sort_by_key(|r| r.0);
        if ranges.windows(2).any(|w| w[1].0 <= w[0].1) {
            return Err(refused(format!("the hash list's ranges of {name} overlap")));
        }
        Ok(RangeCheck {
            name,
            ranges,
            next: 0,
            at: 0,
            digest: Sha256::new(),
        })
    }

    /// Takes the bytes at `offset`; a chunk from the start again (a server that ignored a
    /// resume) starts the check over.
    pub fn feed_at(&mut self, offset: u64, bytes: &[u8]) -> Result<()> {
        if offset != self.at {
            if offset != 0 {
                return Err(Error::internal("bytes checked out of order"));
            }
            self.next = 0;
            self.at = 0;
            self.digest = Sha256::new();
        }
        self.feed(bytes)
    }

    pub fn feed(&mut self, mut bytes: &[u8]) -> Result<()> {
        while !bytes.is_empty() {
            let Some((start, end, hash)) = self.ranges.get(self.next) else {
                self.at += bytes.len() as u64;
                return Ok(());
            };
            let left = bytes.len() as u64;
            if self.at < *start {
                let skip = (start - self.at).min(left);
                self.at += skip;
                bytes = &bytes[skip as usize..];
                continue;
            }
            let take = (end + 1 - self.at).min(left);
            self.digest.update(&bytes[..take as usize]);
            self.at += take;
            bytes = &bytes[take as usize..];
            if self.at == end + 1 {
                if hex::encode(self.digest.finalize_reset()) != *hash {
                    return Err(refused(format!(
                        "segment {start}-{end} of {} does not match its hash",
                        self.name
                    )));
                }
                self.next += 1;
            }
        }
        Ok(())
    }

    /// Every listed range seen and sound.
    pub fn finish(&self) -> Result<()> {
        if self.next < self.ranges.len() {
            return Err(refused(format!(
                "{} is shorter than its hash list says",
                self.name
            )));
        }
        Ok(())
    }
}

/// Checks every listed range of a file on disk against its hash, reading it once.
pub fn verify_file(path: &std::path::Path, name: &str, hashes: &HashList) -> Result<()> {
    let mut check = RangeCheck::new(name, hashes)?;
    feed_file(&mut check, path)?;
    check.finish()
}

pub fn feed_file(check: &mut RangeCheck, path: &std::path::Path) -> Result<()> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            return Ok(());
        }
        check.feed(&buffer[..n])?;
    }
}

/// Reads a stored copy back and checks every segment against its hash list. A rotten copy is
/// withdrawn from use at once and copied again. Returns whether the copy was sound.
pub async fn reverify(state: &AppState, mirror_id: &str) -> Result<bool> {
    let Some(mirror) = db::mirrors::mirror(&state.db, mirror_id).await? else {
        return Ok(true);
    };
    if mirror.state != "verified" {
        return Ok(true);
    }
    let prefix = format!("mirrors/{mirror_id}/");
    let hashes: HashList = serde_json::from_slice(
        &crate::storage::read_small(
            &state.store,
            &Key::parse(&format!("{prefix}segments-sha256.json"))?,
            MAX_PLAYLIST_BYTES,
        )
        .await?,
    )
    .map_err(|_| refused("the stored hash list is unreadable"))?;
    let mut problem = None;
    'files: for object in state.store.list(&prefix).await? {
        let name = object
            .key
            .as_str()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        let Some(ranges) = hashes.get(&name) else {
            continue;
        };
        for (range, hash) in ranges {
            let Some((start, end)) = range_of(range) else {
                problem = Some(format!("bad range {range:?}"));
                break 'files;
            };
            if end >= object.size {
                problem = Some(format!("{name} is shorter than its hash list says"));
                break 'files;
            }
            let mut part = state
                .store
                .get(&object.key, Some(crate::storage::ByteRange { start, end }))
                .await?;
            let mut digest = Sha256::new();
            while let Some(chunk) = futures_util::StreamExt::next(&mut part.body).await {
                digest.update(chunk?);
            }
            if hex::encode(digest.finalize()) != *hash {
                problem = Some(format!("segment {range} of {name} no longer matches its hash"));
                break 'files;
            }
        }
    }
    match problem {
        None => {
            db::mirrors::mirror_done(
                &state.db,
                mirror_id,
                mirror.master_key.as_deref().unwrap_or_default(),
                mirror.size_bytes,
            )
            .await?;
            // Still sound: promised again for another lifetime.
            super::announce::renew(state, mirror_id).await?;
            Ok(true)
        }
        Some(problem) => {
            tracing::warn!(mirror = mirror_id, %problem, "a stored copy is rotten; copying it again");
            db::mirrors::mirror_failed(&state.db, mirror_id, &problem).await?;
            db::mirrors::count(&state.db, "mirror_verification_failures_total", 1).await?;
            let job = state.queue.prepare(
                COPY,
                &CopyPayload {
                    status_id: mirror.status_id.clone(),
                    strategy: None,
                },
            )?;
            db::jobs::enqueue(&state.db.pool, &job).await?;
            state.queue.wake();
            Ok(false)
        }
    }
}

pub const VERIFY: &str = "mirror.verify";

#[derive(Serialize, Deserialize)]
pub struct VerifyPayload {
    pub mirror_id: String,
}

/// Queues a check of every copy not checked within `mirroring.reverify_interval_seconds`.
pub async fn schedule_checks(state: &AppState) -> Result<usize> {
    let interval = i64::try_from(
        state
            .config
            .mirroring
            .reverify_interval_seconds
            .saturating_mul(1000),
    )
    .unwrap_or(i64::MAX);
    let due = db::mirrors::due_for_check(&state.db, db::now_ms() - interval).await?;
    for mirror_id in &due {
        let job = state.queue.prepare(
            VERIFY,
            &VerifyPayload {
                mirror_id: mirror_id.clone(),
            },
        )?;
        db::jobs::enqueue(&state.db.pool, &job).await?;
    }
    state.queue.wake();
    Ok(due.len())
}

pub struct Verify {
    pub state: AppState,
}

#[async_trait::async_trait]
impl JobHandler for Verify {
    async fn run(&self, job: &JobRun) -> Result<(), JobError> {
        let payload: VerifyPayload = job.payload()?;
        reverify(&self.state, &payload.mirror_id).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_range_is_checked() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("240p.mp4");
        let data: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
        std::fs::write(&path, &data).expect("write");
        let hash = |range: std::ops::RangeInclusive<usize>| hex::encode(Sha256::digest(&data[range]));
        let mut list = HashList::new();
        list.insert(
            "240p.mp4".into(),
            [
                ("800-1799".to_owned(), hash(800..=1799)),
                ("1800-2999".to_owned(), hash(1800..=2999)),
            ]
            .into(),
        );
        assert!(verify_file(&path, "240p/240p.mp4", &list).is_ok());
        let mut rotten = data.clone();
        rotten[2500] ^= 1;
        std::fs::write(&path, &rotten).expect("write");
        assert!(verify_file(&path, "240p.mp4", &list).is_err());
        std::fs::write(&path, &data[..2000]).expect("write");
        assert!(verify_file(&path, "240p.mp4", &list).is_err(), "a short file");
        assert!(
            verify_file(&path, "other.mp4", &list).is_err(),
            "a file the list does not cover"
        );
    }

    #[test]
    fn ranges_are_checked_as_chunks_go_by_whatever_their_size() {
        let data: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
        let hash = |range: std::ops::RangeInclusive<usize>| hex::encode(Sha256::digest(&data[range]));
        let mut list = HashList::new();
        list.insert(
            "v.mp4".into(),
            [
                ("800-1799".to_owned(), hash(800..=1799)),
                ("1800-2999".to_owned(), hash(1800..=2999)),
            ]
            .into(),
        );
        for size in [1, 7, 800, 1000, 4096] {
            let mut check = RangeCheck::new("240p/v.mp4", &list).expect("listed");
            let mut offset = 0;
            for chunk in data.chunks(size) {
                check.feed_at(offset, chunk).expect("sound");
                offset += chunk.len() as u64;
            }
            check.finish().expect("complete");
        }
        // A server that ignores a resume sends the file from its start: checked over.
        let mut check = RangeCheck::new("v.mp4", &list).expect("listed");
        check.feed_at(0, &data[..1500]).expect("sound");
        check.feed_at(0, &data).expect("sound from the start again");
        check.finish().expect("complete");
        // Cut short: not complete; a flipped byte: refused as it goes by.
        let mut check = RangeCheck::new("v.mp4", &list).expect("listed");
        check.feed(&data[..2000]).expect("sound so far");
        assert!(check.finish().is_err());
        let mut rotten = data.clone();
        rotten[900] ^= 1;
        let mut check = RangeCheck::new("v.mp4", &list).expect("listed");
        assert!(check.feed(&rotten[..1800]).is_err());
        // Overlapping ranges are not a hash list PeerTube or Kaleido writes.
        list.insert(
            "w.mp4".into(),
            [
                ("0-10".to_owned(), hash(0..=10)),
                ("5-20".to_owned(), hash(5..=20)),
            ]
            .into(),
        );
        assert!(RangeCheck::new("w.mp4", &list).is_err());
    }
}
