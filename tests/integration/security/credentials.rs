//! No credential in clear: passwords only in Secrets, referenced by name and key; the
//! chart renders none of the passwords it generates (its hook Job creates those Secrets in
//! the cluster, `generated_secrets`), and `existingSecret` replaces the chart's Secret
//! entirely.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{containers, pods};
use crate::common::kube_api::SECRETS_JOB;
use crate::common::postgres::operator_secrets;
use crate::common::{
    POSTGRESQL_CHART_FILE, VALKEY_CHART_FILE, all_addons, base64_decode, chart_dir, helm_template,
    kind_name, profiles, yaml_docs,
};

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

/// The Secrets the chart's hook Job creates when missing (its ConfigMap's secrets.json):
/// name -> keys. Empty when the render has no such Job.
fn hook_secrets(docs: &[Value]) -> BTreeMap<String, BTreeSet<String>> {
    let Some(config) = docs.iter().find(|d| {
        d["kind"] == "ConfigMap"
            && d["metadata"]["name"]
                .as_str()
                .is_some_and(|n| n.ends_with(SECRETS_JOB))
    }) else {
        return BTreeMap::new();
    };
    let json: Value = serde_json::from_str(
        config["data"]["secrets.json"]
            .as_str()
            .expect("secrets.json"),
    )
    .expect("JSON");
    json["secrets"]
        .as_array()
        .expect("secrets")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().expect("name").to_string(),
                s["keys"]
                    .as_array()
                    .expect("keys")
                    .iter()
                    .map(|k| k.as_str().expect("key").to_string())
                    .collect(),
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
/// `valueFrom.secretKeyRef`), no Secret uses `stringData`, and no values.yaml key is a
/// password. The chart renders no Secret of its own but the LLM key it is given: every
/// reference (every container's `secretKeyRef` name and key) points at that Secret, or at
/// one the hook Job creates with that key. The lite chart has no credentials at all.
#[test]
fn credentials_live_only_in_secrets_and_every_reference_names_one_the_chart_provides() {
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
            assert!(
                secrets.keys().all(|s| s == "ah-alert-history-llm"),
                "{profile} {label}: the chart renders a Secret it was not given: {:?}",
                secrets.keys()
            );
            let made = hook_secrets(&docs);
            let operator_made = operator_secrets(&docs);
            let by_operator = |secret: &str, key: &str| {
                operator_made
                    .iter()
                    .any(|s| s["metadata"]["name"] == secret && !s["data"][key].is_null())
            };
            for (_, secret, key) in secret_refs(&docs) {
                assert!(
                    secrets.get(&secret).is_some_and(|s| s.contains_key(&key))
                        || made.get(&secret).is_some_and(|s| s.contains(&key))
                        || by_operator(&secret, &key),
                    "{profile} {label}: reference to {secret}/{key}, which neither the chart, its hook Job nor CloudNativePG makes"
                );
            }
            if has(POSTGRESQL_CHART_FILE) && has(VALKEY_CHART_FILE) {
                assert_eq!(
                    made.keys().collect::<Vec<_>>(),
                    ["ah-alert-history-postgresql", "ah-alert-history-valkey"],
                    "{profile} {label}: Secrets of the hook Job"
                );
            }
            if !has(POSTGRESQL_CHART_FILE) && !has(VALKEY_CHART_FILE) {
                assert!(made.is_empty(), "{profile} creates Secrets: {made:?}");
            }
        }
    }
}

/// With `existingSecret` set, the hook Job does not create that component's Secret and every
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
        hook_secrets(&pg_only).keys().collect::<Vec<_>>(),
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
        both.iter().all(|d| d["kind"] != "Secret") && hook_secrets(&both).is_empty(),
        "a Secret is made although both are supplied"
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

/// Nothing in the chart generates a password or reads the cluster for one: no template
/// uses `randAlphaNum`, `randAscii` or a `lookup` of a Secret (the hook Job's
/// files/create-secrets.py makes them, with Python's `secrets`).
#[test]
fn no_template_generates_a_password_or_looks_a_secret_up() {
    for profile in profiles() {
        let templates = chart_dir(profile).join("templates");
        let mut stack = vec![templates];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("templates") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let text = std::fs::read_to_string(&path).expect("template");
                for word in ["randAlphaNum", "randAscii", "lookup \"v1\" \"Secret\""] {
                    assert!(!text.contains(word), "{}: {word}", path.display());
                }
            }
        }
    }
}
