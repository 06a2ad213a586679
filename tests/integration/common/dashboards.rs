//! Shared helpers of the dashboard tests: reading the committed charts' Grafana dashboards
//! and the metric names their PromQL queries select.

use std::collections::BTreeMap;
use std::fs;

use serde_json::Value;

use crate::common::chart_dir;

pub const PG_DASHBOARD: &str = "dashboards/postgresql.json";
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
