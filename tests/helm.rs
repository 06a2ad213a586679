//! The committed charts checked by real tools: `helm lint --strict`, `helm template` with
//! default and non-default values, strict Kubernetes schema validation (1.27 and the newest
//! version the validator ships), the prometheus-operator CRD schemas, and Helm's own
//! enforcement of values.schema.json.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{
    all_addons, assert_kube_valid, chart_dir, helm_template, repo, run_ok, tool, tools_env,
    yaml_docs,
};
use serde_json::Value;

const PROFILES: [&str; 2] = ["standard", "lite"];

/// The non-default values file of each profile's tests.
fn values_file(profile: &str) -> PathBuf {
    let name = match profile {
        "standard" => "standard-production.yaml",
        _ => "lite-small-team.yaml",
    };
    repo().join("tests/values").join(name)
}

#[test]
fn helm_lint_strict_passes_on_both_charts_with_default_and_non_default_values() {
    for profile in PROFILES {
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
    for profile in PROFILES {
        let mut args = all_addons(profile);
        let values = values_file(profile);
        for (label, extra) in [
            ("defaults", vec![]),
            ("non-default values", vec!["-f", values.to_str().unwrap()]),
        ] {
            args.extend(extra.iter().copied());
            let manifests = helm_template(&chart_dir(profile), &args);
            for summary in assert_kube_valid(&manifests, &format!("{profile} ({label})")) {
                assert!(
                    summary["validated"].as_u64().unwrap() > 3,
                    "{profile}: too few objects validated: {summary}"
                );
                // Custom resources are validated against their CRDs by the next test.
                for name in summary["not_validated"].as_array().unwrap() {
                    let kind = name.as_str().unwrap().split('/').next().unwrap();
                    assert!(
                        ["PrometheusRule", "ServiceMonitor"].contains(&kind),
                        "{profile}: {name} validated by nothing"
                    );
                }
            }
        }
    }
}

/// The openAPIV3Schema of a prometheus-operator CRD, made strict: objects that list their
/// properties reject unknown ones, as a strict client-side validation would.
fn crd_schema(file: &str) -> Value {
    let path = tools_env("CRDS_DIR")
        .filter(|d| !d.is_empty())
        .map_or_else(|| repo().join(".tools/crds"), std::path::PathBuf::from)
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let crd: Value = yaml_serde::from_str(&text).unwrap();
    let mut schema = crd["spec"]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "v1")
        .expect("a v1 version")["schema"]["openAPIV3Schema"]
        .clone();
    make_strict(&mut schema);
    schema
}

fn make_strict(schema: &mut Value) {
    match schema {
        Value::Object(obj) => {
            if obj.contains_key("properties")
                && !obj.contains_key("additionalProperties")
                && obj.get("x-kubernetes-preserve-unknown-fields") != Some(&Value::Bool(true))
            {
                obj.insert("additionalProperties".into(), Value::Bool(false));
            }
            obj.values_mut().for_each(make_strict);
        }
        Value::Array(items) => items.iter_mut().for_each(make_strict),
        _ => {}
    }
}

#[test]
fn prometheus_rules_and_service_monitors_match_the_operator_crds() {
    let rules =
        jsonschema::validator_for(&crd_schema("monitoring.coreos.com_prometheusrules.yaml"))
            .unwrap();
    let monitors =
        jsonschema::validator_for(&crd_schema("monitoring.coreos.com_servicemonitors.yaml"))
            .unwrap();
    let mut seen = (0, 0);
    for profile in PROFILES {
        let docs = yaml_docs(&helm_template(&chart_dir(profile), &all_addons(profile)));
        for doc in &docs {
            let (validator, count) = match doc["kind"].as_str() {
                Some("PrometheusRule") => (&rules, &mut seen.0),
                Some("ServiceMonitor") => (&monitors, &mut seen.1),
                _ => continue,
            };
            *count += 1;
            let errors: Vec<String> = validator
                .iter_errors(doc)
                .map(|e| format!("{} at {}", e, e.instance_path()))
                .collect();
            assert!(
                errors.is_empty(),
                "{profile}: {} {} violates its CRD:\n{}",
                doc["kind"],
                doc["metadata"]["name"],
                errors.join("\n")
            );
        }
    }
    assert!(
        seen.0 >= 2 && seen.1 >= 2,
        "expected PrometheusRules and ServiceMonitors, saw {seen:?}"
    );
}

/// The roles init.sql manages itself cannot be the app user: one rule, in the schema, so
/// `alertchart validate` and `helm install` refuse the same names.
#[test]
fn reserved_role_names_as_the_app_user_are_refused_by_alertchart_and_helm_alike() {
    for name in ["postgres", "postgres_exporter", "replicator"] {
        let set = format!("postgresql.auth.username={name}");
        let helm = Command::new(tool("helm"))
            .args(["template", "ah"])
            .arg(chart_dir("standard"))
            .args(["--set", &set])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&helm.stderr);
        assert!(
            !helm.status.success() && stderr.contains("/postgresql/auth/username"),
            "helm --set {set}: {stderr}"
        );
        let ours = Command::new(env!("CARGO_BIN_EXE_alertchart"))
            .args(["validate", "--set", &set])
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
            stderr.contains("postgresql.auth.username")
                && stderr.contains("which the chart manages"),
            "alertchart --set {set}: {stderr}"
        );
    }
    helm_template(
        &chart_dir("standard"),
        &["--set", "postgresql.auth.username=alerts_app"],
    );
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
    for profile in PROFILES {
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
