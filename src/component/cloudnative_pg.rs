//! PostgreSQL on the CloudNativePG operator: a `Cluster` of replicas with automated failover,
//! WAL and base backups in object storage through the Barman Cloud plugin, and recovery to
//! a point in time from there. The operator, the plugin and cert-manager are installed in
//! the cluster beforehand (docs/profiles.md); the chart renders only custom resources.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::postgresql::{self, PostgresqlConfig, PostgresqlHba};
use super::{Component, DatabaseImpl, Selection};
use crate::formats::{
    BucketName, Cidr, CronSchedule, K8sName, LabelKey, LabelValue, MemoryQuantity, ObjectPath,
    OptionalClusterName, OptionalK8sName, OptionalMemoryQuantity, OptionalTimestamp, OptionalUrl,
    PgAppUser, PgIdentifier, PgParameterName, RetentionPolicy,
};
use crate::profile::{Database, Image, Persistence, Profile, Resources, Scheduling};
use crate::validate::Found;

pub const COMPONENT: Component = Component {
    name: "cloudnative-pg",
    // `postgresql` holds what the app needs from any PostgreSQL (its migration).
    source_dirs: &["postgresql", "cloudnative-pg"],
    docs: DOCS,
    selected_by: Selection::Database(DatabaseImpl {
        choice: Database::CloudnativePg,
        section: "cnpg",
        configured: |p| p.cnpg.is_some(),
    }),
    alert_rules: true,
    stateful_service: true,
    // The operator generates the app user's password (Secret <cluster>-app).
    generated_passwords: false,
    check,
    resources: |p| {
        p.cnpg
            .as_ref()
            .map(|c| vec![("cnpg.resources", &c.resources)])
            .unwrap_or_default()
    },
};

/// Parameters CloudNativePG sets or blocks itself: its admission webhook refuses a Cluster
/// that sets one to anything but the operator's own value (cloudnative-pg v1.30.0,
/// pkg/postgres/configuration.go, `FixedConfigurationParameters`: the "fixed" and the
/// "blocked" ones). The chart's templates refuse them too, for installs that bypass
/// alertchart.
pub const OPERATOR_PARAMETERS: &[&str] = &[
    // Fixed: the operator manages the value.
    "archive_command",
    "archive_mode",
    "cluster_name",
    "pg_failover_slots.primary_dsn",
    "pg_failover_slots.standby_slot_names",
    "port",
    "primary_conninfo",
    "primary_slot_name",
    "recovery_target",
    "recovery_target_action",
    "recovery_target_inclusive",
    "recovery_target_lsn",
    "recovery_target_name",
    "recovery_target_time",
    "recovery_target_timeline",
    "recovery_target_xid",
    "restore_command",
    "shared_preload_libraries",
    "ssl",
    "ssl_ca_file",
    "ssl_cert_file",
    "ssl_crl_file",
    "ssl_dh_params_file",
    "ssl_ecdh_curve",
    "ssl_key_file",
    "ssl_passphrase_command",
    "ssl_passphrase_command_supports_reload",
    "ssl_prefer_server_ciphers",
    "synchronized_standby_slots",
    "synchronous_standby_names",
    "temp_tablespaces",
    // Blocked: PostgreSQL's default must stay.
    "allow_system_table_mods",
    "archive_cleanup_command",
    "bonjour",
    "bonjour_name",
    "config_file",
    "data_directory",
    "data_sync_retry",
    "event_source",
    "external_pid_file",
    "hba_file",
    "hot_standby",
    "ident_file",
    "jit_provider",
    "listen_addresses",
    "log_destination",
    "log_directory",
    "log_file_mode",
    "log_filename",
    "log_rotation_age",
    "log_rotation_size",
    "log_truncate_on_rotation",
    "logging_collector",
    "promote_trigger_file",
    "recovery_end_command",
    "recovery_min_apply_delay",
    "restart_after_crash",
    "stats_temp_directory",
    "syslog_facility",
    "syslog_ident",
    "syslog_sequence_numbers",
    "syslog_split_messages",
    "unix_socket_directories",
    "unix_socket_group",
    "unix_socket_permissions",
];

/// Where to set what the operator does not let `cnpg.parameters` set, when there is a place.
fn operator_parameter_hint(name: &str) -> &'static str {
    match name {
        "shared_preload_libraries" => {
            ": setting a parameter of pg_stat_statements, auto_explain or pgaudit makes the operator preload the library"
        }
        "synchronous_standby_names" => ": use cnpg.synchronous",
        "recovery_min_apply_delay" => ": a delayed standby is a replica cluster of its own",
        name if name.starts_with("recovery_target") => ": use cnpg.recovery.targetTime",
        name if name.starts_with("ssl") => ": use cnpg.tls",
        _ => "",
    }
}

/// Parameters the chart's Cluster sets, with the value each comes from (none: fixed by the
/// chart); `cnpg.parameters` cannot set them a second time.
pub const CHART_PARAMETERS: &[(&str, Option<&str>)] = &[
    ("max_connections", Some("cnpg.config.maxConnections")),
    (
        "superuser_reserved_connections",
        Some("cnpg.config.superuserReservedConnections"),
    ),
    ("password_encryption", None),
    ("shared_buffers", Some("cnpg.config.sharedBuffers")),
    ("huge_pages", Some("cnpg.config.hugePages")),
    (
        "effective_cache_size",
        Some("cnpg.config.effectiveCacheSize"),
    ),
    ("work_mem", Some("cnpg.config.workMem")),
    (
        "maintenance_work_mem",
        Some("cnpg.config.maintenanceWorkMem"),
    ),
    ("wal_buffers", Some("cnpg.config.walBuffers")),
    ("min_wal_size", Some("cnpg.config.minWalSize")),
    ("max_wal_size", Some("cnpg.config.maxWalSize")),
    (
        "checkpoint_completion_target",
        Some("cnpg.config.checkpointCompletionTarget"),
    ),
    ("max_wal_senders", Some("cnpg.config.maxWalSenders")),
    ("wal_keep_size", Some("cnpg.config.walKeepSize")),
    ("archive_timeout", Some("cnpg.config.archiveTimeout")),
    ("random_page_cost", Some("cnpg.config.randomPageCost")),
    (
        "effective_io_concurrency",
        Some("cnpg.config.effectiveIoConcurrency"),
    ),
    (
        "log_min_duration_statement",
        Some("cnpg.config.logMinDurationStatement"),
    ),
    ("log_checkpoints", None),
    ("log_lock_waits", None),
    ("log_temp_files", None),
    ("log_autovacuum_min_duration", None),
    ("track_io_timing", None),
    ("pg_stat_statements.track", None),
    (
        "autovacuum_max_workers",
        Some("cnpg.config.autovacuumMaxWorkers"),
    ),
    ("autovacuum_naptime", Some("cnpg.config.autovacuumNaptime")),
    ("timezone", None),
    ("log_timezone", None),
];

/// Every parameter `cnpg.parameters` may not set, the operator's and the chart's.
pub fn reserved_parameters() -> Vec<&'static str> {
    OPERATOR_PARAMETERS
        .iter()
        .copied()
        .chain(CHART_PARAMETERS.iter().map(|(name, _)| *name))
        .collect()
}

const DOCS: &[super::Doc] = &[
    ("docs/app.md", include_str!("../../docs/app.md")),
    (
        "docs/backup-restore-cnpg.md",
        include_str!("../../docs/backup-restore-cnpg.md"),
    ),
    ("docs/runbooks.md", include_str!("../../docs/runbooks.md")),
];

/// Credentials of the app's database.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CnpgAuth {
    /// Database of the application, created by the Cluster's initdb bootstrap.
    pub database: PgIdentifier,
    /// Owner of the database and the app's login role; not a superuser.
    pub username: PgAppUser,
    /// kubernetes.io/basic-auth Secret with keys username (equal to username above) and password for the app's role; empty: CloudNativePG generates Secret <cluster>-app.
    pub existing_secret: OptionalK8sName,
}

/// TLS of client connections. CloudNativePG always serves TLS, with certificates from its own
/// CA unless Secrets are given.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CnpgTls {
    /// Admit the app only over TLS (hostssl) and make it connect with sslmode=require.
    pub require_for_app: bool,
    /// kubernetes.io/tls Secret with the server certificate (e.g. from cert-manager); empty: the operator's own CA issues it.
    pub server_tls_secret: OptionalK8sName,
    /// Secret with ca.crt of the CA that signed serverTlsSecret (required with it); without serverTlsSecret, the Secret also holds ca.key and the operator issues the server certificate with that CA.
    pub server_ca_secret: OptionalK8sName,
}

/// How the standbys that acknowledge a commit are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SyncMethod {
    Any,
    First,
}

/// What a commit does when too few synchronous standbys are connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DataDurability {
    Required,
    Preferred,
}

/// Synchronous replication (CloudNativePG's `postgresql.synchronous`; the older
/// minSyncReplicas/maxSyncReplicas are deprecated).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CnpgSynchronous {
    /// Make commits wait for standbys; off: asynchronous replication (a failover may lose the last commits).
    pub enabled: bool,
    /// Standbys that must have a commit's WAL before the commit returns; below instances.
    #[schemars(range(min = 1, max = 8))]
    pub number: u32,
    /// `any`: a quorum of `number` standbys; `first`: the first `number` by priority.
    pub method: SyncMethod,
    /// `required`: a commit always waits for `number` standbys (writes stop while too few are connected); `preferred`: writes go on with the standbys there are.
    pub data_durability: DataDurability,
}

/// Compression of archived WAL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum WalCompression {
    Gzip,
    Bzip2,
    Snappy,
    Lz4,
    Xz,
    Zstd,
}

/// Compression of base backups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DataCompression {
    Gzip,
    Bzip2,
    Snappy,
    Lz4,
}

/// How the instances authenticate to the object store.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct S3Credentials {
    /// Use the IAM role of the instances' ServiceAccount (EKS IRSA or Pod Identity: annotate it through cnpg.serviceAccountAnnotations) instead of keys from a Secret.
    pub inherit_from_iam_role: bool,
    /// Secret with the access keys (ignored with inheritFromIamRole).
    pub existing_secret: OptionalK8sName,
    /// Key of the access key id in existingSecret.
    pub access_key_id_key: LabelKey,
    /// Key of the secret access key in existingSecret.
    pub secret_access_key_key: LabelKey,
}

/// WAL archiving and base backups to S3-compatible object storage (Barman Cloud plugin).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CnpgBackup {
    /// Archive WAL continuously and take scheduled base backups.
    pub enabled: bool,
    /// Cron schedule of the base backup, five fields (minute hour day-of-month month day-of-week); the chart adds CloudNativePG's leading seconds field.
    pub schedule: CronSchedule,
    /// S3 bucket of the backups.
    pub bucket: BucketName,
    /// Path in the bucket; the cluster's backups go under s3://<bucket>/<path>/<serverName>/.
    pub path: ObjectPath,
    /// Endpoint of an S3-compatible store (MinIO, Ceph, other clouds); empty: AWS S3.
    pub endpoint_url: OptionalUrl,
    /// Secret with key ca.crt: the CA bundle that signed the endpoint's certificate, when not a public CA; empty: the system's CAs.
    pub endpoint_ca_secret: OptionalK8sName,
    /// Credentials of the bucket.
    pub s3_credentials: S3Credentials,
    /// Folder of this cluster in the bucket; empty: the cluster's name. A cluster recovered from a backup must write to another folder than its source.
    pub server_name: OptionalK8sName,
    /// Compression of archived WAL.
    pub wal_compression: WalCompression,
    /// Compression of base backups.
    pub data_compression: DataCompression,
    /// WAL files archived or restored in parallel.
    #[schemars(range(min = 1, max = 64))]
    pub wal_max_parallel: u32,
    /// How long base backups and the WAL needed to recover from them are kept.
    pub retention_policy: RetentionPolicy,
}

/// Creating the cluster from a backup instead of an empty database: point-in-time recovery.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CnpgRecovery {
    /// Bootstrap the Cluster from the backups of sourceServerName in backup.bucket and backup.path (only when the Cluster is created; docs/backup-restore.md).
    pub enabled: bool,
    /// Folder in the bucket of the cluster to recover (its backup.serverName or cluster name).
    pub source_server_name: OptionalK8sName,
    /// Recover up to this time (RFC 3339 with its UTC offset); empty: to the end of the archived WAL.
    pub target_time: OptionalTimestamp,
}

/// Where the CloudNativePG operator runs, for the NetworkPolicy that admits it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CnpgOperator {
    /// Namespace of the operator.
    pub namespace: K8sName,
    /// Labels of the operator's pods.
    pub pod_selector: std::collections::BTreeMap<LabelKey, LabelValue>,
}

/// What the instances may connect to, when their egress is restricted. Their instance manager
/// and Barman Cloud sidecar talk to the Kubernetes API server, whose address depends on the
/// cluster (usually host addresses that no pod selector matches), so the restriction needs
/// its networks.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CnpgEgress {
    /// Restrict the instances' egress (with networkPolicy.enabled) to DNS, the Cluster's own pods (5432, 8000), the API server and the object store; off: egress is not restricted.
    pub enabled: bool,
    /// Networks of the Kubernetes API server's endpoints (`kubectl get endpoints kubernetes -n default`), reached on ports 443 and 6443; required when enabled.
    pub api_server_cidrs: Vec<Cidr>,
    /// Networks of the object store's endpoint (backup.endpointUrl, or the S3 region's); reached on the endpoint's port (443 for https without one).
    #[schemars(length(min = 1))]
    pub object_store_cidrs: Vec<Cidr>,
}

/// Alert thresholds of the CloudNativePG cluster.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CnpgAlerts {
    /// Warn when connections exceed this percentage of max_connections.
    #[schemars(range(min = 1, max = 100))]
    pub high_connections_percent: u32,
    /// Page when a standby lags more than this many seconds behind the primary.
    #[schemars(range(min = 1, max = 86400))]
    pub replication_lag_seconds: u32,
    /// Page when transaction ids used exceed this percentage of the wraparound limit.
    #[schemars(range(min = 1, max = 100))]
    pub txid_wraparound_percent: u32,
    /// Alert when the newest base backup is older than this many hours.
    #[schemars(range(min = 1, max = 8760))]
    pub backup_max_age_hours: u32,
    /// Page when no base backup has succeeded for this many minutes (the chart asks for one as soon as the cluster is ready; allow for the first one of a large restored database).
    #[schemars(range(min = 10, max = 10080))]
    pub first_backup_grace_minutes: u32,
    /// Page when WAL segments wait while nothing has been archived for archive_timeout plus this many minutes.
    #[schemars(range(min = 1, max = 1440))]
    pub wal_archive_delay_minutes: u32,
    /// Warn when a data or WAL volume has been fuller than this percentage for 15 minutes.
    #[schemars(range(min = 1, max = 99))]
    pub volume_used_percent: u32,
}

/// PostgreSQL on CloudNativePG.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Cnpg {
    /// Name of the Cluster (its Services are <name>-rw, -ro and -r); empty: <fullname>-postgresql. Never change it on an installed release.
    pub cluster_name: OptionalClusterName,
    /// PostgreSQL instances: one primary and instances - 1 streaming standbys, one per node.
    #[schemars(range(min = 1, max = 9))]
    pub instances: u32,
    /// PostgreSQL operand image (ghcr.io/cloudnative-pg/postgresql); the tag starts with its major version (16 or 17).
    pub image: Image,
    /// Database, owner and credentials.
    pub auth: CnpgAuth,
    /// Resources of each instance's postgres container; CloudNativePG wants shared_buffers within the memory request (equal requests and limits give Guaranteed QoS).
    pub resources: Resources,
    /// 2 MiB huge pages each instance requests for its shared memory, e.g. `1Gi`; empty: none.
    #[serde(rename = "hugepages2Mi")]
    pub hugepages_2mi: OptionalMemoryQuantity,
    /// Size of /dev/shm of each instance; unset in a profile: enough for 8 parallel hashes of work_mem plus a VACUUM's dead rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shm_size: Option<MemoryQuantity>,
    /// Data volume of each instance.
    pub storage: Persistence,
    /// Separate WAL volume of each instance (pg_wal).
    pub wal_storage: Persistence,
    /// postgresql.conf settings CloudNativePG lets a cluster set.
    pub config: PostgresqlConfig,
    /// Further postgresql.conf parameters, e.g. `idle_in_transaction_session_timeout: 10min`; not those CloudNativePG sets itself (listen_addresses, ssl, archive_command, ...) nor those the chart sets from the values above.
    pub parameters: std::collections::BTreeMap<PgParameterName, crate::formats::FreeText>,
    /// pg_hba.conf rules of the app.
    pub hba: PostgresqlHba,
    /// TLS of client connections.
    pub tls: CnpgTls,
    /// Synchronous replication.
    pub synchronous: CnpgSynchronous,
    /// Backups to object storage.
    pub backup: CnpgBackup,
    /// Bootstrap from a backup (point-in-time recovery).
    pub recovery: CnpgRecovery,
    /// The operator, for the NetworkPolicy.
    pub operator: CnpgOperator,
    /// Egress of the instances (NetworkPolicy).
    pub egress: CnpgEgress,
    /// Annotations of the instances' ServiceAccount, e.g. eks.amazonaws.com/role-arn for backups with an IAM role.
    pub service_account_annotations: std::collections::BTreeMap<LabelKey, crate::formats::FreeText>,
    /// Alert thresholds.
    pub alerts: CnpgAlerts,
    /// Scheduling of the instances; the chart always adds required anti-affinity between instances (one per node).
    #[serde(flatten)]
    pub scheduling: Scheduling,
}

postgresql::server_section!(Cnpg, "cnpg");

/// The rules CloudNativePG's admission webhook would apply, caught before anything is written,
/// plus the rules of any PostgreSQL server.
fn check(p: &Profile, found: &mut Found) {
    let Some(c) = &p.cnpg else { return };
    postgresql::check_server(p, c, found);
    parameters(c, found);
    tag(c, found);
    shared_buffers_within_request(c, found);
    postgresql::wal_fits_volume(
        c,
        &c.wal_storage.size,
        "WAL volume",
        "cnpg.walStorage.size",
        found,
    );
    synchronous(c, found);
    if c.backup.enabled {
        found.check_schedule("cnpg.backup.schedule", &c.backup.schedule);
    }
    backup_credentials(c, found);
    tls(c, found);
    recovery(c, found);
    egress(c, found);
}

/// A restricted egress names the API server's networks, without which the instances cannot
/// run; every network parses.
fn egress(c: &Cnpg, found: &mut Found) {
    let e = &c.egress;
    for (i, cidr) in e.api_server_cidrs.iter().enumerate() {
        found.check_cidr(&format!("cnpg.egress.apiServerCidrs.{i}"), cidr);
    }
    for (i, cidr) in e.object_store_cidrs.iter().enumerate() {
        found.check_cidr(&format!("cnpg.egress.objectStoreCidrs.{i}"), cidr);
    }
    if e.enabled && e.api_server_cidrs.is_empty() {
        found.fail(
            "cnpg.egress.apiServerCidrs",
            "is empty with egress.enabled: the instance manager could not reach the Kubernetes API and the instances would not start (`kubectl get endpoints kubernetes -n default` lists its addresses)".into(),
        );
    }
}

/// Parameters the operator or the chart set are not set again; CloudNativePG refuses a
/// min_wal_size that is not below max_wal_size.
fn parameters(c: &Cnpg, found: &mut Found) {
    for name in c.parameters.keys() {
        let name = name.as_str();
        let at = format!("cnpg.parameters.{name}");
        if OPERATOR_PARAMETERS.contains(&name) {
            found.fail(
                &at,
                format!(
                    "CloudNativePG sets `{name}` itself and its admission webhook refuses a Cluster that sets it{}",
                    operator_parameter_hint(name)
                ),
            );
        } else if let Some((_, from)) = CHART_PARAMETERS.iter().find(|(p, _)| *p == name) {
            found.fail(
                &at,
                match from {
                    Some(key) => format!("the chart sets `{name}` from {key}: set that instead"),
                    None => format!("the chart sets `{name}` itself"),
                },
            );
        }
    }
    let cfg = &c.config;
    if cfg.min_wal_size.kilobytes() == cfg.max_wal_size.kilobytes() {
        found.fail(
            "cnpg.config.minWalSize",
            format!(
                "`{}` equals maxWalSize: CloudNativePG wants min_wal_size below max_wal_size",
                cfg.min_wal_size.as_str()
            ),
        );
    }
}

/// The operand image's tag names a supported major version, which the operator reads from it.
fn tag(c: &Cnpg, found: &mut Found) {
    let tag = c.image.tag.as_str();
    let supported = postgresql::SUPPORTED_MAJORS;
    let version = tag.split(['-', '@']).next().unwrap_or_default();
    let is_version = !version.is_empty()
        && version
            .split('.')
            .all(|n| !n.is_empty() && n.chars().all(|ch| ch.is_ascii_digit()));
    let major = postgresql::tag_major(tag);
    if !is_version || !major.is_some_and(|m| supported.contains(&m)) {
        found.fail(
            "cnpg.image.tag",
            format!(
                "`{tag}` is not a PostgreSQL version of a supported major ({}): CloudNativePG reads the major version from the tag, e.g. `16.10` or `17.6-standard-bookworm`",
                supported
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
}

/// CloudNativePG refuses shared_buffers above the container's memory request.
fn shared_buffers_within_request(c: &Cnpg, found: &mut Found) {
    let budget = postgresql::tuning::Budget::of(c);
    let request = &c.resources.requests.memory;
    if budget.shared_buffers.kilobytes() > request.bytes() / 1024 {
        found.fail(
            if c.config.shared_buffers.is_some() {
                "cnpg.config.sharedBuffers"
            } else {
                "cnpg.resources.requests.memory"
            },
            format!(
                "shared_buffers {} is more than the memory request `{}`: CloudNativePG refuses the Cluster (raise the request, best to the limit, or lower sharedBuffers)",
                budget.shared_buffers,
                request.as_str()
            ),
        );
    }
}

/// Synchronous standbys exist among the instances (the primary is not one).
fn synchronous(c: &Cnpg, found: &mut Found) {
    let number = c.synchronous.number;
    if c.synchronous.enabled && number >= c.instances {
        found.fail(
            "cnpg.synchronous.number",
            format!(
                "{number} synchronous standbys need at least {} instances (cnpg.instances is {}): the primary is not a standby",
                number + 1,
                c.instances
            ),
        );
    }
}

/// Keys from a Secret, or the IAM role: exactly one source of credentials.
fn backup_credentials(c: &Cnpg, found: &mut Found) {
    let creds = &c.backup.s3_credentials;
    let uses_store = c.backup.enabled || c.recovery.enabled;
    if uses_store && !creds.inherit_from_iam_role && creds.existing_secret.as_str().is_empty() {
        found.fail(
            "cnpg.backup.s3Credentials.existingSecret",
            "is empty and inheritFromIamRole is false: the instances would have no credentials for the bucket (name a Secret with the access keys, or use the IAM role)".into(),
        );
    }
}

/// A server certificate of the user's comes with its CA.
fn tls(c: &Cnpg, found: &mut Found) {
    let tls = &c.tls;
    if !tls.server_tls_secret.as_str().is_empty() && tls.server_ca_secret.as_str().is_empty() {
        found.fail(
            "cnpg.tls.serverCaSecret",
            "is required with serverTlsSecret: CloudNativePG needs the CA of a server certificate it did not issue".into(),
        );
    }
}

/// A recovery names its source, and the recovered cluster archives to another folder.
fn recovery(c: &Cnpg, found: &mut Found) {
    let r = &c.recovery;
    if !r.enabled {
        return;
    }
    let source = r.source_server_name.as_str();
    if source.is_empty() {
        found.fail(
            "cnpg.recovery.sourceServerName",
            "is required with recovery.enabled: the folder in the bucket of the cluster to recover"
                .into(),
        );
        return;
    }
    let own = c.backup.server_name.as_str();
    let own = if own.is_empty() {
        c.cluster_name.as_str()
    } else {
        own
    };
    if c.backup.enabled && own == source {
        found.fail(
            "cnpg.backup.serverName",
            format!(
                "`{source}` is the folder recovered from (recovery.sourceServerName): the new cluster would archive over its source's backups; give it another serverName"
            ),
        );
    }
}
