//! Desktop notifications on changes between snapshots: a service started (with its time to
//! ready), failed (with the reason in one line), or recovered. A flapping service yields at most
//! one notification per service and state per minute. No notification server is logged, never
//! fatal.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::state::Snapshot;

const QUIET_PERIOD: Duration = Duration::from_secs(60);

#[derive(Default)]
pub struct Notifier {
    sent: Mutex<HashMap<(String, String), Instant>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub summary: String,
    pub body: String,
}

fn is_failed(state: &str) -> bool {
    matches!(state, "failed" | "exited" | "unhealthy" | "missing")
}

impl Notifier {
    /// The notifications due for the change from `prev` to `next` (and records them as sent).
    pub fn changes(
        &self,
        prev: &Snapshot,
        next: &Snapshot,
        ready_note: impl Fn(&str) -> Option<String>,
    ) -> Vec<Note> {
        let mut out = Vec::new();
        for s in &next.services {
            let Some(before) = prev.services.iter().find(|p| p.name == s.name) else {
                continue;
            };
            if before.state == s.state {
                continue;
            }
            let what = format!("{} {} ({})", s.kind.spec().display_name, s.version, s.name);
            let note = if s.state == "running" && is_failed(&before.state) {
                Some(Note {
                    summary: format!("{what} recovered"),
                    body: format!("answering on {}:{}", s.host, s.host_port),
                })
            } else if s.state == "running" {
                let ready = ready_note(&s.name).unwrap_or_default();
                Some(Note {
                    summary: format!("{what} started"),
                    body: format!("{ready} — {}:{}", s.host, s.host_port)
                        .trim_start_matches(" — ")
                        .to_string(),
                })
            } else if is_failed(&s.state) {
                let why = s
                    .detail
                    .as_deref()
                    .and_then(|d| d.lines().next())
                    .unwrap_or(&s.state)
                    .to_string();
                Some(Note {
                    summary: format!("{what} failed"),
                    body: why,
                })
            } else {
                None
            };
            if let Some(n) = note {
                // Per service and kind of news (started / failed / recovered): a flapping
                // service says each at most once a minute.
                let key = (s.name.clone(), n.summary.clone());
                let mut sent = self.sent.lock().unwrap();
                if sent.get(&key).is_some_and(|t| t.elapsed() < QUIET_PERIOD) {
                    continue;
                }
                sent.insert(key, Instant::now());
                out.push(n);
            }
        }
        out
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use dockhand_core::manager::ServiceStatus;
    use dockhand_core::menu::Health;
    use dockhand_core::store::Desired;
    use dockhand_core::Kind;

    fn snap(state: &str, detail: Option<&str>) -> Snapshot {
        Snapshot {
            services: vec![ServiceStatus {
                name: "pg".into(),
                kind: Kind::Postgres,
                version: "16".into(),
                image: String::new(),
                host: "127.0.0.1".into(),
                host_port: 5432,
                desired: Desired::Running,
                state: state.into(),
                detail: detail.map(String::from),
                container_id: None,
                started_at: None,
                pinned: true,
                consumers: vec![],
                projects: vec![],
            }],
            projects: vec![],
            engine_error: None,
            health: Health::Healthy,
            grace_period_secs: 0,
            home: String::new(),
        }
    }

    #[test]
    fn started_failed_recovered_and_no_spam() {
        let n = Notifier::default();
        let ready = |_: &str| Some("ready in 1.2 s".to_string());
        let started = n.changes(&snap("stopped", None), &snap("running", None), ready);
        assert_eq!(
            started,
            [Note {
                summary: "PostgreSQL 16 (pg) started".into(),
                body: "ready in 1.2 s — 127.0.0.1:5432".into()
            }]
        );
        let failed = n.changes(
            &snap("running", None),
            &snap("exited", Some("exited with code 1\nmore")),
            ready,
        );
        assert_eq!(failed[0].summary, "PostgreSQL 16 (pg) failed");
        assert_eq!(failed[0].body, "exited with code 1");
        let recovered = n.changes(&snap("exited", None), &snap("running", None), ready);
        assert_eq!(recovered[0].summary, "PostgreSQL 16 (pg) recovered");
        // Flapping within a minute: no new notifications.
        assert!(n
            .changes(&snap("running", None), &snap("exited", Some("x")), ready)
            .is_empty());
        assert!(n
            .changes(&snap("exited", None), &snap("running", None), ready)
            .is_empty());
        assert!(n
            .changes(&snap("running", None), &snap("running", None), ready)
            .is_empty());
    }
}
