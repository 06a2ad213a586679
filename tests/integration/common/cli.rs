//! Running the `alertchart` binary as a user does, for the tests of its command line
//! (`cli`) and of the profile's rules (`rules`): every run uses an empty temporary
//! directory as its working directory, which also proves that the built-in profiles need
//! no files around the binary.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use tempfile::TempDir;

pub const BIN: &str = env!("CARGO_BIN_EXE_alertchart");

/// What a run of the binary produced.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit code {:?}\n--- stdout:\n{}\n--- stderr:\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `alertchart ARGS` in `cwd`.
pub fn run(cwd: &Path, args: &[&str]) -> Run {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(cwd)
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {BIN}: {e}"));
    Run {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    }
}

/// Runs `alertchart ARGS` in `cwd` and asserts it exits 0.
pub fn run_ok(cwd: &Path, args: &[&str]) -> Run {
    let r = run(cwd, args);
    assert_eq!(r.code, Some(0), "alertchart {args:?} failed:\n{r}");
    r
}

pub fn tmp() -> TempDir {
    tempfile::tempdir().expect("temporary directory")
}

pub fn s(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Every entry below `dir`: relative path to the file's bytes, or `None` for a directory.
pub fn tree(dir: &Path) -> BTreeMap<String, Option<Vec<u8>>> {
    walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .map(|e| {
            let e = e.expect("readable directory");
            let rel = e
                .path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let bytes = e
                .file_type()
                .is_file()
                .then(|| fs::read(e.path()).expect("readable file"));
            (rel, bytes)
        })
        .collect()
}

/// Names directly inside `dir`, sorted.
pub fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("readable directory")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The chart's values.yaml, parsed.
pub fn values(chart: &Path) -> Value {
    let text = fs::read_to_string(chart.join("values.yaml")).expect("values.yaml");
    yaml_serde::from_str(&text).expect("values.yaml is YAML")
}

/// Renders a profile into `<tmp>/out` and returns the temporary directory and `out`.
pub fn rendered(profile: &str) -> (TempDir, PathBuf) {
    let dir = tmp();
    let out = dir.path().join("out");
    run_ok(
        dir.path(),
        &["render", "--profile", profile, "--out", s(&out)],
    );
    (dir, out)
}

pub fn assert_contains_all(r: &Run, expected: &[&str]) {
    for e in expected {
        assert!(r.stderr.contains(e), "stderr lacks {e:?}:\n{r}");
    }
}

/// Renders the standard chart into an output directory, runs `render ARGS --out DIR` and
/// asserts the exit code, that stderr contains every expected text, and that the output
/// directory is byte-for-byte what it was, with no temporary directories left behind.
pub fn assert_render_rejected(args: &[&str], code: i32, expected: &[&str]) {
    let (dir, out) = rendered("standard");
    let before = tree(&out);
    let mut all = vec!["render"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--out", s(&out)]);
    let r = run(dir.path(), &all);
    assert_eq!(r.code, Some(code), "alertchart {all:?}:\n{r}");
    assert!(
        r.stderr.starts_with("error: "),
        "stderr does not start with `error: `:\n{r}"
    );
    assert!(!r.stderr.contains("panicked"), "{r}");
    assert_contains_all(&r, expected);
    assert!(
        tree(&out) == before,
        "{} changed after {all:?}",
        out.display()
    );
    assert_eq!(entries(&out), ["alert-history"]);
}
