//! The house rules of the source tree, checked: top-level modules of `src/`
//! depend on each other one way only (from `crate::…` paths), the incident
//! core reaches nothing else in the crate, the server knows no platform and
//! the store has no macro bodies. `cargo test --test it layout -- --nocapture`
//! prints the graph.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The text of a file without its `#[cfg(test)]` module and test-only files.
fn production_text(path: &Path) -> Option<String> {
    if path.file_name().is_some_and(|f| f == "tests.rs") {
        return None;
    }
    let text = std::fs::read_to_string(path).unwrap();
    Some(match text.find("#[cfg(test)]\nmod tests {") {
        Some(at) => text[..at].to_string(),
        None => text,
    })
}

/// The top-level modules each top-level module names through `crate::`.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let root = src();
    let mut modules = BTreeSet::new();
    for entry in std::fs::read_dir(&root).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if name != "lib" && name != "main" {
            modules.insert(name);
        }
    }
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    for file in files {
        let rel = file.strip_prefix(&root).unwrap();
        let top = rel.components().next().unwrap().as_os_str().to_string_lossy();
        let top = top.trim_end_matches(".rs").to_string();
        if !modules.contains(&top) {
            continue;
        }
        let Some(text) = production_text(&file) else { continue };
        let mut used = BTreeSet::new();
        for (at, _) in text.match_indices("crate::") {
            let rest = &text[at + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let inner = &group[..group.find('}').unwrap_or(group.len())];
                for item in inner.split(',') {
                    used.insert(item.trim().split("::").next().unwrap_or("").to_string());
                }
            } else {
                let name: String =
                    rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                used.insert(name);
            }
        }
        for u in used {
            if modules.contains(&u) && u != top {
                edges.entry(top.clone()).or_default().insert(u);
            }
        }
    }
    edges
}

/// Modules from which `from` can be reached again: a cycle through it.
fn cycle_through(edges: &BTreeMap<String, BTreeSet<String>>, from: &str) -> Option<Vec<String>> {
    let mut stack = vec![(from.to_string(), vec![from.to_string()])];
    let mut seen = BTreeSet::new();
    while let Some((node, path)) = stack.pop() {
        for next in edges.get(&node).into_iter().flatten() {
            if next == from {
                return Some(path.clone());
            }
            if seen.insert(next.clone()) {
                let mut longer = path.clone();
                longer.push(next.clone());
                stack.push((next.clone(), longer));
            }
        }
    }
    None
}

#[test]
fn the_top_level_modules_depend_on_each_other_one_way_and_the_core_on_nothing() {
    let edges = graph();
    for (from, to) in &edges {
        println!("{from:<10} -> {}", to.iter().cloned().collect::<Vec<_>>().join(", "));
    }
    for from in edges.keys() {
        if let Some(cycle) = cycle_through(&edges, from) {
            panic!("a cycle: {} -> {from}", cycle.join(" -> "));
        }
    }
    assert!(edges.get("incident").is_none_or(BTreeSet::is_empty), "the core uses {edges:?}");
}

#[test]
fn the_server_knows_no_platform_and_the_store_has_no_macro_bodies() {
    let mut files = Vec::new();
    rust_files(&src().join("server"), &mut files);
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap().to_lowercase();
        for platform in ["slack", "discord"] {
            assert!(!text.contains(platform), "{} is about {platform}", f.display());
        }
    }
    let mut files = Vec::new();
    rust_files(&src().join("store"), &mut files);
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(!text.contains("macro_rules!"), "{} has a macro body", f.display());
    }
}

#[test]
fn the_cycle_check_finds_a_cycle() {
    let edge = |a: &str, b: &[&str]| (a.to_string(), b.iter().map(|s| s.to_string()).collect());
    let edges: BTreeMap<String, BTreeSet<String>> =
        [edge("app", &["store"]), edge("store", &["chat"]), edge("chat", &["app"])].into();
    assert_eq!(cycle_through(&edges, "app").unwrap(), ["app", "store", "chat"]);
    let edges: BTreeMap<String, BTreeSet<String>> = [edge("app", &["store"])].into();
    assert_eq!(cycle_through(&edges, "app"), None);
}
