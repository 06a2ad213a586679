//! Generated cases (proptest, fixed seed so CI runs the same cases every time): `--set`
//! arguments and values files over the probe chart's keys.

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestRunner};

use super::{Arg, disagreement};

fn key_segment() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec!["a", "b", "d", "x", "l", "m", "list", "top", "nul", "str"])
            .prop_map(str::to_string),
        1 => prop::sample::select(vec![r"a\.b", r"k\=v", r"c\,d", r"e\[0\]", "", "é", r"\\"])
            .prop_map(str::to_string),
    ]
}

fn index() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (0u32..4).prop_map(|i| i.to_string()),
        1 => prop::sample::select(vec!["-1", "x", "", "+1", "65537", "01"]).prop_map(str::to_string),
    ]
}

fn key_path() -> impl Strategy<Value = String> {
    (
        key_segment(),
        prop::collection::vec(
            prop_oneof![
                key_segment().prop_map(|k| format!(".{k}")),
                index().prop_map(|i| format!("[{i}]")),
            ],
            0..4,
        ),
    )
        .prop_map(|(first, rest)| format!("{first}{}", rest.concat()))
}

/// Numbers in every notation, booleans in every case, nulls, lists, escapes.
fn scalar_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "1", "-1", "+1", "0", "00", "010", "0x1F", "1_000", "1.5", "16.10", ".5", "1e3",
            "-0", "9223372036854775808", "true", "TRUE", "True", "tRUE", "false", "False",
            "yes", "on", "off", "y", "null", "NULL", "~", "", "{}", "{a,b}", "{1,null}",
            r"x\,y", r"a\=b", "a=b", "é", " 1", "falſe",
        ])
        .prop_map(str::to_string),
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => (0u32..1000, 0u32..1000).prop_map(|(i, f)| format!("{i}.{f}")),
        1 => "[a-z0-9.{}_ -]{0,6}",
    ]
}

fn set_argument() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(
            prop_oneof![
                9 => (key_path(), scalar_text()).prop_map(|(k, v)| format!("{k}={v}")),
                1 => key_path(),
            ],
            1..4,
        ),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(parts, trailing)| {
            let mut arg = parts.join(",");
            if trailing {
                arg.push(',');
            }
            arg
        })
}

fn yaml_scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "1", "-1", "+1", "0", "010", "0o17", "0x1F", "1_000", "1.5", "16.10", ".5",
            "1e3", "08", "yes", "No", "ON", "off", "y", "n", "true", "TRUE", "tRue", "null",
            "~", "", "'yes'", "\"1.5\"", "!!str 1", "hello", "[]", "{}", "[1, yes]",
            "{p: q}", ".inf", "2001-12-14",
        ])
        .prop_map(str::to_string),
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => (0u32..1000, 0u32..1000).prop_map(|(i, f)| format!("{i}.{f}")),
    ]
}

fn yaml_key() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "a", "b", "d", "x", "l", "m", "list", "top", "nul", "1", "yes", "on", "'y'",
    ])
    .prop_map(str::to_string)
}

/// A values file of up to two levels, block style, with duplicates and documents.
fn values_file() -> impl Strategy<Value = String> {
    let entry = (
        yaml_key(),
        prop_oneof![
            3 => yaml_scalar().prop_map(|s| format!(" {s}\n")),
            1 => prop::collection::vec((yaml_key(), yaml_scalar()), 1..4).prop_map(|kv| {
                let inner = kv.iter().map(|(k, v)| format!("  {k}: {v}\n")).collect::<Vec<_>>().concat();
                format!("\n{inner}")
            }),
            1 => prop::collection::vec(yaml_scalar(), 1..3).prop_map(|items| {
                let inner = items.iter().map(|v| format!("- {v}\n")).collect::<Vec<_>>().concat();
                format!("\n{inner}")
            }),
        ],
    )
        .prop_map(|(k, v)| format!("{k}:{v}"));
    (
        prop::collection::vec(entry, 1..5),
        prop::bool::weighted(0.2),
    )
        .prop_map(|(entries, docs)| {
            let body = entries.concat();
            if docs {
                body.replacen('\n', "\n---\n", 1)
            } else {
                body
            }
        })
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        rng_seed: RngSeed::Fixed(14),
        failure_persistence: None,
        ..Config::default()
    })
}

/// Runs generated cases; on a difference, proptest shrinks it to a minimal one.
fn generated(cases: u32, strategy: impl Strategy<Value = Vec<Arg>>) {
    runner(cases)
        .run(&strategy, |case| {
            if let Some(d) = disagreement(&case) {
                return Err(TestCaseError::fail(d));
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn generated_set_arguments_match_helm() {
    generated(
        150,
        prop::collection::vec(
            prop_oneof![
                6 => set_argument().prop_map(|a| Arg::Set("--set", a)),
                1 => set_argument().prop_map(|a| Arg::Set("--set-string", a)),
                1 => set_argument().prop_map(|a| Arg::Set("--set-literal", a)),
                1 => set_argument().prop_map(|a| Arg::Set("--set-json", a)),
            ],
            1..3,
        ),
    );
}

#[test]
fn generated_values_files_match_helm() {
    generated(
        120,
        (
            prop::collection::vec(values_file().prop_map(Arg::File), 1..3),
            prop::option::weighted(0.3, set_argument()),
        )
            .prop_map(|(mut files, set)| {
                files.extend(set.map(|a| Arg::Set("--set", a)));
                files
            }),
    );
}
