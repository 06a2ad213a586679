//! The profile model: the single source of truth of the chart's values.
//!
//! A profile file is the generated chart's `values.yaml` plus a `profile` section. The
//! JSON schema, `values.schema.json` and the comments of `values.yaml` all come from these
//! types and their doc comments. Optional sections are components: a profile without
//! `postgresql` yields a chart with no PostgreSQL objects at all.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Unexpected, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::formats::{
    Cidr, CpuQuantity, CronSchedule, Fraction, FreeText, Hostname, HttpPath, ImageRepository,
    ImageTag, K8sName, LabelKey, LabelValue, LlmModel, MemoryQuantity, OptionalK8sName,
    OptionalMemoryQuantity, PageCost, PerMinute, PgAppUser, PgDuration, PgIdentifier, PgSize,
    PromDuration, TimeZone, Url,
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

/// Log verbosity of the application: uvicorn's `--log-level` names, which the app's own
/// logging also accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Debug,
    Info,
    Warning,
    Error,
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

/// The alert-history application.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct App {
    /// Log verbosity.
    pub log_level: LogLevel,
    /// Days of alert history kept: the retention CronJob deletes older alerts (the image reads RETENTION_DAYS but never deletes).
    #[schemars(range(min = 1, max = 3650))]
    pub retention_days: u32,
    /// Cron schedule (UTC) of the retention CronJob.
    pub retention_schedule: CronSchedule,
    /// LLM classification of incoming alerts through an OpenAI-compatible proxy.
    pub llm: Llm,
    /// Resources of the application container.
    pub resources: Resources,
    /// Extra annotations of the application pods.
    pub pod_annotations: BTreeMap<LabelKey, FreeText>,
    /// Node labels the application pods must be scheduled on.
    pub node_selector: BTreeMap<LabelKey, LabelValue>,
    /// Tolerations of the application pods.
    pub tolerations: Vec<Toleration>,
}

/// The app's LLM classification of alerts.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Llm {
    /// Classify incoming alerts with the LLM; needs an API key (`apiKey` or `existingSecret`).
    pub enabled: bool,
    /// Base URL of the LLM proxy the app calls.
    pub proxy_url: Url,
    /// Model the proxy is asked for.
    pub model: LlmModel,
    /// Seconds before one LLM request times out.
    #[schemars(range(min = 1, max = 600))]
    pub timeout_seconds: u32,
    /// Retries of a failed LLM request.
    #[schemars(range(min = 0, max = 10))]
    pub max_retries: u32,
    /// API key, stored by the chart in a Secret of its own; prefer `existingSecret` outside development.
    #[schemars(length(max = 4096))]
    pub api_key: FreeText,
    /// Existing Secret with the API key under key `api-key`; replaces `apiKey`.
    pub existing_secret: OptionalK8sName,
}

/// Type of a Kubernetes Service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ServiceType {
    ClusterIP,
    NodePort,
    LoadBalancer,
}

/// The application's Service.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Service {
    /// Service type.
    #[serde(rename = "type")]
    pub kind: ServiceType,
    /// Service port of the HTTP API (the container listens on 8080).
    #[schemars(range(min = 1, max = 65535))]
    pub port: u16,
}

/// ServiceAccount of the application pods.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceAccount {
    /// Create the ServiceAccount; when false, `name` (or `default`) must already exist.
    pub create: bool,
    /// ServiceAccount name; empty means the full name of the release.
    pub name: OptionalK8sName,
    /// Annotations of the ServiceAccount, e.g. for workload identity.
    pub annotations: BTreeMap<LabelKey, FreeText>,
}

/// TLS of the Ingress.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IngressTls {
    /// Terminate TLS at the Ingress.
    pub enabled: bool,
    /// Secret holding the certificate and key.
    pub secret_name: K8sName,
}

/// Ingress to the application.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Ingress {
    /// Create the Ingress.
    pub enabled: bool,
    /// IngressClass name; empty uses the cluster's default class.
    pub class_name: OptionalK8sName,
    /// Annotations of the Ingress, e.g. for cert-manager.
    pub annotations: BTreeMap<LabelKey, FreeText>,
    /// Host name the Ingress serves.
    pub host: Hostname,
    /// Path prefix routed to the application.
    pub path: HttpPath,
    /// TLS settings.
    pub tls: IngressTls,
}

/// Helm test pods.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Tests {
    /// Small image with a shell and wget that runs the application's Helm test.
    pub image: Image,
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

/// Credentials of PostgreSQL.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostgresqlAuth {
    /// Database of the application.
    pub database: PgIdentifier,
    /// Login role of the application; owns the database, not a superuser.
    pub username: PgAppUser,
    /// Secret with keys postgres-password, password, replication-password and exporter-password; empty makes the chart generate one that persists across upgrades.
    pub existing_secret: OptionalK8sName,
}

/// Whether PostgreSQL uses huge pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum HugePages {
    Off,
    Try,
    On,
}

/// postgresql.conf settings people tune.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostgresqlConfig {
    /// max_connections: app pool size x max app replicas + reserved connections + headroom.
    #[schemars(range(min = 10, max = 10000))]
    pub max_connections: u32,
    /// superuser_reserved_connections, kept free for administrators.
    #[schemars(range(min = 1, max = 100))]
    pub superuser_reserved_connections: u32,
    /// shared_buffers; unset in a profile: 25 % of the memory limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_buffers: Option<PgSize>,
    /// effective_cache_size, the planner's estimate of the cache; unset in a profile: 75 % of the memory limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_cache_size: Option<PgSize>,
    /// work_mem per sort or hash operation; unset in a profile: half of the memory the other settings leave, per backend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_mem: Option<PgSize>,
    /// maintenance_work_mem for VACUUM and CREATE INDEX; unset in a profile: 1/16 of the memory limit, at most 2GB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maintenance_work_mem: Option<PgSize>,
    /// wal_buffers; unset in a profile: 1/32 of shared_buffers, between 64kB and 16MB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wal_buffers: Option<PgSize>,
    /// min_wal_size.
    pub min_wal_size: PgSize,
    /// max_wal_size.
    pub max_wal_size: PgSize,
    /// checkpoint_completion_target.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub checkpoint_completion_target: Fraction,
    /// random_page_cost (1.1 suits SSDs).
    #[schemars(range(min = 0.1, max = 100.0))]
    pub random_page_cost: PageCost,
    /// effective_io_concurrency (200 suits SSDs).
    #[schemars(range(min = 0, max = 1000))]
    pub effective_io_concurrency: u32,
    /// log_min_duration_statement: statements slower than this are logged.
    pub log_min_duration_statement: PgDuration,
    /// autovacuum_max_workers.
    #[schemars(range(min = 1, max = 64))]
    pub autovacuum_max_workers: u32,
    /// autovacuum_naptime.
    pub autovacuum_naptime: PgDuration,
    /// archive_timeout: forces a WAL switch so the archive is never older than this (the RPO).
    pub archive_timeout: PgDuration,
    /// max_wal_senders, for pg_basebackup and a future replica.
    #[schemars(range(min = 2, max = 100))]
    pub max_wal_senders: u32,
    /// wal_keep_size.
    pub wal_keep_size: PgSize,
    /// huge_pages; unset in a profile: `try` when postgresql.hugepages2Mi requests huge pages, else `off`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub huge_pages: Option<HugePages>,
}

/// pg_hba.conf access rules.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostgresqlHba {
    /// Networks the application connects from (the cluster's pod networks).
    #[schemars(length(min = 1))]
    pub app_cidrs: Vec<Cidr>,
}

/// TLS for connections to PostgreSQL, with a certificate from a Secret you provide.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostgresqlTls {
    /// Serve TLS (ssl = on) and accept the app user and replication from the network only over TLS (hostssl).
    pub enabled: bool,
    /// Existing kubernetes.io/tls Secret with tls.crt and tls.key (ca.crt optional, for clients), mounted into the PostgreSQL pod.
    pub secret_name: K8sName,
}

/// The postgres_exporter sidecar.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostgresqlExporter {
    /// Exporter image.
    pub image: Image,
    /// Resources of the exporter container.
    pub resources: Resources,
}

/// Retention of backups.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BackupRetention {
    /// Days base backups are kept (the newest one is always kept).
    #[schemars(range(min = 1, max = 3650))]
    pub base_backup_days: u32,
    /// Days archived WAL is kept: the point-in-time recovery window.
    #[schemars(range(min = 1, max = 3650))]
    pub wal_archive_days: u32,
}

/// Base backups and WAL archiving.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostgresqlBackup {
    /// Archive WAL and run the backup CronJob.
    pub enabled: bool,
    /// Cron schedule of the base backup.
    pub schedule: CronSchedule,
    /// Time zone of the schedule.
    pub time_zone: TimeZone,
    /// Retention of base backups and archived WAL.
    pub retention: BackupRetention,
    /// Backup volume, holding base backups and the WAL archive.
    pub persistence: Persistence,
    /// Resources of the backup job.
    pub resources: Resources,
}

/// Alert thresholds of PostgreSQL.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostgresqlAlerts {
    /// Warn when connections exceed this percentage of the slots non-superusers may use (max_connections - superuser_reserved_connections).
    #[schemars(range(min = 1, max = 100))]
    pub high_connections_percent: u32,
    /// Page when connections exceed this percentage of the slots non-superusers may use (max_connections - superuser_reserved_connections).
    #[schemars(range(min = 1, max = 100))]
    pub too_many_connections_percent: u32,
    /// Page when a replica lags more than this many seconds.
    #[schemars(range(min = 1, max = 86400))]
    pub replication_lag_seconds: u32,
    /// Page when transaction ids used exceed this percentage of the wraparound limit.
    #[schemars(range(min = 1, max = 100))]
    pub txid_wraparound_percent: u32,
    /// Warn when one active statement runs longer than this many seconds.
    #[schemars(range(min = 1, max = 86400))]
    pub slow_query_seconds: u32,
    /// Warn when the buffer cache hit ratio falls below this.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub cache_hit_ratio_min: Fraction,
    /// Warn when dead tuples exceed this fraction of a table's tuples.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub dead_tuple_ratio_max: Fraction,
    /// Ignore tables with fewer dead tuples than this (small tables churn harmlessly).
    #[schemars(range(min = 0, max = 1_000_000_000))]
    pub dead_tuples_min: u64,
    /// Warn when a table whose dead tuples exceed its autovacuum trigger has not been vacuumed for this many hours.
    #[schemars(range(min = 1, max = 8760))]
    pub vacuum_age_hours: u32,
    /// Warn when checkpoints happen more often than this per minute.
    #[schemars(range(min = 0.01, max = 60.0))]
    pub checkpoints_per_minute_max: PerMinute,
    /// Warn when backends write more than this fraction of buffers themselves.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub backend_buffer_write_ratio_max: Fraction,
    /// Alert when the oldest WAL segment still waiting for archive_command has waited longer than this many minutes.
    #[schemars(range(min = 1, max = 1440))]
    pub wal_archive_delay_minutes: u32,
    /// Alert when the newest successful base backup is older than this many hours.
    #[schemars(range(min = 1, max = 8760))]
    pub backup_max_age_hours: u32,
    /// Warn when the data volume or the backup volume has been fuller than this percentage of its capacity for 15 minutes (kubelet volume statistics).
    #[schemars(range(min = 1, max = 99))]
    pub volume_used_percent: u32,
    /// Page when the data volume (at its growth over the last 6 hours) or the backup volume (over the last 24 hours, a cycle of base backups) will be full within this many hours; only volumes more than half full.
    #[schemars(range(min = 1, max = 720))]
    pub volume_full_in_hours: u32,
}

/// The PostgreSQL database.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Postgresql {
    /// PostgreSQL image; its major version must match the data directory.
    pub image: Image,
    /// Database, user and credentials.
    pub auth: PostgresqlAuth,
    /// Resources of the PostgreSQL container; the memory limit sizes the memory settings a profile leaves unset.
    pub resources: Resources,
    /// 2 MiB huge pages the PostgreSQL container requests (and is limited to) for its shared memory, e.g. `1Gi`; empty: none.
    #[serde(rename = "hugepages2Mi")]
    pub hugepages_2mi: OptionalMemoryQuantity,
    /// Size of /dev/shm, the memory-backed volume of parallel queries' shared memory; unset in a profile: enough for 8 parallel hashes of work_mem.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shm_size: Option<MemoryQuantity>,
    /// Data volume.
    pub persistence: Persistence,
    /// postgresql.conf settings.
    pub config: PostgresqlConfig,
    /// pg_hba.conf access rules.
    pub hba: PostgresqlHba,
    /// TLS of client connections.
    pub tls: PostgresqlTls,
    /// postgres_exporter sidecar.
    pub exporter: PostgresqlExporter,
    /// Base backups, WAL archiving and retention.
    pub backup: PostgresqlBackup,
    /// Alert thresholds.
    pub alerts: PostgresqlAlerts,
}

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
    /// Secret with key valkey-password; empty makes the chart generate one that persists across upgrades.
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
}

/// The components a profile puts in the chart; they decide which files the chart has.
#[allow(clippy::struct_excessive_bools)] // independent switches, one per component
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Components {
    pub postgresql: bool,
    pub valkey: bool,
    pub autoscaling: bool,
    pub sqlite: bool,
}

impl Profile {
    pub fn components(&self) -> Components {
        Components {
            postgresql: self.postgresql.is_some(),
            valkey: self.valkey.is_some(),
            autoscaling: self.autoscaling.is_some(),
            sqlite: self.persistence.is_some(),
        }
    }
}
