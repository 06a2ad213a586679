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
use serde_json::{Map, Value, json};

use crate::component::app::{App, Ingress, Service, ServiceAccount, Tests};
use crate::component::autoscaling::{Autoscaling, PodDisruptionBudget};
use crate::component::cloudnative_pg::Cnpg;
use crate::component::postgresql::Postgresql;
use crate::component::valkey::Valkey;
use crate::formats::{
    Cidr, CpuQuantity, FreeText, ImageRepository, ImageTag, K8sName, LabelKey, LabelValue,
    MemoryQuantity, OptionalK8sName, OptionalSubdomainName, PromDuration, Url,
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
    /// PostgreSQL on the CloudNativePG operator: replicas with failover, backups to object storage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnpg: Option<Cnpg>,
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
    /// Where the app stores alerts: `statefulset` is PostgreSQL as a StatefulSet of the chart (section `postgresql`), `cloudnative-pg` a PostgreSQL cluster of the CloudNativePG operator (section `cnpg`), `sqlite` a SQLite file on a volume of the single app pod (section `persistence`).
    pub database: Database,
}

/// The database implementation of a profile's chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Database {
    Statefulset,
    CloudnativePg,
    Sqlite,
}

impl Database {
    /// The name a profile writes.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Statefulset => "statefulset",
            Self::CloudnativePg => "cloudnative-pg",
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

/// Affinity rules of a pod: a Kubernetes pod spec's `affinity`, each part passed to the pod
/// spec as given (an empty part is left out).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Affinity {
    /// Kubernetes `NodeAffinity`: nodes the pods must (required...) or prefer to (preferred...) run on.
    #[schemars(example = node_affinity_example())]
    pub node_affinity: Map<String, Value>,
    /// Kubernetes `PodAffinity`: pods these pods must or prefer to run on the same node or zone as.
    pub pod_affinity: Map<String, Value>,
    /// Kubernetes `PodAntiAffinity`: pods these pods must or prefer to run away from.
    pub pod_anti_affinity: Map<String, Value>,
}

fn node_affinity_example() -> Value {
    json!({
        "requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{
                "matchExpressions": [{"key": "node-pool", "operator": "In", "values": ["database"]}]
            }]
        }
    })
}

/// What a topology spread constraint does with a pod it cannot place within `maxSkew`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum WhenUnsatisfiable {
    DoNotSchedule,
    ScheduleAnyway,
}

/// Whether a topology spread constraint counts only the nodes matching the pod's node
/// affinity and selector (`nodeAffinityPolicy`) or taints (`nodeTaintsPolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum NodeInclusionPolicy {
    Honor,
    Ignore,
}

/// A Kubernetes `TopologySpreadConstraint`: how evenly matching pods spread over the
/// domains of a node label.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TopologySpreadConstraint {
    /// Largest allowed difference of matching pods between two domains.
    #[schemars(range(min = 1))]
    pub max_skew: u32,
    /// Node label whose values are the domains, e.g. `topology.kubernetes.io/zone`.
    pub topology_key: LabelKey,
    /// `DoNotSchedule` keeps a pod Pending rather than exceed maxSkew; `ScheduleAnyway` only prefers less skew.
    pub when_unsatisfiable: WhenUnsatisfiable,
    /// Kubernetes `LabelSelector` of the pods counted (usually the workload's own labels).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<Map<String, Value>>,
    /// Pod label keys whose values, taken from the incoming pod, narrow the counted pods (e.g. `pod-template-hash`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_label_keys: Option<Vec<LabelKey>>,
    /// Fewest eligible domains (with `DoNotSchedule`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub min_domains: Option<u32>,
    /// Count only nodes matching the pod's nodeAffinity and nodeSelector (`Honor`, the default) or all nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_affinity_policy: Option<NodeInclusionPolicy>,
    /// Count only nodes whose taints the pod tolerates (`Honor`) or all nodes (`Ignore`, the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_taints_policy: Option<NodeInclusionPolicy>,
}

/// Where a workload's pods are scheduled: the pod-spec fields of the same names. Every
/// workload's section has them; the chart's own placement rules (the backup job next to
/// PostgreSQL, the app's spread over nodes and zones) are merged with them, never
/// replaced (the chart README's section Scheduling).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Scheduling {
    /// Node labels the pods must be scheduled on.
    pub node_selector: BTreeMap<LabelKey, LabelValue>,
    /// Tolerations of node taints.
    pub tolerations: Vec<Toleration>,
    /// Affinity rules (Kubernetes `Affinity`); a workload's own required terms (README: Scheduling) are always added.
    pub affinity: Affinity,
    /// Topology spread constraints (Kubernetes `TopologySpreadConstraint`), after the chart's own (README: Scheduling); one with the topologyKey of a chart constraint replaces it.
    pub topology_spread_constraints: Vec<TopologySpreadConstraint>,
    /// PriorityClass of the pods (must exist in the cluster); empty: the cluster's default priority.
    pub priority_class_name: OptionalSubdomainName,
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
