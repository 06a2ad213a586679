//! The README of each generated chart documents exactly the chart's values: one row per
//! leaf of values.schema.json, with the default that values.yaml holds.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::common::{chart_dir, profiles};

/// Dotted paths of the schema's leaves (keys whose schema lists no `properties`).
fn schema_leaves(schema: &Value, path: &mut Vec<String>, out: &mut Vec<String>) {
    match schema["properties"].as_object() {
        Some(props) => {
            for (key, sub) in props {
                path.push(key.clone());
                schema_leaves(sub, path, out);
                path.pop();
            }
        }
        None => out.push(path.join(".")),
    }
}

/// Key and default (parsed back from the backticked JSON) of every values-table row.
fn table_rows(readme: &str) -> BTreeMap<String, Value> {
    readme
        .lines()
        .skip_while(|l| *l != "## Values")
        .filter_map(|l| {
            let cells: Vec<&str> = l.split(" | ").collect();
            let key = cells.first()?.strip_prefix("| `")?.strip_suffix('`')?;
            let default = cells.get(2)?.strip_prefix('`')?.strip_suffix('`')?;
            Some((
                key.to_string(),
                serde_json::from_str(&default.replace("\\|", "|")).unwrap(),
            ))
        })
        .collect()
}

fn value_at<'a>(values: &'a Value, dotted: &str) -> &'a Value {
    dotted.split('.').fold(values, |v, k| &v[k])
}

#[test]
fn readme_values_table_lists_exactly_the_schema_leaves_with_their_defaults() {
    for profile in profiles() {
        let chart = chart_dir(profile);
        let read = |f: &str| std::fs::read_to_string(chart.join(f)).unwrap();
        let schema: Value = serde_json::from_str(&read("values.schema.json")).unwrap();
        let values: Value = yaml_serde::from_str(&read("values.yaml")).unwrap();
        let rows = table_rows(&read("README.md"));

        let mut leaves = Vec::new();
        schema_leaves(&schema, &mut Vec::new(), &mut leaves);
        let documented: Vec<&String> = rows.keys().collect();
        let mut expected: Vec<&String> = leaves.iter().collect();
        expected.sort();
        assert_eq!(
            documented, expected,
            "{profile}: README rows differ from the schema's leaves"
        );
        for (key, default) in &rows {
            assert_eq!(
                default,
                value_at(&values, key),
                "{profile}: README default of {key}"
            );
        }
    }
}

#[test]
fn lite_readme_does_not_mention_components_the_chart_lacks() {
    let readme = std::fs::read_to_string(chart_dir("lite").join("README.md"))
        .unwrap()
        .to_lowercase();
    for absent in ["postgresql", "valkey", "backup", "autoscaler"] {
        assert!(!readme.contains(absent), "lite README mentions {absent}");
    }
}
