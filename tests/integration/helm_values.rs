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

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use alertchart::source::{self, Overrides, ProfileSource, ValuesFile};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestRunner};
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
    source::load_overrides(&profile, &overrides)
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

fn each(flag: &'static str, args: &[&str]) -> Vec<Vec<Arg>> {
    args.iter()
        .map(|a| vec![Arg::Set(flag, (*a).to_string())])
        .collect()
}

#[test]
fn set_types_values_like_helm() {
    assert_agree(&each(
        "--set",
        &[
            "a=1",
            "a=-1",
            "a=+1",
            "a=0",
            "a=-0",
            "a=00",
            "a=010",
            "a=1.5",
            "a=16.10",
            "a=.5",
            "a=1e3",
            "a=0x1F",
            "a=1_000",
            "a=9223372036854775807",
            "a=9223372036854775808",
            "a=-9223372036854775808",
            "a=-9223372036854775809",
            "a=true",
            "a=TRUE",
            "a=True",
            "a=tRuE",
            "a=false",
            "a=FALSE",
            "a=falſe",
            "a=yes",
            "a=on",
            "a=off",
            "a=null",
            "a=NULL",
            "a=Null",
            "a=~",
            "a=",
            "a= 1",
            "a=1 ",
            "a=é",
            "a=0.9",
            "a=1.0",
        ],
    ));
}

#[test]
fn set_syntax_escapes_and_errors_match_helm() {
    assert_agree(&each(
        "--set",
        &[
            "a=1,",
            "",
            ",",
            ",a=1",
            "a=1,,b=2",
            "a",
            "a.b",
            "a.=1",
            ".a=1",
            "a..b=1",
            r"a\.b=1",
            r"a\=b=1",
            r"a=b\,c",
            r"a=b\",
            r"a\,b=1",
            r"a\\b=1",
            "a=x=y",
            "=1",
            "=",
            "a=1=2",
            "a=1,b=2,c=3",
            "a.b.c=1,a.b.d=2",
            "a.b=1,a=2",
            "a=1,a.b=2",
            "a=null,a.b=1",
            "a={}",
            "a={x}",
            "a={x,y}",
            "a={x,y",
            "a={x,y}z",
            "a={x,y},b=1",
            "a={1,true,null,1.5,010}",
            "a={{x}}",
            "a={x}}",
            r"a={x\,y,z}",
            "a={,}",
            "a= {x}",
            "a.b={x},a.c=1",
            "top.x=1",
            "str.x=1",
            "list.x=1",
            "nul.x=1",
            "d.x.y=1",
            "d.m.k=null",
            "d=null",
            "d.x=null",
            "d.nn=1",
            "d.nn=null",
            "zz=null",
            "d.zz=null",
            "top=null",
            "list=null",
            "d.l=null",
            "d=1",
            "top.a=1",
            "d.m=x",
        ],
    ));
}

#[test]
fn set_list_indexes_match_helm() {
    assert_agree(&each(
        "--set",
        &[
            "a[0]=x",
            "a[1]=x",
            "a[0]=x,a[2]=y",
            "a[0",
            "a[0]",
            "a[0]=",
            "a[0].b=",
            "a[0].b=1",
            "a[0][1]=x",
            "a[0][1",
            "a[-1]=x",
            "a[x]=1",
            "a[+1]=1",
            "a[]=1",
            "a[65536]=1",
            "a[65537]=1",
            "a[0]x=1",
            "a[0]=1,a[0]=2",
            "a[0].b.c=1,a[0].d=2",
            "a[1].b=1,a[0].c=2",
            "a[0]=1,a[0].b=2",
            "a[0].b=1,a[0]=2",
            "a[0][0]=1,a[0][1]=2",
            "a[0]=1,a[0][1]=2",
            "list[0]=z",
            "list[3]=z",
            "list[0].k=v",
            "top[0]=1",
            "str[0]=1",
            "nul[0]=1",
            "d.l[1]=9",
            "d.l[0][0]=9",
            "d.m[0]=1",
            "[0]=1",
            "a.b[0]=1,a.b[1]=2",
            "a[0]={x,y}",
            "a[0]=null",
            "a[0]=,b=1",
            "a[0],b=1",
            "a[0]b",
            "a[0][",
            "a[0].",
            "a.b[0",
            "a[0]=1,",
            "a[0].[1]=2",
            "a[0]..b=1",
            "a[0].=1",
            "a[0]]=1",
            "a[[0]]=1",
            r"a\[0]=1",
            r"a[0\]]=1",
        ],
    ));
}

#[test]
fn set_nesting_limit_is_helms() {
    let deep = |n: usize| format!("{}=1", vec!["k"; n + 1].join("."));
    assert_agree(&[
        vec![set(&deep(30))],
        vec![set(&deep(31))],
        vec![flag("--set-literal", &deep(30))],
        vec![flag("--set-literal", &deep(31))],
        vec![set(&format!("a[0].{}", deep(30)))],
        vec![set(&format!("a[0].{}", deep(29)))],
    ]);
}

#[test]
fn set_string_json_literal_and_file_match_helm() {
    let mut cases = each(
        "--set-string",
        &[
            "a=1", "a=true", "a=null", "a={1,2}", "a[0]=1", "a=", "a.b=010", "a=1.5", "d.x=2",
            "d=null", "a=x,b=", "a",
        ],
    );
    cases.extend(each(
        "--set-json",
        &[
            "a=1",
            r#"a="x""#,
            r#"a={"b":[1,2]}"#,
            r#"a=[1,{"c":null}]"#,
            "a=null",
            "a=",
            "a=,b=2",
            "a=1b=2",
            "a=truex",
            "a=tru",
            "a= 1",
            "a=1.0",
            "a=1e400",
            "a=1.5e300",
            r#"a={"x":1}{"y"}"#,
            r#"{"a":{"b":1}}"#,
            r#" {"a":1}"#,
            r#"{"a":1} x"#,
            r#"{"d":{"x":null}}"#,
            "a[0]=1",
            r#"a[1]={"x":1}"#,
            r#"a.b="s",c=2"#,
            "a=-",
            "a=01",
            "a=-0",
            "a=12345678901234567890",
            r#"a="\u00e9""#,
            r#"a={"k":1,"k":2}"#,
            "a=[",
            r#"a="unterminated"#,
            "a=1,",
            "a=1 ,b=2",
            "a",
            "a=1,,b=2",
            "d=null",
            "d.m=null",
            "a=[1,2],b=[3]",
            "a=1.",
            "a=-1",
            "a=.5",
            "a=TRUE",
            "a=nul",
            "{}",
            "{",
            r#"{"a":1,}"#,
        ],
    ));
    cases.extend(each(
        "--set-literal",
        &[
            "a=1,b=2", r"a=x\,y", "a.b=c=d", "a[0]=1", r"a\.b=1", "a", "a=", "a={x}", "a=null",
            "a=true", "a.b[1]=x", "a[0].b=1", "a[0]", "a[0", "=1", ".a=1", "a..b=1", "d=1",
            "d.m.k=x", "top.x=1", "a=1\n2",
        ],
    ));
    cases.extend([
        vec![Arg::SetFile("a".into(), "hello\n".into())],
        vec![Arg::SetFile("d.x".into(), "1".into())],
        vec![Arg::SetFile("a[0]".into(), "x: 1".into())],
        vec![flag("--set-file", "a=/nonexistent/file")],
        vec![flag("--set-file", "a")],
    ]);
    assert_agree(&cases);
}

#[test]
fn flags_apply_in_helms_order() {
    assert_agree(&[
        vec![set("a=1"), flag("--set-string", "a=2")],
        vec![flag("--set-string", "a=2"), set("a=1")],
        vec![
            flag("--set-literal", "a=lit"),
            set("a=1"),
            flag("--set-json", "a=3"),
        ],
        vec![flag("--set-json", "a=3"), set("a=1")],
        vec![set("a=1"), set("a=2")],
        vec![set("a.b=1"), set("a=2")],
        vec![set("a=2"), set("a.b=1")],
        vec![file("a: 1\n"), set("a=2")],
        vec![file("d: null\n"), set("d.x=5")],
        vec![file("d: {x: null}\n"), set("d.x=5")],
        vec![file("a: [1, 2]\n"), set("a[1]=x")],
        vec![file("a: x\n"), set("a[0]=1")],
        vec![file("a: {b: 1}\n"), set("a.c=2")],
        vec![set("a[0]=1"), set("a[2]=3")],
        vec![set("a[0].b=1"), set("a[0].c=2")],
        vec![set("a[0]=x"), set("a[0].b=1")],
        vec![
            Arg::SetFile("a".into(), "file".into()),
            flag("--set-literal", "a=lit"),
        ],
        vec![file("a: 1\n"), file("a: 2\nb: 3\n")],
        vec![Arg::Files(vec!["a: 1\n".into(), "a: 2\n".into()])],
        vec![file("d: {x: 2}\n"), file("d: {l: [9]}\n")],
        vec![file("d: {m: null}\n"), file("d: {m: {k: w}}\n")],
        vec![
            flag("--set-json", r#"{"a":{"b":1}}"#),
            flag("--set-json", "a.c=2"),
        ],
    ]);
}

/// Plain, quoted and tagged scalars of values files: every YAML 1.1 rule we know of.
const YAML_SCALARS: &[&str] = &[
    "yes",
    "Yes",
    "YES",
    "y",
    "Y",
    "n",
    "N",
    "no",
    "on",
    "On",
    "oN",
    "off",
    "OFF",
    "true",
    "True",
    "tRue",
    "~",
    "null",
    "Null",
    "NULL",
    "nUll",
    "",
    "010",
    "0o10",
    "0O10",
    "0x1F",
    "0X1f",
    "0x",
    "1_000",
    "_1",
    "1__0",
    "0x_1F",
    "08",
    "09.5",
    "1e3",
    "1E3",
    "1e+3",
    ".5",
    "+.5",
    "-.5",
    "1.",
    ".",
    "-0",
    "+12",
    "-0.0",
    "0b101",
    "0b-1",
    "-0b101",
    "0b",
    "12:30:00",
    "2001-12-14",
    "2001-12-14T21:59:43.10-05:00",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "9007199254740993",
    "1e400",
    "1e-400",
    "'yes'",
    "\"010\"",
    "!!str 1",
    "!!float 1",
    "!!int \"1\"",
    "!!int x",
    "!!bool yes",
    "!!null ''",
    "!!float .5",
    "!custom 12",
    ".inf",
    "-.Inf",
    ".nan",
    ".NaN",
    ".iNf",
    "+.inf",
    "16.10",
    "1.5",
    "0.9",
    "<<",
    "'<<'",
    "0.",
    "00",
    "0_0",
    "+",
    "-",
    "+-1",
    "1e",
    "0x1p3",
    "inf",
    "NaN",
    "Infinity",
    "é",
    "1_000.5",
    ".5_0",
    ".5__0",
    "._5",
    ".5_",
    "!!binary aGVsbG8",
    "!!binary aGk=",
    "!!binary \"aGk=\"",
    "!!timestamp hello",
    "!!timestamp 2001-12-14 21:59:43.10",
    "!!float 1_0",
    "!!int 0x10",
    "!!bool \"on\"",
];

#[test]
fn values_file_scalars_resolve_by_yaml_1_1_like_helm() {
    let cases: Vec<Vec<Arg>> = YAML_SCALARS
        .iter()
        .map(|s| vec![file(&format!("a: {s}\n"))])
        .collect();
    assert_agree(&cases);
}

#[test]
fn values_file_keys_become_strings_like_helm() {
    let mut cases = Vec::new();
    for text in [
        "1: a\n",
        "yes: a\n",
        "1.5: a\n",
        "0x10: a\n",
        "null: a\n",
        "~: a\n",
        "'': a\n",
        "true: a\nTrue: b\n",
        "1e10: a\n",
        "0.1: a\n",
        ".inf: a\n",
        "-1: a\n",
        "18446744073709551615: a\n",
        "[1, 2]: a\n",
        "{a: 1}: b\n",
        "? |\n  k\n: v\n",
        "9223372036854775807: a\n",
        "123456789: a\n",
        "1.0: a\n",
        "100000: a\n",
        "1000000: a\n",
        "0.00001: a\n",
    ] {
        cases.push(vec![file(text)]);
    }
    assert_agree(&cases);
}

#[test]
fn values_file_merges_documents_and_nulls_like_helm() {
    let mut cases = Vec::new();
    for text in [
        "base: &b {x: 1, p: 2}\nm:\n  x: 0\n  <<: *b\n  p: 3\n",
        "a: &a {x: 1}\nb: &b {x: 2, y: 3}\nc:\n  <<: [*a, *b]\n",
        "c:\n  <<: {x: 1}\n  <<: {x: 2}\n",
        "c:\n  '<<': {x: 1}\n",
        "c:\n  <<: 1\n",
        "c:\n  <<: [1]\n",
        "<<: {top: 7}\n",
        "a: &x 1\nb: *x\n",
        "a: *undefined\n",
        "d: 1\nd: 2\n",
        "d: {x: 5}\nd: {l: [3]}\n",
        "a: 1\n---\nb: 2\n",
        "a: {x: 1}\n---\na: {p: 2}\n",
        "a: 1\n---\n",
        "---\na: 1\n",
        "--- # comment\na: 1\n",
        "a: 1\n--- b: 2\n",
        "a: 1\n---x\n",
        "a: 1\n----\n",
        "a: 1\n...\nb: 2\n",
        "---\n---\na: 1\n",
        "a: 1\n---\n- x\n",
        "- x\n",
        "hello\n",
        "",
        "# only a comment\n",
        "~\n",
        "null\n",
        "a: |\n  x\n  y\n",
        "a: >\n  x\n  y\n",
        "a: [1, 2, {b: c}]\n",
        "a:\n- 1\n- yes\n- '2'\n",
        "d: {x: null}\n",
        "d: null\n",
        "top: ~\n",
        "nul: ~\n",
        "zz: null\n",
        "d: {zz: null}\n",
        "d: {nn: null}\n",
        "d: {nn: 5}\n",
        "list: [z]\n",
        "list: []\n",
        "d: {l: {a: 1}}\n",
        "d: 5\n",
        "top: {a: 1}\n",
        "d: {m: 1}\n",
        "a: 'it''s'\n",
        "a: \"\\u00e9\\t\"\n",
        "a:\n\tb: 1\n",
        "a: [1, 2\n",
        "a: b: c\n",
        "a: 1\n a: 2\n",
        "a: !!binary aGVsbG8=\n",
        "a: !!timestamp 2001-12-14\n",
        "a: !!map {b: 1}\n",
        "a: !!seq [1]\n",
        "%YAML 1.1\n---\na: yes\n",
        "a: 0x8000000000000000\n",
        "a: -0x8000000000000000\n",
        "a: 0o777777777777777777777\n",
    ] {
        cases.push(vec![file(text)]);
    }
    assert_agree(&cases);
}

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
