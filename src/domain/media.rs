use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    Image,
    Video,
}

impl MediaKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Video => "video",
        }
    }
    pub fn parse(s: &str) -> Option<MediaKind> {
        match s {
            "image" => Some(MediaKind::Image),
            "video" => Some(MediaKind::Video),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaState {
    Queued,
    Processing,
    Ready,
    Failed,
}

impl MediaState {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaState::Queued => "queued",
            MediaState::Processing => "processing",
            MediaState::Ready => "ready",
            MediaState::Failed => "failed",
        }
    }
    pub fn parse(s: &str) -> Option<MediaState> {
        match s {
            "queued" => Some(MediaState::Queued),
            "processing" => Some(MediaState::Processing),
            "ready" => Some(MediaState::Ready),
            "failed" => Some(MediaState::Failed),
            _ => None,
        }
    }
}

/// One served file of a media (a photo's display, preview or thumb size; a video's master
/// playlist, renditions, hash list and thumbnail).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StoredVariant {
    pub name: String,
    pub key: String,
    pub width: u32,
    pub height: u32,
    pub mime: String,
    /// A video's duration (on its `hls` variant), for the ActivityPub Video.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fps: Option<f64>,
    /// A rendition's file size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

/// A focal point as Mastodon defines it: x and y in -1.0..=1.0, y pointing up.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Focus {
    pub x: f64,
    pub y: f64,
}

impl Focus {
    /// Parses Mastodon's `"x,y"` form.
    pub fn parse(raw: &str) -> Option<Focus> {
        let (x, y) = raw.split_once(',')?;
        let focus = Focus {
            x: x.trim().parse().ok()?,
            y: y.trim().parse().ok()?,
        };
        let valid = |v: f64| v.is_finite() && (-1.0..=1.0).contains(&v);
        (valid(focus.x) && valid(focus.y)).then_some(focus)
    }
}

#[derive(Debug, Clone)]
pub struct Media {
    pub id: String,
    pub account_id: String,
    pub kind: MediaKind,
    pub content_type: String,
    pub state: MediaState,
    pub progress: i64,
    pub error: Option<String>,
    pub original_key: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub description: Option<String>,
    pub created_at: i64,
    /// As displayed (after rotation); known once processed.
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub blurhash: Option<String>,
    pub focus: Option<Focus>,
    pub variants: Vec<StoredVariant>,
    /// A remote post's media, shown from its own server instead of stored variants.
    pub remote: Option<RemoteFiles>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RemoteFiles {
    pub url: String,
    pub preview_url: Option<String>,
    pub hls_url: Option<String>,
}

impl Media {
    pub fn variant(&self, name: &str) -> Option<&StoredVariant> {
        self.variants.iter().find(|v| v.name == name)
    }
}

/// The formats accepted at upload, recognised from their bytes. The name decides the stored
/// key's extension, never the client's file name.
pub struct AcceptedType {
    pub mime: &'static str,
    pub extension: &'static str,
    pub kind: MediaKind,
}

const ACCEPTED: &[AcceptedType] = &[
    AcceptedType {
        mime: "image/jpeg",
        extension: "jpg",
        kind: MediaKind::Image,
    },
    AcceptedType {
        mime: "image/png",
        extension: "png",
        kind: MediaKind::Image,
    },
    AcceptedType {
        mime: "image/gif",
        extension: "gif",
        kind: MediaKind::Image,
    },
    AcceptedType {
        mime: "image/webp",
        extension: "webp",
        kind: MediaKind::Image,
    },
    AcceptedType {
        mime: "image/heif",
        extension: "heif",
        kind: MediaKind::Image,
    },
    AcceptedType {
        mime: "image/avif",
        extension: "avif",
        kind: MediaKind::Image,
    },
    AcceptedType {
        mime: "video/mp4",
        extension: "mp4",
        kind: MediaKind::Video,
    },
    AcceptedType {
        mime: "video/quicktime",
        extension: "mov",
        kind: MediaKind::Video,
    },
    AcceptedType {
        mime: "video/webm",
        extension: "webm",
        kind: MediaKind::Video,
    },
    AcceptedType {
        mime: "video/x-matroska",
        extension: "mkv",
        kind: MediaKind::Video,
    },
    AcceptedType {
        mime: "video/x-m4v",
        extension: "m4v",
        kind: MediaKind::Video,
    },
    AcceptedType {
        mime: "video/mpeg",
        extension: "mpg",
        kind: MediaKind::Video,
    },
    AcceptedType {
        mime: "video/x-msvideo",
        extension: "avi",
        kind: MediaKind::Video,
    },
];

/// Every type an upload may have, as the instance endpoint lists them.
pub fn accepted_mimes() -> impl Iterator<Item = &'static str> {
    ACCEPTED.iter().map(|t| t.mime)
}

pub fn accepted_type(mime: &str) -> Option<&'static AcceptedType> {
    ACCEPTED.iter().find(|t| t.mime == mime)
}

/// The content type to serve for a stored key, from the extension the server gave it.
pub fn mime_for_key(key: &str) -> &'static str {
    let ext = key.rsplit_once('.').map_or("", |(_, e)| e);
    ACCEPTED
        .iter()
        .find(|t| t.extension == ext)
        .map(|t| t.mime)
        .unwrap_or(match ext {
            "m3u8" => "application/vnd.apple.mpegurl",
            "m4s" => "video/iso.segment",
            "json" => "application/json",
            "zip" => "application/zip",
            _ => "application/octet-stream",
        })
}
