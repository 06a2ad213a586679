//! Optional TLS of the chart's PostgreSQL (`postgresql.tls.enabled`, certificate from the
//! installer's kubernetes.io/tls Secret `postgresql.tls.secretName`) on a real PostgreSQL 16
//! started the way the StatefulSet starts it (harness: `common::postgres`).
//!
//! The Secret is not part of the chart, so the test makes one: a self-signed certificate
//! for 127.0.0.1 from the `openssl` command line, written into the directory of the pod's
//! Secret volume with the files the kubelet projects (tls.crt, tls.key, ca.crt). Adapted:
//! the owner and mode. In the pod the volume has `defaultMode: 0640` and the pod
//! `fsGroup: 999`, so the kubelet projects every file as root:999, mode 0640 (PostgreSQL
//! accepts a key owned by root with group read, and the server reads it through its group).
//! Here the files get uid 0 and the test user's group with the rendered `defaultMode`;
//! when the tests do not run as root (nobody can give a file away to root), they belong to
//! the current user with mode 0600, the other mode PostgreSQL accepts.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::common::postgres::{APP_DB, APP_USER, Cluster, env_get, output_text, run_as};
use crate::common::{self, postgres};

/// TLS on, and the app user let in from the tests' client address 127.0.0.1 (standing in
/// for the pod network, as in the `postgresql` module).
const TLS_ON: &[&str] = &[
    "--set",
    "postgresql.tls.enabled=true",
    "--set",
    "postgresql.hba.appCidrs={127.0.0.0/8}",
];

/// A self-signed certificate and its key for 127.0.0.1 (and the Service name), PEM.
fn self_signed_certificate(dir: &Path) -> (Vec<u8>, Vec<u8>) {
    let key = dir.join("tls.key");
    let crt = dir.join("tls.crt");
    common::run_ok(
        Command::new(common::tool("openssl"))
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"])
            .args(["-subj", "/CN=ah-alert-history-postgresql"])
            .args([
                "-addext",
                "subjectAltName=IP:127.0.0.1,DNS:ah-alert-history-postgresql,DNS:ah-alert-history-postgresql.alerts.svc",
            ])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&crt),
    );
    (
        fs::read(&crt).expect("tls.crt"),
        fs::read(&key).expect("tls.key"),
    )
}

/// A file mode as Kubernetes reads the manifest: `0640` is a YAML 1.1 octal literal (this
/// test's YAML 1.2 parser sees a string or the decimal digits).
fn file_mode(v: &Value) -> u32 {
    let digits = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => panic!("defaultMode {other}"),
    };
    u32::from_str_radix(digits.trim_start_matches("0o"), 8).expect("octal mode")
}

/// Writes a file of the Secret volume the way the kubelet projects it (see the module doc).
fn project(dir: &Path, name: &str, content: &[u8], default_mode: u32) {
    let path = dir.join(name);
    fs::write(&path, content).expect("write secret file");
    match run_as() {
        Some(user) => {
            std::os::unix::fs::chown(&path, Some(0), Some(user.gid)).expect("chown");
            fs::set_permissions(&path, fs::Permissions::from_mode(default_mode)).expect("chmod");
        }
        None => fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).expect("chmod"),
    }
}

/// `SELECT ssl FROM pg_stat_ssl` of a connection as the app user with `sslmode` (plus
/// extra libpq variables); `(succeeded, output)`.
fn app_connect(c: &Cluster, sslmode: &str, extra: &[(&str, &str)]) -> (bool, String) {
    let out = c
        .psql_as(APP_USER, &c.secret("password"), APP_DB)
        .env("PGSSLMODE", sslmode)
        .envs(extra.iter().copied())
        .arg("-c")
        .arg("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .output()
        .expect("run psql");
    (out.status.success(), output_text(&out))
}

/// With `postgresql.tls.enabled=true` the server starts from the rendered configuration
/// with the Secret's certificate (`SHOW ssl` = on); the app user connects with
/// `sslmode=require` and with `verify-full` against the Secret's ca.crt, and
/// `pg_stat_ssl` shows the session encrypted; the same user (and replicator) without TLS
/// is refused by pg_hba.conf, while the exporter's loopback connection with
/// `sslmode=disable` (its rendered data source) still works.
#[test]
fn tls_from_the_installers_secret_is_served_and_required_for_network_clients() {
    let mut c = Cluster::init(TLS_ON);

    let volume = c.rendered.pod_spec("StatefulSet", "-postgresql")["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .find(|v| v["name"] == "tls")
        .cloned()
        .expect("a tls volume");
    assert_eq!(
        volume["secret"]["secretName"], "alert-history-postgresql-tls",
        "the volume mounts postgresql.tls.secretName"
    );
    let default_mode = file_mode(&volume["secret"]["defaultMode"]);
    assert_eq!(default_mode, 0o640, "key readable by the group only");
    let pod = &c.rendered.pod_spec("StatefulSet", "-postgresql")["securityContext"];
    assert_eq!(
        pod["fsGroup"], pod["runAsGroup"],
        "fsGroup is the server's group"
    );

    let scratch = tempfile::tempdir().expect("tempdir");
    let (crt, key) = self_signed_certificate(scratch.path());
    let dir = c.fs.mount("/etc/postgresql-tls").to_path_buf();
    project(&dir, "tls.crt", &crt, default_mode);
    project(&dir, "tls.key", &key, default_mode);
    project(&dir, "ca.crt", &crt, default_mode);

    c.start();
    let out = c.run_init_sql(&[]);
    assert!(out.status.success(), "init.sql: {}", output_text(&out));

    assert_eq!(c.sql("postgres", "SHOW ssl"), "on");
    let cert_file = c.sql("postgres", "SHOW ssl_cert_file");
    assert_eq!(Path::new(&cert_file), dir.join("tls.crt"));

    // TLS required by the client: an encrypted session.
    let (ok, text) = app_connect(&c, "require", &[]);
    assert!(ok, "sslmode=require failed: {text}");
    assert_eq!(text.trim(), "t", "pg_stat_ssl.ssl of the session");

    // The server presents the Secret's certificate: full verification against its ca.crt.
    let ca = dir.join("ca.crt");
    let (ok, text) = app_connect(
        &c,
        "verify-full",
        &[("PGSSLROOTCERT", ca.to_str().expect("UTF-8 path"))],
    );
    assert!(ok, "sslmode=verify-full failed: {text}");
    assert_eq!(text.trim(), "t");

    // Without TLS the app user is refused by pg_hba.conf (hostssl lines only).
    let (ok, text) = app_connect(&c, "disable", &[]);
    assert!(!ok, "the app user got in without TLS: {text}");
    assert!(
        text.contains(
            "pg_hba.conf rejects connection for host \"127.0.0.1\", user \"alert_history\""
        ) && text.contains("no encryption"),
        "{text}"
    );
    // ... and so is replicator (the backup job's role).
    let out = c
        .psql_as("replicator", &c.secret("replication-password"), APP_DB)
        .env("PGSSLMODE", "disable")
        .args(["-c", "SELECT 1"])
        .output()
        .expect("run psql");
    let text = output_text(&out);
    assert!(
        !out.status.success() && text.contains("no encryption"),
        "replicator without TLS: {text}"
    );

    // The exporter sidecar keeps its loopback connection without TLS (its data source says
    // sslmode=disable; its pg_hba.conf line is a loopback `host` line).
    let exporter_env = c
        .rendered
        .container_env("StatefulSet", "-postgresql", "exporter");
    assert!(env_get(&exporter_env, "DATA_SOURCE_URI").contains("sslmode=disable"));
    let out = c
        .psql_as("postgres_exporter", &c.secret("exporter-password"), APP_DB)
        .env("PGSSLMODE", "disable")
        .args(["-c", "SELECT 1"])
        .output()
        .expect("run psql");
    assert!(out.status.success(), "exporter: {}", output_text(&out));

    assert_every_client_requires_tls(&c.rendered);
    let log = c.log_text();
    assert!(
        !log.contains("could not load") && !log.contains("FATAL:  private key"),
        "{log}"
    );
}

/// Every network client of the chart asks for TLS: the app and its migration in their
/// asyncpg URL, the libpq clients through PGSSLMODE.
fn assert_every_client_requires_tls(rendered: &postgres::Rendered) {
    for container in ["alert-history", "migrate"] {
        let env = rendered.container_env("Deployment", "ah-alert-history", container);
        assert!(
            env_get(&env, "DATABASE_URL").ends_with("?sslmode=require"),
            "{container}: {env:?}"
        );
    }
    for (kind, suffix, container) in [
        ("CronJob", "-postgresql-backup", "backup"),
        ("Pod", "-postgresql-test", "psql"),
    ] {
        let env = &rendered.container(kind, suffix, container)["env"];
        let mode = env
            .as_array()
            .expect("env")
            .iter()
            .find(|e| e["name"] == "PGSSLMODE")
            .map(|e| e["value"].clone());
        assert_eq!(
            mode,
            Some(Value::from("require")),
            "{kind} *{suffix} {container}"
        );
    }
}

/// With TLS off (the default) the server has `ssl = off`, no TLS volume is mounted and
/// pg_hba.conf has plain `host` lines, so the same client without TLS gets in.
#[test]
fn without_tls_the_server_has_ssl_off_and_no_hostssl_lines() {
    let c = Cluster::started(&["--set", "postgresql.hba.appCidrs={127.0.0.0/8}"]);
    let out = c.run_init_sql(&[]);
    assert!(out.status.success(), "init.sql: {}", output_text(&out));
    assert_eq!(c.sql("postgres", "SHOW ssl"), "off");
    let hba = c.rendered.configmap_file("-postgresql", "pg_hba.conf");
    assert!(!hba.contains("hostssl"), "{hba}");
    assert!(
        c.rendered.pod_spec("StatefulSet", "-postgresql")["volumes"]
            .as_array()
            .expect("volumes")
            .iter()
            .all(|v| v.get("secret").is_none()),
        "no Secret volume without TLS"
    );
    let (ok, text) = app_connect(&c, "disable", &[]);
    assert!(ok, "{text}");
    assert_eq!(text.trim(), "f");
}
