//! The Kubernetes API as the chart's hook Job sees it, and the Job run against it.
//!
//! [`KubeApi`] runs `fake-kube-api.py` (beside this file): HTTPS on 127.0.0.1 with a
//! certificate made for the test, a bearer token, the Role rules of the rendered chart
//! enforced as RBAC does, and a store of Secrets the tests read and seed.
//! [`run_secrets_job`] runs the rendered Job's container (the app image's Python, the
//! pod's user, its ConfigMap and its projected service account volume, holding this API's
//! token and CA) the way the kubelet would. Adapted, and only that: the API server's
//! address, which the kubelet gives every pod as `KUBERNETES_SERVICE_HOST`/`_PORT`, is this
//! server's.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use super::app::{AppContainer, app_venv};
use super::postgres::{ContainerFs, Rendered, Sandbox, env_set, output_text, wait_for};
use super::run_ok;

/// The namespace of the tests' renders.
pub const NAMESPACE: &str = "alerts";

/// The name suffix of the hook Job (and its ServiceAccount, Role, ConfigMap).
pub const SECRETS_JOB: &str = "-generated-secrets";

/// Where the Job's container finds its service account token and CA.
const ACCOUNT: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// A running fake API server; stopped when dropped.
pub struct KubeApi {
    dir: tempfile::TempDir,
    child: Child,
    pub port: u16,
}

impl KubeApi {
    /// An API that allows every request.
    pub fn start() -> Self {
        Self::start_with(None, &[])
    }

    /// An API that authorizes requests by `rules` (a Role's `rules`; `None` allows all)
    /// and starts with the Secrets `seed` (objects with name and namespace).
    pub fn start_with(rules: Option<&Value>, seed: &[Value]) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("alertchart-kube-api-")
            .tempdir()
            .expect("temporary directory");
        let secrets: BTreeMap<String, Value> = seed
            .iter()
            .map(|s| {
                let m = &s["metadata"];
                (
                    format!(
                        "{}/{}",
                        m["namespace"].as_str().expect("namespace"),
                        m["name"].as_str().expect("name")
                    ),
                    s.clone(),
                )
            })
            .collect();
        let state = json!({"secrets": secrets, "requests": []});
        fs::write(dir.path().join("state.json"), state.to_string()).expect("state");
        if let Some(rules) = rules {
            fs::write(dir.path().join("rules.json"), rules.to_string()).expect("rules");
        }
        fs::write(dir.path().join("token"), "test-token-of-the-hook-job").expect("token");
        // A self-signed certificate for 127.0.0.1, the API server's address here; it is
        // also the CA the pod's projected volume carries.
        run_ok(
            Command::new(super::tool("openssl"))
                .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
                .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"])
                .args(["-subj", "/CN=kube-apiserver", "-addext"])
                .arg("subjectAltName=IP:127.0.0.1")
                .arg("-keyout")
                .arg(dir.path().join("key.pem"))
                .arg("-out")
                .arg(dir.path().join("cert.pem"))
                .stderr(Stdio::null()),
        );
        let mut child = Command::new(app_venv().join("bin/python"))
            .arg(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("tests/integration/common/fake-kube-api.py"),
            )
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the fake Kubernetes API");
        let port_file = dir.path().join("port");
        let port = wait_for("the fake Kubernetes API", Duration::from_secs(30), || {
            if let Some(status) = child.try_wait().expect("wait") {
                panic!("the fake Kubernetes API exited ({status})");
            }
            fs::read_to_string(&port_file).ok()?.trim().parse().ok()
        });
        KubeApi { dir, child, port }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn state(&self) -> Value {
        let text = fs::read_to_string(self.file("state.json")).expect("the API's state");
        serde_json::from_str(&text).expect("JSON state")
    }

    /// The Secrets of the namespace, by name, as the API holds them.
    pub fn secrets(&self) -> BTreeMap<String, Value> {
        let prefix = format!("{NAMESPACE}/");
        self.state()["secrets"]
            .as_object()
            .expect("secrets")
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix(&prefix)?.to_string(), v.clone())))
            .collect()
    }

    /// The requests so far: `METHOD path status`.
    pub fn requests(&self) -> Vec<String> {
        self.state()["requests"]
            .as_array()
            .expect("requests")
            .iter()
            .map(|r| r.as_str().expect("string").to_string())
            .collect()
    }

    /// The token the API accepts.
    pub fn token(&self) -> String {
        fs::read_to_string(self.file("token")).expect("token")
    }

    /// The CA that signed the API's certificate.
    pub fn ca(&self) -> PathBuf {
        self.file("cert.pem")
    }
}

impl Drop for KubeApi {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The rendered hook Job's container, ready to run against `api` as its pod would
/// (projected token `token`, `api`'s CA); `None` when the render has no such Job.
pub fn secrets_job(
    rendered: &Rendered,
    api_port: u16,
    token: &str,
    ca: &Path,
) -> Option<(Sandbox, AppContainer)> {
    let has_job = rendered.docs.iter().any(|d| {
        d["kind"] == "Job"
            && d["metadata"]["name"]
                .as_str()
                .is_some_and(|n| n.ends_with(SECRETS_JOB))
    });
    if !has_job {
        return None;
    }
    let sandbox = Sandbox::new();
    let fs = ContainerFs::new(&sandbox, rendered, "Job", SECRETS_JOB, "create-secrets");
    // What the kubelet projects into the volume (serviceAccountToken and kube-root-ca.crt).
    let projected = fs.mount(ACCOUNT);
    fs::write(projected.join("token"), token).expect("token");
    fs::copy(ca, projected.join("ca.crt")).expect("ca.crt");
    let mut job =
        AppContainer::of_workload(rendered, &sandbox, "Job", SECRETS_JOB, "create-secrets");
    env_set(&mut job.env, "KUBERNETES_SERVICE_HOST", "127.0.0.1");
    env_set(
        &mut job.env,
        "KUBERNETES_SERVICE_PORT",
        &api_port.to_string(),
    );
    Some((sandbox, job))
}

/// Runs the hook Job of `rendered` once against `api`; its output (`None`: no such Job).
pub fn run_secrets_job(rendered: &Rendered, api: &KubeApi) -> Option<Output> {
    let (_sandbox, job) = secrets_job(rendered, api.port, &api.token(), &api.ca())?;
    Some(job.run())
}

/// Runs the hook Job as Helm would before installing `rendered`, which must succeed, and
/// adds the Secrets it made (all of the namespace) to the manifests, as the pods will find
/// them in the cluster.
pub fn install_secrets(rendered: &mut Rendered, api: &KubeApi) {
    if let Some(out) = run_secrets_job(rendered, api) {
        assert!(
            out.status.success(),
            "the Secret-creating hook Job failed:\n{}",
            output_text(&out)
        );
    }
    rendered.docs.extend(api.secrets().into_values());
}
