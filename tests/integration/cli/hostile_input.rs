//! Hostile input: each is refused with a short message, and nothing is written.

use std::fs;
use std::process::Command;

use crate::common;
use crate::common::cli::{BIN, assert_render_rejected, entries, run, run_ok, s, tmp};

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

/// The profile's description is free text; Chart.yaml quotes it, so quotes, backslashes and
/// `: ` stay text (found by the `--set` fuzz test).
#[test]
fn a_profile_description_with_quotes_and_backslashes_stays_text_in_chart_yaml() {
    let description = r#"a "quoted" \ path: x, ]&<p`P=:10"#;
    let dir = tmp();
    let out = dir.path().join("out");
    let values = dir.path().join("description.yaml");
    fs::write(
        &values,
        format!("profile:\n  description: '{description}'\n"),
    )
    .unwrap();
    run_ok(dir.path(), &["render", "--out", s(&out), "-f", s(&values)]);
    let chart: serde_json::Value =
        yaml_serde::from_str(&fs::read_to_string(out.join("alert-history/Chart.yaml")).unwrap())
            .unwrap();
    assert_eq!(
        chart["description"],
        format!("Alertmanager-compatible alert history service (standard profile: {description})")
    );
}
