//! The semantic rules of a profile (what the schema alone cannot say: one value against
//! another, against the memory limit, against the connection budget...), as a user meets
//! them on the command line: each refuses what breaks it with exit code 1, names the key
//! and says why, and leaves the chart on disk untouched. Also the PostgreSQL memory
//! settings that alertchart derives from the memory limit, and how values.yaml shows them.

use std::fs;

use crate::common;
use crate::common::cli::{
    assert_contains_all, assert_render_rejected, entries, rendered, run, run_ok, s, tmp, tree,
};

/// One semantic rule, broken by `--set` overrides of the default (standard) profile.
struct Rule {
    /// What is proven (the name of the test the rule had before the table).
    name: &'static str,
    /// The `--set` arguments that break the rule.
    sets: &'static [&'static str],
    /// The key path the error names.
    key: &'static str,
    /// Further fragments the error must contain.
    message: &'static [&'static str],
}

const RULES: &[Rule] = &[
    Rule {
        name: "wal_sizes_over_half_of_the_data_volume_exit_1",
        sets: &["postgresql.config.maxWalSize=8GB"],
        key: "postgresql.config.maxWalSize",
        message: &["plus walKeepSize `1GB`", "half of the data volume `10Gi`"],
    },
    Rule {
        name: "a_dev_shm_too_small_for_a_parallel_vacuum_exits_1",
        sets: &["postgresql.shmSize=64Mi"],
        key: "postgresql.shmSize",
        message: &["could not resize shared memory segment", "at least 167Mi"],
    },
    Rule {
        name: "a_dev_shm_that_does_not_fit_the_memory_limit_beside_shared_buffers_exits_1",
        sets: &["postgresql.shmSize=1600Mi"],
        key: "postgresql.shmSize",
        message: &["shared_buffers 512MB", "do not fit the memory limit `2Gi`"],
    },
    Rule {
        name: "bad_cron_schedule_via_set_names_the_set_argument_and_the_field_and_exits_1 (backup)",
        sets: &["postgresql.backup.schedule=61 2 * * *"],
        key: "postgresql.backup.schedule",
        message: &["--set postgresql.backup.schedule=61 2 * * *", "minute"],
    },
    Rule {
        name: "bad_cron_schedule_via_set_names_the_set_argument_and_the_field_and_exits_1 (retention)",
        sets: &["app.retentionSchedule=61 2 * * *"],
        key: "app.retentionSchedule",
        message: &["--set app.retentionSchedule=61 2 * * *", "minute"],
    },
    Rule {
        name: "min_replicas_above_max_replicas_exits_1",
        sets: &["autoscaling.minReplicas=20"],
        key: "autoscaling.minReplicas",
        message: &[
            "--set autoscaling.minReplicas=20",
            "minReplicas 20 is greater than maxReplicas 10",
        ],
    },
    Rule {
        name: "memory_request_above_its_limit_exits_1",
        sets: &["postgresql.resources.requests.memory=4Gi"],
        key: "postgresql.resources.requests.memory",
        message: &["`4Gi` exceeds the limit `2Gi`"],
    },
    Rule {
        name: "max_connections_too_small_for_the_app_pools_exits_1",
        sets: &["postgresql.config.maxConnections=100"],
        key: "postgresql.config.maxConnections",
        message: &[
            "--set postgresql.config.maxConnections=100",
            "11 pods (maximum replicas + 1 during a rollout) x 20 connections of the image's fixed pool",
            "expected >= 235",
        ],
    },
    Rule {
        name: "shared_buffers_not_below_the_memory_limit_is_rejected_and_exits_1",
        sets: &["postgresql.config.sharedBuffers=2GB"],
        key: "postgresql.config.sharedBuffers",
        message: &["`2GB` does not fit the memory limit `2Gi`"],
    },
    Rule {
        // 512MB + 16MB + 4 x 128MB + 258 x 8MB = 3104MB > 2Gi.
        name: "explicit_work_mem_whose_worst_case_overruns_the_limit_is_rejected_and_exits_1",
        sets: &["postgresql.config.workMem=8MB"],
        key: "postgresql.config.workMem",
        message: &[
            "--set postgresql.config.workMem=8MB",
            "may allocate 3104MB at once, more than the memory limit `2Gi`",
            "258 backends (maxConnections + 8 parallel workers) x work_mem 8MB",
        ],
    },
    Rule {
        // Even the 1MB floor of the derived work_mem does not fit 250 connections in 512Mi.
        name: "a_memory_limit_too_small_for_max_connections_is_rejected_at_the_limit",
        sets: &[
            "postgresql.resources.limits.memory=512Mi,postgresql.resources.requests.memory=512Mi",
        ],
        key: "postgresql.resources.limits.memory",
        message: &["more than the memory limit `512Mi`", "work_mem 1MB"],
    },
    Rule {
        name: "huge_pages_on_without_requesting_huge_pages_is_rejected_and_exits_1",
        sets: &["postgresql.config.hugePages=on"],
        key: "postgresql.config.hugePages",
        message: &["requests none"],
    },
    Rule {
        name: "huge_pages_smaller_than_shared_buffers_are_rejected_and_exits_1",
        sets: &["postgresql.hugepages2Mi=256Mi"],
        key: "postgresql.hugepages2Mi",
        message: &["cannot hold shared_buffers 512MB"],
    },
    Rule {
        name: "latest_image_tag_is_rejected_and_exits_1",
        sets: &["image.tag=latest"],
        key: "image.tag",
        message: &["`latest`", "pinned"],
    },
    Rule {
        name: "cidr_with_host_bits_set_is_rejected_and_exits_1",
        sets: &["postgresql.hba.appCidrs={10.0.0.1/8}"],
        key: "postgresql.hba.appCidrs.0",
        message: &["`10.0.0.1/8` is not a valid CIDR", "host bits"],
    },
];

/// CloudNativePG's admission webhook rules (cloudnative-pg v1.30), broken by `--set`
/// overrides of the ha profile: alertchart refuses them before anything is written, where the
/// operator would refuse the Cluster only at install time.
const HA_RULES: &[Rule] = &[
    Rule {
        name: "a_parameter_the_operator_sets_itself_exits_1",
        sets: &["cnpg.parameters.listen_addresses=*"],
        key: "cnpg.parameters.listen_addresses",
        message: &["CloudNativePG sets `listen_addresses` itself"],
    },
    Rule {
        name: "shared_preload_libraries_points_at_how_the_operator_loads_them",
        sets: &["cnpg.parameters.shared_preload_libraries=pg_cron"],
        key: "cnpg.parameters.shared_preload_libraries",
        message: &["makes the operator preload the library"],
    },
    Rule {
        name: "synchronous_standby_names_points_at_cnpg_synchronous",
        sets: &["cnpg.parameters.synchronous_standby_names=x"],
        key: "cnpg.parameters.synchronous_standby_names",
        message: &["use cnpg.synchronous"],
    },
    Rule {
        name: "an_ssl_parameter_points_at_cnpg_tls",
        sets: &["cnpg.parameters.ssl_cert_file=/x"],
        key: "cnpg.parameters.ssl_cert_file",
        message: &["use cnpg.tls"],
    },
    Rule {
        name: "a_parameter_the_chart_sets_from_a_value_names_the_value",
        sets: &["cnpg.parameters.work_mem=4MB"],
        key: "cnpg.parameters.work_mem",
        message: &["from cnpg.config.workMem: set that instead"],
    },
    Rule {
        name: "shared_buffers_above_the_memory_request_exits_1",
        sets: &[
            "cnpg.resources.requests.memory=1Gi",
            "cnpg.config.sharedBuffers=1536MB",
        ],
        key: "cnpg.config.sharedBuffers",
        message: &[
            "more than the memory request `1Gi`",
            "CloudNativePG refuses the Cluster",
        ],
    },
    Rule {
        name: "a_derived_shared_buffers_above_the_memory_request_names_the_request",
        sets: &["cnpg.resources.requests.memory=256Mi"],
        key: "cnpg.resources.requests.memory",
        message: &["shared_buffers 512MB is more than the memory request `256Mi`"],
    },
    Rule {
        name: "min_wal_size_equal_to_max_wal_size_exits_1",
        sets: &["cnpg.config.minWalSize=4GB"],
        key: "cnpg.config.minWalSize",
        message: &["equals maxWalSize", "below max_wal_size"],
    },
    Rule {
        name: "wal_sizes_over_half_of_the_wal_volume_exit_1",
        sets: &["cnpg.walStorage.size=8Gi"],
        key: "cnpg.config.maxWalSize",
        message: &["half of the WAL volume `8Gi`", "cnpg.walStorage.size"],
    },
    Rule {
        name: "as_many_synchronous_standbys_as_instances_exits_1",
        sets: &["cnpg.synchronous.enabled=true", "cnpg.synchronous.number=3"],
        key: "cnpg.synchronous.number",
        message: &["need at least 4 instances", "cnpg.instances is 3"],
    },
    Rule {
        name: "an_image_tag_that_is_not_a_version_exits_1",
        sets: &["cnpg.image.tag=bookworm-16"],
        key: "cnpg.image.tag",
        message: &[
            "`bookworm-16` is not a PostgreSQL version",
            "reads the major version from the tag",
        ],
    },
    Rule {
        name: "an_image_tag_of_an_unsupported_major_exits_1",
        sets: &["cnpg.image.tag=15.8"],
        key: "cnpg.image.tag",
        message: &["supported major (16, 17)"],
    },
    Rule {
        name: "a_server_certificate_without_its_ca_exits_1",
        sets: &["cnpg.tls.serverTlsSecret=db-tls"],
        key: "cnpg.tls.serverCaSecret",
        message: &["is required with serverTlsSecret"],
    },
    Rule {
        name: "backups_without_credentials_exit_1",
        sets: &["cnpg.backup.s3Credentials.existingSecret="],
        key: "cnpg.backup.s3Credentials.existingSecret",
        message: &[
            "inheritFromIamRole is false",
            "no credentials for the bucket",
        ],
    },
    Rule {
        name: "a_recovery_without_its_source_exits_1",
        sets: &["cnpg.recovery.enabled=true"],
        key: "cnpg.recovery.sourceServerName",
        message: &["is required with recovery.enabled"],
    },
    Rule {
        name: "a_recovery_that_would_archive_over_its_source_exits_1",
        sets: &[
            "cnpg.recovery.enabled=true",
            "cnpg.recovery.sourceServerName=alerts-db",
            "cnpg.clusterName=alerts-db",
        ],
        key: "cnpg.backup.serverName",
        message: &["would archive over its source's backups"],
    },
    Rule {
        name: "a_six_field_backup_schedule_exits_1",
        sets: &["cnpg.backup.schedule=0 0 2 * * *"],
        key: "cnpg.backup.schedule",
        message: &["five-field cron schedule", "no seconds field"],
    },
    Rule {
        name: "restricted_egress_without_the_api_servers_networks_exits_1",
        sets: &["cnpg.egress.enabled=true"],
        key: "cnpg.egress.apiServerCidrs",
        message: &["could not reach the Kubernetes API"],
    },
    Rule {
        name: "a_cluster_name_over_50_characters_exits_1",
        sets: &["cnpg.clusterName=a23456789-123456789-123456789-123456789-123456789-1"],
        key: "cnpg.clusterName",
        message: &["at most 50"],
    },
];

/// Each rule: `render --set ... --out DIR` over a chart rendered there before exits 1, with
/// an `error: ` message (no panic) that names the key and says why, and the output
/// directory stays byte-for-byte what it was, with no temporary directories left behind.
#[test]
fn every_semantic_rule_refuses_what_breaks_it_with_exit_1_and_writes_nothing() {
    for (profile, rule) in RULES
        .iter()
        .map(|r| ("standard", r))
        .chain(HA_RULES.iter().map(|r| ("ha", r)))
    {
        let name = rule.name;
        let (dir, out) = rendered(profile);
        let before = tree(&out);
        let mut args = vec!["render", "--profile", profile];
        for set in rule.sets {
            args.extend(["--set", set]);
        }
        args.extend(["--out", s(&out)]);
        let r = run(dir.path(), &args);
        assert_eq!(r.code, Some(1), "{name}: alertchart {args:?}:\n{r}");
        assert!(
            r.stderr.starts_with("error: "),
            "{name}: stderr does not start with `error: `:\n{r}"
        );
        assert!(!r.stderr.contains("panicked"), "{name}: {r}");
        for expected in std::iter::once(&rule.key).chain(rule.message) {
            assert!(
                r.stderr.contains(expected),
                "{name}: stderr lacks {expected:?}:\n{r}"
            );
        }
        assert!(
            tree(&out) == before,
            "{name}: {} changed after {args:?}",
            out.display()
        );
        assert_eq!(entries(&out), ["alert-history"], "{name}");
    }
}

/// values.yaml of the standard chart rendered with `sets`.
fn values_yaml_with(sets: &str) -> String {
    let (_dir, chart) = common::render_chart("standard", &[sets]);
    fs::read_to_string(chart.join("values.yaml")).expect("values.yaml")
}

#[test]
fn memory_settings_follow_the_limit_and_values_yaml_shows_the_formula() {
    let values = values_yaml_with(
        "postgresql.resources.limits.memory=8Gi,postgresql.resources.requests.memory=8Gi",
    );
    for expected in [
        "sharedBuffers: \"2GB\"",
        "# Derived by alertchart: 25 % of resources.limits.memory 8Gi = 2GB.",
        "effectiveCacheSize: \"6GB\"",
        "maintenanceWorkMem: \"512MB\"",
        "workMem: \"8064kB\"",
        "shmSize: \"646Mi\"",
    ] {
        assert!(
            values.contains(expected),
            "values.yaml lacks {expected:?}:\n{values}"
        );
    }
}

#[test]
fn an_explicit_memory_setting_is_kept_and_not_described_as_derived() {
    let values = values_yaml_with("postgresql.config.sharedBuffers=256MB");
    let at = values
        .find("sharedBuffers: \"256MB\"")
        .expect("explicit value kept");
    let comment = &values[values[..at].rfind("# --").expect("description")..at];
    assert!(!comment.contains("Derived"), "{comment}");
    // The derived settings take the explicit one into account: 256MB / 32 = 8MB.
    assert!(values.contains("walBuffers: \"8MB\""), "{values}");
}

/// The toleration rule is one check of the shared scheduling type, applied to every
/// workload's section, not only the app's.
#[test]
fn a_toleration_equal_without_value_is_rejected_in_every_workload_section() {
    for (profile, section) in [
        ("standard", "app"),
        ("standard", "app.retentionJob"),
        ("standard", "tests"),
        ("standard", "postgresql"),
        ("standard", "postgresql.backup"),
        ("standard", "valkey"),
        ("lite", "app.retentionJob"),
    ] {
        let set = format!(
            "{section}.tolerations[0].key=dedicated,{section}.tolerations[0].operator=Equal"
        );
        let r = run(
            tmp().path(),
            &["validate", "--profile", profile, "--set", &set],
        );
        assert_eq!(r.code, Some(1), "{profile} --set {set}:\n{r}");
        assert_contains_all(
            &r,
            &[
                &format!("{section}.tolerations.0.value"),
                "is required with operator `Equal`",
            ],
        );
        let exists = format!(
            "{section}.tolerations[0].key=dedicated,{section}.tolerations[0].operator=Exists,{section}.tolerations[0].value=db"
        );
        let r = run(
            tmp().path(),
            &["validate", "--profile", profile, "--set", &exists],
        );
        assert_eq!(r.code, Some(1), "{profile} --set {exists}:\n{r}");
        assert_contains_all(&r, &["must be empty with operator `Exists`"]);
    }
    run_ok(
        tmp().path(),
        &[
            "validate",
            "--set",
            "postgresql.tolerations[0].key=dedicated,postgresql.tolerations[0].operator=Equal,postgresql.tolerations[0].value=db",
        ],
    );
}

#[test]
fn postgresql_tag_of_an_unsupported_major_is_rejected_and_exits_1() {
    for tag in ["18.1", "15.8", "bookworm"] {
        assert_render_rejected(
            &["--set", &format!("postgresql.image.tag={tag}")],
            1,
            &[
                "postgresql.image.tag",
                &format!("`{tag}`"),
                "supported PostgreSQL major version (16, 17)",
            ],
        );
    }
}

#[test]
fn postgresql_17_renders_and_a_major_upgrade_must_name_an_earlier_major() {
    let dir = tmp();
    run_ok(
        dir.path(),
        &[
            "validate",
            "--set",
            "postgresql.image.tag=17.6",
            "--set",
            "postgresql.majorUpgrade.enabled=true",
        ],
    );
    assert_render_rejected(
        &["--set", "postgresql.majorUpgrade.enabled=true"],
        1,
        &[
            "postgresql.majorUpgrade.fromMajor",
            "16 cannot be upgraded to the image's PostgreSQL 16",
        ],
    );
    assert_render_rejected(
        &[
            "--set",
            "postgresql.image.tag=17.6",
            "--set",
            "postgresql.majorUpgrade.enabled=true",
            "--set",
            "postgresql.majorUpgrade.image.tag=15-to-17",
        ],
        1,
        &[
            "postgresql.majorUpgrade.image.tag",
            "`15-to-17`",
            "expected `16-to-17`",
        ],
    );
}

/// The ha chart's templates refuse what CloudNativePG's webhook would, for installs that
/// bypass alertchart (`helm install --set ...`): `helm template` fails with the key and why.
#[test]
fn the_ha_chart_refuses_under_helm_what_the_operator_would() {
    let long = "f".repeat(48);
    let cases: &[(&str, &str)] = &[
        (
            "cnpg.recovery.enabled=true",
            "cnpg.recovery.sourceServerName: required",
        ),
        (
            "cnpg.recovery.enabled=true,cnpg.recovery.sourceServerName=db,cnpg.backup.serverName=db",
            "would archive over its source's backups",
        ),
        (
            "cnpg.parameters.listen_addresses=x",
            "cnpg.parameters.listen_addresses: CloudNativePG or the chart sets",
        ),
        (
            "cnpg.parameters.max_connections=10",
            "cnpg.parameters.max_connections: CloudNativePG or the chart sets",
        ),
        (
            "cnpg.synchronous.enabled=true,cnpg.synchronous.number=3",
            "need at least 4 instances",
        ),
        (
            "cnpg.tls.serverTlsSecret=db-tls",
            "cnpg.tls.serverCaSecret: required",
        ),
        (&format!("fullnameOverride={long}"), "at most 50 characters"),
        (
            "cnpg.egress.enabled=true",
            "cnpg.egress.apiServerCidrs: required",
        ),
    ];
    for (set, expected) in cases {
        let out = std::process::Command::new(common::tool("helm"))
            .args(["template", "ah"])
            .arg(common::chart_dir("ha"))
            .args(["--set", set])
            .output()
            .expect("helm");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "helm rendered --set {set}");
        assert!(
            stderr.contains(expected),
            "--set {set}: stderr lacks {expected:?}:\n{stderr}"
        );
    }
}
