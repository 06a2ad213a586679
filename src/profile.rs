//! The profile model: the single source of truth of the chart's values.
//!
//! A profile file is the generated chart's `values.yaml` plus a `profile` section. The
//! JSON schema, `values.schema.json` and the comments of `values.yaml` all come from these
//! types and their doc comments. The types of each component's section live in its module
//! under `component`; this module holds the profile itself and the types sections share.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Unexpected, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::component::app::{App, Ingress, Service, ServiceAccount, Tests};
use crate::component::autoscaling::{Autoscaling, PodDisruptionBudget};
use crate::component::postgresql::Postgresql;
use crate::component::valkey::Valkey;
use crate::formats::{
    Cidr, CpuQuantity, FreeText, ImageRepository, ImageTag, K8sName, LabelKey, LabelValue,
    MemoryQuantity, OptionalK8sName, PromDuration, Url,
};

/// A deployment profile: what the chart contains and the defaults of its values.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Profile {
    /// Identity of the profile; not part of the chart's values.
    pub profile: ProfileMeta,
    /// Overrides the chart name used in object names and labels.
    pub name_override: OptionalK8sName,
    /// Overrides the full name (release name + chart name) of the objects.
    pub fullname_override: OptionalK8sName,
    /// Names of Secrets with registry credentials for pulling the images.
    pub image_pull_secrets: Vec<K8sName>,
    /// Image of the alert-history application.
    pub image: Image,
    /// The alert-history application pods.
    pub app: App,
    /// The application's Service.
    pub service: Service,
    /// ServiceAccount of the application pods.
    pub service_account: ServiceAccount,
    /// Optional Ingress to the application's HTTP port.
    pub ingress: Ingress,
    /// Helm test pods (`helm test`).
    pub tests: Tests,
    /// SQLite volume of the single application pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistence: Option<Persistence>,
    /// HorizontalPodAutoscaler of the application (multi-replica profiles).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<Autoscaling>,
    /// PodDisruptionBudget of the application (multi-replica profiles).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_disruption_budget: Option<PodDisruptionBudget>,
    /// Prometheus Operator integration of the components that expose metrics (on by default where the cluster has the Prometheus Operator's CRDs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<Metrics>,
    /// NetworkPolicies of the stateful components.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_policy: Option<NetworkPolicy>,
    /// PostgreSQL StatefulSet with exporter, WAL archiving and backups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgresql: Option<Postgresql>,
    /// Valkey (Redis-compatible) cache StatefulSet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valkey: Option<Valkey>,
}

/// Identity of a profile.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProfileMeta {
    /// Short name of the profile, e.g. `standard`.
    pub name: K8sName,
    /// One line saying what the profile is for.
    #[schemars(length(min = 1, max = 200))]
    pub description: String,
    /// Where the app stores alerts: `statefulset` is PostgreSQL as a StatefulSet of the chart (section `postgresql`), `sqlite` a SQLite file on a volume of the single app pod (section `persistence`).
    pub database: Database,
}

/// The database implementation of a profile's chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Database {
    Statefulset,
    Sqlite,
}

impl Database {
    /// The name a profile writes.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Statefulset => "statefulset",
            Self::Sqlite => "sqlite",
        }
    }
}

/// Pull policy of a container image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum PullPolicy {
    Always,
    IfNotPresent,
    Never,
}

/// A container image.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Image {
    /// Image repository, with the registry host when not Docker Hub.
    pub repository: ImageRepository,
    /// Image tag, pinned to a release (never `latest`).
    pub tag: ImageTag,
    /// When the kubelet pulls the image.
    pub pull_policy: PullPolicy,
}

/// CPU and memory amounts of a container.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceAmounts {
    /// CPU, e.g. `500m`.
    pub cpu: CpuQuantity,
    /// Memory, e.g. `512Mi`.
    pub memory: MemoryQuantity,
}

/// Resource requests and limits of a container.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Resources {
    /// Guaranteed resources, used for scheduling.
    pub requests: ResourceAmounts,
    /// Hard limits; memory above the limit gets the container killed.
    pub limits: ResourceAmounts,
}

/// Operator of a toleration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum TolerationOperator {
    Exists,
    Equal,
}

/// Taint effect a toleration matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum TaintEffect {
    NoSchedule,
    PreferNoSchedule,
    NoExecute,
}

/// A pod toleration of a node taint.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
// Kubernetes' rules between operator and value, in the schema so that Helm enforces them too.
#[schemars(extend("allOf" = [
    {
        "x-rule": {"key": "value", "message": "must be empty with operator `Exists`"},
        "if": {"required": ["operator"], "properties": {"operator": {"const": "Exists"}}},
        "then": {"not": {"required": ["value"]}}
    },
    {
        "x-rule": {"key": "value", "message": "is required with operator `Equal`"},
        "if": {"required": ["operator"], "properties": {"operator": {"const": "Equal"}}},
        "then": {"required": ["value"]}
    }
]))]
pub struct Toleration {
    /// Taint key to tolerate.
    pub key: LabelKey,
    /// `Exists` matches any value; `Equal` matches `value`.
    pub operator: TolerationOperator,
    /// Taint value, with operator `Equal`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<LabelValue>,
    /// Taint effect to tolerate; all effects when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect: Option<TaintEffect>,
}

/// A persistent volume claim's size and class.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Persistence {
    /// Requested volume size.
    pub size: MemoryQuantity,
    /// StorageClass; empty uses the cluster's default class.
    pub storage_class: OptionalK8sName,
}

/// A switch of optional monitoring objects: `true`, `false`, or `auto` (the string), on
/// when the cluster has what the objects need. Helm's `--set x=true` gives the boolean and
/// `--set x=auto` the string, so both tools read the same flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoSwitch {
    /// `auto`: decided at install time from the cluster's APIs (`.Capabilities.APIVersions`).
    Auto,
    /// `true`: always created.
    On,
    /// `false`: never created.
    Off,
}

impl Serialize for AutoSwitch {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Auto => serializer.serialize_str("auto"),
            Self::On => serializer.serialize_bool(true),
            Self::Off => serializer.serialize_bool(false),
        }
    }
}

impl<'de> Deserialize<'de> for AutoSwitch {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SwitchVisitor;
        impl Visitor<'_> for SwitchVisitor {
            type Value = AutoSwitch;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("true, false or \"auto\"")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<AutoSwitch, E> {
                Ok(if v { AutoSwitch::On } else { AutoSwitch::Off })
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<AutoSwitch, E> {
                if v == "auto" {
                    Ok(AutoSwitch::Auto)
                } else {
                    Err(E::invalid_value(Unexpected::Str(v), &self))
                }
            }
        }
        deserializer.deserialize_any(SwitchVisitor)
    }
}

impl JsonSchema for AutoSwitch {
    fn schema_name() -> Cow<'static, str> {
        "AutoSwitch".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": ["boolean", "string"],
            "enum": [true, false, "auto"],
        })
    }
}

/// ServiceMonitors for the Prometheus Operator.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceMonitor {
    /// Create ServiceMonitors: `auto` when the cluster has the monitoring.coreos.com/v1 ServiceMonitor API (the Prometheus Operator's CRDs), `true` always, `false` never.
    pub enabled: AutoSwitch,
    /// Scrape interval.
    pub interval: PromDuration,
    /// Scrape timeout; shorter than the interval.
    pub scrape_timeout: PromDuration,
    /// Extra labels, e.g. `release` for kube-prometheus-stack's selector.
    pub labels: BTreeMap<LabelKey, LabelValue>,
}

/// PrometheusRules with the chart's alerts.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrometheusRule {
    /// Create PrometheusRules: `auto` when the cluster has the monitoring.coreos.com/v1 PrometheusRule API (the Prometheus Operator's CRDs), `true` always, `false` never.
    pub enabled: AutoSwitch,
    /// Extra labels, e.g. `release` for kube-prometheus-stack's rule selector.
    pub labels: BTreeMap<LabelKey, LabelValue>,
    /// Base URL of the runbooks; each alert links to `<base>#<alert name in lower case>`.
    pub runbook_base_url: Url,
}

/// Prometheus Operator integration.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Metrics {
    /// ServiceMonitors of every component that exposes metrics.
    pub service_monitor: ServiceMonitor,
    /// Alert rules of the stateful components.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prometheus_rule: Option<PrometheusRule>,
    /// Grafana dashboards as ConfigMaps for the Grafana dashboard sidecar.
    pub grafana_dashboards: GrafanaDashboards,
}

/// Grafana dashboards of the chart, one ConfigMap each, for the Grafana sidecar to load.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GrafanaDashboards {
    /// Create the dashboard ConfigMaps, one for each component of the chart that has a dashboard: `auto` when the chart creates its ServiceMonitors (the dashboards show what they scrape), `true` always, `false` never.
    pub enabled: AutoSwitch,
    /// Labels the Grafana sidecar selects dashboard ConfigMaps by (kube-prometheus-stack: `grafana_dashboard: "1"`).
    pub labels: BTreeMap<LabelKey, LabelValue>,
    /// Annotations of the dashboard ConfigMaps, e.g. the sidecar's folder annotation (`grafana_folder: Databases`).
    pub annotations: BTreeMap<LabelKey, FreeText>,
}

/// Where Prometheus runs, for NetworkPolicy rules that admit its scrapes.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrometheusPeer {
    /// Labels of the namespace Prometheus runs in.
    pub namespace_selector: BTreeMap<LabelKey, LabelValue>,
    /// Labels of the Prometheus pods.
    pub pod_selector: BTreeMap<LabelKey, LabelValue>,
}

/// NetworkPolicies of PostgreSQL and Valkey: deny by default, allow what the chart needs.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NetworkPolicy {
    /// Create the NetworkPolicies.
    pub enabled: bool,
    /// Prometheus, the only peer allowed to scrape the exporters.
    pub prometheus: PrometheusPeer,
    /// Namespace of the cluster DNS, the only egress the databases need.
    pub dns_namespace: K8sName,
    /// Extra networks allowed to connect to PostgreSQL, e.g. a VPN for administrators.
    pub extra_database_client_cidrs: Vec<Cidr>,
}
