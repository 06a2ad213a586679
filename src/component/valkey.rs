//! The Valkey cache.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Component, Selection, no_check};
use crate::formats::OptionalK8sName;
use crate::profile::{Image, Persistence, Resources, Scheduling};

pub const COMPONENT: Component = Component {
    name: "valkey",
    source_dirs: &["valkey"],
    // Valkey's alerts have their runbooks there.
    docs: &[("docs/runbooks.md", include_str!("../../docs/runbooks.md"))],
    selected_by: Selection::Section(|p| p.valkey.is_some()),
    alert_rules: true,
    stateful_service: true,
    generated_passwords: true,
    check: no_check,
    resources: |p| p.valkey.as_ref().map(resources).unwrap_or_default(),
};

/// Valkey's eviction policy when maxmemory is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum MaxmemoryPolicy {
    AllkeysLru,
    AllkeysLfu,
    AllkeysRandom,
    VolatileLru,
    VolatileLfu,
    VolatileRandom,
    VolatileTtl,
    Noeviction,
}

/// How often the append-only file is fsynced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Appendfsync {
    Always,
    Everysec,
    No,
}

/// Credentials of Valkey.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ValkeyAuth {
    /// Secret with key valkey-password; empty: a pre-install/pre-upgrade hook Job creates <release>-alert-history-valkey with a random one if it does not exist, and never changes it.
    pub existing_secret: OptionalK8sName,
}

/// valkey.conf settings.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ValkeyConfig {
    /// maxmemory as a percentage of the container's memory limit.
    #[schemars(range(min = 10, max = 90))]
    pub maxmemory_percent: u32,
    /// Eviction policy at maxmemory.
    pub maxmemory_policy: MaxmemoryPolicy,
    /// Persist writes to the append-only file.
    pub appendonly: bool,
    /// fsync policy of the append-only file.
    pub appendfsync: Appendfsync,
}

/// The redis_exporter sidecar of Valkey.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ValkeyExporter {
    /// Exporter image.
    pub image: Image,
    /// Resources of the exporter container.
    pub resources: Resources,
}

/// Alert thresholds of Valkey.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ValkeyAlerts {
    /// Warn when used memory exceeds this percentage of maxmemory.
    #[schemars(range(min = 1, max = 100))]
    pub memory_used_percent: u32,
    /// Warn when more clients than this are connected.
    #[schemars(range(min = 1, max = 100_000))]
    pub connected_clients_max: u32,
    /// Warn when the data volume has been fuller than this percentage of its capacity for 15 minutes (kubelet volume statistics).
    #[schemars(range(min = 1, max = 99))]
    pub volume_used_percent: u32,
    /// Page when the data volume, at its growth over the last 6 hours, will be full within this many hours; only volumes more than half full.
    #[schemars(range(min = 1, max = 720))]
    pub volume_full_in_hours: u32,
}

/// The Valkey cache.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Valkey {
    /// Valkey image (Redis 7 compatible).
    pub image: Image,
    /// Credentials.
    pub auth: ValkeyAuth,
    /// Resources of the Valkey container.
    pub resources: Resources,
    /// Data volume (append-only file).
    pub persistence: Persistence,
    /// valkey.conf settings.
    pub config: ValkeyConfig,
    /// redis_exporter sidecar.
    pub exporter: ValkeyExporter,
    /// Alert thresholds.
    pub alerts: ValkeyAlerts,
    /// Scheduling of the Valkey pod.
    #[serde(flatten)]
    pub scheduling: Scheduling,
}

/// The containers of the Valkey pod.
fn resources(v: &Valkey) -> Vec<(&'static str, &Resources)> {
    vec![
        ("valkey.resources", &v.resources),
        ("valkey.exporter.resources", &v.exporter.resources),
    ]
}
