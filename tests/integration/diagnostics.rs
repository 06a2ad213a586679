//! The exact error output for kinds of bad input, pinned by snapshots: each names the file,
//! line, key path, offending value and expectation, and underlines the offending text.

use std::process::Command;

/// stderr and exit code of `alertchart validate -f values.yaml` with `yaml` as the file,
/// run in a temporary directory so the path in the output is stable.
fn diagnose(yaml: &str, extra: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("values.yaml"), yaml).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_alertchart"))
        .args(["validate", "-f", "values.yaml"])
        .args(extra)
        .current_dir(dir.path())
        .output()
        .unwrap();
    format!(
        "exit code {:?}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn unknown_key_is_underlined_and_the_known_keys_are_listed() {
    insta::assert_snapshot!(diagnose(
        "postgresql:\n  resources:\n    limitz:\n      memory: 4Gi\n",
        &[]
    ));
}

#[test]
fn wrong_type_names_the_expected_type() {
    insta::assert_snapshot!(diagnose(
        "service:\n  port: http   # the port number\n",
        &[]
    ));
}

#[test]
fn malformed_quantity_names_the_format_with_examples() {
    insta::assert_snapshot!(diagnose(
        "valkey:\n  resources:\n    limits:\n      memory: -1Gi\n",
        &[]
    ));
}

#[test]
fn rule_between_values_points_at_the_value_that_breaks_it() {
    insta::assert_snapshot!(diagnose("autoscaling:\n  minReplicas: 12\n", &[]));
}

#[test]
fn yaml_syntax_error_shows_line_and_column() {
    insta::assert_snapshot!(diagnose(
        "app:\n  logLevel: [debug\n  retentionDays: 30\n",
        &[]
    ));
}

#[test]
fn a_duplicate_key_takes_its_last_value_as_in_helm() {
    insta::assert_snapshot!(diagnose("app:\n  logLevel: debug\n  logLevel: loud\n", &[]));
}

#[test]
fn set_argument_errors_name_the_argument() {
    insta::assert_snapshot!(diagnose(
        "",
        &["--set", "postgresql.backup.schedule=0 25 * * *"]
    ));
}

#[test]
fn invalid_label_key_is_named_as_such() {
    insta::assert_snapshot!(diagnose(
        "app:\n  nodeSelector:\n    \"bad key!\": ssd\n",
        &[]
    ));
}
