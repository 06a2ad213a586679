//! Secrets under GitOps (docs/gitops.md): the chart renders no passwords. A pre-install and
//! pre-upgrade hook Job creates each missing Secret of generated passwords and never
//! changes an existing one, so two renders of the same values are byte-identical and a
//! re-sync (Argo CD renders with `helm template` on every sync) cannot lock anyone out.
//!
//! The Job's script runs here as its pod runs it (harness: `common::kube_api`) against a
//! fake Kubernetes API that enforces the rendered Role as RBAC does; PostgreSQL, the app,
//! the exporter, the backup job and the Helm test pod are the real programs
//! (`common::postgres`, `common::app`).

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::app::with_database;
use crate::common::kube_api::{KubeApi, NAMESPACE, SECRETS_JOB, run_secrets_job, secrets_job};
use crate::common::postgres::{
    APP_DB, APP_FROM_LOOPBACK, APP_USER, ChildGuard, Cluster, Rendered, as_user, env_get,
    free_port, http_get, output_text, path_env, postgres_exporter, try_sql, wait_for,
};
use crate::common::{
    all_addons, base64_decode, chart_dir, helm_template, kind_name, matches_selector, profiles,
    recovery, variants,
};

/// The Secrets the standard chart's defaults have the Job create, with their keys.
const STANDARD_SECRETS: &[(&str, &[&str])] = &[
    (
        "ah-alert-history-postgresql",
        &[
            "exporter-password",
            "password",
            "postgres-password",
            "replication-password",
        ],
    ),
    ("ah-alert-history-valkey", &["valkey-password"]),
];

/// The annotations that keep a Secret out of the release's hands (create-secrets.py).
const KEEP: &[(&str, &str)] = &[
    ("helm.sh/resource-policy", "keep"),
    ("argocd.argoproj.io/sync-options", "Prune=false"),
    ("argocd.argoproj.io/compare-options", "IgnoreExtraneous"),
];

/// The standard chart's defaults, rendered (hooks included) without running anything.
fn standard_manifests(args: &[&str]) -> Vec<Value> {
    crate::common::yaml_docs(&helm_template(&chart_dir("standard"), args))
}

/// The rules of the hook Job's Role in `docs`.
fn role_rules(docs: &[Value]) -> Value {
    crate::common::object(docs, "Role", SECRETS_JOB)["rules"].clone()
}

/// Rendered manifests without running the hook (as `Rendered`, for the Job's harness).
fn manifests(docs: Vec<Value>) -> Rendered {
    Rendered { docs }
}

/// A Secret's decoded data.
fn data(secret: &Value) -> BTreeMap<String, String> {
    secret["data"]
        .as_object()
        .expect("data")
        .iter()
        .map(|(k, v)| {
            let bytes = base64_decode(v.as_str().expect("base64"));
            (k.clone(), String::from_utf8(bytes).expect("UTF-8"))
        })
        .collect()
}

/// A Secret as `helm install` of the previous chart (0.1.0) left it: rendered by the
/// release (Helm's ownership annotations and labels), with `keep` only on PostgreSQL's.
fn secret_of_the_previous_chart(name: &str, keys: &[&str], keep: bool) -> Value {
    let mut annotations = json!({
        "meta.helm.sh/release-name": "ah",
        "meta.helm.sh/release-namespace": NAMESPACE,
    });
    if keep {
        annotations["helm.sh/resource-policy"] = json!("keep");
    }
    let data: serde_json::Map<String, Value> = keys
        .iter()
        .map(|k| {
            (
                (*k).to_string(),
                json!(b64(&format!("old-{k}-0123456789abcdefghijklm"))),
            )
        })
        .collect();
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": NAMESPACE,
            "resourceVersion": "7",
            "labels": {"app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/instance": "ah"},
            "annotations": annotations,
        },
        "type": "Opaque",
        "data": data,
    })
}

fn b64(s: &str) -> String {
    crate::common::base64_encode(s.as_bytes())
}

/// Runs the hook Job of `docs` against `api`; `(succeeded, output)`.
fn run_job(docs: &[Value], api: &KubeApi) -> (bool, String) {
    let out = run_secrets_job(&manifests(docs.to_vec()), api).expect("the render has the hook Job");
    (out.status.success(), output_text(&out))
}

/// The first run creates each Secret of the chart with every key (32 random letters and
/// digits each, all different), labelled without the release's instance label and
/// annotated to stay out of Helm's and Argo CD's hands; the rendered Role (create; get and
/// patch of those names only) is all it needs. The second run, as on every upgrade or
/// sync, changes nothing: no Secret is created or patched and the store is as it was.
#[test]
fn the_hook_job_creates_the_missing_secrets_once_and_then_changes_nothing() {
    let docs = standard_manifests(&[]);
    let api = KubeApi::start_with(Some(&role_rules(&docs)), &[]);
    let (ok, text) = run_job(&docs, &api);
    assert!(ok, "first run:\n{text}");
    let first = api.secrets();
    assert_eq!(
        first.keys().map(String::as_str).collect::<Vec<_>>(),
        STANDARD_SECRETS.iter().map(|(n, _)| *n).collect::<Vec<_>>()
    );
    let mut seen = Vec::new();
    for (name, keys) in STANDARD_SECRETS {
        let secret = &first[*name];
        let values = data(secret);
        assert_eq!(
            values.keys().map(String::as_str).collect::<Vec<_>>(),
            *keys,
            "{name}"
        );
        for (key, value) in &values {
            assert!(
                value.len() == 32 && value.chars().all(|c| c.is_ascii_alphanumeric()),
                "{name}/{key}: {value:?}"
            );
            assert!(!seen.contains(value), "{name}/{key} repeats a password");
            seen.push(value.clone());
        }
        for (k, v) in KEEP {
            assert_eq!(secret["metadata"]["annotations"][k], *v, "{name} {k}");
        }
        let labels = &secret["metadata"]["labels"];
        assert!(
            labels["app.kubernetes.io/instance"].is_null(),
            "{name}: {labels}"
        );
        assert_eq!(secret["type"], "Opaque");
    }

    let requests_before = api.requests().len();
    let (ok, text) = run_job(&docs, &api);
    assert!(ok, "second run:\n{text}");
    assert_eq!(api.secrets(), first, "the second run changed a Secret");
    let second: Vec<String> = api.requests()[requests_before..].to_vec();
    assert!(
        second
            .iter()
            .all(|r| r.ends_with(" 409") || (r.starts_with("GET ") && r.ends_with(" 200"))),
        "the second run did more than find the Secrets: {second:?}"
    );
    assert!(text.contains("left as it is"), "{text}");
}

/// A Secret that exists before the install (made by hand, or by an earlier run) is left
/// exactly as it was, data and annotations, when it already carries the annotations; the
/// other Secret is still created. With `existingSecret` set for one component, the Job
/// creates only the other's, and the Role names only that one.
#[test]
fn an_existing_secret_is_left_as_it_was_and_existing_secret_values_are_never_created() {
    let docs = standard_manifests(&[]);
    let mut mine =
        secret_of_the_previous_chart("ah-alert-history-postgresql", STANDARD_SECRETS[0].1, true);
    for (k, v) in KEEP {
        mine["metadata"]["annotations"][k] = json!(v);
    }
    let api = KubeApi::start_with(Some(&role_rules(&docs)), std::slice::from_ref(&mine));
    let (ok, text) = run_job(&docs, &api);
    assert!(ok, "{text}");
    let secrets = api.secrets();
    assert_eq!(
        secrets["ah-alert-history-postgresql"], mine,
        "the existing Secret changed"
    );
    assert!(secrets.contains_key("ah-alert-history-valkey"), "{text}");
    assert!(
        !api.requests().iter().any(|r| r.starts_with("PATCH ")),
        "{:?}",
        api.requests()
    );

    let docs = standard_manifests(&["--set", "postgresql.auth.existingSecret=db-creds"]);
    let rules = role_rules(&docs);
    assert_eq!(
        rules[1]["resourceNames"],
        json!(["ah-alert-history-valkey"])
    );
    let api = KubeApi::start_with(Some(&rules), &[]);
    let (ok, text) = run_job(&docs, &api);
    assert!(ok, "{text}");
    assert_eq!(
        api.secrets().keys().collect::<Vec<_>>(),
        ["ah-alert-history-valkey"]
    );

    let docs = standard_manifests(&[
        "--set",
        "postgresql.auth.existingSecret=db-creds",
        "--set",
        "valkey.auth.existingSecret=cache-creds",
    ]);
    assert!(
        docs.iter().all(|d| !d["metadata"]["name"]
            .as_str()
            .unwrap_or("")
            .ends_with(SECRETS_JOB)),
        "a hook object is rendered although both Secrets are supplied"
    );
}

/// `helm upgrade` from the chart that rendered the Secrets (0.1.0): they leave the
/// manifest, and Helm deletes such a resource unless its live object says
/// `helm.sh/resource-policy: keep`, which the Valkey Secret did not. The pre-upgrade
/// hook runs before Helm deletes anything and adds the annotations (a PATCH of the
/// annotations only): every password stays as it was, and both Secrets now carry `keep`
/// (and Argo CD's `Prune=false`), so neither Helm nor Argo CD deletes them.
#[test]
fn an_upgrade_from_the_chart_that_rendered_the_secrets_keeps_every_password() {
    let docs = standard_manifests(&[]);
    let old: Vec<Value> = STANDARD_SECRETS
        .iter()
        .map(|(name, keys)| secret_of_the_previous_chart(name, keys, name.ends_with("postgresql")))
        .collect();
    let api = KubeApi::start_with(Some(&role_rules(&docs)), &old);
    let (ok, text) = run_job(&docs, &api);
    assert!(ok, "{text}");
    let after = api.secrets();
    for before in &old {
        let name = before["metadata"]["name"].as_str().expect("name");
        let now = &after[name];
        assert_eq!(now["data"], before["data"], "{name}: a password changed");
        for (k, v) in KEEP {
            assert_eq!(now["metadata"]["annotations"][k], *v, "{name} {k}");
        }
        assert_eq!(
            now["metadata"]["annotations"]["meta.helm.sh/release-name"], "ah",
            "{name}: other annotations stay"
        );
        assert_eq!(now["metadata"]["labels"], before["metadata"]["labels"]);
    }
    assert!(
        !api.requests()
            .iter()
            .any(|r| r.starts_with("POST ") && r.ends_with(" 201")),
        "{:?}",
        api.requests()
    );
}

/// What fails the Job, each with a message that says why and a non-zero exit (Helm then
/// stops the install or upgrade before touching anything): the API refuses (403: the Role
/// lacks a verb), the token is not accepted (401), the API cannot be reached, and an
/// existing Secret lacks a key the pods need (it is left as it was).
#[test]
fn the_hook_job_fails_with_a_clear_message_when_it_cannot_do_its_work() {
    let docs = standard_manifests(&[]);

    let api = KubeApi::start_with(Some(&json!([])), &[]);
    let (ok, text) = run_job(&docs, &api);
    assert!(!ok, "succeeded without RBAC:\n{text}");
    assert!(
        text.contains("error: creating Secret alerts/ah-alert-history-postgresql")
            && text.contains("403 Forbidden")
            && text.contains("cannot create resource \"secrets\""),
        "{text}"
    );
    assert!(api.secrets().is_empty());

    let (_sandbox, job) = secrets_job(&manifests(docs.clone()), api.port, "wrong-token", &api.ca())
        .expect("the hook Job");
    let out = job.run();
    let text = output_text(&out);
    assert!(
        !out.status.success() && text.contains("401 Unauthorized"),
        "{text}"
    );

    let closed = free_port();
    let (_sandbox, job) =
        secrets_job(&manifests(docs.clone()), closed, &api.token(), &api.ca()).expect("Job");
    let out = job.run();
    let text = output_text(&out);
    assert!(
        !out.status.success()
            && text.contains(&format!(
                "error: cannot reach the Kubernetes API at https://127.0.0.1:{closed}"
            )),
        "{text}"
    );

    let partial = secret_of_the_previous_chart(
        "ah-alert-history-postgresql",
        &["postgres-password", "password"],
        true,
    );
    let api = KubeApi::start_with(Some(&role_rules(&docs)), std::slice::from_ref(&partial));
    let (ok, text) = run_job(&docs, &api);
    assert!(
        !ok && text.contains("exists without the key(s) replication-password, exporter-password"),
        "{text}"
    );
    assert_eq!(api.secrets()["ah-alert-history-postgresql"], partial);
}

/// Rendered manifests are deterministic: `helm template` twice with the same values gives
/// byte-identical output, for every built-in profile with the defaults and with every
/// add-on; and no render holds a Secret the chart generates (only the LLM key it is given).
#[test]
fn two_renders_with_the_same_values_are_byte_identical() {
    for profile in profiles() {
        let chart = chart_dir(profile);
        for args in [vec![], all_addons(profile)] {
            let first = helm_template(&chart, &args);
            let second = helm_template(&chart, &args);
            assert!(first == second, "{profile} {args:?}: two renders differ");
            for doc in crate::common::yaml_docs(&first) {
                if doc["kind"] == "Secret" {
                    assert_eq!(doc["metadata"]["name"], "ah-alert-history-llm", "{profile}");
                }
            }
        }
    }
}

/// The end-to-end case, as Argo CD runs it: the first sync runs the hook Job
/// (PreSync), then PostgreSQL initializes its roles from the Secret the Job created. A
/// second sync renders the chart again and runs the Job again; its manifests are the
/// first's, and with them the app (its migration and its server), the exporter, the
/// backup job and the Helm test pod all connect. Adapted as in their own tests: Service
/// host names and ports to the server's; the app user admitted from 127.0.0.1.
#[test]
fn a_second_render_as_argo_cd_syncs_it_keeps_every_client_connected() {
    let chart = chart_dir("standard");
    let api = KubeApi::start_with(
        Some(&role_rules(&standard_manifests(APP_FROM_LOOPBACK))),
        &[],
    );
    let first = Rendered::in_cluster(&chart, APP_FROM_LOOPBACK, &api);
    let secrets = api.secrets();
    let mut c = Cluster::started_rendered(first.clone());
    let out = c.run_init_sql(&[]);
    assert!(out.status.success(), "init.sql: {}", output_text(&out));

    let second = Rendered::in_cluster(&chart, APP_FROM_LOOPBACK, &api);
    assert_eq!(api.secrets(), secrets, "the second sync changed a Secret");
    assert!(
        second.docs == first.docs,
        "the second render differs from the first"
    );
    c.rendered = second;

    // The app: its migration (init container), then its server, ready on PostgreSQL.
    let app = |name: &str| with_database(&c, name);
    let out = app("migrate").run();
    assert!(out.status.success(), "migrate: {}", output_text(&out));
    let log = c.sandbox.path().join("app.log");
    let server = app("alert-history").serve(&log);
    let (status, body) = server.get("/readyz");
    assert_eq!(status, 200, "{body}");
    let text = std::fs::read_to_string(&log).expect("app log");
    assert!(!text.contains("Falling back to SQLite"), "{text}");
    drop(server);

    // The exporter sidecar: pg_up 1 with its DATA_SOURCE_* from the Secret.
    let mut env = c
        .rendered
        .container_env("StatefulSet", "-postgresql", "exporter");
    for (_, value) in &mut env {
        *value = value.replace("127.0.0.1:5432", &format!("127.0.0.1:{}", c.port));
    }
    let port = free_port();
    let _exporter = ChildGuard(
        as_user(postgres_exporter())
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .envs(env)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start postgres_exporter"),
    );
    wait_for("the exporter's pg_up 1", Duration::from_secs(60), || {
        let (_, body) = http_get(port, "/metrics").ok()?;
        body.lines().any(|l| l == "pg_up 1").then_some(())
    });

    // The backup job (as replicator) and the Helm test pod (as the app user).
    recovery::backup_job(&c).run_ok();
    let pod = c.rendered.container("Pod", "-postgresql-test", "psql");
    let command: Vec<String> = pod["command"]
        .as_array()
        .expect("command")
        .iter()
        .map(|s| s.as_str().expect("string").to_string())
        .collect();
    let mut env = c.rendered.container_env("Pod", "-postgresql-test", "psql");
    c.through_service(&mut env, "the test pod");
    let out = as_user(&command[0])
        .args(&command[1..])
        .envs(env)
        .env("PATH", path_env())
        .output()
        .expect("run the test pod's script");
    assert!(out.status.success(), "helm test: {}", output_text(&out));

    // And the passwords are the roles' own: the Secret's app password logs in.
    let password = data(&secrets["ah-alert-history-postgresql"])["password"].clone();
    let (ok, text) = try_sql(&c, APP_USER, &password, APP_DB, "SELECT 1");
    assert!(ok, "{text}");
    assert_eq!(
        env_get(&c.env, "POSTGRES_PASSWORD"),
        data(&secrets["ah-alert-history-postgresql"])["postgres-password"]
    );
}

/// No NetworkPolicy of the chart selects the hook Job's pod, so none restricts its egress
/// to the Kubernetes API (the chart's policies select PostgreSQL's and Valkey's pods only),
/// in every render that has the Job, with the policies on (the default) and every add-on.
#[test]
fn no_network_policy_of_the_chart_selects_the_hook_job() {
    let mut checked = 0;
    for (label, docs) in variants() {
        let Some(job) = docs.iter().find(|d| {
            d["kind"] == "Job"
                && d["metadata"]["name"]
                    .as_str()
                    .is_some_and(|n| n.ends_with(SECRETS_JOB))
        }) else {
            continue;
        };
        let labels = &job["spec"]["template"]["metadata"]["labels"];
        let policies: Vec<&Value> = docs
            .iter()
            .filter(|d| d["kind"] == "NetworkPolicy")
            .collect();
        assert!(!policies.is_empty(), "{label}: no NetworkPolicy to check");
        for p in policies {
            assert!(
                !matches_selector(labels, &p["spec"]["podSelector"]),
                "{label}: {} selects the hook Job's pod",
                kind_name(p)
            );
        }
        checked += 1;
    }
    assert!(checked > 0, "no render has the hook Job");
}
