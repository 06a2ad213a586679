//! The self-check of a rendered chart: any failure is a bug of alertchart, not of the input.

use std::collections::BTreeMap;

use serde_json::Value;

use super::schema_errors::{profile_validator, schema_problems};
use crate::input::KeyPath;
use crate::schema;

/// `profile_section` is the profile's `profile` section, which the chart's values lack.
pub fn rendered(
    files: &BTreeMap<String, String>,
    values: &Value,
    chart_schema: &Value,
    profile_section: &Value,
) -> Vec<String> {
    let mut bugs = Vec::new();
    for (name, text) in files {
        if text.trim().is_empty() {
            bugs.push(format!("{name} is empty"));
        }
    }
    match files
        .get("values.yaml")
        .map(|t| yaml_serde::from_str::<Value>(t))
    {
        Some(Ok(mut parsed)) => {
            if &parsed != values {
                bugs.push("values.yaml does not parse back to the profile's values".into());
            }
            if !chart_schema_accepts(chart_schema, &mut parsed, profile_section) {
                for p in schema_problems(chart_schema, &parsed) {
                    bugs.push(format!(
                        "values.yaml fails values.schema.json at /{}: {}",
                        p.path.join("/"),
                        p.message
                    ));
                }
            }
        }
        Some(Err(e)) => bugs.push(format!("values.yaml is not valid YAML: {e}")),
        None => bugs.push("values.yaml is missing".into()),
    }
    match files
        .get("Chart.yaml")
        .map(|t| yaml_serde::from_str::<Value>(t))
    {
        Some(Ok(chart)) => {
            for (key, expected) in [
                ("apiVersion", Some("v2")),
                ("name", Some("alert-history")),
                ("version", None),
                ("kubeVersion", None),
            ] {
                match (chart[key].as_str(), expected) {
                    (None, _) => bugs.push(format!("Chart.yaml has no `{key}`")),
                    (Some(v), Some(e)) if v != e => {
                        bugs.push(format!("Chart.yaml `{key}` is `{v}`, expected `{e}`"));
                    }
                    _ => {}
                }
            }
        }
        Some(Err(e)) => bugs.push(format!("Chart.yaml is not valid YAML: {e}")),
        None => bugs.push("Chart.yaml is missing".into()),
    }
    for (name, text) in files.iter().filter(|(n, _)| n.starts_with("templates/")) {
        for reference in values_references(text) {
            if !path_exists(values, &reference) {
                bugs.push(format!(
                    "{name} reads .Values.{} which the chart's values do not have",
                    reference.join(".")
                ));
            }
        }
    }
    bugs
}

/// Whether the chart schema accepts `values`, proven without compiling it (a compile costs
/// more than the rest of the self-check): the profile validator, compiled anyway, accepts
/// the values plus the profile section, and the chart schema narrows the profile schema only
/// in ways `keywords_hold` checks against the values directly. `false` means not proven, and
/// the caller validates against the chart schema itself.
fn chart_schema_accepts(chart_schema: &Value, values: &mut Value, profile_section: &Value) -> bool {
    let Some(map) = values
        .as_object_mut()
        .filter(|m| !m.contains_key("profile"))
    else {
        return false;
    };
    map.insert("profile".into(), profile_section.clone());
    let profile_accepts = profile_validator().is_valid(values);
    if let Some(map) = values.as_object_mut() {
        map.shift_remove("profile");
    }
    // At the root the profile schema accepted the values with the profile section, so a
    // keyword both schemas share says nothing about the values alone.
    profile_accepts && keywords_hold(chart_schema, schema::profile_schema(), values, false)
}

/// Whether every keyword of chart-schema node `chart` holds for `value`. The chart schema
/// narrows the profile schema in three ways: fewer `properties` (next to
/// `additionalProperties: false`), every one `required`, no `null` in `type`; those keywords
/// are checked against the value. Any other keyword must equal the profile schema's, which
/// holds for the value when `profile_accepts` (the profile-schema node `profile` accepts
/// `value`, as it does below the root). A keyword that differs otherwise is not proven.
fn keywords_hold(chart: &Value, profile: &Value, value: &Value, profile_accepts: bool) -> bool {
    let (Some(chart), Some(profile)) = (chart.as_object(), profile.as_object()) else {
        return profile_accepts && chart == profile;
    };
    let object = value.as_object();
    chart
        .iter()
        .all(|(keyword, c)| match (keyword.as_str(), object) {
            // Annotations constrain nothing, the object keywords nothing but objects.
            ("$schema" | "$comment" | "title" | "description" | "examples", _)
            | ("properties" | "required" | "additionalProperties", None) => true,
            ("type", _) => has_type(value, c),
            ("required", Some(object)) => c.as_array().is_some_and(|keys| {
                keys.iter()
                    .all(|k| k.as_str().is_some_and(|k| object.contains_key(k)))
            }),
            ("properties", Some(object)) => c.as_object().is_some_and(|props| {
                props.iter().all(|(key, sub)| match object.get(key) {
                    None => true,
                    Some(v) => profile["properties"]
                        .get(key)
                        .is_some_and(|p| keywords_hold(sub, p, v, true)),
                })
            }),
            ("additionalProperties", Some(object))
                if *c == Value::Bool(false) && !chart.contains_key("patternProperties") =>
            {
                object.keys().all(|k| chart["properties"].get(k).is_some())
            }
            // What else it allows depends on the properties and patterns beside it.
            ("additionalProperties", Some(_)) => {
                profile_accepts
                    && profile.get(keyword) == Some(c)
                    && ["properties", "patternProperties"]
                        .iter()
                        .all(|k| chart.get(*k) == profile.get(*k))
            }
            _ => profile_accepts && profile.get(keyword) == Some(c),
        })
}

/// Whether `value` is of one of the JSON-schema types `types` (a name or a list of names).
fn has_type(value: &Value, types: &Value) -> bool {
    let is = |name: &Value| match name.as_str() {
        Some("null") => value.is_null(),
        Some("boolean") => value.is_boolean(),
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("number") => value.is_number(),
        Some("integer") => value.is_i64() || value.is_u64(),
        _ => false,
    };
    match types {
        Value::Array(names) => names.iter().any(is),
        name => is(name),
    }
}

/// Every `.Values.a.b.c` path a Helm template reads.
fn values_references(text: &str) -> Vec<KeyPath> {
    text.match_indices(".Values.")
        .map(|(i, m)| {
            text[i + m.len()..]
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
                .next()
                .unwrap_or_default()
                .trim_end_matches('.')
                .split('.')
                .map(str::to_string)
                .collect()
        })
        .collect()
}

/// Whether `path` exists in `values`; a path may go on into a free-form mapping or list.
fn path_exists(values: &Value, path: &[String]) -> bool {
    let mut node = values;
    for key in path {
        match node {
            Value::Object(map) => match map.get(key) {
                Some(next) => node = next,
                None => return false,
            },
            _ => return true,
        }
    }
    true
}

#[cfg(test)]
#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::path;

    /// A built-in profile's rendered files, values, chart schema and profile section.
    fn render_builtin(name: &str) -> (BTreeMap<String, String>, Value, Value, Value) {
        let source = crate::input::ProfileSource::resolve(name).unwrap();
        let profile =
            crate::validate::profile(&crate::input::load(&source, &[], &[]).unwrap()).unwrap();
        let files = crate::pipeline::render(&profile).unwrap().files().clone();
        let values = yaml_serde::from_str(&files["values.yaml"]).unwrap();
        let chart_schema = serde_json::from_str(&files["values.schema.json"]).unwrap();
        let section = serde_json::to_value(&profile.profile).unwrap();
        (files, values, chart_schema, section)
    }

    #[test]
    fn chart_schema_is_proven_to_accept_the_built_in_values_without_compiling_it() {
        for name in ["standard", "lite"] {
            let (_, mut values, chart_schema, section) = render_builtin(name);
            assert!(
                chart_schema_accepts(&chart_schema, &mut values, &section),
                "{name}"
            );
        }
    }

    #[test]
    fn values_that_the_chart_schema_rejects_are_a_bug_even_when_the_profile_schema_accepts_them() {
        let (files, values, chart_schema, section) = render_builtin("standard");
        // A key the proof checks itself (`required`), and one it only compares (`pattern`).
        let mut missing = chart_schema.clone();
        missing["properties"]["app"]["required"]
            .as_array_mut()
            .unwrap()
            .push("notRendered".into());
        let mut stricter = chart_schema.clone();
        stricter["properties"]["image"]["properties"]["tag"]["pattern"] = "^v".into();
        for (bad, expected) in [
            (
                missing,
                "values.yaml fails values.schema.json at /app/notRendered: required key is missing",
            ),
            (
                stricter,
                "values.yaml fails values.schema.json at /image/tag: ",
            ),
        ] {
            let bugs = rendered(&files, &values, &bad, &section);
            assert!(bugs.iter().any(|b| b.starts_with(expected)), "{bugs:?}");
        }
    }

    #[test]
    fn rendered_values_that_fail_the_schema_are_a_bug() {
        let (mut files, values, chart_schema, section) = render_builtin("standard");
        assert_eq!(
            rendered(&files, &values, &chart_schema, &section),
            Vec::<String>::new()
        );
        let yaml = files.get_mut("values.yaml").unwrap();
        *yaml = yaml.replacen("memory: \"512Mi\"", "memory: lots", 1);
        let bugs = rendered(&files, &values, &chart_schema, &section);
        assert!(
            bugs.iter()
                .any(|b| b.contains("`lots` is not a valid Kubernetes memory quantity")),
            "{bugs:?}"
        );
    }

    #[test]
    fn template_value_references_are_found() {
        let refs = values_references(
            "{{ .Values.postgresql.image.tag }} {{- with .Values.app.nodeSelector }}",
        );
        assert_eq!(
            refs,
            vec![path("postgresql.image.tag"), path("app.nodeSelector")]
        );
    }
}
