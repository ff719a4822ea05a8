//! The driver seam's guard: outside `drivers/`, code never names a kind. What differs per kind is
//! driver data (the `KindSpec`) or a `Driver` method, so a new kind is a new driver, not edits
//! scattered through the core, the shells and the window.

use std::path::{Path, PathBuf};

use crate::drivers::Kind;

/// The Rust and JavaScript files to look at: the core outside `drivers/`, the CLI, the app
/// and the window.
fn sources() -> Vec<PathBuf> {
    let core = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = core.join("../..");
    let mut out = Vec::new();
    for dir in [
        core.join("src"),
        root.join("crates/cli/src"),
        root.join("crates/tray/src"),
        root.join("src-tauri/src"),
        root.join("ui"),
    ] {
        walk(&dir, &mut out);
    }
    out.retain(|p| !p.starts_with(core.join("src/drivers")));
    out
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, out);
        } else if path
            .extension()
            .is_some_and(|e| e == "rs" || e == "js" || e == "html")
        {
            out.push(path);
        }
    }
}

/// A file's code without its tests: unit tests may name kinds (they pick what to test on).
fn code_of(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    if path.file_name().is_some_and(|n| n == "tests.rs") {
        return String::new();
    }
    match text.find("#[cfg(test)]") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// What names a kind in code: its variant (`Kind::Postgres`), or its id compared or matched
/// as a string (`kind == "mongo"`, `=== "redis"`, `"redis" =>`). A kind's id in a list of
/// data (reserved identifiers, a log target) is not a decision and is left alone.
fn namings(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    for kind in Kind::ALL {
        let variant = format!("Kind::{kind:?}");
        let bounded = |at: usize, len: usize| {
            let before = code[..at].chars().next_back();
            let after = code[at + len..].chars().next();
            !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
                && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
        };
        for (at, _) in code.match_indices(&variant) {
            if bounded(at, variant.len()) {
                found.push(variant.clone());
            }
        }
        let literal = format!("\"{}\"", kind.as_str());
        for (at, _) in code.match_indices(&literal) {
            let before = code[..at].trim_end();
            let after = code[at + literal.len()..].trim_start();
            // `==` also ends `===` and `!==`.
            let compared = before.ends_with("==")
                || before.ends_with("!=")
                || ["==", "!=", "=>", "|"]
                    .iter()
                    .any(|op| after.starts_with(op));
            if compared {
                found.push(literal.clone());
            }
        }
    }
    found
}

#[test]
fn code_outside_the_drivers_never_names_a_kind() {
    let mut offenders = Vec::new();
    for path in sources() {
        for naming in namings(&code_of(&path)) {
            offenders.push(format!("{}: {naming}", path.display()));
        }
    }
    assert!(
        offenders.is_empty(),
        "per-kind decisions belong in the drivers (KindSpec data or a Driver method):\n{}",
        offenders.join("\n")
    );
}

/// The guard itself finds what it is for (else it would pass by finding nothing).
#[test]
fn the_guard_sees_a_kind_named_in_code() {
    assert_eq!(namings("if k == Kind::Redis {"), ["Kind::Redis"]);
    assert_eq!(namings("if kind.as_str() == \"mongo\" {"), ["\"mongo\""]);
    assert_eq!(namings("disabled: b.kind === \"redis\""), ["\"redis\""]);
    assert_eq!(namings("\"postgres\" | \"mariadb\" => 1,").len(), 2);
    assert!(namings("const RESERVED: &[&str] = &[\"postgres\", \"mysql\"];").is_empty());
    assert!(namings("TaskKind::Redis").is_empty());
    assert!(sources().len() > 50, "the walk found the sources");
}
