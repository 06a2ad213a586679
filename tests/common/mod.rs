//! Shared helpers of the integration tests: locating external tools and rendering the
//! committed charts in `charts-out/` with the real `helm`.
#![allow(dead_code)] // each test binary uses its own subset of these helpers

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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
