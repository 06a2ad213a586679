//! alertchart: renders the production Helm chart of alert-history from a deployment profile.
//!
//! The pipeline: `source` reads the profile and overrides into one tree, `validate` checks
//! it against the schema from `schema` (generated from the types in `profile`) and semantic
//! rules, `tuning` derives the PostgreSQL memory settings the profile leaves unset, `render`
//! produces every chart file in memory (with `values` writing values.yaml), and `chart`
//! writes the result atomically or diffs it with the chart on disk.

pub mod chart;
pub mod cli;
pub mod component;
pub mod formats;
pub mod profile;
pub mod render;
pub mod schema;
pub mod source;
pub mod strvals;
pub mod validate;
pub mod values;
pub mod yaml11;
