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
//!   stable names and keys; `existingSecret` replaces the chart's Secret entirely
//!   (`credentials`);
//! - NetworkPolicies on by default, deny by default, admitting exactly the spec's peers
//!   (`network_policies`);
//! - values that reach a configuration file or script cannot inject into it: hostile
//!   strings in every string value are refused by both `helm` (values.schema.json) and
//!   `alertchart validate`, and free-form values (annotations) never reach such a file
//!   (`injection`).
//!
//! The real-server checks of authentication and TLS are in `postgresql_auth` and
//! `postgresql_tls`; that PodDisruptionBudgets never block a node drain is `availability`'s.

mod credentials;
mod injection;
mod network_policies;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::common::kube_api::SECRETS_JOB;
use crate::common::{
    POSTGRESQL_CHART_FILE, all_addons, chart_dir, helm_template, kind_name, profiles,
    profiles_with, repo, tools_env, variants,
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
/// containers included), and no service account token: the only pod that calls the
/// Kubernetes API, the hook Job that creates the password Secrets (`object`), mounts a
/// projected token of its own, valid for 10 minutes, instead of the automounted one.
fn hardening_violations(object: &str, spec: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if spec["automountServiceAccountToken"] != false {
        out.push("automountServiceAccountToken is not false".into());
    }
    let tokens: Vec<&Value> = spec["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|v| v["projected"]["sources"].as_array().into_iter().flatten())
        .filter_map(|source| source.get("serviceAccountToken"))
        .collect();
    let may_call_the_api = object == format!("Job ah-alert-history{SECRETS_JOB}");
    if may_call_the_api {
        if tokens.len() != 1 || tokens[0]["expirationSeconds"] != 600 {
            out.push(format!("not exactly one 10-minute token: {tokens:?}"));
        }
    } else if !tokens.is_empty() {
        out.push("mounts a service account token".into());
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

/// Every pod of both profiles (Deployment, StatefulSets, CronJobs, the password hook Job, Helm test pods),
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
            let hardening = hardening_violations(&object, spec);
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
