//! `kaleido-layers [ROOT] [--graph]`: fails when a module of `src/` imports one of its own or a
//! higher layer, names a crate its layer must not use, or when top-level modules form a cycle.
//! The layer table is read from `docs/architecture.md` (between `<!-- layers -->` and
//! `<!-- /layers -->`), so the document and the check cannot disagree. `--graph` prints the
//! module graph and its cycles (top-level modules and files) instead of checking.

mod graph;
mod scan;
mod table;

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
    process::ExitCode,
};

/// One source file of the crate and its module path from the crate root.
struct SourceFile {
    relative: String,
    module: Vec<String>,
    source: String,
}

fn module_of(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if let Some(last) = parts.pop() {
        let stem = last.trim_end_matches(".rs");
        if stem != "mod" && stem != "lib" {
            parts.push(stem.to_owned());
        }
    }
    parts
}

fn collect(dir: &Path, src: &Path, out: &mut Vec<SourceFile>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.path());
    for entry in entries {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, src, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path.strip_prefix(src).unwrap_or(&path).to_path_buf();
            // main.rs is the binary's own crate: it reaches the library only by `kaleido::`.
            if relative == Path::new("main.rs") {
                continue;
            }
            out.push(SourceFile {
                module: module_of(&relative),
                relative: format!("src/{}", relative.display()),
                source: std::fs::read_to_string(&path)?,
            });
        }
    }
    Ok(())
}

/// Where a referenced path lands: a module path from the crate root, or another crate.
enum Target {
    Local(Vec<String>),
    External(String),
}

fn resolve(from: &[String], path: &[String], modules: &BTreeSet<Vec<String>>) -> Target {
    let Some(first) = path.first() else {
        return Target::Local(from.to_vec());
    };
    let mut base: Vec<String> = from.to_vec();
    let rest: &[String] = match first.as_str() {
        "crate" => {
            base.clear();
            &path[1..]
        }
        "super" => {
            let supers = path.iter().take_while(|s| *s == "super").count();
            for _ in 0..supers {
                base.pop();
            }
            &path[supers..]
        }
        "self" => &path[1..],
        _ => {
            let mut child = from.to_vec();
            child.push(first.clone());
            if !modules.contains(&child) {
                return Target::External(path.join("::"));
            }
            path
        }
    };
    base.extend(rest.iter().cloned());
    Target::Local(base)
}

/// The longest module path (a file) that `target` starts with.
fn file_of<'a>(target: &[String], files: &'a BTreeMap<Vec<String>, String>) -> Option<&'a String> {
    (1..=target.len()).rev().find_map(|n| files.get(&target[..n]))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let graph_mode = args.iter().any(|a| a == "--graph");
    let root = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    match run(&root, graph_mode) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("kaleido-layers: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(root: &Path, graph_mode: bool) -> Result<bool, String> {
    let doc = root.join("docs/architecture.md");
    let text = std::fs::read_to_string(&doc).map_err(|e| format!("{}: {e}", doc.display()))?;
    let layers = table::parse(&text).map_err(|e| format!("{}: {e}", doc.display()))?;
    let src = root.join("src");
    let mut files = Vec::new();
    collect(&src, &src, &mut files).map_err(|e| format!("{}: {e}", src.display()))?;

    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| f.module.clone()).collect();
    let by_module: BTreeMap<Vec<String>, String> = files
        .iter()
        .map(|f| (f.module.clone(), f.relative.clone()))
        .collect();
    let top_level: BTreeSet<String> = files.iter().filter_map(|f| f.module.first().cloned()).collect();

    let mut problems = Vec::new();
    for name in &top_level {
        if !layers.layer.contains_key(name) {
            problems.push(format!(
                "src/{name}: a top-level module missing from the layer table; give it a layer"
            ));
        }
    }
    for name in layers.layer.keys() {
        if !top_level.contains(name) {
            problems.push(format!(
                "the layer table names `{name}`, which src/ does not have"
            ));
        }
    }

    let mut module_graph = graph::Graph::default();
    let mut file_graph = graph::Graph::default();
    for file in &files {
        let Some(own) = file.module.first() else { continue };
        module_graph.node(own);
        file_graph.node(&file.relative);
        for reference in scan::references(&file.source, &file.module) {
            match resolve(&reference.from, &reference.path, &modules) {
                Target::External(path) => {
                    for banned in layers.never_uses.get(own).into_iter().flatten() {
                        if path == *banned || path.starts_with(&format!("{banned}::")) {
                            problems.push(format!(
                                "{}:{}: `{own}` must not use `{banned}` (named as `{path}`)",
                                file.relative, reference.line
                            ));
                        }
                    }
                }
                Target::Local(target) => {
                    if let Some(to_file) = file_of(&target, &by_module)
                        && *to_file != file.relative
                    {
                        file_graph.edge(&file.relative, to_file);
                    }
                    let Some(to) = target.first().filter(|t| top_level.contains(*t)) else {
                        continue;
                    };
                    if to == own {
                        continue;
                    }
                    module_graph.edge(own, to);
                    if let (Some(a), Some(b)) = (layers.layer.get(own), layers.layer.get(to))
                        && b >= a
                    {
                        problems.push(format!(
                            "{}:{}: `{own}` (layer {a}) imports `{}` (layer {b}); \
                             a module may import only lower layers",
                            file.relative,
                            reference.line,
                            target.join("::")
                        ));
                    }
                }
            }
        }
    }

    if graph_mode {
        print!("{}", module_graph.describe("top-level modules"));
        print!("{}", file_graph.describe("files"));
        return Ok(true);
    }
    for cycle in module_graph.cycles() {
        problems.push(format!(
            "top-level modules import each other in a cycle: {}",
            cycle.join(", ")
        ));
    }
    for problem in &problems {
        eprintln!("{problem}");
    }
    if problems.is_empty() {
        println!(
            "layers: {} files, {} top-level modules in {} layers, imports run one way",
            files.len(),
            top_level.len(),
            layers.layer.values().collect::<BTreeSet<_>>().len()
        );
    }
    Ok(problems.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "<!-- layers -->\n| layer | modules | never uses |\n|---|---|---|\n\
                         | 0 | `error` | |\n| 1 | `domain` | `std::fs` |\n| 2 | `db`, `storage` | |\n\
                         | 3 | `http` | |\n<!-- /layers -->\n";

    /// A throwaway crate: `files` are (path under src/, contents).
    fn tree(name: &str, files: &[(&str, &str)]) -> PathBuf {
        let root = std::env::temp_dir().join(format!("kaleido-layers-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("docs")).expect("mkdir");
        std::fs::write(root.join("docs/architecture.md"), TABLE).expect("table");
        for (path, body) in files {
            let path = root.join("src").join(path);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, body).expect("write");
        }
        root
    }

    const BASE: [(&str, &str); 5] = [
        (
            "lib.rs",
            "pub mod error; pub mod domain; pub mod db; pub mod http; pub mod storage;",
        ),
        ("storage.rs", "use crate::error::Error;"),
        ("error.rs", "pub struct Error;"),
        ("domain/mod.rs", "use crate::error::Error;"),
        ("http/mod.rs", "use crate::{db::rows::Row, domain};"),
    ];

    #[test]
    fn downward_imports_pass() {
        let mut files = BASE.to_vec();
        files.push(("db/rows.rs", "use super::super::domain; pub struct Row;"));
        assert_eq!(run(&tree("ok", &files), false), Ok(true));
    }

    #[test]
    fn an_upward_or_sideways_import_fails() {
        let mut files = BASE.to_vec();
        files.push(("db/rows.rs", "pub fn f() { crate::http::g(); }"));
        assert_eq!(run(&tree("up", &files), false), Ok(false));
        let mut files = BASE.to_vec();
        files.push(("db/rows.rs", "use crate::{domain, storage::Store};"));
        assert_eq!(run(&tree("side", &files), false), Ok(false));
    }

    #[test]
    fn a_banned_crate_or_an_unlisted_module_fails() {
        let mut files = BASE.to_vec();
        files[3] = ("domain/mod.rs", "fn f() { let _ = std::fs::read(\"x\"); }");
        assert_eq!(run(&tree("banned", &files), false), Ok(false));
        let mut files = BASE.to_vec();
        files.push(("extra.rs", ""));
        assert_eq!(run(&tree("unlisted", &files), false), Ok(false));
    }
}
