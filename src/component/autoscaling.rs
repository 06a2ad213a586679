//! The app's HorizontalPodAutoscaler and PodDisruptionBudget (multi-replica profiles).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::profile::Profile;
use crate::validate::Found;

use super::{Component, Selection, no_resources};

pub const COMPONENT: Component = Component {
    name: "autoscaling",
    source_dirs: &["autoscaling"],
    docs: &[],
    selected_by: Selection::Section(|p| p.autoscaling.is_some()),
    alert_rules: false,
    stateful_service: false,
    generated_passwords: false,
    check,
    resources: no_resources,
};

/// One direction's scaling policy of the HPA.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScalingRules {
    /// Seconds of past recommendations considered before scaling.
    #[schemars(range(min = 0, max = 3600))]
    pub stabilization_window_seconds: u32,
    /// At most this percentage of the current replicas per period.
    #[schemars(range(min = 1, max = 1000))]
    pub percent: u32,
    /// Or at most this many pods per period, whichever allows more.
    #[schemars(range(min = 1, max = 100))]
    pub pods: u32,
    /// Length of a policy period in seconds.
    #[schemars(range(min = 1, max = 1800))]
    pub period_seconds: u32,
}

/// Scaling behaviour of the HPA.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScalingBehavior {
    /// How fast replicas are removed.
    pub scale_down: ScalingRules,
    /// How fast replicas are added.
    pub scale_up: ScalingRules,
}

/// HorizontalPodAutoscaler of the application.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Autoscaling {
    /// Fewest replicas; 2 or more keeps the service up during a node drain.
    #[schemars(range(min = 1, max = 100))]
    pub min_replicas: u32,
    /// Most replicas; PostgreSQL max_connections must cover this times the database pool size.
    #[schemars(range(min = 1, max = 100))]
    pub max_replicas: u32,
    /// Target average CPU utilisation, percent of the request.
    #[serde(rename = "targetCPUUtilizationPercentage")]
    #[schemars(range(min = 1, max = 100))]
    pub target_cpu_utilization_percentage: u32,
    /// Target average memory utilisation, percent of the request.
    #[schemars(range(min = 1, max = 100))]
    pub target_memory_utilization_percentage: u32,
    /// Scale-up and scale-down rate limits.
    pub behavior: ScalingBehavior,
}

/// PodDisruptionBudget of the application.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PodDisruptionBudget {
    /// Pods that a voluntary disruption (e.g. a node drain) may take down at once.
    #[schemars(range(min = 1, max = 100))]
    pub max_unavailable: u32,
}

/// Scaling bounds in order.
pub fn check(p: &Profile, found: &mut Found) {
    if let Some(a) = &p.autoscaling
        && a.min_replicas > a.max_replicas
    {
        found.fail(
            "autoscaling.minReplicas",
            format!(
                "minReplicas {} is greater than maxReplicas {} (expected min <= max)",
                a.min_replicas, a.max_replicas
            ),
        );
    }
}
