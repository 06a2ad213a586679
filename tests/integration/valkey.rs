//! The Valkey piece of the `standard` chart, run for real: `helm template` renders the chart,
//! and a real `redis-server` is started exactly the way the rendered StatefulSet starts the
//! `valkey` container — its `command` + `args`, with `$(VAR)` references expanded from the
//! container's `env` the way the kubelet does — on the `valkey.conf` of the rendered
//! ConfigMap. The tests then prove the cache sizing, eviction policy and persistence
//! settings, the password protection, the append-only files on the data volume and the
//! container's probes against that server.
//!
//! The chart deploys `valkey/valkey:7.2`; the tests run Debian's Redis 7.0 server and CLI,
//! which take the same configuration file and command line. Only what cannot exist outside
//! a cluster is adapted, each adaptation checked to hit exactly what it replaces:
//!
//! - binary names: the container's `valkey-server` and the probes' `valkey-cli` are found
//!   through a directory of symlinks (first in `PATH`) to `redis-server` and `redis-cli`;
//! - the config path: `<config mountPath>/valkey.conf` in the args (the ConfigMap volume)
//!   becomes a temporary file holding the rendered `valkey.conf`, with these lines adapted:
//!   - `dir /data` (the data volume's mountPath) → a temporary data directory,
//!   - `port 6379` (the container port) → a free local port, also in the probes' `-p`,
//!   - `bind * -::*` → `bind 127.0.0.1` (no other interface is touched);
//! - Secret-backed env vars (`valueFrom.secretKeyRef` to key `valkey-password`) get a known
//!   password, full of characters that shells, the kubelet and config files treat specially;
//! - the user: when the tests run as root, the server and the probes run as
//!   `$TEST_RUN_AS_USER` (the pod runs as a non-root uid too); the data directory is
//!   handed to that user the way `fsGroup` hands the volume to the pod.

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::thread::sleep;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common;

/// The password the Secret-backed env vars get: a space, quotes, a backslash, `#`, `$` and a
/// `$(VAR)` reference, which the kubelet must not expand inside a Secret's value.
const PASSWORD: &str = r#"s3cr3t pa$$ "dq" 'sq' #no-comment \bs $(VALKEY_PASSWORD) end"#;

/// How the chart names the binaries → the Debian Redis binaries that stand in for them.
const BINARY_NAMES: [(&str, &str); 2] = [
    ("valkey-server", "redis-server"),
    ("valkey-cli", "redis-cli"),
];

// ---------------------------------------------------------------------------------------
// What the chart renders
// ---------------------------------------------------------------------------------------

/// A probe of the `valkey` container.
#[derive(Clone, Debug)]
struct Probe {
    kind: &'static str,
    command: Vec<String>,
    timeout: Duration,
}

/// The parts of the rendered chart that run the Valkey server.
#[derive(Clone, Debug)]
struct Rendered {
    /// Files of the config ConfigMap (`valkey.conf`).
    config_files: BTreeMap<String, String>,
    /// mountPath of the ConfigMap volume.
    config_mount: String,
    /// mountPath of the data volume.
    data_mount: String,
    /// The container port of the server.
    port: u16,
    command: Vec<String>,
    args: Vec<String>,
    /// The container's env list, as rendered.
    env: Vec<Value>,
    probes: Vec<Probe>,
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected a list of strings, got {v}"))
        .iter()
        .map(|s| s.as_str().expect("a string").to_string())
        .collect()
}

/// `helm template` of the standard chart with `args`, reduced to what runs Valkey.
fn render(args: &[&str]) -> Rendered {
    let docs = common::yaml_docs(&common::helm_template(&common::chart_dir("standard"), args));
    let sts = common::object(&docs, "StatefulSet", "-valkey");
    let pod = &sts["spec"]["template"]["spec"];
    let container = pod["containers"]
        .as_array()
        .expect("containers")
        .iter()
        .find(|c| c["name"] == "valkey")
        .expect("a container named valkey");

    let mount_of = |volume: &str| -> String {
        container["volumeMounts"]
            .as_array()
            .expect("volumeMounts")
            .iter()
            .find(|m| m["name"] == volume)
            .unwrap_or_else(|| panic!("the valkey container mounts no volume {volume}"))["mountPath"]
            .as_str()
            .expect("mountPath")
            .to_string()
    };
    let volumes = pod["volumes"].as_array().expect("volumes");
    let (config_volume, config_map) = volumes
        .iter()
        .find_map(|v| Some((v["name"].as_str()?, v["configMap"]["name"].as_str()?)))
        .expect("a ConfigMap volume");
    let cm = docs
        .iter()
        .find(|d| d["kind"] == "ConfigMap" && d["metadata"]["name"] == config_map)
        .unwrap_or_else(|| panic!("the volume's ConfigMap {config_map} is rendered"));
    let config_files = cm["data"]
        .as_object()
        .expect("ConfigMap data")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().expect("file content").to_string()))
        .collect();
    // The data volume comes from the volumeClaimTemplate.
    let data_claim = sts["spec"]["volumeClaimTemplates"][0]["metadata"]["name"]
        .as_str()
        .expect("a volumeClaimTemplate");

    let port = container["ports"]
        .as_array()
        .expect("ports")
        .iter()
        .find(|p| p["name"] == "tcp-redis")
        .expect("port tcp-redis")["containerPort"]
        .as_u64()
        .expect("containerPort");

    let probes = [
        ("startupProbe", "startup"),
        ("livenessProbe", "liveness"),
        ("readinessProbe", "readiness"),
    ]
    .into_iter()
    .map(|(key, kind)| Probe {
        kind,
        command: strings(&container[key]["exec"]["command"]),
        timeout: Duration::from_secs(container[key]["timeoutSeconds"].as_u64().unwrap_or(1)),
    })
    .collect();

    Rendered {
        config_files,
        config_mount: mount_of(config_volume),
        data_mount: mount_of(data_claim),
        port: u16::try_from(port).expect("a port number"),
        command: strings(&container["command"]),
        args: strings(&container["args"]),
        env: container["env"].as_array().expect("env").clone(),
        probes,
    }
}

/// The default render, shared by the tests that need no other values.
fn default_render() -> &'static Rendered {
    static RENDERED: OnceLock<Rendered> = OnceLock::new();
    RENDERED.get_or_init(|| render(&[]))
}

// ---------------------------------------------------------------------------------------
// What the kubelet does with it
// ---------------------------------------------------------------------------------------

/// Kubernetes' `$(VAR)` expansion (k8s.io/kubernetes third_party/forked/golang/expansion):
/// `$(NAME)` becomes the value of a defined NAME and stays as it is otherwise, `$$` becomes
/// `$`, any other `$` is literal. One pass: expanded values are not expanded again.
fn kubelet_expand(input: &str, vars: &[(String, String)]) -> String {
    let lookup = |name: &str| vars.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v);
    let mut out = String::new();
    let mut rest = input;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some((name, tail)) = after.strip_prefix('(').and_then(|t| t.split_once(')')) {
            // Unresolved: the reference stays as written, `$(NAME)`.
            let reference = &rest[i..i + name.len() + 3];
            out.push_str(lookup(name).map_or(reference, String::as_str));
            rest = tail;
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// The container's environment as the kubelet builds it: Secret references resolve to
/// `secret_value` (the only adaptation), literal values are expanded against the variables
/// defined before them in the list.
fn container_env(env: &[Value], secret_value: &str) -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = Vec::new();
    for var in env {
        let name = var["name"].as_str().expect("env name").to_string();
        let value = if let Some(literal) = var["value"].as_str() {
            kubelet_expand(literal, &vars)
        } else {
            let secret = &var["valueFrom"]["secretKeyRef"];
            assert_eq!(
                secret["key"], "valkey-password",
                "env {name}: only the Valkey password is expected from a Secret, got {var}"
            );
            secret_value.to_string()
        };
        vars.push((name, value));
    }
    vars
}

// ---------------------------------------------------------------------------------------
// Running it outside a cluster
// ---------------------------------------------------------------------------------------

/// The `redis-server` binary: `$REDIS_SERVER`, else `PATH`.
fn redis_server() -> PathBuf {
    match std::env::var_os("REDIS_SERVER").filter(|v| !v.is_empty()) {
        Some(p) => {
            let p = PathBuf::from(p);
            assert!(
                p.is_file(),
                "REDIS_SERVER={} does not exist; run `scripts/test.sh`, which installs it",
                p.display()
            );
            p
        }
        None => common::tool("redis-server"),
    }
}

/// `redis-cli`: next to `redis-server` (same Debian package), else `PATH`.
fn redis_cli() -> PathBuf {
    let sibling = redis_server().with_file_name("redis-cli");
    if sibling.is_file() {
        sibling
    } else {
        common::tool("redis-cli")
    }
}

/// Replaces the one line of `text` that equals `from` by `to`.
fn replace_line(text: &str, from: &str, to: &str) -> String {
    let hits = text.lines().filter(|l| l.trim() == from).count();
    assert_eq!(
        hits, 1,
        "valkey.conf must have exactly one line `{from}`:\n{text}"
    );
    text.lines()
        .map(|l| if l.trim() == from { to } else { l })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// Writes the ConfigMap's files into `config_dir`, `valkey.conf` adapted to `port` and
/// `data_dir`; returns (path in the container, path here) of each file.
fn write_config_volume(
    rendered: &Rendered,
    config_dir: &Path,
    port: u16,
    data_dir: &Path,
) -> Vec<(String, String)> {
    fs::create_dir(config_dir).unwrap();
    let mut path_map = Vec::new();
    for (name, content) in &rendered.config_files {
        let mut content = content.clone();
        if name == "valkey.conf" {
            content = replace_line(&content, "bind * -::*", "bind 127.0.0.1");
            content = replace_line(
                &content,
                &format!("port {}", rendered.port),
                &format!("port {port}"),
            );
            content = replace_line(
                &content,
                &format!("dir {}", rendered.data_mount),
                &format!("dir {}", data_dir.display()),
            );
        }
        let file = config_dir.join(name);
        fs::write(&file, content).unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
        path_map.push((
            format!("{}/{name}", rendered.config_mount.trim_end_matches('/')),
            file.display().to_string(),
        ));
    }
    path_map
}

/// A redis-server started as the rendered container; killed when dropped.
struct Server {
    child: Option<Child>,
    port: u16,
    container_port: u16,
    data_dir: PathBuf,
    log: PathBuf,
    path: String,
    env: Vec<(String, String)>,
    user: Option<(u32, u32)>,
    probes: Vec<Probe>,
    /// Holds config, data, log and the binary-name symlinks; removed after the kill.
    _tmp: tempfile::TempDir,
}

impl Server {
    /// Starts the container of `rendered` (see the module doc for the adaptations) and
    /// waits until it answers.
    fn start(rendered: &Rendered) -> Server {
        let user = common::run_as().map(|u| (u.uid, u.gid));
        let tmp = tempfile::Builder::new()
            .prefix("valkey-test-")
            .tempdir()
            .expect("temp dir");
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755)).unwrap();

        // Binary names: valkey-* → redis-* through symlinks first in PATH.
        let bin = tmp.path().join("bin");
        fs::create_dir(&bin).unwrap();
        for (valkey, redis) in BINARY_NAMES {
            let target = if redis == "redis-server" {
                redis_server()
            } else {
                redis_cli()
            };
            std::os::unix::fs::symlink(target, bin.join(valkey)).unwrap();
        }
        let path = format!("{}:/usr/local/bin:/usr/bin:/bin", bin.display());

        // The data volume, owned by the server's user like fsGroup makes it.
        let data_dir = tmp.path().join("data");
        fs::create_dir(&data_dir).unwrap();
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(&data_dir, Some(uid), Some(gid)).unwrap();
        }

        // The ConfigMap volume, with valkey.conf adapted.
        let port = common::free_port();
        let config_dir = tmp.path().join("config");
        let path_map = write_config_volume(rendered, &config_dir, port, &data_dir);

        // command + args, expanded like the kubelet does (against the whole env list; an env
        // value only sees the variables before it), config paths mapped.
        let env = container_env(&rendered.env, PASSWORD);
        let argv: Vec<String> = rendered
            .command
            .iter()
            .chain(&rendered.args)
            .map(|a| kubelet_expand(a, &env))
            .map(|a| {
                path_map
                    .iter()
                    .find(|(from, _)| *from == a)
                    .map_or(a, |(_, to)| to.clone())
            })
            .collect();
        assert!(
            argv.iter()
                .any(|a| a.starts_with(&config_dir.display().to_string())),
            "the container args name no file of the mounted ConfigMap: {:?}",
            rendered.args
        );
        let program = bin.join(&argv[0]);
        assert!(
            program.exists(),
            "the container runs `{}`, which the tests cannot map to a Redis binary",
            argv[0]
        );

        let log = tmp.path().join("server.log");
        let log_file = fs::File::create(&log).unwrap();
        let mut cmd = Command::new(&program);
        cmd.args(&argv[1..])
            .env_clear()
            .env("PATH", &path)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .current_dir(&data_dir)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file);
        if let Some((uid, gid)) = user {
            cmd.uid(uid).gid(gid);
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));

        let mut server = Server {
            child: Some(child),
            port,
            container_port: rendered.port,
            data_dir,
            log,
            path,
            env,
            user,
            probes: rendered.probes.clone(),
            _tmp: tmp,
        };
        server.wait_until_up();
        server
    }

    fn wait_until_up(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("redis-server exited ({status}):\n{}", self.log_text());
            }
            if let Ok(mut c) = Client::connect(self.port) {
                // Any reply (NOAUTH included) means the server is serving.
                if c.call(&["PING"]).is_ok() {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "redis-server did not answer within 10 s:\n{}",
                self.log_text()
            );
            sleep(Duration::from_millis(20));
        }
    }

    fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// A client authenticated with the container's password.
    fn client(&self) -> Client {
        let mut c = Client::connect(self.port).expect("connect");
        assert_eq!(
            c.call(&["AUTH", PASSWORD]).unwrap(),
            Reply::Simple("OK".into())
        );
        c
    }

    /// `CONFIG GET name` on the running server.
    fn config_get(&self, name: &str) -> String {
        match self.client().call(&["CONFIG", "GET", name]).unwrap() {
            Reply::Array(items) if items.len() == 2 => match &items[1] {
                Reply::Bulk(Some(v)) => String::from_utf8_lossy(v).into_owned(),
                other => panic!("CONFIG GET {name}: {other:?}"),
            },
            other => panic!("CONFIG GET {name}: {other:?}"),
        }
    }

    /// Runs a probe's exec command like the kubelet: in the container's environment, as the
    /// container's user, killed after timeoutSeconds. `without` drops env vars from it.
    fn probe(&self, probe: &Probe, without: &[&str]) -> ExitStatus {
        let from = format!("-p {}", self.container_port);
        let command: Vec<String> = probe
            .command
            .iter()
            .map(|a| a.replace(&from, &format!("-p {}", self.port)))
            .collect();
        assert!(
            command
                .iter()
                .any(|a| a.contains(&format!("-p {}", self.port))),
            "{} probe does not address the container port {}: {:?}",
            probe.kind,
            self.container_port,
            probe.command
        );
        let mut cmd = Command::new(&command[0]);
        cmd.args(&command[1..])
            .env_clear()
            .env("PATH", &self.path)
            .envs(
                self.env
                    .iter()
                    .filter(|(k, _)| !without.contains(&k.as_str()))
                    .map(|(k, v)| (k, v)),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some((uid, gid)) = self.user {
            cmd.uid(uid).gid(gid);
        }
        let mut child = cmd.spawn().expect("run the probe");
        let deadline = Instant::now() + probe.timeout;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() >= deadline {
                child.kill().unwrap();
                return child.wait().unwrap();
            }
            sleep(Duration::from_millis(10));
        }
    }

    /// Kills the server this guard started and waits for it.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

// ---------------------------------------------------------------------------------------
// A minimal RESP client
// ---------------------------------------------------------------------------------------

#[derive(Debug, PartialEq)]
enum Reply {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Vec<Reply>),
}

struct Client {
    reader: BufReader<TcpStream>,
}

impl Client {
    fn connect(port: u16) -> std::io::Result<Client> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        Ok(Client {
            reader: BufReader::new(stream),
        })
    }

    fn call(&mut self, args: &[&str]) -> std::io::Result<Reply> {
        let mut req = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            req.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            req.extend_from_slice(a.as_bytes());
            req.extend_from_slice(b"\r\n");
        }
        self.reader.get_mut().write_all(&req)?;
        self.read_reply()
    }

    fn read_reply(&mut self) -> std::io::Result<Reply> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let line = line.trim_end_matches("\r\n");
        let (kind, rest) = line.split_at(1);
        let int = || -> i64 { rest.parse().expect("a RESP integer") };
        Ok(match kind {
            "+" => Reply::Simple(rest.to_string()),
            "-" => Reply::Error(rest.to_string()),
            ":" => Reply::Int(int()),
            "$" => match usize::try_from(int()) {
                Ok(len) => {
                    let mut buf = vec![0; len + 2];
                    self.reader.read_exact(&mut buf)?;
                    buf.truncate(len);
                    Reply::Bulk(Some(buf))
                }
                Err(_) => Reply::Bulk(None),
            },
            "*" => {
                let n = usize::try_from(int()).unwrap_or(0);
                Reply::Array(
                    (0..n)
                        .map(|_| self.read_reply())
                        .collect::<Result<_, _>>()?,
                )
            }
            other => panic!("unexpected RESP type {other:?} in {line:?}"),
        })
    }
}

fn bulk(s: &str) -> Reply {
    Reply::Bulk(Some(s.as_bytes().to_vec()))
}

// ---------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------

#[test]
fn kubelet_expansion_follows_kubernetes_rules() {
    let vars = vec![("A".to_string(), "x$(A)".to_string())];
    assert_eq!(
        kubelet_expand("$(A)-$(B)-$$(A)-$-$(", &vars),
        "x$(A)-$(B)-$(A)-$-$("
    );
    let env: Vec<Value> = serde_json::from_str(
        r#"[{"name":"B","value":"$(C)"},{"name":"C","value":"c"},{"name":"D","value":"$(C)$(B)"}]"#,
    )
    .unwrap();
    let built = container_env(&env, "");
    assert_eq!(
        built[0].1, "$(C)",
        "a variable defined later is not expanded"
    );
    assert_eq!(built[2].1, "c$(C)", "earlier variables are, once");
}

#[test]
fn server_sizes_maxmemory_at_75_percent_of_the_memory_limit_with_lru_and_aof_everysec() {
    let rendered = default_render();
    assert!(
        rendered.probes.len() == 3 && rendered.command == ["valkey-server"],
        "the container runs valkey-server: {:?}",
        rendered.command
    );
    let server = Server::start(rendered);
    // 75 % of the default 512Mi limit.
    assert_eq!(server.config_get("maxmemory"), "402653184");
    assert_eq!(server.config_get("maxmemory-policy"), "allkeys-lru");
    assert_eq!(server.config_get("appendonly"), "yes");
    assert_eq!(server.config_get("appendfsync"), "everysec");
    // The adaptations landed, and the password arrived intact through the kubelet's
    // expansion and the server's command-line parsing.
    assert_eq!(
        server.config_get("dir"),
        server.data_dir.display().to_string()
    );
    assert_eq!(server.config_get("requirepass"), PASSWORD);
}

#[test]
fn non_default_values_change_maxmemory_policy_and_persistence_of_the_server() {
    let rendered = render(&[
        "--set",
        "valkey.resources.limits.memory=1Gi",
        "--set",
        "valkey.config.maxmemoryPolicy=allkeys-lfu",
        "--set",
        "valkey.config.appendonly=false",
        "--set",
        "valkey.config.appendfsync=always",
    ]);
    let server = Server::start(&rendered);
    // 75 % of 1Gi.
    assert_eq!(server.config_get("maxmemory"), "805306368");
    assert_eq!(server.config_get("maxmemory-policy"), "allkeys-lfu");
    assert_eq!(server.config_get("appendonly"), "no");
    assert_eq!(server.config_get("appendfsync"), "always");
    let mut c = server.client();
    assert_eq!(
        c.call(&["SET", "k", "v"]).unwrap(),
        Reply::Simple("OK".into())
    );
    assert!(
        !server.data_dir.join("appendonlydir").exists(),
        "appendonly=false writes no AOF"
    );
}

#[test]
fn server_rejects_clients_without_or_with_a_wrong_password_and_serves_the_right_one() {
    let server = Server::start(default_render());

    let mut anonymous = Client::connect(server.port).unwrap();
    match anonymous.call(&["GET", "k"]).unwrap() {
        Reply::Error(e) => assert!(e.starts_with("NOAUTH"), "{e}"),
        other => panic!("GET without a password answered {other:?}"),
    }

    let mut wrong = Client::connect(server.port).unwrap();
    match wrong.call(&["AUTH", "not-the-password"]).unwrap() {
        Reply::Error(e) => assert!(e.starts_with("WRONGPASS"), "{e}"),
        other => panic!("AUTH with a wrong password answered {other:?}"),
    }
    match wrong.call(&["GET", "k"]).unwrap() {
        Reply::Error(e) => assert!(e.starts_with("NOAUTH"), "{e}"),
        other => panic!("GET after a failed AUTH answered {other:?}"),
    }

    // As the StatefulSet's comment promises, the password passed as an argument does not
    // linger on the process's command line: the server overwrites its process title.
    let pid = server.child.as_ref().unwrap().id();
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    assert!(
        !String::from_utf8_lossy(&cmdline).contains("s3cr3t"),
        "the password is visible in /proc/{pid}/cmdline: {:?}",
        String::from_utf8_lossy(&cmdline)
    );

    let mut c = server.client();
    assert_eq!(
        c.call(&["SET", "alert:1", "firing"]).unwrap(),
        Reply::Simple("OK".into())
    );
    assert_eq!(c.call(&["GET", "alert:1"]).unwrap(), bulk("firing"));
}

#[test]
fn writes_land_in_the_append_only_directory_of_the_data_volume() {
    let server = Server::start(default_render());
    let mut c = server.client();
    assert_eq!(
        c.call(&["SET", "aof-marker-key", "aof-marker-value"])
            .unwrap(),
        Reply::Simple("OK".into())
    );

    let aof_dir = server.data_dir.join("appendonlydir");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let files: Vec<PathBuf> = fs::read_dir(&aof_dir)
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        let has = |suffix: &str| files.iter().any(|f| f.to_string_lossy().ends_with(suffix));
        let logged = files
            .iter()
            .filter(|f| f.to_string_lossy().ends_with(".incr.aof"))
            .any(|f| {
                fs::read_to_string(f)
                    .unwrap_or_default()
                    .contains("aof-marker-value")
            });
        if has(".manifest") && logged {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no AOF with the write in {}: {files:?}\n{}",
            aof_dir.display(),
            server.log_text()
        );
        sleep(Duration::from_millis(50));
    }
    if let Some((uid, _)) = server.user {
        assert_eq!(
            fs::metadata(&aof_dir).unwrap().uid(),
            uid,
            "the server runs as the non-root user"
        );
    }
}

#[test]
fn probes_pass_against_the_running_server_and_fail_once_it_is_stopped() {
    let mut server = Server::start(default_render());
    let probes = server.probes.clone();
    assert_eq!(probes.len(), 3);
    for probe in &probes {
        let status = server.probe(probe, &[]);
        assert!(
            status.success(),
            "{} probe {:?} failed ({status}) against the running server",
            probe.kind,
            probe.command
        );
        // The probe authenticates through the container's REDISCLI_AUTH, not by accident.
        let status = server.probe(probe, &["REDISCLI_AUTH"]);
        assert!(
            !status.success(),
            "{} probe passes without REDISCLI_AUTH",
            probe.kind
        );
    }

    server.stop();
    for probe in &probes {
        let status = server.probe(probe, &[]);
        assert!(
            !status.success(),
            "{} probe {:?} passes ({status}) with the server stopped",
            probe.kind,
            probe.command
        );
    }
}
