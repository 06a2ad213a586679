//! The Grafana dashboards of the committed charts (`dashboards/*.json`, shipped in ConfigMaps
//! for the Grafana sidecar when `metrics.grafanaDashboards.enabled`): valid JSON that selects
//! its Prometheus through a `datasource` variable and never a hard-coded one; every query
//! parses (the real `promtool`) and is scoped to the release picked in the dashboard; every
//! metric and label of the CloudNativePG dashboard is in the catalogue of what CloudNativePG
//! serves (`tests/cnpg/`); and the ConfigMaps exist only when enabled, with the
//! sidecar label. The PostgreSQL StatefulSet's dashboard's metrics are checked against the
//! real exporter's output in the `postgresql` module.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::process::Command;

use serde_json::Value;

use crate::common;
use crate::common::dashboards::{
    APP_DASHBOARD, CNPG_DASHBOARD, SHIPPED, cnpg_catalogue, dashboard, metric_names, queries,
    shipped, used_metrics,
};
use crate::common::promql::{grouping_labels, matcher_labels, unexplained};
use crate::common::{
    CNPG_CHART_FILE, chart_dir, helm_template, profiles, profiles_with, run_ok, tool, yaml_docs,
};

/// Every dashboard of every chart (`dashboards/*.json`): (profile, file, parsed JSON).
fn all_dashboards() -> Vec<(&'static str, String, Value)> {
    let mut out = Vec::new();
    for profile in profiles() {
        let Ok(dir) = fs::read_dir(chart_dir(profile).join("dashboards")) else {
            continue;
        };
        let mut files: Vec<String> = dir
            .map(|e| e.expect("readable directory").path())
            .filter(|path| path.extension().is_some_and(|e| e == "json"))
            .map(|path| {
                let name = path.file_name().expect("file name").to_string_lossy();
                format!("dashboards/{name}")
            })
            .collect();
        files.sort();
        for file in files {
            let parsed = dashboard(profile, &file);
            out.push((profile, file, parsed));
        }
    }
    assert!(!out.is_empty(), "no chart has a dashboard");
    out
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

/// Image 1.1.9 serves no /metrics (the `app` module shows it), so no chart has an application
/// dashboard: only its PostgreSQL implementation's, in the charts that have PostgreSQL.
#[test]
fn only_postgresql_has_a_dashboard_and_the_app_none() {
    for s in SHIPPED {
        assert!(
            !profiles_with(s.chart_file).is_empty(),
            "no built-in chart ships {}",
            s.dashboard
        );
    }
    for profile in profiles() {
        assert!(
            !chart_dir(profile).join(APP_DASHBOARD).exists(),
            "{profile}: a dashboard of application metrics that image 1.1.9 does not serve"
        );
        let expected: BTreeSet<String> = shipped(profile)
            .iter()
            .map(|s| s.dashboard.to_string())
            .collect();
        let found: BTreeSet<String> = fs::read_dir(chart_dir(profile).join("dashboards"))
            .into_iter()
            .flatten()
            .map(|e| {
                let name = e.expect("readable directory").file_name();
                format!("dashboards/{}", name.to_string_lossy())
            })
            .collect();
        assert_eq!(
            found, expected,
            "{profile}: the dashboards of its components"
        );
    }
}

#[test]
fn every_dashboard_uses_a_prometheus_datasource_variable_and_no_hard_coded_datasource() {
    for (profile, file, d) in all_dashboards() {
        let text = fs::read_to_string(chart_dir(profile).join(&file)).unwrap();
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
}

/// The dashboards' PromQL with Grafana's variables replaced by plausible values.
fn substituted(expr: &str) -> String {
    expr.replace("$__rate_interval", "1m")
        .replace("$__range", "1h")
        .replace("$namespace", "alerts")
        .replace("$job", "ah-alert-history")
        .replace("$cluster", "ah-alert-history-postgresql")
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
        let release = SHIPPED
            .iter()
            .find(|s| s.dashboard == file)
            .unwrap_or_else(|| panic!("{profile} {file}: a dashboard no component ships"))
            .release_matchers;
        for (title, expr) in queries(&d) {
            let sels = common::promql::selectors(&expr);
            assert!(!sels.is_empty(), "{file} `{title}`: no selector in {expr}");
            for (metric, matchers) in sels {
                let scoped = matchers.contains("namespace=\"$namespace\"")
                    && release.iter().any(|m| matchers.contains(m));
                assert!(
                    scoped,
                    "{profile} {file} `{title}`: {metric}{{{matchers}}} is not limited to the namespace and release chosen in the dashboard"
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
    for profile in profiles() {
        let chart = chart_dir(profile);
        // The defaults: `auto`, and `helm template` knows no ServiceMonitor API.
        let off = yaml_docs(&helm_template(&chart, &[]));
        assert!(
            dashboard_configmaps(&off).is_empty(),
            "{profile}: dashboards rendered with no ServiceMonitors"
        );
        let expected = shipped(profile);
        if expected.is_empty() {
            continue;
        }

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
        for s in &expected {
            let (name, key, file) = (s.configmap, s.key, s.dashboard);
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

/// Labels Prometheus gives every sample of a PodMonitor's target (the Prometheus Operator's
/// relabelling), besides the metric's own.
const POD_TARGET_LABELS: &[&str] = &[
    "namespace",
    "pod",
    "container",
    "endpoint",
    "instance",
    "job",
];

/// Metrics of the CloudNativePG dashboard that CloudNativePG does not serve, each with where it
/// comes from and the labels the dashboard relies on. Kept tiny: the test fails when an entry
/// is not used or is in the catalogue after all.
const NOT_FROM_CNPG: &[(&str, &str, &[&str])] = &[
    (
        "kubelet_volume_stats_available_bytes",
        "kubelet /metrics (statistics of the volumes its pods mount)",
        &["namespace", "persistentvolumeclaim"],
    ),
    (
        "kubelet_volume_stats_capacity_bytes",
        "kubelet /metrics (statistics of the volumes its pods mount)",
        &["namespace", "persistentvolumeclaim"],
    ),
];

/// The catalogue gives the default queries' metrics their LABEL columns, and the collectors'
/// metrics the labels CloudNativePG declares for them.
#[test]
fn cnpg_catalogue_knows_the_labels_of_its_metrics() {
    let catalogue = cnpg_catalogue();
    assert!(catalogue.len() > 90, "only {} metrics", catalogue.len());
    for (metric, labels) in [
        (
            "cnpg_backends_total",
            &["application_name", "datname", "state", "usename"][..],
        ),
        ("cnpg_pg_settings_setting", &["name"]),
        ("cnpg_pg_replication_lag", &[]),
        ("cnpg_pg_stat_database_xact_commit", &["datname"]),
        ("cnpg_collector_pg_wal_archive_status", &["value"]),
        ("cnpg_collector_up", &["cluster"]),
        (
            "barman_cloud_cloudnative_pg_io_last_available_backup_timestamp",
            &[],
        ),
    ] {
        let expected: BTreeSet<String> = labels.iter().map(ToString::to_string).collect();
        assert_eq!(catalogue.get(metric), Some(&expected), "{metric}");
    }
}

/// Every metric the CloudNativePG dashboard's panels and variables select is in the CNPG
/// catalogue (`tests/cnpg/`, read from CloudNativePG v1.30 and the Barman Cloud plugin v0.14)
/// or in [`NOT_FROM_CNPG`]; every label its matchers, groupings and variables
/// name is one of the metric's own (catalogue) or one its scrape adds.
#[test]
fn cloudnative_pg_dashboard_metrics_and_labels_are_what_cloudnative_pg_serves() {
    let catalogue = cnpg_catalogue();
    let others: BTreeMap<&str, &[&str]> = NOT_FROM_CNPG
        .iter()
        .map(|(name, _, labels)| (*name, *labels))
        .collect();
    let has_label = |metric: &str, label: &str| {
        POD_TARGET_LABELS.contains(&label)
            || catalogue.get(metric).is_some_and(|l| l.contains(label))
            || others.get(metric).is_some_and(|l| l.contains(&label))
    };
    for profile in profiles_with(CNPG_CHART_FILE) {
        let d = dashboard(profile, CNPG_DASHBOARD);
        let used = used_metrics(&d);
        assert!(used.len() > 30, "too few metrics found: {used:?}");
        let missing = unexplained(
            &used,
            |name| catalogue.contains_key(name) || others.contains_key(name),
            "panels: ",
            "; ",
        );
        assert!(
            missing.is_empty(),
            "{profile}: CloudNativePG dashboard metrics neither in the catalogue (tests/cnpg/) nor explained:\n{}",
            missing.join("\n")
        );
        for name in others.keys() {
            assert!(
                used.contains_key(*name),
                "{name} is not used: drop it from the list"
            );
            assert!(
                !catalogue.contains_key(*name),
                "{name} is in the catalogue: drop it from the list"
            );
        }

        let mut checked = 0;
        for (title, expr) in queries(&d) {
            for (metric, matchers) in common::promql::selectors(&expr) {
                for label in matcher_labels(&matchers) {
                    assert!(
                        has_label(&metric, &label),
                        "`{title}`: {metric} has no label {label}"
                    );
                    checked += 1;
                }
            }
            let metrics = metric_names(&expr);
            for label in grouping_labels(&expr) {
                assert!(
                    metrics.iter().any(|m| has_label(m, &label)),
                    "`{title}`: none of {metrics:?} has the label {label} of {expr}"
                );
                checked += 1;
            }
        }
        for var in d["templating"]["list"].as_array().unwrap() {
            let Some(query) = var["query"]
                .as_str()
                .and_then(|q| q.strip_prefix("label_values("))
            else {
                continue;
            };
            let (selector, label) = query
                .trim_end_matches(')')
                .rsplit_once(',')
                .unwrap_or_else(|| panic!("variable query {query}"));
            let (metric, label) = (selector.split('{').next().unwrap().trim(), label.trim());
            assert!(
                has_label(metric, label),
                "variable {}: {metric} has no label {label}",
                var["name"]
            );
            checked += 1;
        }
        assert!(checked > 100, "only {checked} labels checked");
    }
}
