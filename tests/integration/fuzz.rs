//! Property tests over hostile input, bounded so they run in every CI build: loading and
//! validating arbitrary bytes or arbitrary `--set` arguments never panics and never hangs,
//! and whatever passes validation renders into a chart that passes alertchart's own checks.

use std::sync::OnceLock;

use alertchart::input::{self, ProfileSource};
use alertchart::{pipeline, validate};
use proptest::prelude::*;
use serde_json::Value;

/// Every key path of the standard profile, for `--set` arguments that reach real keys.
fn key_paths() -> &'static Vec<String> {
    static PATHS: OnceLock<Vec<String>> = OnceLock::new();
    PATHS.get_or_init(|| {
        let merged = input::load(&ProfileSource::resolve("standard").unwrap(), &[], &[]).unwrap();
        let mut out = Vec::new();
        collect(&merged.tree, &mut Vec::new(), &mut out);
        out
    })
}

fn collect(v: &Value, path: &mut Vec<String>, out: &mut Vec<String>) {
    if let Value::Object(map) = v {
        for (k, child) in map {
            path.push(k.replace('.', "\\."));
            out.push(path.join("."));
            collect(child, path, out);
            path.pop();
        }
    }
}

/// Loads the standard profile with the overrides; validates; renders what validates.
fn exercise(files: &[std::path::PathBuf], sets: &[String]) {
    let builtin = ProfileSource::resolve("standard").unwrap();
    let Ok(merged) = input::load(&builtin, files, sets) else {
        return;
    };
    if let Ok(profile) = validate::profile(&merged) {
        if let Err(e) = pipeline::render(&profile) {
            panic!("valid input {sets:?} failed to render: {e:#}");
        }
    }
}

fn value_text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("true".to_string()),
        Just("null".to_string()),
        Just("{a,b}".to_string()),
        Just(String::new()),
        any::<i64>().prop_map(|n| n.to_string()),
        (0u32..100_000).prop_map(|n| format!("{n}Mi")),
        "[ -~]{0,40}",
        "\\PC{0,20}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_as_a_values_file_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("values.yaml");
        std::fs::write(&file, &bytes).unwrap();
        exercise(&[file], &[]);
    }

    #[test]
    fn yaml_shaped_text_as_a_values_file_never_panics(text in "([a-z]{1,8}:( [ -~]{0,12})?\n( {2,6}[a-zA-Z*&!|>-]{1,8}:? ?[ -~]{0,12}\n){0,6}){1,6}") {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("values.yaml");
        std::fs::write(&file, text).unwrap();
        exercise(&[file], &[]);
    }

    #[test]
    fn arbitrary_set_arguments_on_real_keys_never_panic(
        picks in proptest::collection::vec((any::<proptest::sample::Index>(), value_text(), "(\\.[a-z]{1,5})?"), 1..4),
    ) {
        let paths = key_paths();
        let sets: Vec<String> = picks
            .iter()
            .map(|(i, value, suffix)| format!("{}{suffix}={value}", paths[i.index(paths.len())]))
            .collect();
        exercise(&[], &sets);
    }

    #[test]
    fn arbitrary_set_syntax_never_panics(arg in "[ -~]{0,60}") {
        exercise(&[], &[arg]);
    }
}
