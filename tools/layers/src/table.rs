//! The layer table of `docs/architecture.md`: a Markdown table between `<!-- layers -->` and
//! `<!-- /layers -->` whose header names the columns `layer`, `modules` and `never uses`;
//! module names and banned paths are written in backticks.

use std::collections::BTreeMap;

#[derive(Debug, Default)]
pub struct Layers {
    pub layer: BTreeMap<String, usize>,
    /// Per module: paths of other crates (or of `std`) it must not name.
    pub never_uses: BTreeMap<String, Vec<String>>,
}

fn cells(line: &str) -> Vec<&str> {
    let line = line.trim().trim_start_matches('|').trim_end_matches('|');
    line.split('|').map(str::trim).collect()
}

fn backticked(cell: &str) -> Vec<String> {
    cell.split('`').skip(1).step_by(2).map(str::to_owned).collect()
}

pub fn parse(text: &str) -> Result<Layers, String> {
    let start = text
        .find("<!-- layers -->")
        .ok_or("no `<!-- layers -->` marker before the layer table")?;
    let end = text[start..]
        .find("<!-- /layers -->")
        .ok_or("no `<!-- /layers -->` marker after the layer table")?;
    let rows: Vec<&str> = text[start..start + end]
        .lines()
        .filter(|l| l.trim_start().starts_with('|'))
        .collect();
    let header = cells(rows.first().ok_or("the layer table has no rows")?);
    let column = |name: &str| {
        header
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name))
            .ok_or(format!("the layer table has no `{name}` column"))
    };
    let (layer_col, modules_col, never_col) = (column("layer")?, column("modules")?, column("never uses")?);
    let mut layers = Layers::default();
    for row in rows.iter().skip(1) {
        let cells = cells(row);
        let Some(Ok(layer)) = cells.get(layer_col).map(|c| c.parse::<usize>()) else {
            continue; // the |---| separator
        };
        let never = cells.get(never_col).map(|c| backticked(c)).unwrap_or_default();
        for module in backticked(cells.get(modules_col).copied().unwrap_or_default()) {
            if layers.layer.insert(module.clone(), layer).is_some() {
                return Err(format!("`{module}` is in the layer table twice"));
            }
            if !never.is_empty() {
                layers.never_uses.insert(module, never.clone());
            }
        }
    }
    if layers.layer.is_empty() {
        return Err("the layer table names no modules".into());
    }
    Ok(layers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_layers_and_bans() {
        let text = "intro\n<!-- layers -->\n| layer | modules | what | never uses |\n|---|---|---|---|\n\
                    | 0 | `error` | errors | |\n| 1 | `domain`, `config` | rules | `tokio`, `std::fs` |\n\
                    <!-- /layers -->\n| 9 | `outside` | | |";
        let layers = parse(text).expect("parses");
        assert_eq!(layers.layer.get("error"), Some(&0));
        assert_eq!(layers.layer.get("config"), Some(&1));
        assert_eq!(layers.layer.get("outside"), None);
        assert_eq!(layers.never_uses["domain"], ["tokio", "std::fs"]);
    }

    #[test]
    fn a_module_twice_is_refused() {
        let text = "<!-- layers -->\n| layer | modules | never uses |\n| 0 | `a` | |\n| 1 | `a` | |\n<!-- /layers -->";
        assert!(parse(text).is_err());
    }
}
