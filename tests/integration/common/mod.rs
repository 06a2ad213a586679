//! Shared helpers of the integration tests: locating external tools and rendering the
//! committed charts in `charts-out/` with the real `helm`.

pub mod app;
pub mod barman;
pub mod cli;
pub mod dashboards;
pub mod kube_api;
pub mod postgres;
pub mod promql;
pub mod recovery;

use std::fs;
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// Repository root (where Cargo.toml is).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The committed chart of a profile, e.g. `charts-out/standard/alert-history`.
pub fn chart_dir(profile: &str) -> PathBuf {
    repo()
        .join("charts-out")
        .join(profile)
        .join("alert-history")
}

/// The names of the built-in profiles (`alertchart::input::BUILTIN_PROFILES`), each of
/// which has its committed chart in `charts-out/<profile>/alert-history`.
pub fn profiles() -> impl Iterator<Item = &'static str> {
    alertchart::input::BUILTIN_PROFILES
        .iter()
        .map(|(name, _)| *name)
}

/// A file of the generated chart that exists exactly when the profile has PostgreSQL.
pub const POSTGRESQL_CHART_FILE: &str = "templates/postgresql/statefulset.yaml";

/// The file of the CloudNativePG Cluster in a chart that has one.
pub const CNPG_CHART_FILE: &str = "templates/cnpg/cluster.yaml";

/// A file of the generated chart that exists exactly when the profile has Valkey.
pub const VALKEY_CHART_FILE: &str = "templates/valkey/statefulset.yaml";

/// A file of the generated chart that exists exactly when the profile autoscales the app.
pub const HPA_CHART_FILE: &str = "templates/app/hpa.yaml";

/// The built-in profiles whose committed chart has the file `path` (relative to the chart,
/// e.g. `templates/postgresql/statefulset.yaml`): the profiles with a given component.
pub fn profiles_with(path: &str) -> Vec<&'static str> {
    let with: Vec<&str> = profiles()
        .filter(|profile| chart_dir(profile).join(path).exists())
        .collect();
    assert!(!with.is_empty(), "no built-in profile's chart has {path}");
    with
}

/// The non-default values file of a profile's tests: the one file
/// `tests/values/<profile>-*.yaml` (e.g. `standard-production.yaml`).
pub fn values_file(profile: &str) -> PathBuf {
    let dir = repo().join("tests/values");
    let prefix = format!("{profile}-");
    let mut found: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("readable directory").path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "yaml")
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&prefix))
        })
        .collect();
    found.sort();
    assert_eq!(
        found.len(),
        1,
        "profile {profile} needs exactly one values file {}/{prefix}*.yaml: {found:?}",
        dir.display()
    );
    found.remove(0)
}

/// The renders that chart-wide checks look at: `(label, manifests)` for every built-in
/// profile with the defaults and with every add-on.
pub fn variants() -> Vec<(String, Vec<serde_json::Value>)> {
    let mut out = Vec::new();
    for profile in profiles() {
        let chart = chart_dir(profile);
        out.push((
            format!("{profile} defaults"),
            yaml_docs(&helm_template(&chart, &[])),
        ));
        out.push((
            format!("{profile} with every add-on"),
            yaml_docs(&helm_template(&chart, &all_addons(profile))),
        ));
    }
    out
}

/// `<kind> <name>` of a rendered object, for messages.
pub fn kind_name(doc: &serde_json::Value) -> String {
    format!(
        "{} {}",
        doc["kind"].as_str().unwrap_or("?"),
        doc["metadata"]["name"].as_str().unwrap_or("?")
    )
}

/// Whether pod `labels` match a label selector's `matchLabels`.
pub fn matches_selector(labels: &serde_json::Value, selector: &serde_json::Value) -> bool {
    selector["matchLabels"]
        .as_object()
        .is_some_and(|m| m.iter().all(|(k, v)| &labels[k] == v))
}

/// A chart that alertchart renders from the built-in `profile` with `--set` overrides, in a
/// temporary directory that lives as long as the returned guard.
pub fn render_chart(profile: &str, sets: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_alertchart"));
    cmd.args(["render", "--profile", profile, "--out"])
        .arg(dir.path());
    for set in sets {
        cmd.args(["--set", set]);
    }
    run_ok(&mut cmd);
    let chart = dir.path().join("alert-history");
    (dir, chart)
}

/// The NOTES of `helm install ah <chart> -n alerts --dry-run=client <args>` (`helm
/// template` never prints them).
pub fn helm_notes(chart: &Path, args: &[&str]) -> String {
    let out = run_ok(
        Command::new(tool("helm"))
            .args(["install", "ah"])
            .arg(chart)
            .args(["--namespace", "alerts", "--dry-run=client"])
            .args(args),
    );
    let stdout = String::from_utf8(out.stdout).expect("UTF-8");
    let (_, notes) = stdout.split_once("\nNOTES:\n").unwrap_or_else(|| {
        panic!(
            "{}: no NOTES in the dry-run output:\n{stdout}",
            chart.display()
        )
    });
    notes.to_string()
}

/// Finds an external tool: `$ALERTCHART_TOOLS/bin`, then `.tools/bin`, then `PATH`.
/// A missing tool fails the test: the README's test command installs every tool, so a
/// missing one is a broken set-up, never a reason to skip.
pub fn tool(name: &str) -> PathBuf {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(t) = std::env::var_os("ALERTCHART_TOOLS") {
        dirs.push(PathBuf::from(t).join("bin"));
    }
    dirs.push(repo().join(".tools").join("bin"));
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    dirs.iter()
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "required tool `{name}` not found in .tools/bin or PATH; \
                 run `scripts/test.sh`, which installs it"
            )
        })
}

/// Runs a command and returns its output, panicking with stderr when it fails.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `helm template <chart> <args>`: the rendered manifests of a chart, with the release
/// name `ah` in namespace `alerts`.
pub fn helm_template(chart: &Path, args: &[&str]) -> String {
    let out = run_ok(
        Command::new(tool("helm"))
            .args(["template", "ah"])
            .arg(chart)
            .args(["--namespace", "alerts"])
            .args(args),
    );
    String::from_utf8(out.stdout).expect("helm output is UTF-8")
}

/// The documents of a multi-document YAML stream, parsed; empty documents dropped.
pub fn yaml_docs(stream: &str) -> Vec<serde_json::Value> {
    stream
        .split("\n---")
        .filter_map(|doc| {
            let v: serde_json::Value = yaml_serde::from_str(doc).expect("valid YAML document");
            (!v.is_null()).then_some(v)
        })
        .collect()
}

/// The rendered object of a kind whose name ends with `suffix`.
pub fn object<'a>(
    docs: &'a [serde_json::Value],
    kind: &str,
    suffix: &str,
) -> &'a serde_json::Value {
    docs.iter()
        .find(|d| {
            d["kind"] == kind
                && d["metadata"]["name"]
                    .as_str()
                    .unwrap_or("")
                    .ends_with(suffix)
        })
        .unwrap_or_else(|| panic!("no {kind} named *{suffix} in the rendered chart"))
}

/// A setting of `.tools/env.sh` (written by `scripts/install-tools.sh`): the environment
/// variable when it is set (even to ""), else the value of its `export NAME=...` line.
pub fn tools_env(name: &str) -> Option<String> {
    if let Ok(v) = std::env::var(name) {
        return Some(v);
    }
    let text = fs::read_to_string(repo().join(".tools").join("env.sh")).ok()?;
    text.lines().find_map(|line| {
        let value = line
            .strip_prefix("export ")?
            .strip_prefix(name)?
            .strip_prefix('=')?;
        Some(shell_unquote(value))
    })
}

/// Undoes the quoting of `printf %q` and plain single quotes.
fn shell_unquote(s: &str) -> String {
    if let Some(inner) = s.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
        return inner.to_string();
    }
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            out.extend(chars.next());
        } else {
            out.push(c);
        }
    }
    out
}

/// The unprivileged user that servers and pod scripts run as when the tests run as root.
#[derive(Debug, Clone)]
pub struct RunAs {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

/// `None` when the tests do not run as root (then everything runs as the current user).
pub fn run_as() -> Option<&'static RunAs> {
    static USER: OnceLock<Option<RunAs>> = OnceLock::new();
    USER.get_or_init(|| {
        let euid = fs::metadata("/proc/self").expect("/proc/self").uid();
        if euid != 0 {
            return None;
        }
        let name = tools_env("TEST_RUN_AS_USER")
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| {
                panic!(
                    "the tests run as root, and servers refuse to run as root: \
                     TEST_RUN_AS_USER must name an unprivileged user; run `scripts/test.sh`, or `source .tools/env.sh` before `cargo test`"
                )
            });
        let id = |flag: &str| -> u32 {
            let out = run_ok(Command::new("id").args([flag, &name]));
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse()
                .expect("numeric id")
        };
        Some(RunAs {
            uid: id("-u"),
            gid: id("-g"),
            name,
        })
    })
    .as_ref()
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port on 127.0.0.1")
        .port()
}

/// `helm template` arguments that switch on every optional add-on of a profile's chart: those
/// of every chart, and those of PostgreSQL and its monitoring where the chart has them.
pub fn all_addons(profile: &str) -> Vec<&'static str> {
    let mut args = vec![
        "--set",
        "ingress.enabled=true",
        "--set",
        "ingress.tls.enabled=true",
        "--set",
        "app.llm.enabled=true",
        "--set",
        "app.llm.apiKey=sk-test",
    ];
    let chart = chart_dir(profile);
    let statefulset = chart.join(POSTGRESQL_CHART_FILE).exists();
    let cnpg = chart.join(CNPG_CHART_FILE).exists();
    if statefulset || cnpg {
        args.extend([
            "--set",
            "metrics.serviceMonitor.enabled=true",
            "--set",
            "metrics.grafanaDashboards.enabled=true",
            "--set",
            "metrics.prometheusRule.enabled=true",
            "--set",
            "networkPolicy.extraDatabaseClientCidrs={10.250.0.0/16}",
        ]);
    }
    if statefulset {
        args.extend([
            "--set",
            "postgresql.tls.enabled=true",
            "--set",
            "postgresql.hugepages2Mi=1Gi",
            "--set",
            "postgresql.config.hugePages=try",
        ]);
    }
    if cnpg {
        args.extend([
            "--set",
            "cnpg.synchronous.enabled=true",
            "--set",
            "cnpg.hugepages2Mi=1Gi",
            "--set",
            "cnpg.config.hugePages=try",
        ]);
    }
    args
}

/// The offline Kubernetes schema validator (`scripts/kube-validate.py` in the venv that
/// `scripts/install-tools.sh` makes), with the given arguments.
pub fn kube_validate() -> Command {
    let python = repo().join(".tools/venv/bin/python");
    assert!(
        python.is_file(),
        "{} missing; run scripts/test.sh, which installs it",
        python.display()
    );
    let mut cmd = Command::new(python);
    cmd.arg(repo().join("scripts/kube-validate.py"));
    cmd
}

/// Kubernetes versions to validate against: the oldest the chart supports (1.27) and the
/// newest the validator ships schemas for.
pub fn kube_versions() -> Vec<String> {
    let out = run_ok(kube_validate().arg("--list-versions"));
    let (major, minor) = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| {
            let (major, minor) = l.trim().split_once('.')?;
            Some((major.parse::<u32>().ok()?, minor.parse::<u32>().ok()?))
        })
        .max()
        .expect("the validator ships at least one Kubernetes version");
    vec!["1.27".to_string(), format!("{major}.{minor}")]
}

/// Standard base64 (with or without padding).
/// The value of `key` in a Secret document: its `stringData`, or its base64 `data` decoded.
pub fn secret_data(secret: &serde_json::Value, key: &str) -> Option<String> {
    if let Some(v) = secret["stringData"][key].as_str() {
        return Some(v.to_string());
    }
    let b64 = secret["data"][key].as_str()?;
    Some(String::from_utf8(base64_decode(b64)).expect("UTF-8 Secret value"))
}

/// Standard base64 with padding, as Secret data has it.
pub fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("invalid base64 character {:?}", c as char),
        }
    };
    let bytes: Vec<u8> = s
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
        .collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, c)| acc | (val(*c) << (18 - 6 * i)));
        let full = n.to_be_bytes();
        out.extend_from_slice(&full[1..chunk.len()]);
    }
    out
}

/// Validates rendered manifests strictly against every version of [`kube_versions`],
/// asserting success, and returns the validator's JSON summary for each version.
pub fn assert_kube_valid(manifests: &str, what: &str) -> Vec<serde_json::Value> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("manifests.yaml");
    fs::write(&file, manifests).unwrap();
    kube_versions()
        .into_iter()
        .map(|version| {
            let out = kube_validate()
                .args(["--kube-version", &version])
                .arg(&file)
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "{what} fails Kubernetes {version} validation:\n{stdout}{}",
                String::from_utf8_lossy(&out.stderr)
            );
            serde_json::from_str(stdout.lines().last().unwrap_or("{}")).unwrap()
        })
        .collect()
}

/// The openAPIV3Schema of a CRD, made strict: objects that list their
/// properties reject unknown ones, as a strict client-side validation would.
pub fn crd_schema(file: &str) -> serde_json::Value {
    let path = tools_env("CRDS_DIR")
        .filter(|d| !d.is_empty())
        .map_or_else(|| repo().join(".tools/crds"), std::path::PathBuf::from)
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let crd: serde_json::Value = yaml_serde::from_str(&text).unwrap();
    let mut schema = crd["spec"]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "v1")
        .expect("a v1 version")["schema"]["openAPIV3Schema"]
        .clone();
    make_strict(&mut schema);
    schema
}

fn make_strict(schema: &mut serde_json::Value) {
    match schema {
        serde_json::Value::Object(obj) => {
            if obj.contains_key("properties")
                && !obj.contains_key("additionalProperties")
                && obj.get("x-kubernetes-preserve-unknown-fields")
                    != Some(&serde_json::Value::Bool(true))
            {
                obj.insert(
                    "additionalProperties".into(),
                    serde_json::Value::Bool(false),
                );
            }
            obj.values_mut().for_each(make_strict);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(make_strict),
        _ => {}
    }
}
