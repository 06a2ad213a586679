//! The `alertchart` command line as a user runs it: commands, defaults, overrides, error
//! messages and exit codes (0 success, 1 invalid input or drift, 2 usage or input error,
//! 3 internal bug), and that a failed run never touches the chart on disk.
//!
//! Every run uses an empty temporary directory as its working directory, which also proves
//! that the built-in profiles need no files around the binary.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;
use tempfile::TempDir;

mod common;

const BIN: &str = env!("CARGO_BIN_EXE_alertchart");

/// What a run of the binary produced.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
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
fn run(cwd: &Path, args: &[&str]) -> Run {
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
fn run_ok(cwd: &Path, args: &[&str]) -> Run {
    let r = run(cwd, args);
    assert_eq!(r.code, Some(0), "alertchart {args:?} failed:\n{r}");
    r
}

fn tmp() -> TempDir {
    tempfile::tempdir().expect("temporary directory")
}

fn s(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Every entry below `dir`: relative path to the file's bytes, or `None` for a directory.
fn tree(dir: &Path) -> BTreeMap<String, Option<Vec<u8>>> {
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

/// The files (not directories) of a chart directory, as text.
fn chart_files(chart: &Path) -> BTreeMap<String, String> {
    tree(chart)
        .into_iter()
        .filter_map(|(path, bytes)| {
            bytes.map(|b| (path, String::from_utf8(b).expect("chart files are UTF-8")))
        })
        .collect()
}

/// Names directly inside `dir`, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("readable directory")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The chart's values.yaml, parsed.
fn values(chart: &Path) -> Value {
    let text = fs::read_to_string(chart.join("values.yaml")).expect("values.yaml");
    yaml_serde::from_str(&text).expect("values.yaml is YAML")
}

/// Renders a profile into `<tmp>/out` and returns the temporary directory and `out`.
fn rendered(profile: &str) -> (TempDir, PathBuf) {
    let dir = tmp();
    let out = dir.path().join("out");
    run_ok(
        dir.path(),
        &["render", "--profile", profile, "--out", s(&out)],
    );
    (dir, out)
}

fn assert_contains_all(r: &Run, expected: &[&str]) {
    for e in expected {
        assert!(r.stderr.contains(e), "stderr lacks {e:?}:\n{r}");
    }
}

/// Renders the standard chart into an output directory, runs `render ARGS --out DIR` and
/// asserts the exit code, that stderr contains every expected text, and that the output
/// directory is byte-for-byte what it was, with no temporary directories left behind.
fn assert_render_rejected(args: &[&str], code: i32, expected: &[&str]) {
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

// ---------------------------------------------------------------------------------------
// Commands that succeed
// ---------------------------------------------------------------------------------------

#[test]
fn render_without_arguments_writes_the_standard_chart_to_charts_out_standard_in_the_cwd() {
    let dir = tmp();
    let r = run_ok(dir.path(), &["render"]);
    assert_eq!(entries(dir.path()), ["charts-out"]);
    assert_eq!(entries(&dir.path().join("charts-out")), ["standard"]);
    let chart = dir.path().join("charts-out/standard/alert-history");
    let files = chart_files(&chart);
    for required in [
        "Chart.yaml",
        "values.yaml",
        "values.schema.json",
        "templates/_helpers.tpl",
        "templates/NOTES.txt",
        "templates/app/deployment.yaml",
        "templates/app/hpa.yaml",
        "templates/postgresql/statefulset.yaml",
        "templates/valkey/statefulset.yaml",
    ] {
        assert!(files.contains_key(required), "no {required} in {files:?}");
    }
    assert!(files["Chart.yaml"].starts_with("# Generated by alertchart"));
    assert!(r.stderr.contains("alert-history"), "{r}");
    assert!(values(&chart)["postgresql"].is_object());
}

#[test]
fn render_of_lite_defaults_to_charts_out_lite_in_the_cwd() {
    let dir = tmp();
    run_ok(dir.path(), &["render", "--profile", "lite"]);
    assert_eq!(entries(&dir.path().join("charts-out")), ["lite"]);
    let chart = dir.path().join("charts-out/lite/alert-history");
    assert!(chart.join("Chart.yaml").is_file());
    assert!(chart.join("values.schema.json").is_file());
    assert!(chart.join("templates/app/deployment.yaml").is_file());
}

#[test]
fn render_is_deterministic_across_output_directories() {
    let dir = tmp();
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    run_ok(dir.path(), &["render", "--out", s(&one)]);
    run_ok(dir.path(), &["render", "--out", s(&two)]);
    let (a, b) = (tree(&one), tree(&two));
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "different file lists"
    );
    for (path, bytes) in &a {
        assert!(&b[path] == bytes, "{path} differs between two renders");
    }
}

#[test]
fn lite_chart_has_no_postgresql_valkey_or_hpa_file_nor_any_mention_of_them() {
    let (_dir, out) = rendered("lite");
    let files = chart_files(&out.join("alert-history"));
    assert!(!files.is_empty());
    for (path, text) in &files {
        let lower_path = path.to_lowercase();
        for banned in ["postgres", "valkey", "hpa"] {
            assert!(
                !lower_path.contains(banned),
                "the lite chart has the file {path}"
            );
        }
        let lower = text.to_lowercase();
        for banned in ["postgresql", "valkey"] {
            if let Some(at) = lower.find(banned) {
                let line = text[..at].lines().count().max(1);
                let context = text.lines().nth(line - 1).unwrap_or_default();
                panic!("the lite chart mentions {banned:?} in {path}:{line}: {context}");
            }
        }
    }
    assert!(files.contains_key("templates/app/pvc.yaml"));
}

#[test]
fn validate_accepts_both_built_in_profiles() {
    let dir = tmp();
    for profile in ["standard", "lite"] {
        let r = run_ok(dir.path(), &["validate", "--profile", profile]);
        assert!(r.stderr.contains(profile), "{r}");
    }
    let r = run_ok(dir.path(), &["validate"]);
    assert!(r.stderr.contains("standard"), "default profile: {r}");
    assert!(entries(dir.path()).is_empty(), "validate wrote files");
}

#[test]
fn schema_prints_draft_07_json_that_rejects_unknown_top_level_keys() {
    let dir = tmp();
    let r = run_ok(dir.path(), &["schema"]);
    let schema: Value = serde_json::from_str(&r.stdout).expect("schema is JSON");
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    assert_eq!(schema["additionalProperties"], false);
    let props = schema["properties"].as_object().expect("properties");
    for key in [
        "image",
        "app",
        "service",
        "postgresql",
        "valkey",
        "autoscaling",
    ] {
        assert!(props.contains_key(key), "no {key} in the schema");
    }
    assert!(
        !props.contains_key("profile"),
        "the values schema has the profile section"
    );
}

#[test]
fn schema_of_the_lite_profile_has_no_postgresql_or_valkey_property() {
    let dir = tmp();
    let r = run_ok(dir.path(), &["schema", "--profile", "lite"]);
    let schema: Value = serde_json::from_str(&r.stdout).expect("schema is JSON");
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    assert_eq!(schema["additionalProperties"], false);
    let props = schema["properties"].as_object().expect("properties");
    assert!(props.contains_key("persistence"));
    for key in ["postgresql", "valkey", "autoscaling"] {
        assert!(!props.contains_key(key), "the lite schema has {key}");
    }
}

#[test]
fn profiles_lists_standard_and_lite_each_with_a_description() {
    let dir = tmp();
    let r = run_ok(dir.path(), &["profiles"]);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{r}");
    for (line, name) in lines.iter().zip(["standard", "lite"]) {
        let (first, description) = line.split_once(' ').expect("name and description");
        assert_eq!(first, name);
        assert!(
            description.trim().len() > 20,
            "no real description for {name}: {line:?}"
        );
    }
}

#[test]
fn help_shows_examples_and_exit_codes() {
    let dir = tmp();
    for args in [&["--help"][..], &["render", "--help"]] {
        let r = run_ok(dir.path(), args);
        for expected in [
            "Examples:",
            "alertchart render",
            "--set",
            "Exit codes:",
            "0  success",
            "1  validation failed",
            "2  usage or input error",
            "3  internal error",
        ] {
            assert!(
                r.stdout.contains(expected),
                "`alertchart {args:?}` lacks {expected:?}:\n{r}"
            );
        }
    }
    let r = run_ok(dir.path(), &["validate", "--help"]);
    assert!(r.stdout.contains("Exit codes:"), "{r}");
}

#[test]
fn version_prints_the_crate_version() {
    let r = run_ok(tmp().path(), &["--version"]);
    assert_eq!(
        r.stdout.trim(),
        format!("alertchart {}", env!("CARGO_PKG_VERSION"))
    );
}

// ---------------------------------------------------------------------------------------
// Overrides
// ---------------------------------------------------------------------------------------

#[test]
fn values_files_apply_in_order_and_set_wins_over_them() {
    let (first, second) = (fixture("order-first.yaml"), fixture("order-second.yaml"));
    let dir = tmp();
    let out = dir.path().join("out");
    // --set comes first on the command line, yet applies after the -f files, as in Helm.
    run_ok(
        dir.path(),
        &[
            "render",
            "--set",
            "app.retentionDays=33",
            "--set",
            "app.retentionDays=44",
            "-f",
            s(&first),
            "-f",
            s(&second),
            "--out",
            s(&out),
        ],
    );
    let v = values(&out.join("alert-history"));
    assert_eq!(
        v["ingress"]["host"], "first.example.com",
        "only in the first file"
    );
    assert_eq!(v["service"]["port"], 2222, "the second file wins");
    assert_eq!(v["app"]["retentionDays"], 44, "the last --set wins");
    assert_eq!(v["service"]["type"], "ClusterIP", "untouched profile value");
}

#[test]
fn standard_input_comma_separated_files_and_the_set_family_reach_values_yaml() {
    use std::io::Write as _;
    let dir = tmp();
    let out = dir.path().join("out");
    let second = dir.path().join("second.yaml");
    fs::write(&second, "app:\n  logLevel: warning\n").unwrap();
    let mut child = Command::new(BIN)
        .args(["render", "--out", s(&out), "-f"])
        .arg(format!("-,{}", s(&second)))
        .args(["--set-literal", "app.podAnnotations.note=a,b"])
        .args(["--set", "app.podAnnotations.note=x"])
        .args([
            "--set-json",
            "app.tolerations=[{\"key\":\"k\",\"operator\":\"Exists\"}]",
        ])
        .args(["--set", "postgresql.config.randomPageCost=1.50"])
        .current_dir(dir.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"app:\n  retentionDays: 0x1E\n  logLevel: debug\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let v = values(&out.join("alert-history"));
    assert_eq!(v["app"]["retentionDays"], 30, "from standard input, in hex");
    assert_eq!(
        v["app"]["logLevel"], "warning",
        "the second file of the list wins"
    );
    assert_eq!(
        v["app"]["podAnnotations"]["note"], "a,b",
        "--set-literal applies last"
    );
    assert_eq!(v["app"]["tolerations"][0]["key"], "k");
    assert_eq!(v["postgresql"]["config"]["randomPageCost"], "1.50");
}

#[test]
fn service_port_as_a_string_is_a_type_error_as_in_helm() {
    assert_render_rejected(
        &["--set-string", "service.port=8081"],
        1,
        &[
            "--set-string service.port=8081",
            "service.port",
            "expected integer",
        ],
    );
}

#[test]
fn an_empty_values_file_changes_nothing() {
    let (dir, out) = rendered("standard");
    let plain = tree(&out);
    let other = dir.path().join("other");
    run_ok(
        dir.path(),
        &[
            "render",
            "-f",
            s(&fixture("empty.yaml")),
            "--out",
            s(&other),
        ],
    );
    assert!(tree(&other) == plain, "an empty -f file changed the chart");
}

#[test]
fn a_values_file_override_lands_in_values_yaml() {
    let dir = tmp();
    let out = dir.path().join("out");
    run_ok(
        dir.path(),
        &[
            "render",
            "-f",
            s(&fixture("postgresql-memory-4gi.yaml")),
            "--out",
            s(&out),
        ],
    );
    let v = values(&out.join("alert-history"));
    assert_eq!(v["postgresql"]["resources"]["limits"]["memory"], "4Gi");
    assert_eq!(
        v["postgresql"]["resources"]["requests"]["memory"], "1Gi",
        "a sibling key of the override is kept"
    );
}

#[test]
fn a_custom_profile_file_renders_to_charts_out_of_its_name() {
    let dir = tmp();
    let builtin =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/lite.yaml"))
            .expect("profiles/lite.yaml");
    let custom = builtin
        .replace("  name: lite\n", "  name: mini\n")
        .replace("  retentionDays: 30\n", "  retentionDays: 7\n");
    assert_ne!(custom, builtin, "profiles/lite.yaml changed shape");
    let path = dir.path().join("my-profiles").join("mini.yaml");
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, custom).unwrap();

    let r = run_ok(dir.path(), &["render", "--profile", s(&path)]);
    assert!(r.stderr.contains("mini"), "{r}");
    let chart = dir.path().join("charts-out/mini/alert-history");
    assert_eq!(values(&chart)["app"]["retentionDays"], 7);
    assert!(
        fs::read_to_string(chart.join("Chart.yaml"))
            .unwrap()
            .contains("mini")
    );
    run_ok(dir.path(), &["validate", "--profile", s(&path)]);
}

// ---------------------------------------------------------------------------------------
// Bad input: right message and exit code, output untouched
// ---------------------------------------------------------------------------------------

#[test]
fn unknown_key_in_a_values_file_names_file_line_and_key_and_exits_1() {
    let file = fixture("unknown-key.yaml");
    let at = format!("{}:4", file.display());
    assert_render_rejected(
        &["-f", s(&file)],
        1,
        &[&at, "service.prot", "unknown key", "port"],
    );
}

#[test]
fn wrong_type_in_a_values_file_says_what_was_expected_and_exits_1() {
    let file = fixture("wrong-type.yaml");
    let at = format!("{}:2", file.display());
    assert_render_rejected(
        &["-f", s(&file)],
        1,
        &[&at, "service.port", "wrong type", "expected integer"],
    );
}

#[test]
fn bad_memory_quantity_is_rejected_with_the_expected_format_and_exit_1() {
    let file = fixture("bad-quantity.yaml");
    let at = format!("{}:4", file.display());
    assert_render_rejected(
        &["-f", s(&file)],
        1,
        &[
            &at,
            "postgresql.resources.limits.memory",
            "2Gii",
            "Kubernetes memory quantity",
        ],
    );
}

#[test]
fn bad_cron_schedule_via_set_names_the_set_argument_and_the_field_and_exits_1() {
    for key in ["postgresql.backup.schedule", "app.retentionSchedule"] {
        assert_render_rejected(
            &["--set", &format!("{key}=61 2 * * *")],
            1,
            &[&format!("--set {key}=61 2 * * *"), key, "minute"],
        );
    }
}

#[test]
fn min_replicas_above_max_replicas_exits_1() {
    assert_render_rejected(
        &["--set", "autoscaling.minReplicas=20"],
        1,
        &[
            "--set autoscaling.minReplicas=20",
            "minReplicas 20 is greater than maxReplicas 10",
        ],
    );
}

#[test]
fn memory_request_above_its_limit_exits_1() {
    assert_render_rejected(
        &["--set", "postgresql.resources.requests.memory=4Gi"],
        1,
        &[
            "postgresql.resources.requests.memory",
            "`4Gi` exceeds the limit `2Gi`",
        ],
    );
}

#[test]
fn max_connections_too_small_for_the_app_pools_exits_1() {
    assert_render_rejected(
        &["--set", "postgresql.config.maxConnections=100"],
        1,
        &[
            "--set postgresql.config.maxConnections=100",
            "postgresql.config.maxConnections",
            "11 pods (maximum replicas + 1 during a rollout) x 20 connections of the image's fixed pool",
            "expected >= 235",
        ],
    );
}

/// values.yaml of the standard chart rendered with `sets`.
fn values_yaml_with(sets: &str) -> String {
    let (_dir, chart) = common::render_chart("standard", &[sets]);
    fs::read_to_string(chart.join("values.yaml")).expect("values.yaml")
}

#[test]
fn memory_settings_follow_the_limit_and_values_yaml_shows_the_formula() {
    let values = values_yaml_with(
        "postgresql.resources.limits.memory=8Gi,postgresql.resources.requests.memory=8Gi",
    );
    for expected in [
        "sharedBuffers: \"2GB\"",
        "# Derived by alertchart: 25 % of resources.limits.memory 8Gi = 2GB.",
        "effectiveCacheSize: \"6GB\"",
        "maintenanceWorkMem: \"512MB\"",
        "workMem: \"8064kB\"",
        "shmSize: \"126Mi\"",
    ] {
        assert!(
            values.contains(expected),
            "values.yaml lacks {expected:?}:\n{values}"
        );
    }
}

#[test]
fn an_explicit_memory_setting_is_kept_and_not_described_as_derived() {
    let values = values_yaml_with("postgresql.config.sharedBuffers=256MB");
    let at = values
        .find("sharedBuffers: \"256MB\"")
        .expect("explicit value kept");
    let comment = &values[values[..at].rfind("# --").expect("description")..at];
    assert!(!comment.contains("Derived"), "{comment}");
    // The derived settings take the explicit one into account: 256MB / 32 = 8MB.
    assert!(values.contains("walBuffers: \"8MB\""), "{values}");
}

#[test]
fn shared_buffers_not_below_the_memory_limit_is_rejected_and_exits_1() {
    assert_render_rejected(
        &["--set", "postgresql.config.sharedBuffers=2GB"],
        1,
        &[
            "postgresql.config.sharedBuffers",
            "`2GB` does not fit the memory limit `2Gi`",
        ],
    );
}

#[test]
fn explicit_work_mem_whose_worst_case_overruns_the_limit_is_rejected_and_exits_1() {
    // 512MB + 16MB + 4 x 128MB + 258 x 8MB = 3104MB > 2Gi.
    assert_render_rejected(
        &["--set", "postgresql.config.workMem=8MB"],
        1,
        &[
            "--set postgresql.config.workMem=8MB",
            "postgresql.config.workMem",
            "may allocate 3104MB at once, more than the memory limit `2Gi`",
            "258 backends (maxConnections + 8 parallel workers) x work_mem 8MB",
        ],
    );
}

#[test]
fn a_memory_limit_too_small_for_max_connections_is_rejected_at_the_limit() {
    // Even the 1MB floor of the derived work_mem does not fit 250 connections in 512Mi.
    assert_render_rejected(
        &[
            "--set",
            "postgresql.resources.limits.memory=512Mi,postgresql.resources.requests.memory=512Mi",
        ],
        1,
        &[
            "postgresql.resources.limits.memory",
            "more than the memory limit `512Mi`",
            "work_mem 1MB",
        ],
    );
}

#[test]
fn huge_pages_on_without_requesting_huge_pages_is_rejected_and_exits_1() {
    assert_render_rejected(
        &["--set", "postgresql.config.hugePages=on"],
        1,
        &["postgresql.config.hugePages", "requests none"],
    );
}

#[test]
fn huge_pages_smaller_than_shared_buffers_are_rejected_and_exits_1() {
    assert_render_rejected(
        &["--set", "postgresql.hugepages2Mi=256Mi"],
        1,
        &[
            "postgresql.hugepages2Mi",
            "cannot hold shared_buffers 512MB",
        ],
    );
}

#[test]
fn latest_image_tag_is_rejected_and_exits_1() {
    assert_render_rejected(
        &["--set", "image.tag=latest"],
        1,
        &["image.tag", "`latest`", "pinned"],
    );
}

#[test]
fn postgresql_tag_of_an_unsupported_major_is_rejected_and_exits_1() {
    for tag in ["18.1", "15.8", "bookworm"] {
        assert_render_rejected(
            &["--set", &format!("postgresql.image.tag={tag}")],
            1,
            &[
                "postgresql.image.tag",
                &format!("`{tag}`"),
                "supported PostgreSQL major version (16, 17)",
            ],
        );
    }
}

#[test]
fn postgresql_17_renders_and_a_major_upgrade_must_name_an_earlier_major() {
    let dir = tmp();
    run_ok(
        dir.path(),
        &[
            "validate",
            "--set",
            "postgresql.image.tag=17.6",
            "--set",
            "postgresql.majorUpgrade.enabled=true",
        ],
    );
    assert_render_rejected(
        &["--set", "postgresql.majorUpgrade.enabled=true"],
        1,
        &[
            "postgresql.majorUpgrade.fromMajor",
            "16 cannot be upgraded to the image's PostgreSQL 16",
        ],
    );
    assert_render_rejected(
        &[
            "--set",
            "postgresql.image.tag=17.6",
            "--set",
            "postgresql.majorUpgrade.enabled=true",
            "--set",
            "postgresql.majorUpgrade.image.tag=15-to-17",
        ],
        1,
        &[
            "postgresql.majorUpgrade.image.tag",
            "`15-to-17`",
            "expected `16-to-17`",
        ],
    );
}

#[test]
fn cidr_with_host_bits_set_is_rejected_and_exits_1() {
    assert_render_rejected(
        &["--set", "postgresql.hba.appCidrs={10.0.0.1/8}"],
        1,
        &[
            "postgresql.hba.appCidrs.0",
            "`10.0.0.1/8` is not a valid CIDR",
            "host bits",
        ],
    );
}

#[test]
fn set_of_a_key_that_does_not_exist_names_the_argument_and_exits_1() {
    assert_render_rejected(
        &["--set", "postgresql.nosuch.key=1"],
        1,
        &[
            "--set postgresql.nosuch.key=1",
            "postgresql.nosuch",
            "unknown key",
        ],
    );
}

#[test]
fn every_problem_of_a_kind_is_reported_at_once() {
    let dir = tmp();
    // Schema problems...
    let r = run(
        dir.path(),
        &[
            "validate",
            "--set",
            "image.tag=latest",
            "--set",
            "service.port=abc",
        ],
    );
    assert_eq!(r.code, Some(1), "{r}");
    assert_contains_all(&r, &["2 problems", "image.tag", "service.port"]);
    // ...and semantic ones (checked once the input matches the schema).
    let r = run(
        dir.path(),
        &[
            "validate",
            "--set",
            "autoscaling.minReplicas=20",
            "--set",
            "postgresql.config.maxConnections=100",
        ],
    );
    assert_eq!(r.code, Some(1), "{r}");
    assert_contains_all(
        &r,
        &[
            "2 problems",
            "autoscaling.minReplicas",
            "postgresql.config.maxConnections",
        ],
    );
}

#[test]
fn missing_values_file_names_the_path_and_exits_2() {
    let dir = tmp();
    let missing = dir.path().join("no-such-values.yaml");
    assert_render_rejected(&["-f", s(&missing)], 2, &[s(&missing)]);
}

#[test]
fn yaml_syntax_error_names_file_and_line_and_exits_2() {
    let file = fixture("syntax-error.yaml");
    assert_render_rejected(
        &["-f", s(&file)],
        2,
        &[&format!("{}:5:", s(&file)), "invalid YAML"],
    );
}

#[test]
fn a_duplicate_key_in_yaml_takes_its_last_value_as_in_helm() {
    let dir = tmp();
    let out = dir.path().join("out");
    let file = fixture("duplicate-key.yaml");
    run_ok(dir.path(), &["render", "-f", s(&file), "--out", s(&out)]);
    assert_eq!(values(&out.join("alert-history"))["service"]["port"], 9000);
}

#[test]
fn non_utf8_values_file_exits_2() {
    let dir = tmp();
    let file = dir.path().join("latin1.yaml");
    fs::write(&file, b"service:\n  type: Cl\xe9\n").unwrap();
    assert_render_rejected(&["-f", s(&file)], 2, &[s(&file), "not UTF-8"]);
}

#[test]
fn values_file_that_is_not_a_mapping_exits_2() {
    let dir = tmp();
    let file = dir.path().join("list.yaml");
    fs::write(&file, "- a\n- b\n").unwrap();
    assert_render_rejected(&["-f", s(&file)], 2, &[s(&file), "mapping"]);
}

#[test]
fn set_without_equals_sign_exits_2() {
    assert_render_rejected(
        &["--set", "service.port"],
        2,
        &["--set service.port", "key \"port\" has no value"],
    );
}

#[test]
fn unknown_profile_name_lists_the_built_in_profiles_and_exits_2() {
    assert_render_rejected(&["--profile", "nosuch"], 2, &["nosuch", "standard", "lite"]);
}

#[test]
fn unknown_command_line_flag_exits_2() {
    assert_render_rejected(&["--bogus"], 2, &["--bogus"]);
    let r = run(tmp().path(), &["frobnicate"]);
    assert_eq!(r.code, Some(2), "{r}");
}

#[test]
fn output_path_that_is_a_file_exits_2_and_leaves_the_file_alone() {
    let dir = tmp();
    let file = dir.path().join("out");
    fs::write(&file, "not a directory\n").unwrap();
    let r = run(dir.path(), &["render", "--out", s(&file)]);
    assert_eq!(r.code, Some(2), "{r}");
    assert_contains_all(&r, &[s(&file), "is a file"]);
    assert_eq!(fs::read_to_string(&file).unwrap(), "not a directory\n");
    assert_eq!(entries(dir.path()), ["out"]);
}

#[test]
fn foreign_directory_in_the_chart_path_is_refused_with_exit_2_and_left_alone() {
    let dir = tmp();
    let out = dir.path().join("out");
    let chart = out.join("alert-history");
    fs::create_dir_all(chart.join("templates")).unwrap();
    fs::write(chart.join("Chart.yaml"), "name: someone-elses-chart\n").unwrap();
    fs::write(chart.join("templates/mine.yaml"), "hand: written\n").unwrap();
    let before = tree(&out);
    let r = run(dir.path(), &["render", "--out", s(&out)]);
    assert_eq!(r.code, Some(2), "{r}");
    assert_contains_all(&r, &["refusing to replace", "alert-history", "--force"]);
    assert!(tree(&out) == before, "the foreign directory changed");
}

#[test]
fn force_replaces_a_foreign_directory_in_the_chart_path() {
    let dir = tmp();
    let out = dir.path().join("out");
    let chart = out.join("alert-history");
    fs::create_dir_all(&chart).unwrap();
    fs::write(chart.join("notes.txt"), "mine\n").unwrap();
    run_ok(dir.path(), &["render", "--out", s(&out), "--force"]);
    assert!(!chart.join("notes.txt").exists());
    assert!(chart.join("Chart.yaml").is_file());
    assert_eq!(entries(&out), ["alert-history"]);
}

#[test]
fn rendering_over_a_previous_chart_replaces_it_and_leaves_no_temporaries() {
    let (dir, out) = rendered("standard");
    let chart = out.join("alert-history");
    fs::write(chart.join("templates/stale.yaml"), "old: file\n").unwrap();
    run_ok(
        dir.path(),
        &["render", "--profile", "lite", "--out", s(&out)],
    );
    assert!(!chart.join("templates/stale.yaml").exists());
    assert!(!chart.join("templates/postgresql").exists());
    assert_eq!(entries(&out), ["alert-history"]);
}

// ---------------------------------------------------------------------------------------
// render --check
// ---------------------------------------------------------------------------------------

#[test]
fn check_exits_0_right_after_a_render() {
    let (dir, out) = rendered("standard");
    let r = run_ok(dir.path(), &["render", "--check", "--out", s(&out)]);
    assert_eq!(r.stdout, "", "no diff expected");
}

/// Runs `render --check` on a rendered chart changed by `change` and asserts exit 1, that
/// stdout contains every expected text, and that nothing on disk changed.
fn assert_check_finds_drift(change: impl FnOnce(&Path), expected: &[&str]) {
    let (dir, out) = rendered("standard");
    change(&out.join("alert-history"));
    let before = tree(&out);
    let r = run(dir.path(), &["render", "--check", "--out", s(&out)]);
    assert_eq!(r.code, Some(1), "{r}");
    for e in expected {
        assert!(r.stdout.contains(e), "the diff lacks {e:?}:\n{r}");
    }
    assert!(r.stderr.contains("out of date"), "{r}");
    assert!(tree(&out) == before, "--check wrote to {}", out.display());
}

#[test]
fn check_exits_1_with_a_unified_diff_when_a_file_was_edited() {
    assert_check_finds_drift(
        |chart| {
            let path = chart.join("templates/app/service.yaml");
            let text = fs::read_to_string(&path).unwrap();
            fs::write(&path, text + "# hand edit\n").unwrap();
        },
        &[
            "--- a/templates/app/service.yaml\n+++ b/templates/app/service.yaml\n",
            "@@ ",
            "-# hand edit\n",
        ],
    );
}

#[test]
fn check_exits_1_with_a_unified_diff_when_a_file_was_added() {
    assert_check_finds_drift(
        |chart| fs::write(chart.join("templates/extra.yaml"), "extra: 1\n").unwrap(),
        &["--- a/templates/extra.yaml\n", "-extra: 1\n"],
    );
}

#[test]
fn check_exits_1_when_the_chart_differs_from_the_given_overrides() {
    let (dir, out) = rendered("standard");
    let r = run(
        dir.path(),
        &[
            "render",
            "--check",
            "--set",
            "service.port=8081",
            "--out",
            s(&out),
        ],
    );
    assert_eq!(r.code, Some(1), "{r}");
    assert!(
        r.stdout.contains("--- a/values.yaml\n+++ b/values.yaml\n"),
        "{r}"
    );
    assert!(r.stdout.contains("+  port: 8081"), "{r}");
}

#[test]
fn check_exits_1_when_the_chart_directory_is_missing_and_creates_nothing() {
    let dir = tmp();
    let out = dir.path().join("out");
    let r = run(
        dir.path(),
        &["render", "--profile", "lite", "--check", "--out", s(&out)],
    );
    assert_eq!(r.code, Some(1), "{r}");
    assert!(r.stdout.contains("+++ b/Chart.yaml"), "{r}");
    assert!(entries(dir.path()).is_empty(), "--check created files");
}

/// Runs `alertchart ARGS` with its stdout closed before it writes (as `alertchart ... | head -1`
/// does) and returns its exit code (`None` when a signal ended it) and stderr.
fn run_into_closed_pipe(cwd: &Path, args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(cwd)
        .env_remove("RUST_BACKTRACE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn alertchart");
    drop(child.stdout.take());
    let output = child.wait_with_output().expect("wait for alertchart");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        !stderr.contains("panicked"),
        "alertchart {args:?} panicked on a closed stdout:\n{stderr}"
    );
    (output.status.code(), stderr)
}

#[test]
fn output_into_a_closed_pipe_ends_with_a_documented_exit_code_not_a_panic() {
    let dir = tmp();
    let out = dir.path().join("out");
    // Both outputs are far bigger than a pipe buffer, so the binary is bound to write into
    // the closed pipe. Dying of SIGPIPE (no exit code) is the other accepted Unix way.
    let (code, stderr) = run_into_closed_pipe(dir.path(), &["render", "--check", "--out", s(&out)]);
    assert!(
        matches!(code, None | Some(1 | 2)),
        "render --check: exit code {code:?} is not 1 (drift) or 2 (I/O error):\n{stderr}"
    );
    let (code, stderr) = run_into_closed_pipe(dir.path(), &["schema"]);
    assert!(
        matches!(code, None | Some(0 | 2)),
        "schema: exit code {code:?} is not 0 or 2 (I/O error):\n{stderr}"
    );
}

#[test]
fn diff_prints_what_render_would_change_exits_0_and_writes_nothing() {
    let dir = tmp();
    let out = dir.path().join("out");
    run_ok(
        dir.path(),
        &["render", "--profile", "lite", "--out", s(&out)],
    );
    let before = tree(&out);
    let same = run_ok(dir.path(), &["diff", "--profile", "lite", "--out", s(&out)]);
    assert!(
        same.stdout.is_empty() && same.stderr.contains("no changes"),
        "{same}"
    );
    let changed = run_ok(
        dir.path(),
        &[
            "diff",
            "--profile",
            "lite",
            "--out",
            s(&out),
            "--set",
            "service.port=8081",
        ],
    );
    assert!(
        changed
            .stdout
            .contains("--- a/values.yaml\n+++ b/values.yaml\n"),
        "{changed}"
    );
    assert!(changed.stdout.contains("+  port: 8081"), "{changed}");
    assert_eq!(tree(&out), before, "diff changed the chart on disk");
}

#[test]
fn completions_are_generated_for_every_supported_shell() {
    let dir = tmp();
    for (shell, marker) in [
        ("bash", "_alertchart()"),
        ("zsh", "#compdef alertchart"),
        ("fish", "complete -c alertchart"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let r = run_ok(dir.path(), &["completions", shell]);
        assert!(
            r.stdout.contains(marker),
            "{shell} completions lack `{marker}`:\n{r}"
        );
        assert!(
            r.stdout.contains("render"),
            "{shell} completions do not know `render`"
        );
    }
    let bad = run(dir.path(), &["completions", "tcsh"]);
    assert_eq!(bad.code, Some(2), "{bad}");
}

// ---------------------------------------------------------------------------------------
// Hostile input: each is refused with a short message, and nothing is written
// ---------------------------------------------------------------------------------------

/// Lines of the message proper: the underlined source excerpts (`  |`, `12 | ...`) aside.
fn message_lines(stderr: &str) -> usize {
    stderr
        .lines()
        .filter(|l| {
            let t = l.trim_start();
            !(t.starts_with('|')
                || t.split_once(" |")
                    .is_some_and(|(n, _)| n.chars().all(|c| c.is_ascii_digit())))
        })
        .count()
}

/// Like [`assert_render_rejected`], and the message (excerpts aside) is 1 to 3 lines.
fn assert_briefly_rejected(args: &[&str], code: i32, expected: &[&str]) {
    assert_render_rejected(args, code, expected);
    let dir = tmp();
    let mut all = vec!["validate"];
    all.extend_from_slice(args);
    let r = run(dir.path(), &all);
    assert!(
        (1..=3).contains(&message_lines(&r.stderr)),
        "message longer than 3 lines:\n{r}"
    );
}

#[test]
fn an_empty_profile_file_is_refused_but_an_empty_values_file_is_not() {
    let dir = tmp();
    let empty = dir.path().join("empty.yaml");
    fs::write(&empty, "").unwrap();
    assert_briefly_rejected(
        &["--profile", s(&empty)],
        2,
        &["empty.yaml", "the profile is empty"],
    );
    run_ok(dir.path(), &["validate", "-f", s(&empty)]);
}

#[test]
fn an_alias_bomb_is_refused_quickly() {
    let dir = tmp();
    let bomb = dir.path().join("laughs.yaml");
    let mut text = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for (name, prev) in ["b", "c", "d", "e", "f", "g", "h", "i"]
        .iter()
        .zip(["a", "b", "c", "d", "e", "f", "g", "h"])
    {
        let refs = vec![format!("*{prev}"); 9].join(",");
        text.extend([name, ": &", name, " [", &refs, "]\n"]);
    }
    fs::write(&bomb, text).unwrap();
    let started = std::time::Instant::now();
    assert_briefly_rejected(&["-f", s(&bomb)], 2, &["laughs.yaml", "excessive aliasing"]);
    assert!(
        started.elapsed().as_secs() < 20,
        "the alias bomb took {:?}",
        started.elapsed()
    );
}

#[test]
fn a_50_mb_values_file_is_refused_before_it_is_parsed() {
    let dir = tmp();
    let big = dir.path().join("big.yaml");
    let line = format!("# {}\n", "x".repeat(1021));
    fs::write(&big, line.repeat(50 * 1024)).unwrap();
    assert_briefly_rejected(&["-f", s(&big)], 2, &["big.yaml", "limited to"]);
}

#[test]
fn deeply_nested_input_is_refused() {
    let dir = tmp();
    let deep = dir.path().join("deep.yaml");
    fs::write(
        &deep,
        format!("app: {}1{}\n", "[".repeat(10_000), "]".repeat(10_000)),
    )
    .unwrap();
    assert_briefly_rejected(
        &["-f", s(&deep)],
        2,
        &["deep.yaml", "recursion limit exceeded"],
    );
}

#[test]
fn tab_indentation_is_refused_with_a_hint() {
    let dir = tmp();
    let tabs = dir.path().join("tabs.yaml");
    fs::write(&tabs, "app:\n\tlogLevel: debug\n").unwrap();
    assert_briefly_rejected(
        &["-f", s(&tabs)],
        2,
        &["tabs.yaml:2:", "indent with spaces"],
    );
}

#[test]
fn numbers_out_of_range_and_wrong_enum_values_are_validation_errors() {
    assert_briefly_rejected(
        &["--set", "app.retentionDays=99999999999"],
        1,
        &["app.retentionDays", "above the maximum 3650"],
    );
    assert_briefly_rejected(
        &["--set", "autoscaling.maxReplicas=0"],
        1,
        &["autoscaling.maxReplicas", "below the minimum 1"],
    );
    assert_briefly_rejected(
        &["--set", "image.pullPolicy=Sometimes"],
        1,
        &["image.pullPolicy", "`Sometimes` is not one of"],
    );
}

#[test]
fn negative_and_misspelt_quantities_are_refused() {
    for value in ["-1Gi", "2Gii", "1.5Gi", "Gi"] {
        assert_briefly_rejected(
            &[
                "--set",
                &format!("postgresql.resources.limits.memory={value}"),
            ],
            1,
            &[
                "postgresql.resources.limits.memory",
                "Kubernetes memory quantity",
            ],
        );
    }
}

#[test]
fn a_profile_path_to_a_file_that_is_no_profile_is_refused() {
    assert_briefly_rejected(
        &["--profile", "../../../../../../etc/passwd"],
        2,
        &["etc/passwd", "not a profile"],
    );
    assert_briefly_rejected(&["--profile", "/dev/null"], 2, &["/dev/null", "not a file"]);
}

#[test]
fn set_into_a_scalar_is_a_type_error_naming_the_argument() {
    assert_briefly_rejected(
        &["--set", "image.tag.major=1"],
        1,
        &["--set image.tag.major=1", "image.tag", "expected string"],
    );
}

#[test]
fn a_read_only_output_directory_exits_2_and_stays_empty() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tmp();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let out = dir.path().join("out");
    fs::create_dir(&out).unwrap();
    fs::set_permissions(&out, fs::Permissions::from_mode(0o555)).unwrap();
    // Root writes into read-only directories anyway: run as the unprivileged test user.
    let mut cmd = match common::run_as() {
        Some(user) => {
            let mut c = Command::new("runuser");
            c.args(["-u", &user.name, "--", BIN]);
            c
        }
        None => Command::new(BIN),
    };
    let output = cmd
        .args(["render", "--profile", "lite", "--out", s(&out)])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("Permission denied") && stderr.contains(s(&out)),
        "{stderr}"
    );
    assert!(
        entries(&out).is_empty(),
        "something was written into the read-only directory"
    );
}

#[test]
fn output_has_no_colour_codes_in_pipes_or_under_no_color() {
    let help = |envs: &[(&str, &str)]| {
        let out = Command::new(BIN)
            .arg("--help")
            .envs(envs.iter().copied())
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(!help(&[]).contains('\u{1b}'), "colour codes in a pipe");
    assert!(
        help(&[("CLICOLOR_FORCE", "1")]).contains('\u{1b}'),
        "CLICOLOR_FORCE should force colour"
    );
    assert!(
        !help(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]).contains('\u{1b}'),
        "NO_COLOR must win"
    );
}
