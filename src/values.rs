//! Writes the chart's `values.yaml`: the profile's values, each key preceded by its
//! description from the schema in the `# -- description` form that helm-docs reads.

use std::fmt::Write;

use serde_json::Value;

use crate::component::postgresql::tuning::Derived;

/// Renders `values` as commented YAML; `schema` is the chart's values schema, `derived`
/// the settings alertchart computed, whose formula follows their description.
pub fn to_yaml(values: &Value, schema: &Value, derived: &[Derived]) -> String {
    let mut out = String::new();
    if let Value::Object(map) = values {
        for (i, (key, value)) in map.iter().enumerate() {
            if i > 0 && value.is_object() {
                out.push('\n');
            }
            let at = Entry {
                path: key.clone(),
                indent: 0,
                derived,
            };
            at.write(&mut out, key, value, &schema["properties"][key]);
        }
    }
    out
}

/// Where an entry of values.yaml sits.
struct Entry<'a> {
    path: String,
    indent: usize,
    derived: &'a [Derived],
}

impl Entry<'_> {
    /// Writes `key: value` with its comments, the description and how it was derived.
    fn write(&self, out: &mut String, key: &str, value: &Value, schema: &Value) {
        let pad = " ".repeat(self.indent);
        let width = 96usize.saturating_sub(self.indent);
        if let Some(description) = schema["description"].as_str() {
            for (i, line) in wrap(description, width).iter().enumerate() {
                let marker = if i == 0 { "-- " } else { "" };
                let _ = writeln!(out, "{pad}# {marker}{line}");
            }
        }
        if let Some(d) = self.derived.iter().find(|d| d.path == self.path) {
            let text = format!(
                "Derived by alertchart: {}. Set it here, or render again, when you change what it is derived from.",
                d.formula
            );
            for line in wrap(&text, width) {
                let _ = writeln!(out, "{pad}# {line}");
            }
        }
        let key = scalar(&Value::String(key.to_string()));
        match value {
            Value::Object(map) if !map.is_empty() => {
                let _ = writeln!(out, "{pad}{key}:");
                for (k, v) in map {
                    let sub = schema["properties"]
                        .get(k)
                        .unwrap_or(&schema["additionalProperties"]);
                    let child = Entry {
                        path: format!("{}.{k}", self.path),
                        indent: self.indent + 2,
                        derived: self.derived,
                    };
                    child.write(out, k, v, sub);
                }
            }
            Value::Array(items) if !items.is_empty() => {
                let _ = writeln!(out, "{pad}{key}:");
                for item in items {
                    list_item(out, self.indent + 2, item);
                }
            }
            _ => {
                let _ = writeln!(out, "{pad}{key}: {}", scalar(value));
            }
        }
    }
}

fn list_item(out: &mut String, indent: usize, item: &Value) {
    let pad = " ".repeat(indent);
    match item {
        Value::Object(map) if !map.is_empty() => {
            for (i, (k, v)) in map.iter().enumerate() {
                let lead = if i == 0 { "- " } else { "  " };
                let _ = writeln!(
                    out,
                    "{pad}{lead}{}: {}",
                    scalar(&Value::String(k.clone())),
                    inline(v)
                );
            }
        }
        other => {
            let _ = writeln!(out, "{pad}- {}", inline(other));
        }
    }
}

/// A value inside a list item: a scalar, or a nested mapping or list (a topology spread
/// constraint's `labelSelector`, an affinity's terms) in JSON flow style, which YAML reads
/// as the same value.
fn inline(value: &Value) -> String {
    match value {
        Value::Object(map) if !map.is_empty() => value.to_string(),
        Value::Array(items) if !items.is_empty() => value.to_string(),
        other => scalar(other),
    }
}

/// A YAML scalar (or empty collection): plain when unambiguous, else a JSON string, which
/// is also a valid YAML double-quoted scalar.
fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) if is_plain_safe(s) => s.clone(),
        Value::Object(_) => "{}".to_string(),
        Value::Array(_) => "[]".to_string(),
        other => other.to_string(),
    }
}

fn is_plain_safe(s: &str) -> bool {
    const RESERVED: &[&str] = &[
        "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~",
    ];
    let Some(first) = s.chars().next() else {
        return false;
    };
    (first.is_ascii_alphabetic() || first == '/')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:".contains(c))
        && !s.contains(": ")
        && !s.ends_with(':')
        && !RESERVED.contains(&s.to_ascii_lowercase().as_str())
}

fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let line = lines.last_mut().expect("non-empty");
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(word.to_string());
        } else {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    lines
}

/// The values reference of the chart README: one row per leaf of the schema (a key whose
/// schema lists no `properties` of its own), with type, default and description.
pub fn table(values: &Value, schema: &Value) -> String {
    let mut out = String::from("| Key | Type | Default | Description |\n|---|---|---|---|\n");
    let mut rows = Vec::new();
    leaf_rows(values, schema, &mut Vec::new(), &mut rows);
    for (key, kind, default, description) in rows {
        let _ = writeln!(
            out,
            "| `{key}` | {kind} | `{}` | {} |",
            cell(&default),
            cell(&description)
        );
    }
    out
}

fn leaf_rows(
    value: &Value,
    schema: &Value,
    path: &mut Vec<String>,
    rows: &mut Vec<(String, String, String, String)>,
) {
    if let Some(props) = schema["properties"].as_object() {
        for (key, sub) in props {
            path.push(key.clone());
            leaf_rows(&value[key], sub, path, rows);
            path.pop();
        }
        return;
    }
    let mut kind = match &schema["type"] {
        Value::Array(types) => types
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" or "),
        Value::String(t) => t.clone(),
        _ if schema["enum"].is_array() => "string".to_string(),
        _ => "any".to_string(),
    };
    if let Some(options) = schema["enum"].as_array() {
        let options: Vec<String> = options
            .iter()
            .map(|o| {
                format!(
                    "`{}`",
                    o.as_str().map_or_else(|| o.to_string(), str::to_string)
                )
            })
            .collect();
        kind = format!("{kind} ({})", options.join(", "));
    } else if let Some(title) = schema["title"].as_str() {
        kind = format!("{kind} ({title})");
    }
    rows.push((
        path.join("."),
        kind,
        value.to_string(),
        schema["description"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    ));
}

/// Text safe inside a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_round_trip_through_yaml() {
        let values = json!({
            "a": {"s": "on", "t": "16.10", "u": "", "v": 0.9, "w": [], "x": {}, "y": ["10.0.0.0/8"],
                  "z": [{"key": "k", "operator": "Exists"}], "n": 250, "b": true, "cron": "0 2 * * *",
                  "nested": [{"maxSkew": 1, "labelSelector": {"matchLabels": {"a": "on", "b": "x: y"}}, "keys": ["k"], "empty": {}}],
                  "terms": {"required": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "k", "values": ["v", "1"]}]}]}},
                  "lists": [["a", 1], []]},
        });
        let yaml = to_yaml(&values, &json!({}), &[]);
        let back: Value = yaml_serde::from_str(&yaml).unwrap();
        assert_eq!(back, values, "{yaml}");
    }

    #[test]
    fn table_has_one_row_per_leaf_with_type_default_and_description() {
        let schema = json!({"properties": {
            "port": {"type": "integer", "description": "Port | of the API."},
            "image": {"type": "object", "properties": {"tag": {"type": "string", "title": "pinned image tag", "description": "Tag."}}},
            "level": {"enum": ["info", "debug"], "description": "Verbosity."},
        }});
        let values = json!({"port": 8080, "image": {"tag": "1.0"}, "level": "info"});
        let table = table(&values, &schema);
        assert!(
            table.contains("| `port` | integer | `8080` | Port \\| of the API. |"),
            "{table}"
        );
        assert!(
            table.contains("| `image.tag` | string (pinned image tag) | `\"1.0\"` | Tag. |"),
            "{table}"
        );
        assert!(
            table.contains("| `level` | string (`info`, `debug`) | `\"info\"` | Verbosity. |"),
            "{table}"
        );
        assert_eq!(table.lines().count(), 5, "{table}");
    }

    #[test]
    fn descriptions_become_helm_docs_comments() {
        let schema = json!({"properties": {"port": {"description": "Port of the API."}}});
        assert_eq!(
            to_yaml(&json!({"port": 8080}), &schema, &[]),
            "# -- Port of the API.\nport: 8080\n"
        );
    }
}
