//! The command line, as clap sees it.

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "dockhand",
    version,
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
        #[arg(required = true, value_name = "[NAME=]KIND[:VERSION]")]
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
    },
    /// Stop services (containers and data are kept).
    Down {
        #[arg(required = true)]
        services: Vec<String>,
    },
    /// Stop and start a service, waiting until it is ready again.
    Restart { service: String },
    /// Remove a service's container; its data volume is kept unless --purge.
    Destroy {
        service: String,
        /// Also delete the service's data volume and password — for good.
        #[arg(long)]
        purge: bool,
        /// Do not ask for confirmation of --purge.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Show every service with its live state (running means it answered a real query).
    Status,
    /// Show a service's logs.
    Logs {
        service: String,
        /// Keep streaming new lines.
        #[arg(long, short = 'f')]
        follow: bool,
        /// Number of lines from the end.
        #[arg(long, default_value_t = 100)]
        tail: usize,
    },
    /// Print a service's admin URL (it contains the admin password).
    Url { service: String },
    /// Show the history of what happened to services, newest first.
    Events {
        service: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
}
