//! The ha chart's CloudNativePG Cluster on a real PostgreSQL 16: an instance started as the
//! operator starts one (its mandatory settings, TLS with a server certificate, then every
//! parameter and pg_hba rule of the rendered Cluster), bootstrapped as its initdb Job does
//! (the owner role, the app database, the post-init SQL), and the app's `migrate` init
//! container and app container, started exactly as the rendered Deployment starts them,
//! storing an Alertmanager alert through the Cluster's read-write Service name.

use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::app::AppContainer;
use crate::common::postgres::{
    ChildGuard, OPERATOR_APP_PASSWORD, PSQL_SCRIPT, Rendered, Sandbox, as_user, chown, output_text,
    path_env, pg, wait_for, write_owned,
};
use crate::common::{self, chart_dir, free_port, run_ok};

/// The app connects from 127.0.0.1 here (the chart's default networks are the pod networks).
const FROM_LOOPBACK: &[&str] = &["--set", "cnpg.hba.appCidrs={127.0.0.0/8}"];

/// Settings CloudNativePG's instance manager always writes (cloudnative-pg v1.30.0,
/// pkg/postgres/configuration.go: the mandatory settings and the global defaults the chart
/// does not override), with the paths and port of this sandbox.
fn operator_settings(dir: &std::path::Path, port: u16) -> String {
    format!(
        "listen_addresses = '127.0.0.1'\n\
         port = {port}\n\
         unix_socket_directories = '{dir}'\n\
         hot_standby = on\n\
         restart_after_crash = off\n\
         ssl = on\n\
         ssl_cert_file = '{dir}/server.crt'\n\
         ssl_key_file = '{dir}/server.key'\n\
         ssl_min_protocol_version = 'TLSv1.3'\n\
         ssl_max_protocol_version = 'TLSv1.3'\n\
         shared_preload_libraries = 'pg_stat_statements'\n\
         wal_level = logical\n\
         wal_log_hints = on\n\
         full_page_writes = on\n\
         max_worker_processes = 32\n\
         max_parallel_workers = 32\n\
         max_replication_slots = 32\n\
         shared_memory_type = mmap\n\
         dynamic_shared_memory_type = posix\n\
         wal_sender_timeout = '5s'\n\
         wal_receiver_timeout = '5s'\n\
         archive_mode = off\n\
         logging_collector = off\n",
        dir = dir.display()
    )
}

/// A PostgreSQL 16 instance configured as the rendered Cluster's.
struct Instance {
    rendered: Rendered,
    sandbox: Sandbox,
    cluster: Value,
    port: u16,
    log: PathBuf,
    _server: ChildGuard,
}

impl Instance {
    fn start(args: &[&str]) -> Self {
        // With the Secret the operator makes for the initdb owner.
        let rendered = Rendered::of(&chart_dir("ha"), &[FROM_LOOPBACK, args].concat());
        let cluster = rendered.object("Cluster", "-postgresql").clone();
        let name = cluster["metadata"]["name"]
            .as_str()
            .expect("name")
            .to_string();
        let sandbox = Sandbox::new();
        let run = sandbox.mkdir("run");
        let data = sandbox.path().join("pgdata");
        run_ok(
            as_user(pg("initdb"))
                .args(["--username=postgres", "--encoding=UTF8", "--lc-collate=C"])
                .args([
                    "--lc-ctype=C",
                    "--auth-local=trust",
                    "--auth-host=reject",
                    "-D",
                ])
                .arg(&data),
        );
        let key = run.join("server.key");
        let crt = run.join("server.crt");
        run_ok(
            Command::new(common::tool("openssl"))
                .args([
                    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                ])
                .args(["-subj", &format!("/CN={name}-rw")])
                .arg("-keyout")
                .arg(&key)
                .arg("-out")
                .arg(&crt),
        );
        for f in [&key, &crt] {
            fs::set_permissions(f, std::os::unix::fs::PermissionsExt::from_mode(0o600))
                .expect("chmod");
            chown(f);
        }
        let port = free_port();
        let spec = &cluster["spec"]["postgresql"];
        let mut conf = operator_settings(&run, port);
        for (k, v) in spec["parameters"].as_object().expect("parameters") {
            let v = v.as_str().expect("parameters are strings");
            writeln!(conf, "{k} = '{}'", v.replace('\'', "''")).expect("a String");
        }
        write_owned(&data.join("postgresql.conf"), conf.as_bytes(), 0o600);
        // The operator's own first rules are local ones; then the Cluster's.
        let mut hba = String::from("local all all trust\n");
        for line in spec["pg_hba"].as_array().expect("pg_hba") {
            hba.push_str(line.as_str().expect("a pg_hba line"));
            hba.push('\n');
        }
        write_owned(&data.join("pg_hba.conf"), hba.as_bytes(), 0o600);
        let log = sandbox.path().join("postgres.log");
        let out = fs::File::create(&log).expect("log");
        let server = as_user(pg("postgres"))
            .arg("-D")
            .arg(&data)
            .stdout(out.try_clone().expect("log"))
            .stderr(out)
            .stdin(Stdio::null())
            .spawn()
            .expect("start postgres");
        let instance = Instance {
            rendered,
            sandbox,
            cluster,
            port,
            log,
            _server: ChildGuard(server),
        };
        wait_for(
            "PostgreSQL to accept connections",
            Duration::from_secs(60),
            || {
                as_user(pg("pg_isready"))
                    .args([
                        "-U",
                        "postgres",
                        "-h",
                        &run.display().to_string(),
                        "-p",
                        &port.to_string(),
                    ])
                    .status()
                    .ok()
                    .filter(std::process::ExitStatus::success)
            },
        );
        instance
    }

    /// The socket directory.
    fn run_dir(&self) -> PathBuf {
        self.sandbox.path().join("run")
    }

    /// SQL as the superuser over the local socket (as the operator's instance manager).
    fn sql(&self, db: &str, sql: &str) -> String {
        let out = run_ok(
            as_user(pg("psql"))
                .args(PSQL_SCRIPT)
                .args(["-U", "postgres"])
                .args(["-h", &self.run_dir().display().to_string()])
                .args(["-p", &self.port.to_string(), "-d", db, "-c", sql]),
        );
        String::from_utf8(out.stdout)
            .expect("UTF-8")
            .trim()
            .to_string()
    }

    /// The bootstrap of the operator's initdb Job: the owner role with the app Secret's
    /// password, postInitSQL in `postgres`, postInitTemplateSQL in `template1`, the app
    /// database, then postInitApplicationSQL in it.
    fn bootstrap(&self) {
        let initdb = &self.cluster["spec"]["bootstrap"]["initdb"];
        let owner = initdb["owner"].as_str().expect("owner");
        let db = initdb["database"].as_str().expect("database");
        self.sql(
            "postgres",
            &format!("CREATE ROLE {owner} LOGIN PASSWORD '{OPERATOR_APP_PASSWORD}'"),
        );
        let statements = |key: &str| -> Vec<String> {
            initdb[key]
                .as_array()
                .into_iter()
                .flatten()
                .map(|s| s.as_str().expect("SQL").to_string())
                .collect()
        };
        for s in statements("postInitSQL") {
            self.sql("postgres", &s);
        }
        for s in statements("postInitTemplateSQL") {
            self.sql("template1", &s);
        }
        self.sql("postgres", &format!("CREATE DATABASE {db} OWNER {owner}"));
        let app_sql = statements("postInitApplicationSQL");
        assert!(!app_sql.is_empty(), "the Cluster has post-init SQL");
        for s in app_sql {
            self.sql(db, &s);
        }
    }

    /// Container `name` of the app's Deployment, reaching this instance where the rendered
    /// URL names the Cluster's read-write Service.
    fn app_container(&self, name: &str) -> AppContainer {
        let mut a = AppContainer::of(&self.rendered, &self.sandbox, name);
        let cluster = self.cluster["metadata"]["name"].as_str().expect("name");
        let entry = a
            .env
            .iter_mut()
            .find(|(n, _)| n == "DATABASE_URL")
            .expect("DATABASE_URL");
        let service = format!("@{cluster}-rw:5432/");
        assert!(
            entry.1.contains(&service),
            "the app uses {service}: {}",
            entry.1
        );
        entry.1 = entry
            .1
            .replace(&service, &format!("@127.0.0.1:{}/", self.port));
        a
    }
}

/// The Cluster's parameters start PostgreSQL 16 cleanly, each in effect from the
/// configuration (none rejected, none pending a restart), the post-init SQL creates the
/// extensions, and pg_hba admits the app user over TLS only and nobody else.
#[test]
fn cluster_parameters_start_postgresql_16_and_the_post_init_sql_runs() {
    let i = Instance::start(&[]);
    i.bootstrap();
    let params = i.cluster["spec"]["postgresql"]["parameters"]
        .as_object()
        .expect("parameters");
    assert!(params.len() > 20, "{params:?}");
    // What alertchart refuses in cnpg.parameters as the chart's own is what the chart sets.
    let chart_set: Vec<&str> = alertchart::component::cloudnative_pg::CHART_PARAMETERS
        .iter()
        .map(|(name, _)| *name)
        .collect();
    assert_eq!(
        params.keys().map(String::as_str).collect::<Vec<_>>(),
        chart_set,
        "the Cluster's parameters and CHART_PARAMETERS"
    );
    for name in params.keys() {
        let row = i.sql(
            "postgres",
            &format!(
                "SELECT source || ' ' || pending_restart FROM pg_settings WHERE lower(name) = '{name}'"
            ),
        );
        assert_eq!(row, "configuration file false", "{name}");
    }
    let log = fs::read_to_string(&i.log).expect("log");
    // Start-up's only complaint may be the readiness polls of a server still starting.
    let problems: Vec<&str> = log
        .lines()
        .filter(|l| {
            ["invalid value", "unrecognized", "FATAL", "ERROR", "WARNING"]
                .iter()
                .any(|n| l.contains(n))
        })
        .filter(|l| !l.contains("the database system is starting up"))
        .collect();
    assert!(problems.is_empty(), "{problems:#?}");
    let db = "alert_history";
    assert_eq!(
        i.sql(
            db,
            "SELECT string_agg(extname, ',' ORDER BY extname) FROM pg_extension WHERE extname <> 'plpgsql'"
        ),
        "btree_gin,pg_stat_statements,pg_trgm"
    );
    let login = |user: &str, sslmode: &str| {
        Command::new(pg("psql"))
            .env_clear()
            .env("PATH", path_env())
            .env("PGPASSWORD", OPERATOR_APP_PASSWORD)
            .env("PGSSLMODE", sslmode)
            .env("PGCONNECT_TIMEOUT", "10")
            .args([
                "-X",
                "-A",
                "-t",
                "-h",
                "127.0.0.1",
                "-p",
                &i.port.to_string(),
            ])
            .args([
                "-U",
                user,
                "-d",
                db,
                "-c",
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            ])
            .output()
            .expect("psql")
    };
    let ok = login("alert_history", "require");
    assert!(ok.status.success(), "{}", output_text(&ok));
    assert_eq!(String::from_utf8_lossy(&ok.stdout).trim(), "t");
    let plain = login("alert_history", "disable");
    assert!(!plain.status.success(), "the app got in without TLS");
    assert!(
        output_text(&plain).contains("rejects connection"),
        "{}",
        output_text(&plain)
    );
    let superuser = login("postgres", "require");
    assert!(
        !superuser.status.success(),
        "postgres got in over the network"
    );
}

/// The app's `migrate` init container and the app, with the rendered Deployment's command
/// and environment (DATABASE_URL to `<cluster>-rw` with sslmode=require, the password from
/// `<cluster>-app`), migrate the schema and store an Alertmanager alert in the Cluster.
#[test]
fn the_app_runs_against_the_cluster_as_the_deployment_starts_it() {
    let i = Instance::start(&[]);
    i.bootstrap();
    let migrate = i.app_container("migrate").run();
    assert!(
        migrate.status.success(),
        "migrate: {}",
        output_text(&migrate)
    );
    let app = i
        .app_container("alert-history")
        .serve(&i.sandbox.path().join("app.log"));
    let alert = json!({
        "receiver": "alert-history",
        "status": "firing",
        "alerts": [{
            "status": "firing",
            "labels": {"alertname": "HaClusterTest", "severity": "warning"},
            "annotations": {"summary": "stored in the CloudNativePG cluster"},
            "startsAt": "2026-12-06T10:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "fingerprint": "a1b2c3d4e5f60718",
        }],
        "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {},
        "externalURL": "http://alertmanager", "version": "4", "groupKey": "{}:{}",
    });
    let (status, body) = app.post("/webhook/", &alert);
    assert_eq!(status, 200, "{body}\n{}", app.log_text());
    assert_eq!(
        i.sql(
            "alert_history",
            "SELECT status FROM alerts WHERE alert_name = 'HaClusterTest'"
        ),
        "firing"
    );
    let ssl = i.sql(
        "postgres",
        "SELECT bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.usename = 'alert_history'",
    );
    assert_eq!(ssl, "t", "the app connects over TLS");
}
