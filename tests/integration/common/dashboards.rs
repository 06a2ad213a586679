//! Shared helpers of the dashboard tests: reading the committed charts' Grafana dashboards,
//! the metric names and labels their PromQL queries select, and the catalogue of the metrics
//! CloudNativePG serves.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;

use serde_json::Value;

use crate::common::{CNPG_CHART_FILE, POSTGRESQL_CHART_FILE, chart_dir, repo};

pub const PG_DASHBOARD: &str = "dashboards/postgresql.json";
pub const CNPG_DASHBOARD: &str = "dashboards/cloudnative-pg.json";

/// A dashboard a component ships: in the charts that have `chart_file`, the file
/// `dashboard`, in the ConfigMap `configmap` (release `ah`) under `key`; each of its
/// selectors names the namespace and one of `release_matchers`, the release picked in the
/// dashboard's variables.
pub struct Shipped {
    pub chart_file: &'static str,
    pub dashboard: &'static str,
    pub configmap: &'static str,
    pub key: &'static str,
    pub release_matchers: &'static [&'static str],
}

/// Every dashboard a component ships, one per PostgreSQL implementation.
pub const SHIPPED: &[Shipped] = &[
    Shipped {
        chart_file: POSTGRESQL_CHART_FILE,
        dashboard: PG_DASHBOARD,
        configmap: "ah-alert-history-postgresql-dashboard",
        key: "postgresql.json",
        release_matchers: &["job=\"$job\""],
    },
    Shipped {
        chart_file: CNPG_CHART_FILE,
        dashboard: CNPG_DASHBOARD,
        configmap: "ah-alert-history-postgresql-dashboard",
        key: "cloudnative-pg.json",
        // The Cluster's instance pods and their data and WAL claims: <cluster>-<n>,
        // <cluster>-<n>-wal.
        release_matchers: &[
            "pod=~\"$cluster-[0-9]+\"",
            "persistentvolumeclaim=~\"$cluster-[0-9]+\"",
            "persistentvolumeclaim=~\"$cluster-[0-9]+-wal\"",
        ],
    },
];

/// The dashboards a profile's chart ships.
pub fn shipped(profile: &str) -> Vec<&'static Shipped> {
    SHIPPED
        .iter()
        .filter(|s| chart_dir(profile).join(s.chart_file).exists())
        .collect()
}
/// Where an application dashboard would be; image 1.1.9 has no metrics for one.
pub const APP_DASHBOARD: &str = "dashboards/alert-history.json";

/// A dashboard file of a profile's committed chart, parsed.
pub fn dashboard(profile: &str, file: &str) -> Value {
    let path = chart_dir(profile).join(file);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// The panels that query (rows excluded), with their queries.
pub fn queries(dashboard: &Value) -> Vec<(String, String)> {
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
pub fn variable_metrics(dashboard: &Value) -> Vec<String> {
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

pub use crate::common::promql::metric_names;

/// Metric names used by a dashboard (panel queries and variable queries), each with the
/// panels that use it.
pub fn used_metrics(d: &Value) -> BTreeMap<String, Vec<String>> {
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

/// The labels of the instance manager's own metrics (the names in `tests/cnpg/metrics.txt`
/// that have any), as cloudnative-pg v1.30.0 declares them in `newMetrics`
/// (pkg/management/postgres/webserver/metricserver/pg_collector.go) and `NewQueriesCollector`
/// (pkg/management/postgres/metrics/collector.go). The plugin's metrics have none.
pub const COLLECTOR_LABELS: &[(&str, &[&str])] = &[
    ("cnpg_collector_collection_errors_total", &["collector"]),
    ("cnpg_collector_up", &["cluster"]),
    ("cnpg_collector_collection_duration_seconds", &["collector"]),
    ("cnpg_collector_sync_replicas", &["value"]),
    ("cnpg_collector_pg_wal_archive_status", &["value"]),
    ("cnpg_collector_postgres_version", &["full", "cluster"]),
    ("cnpg_collector_pg_wal", &["value"]),
    ("cnpg_collector_wal_records", &["stats_reset"]),
    ("cnpg_collector_wal_fpi", &["stats_reset"]),
    ("cnpg_collector_wal_bytes", &["stats_reset"]),
    ("cnpg_collector_wal_buffers_full", &["stats_reset"]),
    ("cnpg_collector_wal_write", &["stats_reset"]),
    ("cnpg_collector_wal_sync", &["stats_reset"]),
    ("cnpg_collector_wal_write_time", &["stats_reset"]),
    ("cnpg_collector_wal_sync_time", &["stats_reset"]),
    ("cnpg_errors_total", &["errorUserQueries"]),
];

/// What an instance of CloudNativePG v1.30 with the Barman Cloud plugin v0.14 serves on its
/// metrics port, each metric with its own labels: `cnpg_<query name or key>_<column>` for
/// each GAUGE or COUNTER column of the default monitoring queries
/// (`tests/cnpg/default-monitoring.yaml`, the operator's file), labelled by the query's LABEL
/// columns; and the names in `tests/cnpg/metrics.txt` (the instance manager's collectors and
/// the plugin), labelled as [`COLLECTOR_LABELS`] says.
pub fn cnpg_catalogue() -> BTreeMap<String, BTreeSet<String>> {
    let dir = repo().join("tests/cnpg");
    let text = fs::read_to_string(dir.join("default-monitoring.yaml")).unwrap();
    let config_map: Value = yaml_serde::from_str(&text).expect("default-monitoring.yaml");
    let queries: Value = yaml_serde::from_str(
        config_map["data"]["queries"]
            .as_str()
            .expect("data.queries of the ConfigMap"),
    )
    .expect("the queries are YAML");
    let mut catalogue: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (key, query) in queries.as_object().expect("queries by name") {
        let prefix = query["name"].as_str().unwrap_or(key);
        let (mut labels, mut metrics) = (BTreeSet::new(), Vec::new());
        for column in query["metrics"].as_array().expect("metrics of a query") {
            let (column, mapping) = column
                .as_object()
                .and_then(|m| m.iter().next())
                .expect("a column and its mapping");
            let name = mapping["name"].as_str().unwrap_or(column).to_string();
            match mapping["usage"].as_str() {
                Some("LABEL") => {
                    labels.insert(name);
                }
                Some("GAUGE" | "COUNTER") => metrics.push(format!("cnpg_{prefix}_{name}")),
                Some("DISCARD") => {}
                other => panic!("{key}.{column}: usage {other:?} is not read by this test"),
            }
        }
        for metric in metrics {
            catalogue.entry(metric).or_default().extend(labels.clone());
        }
    }
    let listed = fs::read_to_string(dir.join("metrics.txt")).unwrap();
    for name in listed
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        catalogue.entry(name.to_string()).or_default();
    }
    for (metric, labels) in COLLECTOR_LABELS {
        catalogue
            .get_mut(*metric)
            .unwrap_or_else(|| panic!("{metric} is not in tests/cnpg/metrics.txt"))
            .extend(labels.iter().map(ToString::to_string));
    }
    catalogue
}
