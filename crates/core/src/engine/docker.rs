//! The Docker implementation of [`Engine`] over bollard. Every call runs under a deadline of its
//! own, and bollard's errors are mapped to [`EngineError`]s that say what to do.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use bollard::container::LogOutput;
use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, ContainerStateStatusEnum, ContainerSummary,
    ContainerSummaryStateEnum, ContainerUpdateBody, EndpointSettings, ExecConfig, HostConfig,
    Mount, MountTmpfsOptions, MountType, NetworkCreateRequest, NetworkingConfig, PortBinding,
    VolumeCreateRequest,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, CreateImageOptionsBuilder, EventsOptionsBuilder,
    InspectContainerOptions, InspectNetworkOptions, ListContainersOptionsBuilder,
    ListImagesOptionsBuilder, LogsOptionsBuilder, RemoveContainerOptionsBuilder,
    RemoveImageOptionsBuilder, RemoveVolumeOptionsBuilder, StatsOptionsBuilder,
    StopContainerOptionsBuilder, UploadToContainerOptionsBuilder,
};
use bollard::Docker;
use futures_util::stream::{BoxStream, StreamExt};

use super::socket::{discover_endpoint, Endpoint};
use super::{
    labels, tarball, ContainerConfig, ContainerEvent, ContainerInfo, ContainerSpec, ContainerStats,
    Engine, EngineError, EngineResult, ImageInfo, LogChunk, MountInfo, OutputStream, PullProgress,
    RunState, Storage, VolumeInfo,
};
use crate::engine::ContainerFile;

/// Deadlines per kind of call. Control calls are quick on a healthy engine; anything slower
/// means the engine is in trouble and the user should hear about it.
const CONNECT_LIMIT: Duration = Duration::from_secs(5);
const CONTROL_LIMIT: Duration = Duration::from_secs(20);
/// A stats read waits for the engine's second sample (about a second) for the CPU figure.
const STATS_LIMIT: Duration = Duration::from_secs(5);
const START_LIMIT: Duration = Duration::from_secs(60);
/// A pull may take long in total, but never this long without any progress message.
const PULL_STALL_LIMIT: Duration = Duration::from_secs(120);
/// bollard's own per-request timeout; ours are tighter and per call, this only bounds streams
/// such as `logs --follow` that are meant to run as long as the user wants.
const CLIENT_TIMEOUT_SECS: u64 = 24 * 3600;

#[derive(Debug, Clone)]
pub struct DockerEngine {
    docker: Docker,
    endpoint: Endpoint,
}

impl DockerEngine {
    /// Connects to the engine found by [`discover_endpoint`] and agrees on an API version.
    pub async fn connect() -> EngineResult<Self> {
        let d = discover_endpoint();
        let Some(endpoint) = d.endpoint else {
            return Err(EngineError::Unavailable {
                endpoint: "no Docker socket".into(),
                reason: format!("looked at {}", d.tried.join(", ")),
            });
        };
        Self::connect_to(endpoint).await
    }

    pub async fn connect_to(endpoint: Endpoint) -> EngineResult<Self> {
        let unavailable = |reason: String| EngineError::Unavailable {
            endpoint: endpoint.to_string(),
            reason,
        };
        // The engine's version from `/_ping` (cheap everywhere), else from `/version`.
        let known =
            match tokio::time::timeout(CONNECT_LIMIT, super::api_version::from_ping(&endpoint))
                .await
            {
                Ok(Ok(v)) => v,
                Ok(Err(reason)) => return Err(unavailable(reason)),
                Err(_) => {
                    return Err(EngineError::Timeout {
                        op: "ping".into(),
                        limit: CONNECT_LIMIT,
                    })
                }
            };
        let speak = known.map(super::api_version::to_speak);
        let version = speak.as_ref().unwrap_or(bollard::API_DEFAULT_VERSION);
        let docker = match &endpoint {
            Endpoint::Unix(p) => {
                Docker::connect_with_unix(&p.to_string_lossy(), CLIENT_TIMEOUT_SECS, version)
            }
            Endpoint::Tcp(h) => Docker::connect_with_http(h, CLIENT_TIMEOUT_SECS, version),
        }
        .map_err(|e| unavailable(error_chain(&e)))?;
        if speak.is_some() {
            return Ok(DockerEngine { docker, endpoint });
        }
        // Older engines (Debian's 20.10 speaks API 1.41) refuse a newer client version.
        let docker = match tokio::time::timeout(CONNECT_LIMIT, docker.negotiate_version()).await {
            Ok(Ok(d)) => d,
            Ok(Err(e)) => return Err(unavailable(error_chain(&e))),
            Err(_) => {
                return Err(EngineError::Timeout {
                    op: "version".into(),
                    limit: CONNECT_LIMIT,
                })
            }
        };
        Ok(DockerEngine { docker, endpoint })
    }

    /// Runs one call under a deadline and maps its error.
    async fn call<T>(
        &self,
        op: &str,
        limit: Duration,
        fut: impl Future<Output = Result<T, bollard::errors::Error>>,
    ) -> EngineResult<T> {
        match tokio::time::timeout(limit, fut).await {
            Ok(r) => r.map_err(|e| self.map_err(op, limit, e)),
            Err(_) => Err(EngineError::Timeout {
                op: op.to_string(),
                limit,
            }),
        }
    }

    fn map_err(&self, op: &str, limit: Duration, e: bollard::errors::Error) -> EngineError {
        use bollard::errors::Error as E;
        match e {
            E::DockerResponseServerError {
                status_code: 304, ..
            } => EngineError::AlreadyInState(op.to_string()),
            E::DockerResponseServerError {
                status_code: 404,
                message,
            } => EngineError::NotFound(message),
            E::DockerResponseServerError {
                status_code: 409,
                message,
            } => EngineError::Conflict(message),
            E::DockerResponseServerError { message, .. }
                if message.contains("port is already allocated")
                    || message.contains("address already in use") =>
            {
                EngineError::PortAllocated {
                    port: port_in_message(&message).unwrap_or(0),
                    message,
                }
            }
            E::DockerResponseServerError { message, .. } => EngineError::Api {
                op: op.to_string(),
                message,
            },
            E::DockerStreamError { error } => EngineError::Api {
                op: op.to_string(),
                message: error,
            },
            E::RequestTimeoutError => EngineError::Timeout {
                op: op.to_string(),
                limit,
            },
            e @ (E::HyperLegacyError { .. }
            | E::IOError { .. }
            | E::SocketNotFoundError(_)
            | E::HyperResponseError { .. }) => EngineError::Unavailable {
                endpoint: self.endpoint.to_string(),
                reason: error_chain(&e),
            },
            other => EngineError::Api {
                op: op.to_string(),
                message: error_chain(&other),
            },
        }
    }
}

/// "client error (Connect)" says little; the causes below it say "No such file or directory".
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let t = s.to_string();
        if !parts.iter().any(|p| p.contains(&t)) {
            parts.push(t);
        }
        cur = s.source();
    }
    parts.join(": ")
}

/// Docker says "Bind for 127.0.0.1:5432 failed: port is already allocated" or
/// "listen tcp4 127.0.0.1:5432: bind: address already in use".
fn port_in_message(m: &str) -> Option<u16> {
    let i = m.find("127.0.0.1:").or_else(|| m.find("0.0.0.0:"))?;
    let rest = &m[i..];
    let rest = &rest[rest.find(':')? + 1..];
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

/// Docker's short ("familiar") form of an image reference: Podman's API answers with the full
/// one (`docker.io/library/postgres:17`), Docker's with the name it was pulled as
/// (`postgres:17`) — which is the form the store and the catalog hold. Any other registry's
/// name is kept whole.
fn familiar(reference: String) -> String {
    let short = reference
        .strip_prefix("docker.io/library/")
        .or_else(|| reference.strip_prefix("docker.io/"));
    match short {
        Some(s) => s.to_string(),
        None => reference,
    }
}

/// `registry:5000/repo:tag` → (`registry:5000/repo`, `tag`).
fn split_image(image: &str) -> (&str, &str) {
    match image.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo, tag),
        _ => (image, "latest"),
    }
}

fn run_state(s: Option<ContainerStateStatusEnum>) -> RunState {
    use ContainerStateStatusEnum as S;
    match s {
        Some(S::CREATED) => RunState::Created,
        Some(S::RUNNING) => RunState::Running,
        Some(S::RESTARTING) => RunState::Restarting,
        Some(S::PAUSED) => RunState::Paused,
        Some(S::EXITED) => RunState::Exited,
        Some(S::DEAD) => RunState::Dead,
        _ => RunState::Other,
    }
}

/// The data directory's mount: the service's volume, or a tmpfs of the given size.
fn data_mount(spec: &ContainerSpec) -> Mount {
    match &spec.storage {
        Storage::Volume(name) => Mount {
            target: Some(spec.data_path.clone()),
            source: Some(name.clone()),
            typ: Some(MountType::VOLUME),
            ..Default::default()
        },
        Storage::Tmpfs { size_bytes } => Mount {
            target: Some(spec.data_path.clone()),
            typ: Some(MountType::TMPFS),
            tmpfs_options: Some(MountTmpfsOptions {
                size_bytes: Some(*size_bytes as i64),
                ..Default::default()
            }),
            ..Default::default()
        },
    }
}

fn container_info(r: ContainerInspectResponse) -> ContainerInfo {
    let state = r.state.unwrap_or_default();
    let config = r.config.unwrap_or_default();
    let memory_limit_bytes = r
        .host_config
        .as_ref()
        .and_then(|h| h.memory)
        .filter(|m| *m > 0)
        .map(|m| m as u64);
    let bindings = r
        .host_config
        .and_then(|h| h.port_bindings)
        .unwrap_or_default()
        .into_values()
        .flatten()
        .flatten()
        .filter_map(|b| {
            let port = b.host_port?.parse().ok()?;
            Some((b.host_ip.unwrap_or_default(), port))
        })
        .collect();
    ContainerInfo {
        id: r.id.unwrap_or_default(),
        name: r
            .name
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_string(),
        image: familiar(config.image.unwrap_or_default()),
        state: run_state(state.status),
        exit_code: state.exit_code,
        oom_killed: state.oom_killed.unwrap_or(false),
        error: state.error.filter(|e| !e.is_empty()),
        started_at: state.started_at,
        labels: config.labels.unwrap_or_default(),
        bindings,
        memory_limit_bytes,
    }
}

fn container_config(r: ContainerInspectResponse) -> ContainerConfig {
    let config = r.config.unwrap_or_default();
    // A running container's ports as bound (a random host port `-p 127.0.0.1::5432` is known
    // only there); a stopped one's as asked for.
    let asked = r
        .host_config
        .and_then(|h| h.port_bindings)
        .unwrap_or_default();
    let random_ports = asked
        .iter()
        .filter(|(_, b)| {
            b.iter().flatten().any(|b| {
                b.host_port
                    .as_deref()
                    .is_none_or(|p| p.is_empty() || p == "0")
            })
        })
        .filter_map(|(k, _)| k.split('/').next()?.parse().ok())
        .collect();
    let live = r
        .network_settings
        .and_then(|n| n.ports)
        .filter(|p| p.values().any(|b| b.is_some()));
    let ports = live
        .unwrap_or(asked)
        .into_iter()
        .flat_map(|(key, bindings)| {
            // "5432/tcp" → 5432
            let port: Option<u16> = key.split('/').next().and_then(|p| p.parse().ok());
            bindings
                .unwrap_or_default()
                .into_iter()
                .filter_map(move |b| {
                    Some((
                        port?,
                        b.host_ip.unwrap_or_default(),
                        b.host_port?.parse().ok()?,
                    ))
                })
        })
        .collect();
    let mounts = r
        .mounts
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| {
            let named_volume = m.name.is_some();
            Some(MountInfo {
                source: m.name.or(m.source)?,
                destination: m.destination?,
                named_volume,
            })
        })
        .collect();
    ContainerConfig {
        env: config.env.unwrap_or_default(),
        cmd: config.cmd.unwrap_or_default(),
        mounts,
        ports,
        random_ports,
    }
}

fn summary_info(s: ContainerSummary) -> Option<ContainerInfo> {
    use ContainerSummaryStateEnum as S;
    let state = match s.state {
        Some(S::CREATED) => RunState::Created,
        Some(S::RUNNING) => RunState::Running,
        Some(S::RESTARTING) => RunState::Restarting,
        Some(S::PAUSED) => RunState::Paused,
        Some(S::EXITED) => RunState::Exited,
        Some(S::DEAD) => RunState::Dead,
        _ => RunState::Other,
    };
    Some(ContainerInfo {
        id: s.id?,
        name: s
            .names
            .and_then(|n| n.into_iter().next())
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_string(),
        image: familiar(s.image.unwrap_or_default()),
        state,
        exit_code: None,
        oom_killed: false,
        error: None,
        started_at: None,
        labels: s.labels.unwrap_or_default(),
        // Only running containers list their published ports here.
        bindings: s
            .ports
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| Some((p.ip.unwrap_or_default(), p.public_port?)))
            .collect(),
        memory_limit_bytes: None,
    })
}

fn log_chunk(o: LogOutput) -> LogChunk {
    match o {
        LogOutput::StdErr { message } => LogChunk {
            stream: OutputStream::Stderr,
            bytes: message,
        },
        LogOutput::StdOut { message }
        | LogOutput::Console { message }
        | LogOutput::StdIn { message } => LogChunk {
            stream: OutputStream::Stdout,
            bytes: message,
        },
    }
}

#[async_trait]
impl Engine for DockerEngine {
    fn endpoint(&self) -> String {
        self.endpoint.to_string()
    }

    async fn ping(&self) -> EngineResult<()> {
        self.call("ping", CONNECT_LIMIT, self.docker.ping())
            .await
            .map(|_| ())
    }

    async fn image_present(&self, image: &str) -> EngineResult<bool> {
        match self
            .call(
                "inspect image",
                CONTROL_LIMIT,
                self.docker.inspect_image(image),
            )
            .await
        {
            Ok(_) => Ok(true),
            Err(EngineError::NotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn pull_image(
        &self,
        image: &str,
        progress: &(dyn Fn(PullProgress) + Send + Sync),
    ) -> EngineResult<()> {
        let (repo, tag) = split_image(image);
        let opts = CreateImageOptionsBuilder::new()
            .from_image(repo)
            .tag(tag)
            .build();
        let mut stream = self.docker.create_image(Some(opts), None, None);
        let mut layers: HashMap<String, (u64, u64)> = HashMap::new();
        let mut last_status = String::new();
        loop {
            let item = match tokio::time::timeout(PULL_STALL_LIMIT, stream.next()).await {
                Err(_) => {
                    return Err(EngineError::Timeout {
                        op: format!("pull {image} (no progress)"),
                        limit: PULL_STALL_LIMIT,
                    })
                }
                Ok(None) => break,
                Ok(Some(item)) => item.map_err(|e| self.map_err("pull", PULL_STALL_LIMIT, e))?,
            };
            if let (Some(id), Some(d)) = (&item.id, &item.progress_detail) {
                if let (Some(cur), Some(total)) = (d.current, d.total) {
                    layers.insert(id.clone(), (cur.max(0) as u64, total.max(0) as u64));
                    let (c, t) = layers
                        .values()
                        .fold((0, 0), |(c, t), (lc, lt)| (c + lc, t + lt));
                    progress(PullProgress::Bytes {
                        current: c,
                        total: t,
                    });
                    continue;
                }
            }
            if let Some(s) = item.status {
                if s != last_status && item.id.is_none() {
                    progress(PullProgress::Status(s.clone()));
                    last_status = s;
                }
            }
        }
        Ok(())
    }

    async fn list_images(&self) -> EngineResult<Vec<ImageInfo>> {
        let opts = ListImagesOptionsBuilder::new().all(false).build();
        let images = self
            .call(
                "list images",
                CONTROL_LIMIT,
                self.docker.list_images(Some(opts)),
            )
            .await?;
        Ok(images
            .into_iter()
            .filter(|i| i.repo_tags.iter().any(|t| t != "<none>:<none>"))
            .map(|i| ImageInfo {
                id: i.id,
                tags: i
                    .repo_tags
                    .into_iter()
                    .filter(|t| t != "<none>:<none>")
                    .map(familiar)
                    .collect(),
                digests: i.repo_digests.into_iter().map(familiar).collect(),
                size_bytes: i.size.max(0) as u64,
                created: i.created,
            })
            .collect())
    }

    async fn remove_image(&self, reference: &str) -> EngineResult<()> {
        let opts = RemoveImageOptionsBuilder::new()
            .force(false)
            .noprune(false)
            .build();
        self.call(
            "remove image",
            CONTROL_LIMIT,
            self.docker.remove_image(reference, Some(opts), None),
        )
        .await
        .map(|_| ())
    }

    async fn inspect_volume(&self, name: &str) -> EngineResult<Option<VolumeInfo>> {
        match self
            .call(
                "inspect volume",
                CONTROL_LIMIT,
                self.docker.inspect_volume(name),
            )
            .await
        {
            Ok(v) => Ok(Some(VolumeInfo {
                name: v.name,
                labels: v.labels,
            })),
            Err(EngineError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn create_volume(&self, name: &str, labels: HashMap<String, String>) -> EngineResult<()> {
        let req = VolumeCreateRequest {
            name: Some(name.to_string()),
            labels: Some(labels),
            ..Default::default()
        };
        self.call(
            "create volume",
            CONTROL_LIMIT,
            self.docker.create_volume(req),
        )
        .await
        .map(|_| ())
    }

    async fn remove_volume(&self, name: &str) -> EngineResult<()> {
        let opts = RemoveVolumeOptionsBuilder::new().force(false).build();
        match self
            .call(
                "remove volume",
                CONTROL_LIMIT,
                self.docker.remove_volume(name, Some(opts)),
            )
            .await
        {
            Ok(()) | Err(EngineError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn ensure_network(
        &self,
        name: &str,
        labels: HashMap<String, String>,
    ) -> EngineResult<()> {
        let inspect = self
            .docker
            .inspect_network(name, None::<InspectNetworkOptions>);
        match self.call("inspect network", CONTROL_LIMIT, inspect).await {
            Ok(_) => return Ok(()),
            Err(EngineError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
        let req = NetworkCreateRequest {
            name: name.to_string(),
            driver: Some("bridge".into()),
            labels: Some(labels),
            ..Default::default()
        };
        match self
            .call(
                "create network",
                CONTROL_LIMIT,
                self.docker.create_network(req),
            )
            .await
        {
            // Another Dockhand process created it a moment ago.
            Ok(_) | Err(EngineError::Conflict(_)) => Ok(()),
            Err(EngineError::Api { message, .. }) if message.contains("already exists") => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn create_container(&self, spec: &ContainerSpec) -> EngineResult<String> {
        let port_key = format!("{}/tcp", spec.container_port);
        let bindings = HashMap::from([(
            port_key.clone(),
            Some(vec![PortBinding {
                host_ip: Some("127.0.0.1".into()),
                host_port: Some(spec.host_port.to_string()),
            }]),
        )]);
        let body = ContainerCreateBody {
            image: Some(spec.image.clone()),
            env: Some(spec.env.clone()),
            cmd: Some(spec.cmd.clone()),
            labels: Some(spec.labels.clone()),
            exposed_ports: Some(vec![port_key]),
            stop_timeout: Some(spec.stop_timeout.as_secs() as i64),
            host_config: Some(HostConfig {
                port_bindings: Some(bindings),
                mounts: Some(vec![data_mount(spec)]),
                // Swap equal to memory: no swap on top of the limit, so a server that needs
                // more is stopped at the limit rather than slowed down by swapping.
                memory: spec.memory_bytes.map(|b| b as i64),
                memory_swap: spec.memory_bytes.map(|b| b as i64),
                ..Default::default()
            }),
            networking_config: Some(NetworkingConfig {
                endpoints_config: Some(HashMap::from([(
                    spec.network.clone(),
                    EndpointSettings {
                        aliases: Some(vec![spec.network_alias.clone()]),
                        ..Default::default()
                    },
                )])),
            }),
            ..Default::default()
        };
        let opts = CreateContainerOptionsBuilder::new()
            .name(&spec.name)
            .build();
        let r = self
            .call(
                "create container",
                CONTROL_LIMIT,
                self.docker.create_container(Some(opts), body),
            )
            .await?;
        Ok(r.id)
    }

    async fn put_files(&self, container: &str, files: &[ContainerFile]) -> EngineResult<()> {
        let tar = tarball::build(files).map_err(|e| EngineError::Api {
            op: "build archive".into(),
            message: e.to_string(),
        })?;
        let opts = UploadToContainerOptionsBuilder::new().path("/").build();
        self.call(
            "copy files into container",
            CONTROL_LIMIT,
            self.docker.upload_to_container(
                container,
                Some(opts),
                bollard::body_full(bytes::Bytes::from(tar)),
            ),
        )
        .await
    }

    async fn start_container(&self, name: &str) -> EngineResult<()> {
        match self
            .call(
                "start container",
                START_LIMIT,
                self.docker.start_container(name, None),
            )
            .await
        {
            // Already running, which is what the caller wants.
            Err(EngineError::AlreadyInState(_)) => Ok(()),
            other => other,
        }
    }

    async fn update_memory(&self, name: &str, bytes: Option<u64>) -> EngineResult<()> {
        // Docker takes 0 as "no limit" for the memory and -1 for swap ("unlimited"); both are
        // set together so that raising the memory above the old swap limit is not refused.
        let (memory, swap) = match bytes {
            Some(b) => (b as i64, b as i64),
            None => (0, -1),
        };
        let body = ContainerUpdateBody {
            memory: Some(memory),
            memory_swap: Some(swap),
            ..Default::default()
        };
        let op = "update container memory";
        match self
            .call(op, CONTROL_LIMIT, self.docker.update_container(name, body))
            .await
        {
            // Podman before 5.1 answers 404 for the route itself: the container is there.
            Err(EngineError::NotFound(message))
                if self.inspect_container(name).await?.is_some() =>
            {
                Err(EngineError::Unsupported {
                    op: op.into(),
                    message,
                })
            }
            other => other,
        }
    }

    async fn stop_container(&self, name: &str, grace: Duration) -> EngineResult<()> {
        let opts = StopContainerOptionsBuilder::new()
            .t(grace.as_secs() as i32)
            .build();
        match self
            .call(
                "stop container",
                grace + CONTROL_LIMIT,
                self.docker.stop_container(name, Some(opts)),
            )
            .await
        {
            Err(EngineError::AlreadyInState(_)) => Ok(()),
            other => other,
        }
    }

    async fn remove_container(&self, name: &str) -> EngineResult<()> {
        let opts = RemoveContainerOptionsBuilder::new().force(true).build();
        match self
            .call(
                "remove container",
                START_LIMIT,
                self.docker.remove_container(name, Some(opts)),
            )
            .await
        {
            Ok(()) | Err(EngineError::NotFound(_)) => Ok(()),
            // A removal Docker is already doing — asked by a client killed since, whose request
            // the daemon carries on with — ends the same way: wait for it, within the limit.
            Err(EngineError::Conflict(m)) if m.contains("already in progress") => {
                let deadline = tokio::time::Instant::now() + START_LIMIT;
                while tokio::time::Instant::now() < deadline {
                    if self.inspect_container(name).await?.is_none() {
                        return Ok(());
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                Err(EngineError::Timeout {
                    op: format!("remove container {name} (a removal already in progress)"),
                    limit: START_LIMIT,
                })
            }
            Err(e) => Err(e),
        }
    }

    async fn inspect_container(&self, name: &str) -> EngineResult<Option<ContainerInfo>> {
        match self
            .call(
                "inspect container",
                CONTROL_LIMIT,
                self.docker
                    .inspect_container(name, None::<InspectContainerOptions>),
            )
            .await
        {
            Ok(r) => Ok(Some(container_info(r))),
            Err(EngineError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn container_stats(&self, name: &str) -> EngineResult<Option<ContainerStats>> {
        // Not one-shot: a one-shot read has no previous CPU sample, so no CPU figure.
        let opts = StatsOptionsBuilder::new()
            .stream(false)
            .one_shot(false)
            .build();
        let mut stream = self.docker.stats(name, Some(opts));
        let read = self
            .call("container stats", STATS_LIMIT, async {
                stream.next().await.transpose()
            })
            .await;
        let r = match read {
            Ok(Some(r)) => r,
            Ok(None) | Err(EngineError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        let Some(mem) = r.memory_stats.filter(|m| m.usage.is_some()) else {
            // A stopped container reads as all zeros with no memory usage.
            return Ok(None);
        };
        let cpu = |c: &Option<bollard::models::ContainerCpuStats>| {
            let c = c.as_ref();
            (
                c.and_then(|c| c.cpu_usage.as_ref()?.total_usage)
                    .unwrap_or(0),
                c.and_then(|c| c.system_cpu_usage).unwrap_or(0),
                c.and_then(|c| c.online_cpus).unwrap_or(1),
            )
        };
        let (total, system, cpus) = cpu(&r.cpu_stats);
        let (pre_total, pre_system, _) = cpu(&r.precpu_stats);
        Ok(Some(ContainerStats {
            memory_bytes: ContainerStats::memory_in_use(
                mem.usage.unwrap_or(0),
                &mem.stats.unwrap_or_default(),
            ),
            memory_limit_bytes: mem.limit,
            cpu_percent: ContainerStats::cpu_percent(total, pre_total, system, pre_system, cpus),
        }))
    }

    async fn container_config(&self, name: &str) -> EngineResult<Option<ContainerConfig>> {
        match self
            .call(
                "inspect container",
                CONTROL_LIMIT,
                self.docker
                    .inspect_container(name, None::<InspectContainerOptions>),
            )
            .await
        {
            Ok(r) => Ok(Some(container_config(r))),
            Err(EngineError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn list_containers(&self, labels: &[(&str, &str)]) -> EngineResult<Vec<ContainerInfo>> {
        let label_filters: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let filters = HashMap::from([("label", label_filters)]);
        let opts = ListContainersOptionsBuilder::new()
            .all(true)
            .filters(&filters)
            .build();
        let summaries = self
            .call(
                "list containers",
                CONTROL_LIMIT,
                self.docker.list_containers(Some(opts)),
            )
            .await?;
        // The summaries carry all reconciliation needs; an inspect per container would make
        // every CLI start cost a round trip per service.
        Ok(summaries.into_iter().filter_map(summary_info).collect())
    }

    fn logs(
        &self,
        name: &str,
        tail: Option<usize>,
        follow: bool,
    ) -> BoxStream<'static, EngineResult<LogChunk>> {
        let tail = tail.map_or_else(|| "all".to_string(), |n| n.to_string());
        let opts = LogsOptionsBuilder::new()
            .stdout(true)
            .stderr(true)
            .follow(follow)
            .tail(&tail)
            .build();
        let this = self.clone();
        self.docker
            .logs(name, Some(opts))
            .map(move |r| {
                r.map(log_chunk)
                    .map_err(|e| this.map_err("logs", CONTROL_LIMIT, e))
            })
            .boxed()
    }

    async fn exec(
        &self,
        container: &str,
        cmd: &[&str],
        env: &[String],
        limit: Duration,
        sink: &mut (dyn FnMut(LogChunk) + Send),
    ) -> EngineResult<i64> {
        self.run_exec(container, cmd, env, None, limit, None, sink)
            .await
    }

    async fn exec_with_input(
        &self,
        container: &str,
        cmd: &[&str],
        env: &[String],
        user: Option<&str>,
        limit: Duration,
        input: &mut (dyn tokio::io::AsyncRead + Unpin + Send),
        sink: &mut (dyn FnMut(LogChunk) + Send),
    ) -> EngineResult<i64> {
        self.run_exec(container, cmd, env, user, limit, Some(input), sink)
            .await
    }

    fn container_events(
        &self,
        labels: &[(&str, &str)],
    ) -> BoxStream<'static, EngineResult<ContainerEvent>> {
        let label_filters: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let filters = HashMap::from([
            ("type", vec!["container".to_string()]),
            ("label", label_filters),
        ]);
        let opts = EventsOptionsBuilder::new().filters(&filters).build();
        let this = self.clone();
        self.docker
            .events(Some(opts))
            .filter_map(move |r| {
                let item = match r {
                    Ok(m) => {
                        let action = m.action.unwrap_or_default();
                        m.actor
                            .and_then(|a| a.attributes)
                            .and_then(|mut a| a.remove(labels::SERVICE))
                            .map(|service| {
                                Ok(ContainerEvent {
                                    service,
                                    // "exec_start: sh -c …" carries the command: keep the verb.
                                    action: action
                                        .split(':')
                                        .next()
                                        .unwrap_or_default()
                                        .to_string(),
                                })
                            })
                    }
                    Err(e) => Some(Err(this.map_err("events", CONTROL_LIMIT, e))),
                };
                futures_util::future::ready(item)
            })
            .boxed()
    }
}

impl DockerEngine {
    #[allow(clippy::too_many_arguments)]
    async fn run_exec(
        &self,
        container: &str,
        cmd: &[&str],
        env: &[String],
        user: Option<&str>,
        limit: Duration,
        input: Option<&mut (dyn tokio::io::AsyncRead + Unpin + Send)>,
        sink: &mut (dyn FnMut(LogChunk) + Send),
    ) -> EngineResult<i64> {
        let config = ExecConfig {
            attach_stdin: Some(input.is_some()),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            cmd: Some(cmd.iter().map(|s| s.to_string()).collect()),
            env: Some(env.to_vec()),
            user: user.map(String::from),
            ..Default::default()
        };
        let created = self
            .call(
                "create exec",
                CONTROL_LIMIT,
                self.docker.create_exec(container, config),
            )
            .await?;
        let started = self
            .call(
                "start exec",
                CONTROL_LIMIT,
                self.docker.start_exec(&created.id, None),
            )
            .await?;
        if let bollard::exec::StartExecResults::Attached {
            output,
            input: mut stdin,
        } = started
        {
            let output = output.map(|r| r.map(log_chunk)).boxed();
            let has_input = input.is_some();
            let feed = input.map(|i| {
                (
                    i,
                    &mut stdin as &mut (dyn tokio::io::AsyncWrite + Unpin + Send),
                )
            });
            // A process that stops reading its input before the end leaves Docker's stdin open
            // and its output stream with it: the exec's own state says when it is over.
            let exited = async {
                if !has_input {
                    return std::future::pending().await;
                }
                let mut every = Duration::from_millis(100);
                loop {
                    tokio::time::sleep(every).await;
                    every = (every * 2).min(Duration::from_secs(2));
                    let state =
                        tokio::time::timeout(CONTROL_LIMIT, self.docker.inspect_exec(&created.id))
                            .await;
                    if let Ok(Ok(r)) = state {
                        if r.running == Some(false) {
                            return;
                        }
                    }
                }
            };
            let read_error = self
                .call(
                    &format!("exec {}", cmd.join(" ")),
                    limit,
                    super::pump(output, feed, exited, sink),
                )
                .await?;
            if let Some(e) = read_error {
                return Err(EngineError::Api {
                    op: format!("exec {}", cmd.join(" ")),
                    message: format!("could not read the input for it: {e}"),
                });
            }
        }
        let inspected = self
            .call(
                "inspect exec",
                CONTROL_LIMIT,
                self.docker.inspect_exec(&created.id),
            )
            .await?;
        Ok(inspected.exit_code.unwrap_or(-1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ports_from_docker_messages() {
        assert_eq!(
            port_in_message("driver failed programming external connectivity on endpoint dockhand-x (abc): Bind for 127.0.0.1:5433 failed: port is already allocated"),
            Some(5433)
        );
        assert_eq!(
            port_in_message("Error starting userland proxy: listen tcp4 127.0.0.1:6379: bind: address already in use"),
            Some(6379)
        );
        assert_eq!(port_in_message("something else"), None);
    }

    #[test]
    fn podmans_full_image_names_read_as_dockers() {
        for (given, familiar_name) in [
            ("docker.io/library/postgres:17", "postgres:17"),
            ("docker.io/valkey/valkey:8", "valkey/valkey:8"),
            ("docker.io/library/redis@sha256:ab12", "redis@sha256:ab12"),
            ("postgres:17", "postgres:17"),
            ("127.0.0.1:5000/redis:7", "127.0.0.1:5000/redis:7"),
            ("localhost/postgres:17", "localhost/postgres:17"),
            ("quay.io/docker.io/x:1", "quay.io/docker.io/x:1"),
        ] {
            assert_eq!(familiar(given.to_string()), familiar_name);
        }
    }

    #[test]
    fn splits_images_with_registry_ports() {
        assert_eq!(split_image("postgres:15"), ("postgres", "15"));
        assert_eq!(
            split_image("127.0.0.1:5000/redis:7"),
            ("127.0.0.1:5000/redis", "7")
        );
        assert_eq!(
            split_image("127.0.0.1:5000/redis"),
            ("127.0.0.1:5000/redis", "latest")
        );
    }
}
