//! The command line, as clap sees it.

use clap::{CommandFactory, Parser, Subcommand};
use dockhand_core::facade::SETTINGS;

/// `dockhand --version`: the release and the commit it was built from (set by build.rs).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("DOCKHAND_GIT_COMMIT"),
    ")"
);

#[derive(Debug, Parser)]
#[command(
    name = "dockhand",
    version = VERSION,
    about = "Shared database services (PostgreSQL, Redis, MariaDB, MySQL, MongoDB) for all your projects",
    after_help = "Services are named after their kind and version (postgres-15) unless --name is given; \
                  commands that take a SERVICE also accept its kind (postgres) when only one service has it.\n\
                  State lives in DOCKHAND_HOME (default: ~/.local/share/dockhand)."
)]
pub struct Cli {
    /// Machine-readable output (JSON on stdout; errors as {"error":{"code","message"}}).
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create and start services, waiting until each answers a real query
    /// (e.g. `dockhand up postgres:15 redis:7`, or `dockhand up main=postgres:16 cache=redis:7`).
    Up {
        /// [NAME=]KIND[:VERSION], e.g. postgres, postgres:16, cache=redis:7, mariadb:10.11, mysql:8.4, mongo:8
        #[arg(required = true, value_name = "[NAME=]KIND[:VERSION]", add = crate::complete::services_and_kinds())]
        specs: Vec<String>,
        /// Service name (default: kind-version, e.g. postgres-16); only with a single service.
        #[arg(long)]
        name: Option<String>,
        /// Host port on 127.0.0.1 (default: the kind's usual port, or the next free one).
        #[arg(long)]
        port: Option<u16>,
        /// Use this image instead of the official one (a mirror, or e.g. postgis/postgis:16-3.4).
        #[arg(long)]
        image: Option<String>,
        /// PostgreSQL extensions the service must carry: vector (or pgvector), postgis. Picks
        /// the image that has them (pgvector/pgvector:pg17, postgis/postgis:17-3.5).
        #[arg(long = "with", value_name = "EXTENSION,...", value_delimiter = ',')]
        with: Vec<String>,
        /// No volume: the data lives in memory (a tmpfs) and is lost at `down` — which removes
        /// the service, its projects' databases and passwords — or whenever the server stops.
        #[arg(long)]
        ephemeral: bool,
        /// Durability off for speed (PostgreSQL fsync/synchronous_commit/full_page_writes off,
        /// MariaDB/MySQL flush once a second, Redis appendfsync no): a crash of the machine or
        /// of the container can lose or corrupt data.
        #[arg(long)]
        fast: bool,
        /// Memory limit of a new service, e.g. 512m or 1g, or `none` (default per kind:
        /// PostgreSQL/MariaDB/MySQL 512m, Redis/Valkey 256m, MongoDB 1g; twice that when
        /// ephemeral). Change it later with `dockhand set`.
        #[arg(long, value_name = "SIZE")]
        memory: Option<String>,
    },
    /// Change a service's settings: its memory limit (applied to the running server at once,
    /// without a restart; data is kept).
    Set {
        #[arg(add = crate::complete::services())]
        service: String,
        /// New memory limit, e.g. 512m, 1g, or `none`.
        #[arg(long, value_name = "SIZE", required = true)]
        memory: String,
    },
    /// Stop services (containers and data are kept; an ephemeral service is removed).
    Down {
        #[arg(required = true, add = crate::complete::services())]
        services: Vec<String>,
    },
    /// Stop and start a service, waiting until it is ready again.
    Restart {
        #[arg(add = crate::complete::services())]
        service: String,
    },
    /// Remove a service's container; its data volume is kept unless --purge.
    Destroy {
        #[arg(add = crate::complete::services())]
        service: String,
        /// Also delete the service's data volume and password — for good.
        #[arg(long)]
        purge: bool,
        /// Do not ask for confirmation of --purge.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Show every service with its live state (running means it answered a real query).
    Status {
        /// Keep watching: print the table again (a JSON line with --json) whenever a service's
        /// health changes, until Ctrl-C.
        #[arg(long, short = 'w')]
        watch: bool,
    },
    /// Show a service's logs.
    Logs {
        #[arg(add = crate::complete::services())]
        service: String,
        /// Keep streaming new lines.
        #[arg(long, short = 'f')]
        follow: bool,
        /// Number of lines from the end.
        #[arg(long, default_value_t = 100)]
        tail: usize,
    },
    /// Print a project's URL (for one of its services), or a service's admin URL.
    /// Both contain passwords.
    Url {
        /// A project, or a service (its admin URL); default: the project in this folder
        #[arg(add = crate::complete::projects_and_services())]
        name: Option<String>,
        /// With a project: which of its services (name or kind); default: its main database.
        #[arg(add = crate::complete::services())]
        service: Option<String>,
    },
    /// Manage projects (a name and a folder, using services).
    #[command(subcommand)]
    Project(ProjectCommand),
    /// Attach the project in this folder (or --project) to services, creating its own database
    /// and user on each. Without arguments, the services come from dockhand.toml.
    Attach {
        /// Services by name, or KIND[:VERSION] (an existing service of that kind and version
        /// line is used, else one is created)
        #[arg(add = crate::complete::services_and_kinds())]
        targets: Vec<String>,
        #[arg(long, short = 'p', add = crate::complete::projects())]
        project: Option<String>,
        /// Give the project a server of its own for each KIND named (named after the project;
        /// no other project gets a database on it) instead of the shared one
        #[arg(long)]
        dedicated: bool,
    },
    /// Detach a project from a service (its database and data are kept).
    Detach {
        #[arg(add = crate::complete::services())]
        service: String,
        #[arg(long, short = 'p', add = crate::complete::projects())]
        project: Option<String>,
    },
    /// Print a project's variables (DATABASE_URL, REDIS_URL, PG*, MYSQL_*, …).
    Env {
        /// Project (default: the one whose folder holds the current directory)
        #[arg(add = crate::complete::projects())]
        project: Option<String>,
        /// host: 127.0.0.1 and published ports; container: service names on the `dockhand`
        /// Docker network; docker-desktop: host.docker.internal
        #[arg(long = "for", default_value = "host", value_parser = ["host", "container", "docker-desktop"])]
        audience: String,
        /// Merge the variables into this dotenv file, keeping its other lines.
        #[arg(long)]
        write: Option<std::path::PathBuf>,
    },
    /// Run a command with the project's variables in its environment, holding its services
    /// for as long as it runs. Exits with the command's exit code.
    Run {
        #[arg(long, short = 'p', add = crate::complete::projects())]
        project: Option<String>,
        /// Give the command N disposable copies of the project's PostgreSQL databases, one per
        /// test worker: DATABASE_URL_1 … DATABASE_URL_N (DATABASE_URL names the first),
        /// dropped when it ends
        #[arg(long, value_name = "N")]
        clones: Option<usize>,
        /// With --clones: copy this restore point instead of the data as it is now
        #[arg(long, requires = "clones")]
        point: Option<String>,
        /// With --clones: end the project's own sessions on its database if any are open
        /// (PostgreSQL copies a database only while nobody is connected)
        #[arg(long, requires = "clones")]
        end_sessions: bool,
        /// The command and its arguments (after `--`)
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<String>,
    },
    /// Open a project's database in its kind's own client (psql, mariadb, redis-cli) as the
    /// project's user, holding its services while it runs (`dockhand connect -- -c 'SELECT 1'`).
    Connect {
        /// Project (default: the one whose folder holds the current directory)
        #[arg(add = crate::complete::projects())]
        project: Option<String>,
        /// Which of its services (name or kind); default: its main database.
        #[arg(long, short = 's', add = crate::complete::services())]
        service: Option<String>,
        /// Arguments for the client, after `--`
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// Back up databases of a service into the backups folder (all of its databases unless
    /// --database or --project; a Redis backup is a snapshot of the whole server).
    Backup {
        /// The service; leave out with --all to back up every running service.
        #[arg(add = crate::complete::services())]
        service: Option<String>,
        #[arg(long, short = 'd')]
        database: Option<String>,
        #[arg(long, short = 'p', add = crate::complete::projects())]
        project: Option<String>,
        #[arg(long)]
        all: bool,
    },
    /// The databases of a service: list them, create one with its own user, drop one (after a
    /// backup).
    #[command(subcommand)]
    Db(DbCommand),
    /// Restore points of a project: a copy of each of its databases kept on its server, taken
    /// and reset to in seconds (PostgreSQL).
    #[command(subcommand)]
    Point(PointCommand),
    /// A database per git branch, for projects whose dockhand.toml says `[branches] enabled =
    /// true`: made on first use from the branch's parent; `run`, `env`, `url` and `connect`
    /// follow the branch checked out (PostgreSQL).
    #[command(subcommand)]
    Branch(BranchCommand),
    /// A project's databases on servers Dockhand does not run (staging, a hosted database):
    /// their URLs are handed out with the project's other variables; never started, stopped
    /// or backed up.
    #[command(subcommand)]
    External(ExternalCommand),
    /// List backups, newest first.
    Backups {
        #[arg(add = crate::complete::services())]
        service: Option<String>,
        #[arg(long, short = 'd')]
        database: Option<String>,
    },
    /// Check a backup: its checksum, and that the server's own tool can read it.
    Verify {
        /// Backup id (from `dockhand backups`)
        backup: i64,
    },
    /// The images of Dockhand's kinds in Docker: size, which services use them (`images`), pull
    /// them ahead of time (`images pull postgres:17 redis`), remove unused ones (`images prune`).
    Images {
        #[command(subcommand)]
        action: Option<ImagesCommand>,
    },
    /// List database containers Dockhand did not create (by image: postgres, postgis, pgvector,
    /// mariadb, mysql, redis, valkey, mongo), with their ports, data and whether they can be
    /// adopted.
    Detect,
    /// Take over a database container Dockhand did not create, as a service like the others
    /// (projects, backups, health). It is never re-created or removed; `destroy` forgets it.
    Adopt {
        /// The container's name (from `dockhand detect`)
        container: String,
        /// The service name to give it (default: the container's name)
        #[arg(long)]
        name: Option<String>,
        /// Read the superuser's password from standard input (when the container's
        /// configuration does not hold it)
        #[arg(long)]
        password_stdin: bool,
    },
    /// Everything about one service: image and digest, volume and size, ports, network aliases,
    /// limits, mode, consumers, last health, recent events.
    Inspect {
        /// Service name (or kind, when unambiguous)
        #[arg(add = crate::complete::services())]
        service: String,
        /// How many recent events to show
        #[arg(long, default_value_t = 10)]
        events: usize,
    },
    /// Upgrade a service to a newer major version (PostgreSQL 15 → 17): backs up every database,
    /// builds the new server beside the old one, copies and verifies every database, role and
    /// grant, then switches on the same port (projects' URLs keep working). The old data is kept
    /// for --rollback until --finish.
    #[command(group(clap::ArgGroup::new("action").required(true).args(["to", "rollback", "finish", "status"])))]
    Upgrade {
        /// Service name (or kind, when unambiguous)
        #[arg(add = crate::complete::services())]
        service: String,
        /// The version to upgrade to (e.g. 17)
        #[arg(long)]
        to: Option<String>,
        /// Image of the new version (default: the official image, when the service runs one)
        #[arg(long, requires = "to")]
        image: Option<String>,
        /// Go back to the version before the last upgrade (its databases are backed up first;
        /// the newer version's data is kept until --finish)
        #[arg(long)]
        rollback: bool,
        /// Remove the data the last upgrade or rollback kept, and forget it
        #[arg(long)]
        finish: bool,
        /// Show the upgrade on record, if any
        #[arg(long)]
        status: bool,
        /// Do not ask for confirmation of --finish
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Restore a backup into a new or named database (default: the one it was taken of, which
    /// must not exist unless --overwrite).
    Restore {
        /// Backup id (from `dockhand backups`)
        backup: i64,
        /// Database to restore into.
        #[arg(long)]
        into: Option<String>,
        /// Replace an existing database — after backing it up.
        #[arg(long)]
        overwrite: bool,
        /// Do not ask for confirmation of --overwrite.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Import a dump into a project's database: .sql, .sql.gz, pg_dump -Fc, a mariadb-dump file
    /// (told from its content). A database holding anything is only replaced with --replace,
    /// and is backed up first. The file runs as the project's user, never the admin.
    Import {
        /// A project, or <service>/<database> naming a project's database.
        target: String,
        /// The dump file.
        file: std::path::PathBuf,
        /// Replace what the database holds (after a backup of it).
        #[arg(long)]
        replace: bool,
        /// Do not ask for confirmation of --replace.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Export a database to a file (what `dockhand backup` writes: pg_dump -Fc, a mariadb-dump
    /// SQL file; gzip-compressed when FILE ends in .gz), or to stdout with `-`.
    Export {
        /// A project, or <service>/<database>.
        target: String,
        /// The file to write (never overwritten; default: <database>.<dump|sql> here), or `-`.
        file: Option<std::path::PathBuf>,
    },
    /// Watch over services in the foreground, as the tray app does in the background: record
    /// health changes, restart failed services whose restart-on-failure is on, bring services
    /// back after Docker restarts, run scheduled backups. Prints what happens until Ctrl-C.
    Supervise,
    /// Start a new state database with this home's identity after the old one was lost (Dockhand
    /// refuses to run on a missing or emptied state database rather than become someone new).
    Recover,
    /// Show or change settings.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Print the shell completion script for bash, zsh, fish, elvish or powershell
    /// (the packages install them; e.g. `dockhand completions bash > ~/.local/share/bash-completion/completions/dockhand`).
    Completions { shell: clap_complete::Shell },
    #[command(subcommand, hide = true)]
    Internal(InternalCommand),
    /// Long operations of every Dockhand process (this one, other terminals, the tray app):
    /// running ones first with their progress, then the most recent finished ones.
    Tasks {
        /// The whole kept history (the last 200 finished tasks), not only the 20 most recent.
        #[arg(long)]
        all: bool,
    },
    /// Show the history of what happened to services, newest first.
    Events {
        #[arg(add = crate::complete::services())]
        service: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// Register a project folder (default: the current directory).
    Add {
        path: Option<std::path::PathBuf>,
        /// Project name (default: dockhand.toml's `name`, else the folder's name)
        #[arg(long)]
        name: Option<String>,
    },
    /// List projects with the services they use.
    List,
    /// Start the project's services and keep them running until `project down`.
    Up {
        #[arg(add = crate::complete::projects())]
        name: Option<String>,
    },
    /// Let the project's services go (they stop after the grace period if nobody else uses them).
    Down {
        #[arg(add = crate::complete::projects())]
        name: Option<String>,
    },
    /// Forget a project. Its databases stay on the servers unless --drop-data.
    Remove {
        #[arg(add = crate::complete::projects())]
        name: String,
        /// Also drop its databases and users — after a backup of each into the backups folder.
        #[arg(long)]
        drop_data: bool,
        /// Do not ask for confirmation of --drop-data.
        #[arg(long, short = 'y')]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ExternalCommand {
    /// Add one: its URL (postgres://USER:PASSWORD@HOST:PORT/DATABASE, as its provider gives it)
    /// is read from standard input — never the command line — checked to log in, and kept in
    /// the OS keychain.
    Add {
        /// postgres, mariadb, mysql, redis, valkey or mongo
        kind: String,
        #[arg(long, short = 'p', add = crate::complete::projects())]
        project: Option<String>,
        /// Its name (default: <project>-<kind>-ext)
        #[arg(long)]
        name: Option<String>,
    },
    /// List them, each checked to log in now.
    List {
        #[arg(long, short = 'p', add = crate::complete::projects())]
        project: Option<String>,
    },
    /// Forget one (the server and its data are not touched).
    Remove {
        name: String,
        #[arg(long, short = 'p', add = crate::complete::projects())]
        project: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum PointCommand {
    /// Take a restore point of the project's databases (each copied by its server).
    Take {
        /// The point's name (default: the date and time)
        name: Option<String>,
        /// The project (default: the one of the current folder)
        #[arg(long, short = 'p', add = crate::complete::projects())]
        project: Option<String>,
        /// End the project's own sessions on its databases if any are open (PostgreSQL copies
        /// a database only while nobody is connected); other projects are never touched.
        #[arg(long)]
        end_sessions: bool,
    },
    /// The project's restore points, with their size and time.
    List {
        #[arg(long, short = 'p', add = crate::complete::projects())]
        project: Option<String>,
    },
    /// Put the project's databases back to a restore point (each backed up first; the
    /// project's sessions on them are ended). The point stays, to reset to again.
    Reset {
        name: String,
        #[arg(long, short = 'p', add = crate::complete::projects())]
        project: Option<String>,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Delete a restore point (its copies on the servers).
    Delete {
        name: String,
        #[arg(long, short = 'p', add = crate::complete::projects())]
        project: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum BranchCommand {
    /// The branches with databases, their size and parent, and which are gone from git.
    List {
        #[arg(long, short = 'p', add = crate::complete::projects())]
        project: Option<String>,
    },
    /// Make a branch's databases now (default: the branch checked out), from its parent, a
    /// branch or a restore point.
    Create {
        /// The git branch (default: the one checked out)
        branch: Option<String>,
        #[arg(long, short = 'p', add = crate::complete::projects())]
        project: Option<String>,
        /// Copy this branch's databases (default: the branch it was checked out from, else the
        /// main branch)
        #[arg(long, conflicts_with = "point")]
        from: Option<String>,
        /// Copy this restore point of the project
        #[arg(long)]
        point: Option<String>,
        /// End the project's own sessions on the database copied, if any are open (PostgreSQL
        /// copies a database only while nobody is connected)
        #[arg(long)]
        end_sessions: bool,
    },
    /// Drop a branch's databases (their data goes).
    Delete {
        branch: String,
        #[arg(long, short = 'p', add = crate::complete::projects())]
        project: Option<String>,
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Drop the databases of branches git no longer has.
    Prune {
        #[arg(long, short = 'p', add = crate::complete::projects())]
        project: Option<String>,
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Install a git post-checkout hook that rewrites the project's .env for the branch checked
    /// out.
    Hook {
        #[arg(long, short = 'p', add = crate::complete::projects())]
        project: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// The server's databases, with the project (and user) that owns each.
    List {
        #[arg(add = crate::complete::services())]
        service: String,
    },
    /// Create a database with its own user and password: a project of that name without a
    /// folder (`dockhand url NAME` prints its URL; `dockhand project remove` removes it).
    Create {
        #[arg(add = crate::complete::services())]
        service: String,
        name: String,
    },
    /// Back up a database, then drop it (a project's with its user).
    Drop {
        #[arg(add = crate::complete::services())]
        service: String,
        name: String,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImagesCommand {
    /// Pull the official image of each kind[:version] (its default version when none is named).
    Pull {
        #[arg(required = true)]
        specs: Vec<String>,
    },
    /// Remove the images of Dockhand's kinds that no service (nor an upgrade kept for a
    /// rollback, nor any container) uses. Other images are never touched.
    Prune {
        /// Only list what would be removed
        #[arg(long)]
        dry_run: bool,
        /// Do not ask for confirmation
        #[arg(long, short = 'y')]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Show all settings.
    Show,
    /// Change a setting (the list below; `dockhand config show` prints each with its value).
    Set { key: String, value: String },
}

#[derive(Debug, Subcommand)]
pub enum InternalCommand {
    /// Stops a service once its grace period is over, if nobody uses it by then.
    StopIdle {
        #[arg(add = crate::complete::services())]
        service: String,
        #[arg(long)]
        after: u64,
    },
    /// Prints the man page (roff) made from this command line; the packages install it as dockhand.1.
    Man,
}

/// The command line with what clap's derive cannot hold: the settings `config set` takes, listed
/// from the core's table (so the help, the man page and the completions name every setting).
pub fn command() -> clap::Command {
    let cmd = Cli::command().mut_subcommand("config", |c| {
        c.mut_subcommand("set", |s| s.after_help(settings_help()))
    });
    let template = format!(
        "{{about-with-newline}}\n{{usage-heading}} {{usage}}\n\n{}Options:\n{{options}}{{after-help}}",
        grouped_commands(&cmd)
    );
    cmd.help_template(template)
}

/// `dockhand --help` lists the commands by what they are for (clap lists one flat list).
const COMMAND_GROUPS: &[(&str, &[&str])] = &[
    (
        "Services",
        &[
            "up", "down", "restart", "status", "logs", "url", "set", "inspect", "upgrade",
            "destroy",
        ],
    ),
    (
        "Projects",
        &[
            "attach", "detach", "env", "run", "connect", "project", "db", "point", "branch",
            "external",
        ],
    ),
    (
        "Backups and data",
        &["backup", "backups", "verify", "restore", "import", "export"],
    ),
    ("Docker", &["images", "detect", "adopt"]),
    (
        "Dockhand",
        &[
            "config",
            "tasks",
            "events",
            "supervise",
            "recover",
            "completions",
        ],
    ),
];

/// The commands section of the help, from the commands' own descriptions (so it cannot drift).
fn grouped_commands(cmd: &clap::Command) -> String {
    let width = cmd
        .get_subcommands()
        .map(|c| c.get_name().len())
        .max()
        .unwrap_or(0)
        + 2;
    let mut out = String::new();
    for (group, names) in COMMAND_GROUPS {
        out.push_str(&format!("{group}:\n"));
        for name in *names {
            let about = cmd
                .find_subcommand(name)
                .and_then(|c| c.get_about())
                .map(|a| a.to_string())
                .unwrap_or_default();
            let first = about.split(". ").next().unwrap_or_default();
            out.push_str(&format!(
                "  {name:<width$}{}\n",
                first.trim_end_matches('.')
            ));
        }
        out.push('\n');
    }
    out
}

fn settings_help() -> String {
    let mut out = String::from("Settings:\n");
    for def in SETTINGS {
        out.push_str(&format!(
            "  {}\n      {}; takes {}",
            def.pattern(),
            def.doc,
            def.takes
        ));
        if !def.aliases.is_empty() {
            out.push_str(&format!(" (also: {})", def.aliases.join(", ")));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--help` groups every command once, by what it is for, and lists no flat list.
    #[test]
    fn help_groups_every_command_once() {
        let cmd = command();
        let visible: Vec<&str> = cmd
            .get_subcommands()
            .filter(|c| !c.is_hide_set())
            .map(|c| c.get_name())
            .collect();
        let grouped: Vec<&str> = COMMAND_GROUPS
            .iter()
            .flat_map(|(_, names)| names.iter().copied())
            .collect();
        for name in &visible {
            assert_eq!(
                grouped.iter().filter(|g| *g == name).count(),
                1,
                "`{name}` must be in exactly one group of COMMAND_GROUPS"
            );
        }
        assert_eq!(grouped.len(), visible.len(), "a group names no command");
        let help = command().render_help().to_string();
        assert!(help.contains("Services:\n  up "), "{help}");
        assert!(help.contains("Backups and data:"), "{help}");
        assert!(!help.contains("Commands:"), "{help}");
        assert!(help.contains("--json"), "{help}");
    }

    /// `config set --help` (and so the man page) names every setting of the core's table.
    #[test]
    fn config_set_help_lists_every_setting() {
        let mut cmd = command();
        let set = cmd
            .find_subcommand_mut("config")
            .and_then(|c| c.find_subcommand_mut("set"))
            .unwrap();
        let help = set.render_long_help().to_string();
        for def in SETTINGS {
            assert!(
                help.contains(&def.pattern()),
                "{} missing:\n{help}",
                def.name
            );
        }
    }
}
