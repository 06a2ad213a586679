//! The PostgreSQL pieces of the standard chart on a real PostgreSQL 16 (the `PG_BIN`
//! binaries) and the real postgres_exporter: the rendered postgresql.conf, pg_hba.conf,
//! init.sql, exporter queries and environment, and the Helm test pod's script.
//!
//! Every test renders the chart with `helm template` (release `ah`, namespace `alerts`),
//! takes the files and scripts out of the rendered manifests and adapts only what cannot
//! exist outside a cluster; the harness (`common::postgres`) documents the
//! adaptations it makes for all tests (mount paths to temporary directories, a free port
//! on 127.0.0.1, the test user instead of uid 999, superuser over TCP instead of the peer
//! socket, C.UTF-8 locale), and each test names its own.
//!
//! The exporter is Debian's postgres_exporter v0.11.1 (`POSTGRES_EXPORTER`): the chart pins
//! quay.io/prometheuscommunity/postgres-exporter v0.19.1, which cannot be fetched here. The
//! custom queries and the connection settings are the same for both versions; flags and
//! collectors that only the newer one has are named where they matter.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Instant;

use crate::common::postgres::{
    APP_DB, APP_FROM_LOOPBACK, APP_USER, Cluster, as_user, custom_queries, exporter_run,
    kube_expand, output_text, path_env, problem_lines, sample_names, try_sql,
};
use crate::common::promql::unexplained;
use crate::common::{self, dashboards, postgres};

/// Log lines that must never appear when the configuration is right.
const BAD_LOG: &[&str] = &[
    "unrecognized configuration parameter",
    "invalid value",
    "FATAL",
    "ERROR",
    "PANIC",
];

/// The chart defaults as SHOW prints them: the spec's values, and the memory settings
/// alertchart derives from the 2Gi memory limit (src/tuning.rs).
const TUNED: &[(&str, &str)] = &[
    ("max_connections", "250"),
    ("superuser_reserved_connections", "10"),
    ("shared_buffers", "512MB"),
    ("effective_cache_size", "1536MB"),
    ("work_mem", "1984kB"),
    ("maintenance_work_mem", "128MB"),
    ("wal_buffers", "16MB"),
    ("min_wal_size", "1GB"),
    ("max_wal_size", "4GB"),
    ("checkpoint_completion_target", "0.9"),
    ("random_page_cost", "1.1"),
    ("effective_io_concurrency", "200"),
    ("shared_preload_libraries", "pg_stat_statements"),
    ("track_io_timing", "on"),
    ("log_min_duration_statement", "1s"),
    ("autovacuum", "on"),
    ("autovacuum_max_workers", "3"),
    ("autovacuum_naptime", "1min"),
    ("wal_level", "replica"),
    ("archive_mode", "on"),
    ("archive_timeout", "5min"),
    ("max_wal_senders", "5"),
    ("wal_keep_size", "1GB"),
    ("logging_collector", "off"),
    ("log_destination", "stderr"),
    ("password_encryption", "scram-sha-256"),
    ("huge_pages", "off"),
    ("dynamic_shared_memory_type", "posix"),
];

/// Differences between the running server and [`TUNED`] (plus the socket directory, the
/// mapped `/var/run/postgresql`), and settings among them that do not come from the
/// ConfigMap's postgresql.conf.
fn tuned_settings_problems(c: &Cluster) -> Vec<String> {
    let config_file = c.fs.map_path("/etc/postgresql/postgresql.conf");
    let socket_dir = c.fs.map_path("/var/run/postgresql").display().to_string();
    let mut tuned = TUNED.to_vec();
    tuned.push(("unix_socket_directories", &socket_dir));
    let names: Vec<String> = tuned.iter().map(|(n, _)| format!("'{n}'")).collect();
    let settings = c.rows(
        "postgres",
        &format!(
            "SELECT name, source, coalesce(sourcefile, '') FROM pg_settings WHERE name IN ({})",
            names.join(", ")
        ),
    );
    let origin: BTreeMap<&str, (&str, &str)> = settings
        .iter()
        .map(|r| (r[0].as_str(), (r[1].as_str(), r[2].as_str())))
        .collect();
    let mut wrong = Vec::new();
    for (name, want) in &tuned {
        let got = c.sql("postgres", &format!("SHOW {name}"));
        if got != *want {
            wrong.push(format!("{name} = {got:?}, want {want:?}"));
        }
        if origin.get(name) != Some(&("configuration file", config_file.to_str().unwrap())) {
            wrong.push(format!(
                "{name} does not come from {}: {:?}",
                config_file.display(),
                origin.get(name)
            ));
        }
    }
    wrong
}

/// The generated postgresql.conf and pg_hba.conf start a real PostgreSQL 16 with the
/// StatefulSet's exact arguments (`-c config_file=… -c hba_file=…`, mapped to the projected
/// ConfigMap), every tuned setting of the spec is in effect and comes from that file, and
/// neither the log nor the server's own views report a problem with either file.
/// Adapted: `-c port=<free> -c listen_addresses=127.0.0.1` on the command line (see
/// `Cluster::server_command`); `/backup` and `/var/run/postgresql` in the file mapped.
#[test]
fn generated_config_starts_postgresql_16_with_every_tuned_setting_and_a_clean_log() {
    let c = Cluster::started(&[]);
    let config_file = c.fs.map_path("/etc/postgresql/postgresql.conf");
    let hba_file = c.fs.map_path("/etc/postgresql/pg_hba.conf");

    let show = |name: &str| c.sql("postgres", &format!("SHOW {name}"));
    assert!(
        show("server_version").starts_with("16."),
        "not PostgreSQL 16"
    );
    assert_eq!(show("config_file"), config_file.display().to_string());
    assert_eq!(show("hba_file"), hba_file.display().to_string());

    let wrong = tuned_settings_problems(&c);
    assert!(
        wrong.is_empty(),
        "settings not as specified:\n{}",
        wrong.join("\n")
    );

    // archive_command writes into the backup volume (mapped /backup) and the server
    // checksums its pages (POSTGRES_INITDB_ARGS of the container).
    let backup = c.fs.mount("/backup").display().to_string();
    assert!(
        show("archive_command").contains(&format!("{backup}/wal")),
        "{}",
        show("archive_command")
    );
    assert_eq!(show("data_checksums"), "on");
    // The network settings given on the command line, and nothing else (config_file and
    // hba_file, checked above, have the source "override").
    assert_eq!(show("port"), c.port.to_string());
    assert_eq!(show("listen_addresses"), "127.0.0.1");
    let command_line = c.rows(
        "postgres",
        "SELECT name FROM pg_settings WHERE source = 'command line' ORDER BY name",
    );
    let command_line: Vec<&str> = command_line.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(
        command_line,
        ["listen_addresses", "port"],
        "only the two network overrides may come from the command line"
    );

    // The server's own verdict on both files.
    assert_eq!(
        c.sql(
            "postgres",
            "SELECT count(*) FROM pg_hba_file_rules WHERE error IS NOT NULL"
        ),
        "0",
        "{}",
        c.sql(
            "postgres",
            "SELECT line_number, error FROM pg_hba_file_rules WHERE error IS NOT NULL"
        )
    );
    assert!(
        c.sql("postgres", "SELECT count(*) FROM pg_hba_file_rules")
            .parse::<u32>()
            .unwrap()
            >= 8
    );
    // pg_file_settings compares the file with the running values: the two settings the
    // command line overrides read "setting could not be applied" there (a restart would
    // not apply them either), so they are left out; any other error is a real one.
    let file_errors = c.sql(
        "postgres",
        "SELECT sourcefile || ':' || sourceline || ' ' || name || ': ' || error \
         FROM pg_file_settings WHERE error IS NOT NULL \
         AND name NOT IN (SELECT name FROM pg_settings WHERE source = 'command line')",
    );
    assert!(
        file_errors.is_empty(),
        "pg_file_settings errors:\n{file_errors}"
    );

    let log = c.log_text();
    let bad = problem_lines(&log, BAD_LOG);
    assert!(
        bad.is_empty(),
        "server log has problems:\n{}",
        bad.join("\n")
    );
    assert!(
        log.contains("database system is ready to accept connections"),
        "{log}"
    );
}

/// The memory settings alertchart derives from other memory limits start PostgreSQL 16
/// too: the chart rendered with a 512Mi limit (and 100 connections, since 250 do not fit
/// in 512Mi, which validation rejects), 8Gi and 64Gi, run with the StatefulSet's command
/// line, has each derived value in effect, from the ConfigMap's postgresql.conf, and a clean
/// log. (PostgreSQL reserves shared_buffers without touching it, so 16GB of shared_buffers
/// start on a machine with less free memory.) The values are those of the formula's unit
/// tests in src/tuning.rs.
#[test]
fn derived_memory_settings_at_512mi_8gi_and_64gi_start_postgresql_16() {
    let cases = [
        ("512Mi", "100", ["128MB", "384MB", "1152kB", "32MB", "4MB"]),
        ("8Gi", "250", ["2GB", "6GB", "8064kB", "512MB", "16MB"]),
        ("64Gi", "250", ["16GB", "48GB", "87296kB", "2GB", "16MB"]),
    ];
    let names = [
        "shared_buffers",
        "effective_cache_size",
        "work_mem",
        "maintenance_work_mem",
        "wal_buffers",
    ];
    for (limit, connections, expected) in cases {
        let (_dir, chart) = common::render_chart(
            "standard",
            &[
                &format!("postgresql.resources.limits.memory={limit}"),
                &format!("postgresql.resources.requests.memory={limit}"),
                &format!("postgresql.config.maxConnections={connections}"),
                // 100 connections serve at most 3 app replicas (the connection budget).
                "autoscaling.maxReplicas=3",
            ],
        );
        let c = Cluster::started_rendered(postgres::Rendered::of(&chart, &[]));
        let config_file = c.fs.map_path("/etc/postgresql/postgresql.conf");
        for (name, want) in names.iter().zip(expected) {
            assert_eq!(
                c.sql("postgres", &format!("SHOW {name}")),
                want,
                "{name} at a {limit} limit"
            );
            assert_eq!(
                c.sql(
                    "postgres",
                    &format!("SELECT sourcefile FROM pg_settings WHERE name = '{name}'")
                ),
                config_file.display().to_string(),
                "{name} does not come from postgresql.conf"
            );
        }
        assert_eq!(c.sql("postgres", "SHOW max_connections"), connections);
        let log = c.log_text();
        let bad = problem_lines(&log, BAD_LOG);
        assert!(bad.is_empty(), "server log at {limit}:\n{}", bad.join("\n"));
    }
}

/// init.sql, taken from the ConfigMap and run the way the image's entrypoint runs
/// /docker-entrypoint-initdb.d (psql -v ON_ERROR_STOP=1, the passwords in the container's
/// environment from the Secret), succeeds on a new server and again on the result; it
/// refuses to run without the passwords. Afterwards the extensions and monitoring views
/// exist and the app user, over TCP with scram and its password, owns its database and can
/// create tables there, but cannot reach the `postgres` database; unknown users and wrong
/// passwords are rejected. Adapted: `postgresql.hba.appCidrs={127.0.0.0/8}`, so that the
/// app user's TCP connections from the loopback match its pg_hba.conf line.
#[test]
fn init_sql_is_idempotent_and_gives_the_app_user_its_own_database_only() {
    let c = Cluster::started(APP_FROM_LOOPBACK);
    for run in 1..=2 {
        let out = c.run_init_sql(&[]);
        let text = output_text(&out);
        assert!(out.status.success(), "init.sql run {run} failed:\n{text}");
        assert!(
            !text.contains("ERROR") && !text.contains("WARNING"),
            "init.sql run {run}:\n{text}"
        );
    }
    // Without a password the script stops before touching anything.
    let out = c.run_init_sql(&["POSTGRES_EXPORTER_PASSWORD"]);
    assert!(
        !out.status.success(),
        "init.sql ran without POSTGRES_EXPORTER_PASSWORD"
    );
    assert!(
        output_text(&out).contains("must all be set and non-empty"),
        "{}",
        output_text(&out)
    );

    let extensions = c.sql(
        APP_DB,
        "SELECT string_agg(extname, ',' ORDER BY extname) FROM pg_extension",
    );
    for ext in ["btree_gin", "pg_stat_statements", "pg_trgm"] {
        assert!(
            extensions.split(',').any(|e| e == ext),
            "extension {ext} missing: {extensions}"
        );
    }
    let views = c.sql(
        APP_DB,
        "SELECT string_agg(viewname, ',' ORDER BY viewname) FROM pg_views \
         WHERE schemaname = 'monitoring'",
    );
    assert_eq!(views, "v_database_size,v_index_usage,v_table_sizes");
    let exporter_password = c.secret("exporter-password");
    for view in views.split(',') {
        let (ok, text) = try_sql(
            &c,
            "postgres_exporter",
            &exporter_password,
            APP_DB,
            &format!("SELECT count(*) FROM monitoring.{view}"),
        );
        assert!(
            ok,
            "postgres_exporter cannot read monitoring.{view}: {text}"
        );
    }

    let app_password = c.secret("password");
    assert_eq!(
        c.sql(
            "postgres",
            &format!(
                "SELECT left(rolpassword, 14), rolsuper FROM pg_authid WHERE rolname = '{APP_USER}'"
            )
        ),
        "SCRAM-SHA-256$\x1ff"
    );
    assert_eq!(
        c.sql(
            "postgres",
            &format!("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '{APP_DB}'")
        ),
        APP_USER
    );
    let (ok, text) = try_sql(
        &c,
        APP_USER,
        &app_password,
        APP_DB,
        "CREATE TABLE app_probe (id bigserial PRIMARY KEY, note text); \
         INSERT INTO app_probe (note) VALUES ('x'); SELECT count(*) FROM app_probe; \
         DROP TABLE app_probe",
    );
    assert!(
        ok,
        "the app user cannot create a table in its database: {text}"
    );
    assert_eq!(text.trim(), "1");

    // (a) the app user, right password, wrong database
    let (ok, text) = try_sql(&c, APP_USER, &app_password, "postgres", "SELECT 1");
    assert!(
        !ok && text.contains("pg_hba.conf rejects connection")
            && text.contains("database \"postgres\""),
        "{text}"
    );
    // (b) a user the chart does not know
    let (ok, text) = try_sql(&c, "intruder", "whatever", APP_DB, "SELECT 1");
    assert!(
        !ok && text.contains("pg_hba.conf rejects connection")
            && text.contains("user \"intruder\""),
        "{text}"
    );
    // and the app user with a wrong password
    let (ok, text) = try_sql(&c, APP_USER, "not-the-password", APP_DB, "SELECT 1");
    assert!(
        !ok && text.contains("password authentication failed"),
        "{text}"
    );
}

/// (c) With the default `postgresql.hba.appCidrs` (the private pod networks 10/8,
/// 172.16/12, 192.168/16), a connection of the app user from an address outside them
/// (127.0.0.1) is rejected by pg_hba.conf, although user, password and database are right.
#[test]
fn default_app_cidrs_reject_the_app_user_from_an_address_outside_them() {
    let c = Cluster::initialized(&[]);
    let (ok, text) = try_sql(&c, APP_USER, &c.secret("password"), APP_DB, "SELECT 1");
    assert!(!ok, "the app user got in from 127.0.0.1: {text}");
    assert!(
        text.contains(
            "pg_hba.conf rejects connection for host \"127.0.0.1\", user \"alert_history\""
        ),
        "{text}"
    );
}

/// The Helm test pod's script (rendered `*-postgresql-test` Pod: `/bin/sh -c <script>`)
/// with the pod's environment (PGPASSWORD from the Secret) passes against the server and
/// leaves no table behind; with the database down it fails (non-zero exit, a FAIL line).
/// Adapted: PGHOST (the Service name) to 127.0.0.1, PGPORT to the server's port;
/// `postgresql.hba.appCidrs={127.0.0.0/8}` as the test pod connects from the pod network.
#[test]
fn helm_test_pod_script_passes_against_the_server_and_fails_when_it_is_down() {
    let mut c = Cluster::initialized(APP_FROM_LOOPBACK);
    let pod = c.rendered.container("Pod", "-postgresql-test", "psql");
    let command: Vec<String> = pod["command"]
        .as_array()
        .expect("command")
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    let mut env = c.rendered.container_env("Pod", "-postgresql-test", "psql");
    c.through_service(&mut env, "the test pod");
    let run = |env: &[(String, String)]| {
        as_user(&command[0])
            .args(&command[1..])
            .envs(env.iter().cloned())
            .env("PATH", path_env())
            .output()
            .expect("run the test pod's script")
    };

    let out = run(&env);
    let text = output_text(&out);
    assert!(
        out.status.success(),
        "helm test script failed against a healthy server:\n{text}"
    );
    assert_eq!(text.matches("ok: ").count(), 4, "{text}");
    assert_eq!(
        c.sql(
            APP_DB,
            "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'helm_test_%'"
        ),
        "0",
        "the script left its table behind"
    );

    c.stop("fast");
    let out = run(&env);
    let text = output_text(&out);
    assert!(
        !out.status.success(),
        "helm test script passed with the database down:\n{text}"
    );
    assert!(text.contains("FAIL: PostgreSQL at 127.0.0.1"), "{text}");
}

/// Kubernetes' `$(VAR)` rules as the harness applies them to container environments.
#[test]
fn env_var_references_expand_like_the_kubelet() {
    let defined = vec![
        ("A".to_string(), "x".to_string()),
        ("B".to_string(), "$(A)".to_string()),
    ];
    assert_eq!(kube_expand("$(A)-$(B)", &defined), "x-$(A)");
    assert_eq!(kube_expand("$(LATER)", &defined), "$(LATER)");
    assert_eq!(
        kube_expand("$$(A) $$ $x $( end$", &defined),
        "$(A) $ $x $( end$"
    );
}

/// Runs every custom query as the exporter's role in the app database (the exporter's
/// connection) with psql's `\timing`; returns `(name, milliseconds, rows)`.
fn time_queries(
    c: &Cluster,
    queries: &[(String, String, Vec<String>)],
) -> Vec<(String, f64, usize)> {
    let password = c.secret("exporter-password");
    queries
        .iter()
        .map(|(name, query, _)| {
            let out = c
                .psql_as("postgres_exporter", &password, APP_DB)
                .args(["-c", "\\timing on", "-c", query])
                .output()
                .expect("run psql");
            let text = output_text(&out);
            assert!(out.status.success(), "custom query {name} failed:\n{text}");
            let ms: f64 = text
                .lines()
                .find_map(|l| l.strip_prefix("Time: "))
                .and_then(|t| t.split_whitespace().next())
                .and_then(|t| t.parse().ok())
                .unwrap_or_else(|| panic!("no timing for {name}:\n{text}"));
            let rows = text
                .lines()
                .filter(|l| !l.starts_with("Time: ") && !l.is_empty())
                .count();
            (name.clone(), ms, rows)
        })
        .collect()
}

/// pg_table_bloat and pg_vacuum written over the pg_stat_user_tables view, as the
/// statistics views document them: the oracle of the cheaper queries of the chart.
const VIEW_FORMULATIONS: &[(&str, &str)] = &[
    (
        "pg_table_bloat",
        "SELECT current_database() AS datname, s.schemaname, s.relname,
                pg_relation_size(s.relid) AS heap_bytes,
                CASE WHEN s.n_live_tup + s.n_dead_tup > 0
                     THEN (pg_relation_size(s.relid) * s.n_dead_tup / (s.n_live_tup + s.n_dead_tup))::bigint
                     ELSE 0 END AS dead_tuple_bytes
           FROM pg_stat_user_tables s",
    ),
    (
        "pg_vacuum",
        "SELECT current_database() AS datname, s.schemaname, s.relname,
                EXTRACT(EPOCH FROM now() - COALESCE(GREATEST(s.last_vacuum, s.last_autovacuum),
                                                    pg_postmaster_start_time())) AS last_vacuum_age_seconds,
                CASE WHEN s.n_dead_tup > av.threshold THEN 1 ELSE 0 END AS autovacuum_due,
                av.enabled AS autovacuum_enabled
           FROM pg_stat_user_tables s
           JOIN pg_class c ON c.oid = s.relid
           CROSS JOIN LATERAL (
             SELECT COALESCE(max(o.option_value) FILTER (WHERE o.option_name = 'autovacuum_vacuum_threshold'),
                             current_setting('autovacuum_vacuum_threshold'))::float8
                    + COALESCE(max(o.option_value) FILTER (WHERE o.option_name = 'autovacuum_vacuum_scale_factor'),
                               current_setting('autovacuum_vacuum_scale_factor'))::float8
                      * GREATEST(c.reltuples, 0) AS threshold,
                    CASE WHEN current_setting('autovacuum')::boolean
                          AND COALESCE(max(o.option_value) FILTER (WHERE o.option_name = 'autovacuum_enabled'),
                                       'on')::boolean
                         THEN 1 ELSE 0 END AS enabled
               FROM pg_options_to_table(c.reloptions) o
           ) av",
    ),
];

/// Generous bound for one custom query (they run on every scrape).
const QUERY_BOUND_MS: f64 = 2000.0;

/// Every custom query of the rendered queries.yaml runs without error, as the exporter's
/// role in the app database, on (a) a fresh database (just init.sql) and (b) one with 300
/// tables, each with an index, rows, dead rows and fresh statistics; each takes well under
/// 2 s. Prints the timings.
#[test]
fn every_custom_exporter_query_runs_fast_on_empty_and_300_table_databases() {
    let c = Cluster::initialized(&[]);
    let queries = custom_queries(&c);
    assert!(
        queries.len() >= 10,
        "queries.yaml has only {} queries",
        queries.len()
    );
    let empty = time_queries(&c, &queries);

    let started = Instant::now();
    c.sql(
        APP_DB,
        "DO $$ BEGIN FOR i IN 1..300 LOOP \
           EXECUTE format('CREATE TABLE load_%s \
             (id bigserial PRIMARY KEY, tenant int NOT NULL, note text)', i); \
           EXECUTE format('CREATE INDEX ON load_%s (tenant)', i); \
           EXECUTE format('INSERT INTO load_%s (tenant, note) \
             SELECT g %% 10, md5(g::text) FROM generate_series(1, 200) g', i); \
           EXECUTE format('DELETE FROM load_%s WHERE id %% 7 = 0', i); \
         END LOOP; END $$",
    );
    c.sql(APP_DB, "ANALYZE");
    let setup = started.elapsed();
    let loaded = time_queries(&c, &queries);

    let mut table = format!(
        "custom query timings (ms; rows) on an empty database and on 300 tables \
         (set up in {:.1} s):\n",
        setup.as_secs_f64()
    );
    let _ = writeln!(table, "{:<28}{:>18}{:>18}", "query", "empty", "300 tables");
    for ((name, ms_empty, rows_empty), (_, ms_loaded, rows_loaded)) in empty.iter().zip(&loaded) {
        let _ = writeln!(
            table,
            "{name:<28} {ms_empty:>9.2} ms {rows_empty:>4} {ms_loaded:>9.2} ms {rows_loaded:>4}"
        );
    }
    println!("{table}");
    for (name, ms, _) in empty.iter().chain(&loaded) {
        assert!(
            *ms < QUERY_BOUND_MS,
            "custom query {name} took {ms} ms\n{table}"
        );
    }
    // pg_table_bloat and pg_vacuum read the statistics functions directly; they return
    // exactly the rows of the same formulas over pg_stat_user_tables (one statement each,
    // so both sides see the same now() and statistics snapshot).
    for (name, query, _) in &queries {
        let Some(oracle) = VIEW_FORMULATIONS
            .iter()
            .find_map(|(n, q)| (n == name).then_some(q))
        else {
            continue;
        };
        let differ = c.sql(
            APP_DB,
            &format!(
                "SELECT (SELECT count(*) FROM (({query}) EXCEPT ALL ({oracle})) a) \
                      + (SELECT count(*) FROM (({oracle}) EXCEPT ALL ({query})) b)"
            ),
        );
        assert_eq!(
            differ, "0",
            "{name} and its pg_stat_user_tables formulation differ"
        );
    }
    // The per-table queries see the 300 tables.
    for (name, _, rows) in &loaded {
        if ["pg_table_bloat", "pg_vacuum"].contains(&name.as_str()) {
            assert!(*rows >= 300, "{name} returned {rows} rows for 300 tables");
        }
        if name == "pg_index_usage" {
            assert!(*rows >= 600, "{name} returned {rows} rows for 600 indexes");
        }
    }
}

/// The real postgres_exporter, run with the sidecar's environment and arguments (see
/// `exporter_run`), connects (`pg_up 1`), loads the generated queries file without error,
/// scrapes without error, logs no error, and exposes every metric of every custom query.
#[test]
fn real_postgres_exporter_with_the_sidecar_env_exposes_every_custom_metric() {
    let run = exporter_run();
    let lines: Vec<&str> = run.metrics.lines().collect();
    assert!(lines.contains(&"pg_up 1"), "pg_up is not 1:\n{}", run.log);
    assert!(
        lines.contains(&"pg_exporter_last_scrape_error 0"),
        "scrape error:\n{}",
        run.log
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("pg_exporter_user_queries_load_error{") && l.ends_with("} 0")),
        "queries file not loaded:\n{}",
        run.log
    );
    let errors = problem_lines(&run.log, &["level=error", "level=warn"]);
    assert!(errors.is_empty(), "exporter log:\n{}", errors.join("\n"));

    let names = sample_names(&run.metrics);
    let mut missing = Vec::new();
    for (query, _, columns) in &run.queries {
        for col in columns {
            let metric = format!("{query}_{col}");
            if !names.contains(&metric) {
                missing.push(metric);
            }
        }
    }
    assert!(
        missing.is_empty(),
        "custom metrics missing from /metrics: {missing:?}"
    );
    println!(
        "exporter: {} samples, {} metric names; dropped args v0.11 lacks {:?}",
        lines.iter().filter(|l| !l.starts_with('#')).count(),
        names.len(),
        run.dropped_args
    );
}

/// Metrics the chart's PostgreSQL alerts use that Debian's exporter v0.11.1 cannot show,
/// each with where it comes from. Kept tiny: the test fails when an entry is not used by
/// any rule or when v0.11 exposes it after all.
const NOT_FROM_V011: &[(&str, &str)] = &[
    // Prometheus records `up` for every scrape target itself; no exporter exposes it.
    ("up", "Prometheus"),
    // The kubelet's volume statistics of the data and backup claims (the volume alerts).
    (
        "kubelet_volume_stats_available_bytes",
        "kubelet (/metrics of each node)",
    ),
    (
        "kubelet_volume_stats_capacity_bytes",
        "kubelet (/metrics of each node)",
    ),
    // v0.15 collector `replication` (collector/pg_replication.go, enabled by default);
    // v0.11 had no replication collector.
    (
        "pg_replication_lag_seconds",
        "v0.15 collector replication (default on)",
    ),
    (
        "pg_replication_is_replica",
        "v0.15 collector replication (default on)",
    ),
    // v0.15 collector `stat_user_tables` (enabled by default); v0.11 has no such collector.
    (
        "pg_stat_user_tables_n_dead_tup",
        "v0.15 collector stat_user_tables (default on)",
    ),
    (
        "pg_stat_user_tables_n_live_tup",
        "v0.15 collector stat_user_tables (default on)",
    ),
    // v0.15 collector `wal` (enabled by default): pg_wal_size_bytes.
    ("pg_wal_size_bytes", "v0.15 collector wal (default on)"),
    // v0.15 collector `database_wraparound`, disabled by default and enabled by the
    // container's --collector.database_wraparound (asserted below).
    (
        "pg_database_wraparound_age_datfrozenxid_seconds",
        "v0.15 collector database_wraparound (--collector.database_wraparound)",
    ),
    (
        "pg_database_wraparound_age_datminmxid_seconds",
        "v0.15 collector database_wraparound (--collector.database_wraparound)",
    ),
    // v0.17+ collector `stat_checkpointer`, enabled by the container's
    // --collector.stat_checkpointer, exports only on PostgreSQL 17+ (which moved these
    // counters out of pg_stat_bgwriter); the test server is 16.
    (
        "pg_stat_checkpointer_num_timed_total",
        "v0.17+ collector stat_checkpointer (--collector.stat_checkpointer), PostgreSQL 17+",
    ),
    (
        "pg_stat_checkpointer_num_requested_total",
        "v0.17+ collector stat_checkpointer (--collector.stat_checkpointer), PostgreSQL 17+",
    ),
];

/// Every metric that an expression of the chart's PostgreSQL PrometheusRule selects
/// (rendered with `metrics.prometheusRule.enabled=true`) is in the real exporter's
/// /metrics output (custom queries and v0.11's collectors), or comes from a source
/// that output cannot contain: the explicit, justified [`NOT_FROM_V011`] list.
#[test]
fn prometheus_rule_metrics_are_exposed_by_the_exporter() {
    let rendered = postgres::Rendered::standard(&["--set", "metrics.prometheusRule.enabled=true"]);
    let rule = rendered.object("PrometheusRule", "-postgresql");
    let mut used: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for group in rule["spec"]["groups"].as_array().expect("groups") {
        for r in group["rules"].as_array().expect("rules") {
            let alert = r["alert"].as_str().or(r["record"].as_str()).unwrap_or("?");
            for name in common::promql::metric_names(r["expr"].as_str().expect("expr")) {
                used.entry(name).or_default().push(alert.to_string());
            }
        }
    }
    assert!(
        used.len() >= 15,
        "too few metrics found in the rules: {used:?}"
    );
    println!(
        "metrics used by the rules: {:?}",
        used.keys().collect::<Vec<_>>()
    );

    let run = exporter_run();
    let exposed = sample_names(&run.metrics);
    let allowed: BTreeMap<&str, &str> = NOT_FROM_V011.iter().copied().collect();
    let missing = unexplained(
        &used,
        |name| exposed.contains(name) || allowed.contains_key(name),
        "used by ",
        ", ",
    );
    assert!(
        missing.is_empty(),
        "rule metrics neither in the exporter's /metrics nor explained:\n{}",
        missing.join("\n")
    );
    for (name, source) in NOT_FROM_V011 {
        assert!(
            used.contains_key(*name),
            "{name} ({source}) is not used by any rule: drop it from the list"
        );
        assert!(
            !exposed.contains(*name),
            "{name} is exposed by v0.11 after all: drop it from the list"
        );
    }
    let args = &rendered.container("StatefulSet", "-postgresql", "exporter")["args"];
    assert!(
        args.as_array()
            .unwrap()
            .iter()
            .any(|a| a == "--collector.database_wraparound"),
        "the wraparound alert needs --collector.database_wraparound: {args}"
    );
}

/// Every metric the PostgreSQL Grafana dashboard's panels and variables select is in the
/// real exporter's /metrics output, or in [`NOT_FROM_V011`] (the same v0.15 collectors the
/// alert rules rely on).
#[test]
fn postgresql_dashboard_metrics_are_exposed_by_the_exporter() {
    let used =
        dashboards::used_metrics(&dashboards::dashboard("standard", dashboards::PG_DASHBOARD));
    assert!(used.len() > 25, "too few metrics found: {used:?}");
    let exposed = sample_names(&exporter_run().metrics);
    let allowed: BTreeMap<&str, &str> = NOT_FROM_V011.iter().copied().collect();
    let missing = unexplained(
        &used,
        |name| exposed.contains(name) || allowed.contains_key(name),
        "panels: ",
        "; ",
    );
    assert!(
        missing.is_empty(),
        "PostgreSQL dashboard metrics neither in the real exporter's /metrics nor explained:\n{}",
        missing.join("\n")
    );
}
