//! How a service keeps its data (its mode, chosen when it is created) and how much memory it may
//! use. Plain values: the drivers turn a mode into their server's settings, the engine into a
//! tmpfs and a cgroup limit, the manager into what `down` does.

use serde::{Deserialize, Serialize, Serializer};

/// How a service keeps its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(try_from = "String")]
pub struct Mode {
    /// The data directory is a tmpfs (in memory, no volume); `down` removes the service.
    pub ephemeral: bool,
    /// The server's durability settings are off (fsync and friends) for speed.
    pub fast: bool,
}

/// Why a mode or a memory limit was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModeError {
    #[error("unknown mode {0:?}; the modes are durable, fast, ephemeral and ephemeral-fast")]
    UnknownMode(String),

    #[error("memory limit {0:?} is not a size; give megabytes or gigabytes, e.g. `512m` or `1g` (or `none` for no limit)")]
    BadMemory(String),

    #[error(
        "a memory limit of {mb} MB is too small for a database server; give at least {min} MB"
    )]
    MemoryTooSmall { mb: u32, min: u32 },

    #[error("{kind} has no fast settings; run it durable (the default) or ephemeral")]
    NoFastSettings { kind: &'static str },

    #[error("{kind} cannot keep its data in memory (it needs direct I/O, which a tmpfs does not offer); run it durable (the default)")]
    NoMemoryData { kind: &'static str },

    #[error("service '{name}' was created {existing}; a mode is chosen when a service is created — keep it as it is (leave out --ephemeral/--fast), or create another with `--name <name>`")]
    ModeMismatch {
        name: String,
        existing: &'static str,
    },

    #[error("service '{name}' has a memory limit of {existing}; change it with `dockhand set {name} --memory {requested}`")]
    MemoryMismatch {
        name: String,
        existing: String,
        requested: String,
    },

    #[error("'{name}' is ephemeral: its data lives in memory and is gone at `down`, so there is nothing to carry to another version — `dockhand down {name}` and `dockhand up` the version you want with --ephemeral")]
    EphemeralUpgrade { name: String },
}

impl ModeError {
    pub fn code(&self) -> &'static str {
        match self {
            ModeError::UnknownMode(_) => "unknown_mode",
            ModeError::BadMemory(_) => "bad_memory_limit",
            ModeError::MemoryTooSmall { .. } => "memory_limit_too_small",
            ModeError::NoFastSettings { .. } => "no_fast_settings",
            ModeError::NoMemoryData { .. } => "no_memory_data",
            ModeError::ModeMismatch { .. } => "mode_mismatch",
            ModeError::MemoryMismatch { .. } => "memory_mismatch",
            ModeError::EphemeralUpgrade { .. } => "ephemeral_upgrade",
        }
    }
}

/// The smallest limit accepted: below this no server of any kind starts.
pub const MIN_MEMORY_MB: u32 = 16;

impl Mode {
    pub const DURABLE: Mode = Mode {
        ephemeral: false,
        fast: false,
    };

    /// The stored and shown name: `durable`, `fast`, `ephemeral`, `ephemeral-fast`.
    pub fn as_str(self) -> &'static str {
        match (self.ephemeral, self.fast) {
            (false, false) => "durable",
            (false, true) => "fast",
            (true, false) => "ephemeral",
            (true, true) => "ephemeral-fast",
        }
    }

    pub fn parse(s: &str) -> Result<Mode, ModeError> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "durable" => Mode::DURABLE,
            "fast" => Mode {
                ephemeral: false,
                fast: true,
            },
            "ephemeral" => Mode {
                ephemeral: true,
                fast: false,
            },
            "ephemeral-fast" | "ephemeral+fast" | "fast-ephemeral" => Mode {
                ephemeral: true,
                fast: true,
            },
            _ => return Err(ModeError::UnknownMode(s.to_string())),
        })
    }

    /// Every mode, in the order the window offers them.
    pub const ALL: [Mode; 4] = [
        Mode::DURABLE,
        Mode {
            ephemeral: false,
            fast: true,
        },
        Mode {
            ephemeral: true,
            fast: false,
        },
        Mode {
            ephemeral: true,
            fast: true,
        },
    ];

    /// One line on where the data lives and what can lose it (for `inspect`, `status`, `up`).
    pub fn describe(self) -> &'static str {
        match (self.ephemeral, self.fast) {
            (false, false) => "durable: data in a named volume, the server's own fsync settings",
            (false, true) => {
                "fast: data in a named volume, durability settings off — a crash of the machine or \
                 of the container can lose or corrupt data"
            }
            (true, false) => {
                "ephemeral: data in memory (tmpfs), no volume — all data is lost at `down` or \
                 whenever the server stops"
            }
            (true, true) => {
                "ephemeral, fast: data in memory (tmpfs), no volume, durability settings off — all \
                 data is lost at `down` or whenever the server stops"
            }
        }
    }

    /// What the user must be told plainly when such a service is created or started; `None` for
    /// a durable service.
    pub fn warning(self) -> Option<&'static str> {
        match (self.ephemeral, self.fast) {
            (false, false) => None,
            (false, true) => Some(
                "fast mode: fsync and related durability settings are off — a crash of the machine \
                 or of the container can lose or corrupt this service's data",
            ),
            (true, _) => Some(
                "ephemeral: the data lives in memory and is lost at `down` (the service, its \
                 projects' databases and their passwords are removed) or whenever the server stops",
            ),
        }
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Mode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl TryFrom<String> for Mode {
    type Error = ModeError;
    fn try_from(s: String) -> Result<Mode, ModeError> {
        Mode::parse(&s)
    }
}

/// A memory limit as the user writes it: `512m`, `1g`, `1.5g`, `768` (megabytes), `none`.
/// Megabytes are Docker's (`-m 512m`): 1024 × 1024 bytes. `Ok(None)`: no limit.
pub fn parse_memory(s: &str) -> Result<Option<u32>, ModeError> {
    let t = s.trim().to_ascii_lowercase();
    if matches!(t.as_str(), "none" | "unlimited" | "off") {
        return Ok(None);
    }
    let bad = || ModeError::BadMemory(s.to_string());
    let (num, factor) = if let Some(n) = t.strip_suffix("gib").or(t.strip_suffix("gb")) {
        (n, 1024.0)
    } else if let Some(n) = t.strip_suffix('g') {
        (n, 1024.0)
    } else if let Some(n) = t.strip_suffix("mib").or(t.strip_suffix("mb")) {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 1.0)
    } else {
        (t.as_str(), 1.0)
    };
    let value: f64 = num.trim().parse().map_err(|_| bad())?;
    if !value.is_finite() || value <= 0.0 {
        return Err(bad());
    }
    let mb = (value * factor).round();
    if mb > f64::from(u32::MAX) {
        return Err(bad());
    }
    let mb = mb as u32;
    if mb < MIN_MEMORY_MB {
        return Err(ModeError::MemoryTooSmall {
            mb,
            min: MIN_MEMORY_MB,
        });
    }
    Ok(Some(mb))
}

/// A limit as `docker` and the CLI write it: `512m`, `1g`, `none`.
pub fn memory_arg(mb: Option<u32>) -> String {
    match mb {
        None => "none".into(),
        Some(mb) if mb % 1024 == 0 => format!("{}g", mb / 1024),
        Some(mb) => format!("{mb}m"),
    }
}

/// A limit in words: `512 MB`, `1 GB`, `no limit`.
pub fn memory_text(mb: Option<u32>) -> String {
    match mb {
        None => "no limit".into(),
        Some(mb) if mb % 1024 == 0 => format!("{} GB", mb / 1024),
        Some(mb) => format!("{mb} MB"),
    }
}

/// What is asked for a service at `up`: a mode and a limit, each `None` for "as it is" (an
/// existing service) or the default (a new one: durable, its kind's limit).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServiceOptions {
    pub mode: Option<Mode>,
    /// `Some(None)`: no limit.
    pub memory_mb: Option<Option<u32>>,
}

/// The size of an ephemeral service's tmpfs: half of its memory limit (the data's pages count
/// against the limit, and the server needs the other half), so a full data folder makes writes
/// fail with "No space left on device" rather than getting the server OOM-killed. Without a
/// limit, 1 GB.
pub fn tmpfs_mb(memory_mb: Option<u32>) -> u32 {
    memory_mb.map_or(1024, |m| (m / 2).max(8))
}

/// An ephemeral service's default limit: its kind's plus as much again for its data, which is
/// in memory (see [`tmpfs_mb`]).
pub fn default_memory_mb(kind_default_mb: u32, mode: Mode) -> u32 {
    if mode.ephemeral {
        kind_default_mb * 2
    } else {
        kind_default_mb
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_round_trip_through_their_names() {
        for m in Mode::ALL {
            assert_eq!(Mode::parse(m.as_str()).unwrap(), m);
            assert_eq!(serde_json::to_value(m).unwrap(), m.as_str());
        }
        assert_eq!(Mode::default(), Mode::DURABLE);
        assert!(Mode::DURABLE.warning().is_none());
        assert!(Mode::parse("fast")
            .unwrap()
            .warning()
            .unwrap()
            .contains("lose or corrupt"));
        assert!(Mode::parse("ephemeral")
            .unwrap()
            .warning()
            .unwrap()
            .contains("lost at `down`"));
        assert_eq!(Mode::parse("turbo").unwrap_err().code(), "unknown_mode");
    }

    #[test]
    fn memory_limits_read_as_docker_writes_them() {
        assert_eq!(parse_memory("512m"), Ok(Some(512)));
        assert_eq!(parse_memory("512MB"), Ok(Some(512)));
        assert_eq!(parse_memory("1g"), Ok(Some(1024)));
        assert_eq!(parse_memory("1.5G"), Ok(Some(1536)));
        assert_eq!(parse_memory("768"), Ok(Some(768)));
        assert_eq!(parse_memory("none"), Ok(None));
        assert_eq!(
            parse_memory("8m"),
            Err(ModeError::MemoryTooSmall { mb: 8, min: 16 })
        );
        for bad in ["", "lots", "-5m", "1t", "0", "nanm"] {
            assert!(
                matches!(parse_memory(bad), Err(ModeError::BadMemory(_))),
                "{bad}"
            );
        }
        assert_eq!(memory_arg(Some(1024)), "1g");
        assert_eq!(memory_arg(Some(24)), "24m");
        assert_eq!(memory_text(Some(256)), "256 MB");
        assert_eq!(memory_text(None), "no limit");
    }

    #[test]
    fn an_ephemeral_service_gets_room_for_its_data_in_memory() {
        let e = Mode::parse("ephemeral").unwrap();
        assert_eq!(default_memory_mb(256, e), 512);
        assert_eq!(default_memory_mb(256, Mode::DURABLE), 256);
        assert_eq!(tmpfs_mb(Some(512)), 256);
        assert_eq!(tmpfs_mb(None), 1024);
    }
}
