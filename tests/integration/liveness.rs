//! Every leaf of each generated values.yaml is live: changing it changes what
//! `helm template` renders. Leaves are changed to another value the chart's own
//! values.schema.json accepts, so Helm validates every variant, and every `enabled` flag is
//! switched on first so that values of optional add-ons are observable too.

use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

use serde_json::{Map, Value, json};

use crate::common::{chart_dir, profiles, tool, yaml_docs};

type Leaf = (Vec<String>, Value);

/// Leaves of a values tree: scalars, lists and empty mappings, with their paths.
fn leaves(value: &Value, path: &mut Vec<String>, out: &mut Vec<Leaf>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                path.push(k.clone());
                leaves(v, path, out);
                path.pop();
            }
        }
        other => out.push((path.clone(), other.clone())),
    }
}

/// The schema of the value at `path`.
fn schema_at<'a>(schema: &'a Value, path: &[String]) -> &'a Value {
    path.iter()
        .fold(schema, |s, key| match s["properties"].get(key) {
            Some(sub) => sub,
            None => map_entry_schema(s),
        })
}

/// The schema of the entries of a free-form mapping (schemars puts key patterns in
/// `patternProperties`).
fn map_entry_schema(schema: &Value) -> &Value {
    schema["patternProperties"]
        .as_object()
        .and_then(|p| p.values().next())
        .unwrap_or(&schema["additionalProperties"])
}

/// A valid value of `schema` for a new entry.
fn sample(schema: &Value) -> Value {
    if let Some(first) = schema["enum"].as_array().and_then(|e| e.first()) {
        return first.clone();
    }
    if let Some(example) = schema["examples"]
        .as_array()
        .and_then(|e| e.iter().find(|x| x != &&json!("")))
    {
        return example.clone();
    }
    match schema["type"].as_str() {
        Some("object") => {
            let mut obj = Map::new();
            for key in schema["required"].as_array().into_iter().flatten() {
                let key = key.as_str().unwrap();
                obj.insert(key.to_string(), sample(&schema["properties"][key]));
            }
            Value::Object(obj)
        }
        Some("integer" | "number") => schema["minimum"].clone(),
        Some("boolean") => json!(true),
        _ => json!("mutated"),
    }
}

/// Another value than `value` that `schema` accepts.
fn mutate(value: &Value, schema: &Value) -> Value {
    if let Some(options) = schema["enum"].as_array() {
        return options
            .iter()
            .find(|o| *o != value)
            .expect("an enum with two options")
            .clone();
    }
    match value {
        Value::Bool(b) => json!(!b),
        Value::Number(n) if n.is_f64() => {
            let v = n.as_f64().unwrap();
            let max = schema["maximum"].as_f64().unwrap_or(f64::MAX);
            json!(if v + 0.01 <= max { v + 0.01 } else { v - 0.01 })
        }
        Value::Number(n) => {
            let v = n.as_i64().unwrap();
            let max = schema["maximum"].as_i64().unwrap_or(i64::MAX);
            json!(if v < max { v + 1 } else { v - 1 })
        }
        Value::String(s) => {
            if let Some(example) = schema["examples"]
                .as_array()
                .and_then(|e| {
                    e.iter()
                        .find(|x| x.as_str().is_some_and(|x| x != s && !x.is_empty()))
                })
                .filter(|_| !s.chars().any(|c| c.is_ascii_digit()))
            {
                return example.clone();
            }
            json!(bump_first_number(s))
        }
        Value::Array(items) if items.is_empty() => json!([sample(&schema["items"])]),
        Value::Array(items) => {
            let mut items = items.clone();
            items[0] = mutate(&items[0], &schema["items"]);
            Value::Array(items)
        }
        Value::Object(_) => {
            // A key the mapping's key pattern takes: a label key or a parameter name.
            let key = ["example.com/mutated", "mutated_parameter"]
                .into_iter()
                .find(|key| {
                    schema["patternProperties"]
                        .as_object()
                        .is_none_or(|patterns| {
                            patterns.keys().any(|p| {
                                jsonschema::is_valid(&json!({ "pattern": p }), &json!(key))
                            })
                        })
                })
                .expect("a key the mapping takes");
            json!({ key: sample(map_entry_schema(schema)) })
        }
        Value::Null => panic!("null leaf in values.yaml"),
    }
}

/// `512Mi` -> `513Mi`, `0 2 * * *` -> `1 2 * * *`, `v0.15.0` -> `v1.15.0`; a string
/// without digits gets an `x` appended (Helm's schema check reports it if that is invalid).
fn bump_first_number(s: &str) -> String {
    let Some(start) = s.find(|c: char| c.is_ascii_digit()) else {
        return format!("{s}x");
    };
    let len = s[start..]
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(s.len() - start);
    let n: u64 = s[start..start + len].parse().unwrap();
    format!("{}{}{}", &s[..start], n + 1, &s[start + len..])
}

fn key_path(keys: &[&str]) -> Vec<String> {
    keys.iter().map(|k| (*k).to_string()).collect()
}

fn set(values: &mut Value, path: &[String], new: Value) {
    let (last, parents) = path.split_last().unwrap();
    let parent = parents.iter().fold(values, |v, k| &mut v[k]);
    parent[last] = new;
}

fn enable_everything(values: &mut Value) {
    if let Value::Object(map) = values {
        for (k, v) in map.iter_mut() {
            if k == "enabled" {
                *v = json!(true);
            } else {
                enable_everything(v);
            }
        }
    }
}

/// The rendered manifests with what differs from run to run removed: generated passwords
/// (Secret data) and the checksum annotations that hash them.
fn render(chart: &Path, values: &Value, dir: &Path, name: &str) -> Result<Vec<Value>, String> {
    let file = dir.join(format!("{name}.yaml"));
    std::fs::write(&file, serde_json::to_string(values).unwrap()).unwrap();
    let out = Command::new(tool("helm"))
        .args(["template", "ah"])
        .arg(chart)
        .args(["--namespace", "alerts", "-f"])
        .arg(&file)
        .output()
        .unwrap();
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let mut docs = yaml_docs(&String::from_utf8(out.stdout).unwrap());
    for doc in &mut docs {
        if doc["kind"] == "Secret" {
            let obj = doc.as_object_mut().unwrap();
            obj.remove("data");
            obj.remove("stringData");
        }
        strip_checksums(doc);
    }
    Ok(docs)
}

fn strip_checksums(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|k, _| !k.starts_with("checksum/"));
            map.values_mut().for_each(strip_checksums);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_checksums),
        _ => {}
    }
}

fn dead_leaves(profile: &str) -> Vec<String> {
    let chart = chart_dir(profile);
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(chart.join("values.schema.json")).unwrap())
            .unwrap();
    let mut base: Value =
        yaml_serde::from_str(&std::fs::read_to_string(chart.join("values.yaml")).unwrap()).unwrap();
    enable_everything(&mut base);
    // The LLM switch on needs its key (the schema's rule): a Secret of the user's.
    set(
        &mut base,
        &key_path(&["app", "llm", "existingSecret"]),
        json!("liveness-llm"),
    );
    // Recovery switched on needs the folder to recover from, a server certificate its CA,
    // restricted egress the API server's networks (the templates' rules): the base has them,
    // so each of the pair can change alone.
    if base["cnpg"].is_object() {
        set(
            &mut base,
            &key_path(&["cnpg", "recovery", "sourceServerName"]),
            json!("liveness-source"),
        );
        set(
            &mut base,
            &key_path(&["cnpg", "tls", "serverCaSecret"]),
            json!("liveness-ca"),
        );
        set(
            &mut base,
            &key_path(&["cnpg", "egress", "apiServerCidrs"]),
            json!(["172.18.0.2/32"]),
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let baseline =
        render(&chart, &base, dir.path(), "base").expect("the all-enabled values render");
    assert_eq!(
        baseline,
        render(&chart, &base, dir.path(), "again").unwrap(),
        "{profile}: rendering is not repeatable once Secret data is set aside"
    );

    let mut all = Vec::new();
    leaves(&base, &mut Vec::new(), &mut all);
    assert!(all.len() > 20, "{profile}: only {} leaves", all.len());
    let dead = Mutex::new(Vec::new());
    let next = Mutex::new(all.iter().enumerate());
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                while let Some((i, (path, value))) = next.lock().unwrap().next() {
                    let new = mutate(value, schema_at(&schema, path));
                    let mut values = base.clone();
                    set(&mut values, path, new.clone());
                    let key = path.join(".");
                    if key == "app.llm.apiKey" {
                        // A key in the values replaces the user's Secret (the schema's rule).
                        set(
                            &mut values,
                            &key_path(&["app", "llm", "existingSecret"]),
                            json!(""),
                        );
                    }
                    match render(&chart, &values, dir.path(), &i.to_string()) {
                        Ok(docs) if docs == baseline => dead
                            .lock()
                            .unwrap()
                            .push(format!("{key} (changed {value} to {new}: no effect)")),
                        Ok(_) => {}
                        Err(e) => dead.lock().unwrap().push(format!(
                            "{key} (changed {value} to {new}: helm failed: {e})"
                        )),
                    }
                }
            });
        }
    });
    let mut dead = dead.into_inner().unwrap();
    dead.sort();
    dead
}

#[test]
fn every_values_leaf_of_every_built_in_chart_changes_the_rendered_manifests() {
    let dead: Vec<String> = profiles()
        .flat_map(|profile| {
            dead_leaves(profile)
                .into_iter()
                .map(move |leaf| format!("{profile}: {leaf}"))
        })
        .collect();
    assert!(
        dead.is_empty(),
        "values that change nothing:\n{}",
        dead.join("\n")
    );
}

#[test]
fn mutations_keep_the_format_of_a_value() {
    assert_eq!(bump_first_number("512Mi"), "513Mi");
    assert_eq!(bump_first_number("0 2 * * *"), "1 2 * * *");
    assert_eq!(bump_first_number("v0.15.0"), "v1.15.0");
}
