//! Values exactly as Helm reads them, proven against the real `helm` binary: a probe chart
//! whose only template prints `{{ toJson .Values }}` is rendered by `helm template` with a
//! set of `-f`/`--set`-family arguments, and alertchart loads the same arguments over the
//! same values.yaml (as its profile). The two trees must be equal, or both must reject.
//! Cases: a hand-written corpus of every rule we know of, plus proptest-generated `--set`
//! arguments and values files (fixed seed, so CI runs the same cases every time).
//!
//! Every case also runs through Helm 3 (`helm3`, 3.17): it must agree too, except in the
//! documented differences of `Helm3Difference`, where alertchart follows Helm 4 and the
//! test checks that Helm 3 behaves exactly as the difference says.
//!
//! This module is the harness (the probe chart, both Helms, the comparison) and the test of
//! the Helm 3 differences; the cases are in `set_flags`, `values_files` and `generated`.

mod generated;
mod set_flags;
mod values_files;

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use alertchart::input::{self, Overrides, ProfileSource, ValuesFile};
use serde_json::Value;

use crate::common;

/// Defaults of the probe chart: maps, lists, a null and scalars for overrides to hit.
const DEFAULTS: &str = "\
top: 5
str: hello
nul: null
list: [a, b]
d:
  x: 1
  l: [1, 2]
  nn: null
  m: {k: v}
  s: text
";

struct Probe {
    _dir: tempfile::TempDir,
    chart: PathBuf,
}

fn probe() -> &'static Probe {
    static PROBE: OnceLock<Probe> = OnceLock::new();
    PROBE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let chart = dir.path().join("probe");
        fs::create_dir_all(chart.join("templates")).unwrap();
        fs::write(
            chart.join("Chart.yaml"),
            "apiVersion: v2\nname: probe\nversion: 0.1.0\n",
        )
        .unwrap();
        fs::write(chart.join("values.yaml"), DEFAULTS).unwrap();
        fs::write(
            chart.join("templates/values.json"),
            "{{ toJson .Values }}\n",
        )
        .unwrap();
        Probe { _dir: dir, chart }
    })
}

/// One argument of a case: a flag and its value. `-f` and `--set-file` values name files
/// by their contents (written to a temporary directory for the run).
#[derive(Debug, Clone, PartialEq)]
enum Arg {
    File(String),
    /// `-f` with several files, comma-separated.
    Files(Vec<String>),
    Set(&'static str, String),
    /// `--set-file KEY=` followed by a file holding the contents.
    SetFile(String, String),
}

fn set(arg: &str) -> Arg {
    Arg::Set("--set", arg.to_string())
}

fn flag(flag: &'static str, arg: &str) -> Arg {
    Arg::Set(flag, arg.to_string())
}

fn file(text: &str) -> Arg {
    Arg::File(text.to_string())
}

/// The command-line arguments of a case, with its files written into `dir`.
fn command_line(case: &[Arg], dir: &Path) -> Vec<String> {
    let mut n = 0;
    let mut write = |text: &str| {
        n += 1;
        let path = dir.join(format!("f{n}.yaml"));
        fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let mut args = Vec::new();
    for arg in case {
        match arg {
            Arg::File(text) => args.extend(["-f".to_string(), write(text)]),
            Arg::Files(texts) => {
                let paths: Vec<String> = texts.iter().map(|t| write(t)).collect();
                args.extend(["-f".to_string(), paths.join(",")]);
            }
            Arg::Set(flag, value) => args.extend([(*flag).to_string(), value.clone()]),
            Arg::SetFile(key, text) => {
                args.extend(["--set-file".to_string(), format!("{key}={}", write(text))]);
            }
        }
    }
    args
}

/// The two oracles: Helm 4, which alertchart follows, and Helm 3.
#[derive(Debug, Clone, Copy)]
enum Helm {
    V4,
    V3,
}

fn helm_tree(helm: Helm, args: &[String]) -> Result<Value, String> {
    let binary = match helm {
        Helm::V4 => "helm",
        Helm::V3 => "helm3",
    };
    let out = Command::new(common::tool(binary))
        .args(["template", "p"])
        .arg(&probe().chart)
        .args(["--show-only", "templates/values.json"])
        .args(args)
        .output()
        .unwrap();
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    let stdout = String::from_utf8(out.stdout).unwrap();
    let json = stdout
        .lines()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("no JSON in helm's output: {stdout}"));
    Ok(serde_json::from_str(json).unwrap())
}

fn alertchart_tree(args: &[String]) -> Result<Value, String> {
    let mut overrides = Overrides::default();
    let mut values = Vec::new();
    for pair in args.chunks(2) {
        let (flag, value) = (pair[0].as_str(), pair[1].clone());
        match flag {
            "-f" => values.push(value),
            "--set" => overrides.set.push(value),
            "--set-string" => overrides.set_string.push(value),
            "--set-json" => overrides.set_json.push(value),
            "--set-file" => overrides.set_file.push(value),
            "--set-literal" => overrides.set_literal.push(value),
            other => panic!("unknown flag {other}"),
        }
    }
    overrides.values = ValuesFile::from_args(&values).map_err(|e| format!("{e:#}"))?;
    let profile = ProfileSource::File(probe().chart.join("values.yaml"));
    input::load_overrides(&profile, &overrides)
        .map(|m| m.tree)
        .map_err(|e| format!("{e:#}"))
}

/// Equal as Helm's values: numbers by value (Helm's JSON does not tell an integer from
/// an integral float), everything else exactly.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            // Exact: both sides hold the same float64, or it is a difference.
            #[allow(clippy::float_cmp)]
            let equal = x == y || x.as_f64().zip(y.as_f64()).is_some_and(|(x, y)| x == y);
            equal
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fn agree(a: &Result<Value, String>, b: &Result<Value, String>) -> bool {
    match (a, b) {
        (Ok(a), Ok(b)) => same(a, b),
        (Err(_), Err(_)) => true,
        _ => false,
    }
}

/// Where Helm 3 reads values differently from Helm 4, whom alertchart follows (the README's
/// statement of compatibility lists the same).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Helm3Difference {
    /// Helm 3 reads only the first YAML document of a values file; Helm 4 merges them all.
    FirstDocumentOnly,
    /// Helm 3 rejects `--set-json` of a whole JSON object (no `key=`); Helm 4 merges it.
    SetJsonWholeObject,
    /// Helm 3 rejects an unterminated list index (`a[0`); Helm 4 ignores the argument.
    UnterminatedIndexRejected,
    /// Helm 3 drops a nested key set to `null` whose chart default is `null` (a top-level
    /// one stays); Helm 4 keeps it.
    NullOverNullDefaultDropped,
    /// Helm 3 accepts a `%YAML 1.1` directive in a values file; Helm 4 rejects the file.
    YamlDirectiveAccepted,
}

impl Helm3Difference {
    const ALL: [Self; 5] = [
        Self::FirstDocumentOnly,
        Self::SetJsonWholeObject,
        Self::UnterminatedIndexRejected,
        Self::NullOverNullDefaultDropped,
        Self::YamlDirectiveAccepted,
    ];

    /// Whether Helm 3's result is exactly what this difference predicts for the case.
    fn explains(
        self,
        case: &[Arg],
        helm3: &Result<Value, String>,
        mine: &Result<Value, String>,
    ) -> bool {
        let set_value = |flags: &[&str], test: &dyn Fn(&str) -> bool| {
            case.iter()
                .any(|a| matches!(a, Arg::Set(f, v) if flags.contains(f) && test(v)))
        };
        match self {
            Self::FirstDocumentOnly => same_as_helm4_of(case, first_documents, helm3),
            Self::SetJsonWholeObject => {
                helm3.is_err() && set_value(&["--set-json"], &|v| v.trim_start().starts_with('{'))
            }
            Self::UnterminatedIndexRejected => {
                helm3.is_err()
                    && set_value(&["--set", "--set-string", "--set-literal"], &|v| {
                        v.matches('[').count() > v.matches(']').count()
                    })
            }
            Self::NullOverNullDefaultDropped => match (helm3, mine) {
                (Ok(helm3), Ok(mine)) => {
                    let defaults: Value = yaml_serde::from_str(DEFAULTS).unwrap();
                    drops_nulls_over_null_defaults(helm3, mine, Some(&defaults))
                }
                _ => false,
            },
            Self::YamlDirectiveAccepted => {
                mine.is_err() && same_as_helm4_of(case, without_directives, helm3)
            }
        }
    }
}

/// Whether the case differs once `edit` is applied to its arguments, and Helm 4 of the
/// edited case gives Helm 3's result.
fn same_as_helm4_of(case: &[Arg], edit: fn(&Arg) -> Arg, helm3: &Result<Value, String>) -> bool {
    let edited: Vec<Arg> = case.iter().map(edit).collect();
    let dir = tempfile::tempdir().unwrap();
    edited != case
        && agree(
            helm3,
            &helm_tree(Helm::V4, &command_line(&edited, dir.path())),
        )
}

/// Whether `helm3` is `mine` without some keys that are `null` in `mine` and in the defaults.
fn drops_nulls_over_null_defaults(helm3: &Value, mine: &Value, defaults: Option<&Value>) -> bool {
    match (helm3, mine) {
        (Value::Object(h), Value::Object(m)) => {
            h.keys().all(|k| m.contains_key(k))
                && m.iter().all(|(k, v)| {
                    let default = defaults.and_then(|d| d.get(k));
                    match h.get(k) {
                        Some(w) => drops_nulls_over_null_defaults(w, v, default),
                        None => v.is_null() && default.is_some_and(Value::is_null),
                    }
                })
        }
        _ => same(helm3, mine),
    }
}

/// Each values file of the argument without its `%` directive lines.
fn without_directives(arg: &Arg) -> Arg {
    let strip = |text: &String| -> String {
        text.split_inclusive('\n')
            .filter(|l| !l.starts_with('%'))
            .collect()
    };
    match arg {
        Arg::File(text) => Arg::File(strip(text)),
        Arg::Files(texts) => Arg::Files(texts.iter().map(strip).collect()),
        other => other.clone(),
    }
}

/// The argument with each values file cut to its first YAML document.
fn first_documents(arg: &Arg) -> Arg {
    match arg {
        Arg::File(text) => Arg::File(first_document(text)),
        Arg::Files(texts) => Arg::Files(texts.iter().map(|t| first_document(t)).collect()),
        other => other.clone(),
    }
}

/// The text up to the second document marker (`---`), or the first one after content.
fn first_document(text: &str) -> String {
    let mut opened = false;
    let mut content = false;
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\n', '\r']);
        let marker = bare == "---" || bare.starts_with("--- ") || bare.starts_with("---\t");
        if marker || bare == "..." {
            if opened || content {
                break;
            }
            opened = true;
        } else if !(bare.trim().is_empty() || bare.starts_with('#') || bare.starts_with('%')) {
            content = true;
        }
        out.push_str(line);
    }
    out
}

/// How Helm 3 relates to alertchart on a case: `Ok(None)` agrees, `Ok(Some(d))` differs
/// exactly as the documented difference `d` says, `Err` differs otherwise.
fn helm3_difference(
    case: &[Arg],
    args: &[String],
    mine: &Result<Value, String>,
) -> Result<Option<Helm3Difference>, String> {
    let helm3 = helm_tree(Helm::V3, args);
    if agree(&helm3, mine) {
        return Ok(None);
    }
    Helm3Difference::ALL
        .into_iter()
        .find(|d| d.explains(case, &helm3, mine))
        .map(Some)
        .ok_or_else(|| format!("{helm3:?}"))
}

/// Runs a case through alertchart and both oracles; `None` when alertchart agrees with
/// Helm 4 and Helm 3 agrees too or differs as documented, else a description.
fn disagreement(case: &[Arg]) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let args = command_line(case, dir.path());
    let helm = helm_tree(Helm::V4, &args);
    let mine = alertchart_tree(&args);
    if !agree(&helm, &mine) {
        return Some(format!(
            "{case:?}\n    helm:       {helm:?}\n    alertchart: {mine:?}"
        ));
    }
    helm3_difference(case, &args, &mine).err().map(|helm3| {
        format!("{case:?}\n    helm 3 (undocumented difference): {helm3}\n    alertchart: {mine:?}")
    })
}

/// Runs every case; fails listing all disagreements.
fn assert_agree(cases: &[Vec<Arg>]) {
    let mut report = String::new();
    let failures = cases
        .iter()
        .filter_map(|case| disagreement(case))
        .inspect(|d| {
            let _ = writeln!(report, "  {d}");
        })
        .count();
    assert!(
        failures == 0,
        "{failures} of {} cases differ from helm 4 or (undocumented) helm 3:\n{report}",
        cases.len()
    );
}

#[test]
fn helm3_differs_only_as_documented() {
    let expect = [
        (
            Helm3Difference::FirstDocumentOnly,
            vec![file("a: 1\n---\nb: 2\n")],
        ),
        (
            Helm3Difference::FirstDocumentOnly,
            vec![Arg::Files(vec![
                "d: {x: 2}\n".into(),
                "a: 1\n---\nd: {x: 3}\n".into(),
            ])],
        ),
        (
            Helm3Difference::SetJsonWholeObject,
            vec![flag("--set-json", r#"{"a":{"b":1}}"#)],
        ),
        (
            Helm3Difference::SetJsonWholeObject,
            vec![set("a=1"), flag("--set-json", r#" {"d":{"x":null}}"#)],
        ),
        (Helm3Difference::UnterminatedIndexRejected, vec![set("a[0")]),
        (
            Helm3Difference::UnterminatedIndexRejected,
            vec![flag("--set-literal", "a.b[1")],
        ),
        (
            Helm3Difference::NullOverNullDefaultDropped,
            vec![set("d.nn=null")],
        ),
        (
            Helm3Difference::NullOverNullDefaultDropped,
            vec![file("d: {nn: null}\n")],
        ),
        (
            Helm3Difference::YamlDirectiveAccepted,
            vec![file("%YAML 1.1\n---\na: yes\n")],
        ),
    ];
    for (difference, case) in expect {
        let dir = tempfile::tempdir().unwrap();
        let args = command_line(&case, dir.path());
        let mine = alertchart_tree(&args);
        assert!(
            agree(&helm_tree(Helm::V4, &args), &mine),
            "{case:?}: alertchart must follow helm 4"
        );
        assert_eq!(
            helm3_difference(&case, &args, &mine),
            Ok(Some(difference)),
            "{case:?}"
        );
    }
}
