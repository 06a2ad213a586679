//! barman-cloud on real software, for the `ha` profile (CloudNativePG with
//! plugin-barman-cloud v0.14.0): moto's S3 server as the object store, and the barman-cloud
//! command lines the plugin's sidecar runs for a rendered `ObjectStore` and `Cluster`.
//!
//! The command lines reproduce, flag for flag and in the same order, what the plugin builds
//! through its library `github.com/cloudnative-pg/barman-cloud` (the commit its go.mod pins at
//! v0.14.0, 950b0f57e122):
//! - `barman-cloud-wal-archive`: `pkg/archiver/command.go` `BarmanCloudWalArchiveOptions`;
//! - `barman-cloud-check-wal-archive`: `pkg/archiver/archiver.go`
//!   `BarmanCloudCheckWalArchiveOptions`;
//! - `barman-cloud-backup`: `pkg/backup/backup.go` `GetBarmanCloudBackupOptions` and
//!   `GetDataConfiguration`;
//! - `barman-cloud-backup-list`: `pkg/command/backuplist.go` `executeQueryCommand`;
//! - `barman-cloud-wal-restore`: `pkg/command/commandbuilder.go` `CloudWalRestoreOptions`;
//! - `barman-cloud-restore`: the plugin's `internal/cnpgi/restore/restore.go`
//!   `restoreDataDir`;
//! - the cloud provider flag: `pkg/command/commandbuilder.go` `appendCloudProviderOptions`;
//! - the environment (credentials, CA bundle): `pkg/credentials/env.go`
//!   `EnvSetCloudCredentialsAndCertificates`;
//! - the server names: the plugin's `internal/cnpgi/operator/config/config.go`
//!   `NewFromCluster`.
//!
//! Settings this harness does not reproduce (Azure, Google, tags, additional command
//! arguments, session tokens, regions) fail the test instead of being ignored, so a chart
//! that starts using one is noticed here.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use crate::common;
use crate::common::postgres::{ChildGuard, as_user, free_port, http_request, tools_env, wait_for};

/// The plugin's name in a Cluster's `spec.plugins` and `spec.externalClusters[].plugin`.
pub const PLUGIN: &str = "barman-cloud.cloudnative-pg.io";

const MISSING: &str = "run `scripts/test.sh` (scripts/install-tools.sh installs barman-cloud \
                       and moto into .tools/), or `source .tools/env.sh` before `cargo test`";

/// A barman-cloud command (`barman-cloud-backup`, ...): `$BARMAN_BIN/<name>`, else
/// `.tools/barman/bin/<name>`. Missing, it fails the test (never skips).
pub fn barman_cloud(name: &str) -> PathBuf {
    let dir = tools_env("BARMAN_BIN")
        .filter(|s| !s.is_empty())
        .map_or_else(|| common::repo().join(".tools/barman/bin"), PathBuf::from);
    let p = dir.join(name);
    assert!(p.is_file(), "{} is missing: {MISSING}", p.display());
    p
}

/// moto's `moto_server`: `$MOTO_SERVER`, else `.tools/moto/bin/moto_server`.
fn moto_server() -> PathBuf {
    let p = tools_env("MOTO_SERVER")
        .filter(|s| !s.is_empty())
        .map_or_else(
            || common::repo().join(".tools/moto/bin/moto_server"),
            PathBuf::from,
        );
    assert!(p.is_file(), "{} is missing: {MISSING}", p.display());
    p
}

// ---------------------------------------------------------------------------------------
// moto's S3 server

/// moto's S3 server on 127.0.0.1 on a free port, run like the PostgreSQL servers (as the test
/// user when the tests run as root). Dropping it kills exactly that process: `setpriv` execs
/// `moto_server`, which serves from the one process it starts as.
pub struct S3Server {
    pub port: u16,
    _child: ChildGuard,
}

impl S3Server {
    /// Starts the server and waits until it answers.
    pub fn start() -> Self {
        let port = free_port();
        let child = as_user(moto_server())
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start moto_server: {e}"));
        let server = S3Server {
            port,
            _child: ChildGuard(child),
        };
        wait_for("moto's S3 server", Duration::from_secs(60), || {
            server.request("GET", "/").ok().map(|_| ())
        });
        server
    }

    /// The endpoint URL clients use.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// An unsigned S3 request (moto does not check signatures): `(status line, body)`.
    fn request(&self, method: &str, path: &str) -> std::io::Result<(String, String)> {
        http_request(self.port, method, path)
    }

    pub fn create_bucket(&self, bucket: &str) {
        let (status, body) = self
            .request("PUT", &format!("/{bucket}"))
            .expect("PUT bucket");
        assert!(
            status.contains(" 200"),
            "create bucket {bucket}: {status}\n{body}"
        );
    }

    /// The keys of a bucket under `prefix`, sorted.
    pub fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let (status, body) = self
            .request("GET", &format!("/{bucket}?list-type=2&prefix={prefix}"))
            .expect("list objects");
        assert!(
            status.contains(" 200"),
            "list {bucket}/{prefix}: {status}\n{body}"
        );
        // One page holds 1000 keys, more than any test writes.
        assert!(
            !body.contains("<IsTruncated>true</IsTruncated>"),
            "more keys than one page"
        );
        let mut keys: Vec<String> = body
            .split("<Key>")
            .skip(1)
            .filter_map(|s| s.split_once("</Key>").map(|(k, _)| k.to_string()))
            .collect();
        keys.sort();
        keys
    }
}

// ---------------------------------------------------------------------------------------
// From the rendered objects to barman-cloud's command lines

/// How barman-cloud authenticates to S3.
#[derive(Debug, Clone, PartialEq)]
pub enum S3Auth {
    /// `s3Credentials.accessKeyId` / `secretAccessKey`, read from their Secret.
    Keys {
        access_key_id: String,
        secret_access_key: String,
    },
    /// `s3Credentials.inheritFromIAMRole: true`: no credentials in the environment.
    IamRole,
}

/// What barman-cloud needs to reach one server's backups in an `ObjectStore`.
#[derive(Debug, Clone, PartialEq)]
pub struct BarmanTarget {
    /// `spec.configuration.destinationPath`, e.g. `s3://bucket/path`.
    pub destination_path: String,
    /// `spec.configuration.endpointURL`.
    pub endpoint_url: Option<String>,
    /// The directory of this server under the destination path.
    pub server_name: String,
    /// `wal.compression` / `wal.encryption`.
    pub wal_compression: Option<String>,
    pub wal_encryption: Option<String>,
    /// `data.compression` / `data.encryption` / `data.immediateCheckpoint` / `data.jobs`.
    pub data_compression: Option<String>,
    pub data_encryption: Option<String>,
    pub immediate_checkpoint: bool,
    pub jobs: Option<u64>,
    pub auth: S3Auth,
    /// The PEM of `endpointCA` (from its Secret): barman-cloud trusts it through
    /// `AWS_CA_BUNDLE`.
    pub endpoint_ca: Option<String>,
}

/// The value a `{name, key}` Secret selector refers to, among the `secrets` documents.
fn secret_value(secrets: &[Value], selector: &Value, what: &str) -> String {
    let name = selector["name"]
        .as_str()
        .unwrap_or_else(|| panic!("{what}: no Secret name in {selector}"));
    let key = selector["key"]
        .as_str()
        .unwrap_or_else(|| panic!("{what}: no Secret key in {selector}"));
    let secret = secrets
        .iter()
        .find(|d| d["kind"] == "Secret" && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("{what}: no Secret {name}"));
    common::secret_data(secret, key)
        .unwrap_or_else(|| panic!("{what}: Secret {name} has no key {key}"))
}

/// The parameters of the plugin's entry in a Cluster's `spec.plugins`, if enabled
/// (`enabled` defaults to true).
fn plugin_parameters(cluster: &Value) -> Option<&Value> {
    cluster["spec"]["plugins"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == PLUGIN && p["enabled"] != false)
        .map(|p| &p["parameters"])
}

fn name_of(doc: &Value) -> &str {
    doc["metadata"]["name"].as_str().expect("metadata.name")
}

/// The target of an `ObjectStore`'s configuration for a server.
fn target_of(object_store: &Value, default_server: &str, secrets: &[Value]) -> BarmanTarget {
    assert_eq!(
        object_store["apiVersion"], "barmancloud.cnpg.io/v1",
        "not an ObjectStore: {object_store}"
    );
    let config = &object_store["spec"]["configuration"];
    let what = format!("ObjectStore {}", name_of(object_store));
    for unsupported in [
        "azureCredentials",
        "googleCredentials",
        "tags",
        "historyTags",
    ] {
        assert!(
            config[unsupported].is_null(),
            "{what}: {unsupported} is not reproduced by this harness"
        );
    }
    for (section, keys) in [
        (
            "wal",
            &[
                "archiveAdditionalCommandArgs",
                "restoreAdditionalCommandArgs",
            ][..],
        ),
        (
            "data",
            &["additionalCommandArgs", "restoreAdditionalCommandArgs"][..],
        ),
    ] {
        for key in keys {
            assert!(
                config[section][key].is_null(),
                "{what}: {section}.{key} is not reproduced by this harness"
            );
        }
    }
    let creds = &config["s3Credentials"];
    assert!(creds.is_object(), "{what}: no s3Credentials");
    for unsupported in ["region", "sessionToken"] {
        assert!(
            creds[unsupported].is_null(),
            "{what}: s3Credentials.{unsupported} is not reproduced by this harness"
        );
    }
    // As the library: inheritFromIAMRole wins over keys (env.go returns before reading them).
    let auth = if creds["inheritFromIAMRole"] == true {
        S3Auth::IamRole
    } else {
        S3Auth::Keys {
            access_key_id: secret_value(secrets, &creds["accessKeyId"], &what),
            secret_access_key: secret_value(secrets, &creds["secretAccessKey"], &what),
        }
    };
    let text = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(str::to_string);
    BarmanTarget {
        destination_path: text(&config["destinationPath"])
            .unwrap_or_else(|| panic!("{what}: no destinationPath")),
        endpoint_url: text(&config["endpointURL"]),
        // The library lets the ObjectStore's own serverName override the Cluster's.
        server_name: text(&config["serverName"]).unwrap_or_else(|| default_server.to_string()),
        wal_compression: text(&config["wal"]["compression"]),
        wal_encryption: text(&config["wal"]["encryption"]),
        data_compression: text(&config["data"]["compression"]),
        data_encryption: text(&config["data"]["encryption"]),
        immediate_checkpoint: config["data"]["immediateCheckpoint"] == true,
        jobs: config["data"]["jobs"].as_u64(),
        auth,
        endpoint_ca: (!config["endpointCA"].is_null())
            .then(|| secret_value(secrets, &config["endpointCA"], &what)),
    }
}

/// Where a Cluster archives its WAL and base backups: the `ObjectStore` its plugin entry
/// names (`parameters.barmanObjectName`), for the server name `parameters.serverName`,
/// defaulting to the Cluster's name as the plugin does. The plugin must be the Cluster's WAL
/// archiver. `secrets` are the Secret documents the credentials refer to.
pub fn archive_target(object_store: &Value, cluster: &Value, secrets: &[Value]) -> BarmanTarget {
    let plugin = cluster["spec"]["plugins"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == PLUGIN))
        .unwrap_or_else(|| panic!("Cluster {} has no {PLUGIN} plugin", name_of(cluster)));
    assert_eq!(
        plugin["isWALArchiver"],
        true,
        "the plugin is not the WAL archiver of Cluster {}",
        name_of(cluster)
    );
    let params = plugin_parameters(cluster).expect("the plugin is enabled");
    assert_eq!(
        params["barmanObjectName"].as_str(),
        Some(name_of(object_store)),
        "Cluster {} archives to another ObjectStore",
        name_of(cluster)
    );
    let server = params["serverName"]
        .as_str()
        .unwrap_or_else(|| name_of(cluster));
    target_of(object_store, server, secrets)
}

/// What a Cluster in recovery mode restores: `spec.bootstrap.recovery.source` names an
/// external cluster whose plugin entry names the `ObjectStore` (`barmanObjectName`) and the
/// server (`serverName`, defaulting to the recovering Cluster's own name, as the plugin does);
/// with the recovery target time (`recoveryTarget.targetTime`), if any.
pub fn recovery_target(
    cluster: &Value,
    object_stores: &[&Value],
    secrets: &[Value],
) -> (BarmanTarget, Option<String>) {
    let recovery = &cluster["spec"]["bootstrap"]["recovery"];
    let source = recovery["source"].as_str().unwrap_or_else(|| {
        panic!(
            "Cluster {} does not recover from a source",
            name_of(cluster)
        )
    });
    let external = cluster["spec"]["externalClusters"]
        .as_array()
        .and_then(|es| es.iter().find(|e| e["name"] == source))
        .unwrap_or_else(|| panic!("no external cluster {source}"));
    assert_eq!(
        external["plugin"]["name"], PLUGIN,
        "{source} is not restored by the plugin"
    );
    let params = &external["plugin"]["parameters"];
    let store_name = params["barmanObjectName"]
        .as_str()
        .unwrap_or_else(|| panic!("{source}: no barmanObjectName"));
    let store = object_stores
        .iter()
        .find(|s| name_of(s) == store_name)
        .unwrap_or_else(|| panic!("no ObjectStore {store_name}"));
    let server = params["serverName"]
        .as_str()
        .unwrap_or_else(|| name_of(cluster));
    let target_time = recovery["recoveryTarget"]["targetTime"]
        .as_str()
        .map(str::to_string);
    (target_of(store, server, secrets), target_time)
}

impl BarmanTarget {
    /// `--cloud-provider aws-s3`: the only provider this harness supports (see [`target_of`]).
    fn cloud_provider(args: &mut Vec<String>) {
        args.extend(["--cloud-provider".to_string(), "aws-s3".to_string()]);
    }

    fn endpoint(&self, args: &mut Vec<String>) {
        if let Some(url) = &self.endpoint_url {
            args.extend(["--endpoint-url".to_string(), url.clone()]);
        }
    }

    fn destination(&self, args: &mut Vec<String>) {
        args.extend([self.destination_path.clone(), self.server_name.clone()]);
    }

    /// `barman-cloud-wal-archive` arguments before the WAL file's path.
    pub fn wal_archive_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(c) = &self.wal_compression {
            args.push(format!("--{c}"));
        }
        if let Some(e) = &self.wal_encryption {
            args.extend(["-e".to_string(), e.clone()]);
        }
        self.endpoint(&mut args);
        Self::cloud_provider(&mut args);
        self.destination(&mut args);
        args
    }

    /// `barman-cloud-check-wal-archive` arguments: the check that the archive is empty before
    /// a new cluster's first segment.
    pub fn check_wal_archive_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        self.endpoint(&mut args);
        Self::cloud_provider(&mut args);
        self.destination(&mut args);
        args
    }

    /// `barman-cloud-backup` arguments for a backup called `name` (the plugin names it
    /// `backup-<YYYYMMDDhhmmss>`); it connects as `postgres` through libpq's environment.
    pub fn backup_args(&self, name: &str) -> Vec<String> {
        let mut args: Vec<String> = ["--user", "postgres", "--name", name]
            .map(String::from)
            .into();
        if let Some(c) = &self.data_compression {
            args.push(format!("--{c}"));
        }
        if let Some(e) = &self.data_encryption {
            args.extend(["--encryption".to_string(), e.clone()]);
        }
        if self.immediate_checkpoint {
            args.push("--immediate-checkpoint".to_string());
        }
        if let Some(j) = self.jobs {
            args.extend(["--jobs".to_string(), j.to_string()]);
        }
        self.endpoint(&mut args);
        Self::cloud_provider(&mut args);
        self.destination(&mut args);
        args
    }

    /// `barman-cloud-backup-list` arguments (the catalog, as JSON).
    pub fn backup_list_args(&self) -> Vec<String> {
        let mut args = vec!["--format".to_string(), "json".to_string()];
        self.endpoint(&mut args);
        Self::cloud_provider(&mut args);
        self.destination(&mut args);
        args
    }

    /// `barman-cloud-restore` arguments: backup `backup_id` into `pgdata`.
    pub fn restore_args(&self, backup_id: &str, pgdata: &Path) -> Vec<String> {
        let mut args = Vec::new();
        Self::cloud_provider(&mut args);
        self.endpoint(&mut args);
        self.destination(&mut args);
        args.extend([backup_id.to_string(), pgdata.display().to_string()]);
        args
    }

    /// `barman-cloud-wal-restore` arguments before the WAL name and the destination path.
    pub fn wal_restore_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        self.endpoint(&mut args);
        Self::cloud_provider(&mut args);
        self.destination(&mut args);
        args
    }

    /// The environment barman-cloud gets besides the pod's: the S3 keys, and `AWS_CA_BUNDLE`
    /// naming `ca_file` (where the caller wrote [`BarmanTarget::endpoint_ca`]) when there is
    /// an endpoint CA.
    pub fn env(&self, ca_file: &Path) -> Vec<(String, String)> {
        let mut env = Vec::new();
        if self.endpoint_ca.is_some() {
            env.push(("AWS_CA_BUNDLE".to_string(), ca_file.display().to_string()));
        }
        if let S3Auth::Keys {
            access_key_id,
            secret_access_key,
        } = &self.auth
        {
            env.push(("AWS_ACCESS_KEY_ID".to_string(), access_key_id.clone()));
            env.push((
                "AWS_SECRET_ACCESS_KEY".to_string(),
                secret_access_key.clone(),
            ));
        }
        env
    }

    /// The bucket and the key prefix of this server's directory (`<path>/<serverName>/`).
    pub fn bucket_and_prefix(&self) -> (String, String) {
        let rest = self
            .destination_path
            .strip_prefix("s3://")
            .unwrap_or_else(|| panic!("{} is not an s3:// path", self.destination_path));
        let (bucket, path) = rest.split_once('/').unwrap_or((rest, ""));
        let path = path.trim_matches('/');
        let prefix = if path.is_empty() {
            format!("{}/", self.server_name)
        } else {
            format!("{path}/{}/", self.server_name)
        };
        (bucket.to_string(), prefix)
    }
}

/// The backup a restore to `target_time` starts from, as the plugin chooses it
/// (`pkg/catalog` `findClosestBackupFromTargetTime`): the latest finished backup that ended
/// no later than the target. `list_json` is `barman-cloud-backup-list --format json`.
pub fn backup_for_target(list_json: &str, target_time: &str) -> Value {
    let target = epoch_of(target_time);
    let list: Value = serde_json::from_str(list_json)
        .unwrap_or_else(|e| panic!("backup list is not JSON ({e}): {list_json}"));
    let end = |b: &Value| -> f64 {
        epoch_of(
            b["end_time_iso"]
                .as_str()
                .unwrap_or_else(|| panic!("backup without end_time_iso: {b}")),
        )
    };
    let mut done: Vec<&Value> = list["backups_list"]
        .as_array()
        .unwrap_or_else(|| panic!("no backups_list: {list_json}"))
        .iter()
        .filter(|b| b["status"] == "DONE" && end(b) <= target)
        .collect();
    done.sort_by(|a, b| end(a).total_cmp(&end(b)));
    (*done
        .last()
        .unwrap_or_else(|| panic!("no backup ended before {target_time}: {list_json}")))
    .clone()
}

/// Seconds since the epoch of an ISO 8601 / PostgreSQL timestamp with an offset:
/// `2026-12-06T18:55:01.5+00:00`, `2026-12-06 18:55:01.5+00`, `...Z`.
pub fn epoch_of(ts: &str) -> f64 {
    parse_epoch(ts).unwrap_or_else(|| panic!("not a timestamp with an offset: {ts:?}"))
}

fn parse_epoch(ts: &str) -> Option<f64> {
    let (date, rest) = ts.split_at_checked(10)?;
    let rest = rest.strip_prefix(['T', ' '])?;
    let d: Vec<i64> = date
        .split('-')
        .map(|s| s.parse().ok())
        .collect::<Option<_>>()?;
    let (clock, offset) = rest.split_at(rest.find(['+', '-', 'Z'])?);
    let t: Vec<f64> = clock
        .split(':')
        .map(|s| s.parse().ok())
        .collect::<Option<_>>()?;
    let offset_secs = if offset == "Z" {
        0
    } else {
        let sign = if offset.starts_with('-') { -1 } else { 1 };
        let hm: Vec<i64> = offset[1..]
            .split(':')
            .map(|s| s.parse().ok())
            .collect::<Option<_>>()?;
        sign * (hm[0] * 3600 + hm.get(1).copied().unwrap_or(0) * 60)
    };
    if d.len() != 3 || t.len() != 3 {
        return None;
    }
    // Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
    let (y, m, day) = (if d[1] <= 2 { d[0] - 1 } else { d[0] }, d[1], d[2]);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    #[allow(clippy::cast_precision_loss)]
    let whole = (days * 86_400 - offset_secs) as f64;
    Some(whole + t[0] * 3600.0 + t[1] * 60.0 + t[2])
}

// ---------------------------------------------------------------------------------------
// CRD validation of the rendered objects

/// Asserts that `doc` satisfies the openAPIV3Schema of the CRD in
/// `$CRDS_DIR/cloudnative-pg/<file>` (installed by install-tools.sh), made strict: an
/// object that lists its properties rejects others, as a strict client-side validation
/// would (like `helm.rs` does for prometheus-operator's CRDs).
pub fn assert_valid_against_crd(doc: &Value, file: &str) {
    let schema = common::crd_schema(&format!("cloudnative-pg/{file}"));
    let validator = jsonschema::validator_for(&schema).expect("CRD schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{} violates {file}:\n{}",
        common::kind_name(doc),
        errors.join("\n")
    );
}
