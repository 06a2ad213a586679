//! The committed charts checked by real tools: `helm lint --strict`, `helm template` with
//! default and non-default values, strict Kubernetes schema validation (1.27 and the newest
//! version the validator ships), every custom resource against its real CRD, and Helm's own
//! enforcement of values.schema.json.

use std::collections::BTreeMap;
use std::process::Command;

use crate::common::{
    all_addons, assert_kube_valid, chart_dir, crd_schema, helm_template, profiles, repo, run_ok,
    tool, values_file, yaml_docs,
};

#[test]
fn helm_lint_strict_passes_on_both_charts_with_default_and_non_default_values() {
    for profile in profiles() {
        let chart = chart_dir(profile);
        run_ok(
            Command::new(tool("helm"))
                .args(["lint", "--strict"])
                .arg(&chart),
        );
        run_ok(
            Command::new(tool("helm"))
                .args(["lint", "--strict"])
                .arg(&chart)
                .arg("-f")
                .arg(values_file(profile)),
        );
    }
}

#[test]
fn non_default_values_reach_the_rendered_manifests() {
    // Templates quote strings differently (`"50Gi"`, `100Gi`); compare values, not quoting.
    let standard = helm_template(
        &chart_dir("standard"),
        &["-f", values_file("standard").to_str().unwrap()],
    )
    .replace('"', "");
    for expected in [
        "name: alerts-postgresql",
        "storageClassName: fast-ssd",
        "storage: 100Gi",
        "storageClassName: standard-rwo",
        "name: alerts-db-credentials",
        "schedule: 30 3 * * *",
        "timeZone: Europe/Berlin",
        "host: alerts.example.com",
        "kind: PrometheusRule",
        "kind: ServiceMonitor",
        "release: kube-prometheus-stack",
        "10.200.0.0/16",
        "memory: 4Gi",
        "node-pool: database",
        "priorityClassName: alerts-database",
        "value: database",
    ] {
        assert!(
            standard.contains(expected),
            "standard with production values lacks `{expected}`"
        );
    }
    let lite = helm_template(
        &chart_dir("lite"),
        &["-f", values_file("lite").to_str().unwrap()],
    )
    .replace('"', "");
    for expected in [
        "storageClassName: local-path",
        "storage: 20Gi",
        "serviceAccountName: alerts-sa",
        "host: alerts.team.example.com",
        "LLM_PROXY_URL: https://llm-proxy.team.example.com",
        "LLM_MODEL: openai/gpt-4o",
        "name: team-llm",
        "LOG_LEVEL: warning",
    ] {
        assert!(
            lite.contains(expected),
            "lite with small-team values lacks `{expected}`"
        );
    }
}

#[test]
fn every_manifest_passes_strict_kubernetes_schema_validation_on_1_27_and_newest() {
    for profile in profiles() {
        let mut args = all_addons(profile);
        let values = values_file(profile);
        for (label, extra) in [
            ("defaults", vec![]),
            // The values files name an existing LLM Secret, so the chart's own key goes.
            (
                "non-default values",
                vec!["-f", values.to_str().unwrap(), "--set", "app.llm.apiKey="],
            ),
        ] {
            args.extend(extra.iter().copied());
            let manifests = helm_template(&chart_dir(profile), &args);
            for summary in assert_kube_valid(&manifests, &format!("{profile} ({label})")) {
                assert!(
                    summary["validated"].as_u64().unwrap() > 3,
                    "{profile}: too few objects validated: {summary}"
                );
                // Custom resources are validated against their CRDs by the tests below.
                for name in summary["not_validated"].as_array().unwrap() {
                    let kind = name.as_str().unwrap().split('/').next().unwrap();
                    assert!(
                        CUSTOM_RESOURCES.iter().any(|(k, _)| *k == kind),
                        "{profile}: {name} validated by nothing"
                    );
                }
            }
        }
    }
}

/// The custom resources the charts render, and the file of each one's CRD (under the
/// install step's CRD directory).
const CUSTOM_RESOURCES: &[(&str, &str)] = &[
    (
        "PrometheusRule",
        "monitoring.coreos.com_prometheusrules.yaml",
    ),
    (
        "ServiceMonitor",
        "monitoring.coreos.com_servicemonitors.yaml",
    ),
    ("PodMonitor", "monitoring.coreos.com_podmonitors.yaml"),
    ("Cluster", "cloudnative-pg/postgresql.cnpg.io_clusters.yaml"),
    (
        "ScheduledBackup",
        "cloudnative-pg/postgresql.cnpg.io_scheduledbackups.yaml",
    ),
    (
        "ObjectStore",
        "cloudnative-pg/barmancloud.cnpg.io_objectstores.yaml",
    ),
];

/// Value sets of the ha chart that change its custom resources: synchronous replication,
/// TLS from your Secrets, the IAM role instead of keys, recovery to a point in time, and
/// backups off.
const HA_VARIANTS: &[&[&str]] = &[
    &[
        "--set",
        "cnpg.synchronous.enabled=true,cnpg.tls.serverTlsSecret=db-tls,cnpg.tls.serverCaSecret=db-ca",
    ],
    &[
        "--set",
        "cnpg.backup.s3Credentials.inheritFromIamRole=true,cnpg.backup.s3Credentials.existingSecret=",
        "--set",
        "cnpg.serviceAccountAnnotations.eks\\.amazonaws\\.com/role-arn=arn:aws:iam::1:role/backup",
    ],
    &[
        "--set",
        "cnpg.recovery.enabled=true,cnpg.recovery.sourceServerName=old-db,cnpg.backup.serverName=new-db",
        "--set-string",
        "cnpg.recovery.targetTime=2026-12-01T08:30:00Z",
    ],
    &["--set", "cnpg.backup.enabled=false"],
];

/// Every custom resource of every chart (with its add-ons on, with the values files, and
/// with the ha variants) against its real CRD made strict: PrometheusRules,
/// ServiceMonitors and PodMonitors against the Prometheus Operator's, the CloudNativePG
/// Cluster and ScheduledBackup against CloudNativePG's, the ObjectStore against the Barman
/// Cloud plugin's.
#[test]
fn custom_resources_match_their_crds_made_strict() {
    let validators: Vec<(&str, jsonschema::Validator)> = CUSTOM_RESOURCES
        .iter()
        .map(|(kind, file)| (*kind, jsonschema::validator_for(&crd_schema(file)).unwrap()))
        .collect();
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for profile in profiles() {
        let values = values_file(profile);
        let mut cases: Vec<Vec<&str>> = vec![
            all_addons(profile),
            vec!["-f", values.to_str().unwrap(), "--set", "app.llm.apiKey="],
        ];
        if profile == "ha" {
            cases.extend(HA_VARIANTS.iter().map(|v| v.to_vec()));
        }
        for args in &cases {
            let docs = yaml_docs(&helm_template(&chart_dir(profile), args));
            for doc in &docs {
                let Some((kind, validator)) = validators
                    .iter()
                    .find(|(kind, _)| doc["kind"].as_str() == Some(kind))
                else {
                    continue;
                };
                *seen.entry(kind).or_default() += 1;
                let errors: Vec<String> = validator
                    .iter_errors(doc)
                    .map(|e| format!("{} at {}", e, e.instance_path()))
                    .collect();
                assert!(
                    errors.is_empty(),
                    "{profile} {args:?}: {kind} {} violates its CRD:\n{}",
                    doc["metadata"]["name"],
                    errors.join("\n")
                );
            }
        }
    }
    for (kind, _) in CUSTOM_RESOURCES {
        assert!(
            seen.get(kind).copied().unwrap_or(0) >= 2,
            "expected {kind} objects to validate, saw {seen:?}"
        );
    }
}

const SERVICE_MONITOR_API: &str = "monitoring.coreos.com/v1/ServiceMonitor";
const PROMETHEUS_RULE_API: &str = "monitoring.coreos.com/v1/PrometheusRule";

/// Numbers of ServiceMonitors, PrometheusRules and Grafana dashboard ConfigMaps.
type Monitoring = (usize, usize, usize);

/// How many ServiceMonitors, PrometheusRules and Grafana dashboard ConfigMaps the standard
/// chart renders with these `helm template` arguments.
fn monitoring_objects(args: &[&str]) -> Monitoring {
    let docs = yaml_docs(&helm_template(&chart_dir("standard"), args));
    let count = |kind: &str, suffix: &str| {
        docs.iter()
            .filter(|d| {
                d["kind"] == kind
                    && d["metadata"]["name"]
                        .as_str()
                        .is_some_and(|n| n.ends_with(suffix))
            })
            .count()
    };
    (
        count("ServiceMonitor", ""),
        count("PrometheusRule", ""),
        count("ConfigMap", "-dashboard"),
    )
}

/// `metrics.*.enabled` default to `auto`: ServiceMonitors and PrometheusRules exactly when
/// the cluster serves their API (`helm template --api-versions` stands in for the cluster),
/// the Grafana dashboard with the ServiceMonitors; `true` renders them without the API,
/// `false` never, and the three spellings work with `--set`, `--set-string` (`auto`) and a
/// values file, for Helm and alertchart alike.
#[test]
fn monitoring_is_on_where_the_cluster_has_the_prometheus_operator_apis() {
    let (sm, pr) = (SERVICE_MONITOR_API, PROMETHEUS_RULE_API);
    let values = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        values.path(),
        "metrics:\n  serviceMonitor:\n    enabled: auto\n  prometheusRule:\n    enabled: true\n  grafanaDashboards:\n    enabled: no\n",
    )
    .unwrap();
    let file = values.path().to_str().unwrap();
    let all_true = "metrics.serviceMonitor.enabled=true,metrics.prometheusRule.enabled=true";
    let all_false = "metrics.serviceMonitor.enabled=false,metrics.prometheusRule.enabled=false,metrics.grafanaDashboards.enabled=false";
    let cases: &[(&[&str], Monitoring)] = &[
        // Defaults (auto): nothing without the APIs, each kind with its own API.
        (&[], (0, 0, 0)),
        (&["--api-versions", sm], (2, 0, 1)),
        (&["--api-versions", pr], (0, 2, 0)),
        (&["--api-versions", sm, "--api-versions", pr], (2, 2, 1)),
        // The group/version alone does not say the CRD of the kind is installed.
        (&["--api-versions", "monitoring.coreos.com/v1"], (0, 0, 0)),
        // An explicit `auto`, from --set and --set-string.
        (
            &[
                "--set",
                "metrics.serviceMonitor.enabled=auto",
                "--api-versions",
                sm,
            ],
            (2, 0, 1),
        ),
        (
            &["--set-string", "metrics.prometheusRule.enabled=auto"],
            (0, 0, 0),
        ),
        // `true` renders without the APIs (Helm's --set types True as a boolean too).
        (&["--set", all_true], (2, 2, 1)),
        (&["--set", "metrics.prometheusRule.enabled=True"], (0, 2, 0)),
        (
            &["--set", "metrics.grafanaDashboards.enabled=true"],
            (0, 0, 1),
        ),
        // `false` never renders, even with the APIs.
        (
            &[
                "--set",
                all_false,
                "--api-versions",
                sm,
                "--api-versions",
                pr,
            ],
            (0, 0, 0),
        ),
        (
            &[
                "--set",
                "metrics.grafanaDashboards.enabled=false",
                "--api-versions",
                sm,
            ],
            (2, 0, 0),
        ),
        // A values file: auto, true and YAML 1.1's `no`.
        (&["-f", file, "--api-versions", sm], (2, 2, 0)),
        (&["-f", file], (0, 2, 0)),
    ];
    for (args, expected) in cases {
        assert_eq!(
            monitoring_objects(args),
            *expected,
            "(ServiceMonitors, PrometheusRules, dashboards) of helm template {args:?}"
        );
    }
}

/// The monitoring switches take `auto`, `true` and `false` from alertchart's flags as from
/// Helm's, and both refuse anything else.
#[test]
fn alertchart_and_helm_take_auto_true_and_false_and_refuse_other_switch_values() {
    let values = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        values.path(),
        "metrics:\n  serviceMonitor:\n    enabled: auto\n  grafanaDashboards:\n    enabled: no\n",
    )
    .unwrap();
    let file = values.path().to_str().unwrap();
    // alertchart takes the same flags and keeps them in the chart's values.yaml.
    for set in ["auto", "true", "false", "TRUE"] {
        let arg = format!("metrics.serviceMonitor.enabled={set}");
        let out = Command::new(env!("CARGO_BIN_EXE_alertchart"))
            .args(["validate", "--set", &arg, "-f", file])
            .current_dir(repo())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "alertchart validate --set {arg}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let dir = tempfile::tempdir().unwrap();
    run_ok(
        Command::new(env!("CARGO_BIN_EXE_alertchart"))
            .args([
                "render",
                "--set",
                "metrics.prometheusRule.enabled=true",
                "--out",
            ])
            .arg(dir.path())
            .current_dir(repo()),
    );
    let values = std::fs::read_to_string(dir.path().join("alert-history/values.yaml")).unwrap();
    assert!(values.contains("    enabled: auto\n"), "{values}");
    assert!(values.contains("    enabled: true\n"), "{values}");
    // Anything else is refused by both.
    for set in ["maybe", "on", "Auto", "1"] {
        assert_refused_alike(
            &format!("metrics.prometheusRule.enabled={set}"),
            "/metrics/prometheusRule/enabled",
            "metrics.prometheusRule.enabled",
            "is not one of `true`, `false`, `auto`",
        );
    }
}

/// `helm template` of the standard chart refuses `--set set` through values.schema.json,
/// naming `helm_path`, and `alertchart validate` exits 1 naming `key` with `message`.
fn assert_refused_alike(set: &str, helm_path: &str, key: &str, message: &str) {
    let helm = Command::new(tool("helm"))
        .args(["template", "ah"])
        .arg(chart_dir("standard"))
        .args(["--set", set])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&helm.stderr);
    assert!(
        !helm.status.success() && stderr.contains(helm_path),
        "helm --set {set}: {stderr}"
    );
    let ours = Command::new(env!("CARGO_BIN_EXE_alertchart"))
        .args(["validate", "--set", set])
        .current_dir(repo())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&ours.stderr);
    assert_eq!(
        ours.status.code(),
        Some(1),
        "alertchart --set {set}: {stderr}"
    );
    assert!(
        stderr.contains(key) && stderr.contains(message),
        "alertchart --set {set}: {stderr}"
    );
}

/// The roles init.sql manages itself cannot be the app user: one rule, in the schema, so
/// `alertchart validate` and `helm install` refuse the same names.
#[test]
fn reserved_role_names_as_the_app_user_are_refused_by_alertchart_and_helm_alike() {
    for name in ["postgres", "postgres_exporter", "replicator"] {
        assert_refused_alike(
            &format!("postgresql.auth.username={name}"),
            "/postgresql/auth/username",
            "postgresql.auth.username",
            "which the chart manages",
        );
    }
    helm_template(
        &chart_dir("standard"),
        &["--set", "postgresql.auth.username=alerts_app"],
    );
}

/// The rules between keys that the schema states (`x-rule`) bind Helm as they bind alertchart:
/// the LLM key, and a toleration's value against its operator.
#[test]
fn rules_between_keys_in_the_schema_are_refused_by_alertchart_and_helm_alike() {
    for (set, helm_path, key, message) in [
        (
            "app.llm.enabled=true",
            "/app/llm",
            "app.llm.enabled",
            "needs an API key",
        ),
        (
            "app.llm.apiKey=k,app.llm.existingSecret=s",
            "/app/llm",
            "app.llm.apiKey",
            "must be empty when app.llm.existingSecret names the Secret",
        ),
        (
            "app.tolerations[0].key=a,app.tolerations[0].operator=Equal",
            "/app/tolerations/0",
            "app.tolerations.0.value",
            "is required with operator `Equal`",
        ),
        (
            "postgresql.tolerations[0].key=a,postgresql.tolerations[0].operator=Exists,postgresql.tolerations[0].value=b",
            "/postgresql/tolerations/0",
            "postgresql.tolerations.0.value",
            "must be empty with operator `Exists`",
        ),
    ] {
        assert_refused_alike(set, helm_path, key, message);
    }
}

#[test]
fn helm_rejects_an_unknown_key_and_a_wrong_type_through_values_schema() {
    for (profile, set, expected) in [
        ("standard", "postgresql.resources.limits.memry=4Gi", "memry"),
        (
            "standard",
            "postgresql.resources.limits.memory=4Gii",
            "memory",
        ),
        ("standard", "service.port=abc", "port"),
        ("lite", "postgresql.enabled=true", "postgresql"),
        ("lite", "persistence.size=-1Gi", "size"),
    ] {
        let out = Command::new(tool("helm"))
            .args(["template", "ah"])
            .arg(chart_dir(profile))
            .args(["--set", set])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "{profile}: helm accepted --set {set}"
        );
        assert!(
            stderr.contains("schema") && stderr.contains(expected),
            "{profile} --set {set}: {stderr}"
        );
    }
    let ok = helm_template(
        &chart_dir("standard"),
        &["--set", "postgresql.resources.limits.memory=4Gi"],
    );
    assert!(ok.contains("memory: 4Gi"), "a valid --set must render");
}

#[test]
fn helm_package_builds_each_chart() {
    for profile in profiles() {
        let dir = tempfile::tempdir().unwrap();
        run_ok(
            Command::new(tool("helm"))
                .arg("package")
                .arg(chart_dir(profile))
                .arg("-d")
                .arg(dir.path()),
        );
        let package = dir
            .path()
            .join(format!("alert-history-{}.tgz", env!("CARGO_PKG_VERSION")));
        assert!(
            package.is_file(),
            "{profile}: {} not written",
            package.display()
        );
    }
}
