//! The `ha` profile's backups restore to a point in time: PostgreSQL 16 archiving WAL and
//! taking a base backup with barman-cloud 3.19.1 (the version plugin-barman-cloud v0.14.0's
//! sidecar ships) into moto's S3 server, with the command lines and environment the plugin
//! derives from the rendered `ObjectStore` and `Cluster` (`common::barman`), then restored
//! the way the plugin restores a Cluster in recovery mode.
//!
//! Adapted, and only this: no cluster, no operator. The server is one PostgreSQL 16 process
//! (the harness's pinned binaries) whose `archive_command` runs `barman-cloud-wal-archive`
//! directly with the plugin's arguments (in a pod the instance manager hands each segment to
//! the sidecar, which runs the same command; its spool and its parallelism are left out: with
//! `wal.maxParallel` it archives up to that many ready segments at once, and prefetches as many
//! on restore, each with the same command line; here one at a time). The object store is moto's S3 server on 127.0.0.1; its URL is the ObjectStore's
//! `endpointURL`. Servers and barman-cloud run as the test user (`TEST_RUN_AS_USER`) when the
//! tests run as root.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common;
use crate::common::barman::{
    self, BarmanTarget, S3Auth, S3Server, archive_target, backup_for_target, barman_cloud,
    recovery_target,
};
use crate::common::postgres::{
    PSQL_SCRIPT, Sandbox, as_user, chown, epoch_now, free_port, output_text, pg, wait_for,
    write_owned,
};

/// The server the `ha` chart's Cluster archives as (`cnpg.backup.serverName` unset: the
/// Cluster's name, release `ah`).
const ARCHIVED_SERVER: &str = "ah-alert-history-postgresql";

/// The objects the tests read, rendered by `helm template` from the committed `ha` chart
/// (release `ah`, namespace `alerts`) with `cnpg.backup.endpointUrl` = `endpoint_url`:
/// - the chart as installed: the ObjectStore and the Cluster archiving to it;
/// - the chart as its point-in-time recovery installs it (docs/backup-restore-cnpg.md):
///   `cnpg.recovery.enabled`, `sourceServerName` the archived server, `targetTime` =
///   `target_time` (none when empty), and another `cnpg.backup.serverName` (the chart refuses
///   to archive over the source);
/// - the credentials Secret the installer creates (`cnpg.backup.s3Credentials.existingSecret`,
///   which the chart names and does not render), with the keys the ObjectStore refers to.
fn ha_manifests(endpoint_url: &str, target_time: &str) -> Vec<Value> {
    let chart = common::chart_dir("ha");
    let endpoint = format!("cnpg.backup.endpointUrl={endpoint_url}");
    let mut docs = common::yaml_docs(&common::helm_template(&chart, &["--set", &endpoint]));
    let source = format!("cnpg.recovery.sourceServerName={ARCHIVED_SERVER}");
    let time = format!("cnpg.recovery.targetTime={target_time}");
    let server = format!("cnpg.backup.serverName={ARCHIVED_SERVER}-restored");
    let mut recovery = vec!["--set", &endpoint, "--set", "cnpg.recovery.enabled=true"];
    recovery.extend(["--set", &source, "--set", &server]);
    if !target_time.is_empty() {
        recovery.extend(["--set", &time]);
    }
    docs.extend(
        common::yaml_docs(&common::helm_template(&chart, &recovery))
            .into_iter()
            .filter(|d| d["kind"] == "Cluster"),
    );
    let creds = docs
        .iter()
        .find(|d| d["kind"] == "ObjectStore")
        .expect("the ha chart renders an ObjectStore")["spec"]["configuration"]["s3Credentials"]
        .clone();
    let mut data = serde_json::Map::new();
    for (selector, value) in [
        ("accessKeyId", "ah-backup-key"),
        ("secretAccessKey", "ah-backup-secret"),
    ] {
        let key = creds[selector]["key"].as_str().expect("Secret key");
        data.insert(
            key.to_string(),
            Value::from(common::base64_encode(value.as_bytes())),
        );
    }
    docs.push(serde_json::json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": creds["accessKeyId"]["name"], "namespace": "alerts"},
        "type": "Opaque",
        "data": data,
    }));
    docs
}

/// A recovery target time in the form the chart takes.
const TIME: &str = "2026-12-06 18:00:00+00:00";

/// The server's clock, in the form the chart's `cnpg.recovery.targetTime` takes.
const NOW_AS_TARGET_TIME: &str =
    "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00:00'";

/// The objects of [`ha_manifests`] by role.
struct Ha {
    docs: Vec<Value>,
}

impl Ha {
    fn new(endpoint_url: &str, target_time: &str) -> Self {
        Ha {
            docs: ha_manifests(endpoint_url, target_time),
        }
    }

    fn of_kind(&self, kind: &str) -> Vec<&Value> {
        self.docs.iter().filter(|d| d["kind"] == kind).collect()
    }

    fn secrets(&self) -> Vec<Value> {
        self.of_kind("Secret").into_iter().cloned().collect()
    }

    /// The Cluster whose WAL the plugin archives.
    fn archiving_cluster(&self) -> &Value {
        let found: Vec<&Value> = self
            .of_kind("Cluster")
            .into_iter()
            .filter(|c| c["spec"]["bootstrap"]["recovery"].is_null())
            .collect();
        assert_eq!(found.len(), 1, "one archiving Cluster expected");
        found[0]
    }

    /// The Cluster in recovery mode.
    fn recovery_cluster(&self) -> &Value {
        let found: Vec<&Value> = self
            .of_kind("Cluster")
            .into_iter()
            .filter(|c| !c["spec"]["bootstrap"]["recovery"].is_null())
            .collect();
        assert_eq!(found.len(), 1, "one recovering Cluster expected");
        found[0]
    }

    /// The ObjectStore the archiving Cluster's plugin entry names.
    fn object_store(&self) -> &Value {
        let cluster = self.archiving_cluster();
        let name = cluster["spec"]["plugins"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == barman::PLUGIN))
            .and_then(|p| p["parameters"]["barmanObjectName"].as_str())
            .expect("the Cluster names an ObjectStore");
        self.of_kind("ObjectStore")
            .into_iter()
            .find(|s| s["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no ObjectStore {name}"))
    }

    fn archive_target(&self) -> BarmanTarget {
        archive_target(
            self.object_store(),
            self.archiving_cluster(),
            &self.secrets(),
        )
    }
}

// ---------------------------------------------------------------------------------------
// A PostgreSQL 16 instance

/// One PostgreSQL 16 server of the sandbox, run as the test user with `pg_ctl`, on
/// 127.0.0.1 and a free port, with a socket directory in the sandbox. Extra environment
/// (barman-cloud's credentials for `archive_command` / `restore_command`) is the server's, as
/// the sidecar's environment is in a pod. Dropping it stops that server.
struct Instance {
    pgdata: PathBuf,
    sock: PathBuf,
    log: PathBuf,
    port: u16,
    env: Vec<(String, String)>,
    running: bool,
}

impl Instance {
    /// An instance of the data directory `<sandbox>/<name>` (created by initdb or a
    /// restore), not started.
    fn at(sandbox: &Sandbox, name: &str, env: Vec<(String, String)>) -> Self {
        Instance {
            pgdata: sandbox.path().join(name),
            sock: sandbox.mkdir(&format!("{name}-sock")),
            log: sandbox.path().join(format!("{name}.log")),
            port: free_port(),
            env,
            running: false,
        }
    }

    /// `initdb` as CloudNativePG runs it for a new cluster (superuser `postgres`, UTF8, C
    /// collation); local connections trusted: the tests connect over 127.0.0.1 only.
    fn initdb(sandbox: &Sandbox, name: &str, env: Vec<(String, String)>) -> Self {
        let i = Self::at(sandbox, name, env);
        common::run_ok(
            as_user(pg("initdb"))
                .arg("-D")
                .arg(&i.pgdata)
                .args([
                    "--username=postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--lc-collate=C",
                    "--lc-ctype=C",
                ])
                .stdout(Stdio::null()),
        );
        i
    }

    /// Appends settings to postgresql.conf (CloudNativePG writes its own configuration
    /// file; the settings are the ones it would put there).
    fn configure(&self, settings: &[(&str, String)]) {
        let file = self.pgdata.join("postgresql.conf");
        let mut text = fs::read_to_string(&file).expect("postgresql.conf");
        for (name, value) in settings {
            let _ = writeln!(text, "{name} = '{}'", value.replace('\'', "''"));
        }
        write_owned(&file, text.as_bytes(), 0o600);
    }

    fn start(&mut self) {
        let out = as_user(pg("pg_ctl"))
            .envs(self.env.iter().cloned())
            .args(["start", "-w", "-t", "300", "-D"])
            .arg(&self.pgdata)
            .arg("-l")
            .arg(&self.log)
            .arg("-o")
            .arg(format!(
                "-c port={} -c listen_addresses=127.0.0.1 -c unix_socket_directories={}",
                self.port,
                self.sock.display()
            ))
            .stdin(Stdio::null())
            .output()
            .expect("pg_ctl start");
        self.running = true;
        assert!(
            out.status.success(),
            "pg_ctl start failed:\n{}\n{}",
            output_text(&out),
            self.log_text()
        );
    }

    fn stop(&mut self, mode: &str) {
        if !self.running {
            return;
        }
        self.running = false;
        let _ = as_user(pg("pg_ctl"))
            .args(["stop", "-w", "-t", "120", "-m", mode, "-D"])
            .arg(&self.pgdata)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }

    fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// psql as `postgres` over TCP: unaligned tuples, fields separated by `|`.
    fn psql(&self) -> Command {
        let mut c = Command::new(pg("psql"));
        c.env_clear()
            .env("PGCONNECT_TIMEOUT", "10")
            .args(PSQL_SCRIPT)
            .args(["-h", "127.0.0.1"])
            .args([
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-d",
                "postgres",
            ]);
        c
    }

    fn sql(&self, sql: &str) -> String {
        let out = common::run_ok(self.psql().arg("-c").arg(sql));
        String::from_utf8(out.stdout)
            .expect("UTF-8")
            .trim_end_matches('\n')
            .to_string()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "--- server log {}:\n{}",
                self.log.display(),
                self.log_text()
            );
        }
        self.stop("immediate");
    }
}

// ---------------------------------------------------------------------------------------
// barman-cloud as the plugin runs it

/// Runs a barman-cloud command as the test user with `env` (the target's, see
/// [`BarmanTarget::env`]) in `cwd`, as the sidecar runs it; fails the test when it fails.
/// Returns its stdout.
fn run_barman_ok(name: &str, args: &[String], env: &[(String, String)], cwd: &Path) -> String {
    let out = as_user(barman_cloud(name))
        .args(args)
        .envs(env.iter().cloned())
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {name}: {e}"));
    assert!(
        out.status.success(),
        "{name} {args:?} failed ({}):\n{}",
        out.status,
        output_text(&out)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A command line PostgreSQL runs through `/bin/sh`: each argument single-quoted.
fn shell_line(program: &Path, args: &[String], tail: &str) -> String {
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let mut line = quote(&program.display().to_string());
    for a in args {
        line.push(' ');
        line.push_str(&quote(a));
    }
    line.push(' ');
    line.push_str(tail);
    line
}

/// The settings that make PostgreSQL archive every WAL segment with
/// `barman-cloud-wal-archive`, as the plugin archives them, with `archive_timeout`.
fn archive_settings(target: &BarmanTarget, archive_timeout: &str) -> Vec<(&'static str, String)> {
    vec![
        ("archive_mode", "on".to_string()),
        ("archive_timeout", archive_timeout.to_string()),
        (
            "archive_command",
            shell_line(
                &barman_cloud("barman-cloud-wal-archive"),
                &target.wal_archive_args(),
                "%p",
            ),
        ),
    ]
}

/// A sandbox with the target's bucket created on a new moto server, the environment
/// barman-cloud gets (credentials, TMPDIR), and an initialized, started instance archiving
/// with `archive_timeout`, after the plugin's check that the archive is empty.
/// Fields drop in order: the server stops before its sandbox goes, and moto last.
struct Archiving {
    primary: Instance,
    sandbox: Sandbox,
    target: BarmanTarget,
    env: Vec<(String, String)>,
    s3: S3Server,
}

impl Archiving {
    fn start(archive_timeout: &str) -> Self {
        let s3 = S3Server::start();
        let target = Ha::new(&s3.endpoint(), "").archive_target();
        let (bucket, _) = target.bucket_and_prefix();
        s3.create_bucket(&bucket);
        let sandbox = Sandbox::new();
        let tmp = sandbox.mkdir("tmp");
        let mut env = target.env(&sandbox.path().join("ca.crt"));
        env.push(("TMPDIR".to_string(), tmp.display().to_string()));
        let primary = Instance::initdb(&sandbox, "pgdata", env.clone());
        run_barman_ok(
            "barman-cloud-check-wal-archive",
            &target.check_wal_archive_args(),
            &env,
            sandbox.path(),
        );
        primary.configure(&archive_settings(&target, archive_timeout));
        let mut a = Archiving {
            primary,
            sandbox,
            target,
            env,
            s3,
        };
        a.primary.start();
        a
    }

    /// Keys of the server's directory in the bucket under `sub` (`wals/`, `base/`).
    fn keys(&self, sub: &str) -> Vec<String> {
        let (bucket, prefix) = self.target.bucket_and_prefix();
        self.s3.keys(&bucket, &format!("{prefix}{sub}"))
    }

    /// The key of an archived WAL segment (barman-cloud's layout:
    /// `wals/<timeline and log id>/<segment>.<compression>`).
    fn wal_key(&self, segment: &str) -> String {
        let (_, prefix) = self.target.bucket_and_prefix();
        let suffix = self
            .target
            .wal_compression
            .as_deref()
            .map(|c| match c {
                "gzip" => ".gz".to_string(),
                "bzip2" => ".bz2".to_string(),
                "zstd" => ".zst".to_string(),
                other => format!(".{other}"),
            })
            .unwrap_or_default();
        format!("{prefix}wals/{}/{segment}{suffix}", &segment[..16])
    }
}

/// The objects these tests read are what the operators accept: the ObjectStore against
/// plugin-barman-cloud v0.14.0's CRD, the archiving and the recovering Cluster against
/// CloudNativePG 1.30's (strict: no unknown fields).
#[test]
fn ha_objects_satisfy_the_cloudnative_pg_and_barman_cloud_crds() {
    let ha = Ha::new("https://s3.example.com", TIME);
    for store in ha.of_kind("ObjectStore") {
        barman::assert_valid_against_crd(store, "barmancloud.cnpg.io_objectstores.yaml");
    }
    for cluster in ha.of_kind("Cluster") {
        barman::assert_valid_against_crd(cluster, "postgresql.cnpg.io_clusters.yaml");
    }
}

/// The command lines and environment follow plugin-barman-cloud v0.14.0 for the rendered
/// objects: every field of the mapping (destination, endpoint, server name, compression of
/// WAL and data, immediate checkpoint, keys from the Secret), for every barman-cloud command
/// the plugin runs; the recovery Cluster restores the server the archiving Cluster archives.
#[test]
fn barman_cloud_command_lines_follow_the_plugin_for_the_rendered_objects() {
    let ha = Ha::new("https://s3.example.com", TIME);
    let t = ha.archive_target();
    // The times the restore compares (the server's, barman's ISO end times) as epochs.
    let same = |a: f64, b: f64| (a - b).abs() < 1e-6;
    assert!(same(barman::epoch_of("1970-01-01T00:00:00Z"), 0.0));
    assert!(same(
        barman::epoch_of("2026-12-06 18:00:00.25+00"),
        barman::epoch_of("2026-12-06T19:00:00.25+01:00")
    ));
    assert!(same(
        barman::epoch_of("2026-12-06T18:00:00+00:00"),
        1_796_580_000.25 - 0.25
    ));
    let s = |v: &[&str]| -> Vec<String> { v.iter().map(ToString::to_string).collect() };
    let ep = ["--endpoint-url", "https://s3.example.com"];
    let aws = ["--cloud-provider", "aws-s3"];
    let dest = ["s3://alert-history-backups/postgresql", ARCHIVED_SERVER];
    assert_eq!(
        t.wal_archive_args(),
        s(&[&["--gzip"][..], &ep, &aws, &dest].concat())
    );
    assert_eq!(
        t.backup_args("backup-20261206180000"),
        s(&[
            &[
                "--user",
                "postgres",
                "--name",
                "backup-20261206180000",
                "--gzip"
            ][..],
            &["--immediate-checkpoint"],
            &ep,
            &aws,
            &dest
        ]
        .concat())
    );
    assert_eq!(
        t.check_wal_archive_args(),
        s(&[&ep[..], &aws, &dest].concat())
    );
    assert_eq!(t.wal_restore_args(), s(&[&ep[..], &aws, &dest].concat()));
    assert_eq!(
        t.backup_list_args(),
        s(&[&["--format", "json"][..], &ep, &aws, &dest].concat())
    );
    assert_eq!(
        t.restore_args(
            "20261206T180000",
            Path::new("/var/lib/postgresql/data/pgdata")
        ),
        s(&[
            &aws[..],
            &ep,
            &dest,
            &["20261206T180000", "/var/lib/postgresql/data/pgdata"]
        ]
        .concat())
    );
    let ca = Path::new("/controller/certificates/barman-ca.crt");
    assert_eq!(
        t.env(ca),
        [
            ("AWS_ACCESS_KEY_ID".to_string(), "ah-backup-key".to_string()),
            (
                "AWS_SECRET_ACCESS_KEY".to_string(),
                "ah-backup-secret".to_string()
            ),
        ]
    );
    assert_eq!(
        t.bucket_and_prefix(),
        (
            "alert-history-backups".to_string(),
            format!("postgresql/{ARCHIVED_SERVER}/")
        )
    );

    // The recovery Cluster restores what the archiving Cluster archived.
    let (r, time) = recovery_target(
        ha.recovery_cluster(),
        &ha.of_kind("ObjectStore"),
        &ha.secrets(),
    );
    assert_eq!(r, t);
    assert_eq!(time.as_deref(), Some(TIME));
}

/// The variants of the objects the chart may render follow the plugin too: snappy,
/// encryption and the data options, the server name defaulting to the Cluster's name,
/// credentials from the IAM role (none in the environment) and an endpoint CA
/// (`AWS_CA_BUNDLE` naming the file of the CA from its Secret).
#[test]
fn barman_cloud_command_lines_follow_the_plugin_for_every_object_store_option() {
    let ha = Ha::new("https://s3.example.com", TIME);
    let s = |v: &[&str]| -> Vec<String> { v.iter().map(|x| (*x).to_string()).collect() };
    let ep = ["--endpoint-url", "https://s3.example.com"];
    let aws = ["--cloud-provider", "aws-s3"];
    let dest = ["s3://alert-history-backups/postgresql", ARCHIVED_SERVER];
    let ca = Path::new("/controller/certificates/barman-ca.crt");
    let mut store = ha.object_store().clone();
    let mut cluster = ha.archiving_cluster().clone();
    let config = &mut store["spec"]["configuration"];
    config["wal"] = serde_json::json!({"compression": "snappy", "encryption": "aws:kms"});
    config["data"] = serde_json::json!({
        "compression": "snappy", "encryption": "AES256", "immediateCheckpoint": true, "jobs": 4
    });
    config["s3Credentials"] = serde_json::json!({"inheritFromIAMRole": true});
    config["endpointCA"] = serde_json::json!({"name": "ah-s3-ca", "key": "ca.crt"});
    cluster["spec"]["plugins"][0]["parameters"]
        .as_object_mut()
        .expect("parameters")
        .remove("serverName");
    barman::assert_valid_against_crd(&store, "barmancloud.cnpg.io_objectstores.yaml");
    barman::assert_valid_against_crd(&cluster, "postgresql.cnpg.io_clusters.yaml");
    let ca_secret = serde_json::json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "ah-s3-ca"}, "stringData": {"ca.crt": "-----BEGIN CERTIFICATE-----\n"}
    });
    let v = archive_target(&store, &cluster, &[ca_secret]);
    assert_eq!(
        v.server_name, ARCHIVED_SERVER,
        "defaults to the Cluster's name"
    );
    assert_eq!(v.auth, S3Auth::IamRole);
    assert_eq!(
        v.endpoint_ca.as_deref(),
        Some("-----BEGIN CERTIFICATE-----\n")
    );
    assert_eq!(
        v.env(ca),
        [(
            "AWS_CA_BUNDLE".to_string(),
            "/controller/certificates/barman-ca.crt".to_string()
        )]
    );
    assert_eq!(
        v.wal_archive_args(),
        s(&[&["--snappy", "-e", "aws:kms"][..], &ep, &aws, &dest].concat())
    );
    assert_eq!(
        v.backup_args("b"),
        s(&[
            &[
                "--user",
                "postgres",
                "--name",
                "b",
                "--snappy",
                "--encryption",
                "AES256"
            ][..],
            &["--immediate-checkpoint", "--jobs", "4"],
            &ep,
            &aws,
            &dest
        ]
        .concat())
    );
}

/// A snappy-compressed ObjectStore archives a WAL segment as `<segment>.snappy` and
/// restores it byte for byte (barman-cloud's snappy support is an optional extra, installed
/// as the sidecar has it).
#[test]
fn snappy_compressed_wal_archives_and_restores_byte_identical() {
    let s3 = S3Server::start();
    let ha = Ha::new(&s3.endpoint(), "");
    let mut store = ha.object_store().clone();
    store["spec"]["configuration"]["wal"]["compression"] = "snappy".into();
    let target = archive_target(&store, ha.archiving_cluster(), &ha.secrets());
    let (bucket, prefix) = target.bucket_and_prefix();
    s3.create_bucket(&bucket);
    let sandbox = Sandbox::new();
    let env = target.env(&sandbox.path().join("ca.crt"));
    let i = Instance::initdb(&sandbox, "pgdata", env.clone());
    let segment = "000000010000000000000001";
    let mut args = target.wal_archive_args();
    args.push(format!("pg_wal/{segment}"));
    run_barman_ok("barman-cloud-wal-archive", &args, &env, &i.pgdata);
    assert_eq!(
        s3.keys(&bucket, &format!("{prefix}wals/")),
        [format!("{prefix}wals/0000000100000000/{segment}.snappy")]
    );
    let restored = sandbox.path().join("restored");
    let mut args = target.wal_restore_args();
    args.extend([segment.to_string(), restored.display().to_string()]);
    run_barman_ok("barman-cloud-wal-restore", &args, &env, sandbox.path());
    assert!(
        fs::read(&restored).expect("restored segment")
            == fs::read(i.pgdata.join("pg_wal").join(segment)).expect("segment"),
        "the restored segment differs from the archived one"
    );
}

/// Point-in-time recovery from the object store, as the plugin runs it: a base backup with
/// `barman-cloud-backup` (named as the plugin names it) of a server archiving with
/// `barman-cloud-wal-archive`; three rows, the target time (the server's clock), three more
/// rows, a WAL switch until the segment is in the bucket; the server stopped. Then, for the
/// recovery Cluster: the backup chosen from `barman-cloud-backup-list` for the target time,
/// its first WAL checked with `barman-cloud-wal-restore`, `barman-cloud-restore` into a new
/// data directory, `restore_command` = `barman-cloud-wal-restore`, `recovery_target_time`
/// from the Cluster, `recovery_target_action = promote`, `recovery.signal`; started. Exactly
/// the rows before the target exist, on a new timeline, promoted; the bucket holds the WAL
/// and the base backup under `<destinationPath>/<serverName>/`. Prints the restore time
/// (RTO on this machine).
/// Adapted: `archive_timeout` 60 s (irrelevant here: the test switches segments itself);
/// the restored server does not archive (the chart's recovery Cluster would, under another
/// serverName).
#[test]
fn point_in_time_restore_from_the_object_store_recovers_exactly_the_rows_before_the_target() {
    let mut a = Archiving::start("60s");
    let p = &a.primary;
    p.sql(
        "CREATE TABLE drill (id serial PRIMARY KEY, phase text NOT NULL, \
         at timestamptz NOT NULL DEFAULT clock_timestamp())",
    );
    // Some volume, so that the restore time means something: ~90 MB of table.
    p.sql("CREATE TABLE filler AS SELECT g, md5(g::text) AS h FROM generate_series(1, 1000000) g");
    let db_size = p.sql("SELECT pg_size_pretty(pg_database_size('postgres'))");

    let name = format!(
        "backup-{}",
        p.sql("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDDHH24MISS')")
    );
    let mut backup_env = a.env.clone();
    backup_env.extend([
        ("PGHOST".to_string(), "127.0.0.1".to_string()),
        ("PGPORT".to_string(), p.port.to_string()),
    ]);
    let t0 = Instant::now();
    run_barman_ok(
        "barman-cloud-backup",
        &a.target.backup_args(&name),
        &backup_env,
        a.sandbox.path(),
    );
    let backup_secs = t0.elapsed().as_secs_f64();

    for _ in 0..3 {
        p.sql("INSERT INTO drill (phase) VALUES ('before')");
    }
    let target_time = p.sql(NOW_AS_TARGET_TIME);
    for _ in 0..3 {
        p.sql("INSERT INTO drill (phase) VALUES ('after')");
    }
    let segment = p.sql("SELECT pg_walfile_name(pg_switch_wal())");
    let key = a.wal_key(&segment);
    wait_for(
        &format!("{key} in the bucket"),
        Duration::from_secs(120),
        || a.keys("wals/").contains(&key).then_some(()),
    );
    a.primary.stop("fast");

    // The recovery Cluster, rendered with the target time.
    let ha = Ha::new(&a.s3.endpoint(), &target_time);
    let (target, time) = recovery_target(
        ha.recovery_cluster(),
        &ha.of_kind("ObjectStore"),
        &ha.secrets(),
    );
    assert_eq!(
        target, a.target,
        "the recovery Cluster restores another server"
    );
    let time = time.expect("the recovery Cluster has a target time");
    assert_eq!(time, target_time);

    let r = restore_as_the_plugin(&a, &target, &time);
    assert_eq!(r.backup["backup_name"], name.as_str(), "{}", r.backup);
    let backup_id = r.backup["backup_id"]
        .as_str()
        .expect("backup_id")
        .to_string();
    let begin_wal = r.backup["begin_wal"]
        .as_str()
        .expect("begin_wal")
        .to_string();
    let restored = &r.instance;

    assert_eq!(
        restored.sql("SELECT phase, count(*) FROM drill GROUP BY phase ORDER BY phase"),
        "before|3",
        "rows after restoring to {time}"
    );
    assert_eq!(restored.sql("SELECT count(*) FROM filler"), "1000000");
    let log = restored.log_text();
    for needle in [
        &format!("restored log file \"{segment}\" from archive"),
        "recovery stopping before commit",
        "selected new timeline ID: 2",
        "archive recovery complete",
    ] {
        assert!(log.contains(needle), "server log lacks {needle:?}:\n{log}");
    }
    let (_, prefix) = a.target.bucket_and_prefix();
    let base = a.keys("base/");
    for file in ["backup.info", "data.tar.gz"] {
        let k = format!("{prefix}base/{backup_id}/{file}");
        assert!(base.contains(&k), "{k} not in the bucket: {base:?}");
    }
    let wals = a.keys("wals/");
    assert!(
        wals.contains(&a.wal_key(&begin_wal))
            && wals.iter().all(|k| k.rsplit('.').next() == Some("gz")),
        "WAL archive: {wals:?}"
    );
    println!(
        "ha PITR: database {db_size}; base backup {backup_secs:.1} s; {} WAL segments, {} base \
         backup files in the bucket; RTO {:.1} s (backup list + first-WAL check + \
         barman-cloud-restore {:.1} s + start and WAL replay to the target {:.1} s)",
        wals.len(),
        base.len(),
        r.rto,
        r.restore_secs,
        r.recovery_secs
    );
}

/// A server restored as the plugin restores a recovery Cluster, with what it took.
struct Restored {
    instance: Instance,
    /// The backup chosen from the catalog.
    backup: Value,
    /// Seconds from listing the catalog to the promoted server (the RTO on this machine),
    /// of `barman-cloud-restore`, and of the server's start and WAL replay.
    rto: f64,
    restore_secs: f64,
    recovery_secs: f64,
}

/// The plugin's restore of `target` to `time` (`internal/cnpgi/restore/restore.go`): the
/// backup chosen from `barman-cloud-backup-list` for the target time, the archive checked for
/// the backup's first WAL segment, `barman-cloud-restore` into a new data directory; then the
/// recovery configuration CloudNativePG writes (`restore_command` through the plugin's
/// `barman-cloud-wal-restore`, `recovery_target_time`, `recovery_target_action = promote`,
/// `recovery.signal`), started until promoted.
fn restore_as_the_plugin(a: &Archiving, target: &BarmanTarget, time: &str) -> Restored {
    let started = Instant::now();
    let list = run_barman_ok(
        "barman-cloud-backup-list",
        &target.backup_list_args(),
        &a.env,
        a.sandbox.path(),
    );
    let backup = backup_for_target(&list, time);
    let backup_id = backup["backup_id"].as_str().expect("backup_id").to_string();
    let begin_wal = backup["begin_wal"].as_str().expect("begin_wal").to_string();
    // The plugin first checks that the archive has the backup's first segment.
    let mut check = target.wal_restore_args();
    check.extend([
        begin_wal.clone(),
        a.sandbox.path().join("tmp/test.wal").display().to_string(),
    ]);
    run_barman_ok("barman-cloud-wal-restore", &check, &a.env, a.sandbox.path());
    let mut restored = Instance::at(&a.sandbox, "restored", a.env.clone());
    let restore_started = Instant::now();
    run_barman_ok(
        "barman-cloud-restore",
        &target.restore_args(&backup_id, &restored.pgdata),
        &a.env,
        a.sandbox.path(),
    );
    let restore_secs = restore_started.elapsed().as_secs_f64();
    fs::set_permissions(
        &restored.pgdata,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .expect("chmod");
    chown(&restored.pgdata);
    restored.configure(&[
        ("archive_mode", "off".to_string()),
        (
            "restore_command",
            shell_line(
                &barman_cloud("barman-cloud-wal-restore"),
                &target.wal_restore_args(),
                "%f %p",
            ),
        ),
        ("recovery_target_time", time.to_string()),
        ("recovery_target_action", "promote".to_string()),
    ]);
    write_owned(&restored.pgdata.join("recovery.signal"), b"", 0o600);
    let start_began = Instant::now();
    restored.start();
    wait_for("the end of recovery", Duration::from_secs(300), || {
        (restored.sql("SELECT pg_is_in_recovery()") == "f").then_some(())
    });
    let rto = started.elapsed().as_secs_f64();
    let recovery_secs = start_began.elapsed().as_secs_f64();
    Restored {
        instance: restored,
        backup,
        rto,
        restore_secs,
        recovery_secs,
    }
}

/// archive_timeout bounds how long a committed transaction waits for its WAL segment to be
/// in the bucket: under a steady small write load (one committed row every 0.2 s for 20 s)
/// segments are switched by the timeout and uploaded by `barman-cloud-wal-archive`, and
/// every commit's segment appears in the bucket (polled every 0.1 s) no later than
/// archive_timeout after the commit, plus a slack for the upload on a loaded machine.
/// Prints the measured lag (the RPO of losing the primary and its volume).
/// Adapted: `archive_timeout` 5 s instead of CloudNativePG's default 5 min, to keep the test
/// short (the mechanism is the same).
#[test]
fn archive_timeout_bounds_how_long_a_commit_waits_for_its_segment_in_the_bucket() {
    let timeout = 5.0;
    let a = Archiving::start("5s");
    let p = &a.primary;
    p.sql("CREATE TABLE rpo (id bigserial PRIMARY KEY, pad text)");
    // PostgreSQL 16's checkpointer computes its first sleep before archive_timeout counts
    // (docs/backup-restore.md, "Measured"): wake it once, as the first checkpoint would.
    p.sql("SELECT pg_reload_conf()");
    let mut load = String::new();
    for _ in 0..100 {
        load.push_str(
            "INSERT INTO rpo (pad) VALUES (repeat('x', 200));\n\
             SELECT pg_walfile_name(pg_current_wal_insert_lsn()), \
                    extract(epoch FROM clock_timestamp());\n\
             SELECT pg_sleep(0.2);\n",
        );
    }
    let mut child = p
        .psql()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("psql");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || {
        use std::io::Write as _;
        stdin.write_all(load.as_bytes()).expect("write the load");
    });
    // First time each key is seen in the bucket, polled while the load runs.
    let mut seen: BTreeMap<String, f64> = BTreeMap::new();
    let poll = |seen: &mut BTreeMap<String, f64>| {
        let now = epoch_now();
        for k in a.keys("wals/") {
            seen.entry(k).or_insert(now);
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    while child.try_wait().expect("psql").is_none() {
        poll(&mut seen);
    }
    writer.join().expect("writer");
    let out = child.wait_with_output().expect("psql output");
    assert!(out.status.success(), "{}", output_text(&out));
    let commits: Vec<(String, f64)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (seg, t) = l.split_once('|')?;
            Some((seg.to_string(), t.parse().ok()?))
        })
        .collect();
    assert_eq!(commits.len(), 100);
    let last_key = a.wal_key(&commits.last().expect("commits").0);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !seen.contains_key(&last_key) {
        assert!(
            Instant::now() < deadline,
            "{last_key} never reached the bucket"
        );
        poll(&mut seen);
    }
    let mut waits: Vec<f64> = commits
        .iter()
        .map(|(seg, t)| seen[&a.wal_key(seg)] - t)
        .collect();
    waits.sort_by(f64::total_cmp);
    let segments: std::collections::BTreeSet<&str> =
        commits.iter().map(|(s, _)| s.as_str()).collect();
    let max = *waits.last().expect("waits");
    let median = waits[waits.len() / 2];
    assert_eq!(p.sql("SELECT failed_count FROM pg_stat_archiver"), "0");
    assert!(
        segments.len() >= 3,
        "archive_timeout did not switch segments: {segments:?}"
    );
    assert!(
        waits[0] >= 0.0,
        "a segment was in the bucket before its commit?"
    );
    assert!(
        max <= timeout + 5.0,
        "a commit waited {max:.1} s for the bucket (archive_timeout {timeout} s)"
    );
    println!(
        "ha RPO: archive_timeout {timeout} s; {} segments; commit-to-bucket lag median \
         {median:.2} s, max {max:.2} s (upload lag beyond the timeout: {:.2} s)",
        segments.len(),
        max - timeout
    );
}
