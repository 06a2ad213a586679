//! NOTES.txt of the committed charts as an installer sees it. `helm template` never prints
//! NOTES, so each case runs the real `helm install --dry-run=client` (no cluster: `lookup`
//! finds nothing, as on a first install or under `helm template`) and reads what follows
//! `NOTES:`. Checked: what was installed, how to reach it, where the credentials are (with a
//! working `kubectl get secret` one-liner), `helm test`, backups and the first backup's
//! time, the monitoring add-ons, the Pod Security label, and the loud warnings for each
//! risky setting, present exactly when the setting is. Golden copies of the full text are
//! kept as insta snapshots. Also: every object the NOTES name exists in the rendered
//! chart. (That every pod meets the "restricted" Pod Security Standard the NOTES invite
//! the installer to enforce is the `security` module's.)

use crate::common;
use crate::common::{chart_dir, helm_template, profiles, yaml_docs};

/// The NOTES of a committed chart (see [`common::helm_notes`]).
fn notes(profile: &str, args: &[&str]) -> String {
    common::helm_notes(&chart_dir(profile), args)
}

fn assert_has(text: &str, expected: &[&str], case: &str) {
    for e in expected {
        assert!(text.contains(e), "{case}: NOTES lack `{e}`:\n{text}");
    }
}

fn assert_lacks(text: &str, unexpected: &[&str], case: &str) {
    for u in unexpected {
        assert!(
            !text.contains(u),
            "{case}: NOTES must not contain `{u}`:\n{text}"
        );
    }
}

const PASSWORDS_NOTE: &str = "Passwords: hook Job \"ah-alert-history-generated-secrets\"";
const NETPOL_WARNING: &str = "WARNING: NETWORK POLICIES ARE OFF";
const BACKUP_WARNING: &str = "WARNING: BACKUPS ARE OFF";

#[test]
fn standard_notes_say_what_was_installed_and_how_to_use_it() {
    let text = notes("standard", &[]);
    assert_has(
        &text,
        &[
            "(\"standard\" profile) is installed as release \"ah\" in namespace \"alerts\"",
            // reach the service
            "kubectl -n alerts port-forward svc/ah-alert-history 8080:8080",
            // the Alertmanager receiver (the `app` module runs it against the real app)
            "url: http://ah-alert-history.alerts.svc:8080/webhook/",
            "send_resolved: true",
            // the app: its migration, and what image 1.1.9 does not do
            "migrate` init container",
            "serves no Prometheus metrics",
            "cannot read them back through its API",
            // credentials: which Secret, which keys, a one-liner
            "Secret \"ah-alert-history-postgresql\"",
            "\"password\"",
            "\"postgres-password\"",
            "\"replication-password\"",
            "\"exporter-password\"",
            "kubectl -n alerts get secret ah-alert-history-postgresql -o jsonpath='{.data.password}' | base64 -d",
            "kubectl -n alerts get secret ah-alert-history-valkey -o jsonpath='{.data.valkey-password}' | base64 -d",
            // helm test
            "helm test ah -n alerts",
            // backups: where and when the first one runs
            "PVC \"ah-alert-history-postgresql-backup\"",
            "/backup/wal/",
            "/backup/base/",
            "schedule \"0 2 * * *\" (Etc/UTC)",
            "The first base backup runs at the first scheduled time after this install",
            "kubectl -n alerts create job --from=cronjob/ah-alert-history-postgresql-backup",
            // monitoring add-ons: `auto`, and no Prometheus Operator API without a cluster
            "ServiceMonitors: not created, the cluster has no monitoring.coreos.com/v1 ServiceMonitor API",
            "metrics.serviceMonitor.enabled=auto: an upgrade after installing the Prometheus Operator creates them; true forces them",
            "Alert rules: not created, the cluster has no monitoring.coreos.com/v1 PrometheusRule API",
            "metrics.prometheusRule.enabled=auto",
            "Grafana dashboard: not created, as no ServiceMonitors are (metrics.grafanaDashboards.enabled=auto; true forces it)",
            // Pod Security
            "kubectl label namespace alerts pod-security.kubernetes.io/enforce=restricted",
            // generated passwords: the hook Job, and how to supply your own
            PASSWORDS_NOTE,
            "creates Secrets \"ah-alert-history-postgresql\" and \"ah-alert-history-valkey\"",
            "never changes an existing one",
            "`helm uninstall` keeps them",
            "set\npostgresql.auth.existingSecret and valkey.auth.existingSecret.",
        ],
        "standard defaults",
    );
    assert_lacks(
        &text,
        &[NETPOL_WARNING, BACKUP_WARNING, "{{", "<no value>"],
        "standard defaults",
    );
}

#[test]
fn lite_notes_have_no_database_cache_or_backup_text_and_no_warnings() {
    let text = notes("lite", &[]);
    assert_has(
        &text,
        &[
            "(\"lite\" profile) is installed",
            "SQLite",
            "url: http://ah-alert-history.alerts.svc:8080/webhook/",
            "serves no Prometheus metrics",
            "PVC\n   \"ah-alert-history-data\"",
            "helm test ah -n alerts",
            "pod-security.kubernetes.io/enforce=restricted",
        ],
        "lite",
    );
    assert_lacks(
        &text,
        &[
            "PostgreSQL",
            "Valkey",
            "Backups",
            "WARNING",
            "prometheusRule",
            "serviceMonitor",
            "grafanaDashboards",
            "migrate",
            "<no value>",
        ],
        "lite",
    );
}

#[test]
fn network_policy_off_gets_a_loud_warning() {
    let text = notes("standard", &["--set", "networkPolicy.enabled=false"]);
    assert_has(&text, &[NETPOL_WARNING, "#####"], "networkPolicy off");
}

#[test]
fn backups_off_get_a_loud_warning_and_no_schedule() {
    let text = notes("standard", &["--set", "postgresql.backup.enabled=false"]);
    assert_has(&text, &[BACKUP_WARNING], "backups off");
    assert_lacks(&text, &["schedule \"", "first base backup"], "backups off");
}

const SIZING_WARNING: &str = "WARNING: POSTGRESQL MEMORY SETTINGS SIZED FOR ANOTHER LIMIT";

#[test]
fn a_new_memory_limit_with_the_derived_settings_left_as_they_were_gets_a_loud_warning() {
    let text = notes(
        "standard",
        &["--set", "postgresql.resources.limits.memory=8Gi"],
    );
    assert_has(
        &text,
        &[
            SIZING_WARNING,
            // Not walBuffers (16MB, its maximum, at 2Gi and 8Gi).
            "alertchart derived postgresql.config.sharedBuffers, postgresql.config.effectiveCacheSize, \
             postgresql.config.maintenanceWorkMem, postgresql.config.workMem, postgresql.shmSize\n\
             for a memory limit of 2Gi and 250 connections; this release has\n8Gi and 250.",
        ],
        "8Gi limit",
    );
    let fewer = notes(
        "standard",
        &["--set", "postgresql.config.maxConnections=300"],
    );
    assert_has(
        &fewer,
        &[
            SIZING_WARNING,
            "alertchart derived postgresql.config.workMem, postgresql.shmSize\nfor a memory limit of 2Gi and 250 connections; \
             this release has\n2Gi and 300.",
        ],
        "300 connections",
    );
}

#[test]
fn no_sizing_warning_when_the_derived_settings_are_set_with_the_new_limit() {
    let mut args = vec!["--set", "postgresql.resources.limits.memory=8Gi"];
    for set in [
        "postgresql.config.sharedBuffers=2GB",
        "postgresql.config.effectiveCacheSize=6GB",
        "postgresql.config.workMem=8064kB",
        "postgresql.config.maintenanceWorkMem=512MB",
        "postgresql.shmSize=646Mi",
    ] {
        args.extend(["--set", set]);
    }
    assert_lacks(
        &notes("standard", &args),
        &[SIZING_WARNING],
        "all set for 8Gi",
    );
    assert_lacks(&notes("standard", &[]), &[SIZING_WARNING], "defaults");
}

#[test]
fn no_password_note_when_the_secrets_are_supplied() {
    let both = notes(
        "standard",
        &[
            "--set",
            "postgresql.auth.existingSecret=db-creds",
            "--set",
            "valkey.auth.existingSecret=cache-creds",
        ],
    );
    assert_lacks(&both, &[PASSWORDS_NOTE], "both existingSecrets");
    assert_has(
        &both,
        &[
            "Secret \"db-creds\" (yours: postgresql.auth.existingSecret)",
            "get secret db-creds -o jsonpath='{.data.password}'",
            "get secret cache-creds -o jsonpath='{.data.valkey-password}'",
        ],
        "both existingSecrets",
    );

    let one = notes(
        "standard",
        &["--set", "postgresql.auth.existingSecret=db-creds"],
    );
    assert_has(
        &one,
        &[
            PASSWORDS_NOTE,
            "creates Secret \"ah-alert-history-valkey\"\n",
            "set\nvalkey.auth.existingSecret.",
        ],
        "PostgreSQL Secret supplied",
    );
    assert_lacks(
        &one,
        &[
            "creates Secrets",
            "\"ah-alert-history-postgresql\"\nwith random",
        ],
        "PostgreSQL Secret supplied",
    );
}

#[test]
fn add_ons_and_ingress_are_described_when_enabled() {
    let text = notes(
        "standard",
        &[
            "--set",
            "ingress.enabled=true",
            "--set",
            "ingress.tls.enabled=true",
            "--set",
            "ingress.host=alerts.example.com",
            "--set",
            "metrics.serviceMonitor.enabled=true",
            "--set",
            "metrics.serviceMonitor.labels.release=kube-prometheus-stack",
            "--set",
            "metrics.prometheusRule.enabled=true",
            "--set",
            "metrics.grafanaDashboards.enabled=true",
        ],
    );
    assert_has(
        &text,
        &[
            "https://alerts.example.com/",
            "ServiceMonitors: created, labelled release=kube-prometheus-stack.",
            "Alert rules: PrometheusRules created",
            "Grafana dashboard: ConfigMap \"ah-alert-history-postgresql-dashboard\"",
            "labelled grafana_dashboard=1",
            "searchNamespace=ALL",
        ],
        "add-ons on",
    );
    assert_lacks(&text, &["port-forward"], "add-ons on");
}

#[test]
fn monitoring_switched_off_says_so_and_how_to_switch_it_back_on() {
    let text = notes(
        "standard",
        &[
            "--set",
            "metrics.serviceMonitor.enabled=false,metrics.prometheusRule.enabled=false",
            "--set",
            "metrics.grafanaDashboards.enabled=false",
        ],
    );
    assert_has(
        &text,
        &[
            "ServiceMonitors: off (metrics.serviceMonitor.enabled=false; auto creates them where the Prometheus Operator is installed).",
            "Alert rules: off (metrics.prometheusRule.enabled=false; auto creates the PrometheusRules where the Prometheus Operator is installed).",
            "Grafana dashboard: off (metrics.grafanaDashboards.enabled=false; true creates it for the Grafana sidecar).",
        ],
        "monitoring off",
    );
    assert_lacks(&text, &["not created", "created,"], "monitoring off");
    // `true` for the ServiceMonitors alone: the dashboard's `auto` follows them.
    let text = notes(
        "standard",
        &["--set", "metrics.serviceMonitor.enabled=true"],
    );
    assert_has(
        &text,
        &[
            "ServiceMonitors: created.",
            "Grafana dashboard: ConfigMap \"ah-alert-history-postgresql-dashboard\"",
            "Alert rules: not created",
        ],
        "ServiceMonitors forced on",
    );
}

/// Names the NOTES give, and the kind of object each must be in the rendered chart.
#[test]
fn every_object_the_notes_name_exists() {
    let args = [
        "--set",
        "metrics.grafanaDashboards.enabled=true",
        "--set",
        "metrics.serviceMonitor.enabled=true",
    ];
    let text = notes("standard", &args);
    let docs = yaml_docs(&helm_template(&chart_dir("standard"), &args));
    for (kind, name) in [
        ("Service", "ah-alert-history"),
        ("Service", "ah-alert-history-postgresql-metrics"),
        // The hook Job that creates the Secrets the NOTES name (in its ConfigMap, below).
        ("Job", "ah-alert-history-generated-secrets"),
        ("ConfigMap", "ah-alert-history-generated-secrets"),
        (
            "PersistentVolumeClaim",
            "ah-alert-history-postgresql-backup",
        ),
        ("CronJob", "ah-alert-history-postgresql-backup"),
        ("ConfigMap", "ah-alert-history-postgresql-dashboard"),
    ] {
        assert!(text.contains(name), "NOTES do not name {kind} {name}");
        assert!(
            docs.iter()
                .any(|d| d["kind"] == kind && d["metadata"]["name"] == name),
            "NOTES name {kind} {name}, which the chart does not render"
        );
    }
    let created = docs
        .iter()
        .find(|d| {
            d["kind"] == "ConfigMap"
                && d["metadata"]["name"] == "ah-alert-history-generated-secrets"
        })
        .map(|d| d["data"]["secrets.json"].as_str().unwrap().to_string())
        .unwrap();
    for secret in ["ah-alert-history-postgresql", "ah-alert-history-valkey"] {
        assert!(
            text.contains(&format!("Secret \"{secret}\""))
                && created.contains(&format!("\"{secret}\"")),
            "NOTES name Secret {secret}, which the hook Job does not create"
        );
    }
    let schedule = docs
        .iter()
        .find(|d| {
            d["kind"] == "CronJob" && d["metadata"]["name"] == "ah-alert-history-postgresql-backup"
        })
        .map(|d| d["spec"]["schedule"].as_str().unwrap().to_string())
        .unwrap();
    assert!(
        text.contains(&format!("schedule \"{schedule}\"")),
        "schedule differs"
    );
    let lite = yaml_docs(&helm_template(&chart_dir("lite"), &[]));
    assert!(
        lite.iter().any(|d| d["kind"] == "PersistentVolumeClaim"
            && d["metadata"]["name"] == "ah-alert-history-data"),
        "lite NOTES name PVC ah-alert-history-data"
    );
}

#[test]
fn golden_notes() {
    for profile in profiles() {
        insta::assert_snapshot!(format!("{profile}_defaults"), notes(profile, &[]));
    }
    insta::assert_snapshot!(
        "standard_every_warning",
        notes(
            "standard",
            &[
                "--set",
                "networkPolicy.enabled=false",
                "--set",
                "postgresql.backup.enabled=false",
            ],
        )
    );
}
