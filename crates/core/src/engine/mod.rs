//! The container engine as Dockhand needs it: a small trait with the operations the product uses,
//! a Docker implementation over bollard, and the discovery of which Docker socket to talk to.
//! A fake in tests, or a native-process engine later, can sit behind the same trait.

mod api_version;
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
    /// The data volume a container mounts (set on containers only).
    pub const VOLUME: &str = "dockhand.volume";
    /// The project a dedicated server serves, so a state database rebuilt from Docker keeps it.
    pub const DEDICATED_TO: &str = "dockhand.dedicated-to";
    /// How the service keeps its data (`durable`, `fast`, `ephemeral`, `ephemeral-fast`; set on
    /// containers only), so a state database rebuilt from Docker knows its mode.
    pub const MODE: &str = "dockhand.mode";
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

    /// The engine's Docker-compatible API lacks the operation (Podman before 5.1 has no
    /// container update).
    #[error("this engine has no '{op}' in its Docker API ({message})")]
    Unsupported { op: String, message: String },
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
            EngineError::Unsupported { .. } => "engine_unsupported",
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
    /// What is mounted at `data_path`.
    pub storage: Storage,
    pub data_path: String,
    pub network: String,
    pub network_alias: String,
    pub stop_timeout: Duration,
    /// The cgroup memory limit in bytes, swap included (no swap beyond it); `None`: no limit.
    pub memory_bytes: Option<u64>,
}

/// Where a container keeps its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// A named volume: kept when the container goes.
    Volume(String),
    /// A tmpfs of at most this many bytes: in memory (counted against the memory limit), gone
    /// when the container stops.
    Tmpfs { size_bytes: u64 },
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
    /// The cgroup memory limit (`None`: none, or not known from a list).
    pub memory_limit_bytes: Option<u64>,
}

/// What a container was made with, beyond [`ContainerInfo`]: what `dockhand detect` and
/// `dockhand adopt` need of a container Dockhand did not create.
#[derive(Debug, Clone, Default)]
pub struct ContainerConfig {
    /// `KEY=value`, the image's and the container's (may hold its owner's passwords: never
    /// logged or shown).
    pub env: Vec<String>,
    /// The command its entrypoint was given.
    pub cmd: Vec<String>,
    pub mounts: Vec<MountInfo>,
    /// Published ports: (container port, host ip, host port).
    pub ports: Vec<(u16, String, u16)>,
    /// Container ports published on a host port Docker picks at each start (`-p ::5432`).
    pub random_ports: Vec<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountInfo {
    /// The volume's name (a named volume), else the host path (a bind mount).
    pub source: String,
    pub destination: String,
    pub named_volume: bool,
}

/// One reading of a running container's resource use, as `docker stats` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ContainerStats {
    /// Memory in use minus the page cache (what `docker stats` calls MEM USAGE).
    pub memory_bytes: u64,
    /// The container's memory limit (the host's memory when it has none of its own).
    pub memory_limit_bytes: Option<u64>,
    /// CPU use over the engine's sampling interval, 100 = one full core.
    pub cpu_percent: Option<f64>,
}

impl ContainerStats {
    /// Memory as `docker stats` counts it: usage less inactive page cache (cgroup v2's
    /// `inactive_file`, v1's `total_inactive_file`), or less `cache` on old kernels.
    pub fn memory_in_use(usage: u64, stats: &HashMap<String, u64>) -> u64 {
        let cache = stats
            .get("inactive_file")
            .or_else(|| stats.get("total_inactive_file"))
            .or_else(|| stats.get("cache"))
            .copied()
            .unwrap_or(0);
        usage.saturating_sub(cache)
    }

    /// CPU % from two samples, as `docker stats` computes it: the container's share of the
    /// system's CPU time between them, times the number of CPUs. `None` without a first sample.
    pub fn cpu_percent(
        total: u64,
        pre_total: u64,
        system: u64,
        pre_system: u64,
        cpus: u32,
    ) -> Option<f64> {
        let cpu_delta = total.checked_sub(pre_total)? as f64;
        let system_delta = system.checked_sub(pre_system)? as f64;
        if pre_system == 0 || system_delta <= 0.0 {
            return None;
        }
        Some(cpu_delta / system_delta * f64::from(cpus.max(1)) * 100.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PullProgress {
    Status(String),
    Bytes { current: u64, total: u64 },
}

/// An image present in the engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageInfo {
    pub id: String,
    /// `repo:tag` names (`postgres:17`).
    pub tags: Vec<String>,
    /// `repo@sha256:…` (empty for an image built locally).
    pub digests: Vec<String>,
    pub size_bytes: u64,
    /// Seconds since the epoch.
    pub created: i64,
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

/// A file written into the container before its first start.
#[derive(Clone)]
pub struct ContainerFile {
    pub path: String,
    pub contents: Vec<u8>,
    pub mode: u32,
    pub uid: u64,
}

impl std::fmt::Debug for ContainerFile {
    // Contents are secrets or carry them: never print them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContainerFile")
            .field("path", &self.path)
            .field("len", &self.contents.len())
            .finish()
    }
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
    /// Changes a container's memory limit (swap included, so no swap beyond it) while it runs or
    /// not; `None` lifts it. The server is not restarted.
    async fn update_memory(&self, name: &str, bytes: Option<u64>) -> EngineResult<()>;
    async fn stop_container(&self, name: &str, grace: Duration) -> EngineResult<()>;
    async fn remove_container(&self, name: &str) -> EngineResult<()>;
    async fn inspect_container(&self, name: &str) -> EngineResult<Option<ContainerInfo>>;
    /// Containers (running or not) carrying all of the given labels. From Docker's list, so
    /// `exit_code`, `oom_killed`, `error` and `started_at` are not filled in, and `bindings`
    /// only for running containers: inspect a container for those.
    async fn list_containers(&self, labels: &[(&str, &str)]) -> EngineResult<Vec<ContainerInfo>>;
    /// A container's environment, command, mounts and published ports (see [`ContainerConfig`]).
    async fn container_config(&self, name: &str) -> EngineResult<Option<ContainerConfig>>;
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
    /// `user` (`uid:gid`) runs it as another user than the container's own: a tool fed with a
    /// file someone else wrote runs as a user who can read none of the server's files.
    #[allow(clippy::too_many_arguments)]
    async fn exec_with_input(
        &self,
        container: &str,
        cmd: &[&str],
        env: &[String],
        user: Option<&str>,
        limit: Duration,
        input: &mut (dyn tokio::io::AsyncRead + Unpin + Send),
        sink: &mut (dyn FnMut(LogChunk) + Send),
    ) -> EngineResult<i64>;
    /// One reading of a running container's memory and CPU use (the engine samples twice, about
    /// a second apart, for the CPU figure). `None` for a container that is not running.
    async fn container_stats(&self, name: &str) -> EngineResult<Option<ContainerStats>>;
    /// Every image with a name (untagged layers are left out).
    async fn list_images(&self) -> EngineResult<Vec<ImageInfo>>;
    /// Removes one name of an image (the image goes with its last name). An image a container
    /// uses is refused (`Conflict`), never forced.
    async fn remove_image(&self, reference: &str) -> EngineResult<()>;
    /// Lifecycle events of containers carrying all of the given labels, live. The stream ends
    /// (or yields an error) when the engine goes away.
    fn container_events(
        &self,
        labels: &[(&str, &str)],
    ) -> BoxStream<'static, EngineResult<ContainerEvent>>;
}

/// How long the rest of an exec's output may take to arrive once the process has exited.
const DRAIN_AFTER_EXIT: Duration = Duration::from_secs(5);

/// How long an input-fed process whose output stream broke may take to be seen as exited (the
/// exit poll backs off to 2 s) before the break counts as the engine's failure.
const EXIT_AFTER_BROKEN_STREAM: Duration = Duration::from_secs(10);

/// Moves one exec's bytes: `input` (if any) into the process's stdin, its output into `sink`.
///
/// Feeding stops when the process no longer wants input: its output ends, or `exited` resolves
/// (the engine says the process is gone). A process may stop reading before the end of its input
/// (`pg_restore --list` reads a dump's table of contents and exits); Docker then stops reading
/// the exec's stdin without closing it, so a writer that waited for the input to be consumed
/// would wait forever, and Podman resets the connection. A write that fails is therefore the
/// process's choice, not an engine failure: the caller judges the run by its exit code.
///
/// Returns an error of the output stream; `Ok(Some(e))` when `input` itself could not be read.
pub(crate) async fn pump<E>(
    mut output: BoxStream<'_, Result<LogChunk, E>>,
    feed: Option<(
        &mut (dyn tokio::io::AsyncRead + Unpin + Send),
        &mut (dyn tokio::io::AsyncWrite + Unpin + Send),
    )>,
    exited: impl std::future::Future<Output = ()>,
    sink: &mut (dyn FnMut(LogChunk) + Send),
) -> Result<Option<std::io::Error>, E> {
    use futures_util::StreamExt;
    let fed_input = feed.is_some();
    let mut feeding_done = feed.is_none();
    let mut read_error = None;
    let mut feeding = Box::pin(async move {
        match feed {
            Some((input, stdin)) => feed_input(input, stdin).await,
            None => std::future::pending().await,
        }
    });
    let mut exited = std::pin::pin!(exited);
    let process_exited = loop {
        tokio::select! {
            item = output.next() => match item {
                Some(Ok(chunk)) => sink(chunk),
                // Podman (unlike Docker) resets the attach connection when a process exits
                // before reading all of its input (`pg_restore --list` reads a dump's table of
                // contents only; `psql` stops at an import's first error): a broken stream
                // of a process that has exited is its end, and its exit code says how it went.
                Some(Err(e)) if fed_input => {
                    if tokio::time::timeout(EXIT_AFTER_BROKEN_STREAM, &mut exited).await.is_ok() {
                        tracing::debug!("the engine closed the output of an exited process");
                        break false;
                    }
                    return Err(e);
                }
                Some(Err(e)) => return Err(e),
                None => break false,
            },
            fed = &mut feeding, if !feeding_done => {
                feeding_done = true;
                read_error = fed.err();
            }
            () = &mut exited => break true,
        }
    };
    // Whatever is left of the input is not wanted: stop feeding (drops the writer).
    drop(feeding);
    if process_exited {
        // The process is gone; what it wrote is on its way. Bounded: a stream the engine keeps
        // open after the exit must not turn into a hang.
        let rest = async {
            while let Some(item) = output.next().await {
                sink(item?);
            }
            Ok(())
        };
        if let Ok(Err(e)) = tokio::time::timeout(DRAIN_AFTER_EXIT, rest).await {
            return Err(e);
        }
    }
    Ok(read_error)
}

/// Copies `input` into a process's stdin and half-closes it at the end. A write error means the
/// process closed its stdin (or exited): feeding ends there, without an error. Only a failure to
/// read `input` is an error.
async fn feed_input(
    input: &mut (dyn tokio::io::AsyncRead + Unpin + Send),
    stdin: &mut (dyn tokio::io::AsyncWrite + Unpin + Send),
) -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = input.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        if let Err(e) = stdin.write_all(&buf[..n]).await {
            tracing::debug!("the process stopped reading its input: {e}");
            return Ok(());
        }
    }
    if let Err(e) = stdin.shutdown().await {
        tracing::debug!("closing the process's input: {e}");
    }
    Ok(())
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

#[cfg(test)]
mod stats_tests {
    use super::*;

    #[test]
    fn memory_leaves_out_the_page_cache_and_cpu_is_a_share_of_the_system() {
        let v2 = HashMap::from([("inactive_file".to_string(), 300)]);
        assert_eq!(ContainerStats::memory_in_use(1000, &v2), 700);
        let v1 = HashMap::from([("total_inactive_file".to_string(), 100)]);
        assert_eq!(ContainerStats::memory_in_use(1000, &v1), 900);
        assert_eq!(ContainerStats::memory_in_use(1000, &HashMap::new()), 1000);
        // Half of the system's time on 2 CPUs is one full core (100 %); a twentieth is 10 %.
        assert_eq!(
            ContainerStats::cpu_percent(105, 100, 1100, 1000, 2),
            Some(10.0)
        );
        assert_eq!(
            ContainerStats::cpu_percent(600, 100, 2000, 1000, 2),
            Some(100.0)
        );
        // No previous sample (a one-shot read): no figure rather than a wrong one.
        assert_eq!(ContainerStats::cpu_percent(600, 0, 2000, 0, 2), None);
    }
}

#[cfg(test)]
mod pump_tests {
    use super::*;
    use futures_util::stream::{self, StreamExt};

    fn chunk(s: &'static str) -> LogChunk {
        LogChunk {
            stream: OutputStream::Stdout,
            bytes: bytes::Bytes::from_static(s.as_bytes()),
        }
    }

    /// A hang guard for the tests below, far above what they need.
    const GUARD: Duration = Duration::from_secs(20);

    #[tokio::test]
    async fn stops_feeding_when_the_process_output_ends() {
        // The "process" reads 10 bytes of a 4 MiB input and never reads again (its stdin stays
        // open, as Docker's does): the writer would block forever.
        let (mut stdin, mut process_side) = tokio::io::duplex(4096);
        let reader = tokio::spawn(async move {
            use tokio::io::AsyncReadExt;
            let mut head = [0u8; 10];
            process_side.read_exact(&mut head).await.unwrap();
            tokio::time::sleep(Duration::from_secs(3600)).await;
            drop(process_side);
        });
        let mut input: &[u8] = &vec![7u8; 4 << 20];
        let output = stream::iter(vec![Ok::<_, std::io::Error>(chunk("toc"))]).boxed();
        let mut seen = Vec::new();
        let mut sink = |c: LogChunk| seen.extend_from_slice(&c.bytes);
        let r = tokio::time::timeout(
            GUARD,
            pump(
                output,
                Some((&mut input, &mut stdin)),
                std::future::pending(),
                &mut sink,
            ),
        )
        .await
        .expect("pump hung");
        assert!(r.unwrap().is_none());
        assert_eq!(seen, b"toc");
        reader.abort();
    }

    #[tokio::test]
    async fn stops_feeding_when_the_process_has_exited_even_if_the_stream_stays_open() {
        let (mut stdin, _process_side) = tokio::io::duplex(4096);
        let mut input: &[u8] = &vec![7u8; 4 << 20];
        let output = stream::iter(vec![Ok::<_, std::io::Error>(chunk("out"))])
            .chain(stream::pending())
            .boxed();
        let mut sink = |_c: LogChunk| {};
        let exited = tokio::time::sleep(Duration::from_millis(50));
        let r = tokio::time::timeout(
            GUARD,
            pump(output, Some((&mut input, &mut stdin)), exited, &mut sink),
        )
        .await
        .expect("pump hung");
        assert!(r.unwrap().is_none());
    }

    /// A writer whose reader went away: every write fails like a closed pipe / reset socket.
    struct Closed;
    impl tokio::io::AsyncWrite for Closed {
        fn poll_write(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            _: &[u8],
        ) -> std::task::Poll<std::io::Result<usize>> {
            std::task::Poll::Ready(Err(std::io::ErrorKind::ConnectionReset.into()))
        }
        fn poll_flush(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }
        fn poll_shutdown(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::task::Poll::Ready(Err(std::io::ErrorKind::BrokenPipe.into()))
        }
    }

    #[tokio::test]
    async fn a_closed_stdin_is_the_process_choice_not_an_error() {
        let mut input: &[u8] = b"some input";
        // The output ends after the failed write.
        let output = stream::once(async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            Ok::<_, std::io::Error>(chunk("done"))
        })
        .boxed();
        let mut sink = |_c: LogChunk| {};
        let r = tokio::time::timeout(
            GUARD,
            pump(
                output,
                Some((&mut input, &mut Closed)),
                std::future::pending(),
                &mut sink,
            ),
        )
        .await
        .expect("pump hung");
        assert!(r.unwrap().is_none());
    }
}
