//! Why a service runs and when it will stop, in one sentence every shell shows (the window's
//! service list, the tray's service menu, `dockhand status`): a user can predict a stop
//! before it happens instead of finding a dead URL.

use std::time::Duration;

use crate::error::human_duration;

/// What keeps a running service up, as the store and its leases say.
pub(super) struct Keepers<'a> {
    /// Started with `up` (or from the window): runs until stopped.
    pub pinned: bool,
    /// Holders of live leases (`project:shop`, `run:npm`, `backup:…`).
    pub consumers: &'a [String],
    /// When the last consumer left (the grace period counts from there).
    pub idle_since_ms: Option<i64>,
    pub grace: Duration,
    pub now_ms: i64,
}

/// The sentence for a running service; `None` for one that does not run.
pub(super) fn lifetime(running: bool, k: &Keepers<'_>) -> Option<String> {
    if !running {
        return None;
    }
    if k.pinned {
        return Some("runs until you stop it".into());
    }
    let projects: Vec<&str> = k
        .consumers
        .iter()
        .filter_map(|h| h.strip_prefix("project:"))
        .collect();
    let others: Vec<&str> = k
        .consumers
        .iter()
        .filter(|h| !h.starts_with("project:"))
        .map(String::as_str)
        .collect();
    let mut why = Vec::new();
    match projects.as_slice() {
        [] => {}
        [one] => why.push(format!("project {one} is up")),
        many => why.push(format!("projects {} are up", many.join(", "))),
    }
    if !others.is_empty() {
        why.push(format!("in use by {}", others.join(", ")));
    }
    if !why.is_empty() {
        return Some(format!("runs while {}", why.join(" and ")));
    }
    let left = match k.idle_since_ms {
        Some(since) => {
            let due = since + k.grace.as_millis() as i64;
            Duration::from_millis((due - k.now_ms).max(0) as u64)
        }
        None => k.grace,
    };
    Some(if left.is_zero() {
        "stops now: nothing uses it".into()
    } else {
        format!(
            "stops in {}: nothing uses it (Start keeps it running)",
            human_duration(left)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keepers<'a>(pinned: bool, consumers: &'a [String], idle: Option<i64>) -> Keepers<'a> {
        Keepers {
            pinned,
            consumers,
            idle_since_ms: idle,
            grace: Duration::from_secs(180),
            now_ms: 1_000_000,
        }
    }

    #[test]
    fn says_what_keeps_a_service_up_and_when_an_unused_one_stops() {
        let none: Vec<String> = vec![];
        assert_eq!(lifetime(false, &keepers(true, &none, None)), None);
        assert_eq!(
            lifetime(true, &keepers(true, &none, None)).unwrap(),
            "runs until you stop it"
        );
        let held = vec!["project:shop".to_string(), "run:npm".to_string()];
        assert_eq!(
            lifetime(true, &keepers(false, &held, None)).unwrap(),
            "runs while project shop is up and in use by run:npm"
        );
        let two = vec!["project:shop".to_string(), "project:blog".to_string()];
        assert_eq!(
            lifetime(true, &keepers(false, &two, None)).unwrap(),
            "runs while projects shop, blog are up"
        );
        // Idle for a minute of a three-minute grace period: two minutes left.
        assert_eq!(
            lifetime(true, &keepers(false, &none, Some(1_000_000 - 60_000))).unwrap(),
            "stops in 2m00s: nothing uses it (Start keeps it running)"
        );
        assert_eq!(
            lifetime(true, &keepers(false, &none, Some(0))).unwrap(),
            "stops now: nothing uses it"
        );
    }
}
