//! Snapshots of every file of both built-in charts and of the values schema, rendered
//! through the library. A template or profile change shows up as a reviewable diff of
//! the snapshot; accept intended changes with
//! `INSTA_UPDATE=always cargo test --test snapshots`.

use std::fmt::Write as _;

use alertchart::input::{self, ProfileSource};
use alertchart::{pipeline, schema, validate};

/// Every file of a built-in profile's chart, each under a `=== path ===` header line.
fn chart_document(name: &str) -> anyhow::Result<String> {
    let merged = input::load(&ProfileSource::resolve(name)?, &[], &[])?;
    let profile = validate::profile(&merged)?;
    let chart = pipeline::render(&profile)?;
    let mut doc = String::new();
    for (path, text) in chart.files() {
        writeln!(doc, "=== {path} ===")?;
        doc.push_str(text);
        if !text.ends_with('\n') {
            doc.push('\n');
        }
    }
    Ok(doc)
}

#[test]
fn standard_chart() -> anyhow::Result<()> {
    insta::assert_snapshot!("standard_chart", chart_document("standard")?);
    Ok(())
}

#[test]
fn lite_chart() -> anyhow::Result<()> {
    insta::assert_snapshot!("lite_chart", chart_document("lite")?);
    Ok(())
}

#[test]
fn values_schema() -> anyhow::Result<()> {
    insta::assert_snapshot!(
        "values_schema",
        serde_json::to_string_pretty(&schema::values_schema())?
    );
    Ok(())
}
