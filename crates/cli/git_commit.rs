// Build-script helper shared by crates/cli/build.rs and src-tauri/build.rs (through `include!`):
// both binaries show the same commit in `--version` and About.

/// Sets `DOCKHAND_GIT_COMMIT` for the crate being built: the short hash of HEAD when building in a
/// git checkout; else the `DOCKHAND_GIT_COMMIT` environment variable (a tarball build or a
/// packager that knows the commit); else "unknown".
fn emit_git_commit() {
    println!("cargo:rerun-if-env-changed=DOCKHAND_GIT_COMMIT");
    let commit = git(&["rev-parse", "--short=12", "HEAD"])
        .or_else(|| std::env::var("DOCKHAND_GIT_COMMIT").ok().filter(|c| !c.trim().is_empty()))
        .unwrap_or_else(|| "unknown".to_string());
    // Rebuild when HEAD moves: HEAD itself (a checkout) and the branch it points at (a commit).
    // Paths come from git because a worktree's .git is a file, not the directory.
    for file in ["HEAD", "packed-refs"] {
        if let Some(path) = git(&["rev-parse", "--git-path", file]) {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        if let Some(path) = git(&["rev-parse", "--git-path", &branch]) {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    println!("cargo:rustc-env=DOCKHAND_GIT_COMMIT={}", commit.trim());
}

/// One line of git's output, or None when git is missing or this is not a checkout.
fn git(args: &[&str]) -> Option<String> {
    let out = std::process::Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_string())
}
