//! A directed graph of names and its cycles (strongly connected components, Tarjan's way).

use std::collections::{BTreeMap, BTreeSet};

#[derive(Default)]
pub struct Graph {
    edges: BTreeMap<String, BTreeSet<String>>,
}

impl Graph {
    pub fn node(&mut self, name: &str) {
        self.edges.entry(name.to_owned()).or_default();
    }

    pub fn edge(&mut self, from: &str, to: &str) {
        self.node(to);
        self.edges
            .entry(from.to_owned())
            .or_default()
            .insert(to.to_owned());
    }

    /// Every set of two or more nodes that reach each other, each sorted, largest first.
    pub fn cycles(&self) -> Vec<Vec<String>> {
        let names: Vec<&String> = self.edges.keys().collect();
        let index_of: BTreeMap<&String, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
        let mut state = Tarjan {
            index: vec![None; names.len()],
            low: vec![0; names.len()],
            on_stack: vec![false; names.len()],
            ..Tarjan::default()
        };
        let successors: Vec<Vec<usize>> = names
            .iter()
            .map(|n| self.edges[*n].iter().map(|t| index_of[t]).collect())
            .collect();
        for v in 0..names.len() {
            if state.index[v].is_none() {
                state.visit(v, &successors);
            }
        }
        let mut cycles: Vec<Vec<String>> = state
            .components
            .into_iter()
            .filter(|c| c.len() > 1)
            .map(|c| {
                let mut c: Vec<String> = c.into_iter().map(|i| names[i].clone()).collect();
                c.sort();
                c
            })
            .collect();
        cycles.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        cycles
    }

    pub fn describe(&self, what: &str) -> String {
        let mut out = format!("# {what}: {} nodes\n", self.edges.len());
        for (from, to) in &self.edges {
            if !to.is_empty() {
                let to: Vec<&str> = to.iter().map(String::as_str).collect();
                out.push_str(&format!("{from} -> {}\n", to.join(", ")));
            }
        }
        let cycles = self.cycles();
        if cycles.is_empty() {
            out.push_str("no cycles\n");
        }
        for cycle in cycles {
            out.push_str(&format!("cycle of {}: {}\n", cycle.len(), cycle.join(", ")));
        }
        out
    }
}

#[derive(Default)]
struct Tarjan {
    next: usize,
    index: Vec<Option<usize>>,
    low: Vec<usize>,
    on_stack: Vec<bool>,
    stack: Vec<usize>,
    components: Vec<Vec<usize>>,
}

impl Tarjan {
    // Recursive: the graphs here have tens of nodes, far from any stack limit.
    fn visit(&mut self, v: usize, successors: &[Vec<usize>]) {
        self.index[v] = Some(self.next);
        self.low[v] = self.next;
        self.next += 1;
        self.stack.push(v);
        self.on_stack[v] = true;
        for &w in &successors[v] {
            match self.index[w] {
                None => {
                    self.visit(w, successors);
                    self.low[v] = self.low[v].min(self.low[w]);
                }
                Some(iw) if self.on_stack[w] => self.low[v] = self.low[v].min(iw),
                Some(_) => {}
            }
        }
        if Some(self.low[v]) == self.index[v] {
            let mut component = Vec::new();
            while let Some(w) = self.stack.pop() {
                self.on_stack[w] = false;
                component.push(w);
                if w == v {
                    break;
                }
            }
            self.components.push(component);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_cycle_and_not_a_chain() {
        let mut g = Graph::default();
        g.edge("a", "b");
        g.edge("b", "c");
        g.edge("c", "a");
        g.edge("c", "d");
        assert_eq!(g.cycles(), [["a", "b", "c"]]);
        let mut chain = Graph::default();
        chain.edge("a", "b");
        chain.edge("b", "c");
        assert!(chain.cycles().is_empty());
    }
}
