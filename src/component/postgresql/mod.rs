//! PostgreSQL: the values every PostgreSQL implementation shares, their rules, and the
//! memory settings derived from the container's limit (`tuning`).

pub mod tuning;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::app::{APP_POOL_MAX, ROLLOUT_SURGE};
use super::{Component, DatabaseImpl, Selection};
use crate::formats::{
    Cidr, CronSchedule, Fraction, K8sName, MemoryQuantity, OptionalK8sName, OptionalMemoryQuantity,
    PageCost, PerMinute, PgAppUser, PgDuration, PgIdentifier, PgSize, TimeZone,
};
use crate::profile::{Database, Image, Persistence, Profile, Resources, Scheduling};
use crate::validate::Found;

/// PostgreSQL as a StatefulSet of the chart, with its exporter, WAL archive and backups.
pub const STATEFULSET: Component = Component {
    name: "postgresql-statefulset",
    // `postgresql` holds what the app needs from any PostgreSQL (its migration).
    source_dirs: &["postgresql", "postgresql-statefulset"],
    docs: DOCS,
    selected_by: Selection::Database(DatabaseImpl {
        choice: Database::Statefulset,
        section: "postgresql",
        configured: |p| p.postgresql.is_some(),
    }),
    alert_rules: true,
    stateful_service: true,
    generated_passwords: true,
    check,
    resources: |p| p.postgresql.as_ref().map(resources).unwrap_or_default(),
};

/// The operating guides a PostgreSQL chart ships (the runbooks also cover Valkey's alerts).
const DOCS: &[super::Doc] = &[
    // It compares the profiles, so only charts with PostgreSQL carry it.
    ("docs/app.md", include_str!("../../../docs/app.md")),
    (
        "docs/backup-restore.md",
        include_str!("../../../docs/backup-restore.md"),
    ),
    (
        "docs/security.md",
        include_str!("../../../docs/security.md"),
    ),
    (
        "docs/runbooks.md",
        include_str!("../../../docs/runbooks.md"),
    ),
    // The major-version guard's messages point at its procedure.
    (
        "docs/upgrades.md",
        include_str!("../../../docs/upgrades.md"),
    ),
];

/// The PostgreSQL major versions the chart runs: `postgresql.image.tag` must start with one
/// of them, and `postgresql.majorUpgrade` upgrades a data directory from one to a later one.
/// The templates get the list too (`postgresql_majors`), for installs that bypass alertchart.
pub const SUPPORTED_MAJORS: &[u32] = &[16, 17];

/// The major version an image tag names: its leading digits (`17.6-bookworm` is 17).
pub fn tag_major(tag: &str) -> Option<u32> {
    let digits: String = tag.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// A PostgreSQL server whose memory settings are sized from its container's memory limit:
/// the StatefulSet's section or the CloudNativePG cluster's. Tuning derives what the
/// profile leaves unset, and validation checks the budget, the same way for both.
pub trait Server {
    /// Its section of the profile: the prefix of its values paths.
    fn section(&self) -> &'static str;
    /// Resources of the PostgreSQL container.
    fn resources(&self) -> &Resources;
    /// The 2 MiB huge pages the container requests.
    fn hugepages_2mi(&self) -> &OptionalMemoryQuantity;
    /// postgresql.conf settings.
    fn config(&self) -> &PostgresqlConfig;
    /// pg_hba.conf rules.
    fn hba(&self) -> &PostgresqlHba;
    /// Size of /dev/shm, when set.
    fn shm_size(&self) -> Option<&MemoryQuantity>;
    /// The settings tuning reads and the ones it fills in, borrowed together.
    fn parts(&mut self) -> Parts<'_>;
}

/// A server's settings as tuning needs them: what it reads and what it fills in.
pub struct Parts<'a> {
    pub section: &'static str,
    pub resources: &'a Resources,
    pub hugepages_2mi: &'a OptionalMemoryQuantity,
    pub config: &'a mut PostgresqlConfig,
    pub shm_size: &'a mut Option<MemoryQuantity>,
}

/// Implements [`Server`] for a section type with the fields `resources`, `hugepages_2mi`,
/// `config`, `hba` and `shm_size`, whose values paths start with `$section`.
macro_rules! server_section {
    ($type:ty, $section:literal) => {
        impl $crate::component::postgresql::Server for $type {
            fn section(&self) -> &'static str {
                $section
            }
            fn resources(&self) -> &$crate::profile::Resources {
                &self.resources
            }
            fn hugepages_2mi(&self) -> &$crate::formats::OptionalMemoryQuantity {
                &self.hugepages_2mi
            }
            fn config(&self) -> &$crate::component::postgresql::PostgresqlConfig {
                &self.config
            }
            fn hba(&self) -> &$crate::component::postgresql::PostgresqlHba {
                &self.hba
            }
            fn shm_size(&self) -> Option<&$crate::formats::MemoryQuantity> {
                self.shm_size.as_ref()
            }
            fn parts(&mut self) -> $crate::component::postgresql::Parts<'_> {
                $crate::component::postgresql::Parts {
                    section: $section,
                    resources: &self.resources,
                    hugepages_2mi: &self.hugepages_2mi,
                    config: &mut self.config,
                    shm_size: &mut self.shm_size,
                }
            }
        }
    };
}
pub(crate) use server_section;

server_section!(Postgresql, "postgresql");

/// The PostgreSQL server of a profile's chart, whichever implementation runs it.
pub fn server(p: &Profile) -> Option<&dyn Server> {
    match (&p.postgresql, &p.cnpg) {
        (Some(pg), _) => Some(pg),
        (None, Some(cnpg)) => Some(cnpg),
        (None, None) => None,
    }
}

/// The PostgreSQL server of a profile, to derive its settings.
pub fn server_mut(p: &mut Profile) -> Option<&mut dyn Server> {
    match (&mut p.postgresql, &mut p.cnpg) {
        (Some(pg), _) => Some(pg),
        (None, Some(cnpg)) => Some(cnpg),
        (None, None) => None,
    }
}

/// Connections PostgreSQL must keep beyond the app's pools (exporter, backup, Helm test).
pub const MAINTENANCE_CONNECTIONS: u32 = 5;

/// Credentials of PostgreSQL.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostgresqlAuth {
    /// Database of the application.
    pub database: PgIdentifier,
    /// Login role of the application; owns the database, not a superuser.
    pub username: PgAppUser,
    /// Secret with keys postgres-password, password, replication-password and exporter-password; empty: a pre-install/pre-upgrade hook Job creates <release>-alert-history-postgresql with random ones if it does not exist, and never changes it.
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

/// How pg_upgrade carries the data files into the new major's data directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum UpgradeMethod {
    Link,
    Copy,
}

/// Upgrading the data directory to the image's PostgreSQL major version with pg_upgrade.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostgresqlMajorUpgrade {
    /// Run pg_upgrade in the init container `upgrade-data` when the data directory is of fromMajor and postgresql.image of a later major; off, a data directory of another major than the image's stops the pod in its init container `check-data-version`, with the reason. Take a backup first; turn it off again once upgraded.
    pub enabled: bool,
    /// Major version of the data directory to upgrade from (what the StatefulSet ran before), e.g. `16`; `helm upgrade` refuses a change of major unless enabled is true and this is the running StatefulSet's major.
    #[schemars(range(min = 9, max = 99))]
    pub from_major: u32,
    /// `link`: pg_upgrade --link (hard links, seconds, no extra space; the old data directory is unusable once the new server has started), or `copy`: pg_upgrade --copy (as much free space again as the data; the old directory stays usable).
    pub method: UpgradeMethod,
    /// Image with both majors' binaries under /usr/lib/postgresql/<major>/bin (Debian layout), e.g. tianon/postgres-upgrade with tag `<fromMajor>-to-<major>`.
    pub image: Image,
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
    /// Scheduling of the backup job's pods; the chart always adds its required podAffinity to the PostgreSQL pod's node (the backup volume is ReadWriteOnce).
    #[serde(flatten)]
    pub scheduling: Scheduling,
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
    /// PostgreSQL image; the tag starts with its major version (16 or 17), which must match the data directory's (see majorUpgrade).
    pub image: Image,
    /// Upgrade of the data directory to the image's major version (pg_upgrade in an init container).
    pub major_upgrade: PostgresqlMajorUpgrade,
    /// Database, user and credentials.
    pub auth: PostgresqlAuth,
    /// Resources of the PostgreSQL container (and of its init containers); the memory limit sizes the memory settings a profile leaves unset.
    pub resources: Resources,
    /// 2 MiB huge pages the PostgreSQL container requests (and is limited to) for its shared memory, e.g. `1Gi`; empty: none.
    #[serde(rename = "hugepages2Mi")]
    pub hugepages_2mi: OptionalMemoryQuantity,
    /// Size of /dev/shm, the memory-backed volume of the shared memory of parallel queries and parallel VACUUM; unset in a profile: enough for 8 parallel hashes of work_mem plus a VACUUM's dead rows (maintenance_work_mem, at most 1GB).
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
    /// Scheduling of the PostgreSQL pod, e.g. a database node pool and a PriorityClass that protects it from preemption.
    #[serde(flatten)]
    pub scheduling: Scheduling,
}

/// The containers of the PostgreSQL pod and its backup job.
fn resources(pg: &Postgresql) -> Vec<(&'static str, &Resources)> {
    vec![
        ("postgresql.resources", &pg.resources),
        ("postgresql.exporter.resources", &pg.exporter.resources),
        ("postgresql.backup.resources", &pg.backup.resources),
    ]
}

/// The image's major version against the supported ones, and the upgrade's majors.
fn majors(pg: &Postgresql, found: &mut Found) {
    let supported = SUPPORTED_MAJORS
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let tag = pg.image.tag.as_str();
    let Some(major) = tag_major(tag).filter(|m| SUPPORTED_MAJORS.contains(m)) else {
        found.fail(
            "postgresql.image.tag",
            format!(
                "`{tag}` does not start with a supported PostgreSQL major version ({supported}), e.g. `17.6`: \
                 the chart's configuration, exporter queries and data-directory check are made for those"
            ),
        );
        return;
    };
    let up = &pg.major_upgrade;
    if !up.enabled {
        return;
    }
    if !SUPPORTED_MAJORS.contains(&up.from_major) || up.from_major >= major {
        found.fail(
            "postgresql.majorUpgrade.fromMajor",
            format!(
                "{} cannot be upgraded to the image's PostgreSQL {major} (`{tag}`): expected a supported major ({supported}) below {major}",
                up.from_major
            ),
        );
        return;
    }
    // tianon/postgres-upgrade-style tags name both majors; they must be these.
    let utag = up.image.tag.as_str();
    if let Some((from, to)) = utag.split_once("-to-") {
        let (from, to) = (tag_major(from), tag_major(to));
        if from != Some(up.from_major) || to != Some(major) {
            found.fail(
                "postgresql.majorUpgrade.image.tag",
                format!(
                    "`{utag}` upgrades between other majors than fromMajor {} and the image's {major} (expected `{}-to-{major}`)",
                    up.from_major, up.from_major
                ),
            );
        }
    }
}

/// PostgreSQL's rules: networks, schedules, the connection budget, WAL sizes, memory.
pub fn check(p: &Profile, found: &mut Found) {
    let Some(pg) = &p.postgresql else { return };
    check_server(p, pg, found);
    found.check_schedule("postgresql.backup.schedule", &pg.backup.schedule);
    majors(pg, found);
    wal_fits_volume(
        pg,
        &pg.persistence.size,
        "data volume",
        "postgresql.persistence.size",
        found,
    );
    if pg.alerts.high_connections_percent >= pg.alerts.too_many_connections_percent {
        found.fail(
            "postgresql.alerts.highConnectionsPercent",
            format!(
                "{} must be below tooManyConnectionsPercent {} (warning before critical)",
                pg.alerts.high_connections_percent, pg.alerts.too_many_connections_percent
            ),
        );
    }
}

/// WAL outgrows max_wal_size under load and while archiving lags, and a full volume stops
/// PostgreSQL: the sizes the settings keep take at most half of the volume WAL is on (`what`,
/// sized by the value `size_key`).
pub fn wal_fits_volume(
    pg: &dyn Server,
    volume: &MemoryQuantity,
    what: &str,
    size_key: &str,
    found: &mut Found,
) {
    let cfg = pg.config();
    let wal_kb = cfg.max_wal_size.kilobytes() + cfg.wal_keep_size.kilobytes();
    if wal_kb * 2 > volume.bytes() / 1024 {
        found.fail(
            &format!("{}.config.maxWalSize", pg.section()),
            format!(
                "`{}` plus walKeepSize `{}` take more than half of the {what} `{}` ({size_key}): WAL grows past max_wal_size under load or while archiving lags, and a full volume stops PostgreSQL; lower them or grow the volume",
                cfg.max_wal_size.as_str(),
                cfg.wal_keep_size.as_str(),
                volume.as_str()
            ),
        );
    }
}

/// The rules of any PostgreSQL server: its client networks, the connection budget of the
/// app's pools, WAL sizes, and the memory settings against the container's limit.
pub fn check_server(p: &Profile, pg: &dyn Server, found: &mut Found) {
    let s = pg.section();
    for (i, c) in pg.hba().app_cidrs.iter().enumerate() {
        found.check_cidr(&format!("{s}.hba.appCidrs.{i}"), c);
    }
    let cfg = pg.config();
    let pods = p.autoscaling.as_ref().map_or(1, |a| a.max_replicas) + ROLLOUT_SURGE;
    let pool = APP_POOL_MAX;
    let needed = pods * pool + cfg.superuser_reserved_connections + MAINTENANCE_CONNECTIONS;
    if cfg.max_connections < needed {
        found.fail(
            &format!("{s}.config.maxConnections"),
            format!(
                "{} cannot serve the app: {pods} pods (maximum replicas + {ROLLOUT_SURGE} during a rollout) x {pool} connections of the image's fixed pool + {} reserved + {MAINTENANCE_CONNECTIONS} for exporter/backup/tests = {needed} (expected >= {needed})",
                cfg.max_connections, cfg.superuser_reserved_connections
            ),
        );
    }
    if cfg.min_wal_size.kilobytes() > cfg.max_wal_size.kilobytes() {
        found.fail(
            &format!("{s}.config.minWalSize"),
            format!(
                "`{}` is larger than maxWalSize `{}`",
                cfg.min_wal_size.as_str(),
                cfg.max_wal_size.as_str()
            ),
        );
    }
    memory(pg, found);
}

/// The memory settings, explicit or derived, against the container's memory limit.
fn memory(pg: &dyn Server, found: &mut Found) {
    let s = pg.section();
    let budget = tuning::Budget::of(pg);
    let sb = &budget.shared_buffers;
    let limit = &pg.resources().limits.memory;
    let limit_kb = limit.bytes() / 1024;
    if sb.kilobytes() >= limit_kb {
        found.fail(
            &format!("{s}.config.sharedBuffers"),
            format!(
                "`{sb}` does not fit the memory limit `{}` (about 25 % of the limit is usual)",
                limit.as_str()
            ),
        );
        return;
    }
    let worst = budget.worst_case_kb();
    if worst > limit_kb {
        let at = if pg.config().work_mem.is_some() {
            format!("{s}.config.workMem")
        } else {
            format!("{s}.resources.limits.memory")
        };
        found.fail(
            &at,
            format!(
                "PostgreSQL may allocate {} at once, more than the memory limit `{}`: shared_buffers {sb} \
                 + wal_buffers {} + {} x maintenance_work_mem {} (VACUUM and autovacuum workers) \
                 + {} backends (maxConnections + {} parallel workers) x work_mem {}; \
                 lower workMem, maintenanceWorkMem or maxConnections, or raise the limit",
                tuning::size(worst),
                limit.as_str(),
                budget.wal_buffers,
                budget.autovacuum_max_workers + 1,
                budget.maintenance_work_mem,
                budget.backends,
                tuning::PARALLEL_WORKERS,
                budget.work_mem,
            ),
        );
    }
    if let Some(shm) = pg.shm_size() {
        shm_fits(s, shm, &budget, limit, found);
    }
    let hugepages = pg.hugepages_2mi();
    // Derivation never chooses `on`, so the profile's own setting is the one to check.
    match (pg.config().huge_pages, hugepages.bytes()) {
        (Some(HugePages::On), None) => found.fail(
            &format!("{s}.config.hugePages"),
            format!("`on` needs huge pages, but {s}.hugepages2Mi requests none: PostgreSQL would not start (use `off`, or request huge pages)"),
        ),
        (_, Some(bytes)) if bytes / 1024 <= sb.kilobytes() => found.fail(
            &format!("{s}.hugepages2Mi"),
            format!(
                "`{}` cannot hold shared_buffers {sb} and the rest of PostgreSQL's shared memory (request more than shared_buffers)",
                hugepages.as_str()
            ),
        ),
        _ => {}
    }
}

/// A /dev/shm size the profile sets holds what parallel query and a parallel VACUUM put there
/// (else the runbooks' VACUUM of a large table fails), and is memory of the container, so it
/// fits in the limit beside shared_buffers.
fn shm_fits(
    s: &str,
    shm: &MemoryQuantity,
    budget: &tuning::Budget,
    limit: &MemoryQuantity,
    found: &mut Found,
) {
    let needed = tuning::shm_needed(&budget.work_mem, &budget.maintenance_work_mem);
    let bytes = shm.bytes();
    if bytes < needed {
        found.fail(
            &format!("{s}.shmSize"),
            format!(
                "`{}` is smaller than what parallel hash joins (8 x 2 x work_mem {}) and a parallel VACUUM's dead rows (maintenance_work_mem {}, at most 1GB) put in /dev/shm: VACUUM of a large table would fail with \"could not resize shared memory segment\" (expected at least {}Mi)",
                shm.as_str(),
                budget.work_mem,
                budget.maintenance_work_mem,
                needed.div_ceil(1 << 20)
            ),
        );
    } else if bytes / 1024 + budget.shared_buffers.kilobytes() > limit.bytes() / 1024 {
        found.fail(
            &format!("{s}.shmSize"),
            format!(
                "`{}` of memory-backed /dev/shm and shared_buffers {} do not fit the memory limit `{}`",
                shm.as_str(),
                budget.shared_buffers,
                limit.as_str()
            ),
        );
    }
}
