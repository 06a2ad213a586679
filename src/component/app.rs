//! The alert-history application: the part every chart has.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::formats::{
    CronSchedule, FreeText, Hostname, HttpPath, K8sName, LabelKey, LlmModel, OptionalK8sName, Url,
};
use crate::profile::{Image, Profile, Resources, Scheduling};
use crate::validate::Found;

use super::{Component, Selection};

pub const COMPONENT: Component = Component {
    name: "app",
    source_dirs: &["app"],
    docs: &[],
    selected_by: Selection::Always,
    alert_rules: false,
    stateful_service: false,
    generated_passwords: false,
    check,
    resources: |p| vec![("app.resources", &p.app.resources)],
};

/// Connections one app pod may hold: image 1.1.9 opens its asyncpg pool with the
/// defaults of `PostgreSQLStorage` (5 to 20) and ignores `DATABASE_*_POOL_SIZE`. Its
/// migration init container holds fewer, and never while the app runs.
pub const APP_POOL_MAX: u32 = 20;

/// Extra app pods during a rolling update (the Deployment's `maxSurge`).
pub const ROLLOUT_SURGE: u32 = 1;

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
    /// Scheduling of the retention CronJob's pods. With SQLite the chart always requires the app pod's node (the volume is ReadWriteOnce) and adds the app's tolerations to these.
    pub retention_job: Scheduling,
    /// LLM classification of incoming alerts through an OpenAI-compatible proxy.
    pub llm: Llm,
    /// Resources of the application container.
    pub resources: Resources,
    /// Extra annotations of the application pods.
    pub pod_annotations: BTreeMap<LabelKey, FreeText>,
    /// Scheduling of the application pods; the autoscaling profile's spread over nodes and zones is kept for each topologyKey the user gives no constraint of.
    #[serde(flatten)]
    pub scheduling: Scheduling,
}

/// The app's LLM classification of alerts.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
// Rules in the schema, so that Helm enforces them on `--set` as alertchart does (a number
// or boolean key, as --set makes of digits, has no length and counts as given).
#[schemars(extend("allOf" = [
    {
        "x-rule": {
            "key": "apiKey",
            "message": "must be empty when app.llm.existingSecret names the Secret that holds the key"
        },
        "not": {
            "required": ["apiKey", "existingSecret"],
            "properties": {"apiKey": {"minLength": 1}, "existingSecret": {"minLength": 1}}
        }
    },
    {
        "x-rule": {
            "key": "enabled",
            "message": "needs an API key: set app.llm.existingSecret (a Secret with key `api-key`) or app.llm.apiKey"
        },
        "if": {"required": ["enabled"], "properties": {"enabled": {"const": true}}},
        "then": {"anyOf": [
            {"properties": {"apiKey": {"minLength": 1}}},
            {"properties": {"existingSecret": {"minLength": 1}}}
        ]}
    }
]))]
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
    /// Scheduling of every Helm test pod.
    #[serde(flatten)]
    pub scheduling: Scheduling,
}

/// The app's rules a schema cannot express.
pub fn check(p: &Profile, found: &mut Found) {
    found.check_schedule("app.retentionSchedule", &p.app.retention_schedule);
}
