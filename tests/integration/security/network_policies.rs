//! NetworkPolicies on by default, deny by default, admitting exactly the spec's peers.

use serde_json::Value;

use super::pods;
use crate::common::{all_addons, chart_dir, helm_template, matches_selector, yaml_docs};

/// A peer of a rule, as text: `component <c>`, `cluster <cnpg cluster>`, `pods <labels> in
/// namespaces <labels>`, `cidr <x>`, `namespace <ns>`.
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
    // The pods of a CloudNativePG Cluster of this release (its name starts with the release's).
    if let Some(cluster) = labels["cnpg.io/cluster"].as_str() {
        assert!(cluster.starts_with("ah-"), "peer of this release only: {p}");
        return format!("cluster {cluster}");
    }
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

/// The ha chart's NetworkPolicy of the CloudNativePG instances (selected by the operator's
/// `cnpg.io/cluster` label, which its Jobs carry too) admits exactly: SQL from this release's
/// app, retention job and Helm test (plus `extraDatabaseClientCidrs`); replication and the
/// instance manager's status port from the instances themselves; the operator on both; and
/// Prometheus on the metrics port. Its egress is restricted when `cnpg.egress.enabled` names
/// the API server's networks (the instance manager and the Barman Cloud sidecar need it): to
/// DNS, the Cluster's own pods, the API server and the object store (docs/security.md).
#[test]
fn the_cloudnative_pg_instances_admit_only_their_clients_peers_operator_and_prometheus_and_reach_only_what_they_need()
 {
    let docs = yaml_docs(&helm_template(
        &chart_dir("ha"),
        &[
            "--set",
            "networkPolicy.extraDatabaseClientCidrs={10.250.0.0/16}",
        ],
    ));
    let policy = docs
        .iter()
        .find(|d| {
            d["kind"] == "NetworkPolicy"
                && d["spec"]["podSelector"]["matchLabels"]["cnpg.io/cluster"]
                    == "ah-alert-history-postgresql"
        })
        .expect("a NetworkPolicy of the Cluster's pods");
    assert_eq!(
        policy["spec"]["policyTypes"],
        serde_json::json!(["Ingress"])
    );
    let mut clients: Vec<String> = ["app", "retention", "postgresql-test"]
        .iter()
        .map(|c| format!("component {c}"))
        .collect();
    clients.push("cidr 10.250.0.0/16".to_string());
    let ports = |p: &[&str]| p.iter().map(ToString::to_string).collect::<Vec<_>>();
    assert_eq!(
        rules(policy, "ingress"),
        vec![
            (clients, ports(&["5432/TCP"])),
            (
                vec!["cluster ah-alert-history-postgresql".to_string()],
                ports(&["5432/TCP", "8000/TCP"])
            ),
            (
                vec!["pods {\"app.kubernetes.io/name\":\"cloudnative-pg\"} in namespaces {\"kubernetes.io/metadata.name\":\"cnpg-system\"}".to_string()],
                ports(&["8000/TCP", "5432/TCP"])
            ),
            (
                vec!["pods {\"app.kubernetes.io/name\":\"prometheus\"} in namespaces {\"kubernetes.io/metadata.name\":\"monitoring\"}".to_string()],
                ports(&["9187/TCP"])
            ),
        ]
    );
    // Restricted egress: DNS, the Cluster's pods, the API server's networks, the object
    // store on its endpoint's port (443 without one).
    for (endpoint, port) in [("", "443/TCP"), ("http://minio.storage:9000", "9000/TCP")] {
        let restricted = yaml_docs(&helm_template(
            &chart_dir("ha"),
            &[
                "--set",
                "cnpg.egress.enabled=true,cnpg.egress.apiServerCidrs={172.18.0.2/32}",
                "--set",
                &format!("cnpg.backup.endpointUrl={endpoint}"),
            ],
        ));
        let policy = restricted
            .iter()
            .find(|d| {
                d["kind"] == "NetworkPolicy"
                    && d["spec"]["podSelector"]["matchLabels"]["cnpg.io/cluster"].is_string()
            })
            .expect("the Cluster's NetworkPolicy");
        assert_eq!(
            policy["spec"]["policyTypes"],
            serde_json::json!(["Ingress", "Egress"])
        );
        assert_eq!(
            rules(policy, "egress"),
            vec![
                (
                    vec!["namespace kube-system".to_string()],
                    ports(&["53/UDP", "53/TCP"])
                ),
                (
                    vec!["cluster ah-alert-history-postgresql".to_string()],
                    ports(&["5432/TCP", "8000/TCP"])
                ),
                (
                    vec!["cidr 172.18.0.2/32".to_string()],
                    ports(&["443/TCP", "6443/TCP"])
                ),
                (vec!["cidr 0.0.0.0/0".to_string()], ports(&[port])),
            ],
            "endpoint {endpoint:?}"
        );
    }
    for component in ["app", "retention", "postgresql-test"] {
        assert!(
            pods(&docs)
                .iter()
                .any(|(_, _, labels)| labels["app.kubernetes.io/component"] == component),
            "no pod of component {component}"
        );
    }
}
