//! The rooms of the core and what may use what (docs/ARCHITECTURE.md), held by tests: the core's
//! top-level modules import each other without a cycle, and so do the manager's files. A cycle
//! means two rooms that cannot be understood, tested or changed one without the other.
//!
//! What the tests read is the code's `use` paths (`crate::x`, and in `manager/` `super::x`,
//! including names `manager/mod.rs` re-exports), leaving test code out. Calls of `Manager`
//! methods are not imports: a third test reads `self.m(` calls and holds the manager's use
//! cases (one operation each) to calling only the rooms below them, never another use case,
//! beyond a list of known crossings that may only shrink.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A file's code without its tests.
fn code_of(path: &Path) -> String {
    if path.file_name().is_some_and(|n| n == "tests.rs") {
        return String::new();
    }
    let text = std::fs::read_to_string(path).unwrap();
    match text.find("#[cfg(test)]") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

fn rust_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        for e in std::fs::read_dir(path).unwrap() {
            rust_files(&e.unwrap().path(), out);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        out.push(path.to_path_buf());
    }
}

/// The first path segment of every path after `prefix` (`crate::`, `super::`), including each
/// item of a brace group (`crate::{a, b::c}` gives a and b).
fn segments_after(code: &str, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (at, _) in code.match_indices(prefix) {
        let rest = &code[at + prefix.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut item = String::new();
            let mut items = Vec::new();
            for c in group.chars() {
                match c {
                    '}' if depth == 1 => break,
                    ',' if depth == 1 => {
                        items.push(std::mem::take(&mut item));
                        continue;
                    }
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    _ => {}
                }
                item.push(c);
            }
            items.push(item);
            for i in items {
                let first: String = i
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !first.is_empty() {
                    out.push(first);
                }
            }
        } else {
            let first: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !first.is_empty() {
                out.push(first);
            }
        }
    }
    out
}

/// A cycle in `graph`, if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(c) = visit(node, graph, &mut Vec::new(), &mut done) {
            return Some(c);
        }
    }
    None
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The core's top-level modules and which of the others each one's code names.
fn core_graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut modules = BTreeMap::new();
    for e in std::fs::read_dir(src()).unwrap() {
        let path = e.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if name != "lib" && name != "main" {
            modules.insert(name, path);
        }
    }
    let mut graph = BTreeMap::new();
    for (name, path) in &modules {
        let mut files = Vec::new();
        rust_files(path, &mut files);
        let mut uses = BTreeSet::new();
        for f in files {
            for s in segments_after(&code_of(&f), "crate::") {
                if s != *name && modules.contains_key(&s) {
                    uses.insert(s);
                }
            }
        }
        graph.insert(name.clone(), uses);
    }
    graph
}

/// The manager's files and which of the others each one's code imports (`super::x`, and the
/// names `manager/mod.rs` re-exports from x).
fn manager_graph() -> BTreeMap<String, BTreeSet<String>> {
    let dir = src().join("manager");
    let mut files = BTreeMap::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let path = e.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if name != "mod" && name != "tests" {
            files.insert(name, path);
        }
    }
    // `pub use progress::{…, TaskKind}` in mod.rs: TaskKind comes from progress.
    let mod_rs = code_of(&dir.join("mod.rs"));
    let mut reexported: BTreeMap<String, String> = BTreeMap::new();
    for line in mod_rs.split(';') {
        let line = line.trim();
        let Some(rest) = line
            .strip_prefix("pub use ")
            .or_else(|| line.strip_prefix("pub(crate) use "))
        else {
            continue;
        };
        let Some((module, names)) = rest.split_once("::") else {
            continue;
        };
        for n in names.trim_matches(|c| c == '{' || c == '}').split(',') {
            let n = n.trim();
            if !n.is_empty() {
                reexported.insert(n.to_string(), module.to_string());
            }
        }
    }
    let mut graph = BTreeMap::new();
    for (name, path) in &files {
        let mut uses = BTreeSet::new();
        for s in segments_after(&code_of(path), "super::") {
            let target = reexported.get(&s).cloned().unwrap_or(s);
            if target != *name && files.contains_key(&target) {
                uses.insert(target);
            }
        }
        graph.insert(name.clone(), uses);
    }
    graph
}

#[test]
fn the_cores_modules_use_each_other_without_a_cycle() {
    let graph = core_graph();
    assert!(graph.len() > 20, "the modules were found: {graph:?}");
    assert!(graph["manager"].contains("store"), "edges were found");
    if let Some(cycle) = find_cycle(&graph) {
        panic!("a cycle between the core's modules: {}", cycle.join(" → "));
    }
}

#[test]
fn the_managers_files_import_each_other_without_a_cycle() {
    let graph = manager_graph();
    assert!(graph["replace"].contains("exec"), "edges were found");
    assert!(
        graph["backups"].contains("progress"),
        "re-exported names are followed (backups names `super::TaskKind`)"
    );
    if let Some(cycle) = find_cycle(&graph) {
        panic!("a cycle between the manager's files: {}", cycle.join(" → "));
    }
}

#[test]
fn the_readers_see_paths_groups_and_cycles() {
    assert_eq!(
        segments_after(
            "use crate::{a::B, c, d::{e, f}};\nx = crate::g::h();",
            "crate::"
        ),
        ["a", "c", "d", "g"]
    );
    let g: BTreeMap<String, BTreeSet<String>> = [
        ("a".into(), ["b".into()].into()),
        ("b".into(), ["a".into()].into()),
    ]
    .into();
    assert!(find_cycle(&g).is_some());
    let g: BTreeMap<String, BTreeSet<String>> = [
        ("a".into(), ["b".into()].into()),
        ("b".into(), BTreeSet::new()),
    ]
    .into();
    assert!(find_cycle(&g).is_none());
}

/// The manager's files that are use cases: one operation a user asks for each. The others are
/// the rooms below them, which any use case may call: exec (SQL and tools in a container),
/// naming, intent, tasks, progress, keychain, ownership, consumers (leases), lifecycle (start,
/// stop), grants (a project's user), dumps (taking and checking backups), replace (filling and
/// replacing a database), import_file, extensions, settings (reading them), reconcile.
const USE_CASES: &[&str] = &[
    "adopt",
    "backups",
    "databases",
    "export",
    "external",
    "images",
    "import",
    "modes",
    "new_service",
    "projects",
    "restore",
    "status",
    "upgrade",
];

/// Calls from one use case into another allowed for now (`caller → callee: method`), each a
/// piece of a lower room still living in a use case's file. None are left; the list stays so
/// that one, if ever needed, is written down and seen in review.
const KNOWN_CROSSINGS: &[&str] = &[];

/// The methods of `Manager` each manager file defines (in its `impl Manager` blocks).
fn manager_methods(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (at, _) in code.match_indices("impl Manager {") {
        let mut depth = 0;
        let body: String = code[at..]
            .chars()
            .take_while(|c| {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    _ => {}
                }
                depth > 0 || *c != '}'
            })
            .collect();
        for (f, _) in body.match_indices("fn ") {
            let name: String = body[f + 3..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            out.insert(name);
        }
    }
    out
}

/// Every `self.m(` / `self.m::<` call of a `Manager` method defined in another use case's file.
fn use_case_crossings() -> BTreeSet<String> {
    let dir = src().join("manager");
    let mut code = Vec::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let path = e.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        code.push((name, code_of(&path)));
    }
    let code: Vec<(&str, &str)> = code.iter().map(|(n, c)| (n.as_str(), c.as_str())).collect();
    crossings_in(&code)
}

/// The crossings among `files` (name, code).
fn crossings_in(files: &[(&str, &str)]) -> BTreeSet<String> {
    let mut owner: BTreeMap<String, String> = BTreeMap::new();
    for (file, text) in files {
        for m in manager_methods(text) {
            owner.insert(m, file.to_string());
        }
    }
    let mut crossings = BTreeSet::new();
    for (caller, text) in files.iter().filter(|(f, _)| USE_CASES.contains(f)) {
        for (at, _) in text.match_indices("self.") {
            let name: String = text[at + 5..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let after = &text[at + 5 + name.len()..];
            if !(after.starts_with('(') || after.starts_with("::<")) {
                continue;
            }
            if let Some(callee) = owner.get(&name) {
                if callee != caller && USE_CASES.contains(&callee.as_str()) {
                    crossings.insert(format!("{caller} → {callee}: {name}"));
                }
            }
        }
    }
    crossings
}

#[test]
fn use_cases_call_no_other_use_case_beyond_the_known_crossings() {
    let found = use_case_crossings();
    let known: BTreeSet<String> = KNOWN_CROSSINGS.iter().map(|s| s.to_string()).collect();
    let new: Vec<&String> = found.difference(&known).collect();
    assert!(
        new.is_empty(),
        "a use case calls another (move the shared piece into a room below): {new:#?}"
    );
    let gone: Vec<&String> = known.difference(&found).collect();
    assert!(
        gone.is_empty(),
        "crossings no longer there: remove them from KNOWN_CROSSINGS: {gone:#?}"
    );
}

#[test]
fn the_crossing_reader_sees_methods_and_their_calls() {
    let methods =
        manager_methods("impl Manager {\n fn a(&self) { if x { } }\n pub fn b() {}\n}\nfn c() {}");
    assert_eq!(methods, BTreeSet::from(["a".to_string(), "b".to_string()]));
    // Seen in code written for the purpose: `a` defines m, `b` (a use case) calls it.
    let a = "impl Manager {\n fn shared_piece(&self) {}\n}";
    let b =
        "impl Manager {\n fn op(&self) { self.shared_piece(); self.own(); }\n fn own(&self) {}\n}";
    assert_eq!(
        crossings_in(&[("backups", a), ("import", b)]),
        BTreeSet::from(["import → backups: shared_piece".to_string()])
    );
    assert!(
        crossings_in(&[("dumps", a), ("import", b)]).is_empty(),
        "a room may be called"
    );
}
