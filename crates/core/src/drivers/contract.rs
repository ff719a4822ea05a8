//! The contract between the core and its drivers: the types a driver fills in (its
//! `KindSpec`, a container's set-up, tool command lines) or is handed (a probe target, a grant,
//! a project's connection). Defined here, under `drivers`, so that drivers depend on nothing
//! that depends on them; the modules that use these types re-export them where they always were.

use std::time::Duration;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::Kind;
use crate::engine::ContainerFile;
use crate::error::CoreError;
use crate::secrets::Secret;

/// The static contract of one kind of server.
#[derive(Debug)]
pub struct KindSpec {
    pub id: &'static str,
    pub display_name: &'static str,
    pub aliases: &'static [&'static str],
    pub image_repo: &'static str,
    pub default_version: &'static str,
    /// Version lines Dockhand knows how to run; a requested version must be one of these or a
    /// more precise tag inside one (`15.4` is inside `15`).
    pub versions: &'static [&'static str],
    pub container_port: u16,
    /// Host ports are taken from `default_host_port..=default_host_port + PORT_RANGE`.
    pub default_host_port: u16,
    pub data_path: &'static str,
    pub admin_user: &'static str,
    pub url_scheme: &'static str,
    /// The URL schemes this kind's clients take (an external database's URL must use one);
    /// empty when its connection strings are not URLs.
    pub url_schemes: &'static [&'static str],
    /// How a URL's path names a database: by name, or by number (Redis's 0–15, where a URL
    /// without a user means the `default` user).
    pub url_database: UrlDatabase,
    /// Whether Dockhand can drop a project's data on this kind (after backing it up).
    pub drops_project_data: bool,
    /// How long a start may take before Dockhand gives up and says why; first starts run
    /// initialisation (initdb, mariadb-install-db) and need the most.
    pub ready_deadline: Duration,
    /// Grace period given to the server on stop before Docker kills it.
    pub stop_timeout: Duration,
    /// The uid the official image runs the server as; secret files are handed to it.
    pub server_uid: u64,
}

/// How a kind's URLs name a database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlDatabase {
    /// `…/DATABASE`, required.
    Named,
    /// `…/N`, optional (Redis's numbered databases); no user means the `default` user.
    Numbered,
}

pub const PORT_RANGE: u16 = 100;

/// Where the admin password is placed inside the container; read by the image's entrypoint via
/// its `*_FILE` variable, so it never appears in `docker inspect` or in a process's arguments.
pub const SECRET_DIR: &str = "/run/dockhand";
pub const ADMIN_PASSWORD_FILE: &str = "/run/dockhand/admin-password";

/// How a service's container is set up beyond its kind and version: its mode (the driver turns
/// `fast` into its server's durability settings, and may tune an `ephemeral` server) and its
/// memory limit (for servers whose own settings should stay below it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RunOptions {
    pub mode: crate::modes::Mode,
    /// `None`: no limit.
    pub memory_mb: Option<u32>,
}

#[derive(Debug, Clone, Default)]
pub struct ContainerSetup {
    pub env: Vec<String>,
    pub cmd: Vec<String>,
    pub files: Vec<ContainerFile>,
}

pub(crate) fn admin_password_file(spec: &KindSpec, password: &str) -> ContainerFile {
    ContainerFile {
        path: ADMIN_PASSWORD_FILE.into(),
        contents: password.as_bytes().to_vec(),
        mode: 0o400,
        uid: spec.server_uid,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    #[error("nothing answers on the port yet ({0})")]
    Connect(String),
    #[error("the port accepts connections but the server closes them (still starting?)")]
    Closed,
    #[error("the server is still starting ({0})")]
    Starting(String),
    #[error("authentication failed ({0}) — the data volume was initialised with another admin password than the one Dockhand holds for it")]
    Auth(String),
    /// Redis running a script past its time limit: it answers nothing else (see
    /// `Manager::end_busy_script`).
    #[error("busy: {0}")]
    Busy(String),
    #[error("unexpected reply: {0}")]
    Protocol(String),
    #[error("no answer within {} ms", .0.as_millis())]
    Timeout(Duration),
}

impl ProbeError {
    /// Errors that waiting will not fix.
    pub fn is_permanent(&self) -> bool {
        matches!(self, ProbeError::Auth(_))
    }
}

/// Whether a status detail (a probe error, as text) says the server is busy running a script.
pub fn is_busy(detail: &str) -> bool {
    detail.contains("busy: BUSY")
}

/// Where and as whom to probe.
#[derive(Clone)]
pub struct ProbeTarget {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for ProbeTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}:{}", self.user, self.host, self.port)
    }
}

pub(crate) fn io_error(e: std::io::Error) -> ProbeError {
    use std::io::ErrorKind::*;
    match e.kind() {
        UnexpectedEof | ConnectionReset | ConnectionAborted | BrokenPipe => ProbeError::Closed,
        _ => ProbeError::Connect(e.to_string()),
    }
}

/// Any provisioning session as a whole must finish within this.
pub const PROVISION_LIMIT: Duration = Duration::from_secs(30);

/// What a project gets on a service.
pub struct Grant<'a> {
    pub database: &'a str,
    pub user: &'a str,
    pub password: &'a Secret,
    /// The most connections the project's user may hold at once (PostgreSQL `CONNECTION LIMIT`,
    /// MariaDB/MySQL `MAX_USER_CONNECTIONS`), so one project cannot starve the others.
    pub connection_limit: u32,
}

/// Default of [`Grant::connection_limit`]: a quarter of the PostgreSQL catalog's
/// `max_connections` (200) and a third of MariaDB's (151), leaving the superuser reserve free.
pub const DEFAULT_CONNECTION_LIMIT: u32 = 50;

pub(crate) fn fail(kind: Kind, why: impl std::fmt::Display) -> CoreError {
    fail_as(kind.spec(), why)
}

/// [`fail`] for a server known by its spec (a driver handed in rather than looked up by kind).
pub(crate) fn fail_as(spec: &KindSpec, why: impl std::fmt::Display) -> CoreError {
    CoreError::Provision(format!("{}: {why}", spec.display_name))
}

/// One attached service as seen by the project.
pub struct Connection<'a> {
    pub kind: Kind,
    pub host: &'a str,
    pub port: u16,
    pub database: &'a str,
    pub user: &'a str,
    pub password: &'a str,
}

/// RFC 3986 unreserved characters stay as they are; everything else in userinfo is encoded.
const USERINFO: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

pub fn encode_userinfo(s: &str) -> String {
    utf8_percent_encode(s, USERINFO).to_string()
}

/// A kind's own interactive client on the user's computer (psql, mariadb, redis-cli), set up to
/// open a project's database as the project's user. The password travels in the environment
/// only: a command line is readable by every user of the machine (`/proc/*/cmdline`), a
/// process's environment only by its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCommand {
    /// The programs that can do it, the kind's own first (the first found on PATH is used).
    pub programs: &'static [&'static str],
    pub args: Vec<String>,
    pub env: Vec<(&'static str, String)>,
    /// How to get the client when none is installed.
    pub install: &'static str,
}

/// Redis has no databases to pick from: one snapshot holds the whole server.
pub const WHOLE_SERVER: &str = "all";

/// A command to run in the container, with the environment it needs.
#[derive(Clone, PartialEq, Eq)]
pub struct ToolCommand {
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    /// The program messages name (`redis-cli` for a `sh -c "… redis-cli …"` script).
    pub program: &'static str,
    /// The user (`uid:gid`) it runs as in the container; `None`: the container's own (root).
    pub user: Option<&'static str>,
}

/// `nobody`: a tool that reads a file someone else wrote runs as this user, who can read none of
/// the server's own files (its data, the admin password in /run/dockhand) whatever the file makes
/// the tool do — MariaDB's `LOAD DATA LOCAL INFILE`, psql's `\copy` if its guard ever failed.
pub const UNPRIVILEGED: &str = "65534:65534";

impl std::fmt::Debug for ToolCommand {
    // The environment carries the admin password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.cmd.join(" "))
    }
}

impl ToolCommand {
    pub fn argv(&self) -> Vec<&str> {
        self.cmd.iter().map(String::as_str).collect()
    }

    /// The same command, run as [`UNPRIVILEGED`].
    pub fn unprivileged(self) -> ToolCommand {
        ToolCommand {
            user: Some(UNPRIVILEGED),
            ..self
        }
    }
}
