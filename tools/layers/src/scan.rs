//! Reads a Rust source file just far enough to know which paths it names: a tokenizer that
//! skips comments and literals, `use` trees expanded, and `crate::` / `super::` / `self::` paths
//! anywhere in the code. Good enough for this crate's code; no full parser (and no `syn`) needed.

/// A path named by a file, with the line it is on.
#[derive(Debug, Clone)]
pub struct Reference {
    pub line: usize,
    /// The module (from the crate root) the path was written in; inline `mod` blocks included.
    pub from: Vec<String>,
    pub path: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Path, // `::`
    Punct(char),
}

fn tokenize(source: &str) -> Vec<(Tok, usize)> {
    let chars: Vec<char> = source.chars().collect();
    let mut tokens = Vec::new();
    let (mut i, mut line) = (0, 1);
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if chars[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
        } else if c == '"' || ((c == 'r' || c == 'b') && starts_raw_or_byte_string(&chars, i)) {
            i = skip_string(&chars, i, &mut line);
        } else if c == '\'' {
            // A char literal ('a', '\n', '\u{1F600}') or a lifetime ('a): only literals close.
            if at(i + 1) == '\\' {
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(i + 2) == '\'' {
                i += 3;
            } else {
                i += 1;
            }
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            tokens.push((Tok::Ident(word), line));
        } else if c == ':' && at(i + 1) == ':' {
            tokens.push((Tok::Path, line));
            i += 2;
        } else {
            tokens.push((Tok::Punct(c), line));
            i += 1;
        }
    }
    tokens
}

/// `r"…"`, `r#"…"#`, `b"…"`, `br"…"` (but not an identifier that starts with r or b).
fn starts_raw_or_byte_string(chars: &[char], i: usize) -> bool {
    if i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_') {
        return false;
    }
    let mut j = i + 1;
    if chars[i] == 'b' && chars.get(j) == Some(&'r') {
        j += 1;
    }
    if chars[i] == 'b' && chars.get(j) == Some(&'\'') {
        return false; // b'x' is skipped as a char literal after the `b` identifier
    }
    while chars.get(j) == Some(&'#') {
        j += 1;
    }
    chars.get(j) == Some(&'"')
}

fn skip_string(chars: &[char], mut i: usize, line: &mut usize) -> usize {
    let raw = chars[i] == 'r' || (chars[i] == 'b' && chars.get(i + 1) == Some(&'r'));
    while chars[i] != '"' && chars[i] != '#' {
        i += 1;
    }
    let mut hashes = 0;
    while chars[i] == '#' {
        hashes += 1;
        i += 1;
    }
    i += 1; // the opening quote
    while i < chars.len() {
        match chars[i] {
            '\n' => *line += 1,
            '\\' if !raw => i += 1,
            '"' if (1..=hashes).all(|k| chars.get(i + k) == Some(&'#')) => return i + 1 + hashes,
            _ => {}
        }
        i += 1;
    }
    i
}

/// Every path `source` names, `module` being the file's own module path from the crate root.
pub fn references(source: &str, module: &[String]) -> Vec<Reference> {
    let tokens = tokenize(source);
    let mut out = Vec::new();
    // Inline modules (`mod tests { … }`): their name and the brace depth they opened at.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    let current = |inline: &[(String, usize)]| {
        let mut m = module.to_vec();
        m.extend(inline.iter().map(|(name, _)| name.clone()));
        m
    };
    while i < tokens.len() {
        match &tokens[i].0 {
            Tok::Punct('{') => depth += 1,
            Tok::Punct('}') => {
                depth = depth.saturating_sub(1);
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
            }
            Tok::Ident(word) if word == "mod" => {
                if let (Some((Tok::Ident(name), _)), Some((Tok::Punct('{'), _))) =
                    (tokens.get(i + 1), tokens.get(i + 2))
                {
                    inline.push((name.clone(), depth));
                    depth += 1;
                    i += 3;
                    continue;
                }
            }
            Tok::Ident(word) if word == "use" && !matches!(tokens.get(i + 1), Some((Tok::Punct('!'), _))) => {
                let line = tokens[i].1;
                let end = (i..tokens.len())
                    .find(|&j| tokens[j].0 == Tok::Punct(';'))
                    .unwrap_or(tokens.len());
                let from = current(&inline);
                let mut paths = Vec::new();
                use_tree(&tokens[i + 1..end], Vec::new(), &mut paths);
                for path in paths {
                    out.push(Reference {
                        line,
                        from: from.clone(),
                        path,
                    });
                }
                i = end + 1;
                continue;
            }
            Tok::Ident(word)
                if (word == "crate" || word == "super" || word == "self")
                    && tokens.get(i + 1).map(|t| &t.0) == Some(&Tok::Path)
                    && !(i > 0 && tokens[i - 1].0 == Tok::Punct('$'))
                    && !(i > 0 && tokens[i - 1].0 == Tok::Path) =>
            {
                let line = tokens[i].1;
                let mut path = vec![word.clone()];
                let mut j = i + 1;
                while tokens.get(j).map(|t| &t.0) == Some(&Tok::Path) {
                    match tokens.get(j + 1) {
                        Some((Tok::Ident(next), _)) => {
                            path.push(next.clone());
                            j += 2;
                        }
                        _ => break,
                    }
                }
                out.push(Reference {
                    line,
                    from: current(&inline),
                    path,
                });
                i = j;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// Expands a `use` tree (`a::{b, c::{d, e as f}, *}`) into whole paths.
fn use_tree(tokens: &[(Tok, usize)], prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    let mut path = prefix;
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i].0 {
            Tok::Ident(word) if word == "as" => break,
            Tok::Ident(word) => path.push(word.clone()),
            Tok::Path => {}
            Tok::Punct('{') => {
                // Split the group's top level on commas and recurse into each part.
                let mut level = 0;
                let mut start = i + 1;
                for j in i + 1..tokens.len() {
                    match tokens[j].0 {
                        Tok::Punct('{') => level += 1,
                        Tok::Punct('}') if level == 0 => {
                            use_tree(&tokens[start..j], path.clone(), out);
                            return;
                        }
                        Tok::Punct('}') => level -= 1,
                        Tok::Punct(',') if level == 0 => {
                            use_tree(&tokens[start..j], path.clone(), out);
                            start = j + 1;
                        }
                        _ => {}
                    }
                }
                return;
            }
            Tok::Punct(_) => {} // `*`, and the `pub(crate)` of `pub(crate) use`
        }
        i += 1;
    }
    // `self` in a group names the group's own prefix.
    if path.last().is_some_and(|s| s == "self") && path.len() > 1 {
        path.pop();
    }
    if !path.is_empty() {
        out.push(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(source: &str) -> Vec<String> {
        references(source, &["a".into(), "b".into()])
            .into_iter()
            .map(|r| format!("{}: {}", r.from.join("::"), r.path.join("::")))
            .collect()
    }

    #[test]
    fn use_trees_are_expanded() {
        let found = paths("use crate::{db::{self, Db}, error::Result as R, x::*};\nuse std::fs;");
        assert_eq!(
            found,
            [
                "a::b: crate::db",
                "a::b: crate::db::Db",
                "a::b: crate::error::Result",
                "a::b: crate::x",
                "a::b: std::fs",
            ]
        );
    }

    #[test]
    fn paths_in_code_count_and_literals_and_comments_do_not() {
        let found = paths(
            "fn f() { let s = \"crate::no\"; let r = r#\"super::no\"#; // crate::no\n\
             /* crate::no /* nested */ */ let c = '\"'; crate::mirror::limits::new(); }\n\
             fn g<'a>(x: &'a str) -> super::Thing { todo!() }",
        );
        assert_eq!(found, ["a::b: crate::mirror::limits::new", "a::b: super::Thing"]);
    }

    #[test]
    fn inline_modules_are_their_own_scope() {
        let found = paths("mod tests { use super::*; }\nuse self::x;");
        assert_eq!(found, ["a::b::tests: super", "a::b: self::x"]);
    }

    #[test]
    fn visibility_and_macros_are_not_paths() {
        assert!(paths("pub(crate) fn f() {} macro_rules! m { () => { $crate::x } }").is_empty());
    }
}
