//! An in-memory engine for fast unit tests of the logic above the engine. It keeps containers,
//! volumes, images and networks in maps and never pretends to run a server: readiness against it
//! is driven by the test's own probe.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::stream::{self, BoxStream, StreamExt};

use super::{ContainerConfig, ContainerStats};
use super::{
    ContainerInfo, ContainerSpec, Engine, EngineError, EngineResult, ImageInfo, LogChunk,
    OutputStream, PullProgress, RunState, VolumeInfo,
};
use crate::engine::ContainerFile;

#[derive(Default)]
struct State {
    containers: HashMap<String, (ContainerInfo, String)>,
    files: HashMap<String, Vec<String>>,
    /// What each container was created with.
    specs: HashMap<String, ContainerSpec>,
    volumes: HashMap<String, HashMap<String, String>>,
    images: HashSet<String>,
    networks: HashSet<String>,
    ports_in_use: HashSet<u16>,
    down: bool,
    next_id: u64,
}

/// What a test's stand-in for a process in a container does: given the command line (and
/// what was fed on stdin), its exit code, stdout and stderr.
pub type ExecHandler = Box<dyn Fn(&[&str], &[u8]) -> (i64, Vec<u8>, Vec<u8>) + Send + Sync>;

#[derive(Default)]
pub struct FakeEngine {
    s: Mutex<State>,
    exec: Mutex<Option<ExecHandler>>,
}

impl FakeEngine {
    pub fn with_running(name: &str) -> Self {
        let e = FakeEngine::default();
        e.s.lock().unwrap().containers.insert(
            name.into(),
            (
                ContainerInfo {
                    id: format!("id-{name}"),
                    name: name.into(),
                    image: "img".into(),
                    state: RunState::Running,
                    exit_code: None,
                    oom_killed: false,
                    error: None,
                    started_at: None,
                    labels: HashMap::new(),
                    bindings: vec![],
                    memory_limit_bytes: None,
                },
                String::new(),
            ),
        );
        e
    }

    /// A running container that is none of Dockhand's, publishing `port` (someone's own
    /// `docker run -p`).
    pub fn publish(&self, name: &str, port: u16) {
        let mut s = self.s.lock().unwrap();
        s.ports_in_use.insert(port);
        s.containers.insert(
            name.into(),
            (
                ContainerInfo {
                    id: format!("id-{name}"),
                    name: name.into(),
                    image: "img".into(),
                    state: RunState::Running,
                    exit_code: None,
                    oom_killed: false,
                    error: None,
                    started_at: None,
                    labels: HashMap::new(),
                    bindings: vec![("0.0.0.0".into(), port)],
                    memory_limit_bytes: None,
                },
                String::new(),
            ),
        );
    }

    pub fn set_labels(&self, name: &str, labels: HashMap<String, String>) {
        let mut s = self.s.lock().unwrap();
        s.containers.get_mut(name).expect("container").0.labels = labels;
    }

    pub fn set_exited(&self, name: &str, code: i64, oom: bool, logs: &str) {
        let mut s = self.s.lock().unwrap();
        let c = s.containers.get_mut(name).expect("container");
        c.0.state = RunState::Exited;
        c.0.exit_code = Some(code);
        c.0.oom_killed = oom;
        c.1 = logs.into();
    }

    /// What a container was created with (its storage, its memory limit).
    pub fn spec_of(&self, name: &str) -> Option<ContainerSpec> {
        self.s.lock().unwrap().specs.get(name).cloned()
    }

    /// The memory limit a container has now (after any update).
    pub fn memory_of(&self, name: &str) -> Option<u64> {
        let s = self.s.lock().unwrap();
        s.containers.get(name)?.0.memory_limit_bytes
    }

    /// Runs `handler` for every exec (without one, an exec fails: the fake runs no processes).
    pub fn on_exec(&self, handler: ExecHandler) {
        *self.exec.lock().unwrap() = Some(handler);
    }

    pub fn add_image(&self, image: &str) {
        self.s.lock().unwrap().images.insert(image.into());
    }

    pub fn occupy_port(&self, port: u16) {
        self.s.lock().unwrap().ports_in_use.insert(port);
    }

    pub fn set_down(&self, down: bool) {
        self.s.lock().unwrap().down = down;
    }

    pub fn container(&self, name: &str) -> Option<ContainerInfo> {
        self.s
            .lock()
            .unwrap()
            .containers
            .get(name)
            .map(|c| c.0.clone())
    }

    pub fn files_of(&self, name: &str) -> Vec<String> {
        self.s
            .lock()
            .unwrap()
            .files
            .get(name)
            .cloned()
            .unwrap_or_default()
    }

    pub fn volume_names(&self) -> Vec<String> {
        self.s.lock().unwrap().volumes.keys().cloned().collect()
    }

    fn check(&self) -> EngineResult<std::sync::MutexGuard<'_, State>> {
        let s = self.s.lock().unwrap();
        if s.down {
            return Err(EngineError::Unavailable {
                endpoint: "fake".into(),
                reason: "stopped".into(),
            });
        }
        Ok(s)
    }
}

#[async_trait]
impl Engine for FakeEngine {
    fn endpoint(&self) -> String {
        "fake://".into()
    }
    async fn ping(&self) -> EngineResult<()> {
        self.check().map(|_| ())
    }
    async fn image_present(&self, image: &str) -> EngineResult<bool> {
        Ok(self.check()?.images.contains(image))
    }
    async fn pull_image(
        &self,
        image: &str,
        progress: &(dyn Fn(PullProgress) + Send + Sync),
    ) -> EngineResult<()> {
        if image.contains("missing") {
            return Err(EngineError::Api {
                op: "pull".into(),
                message: format!("manifest for {image} not found"),
            });
        }
        progress(PullProgress::Bytes {
            current: 1,
            total: 2,
        });
        progress(PullProgress::Bytes {
            current: 2,
            total: 2,
        });
        self.check()?.images.insert(image.into());
        Ok(())
    }
    async fn inspect_volume(&self, name: &str) -> EngineResult<Option<VolumeInfo>> {
        Ok(self.check()?.volumes.get(name).map(|l| VolumeInfo {
            name: name.into(),
            labels: l.clone(),
        }))
    }
    async fn create_volume(&self, name: &str, labels: HashMap<String, String>) -> EngineResult<()> {
        self.check()?.volumes.entry(name.into()).or_insert(labels);
        Ok(())
    }
    async fn remove_volume(&self, name: &str) -> EngineResult<()> {
        self.check()?.volumes.remove(name);
        Ok(())
    }
    async fn ensure_network(
        &self,
        name: &str,
        _labels: HashMap<String, String>,
    ) -> EngineResult<()> {
        self.check()?.networks.insert(name.into());
        Ok(())
    }
    async fn create_container(&self, spec: &ContainerSpec) -> EngineResult<String> {
        let mut s = self.check()?;
        if s.containers.contains_key(&spec.name) {
            return Err(EngineError::Conflict(format!("name {} in use", spec.name)));
        }
        s.next_id += 1;
        let id = format!("fake{}", s.next_id);
        s.specs.insert(spec.name.clone(), spec.clone());
        s.containers.insert(
            spec.name.clone(),
            (
                ContainerInfo {
                    id: id.clone(),
                    name: spec.name.clone(),
                    image: spec.image.clone(),
                    state: RunState::Created,
                    exit_code: None,
                    oom_killed: false,
                    error: None,
                    started_at: None,
                    labels: spec.labels.clone(),
                    bindings: vec![("127.0.0.1".into(), spec.host_port)],
                    memory_limit_bytes: spec.memory_bytes,
                },
                String::new(),
            ),
        );
        Ok(id)
    }
    async fn update_memory(&self, name: &str, bytes: Option<u64>) -> EngineResult<()> {
        let mut s = self.check()?;
        let c = s
            .containers
            .get_mut(name)
            .ok_or_else(|| EngineError::NotFound(name.into()))?;
        c.0.memory_limit_bytes = bytes;
        Ok(())
    }
    async fn put_files(&self, container: &str, files: &[ContainerFile]) -> EngineResult<()> {
        let mut s = self.check()?;
        let list = s.files.entry(container.into()).or_default();
        list.extend(files.iter().map(|f| f.path.clone()));
        Ok(())
    }
    async fn start_container(&self, name: &str) -> EngineResult<()> {
        let mut s = self.check()?;
        let in_use = s.ports_in_use.clone();
        let c = s
            .containers
            .get_mut(name)
            .ok_or_else(|| EngineError::NotFound(name.into()))?;
        if let Some((_, p)) = c.0.bindings.iter().find(|(_, p)| in_use.contains(p)) {
            return Err(EngineError::PortAllocated {
                port: *p,
                message: format!("Bind for 127.0.0.1:{p} failed: port is already allocated"),
            });
        }
        c.0.state = RunState::Running;
        Ok(())
    }
    async fn stop_container(&self, name: &str, _grace: Duration) -> EngineResult<()> {
        let mut s = self.check()?;
        let c = s
            .containers
            .get_mut(name)
            .ok_or_else(|| EngineError::NotFound(name.into()))?;
        c.0.state = RunState::Exited;
        c.0.exit_code = Some(0);
        Ok(())
    }
    async fn remove_container(&self, name: &str) -> EngineResult<()> {
        self.check()?.containers.remove(name);
        Ok(())
    }
    async fn inspect_container(&self, name: &str) -> EngineResult<Option<ContainerInfo>> {
        Ok(self.check()?.containers.get(name).map(|c| c.0.clone()))
    }
    async fn container_config(&self, name: &str) -> EngineResult<Option<ContainerConfig>> {
        // The fake's containers are Dockhand's own; what adoption reads is tested for real.
        Ok(self
            .check()?
            .containers
            .get(name)
            .map(|_| ContainerConfig::default()))
    }
    async fn list_images(&self) -> EngineResult<Vec<ImageInfo>> {
        let s = self.check()?;
        let mut v: Vec<ImageInfo> = s
            .images
            .iter()
            .map(|t| ImageInfo {
                id: format!("sha256:{t}"),
                tags: vec![t.clone()],
                digests: vec![],
                size_bytes: 100 << 20,
                created: 0,
            })
            .collect();
        v.sort_by(|a, b| a.tags.cmp(&b.tags));
        Ok(v)
    }
    async fn remove_image(&self, reference: &str) -> EngineResult<()> {
        let mut s = self.check()?;
        if s.containers.values().any(|c| c.0.image == reference) {
            return Err(EngineError::Conflict(format!(
                "image {reference} is used by a container"
            )));
        }
        s.images.remove(reference);
        Ok(())
    }
    async fn container_stats(&self, name: &str) -> EngineResult<Option<ContainerStats>> {
        let s = self.check()?;
        // A running container of the fake uses 64 MiB of 1 GiB and 2.5 % of a core.
        Ok(s.containers
            .get(name)
            .filter(|c| c.0.state == RunState::Running)
            .map(|_| ContainerStats {
                memory_bytes: 64 << 20,
                memory_limit_bytes: Some(1 << 30),
                cpu_percent: Some(2.5),
            }))
    }
    async fn list_containers(&self, labels: &[(&str, &str)]) -> EngineResult<Vec<ContainerInfo>> {
        Ok(self
            .check()?
            .containers
            .values()
            .filter(|(c, _)| {
                labels
                    .iter()
                    .all(|(k, v)| c.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|(c, _)| c.clone())
            .collect())
    }
    fn logs(
        &self,
        name: &str,
        _tail: Option<usize>,
        _follow: bool,
    ) -> BoxStream<'static, EngineResult<LogChunk>> {
        let text = self
            .s
            .lock()
            .unwrap()
            .containers
            .get(name)
            .map(|c| c.1.clone())
            .unwrap_or_default();
        stream::iter(vec![Ok(LogChunk {
            stream: OutputStream::Stdout,
            bytes: bytes::Bytes::from(text),
        })])
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
        self.exec_with_input(
            container,
            cmd,
            env,
            None,
            limit,
            &mut tokio::io::empty(),
            sink,
        )
        .await
    }

    async fn exec_with_input(
        &self,
        container: &str,
        cmd: &[&str],
        _env: &[String],
        _user: Option<&str>,
        _limit: Duration,
        input: &mut (dyn tokio::io::AsyncRead + Unpin + Send),
        sink: &mut (dyn FnMut(LogChunk) + Send),
    ) -> EngineResult<i64> {
        use tokio::io::AsyncReadExt;
        let running = self
            .s
            .lock()
            .unwrap()
            .containers
            .get(container)
            .is_some_and(|c| c.0.state == RunState::Running);
        if !running {
            return Err(EngineError::Api {
                op: "exec".into(),
                message: format!("container {container} is not running"),
            });
        }
        let mut stdin = Vec::new();
        let _ = input.read_to_end(&mut stdin).await;
        let out = match self.exec.lock().unwrap().as_ref() {
            Some(handler) => handler(cmd, &stdin),
            None => {
                return Err(EngineError::Api {
                    op: "exec".into(),
                    message: "the fake engine runs no processes".into(),
                })
            }
        };
        let (code, stdout, stderr) = out;
        for (stream, bytes) in [
            (OutputStream::Stdout, stdout),
            (OutputStream::Stderr, stderr),
        ] {
            if !bytes.is_empty() {
                sink(LogChunk {
                    stream,
                    bytes: bytes.into(),
                });
            }
        }
        Ok(code)
    }

    fn container_events(
        &self,
        _labels: &[(&str, &str)],
    ) -> BoxStream<'static, EngineResult<super::ContainerEvent>> {
        stream::pending().boxed()
    }
}
