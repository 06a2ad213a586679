//! The backup job and the restore procedure of docs/backup-restore.md, run on real
//! software: shared by the `backup` tests and the recovery benchmark (benches/recovery.rs).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use crate::common;
use crate::common::postgres::{
    APP_DB, Cluster, ContainerFs, as_user, env_get, env_set, epoch_now, output_text, path_env,
};

/// Lets the backup job's role `replicator` in from 127.0.0.1: an allowed value of
/// `postgresql.hba.appCidrs`, standing in for the pod network the backup pod connects from.
pub const FROM_LOOPBACK: &[&str] = &["--set", "postgresql.hba.appCidrs={127.0.0.0/8}"];

/// The backup CronJob's container, laid out next to the cluster's volumes.
pub struct BackupJob {
    command: Vec<String>,
    env: Vec<(String, String)>,
    pub root: PathBuf,
}

/// The CronJob's container as the kubelet would run it: its command, its environment
/// (PGPASSWORD from the Secret, the same one init.sql created `replicator` with), its
/// volumes. Adapted: PGHOST (the Service name) to 127.0.0.1, PGPORT to the server's port;
/// BACKUP_ROOT and the script path through the mount mapping. Asserts that the job's
/// `/backup` is the directory the server archives into (same claim).
pub fn backup_job(c: &Cluster) -> BackupJob {
    let fs = ContainerFs::new(
        &c.sandbox,
        &c.rendered,
        "CronJob",
        "-postgresql-backup",
        "backup",
    );
    assert_eq!(
        fs.mount("/backup"),
        c.fs.mount("/backup"),
        "the backup job and PostgreSQL must mount the same backup claim"
    );
    let container = c
        .rendered
        .container("CronJob", "-postgresql-backup", "backup");
    let command: Vec<String> = container["command"]
        .as_array()
        .expect("backup command")
        .iter()
        .map(|s| fs.map_text(s.as_str().expect("string")))
        .collect();
    let mut env = c
        .rendered
        .container_env("CronJob", "-postgresql-backup", "backup");
    c.through_service(&mut env, "the job");
    let root = fs.map_text(env_get(&env, "BACKUP_ROOT"));
    env_set(&mut env, "BACKUP_ROOT", &root);
    BackupJob {
        command,
        env,
        root: PathBuf::from(root),
    }
}

impl BackupJob {
    /// Runs the job's command as the test user (uid 999 in the cluster, like PostgreSQL).
    pub fn run(&self) -> Output {
        as_user(&self.command[0])
            .args(&self.command[1..])
            .envs(self.env.iter().cloned())
            .env("PATH", path_env())
            .stdin(Stdio::null())
            .output()
            .expect("run the backup script")
    }

    pub fn run_ok(&self) -> String {
        let out = self.run();
        let text = output_text(&out);
        assert!(out.status.success(), "backup script failed:\n{text}");
        text
    }

    pub fn base(&self) -> PathBuf {
        self.root.join("base")
    }

    pub fn wal(&self) -> PathBuf {
        self.root.join("wal")
    }

    /// Entries of base/, sorted.
    pub fn base_entries(&self) -> Vec<String> {
        entries(&self.base())
    }
}

/// Names in a directory, sorted.
pub fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// The fenced blocks of the restore procedure of docs/backup-restore.md:
/// `(step number, info string, code)` for every block of a `### <n>. ` step.
pub fn restore_blocks(doc: &str) -> Vec<(u32, String, String)> {
    let section = doc
        .split_once("## Point-in-time restore")
        .expect("restore section")
        .1;
    let mut step = None;
    let mut blocks = Vec::new();
    let mut lines = section.lines();
    while let Some(line) = lines.next() {
        if line.starts_with("## ") {
            break;
        }
        if let Some(rest) = line.strip_prefix("### ") {
            step = rest
                .split('.')
                .next()
                .and_then(|n| n.trim().parse::<u32>().ok());
            continue;
        }
        if let Some(info) = line.strip_prefix("```") {
            let mut code = String::new();
            for l in lines.by_ref() {
                if l.starts_with("```") {
                    break;
                }
                code.push_str(l);
                code.push('\n');
            }
            if let Some(n) = step {
                blocks.push((n, info.trim().to_string(), code));
            }
        }
    }
    blocks
}

/// A shell script of the given blocks, each wrapped in timing markers
/// (`@@ <step> start|end <epoch>`); `set -eu` so the first failing command stops it.
pub fn script_of(blocks: &[&(u32, String, String)]) -> String {
    let mut s = String::from("set -eu\n");
    for (n, _, code) in blocks {
        let _ = write!(
            s,
            "echo \"@@ {n} start $(date +%s.%N)\"\n{code}echo \"@@ {n} end $(date +%s.%N)\"\n"
        );
    }
    s
}

/// Timing markers of a script's output.
pub fn markers(out: &str) -> BTreeMap<(u32, String), f64> {
    out.lines()
        .filter_map(|l| {
            let mut w = l.strip_prefix("@@ ")?.split_whitespace();
            let n = w.next()?.parse().ok()?;
            let what = w.next()?.to_string();
            Some(((n, what), w.next()?.parse().ok()?))
        })
        .collect()
}

/// Runs a restore script as the test user with bash (the restore pod's shell).
pub fn run_restore_script(script: &str, env: &[(&str, String)]) -> String {
    let out = as_user("/bin/bash")
        .arg("-c")
        .arg(script)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .output()
        .expect("run bash");
    let text = output_text(&out);
    assert!(out.status.success(), "restore steps failed:\n{text}");
    text
}

/// The runnable blocks of the doc's restore procedure (fence `sh restore-step`), after
/// checking that step 1 (fence `sh restore-variables`) defines exactly the variables the
/// test provides and that the runnable steps are 2-5 and 7-9.
pub fn doc_restore_steps() -> Vec<(u32, String, String)> {
    let doc = fs::read_to_string(common::repo().join("docs/backup-restore.md")).expect("doc");
    let blocks = restore_blocks(&doc);
    let vars: BTreeSet<String> = blocks
        .iter()
        .filter(|(_, info, _)| info == "sh restore-variables")
        .flat_map(|(_, _, code)| {
            code.lines()
                .filter_map(|l| Some(l.strip_prefix("export ")?.split('=').next()?.to_string()))
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(
        vars,
        ["BACKUP_ROOT", "PGDATA_NEW", "TARGET_TIME"]
            .map(String::from)
            .into(),
        "step 1 of the doc defines other variables than this test provides"
    );
    let steps: Vec<(u32, String, String)> = blocks
        .into_iter()
        .filter(|(_, info, _)| info == "sh restore-step")
        .collect();
    let numbers: Vec<u32> = steps.iter().map(|(n, _, _)| *n).collect();
    assert_eq!(
        numbers,
        [2, 3, 4, 5, 7, 8, 9],
        "the doc's runnable restore steps changed"
    );

    steps
}

/// What [`restore_following_the_doc`] did: the output of both shell sessions (with the
/// timing markers of [`script_of`]) and the epoch seconds at which step 6 (the server's
/// start) began and ended.
pub struct DocRestore {
    pub out_a: String,
    pub out_b: String,
    pub start_began: f64,
    pub start_ended: f64,
}

impl DocRestore {
    /// Epoch seconds of a step's `start` or `end` marker.
    pub fn at(&self, step: u32, what: &str) -> f64 {
        let m: BTreeMap<(u32, String), f64> = markers(&self.out_a)
            .into_iter()
            .chain(markers(&self.out_b))
            .collect();
        m[&(step, what.to_string())]
    }
}

/// Runs the restore procedure of docs/backup-restore.md on a stopped cluster, as the
/// cluster variant runs it: the blocks marked `sh restore-step` unchanged with bash, steps
/// 2–5 in one session (the restore pod's shell: choose the backup, move the damaged data
/// directory aside, unpack, configure recovery), step 6 as in the cluster (the
/// StatefulSet's server starts on the restored data directory: the harness runs its
/// command line), steps 7–9 in a second session (the shell in the PostgreSQL container
/// that step 6 opens: wait for the end of recovery, verify, reset the recovery settings).
/// Adapted: the variables of step 1 (BACKUP_ROOT, PGDATA_NEW, TARGET_TIME) are the job's
/// backup root, the cluster's data directory and `target` (the doc says to use your own
/// outside a cluster); the `psql` of steps 7–9 reaches the server as `postgres` over TCP
/// with the Secret's password (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE) instead of
/// the pod's socket.
pub fn restore_following_the_doc(c: &mut Cluster, job: &BackupJob, target: &str) -> DocRestore {
    let steps = doc_restore_steps();
    let vars = [
        ("BACKUP_ROOT", job.root.display().to_string()),
        ("PGDATA_NEW", c.pgdata.display().to_string()),
        ("TARGET_TIME", target.to_string()),
    ];
    let part_a: Vec<_> = steps.iter().filter(|(n, _, _)| *n < 6).collect();
    let out_a = run_restore_script(&script_of(&part_a), &vars);
    let start_began = epoch_now();
    c.start();
    let start_ended = epoch_now();
    let part_b: Vec<_> = steps.iter().filter(|(n, _, _)| *n > 6).collect();
    let mut env_b: Vec<(&str, String)> = vars.to_vec();
    env_b.extend([
        ("PGHOST", "127.0.0.1".to_string()),
        ("PGPORT", c.port.to_string()),
        ("PGUSER", "postgres".to_string()),
        ("PGPASSWORD", c.superuser_password()),
        ("PGDATABASE", APP_DB.to_string()),
    ]);
    let out_b = run_restore_script(&script_of(&part_b), &env_b);
    DocRestore {
        out_a,
        out_b,
        start_began,
        start_ended,
    }
}
