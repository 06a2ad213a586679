//! Every workload's pods take nodeSelector, tolerations, affinity, topologySpreadConstraints
//! and priorityClassName from its values section, through one Helm helper, and the chart's
//! own placement rules survive the user's: the backup job's and the lite retention job's
//! required podAffinity, the app's spread over nodes and zones. The rendered manifests pass
//! strict Kubernetes schema validation with all of them set.

use crate::common::{self, all_addons, assert_kube_valid, chart_dir, helm_template, yaml_docs};
use serde_json::{Value, json};

/// The workloads: (profile, values section, kind, object name), every pod the chart runs.
const WORKLOADS: &[(&str, &str, &str, &str)] = &[
    ("standard", "app", "Deployment", "ah-alert-history"),
    (
        "standard",
        "app.retentionJob",
        "CronJob",
        "ah-alert-history-retention",
    ),
    (
        "standard",
        "postgresql",
        "StatefulSet",
        "ah-alert-history-postgresql",
    ),
    (
        "standard",
        "postgresql.backup",
        "CronJob",
        "ah-alert-history-postgresql-backup",
    ),
    (
        "standard",
        "valkey",
        "StatefulSet",
        "ah-alert-history-valkey",
    ),
    ("standard", "tests", "Pod", "ah-alert-history-test"),
    (
        "standard",
        "tests",
        "Pod",
        "ah-alert-history-postgresql-test",
    ),
    ("lite", "app", "Deployment", "ah-alert-history"),
    (
        "lite",
        "app.retentionJob",
        "CronJob",
        "ah-alert-history-retention",
    ),
    ("lite", "tests", "Pod", "ah-alert-history-test"),
];

/// Non-default scheduling values, distinct per section so that a template reading another
/// section's values is caught.
fn scheduling(section: &str) -> Value {
    let tag = section.replace('.', "-").to_lowercase();
    json!({
        "nodeSelector": {"example.com/pool": tag, "example.com/numeric": 1},
        "tolerations": [
            {"key": "example.com/dedicated", "operator": "Equal", "value": tag, "effect": "NoSchedule"},
            {"key": "example.com/spot", "operator": "Exists"},
        ],
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [{"matchExpressions": [
                        {"key": "example.com/pool", "operator": "In", "values": [tag]}
                    ]}]
                }
            },
            "podAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [{
                    "labelSelector": {"matchLabels": {"example.com/peer": tag}},
                    "topologyKey": "topology.kubernetes.io/zone"
                }]
            },
            "podAntiAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [{
                    "weight": 100,
                    "podAffinityTerm": {
                        "labelSelector": {"matchLabels": {"example.com/avoid": tag}},
                        "topologyKey": "kubernetes.io/hostname"
                    }
                }]
            }
        },
        "topologySpreadConstraints": [{
            "maxSkew": 2,
            "topologyKey": "example.com/rack",
            "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": {"example.com/spread": tag}},
            "minDomains": 2,
            "nodeAffinityPolicy": "Honor",
            "nodeTaintsPolicy": "Ignore"
        }],
        "priorityClassName": format!("{tag}-critical"),
    })
}

/// A values tree with `value` at dotted `path`.
fn nest(path: &str, value: Value) -> Value {
    path.rsplit('.')
        .fold(value, |inner, key| json!({ key: inner }))
}

fn merge(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (slot, v) => *slot = v,
    }
}

/// `helm template ah <chart> -f <values> [extra]`, as parsed documents and the raw text.
fn render(profile: &str, values: &Value, extra: &[&str]) -> (Vec<Value>, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("values.json");
    std::fs::write(&file, values.to_string()).unwrap();
    let mut args = vec!["-f", file.to_str().unwrap()];
    args.extend_from_slice(extra);
    let text = helm_template(&chart_dir(profile), &args);
    (yaml_docs(&text), text)
}

/// The pod spec of object `kind`/`name`.
fn pod_spec<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    let doc = docs
        .iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} rendered"));
    match kind {
        "Pod" => &doc["spec"],
        "CronJob" => &doc["spec"]["jobTemplate"]["spec"]["template"]["spec"],
        _ => &doc["spec"]["template"]["spec"],
    }
}

/// The required podAffinity term of the chart: the node of `component`'s pods.
fn same_node_as(component: &str) -> Value {
    json!({
        "labelSelector": {"matchLabels": {
            "app.kubernetes.io/name": "alert-history",
            "app.kubernetes.io/instance": "ah",
            "app.kubernetes.io/component": component,
        }},
        "topologyKey": "kubernetes.io/hostname",
    })
}

#[test]
fn every_workload_renders_its_scheduling_values_in_its_pod_spec() {
    for (profile, section, kind, name) in WORKLOADS {
        let given = scheduling(section);
        let (docs, _) = render(profile, &nest(section, given.clone()), &[]);
        let spec = pod_spec(&docs, kind, name);
        let what = format!("{profile}: {kind} {name} with {section} scheduling");
        let tag = section.replace('.', "-").to_lowercase();
        assert_eq!(
            spec["nodeSelector"],
            json!({"example.com/pool": tag, "example.com/numeric": "1"}),
            "{what}: nodeSelector (label values as strings)"
        );
        let tolerations = spec["tolerations"].as_array().expect("tolerations");
        for t in given["tolerations"].as_array().unwrap() {
            assert!(tolerations.contains(t), "{what}: lacks toleration {t}");
        }
        for kind_of_affinity in ["nodeAffinity", "podAntiAffinity"] {
            assert_eq!(
                spec["affinity"][kind_of_affinity], given["affinity"][kind_of_affinity],
                "{what}: {kind_of_affinity}"
            );
        }
        let required =
            spec["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
                .as_array()
                .expect("required podAffinity terms");
        assert!(
            required.contains(
                &given["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
                    [0]
            ),
            "{what}: the user's podAffinity term"
        );
        let spread = spec["topologySpreadConstraints"]
            .as_array()
            .expect("spread");
        assert!(
            spread.contains(&given["topologySpreadConstraints"][0]),
            "{what}: the user's topologySpreadConstraint"
        );
        assert_eq!(
            spec["priorityClassName"],
            json!(format!("{tag}-critical")),
            "{what}"
        );
        // Sections are independent: no other workload got these values.
        for (p, other_section, other_kind, other_name) in WORKLOADS {
            if p == profile && other_section != section {
                let other = pod_spec(&docs, other_kind, other_name);
                assert!(
                    other["priorityClassName"].is_null(),
                    "{what}: {other_kind} {other_name} took them too"
                );
            }
        }
    }
}

#[test]
fn without_scheduling_values_pod_specs_have_only_the_charts_own_placement() {
    for (profile, _, kind, name) in WORKLOADS {
        let (docs, _) = render(profile, &json!({}), &[]);
        let spec = pod_spec(&docs, kind, name);
        for field in ["nodeSelector", "tolerations", "priorityClassName"] {
            assert!(
                spec[field].is_null(),
                "{profile}: {kind} {name} has {field}"
            );
        }
        let own_affinity = matches!(
            (*profile, *name),
            ("standard", "ah-alert-history-postgresql-backup")
                | ("lite", "ah-alert-history-retention")
        );
        assert_eq!(
            !spec["affinity"].is_null(),
            own_affinity,
            "{profile}: {kind} {name} affinity {}",
            spec["affinity"]
        );
        let own_spread = (*profile, *kind) == ("standard", "Deployment");
        assert_eq!(
            !spec["topologySpreadConstraints"].is_null(),
            own_spread,
            "{profile}: {kind} {name}"
        );
    }
}

#[test]
fn the_backup_job_keeps_its_required_pod_affinity_to_postgresql_with_a_user_affinity() {
    let given = scheduling("postgresql.backup");
    let (docs, _) = render("standard", &nest("postgresql.backup", given.clone()), &[]);
    let affinity = &pod_spec(&docs, "CronJob", "ah-alert-history-postgresql-backup")["affinity"];
    assert_eq!(
        affinity["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"],
        json!([
            same_node_as("postgresql"),
            given["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]
        ]),
        "the chart's term first, then the user's"
    );
    assert_eq!(affinity["nodeAffinity"], given["affinity"]["nodeAffinity"]);
    assert_eq!(
        affinity["podAntiAffinity"],
        given["affinity"]["podAntiAffinity"]
    );

    // A user affinity without podAffinity, and one with only preferred podAffinity terms.
    for user in [
        json!({"nodeAffinity": given["affinity"]["nodeAffinity"]}),
        json!({"podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 10, "podAffinityTerm": same_node_as("app")}
        ]}}),
    ] {
        let (docs, _) = render(
            "standard",
            &nest("postgresql.backup.affinity", user.clone()),
            &[],
        );
        let affinity =
            &pod_spec(&docs, "CronJob", "ah-alert-history-postgresql-backup")["affinity"];
        assert_eq!(
            affinity["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"],
            json!([same_node_as("postgresql")]),
            "with {user}"
        );
        for (k, v) in user.as_object().unwrap() {
            for (kk, vv) in v.as_object().unwrap() {
                assert_eq!(&affinity[k][kk], vv, "with {user}");
            }
        }
    }
}

#[test]
fn the_lite_retention_job_keeps_the_app_node_and_takes_the_apps_tolerations() {
    let mut values = nest("app.retentionJob", scheduling("app.retentionJob"));
    let app_toleration =
        json!({"key": "example.com/app-pool", "operator": "Exists", "effect": "NoSchedule"});
    merge(
        &mut values,
        nest("app.tolerations", json!([app_toleration])),
    );
    let (docs, _) = render("lite", &values, &[]);
    let spec = pod_spec(&docs, "CronJob", "ah-alert-history-retention");
    let required =
        &spec["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"];
    assert_eq!(required[0], same_node_as("app"), "{required}");
    assert_eq!(required.as_array().unwrap().len(), 2, "{required}");
    assert_eq!(
        spec["tolerations"][0], app_toleration,
        "the app's tolerations come first"
    );
    assert_eq!(spec["tolerations"].as_array().unwrap().len(), 3);

    // With PostgreSQL the job runs anywhere: no chart affinity, only its own tolerations.
    let (docs, _) = render("standard", &values, &[]);
    let spec = pod_spec(&docs, "CronJob", "ah-alert-history-retention");
    assert_eq!(
        spec["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(
        !spec["tolerations"]
            .as_array()
            .unwrap()
            .contains(&app_toleration)
    );
}

#[test]
fn user_spread_constraints_follow_the_apps_and_replace_the_one_of_the_same_topology_key() {
    let chart_spread = |key: &str| {
        json!({
            "maxSkew": 1,
            "topologyKey": key,
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": same_node_as("app")["labelSelector"],
            "matchLabelKeys": ["pod-template-hash"],
        })
    };
    let (docs, _) = render("standard", &json!({}), &[]);
    let spread = &pod_spec(&docs, "Deployment", "ah-alert-history")["topologySpreadConstraints"];
    assert_eq!(
        spread,
        &json!([
            chart_spread("kubernetes.io/hostname"),
            chart_spread("topology.kubernetes.io/zone")
        ])
    );

    let zone = json!({"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule",
                      "labelSelector": same_node_as("app")["labelSelector"]});
    let rack = json!({"maxSkew": 3, "topologyKey": "example.com/rack", "whenUnsatisfiable": "ScheduleAnyway"});
    let (docs, text) = render(
        "standard",
        &nest("app.topologySpreadConstraints", json!([zone, rack])),
        &[],
    );
    let spread = &pod_spec(&docs, "Deployment", "ah-alert-history")["topologySpreadConstraints"];
    assert_eq!(
        spread,
        &json!([chart_spread("kubernetes.io/hostname"), zone, rack]),
        "hostname kept, zone replaced by the user's, rack appended"
    );
    assert_kube_valid(&text, "standard with a user zone spread");

    // Lite has no spread of its own: the user's are all there is.
    let (docs, _) = render(
        "lite",
        &nest("app.topologySpreadConstraints", json!([rack])),
        &[],
    );
    let spread = &pod_spec(&docs, "Deployment", "ah-alert-history")["topologySpreadConstraints"];
    assert_eq!(spread, &json!([rack]));
}

#[test]
fn every_workload_with_scheduling_values_passes_strict_kubernetes_validation() {
    for profile in ["standard", "lite"] {
        let mut values = json!({});
        for (p, section, _, _) in WORKLOADS {
            if *p == profile {
                merge(&mut values, nest(section, scheduling(section)));
            }
        }
        let (docs, text) = render(profile, &values, &all_addons(profile));
        assert!(
            WORKLOADS
                .iter()
                .filter(|w| w.0 == profile)
                .all(
                    |(_, _, kind, name)| !pod_spec(&docs, kind, name)["priorityClassName"]
                        .is_null()
                ),
            "{profile}: every workload has its values"
        );
        assert_kube_valid(
            &text,
            &format!("{profile} with every workload's scheduling"),
        );
    }
}

/// The free-form parts (the affinity kinds, a spread constraint's labelSelector) are checked
/// by the strict Kubernetes validation above: a misspelt field inside them fails it.
#[test]
fn strict_kubernetes_validation_catches_a_malformed_free_form_affinity() {
    for (section, bad) in [
        (
            "postgresql.affinity.nodeAffinity",
            json!({"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerm": []}}),
        ),
        (
            "postgresql.backup.affinity.podAntiAffinity",
            json!({"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1}]}),
        ),
        (
            "valkey.topologySpreadConstraints",
            json!([{"maxSkew": 1, "topologyKey": "k", "whenUnsatisfiable": "DoNotSchedule",
                    "labelSelector": {"matchLabel": {"a": "b"}}}]),
        ),
    ] {
        let (_, text) = render("standard", &nest(section, bad.clone()), &[]);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("manifests.yaml");
        std::fs::write(&file, text).unwrap();
        let out = common::kube_validate()
            .args(["--kube-version", "1.27"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            !out.status.success(),
            "{section} = {bad} passed strict validation"
        );
    }
}

/// The values schema rejects what Kubernetes would: an unknown affinity kind, a spread
/// constraint without its required fields or with an unknown field.
#[test]
fn helm_rejects_malformed_scheduling_values_through_values_schema() {
    for bad in [
        json!({"postgresql": {"affinity": {"nodeAfinity": {}}}}),
        json!({"valkey": {"topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "k"}]}}),
        json!({"app": {"topologySpreadConstraints": [{"maxSkew": 0, "topologyKey": "k", "whenUnsatisfiable": "DoNotSchedule"}]}}),
        json!({"tests": {"topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "k", "whenUnsatisfiable": "DoNotSchedule", "extra": 1}]}}),
        json!({"postgresql": {"backup": {"priorityClassName": "Not_A_Name"}}}),
        json!({"app": {"retentionJob": {"schedule": "x"}}}),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("values.json");
        std::fs::write(&file, bad.to_string()).unwrap();
        let out = std::process::Command::new(common::tool("helm"))
            .args(["template", "ah"])
            .arg(chart_dir("standard"))
            .arg("-f")
            .arg(&file)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && stderr.contains("schema"),
            "helm accepted {bad}: {stderr}"
        );
    }
    // A PriorityClass name is a DNS subdomain: dots are fine.
    let (docs, _) = render(
        "standard",
        &nest("postgresql.priorityClassName", json!("db.critical")),
        &[],
    );
    assert_eq!(
        pod_spec(&docs, "StatefulSet", "ah-alert-history-postgresql")["priorityClassName"],
        "db.critical"
    );
}
