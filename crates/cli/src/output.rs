//! Human output: tables, progress lines on a terminal, errors.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use dockhand_core::facade::TaskKind;
use dockhand_core::{CoreError, Progress};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

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

/// How often a plain line of a counter (bytes) is written when stderr is not a terminal.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

/// Every long operation's progress, as the core words it ([`Progress`]). On a terminal a step
/// is a line of its own and a counter an indicatif bar under it (bytes of how many, rate,
/// time left); elsewhere steps are lines and a counter a line every few seconds, so logs stay
/// readable. `--json` shows none.
pub struct ProgressView {
    tty: bool,
    quiet: bool,
    bar: Mutex<Option<ProgressBar>>,
    /// Off a terminal: when the last counter line was written, and for which step.
    plain: Mutex<(Instant, String)>,
}

impl ProgressView {
    pub fn new(json: bool) -> Self {
        ProgressView {
            tty: !json && std::io::stderr().is_terminal(),
            quiet: json,
            bar: Mutex::new(None),
            plain: Mutex::new((Instant::now(), String::new())),
        }
    }

    /// Lines only, even on a terminal: for operations running side by side, whose bars would
    /// overwrite each other.
    pub fn lines(json: bool) -> Self {
        ProgressView {
            tty: false,
            ..ProgressView::new(json)
        }
    }

    pub fn show(&self, p: Progress) {
        if self.quiet {
            return;
        }
        if self.tty {
            self.on_terminal(p);
            return;
        }
        if p.step {
            // `up`'s own start is routine: only a pull or a creation is worth a log line.
            if p.op != TaskKind::Up || p.long {
                eprintln!("{}", p.line);
            }
            return;
        }
        if p.done.is_none() {
            return;
        }
        let mut last = self.plain.lock().unwrap_or_else(|e| e.into_inner());
        // A new counter gets a line at once; the same one, a line every few seconds.
        if last.1 == p.text && last.0.elapsed() < PLAIN_EVERY {
            return;
        }
        *last = (Instant::now(), p.text.clone());
        eprintln!("{}", p.line);
    }

    fn on_terminal(&self, p: Progress) {
        let mut bar = self.bar.lock().unwrap_or_else(|e| e.into_inner());
        if p.step {
            if let Some(b) = bar.take() {
                b.finish_and_clear();
            }
            let _ = writeln!(std::io::stderr(), "{}", p.line);
            return;
        }
        let b = bar.get_or_insert_with(|| {
            let b = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            b.set_style(style(None));
            b
        });
        let Some(done) = p.done else {
            // A counter of time (waiting for the server): the line says it all.
            b.set_length(0);
            b.set_style(ProgressStyle::with_template("{msg}").expect("a valid template"));
            b.set_message(p.line);
            return;
        };
        if b.length() != p.total {
            match p.total {
                Some(t) => b.set_length(t),
                None => b.unset_length(),
            }
            b.set_style(style(p.total));
        }
        b.set_message(p.text);
        b.set_position(done);
    }

    /// Clears what is left of a bar (before the operation's result is printed).
    pub fn done(&self) {
        if let Some(b) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).take() {
            b.finish_and_clear();
        }
    }
}

fn style(total: Option<u64>) -> ProgressStyle {
    let template = match total {
        Some(_) => "{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
        None => "{msg} {bytes} ({bytes_per_sec})",
    };
    ProgressStyle::with_template(template)
        .expect("a valid template")
        .progress_chars("=> ")
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
    let now = dockhand_core::facade::now_ms();
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

pub use dockhand_core::facade::human_bytes;

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
