//! The input against the profile schema: each violation explained as what was expected,
//! at the key the user wrote.

use std::sync::OnceLock;

use jsonschema::{PatternCache, Validator};
use serde_json::Value;

use super::Problem;
use crate::input::KeyPath;
use crate::schema;

/// Problems of `instance` against `schema`, with messages saying what was expected.
pub fn schema_problems(schema: &Value, instance: &Value) -> Vec<Problem> {
    problems_with(&compile(schema), schema, instance)
}

/// A draft-07 validator of a generated schema. Every validator of the process shares one
/// cache of compiled `pattern`s: the profile and chart schemas use the same few patterns, and
/// compiling a regular expression costs more than validating a whole profile.
pub(super) fn compile(schema: &Value) -> Validator {
    static PATTERNS: OnceLock<PatternCache> = OnceLock::new();
    jsonschema::draft7::options()
        .with_pattern_cache(PATTERNS.get_or_init(PatternCache::new).clone())
        .build(schema)
        .expect("the generated schema compiles")
}

/// The profile schema's validator, compiled once per process: it checks the input and,
/// in the self-check, the rendered values.
pub(super) fn profile_validator() -> &'static Validator {
    static VALIDATOR: OnceLock<Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| compile(schema::profile_schema()))
}

/// Problems of `instance` against `schema`, compiled as `validator`.
pub(super) fn problems_with(
    validator: &Validator,
    schema: &Value,
    instance: &Value,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    for error in validator.iter_errors(instance) {
        explain(schema, &error, &mut problems);
    }
    problems
}

fn explain(schema: &Value, error: &jsonschema::ValidationError<'_>, out: &mut Vec<Problem>) {
    match rule(schema, error.schema_path().as_str()) {
        Some((key, message)) => {
            let mut path = pointer_segments(error.instance_path().as_str());
            path.push(key);
            out.push(Problem::new(path, message));
        }
        None => explain_keyword(schema, error, out),
    }
}

/// What the failing keyword expected.
fn explain_keyword(
    schema: &Value,
    error: &jsonschema::ValidationError<'_>,
    out: &mut Vec<Problem>,
) {
    use jsonschema::error::ValidationErrorKind as K;
    let path = pointer_segments(error.instance_path().as_str());
    let value = short(error.instance());
    // The subschema that holds the failing keyword.
    let keyword_parent = error
        .schema_path()
        .as_str()
        .rsplit_once('/')
        .and_then(|(parent, _)| schema.pointer(parent));
    let mut push = |path: KeyPath, message: String| out.push(Problem::new(path, message));
    match error.kind() {
        K::AdditionalProperties { unexpected } => {
            let message = unexpected_key_message(keyword_parent.unwrap_or(&Value::Null));
            for key in unexpected {
                let mut p = path.clone();
                p.push(key.clone());
                out.push(Problem::at_key(p, message.clone()));
            }
        }
        K::Required { property } => {
            let mut p = path.clone();
            p.push(property.as_str().unwrap_or_default().to_string());
            push(p, "required key is missing".into());
        }
        K::Type { .. } => {
            let expected = keyword_parent.map_or_else(String::new, |s| match &s["type"] {
                Value::Array(types) => types
                    .iter()
                    .filter_map(Value::as_str)
                    .filter(|t| *t != "null")
                    .collect::<Vec<_>>()
                    .join(" or "),
                other => other.as_str().unwrap_or_default().to_string(),
            });
            push(
                path,
                format!("{value} has the wrong type: expected {expected}"),
            );
        }
        K::Pattern { .. } | K::Not { .. } => {
            push(
                path,
                format!("{value} is not a valid {}", format_hint(keyword_parent)),
            );
        }
        K::Enum { options } => {
            let options: Vec<String> = options
                .as_array()
                .map(|o| o.iter().map(short).collect())
                .unwrap_or_default();
            push(
                path,
                format!("{value} is not one of {}", options.join(", ")),
            );
        }
        K::Minimum { limit } => push(path, format!("{value} is below the minimum {limit}")),
        K::Maximum { limit } => push(path, format!("{value} is above the maximum {limit}")),
        K::AnyOf { context } | K::OneOfNotValid { context } => {
            // An optional section: explain against the branch that is not `null`.
            let branch = context
                .iter()
                .find(|errs| {
                    !errs.iter().any(|e| {
                        matches!(e.kind(), K::Type { .. })
                            && e.instance_path() == error.instance_path()
                    })
                })
                .or_else(|| context.first());
            match branch {
                Some(errs) if !errs.is_empty() => {
                    for e in errs {
                        explain(schema, e, out);
                    }
                }
                _ => push(path, format!("{value} does not match the expected shape")),
            }
        }
        _ => push(path, format!("{value}: {error}")),
    }
}

/// What is wrong with a key its object does not allow.
/// A rule between the keys of an object, stated in the schema as a subschema with
/// `x-rule: {key, message}` (see `profile::Toleration`): the key it is about and its message,
/// when the failing keyword at `schema_path` belongs to one.
fn rule(schema: &Value, schema_path: &str) -> Option<(String, String)> {
    let mut prefix = schema_path;
    while let Some((parent, _)) = prefix.rsplit_once('/') {
        prefix = parent;
        if let Some(rule) = schema.pointer(prefix).and_then(|s| s.get("x-rule")) {
            return Some((
                rule["key"].as_str()?.into(),
                rule["message"].as_str()?.into(),
            ));
        }
    }
    None
}

fn unexpected_key_message(object_schema: &Value) -> String {
    // A free-form mapping (labels, annotations) restricts the shape of its keys only.
    if object_schema["patternProperties"].is_object() {
        return "is not a valid Kubernetes label key (e.g. `app.kubernetes.io/name`, `team`)"
            .into();
    }
    let known: Vec<&str> = object_schema["properties"]
        .as_object()
        .map(|p| p.keys().map(String::as_str).collect())
        .unwrap_or_default();
    format!("unknown key (expected one of: {})", known.join(", "))
}

/// The name and examples of the format a string schema expects.
fn format_hint(string_schema: Option<&Value>) -> String {
    let title = string_schema
        .and_then(|s| s["title"].as_str())
        .unwrap_or("value of the expected format");
    let examples: Vec<String> = string_schema
        .and_then(|s| s["examples"].as_array())
        .map(|e| {
            e.iter()
                .filter_map(Value::as_str)
                .map(|s| format!("`{s}`"))
                .collect()
        })
        .unwrap_or_default();
    format!("{title} (e.g. {})", examples.join(", "))
}

fn short(value: &Value) -> String {
    let text = match value {
        Value::String(s) => format!("`{s}`"),
        Value::Object(_) => "a mapping".to_string(),
        Value::Array(_) => "a list".to_string(),
        other => format!("`{other}`"),
    };
    if text.chars().count() > 60 {
        format!("{}...`", text.chars().take(56).collect::<String>())
    } else {
        text
    }
}

fn pointer_segments(pointer: &str) -> KeyPath {
    pointer
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect()
}
