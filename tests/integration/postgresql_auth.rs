//! Authentication and roles of the chart's PostgreSQL on a real PostgreSQL 16 started the
//! way the StatefulSet starts it (harness: `common::postgres`, which documents
//! its adaptations): scram-sha-256 only, no `trust`, least-privilege roles, the exporter's
//! timeouts, and password rotation as docs/security.md describes it.
//! (the `postgresql` module covers password_encryption, the app user's ownership of its
//! database and the pg_hba.conf rejections; this file does not repeat them.)

use std::io::Write as _;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::postgres::{
    APP_DB, APP_FROM_LOOPBACK, APP_USER, ChildGuard, Cluster, env_set, output_text,
    output_with_stdin, try_sql, wait_for,
};

/// The server's own reading of the rendered pg_hba.conf (`pg_hba_file_rules`): no rule
/// has an error; every network rule (`host`, `hostssl`, ...) authenticates with
/// scram-sha-256 or rejects; the only socket rule that admits anyone is `peer` for the
/// OS user postgres (the server's own tooling); nothing uses trust, password, md5, ident.
/// Roles after init.sql: the app user is no superuser and has no role attributes, belongs
/// to no role and owns exactly one database, its own; postgres_exporter is no superuser,
/// is a member of pg_monitor and nothing else, and its sessions run with lock_timeout 2s and
/// statement_timeout 15s, so a scrape that queues behind an ACCESS EXCLUSIVE lock fails
/// after about 2 s instead of stalling.
#[test]
fn scram_only_and_least_privilege_roles() {
    let c = Cluster::initialized(APP_FROM_LOOPBACK);
    hba_is_scram_only(&c);
    app_user_is_least_privilege(&c);
    exporter_is_pg_monitor_with_timeouts(&c);
}

fn hba_is_scram_only(c: &Cluster) {
    let rules = c.rows(
        "postgres",
        "SELECT line_number, type, array_to_string(user_name, ','), coalesce(auth_method, ''), \
           coalesce(error, '') FROM pg_hba_file_rules ORDER BY line_number",
    );
    assert!(rules.len() > 5, "{rules:?}");
    for r in &rules {
        let (line, kind, users, method, error) = (&r[0], &r[1], &r[2], &r[3], &r[4]);
        assert!(error.is_empty(), "pg_hba.conf line {line}: {error}");
        let ok = match kind.as_str() {
            "local" => method == "reject" || (method == "peer" && users == "postgres"),
            _ => method == "scram-sha-256" || method == "reject",
        };
        assert!(ok, "pg_hba.conf line {line}: {kind} {users} {method}");
    }
    let hba = c.rendered.configmap_file("-postgresql", "pg_hba.conf");
    for weak in ["trust", "md5", "password", "ident"] {
        assert!(
            !hba.lines()
                .filter(|l| !l.trim_start().starts_with('#'))
                .any(|l| l.split_whitespace().any(|w| w == weak)),
            "pg_hba.conf uses {weak}:\n{hba}"
        );
    }
}

fn app_user_is_least_privilege(c: &Cluster) {
    assert_eq!(
        c.sql(
            "postgres",
            &format!(
                "SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, rolinherit \
                 FROM pg_roles WHERE rolname = '{APP_USER}'"
            )
        ),
        "f\x1ff\x1ff\x1ff\x1ff\x1ft"
    );
    assert_eq!(
        c.sql(
            "postgres",
            &format!(
                "SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member \
                 WHERE r.rolname = '{APP_USER}'"
            )
        ),
        "0",
        "the app user belongs to no role"
    );
    assert_eq!(
        c.sql(
            "postgres",
            &format!(
                "SELECT string_agg(datname, ',') FROM pg_database \
                 WHERE pg_get_userbyid(datdba) = '{APP_USER}'"
            )
        ),
        APP_DB,
        "the app user owns its database and no other"
    );
}

fn exporter_is_pg_monitor_with_timeouts(c: &Cluster) {
    assert_eq!(
        c.sql(
            "postgres",
            "SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls \
             FROM pg_roles WHERE rolname = 'postgres_exporter'"
        ),
        "f\x1ff\x1ff\x1ff\x1ff"
    );
    assert_eq!(
        c.sql(
            "postgres",
            "SELECT string_agg(g.rolname, ',') FROM pg_auth_members m \
               JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles r ON r.oid = m.member \
             WHERE r.rolname = 'postgres_exporter'"
        ),
        "pg_monitor"
    );
    let exporter_pw = c.secret("exporter-password");
    let (ok, text) = try_sql(
        c,
        "postgres_exporter",
        &exporter_pw,
        APP_DB,
        "SHOW lock_timeout; SHOW statement_timeout",
    );
    assert!(ok, "{text}");
    assert_eq!(text.split_whitespace().collect::<Vec<_>>(), ["2s", "15s"]);
    // The exporter cannot write, nor read the app's tables.
    c.sql(
        APP_DB,
        "CREATE TABLE app_data (id int); INSERT INTO app_data VALUES (1)",
    );
    let (ok, text) = try_sql(
        c,
        "postgres_exporter",
        &exporter_pw,
        APP_DB,
        "SELECT * FROM app_data",
    );
    assert!(!ok && text.contains("permission denied"), "{text}");
    exporter_gives_up_behind_an_exclusive_lock(c, &exporter_pw);
}

fn exporter_gives_up_behind_an_exclusive_lock(c: &Cluster, exporter_pw: &str) {
    // A size query of the exporter behind an ACCESS EXCLUSIVE lock gives up after ~2 s.
    let mut locker = c.client_as("psql", "postgres", &c.superuser_password(), APP_DB);
    locker
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut locker = ChildGuard(locker.spawn().expect("start psql"));
    locker
        .0
        .stdin
        .as_mut()
        .expect("stdin")
        .write_all(b"BEGIN;\nLOCK TABLE app_data IN ACCESS EXCLUSIVE MODE;\nSELECT pg_sleep(30);\n")
        .expect("write to psql");
    wait_for("the lock", Duration::from_secs(20), || {
        (c.sql(
            APP_DB,
            "SELECT count(*) FROM pg_locks WHERE mode = 'AccessExclusiveLock' AND granted \
               AND relation = 'app_data'::regclass",
        ) == "1")
            .then_some(())
    });
    let start = Instant::now();
    let (ok, text) = try_sql(
        c,
        "postgres_exporter",
        exporter_pw,
        APP_DB,
        "SELECT pg_total_relation_size(relid) FROM pg_stat_user_tables",
    );
    let waited = start.elapsed();
    assert!(!ok && text.contains("lock timeout"), "{text}");
    assert!(
        waited >= Duration::from_millis(1900) && waited < Duration::from_secs(10),
        "gave up after {waited:?}"
    );
    drop(locker);
}

/// Rotation as docs/security.md describes it: new passwords in the Secret reach the
/// container's environment on the pod's restart, and re-running init.sql (the command in
/// its header) sets them for the app user, the exporter and replicator; the superuser's is
/// set with the documented `ALTER ROLE postgres PASSWORD :'pw'` fed to psql on stdin. The
/// new passwords work and the old ones no longer do. Adapted: the restart is a change of
/// the harness's copy of the container environment.
#[test]
fn rotated_passwords_take_effect_by_rerunning_init_sql() {
    let mut c = Cluster::initialized(APP_FROM_LOOPBACK);
    let old_app = c.secret("password");
    let rotated = [
        ("POSTGRES_APP_PASSWORD", APP_USER, "rotated-app-Pw1"),
        (
            "POSTGRES_EXPORTER_PASSWORD",
            "postgres_exporter",
            "rotated-exp-Pw2",
        ),
        (
            "POSTGRES_REPLICATION_PASSWORD",
            "replicator",
            "rotated-rep-Pw3",
        ),
    ];
    for (var, _, pw) in rotated {
        env_set(&mut c.env, var, pw);
    }
    let out = c.run_init_sql(&[]);
    assert!(out.status.success(), "init.sql: {}", output_text(&out));
    for (_, user, pw) in rotated {
        let (ok, text) = try_sql(&c, user, pw, APP_DB, "SELECT 1");
        assert!(ok, "{user} with the rotated password: {text}");
    }
    let (ok, _) = try_sql(&c, APP_USER, &old_app, APP_DB, "SELECT 1");
    assert!(!ok, "the old app password still works");

    // Superuser: the documented command, the new password from the environment.
    let old_super = c.superuser_password();
    let out = output_with_stdin(
        c.psql_as("postgres", &old_super, "postgres")
            .args(["-v", "pw=rotated-super-Pw4"]),
        "ALTER ROLE postgres PASSWORD :'pw';\n",
    );
    assert!(out.status.success(), "{}", output_text(&out));
    let (ok, text) = try_sql(&c, "postgres", "rotated-super-Pw4", "postgres", "SELECT 1");
    assert!(ok, "{text}");
    let (ok, _) = try_sql(&c, "postgres", &old_super, "postgres", "SELECT 1");
    assert!(!ok, "the old superuser password still works");
}
