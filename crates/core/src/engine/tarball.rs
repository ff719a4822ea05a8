//! The tar archive Docker's "put archive" endpoint takes, built in memory: small files (secrets,
//! config) with the owner and mode the server process needs.

use std::collections::BTreeSet;

use crate::engine::ContainerFile;

pub(super) fn build(files: &[ContainerFile]) -> std::io::Result<Vec<u8>> {
    let mut b = tar::Builder::new(Vec::new());
    // Each file's own directory first, root-owned and traversable. Directories above it are
    // left alone: an entry for `run/` would re-stamp the image's own /run.
    let dirs: BTreeSet<String> = files
        .iter()
        .filter_map(|f| f.path.trim_start_matches('/').rsplit_once('/'))
        .map(|(dir, _)| format!("{dir}/"))
        .collect();
    for d in &dirs {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o755);
        h.set_uid(0);
        h.set_gid(0);
        h.set_size(0);
        h.set_mtime(0);
        b.append_data(&mut h, d, std::io::empty())?;
    }
    for f in files {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(f.mode);
        h.set_uid(f.uid);
        h.set_gid(f.uid);
        h.set_size(f.contents.len() as u64);
        h.set_mtime(0);
        b.append_data(
            &mut h,
            f.path.trim_start_matches('/'),
            f.contents.as_slice(),
        )?;
    }
    b.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_holds_dirs_then_files_with_owner_and_mode() {
        let files = [ContainerFile {
            path: "/run/dockhand/admin-password".into(),
            contents: b"pw".to_vec(),
            mode: 0o400,
            uid: 999,
        }];
        let bytes = build(&files).unwrap();
        let mut a = tar::Archive::new(bytes.as_slice());
        let entries: Vec<(String, u32, u64)> = a
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                (
                    e.path().unwrap().display().to_string(),
                    h.mode().unwrap(),
                    h.uid().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            entries,
            [
                ("run/dockhand/".to_string(), 0o755, 0),
                ("run/dockhand/admin-password".to_string(), 0o400, 999)
            ]
        );
    }
}
