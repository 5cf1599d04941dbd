use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    Public,
    Unlisted,
    /// Followers only, in Mastodon's terms.
    Private,
    Direct,
}

impl Visibility {
    /// The narrower of two audiences: a boost never reaches further than what it boosts.
    pub fn narrower(self, other: Visibility) -> Visibility {
        let rank = |v: Visibility| match v {
            Visibility::Public => 0,
            Visibility::Unlisted => 1,
            Visibility::Private => 2,
            Visibility::Direct => 3,
        };
        if rank(other) > rank(self) { other } else { self }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Unlisted => "unlisted",
            Visibility::Private => "private",
            Visibility::Direct => "direct",
        }
    }

    pub fn parse(raw: &str) -> Result<Visibility> {
        match raw {
            "public" => Ok(Visibility::Public),
            "unlisted" => Ok(Visibility::Unlisted),
            "private" | "followers" => Ok(Visibility::Private),
            "direct" => Ok(Visibility::Direct),
            other => Err(Error::unprocessable(format!(
                "visibility must be public, unlisted, private or direct, not {other:?}"
            ))),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Status {
    pub id: String,
    pub account_id: String,
    pub text: String,
    pub visibility: Visibility,
    pub sensitive: bool,
    pub spoiler_text: String,
    pub in_reply_to_id: Option<String>,
    /// None while its media is still processing.
    pub published_at: Option<i64>,
    pub created_at: i64,
    /// A remote status's ActivityPub id and page; None for local ones (derived from the author).
    pub uri: Option<String>,
    pub url: Option<String>,
    /// A boost: the status this one shares.
    pub reblog_of_id: Option<String>,
    /// A remote video's title (PeerTube's `name`).
    pub title: Option<String>,
    /// When the text last changed after publishing; None if it never did.
    pub edited_at: Option<i64>,
    /// ISO 639 code the author gave, if any.
    pub language: Option<String>,
    /// The OAuth app a local post was written with (None from the web UI).
    pub app_id: Option<String>,
}

pub const MAX_TEXT_CHARS: usize = 5000;
pub const MAX_SPOILER_CHARS: usize = 500;

/// Checks a new status's text and attachments: some text or media; one video, or images up to
/// the album size.
pub fn validate(
    text: &str,
    spoiler: &str,
    kinds: &[super::media::MediaKind],
    max_album: usize,
) -> Result<()> {
    use super::media::MediaKind;
    if text.trim().is_empty() && kinds.is_empty() {
        return Err(Error::unprocessable(
            "a post needs text or at least one photo or video",
        ));
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(Error::unprocessable(format!(
            "the text is longer than {MAX_TEXT_CHARS} characters"
        )));
    }
    if spoiler.chars().count() > MAX_SPOILER_CHARS {
        return Err(Error::unprocessable(format!(
            "the content warning is longer than {MAX_SPOILER_CHARS} characters"
        )));
    }
    let videos = kinds.iter().filter(|k| **k == MediaKind::Video).count();
    if videos > 1 || (videos == 1 && kinds.len() > 1) {
        return Err(Error::unprocessable("a post has one video, or photos, not both"));
    }
    if kinds.len() > max_album {
        return Err(Error::unprocessable(format!(
            "a post has at most {max_album} photos"
        )));
    }
    Ok(())
}

/// Whether `code` looks like a language tag (ISO 639 with an optional region: `en`, `pt-BR`).
pub fn is_language(code: &str) -> bool {
    let mut parts = code.split('-');
    let primary = parts.next().unwrap_or("");
    (2..=3).contains(&primary.len())
        && primary.bytes().all(|b| b.is_ascii_lowercase())
        && parts.all(|p| (2..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Escapes the text and turns line breaks into paragraphs, as Mastodon renders plain text.
pub fn to_html(text: &str) -> String {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&#39;")
    };
    text.split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .map(|p| format!("<p>{}</p>", escape(p.trim()).replace('\n', "<br>")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::media::MediaKind::{Image, Video};

    #[test]
    fn albums_and_videos() {
        assert!(validate("hi", "", &[], 10).is_ok());
        assert!(validate("", "", &[Image, Image], 10).is_ok());
        assert!(validate("", "", &[], 10).is_err());
        assert!(validate("", "", &[Video, Image], 10).is_err());
        assert!(validate("", "", &[Video, Video], 10).is_err());
        assert!(validate("", "", &[Image; 11], 10).is_err());
    }

    #[test]
    fn language_codes() {
        assert!(is_language("en") && is_language("pt-BR") && is_language("yue"));
        assert!(!is_language("") && !is_language("EN") && !is_language("english") && !is_language("en-"));
        assert!(!is_language("<b>"));
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(to_html("a <b>\nc\n\nd"), "<p>a &lt;b&gt;<br>c</p><p>d</p>");
    }
}
