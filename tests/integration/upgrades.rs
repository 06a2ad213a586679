//! `helm upgrade` from the last release never hits a field Kubernetes refuses to change.
//!
//! `tests/released/alert-history-<version>.json` keeps, for each built-in profile and each
//! values case, the immutable fields of the objects the released chart renders (Helm's
//! `helm template`): StatefulSet `selector`, `serviceName`, `podManagementPolicy` and
//! `volumeClaimTemplates`, Deployment `selector`, Job `selector` and `template`, and a
//! PersistentVolumeClaim's `accessModes`, `storageClassName`, `volumeMode` and size (which
//! may only grow). The current chart must render the same values for every object that
//! both have; objects may come and go.
//!
//! At a release, record the chart as released:
//! `ALERTCHART_RECORD_RELEASE=1 cargo test --test integration upgrades::` (docs/upgrades.md).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use alertchart::formats::MemoryQuantity;
use serde_json::{Value, json};

use crate::common::{all_addons, chart_dir, helm_template, profiles, repo, values_file, yaml_docs};

/// The record of the last release this chart must upgrade from.
fn released() -> PathBuf {
    repo().join("tests/released/alert-history-0.1.0.json")
}

/// The values cases of a profile: defaults, every add-on, and its non-default values file.
fn cases(profile: &str) -> Vec<(&'static str, Vec<String>)> {
    let values = values_file(profile);
    vec![
        ("defaults", vec![]),
        (
            "every add-on",
            all_addons(profile)
                .iter()
                .map(|s| (*s).to_string())
                .collect(),
        ),
        (
            "non-default values",
            vec!["-f".to_string(), values.display().to_string()],
        ),
    ]
}

/// The immutable fields of every object of a render, keyed by `Kind/name`.
fn immutables(chart: &Path, args: &[String]) -> BTreeMap<String, Value> {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut out = BTreeMap::new();
    for doc in yaml_docs(&helm_template(chart, &args)) {
        let spec = &doc["spec"];
        let fields = match doc["kind"].as_str().unwrap_or("") {
            "StatefulSet" => json!({
                "selector": spec["selector"],
                "serviceName": spec["serviceName"],
                "podManagementPolicy": spec["podManagementPolicy"],
                "volumeClaimTemplates": spec["volumeClaimTemplates"],
            }),
            "Deployment" => json!({ "selector": spec["selector"] }),
            "Job" => json!({ "selector": spec["selector"], "template": spec["template"] }),
            "PersistentVolumeClaim" => json!({
                "accessModes": spec["accessModes"],
                "storageClassName": spec["storageClassName"],
                "volumeMode": spec["volumeMode"],
                "storage": spec["resources"]["requests"]["storage"],
            }),
            _ => continue,
        };
        out.insert(
            format!(
                "{}/{}",
                doc["kind"].as_str().expect("kind"),
                doc["metadata"]["name"].as_str().expect("name")
            ),
            fields,
        );
    }
    out
}

/// Bytes of a storage quantity such as `10Gi`, read as the chart's values read it.
fn storage_bytes(q: &Value) -> u64 {
    serde_json::from_value::<MemoryQuantity>(q.clone())
        .unwrap_or_else(|e| panic!("storage quantity {q}: {e}"))
        .bytes()
}

/// The differences Kubernetes would refuse between a released object and the current one.
fn refused(object: &str, then: &Value, now: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for (field, old) in then.as_object().expect("fields") {
        let new = &now[field];
        let allowed = field == "storage"
            && object.starts_with("PersistentVolumeClaim/")
            && storage_bytes(new) >= storage_bytes(old);
        if old != new && !allowed {
            out.push(format!("{object} {field}: {old} -> {new}"));
        }
    }
    out
}

#[test]
fn an_upgrade_from_the_last_release_changes_no_immutable_field() {
    let mut now = serde_json::Map::new();
    for profile in profiles() {
        let mut by_case = serde_json::Map::new();
        for (case, args) in cases(profile) {
            by_case.insert(
                case.to_string(),
                json!(immutables(&chart_dir(profile), &args)),
            );
        }
        now.insert((*profile).to_string(), Value::Object(by_case));
    }
    let path = released();
    if std::env::var_os("ALERTCHART_RECORD_RELEASE").is_some() {
        let text = serde_json::to_string_pretty(&now).expect("JSON") + "\n";
        fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        return;
    }
    let then: Value = serde_json::from_str(
        &fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .expect("JSON");
    let mut problems = Vec::new();
    let mut compared = 0;
    for (profile, cases) in then.as_object().expect("profiles") {
        for (case, objects) in cases.as_object().expect("cases") {
            for (object, old) in objects.as_object().expect("objects") {
                if let Some(new) = now.get(profile).and_then(|c| c[case].get(object)) {
                    compared += 1;
                    problems.extend(
                        refused(object, old, new)
                            .into_iter()
                            .map(|p| format!("{profile} ({case}): {p}")),
                    );
                }
            }
        }
    }
    assert!(compared >= 6, "only {compared} objects compared");
    assert!(
        problems.is_empty(),
        "`helm upgrade` from the release in {} would fail on immutable fields:\n{}",
        path.display(),
        problems.join("\n")
    );
}

/// The comparison itself: a changed selector or claim template, or a shrunk volume, is
/// refused; a grown volume is not.
#[test]
fn the_comparison_refuses_what_kubernetes_refuses() {
    let then = json!({ "selector": {"matchLabels": {"a": "1"}}, "storage": "10Gi" });
    assert!(refused("StatefulSet/x", &then, &then).is_empty());
    let changed = json!({ "selector": {"matchLabels": {"a": "2"}}, "storage": "10Gi" });
    assert_eq!(refused("StatefulSet/x", &then, &changed).len(), 1);
    let pvc = json!({ "storage": "10Gi", "accessModes": ["ReadWriteOnce"] });
    let grown = json!({ "storage": "20Gi", "accessModes": ["ReadWriteOnce"] });
    let shrunk = json!({ "storage": "5Gi", "accessModes": ["ReadWriteOnce"] });
    assert!(refused("PersistentVolumeClaim/x", &pvc, &grown).is_empty());
    assert_eq!(refused("PersistentVolumeClaim/x", &pvc, &shrunk).len(), 1);
}

/// Every `…persistence.size` of a chart's values, as `--set` arguments doubling it.
fn doubled_volume_sizes(values: &Value, path: &mut Vec<String>, out: &mut Vec<String>) {
    let Value::Object(map) = values else { return };
    for (key, child) in map {
        path.push(key.clone());
        if key == "size" && path.len() >= 2 && path[path.len() - 2] == "persistence" {
            let size = child.as_str().expect("a size");
            let digits = size.trim_end_matches(|c: char| !c.is_ascii_digit());
            let n: u64 = digits.parse().expect("a whole quantity");
            out.push(format!(
                "{}={}{}",
                path.join("."),
                n * 2,
                &size[digits.len()..]
            ));
        } else {
            doubled_volume_sizes(child, path, out);
        }
        path.pop();
    }
}

/// The rendered objects by `Kind/name`, with what differs from render to render (generated
/// Secret data) and the storage requests taken out.
fn without_storage_requests(stream: &str) -> BTreeMap<String, (Value, Vec<Value>)> {
    let mut out = BTreeMap::new();
    for mut doc in yaml_docs(stream) {
        let key = format!(
            "{}/{}",
            doc["kind"].as_str().expect("kind"),
            doc["metadata"]["name"].as_str().expect("name")
        );
        let mut storage = Vec::new();
        if doc["kind"] == "Secret" {
            doc["data"] = Value::Null;
        }
        if let Some(claims) = doc["spec"]["volumeClaimTemplates"].as_array_mut() {
            for claim in claims {
                storage.push(claim["spec"]["resources"]["requests"]["storage"].take());
            }
        }
        if doc["kind"] == "PersistentVolumeClaim" {
            storage.push(doc["spec"]["resources"]["requests"]["storage"].take());
        }
        out.insert(key, (doc, storage));
    }
    out
}

/// The offline part of "Growing a volume" (docs/upgrades.md): with only the volume sizes
/// changed, every object renders as before but for its storage requests. A StatefulSet
/// recreated after `kubectl delete --cascade=orphan` thus adopts its running pod without a
/// restart (same selector, same pod template), and the chart's own claims only grow.
#[test]
fn growing_the_volumes_changes_nothing_but_their_storage_requests() {
    for profile in profiles() {
        let chart = chart_dir(profile);
        let values: Value =
            yaml_serde::from_str(&fs::read_to_string(chart.join("values.yaml")).unwrap()).unwrap();
        let mut sets = Vec::new();
        doubled_volume_sizes(&values, &mut Vec::new(), &mut sets);
        assert!(!sets.is_empty(), "{profile}: no volumes");
        let args: Vec<&str> = sets.iter().flat_map(|s| ["--set", s.as_str()]).collect();
        let before = without_storage_requests(&helm_template(&chart, &[]));
        let after = without_storage_requests(&helm_template(&chart, &args));
        assert_eq!(
            before.keys().collect::<Vec<_>>(),
            after.keys().collect::<Vec<_>>(),
            "{profile}: growing volumes added or removed objects"
        );
        let mut grown = 0;
        for (key, (object, storage)) in &before {
            let (object_after, storage_after) = &after[key];
            assert_eq!(
                object, object_after,
                "{profile}: {key} changes beyond its storage requests when {sets:?}"
            );
            for (old, new) in storage.iter().zip(storage_after) {
                assert!(
                    storage_bytes(new) == 2 * storage_bytes(old),
                    "{profile}: {key} storage {old} -> {new}"
                );
                grown += 1;
            }
        }
        assert_eq!(grown, sets.len(), "{profile}: every volume grew ({sets:?})");
    }
}
