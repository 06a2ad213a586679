//! alertchart: renders the production Helm chart of alert-history from a deployment profile.
//!
//! `pipeline` reads as the stages: `input` loads the profile and overrides into one tree,
//! `validate` checks it against the schema from `schema` (generated from the types in
//! `profile` and `component`) and the semantic rules, each component derives what the
//! profile leaves to it (PostgreSQL's memory settings), `render` produces every chart file
//! in memory (with `values` writing values.yaml), the rendered chart is checked, and `chart`
//! writes it atomically or diffs it with the chart on disk. docs/architecture.md has more.

pub mod chart;
pub mod cli;
pub mod component;
pub mod formats;
pub mod input;
pub mod pipeline;
pub mod profile;
pub mod render;
pub mod schema;
pub mod strvals;
pub mod validate;
pub mod values;
pub mod yaml11;
