//! Desktop notifications from the supervisor's events: a service started (with its time to
//! ready), failed (with the reason in one line), recovered; a backup finished (size, duration)
//! or failed; the engine went away. A flapping service yields at most one notification per
//! service and kind of news per minute, and each kind can be switched off in Settings. No
//! notification server is logged, never fatal.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use dockhand_core::facade::human_bytes;
use dockhand_core::facade::supervisor::{Health, SupervisorEvent};
use serde::Serialize;

const QUIET_PERIOD: Duration = Duration::from_secs(60);

/// The kinds of news a user can switch off one by one.
pub use dockhand_core::facade::NOTIFICATION_KINDS as KINDS;

#[derive(Default)]
pub struct Notifier {
    sent: Mutex<HashMap<(String, &'static str), Instant>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Note {
    pub kind: &'static str,
    pub summary: String,
    pub body: String,
}

/// A service as people read it: "PostgreSQL 15 (postgres-15)".
pub type Describe<'a> = dyn Fn(&str) -> String + 'a;

/// The one notification a backup of one service deserves, however many databases it held
/// ("Back up now" on a server with three databases is one piece of news, not three).
pub fn note_for_service_backup(
    service: &str,
    rows: &[dockhand_core::facade::BackupRow],
    describe: &Describe<'_>,
) -> Option<(String, Note)> {
    match rows {
        [] => None,
        [one] => note_for(
            &SupervisorEvent::BackupDone {
                backup: one.clone(),
            },
            describe,
        ),
        many => Some((
            service.to_string(),
            Note {
                kind: "backup",
                summary: format!("Backup of {service} finished"),
                body: format!(
                    "{} databases, {} in {}",
                    many.len(),
                    human_bytes(many.iter().map(|b| b.size_bytes).sum()),
                    human_ms(many.iter().map(|b| b.duration_ms).sum())
                ),
            },
        )),
    }
}

/// The news of one service's backup ("Back up now"): one note for all its databases, or why
/// it failed.
pub fn service_backup_news(
    service: &str,
    result: Result<&[dockhand_core::facade::BackupRow], String>,
    describe: &Describe<'_>,
) -> Option<(String, Note)> {
    match result {
        Ok(rows) => note_for_service_backup(service, rows, describe),
        Err(reason) => note_for(
            &SupervisorEvent::BackupFailed {
                service: service.to_string(),
                reason,
            },
            describe,
        ),
    }
}

/// The news of "Take restore point" from the tray: the point, its size and how long it took,
/// or why it could not be taken.
pub fn point_news(
    project: &str,
    result: Result<&dockhand_core::facade::TakenPoint, String>,
) -> (String, Note) {
    let note = match result {
        Ok(t) => Note {
            kind: "backup",
            summary: format!("Restore point of {project} taken"),
            body: format!(
                "“{}”, {} in {}{}",
                t.point.label,
                human_bytes(t.point.size_bytes.max(0) as u64),
                human_ms(t.took_ms),
                t.not_included
                    .iter()
                    .map(|(what, _)| format!("; not included: {what}"))
                    .collect::<String>()
            ),
        },
        Err(reason) => Note {
            kind: "error",
            summary: format!("No restore point of {project}"),
            body: reason,
        },
    };
    (project.to_string(), note)
}

/// The news of "Back up all now": one note per service, as for its own "Back up now", and the
/// first failure.
pub fn backup_all_news(
    done: &[dockhand_core::facade::BackupRow],
    first_failure: Option<(&str, String)>,
    describe: &Describe<'_>,
) -> Vec<(String, Note)> {
    let mut services: Vec<&str> = done.iter().map(|b| b.service.as_str()).collect();
    services.dedup();
    let mut out: Vec<(String, Note)> = services
        .into_iter()
        .filter_map(|service| {
            let rows: Vec<_> = done
                .iter()
                .filter(|b| b.service == service)
                .cloned()
                .collect();
            note_for_service_backup(service, &rows, describe)
        })
        .collect();
    if let Some((service, reason)) = first_failure {
        out.extend(service_backup_news(service, Err(reason), describe));
    }
    out
}

/// The notification an event deserves, if any.
pub fn note_for(e: &SupervisorEvent, describe: &Describe<'_>) -> Option<(String, Note)> {
    let note = |kind, summary: String, body: String| Note {
        kind,
        summary,
        body,
    };
    match e {
        SupervisorEvent::Transition {
            service,
            from,
            to,
            reason,
            ready_ms,
        } => {
            let what = describe(service);
            let n = match (from, to) {
                (Some(Health::Failed | Health::Unhealthy), Health::Healthy) => note(
                    "recovered",
                    format!("{what} recovered"),
                    "answering again".into(),
                ),
                (Some(Health::Starting | Health::Stopped), Health::Healthy) => note(
                    "started",
                    format!("{what} started"),
                    match ready_ms {
                        Some(ms) => format!("ready in {}", human_ms(*ms)),
                        None => "ready".into(),
                    },
                ),
                (_, Health::Failed | Health::Unhealthy) => note(
                    "failed",
                    format!("{what} failed"),
                    reason
                        .as_deref()
                        .and_then(|r| r.lines().next())
                        .unwrap_or(to.as_str())
                        .to_string(),
                ),
                _ => return None,
            };
            Some((service.clone(), n))
        }
        SupervisorEvent::BackupDone { backup } => Some((
            format!("{}/{}", backup.service, backup.database),
            note(
                "backup",
                format!(
                    "Backup of {} on {} finished",
                    backup.database, backup.service
                ),
                format!(
                    "{} in {}",
                    human_bytes(backup.size_bytes),
                    human_ms(backup.duration_ms)
                ),
            ),
        )),
        SupervisorEvent::BackupFailed { service, reason } => Some((
            service.clone(),
            note(
                "backup",
                format!("Backup of {service} failed"),
                reason.lines().next().unwrap_or_default().to_string(),
            ),
        )),
        SupervisorEvent::EngineUnavailable { reason } => Some((
            String::new(),
            note("engine", "Docker is not available".into(), reason.clone()),
        )),
        SupervisorEvent::BusyEnded {
            service, message, ..
        } => Some((
            service.clone(),
            note(
                "failed",
                format!("{} was held up by a runaway script", describe(service)),
                message.clone(),
            ),
        )),
        SupervisorEvent::EngineAvailable { .. } | SupervisorEvent::Restarted { .. } => None,
    }
}

impl Notifier {
    /// Whether a note may go out now (not switched off, not said within the quiet period), and
    /// records it as sent.
    pub fn admit(&self, subject: &str, note: &Note, enabled: impl Fn(&str) -> bool) -> bool {
        if !enabled(note.kind) {
            return false;
        }
        // A new reason is news: a server that stopped answering and then exited says both
        // (the exit code is what tells the user why); the same reason again within the minute
        // is flapping and stays quiet.
        let key = (
            format!(
                "{subject}\u{0}{}\u{0}{}",
                note.summary,
                reason_gist(&note.body)
            ),
            note.kind,
        );
        let mut sent = self.sent.lock().unwrap();
        if sent.get(&key).is_some_and(|t| t.elapsed() < QUIET_PERIOD) {
            return false;
        }
        sent.insert(key, Instant::now());
        true
    }
}

/// What kind of reason a body gives, without the details that change each time (log lines,
/// durations): its first clause, at most four words — "exited with code 137" is other news
/// than "exited with code 0".
fn reason_gist(body: &str) -> String {
    body.split(';')
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .take(4)
        .collect::<Vec<_>>()
        .join(" ")
}

fn human_ms(ms: u64) -> String {
    dockhand_core::facade::human_duration(Duration::from_millis(ms))
}

/// Whether the user wants this kind of news (Settings → Notifications).
pub fn enabled(m: Option<&dockhand_core::Manager>, kind: &str) -> bool {
    m.is_none_or(|m| m.notification_enabled(kind))
}

/// Shows a notification; failures (no notification daemon) are logged.
pub fn show(note: Note) {
    std::thread::spawn(move || {
        let r = notify_rust::Notification::new()
            .appname("Dockhand")
            .summary(&note.summary)
            .body(&note.body)
            .timeout(notify_rust::Timeout::Milliseconds(8000))
            .show();
        if let Err(e) = r {
            tracing::warn!(
                "notification not shown ({e}): {}: {}",
                note.summary,
                note.body
            );
        }
    });
}

/// A service as the last snapshot knows it ("PostgreSQL 16 (pg)"), else its name.
pub fn describe_in(snapshot: Option<&dockhand_core::facade::Snapshot>, service: &str) -> String {
    snapshot
        .and_then(|s| s.services.iter().find(|x| x.name == service))
        .map(|s| format!("{} {} ({})", s.kind.spec().display_name, s.version, s.name))
        .unwrap_or_else(|| service.to_string())
}

/// Shows a notification unless the user switched its kind off or it repeats too soon. A start
/// the supervisor did not watch from its beginning (the user's own Start) was timed by the
/// manager, which recorded it with the "started" event: that time is the one said.
pub fn deliver(
    notes: &Notifier,
    m: Option<&dockhand_core::Manager>,
    subject: String,
    mut note: Note,
) {
    if note.kind == "started" && note.body == "ready" {
        if let Some(ready) = m
            .and_then(|m| m.events(Some(&subject), 10).ok())
            .and_then(|ev| ev.into_iter().find(|e| e.kind == "started"))
            .filter(|e| e.message.starts_with("ready in"))
        {
            note.body = ready.message;
        }
    }
    if notes.admit(&subject, &note, |kind| enabled(m, kind)) {
        show(note);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dockhand_core::facade::BackupRow;

    fn describe(s: &str) -> String {
        format!("PostgreSQL 16 ({s})")
    }

    fn t(
        from: Option<Health>,
        to: Health,
        reason: Option<&str>,
        ready: Option<u64>,
    ) -> SupervisorEvent {
        SupervisorEvent::Transition {
            service: "pg".into(),
            from,
            to,
            reason: reason.map(String::from),
            ready_ms: ready,
        }
    }

    #[test]
    fn started_failed_recovered_backups_and_no_spam() {
        let n = Notifier::default();
        let all = |_: &str| true;
        let (s, started) = note_for(
            &t(Some(Health::Starting), Health::Healthy, None, Some(1200)),
            &describe,
        )
        .unwrap();
        assert_eq!(started.summary, "PostgreSQL 16 (pg) started");
        assert_eq!(started.body, "ready in 1.2 s");
        assert!(n.admit(&s, &started, all));
        let (s, failed) = note_for(
            &t(
                Some(Health::Healthy),
                Health::Failed,
                Some("exited with code 1\nmore"),
                None,
            ),
            &describe,
        )
        .unwrap();
        assert_eq!(failed.summary, "PostgreSQL 16 (pg) failed");
        assert_eq!(failed.body, "exited with code 1");
        assert!(n.admit(&s, &failed, all));
        let (_, recovered) = note_for(
            &t(Some(Health::Failed), Health::Healthy, None, None),
            &describe,
        )
        .unwrap();
        assert_eq!(recovered.summary, "PostgreSQL 16 (pg) recovered");
        // Flapping within a minute: no new notifications.
        assert!(!n.admit("pg", &failed, all));
        // …but a different reason is news (unanswered, then exited: the exit code says why).
        let (_, unanswered) = note_for(
            &t(
                Some(Health::Healthy),
                Health::Unhealthy,
                Some("pg did not become ready: the port accepts connections"),
                None,
            ),
            &describe,
        )
        .unwrap();
        assert!(n.admit("pg", &unanswered, all));
        assert!(!n.admit("pg", &unanswered, all));
        // Another exit code is other news (a clean exit first, then a kill).
        let (_, killed) = note_for(
            &t(
                Some(Health::Healthy),
                Health::Failed,
                Some("exited with code 137; last log lines: …"),
                None,
            ),
            &describe,
        )
        .unwrap();
        assert!(n.admit(&s, &killed, all));
        assert!(!n.admit(&s, &killed, all));
        assert!(n.admit("pg", &recovered, all));
        assert!(!n.admit("pg", &recovered, all));
        // Becoming stopped is no news.
        assert!(note_for(
            &t(Some(Health::Healthy), Health::Stopped, None, None),
            &describe
        )
        .is_none());

        let b = BackupRow {
            id: 1,
            service: "pg".into(),
            kind: "postgres".into(),
            database: "shop".into(),
            path: "/b".into(),
            size_bytes: 3 * 1024 * 1024,
            sha256: String::new(),
            duration_ms: 2500,
            tool_version: String::new(),
            reason: "scheduled".into(),
            created_at_ms: 0,
        };
        let (b2, b3) = (b.clone(), b.clone());
        let (s, done) = note_for(&SupervisorEvent::BackupDone { backup: b }, &describe).unwrap();
        assert_eq!(done.summary, "Backup of shop on pg finished");
        assert_eq!(done.body, "3.0 MiB in 2.5 s");
        // Switched off by the user: not shown.
        assert!(!n.admit(&s, &done, |k| k != "backup"));
        assert!(n.admit(&s, &done, all));

        // One service's backup of several databases: one notification.
        let other = BackupRow {
            database: "blog".into(),
            size_bytes: 1024 * 1024,
            duration_ms: 500,
            ..b2
        };
        let (s, one) = note_for_service_backup("pg", &[b3, other], &describe).unwrap();
        assert_eq!(s, "pg");
        assert_eq!(one.summary, "Backup of pg finished");
        assert_eq!(one.body, "2 databases, 4.0 MiB in 3.0 s");
        assert!(note_for_service_backup("pg", &[], &describe).is_none());
    }
}
