//! The user's settings as one typed struct, read whole and changed one key at a time by one
//! canonical name (`backup-keep`, as the CLI spells them). Older names (`keep`, `backup_keep`,
//! `default_version.postgres`…) stay accepted, so nothing a user wrote or saved stops working;
//! what is stored under each key is unchanged.

use std::time::Duration;

use serde::Serialize;

use super::snapshot::KindView;
use crate::backup::BackupPolicy;
use crate::catalog::Kind;
use crate::error::{CoreError, Result};
use crate::manager::Manager;

/// The kinds of news a user can switch off one by one (desktop notifications).
pub const NOTIFICATION_KINDS: [&str; 5] = ["started", "failed", "recovered", "backup", "engine"];

/// Where the Quit answer is stored ("yes": stop the services; absent: not asked yet).
const QUIT_KEY: &str = "quit_stops_services";

/// What Quit does with the services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum QuitBehaviour {
    /// Not answered yet: the window asks.
    Ask,
    Keep,
    Stop,
}

impl QuitBehaviour {
    pub fn as_str(self) -> &'static str {
        match self {
            QuitBehaviour::Ask => "ask",
            QuitBehaviour::Keep => "keep",
            QuitBehaviour::Stop => "stop",
        }
    }

    pub fn parse(s: &str) -> Result<QuitBehaviour> {
        match s {
            "ask" => Ok(QuitBehaviour::Ask),
            "keep" => Ok(QuitBehaviour::Keep),
            "stop" => Ok(QuitBehaviour::Stop),
            other => Err(CoreError::InvalidInput(format!(
                "'{other}' is not ask, keep or stop"
            ))),
        }
    }
}

/// Every setting, read at once.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Settings {
    pub grace_period_secs: u64,
    pub connection_limit: u32,
    pub backup: BackupPolicy,
    pub quit: QuitBehaviour,
    pub default_versions: Vec<KindView>,
    /// Each kind of notification and whether it is shown.
    pub notifications: Vec<(String, bool)>,
    /// Each service and whether the supervisor restarts it when it fails.
    pub restart_on_failure: Vec<(String, bool)>,
}

/// One setting, by its canonical name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingKey {
    GracePeriod,
    ConnectionLimit,
    BackupKeep,
    BackupMaxAgeDays,
    BackupSchedule,
    BackupDir,
    DefaultVersion(Kind),
    RestartOnFailure(String),
    Notify(String),
    Quit,
}

/// How a setting's name is completed: alone, or once per kind, service or notification kind
/// (`default-version.<kind>`, `restart-on-failure.<service>`, `notify.<kind>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SettingScope {
    One,
    PerKind,
    PerService,
    PerNotification,
}

/// One setting: its canonical name (a family's without its suffix), the older names still
/// accepted, what value it takes and what it does. The CLI's `config set` help, `config show
/// [--json]` and the window's settings all come from [`SETTINGS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SettingDef {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub scope: SettingScope,
    pub takes: &'static str,
    pub doc: &'static str,
}

/// Every setting. Adding one: a row here, its [`SettingKey`] variant (the match in
/// `SettingKey::parse` and `name`), its value in `Manager::setting_value` and its change in
/// `Manager::set_setting`; the window's control carries `data-setting="<name>"`.
pub const SETTINGS: &[SettingDef] = &[
    SettingDef {
        name: "grace-period",
        aliases: &["grace-period-secs"],
        scope: SettingScope::One,
        takes: "seconds, or a duration: 0, 90, 90s, 5m, 1h",
        doc: "how long an unused service keeps running after its last project leaves",
    },
    SettingDef {
        name: "connection-limit",
        aliases: &["project-connection-limit"],
        scope: SettingScope::One,
        takes: "a whole number (default 50)",
        doc: "connections one project's user may hold on a shared server (applied at its next attach or start)",
    },
    SettingDef {
        name: "backup-keep",
        aliases: &["keep"],
        scope: SettingScope::One,
        takes: "a number of backups (0 keeps all)",
        doc: "backups kept per database",
    },
    SettingDef {
        name: "backup-max-age-days",
        aliases: &["max-age-days"],
        scope: SettingScope::One,
        takes: "a number of days (0: never)",
        doc: "backups older than this are removed; the newest of each database always stays",
    },
    SettingDef {
        name: "backup-schedule",
        aliases: &["schedule"],
        scope: SettingScope::One,
        takes: "off, hourly, daily or weekly",
        doc: "automatic backups (run by the tray app or `dockhand supervise`)",
    },
    SettingDef {
        name: "backup-dir",
        aliases: &["dir"],
        scope: SettingScope::One,
        takes: "an absolute folder path",
        doc: "where backups are written",
    },
    SettingDef {
        name: "restart-on-failure",
        aliases: &[],
        scope: SettingScope::PerService,
        takes: "on or off",
        doc: "whether the supervisor restarts the service when it fails",
    },
    SettingDef {
        name: "default-version",
        aliases: &[],
        scope: SettingScope::PerKind,
        takes: "a version the kind offers (e.g. 16)",
        doc: "what `dockhand up <kind>` and projects without a version get",
    },
    SettingDef {
        name: "notify",
        aliases: &[],
        scope: SettingScope::PerNotification,
        takes: "on or off",
        doc: "desktop notifications of this kind (started, failed, recovered, backup, engine)",
    },
    SettingDef {
        name: "quit",
        aliases: &["quit-behaviour", "quit-stops-services"],
        scope: SettingScope::One,
        takes: "ask, keep or stop",
        doc: "what the tray app's Quit does to the services",
    },
];

impl SettingDef {
    /// Its name as written, with the family's placeholder (`default-version.<kind>`).
    pub fn pattern(&self) -> String {
        match self.scope {
            SettingScope::One => self.name.to_string(),
            SettingScope::PerKind => format!("{}.<kind>", self.name),
            SettingScope::PerService => format!("{}.<service>", self.name),
            SettingScope::PerNotification => {
                format!("{}.<{}>", self.name, NOTIFICATION_KINDS.join("|"))
            }
        }
    }
}

/// Every setting's name as written, for messages and help.
pub fn setting_names() -> String {
    SETTINGS
        .iter()
        .map(SettingDef::pattern)
        .collect::<Vec<_>>()
        .join(", ")
}

/// One setting's current value, as `config set` takes it back.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SettingValue {
    pub name: String,
    pub value: String,
    pub takes: &'static str,
    pub doc: &'static str,
}

impl SettingKey {
    /// The key a name means: its canonical name, or an older one still accepted (`keep`,
    /// `backup_keep`, `default_version.postgres`, `grace_period_secs`…).
    pub fn parse(name: &str) -> Result<SettingKey> {
        let (head, tail) = match name.split_once('.') {
            Some((h, t)) => (h.replace('_', "-"), Some(t)),
            None => (name.replace('_', "-"), None),
        };
        let unknown = || {
            CoreError::InvalidInput(format!(
                "unknown setting {name:?}; settings: {}",
                setting_names()
            ))
        };
        let def = SETTINGS
            .iter()
            .find(|d| d.name == head || d.aliases.contains(&head.as_str()))
            .ok_or_else(unknown)?;
        let key = match (def.scope, tail) {
            (SettingScope::One, None) => match def.name {
                "grace-period" => SettingKey::GracePeriod,
                "connection-limit" => SettingKey::ConnectionLimit,
                "backup-keep" => SettingKey::BackupKeep,
                "backup-max-age-days" => SettingKey::BackupMaxAgeDays,
                "backup-schedule" => SettingKey::BackupSchedule,
                "backup-dir" => SettingKey::BackupDir,
                "quit" => SettingKey::Quit,
                _ => return Err(unknown()),
            },
            (SettingScope::PerKind, Some(k)) => SettingKey::DefaultVersion(Kind::parse(k)?),
            (SettingScope::PerService, Some(s)) if !s.is_empty() => {
                SettingKey::RestartOnFailure(s.to_string())
            }
            (SettingScope::PerNotification, Some(k)) if NOTIFICATION_KINDS.contains(&k) => {
                SettingKey::Notify(k.to_string())
            }
            (SettingScope::PerNotification, Some(k)) => {
                return Err(CoreError::InvalidInput(format!(
                    "unknown notification kind '{k}'; choose one of {}",
                    NOTIFICATION_KINDS.join(", ")
                )))
            }
            (SettingScope::One, Some(_)) => return Err(unknown()),
            (_, _) => {
                return Err(CoreError::InvalidInput(format!(
                    "{name:?} names a family of settings; write {}",
                    def.pattern()
                )))
            }
        };
        Ok(key)
    }

    /// The canonical name (`backup-keep`, `default-version.postgres`, …).
    pub fn name(&self) -> String {
        match self {
            SettingKey::GracePeriod => "grace-period".into(),
            SettingKey::ConnectionLimit => "connection-limit".into(),
            SettingKey::BackupKeep => "backup-keep".into(),
            SettingKey::BackupMaxAgeDays => "backup-max-age-days".into(),
            SettingKey::BackupSchedule => "backup-schedule".into(),
            SettingKey::BackupDir => "backup-dir".into(),
            SettingKey::DefaultVersion(k) => format!("default-version.{k}"),
            SettingKey::RestartOnFailure(s) => format!("restart-on-failure.{s}"),
            SettingKey::Notify(k) => format!("notify.{k}"),
            SettingKey::Quit => "quit".into(),
        }
    }
}

/// "0", "90", "90s", "5m", "1h" → a duration.
pub fn parse_duration(s: &str) -> Result<Duration> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let bad = || {
        CoreError::InvalidInput(format!(
            "{s:?} is not a duration; write e.g. 0, 90, 90s, 5m or 1h"
        ))
    };
    let n: u64 = num.parse().map_err(|_| bad())?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(bad()),
    };
    Ok(Duration::from_secs(secs))
}

fn parse_on_off(key: &SettingKey, value: &str) -> Result<bool> {
    match value {
        "on" | "true" | "yes" => Ok(true),
        "off" | "false" | "no" => Ok(false),
        _ => Err(CoreError::InvalidInput(format!(
            "{} takes on or off, not {value:?}",
            key.name()
        ))),
    }
}

impl Manager {
    pub fn settings(&self) -> Result<Settings> {
        Ok(Settings {
            grace_period_secs: self.grace_period()?.as_secs(),
            connection_limit: self.connection_limit()?,
            backup: self.backup_policy()?,
            quit: self.quit_behaviour()?,
            default_versions: self.kinds(),
            notifications: NOTIFICATION_KINDS
                .iter()
                .map(|k| (k.to_string(), self.notification_enabled(k)))
                .collect(),
            restart_on_failure: self
                .store()
                .services()?
                .into_iter()
                .map(|r| {
                    let on = self.restart_on_failure(&r.name);
                    (r.name, on)
                })
                .collect(),
        })
    }

    /// Every setting with its current value, one row per kind, service and notification kind
    /// for the families, in the table's order.
    pub fn setting_values(&self) -> Result<Vec<SettingValue>> {
        let services: Vec<String> = self
            .store()
            .services()?
            .into_iter()
            .map(|r| r.name)
            .collect();
        let mut out = Vec::new();
        for def in SETTINGS {
            let names: Vec<String> = match def.scope {
                SettingScope::One => vec![def.name.to_string()],
                SettingScope::PerKind => Kind::ALL
                    .iter()
                    .map(|k| format!("{}.{k}", def.name))
                    .collect(),
                SettingScope::PerService => services
                    .iter()
                    .map(|s| format!("{}.{s}", def.name))
                    .collect(),
                SettingScope::PerNotification => NOTIFICATION_KINDS
                    .iter()
                    .map(|k| format!("{}.{k}", def.name))
                    .collect(),
            };
            for name in names {
                let value = self.setting_value(&SettingKey::parse(&name)?)?;
                out.push(SettingValue {
                    name,
                    value,
                    takes: def.takes,
                    doc: def.doc,
                });
            }
        }
        Ok(out)
    }

    /// One setting's current value, written as `set_setting` takes it.
    pub fn setting_value(&self, key: &SettingKey) -> Result<String> {
        let on_off = |on: bool| if on { "on" } else { "off" }.to_string();
        Ok(match key {
            SettingKey::GracePeriod => self.grace_period()?.as_secs().to_string(),
            SettingKey::ConnectionLimit => self.connection_limit()?.to_string(),
            SettingKey::BackupKeep => self.backup_policy()?.keep.to_string(),
            SettingKey::BackupMaxAgeDays => {
                self.backup_policy()?.max_age_days.unwrap_or(0).to_string()
            }
            SettingKey::BackupSchedule => self.backup_policy()?.schedule.as_str().to_string(),
            SettingKey::BackupDir => self.backup_policy()?.dir.display().to_string(),
            SettingKey::DefaultVersion(kind) => self.default_version(*kind),
            SettingKey::RestartOnFailure(service) => on_off(self.restart_on_failure(service)),
            SettingKey::Notify(kind) => on_off(self.notification_enabled(kind)),
            SettingKey::Quit => self.quit_behaviour()?.as_str().to_string(),
        })
    }

    /// Changes one setting by its name (canonical or an older one); returns the key it meant.
    pub fn set_setting(&self, name: &str, value: &str) -> Result<SettingKey> {
        let key = SettingKey::parse(name)?;
        match &key {
            SettingKey::GracePeriod => self.set_grace_period(parse_duration(value)?)?,
            SettingKey::ConnectionLimit => {
                let n: u32 = value.parse().map_err(|_| {
                    CoreError::InvalidInput(format!(
                        "connection-limit takes a whole number (connections one project may hold), not {value:?}"
                    ))
                })?;
                self.set_connection_limit(n)?
            }
            SettingKey::BackupKeep => self.set_backup_setting("keep", value)?,
            SettingKey::BackupMaxAgeDays => self.set_backup_setting("max-age-days", value)?,
            SettingKey::BackupSchedule => self.set_backup_setting("schedule", value)?,
            SettingKey::BackupDir => self.set_backup_setting("dir", value)?,
            SettingKey::DefaultVersion(kind) => self.set_default_version(*kind, value)?,
            SettingKey::RestartOnFailure(service) => {
                self.set_restart_on_failure(service, parse_on_off(&key, value)?)?
            }
            SettingKey::Notify(kind) => {
                let on = parse_on_off(&key, value)?;
                self.store()
                    .set_setting(&format!("notify.{kind}"), if on { "on" } else { "off" })?
            }
            SettingKey::Quit => match QuitBehaviour::parse(value)? {
                QuitBehaviour::Ask => self.store().delete_setting(QUIT_KEY)?,
                QuitBehaviour::Keep => self.store().set_setting(QUIT_KEY, "no")?,
                QuitBehaviour::Stop => self.store().set_setting(QUIT_KEY, "yes")?,
            },
        }
        Ok(key)
    }

    pub fn quit_behaviour(&self) -> Result<QuitBehaviour> {
        Ok(match self.store().setting(QUIT_KEY)?.as_deref() {
            Some("yes") => QuitBehaviour::Stop,
            Some(_) => QuitBehaviour::Keep,
            None => QuitBehaviour::Ask,
        })
    }

    /// Whether the user wants this kind of notification (on unless switched off).
    pub fn notification_enabled(&self, kind: &str) -> bool {
        self.store()
            .setting(&format!("notify.{kind}"))
            .ok()
            .flatten()
            .is_none_or(|v| v != "off")
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::engine::fake::FakeEngine;
    use crate::home::Home;
    use crate::secrets::MemorySecretStore;
    use crate::store::Store;

    fn manager() -> (Manager, tempfile::TempDir) {
        let t = tempfile::tempdir().unwrap();
        let m = Manager::new(
            Home::open(t.path().join("home")).unwrap(),
            Store::open_in_memory().unwrap(),
            Arc::new(FakeEngine::default()),
            Arc::new(MemorySecretStore::default()),
        )
        .unwrap();
        (m, t)
    }

    #[test]
    fn old_names_mean_the_same_setting_as_the_canonical_one() {
        for name in ["backup-keep", "keep", "backup_keep"] {
            assert_eq!(SettingKey::parse(name).unwrap(), SettingKey::BackupKeep);
        }
        assert_eq!(
            SettingKey::parse("default_version.postgres").unwrap(),
            SettingKey::DefaultVersion(Kind::Postgres)
        );
        assert_eq!(
            SettingKey::parse("restart_on_failure.pg").unwrap().name(),
            "restart-on-failure.pg"
        );
        let e = SettingKey::parse("colour").unwrap_err().to_string();
        assert!(e.contains("backup-keep"), "{e}");
        let e = SettingKey::parse("default-version")
            .unwrap_err()
            .to_string();
        assert!(e.contains("default-version.<kind>"), "{e}");
    }

    /// Every row of the table: its name and each alias parse to one key whose canonical name is
    /// the row's, and the value `settings_values` shows is one `set_setting` takes back unchanged.
    #[test]
    fn every_setting_in_the_table_parses_shows_and_takes_its_value_back() {
        let (m, _t) = manager();
        let shown = m.setting_values().unwrap();
        for def in SETTINGS {
            let suffix = match def.scope {
                SettingScope::One => String::new(),
                SettingScope::PerKind => format!(".{}", Kind::ALL[0]),
                SettingScope::PerService => ".some-service".to_string(),
                SettingScope::PerNotification => format!(".{}", NOTIFICATION_KINDS[0]),
            };
            let canonical = format!("{}{suffix}", def.name);
            for name in std::iter::once(&def.name).chain(def.aliases) {
                let key = SettingKey::parse(&format!("{name}{suffix}")).unwrap();
                assert_eq!(key.name(), canonical, "{name}");
            }
            if def.scope == SettingScope::PerService {
                continue; // no service in this home: nothing shown
            }
            let v = shown
                .iter()
                .find(|v| v.name == canonical)
                .unwrap_or_else(|| panic!("{canonical} is not shown"));
            assert_eq!((v.takes, v.doc), (def.takes, def.doc));
            m.set_setting(&v.name, &v.value)
                .unwrap_or_else(|e| panic!("{} = {}: {e}", v.name, v.value));
            let again = m.setting_values().unwrap();
            assert!(
                again.contains(v),
                "{} changed by setting its own value",
                v.name
            );
        }
        assert_eq!(
            shown.len(),
            SETTINGS.len() - 3 + Kind::ALL.len() + NOTIFICATION_KINDS.len(),
            "one row per setting, per kind and per notification kind"
        );
    }

    #[test]
    fn a_value_set_under_any_name_is_read_back_in_the_settings() {
        let (m, _t) = manager();
        m.set_setting("keep", "3").unwrap();
        assert_eq!(m.settings().unwrap().backup.keep, 3);
        m.set_setting("backup_keep", "4").unwrap();
        assert_eq!(m.settings().unwrap().backup.keep, 4);
        m.set_setting("backup-keep", "5").unwrap();
        assert_eq!(m.settings().unwrap().backup.keep, 5);
        m.set_setting("grace-period", "5m").unwrap();
        assert_eq!(m.settings().unwrap().grace_period_secs, 300);
        m.set_setting("notify.backup", "off").unwrap();
        let s = m.settings().unwrap();
        assert!(s.notifications.contains(&("backup".into(), false)));
        assert!(s.notifications.contains(&("started".into(), true)));
        assert!(m.set_setting("notify.weather", "on").is_err());
    }

    #[test]
    fn the_quit_answer_is_ask_until_given() {
        let (m, _t) = manager();
        assert_eq!(m.quit_behaviour().unwrap(), QuitBehaviour::Ask);
        m.set_setting("quit", "stop").unwrap();
        assert_eq!(m.settings().unwrap().quit, QuitBehaviour::Stop);
        m.set_setting("quit", "keep").unwrap();
        assert_eq!(m.quit_behaviour().unwrap(), QuitBehaviour::Keep);
        m.set_setting("quit", "ask").unwrap();
        assert_eq!(m.quit_behaviour().unwrap(), QuitBehaviour::Ask);
        assert!(m.set_setting("quit", "maybe").is_err());
    }

    #[test]
    fn durations_take_seconds_minutes_and_hours() {
        assert_eq!(parse_duration("90").unwrap().as_secs(), 90);
        assert_eq!(parse_duration("5m").unwrap().as_secs(), 300);
        assert_eq!(parse_duration("1h").unwrap().as_secs(), 3600);
        assert!(parse_duration("soon").is_err());
    }
}
