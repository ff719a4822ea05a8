//! The manager as the supervisor sees it.

use std::sync::Arc;

use async_trait::async_trait;
use futures_util::stream::BoxStream;

use super::Observed;
use crate::engine::{labels, log_tail, ContainerEvent, EngineResult};
use crate::manager::ServiceStatus;
use crate::store::BackupRow;
use crate::Manager;

pub(super) struct ManagerObserved(pub Arc<Manager>);

#[async_trait]
impl Observed for ManagerObserved {
    async fn ping(&self) -> Result<(), String> {
        self.0.engine().ping().await.map_err(|e| e.to_string())
    }

    async fn statuses(&self) -> Result<Vec<ServiceStatus>, String> {
        self.0.status().await.map_err(|e| e.to_string())
    }

    fn container_events(&self) -> BoxStream<'static, EngineResult<ContainerEvent>> {
        self.0.engine().container_events(&[
            (labels::MANAGED, "true"),
            (labels::INSTANCE, self.0.instance()),
        ])
    }

    async fn failure_detail(&self, service: &str) -> Option<String> {
        let tail = log_tail(self.0.engine().as_ref(), &self.0.container_for(service), 3).await;
        let one_line = tail
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" | ");
        (!one_line.is_empty()).then(|| one_line.chars().take(400).collect())
    }

    async fn start(&self, service: &str) -> Result<(), String> {
        self.0
            .start_existing(service)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    async fn restore_desired(&self) -> Result<Vec<String>, String> {
        self.0.restore_desired().await.map_err(|e| e.to_string())
    }

    fn restart_on_failure(&self, service: &str) -> bool {
        self.0.restart_on_failure(service)
    }

    fn record(&self, service: Option<&str>, kind: &str, message: &str) {
        if let Err(e) = self.0.store().record_event(service, kind, message) {
            tracing::warn!("could not record event: {e}");
        }
    }

    async fn end_busy(&self, service: &str) -> Result<Option<String>, String> {
        self.0
            .end_busy_script(service)
            .await
            .map_err(|e| e.to_string())
    }

    async fn scheduled_backups(&self) -> (Vec<BackupRow>, Vec<(String, String)>) {
        let noop = |_| {};
        match self.0.run_scheduled_backups(&noop).await {
            Ok((done, failed)) => (
                done,
                failed
                    .into_iter()
                    .map(|(s, e)| (s, e.to_string()))
                    .collect(),
            ),
            Err(e) => (vec![], vec![("schedule".into(), e.to_string())]),
        }
    }
}
