//! The integration tests: one binary, one module per subject. Shared helpers are in
//! `common` (locating external tools, rendering the committed charts in `charts-out/` with
//! the real `helm`, and the harnesses that run the chart's pieces on real software).
//!
//! Run one subject with `cargo test --test integration <module>::`, e.g.
//! `cargo test --test integration upgrades::`.

mod alert_rules;
mod app;
mod availability;
mod backup;
mod charts_out;
mod cli;
mod cloudnative_pg;
mod common;
mod dashboards;
mod diagnostics;
mod fuzz;
mod generated_secrets;
mod ha_backup;
mod helm;
mod helm_ci_values;
mod helm_overrides;
mod helm_values;
mod liveness;
mod maintenance;
mod major_upgrade;
mod notes;
mod postgresql;
mod postgresql_auth;
mod postgresql_tls;
mod readme;
mod rules;
mod scheduling;
mod schema;
mod security;
mod upgrades;
mod valkey;
