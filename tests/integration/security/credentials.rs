//! No credential in clear: passwords only in Secrets, random per render, referenced by
//! stable names and keys; `existingSecret` replaces the chart's Secret entirely; generated
//! Secrets read back the installed ones with `lookup`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{containers, pods};
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

/// The Secrets and keys CloudNativePG creates for the Clusters of a render: `<cluster>-app`,
/// the app owner's credentials, unless the Cluster's bootstrap names a Secret of the user's.
fn operator_secrets(docs: &[Value]) -> Vec<(String, String)> {
    docs.iter()
        .filter(|d| d["kind"] == "Cluster" && d["spec"]["bootstrap"]["initdb"]["secret"].is_null())
        .flat_map(|d| {
            let name = d["metadata"]["name"].as_str().expect("name");
            ["username", "password"].map(|key| (format!("{name}-app"), key.to_string()))
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
            let operator_made = operator_secrets(&docs);
            for (_, secret, key) in secret_refs(&docs) {
                assert!(
                    secrets.get(&secret).is_some_and(|s| s.contains_key(&key))
                        || operator_made.contains(&(secret.clone(), key.clone())),
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
