//! The Grafana dashboards of the committed charts (`dashboards/*.json`, shipped in ConfigMaps
//! for the Grafana sidecar when `metrics.grafanaDashboards.enabled`): valid JSON that selects
//! its Prometheus through a `datasource` variable and never a hard-coded one; every query
//! parses (the real `promtool`) and is scoped to the release picked in the dashboard; every
//! metric of the application dashboard is one the application or the standard Kubernetes
//! exporters document; and the ConfigMaps exist only when enabled, with the sidecar label.
//! The PostgreSQL dashboard's metrics are checked against the real exporter's output in
//! tests/postgresql_dashboard.rs.

mod common;
#[path = "common/dashboards.rs"]
mod dashboards;

use std::collections::BTreeSet;
use std::fs;
use std::process::Command;

use common::promql::unexplained;
use common::{chart_dir, helm_template, run_ok, tool, yaml_docs};
use dashboards::{APP_DASHBOARD, PG_DASHBOARD, dashboard, metric_names, queries, used_metrics};
use serde_json::Value;

/// Every dashboard of every chart: (profile, file, parsed JSON).
fn all_dashboards() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        (
            "standard",
            APP_DASHBOARD,
            dashboard("standard", APP_DASHBOARD),
        ),
        (
            "standard",
            PG_DASHBOARD,
            dashboard("standard", PG_DASHBOARD),
        ),
        ("lite", APP_DASHBOARD, dashboard("lite", APP_DASHBOARD)),
    ]
}

/// Every `datasource` reference in a JSON tree, with its JSON path.
fn datasource_refs(value: &Value, path: &str, out: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let p = format!("{path}/{k}");
                if k == "datasource" {
                    out.push((p.clone(), v.clone()));
                }
                datasource_refs(v, &p, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                datasource_refs(v, &format!("{path}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn each_chart_ships_its_dashboards_and_lite_has_no_postgresql_one() {
    for file in [APP_DASHBOARD, PG_DASHBOARD] {
        assert!(
            chart_dir("standard").join(file).is_file(),
            "standard lacks {file}"
        );
    }
    assert!(chart_dir("lite").join(APP_DASHBOARD).is_file());
    assert!(
        !chart_dir("lite").join(PG_DASHBOARD).exists(),
        "the lite chart must not contain the PostgreSQL dashboard"
    );
}

#[test]
fn every_dashboard_uses_a_prometheus_datasource_variable_and_no_hard_coded_datasource() {
    for (profile, file, d) in all_dashboards() {
        let text = fs::read_to_string(chart_dir(profile).join(file)).unwrap();
        // `[[var]]` is Grafana's deprecated variable syntax, and Tera's variable delimiter in
        // the chart sources: neither belongs in a dashboard.
        for banned in ["[[", "__inputs", "${DS_", "__requires"] {
            assert!(
                !text.contains(banned),
                "{profile} {file} contains `{banned}`"
            );
        }
        let vars = d["templating"]["list"].as_array().expect("templating.list");
        let ds: Vec<&Value> = vars.iter().filter(|v| v["name"] == "datasource").collect();
        assert_eq!(ds.len(), 1, "{file}: one `datasource` variable");
        assert_eq!(
            ds[0]["type"], "datasource",
            "{file}: datasource variable type"
        );
        assert_eq!(
            ds[0]["query"], "prometheus",
            "{file}: datasource variable plugin"
        );

        let mut refs = Vec::new();
        datasource_refs(&d, "", &mut refs);
        assert!(refs.len() > 5, "{file}: too few datasource references");
        for (path, r) in refs {
            let builtin_annotations = r["type"] == "grafana" && r["uid"] == "-- Grafana --";
            assert!(
                builtin_annotations || (r["type"] == "prometheus" && r["uid"] == "${datasource}"),
                "{file}: {path} is {r}, expected {{\"type\": \"prometheus\", \"uid\": \"${{datasource}}\"}}"
            );
        }
        for (title, expr) in queries(&d) {
            assert!(
                !expr.trim().is_empty(),
                "{file}: panel `{title}` has an empty query"
            );
        }
    }
}

#[test]
fn dashboard_structure_is_what_grafana_loads() {
    for (profile, file, d) in all_dashboards() {
        for key in [
            "uid",
            "title",
            "schemaVersion",
            "panels",
            "templating",
            "time",
        ] {
            assert!(d.get(key).is_some(), "{profile} {file}: no `{key}`");
        }
        let uid = d["uid"].as_str().unwrap();
        assert!(
            uid.len() <= 40,
            "{file}: Grafana uids have at most 40 characters"
        );
        let mut ids = BTreeSet::new();
        for panel in d["panels"].as_array().unwrap() {
            let id = panel["id"].as_u64().expect("numeric panel id");
            assert!(ids.insert(id), "{file}: panel id {id} twice");
            let pos = &panel["gridPos"];
            let (x, w) = (pos["x"].as_u64().unwrap(), pos["w"].as_u64().unwrap());
            assert!(x + w <= 24, "{file}: panel {id} is wider than the grid");
            assert!(
                pos["h"].as_u64().unwrap() > 0,
                "{file}: panel {id} has no height"
            );
        }
        assert!(ids.len() > 8, "{file}: only {} panels", ids.len());
    }
    assert_ne!(
        dashboard("standard", APP_DASHBOARD)["uid"],
        dashboard("standard", PG_DASHBOARD)["uid"]
    );
}

/// The dashboards' PromQL with Grafana's variables replaced by plausible values.
fn substituted(expr: &str) -> String {
    expr.replace("$__rate_interval", "1m")
        .replace("$__range", "1h")
        .replace("$namespace", "alerts")
        .replace("$job", "ah-alert-history")
}

#[test]
fn every_query_is_valid_promql_for_promtool() {
    let dir = tempfile::tempdir().unwrap();
    let mut rules = Vec::new();
    for (profile, file, d) in all_dashboards() {
        for (i, (_, expr)) in queries(&d).into_iter().enumerate() {
            let name = file
                .trim_start_matches("dashboards/")
                .trim_end_matches(".json");
            rules.push(serde_json::json!({
                "record": format!("dashboard:{profile}_{}:{i}", name.replace('-', "_")),
                "expr": substituted(&expr),
            }));
        }
    }
    let count = rules.len();
    let file = dir.path().join("dashboards.rules.yaml");
    let doc = serde_json::json!({ "groups": [{ "name": "dashboards", "rules": rules }] });
    fs::write(&file, yaml_serde::to_string(&doc).unwrap()).unwrap();
    let out = run_ok(
        Command::new(tool("promtool"))
            .args(["check", "rules"])
            .arg(&file),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("SUCCESS: {count} rules found")),
        "promtool: {stdout}"
    );
}

#[test]
fn every_selector_is_scoped_to_the_release_picked_in_the_dashboard() {
    for (profile, file, d) in all_dashboards() {
        for (title, expr) in queries(&d) {
            let sels = common::promql::selectors(&expr);
            assert!(!sels.is_empty(), "{file} `{title}`: no selector in {expr}");
            for (metric, matchers) in sels {
                let scoped = matchers.contains("namespace=\"$namespace\"")
                    && [
                        "job=\"$job\"",
                        "pod=~\"$job-[a-z0-9]+-[a-z0-9]+\"",
                        "deployment=\"$job\"",
                        "horizontalpodautoscaler=\"$job\"",
                    ]
                    .iter()
                    .any(|m| matchers.contains(m));
                assert!(
                    scoped,
                    "{profile} {file} `{title}`: {metric}{{{matchers}}} is not limited to the chosen namespace and job"
                );
            }
        }
    }
}

#[test]
fn metric_names_are_found_in_promql() {
    let names = metric_names(
        "sum by (le, endpoint) (rate(a_bucket{x=\"1\"}[5m])) / (max(b) - 2147483648) \
         and on (datname) c == 1 > 0.95",
    );
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        ["a_bucket", "b", "c"]
    );
}

/// The metric families the application exposes on /metrics. Source: ipiton/alert-history-service,
/// src/alert_history/api/metrics.py (class `LegacyMetrics`, commit 2c541b8), whose registry is
/// what `/metrics` serves (src/alert_history/api/legacy_adapter.py `_handle_metrics`:
/// `generate_latest(self.metrics.registry)`), in the image the chart deploys. A custom
/// registry: no process_* or python_* collectors. (family, prometheus_client type)
const APP_METRICS: &[(&str, &str)] = &[
    ("alert_history_webhook_events_total", "counter"),
    ("alert_history_request_latency_seconds", "histogram"),
    ("alert_history_webhook_errors_total", "counter"),
    ("alert_history_database_operations_total", "counter"),
    ("alert_history_alerts_stored_total", "gauge"),
    ("alert_history_database_size_bytes", "gauge"),
    ("alert_history_classification_total", "counter"),
    ("alert_history_classification_duration_seconds", "histogram"),
    ("alert_history_classification_errors_total", "counter"),
    ("alert_history_classification_confidence", "histogram"),
    ("alert_history_publishing_total", "counter"),
    ("alert_history_publishing_duration_seconds", "histogram"),
    ("alert_history_publishing_targets_discovered", "gauge"),
    ("alert_history_publishing_queue_size", "gauge"),
    ("alert_history_enrichment_mode_switches_total", "counter"),
    ("alert_history_enrichment_mode_status", "gauge"),
    ("alert_history_enrichment_mode_requests_total", "counter"),
    (
        "alert_history_enrichment_transparent_alerts_total",
        "counter",
    ),
    ("alert_history_enrichment_enriched_alerts_total", "counter"),
    ("alert_history_cache_hits_total", "counter"),
    ("alert_history_cache_misses_total", "counter"),
    ("alert_history_service_started_time", "gauge"),
    ("alert_history_active_connections", "gauge"),
];

/// Standard Kubernetes metrics the application dashboard uses for its pods, as
/// kube-prometheus-stack scrapes them. Sources: kube-state-metrics v2
/// docs/metrics/workload/pod-metrics.md, deployment-metrics.md and
/// horizontalpodautoscaler-metrics.md (all STABLE); cAdvisor docs/storage/prometheus.md
/// (the kubelet's /metrics/cadvisor).
const KUBERNETES_METRICS: &[&str] = &[
    "kube_pod_container_status_restarts_total",
    "kube_pod_container_resource_requests",
    "kube_pod_container_resource_limits",
    "kube_deployment_status_replicas_available",
    "kube_deployment_spec_replicas",
    "kube_horizontalpodautoscaler_spec_max_replicas",
    "container_cpu_usage_seconds_total",
    "container_memory_working_set_bytes",
];

/// The sample names of the application's metric families, as prometheus_client writes them.
fn app_sample_names() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (family, kind) in APP_METRICS {
        match *kind {
            "histogram" => {
                for suffix in ["_bucket", "_sum", "_count", "_created"] {
                    names.insert(format!("{family}{suffix}"));
                }
            }
            "counter" => {
                names.insert((*family).to_string());
                let base = family.strip_suffix("_total").unwrap_or(family);
                names.insert(format!("{base}_created"));
            }
            _ => {
                names.insert((*family).to_string());
            }
        }
    }
    names
}

#[test]
fn application_dashboard_metrics_are_documented_by_the_app_or_kubernetes() {
    let known: BTreeSet<String> = app_sample_names()
        .into_iter()
        .chain(KUBERNETES_METRICS.iter().map(|m| (*m).to_string()))
        .collect();
    for profile in ["standard", "lite"] {
        let used = used_metrics(&dashboard(profile, APP_DASHBOARD));
        let unknown = unexplained(&used, |name| known.contains(name), "panels: ", "; ");
        assert!(
            unknown.is_empty(),
            "{profile}: application dashboard metrics the app and Kubernetes do not document:\n{}",
            unknown.join("\n")
        );
        assert!(
            used.keys().any(|m| m.starts_with("alert_history_"))
                && used.keys().any(|m| m.starts_with("kube_"))
                && used.keys().any(|m| m.starts_with("container_")),
            "{profile}: the app dashboard shows app, kube-state-metrics and cAdvisor metrics"
        );
    }
}

/// The dashboard ConfigMaps of a rendered chart.
fn dashboard_configmaps(docs: &[Value]) -> Vec<&Value> {
    docs.iter()
        .filter(|d| {
            d["kind"] == "ConfigMap"
                && d["metadata"]["name"]
                    .as_str()
                    .is_some_and(|n| n.ends_with("-dashboard"))
        })
        .collect()
}

#[test]
fn dashboard_configmaps_render_only_when_enabled_and_carry_the_sidecar_label() {
    for (profile, expected) in [
        (
            "standard",
            vec![
                (
                    "ah-alert-history-dashboard",
                    "alert-history.json",
                    APP_DASHBOARD,
                ),
                (
                    "ah-alert-history-postgresql-dashboard",
                    "postgresql.json",
                    PG_DASHBOARD,
                ),
            ],
        ),
        (
            "lite",
            vec![(
                "ah-alert-history-dashboard",
                "alert-history.json",
                APP_DASHBOARD,
            )],
        ),
    ] {
        let chart = chart_dir(profile);
        let off = yaml_docs(&helm_template(&chart, &[]));
        assert!(
            dashboard_configmaps(&off).is_empty(),
            "{profile}: dashboards rendered while metrics.grafanaDashboards.enabled=false"
        );

        let on = yaml_docs(&helm_template(
            &chart,
            &[
                "--set",
                "metrics.grafanaDashboards.enabled=true",
                "--set",
                "metrics.grafanaDashboards.annotations.grafana_folder=Databases",
            ],
        ));
        let maps = dashboard_configmaps(&on);
        assert_eq!(
            maps.len(),
            expected.len(),
            "{profile}: dashboard ConfigMaps"
        );
        for (name, key, file) in expected {
            let cm = maps
                .iter()
                .find(|m| m["metadata"]["name"] == name)
                .unwrap_or_else(|| panic!("{profile}: no ConfigMap {name}"));
            let meta = &cm["metadata"];
            assert_eq!(
                meta["labels"]["grafana_dashboard"], "1",
                "{name}: sidecar label"
            );
            assert_eq!(meta["labels"]["app.kubernetes.io/instance"], "ah", "{name}");
            assert_eq!(meta["annotations"]["grafana_folder"], "Databases", "{name}");
            let data = cm["data"].as_object().expect("data");
            assert_eq!(data.len(), 1, "{name}: one dashboard per ConfigMap");
            let embedded: Value = serde_json::from_str(
                data[key]
                    .as_str()
                    .unwrap_or_else(|| panic!("{name}: no key {key}")),
            )
            .unwrap_or_else(|e| panic!("{name}/{key} is not JSON: {e}"));
            assert_eq!(
                embedded,
                dashboard(profile, file),
                "{name}: the ConfigMap must carry {file} unchanged (legend `{{{{...}}}}` included)"
            );
        }

        // Another sidecar label (e.g. a Grafana configured with a different one) replaces it.
        let relabelled = yaml_docs(&helm_template(
            &chart,
            &[
                "--set",
                "metrics.grafanaDashboards.enabled=true",
                "--set",
                "metrics.grafanaDashboards.labels.grafana_dashboard=null",
                "--set",
                "metrics.grafanaDashboards.labels.team-dashboards=alerting",
            ],
        ));
        for cm in dashboard_configmaps(&relabelled) {
            let labels = &cm["metadata"]["labels"];
            assert!(
                labels.get("grafana_dashboard").is_none(),
                "{profile}: {labels}"
            );
            assert_eq!(labels["team-dashboards"], "alerting", "{profile}");
        }
    }
}
