//! Bad input on the command line and in values files: the right message and exit code
//! (1 invalid input, 2 usage or input error), and the chart on disk untouched. (The
//! profile's semantic rules are `rules`.)

use std::fs;

use crate::common::cli::{
    assert_contains_all, assert_render_rejected, entries, fixture, rendered, run, run_ok, s, tmp,
    tree, values,
};
use crate::common::profiles;

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
    let mut expected = vec!["nosuch"];
    expected.extend(profiles());
    assert_render_rejected(&["--profile", "nosuch"], 2, &expected);
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
