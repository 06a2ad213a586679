//! The values schema of the profiles (`schema::values_schema`), pinned by a snapshot: a
//! change to the profile types shows up as a reviewable diff; accept an intended one with
//! `INSTA_UPDATE=always cargo test --test integration schema::`. (The charts themselves are
//! reviewed as `charts-out/`, kept current by `charts_out`.)

use alertchart::schema;

#[test]
fn values_schema() -> anyhow::Result<()> {
    insta::assert_snapshot!(
        "values_schema",
        serde_json::to_string_pretty(&schema::values_schema())?
    );
    Ok(())
}
