//! Human output: tables, progress lines on a terminal, errors.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

use dockhand_core::{CoreError, Progress};

/// Prints rows as aligned columns.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, cell) in r.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(header.to_vec());
    for r in rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
}

/// Progress for long steps. On a terminal one line per service is redrawn in place; elsewhere
/// only milestones are printed, so logs stay readable.
pub struct ProgressPrinter {
    tty: bool,
    last: Mutex<String>,
}

impl ProgressPrinter {
    pub fn new(enabled: bool) -> Self {
        ProgressPrinter {
            tty: enabled && std::io::stderr().is_terminal(),
            last: Mutex::new(String::new()),
        }
    }

    pub fn report(&self, p: Progress) {
        // Pull starts are milestones worth a line of their own in a log.
        let milestone = matches!(p, Progress::Pulling { .. });
        let line = p
            .describe()
            .map(|text| format!("{}: {text}", p.service()))
            .unwrap_or_default();
        let mut err = std::io::stderr().lock();
        if self.tty {
            let mut last = self.last.lock().unwrap();
            if *last != line {
                let _ = write!(err, "\r\x1b[2K{line}");
                let _ = err.flush();
                *last = line;
            }
        } else if milestone {
            let _ = writeln!(err, "{line}");
        }
    }

    pub fn clear(&self) {
        if self.tty {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
        }
    }
}

/// A destructive step's confirmation: at a terminal, `prompt` and one of `accepts` typed back;
/// elsewhere the step needs `--yes`, and `off_terminal` (what it would do, ending in "Nothing
/// was …") is the error. `Ok(false)` when the user typed something else.
pub fn typed_confirmation(
    prompt: &str,
    accepts: &[&str],
    off_terminal: String,
) -> dockhand_core::Result<bool> {
    use std::io::{BufRead, IsTerminal};
    if !std::io::stdin().is_terminal() {
        return Err(CoreError::InvalidInput(off_terminal));
    }
    eprint!("{prompt}");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(accepts.contains(&line.trim()))
}

pub fn print_error(e: &CoreError, json: bool) {
    if json {
        let v = serde_json::json!({"error": {"code": e.code(), "message": e.to_string()}});
        println!("{v}");
    } else {
        eprintln!("error: {e}");
    }
}

pub fn ago(ms: i64) -> String {
    let now = dockhand_core::store::now_ms();
    let s = ((now - ms).max(0) / 1000) as u64;
    match s {
        0 => "just now".into(),
        1..=59 => format!("{s} s ago"),
        60..=3599 => format!("{} min ago", s / 60),
        3600..=86399 => format!("{} h ago", s / 3600),
        _ => format!("{} d ago", s / 86400),
    }
}

pub fn timestamp(ms: i64) -> String {
    let t = std::time::UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_seconds(t).to_string()
}

/// Sizes the way people read them ("812 B", "3.4 MiB").
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_columns() {
        let t = table(
            &["NAME", "PORT"],
            &[
                vec!["postgres-15".into(), "5432".into()],
                vec!["r".into(), "6379".into()],
            ],
        );
        assert_eq!(
            t,
            "NAME         PORT\npostgres-15  5432\nr            6379\n"
        );
    }
}
