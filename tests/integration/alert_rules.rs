//! The alert rules of the committed charts, checked with the real `promtool`: for every
//! built-in profile whose chart has PrometheusRules, each rule's spec is written to
//! `<name>.rules.yaml` (its name without the release's full name: `postgresql`, `cnpg`,
//! `valkey`) in a directory of that profile, `promtool check rules` must accept it, and the
//! unit tests in `tests/promtool/` (copied beside the rule files they name in `rule_files`)
//! must pass: each alert fires on series that should trigger it and stays silent on healthy
//! ones. Also: every alert of the specification exists exactly once, with severity,
//! summary, description and a runbook link to its own section of docs/runbooks.md, and the
//! CloudNativePG rules read only metrics that CloudNativePG and its Barman Cloud plugin
//! expose.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::common;
use crate::common::{chart_dir, helm_template, repo, tool, yaml_docs};

/// The PostgreSQL alerts of the chart specification, plus the pg_wal growth alert it asks
/// for ("alert on them, and on pg_wal growth"), the exporter's failing scrapes (the
/// data-loss alerts' inputs) and the data and backup volumes filling up.
const POSTGRESQL_ALERTS: [&str; 19] = [
    "PostgreSQLDown",
    "PostgreSQLTooManyConnections",
    "PostgreSQLReplicationLag",
    "PostgreSQLTxidExhaustionRisk",
    "PostgreSQLHighConnections",
    "PostgreSQLSlowQueries",
    "PostgreSQLLowCacheHitRatio",
    "PostgreSQLDeadTuplesHigh",
    "PostgreSQLVacuumOld",
    "PostgreSQLHighCheckpointRate",
    "PostgreSQLHighBufferBackendWrites",
    "PostgreSQLWALArchivingFailed",
    "PostgreSQLBackupOld",
    "PostgreSQLWALSizeHigh",
    "PostgreSQLExporterErrors",
    "PostgreSQLDataVolumeUsageHigh",
    "PostgreSQLDataVolumeFillingUp",
    "PostgreSQLBackupVolumeUsageHigh",
    "PostgreSQLBackupVolumeFillingUp",
];

/// The Valkey alerts: down, out of memory, too many / rejected connections, persistence,
/// the data volume filling up.
const VALKEY_ALERTS: [&str; 7] = [
    "ValkeyDown",
    "ValkeyOutOfMemory",
    "ValkeyTooManyConnections",
    "ValkeyRejectedConnections",
    "ValkeyPersistenceFailure",
    "ValkeyDataVolumeUsageHigh",
    "ValkeyDataVolumeFillingUp",
];

/// The CloudNativePG alerts (profile `ha`) of issue 13: the cluster without a primary or
/// without metrics, instances down, HA degraded, replication lag, connections, wraparound,
/// WAL archiving, backups too old, never successful or failed, data and WAL volumes; and a
/// failing metrics collection (the data-loss alerts' inputs).
const CNPG_ALERTS: [&str; 13] = [
    "CNPGPrimaryUnavailable",
    "CNPGInstanceDown",
    "CNPGMetricsCollectionFailing",
    "CNPGHADegraded",
    "CNPGReplicationLag",
    "CNPGHighConnections",
    "CNPGTxidWraparound",
    "CNPGWALArchivingFailing",
    "CNPGBackupTooOld",
    "CNPGBackupNeverSucceeded",
    "CNPGBackupFailed",
    "CNPGDataVolumeUsageHigh",
    "CNPGWALVolumeUsageHigh",
];

/// The rule files of each built-in profile with PrometheusRules, and their alerts.
const RULE_FILES: [(&str, &[&str]); 3] = [
    ("postgresql", &POSTGRESQL_ALERTS),
    ("cnpg", &CNPG_ALERTS),
    ("valkey", &VALKEY_ALERTS),
];

/// The rule files each profile's chart has; a profile not listed must have none.
const PROFILE_RULE_FILES: [(&str, &[&str]); 2] = [
    ("standard", &["postgresql", "valkey"]),
    ("ha", &["cnpg", "valkey"]),
];

/// Every alert of every rule file.
fn all_alerts() -> impl Iterator<Item = &'static str> {
    RULE_FILES
        .iter()
        .flat_map(|(_, alerts)| alerts.iter().copied())
}

const RUNBOOK_BASE: &str = "https://github.com/alertchart/alertchart/blob/main/docs/runbooks.md";

/// The PrometheusRule objects of a profile's chart rendered with the rules switched on.
fn prometheus_rules(profile: &str, extra_args: &[&str]) -> Vec<Value> {
    let mut args = vec!["--set", "metrics.prometheusRule.enabled=true"];
    args.extend_from_slice(extra_args);
    let rules: Vec<Value> = yaml_docs(&helm_template(&chart_dir(profile), &args))
        .into_iter()
        .filter(|d| d["kind"] == "PrometheusRule")
        .collect();
    assert!(
        !rules.is_empty(),
        "the {profile} chart renders no PrometheusRule"
    );
    rules
}

/// The profiles of [`PROFILE_RULE_FILES`].
fn profiles_with_rules() -> impl Iterator<Item = &'static str> {
    PROFILE_RULE_FILES.iter().map(|(profile, _)| *profile)
}

/// The alerts a profile's chart must have.
fn expected_alerts(profile: &str) -> Vec<&'static str> {
    let (_, files) = PROFILE_RULE_FILES
        .iter()
        .find(|(p, _)| *p == profile)
        .unwrap_or_else(|| panic!("{profile} has no rule files"));
    files
        .iter()
        .flat_map(|file| {
            RULE_FILES
                .iter()
                .find(|(name, _)| name == file)
                .unwrap_or_else(|| panic!("no alerts listed for rule file {file}"))
                .1
                .iter()
                .copied()
        })
        .collect()
}

/// A PrometheusRule's name without the release's full name: the stem of its rule file.
fn rule_file_name(rule: &Value) -> &str {
    let name = rule["metadata"]["name"].as_str().expect("metadata.name");
    name.strip_prefix("ah-alert-history-")
        .unwrap_or_else(|| panic!("PrometheusRule {name} is not named after the release"))
}

/// Every alerting rule of the given PrometheusRules.
fn alert_rules(rules: &[Value]) -> Vec<&Value> {
    rules
        .iter()
        .flat_map(|r| {
            r["spec"]["groups"]
                .as_array()
                .expect("spec.groups is a list")
        })
        .flat_map(|g| g["rules"].as_array().expect("a group has rules"))
        .filter(|r| r.get("alert").is_some())
        .collect()
}

/// Writes each PrometheusRule's spec of a profile's chart as `<name>.rules.yaml` into `dir`.
fn write_rule_files(profile: &str, dir: &Path) -> Vec<PathBuf> {
    fs::create_dir_all(dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    prometheus_rules(profile, &[])
        .iter()
        .map(|rule| {
            let path = dir.join(format!("{}.rules.yaml", rule_file_name(rule)));
            let text = yaml_serde::to_string(&rule["spec"]).expect("rule spec serialises");
            fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
            path
        })
        .collect()
}

/// The promtool unit test files of the repository.
fn promtool_test_files() -> Vec<PathBuf> {
    let dir = repo().join("tests/promtool");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".test.yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no *.test.yaml in {}", dir.display());
    files
}

/// Runs promtool in `dir` and asserts success, showing promtool's whole output otherwise.
fn promtool_ok(dir: &Path, args: &[&str], files: &[PathBuf]) -> Output {
    common::run_ok(
        Command::new(tool("promtool"))
            .current_dir(dir)
            .args(args)
            .args(files),
    )
}

/// Whether any template of a profile's committed chart renders a PrometheusRule.
fn has_prometheus_rule_template(profile: &str) -> bool {
    fn walk(dir: &Path) -> bool {
        fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .any(|p| {
                if p.is_dir() {
                    walk(&p)
                } else {
                    fs::read_to_string(&p).is_ok_and(|t| t.contains("kind: PrometheusRule"))
                }
            })
    }
    walk(&chart_dir(profile).join("templates"))
}

#[test]
fn only_the_listed_profiles_have_prometheus_rules_and_exactly_their_rule_files() {
    for profile in common::profiles() {
        let Some((_, files)) = PROFILE_RULE_FILES.iter().find(|(p, _)| *p == profile) else {
            assert!(
                !has_prometheus_rule_template(profile),
                "the {profile} chart has a PrometheusRule: list its rule files in PROFILE_RULE_FILES"
            );
            continue;
        };
        let rules = prometheus_rules(profile, &[]);
        let mut names: Vec<&str> = rules.iter().map(rule_file_name).collect();
        names.sort_unstable();
        let mut expected = files.to_vec();
        expected.sort_unstable();
        assert_eq!(names, expected, "rule files of the {profile} chart");
    }
}

#[test]
fn promtool_check_rules_accepts_every_prometheus_rule_of_every_chart() {
    for profile in profiles_with_rules() {
        let dir = tempfile::tempdir().unwrap();
        let files = write_rule_files(profile, dir.path());
        promtool_ok(dir.path(), &["check", "rules"], &files);
    }
}

/// The `rule_files` a promtool test file names.
fn rule_files_of(test: &Path) -> Vec<String> {
    let yaml = fs::read_to_string(test).unwrap_or_else(|e| panic!("{}: {e}", test.display()));
    let doc: Value = yaml_serde::from_str(&yaml)
        .unwrap_or_else(|e| panic!("{} is not YAML: {e}", test.display()));
    doc["rule_files"]
        .as_array()
        .unwrap_or_else(|| panic!("{} names no rule_files", test.display()))
        .iter()
        .map(|f| f.as_str().expect("a rule file name").to_string())
        .collect()
}

/// Each test file runs beside the rules of every profile that has all its rule files (the
/// Valkey tests against both charts), and every test file runs somewhere.
#[test]
fn promtool_unit_tests_show_every_alert_firing_on_bad_series_and_silent_on_healthy_ones() {
    let root = tempfile::tempdir().unwrap();
    let tests = promtool_test_files();
    let mut ran = vec![false; tests.len()];
    for profile in profiles_with_rules() {
        let dir = root.path().join(profile);
        write_rule_files(profile, &dir);
        let mut copied = Vec::new();
        for (i, src) in tests.iter().enumerate() {
            if !rule_files_of(src).iter().all(|f| dir.join(f).exists()) {
                continue;
            }
            let dst = dir.join(src.file_name().unwrap());
            fs::copy(src, &dst).unwrap_or_else(|e| panic!("copy {}: {e}", src.display()));
            copied.push(dst);
            ran[i] = true;
        }
        if !copied.is_empty() {
            promtool_ok(&dir, &["test", "rules"], &copied);
        }
    }
    for (test, ran) in tests.iter().zip(ran) {
        assert!(
            ran,
            "{} names rule files no chart has: {:?}",
            test.display(),
            rule_files_of(test)
        );
    }
}

#[test]
fn promtool_unit_tests_cover_every_alert_both_firing_and_silent() {
    // alert name -> (expected firing somewhere, expected silent somewhere)
    let mut coverage: BTreeMap<String, (bool, bool)> = BTreeMap::new();
    for file in promtool_test_files() {
        let text = fs::read_to_string(&file).unwrap();
        let doc: Value = yaml_serde::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not YAML: {e}", file.display()));
        for group in doc["tests"].as_array().expect("tests is a list") {
            for case in group["alert_rule_test"].as_array().into_iter().flatten() {
                let name = case["alertname"].as_str().expect("alertname").to_string();
                let fires = case["exp_alerts"].as_array().is_some_and(|a| !a.is_empty());
                let entry = coverage.entry(name).or_default();
                if fires {
                    entry.0 = true;
                } else {
                    entry.1 = true;
                }
            }
        }
    }
    for alert in all_alerts() {
        let (fires, silent) = coverage.get(alert).copied().unwrap_or_default();
        assert!(fires, "no promtool test expects {alert} to fire");
        assert!(
            silent,
            "no promtool test expects {alert} to stay silent (exp_alerts: [])"
        );
    }
}

#[test]
fn every_specified_alert_exists_exactly_once_with_severity_summary_description_and_runbook() {
    for profile in profiles_with_rules() {
        every_alert_of_the_chart_is_specified_and_complete(profile);
    }
}

fn every_alert_of_the_chart_is_specified_and_complete(profile: &str) {
    let rules = prometheus_rules(profile, &[]);
    let alerts = alert_rules(&rules);
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for rule in &alerts {
        *counts.entry(rule["alert"].as_str().unwrap()).or_default() += 1;
    }
    let expected = expected_alerts(profile);
    for name in &expected {
        assert_eq!(
            counts.get(name),
            Some(&1),
            "{profile}: {name} must exist exactly once"
        );
    }
    let unexpected: Vec<&&str> = counts.keys().filter(|n| !expected.contains(*n)).collect();
    assert!(
        unexpected.is_empty(),
        "{profile}: alerts outside the specification: {unexpected:?}"
    );

    for rule in alerts {
        let name = rule["alert"].as_str().unwrap();
        let severity = rule["labels"]["severity"].as_str();
        assert!(
            matches!(severity, Some("critical" | "warning")),
            "{name}: severity label must be critical or warning, got {severity:?}"
        );
        for key in ["summary", "description"] {
            let text = rule["annotations"][key].as_str().unwrap_or("");
            assert!(
                !text.trim().is_empty(),
                "{name}: annotation {key} is missing"
            );
        }
        assert_eq!(
            rule["annotations"]["runbook_url"].as_str(),
            Some(format!("{RUNBOOK_BASE}#{}", name.to_lowercase()).as_str()),
            "{name}: runbook_url must be the runbook base URL + #<alert name in lower case>"
        );
        assert!(
            rule["expr"].as_str().is_some_and(|e| !e.trim().is_empty()),
            "{name}: no expr"
        );
    }
}

#[test]
fn the_specified_severities_are_kept() {
    let rules: Vec<Value> = profiles_with_rules()
        .flat_map(|profile| prometheus_rules(profile, &[]))
        .collect();
    let severity = |name: &str| {
        alert_rules(&rules)
            .into_iter()
            .find(|r| r["alert"] == name)
            .and_then(|r| r["labels"]["severity"].as_str().map(str::to_string))
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    for name in [
        "PostgreSQLDown",
        "PostgreSQLTooManyConnections",
        "PostgreSQLReplicationLag",
        "PostgreSQLTxidExhaustionRisk",
        "PostgreSQLWALArchivingFailed",
        "PostgreSQLDataVolumeFillingUp",
        "PostgreSQLBackupVolumeFillingUp",
        "ValkeyDataVolumeFillingUp",
        "CNPGPrimaryUnavailable",
        "CNPGReplicationLag",
        "CNPGTxidWraparound",
        "CNPGWALArchivingFailing",
        "CNPGBackupNeverSucceeded",
    ] {
        assert_eq!(severity(name), "critical", "{name}");
    }
    for name in [
        "PostgreSQLHighConnections",
        "PostgreSQLSlowQueries",
        "PostgreSQLLowCacheHitRatio",
        "PostgreSQLDeadTuplesHigh",
        "PostgreSQLVacuumOld",
        "PostgreSQLHighCheckpointRate",
        "PostgreSQLHighBufferBackendWrites",
        "PostgreSQLBackupOld",
        "PostgreSQLExporterErrors",
        "PostgreSQLDataVolumeUsageHigh",
        "PostgreSQLBackupVolumeUsageHigh",
        "ValkeyDataVolumeUsageHigh",
        "CNPGInstanceDown",
        "CNPGMetricsCollectionFailing",
        "CNPGHADegraded",
        "CNPGHighConnections",
        "CNPGBackupTooOld",
        "CNPGBackupFailed",
        "CNPGDataVolumeUsageHigh",
        "CNPGWALVolumeUsageHigh",
    ] {
        assert_eq!(severity(name), "warning", "{name}");
    }
}

/// Every selector names this release's exporter (its job) in its namespace, or, for the
/// kubelet's volume statistics, this release's claims. CloudNativePG's instances are
/// scraped by the PodMonitor named after the Cluster: job `<namespace>/<PodMonitor>`.
#[test]
fn every_metric_selector_is_scoped_to_this_releases_exporter() {
    let rules: Vec<Value> = profiles_with_rules()
        .flat_map(|profile| prometheus_rules(profile, &[]))
        .collect();
    for rule in rules {
        let (job, claims) = match rule_file_name(&rule) {
            "cnpg" => (
                "alerts/ah-alert-history-postgresql",
                &[
                    r#"persistentvolumeclaim=~"ah-alert-history-postgresql-[0-9]+""#,
                    r#"persistentvolumeclaim=~"ah-alert-history-postgresql-[0-9]+-wal""#,
                ][..],
            ),
            "postgresql" => (
                "ah-alert-history-postgresql-metrics",
                &[
                    r#"persistentvolumeclaim=~"data-ah-alert-history-postgresql-[0-9]+""#,
                    r#"persistentvolumeclaim="ah-alert-history-postgresql-backup""#,
                ][..],
            ),
            "valkey" => (
                "ah-alert-history-valkey",
                &[r#"persistentvolumeclaim=~"data-ah-alert-history-valkey-[0-9]+""#][..],
            ),
            other => panic!("unexpected PrometheusRule component {other:?}"),
        };
        for alert in alert_rules(std::slice::from_ref(&rule)) {
            let name = alert["alert"].as_str().unwrap();
            let expr = alert["expr"].as_str().unwrap();
            let sels = common::promql::selectors(expr);
            assert!(!sels.is_empty(), "{name}: no metric selector in {expr}");
            for (metric, matchers) in sels {
                if metric.starts_with("kubelet_volume_stats_") {
                    assert!(
                        matchers.contains("namespace=\"alerts\"")
                            && claims.iter().any(|c| matchers.contains(c)),
                        "{name}: selector {metric}{{{matchers}}} is not limited to the claims {claims:?} in namespace alerts"
                    );
                    continue;
                }
                assert!(
                    matchers.contains("namespace=\"alerts\"")
                        && matchers.contains(&format!("job=\"{job}\"")),
                    "{name}: selector {metric}{{{matchers}}} is not limited to job {job} in namespace alerts"
                );
            }
        }
    }
}

#[test]
fn backup_alerts_are_left_out_when_backups_are_disabled() {
    let rules = prometheus_rules("standard", &["--set", "postgresql.backup.enabled=false"]);
    let names: Vec<&str> = alert_rules(&rules)
        .iter()
        .map(|r| r["alert"].as_str().unwrap())
        .collect();
    for absent in [
        "PostgreSQLBackupOld",
        "PostgreSQLWALArchivingFailed",
        "PostgreSQLBackupVolumeUsageHigh",
        "PostgreSQLBackupVolumeFillingUp",
    ] {
        assert!(
            !names.contains(&absent),
            "{absent} rendered without backups"
        );
    }
    for present in [
        "PostgreSQLWALSizeHigh",
        "PostgreSQLExporterErrors",
        "PostgreSQLDataVolumeUsageHigh",
        "PostgreSQLDataVolumeFillingUp",
    ] {
        assert!(
            names.contains(&present),
            "{present} is rendered regardless of backups"
        );
    }
}

#[test]
fn cnpg_backup_and_archiving_alerts_are_left_out_when_backups_are_disabled() {
    let rules = prometheus_rules("ha", &["--set", "cnpg.backup.enabled=false"]);
    let names: Vec<&str> = alert_rules(&rules)
        .iter()
        .map(|r| r["alert"].as_str().unwrap())
        .collect();
    for absent in [
        "CNPGWALArchivingFailing",
        "CNPGBackupTooOld",
        "CNPGBackupNeverSucceeded",
        "CNPGBackupFailed",
    ] {
        assert!(
            !names.contains(&absent),
            "{absent} rendered without backups"
        );
    }
    for present in [
        "CNPGPrimaryUnavailable",
        "CNPGWALVolumeUsageHigh",
        "CNPGDataVolumeUsageHigh",
    ] {
        assert!(
            names.contains(&present),
            "{present} is rendered regardless of backups"
        );
    }
}

/// One instance has no standby to stream: HA degraded would fire for ever.
#[test]
fn a_single_instance_cluster_has_no_ha_degraded_alert() {
    let one = prometheus_rules("ha", &["--set", "cnpg.instances=1"]);
    assert!(
        alert_rules(&one)
            .iter()
            .all(|r| r["alert"] != "CNPGHADegraded"),
        "CNPGHADegraded rendered for a single instance"
    );
    let five = prometheus_rules("ha", &["--set", "cnpg.instances=5"]);
    let expr = alert_rules(&five)
        .into_iter()
        .find(|r| r["alert"] == "CNPGHADegraded")
        .expect("CNPGHADegraded with 5 instances")["expr"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        expr.trim_end().ends_with("< 4"),
        "5 instances expect 4 streaming standbys: {expr}"
    );
}

/// Every metric name CloudNativePG v1.30 and the Barman Cloud plugin v0.14 serve (the
/// catalogue of `tests/cnpg/`, read by `common::dashboards`).
fn cnpg_catalogue() -> BTreeSet<String> {
    common::dashboards::cnpg_catalogue().into_keys().collect()
}

/// Scrape health and the kubelet's volume statistics come from Prometheus and the kubelet,
/// not from CloudNativePG.
fn outside_cnpg(metric: &str) -> bool {
    metric == "up" || metric.starts_with("kubelet_volume_stats_")
}

#[test]
fn the_cnpg_catalogue_holds_the_default_queries_the_collectors_and_the_plugin_metrics() {
    let catalogue = cnpg_catalogue();
    for name in [
        "cnpg_backends_total",
        "cnpg_pg_stat_archiver_failed_count",
        // Query pg_stat_bgwriter_17 is named pg_stat_bgwriter.
        "cnpg_pg_stat_bgwriter_buffers_alloc",
        "cnpg_pg_settings_setting",
        "cnpg_collector_up",
        "cnpg_collector_pg_wal_archive_status",
        "barman_cloud_cloudnative_pg_io_last_available_backup_timestamp",
    ] {
        assert!(
            catalogue.contains(name),
            "{name} missing from the catalogue"
        );
    }
    assert!(
        !catalogue.contains("cnpg_pg_stat_bgwriter_17_buffers_alloc"),
        "a query's name must replace its key"
    );
}

#[test]
fn every_metric_of_the_cnpg_rules_is_exposed_by_cloudnative_pg_or_its_backup_plugin() {
    let catalogue = cnpg_catalogue();
    let rules: Vec<Value> = prometheus_rules("ha", &[])
        .into_iter()
        .filter(|r| rule_file_name(r) == "cnpg")
        .collect();
    let mut used: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for rule in alert_rules(&rules) {
        let alert = rule["alert"].as_str().unwrap();
        for name in common::promql::metric_names(rule["expr"].as_str().expect("expr")) {
            used.entry(name).or_default().push(alert.to_string());
        }
    }
    assert!(used.len() >= 10, "too few metrics in the rules: {used:?}");
    let missing = common::promql::unexplained(
        &used,
        |name| catalogue.contains(name) || outside_cnpg(name),
        "used by ",
        ", ",
    );
    assert!(
        missing.is_empty(),
        "metrics of the CloudNativePG rules that neither CloudNativePG v1.30 nor the Barman Cloud plugin v0.14 expose:\n{}",
        missing.join("\n")
    );
}

/// GitHub's anchor of a Markdown heading: lower case, spaces to dashes, punctuation dropped.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

#[test]
fn every_runbook_url_points_at_a_section_of_docs_runbooks_md() {
    let path = repo().join("docs/runbooks.md");
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let anchors: Vec<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("## ").or_else(|| l.strip_prefix("### ")))
        .map(anchor)
        .collect();
    for alert in all_alerts() {
        let expected = alert.to_lowercase();
        assert!(
            anchors.contains(&expected),
            "docs/runbooks.md has no section `## {alert}` (anchor #{expected})"
        );
    }
}
