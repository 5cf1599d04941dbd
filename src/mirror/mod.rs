//! Mirroring: instances follow each other's instance actors, copy each other's videos, check
//! every segment against the origin's hash list before serving a byte, announce their copies
//! (`CacheFile`, as PeerTube does), and players get one playlist that lists every copy.

pub mod announce;
pub mod copy;
pub mod peers;
pub mod playlist;
pub mod strategy;
pub mod verify;

/// A playlist or hash list larger than this is not one.
pub const MAX_PLAYLIST_BYTES: usize = 4 * 1024 * 1024;

/// The hash list's shape (PeerTube's `segments-sha256.json`): file name → "start-end" (end
/// inclusive) → hex SHA-256.
pub type HashList = std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>;

/// A copy or announcement that cannot be taken: the sender's data is at fault.
pub(crate) fn refused(message: impl Into<String>) -> crate::error::Error {
    crate::error::Error::unprocessable(message)
}

/// Parses a `"start-end"` key.
pub fn range_of(key: &str) -> Option<(u64, u64)> {
    let (start, end) = key.split_once('-')?;
    let (start, end): (u64, u64) = (start.parse().ok()?, end.parse().ok()?);
    // The numbers come from another server: `end + 1` is taken later, so it must exist.
    (end >= start && end.checked_add(1).is_some()).then_some((start, end))
}

/// A file name a playlist may name for a copy: plain, no path, nothing odd.
pub fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_')
}

/// The URIs a playlist names, in order: variant playlists of a master, or the init section
/// and segments of a media playlist (each once).
pub fn uris(playlist: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |uri: &str| {
        let uri = uri.trim().to_owned();
        if !uri.is_empty() && !out.contains(&uri) {
            out.push(uri);
        }
    };
    for line in playlist.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("#EXT-X-MAP:") {
            if let Some(uri) = attribute(rest, "URI") {
                push(&uri);
            }
        } else if !line.starts_with('#') && !line.is_empty() {
            push(line);
        }
    }
    out
}

/// A quoted attribute of an `#EXT-X-…` tag.
pub fn attribute(attributes: &str, name: &str) -> Option<String> {
    let at = attributes.find(&format!("{name}=\""))? + name.len() + 2;
    let end = attributes[at..].find('"')?;
    Some(attributes[at..at + end].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn playlists_name_their_files() {
        let media = "#EXTM3U\n#EXT-X-MAP:URI=\"v.mp4\",BYTERANGE=\"800@0\"\n#EXT-X-BYTERANGE:100@800\nv.mp4\n#EXT-X-BYTERANGE:100@900\nv.mp4\n";
        assert_eq!(uris(media), vec!["v.mp4"]);
        let master =
            "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n480.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=2\n240.m3u8\n";
        assert_eq!(uris(master), vec!["480.m3u8", "240.m3u8"]);
        assert!(plain_name("240p-fragmented.mp4"));
        for bad in ["../x", "a/b", ".hidden", "", "x y"] {
            assert!(!plain_name(bad), "{bad}");
        }
        assert_eq!(range_of("800-899"), Some((800, 899)));
        assert_eq!(range_of("9-1"), None);
        // `end + 1` of another server's number must not overflow later.
        assert_eq!(range_of(&format!("0-{}", u64::MAX)), None);
        assert_eq!(range_of(&format!("{0}-{0}", u64::MAX)), None);
    }
}
