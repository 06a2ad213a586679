//! The PostgreSQL Grafana dashboard against the real postgres_exporter: every metric its
//! panels and variables select is in the /metrics output that the real-server test in
//! tests/postgresql.rs saves to target/postgres-exporter-metrics.txt (Debian's exporter
//! v0.11.1 run with the sidecar's arguments and the chart's custom queries against a
//! PostgreSQL 16 initialised by the chart's init.sql), or in a short, justified list of
//! metrics of v0.15 collectors. This file's name sorts after `postgresql`, so a plain
//! `cargo test` (which runs the test binaries in name order) has written that output first.

mod common;
#[path = "common/dashboards.rs"]
mod dashboards;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::PathBuf;

use dashboards::{PG_DASHBOARD, dashboard, used_metrics};

/// `target/` of this build (the test binary is target/<profile>/deps/<name>).
fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    std::env::current_exe()
        .expect("test binary path")
        .ancestors()
        .nth(3)
        .expect("target directory")
        .to_path_buf()
}

/// Names of the samples of a Prometheus text exposition.
fn sample_names(metrics: &str) -> BTreeSet<String> {
    metrics
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split(['{', ' ']).next().unwrap_or("").to_string())
        .collect()
}

/// Metrics of the PostgreSQL dashboard that Debian's postgres_exporter v0.11.1 (the one
/// the real-server test runs) cannot show, each with where the chart's v0.15 exporter takes
/// it from. The same sources as the alert rules' list in tests/postgresql.rs
/// (`NOT_FROM_V011`); the test fails when an entry is unused or v0.11 exposes it after all.
const NOT_FROM_V011: &[(&str, &str)] = &[
    // v0.15 collector `replication` (collector/pg_replication.go, enabled by default); v0.11
    // had no replication collector.
    (
        "pg_replication_lag_seconds",
        "v0.15 collector replication (default on)",
    ),
    (
        "pg_replication_is_replica",
        "v0.15 collector replication (default on)",
    ),
    // v0.15 collector `wal` (collector/pg_wal.go, enabled by default).
    ("pg_wal_size_bytes", "v0.15 collector wal (default on)"),
    // v0.15 collector `database_wraparound`, off by default, switched on by the sidecar's
    // --collector.database_wraparound (templates/postgresql/_postgresql-exporter.tpl).
    (
        "pg_database_wraparound_age_datfrozenxid_seconds",
        "v0.15 collector database_wraparound (--collector.database_wraparound)",
    ),
];

/// Which test writes the real exporter's /metrics output that this test reads.
const EXPORTER_OUTPUT_PRODUCER: &str = "tests/postgresql.rs \
    (`cargo test --test postgresql real_postgres_exporter`: it runs Debian's \
    prometheus-postgres-exporter with the sidecar's arguments against a PostgreSQL 16 set \
    up by the chart's init.sql and saves /metrics)";

#[test]
fn postgresql_dashboard_metrics_are_exposed_by_the_real_exporter() {
    let file = target_dir().join("postgres-exporter-metrics.txt");
    let metrics = fs::read_to_string(&file).unwrap_or_else(|e| {
        panic!(
            "{} is missing ({e}): it is written by {EXPORTER_OUTPUT_PRODUCER}; run that test first \
             (`cargo test` runs both)",
            file.display()
        )
    });
    let exposed = sample_names(&metrics);
    assert!(
        exposed.contains("pg_up") && exposed.len() > 100,
        "{} does not look like postgres_exporter output",
        file.display()
    );
    let used = used_metrics(&dashboard("standard", PG_DASHBOARD));
    assert!(used.len() > 25, "too few metrics found: {used:?}");
    let allowed: BTreeMap<&str, &str> = NOT_FROM_V011.iter().copied().collect();
    let missing: Vec<String> = used
        .iter()
        .filter(|(name, _)| !exposed.contains(*name) && !allowed.contains_key(name.as_str()))
        .map(|(name, panels)| format!("{name} (panels: {})", panels.join("; ")))
        .collect();
    assert!(
        missing.is_empty(),
        "PostgreSQL dashboard metrics neither in the real exporter's /metrics nor explained:\n{}",
        missing.join("\n")
    );
    for (name, source) in NOT_FROM_V011 {
        assert!(
            used.contains_key(*name),
            "{name} ({source}) is unused: drop it"
        );
        assert!(
            !exposed.contains(*name),
            "{name} is exposed by v0.11 after all: drop it from the list"
        );
    }
}
