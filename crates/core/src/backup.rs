//! Database dumps, taken with the server's own tool inside its container (so versions always
//! match) and streamed to `<home>/backups/<service>/<database>/<UTC timestamp>.<ext>`. A dump is
//! written under a temporary name, fsynced and renamed: a file with the final name is always
//! complete.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::catalog::Kind;
use crate::engine::{Engine, LogChunk, OutputStream};
use crate::error::{CoreError, Result};

const DUMP_LIMIT: Duration = Duration::from_secs(3600);

pub fn timestamp() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now())
        .to_string()
        .replace(':', "")
}

/// Dumps one database. `admin_password` reaches the tool through the exec's environment.
pub async fn dump_database(
    engine: &dyn Engine,
    kind: Kind,
    container: &str,
    admin_password: &str,
    database: &str,
    dir: &Path,
) -> Result<PathBuf> {
    let (cmd, env, ext): (Vec<&str>, Vec<String>, &str) = match kind {
        Kind::Postgres => (
            vec!["pg_dump", "-Fc", "-U", "postgres", "-d", database],
            vec![format!("PGPASSWORD={admin_password}")],
            "dump",
        ),
        Kind::Mariadb => (
            vec![
                "mariadb-dump",
                "--single-transaction",
                "-uroot",
                "--databases",
                database,
            ],
            vec![format!("MYSQL_PWD={admin_password}")],
            "sql",
        ),
        Kind::Mysql => (
            vec![
                "mysqldump",
                "--single-transaction",
                "-uroot",
                "--databases",
                database,
            ],
            vec![format!("MYSQL_PWD={admin_password}")],
            "sql",
        ),
        Kind::Redis | Kind::Mongo => {
            return Err(CoreError::InvalidInput(format!(
                "backups of {kind} databases are not supported yet"
            )))
        }
    };
    std::fs::create_dir_all(dir)?;
    let final_path = dir.join(format!("{}.{ext}", timestamp()));
    let tmp = dir.join(format!(".{}.{ext}.partial", timestamp()));
    let mut file = std::fs::File::create(&tmp)?;
    let mut stderr = Vec::new();
    let mut write_error: Option<std::io::Error> = None;
    let mut sink = |c: LogChunk| match c.stream {
        OutputStream::Stdout => {
            if write_error.is_none() {
                if let Err(e) = file.write_all(&c.bytes) {
                    write_error = Some(e);
                }
            }
        }
        OutputStream::Stderr => stderr.extend_from_slice(&c.bytes),
    };
    let result = engine
        .exec(container, &cmd, &env, DUMP_LIMIT, &mut sink)
        .await;
    let cleanup = |e: CoreError| {
        let _ = std::fs::remove_file(&tmp);
        e
    };
    let code = result.map_err(|e| cleanup(e.into()))?;
    if let Some(e) = write_error {
        return Err(cleanup(CoreError::Io(std::io::Error::new(
            e.kind(),
            format!("writing {}: {e}", tmp.display()),
        ))));
    }
    if code != 0 {
        return Err(cleanup(CoreError::InvalidInput(format!(
            "{} exited with code {code}: {}",
            cmd[0],
            String::from_utf8_lossy(&stderr).trim()
        ))));
    }
    file.sync_all().map_err(|e| cleanup(e.into()))?;
    drop(file);
    std::fs::rename(&tmp, &final_path).map_err(|e| cleanup(e.into()))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(final_path)
}
