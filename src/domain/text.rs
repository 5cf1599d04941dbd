//! Plain text as HTML, the way Mastodon renders what people type: escaped, paragraphs and line
//! breaks kept, and links, #hashtags and @mentions made into links. Nothing a person typed is
//! ever taken as markup.

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Where the text is shown: the instance's public URL (for tag and mention links) and whether
/// links get `rel="me"` (profile fields, so other sites can verify them).
pub struct Links<'a> {
    pub base: &'a str,
    pub rel_me: bool,
}

/// A post's mentions as they were resolved: (`name` or `name@domain` lowercased, as typed
/// minus the `@`; the account's page). A post links only these: a mention nobody answers to
/// stays text, as Mastodon leaves it.
pub type Resolved<'a> = &'a [(String, String)];

/// The accounts a text mentions, once each, in order: (name, domain if given).
pub fn mentions(text: &str) -> Vec<(String, Option<String>)> {
    let mut out: Vec<(String, Option<String>)> = Vec::new();
    for token in tokens(text) {
        if let Token::Mention { name, domain } = token {
            let found = (name.to_lowercase(), domain.map(str::to_lowercase));
            if !out.contains(&found) {
                out.push(found);
            }
        }
    }
    out
}

/// A tag as it is kept and compared: case-folded, as Mastodon matches them.
pub fn normal_tag(tag: &str) -> String {
    tag.trim_start_matches('#').to_lowercase()
}

/// Whether `tag` (without `#`) is one Kaleido reads: letters, digits and `_`, a letter among
/// them, at most 100 characters.
pub fn is_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.chars().count() <= 100
        && tag.chars().all(|c| c.is_alphanumeric() || c == '_')
        && tag.chars().any(char::is_alphabetic)
}

/// The hashtags of a text, case-folded, once each, in order.
pub fn hashtags(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for token in tokens(text) {
        if let Token::Tag(tag) = token {
            let tag = normal_tag(tag);
            if !out.contains(&tag) {
                out.push(tag);
            }
        }
    }
    out
}

enum Token<'a> {
    Text(&'a str),
    Url(&'a str),
    Tag(&'a str),
    Mention { name: &'a str, domain: Option<&'a str> },
}

fn boundary_before(text: &str, at: usize) -> bool {
    text[..at]
        .chars()
        .next_back()
        .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '/' || c == '@' || c == '#'))
}

fn url_end(rest: &str) -> usize {
    let end = rest
        .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '\''))
        .unwrap_or(rest.len());
    // Sentence punctuation after a link is not part of it; a closing bracket only when the
    // link did not open one.
    let mut url = &rest[..end];
    loop {
        let trimmed = url.trim_end_matches(['.', ',', ';', ':', '!', '?']);
        let trimmed = if trimmed.ends_with(')') && !trimmed.contains('(') {
            &trimmed[..trimmed.len() - 1]
        } else {
            trimmed
        };
        if trimmed.len() == url.len() {
            break;
        }
        url = trimmed;
    }
    url.len()
}

fn tokens(text: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut plain_start = 0;
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        let found: Option<(Token, usize)> =
            if (rest.starts_with("https://") || rest.starts_with("http://")) && boundary_before(text, i) {
                let len = url_end(rest);
                let scheme = if rest.starts_with("https://") { 8 } else { 7 };
                (len > scheme).then(|| (Token::Url(&rest[..len]), len))
            } else if rest.starts_with('#') && boundary_before(text, i) {
                let len = rest[1..]
                    .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len() - 1);
                let tag = &rest[1..1 + len];
                // A tag needs a letter: "#1" is a number, not a tag.
                (tag.chars().any(char::is_alphabetic) && tag.chars().count() <= 100)
                    .then(|| (Token::Tag(tag), len + 1))
            } else if rest.starts_with('@') && boundary_before(text, i) {
                let name_len = rest[1..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len() - 1);
                let name = &rest[1..1 + name_len];
                let after = &rest[1 + name_len..];
                let domain = after.strip_prefix('@').map(|d| {
                    let len = d
                        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == ':'))
                        .unwrap_or(d.len());
                    d[..len].trim_end_matches(['.', ':', '-'])
                });
                match domain {
                    Some(d) if d.contains('.') || d.contains(':') => Some((
                        Token::Mention {
                            name,
                            domain: Some(d),
                        },
                        1 + name_len + 1 + d.len(),
                    )),
                    _ if !name.is_empty() && name.len() <= 30 => {
                        Some((Token::Mention { name, domain: None }, 1 + name_len))
                    }
                    _ => None,
                }
            } else {
                None
            };
        match found {
            Some((token, len)) => {
                if plain_start < i {
                    out.push(Token::Text(&text[plain_start..i]));
                }
                out.push(token);
                i += len;
                plain_start = i;
            }
            None => i += rest.chars().next().map_or(1, char::len_utf8),
        }
    }
    if plain_start < text.len() {
        out.push(Token::Text(&text[plain_start..]));
    }
    out
}

fn render_line(line: &str, links: &Links) -> String {
    render_line_with(line, links, None)
}

fn render_line_with(line: &str, links: &Links, resolved: Option<Resolved>) -> String {
    let rel = if links.rel_me {
        "me nofollow noopener noreferrer"
    } else {
        "nofollow noopener noreferrer"
    };
    tokens(line)
        .into_iter()
        .map(|token| match token {
            Token::Text(t) => escape(t),
            Token::Url(url) => {
                let shown = url.trim_start_matches("https://").trim_start_matches("http://");
                format!(
                    "<a href=\"{}\" target=\"_blank\" rel=\"{rel}\" translate=\"no\">{}</a>",
                    escape(url),
                    escape(shown)
                )
            }
            Token::Tag(tag) => format!(
                "<a href=\"{}/tags/{}\" class=\"mention hashtag\" rel=\"tag\">#<span>{}</span></a>",
                links.base,
                escape(&tag.to_lowercase()),
                escape(tag)
            ),
            Token::Mention { name, domain } => {
                let href = match (resolved, domain) {
                    (Some(known), _) => {
                        let key = match domain {
                            Some(d) => format!("{}@{}", name.to_lowercase(), d.to_lowercase()),
                            None => name.to_lowercase(),
                        };
                        match known.iter().find(|(acct, _)| *acct == key) {
                            Some((_, href)) => escape(href),
                            None => {
                                return match domain {
                                    Some(d) => escape(&format!("@{name}@{d}")),
                                    None => escape(&format!("@{name}")),
                                };
                            }
                        }
                    }
                    (None, Some(d)) => format!("{}/@{}@{}", links.base, escape(name), escape(d)),
                    (None, None) => format!("{}/@{}", links.base, escape(name)),
                };
                format!(
                    "<span class=\"h-card\" translate=\"no\"><a href=\"{href}\" class=\"u-url mention\">@<span>{}</span></a></span>",
                    escape(name)
                )
            }
        })
        .collect()
}

/// Paragraphs at blank lines, `<br>` at line breaks, links made.
pub fn to_html(text: &str, links: &Links) -> String {
    paragraphs(text, &|l| render_line(l, links))
}

/// A post's text as HTML: like [`to_html`], with mentions linked only where they were resolved.
pub fn post_html(text: &str, links: &Links, resolved: Resolved) -> String {
    paragraphs(text, &|l| render_line_with(l, links, Some(resolved)))
}

fn paragraphs(text: &str, line: &dyn Fn(&str) -> String) -> String {
    text.replace("\r\n", "\n")
        .split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            let lines: Vec<String> = p.trim().split('\n').map(line).collect();
            format!("<p>{}</p>", lines.join("<br>"))
        })
        .collect()
}

/// A profile field's value: a single line, a lone link made one.
pub fn field_html(value: &str, links: &Links) -> String {
    render_line(value, links)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINKS: Links = Links {
        base: "https://kaleido.example",
        rel_me: false,
    };

    #[test]
    fn markup_is_escaped_and_links_made() {
        let html = to_html(
            "I <b>shoot</b> foxes, see https://example.org/foxes.\n#Wildlife with @bob and @carol@masto.example",
            &LINKS,
        );
        assert!(
            html.starts_with(
                "<p>I &lt;b&gt;shoot&lt;/b&gt; foxes, see <a href=\"https://example.org/foxes\""
            ),
            "{html}"
        );
        assert!(html.contains(">example.org/foxes</a>.<br>"), "{html}");
        assert!(html.contains("href=\"https://kaleido.example/tags/wildlife\" class=\"mention hashtag\" rel=\"tag\">#<span>Wildlife</span>"), "{html}");
        assert!(
            html.contains("href=\"https://kaleido.example/@bob\" class=\"u-url mention\">@<span>bob</span>"),
            "{html}"
        );
        assert!(
            html.contains("href=\"https://kaleido.example/@carol@masto.example\""),
            "{html}"
        );
    }

    #[test]
    fn mentions_and_tags_are_read_once_each() {
        let text = "@Bob and @carol@Masto.Example, #Foxes #foxes #Füchse #1 @bob";
        assert_eq!(
            mentions(text),
            vec![
                ("bob".to_owned(), None),
                ("carol".to_owned(), Some("masto.example".to_owned()))
            ]
        );
        assert_eq!(hashtags(text), vec!["foxes", "füchse"]);
        assert!(is_tag("Füchse") && !is_tag("12") && !is_tag("a-b") && !is_tag(""));
    }

    #[test]
    fn a_post_links_only_resolved_mentions() {
        let known = vec![(
            "carol@masto.example".to_owned(),
            "https://masto.example/@carol".to_owned(),
        )];
        let html = post_html("hi @carol@masto.example and @nobody", &LINKS, &known);
        assert!(
            html.contains(
                "<a href=\"https://masto.example/@carol\" class=\"u-url mention\">@<span>carol</span></a>"
            ),
            "{html}"
        );
        assert!(html.contains("and @nobody</p>"), "{html}");
    }

    #[test]
    fn look_alikes_stay_text() {
        let html = to_html("mail me: me@example.org, issue #1, javascript:alert(1)", &LINKS);
        assert!(!html.contains("<a"), "{html}");
        let attr = to_html("https://example.org/\"onmouseover=\"x", &LINKS);
        assert!(!attr.contains("\"onmouseover"), "{attr}");
    }

    #[test]
    fn field_links_carry_rel_me() {
        let html = field_html(
            "https://foxes.example/about",
            &Links {
                base: "https://k.example",
                rel_me: true,
            },
        );
        assert!(html.contains("rel=\"me nofollow noopener noreferrer\""), "{html}");
    }
}

/// Whether an HTML page has an `<a>` or `<link>` with `rel` containing `me` whose `href` is one
/// of `targets`: how Mastodon verifies a profile field's link. A tolerant scan of start tags,
/// not a full parser: a page that hides its link in a comment or script may pass unnoticed,
/// which only costs the owner a check mark.
pub fn links_back_with_rel_me(html: &str, targets: &[String]) -> bool {
    let lower = html.to_ascii_lowercase();
    let mut at = 0;
    while let Some(found) = lower[at..].find('<') {
        let start = at + found + 1;
        let end = lower[start..].find('>').map_or(lower.len(), |e| start + e);
        let tag = &html[start..end];
        at = end;
        let name_end = tag.find(|c: char| c.is_whitespace()).unwrap_or(tag.len());
        let name = tag[..name_end].to_ascii_lowercase();
        if name != "a" && name != "link" {
            continue;
        }
        let attrs = attributes(&tag[name_end..]);
        let rel_me = attrs
            .iter()
            .any(|(k, v)| k == "rel" && v.split_ascii_whitespace().any(|r| r.eq_ignore_ascii_case("me")));
        let href = attrs.iter().find(|(k, _)| k == "href").map(|(_, v)| v.trim());
        if rel_me
            && href.is_some_and(|h| {
                targets
                    .iter()
                    .any(|t| t.trim_end_matches('/') == h.trim_end_matches('/'))
            })
        {
            return true;
        }
    }
    false
}

/// `name="value"`, `name='value'` and `name=value` pairs of a start tag, names lowercased.
fn attributes(raw: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = raw.trim_start();
    while !rest.is_empty() {
        let name_end = rest
            .find(|c: char| c == '=' || c.is_whitespace() || c == '/')
            .unwrap_or(rest.len());
        let name = rest[..name_end].to_ascii_lowercase();
        rest = rest[name_end..].trim_start();
        let mut value = String::new();
        if let Some(after) = rest.strip_prefix('=') {
            let after = after.trim_start();
            let (v, remaining) = match after.chars().next() {
                Some(q @ ('"' | '\'')) => {
                    let body = &after[1..];
                    let close = body.find(q).unwrap_or(body.len());
                    (&body[..close], body.get(close + 1..).unwrap_or(""))
                }
                _ => {
                    let close = after.find(char::is_whitespace).unwrap_or(after.len());
                    (&after[..close], &after[close..])
                }
            };
            value = v.replace("&amp;", "&");
            rest = remaining;
        } else if name.is_empty() {
            rest = rest.get(1..).unwrap_or("");
        }
        if !name.is_empty() {
            out.push((name, value));
        }
        rest = rest.trim_start();
    }
    out
}

#[cfg(test)]
mod rel_me_tests {
    use super::links_back_with_rel_me;

    #[test]
    fn finds_links_back() {
        let me = vec!["https://k.example/@fox".to_owned()];
        assert!(links_back_with_rel_me(
            "<p><a rel=\"me noopener\" href=\"https://k.example/@fox\">me</a>",
            &me
        ));
        assert!(links_back_with_rel_me(
            "<LINK HREF='https://k.example/@fox/' REL=me>",
            &me
        ));
        assert!(!links_back_with_rel_me(
            "<a href=\"https://k.example/@fox\">no rel</a>",
            &me
        ));
        assert!(!links_back_with_rel_me(
            "<a rel=\"me\" href=\"https://k.example/@foxy\">other</a>",
            &me
        ));
        assert!(!links_back_with_rel_me(
            "<img rel=me href=https://k.example/@fox>",
            &me
        ));
    }
}
