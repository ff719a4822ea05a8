//! Pause points for the crash tests, carried by debug builds only (what the tests run); a release
//! build compiles every `test_pause` call to nothing and never reads the variable.
//!
//! With `DOCKHAND_TEST_PAUSE_AT=<step>:<file>` an operation creates `<file>` on reaching `<step>`
//! and waits there, up to 10 minutes, to be killed or to go on once the test removes the file.

/// Every step an operation can pause at, with where it is. A unit test below holds this list to
/// the calls in the code, so it is the whole list.
#[cfg_attr(not(debug_assertions), allow(dead_code))]
pub(crate) const STEPS: &[(&str, &str)] = &[
    (
        "backup-dumped",
        "backup: the dump written, not yet renamed into place",
    ),
    ("created", "MariaDB restore: the scratch database created"),
    (
        "locked",
        "MariaDB restore replacing a database: the project kept out",
    ),
    (
        "closing",
        "PostgreSQL restore replacing a database: before the project is kept out",
    ),
    (
        "restored",
        "restore: the data restored into the scratch database",
    ),
    (
        "finishing",
        "restore: before the scratch database takes the target's place",
    ),
    ("swapped", "PostgreSQL restore: the databases renamed"),
    (
        "point-recorded",
        "restore point: its row recorded, the server's copy not yet asked for",
    ),
    (
        "point-copied",
        "restore point: the copy complete on the server, its row not yet ready",
    ),
    (
        "done",
        "restore: the restored database in place, its marker gone, the task not yet ended",
    ),
    (
        "upgrade-staging",
        "upgrade: before the staging container is started",
    ),
    (
        "upgrade-copying",
        "upgrade: projects kept out, before the copy",
    ),
    (
        "upgrade-verifying",
        "upgrade: copied, before the copy is checked",
    ),
    (
        "upgrade-switching",
        "upgrade: checked, before the switch to the new container",
    ),
    (
        "upgrade-switch-commit",
        "upgrade: both old containers removed, the new one not yet in place",
    ),
    (
        "rollback-commit",
        "rollback: the new container removed, the old one not yet back",
    ),
];

#[cfg(debug_assertions)]
pub(super) async fn test_pause(step: &str) {
    use std::time::{Duration, Instant};
    debug_assert!(
        STEPS.iter().any(|(s, _)| *s == step),
        "unlisted pause step {step}"
    );
    let Some(v) = std::env::var_os("DOCKHAND_TEST_PAUSE_AT") else {
        return;
    };
    let v = v.to_string_lossy().to_string();
    let Some((at, file)) = v.split_once(':') else {
        return;
    };
    if at == step {
        let _ = std::fs::write(file, step);
        let until = Instant::now() + Duration::from_secs(600);
        while std::path::Path::new(file).exists() && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[cfg(not(debug_assertions))]
#[inline(always)]
pub(super) async fn test_pause(_step: &str) {}

#[cfg(test)]
mod tests {
    use super::STEPS;

    /// The list above is every step the code pauses at, and each listed step is used.
    #[test]
    fn the_list_of_steps_is_every_pause_in_the_code() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/manager");
        let mut used = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.file_name().is_some_and(|n| n == "test_pause.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            for part in text.split("test_pause(\"").skip(1) {
                used.push(part.split('"').next().unwrap().to_string());
            }
        }
        for step in &used {
            assert!(
                STEPS.iter().any(|(s, _)| s == step),
                "{step} is paused at but not listed"
            );
        }
        for (step, _) in STEPS {
            assert!(
                used.iter().any(|u| u == step),
                "{step} is listed but never paused at"
            );
        }
    }
}
