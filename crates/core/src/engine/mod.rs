//! The container engine as Dockhand needs it: a small trait with the operations the product uses,
//! a Docker implementation over bollard, and the discovery of which Docker socket to talk to.
//! A fake in tests, or a native-process engine later, can sit behind the same trait.

mod docker;
#[cfg(test)]
pub(crate) mod fake;
mod socket;
mod tarball;

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::stream::BoxStream;
use serde::Serialize;

pub use docker::DockerEngine;

pub use socket::{discover_endpoint, Endpoint};

use crate::catalog::ContainerFile;

/// Label keys Dockhand puts on everything it creates. Docker's labels are the truth about which
/// containers and volumes belong to Dockhand.
pub mod labels {
    pub const MANAGED: &str = "dockhand.managed";
    pub const KIND: &str = "dockhand.kind";
    pub const VERSION: &str = "dockhand.version";
    pub const SERVICE: &str = "dockhand.service";
    /// Which Dockhand home (state directory) owns the resource, so two homes on one engine
    /// (a test run beside the user's own) never touch each other's containers.
    pub const INSTANCE: &str = "dockhand.instance";
    pub const PORT: &str = "dockhand.port";
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("Docker is not running or not reachable at {endpoint} ({reason}) — start Docker Desktop, Colima, OrbStack or `dockerd`, or point DOCKER_HOST at a running engine")]
    Unavailable { endpoint: String, reason: String },

    #[error("Docker did not answer '{op}' within {} s — the engine may be overloaded or hung; check `docker info`", .limit.as_secs())]
    Timeout { op: String, limit: Duration },

    #[error("not found: {0}")]
    NotFound(String),

    #[error("conflict: {0}")]
    Conflict(String),

    #[error("host port {port} is already taken ({message})")]
    PortAllocated { port: u16, message: String },

    /// Docker's 304: the container already was in the state asked for.
    #[error("'{0}': nothing to do")]
    AlreadyInState(String),

    #[error("Docker refused '{op}': {message}")]
    Api { op: String, message: String },
}

impl EngineError {
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::Unavailable { .. } => "engine_unavailable",
            EngineError::Timeout { .. } => "engine_timeout",
            EngineError::NotFound(_) => "not_found",
            EngineError::Conflict(_) => "conflict",
            EngineError::PortAllocated { .. } => "port_in_use",
            EngineError::AlreadyInState(_) => "not_modified",
            EngineError::Api { .. } => "engine_error",
        }
    }
}

pub type EngineResult<T> = Result<T, EngineError>;

/// What to create. Everything Dockhand runs is described by one of these.
#[derive(Debug, Clone)]
pub struct ContainerSpec {
    pub name: String,
    pub image: String,
    pub env: Vec<String>,
    pub cmd: Vec<String>,
    pub labels: HashMap<String, String>,
    pub container_port: u16,
    /// Always published on 127.0.0.1: `-p 5432:5432` would bind every interface and bypass the
    /// host firewall.
    pub host_port: u16,
    pub volume: String,
    pub data_path: String,
    pub network: String,
    pub network_alias: String,
    pub stop_timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    Created,
    Running,
    Restarting,
    Paused,
    Exited,
    Dead,
    Other,
}

#[derive(Debug, Clone, Serialize)]
pub struct ContainerInfo {
    pub id: String,
    pub name: String,
    pub image: String,
    pub state: RunState,
    pub exit_code: Option<i64>,
    pub oom_killed: bool,
    /// The engine's own error for the last start (e.g. a port bind failure).
    pub error: Option<String>,
    pub started_at: Option<String>,
    pub labels: HashMap<String, String>,
    /// Published host bindings of the service port: (host ip, host port).
    pub bindings: Vec<(String, u16)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PullProgress {
    Status(String),
    Bytes { current: u64, total: u64 },
}

#[derive(Debug, Clone)]
pub struct VolumeInfo {
    pub name: String,
    pub labels: HashMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputStream {
    Stdout,
    Stderr,
}

#[derive(Debug, Clone)]
pub struct LogChunk {
    pub stream: OutputStream,
    pub bytes: bytes::Bytes,
}

/// A lifecycle event of a Dockhand container, from Docker's event stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerEvent {
    /// The `dockhand.service` label of the container.
    pub service: String,
    /// Docker's action: start, die, oom, stop, kill, destroy, health_status…
    pub action: String,
}

#[derive(Debug, Default, Clone)]
pub struct ExecOutput {
    pub exit_code: i64,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

#[async_trait]
pub trait Engine: Send + Sync + 'static {
    /// A human-readable description of where the engine is (for messages).
    fn endpoint(&self) -> String;
    async fn ping(&self) -> EngineResult<()>;
    async fn image_present(&self, image: &str) -> EngineResult<bool>;
    async fn pull_image(
        &self,
        image: &str,
        progress: &(dyn Fn(PullProgress) + Send + Sync),
    ) -> EngineResult<()>;
    async fn inspect_volume(&self, name: &str) -> EngineResult<Option<VolumeInfo>>;
    async fn create_volume(&self, name: &str, labels: HashMap<String, String>) -> EngineResult<()>;
    async fn remove_volume(&self, name: &str) -> EngineResult<()>;
    async fn ensure_network(&self, name: &str, labels: HashMap<String, String>)
        -> EngineResult<()>;
    /// Creates the container; `Conflict` if the name is taken.
    async fn create_container(&self, spec: &ContainerSpec) -> EngineResult<String>;
    /// Places files into a created container (before its first start).
    async fn put_files(&self, container: &str, files: &[ContainerFile]) -> EngineResult<()>;
    async fn start_container(&self, name: &str) -> EngineResult<()>;
    async fn stop_container(&self, name: &str, grace: Duration) -> EngineResult<()>;
    async fn remove_container(&self, name: &str) -> EngineResult<()>;
    async fn inspect_container(&self, name: &str) -> EngineResult<Option<ContainerInfo>>;
    /// Containers (running or not) carrying all of the given labels. From Docker's list, so
    /// `exit_code`, `oom_killed`, `error` and `started_at` are not filled in, and `bindings`
    /// only for running containers: inspect a container for those.
    async fn list_containers(&self, labels: &[(&str, &str)]) -> EngineResult<Vec<ContainerInfo>>;
    /// The last `tail` log lines, or a live stream when `follow` is set.
    fn logs(
        &self,
        name: &str,
        tail: Option<usize>,
        follow: bool,
    ) -> BoxStream<'static, EngineResult<LogChunk>>;
    /// Runs a command in a running container, streaming its output to `sink` as it comes;
    /// returns the exit code. `limit` bounds the whole run.
    async fn exec(
        &self,
        container: &str,
        cmd: &[&str],
        env: &[String],
        limit: Duration,
        sink: &mut (dyn FnMut(LogChunk) + Send),
    ) -> EngineResult<i64>;
    /// Like [`Engine::exec`], with `input` streamed to the command's stdin and closed at its end
    /// (how restores feed a dump to `pg_restore` without copying it into the container first).
    async fn exec_with_input(
        &self,
        container: &str,
        cmd: &[&str],
        env: &[String],
        limit: Duration,
        input: &mut (dyn tokio::io::AsyncRead + Unpin + Send),
        sink: &mut (dyn FnMut(LogChunk) + Send),
    ) -> EngineResult<i64>;
    /// Lifecycle events of containers carrying all of the given labels, live. The stream ends
    /// (or yields an error) when the engine goes away.
    fn container_events(
        &self,
        labels: &[(&str, &str)],
    ) -> BoxStream<'static, EngineResult<ContainerEvent>>;
}

/// Runs a command and collects its output.
pub async fn exec_collect(
    engine: &dyn Engine,
    container: &str,
    cmd: &[&str],
    limit: Duration,
) -> EngineResult<ExecOutput> {
    exec_collect_env(engine, container, cmd, &[], limit).await
}

/// Runs a command with extra environment (how secrets reach tools: never in `cmd`).
pub async fn exec_collect_env(
    engine: &dyn Engine,
    container: &str,
    cmd: &[&str],
    env: &[String],
    limit: Duration,
) -> EngineResult<ExecOutput> {
    let mut out = ExecOutput::default();
    let mut sink = |c: LogChunk| match c.stream {
        OutputStream::Stdout => out.stdout.extend_from_slice(&c.bytes),
        OutputStream::Stderr => out.stderr.extend_from_slice(&c.bytes),
    };
    let code = engine.exec(container, cmd, env, limit, &mut sink).await?;
    out.exit_code = code;
    Ok(out)
}

/// The last `n` log lines of a container as text, for error messages.
pub async fn log_tail(engine: &dyn Engine, name: &str, n: usize) -> String {
    use futures_util::StreamExt;
    let mut s = engine.logs(name, Some(n), false);
    let mut text = Vec::new();
    let collect = async {
        while let Some(Ok(chunk)) = s.next().await {
            text.extend_from_slice(&chunk.bytes);
        }
    };
    // A diagnostic must never turn into a hang of its own.
    let _ = tokio::time::timeout(Duration::from_secs(5), collect).await;
    String::from_utf8_lossy(&text).trim_end().to_string()
}
