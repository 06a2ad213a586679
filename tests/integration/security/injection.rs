//! Values that reach a configuration file or script cannot inject into it: hostile strings
//! in every string value are refused by both `helm` (values.schema.json) and `alertchart
//! validate`, and free-form values (annotations) never reach such a file.

use std::collections::BTreeSet;
use std::process::Command;

use serde_json::Value;

use crate::common;
use crate::common::{
    all_addons, base64_decode, chart_dir, helm_template, profiles, repo, tool, yaml_docs,
};

/// Values that reach a configuration file or script of the standard chart: postgresql.conf
/// (sizes, durations, huge_pages, the TLS Secret's name in a comment), pg_hba.conf (database,
/// user, CIDRs), init.sql (database, user), valkey.conf (memory limit, policies), the Helm
/// test's shell script (the full name), the backup CronJob (schedule, time zone). Each must
/// refuse every hostile string.
const CONFIG_LEAVES: &[&str] = &[
    "fullnameOverride",
    "nameOverride",
    "postgresql.auth.database",
    "postgresql.auth.username",
    "postgresql.hba.appCidrs",
    "postgresql.tls.secretName",
    "postgresql.config.sharedBuffers",
    "postgresql.config.effectiveCacheSize",
    "postgresql.config.workMem",
    "postgresql.config.maintenanceWorkMem",
    "postgresql.config.walBuffers",
    "postgresql.config.minWalSize",
    "postgresql.config.maxWalSize",
    "postgresql.config.walKeepSize",
    "postgresql.config.logMinDurationStatement",
    "postgresql.config.autovacuumNaptime",
    "postgresql.config.archiveTimeout",
    "postgresql.config.hugePages",
    "postgresql.backup.schedule",
    "postgresql.backup.timeZone",
    "valkey.resources.limits.memory",
    "valkey.config.maxmemoryPolicy",
    "valkey.config.appendfsync",
];

/// Appended to a valid value of a [`CONFIG_LEAVES`] value, one at a time: line breaks,
/// quotes, statement and shell separators, command substitution, a pg_hba.conf line.
const HOSTILE: &[&str] = &[
    "\n",
    "\nhost all all 0.0.0.0/0 trust",
    "'INJECTED",
    "\"INJECTED",
    ";INJECTED",
    "$(INJECTED)",
    "`INJECTED`",
    " INJECTED",
];

/// Appended to a valid value of every other string value: the same characters in two
/// strings (the value must refuse them or carry them to no configuration file).
const HOSTILE_ELSEWHERE: &[&str] = &["\nINJECTED", "'\";INJECTED $(INJECTED) `INJECTED`"];

/// A string leaf of values.yaml: its `--set` path (dots in keys escaped), whether it is a
/// list item, and a valid value to prefix the hostile text with.
struct StringLeaf {
    path: String,
    list: bool,
    prefix: String,
}

fn schema_at<'a>(schema: &'a Value, key: &str) -> &'a Value {
    schema["properties"].get(key).unwrap_or_else(|| {
        schema["patternProperties"]
            .as_object()
            .and_then(|p| p.values().next())
            .unwrap_or(&schema["additionalProperties"])
    })
}

fn valid_prefix(current: Option<&str>, schema: &Value) -> String {
    current
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .or_else(|| {
            schema["examples"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .find(|s| !s.is_empty())
                .map(str::to_string)
        })
        .unwrap_or_else(|| "injected".to_string())
}

/// A string schema, also one that takes the integers and booleans Helm's `--set` makes of
/// text (a `--set` of hostile text still gives a string).
fn is_string_schema(s: &Value) -> bool {
    s["type"] == "string"
        || s["type"].as_array().is_some_and(|t| {
            t.first().is_some_and(|x| x == "string")
                && t[1..].iter().all(|x| x == "integer" || x == "boolean")
        })
        || s["enum"]
            .as_array()
            .is_some_and(|e| e.iter().all(Value::is_string))
}

/// Every string leaf of a chart's values, with free-form maps (empty by default) given a
/// new entry `injected`.
fn string_leaves(values: &Value, schema: &Value, path: &str, out: &mut Vec<StringLeaf>) {
    let join = |key: &str| {
        let key = key.replace('.', "\\.");
        if path.is_empty() {
            key
        } else {
            format!("{path}.{key}")
        }
    };
    match values {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                string_leaves(v, schema_at(schema, k), &join(k), out);
            }
        }
        Value::Object(_) => {
            let entry = schema_at(schema, "injected");
            if is_string_schema(entry) {
                out.push(StringLeaf {
                    path: join("injected"),
                    list: false,
                    prefix: valid_prefix(None, entry),
                });
            }
        }
        Value::Array(items) if is_string_schema(&schema["items"]) => out.push(StringLeaf {
            path: path.to_string(),
            list: true,
            prefix: valid_prefix(items.first().and_then(Value::as_str), &schema["items"]),
        }),
        Value::String(s) if is_string_schema(schema) => out.push(StringLeaf {
            path: path.to_string(),
            list: false,
            prefix: valid_prefix(Some(s), schema),
        }),
        _ => {}
    }
}

/// `--set` syntax for a value: `\` and `,` escaped; a list item in braces.
fn set_arg(leaf: &StringLeaf, value: &str) -> String {
    let escaped = value.replace('\\', "\\\\").replace(',', "\\,");
    if leaf.list {
        format!("{}={{{escaped}}}", leaf.path)
    } else {
        format!("{}={escaped}", leaf.path)
    }
}

/// The text of every configuration file and script of a render: ConfigMap data, and the
/// `command` and `args` of every container, probe and hook.
fn config_text(docs: &[Value]) -> String {
    fn walk(v: &Value, out: &mut String) {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    if matches!(k.as_str(), "command" | "args") {
                        for s in v.as_array().into_iter().flatten() {
                            out.push_str(s.as_str().unwrap_or(""));
                            out.push('\n');
                        }
                    } else {
                        walk(v, out);
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    let mut out = String::new();
    for d in docs {
        if d["kind"] == "ConfigMap" {
            for v in d["data"].as_object().into_iter().flatten().map(|(_, v)| v) {
                out.push_str(v.as_str().unwrap_or(""));
                out.push('\n');
            }
        }
        walk(d, &mut out);
    }
    out
}

fn contains_string(v: &Value, wanted: &str) -> bool {
    match v {
        Value::String(s) => s.contains(wanted),
        Value::Array(items) => items.iter().any(|i| contains_string(i, wanted)),
        Value::Object(map) => map.values().any(|i| contains_string(i, wanted)),
        _ => false,
    }
}

/// Whether `doc` is a Secret with `wanted` as one of its (base64-decoded) values.
fn secret_holds(doc: &Value, wanted: &str) -> bool {
    doc["kind"] == "Secret"
        && doc["data"].as_object().is_some_and(|data| {
            data.values().any(|v| {
                v.as_str()
                    .is_some_and(|b64| base64_decode(b64) == wanted.as_bytes())
            })
        })
}

/// The outcome of one hostile value: rejected by both tools, or accepted and where it went.
fn try_hostile(profile: &str, leaf: &StringLeaf, value: &str) -> Result<(), String> {
    let set = set_arg(leaf, value);
    let addons = all_addons(profile);
    let helm = Command::new(tool("helm"))
        .args(["template", "ah"])
        .arg(chart_dir(profile))
        .args(["--namespace", "alerts"])
        .args(&addons)
        .args(["--set", &set])
        .output()
        .expect("run helm");
    let alertchart = Command::new(env!("CARGO_BIN_EXE_alertchart"))
        .args(["validate", "--profile", profile])
        .args(&addons)
        .args(["--set", &set])
        .current_dir(repo())
        .output()
        .expect("run alertchart");
    let helm_err = String::from_utf8_lossy(&helm.stderr);
    if !helm.status.success() {
        if !helm_err.contains("schema") {
            return Err(format!("helm failed, but not on the schema: {helm_err}"));
        }
        if alertchart.status.code() != Some(1) {
            return Err(format!(
                "helm's schema rejects it, `alertchart validate` exits {:?}: {}",
                alertchart.status.code(),
                String::from_utf8_lossy(&alertchart.stderr)
            ));
        }
        return Ok(());
    }
    // Accepted: only a value that reaches no configuration file may be free-form, and it
    // must arrive as written.
    let path = leaf.path.replace("\\.", ".");
    if CONFIG_LEAVES.contains(&path.as_str()) {
        return Err("helm accepts it, and it reaches a configuration file".into());
    }
    let docs = yaml_docs(&String::from_utf8_lossy(&helm.stdout));
    if config_text(&docs).contains(value) {
        return Err("it reached a configuration file or script".into());
    }
    if !docs
        .iter()
        .any(|d| contains_string(d, value) || secret_holds(d, value))
    {
        return Err("helm accepts it, but the manifests do not carry it as written".into());
    }
    Ok(())
}

/// Every string value of both charts (every leaf of values.yaml, list items, and a new
/// entry of every free-form map), set to a valid value followed by hostile text (line
/// breaks, quotes, `;`, `$(...)`, backticks, a space), through `helm template --set`
/// and `alertchart validate --set`: when Helm's schema refuses it, `alertchart validate`
/// exits 1 too; every value that reaches postgresql.conf, pg_hba.conf, init.sql, valkey.conf,
/// the Helm test script or the backup CronJob ([`CONFIG_LEAVES`]) is refused; the few that
/// are accepted (annotation values, the runbook URL) reach no ConfigMap, command or argument
/// and arrive in the manifests exactly as written (quoted YAML strings).
#[test]
fn hostile_strings_never_reach_a_configuration_file_or_script() {
    let mut jobs: Vec<(&str, StringLeaf, String)> = Vec::new();
    let mut seen = BTreeSet::new();
    for profile in profiles() {
        let chart = chart_dir(profile);
        let values: Value =
            yaml_serde::from_str(&std::fs::read_to_string(chart.join("values.yaml")).unwrap())
                .unwrap();
        let schema: Value = serde_json::from_str(
            &std::fs::read_to_string(chart.join("values.schema.json")).unwrap(),
        )
        .unwrap();
        let mut leaves = Vec::new();
        string_leaves(&values, &schema, "", &mut leaves);
        for leaf in leaves {
            // The lite chart's values are mostly the standard chart's: each path once.
            if !seen.insert(leaf.path.clone()) {
                continue;
            }
            let config = CONFIG_LEAVES.contains(&leaf.path.replace("\\.", ".").as_str());
            for suffix in if config { HOSTILE } else { HOSTILE_ELSEWHERE } {
                let value = format!("{}{suffix}", leaf.prefix);
                jobs.push((
                    profile,
                    StringLeaf {
                        path: leaf.path.clone(),
                        list: leaf.list,
                        prefix: leaf.prefix.clone(),
                    },
                    value,
                ));
            }
        }
    }
    let paths: BTreeSet<String> = jobs
        .iter()
        .map(|(_, l, _)| l.path.replace("\\.", "."))
        .collect();
    for leaf in CONFIG_LEAVES {
        assert!(
            paths.contains(*leaf),
            "{leaf} is not a string value of the charts"
        );
    }
    assert!(paths.len() > 40, "only {} string values found", paths.len());

    let threads = std::thread::available_parallelism()
        .map_or(2, usize::from)
        .clamp(2, 4);
    let chunk = jobs.len().div_ceil(threads);
    let mut problems: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .filter_map(|(profile, leaf, value)| {
                            try_hostile(profile, leaf, value)
                                .err()
                                .map(|e| format!("{profile} {} = {value:?}: {e}", leaf.path))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("thread"))
            .collect()
    });
    problems.sort();
    assert!(
        problems.is_empty(),
        "{} of {} hostile values got through:\n{}",
        problems.len(),
        jobs.len(),
        problems.join("\n")
    );
}

/// The files that hostile values were kept out of, read back: the defaults' configuration
/// files and scripts are rendered from the values quoted the way each file needs (a psql
/// literal in init.sql, a quoted name in pg_hba.conf, quoted settings in postgresql.conf),
/// so even values the schema allows cannot change their meaning.
#[test]
fn configuration_files_quote_the_values_they_contain() {
    let docs = yaml_docs(&helm_template(&chart_dir("standard"), &[]));
    let cm = |suffix: &str, key: &str| -> String {
        common::object(&docs, "ConfigMap", suffix)["data"][key]
            .as_str()
            .expect("file")
            .to_string()
    };
    let init = cm("-postgresql", "init.sql");
    assert!(
        init.contains("\\set app_db 'alert_history'")
            && init.contains("\\set app_user 'alert_history'"),
        "{init}"
    );
    assert!(
        init.contains(":\"app_user\"") && init.contains("format('CREATE ROLE %I', :'app_user')"),
        "init.sql uses psql's quoting"
    );
    let hba = cm("-postgresql", "pg_hba.conf");
    assert!(hba.contains("\"alert_history\" \"alert_history\""), "{hba}");
    let conf = cm("-postgresql", "postgresql.conf");
    assert!(
        conf.contains("shared_buffers = '512MB'") && conf.contains("archive_timeout = '300s'"),
        "{conf}"
    );
    let script =
        &common::object(&docs, "Pod", "alert-history-test")["spec"]["containers"][0]["command"][2];
    assert!(
        script
            .as_str()
            .unwrap()
            .contains("url=\"http://ah-alert-history:8080/readyz\""),
        "{script}"
    );
}
