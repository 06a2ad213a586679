//! What the generated charts let into a cluster, checked on the committed charts rendered
//! by the real `helm template` (release `ah`, namespace `alerts`), for every built-in
//! profile, with the defaults and with every optional add-on switched on:
//!
//! - a policy scan by checkov (`CHECKOV`, installed by scripts/install-tools.sh) finds no
//!   failed check, and every finding the chart suppresses carries a reason and is listed in
//!   docs/security.md;
//! - every pod meets the Pod Security Standard "restricted", plus the chart's own
//!   hardening (read-only root filesystem, requests and limits on every container, no
//!   service account token);
//! - RBAC: nothing cluster-wide, no read access to Secrets;
//! - no credential in clear: passwords only in Secrets, random per render, referenced by
//!   stable names and keys; `existingSecret` replaces the chart's Secret entirely;
//! - NetworkPolicies on by default, deny by default, admitting exactly the spec's peers;
//! - values that reach a configuration file or script cannot inject into it: hostile
//!   strings in every string value are refused by both `helm` (values.schema.json) and
//!   `alertchart validate`, and free-form values (annotations) never reach such a file.
//!
//! The real-server checks of authentication and TLS are in `postgresql_auth` and
//! `postgresql_tls`; that PodDisruptionBudgets never block a node drain is `availability`'s.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::common;
use crate::common::{
    POSTGRESQL_CHART_FILE, VALKEY_CHART_FILE, all_addons, base64_decode, chart_dir, helm_template,
    kind_name, matches_selector, profiles, profiles_with, repo, tool, tools_env, variants,
    yaml_docs,
};

/// The pod specs of a render: `(object, pod spec, pod labels)`.
fn pods(docs: &[Value]) -> Vec<(String, &Value, &Value)> {
    docs.iter()
        .filter_map(|d| {
            let (spec, labels) = match d["kind"].as_str()? {
                "Pod" => (&d["spec"], &d["metadata"]["labels"]),
                "Deployment" | "StatefulSet" | "Job" | "DaemonSet" | "ReplicaSet" => (
                    &d["spec"]["template"]["spec"],
                    &d["spec"]["template"]["metadata"]["labels"],
                ),
                "CronJob" => (
                    &d["spec"]["jobTemplate"]["spec"]["template"]["spec"],
                    &d["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"],
                ),
                _ => return None,
            };
            Some((kind_name(d), spec, labels))
        })
        .collect()
}

fn containers(spec: &Value) -> impl Iterator<Item = &Value> {
    spec["initContainers"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(spec["containers"].as_array().expect("containers"))
}

// ---------------------------------------------------------------------------------------
// Policy scan

fn checkov() -> PathBuf {
    let candidates = [
        tools_env("CHECKOV")
            .filter(|s| !s.is_empty())
            .map(PathBuf::from),
        Some(repo().join(".tools/checkov/bin/checkov")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "checkov not found ($CHECKOV, .tools/checkov/bin/checkov): run \
                 `scripts/test.sh` (or scripts/install-tools.sh), which installs it"
            )
        })
}

/// checkov's Kubernetes checks over the manifests of both profiles, defaults and every
/// add-on: no failed check. The findings the chart accepts are suppressed on the objects
/// themselves (`checkov.io/skip<N>` annotations); each must carry a reason, and each check
/// suppressed must be listed in docs/security.md.
#[test]
fn checkov_reports_no_failed_check_on_either_chart_with_defaults_or_every_add_on() {
    // Not a hidden directory (tempfile's default `.tmp*`): checkov skips those.
    let dir = tempfile::Builder::new()
        .prefix("alertchart-checkov-")
        .tempdir()
        .expect("tempdir");
    for profile in profiles() {
        let chart = chart_dir(profile);
        for (label, args) in [("defaults", vec![]), ("addons", all_addons(profile))] {
            std::fs::write(
                dir.path().join(format!("{profile}-{label}.yaml")),
                helm_template(&chart, &args),
            )
            .expect("write manifests");
        }
    }
    let out = Command::new(checkov())
        .args(["--framework", "kubernetes", "--skip-download", "--compact"])
        .args(["--output", "json", "--directory"])
        .arg(dir.path())
        .env("BC_SKIP_MAPPING", "TRUE")
        .output()
        .expect("run checkov");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "checkov did not print a JSON report ({e}; exit {}):\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let reports: Vec<&Value> = match &report {
        Value::Array(r) => r.iter().collect(),
        r => vec![r],
    };
    let k8s = reports
        .iter()
        .find(|r| r["check_type"] == "kubernetes")
        .unwrap_or_else(|| panic!("no kubernetes results: {report:#}"));
    let summary = &k8s["summary"];
    eprintln!("checkov {}: {summary}", summary["checkov_version"]);

    let failed: Vec<String> = k8s["results"]["failed_checks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            format!(
                "{} {} ({}): {}",
                f["check_id"].as_str().unwrap_or("?"),
                f["resource"].as_str().unwrap_or("?"),
                f["file_path"].as_str().unwrap_or("?"),
                f["check_name"].as_str().unwrap_or("?")
            )
        })
        .collect();
    assert!(
        failed.is_empty(),
        "checkov found {} failed check(s); fix the template or suppress the finding on the \
         object with a reason (checkov.io/skip<N>: <id>=<reason>) and list it in \
         docs/security.md:\n{}",
        failed.len(),
        failed.join("\n")
    );
    assert_eq!(summary["parsing_errors"], 0, "{summary}");
    assert!(
        summary["passed"].as_u64().unwrap_or(0) > 500
            && summary["resource_count"].as_u64().unwrap_or(0) > 50,
        "checkov scanned too little: {summary}"
    );

    let docs = std::fs::read_to_string(repo().join("docs/security.md")).expect("docs/security.md");
    let mut suppressed = BTreeSet::new();
    for s in k8s["results"]["skipped_checks"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let id = s["check_id"].as_str().expect("check_id");
        let reason = s["check_result"]["suppress_comment"].as_str().unwrap_or("");
        assert!(
            reason.len() > 20,
            "{id} on {} is suppressed without a real reason: {reason:?}",
            s["resource"]
        );
        suppressed.insert(id.to_string());
    }
    for id in &suppressed {
        assert!(
            docs.contains(&format!("`{id}`")),
            "docs/security.md does not list the suppressed check `{id}`"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Pod security

/// Volume types the "restricted" Pod Security Standard allows.
const ALLOWED_VOLUMES: &[&str] = &[
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

/// Problems of one pod spec against the "restricted" Pod Security Standard (v1.27+).
fn restricted_violations(spec: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let pod = &spec["securityContext"];
    for field in ["hostNetwork", "hostPID", "hostIPC"] {
        if spec[field] == true {
            out.push(field.to_string());
        }
    }
    for volume in spec["volumes"].as_array().into_iter().flatten() {
        for key in volume.as_object().unwrap().keys().filter(|k| *k != "name") {
            if !ALLOWED_VOLUMES.contains(&key.as_str()) {
                out.push(format!("volume type {key}"));
            }
        }
    }
    if pod["runAsUser"] == 0 {
        out.push("pod runAsUser 0".into());
    }
    for c in containers(spec) {
        let name = c["name"].as_str().unwrap_or("?");
        let sc = &c["securityContext"];
        let inherited = |key: &str| {
            if sc[key].is_null() {
                pod[key].clone()
            } else {
                sc[key].clone()
            }
        };
        if sc["allowPrivilegeEscalation"] != false {
            out.push(format!("{name}: allowPrivilegeEscalation is not false"));
        }
        if sc["privileged"] == true {
            out.push(format!("{name}: privileged"));
        }
        let drops = sc["capabilities"]["drop"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if !drops.iter().any(|d| d == "ALL") {
            out.push(format!("{name}: capabilities do not drop ALL"));
        }
        for add in sc["capabilities"]["add"].as_array().into_iter().flatten() {
            if add != "NET_BIND_SERVICE" {
                out.push(format!("{name}: adds capability {add}"));
            }
        }
        if inherited("runAsNonRoot") != true {
            out.push(format!("{name}: runAsNonRoot is not true"));
        }
        if inherited("runAsUser") == 0 {
            out.push(format!("{name}: runAsUser 0"));
        }
        let seccomp = inherited("seccompProfile");
        if !matches!(
            seccomp["type"].as_str(),
            Some("RuntimeDefault" | "Localhost")
        ) {
            out.push(format!("{name}: seccompProfile is {seccomp}"));
        }
        for port in c["ports"].as_array().into_iter().flatten() {
            if port.get("hostPort").is_some() {
                out.push(format!("{name}: hostPort"));
            }
        }
    }
    out
}

/// The chart's hardening beyond "restricted": a non-root uid set explicitly, a read-only
/// root filesystem, CPU and memory requests and limits on every container (init
/// containers included), and no service account token (no pod of the chart calls the
/// Kubernetes API).
fn hardening_violations(spec: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if spec["automountServiceAccountToken"] != false {
        out.push("automountServiceAccountToken is not false".into());
    }
    let pod = &spec["securityContext"];
    for c in containers(spec) {
        let name = c["name"].as_str().unwrap_or("?");
        let sc = &c["securityContext"];
        let uid = if sc["runAsUser"].is_null() {
            &pod["runAsUser"]
        } else {
            &sc["runAsUser"]
        };
        if uid.as_u64().is_none_or(|u| u == 0) {
            out.push(format!("{name}: no explicit non-root runAsUser ({uid})"));
        }
        if sc["readOnlyRootFilesystem"] != true {
            out.push(format!("{name}: root filesystem is writable"));
        }
        for kind in ["requests", "limits"] {
            for resource in ["cpu", "memory"] {
                if c["resources"][kind][resource].is_null() {
                    out.push(format!("{name}: no {resource} {kind}"));
                }
            }
        }
    }
    out
}

/// Every pod of both profiles (Deployment, StatefulSets, backup CronJob, Helm test pods),
/// with the defaults and with every add-on, meets the Pod Security Standard "restricted"
/// that NOTES.txt invites the installer to enforce, and the chart's hardening.
#[test]
fn every_pod_meets_pod_security_restricted_and_the_charts_hardening() {
    for (label, docs) in variants() {
        let pods = pods(&docs);
        // A chart with PostgreSQL adds its StatefulSet, Valkey's, the backup and test pods.
        let with_postgresql = profiles_with(POSTGRESQL_CHART_FILE)
            .iter()
            .any(|p| label.starts_with(&format!("{p} ")));
        let expected = if with_postgresql { 6 } else { 2 };
        assert!(
            pods.len() >= expected,
            "{label}: only {} pod templates",
            pods.len()
        );
        for (object, spec, _) in pods {
            let restricted = restricted_violations(spec);
            assert!(
                restricted.is_empty(),
                "{label}: {object} breaks Pod Security \"restricted\": {restricted:?}"
            );
            let hardening = hardening_violations(spec);
            assert!(
                hardening.is_empty(),
                "{label}: {object} lacks hardening: {hardening:?}"
            );
        }
    }
}

/// Nothing cluster-wide, and no Role that can read Secrets it does not name; the
/// ServiceAccount does not mount its token.
#[test]
fn rbac_is_namespaced_and_never_reads_secrets_wholesale() {
    for (label, docs) in variants() {
        for d in &docs {
            let kind = d["kind"].as_str().unwrap_or("");
            assert!(
                !matches!(kind, "ClusterRole" | "ClusterRoleBinding"),
                "{label}: {} is cluster-wide",
                kind_name(d)
            );
            if kind == "RoleBinding" {
                assert_eq!(d["roleRef"]["kind"], "Role", "{label}: {}", kind_name(d));
            }
            if kind == "ServiceAccount" {
                assert_eq!(
                    d["automountServiceAccountToken"],
                    false,
                    "{label}: {}",
                    kind_name(d)
                );
            }
            for rule in d["rules"].as_array().into_iter().flatten() {
                let has = |field: &str, any: &[&str]| {
                    rule[field]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|v| any.iter().any(|a| v == a))
                };
                let reads_secrets = has("resources", &["secrets", "*"])
                    && has("verbs", &["get", "list", "watch", "*"]);
                let named = rule["resourceNames"]
                    .as_array()
                    .is_some_and(|n| !n.is_empty());
                assert!(
                    !reads_secrets || named,
                    "{label}: {} may read every Secret: {rule}",
                    kind_name(d)
                );
            }
        }
        assert!(
            docs.iter()
                .all(|d| !d["metadata"]["namespace"].is_null() || d["kind"] == "Namespace"),
            "{label}: every object names its namespace"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Credentials

/// Every `secretKeyRef` of every container: `(object/container/env, secret, key)`.
fn secret_refs(docs: &[Value]) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for (object, spec, _) in pods(docs) {
        for c in containers(spec) {
            for e in c["env"].as_array().into_iter().flatten() {
                if let Some(r) = e.get("valueFrom").and_then(|v| v.get("secretKeyRef")) {
                    out.push((
                        format!(
                            "{object}/{}/{}",
                            c["name"].as_str().unwrap_or("?"),
                            e["name"].as_str().unwrap_or("?")
                        ),
                        r["name"].as_str().expect("secretKeyRef.name").to_string(),
                        r["key"].as_str().expect("secretKeyRef.key").to_string(),
                    ));
                }
            }
            assert!(
                c.get("envFrom").is_none_or(|f| f
                    .as_array()
                    .into_iter()
                    .flatten()
                    .all(|s| s.get("secretRef").is_none())),
                "{object}: envFrom a Secret"
            );
        }
    }
    out.sort();
    out
}

/// The Secrets of a render: name -> key -> decoded value.
fn secrets(docs: &[Value]) -> BTreeMap<String, BTreeMap<String, String>> {
    docs.iter()
        .filter(|d| d["kind"] == "Secret")
        .map(|d| {
            assert!(
                d.get("stringData").is_none(),
                "{}: stringData",
                kind_name(d)
            );
            let data = d["data"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| {
                    let bytes = base64_decode(v.as_str().expect("base64 string"));
                    (k.clone(), String::from_utf8(bytes).expect("UTF-8 secret"))
                })
                .collect();
            (
                d["metadata"]["name"].as_str().expect("name").to_string(),
                data,
            )
        })
        .collect()
}

/// Whether an environment variable name says it holds a credential.
fn is_credential_name(env: &str) -> bool {
    let upper = env.to_ascii_uppercase();
    ["PASSWORD", "PASS", "SECRET", "TOKEN", "AUTH", "KEY"]
        .iter()
        .any(|w| upper.contains(w))
}

/// Credentials never appear in clear: no credential-named env var has a `value` (only
/// `valueFrom.secretKeyRef`), no Secret uses `stringData`, no values.yaml key is a
/// password, and no generated password appears anywhere but in its Secret's base64 `data`
/// (not in ConfigMaps, env values, arguments or annotations). Two renders generate
/// different random passwords under the same Secret names and keys, and the references
/// (every container's `secretKeyRef` name and key) are identical; every reference points
/// at a rendered Secret that has the key. The lite chart has no credentials at all.
#[test]
fn credentials_live_only_in_secrets_with_random_values_and_stable_references() {
    for profile in profiles() {
        let chart = chart_dir(profile);
        let has = |file: &str| chart.join(file).exists();
        let values = std::fs::read_to_string(chart.join("values.yaml")).expect("values.yaml");
        for line in values.lines().filter(|l| !l.trim_start().starts_with('#')) {
            let key = line.split(':').next().unwrap_or("").to_ascii_lowercase();
            assert!(!key.contains("password"), "{profile} values.yaml: {line}");
        }
        for (label, docs) in [
            ("defaults", yaml_docs(&helm_template(&chart, &[]))),
            (
                "every add-on",
                yaml_docs(&helm_template(&chart, &all_addons(profile))),
            ),
        ] {
            for (object, spec, _) in pods(&docs) {
                for c in containers(spec) {
                    for e in c["env"].as_array().into_iter().flatten() {
                        let env = e["name"].as_str().unwrap_or("");
                        if is_credential_name(env) {
                            assert!(
                                e.get("value").is_none()
                                    && e["valueFrom"].get("secretKeyRef").is_some(),
                                "{profile} {label}: {object} env {env} is not from a secretKeyRef: {e}"
                            );
                        }
                    }
                }
            }
            let secrets = secrets(&docs);
            for (_, secret, key) in secret_refs(&docs) {
                assert!(
                    secrets.get(&secret).is_some_and(|s| s.contains_key(&key)),
                    "{profile} {label}: reference to {secret}/{key}, which the chart does not render"
                );
            }
            // A generated password appears only in its Secret: not in clear, and its base64
            // form not outside `data`.
            let without_secrets: Vec<&Value> =
                docs.iter().filter(|d| d["kind"] != "Secret").collect();
            let text = serde_json::to_string(&without_secrets).expect("JSON");
            for (secret, data) in &secrets {
                for (key, value) in data {
                    // The LLM key is the installer's (all_addons gives one), not generated.
                    assert!(
                        value.len() >= 32 || secret == "ah-alert-history-llm",
                        "{secret}/{key} is too short to be generated"
                    );
                    assert!(
                        !text.contains(value.as_str()),
                        "{profile} {label}: {secret}/{key} appears outside its Secret"
                    );
                }
            }
            if !has(POSTGRESQL_CHART_FILE) && !has(VALKEY_CHART_FILE) {
                assert!(
                    secrets.keys().all(|s| s == "ah-alert-history-llm"),
                    "{profile} has credentials other than the LLM key it was given: {:?}",
                    secrets.keys()
                );
            }
        }
        if has(POSTGRESQL_CHART_FILE) && has(VALKEY_CHART_FILE) {
            let first = yaml_docs(&helm_template(&chart, &[]));
            let second = yaml_docs(&helm_template(&chart, &[]));
            let (a, b) = (secrets(&first), secrets(&second));
            assert_eq!(
                a.keys().collect::<Vec<_>>(),
                ["ah-alert-history-postgresql", "ah-alert-history-valkey"],
                "Secret names"
            );
            for (secret, data) in &a {
                assert_eq!(
                    data.keys().collect::<Vec<_>>(),
                    b[secret].keys().collect::<Vec<_>>(),
                    "keys of {secret}"
                );
                for (key, value) in data {
                    assert_ne!(
                        value, &b[secret][key],
                        "{secret}/{key} is the same in two renders: not random"
                    );
                }
            }
            assert_eq!(
                secret_refs(&first),
                secret_refs(&second),
                "references differ between renders"
            );
        }
    }
}

/// With `existingSecret` set, the chart renders no Secret of that component and every
/// reference to that component's credentials names the installer's Secret, with the same
/// keys the generated Secret has; the other component keeps its generated Secret.
#[test]
fn existing_secrets_replace_the_generated_ones_entirely() {
    let chart = chart_dir("standard");
    let generated = secret_refs(&yaml_docs(&helm_template(&chart, &[])));
    let rename = |refs: &[(String, String, String)],
                  from: &str,
                  to: &str|
     -> Vec<(String, String, String)> {
        refs.iter()
            .map(|(w, s, k)| {
                (
                    w.clone(),
                    if s == from { to.to_string() } else { s.clone() },
                    k.clone(),
                )
            })
            .collect()
    };

    let pg_only = yaml_docs(&helm_template(
        &chart,
        &["--set", "postgresql.auth.existingSecret=db-creds"],
    ));
    assert_eq!(
        secrets(&pg_only).keys().collect::<Vec<_>>(),
        ["ah-alert-history-valkey"],
        "only the Valkey Secret is generated"
    );
    assert_eq!(
        secret_refs(&pg_only),
        rename(&generated, "ah-alert-history-postgresql", "db-creds")
    );

    let both = yaml_docs(&helm_template(
        &chart,
        &[
            "--set",
            "postgresql.auth.existingSecret=db-creds",
            "--set",
            "valkey.auth.existingSecret=cache-creds",
        ],
    ));
    assert!(
        both.iter().all(|d| d["kind"] != "Secret"),
        "a Secret is rendered although both are supplied"
    );
    let expected = rename(
        &rename(&generated, "ah-alert-history-postgresql", "db-creds"),
        "ah-alert-history-valkey",
        "cache-creds",
    );
    assert_eq!(secret_refs(&both), expected);
    let names: BTreeSet<&str> = expected.iter().map(|(_, s, _)| s.as_str()).collect();
    assert_eq!(names, BTreeSet::from(["cache-creds", "db-creds"]));
}

/// The generated Secrets keep an installed release's passwords: their templates read the
/// existing Secret with `lookup` and fall back to random values only when it finds none;
/// the PostgreSQL Secret also survives `helm uninstall` with the data volume it belongs to.
#[test]
fn generated_secrets_read_back_the_installed_ones_with_lookup() {
    let templates = chart_dir("standard").join("templates");
    for file in ["postgresql/secret.yaml", "valkey/secret.yaml"] {
        let text = std::fs::read_to_string(templates.join(file)).expect("template");
        let lookup = text
            .find("lookup \"v1\" \"Secret\" .Release.Namespace $name")
            .unwrap_or_else(|| panic!("{file} has no lookup of its Secret"));
        let random = text
            .find("randAlphaNum 32")
            .unwrap_or_else(|| panic!("{file} generates no password"));
        assert!(
            text.contains("existingSecret"),
            "{file} ignores existingSecret"
        );
        assert!(
            lookup < text.find("kind: Secret").expect("kind") && random > 0,
            "{file}"
        );
    }
    let pg = std::fs::read_to_string(templates.join("postgresql/secret.yaml")).expect("template");
    assert!(
        pg.contains("helm.sh/resource-policy: keep"),
        "PostgreSQL Secret is not kept"
    );
}

// ---------------------------------------------------------------------------------------
// NetworkPolicies

/// A peer of a rule, as text: `pods(<component>)`, `prometheus`, `cidr <x>`, `dns <ns>`.
fn peer(p: &Value) -> String {
    if let Some(cidr) = p["ipBlock"]["cidr"].as_str() {
        return format!("cidr {cidr}");
    }
    if p.get("namespaceSelector").is_some() && p.get("podSelector").is_some() {
        return format!(
            "pods {} in namespaces {}",
            p["podSelector"]["matchLabels"], p["namespaceSelector"]["matchLabels"]
        );
    }
    if let Some(ns) = p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"].as_str()
    {
        return format!("namespace {ns}");
    }
    let labels = &p["podSelector"]["matchLabels"];
    assert_eq!(
        labels["app.kubernetes.io/instance"], "ah",
        "peer of this release only: {p}"
    );
    format!(
        "component {}",
        labels["app.kubernetes.io/component"]
            .as_str()
            .unwrap_or("?")
    )
}

fn rules(policy: &Value, direction: &str) -> Vec<(Vec<String>, Vec<String>)> {
    let side = if direction == "ingress" { "from" } else { "to" };
    policy["spec"][direction]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            let peers = r[side]
                .as_array()
                .expect("every rule names its peers")
                .iter()
                .map(peer)
                .collect();
            let ports = r["ports"]
                .as_array()
                .expect("every rule names its ports")
                .iter()
                .map(|p| format!("{}/{}", p["port"], p["protocol"].as_str().unwrap_or("TCP")))
                .collect();
            (peers, ports)
        })
        .collect()
}

/// The components of this release whose pods connect to PostgreSQL.
const POSTGRESQL_CLIENTS: [&str; 4] = ["app", "retention", "postgresql-backup", "postgresql-test"];

/// NetworkPolicies are on by default in the standard chart: PostgreSQL and Valkey each get
/// one that selects their pods, has both policy types (deny by default in both
/// directions) and admits exactly the spec's peers: PostgreSQL 5432 from the app, the
/// retention and backup jobs and the Helm test of this release (plus `extraDatabaseClientCidrs`), 9187
/// from Prometheus; Valkey 6379 from the app, 9121 from Prometheus; egress DNS only. The
/// pods those peers name exist with those labels. `networkPolicy.enabled=false` removes
/// both; the lite chart has none.
#[test]
fn network_policies_deny_by_default_and_admit_only_the_specs_peers() {
    let chart = chart_dir("standard");
    let prometheus = "pods {\"app.kubernetes.io/name\":\"prometheus\"} in namespaces {\"kubernetes.io/metadata.name\":\"monitoring\"}";
    let dns = (
        vec!["namespace kube-system".to_string()],
        vec!["53/UDP".to_string(), "53/TCP".to_string()],
    );
    for (extra, cidrs) in [
        (vec![], vec![]),
        (
            vec![
                "--set",
                "networkPolicy.extraDatabaseClientCidrs={10.250.0.0/16}",
            ],
            vec!["cidr 10.250.0.0/16".to_string()],
        ),
    ] {
        let docs = yaml_docs(&helm_template(&chart, &extra));
        let policies: Vec<&Value> = docs
            .iter()
            .filter(|d| d["kind"] == "NetworkPolicy")
            .collect();
        assert_eq!(
            policies.len(),
            2,
            "one NetworkPolicy each for PostgreSQL and Valkey"
        );
        let mut pg_peers: Vec<String> = POSTGRESQL_CLIENTS
            .iter()
            .map(|c| format!("component {c}"))
            .collect();
        pg_peers.extend(cidrs);
        for (component, ingress) in [
            (
                "postgresql",
                vec![
                    (pg_peers.clone(), vec!["5432/TCP".to_string()]),
                    (vec![prometheus.to_string()], vec!["9187/TCP".to_string()]),
                ],
            ),
            (
                "valkey",
                vec![
                    (
                        vec!["component app".to_string()],
                        vec!["6379/TCP".to_string()],
                    ),
                    (vec![prometheus.to_string()], vec!["9121/TCP".to_string()]),
                ],
            ),
        ] {
            let policy = policies
                .iter()
                .find(|p| {
                    p["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
                        == component
                })
                .unwrap_or_else(|| panic!("no NetworkPolicy selects the {component} pods"));
            assert_eq!(
                policy["spec"]["policyTypes"],
                serde_json::json!(["Ingress", "Egress"]),
                "{component}"
            );
            assert_eq!(rules(policy, "ingress"), ingress, "{component} ingress");
            assert_eq!(
                rules(policy, "egress"),
                vec![dns.clone()],
                "{component} egress"
            );
            let selected = pods(&docs)
                .into_iter()
                .filter(|(_, _, labels)| matches_selector(labels, &policy["spec"]["podSelector"]))
                .count();
            assert_eq!(selected, 1, "{component}: the policy selects its pods");
        }
        // The peers the policies name are the chart's pods.
        for component in POSTGRESQL_CLIENTS {
            assert!(
                pods(&docs)
                    .iter()
                    .any(
                        |(_, _, labels)| labels["app.kubernetes.io/component"] == component
                            && labels["app.kubernetes.io/instance"] == "ah"
                    ),
                "no pod of component {component}"
            );
        }
    }
    let off = yaml_docs(&helm_template(
        &chart,
        &["--set", "networkPolicy.enabled=false"],
    ));
    assert!(
        off.iter().all(|d| d["kind"] != "NetworkPolicy"),
        "networkPolicy.enabled=false"
    );
    let lite = yaml_docs(&helm_template(&chart_dir("lite"), &all_addons("lite")));
    assert!(
        lite.iter().all(|d| d["kind"] != "NetworkPolicy"),
        "lite has NetworkPolicies"
    );
}

// ---------------------------------------------------------------------------------------
// Injection into configuration files and scripts

/// Values that reach a configuration file or script of the standard chart: postgresql.conf
/// (sizes, durations, huge_pages, the TLS Secret's name in a comment), pg_hba.conf (database,
/// user, CIDRs), init.sql (database, user), valkey.conf (memory limit, policies), the Helm
/// test's shell script (the full name), the backup CronJob (schedule, time zone). Each must
/// refuse every hostile string.
const CONFIG_LEAVES: &[&str] = &[
    "fullnameOverride",
    "nameOverride",
    "postgresql.auth.database",
    "postgresql.auth.username",
    "postgresql.hba.appCidrs",
    "postgresql.tls.secretName",
    "postgresql.config.sharedBuffers",
    "postgresql.config.effectiveCacheSize",
    "postgresql.config.workMem",
    "postgresql.config.maintenanceWorkMem",
    "postgresql.config.walBuffers",
    "postgresql.config.minWalSize",
    "postgresql.config.maxWalSize",
    "postgresql.config.walKeepSize",
    "postgresql.config.logMinDurationStatement",
    "postgresql.config.autovacuumNaptime",
    "postgresql.config.archiveTimeout",
    "postgresql.config.hugePages",
    "postgresql.backup.schedule",
    "postgresql.backup.timeZone",
    "valkey.resources.limits.memory",
    "valkey.config.maxmemoryPolicy",
    "valkey.config.appendfsync",
];

/// Appended to a valid value of a [`CONFIG_LEAVES`] value, one at a time: line breaks,
/// quotes, statement and shell separators, command substitution, a pg_hba.conf line.
const HOSTILE: &[&str] = &[
    "\n",
    "\nhost all all 0.0.0.0/0 trust",
    "'INJECTED",
    "\"INJECTED",
    ";INJECTED",
    "$(INJECTED)",
    "`INJECTED`",
    " INJECTED",
];

/// Appended to a valid value of every other string value: the same characters in two
/// strings (the value must refuse them or carry them to no configuration file).
const HOSTILE_ELSEWHERE: &[&str] = &["\nINJECTED", "'\";INJECTED $(INJECTED) `INJECTED`"];

/// A string leaf of values.yaml: its `--set` path (dots in keys escaped), whether it is a
/// list item, and a valid value to prefix the hostile text with.
struct StringLeaf {
    path: String,
    list: bool,
    prefix: String,
}

fn schema_at<'a>(schema: &'a Value, key: &str) -> &'a Value {
    schema["properties"].get(key).unwrap_or_else(|| {
        schema["patternProperties"]
            .as_object()
            .and_then(|p| p.values().next())
            .unwrap_or(&schema["additionalProperties"])
    })
}

fn valid_prefix(current: Option<&str>, schema: &Value) -> String {
    current
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .or_else(|| {
            schema["examples"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .find(|s| !s.is_empty())
                .map(str::to_string)
        })
        .unwrap_or_else(|| "injected".to_string())
}

/// A string schema, also one that takes the integers and booleans Helm's `--set` makes of
/// text (a `--set` of hostile text still gives a string).
fn is_string_schema(s: &Value) -> bool {
    s["type"] == "string"
        || s["type"].as_array().is_some_and(|t| {
            t.first().is_some_and(|x| x == "string")
                && t[1..].iter().all(|x| x == "integer" || x == "boolean")
        })
        || s["enum"]
            .as_array()
            .is_some_and(|e| e.iter().all(Value::is_string))
}

/// Every string leaf of a chart's values, with free-form maps (empty by default) given a
/// new entry `injected`.
fn string_leaves(values: &Value, schema: &Value, path: &str, out: &mut Vec<StringLeaf>) {
    let join = |key: &str| {
        let key = key.replace('.', "\\.");
        if path.is_empty() {
            key
        } else {
            format!("{path}.{key}")
        }
    };
    match values {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                string_leaves(v, schema_at(schema, k), &join(k), out);
            }
        }
        Value::Object(_) => {
            let entry = schema_at(schema, "injected");
            if is_string_schema(entry) {
                out.push(StringLeaf {
                    path: join("injected"),
                    list: false,
                    prefix: valid_prefix(None, entry),
                });
            }
        }
        Value::Array(items) if is_string_schema(&schema["items"]) => out.push(StringLeaf {
            path: path.to_string(),
            list: true,
            prefix: valid_prefix(items.first().and_then(Value::as_str), &schema["items"]),
        }),
        Value::String(s) if is_string_schema(schema) => out.push(StringLeaf {
            path: path.to_string(),
            list: false,
            prefix: valid_prefix(Some(s), schema),
        }),
        _ => {}
    }
}

/// `--set` syntax for a value: `\` and `,` escaped; a list item in braces.
fn set_arg(leaf: &StringLeaf, value: &str) -> String {
    let escaped = value.replace('\\', "\\\\").replace(',', "\\,");
    if leaf.list {
        format!("{}={{{escaped}}}", leaf.path)
    } else {
        format!("{}={escaped}", leaf.path)
    }
}

/// The text of every configuration file and script of a render: ConfigMap data, and the
/// `command` and `args` of every container, probe and hook.
fn config_text(docs: &[Value]) -> String {
    fn walk(v: &Value, out: &mut String) {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    if matches!(k.as_str(), "command" | "args") {
                        for s in v.as_array().into_iter().flatten() {
                            out.push_str(s.as_str().unwrap_or(""));
                            out.push('\n');
                        }
                    } else {
                        walk(v, out);
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    let mut out = String::new();
    for d in docs {
        if d["kind"] == "ConfigMap" {
            for v in d["data"].as_object().into_iter().flatten().map(|(_, v)| v) {
                out.push_str(v.as_str().unwrap_or(""));
                out.push('\n');
            }
        }
        walk(d, &mut out);
    }
    out
}

fn contains_string(v: &Value, wanted: &str) -> bool {
    match v {
        Value::String(s) => s.contains(wanted),
        Value::Array(items) => items.iter().any(|i| contains_string(i, wanted)),
        Value::Object(map) => map.values().any(|i| contains_string(i, wanted)),
        _ => false,
    }
}

/// Whether `doc` is a Secret with `wanted` as one of its (base64-decoded) values.
fn secret_holds(doc: &Value, wanted: &str) -> bool {
    doc["kind"] == "Secret"
        && doc["data"].as_object().is_some_and(|data| {
            data.values().any(|v| {
                v.as_str()
                    .is_some_and(|b64| base64_decode(b64) == wanted.as_bytes())
            })
        })
}

/// The outcome of one hostile value: rejected by both tools, or accepted and where it went.
fn try_hostile(profile: &str, leaf: &StringLeaf, value: &str) -> Result<(), String> {
    let set = set_arg(leaf, value);
    let addons = all_addons(profile);
    let helm = Command::new(tool("helm"))
        .args(["template", "ah"])
        .arg(chart_dir(profile))
        .args(["--namespace", "alerts"])
        .args(&addons)
        .args(["--set", &set])
        .output()
        .expect("run helm");
    let alertchart = Command::new(env!("CARGO_BIN_EXE_alertchart"))
        .args(["validate", "--profile", profile])
        .args(&addons)
        .args(["--set", &set])
        .current_dir(repo())
        .output()
        .expect("run alertchart");
    let helm_err = String::from_utf8_lossy(&helm.stderr);
    if !helm.status.success() {
        if !helm_err.contains("schema") {
            return Err(format!("helm failed, but not on the schema: {helm_err}"));
        }
        if alertchart.status.code() != Some(1) {
            return Err(format!(
                "helm's schema rejects it, `alertchart validate` exits {:?}: {}",
                alertchart.status.code(),
                String::from_utf8_lossy(&alertchart.stderr)
            ));
        }
        return Ok(());
    }
    // Accepted: only a value that reaches no configuration file may be free-form, and it
    // must arrive as written.
    let path = leaf.path.replace("\\.", ".");
    if CONFIG_LEAVES.contains(&path.as_str()) {
        return Err("helm accepts it, and it reaches a configuration file".into());
    }
    let docs = yaml_docs(&String::from_utf8_lossy(&helm.stdout));
    if config_text(&docs).contains(value) {
        return Err("it reached a configuration file or script".into());
    }
    if !docs
        .iter()
        .any(|d| contains_string(d, value) || secret_holds(d, value))
    {
        return Err("helm accepts it, but the manifests do not carry it as written".into());
    }
    Ok(())
}

/// Every string value of both charts (every leaf of values.yaml, list items, and a new
/// entry of every free-form map), set to a valid value followed by hostile text (line
/// breaks, quotes, `;`, `$(...)`, backticks, a space), through `helm template --set`
/// and `alertchart validate --set`: when Helm's schema refuses it, `alertchart validate`
/// exits 1 too; every value that reaches postgresql.conf, pg_hba.conf, init.sql, valkey.conf,
/// the Helm test script or the backup CronJob ([`CONFIG_LEAVES`]) is refused; the few that
/// are accepted (annotation values, the runbook URL) reach no ConfigMap, command or argument
/// and arrive in the manifests exactly as written (quoted YAML strings).
#[test]
fn hostile_strings_never_reach_a_configuration_file_or_script() {
    let mut jobs: Vec<(&str, StringLeaf, String)> = Vec::new();
    let mut seen = BTreeSet::new();
    for profile in profiles() {
        let chart = chart_dir(profile);
        let values: Value =
            yaml_serde::from_str(&std::fs::read_to_string(chart.join("values.yaml")).unwrap())
                .unwrap();
        let schema: Value = serde_json::from_str(
            &std::fs::read_to_string(chart.join("values.schema.json")).unwrap(),
        )
        .unwrap();
        let mut leaves = Vec::new();
        string_leaves(&values, &schema, "", &mut leaves);
        for leaf in leaves {
            // The lite chart's values are mostly the standard chart's: each path once.
            if !seen.insert(leaf.path.clone()) {
                continue;
            }
            let config = CONFIG_LEAVES.contains(&leaf.path.replace("\\.", ".").as_str());
            for suffix in if config { HOSTILE } else { HOSTILE_ELSEWHERE } {
                let value = format!("{}{suffix}", leaf.prefix);
                jobs.push((
                    profile,
                    StringLeaf {
                        path: leaf.path.clone(),
                        list: leaf.list,
                        prefix: leaf.prefix.clone(),
                    },
                    value,
                ));
            }
        }
    }
    let paths: BTreeSet<String> = jobs
        .iter()
        .map(|(_, l, _)| l.path.replace("\\.", "."))
        .collect();
    for leaf in CONFIG_LEAVES {
        assert!(
            paths.contains(*leaf),
            "{leaf} is not a string value of the charts"
        );
    }
    assert!(paths.len() > 40, "only {} string values found", paths.len());

    let threads = std::thread::available_parallelism()
        .map_or(2, usize::from)
        .clamp(2, 4);
    let chunk = jobs.len().div_ceil(threads);
    let mut problems: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .filter_map(|(profile, leaf, value)| {
                            try_hostile(profile, leaf, value)
                                .err()
                                .map(|e| format!("{profile} {} = {value:?}: {e}", leaf.path))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("thread"))
            .collect()
    });
    problems.sort();
    assert!(
        problems.is_empty(),
        "{} of {} hostile values got through:\n{}",
        problems.len(),
        jobs.len(),
        problems.join("\n")
    );
}

/// The files that hostile values were kept out of, read back: the defaults' configuration
/// files and scripts are rendered from the values quoted the way each file needs (a psql
/// literal in init.sql, a quoted name in pg_hba.conf, quoted settings in postgresql.conf),
/// so even values the schema allows cannot change their meaning.
#[test]
fn configuration_files_quote_the_values_they_contain() {
    let docs = yaml_docs(&helm_template(&chart_dir("standard"), &[]));
    let cm = |suffix: &str, key: &str| -> String {
        common::object(&docs, "ConfigMap", suffix)["data"][key]
            .as_str()
            .expect("file")
            .to_string()
    };
    let init = cm("-postgresql", "init.sql");
    assert!(
        init.contains("\\set app_db 'alert_history'")
            && init.contains("\\set app_user 'alert_history'"),
        "{init}"
    );
    assert!(
        init.contains(":\"app_user\"") && init.contains("format('CREATE ROLE %I', :'app_user')"),
        "init.sql uses psql's quoting"
    );
    let hba = cm("-postgresql", "pg_hba.conf");
    assert!(hba.contains("\"alert_history\" \"alert_history\""), "{hba}");
    let conf = cm("-postgresql", "postgresql.conf");
    assert!(
        conf.contains("shared_buffers = '512MB'") && conf.contains("archive_timeout = '300s'"),
        "{conf}"
    );
    let script =
        &common::object(&docs, "Pod", "alert-history-test")["spec"]["containers"][0]["command"][2];
    assert!(
        script
            .as_str()
            .unwrap()
            .contains("url=\"http://ah-alert-history:8080/readyz\""),
        "{script}"
    );
}
