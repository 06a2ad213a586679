//! Harness of the tests that run the chart's PostgreSQL pieces on real software: a
//! PostgreSQL 16 server started the way the rendered StatefulSet starts it, the rendered
//! scripts run the way their pods run them, and environments built the way the kubelet
//! builds them.
//!
//! What cannot exist outside a cluster is adapted, and only that:
//! - **Mount paths.** Every volume mount of a container becomes a directory of a temporary
//!   sandbox, keyed by the volume's *source*: the same PersistentVolumeClaim mounted by two
//!   pods (PostgreSQL's `/backup` and the backup job's `/backup`) is the same directory,
//!   ConfigMap volumes hold the rendered ConfigMap's files (or its `items`), emptyDirs are
//!   empty, and so are Secret volumes (the Secrets they mount are the installer's, not in
//!   the chart: the test writes their files). Container paths in the rendered files,
//!   arguments and environment values are rewritten to those directories
//!   ([`ContainerFs::map_text`]). `/tmp` and `/dev/shm` exist on the host and stay as they
//!   are.
//! - **Network.** Servers listen on 127.0.0.1 only, on a free port: `-c port=<free>
//!   -c listen_addresses=127.0.0.1` after the container's own arguments
//!   ([`Cluster::server_command`] says why). Service host names become 127.0.0.1 and port
//!   5432 the free port (done by each test, and said there).
//! - **Users.** Tests run as root, which PostgreSQL refuses: servers, `initdb` and the
//!   scripts of pods that run as uid 999 run as `TEST_RUN_AS_USER` (an unprivileged user
//!   made by `scripts/install-tools.sh`), via `setpriv`. The peer line of pg_hba.conf maps
//!   the OS user `postgres` (uid 999 in the image), which this user is not, so the tests
//!   reach the server as `postgres` over TCP with the Secret's password (a line the
//!   rendered pg_hba.conf has) instead of over the socket.
//! - **Locale.** The image's `LANG=en_US.utf8` may not exist on the host: `C.UTF-8`.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use alertchart::formats::MemoryQuantity;
use serde_json::Value;

use crate::common;
use crate::common::kube_api::{KubeApi, install_secrets};

pub use crate::common::{free_port, run_as, tools_env};

const MISSING: &str = "run `scripts/test.sh` (it installs every tool into .tools/ and writes \
                       .tools/env.sh), or `source .tools/env.sh` before `cargo test`";

// ---------------------------------------------------------------------------------------
// Tools

/// The directory of the PostgreSQL 16 binaries: `$PG_BIN`, else `.tools/pgsql/postgresql-16*/bin`.
pub fn pg_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| find_pg_bin(16, "PG_BIN"))
}

/// The directory of the PostgreSQL 17 binaries (the major upgrade's target): `$PG17_BIN`,
/// else `.tools/pgsql/postgresql-17*/bin`.
pub fn pg17_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| find_pg_bin(17, "PG17_BIN"))
}

/// The binaries of PostgreSQL `major`: the directory `$<env>` names, else the one
/// install-tools.sh unpacked; missing or of another major, they fail the test.
fn find_pg_bin(major: u32, env: &str) -> PathBuf {
    let prefix = format!("postgresql-{major}");
    let mut candidates: Vec<PathBuf> = tools_env(env)
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .into_iter()
        .collect();
    if let Ok(entries) = fs::read_dir(common::repo().join(".tools").join("pgsql")) {
        let mut found: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
            .map(|e| e.path().join("bin"))
            .collect();
        found.sort();
        candidates.extend(found);
    }
    let bin = candidates
        .into_iter()
        .find(|d| d.join("postgres").is_file())
        .unwrap_or_else(|| {
            panic!("PostgreSQL {major} binaries not found (${env}, .tools/pgsql/{prefix}*/bin): {MISSING}")
        });
    let version = String::from_utf8_lossy(
        &common::run_ok(Command::new(bin.join("postgres")).arg("--version")).stdout,
    )
    .into_owned();
    assert!(
        version.contains(&format!(" {major}.")),
        "{} is not PostgreSQL {major}: {version}",
        bin.display()
    );
    bin
}

/// A PostgreSQL program (`postgres`, `psql`, `pg_ctl`, ...).
pub fn pg(name: &str) -> PathBuf {
    let p = pg_bin().join(name);
    assert!(p.is_file(), "{} is missing: {MISSING}", p.display());
    p
}

/// Debian's postgres_exporter (v0.11.1; the chart pins v0.19.1, which cannot be fetched
/// here): `$POSTGRES_EXPORTER`, else the Debian path, else `postgres_exporter` on PATH.
pub fn postgres_exporter() -> PathBuf {
    if let Some(p) = tools_env("POSTGRES_EXPORTER").filter(|s| !s.is_empty()) {
        let p = PathBuf::from(p);
        assert!(
            p.is_file(),
            "$POSTGRES_EXPORTER {} is missing: {MISSING}",
            p.display()
        );
        return p;
    }
    let debian = PathBuf::from("/usr/bin/prometheus-postgres-exporter");
    if debian.is_file() {
        return debian;
    }
    common::tool("postgres_exporter")
}

/// `PATH` of every process the tests start: the PostgreSQL binaries first (the image has
/// them on its PATH), then the system's tools.
pub fn path_env() -> String {
    format!("{}:/usr/local/bin:/usr/bin:/bin", pg_bin().display())
}

// ---------------------------------------------------------------------------------------
// Running as the unprivileged test user

/// A command that runs `program` as the test user (see [`run_as`]), with an empty
/// environment apart from `PATH` and `LANG`: nothing of the test's own environment
/// (PGPORT, PGPASSWORD, ...) leaks into it.
pub fn as_user(program: impl AsRef<OsStr>) -> Command {
    let mut cmd = match run_as() {
        Some(u) => {
            let mut c = Command::new(common::tool("setpriv"));
            c.arg(format!("--reuid={}", u.uid))
                .arg(format!("--regid={}", u.gid))
                .arg("--clear-groups")
                .arg("--")
                .arg(program);
            c
        }
        None => Command::new(program),
    };
    cmd.env_clear()
        .env("PATH", path_env())
        .env("LANG", "C.UTF-8");
    cmd
}

/// `command` in a mount namespace of its own whose /dev/shm is a tmpfs of `size` (a
/// Kubernetes quantity such as `167Mi`), as a memory-backed emptyDir with a sizeLimit is in a
/// pod. Needs root, as the tests run: the tmpfs is mounted before `command` (which drops to
/// the test user) starts, and disappears with the namespace when the server exits.
pub fn in_own_dev_shm(command: &Command, size: &str) -> Command {
    let bytes = MemoryQuantity::from(size.to_string()).bytes();
    let mut wrapped = Command::new(common::tool("unshare"));
    wrapped
        .args(["--mount", "--propagation", "private", "--", "sh", "-c"])
        .arg(r#"mount -t tmpfs -o "size=$0,mode=1777" tmpfs /dev/shm && exec "$@""#)
        .arg(bytes.to_string())
        .arg(command.get_program())
        .args(command.get_args())
        .env_clear();
    for (name, value) in command.get_envs() {
        if let Some(value) = value {
            wrapped.env(name, value);
        }
    }
    wrapped
}

/// Hands a path to the test user.
pub fn chown(path: &Path) {
    if let Some(u) = run_as() {
        std::os::unix::fs::chown(path, Some(u.uid), Some(u.gid))
            .unwrap_or_else(|e| panic!("chown {}: {e}", path.display()));
    }
}

/// Polls `cond` every 50 ms until it returns `Some`, or panics after `timeout`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut cond: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = cond() {
            return v;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// stdout + stderr of a finished command, for messages.
pub fn output_text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Seconds since the Unix epoch, now.
pub fn epoch_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs_f64()
}

/// A child process that is killed when the guard goes out of scope (exporter, load).
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `GET path` over plain HTTP/1.0 from 127.0.0.1:`port`: `(status line, body)`.
pub fn http_get(port: u16, path: &str) -> std::io::Result<(String, String)> {
    http_request(port, "GET", path)
}

/// A request without a body over plain HTTP/1.0 to 127.0.0.1:`port`: `(status line, body)`.
pub fn http_request(port: u16, method: &str, path: &str) -> std::io::Result<(String, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    write!(
        s,
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\n\r\n"
    )?;
    let mut resp = String::new();
    s.read_to_string(&mut resp)?;
    let (head, body) = resp.split_once("\r\n\r\n").unwrap_or((&resp, ""));
    Ok((
        head.lines().next().unwrap_or("").to_string(),
        body.to_string(),
    ))
}

// ---------------------------------------------------------------------------------------
// Rendered manifests and the kubelet's view of them

/// The Secret CloudNativePG creates for each Cluster of `docs` for its app user
/// (`<cluster>-app`, unless the bootstrap names the user's own), as the operator makes it
/// before the app starts, with [`OPERATOR_APP_PASSWORD`].
pub fn operator_secrets(docs: &[Value]) -> Vec<Value> {
    docs.iter()
        .filter(|d| d["kind"] == "Cluster")
        .filter_map(|d| {
            let initdb = &d["spec"]["bootstrap"]["initdb"];
            initdb["secret"].is_null().then(|| {
                serde_json::json!({
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "type": "kubernetes.io/basic-auth",
                    "metadata": {
                        "name": format!("{}-app", d["metadata"]["name"].as_str().expect("name")),
                    },
                    "data": {
                        "username": common::base64_encode(initdb["owner"].as_str().expect("owner").as_bytes()),
                        "password": common::base64_encode(OPERATOR_APP_PASSWORD.as_bytes()),
                    },
                })
            })
        })
        .collect()
}

/// psql's options for scripts: no psqlrc, quiet, unaligned tuples only, stop at the first error.
pub const PSQL_SCRIPT: [&str; 6] = ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"];

/// The password of the app user in the Secret the harness adds for CloudNativePG.
pub const OPERATOR_APP_PASSWORD: &str = "app-password-from-the-operator";

/// `helm template` of the standard chart (release `ah`, namespace `alerts`), parsed.
#[derive(Clone)]
pub struct Rendered {
    pub docs: Vec<Value>,
}

impl Rendered {
    /// Renders with extra `helm template` arguments (e.g. `--set`, `k=v`).
    pub fn standard(args: &[&str]) -> Self {
        Self::of(&common::chart_dir("standard"), args)
    }

    /// Renders the chart in directory `chart` with extra `helm template` arguments, and
    /// installs it in a namespace of its own: the chart's hook Job creates the Secrets of
    /// generated passwords in a fake Kubernetes API, from which they join the manifests
    /// (see [`Rendered::in_cluster`]).
    pub fn of(chart: &Path, args: &[&str]) -> Self {
        Self::in_cluster(chart, args, &KubeApi::start())
    }

    /// Renders the chart in directory `chart` with extra `helm template` arguments, runs its
    /// Secret-creating hook Job against `api` as Helm (or Argo CD) would before applying
    /// the manifests, and adds the namespace's Secrets to them: the pods get their
    /// passwords from what the Job made, or found, in `api`.
    pub fn in_cluster(chart: &Path, args: &[&str], api: &KubeApi) -> Self {
        let yaml = common::helm_template(chart, args);
        let mut rendered = Rendered {
            docs: common::yaml_docs(&yaml),
        };
        install_secrets(&mut rendered, api);
        let made = operator_secrets(&rendered.docs);
        rendered.docs.extend(made);
        rendered
    }

    /// The object of `kind` whose name ends with `suffix`.
    pub fn object(&self, kind: &str, suffix: &str) -> &Value {
        common::object(&self.docs, kind, suffix)
    }

    /// The object of `kind` named exactly `name`.
    pub fn named(&self, kind: &str, name: &str) -> &Value {
        self.docs
            .iter()
            .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no {kind} named {name} in the rendered chart"))
    }

    /// The pod spec of a workload (StatefulSet, Deployment, CronJob or Pod).
    pub fn pod_spec(&self, kind: &str, suffix: &str) -> &Value {
        let o = self.object(kind, suffix);
        match kind {
            "Pod" => &o["spec"],
            "CronJob" => &o["spec"]["jobTemplate"]["spec"]["template"]["spec"],
            _ => &o["spec"]["template"]["spec"],
        }
    }

    /// A container (or init container) of a workload's pod.
    pub fn container(&self, kind: &str, suffix: &str, name: &str) -> &Value {
        let spec = self.pod_spec(kind, suffix);
        ["containers", "initContainers"]
            .iter()
            .filter_map(|list| spec[list].as_array())
            .flatten()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no container {name} in {kind} *{suffix}"))
    }

    /// A ConfigMap entry, by the ConfigMap's name suffix and the key.
    pub fn configmap_file(&self, suffix: &str, key: &str) -> String {
        self.object("ConfigMap", suffix)["data"][key]
            .as_str()
            .unwrap_or_else(|| panic!("ConfigMap *{suffix} has no key {key}"))
            .to_string()
    }

    /// A Secret's value (base64-decoded `data`, or `stringData`).
    pub fn secret_value(&self, name: &str, key: &str) -> String {
        common::secret_data(self.named("Secret", name), key)
            .unwrap_or_else(|| panic!("Secret {name} has no key {key}"))
    }

    /// The environment of a container as the kubelet builds it (see [`kube_env`]).
    pub fn container_env(&self, kind: &str, suffix: &str, name: &str) -> Vec<(String, String)> {
        kube_env(
            self.container(kind, suffix, name),
            |secret, key| self.secret_value(secret, key),
            |configmap| {
                self.named("ConfigMap", configmap)["data"]
                    .as_object()
                    .map(|data| {
                        data.iter()
                            .map(|(k, v)| (k.clone(), v.as_str().expect("string").to_string()))
                            .collect()
                    })
                    .unwrap_or_default()
            },
        )
    }
}

/// The environment of a container as the kubelet builds it: first the keys of each
/// `envFrom` ConfigMap (`configmap(name)`), then `env` in list order, each `value` with its
/// `$(VAR)` references expanded against the variables defined *earlier* only (the pods set
/// `enableServiceLinks: false`, so there are no service variables), `$$` an escaped `$`,
/// references to anything else left as they are; `valueFrom.secretKeyRef` from
/// `secret(name, key)`. A later entry of the same name replaces the earlier one. Other
/// sources are not used by the charts' pods and fail the test.
pub fn kube_env(
    container: &Value,
    secret: impl Fn(&str, &str) -> String,
    configmap: impl Fn(&str) -> Vec<(String, String)>,
) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = Vec::new();
    for from in container["envFrom"]
        .as_array()
        .map_or(&[][..], Vec::as_slice)
    {
        let name = from["configMapRef"]["name"]
            .as_str()
            .unwrap_or_else(|| panic!("envFrom {from}: this harness supports only configMapRef"));
        for (k, v) in configmap(name) {
            env.retain(|(n, _)| n != &k);
            env.push((k, v));
        }
    }
    for e in container["env"].as_array().map_or(&[][..], Vec::as_slice) {
        let name = e["name"].as_str().expect("env name").to_string();
        let value = if let Some(v) = e.get("value") {
            kube_expand(v.as_str().expect("env value is a string"), &env)
        } else if let Some(r) = e.get("valueFrom").and_then(|v| v.get("secretKeyRef")) {
            secret(
                r["name"].as_str().expect("secretKeyRef.name"),
                r["key"].as_str().expect("secretKeyRef.key"),
            )
        } else if e.get("valueFrom").is_some() {
            panic!("env {name}: this harness supports only secretKeyRef; extend kube_env")
        } else {
            String::new()
        };
        env.retain(|(n, _)| n != &name);
        env.push((name, value));
    }
    env
}

/// Kubernetes' `$(VAR)` expansion (k8s.io/kubernetes third_party/forked/golang/expansion):
/// `$(NAME)` becomes the value of NAME when `defined` has it and stays `$(NAME)` when not;
/// `$$` becomes `$`; an unterminated `$(` and a `$` before anything else stay as they are.
pub fn kube_expand(input: &str, defined: &[(String, String)]) -> String {
    let mut out = String::new();
    let mut rest = input;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        match after.chars().next() {
            None => {
                out.push('$');
                rest = after;
            }
            Some('$') => {
                out.push('$');
                rest = &after[1..];
            }
            Some('(') => {
                if let Some(close) = after.find(')') {
                    let name = &after[1..close];
                    match defined.iter().rev().find(|(n, _)| n == name) {
                        Some((_, v)) => out.push_str(v),
                        None => {
                            let _ = write!(out, "$({name})");
                        }
                    }
                    rest = &after[close + 1..];
                } else {
                    out.push_str("$(");
                    rest = &after[1..];
                }
            }
            Some(c) => {
                out.push('$');
                out.push(c);
                rest = &after[c.len_utf8()..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Value of a variable in an environment list.
pub fn env_get<'a>(env: &'a [(String, String)], name: &str) -> &'a str {
    env.iter()
        .find(|(n, _)| n == name)
        .map_or_else(|| panic!("environment has no {name}"), |(_, v)| v.as_str())
}

/// Sets (or replaces) a variable in an environment list.
pub fn env_set(env: &mut Vec<(String, String)>, name: &str, value: &str) {
    match env.iter_mut().find(|(n, _)| n == name) {
        Some(e) => e.1 = value.to_string(),
        None => env.push((name.to_string(), value.to_string())),
    }
}

// ---------------------------------------------------------------------------------------
// Sandbox and volumes

/// A temporary directory for one test's volumes, owned by the test user, under a 0755
/// parent chain so that user can reach it. Removed when dropped.
pub struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("alertchart-pg-")
            .tempdir()
            .expect("temporary directory");
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
        chown(dir.path());
        Sandbox { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Creates `rel` (and its parents) owned by the test user.
    pub fn mkdir(&self, rel: &str) -> PathBuf {
        let mut p = self.path().to_path_buf();
        for part in Path::new(rel).components() {
            p.push(part);
            if !p.exists() {
                fs::create_dir(&p).unwrap_or_else(|e| panic!("mkdir {}: {e}", p.display()));
                fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).expect("chmod");
                chown(&p);
            }
        }
        p
    }
}

/// Writes a file owned by the test user, with `mode`.
pub fn write_owned(path: &Path, content: &[u8], mode: u32) {
    fs::write(path, content).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
    chown(path);
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

/// The file system of one container, laid out in a sandbox: its volume mounts, each the
/// directory of the volume's source (see the module documentation).
pub struct ContainerFs {
    /// `(mountPath, directory)`, longest mount path first.
    pub mounts: Vec<(String, PathBuf)>,
}

/// Writes the files of a `configMap` volume source of `rendered` into `dir`, as the kubelet
/// projects them: its `items`, else every key; returns `dir`.
fn project_configmap(dir: &Path, rendered: &Rendered, source: &Value) -> PathBuf {
    let cm_name = source["name"].as_str().expect("configMap.name");
    let data = &rendered.named("ConfigMap", cm_name)["data"];
    let items: Vec<(String, String)> = match source["items"].as_array() {
        Some(items) => items
            .iter()
            .map(|i| {
                (
                    i["key"].as_str().expect("key").to_string(),
                    i["path"].as_str().expect("path").to_string(),
                )
            })
            .collect(),
        None => data
            .as_object()
            .expect("ConfigMap data")
            .keys()
            .map(|k| (k.clone(), k.clone()))
            .collect(),
    };
    for (key, file) in items {
        let text = data[&key].as_str().expect("ConfigMap value");
        // Kubernetes projects the files as they are; the paths in them are mapped once the
        // whole layout is known (ContainerFs::new).
        write_owned(&dir.join(file), text.as_bytes(), 0o644);
    }
    dir.to_path_buf()
}

/// Mount paths that exist on the host and are not redirected.
const HOST_PATHS: &[&str] = &["/tmp", "/dev/shm"];

impl ContainerFs {
    /// Lays out the volume mounts of container `container` of the workload `kind` *`suffix`.
    pub fn new(
        sandbox: &Sandbox,
        rendered: &Rendered,
        kind: &str,
        suffix: &str,
        container: &str,
    ) -> Self {
        let object = rendered.object(kind, suffix);
        let workload = object["metadata"]["name"].as_str().expect("name");
        // The pod of a StatefulSet's first replica, of anything else its workload name.
        let pod = if kind == "StatefulSet" {
            format!("{workload}-0")
        } else {
            workload.to_string()
        };
        let spec = rendered.pod_spec(kind, suffix);
        let c = rendered.container(kind, suffix, container);
        let mut mounts = Vec::new();
        for m in c["volumeMounts"].as_array().map_or(&[][..], Vec::as_slice) {
            let path = m["mountPath"].as_str().expect("mountPath").to_string();
            let vol = m["name"].as_str().expect("volumeMount name");
            assert!(
                m.get("subPath").is_none(),
                "subPath mounts are not supported by this harness"
            );
            if HOST_PATHS.contains(&path.as_str()) {
                continue;
            }
            let source = spec["volumes"]
                .as_array()
                .and_then(|vs| vs.iter().find(|v| v["name"] == vol));
            let dir = match source {
                Some(v) if v.get("persistentVolumeClaim").is_some() => sandbox.mkdir(&format!(
                    "volumes/pvc-{}",
                    v["persistentVolumeClaim"]["claimName"]
                        .as_str()
                        .expect("claimName")
                )),
                Some(v) if v.get("emptyDir").is_some() => {
                    sandbox.mkdir(&format!("volumes/emptydir-{pod}-{vol}"))
                }
                Some(v) if v.get("configMap").is_some() => project_configmap(
                    &sandbox.mkdir(&format!("volumes/configmap-{pod}-{vol}")),
                    rendered,
                    &v["configMap"],
                ),
                // A Secret the installer provides (e.g. postgresql.tls.secretName) is not in
                // the chart: its directory starts empty, and the test puts the files there
                // with the owner and mode the kubelet would give them.
                Some(v) if v.get("secret").is_some() => sandbox.mkdir(&format!(
                    "volumes/secret-{}",
                    v["secret"]["secretName"].as_str().expect("secretName")
                )),
                // What the kubelet projects (token, the cluster's CA) the test writes.
                Some(v) if v.get("projected").is_some() => {
                    sandbox.mkdir(&format!("volumes/projected-{pod}-{vol}"))
                }
                Some(v) => panic!("volume {vol} of {kind} *{suffix}: unsupported source {v}"),
                None => {
                    // A StatefulSet's volumeClaimTemplate: claim <template>-<pod>.
                    assert_eq!(kind, "StatefulSet", "volume {vol} not found");
                    let templates = object["spec"]["volumeClaimTemplates"]
                        .as_array()
                        .expect("volumeClaimTemplates");
                    assert!(
                        templates.iter().any(|t| t["metadata"]["name"] == vol),
                        "volume {vol} not found in the pod or the claim templates"
                    );
                    sandbox.mkdir(&format!("volumes/pvc-{vol}-{pod}"))
                }
            };
            mounts.push((path, dir));
        }
        mounts.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
        let fs = ContainerFs { mounts };
        // Map container paths inside the projected ConfigMap files (config files name
        // their mounted paths, e.g. archive_command's /backup/wal).
        for (_, dir) in &fs.mounts {
            if !dir
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("configmap-"))
            {
                continue;
            }
            for entry in fs::read_dir(dir).expect("configmap dir") {
                let p = entry.expect("entry").path();
                let text = fs::read_to_string(&p).expect("text file");
                let mapped = fs.map_text(&text);
                if mapped != text {
                    write_owned(&p, mapped.as_bytes(), 0o644);
                }
            }
        }
        fs
    }

    /// The host path of a container path (which must lie under a mount).
    pub fn map_path(&self, container_path: &str) -> PathBuf {
        for (m, dir) in &self.mounts {
            if container_path == m {
                return dir.clone();
            }
            if let Some(rest) = container_path
                .strip_prefix(m.as_str())
                .and_then(|r| r.strip_prefix('/'))
            {
                return dir.join(rest);
            }
        }
        panic!("{container_path} is not under any volume mount")
    }

    /// The directory of the volume mounted at `mount_path`.
    pub fn mount(&self, mount_path: &str) -> &Path {
        &self
            .mounts
            .iter()
            .find(|(m, _)| m == mount_path)
            .unwrap_or_else(|| panic!("nothing is mounted at {mount_path}"))
            .1
    }

    /// `text` with every container path under a mount rewritten to the host path, in one
    /// pass (a path is matched at path boundaries only, longest mount first).
    pub fn map_text(&self, text: &str) -> String {
        let is_path_char = |c: char| c.is_ascii_alphanumeric() || "_.-/".contains(c);
        let mut out = String::with_capacity(text.len());
        let mut i = 0;
        'outer: while i < text.len() {
            let rest = &text[i..];
            let prev = text[..i].chars().next_back();
            if rest.starts_with('/') && !prev.is_some_and(is_path_char) {
                for (m, dir) in &self.mounts {
                    if let Some(after) = rest.strip_prefix(m.as_str()) {
                        let next = after.chars().next();
                        if next.is_none_or(|c| c == '/' || !is_path_char(c)) {
                            out.push_str(&dir.to_string_lossy());
                            i += m.len();
                            continue 'outer;
                        }
                    }
                }
            }
            let c = rest.chars().next().expect("char");
            out.push(c);
            i += c.len_utf8();
        }
        out
    }
}

// ---------------------------------------------------------------------------------------
// The PostgreSQL server of the StatefulSet

/// Status lines of `postmaster.pid` (line 8) that mean "accepting connections".
const READY: &[&str] = &["ready", "standby"];

/// A PostgreSQL 16 server run the way the rendered StatefulSet's `postgresql` container
/// runs it. Dropping it stops the server it started (`pg_ctl stop -m immediate`), also
/// when an assertion failed.
pub struct Cluster {
    pub rendered: Rendered,
    pub sandbox: Sandbox,
    /// The `postgresql` container's volumes.
    pub fs: ContainerFs,
    /// The `postgresql` container's environment (kubelet-style, Secret values decoded).
    pub env: Vec<(String, String)>,
    /// The free port the server listens on (127.0.0.1).
    pub port: u16,
    /// The data directory (the container's `$PGDATA`, mapped).
    pub pgdata: PathBuf,
    /// The server's stderr (the container log).
    pub log: PathBuf,
    /// The binaries the server runs with (`postgres`, `pg_ctl`): PostgreSQL 16's unless a
    /// test swaps them (the major upgrade).
    pub bin: PathBuf,
    /// Size of the tmpfs the server gets as /dev/shm, in a mount namespace of its own (the
    /// pod's memory-backed emptyDir); `None`: the machine's /dev/shm.
    pub shm_size: Option<String>,
    child: Option<Child>,
}

impl Cluster {
    /// Renders the chart with `args`, lays out the `postgresql` container's volumes and
    /// runs `initdb` like the image's entrypoint on an empty `$PGDATA`:
    /// `initdb --username=postgres --pwfile=<POSTGRES_PASSWORD> $POSTGRES_INITDB_ARGS`.
    /// (The entrypoint also appends a line to `$PGDATA/pg_hba.conf`, a file the server does
    /// not read with the chart's `hba_file`; it is left out.)
    pub fn init(args: &[&str]) -> Self {
        Self::init_rendered(Rendered::standard(args))
    }

    /// [`Cluster::init`] of manifests rendered some other way.
    pub fn init_rendered(rendered: Rendered) -> Self {
        let sandbox = Sandbox::new();
        let fs = ContainerFs::new(
            &sandbox,
            &rendered,
            "StatefulSet",
            "-postgresql",
            "postgresql",
        );
        let env = rendered.container_env("StatefulSet", "-postgresql", "postgresql");
        let pgdata = fs.map_path(env_get(&env, "PGDATA"));
        let pwfile = sandbox.path().join("initdb-pwfile");
        write_owned(
            &pwfile,
            format!("{}\n", env_get(&env, "POSTGRES_PASSWORD")).as_bytes(),
            0o600,
        );
        let initdb_args: Vec<&str> = env
            .iter()
            .find(|(n, _)| n == "POSTGRES_INITDB_ARGS")
            .map(|(_, v)| v.split_whitespace().collect())
            .unwrap_or_default();
        common::run_ok(
            as_user(pg("initdb"))
                .env("PGDATA", &pgdata)
                .arg("--username=postgres")
                .arg(format!("--pwfile={}", pwfile.display()))
                .args(&initdb_args),
        );
        fs::remove_file(&pwfile).expect("remove pwfile");
        let log = sandbox.path().join("postgresql.log");
        Cluster {
            rendered,
            sandbox,
            fs,
            env,
            port: free_port(),
            pgdata,
            log,
            bin: pg_bin().to_path_buf(),
            shm_size: None,
            child: None,
        }
    }

    /// [`Cluster::init`] and [`Cluster::start`].
    pub fn started(args: &[&str]) -> Self {
        Self::started_rendered(Rendered::standard(args))
    }

    /// [`Cluster::init_rendered`] and [`Cluster::start`].
    pub fn started_rendered(rendered: Rendered) -> Self {
        let mut c = Self::init_rendered(rendered);
        c.start();
        c
    }

    /// [`Cluster::started`] and init.sql run as the entrypoint runs it
    /// ([`Cluster::run_init_sql`]), which must succeed.
    pub fn initialized(args: &[&str]) -> Self {
        let c = Self::started(args);
        let out = c.run_init_sql(&[]);
        assert!(
            out.status.success(),
            "init.sql failed:\n{}",
            output_text(&out)
        );
        c
    }

    /// The server's command line: the container's command and args exactly, with container
    /// paths mapped, plus `-c port=<free>` and `-c listen_addresses=127.0.0.1` when the
    /// configuration file does not already say so. It never does: `port = 5432` and
    /// `listen_addresses = '*'` are right in a pod with its own network namespace, but
    /// here 5432 may be taken and the server must not listen beyond the loopback. Settings
    /// on the command line take precedence over the file; nothing else is overridden, so
    /// a config file that is mounted but not passed (`config_file`, `hba_file`) leaves
    /// the server on initdb's files, which the tests detect.
    pub fn server_command(&self) -> (PathBuf, Vec<String>) {
        let c = self
            .rendered
            .container("StatefulSet", "-postgresql", "postgresql");
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .map_or(&[][..], Vec::as_slice)
                .iter()
                .map(|s| self.fs.map_text(s.as_str().expect("string")))
                .collect()
        };
        let command = strings(&c["command"]);
        let mut args = strings(&c["args"]);
        // Without `command` the image's entrypoint runs; for arguments that start with a
        // dash it runs `postgres` with them (docker-library/postgres docker-entrypoint.sh).
        let program = if command.is_empty() {
            assert!(
                args.first().is_some_and(|a| a.starts_with('-')),
                "the entrypoint runs `postgres` only for arguments starting with '-': {args:?}"
            );
            self.bin.join("postgres")
        } else {
            let name = Path::new(&command[0])
                .file_name()
                .expect("program")
                .to_string_lossy()
                .into_owned();
            let mut rest: Vec<String> = command[1..].to_vec();
            rest.append(&mut args);
            args = rest;
            self.bin.join(&name)
        };
        let config = self.effective_config_file(&args);
        let setting = |name: &str| -> Option<String> {
            fs::read_to_string(&config).ok()?.lines().find_map(|l| {
                let (k, v) = l.split_once('=')?;
                (k.trim() == name).then(|| {
                    v.split('#')
                        .next()
                        .unwrap_or("")
                        .trim()
                        .trim_matches('\'')
                        .to_string()
                })
            })
        };
        if setting("port") != Some(self.port.to_string()) {
            args.extend(["-c".to_string(), format!("port={}", self.port)]);
        }
        if setting("listen_addresses").as_deref() != Some("127.0.0.1") {
            args.extend(["-c".to_string(), "listen_addresses=127.0.0.1".to_string()]);
        }
        (program, args)
    }

    /// The configuration file the server reads with these arguments.
    fn effective_config_file(&self, args: &[String]) -> PathBuf {
        args.iter()
            .find_map(|a| {
                a.strip_prefix("config_file=")
                    .or_else(|| a.strip_prefix("--config_file="))
            })
            .map_or_else(|| self.pgdata.join("postgresql.conf"), PathBuf::from)
    }

    /// Starts the server (see [`Cluster::server_command`]) as the test user with the
    /// container's `PGDATA`, its output appended to [`Cluster::log`], and waits until it
    /// accepts connections (postmaster.pid says so: what `pg_ctl -w` waits for, without
    /// connecting, so the log stays free of start-up connection errors).
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "already started");
        // The free port may be taken by another test between the probe and the bind:
        // then the server exits at once, and it is started again on another port.
        for _attempt in 0..3 {
            let log_before = self.log_text().len();
            match self.try_start() {
                Ok(()) => return,
                Err(status) => {
                    let log = self.log_text();
                    if log[log_before..].contains("could not create any TCP/IP sockets") {
                        // Drop the failed attempt's lines: the log is the server's.
                        fs::OpenOptions::new()
                            .write(true)
                            .open(&self.log)
                            .and_then(|f| f.set_len(log_before as u64))
                            .expect("truncate the log");
                        self.port = free_port();
                        continue;
                    }
                    panic!("postgres exited ({status}):\n{log}");
                }
            }
        }
        panic!(
            "postgres could not bind a free port three times:\n{}",
            self.log_text()
        );
    }

    /// Starts the server once; `Err` with its exit status when it exits before it is ready.
    fn try_start(&mut self) -> Result<(), std::process::ExitStatus> {
        let (program, args) = self.server_command();
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("log file");
        let mut command = as_user(&program);
        command.args(&args);
        if let Some(size) = &self.shm_size {
            command = in_own_dev_shm(&command, size);
        }
        let child = command
            .env("PGDATA", &self.pgdata)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        self.child = Some(child);
        let pidfile = self.pgdata.join("postmaster.pid");
        wait_for(
            "the server to accept connections",
            Duration::from_secs(120),
            || {
                if let Some(status) = self
                    .child
                    .as_mut()
                    .and_then(|c| c.try_wait().ok().flatten())
                {
                    self.child = None;
                    return Some(Err(status));
                }
                let pid = fs::read_to_string(&pidfile).ok()?;
                let status = pid.lines().nth(7)?.trim();
                READY.contains(&status).then_some(Ok(()))
            },
        )
    }

    /// Stops the server with `pg_ctl stop -m <mode>` and waits for it to exit.
    pub fn stop(&mut self, mode: &str) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = as_user(self.bin.join("pg_ctl"))
            .args(["stop", "-m", mode, "-w", "-t", "60", "-D"])
            .arg(&self.pgdata)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while child.try_wait().ok().flatten().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the server the way Kubernetes does: the container's preStop command (with the
    /// container's environment, paths mapped) as the test user; then waits for the exit.
    pub fn stop_with_prestop(&mut self) {
        let c = self
            .rendered
            .container("StatefulSet", "-postgresql", "postgresql");
        let cmd: Vec<String> = c["lifecycle"]["preStop"]["exec"]["command"]
            .as_array()
            .expect("preStop exec command")
            .iter()
            .map(|s| self.fs.map_text(s.as_str().expect("string")))
            .collect();
        let out = common::run_ok(as_user(&cmd[0]).args(&cmd[1..]).envs(self.mapped_env()));
        let mut child = self.child.take().expect("server running");
        let status = wait_for("the server to exit", Duration::from_secs(60), || {
            child.try_wait().ok().flatten()
        });
        assert!(
            status.success(),
            "postgres exited with {status} after preStop: {}",
            output_text(&out)
        );
    }

    /// The container's environment with container paths mapped (secrets included).
    pub fn mapped_env(&self) -> Vec<(String, String)> {
        self.env
            .iter()
            .map(|(n, v)| (n.clone(), self.fs.map_text(v)))
            .collect()
    }

    /// The server log so far.
    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// A value of the chart's PostgreSQL Secret.
    pub fn secret(&self, key: &str) -> String {
        let name = self.rendered.object("Secret", "-postgresql")["metadata"]["name"]
            .as_str()
            .expect("name")
            .to_string();
        self.rendered.secret_value(&name, key)
    }

    /// The superuser's password (the container's `POSTGRES_PASSWORD`).
    pub fn superuser_password(&self) -> String {
        env_get(&self.env, "POSTGRES_PASSWORD").to_string()
    }

    /// Points a pod's environment, which reaches PostgreSQL through its Service on 5432
    /// (asserted: `who` connects through the Service), at this server instead: the
    /// Service host name becomes 127.0.0.1 and the port the free port.
    pub fn through_service(&self, env: &mut Vec<(String, String)>, who: &str) {
        let service = self.rendered.object("Service", "-postgresql")["metadata"]["name"]
            .as_str()
            .expect("name")
            .to_string();
        assert_eq!(
            env_get(env, "PGHOST"),
            service,
            "{who} connects through the Service"
        );
        assert_eq!(env_get(env, "PGPORT"), "5432");
        env_set(env, "PGHOST", "127.0.0.1");
        env_set(env, "PGPORT", &self.port.to_string());
    }

    /// The PostgreSQL client `program` (`psql`, `pgbench`, ...) as the current user,
    /// connected over TCP to 127.0.0.1 as `user` with `password` to `db` through libpq's
    /// environment, and nothing else of the test's environment.
    pub fn client_as(&self, program: &str, user: &str, password: &str, db: &str) -> Command {
        let mut c = Command::new(pg(program));
        c.env_clear()
            .env("PATH", path_env())
            .env("PGHOST", "127.0.0.1")
            .env("PGPORT", self.port.to_string())
            .env("PGUSER", user)
            .env("PGPASSWORD", password)
            .env("PGDATABASE", db)
            .env("PGCONNECT_TIMEOUT", "10");
        c
    }

    /// A `psql` command (as the current user) connected over TCP to 127.0.0.1 as `user`
    /// with `password` to `db`: no psqlrc, unaligned tuples, fields separated by \x1f.
    pub fn psql_as(&self, user: &str, password: &str, db: &str) -> Command {
        let mut c = self.client_as("psql", user, password, db);
        c.args(PSQL_SCRIPT).args(["-F", "\x1f"]);
        c
    }

    /// Runs SQL as the superuser `postgres` in `db`; panics on failure; returns stdout.
    pub fn sql(&self, db: &str, sql: &str) -> String {
        let out = common::run_ok(
            self.psql_as("postgres", &self.superuser_password(), db)
                .arg("-c")
                .arg(sql),
        );
        String::from_utf8(out.stdout)
            .expect("UTF-8")
            .trim_end_matches('\n')
            .to_string()
    }

    /// Rows of a query run as the superuser in `db`.
    pub fn rows(&self, db: &str, sql: &str) -> Vec<Vec<String>> {
        self.sql(db, sql)
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| l.split('\x1f').map(str::to_string).collect())
            .collect()
    }

    /// Runs init.sql the way the image's entrypoint runs the files of
    /// /docker-entrypoint-initdb.d (`psql -v ON_ERROR_STOP=1 --username postgres
    /// --no-password --no-psqlrc --dbname postgres -f <file>`) with the container's
    /// environment (the passwords come from it, as in the pod), minus `remove`d
    /// variables. Adapted: over TCP with the superuser's password instead of the socket
    /// (see the module documentation). Not asserted: returns the output.
    pub fn run_init_sql(&self, remove: &[&str]) -> Output {
        let file = self.fs.map_path("/docker-entrypoint-initdb.d/init.sql");
        let mut env = self.mapped_env();
        env.retain(|(n, _)| !remove.contains(&n.as_str()));
        Command::new(pg("psql"))
            .env_clear()
            .envs(env)
            .env("PATH", path_env())
            .env("PGHOST", "127.0.0.1")
            .env("PGPORT", self.port.to_string())
            .env("PGPASSWORD", self.superuser_password())
            .args([
                "-v",
                "ON_ERROR_STOP=1",
                "--username",
                "postgres",
                "--no-password",
                "--no-psqlrc",
                "--dbname",
                "postgres",
                "-f",
            ])
            .arg(&file)
            .output()
            .expect("run psql")
    }

    /// Forces a WAL segment switch (after a small write, so the segment is not empty) and
    /// waits until the switched segment is in the WAL archive (`<segment>.gz`, as the
    /// archive_command compresses it); returns its name.
    pub fn switch_wal_and_wait_archived(&self) -> String {
        self.sql("postgres", "CREATE TEMP TABLE switch_marker AS SELECT 1");
        let seg = self.sql("postgres", "SELECT pg_walfile_name(pg_switch_wal())");
        let archived = self
            .fs
            .mount("/backup")
            .join("wal")
            .join(format!("{seg}.gz"));
        wait_for(
            &format!("WAL segment {seg} in the archive"),
            Duration::from_secs(60),
            || archived.is_file().then_some(()),
        );
        seg
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let log = self.log_text();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!(
                "--- last lines of the server log {}:\n{}",
                self.log.display(),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        self.stop("immediate");
    }
}

/// Lines of a log that look like problems.
pub fn problem_lines<'a>(log: &'a str, needles: &[&str]) -> Vec<&'a str> {
    log.lines()
        .filter(|l| needles.iter().any(|n| l.contains(n)))
        .collect()
}

// ---------------------------------------------------------------------------------------
// The exporter sidecar

/// The app database of the chart's defaults (`postgresql.auth.database`).
pub const APP_DB: &str = "alert_history";

/// The custom queries of the exporter ConfigMap's queries.yaml: `(name, query, metric
/// columns)`, in file order. Metric columns are those with usage GAUGE or COUNTER.
pub fn custom_queries(c: &Cluster) -> Vec<(String, String, Vec<String>)> {
    let text = c
        .rendered
        .configmap_file("-postgresql-exporter", "queries.yaml");
    let doc: Value = yaml_serde::from_str(&text).expect("queries.yaml is YAML");
    doc.as_object()
        .expect("queries.yaml is a mapping")
        .iter()
        .map(|(name, q)| {
            let metrics = q["metrics"]
                .as_array()
                .expect("metrics")
                .iter()
                .flat_map(|m| m.as_object().expect("metric").iter())
                .filter(|(_, spec)| matches!(spec["usage"].as_str(), Some("GAUGE" | "COUNTER")))
                .map(|(col, _)| col.clone())
                .collect();
            (
                name.clone(),
                q["query"].as_str().expect("query").to_string(),
                metrics,
            )
        })
        .collect()
}

/// What the real exporter exposed: [`exporter_run`].
pub struct ExporterRun {
    pub metrics: String,
    pub log: String,
    pub dropped_args: Vec<String>,
    pub queries: Vec<(String, String, Vec<String>)>,
}

/// `target/` of this build (the test binary is target/<profile>/deps/<name>).
pub fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().expect("test binary path");
    exe.ancestors()
        .nth(3)
        .expect("target directory")
        .to_path_buf()
}

/// Flags this exporter binary knows (from `--help-long`).
pub fn exporter_flags() -> BTreeSet<String> {
    let out = Command::new(postgres_exporter())
        .arg("--help-long")
        .output()
        .expect("run postgres_exporter --help-long");
    let help = output_text(&out);
    help.split_whitespace()
        .filter_map(|w| w.strip_prefix("--"))
        .map(|w| {
            w.split(|c: char| !(c.is_ascii_alphanumeric() || "._-".contains(c)))
                .next()
                .unwrap_or("")
                .to_string()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// Flags of the exporter container that Debian's v0.11.1 does not know, and why they may
/// be dropped for the test: collectors of the pinned v0.19.1, whose metrics the test
/// `prometheus_rule_metrics_are_exposed_by_the_exporter` (module `postgresql`) accounts for.
pub const NEWER_EXPORTER_FLAGS: &[&str] = &[
    // collector database_wraparound (v0.14+): pg_database_wraparound_age_* for
    // PostgreSQLTxidExhaustionRisk.
    "--collector.database_wraparound",
    // collector stat_checkpointer (v0.17+; PostgreSQL 17+ only): pg_stat_checkpointer_* for
    // PostgreSQLHighCheckpointRate on 17.
    "--collector.stat_checkpointer",
];

/// Runs the real postgres_exporter once against a server with init.sql applied and a
/// table with rows and an index: the environment is the rendered `exporter` container's as
/// the kubelet builds it (DATA_SOURCE_PASS from the Secret), the arguments are the
/// container's with the queries file mapped and the flags v0.11 lacks dropped
/// ([`NEWER_EXPORTER_FLAGS`]), plus `--web.listen-address=127.0.0.1:<free>`. Adapted: the port
/// 5432 in the data source to the server's port; it runs as the test user (uid 65534 in
/// the pod). Runs once per test binary (the first
/// caller runs it, later callers get the result). It also saves /metrics to
/// target/postgres-exporter-metrics.txt for people to inspect; tests call this function
/// instead of reading that file, so no test depends on another having run.
pub fn exporter_run() -> &'static ExporterRun {
    static RUN: OnceLock<ExporterRun> = OnceLock::new();
    RUN.get_or_init(|| {
        let c = Cluster::initialized(&[]);
        c.sql(
            APP_DB,
            "CREATE TABLE alerts (id bigserial PRIMARY KEY, fingerprint text NOT NULL, \
               received_at timestamptz NOT NULL DEFAULT now()); \
             CREATE INDEX alerts_fingerprint_idx ON alerts (fingerprint); \
             INSERT INTO alerts (fingerprint) SELECT md5(g::text) FROM generate_series(1, 1000) g; \
             DELETE FROM alerts WHERE id % 3 = 0; ANALYZE alerts",
        );
        let queries = custom_queries(&c);

        // Environment, pointed at the server's port.
        let pg_port = c
            .rendered
            .container("StatefulSet", "-postgresql", "postgresql")["ports"][0]["containerPort"]
            .as_u64()
            .expect("PostgreSQL container port");
        let mut env = c
            .rendered
            .container_env("StatefulSet", "-postgresql", "exporter");
        let from = format!("127.0.0.1:{pg_port}");
        let mut adapted = Vec::new();
        for (name, value) in &mut env {
            if value.contains(&from) {
                *value = value.replace(&from, &format!("127.0.0.1:{}", c.port));
                adapted.push(name.clone());
            }
        }
        assert_eq!(
            adapted.len(),
            1,
            "exactly one variable names the server: {env:?}"
        );

        // Arguments.
        let efs = ContainerFs::new(
            &c.sandbox,
            &c.rendered,
            "StatefulSet",
            "-postgresql",
            "exporter",
        );
        let known = exporter_flags();
        let mut args = Vec::new();
        let mut dropped_args = Vec::new();
        for a in c
            .rendered
            .container("StatefulSet", "-postgresql", "exporter")["args"]
            .as_array()
            .expect("exporter args")
        {
            let a = efs.map_text(a.as_str().expect("string"));
            let flag = a
                .trim_start_matches('-')
                .split('=')
                .next()
                .unwrap_or("")
                .to_string();
            let flag = flag.strip_prefix("no-").unwrap_or(&flag).to_string();
            if known.contains(&flag) {
                args.push(a);
            } else {
                dropped_args.push(a);
            }
        }
        assert_eq!(
            dropped_args, NEWER_EXPORTER_FLAGS,
            "flags v0.11 does not know"
        );
        let port = free_port();
        args.push(format!("--web.listen-address=127.0.0.1:{port}"));

        let log_path = c.sandbox.path().join("exporter.log");
        let log = fs::File::create(&log_path).expect("exporter log");
        let _exporter = ChildGuard(
            as_user(postgres_exporter())
                .args(&args)
                .envs(env.iter().cloned())
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("log"))
                .stderr(log)
                .spawn()
                .expect("start postgres_exporter"),
        );
        let metrics = wait_for("the exporter's /metrics", Duration::from_secs(60), || {
            let (status, body) = http_get(port, "/metrics").ok()?;
            (status.contains(" 200") && body.lines().any(|l| l.starts_with("pg_up ")))
                .then_some(body)
        });
        let exporter_log = fs::read_to_string(&log_path).unwrap_or_default();
        let file = target_dir().join("postgres-exporter-metrics.txt");
        fs::write(&file, &metrics).unwrap_or_else(|e| panic!("write {}: {e}", file.display()));
        ExporterRun {
            metrics,
            log: exporter_log,
            dropped_args,
            queries,
        }
    })
}

/// Names of the samples of a Prometheus text exposition.
pub fn sample_names(metrics: &str) -> BTreeSet<String> {
    metrics
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split(['{', ' ']).next().unwrap_or("").to_string())
        .collect()
}

/// The app user of the default values (`postgresql.auth.username`).
pub const APP_USER: &str = "alert_history";

/// Lets the app user in from 127.0.0.1 (the tests' client address): an allowed value of
/// `postgresql.hba.appCidrs`, standing in for the pod network the app connects from.
pub const APP_FROM_LOOPBACK: &[&str] = &["--set", "postgresql.hba.appCidrs={127.0.0.0/8}"];

/// Connects as `user` with `password` to `db` and runs `sql`; whether it succeeded, and
/// the combined output.
pub fn try_sql(c: &Cluster, user: &str, password: &str, db: &str, sql: &str) -> (bool, String) {
    let out = c
        .psql_as(user, password, db)
        .arg("-c")
        .arg(sql)
        .output()
        .expect("run psql");
    (out.status.success(), output_text(&out))
}

/// Runs `cmd` to completion with `input` on its stdin (e.g. a psql script that uses
/// `-v` variables, which `-c` does not expand); its output.
pub fn output_with_stdin(cmd: &mut Command, input: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write to stdin");
    child.wait_with_output().expect("wait for the command")
}
