//! Availability of the generated charts through voluntary disruptions, checked on the
//! committed charts rendered by the real `helm template` (release `ah`, namespace `alerts`),
//! for every built-in profile with the defaults and with every optional add-on switched
//! on: PodDisruptionBudgets never block a node drain.

use serde_json::Value;

use crate::common::{
    HPA_CHART_FILE, chart_dir, helm_template, kind_name, matches_selector, profiles_with, variants,
    yaml_docs,
};

/// Every PodDisruptionBudget lets a node drain evict its pods: `maxUnavailable` of at least
/// 1, or a `minAvailable` below the replicas of the workload it selects (for the app, the
/// HPA's minimum), also with `autoscaling.minReplicas=1` in the charts that autoscale.
#[test]
fn pod_disruption_budgets_never_block_a_node_drain() {
    let mut renders = variants();
    for profile in profiles_with(HPA_CHART_FILE) {
        renders.push((
            format!("{profile} with autoscaling.minReplicas=1"),
            yaml_docs(&helm_template(
                &chart_dir(profile),
                &["--set", "autoscaling.minReplicas=1"],
            )),
        ));
    }
    let mut pdbs = 0;
    for (label, docs) in renders {
        for pdb in docs.iter().filter(|d| d["kind"] == "PodDisruptionBudget") {
            pdbs += 1;
            let targets: Vec<&Value> = docs
                .iter()
                .filter(|d| matches!(d["kind"].as_str(), Some("Deployment" | "StatefulSet")))
                .filter(|d| {
                    matches_selector(
                        &d["spec"]["template"]["metadata"]["labels"],
                        &pdb["spec"]["selector"],
                    )
                })
                .collect();
            assert_eq!(
                targets.len(),
                1,
                "{label}: {} selects {} workloads",
                kind_name(pdb),
                targets.len()
            );
            let target = targets[0];
            let hpa_min = docs
                .iter()
                .find(|d| {
                    d["kind"] == "HorizontalPodAutoscaler"
                        && d["spec"]["scaleTargetRef"]["name"] == target["metadata"]["name"]
                })
                .map(|h| h["spec"]["minReplicas"].as_u64().expect("minReplicas"));
            let replicas =
                hpa_min.unwrap_or_else(|| target["spec"]["replicas"].as_u64().unwrap_or(1));
            let spec = &pdb["spec"];
            let ok = match (
                spec["maxUnavailable"].as_u64(),
                spec["minAvailable"].as_u64(),
            ) {
                (Some(max), None) => max >= 1,
                (None, Some(min)) => min < replicas,
                _ => false,
            };
            assert!(
                ok,
                "{label}: {} ({spec}) blocks the drain of {} with {replicas} replica(s)",
                kind_name(pdb),
                kind_name(target)
            );
        }
    }
    assert!(pdbs >= 6, "only {pdbs} PodDisruptionBudgets checked");
}
