//! The alert rules of the committed standard chart, checked with the real `promtool`: every
//! PrometheusRule's spec is written to `<component>.rules.yaml` in a temporary directory,
//! `promtool check rules` must accept it, and the unit tests in `tests/promtool/` (copied
//! beside the rule files, which they name in `rule_files`) must pass: each alert fires on
//! series that should trigger it and stays silent on healthy ones. Also: every alert of the
//! specification exists exactly once, with severity, summary, description and a runbook
//! link to its own section of docs/runbooks.md.

use std::collections::BTreeMap;
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

const RUNBOOK_BASE: &str = "https://github.com/alertchart/alertchart/blob/main/docs/runbooks.md";

/// The PrometheusRule objects of the standard chart rendered with the rules switched on.
fn prometheus_rules(extra_args: &[&str]) -> Vec<Value> {
    let mut args = vec!["--set", "metrics.prometheusRule.enabled=true"];
    args.extend_from_slice(extra_args);
    let rules: Vec<Value> = yaml_docs(&helm_template(&chart_dir("standard"), &args))
        .into_iter()
        .filter(|d| d["kind"] == "PrometheusRule")
        .collect();
    assert!(
        !rules.is_empty(),
        "the standard chart renders no PrometheusRule"
    );
    rules
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

/// Writes each PrometheusRule's spec as `<component>.rules.yaml` into `dir`.
fn write_rule_files(dir: &Path) -> Vec<PathBuf> {
    prometheus_rules(&[])
        .iter()
        .map(|rule| {
            let component = rule["metadata"]["labels"]["app.kubernetes.io/component"]
                .as_str()
                .expect("a PrometheusRule carries its component label");
            let path = dir.join(format!("{component}.rules.yaml"));
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

#[test]
fn promtool_check_rules_accepts_every_prometheus_rule_of_the_standard_chart() {
    let dir = tempfile::tempdir().unwrap();
    let files = write_rule_files(dir.path());
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["postgresql.rules.yaml", "valkey.rules.yaml"]);
    promtool_ok(dir.path(), &["check", "rules"], &files);
}

#[test]
fn promtool_unit_tests_show_every_alert_firing_on_bad_series_and_silent_on_healthy_ones() {
    let dir = tempfile::tempdir().unwrap();
    write_rule_files(dir.path());
    let tests: Vec<PathBuf> = promtool_test_files()
        .iter()
        .map(|src| {
            let dst = dir.path().join(src.file_name().unwrap());
            fs::copy(src, &dst).unwrap_or_else(|e| panic!("copy {}: {e}", src.display()));
            dst
        })
        .collect();
    promtool_ok(dir.path(), &["test", "rules"], &tests);
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
    for alert in POSTGRESQL_ALERTS.iter().chain(&VALKEY_ALERTS) {
        let (fires, silent) = coverage.get(*alert).copied().unwrap_or_default();
        assert!(fires, "no promtool test expects {alert} to fire");
        assert!(
            silent,
            "no promtool test expects {alert} to stay silent (exp_alerts: [])"
        );
    }
}

#[test]
fn every_specified_alert_exists_exactly_once_with_severity_summary_description_and_runbook() {
    let rules = prometheus_rules(&[]);
    let alerts = alert_rules(&rules);
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for rule in &alerts {
        *counts.entry(rule["alert"].as_str().unwrap()).or_default() += 1;
    }
    let expected: Vec<&str> = POSTGRESQL_ALERTS
        .iter()
        .chain(&VALKEY_ALERTS)
        .copied()
        .collect();
    for name in &expected {
        assert_eq!(counts.get(name), Some(&1), "{name} must exist exactly once");
    }
    let unexpected: Vec<&&str> = counts.keys().filter(|n| !expected.contains(*n)).collect();
    assert!(
        unexpected.is_empty(),
        "alerts outside the specification: {unexpected:?}"
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
    let rules = prometheus_rules(&[]);
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
    ] {
        assert_eq!(severity(name), "warning", "{name}");
    }
}

/// Every selector names this release's exporter (its job) in its namespace, or, for the
/// kubelet's volume statistics, this release's claims.
#[test]
fn every_metric_selector_is_scoped_to_this_releases_exporter() {
    for rule in prometheus_rules(&[]) {
        let (job, claims) = match rule["metadata"]["labels"]["app.kubernetes.io/component"].as_str()
        {
            Some("postgresql") => (
                "ah-alert-history-postgresql-metrics",
                &[
                    r#"persistentvolumeclaim=~"data-ah-alert-history-postgresql-[0-9]+""#,
                    r#"persistentvolumeclaim="ah-alert-history-postgresql-backup""#,
                ][..],
            ),
            Some("valkey") => (
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
    let rules = prometheus_rules(&["--set", "postgresql.backup.enabled=false"]);
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
    for alert in POSTGRESQL_ALERTS.iter().chain(&VALKEY_ALERTS) {
        let expected = alert.to_lowercase();
        assert!(
            anchors.contains(&expected),
            "docs/runbooks.md has no section `## {alert}` (anchor #{expected})"
        );
    }
}
