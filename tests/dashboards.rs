//! The Grafana dashboards of the committed charts (`dashboards/*.json`, shipped in ConfigMaps
//! for the Grafana sidecar when `metrics.grafanaDashboards.enabled`): valid JSON that selects
//! its Prometheus through a `datasource` variable and never a hard-coded one; every query
//! parses (the real `promtool`) and is scoped to the release picked in the dashboard; every
//! metric of the PostgreSQL dashboard is in the real postgres_exporter's /metrics output (or
//! in a short, justified list of v0.15-only collector metrics); every metric of the
//! application dashboard is one the application or the standard Kubernetes exporters
//! document; and the ConfigMaps exist only when enabled, with the sidecar label.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::PathBuf;
use std::process::Command;

use common::{chart_dir, helm_template, run_ok, tool, yaml_docs};
use serde_json::Value;

const PG_DASHBOARD: &str = "dashboards/postgresql.json";
const APP_DASHBOARD: &str = "dashboards/alert-history.json";

/// A dashboard file of a profile's committed chart, parsed.
fn dashboard(profile: &str, file: &str) -> Value {
    let path = chart_dir(profile).join(file);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

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

/// The panels that query (rows excluded), with their queries.
fn queries(dashboard: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        if panel["type"] == "row" {
            continue;
        }
        let title = panel["title"].as_str().unwrap_or("?").to_string();
        for target in panel["targets"].as_array().into_iter().flatten() {
            out.push((
                title.clone(),
                target["expr"].as_str().unwrap_or("").to_string(),
            ));
        }
    }
    out
}

/// The metric of each `label_values(metric{...}, label)` variable query.
fn variable_metrics(dashboard: &Value) -> Vec<String> {
    dashboard["templating"]["list"]
        .as_array()
        .expect("templating.list")
        .iter()
        .filter(|v| v["type"] == "query")
        .map(|v| {
            let q = v["query"]
                .as_str()
                .expect("a query variable's query is a string");
            let inner = q
                .strip_prefix("label_values(")
                .unwrap_or_else(|| panic!("unexpected variable query {q}"));
            inner.split(['{', ',']).next().unwrap().trim().to_string()
        })
        .collect()
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

/// The metric selectors `name{...}` of a PromQL expression, as (name, matchers).
fn selectors(expr: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut rest = expr;
    while let Some(open) = rest.find('{') {
        let name: String = rest[..open]
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let close = open + rest[open..].find('}').expect("unbalanced braces");
        found.push((name, rest[open + 1..close].to_string()));
        rest = &rest[close + 1..];
    }
    found
}

#[test]
fn every_selector_is_scoped_to_the_release_picked_in_the_dashboard() {
    for (profile, file, d) in all_dashboards() {
        for (title, expr) in queries(&d) {
            let sels = selectors(&expr);
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

/// PromQL keywords followed by a label list.
const LABEL_LISTS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];
/// Operators and aggregations that may be written without a parenthesis right after them
/// (`max by (x) (...)`).
const KEYWORDS: &[&str] = &[
    "and", "or", "unless", "bool", "offset", "sum", "min", "max", "avg", "count", "topk",
    "bottomk", "quantile", "group", "stddev", "stdvar",
];

/// Metric names a PromQL expression selects (not functions, keywords or label names).
fn metric_names(expr: &str) -> BTreeSet<String> {
    // Drop strings, label matchers {...} and range selectors [...].
    let mut cleaned = String::new();
    let (mut depth, mut quote) = (0u32, None::<char>);
    for ch in expr.chars() {
        if let Some(q) = quote {
            if ch == q {
                quote = None;
            }
            continue;
        }
        match ch {
            '"' | '\'' | '`' => quote = Some(ch),
            '{' | '[' => depth += 1,
            '}' | ']' => depth = depth.saturating_sub(1),
            _ if depth == 0 => cleaned.push(ch),
            _ => {}
        }
    }
    let chars: Vec<char> = cleaned.chars().collect();
    let mut names = BTreeSet::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() || c == '.' {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
            continue;
        }
        if !(c.is_ascii_alphabetic() || c == '_' || c == ':') {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && (chars[i].is_ascii_alphanumeric() || "_:".contains(chars[i])) {
            i += 1;
        }
        let ident: String = chars[start..i].iter().collect();
        let mut j = i;
        while j < chars.len() && chars[j].is_whitespace() {
            j += 1;
        }
        let next = chars.get(j).copied();
        if LABEL_LISTS.contains(&ident.as_str()) {
            if next == Some('(') {
                while j < chars.len() && chars[j] != ')' {
                    j += 1;
                }
                i = j + 1;
            }
            continue;
        }
        if KEYWORDS.contains(&ident.as_str()) || next == Some('(') {
            continue;
        }
        names.insert(ident);
    }
    names
}

/// Metric names used by a dashboard (panel queries and variable queries), each with the
/// panels that use it.
fn used_metrics(d: &Value) -> BTreeMap<String, Vec<String>> {
    let mut used: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (title, expr) in queries(d) {
        for name in metric_names(&expr) {
            used.entry(name).or_default().push(title.clone());
        }
    }
    for name in variable_metrics(d) {
        used.entry(name).or_default().push("(variable)".into());
    }
    used
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

/// `target/` of this build (the test binary is target/<profile>/deps/<name>).
fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    std::env::current_exe()
        .expect("test binary path")
        .ancestors()
        .nth(3)
        .expect("target directory")
        .to_path_buf()
}

/// Names of the samples of a Prometheus text exposition.
fn sample_names(metrics: &str) -> BTreeSet<String> {
    metrics
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split(['{', ' ']).next().unwrap_or("").to_string())
        .collect()
}

/// Metrics of the PostgreSQL dashboard that Debian's postgres_exporter v0.11.1 (the one
/// the real-server test runs) cannot show, each with where the chart's v0.15 exporter takes
/// it from. The same sources as the alert rules' list in tests/postgresql.rs
/// (`NOT_FROM_V011`); the test fails when an entry is unused or v0.11 exposes it after all.
const NOT_FROM_V011: &[(&str, &str)] = &[
    // v0.15 collector `replication` (collector/pg_replication.go, enabled by default); v0.11
    // had no replication collector.
    (
        "pg_replication_lag_seconds",
        "v0.15 collector replication (default on)",
    ),
    (
        "pg_replication_is_replica",
        "v0.15 collector replication (default on)",
    ),
    // v0.15 collector `wal` (collector/pg_wal.go, enabled by default).
    ("pg_wal_size_bytes", "v0.15 collector wal (default on)"),
    // v0.15 collector `database_wraparound`, off by default, switched on by the sidecar's
    // --collector.database_wraparound (templates/postgresql/_postgresql-exporter.tpl).
    (
        "pg_database_wraparound_age_datfrozenxid_seconds",
        "v0.15 collector database_wraparound (--collector.database_wraparound)",
    ),
];

/// Which test writes the real exporter's /metrics output that this test reads.
const EXPORTER_OUTPUT_PRODUCER: &str = "tests/postgresql.rs \
    (`cargo test --test postgresql real_postgres_exporter`: it runs Debian's \
    prometheus-postgres-exporter with the sidecar's arguments against a PostgreSQL 16 set \
    up by the chart's init.sql and saves /metrics)";

#[test]
fn postgresql_dashboard_metrics_are_exposed_by_the_real_exporter() {
    let file = target_dir().join("postgres-exporter-metrics.txt");
    let metrics = fs::read_to_string(&file).unwrap_or_else(|e| {
        panic!(
            "{} is missing ({e}): it is written by {EXPORTER_OUTPUT_PRODUCER}; run that test first \
             (`cargo test` runs both)",
            file.display()
        )
    });
    let exposed = sample_names(&metrics);
    assert!(
        exposed.contains("pg_up") && exposed.len() > 100,
        "{} does not look like postgres_exporter output",
        file.display()
    );
    let used = used_metrics(&dashboard("standard", PG_DASHBOARD));
    assert!(used.len() > 25, "too few metrics found: {used:?}");
    let allowed: BTreeMap<&str, &str> = NOT_FROM_V011.iter().copied().collect();
    let missing: Vec<String> = used
        .iter()
        .filter(|(name, _)| !exposed.contains(*name) && !allowed.contains_key(name.as_str()))
        .map(|(name, panels)| format!("{name} (panels: {})", panels.join("; ")))
        .collect();
    assert!(
        missing.is_empty(),
        "PostgreSQL dashboard metrics neither in the real exporter's /metrics nor explained:\n{}",
        missing.join("\n")
    );
    for (name, source) in NOT_FROM_V011 {
        assert!(
            used.contains_key(*name),
            "{name} ({source}) is unused: drop it"
        );
        assert!(
            !exposed.contains(*name),
            "{name} is exposed by v0.11 after all: drop it from the list"
        );
    }
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
        let unknown: Vec<String> = used
            .iter()
            .filter(|(name, _)| !known.contains(*name))
            .map(|(name, panels)| format!("{name} (panels: {})", panels.join("; ")))
            .collect();
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
