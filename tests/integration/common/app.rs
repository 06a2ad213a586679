//! Harness of the end-to-end tests that run the real alert-history app (the source of image
//! 1.1.9 and its locked dependencies, installed by `scripts/install-tools.sh` into
//! `.tools/`) the way the rendered Deployment runs it: the container's `command` with its
//! `$(VAR)` references expanded, its environment as the kubelet builds it (ConfigMap and
//! Secret references) on top of the image's own `ENV`, the pod's uid and gid, the image's
//! working directory, and only the chart's writable mounts.
//!
//! What cannot exist outside a cluster is adapted, and only that:
//! - **The image.** Its `WORKDIR /app` is `.tools/alert-history-app`, owned by root and not
//!   writable by the pod's uid (as `/app` is under the pod's read-only root file system);
//!   its venv `/opt/venv` is `.tools/app-venv`; its `ENV` is read from the last stage of
//!   the app's Dockerfile, under the base image's `PATH` and `LANG`.
//! - **Volumes.** Laid out as for PostgreSQL ([`ContainerFs`]), and the writable ones
//!   handed to the pod's `fsGroup` as the kubelet does. `/tmp` stays the host's.
//! - **Network.** `--host 0.0.0.0 --port 8080` become 127.0.0.1 and a free port (asserted
//!   present first); Service host names in `DATABASE_URL` and `REDIS_URL` become 127.0.0.1
//!   and the test servers' ports ([`through`]).
//! - **User.** The pod's `runAsUser`/`runAsGroup` through `setpriv` when the tests run as
//!   root; as the current user otherwise.

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::common;
use crate::common::postgres::{
    ChildGuard, ContainerFs, Rendered, Sandbox, env_get, env_set, free_port, kube_expand,
    tools_env, wait_for,
};

const MISSING: &str = "run `scripts/test.sh` (it installs the app and its venv into .tools/)";

/// The app's source, as the image has it in `/app`.
pub fn app_dir() -> PathBuf {
    let dir = tools_env("ALERT_HISTORY_APP")
        .filter(|s| !s.is_empty())
        .map_or_else(
            || common::repo().join(".tools/alert-history-app"),
            PathBuf::from,
        );
    assert!(
        dir.join("src/alert_history/main.py").is_file(),
        "the alert-history app is missing at {}: {MISSING}",
        dir.display()
    );
    dir
}

/// The app's venv, as the image has it in `/opt/venv`.
pub fn app_venv() -> PathBuf {
    let dir = tools_env("APP_VENV")
        .filter(|s| !s.is_empty())
        .map_or_else(|| common::repo().join(".tools/app-venv"), PathBuf::from);
    assert!(
        dir.join("bin/uvicorn").is_file(),
        "the app's venv is missing at {}: {MISSING}",
        dir.display()
    );
    dir
}

/// The image's environment: the base image's (python:3.11-slim) `PATH` and `LANG`, then
/// every `ENV` of the Dockerfile's last stage, with `/opt/venv` mapped to [`app_venv`].
pub fn image_env() -> Vec<(String, String)> {
    let dockerfile = fs::read_to_string(app_dir().join("Dockerfile")).expect("Dockerfile");
    let last_stage = dockerfile
        .rsplit_once("\nFROM ")
        .expect("a FROM instruction")
        .1;
    let mut env = vec![
        (
            "PATH".to_string(),
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string(),
        ),
        ("LANG".to_string(), "C.UTF-8".to_string()),
    ];
    let joined = last_stage.replace("\\\n", " ");
    let venv = app_venv().display().to_string();
    for line in joined.lines().filter_map(|l| l.trim().strip_prefix("ENV ")) {
        for pair in line.split_whitespace() {
            let (name, value) = pair.split_once('=').expect("ENV NAME=value");
            let value = value.trim_matches('"');
            let before = env
                .iter()
                .find(|(n, _)| n == name)
                .map_or(String::new(), |(_, v)| v.clone());
            let value = value
                .replace(&format!("${name}"), &before)
                .replace("/opt/venv", &venv);
            env_set(&mut env, name, &value);
        }
    }
    assert!(
        env_get(&env, "PATH").starts_with(&venv),
        "the image puts its venv first on PATH"
    );
    env
}

/// Sets `key` of the chart's Secret named `*suffix` (e.g. a password the chart would have
/// generated, or one an `existingSecret` holds).
pub fn set_secret(rendered: &mut Rendered, suffix: &str, key: &str, value: &str) {
    let secret = rendered
        .docs
        .iter_mut()
        .find(|d| {
            d["kind"] == "Secret"
                && d["metadata"]["name"]
                    .as_str()
                    .is_some_and(|n| n.ends_with(suffix))
        })
        .unwrap_or_else(|| panic!("no Secret *{suffix}"));
    secret["data"][key] = Value::String(common::base64_encode(value.as_bytes()));
}

/// Adds a Secret that the installer made (an `existingSecret`), with string data.
pub fn add_secret(rendered: &mut Rendered, name: &str, data: &[(&str, &str)]) {
    let data: serde_json::Map<String, Value> = data
        .iter()
        .map(|(k, v)| {
            (
                (*k).to_string(),
                Value::String(common::base64_encode(v.as_bytes())),
            )
        })
        .collect();
    rendered.docs.push(serde_json::json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": { "name": name },
        "data": data,
    }));
}

/// Rewrites `scheme://[credentials@]<service>:<port>/` in `env[name]` to 127.0.0.1 and
/// `local_port`, after asserting that the URL names the Service of `*service_suffix`.
pub fn through(
    rendered: &Rendered,
    env: &mut [(String, String)],
    name: &str,
    service_suffix: &str,
    port: u16,
    local_port: u16,
) {
    let service = rendered.object("Service", service_suffix)["metadata"]["name"]
        .as_str()
        .expect("name");
    let entry = env
        .iter_mut()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("environment has no {name}"));
    let from = format!("@{service}:{port}/");
    assert!(
        entry.1.contains(&from),
        "{name} reaches {service}:{port} through its Service: {}",
        entry.1
    );
    entry.1 = entry.1.replace(&from, &format!("@127.0.0.1:{local_port}/"));
}

/// One container of the app's Deployment, ready to run here.
pub struct AppContainer {
    /// The image's environment with the container's on top, paths mapped.
    pub env: Vec<(String, String)>,
    /// `command` + `args`, `$(VAR)`-expanded against the container's environment.
    pub argv: Vec<String>,
    /// The pod's `runAsUser` and `runAsGroup`.
    pub uid_gid: (u32, u32),
}

/// The name suffix of the app's Deployment (its full name, `<release>-alert-history`).
pub const DEPLOYMENT: &str = "-alert-history";

impl AppContainer {
    /// Container `name` of the rendered Deployment, its volumes laid out in `sandbox`.
    pub fn of(rendered: &Rendered, sandbox: &Sandbox, name: &str) -> Self {
        Self::of_workload(rendered, sandbox, "Deployment", DEPLOYMENT, name)
    }

    /// Container `name` of the workload `kind` *`suffix` that runs the app's image.
    pub fn of_workload(
        rendered: &Rendered,
        sandbox: &Sandbox,
        kind: &str,
        suffix: &str,
        name: &str,
    ) -> Self {
        let c = rendered.container(kind, suffix, name);
        let fs = ContainerFs::new(sandbox, rendered, kind, suffix, name);
        let pod = &rendered.pod_spec(kind, suffix)["securityContext"];
        let uid = u32::try_from(pod["runAsUser"].as_u64().expect("runAsUser")).expect("uid");
        let gid = u32::try_from(pod["runAsGroup"].as_u64().expect("runAsGroup")).expect("gid");
        let fs_group = u32::try_from(pod["fsGroup"].as_u64().expect("fsGroup")).expect("gid");
        // The kubelet makes the pod's writable volumes group-owned by fsGroup.
        if common::run_as().is_some() {
            for (_, dir) in &fs.mounts {
                if !dir
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("configmap-"))
                {
                    std::os::unix::fs::chown(dir, Some(uid), Some(fs_group)).expect("chown");
                }
            }
        }
        let container_env = rendered.container_env(kind, suffix, name);
        let words: Vec<String> = ["command", "args"]
            .iter()
            .filter_map(|k| c[k].as_array())
            .flatten()
            .map(|w| fs.map_text(&kube_expand(w.as_str().expect("string"), &container_env)))
            .collect();
        assert!(!words.is_empty(), "container {name} has no command");
        let mut env = image_env();
        for (n, v) in &container_env {
            env_set(&mut env, n, &fs.map_text(v));
        }
        AppContainer {
            env,
            argv: words,
            uid_gid: (uid, gid),
        }
    }

    /// Replaces the value after `flag` in the command line, which must be `expected`.
    pub fn replace_arg(&mut self, flag: &str, expected: &str, value: &str) {
        let i = self
            .argv
            .iter()
            .position(|a| a == flag)
            .unwrap_or_else(|| panic!("{flag} not in {:?}", self.argv));
        assert_eq!(self.argv[i + 1], expected, "{flag} of {:?}", self.argv);
        value.clone_into(&mut self.argv[i + 1]);
    }

    /// The process of this container: the program found on the container's `PATH`, run
    /// from the image's working directory with exactly this environment, as the pod's user.
    pub fn command(&self) -> Command {
        let program = env_get(&self.env, "PATH")
            .split(':')
            .map(|d| Path::new(d).join(&self.argv[0]))
            .find(|p| p.is_file())
            .unwrap_or_else(|| panic!("{} is not on the container's PATH", self.argv[0]));
        let mut cmd = if common::run_as().is_some() {
            let mut c = Command::new(common::tool("setpriv"));
            c.arg(format!("--reuid={}", self.uid_gid.0))
                .arg(format!("--regid={}", self.uid_gid.1))
                .arg("--clear-groups")
                .arg("--")
                .arg(program);
            c
        } else {
            Command::new(program)
        };
        cmd.args(&self.argv[1..])
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .current_dir(app_dir())
            .stdin(Stdio::null());
        cmd
    }

    /// Runs the container to completion (an init container).
    pub fn run(&self) -> Output {
        self.command().output().expect("run the container")
    }

    /// Starts the app's server on a free port of 127.0.0.1 (see the module documentation)
    /// and waits until its readiness probe passes.
    pub fn serve(mut self, log: &Path) -> AppProcess {
        let port = free_port();
        self.replace_arg("--host", "0.0.0.0", "127.0.0.1");
        self.replace_arg("--port", "8080", &port.to_string());
        let out = fs::File::create(log).expect("log file");
        let child = self
            .command()
            .stdout(out.try_clone().expect("log"))
            .stderr(out)
            .spawn()
            .expect("start the app");
        let mut p = AppProcess {
            child: ChildGuard(child),
            port,
            log: log.to_path_buf(),
        };
        p.wait_ready();
        p
    }
}

/// A running app server; killed when dropped.
pub struct AppProcess {
    pub child: ChildGuard,
    pub port: u16,
    pub log: PathBuf,
}

impl AppProcess {
    /// Waits until `GET /readyz` answers 200 (the Deployment's readiness probe), or
    /// panics with the log when the process exits first.
    pub fn wait_ready(&mut self) {
        wait_for("the app's /readyz", Duration::from_secs(60), || {
            if let Some(status) = self.child.0.try_wait().expect("wait") {
                panic!("the app exited ({status}):\n{}", self.log_text());
            }
            let (status, _) = http(self.port, "GET", "/readyz", None).ok()?;
            (status == 200).then_some(())
        });
    }

    /// Stops the server as the kubelet does: SIGTERM, then SIGKILL when the process is still
    /// there after `grace` (terminationGracePeriodSeconds, shortened for the tests). Returns
    /// whether SIGTERM alone ended it.
    pub fn stop(&mut self, grace: Duration) -> bool {
        self.signal("TERM");
        let deadline = std::time::Instant::now() + grace;
        while std::time::Instant::now() < deadline {
            if self.child.0.try_wait().expect("wait").is_some() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.signal("KILL");
        self.child.0.wait().expect("wait");
        false
    }

    fn signal(&self, name: &str) {
        common::run_ok(
            Command::new(common::tool("kill"))
                .arg(format!("-{name}"))
                .arg(self.child.0.id().to_string()),
        );
    }

    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn get(&self, path: &str) -> (u16, String) {
        http(self.port, "GET", path, None).expect("GET")
    }

    pub fn post(&self, path: &str, body: &Value) -> (u16, String) {
        http(self.port, "POST", path, Some(body)).expect("POST")
    }
}

/// Waits for a process that is expected to fail at start-up and returns its status.
pub fn exits_within(cmd: &mut Command, timeout: Duration, log: &Path) -> ExitStatus {
    let out = fs::File::create(log).expect("log file");
    let mut child = ChildGuard(
        cmd.stdout(out.try_clone().expect("log"))
            .stderr(out)
            .spawn()
            .expect("start"),
    );
    wait_for("the process to exit", timeout, || {
        child.0.try_wait().expect("wait")
    })
}

/// One HTTP/1.0 request to 127.0.0.1:`port`: `(status code, body)`.
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let payload = body.map(Value::to_string).unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{payload}",
        payload.len()
    )?;
    let mut resp = String::new();
    s.read_to_string(&mut resp)?;
    let (head, reply) = resp.split_once("\r\n\r\n").unwrap_or((&resp, ""));
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((code, reply.to_string()))
}

/// Container `name` of the app's Deployment, reaching this PostgreSQL.
pub fn with_database(c: &common::postgres::Cluster, name: &str) -> AppContainer {
    let mut a = AppContainer::of(&c.rendered, &c.sandbox, name);
    through(
        &c.rendered,
        &mut a.env,
        "DATABASE_URL",
        "-postgresql",
        5432,
        c.port,
    );
    a
}
