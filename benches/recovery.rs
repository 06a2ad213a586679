//! Recovery figures of the standard chart's PostgreSQL, measured on real software with the
//! test harness (tests/integration/common/postgres.rs: the server started with the
//! StatefulSet's exact arguments as an unprivileged user on 127.0.0.1, volumes in a
//! temporary directory, the backup job's script as its pod runs it, the restore procedure of
//! docs/backup-restore.md as tests/integration/backup.rs runs it). Results and machine:
//! docs/performance.md.
//!
//! ```sh
//! source .tools/env.sh
//! cargo bench --bench recovery -- wal-volume        # archived bytes per forced switch (~7 min)
//! cargo bench --bench recovery -- rpo-rto           # RPO under load, RTO of ~1 GiB (~25 min)
//! cargo bench --bench recovery -- rpo --rate 1      # RPO only, quieter load (~17 min)
//! ```
//!
//! No mode runs all three with the same options. Options (after `--`): `--rpo-seconds N`
//! (default 960: 3.2 periods of the default archive_timeout of 300 s), `--rate TPS`
//! (pgbench transactions per second of the steady load, default 5), `--scale N` (pgbench
//! scale, default 70: ~1.1 GB).

// Byte counts here stay far below 2^52, where u64 to f64 is exact.
#![allow(clippy::cast_precision_loss)]

// The integration tests' shared helpers; a benchmark uses only some of them.
#[allow(dead_code)]
#[path = "../tests/integration/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, UNIX_EPOCH};

use common::postgres::{APP_DB, ChildGuard, Cluster, as_user, epoch_now, output_text, wait_for};
use common::recovery::{BackupJob, FROM_LOOPBACK, backup_job};

/// The archive_command of chart versions before WAL compression: each segment copied as is.
const UNCOMPRESSED_ARCHIVE_COMMAND: &str = "mkdir -p /backup/wal && if [ -f /backup/wal/%f ]; then cmp -s %p /backup/wal/%f; else cp %p /backup/wal/%f.tmp && sync /backup/wal/%f.tmp && mv /backup/wal/%f.tmp /backup/wal/%f && sync /backup/wal; fi";

/// gzip levels compared with the chart's (level 1).
const LEVELS: [u32; 3] = [1, 4, 6];

const SEGMENT_BYTES: u64 = 16 * 1024 * 1024;

/// The alert-history table the quiet application writes to.
const APP_SCHEMA: &str = "CREATE TABLE alerts (id bigserial PRIMARY KEY, \
     fingerprint text NOT NULL, status text NOT NULL, labels jsonb NOT NULL, \
     received_at timestamptz NOT NULL DEFAULT now()); \
     CREATE INDEX alerts_fingerprint_idx ON alerts (fingerprint); \
     CREATE INDEX alerts_received_at_idx ON alerts (received_at)";

/// One alert, as the quiet application writes it.
const APP_INSERT: &str = "INSERT INTO alerts (fingerprint, status, labels) \
     VALUES (md5(random()::text), 'firing', \
     '{\"alertname\": \"HighLatency\", \"severity\": \"warning\", \"service\": \"checkout\"}')";

struct Options {
    wal_volume: bool,
    rpo: bool,
    rpo_rto: bool,
    rpo_seconds: u32,
    rate: u32,
    scale: u32,
}

fn options() -> Options {
    let mut o = Options {
        wal_volume: false,
        rpo: false,
        rpo_rto: false,
        rpo_seconds: 960,
        rate: 5,
        scale: 70,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut number = |name: &str| -> u32 {
            args.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{name} needs a whole number"))
        };
        match a.as_str() {
            "wal-volume" => o.wal_volume = true,
            "rpo" => o.rpo = true,
            "rpo-rto" => o.rpo_rto = true,
            "--rpo-seconds" => o.rpo_seconds = number(&a),
            "--rate" => o.rate = number(&a),
            "--scale" => o.scale = number(&a),
            // `cargo bench` passes --bench to every bench binary.
            "--bench" => {}
            other => panic!("unknown argument {other}; see benches/recovery.rs"),
        }
    }
    if !o.wal_volume && !o.rpo && !o.rpo_rto {
        o.wal_volume = true;
        o.rpo_rto = true;
    }
    o
}

fn main() {
    let o = options();
    machine();
    if o.wal_volume {
        wal_volume();
    }
    if o.rpo {
        let c = Cluster::initialized(&[]);
        database(&c, o.scale);
        // The load starts on an archive that has caught up with pgbench -i's WAL.
        c.switch_wal_and_wait_archived();
        rpo_under_load(&c, &c.fs.mount("/backup").join("wal"), &o);
    }
    if o.rpo_rto {
        rpo_rto(&o);
    }
    println!("\nload average at the end: {}", load_average());
}

fn load_average() -> String {
    fs::read_to_string("/proc/loadavg").unwrap_or_default()[..14]
        .trim()
        .to_string()
}

/// What docs/performance.md records of the machine.
fn machine() {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name")?.split(':').nth(1))
        .unwrap_or("?")
        .trim()
        .to_string();
    let mem = fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .next()
        .unwrap_or("")
        .to_string();
    let nproc = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    println!(
        "machine: {model}, nproc {nproc}, {mem}; load average {}; {}",
        load_average(),
        sql_version()
    );
}

fn sql_version() -> String {
    let out = common::run_ok(Command::new(common::postgres::pg("postgres")).arg("--version"));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

// ---------------------------------------------------------------------------------------
// The WAL archive

/// Archived WAL segments (not history or backup files), compressed or not: segment number
/// (log × 256 + segment, 16 MiB segments) → (file, modification time in epoch seconds).
fn archived_segments(wal: &Path) -> BTreeMap<u64, (PathBuf, f64)> {
    let mut out = BTreeMap::new();
    for e in fs::read_dir(wal).expect("WAL archive") {
        let e = e.expect("entry");
        let name = e.file_name().to_string_lossy().into_owned();
        let stem = name.strip_suffix(".gz").unwrap_or(&name);
        if stem.len() != 24 || !stem.bytes().all(|b| b.is_ascii_hexdigit()) {
            continue;
        }
        let log = u64::from_str_radix(&stem[8..16], 16).expect("hex");
        let seg = u64::from_str_radix(&stem[16..24], 16).expect("hex");
        let mtime = e
            .metadata()
            .and_then(|m| m.modified())
            .expect("mtime")
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_secs_f64();
        out.insert(log * 256 + seg, (e.path(), mtime));
    }
    out
}

fn file_size(path: &Path) -> u64 {
    fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .len()
}

/// CPU seconds (user + system, the shell and its children) and wall seconds of one shell
/// command, run by bash as the test user (the archiver's user) with `TIMEFORMAT`.
fn cpu_and_wall(cmd: &str) -> (f64, f64) {
    let script = format!("TIMEFORMAT='%U %S %R'; time ( {cmd} ) >/dev/null");
    let out = as_user("/bin/bash")
        .arg("-c")
        .arg(&script)
        .output()
        .expect("bash");
    assert!(out.status.success(), "{cmd}: {}", output_text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    let v: Vec<f64> = err
        .lines()
        .last()
        .unwrap_or("")
        .split_whitespace()
        .map(|x| x.parse().expect("seconds"))
        .collect();
    (v[0] + v[1], v[2])
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Per segment of `segments` (archived by the chart): the chart's archive_command and the
/// uncompressed one of older charts, each run on the decompressed segment into a scratch
/// directory (bytes stored, CPU and wall time of the whole command including its `sync`s),
/// and plain `gzip -N` for each of [`LEVELS`] (bytes, CPU). Prints the medians.
fn compare_archive_commands(c: &Cluster, what: &str, segments: &[PathBuf]) {
    let chart_cmd = c.sql("postgres", "SHOW archive_command");
    let wal = c.fs.mount("/backup").join("wal").display().to_string();
    let scratch = c.sandbox.mkdir("bench-archive-commands");
    let input = scratch.join("segment");
    // Per command: bytes stored, CPU seconds, wall seconds; one entry per segment.
    let mut rows: BTreeMap<String, [Vec<f64>; 3]> = BTreeMap::new();
    for (i, gz) in segments.iter().enumerate() {
        let data = common::run_ok(Command::new("gzip").arg("-dc").arg(gz)).stdout;
        common::postgres::write_owned(&input, &data, 0o600);
        let name = format!("SEG{i:05}");
        let commands = [
            (
                "chart archive_command (gzip -1)",
                chart_cmd.replace(&wal, &scratch.join("new").display().to_string()),
                "new",
                format!("{name}.gz"),
            ),
            (
                "old archive_command (cp)",
                UNCOMPRESSED_ARCHIVE_COMMAND
                    .replace("/backup/wal", &scratch.join("old").display().to_string()),
                "old",
                name.clone(),
            ),
        ];
        for (label, cmd, dir, stored) in commands {
            let cmd = cmd
                .replace("%p", &input.display().to_string())
                .replace("%f", &name);
            let (cpu, wall) = cpu_and_wall(&cmd);
            let bytes = file_size(&scratch.join(dir).join(&stored));
            let row = rows.entry(label.to_string()).or_default();
            row[0].push(bytes as f64);
            row[1].push(cpu);
            row[2].push(wall);
        }
        for level in LEVELS {
            let out = scratch.join(format!("level{level}.gz"));
            let (cpu, wall) = cpu_and_wall(&format!(
                "gzip -{level} -c {} > {}",
                input.display(),
                out.display()
            ));
            let row = rows.entry(format!("gzip -{level}")).or_default();
            row[0].push(file_size(&out) as f64);
            row[1].push(cpu);
            row[2].push(wall);
        }
    }
    println!(
        "\n{what}: {} segments, medians per segment (bytes stored, CPU ms, wall ms):",
        segments.len()
    );
    for (label, [mut bytes, mut cpu, mut wall]) in rows {
        println!(
            "  {label:<34} {:>10.0} bytes  {:>7.1} ms CPU  {:>7.1} ms wall",
            median(&mut bytes),
            median(&mut cpu) * 1000.0,
            median(&mut wall) * 1000.0
        );
    }
}

// ---------------------------------------------------------------------------------------
// Bytes per idle hour

/// A quiet alert-history: one alert row committed every `archive_timeout / 5` (one a
/// minute at the default 300 s), with the chart's archive_command, measured at a time
/// scale of 1/10: archive_timeout 30 s, and checkpoint_timeout 30 s (ALTER SYSTEM; the
/// chart leaves it at its 5 min default, equal to the default archive_timeout, so that
/// every forced switch follows one checkpoint, whose full-page images the next writes
/// carry, as at full scale), one row every 6 s, for 12 forced switches. Every archived
/// segment is then also archived by the old (uncompressed) command and compressed at
/// other gzip levels, for comparison.
fn wal_volume() {
    const TIMEOUT_S: u32 = 30;
    const SWITCHES: u32 = 12;
    let c = Cluster::initialized(&[
        "--set",
        &format!("postgresql.config.archiveTimeout={TIMEOUT_S}s"),
    ]);
    c.sql(APP_DB, APP_SCHEMA);
    c.sql(
        "postgres",
        &format!("ALTER SYSTEM SET checkpoint_timeout = '{TIMEOUT_S}s'"),
    );
    // Wakes the checkpointer, which computed its first sleep before archive_timeout counted
    // (docs/backup-restore.md, "Forced switches after a start").
    c.sql("postgres", "SELECT pg_reload_conf()");
    let wal = c.fs.mount("/backup").join("wal");
    let first = c.switch_wal_and_wait_archived();
    let first_seg = archived_segments(&wal)
        .keys()
        .copied()
        .max()
        .expect("segment");
    println!(
        "\nWAL volume: trickle of one row every {} s, archive_timeout {TIMEOUT_S} s, \
         checkpoint_timeout {TIMEOUT_S} s, {SWITCHES} forced switches after {first}",
        TIMEOUT_S / 5
    );
    let rows = SWITCHES * 5;
    let mut script = String::new();
    for _ in 0..rows {
        script.push_str(APP_INSERT);
        let _ = write!(script, ";\nSELECT pg_sleep({});\n", TIMEOUT_S / 5);
    }
    let started = epoch_now();
    let out = common::postgres::output_with_stdin(
        &mut c.psql_as("postgres", &c.superuser_password(), APP_DB),
        &script,
    );
    assert!(out.status.success(), "{}", output_text(&out));
    let elapsed = epoch_now() - started;
    // The segment of the last rows is switched by the next timeout.
    let last = c.sql(
        "postgres",
        "SELECT pg_walfile_name(pg_current_wal_insert_lsn())",
    );
    wait_for(
        "the last trickle segment archived",
        Duration::from_secs(120),
        || wal.join(format!("{last}.gz")).is_file().then_some(()),
    );
    let segs: Vec<PathBuf> = archived_segments(&wal)
        .into_iter()
        .filter(|(n, _)| *n > first_seg)
        .map(|(_, (p, _))| p)
        .collect();
    let compressed: Vec<u64> = segs.iter().map(|p| file_size(p)).collect();
    let total: u64 = compressed.iter().sum();
    let n = compressed.len() as f64;
    let mean = total as f64 / n;
    println!(
        "{rows} rows in {elapsed:.0} s: {} segments archived ({:.1} per archive_timeout), \
         {total} bytes compressed, mean {mean:.0} bytes per segment (min {}, max {}); \
         uncompressed (old command): {SEGMENT_BYTES} bytes per segment",
        compressed.len(),
        n * f64::from(TIMEOUT_S) / elapsed,
        compressed.iter().min().expect("segments"),
        compressed.iter().max().expect("segments"),
    );
    let per_hour = 3600.0 / 300.0;
    println!(
        "at archive_timeout 300 s (12 switches an hour, 288 a day): \
         new {:.2} MB/hour, {:.1} MB/day; old {:.0} MB/hour, {:.2} GiB/day",
        mean * per_hour / 1e6,
        mean * per_hour * 24.0 / 1e6,
        SEGMENT_BYTES as f64 * per_hour / 1e6,
        SEGMENT_BYTES as f64 * per_hour * 24.0 / f64::from(1u32 << 30)
    );
    compare_archive_commands(&c, "idle segments (trickle)", &segs);
}

// ---------------------------------------------------------------------------------------
// RPO and RTO

/// A `pgbench` command connected to the app database as the superuser over TCP.
fn pgbench(c: &Cluster) -> Command {
    c.client_as("pgbench", "postgres", &c.superuser_password(), APP_DB)
}

/// The server's current WAL insert position, in bytes.
fn insert_lsn(c: &Cluster) -> u64 {
    c.sql("postgres", "SELECT pg_current_wal_insert_lsn() - '0/0'")
        .parse()
        .expect("LSN")
}

/// `(epoch seconds, WAL insert position)` every 0.5 s for `seconds`, from one psql
/// session started now; read with [`Sampler::finish`].
struct Sampler(ChildGuard);

impl Sampler {
    fn start(c: &Cluster, seconds: u32) -> Self {
        let mut script = String::new();
        for _ in 0..seconds * 2 {
            script.push_str(
                "SELECT extract(epoch FROM clock_timestamp()), \
                 pg_current_wal_insert_lsn() - '0/0';\nSELECT pg_sleep(0.5);\n",
            );
        }
        let path = c.sandbox.path().join("sampler.sql");
        fs::write(&path, script).expect("sampler script");
        let child = c
            .psql_as("postgres", &c.superuser_password(), "postgres")
            .arg("-f")
            .arg(&path)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the sampler");
        Sampler(ChildGuard(child))
    }

    fn finish(mut self) -> Vec<(f64, u64)> {
        let stdout = self.0.0.stdout.take().expect("stdout");
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .filter_map(|l| {
                let (t, lsn) = l.split_once('\x1f')?;
                Some((t.parse().ok()?, lsn.parse().ok()?))
            })
            .collect()
    }
}

/// RPO at every second of `[from, to]`: the time since the latest moment whose WAL is
/// entirely in the archive. That moment, for the newest segment archived by then (its
/// file's modification time), is the last sample whose insert position was still inside
/// it (so it errs by at most the 0.5 s sampling interval, upwards).
fn rpo_series(
    samples: &[(f64, u64)],
    archived: &BTreeMap<u64, (PathBuf, f64)>,
    from: f64,
    to: f64,
) -> Vec<f64> {
    let mut out = Vec::new();
    let mut t = from;
    while t <= to {
        let newest = archived
            .iter()
            .filter(|(_, (_, m))| *m <= t)
            .map(|(n, _)| *n)
            .max();
        if let Some(seg) = newest {
            let end = (seg + 1) * SEGMENT_BYTES;
            if let Some((safe, _)) = samples.iter().rev().find(|(s, lsn)| *s <= t && *lsn <= end) {
                out.push(t - safe);
            }
        }
        t += 1.0;
    }
    out
}

/// The RPO and RTO run (see the crate documentation and docs/performance.md): a ~1 GiB
/// database (`pgbench -i -s <scale>` plus the app's table), a base backup by the backup
/// job, the RPO measured under steady load, WAL topped up to an hour of that load, rows
/// around a target time, and the doc's restore to that time.
fn rpo_rto(o: &Options) {
    let mut c = Cluster::initialized(FROM_LOOPBACK);
    let job = backup_job(&c);
    let backup_dir = database_and_base_backup(&c, &job, o.scale);
    let lsn_backup = insert_lsn(&c);
    let hour_bytes = rpo_under_load(&c, &job.wal(), o);
    let drill = hour_of_wal_then_rows_around_a_target(&c, lsn_backup, hour_bytes);
    c.switch_wal_and_wait_archived();
    c.stop_with_prestop();
    let needed: Vec<PathBuf> = archived_segments(&job.wal())
        .into_iter()
        .filter(|(n, _)| (n + 1) * SEGMENT_BYTES > lsn_backup)
        .map(|(_, (p, _))| p)
        .collect();
    let needed_bytes: u64 = needed.iter().map(|p| file_size(p)).sum();
    println!(
        "archived since the backup: {} segments, {needed_bytes} bytes compressed \
         ({} uncompressed)",
        needed.len(),
        needed.len() as u64 * SEGMENT_BYTES
    );
    restore_and_verify(&mut c, &job, &backup_dir, &drill);

    let step = (needed.len() / 8).max(1);
    let sample: Vec<PathBuf> = needed
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "gz"))
        .step_by(step)
        .cloned()
        .collect();
    compare_archive_commands(
        &c,
        "busy segments (pgbench, sampled from the restored hour)",
        &sample,
    );
}

/// The app's table and `pgbench -i -s <scale>`.
fn database(c: &Cluster, scale: u32) {
    c.sql(APP_DB, APP_SCHEMA);
    c.sql(
        APP_DB,
        "CREATE TABLE drill (id serial PRIMARY KEY, phase text NOT NULL, \
         at timestamptz NOT NULL DEFAULT clock_timestamp())",
    );
    let t = Instant::now();
    let init = pgbench(c)
        .args(["-i", "-q", "-s", &scale.to_string()])
        .output()
        .expect("pgbench -i");
    assert!(init.status.success(), "{}", output_text(&init));
    c.sql(APP_DB, &format!("{APP_INSERT}; {APP_INSERT}"));
    let db_size = c.sql("postgres", &format!("SELECT pg_database_size('{APP_DB}')"));
    println!(
        "\npgbench -i -s {scale} in {:.0} s: database {APP_DB} {db_size} bytes",
        t.elapsed().as_secs_f64()
    );
}

/// [`database`], then a base backup by the backup job's script; returns the backup's
/// directory.
fn database_and_base_backup(c: &Cluster, job: &BackupJob, scale: u32) -> PathBuf {
    database(c, scale);
    let t = Instant::now();
    job.run_ok();
    let stamp = job.base_entries().pop().expect("base backup");
    let backup_dir = job.base().join(&stamp);
    let backup_bytes: u64 = fs::read_dir(&backup_dir)
        .expect("backup dir")
        .map(|e| e.expect("entry").metadata().expect("metadata").len())
        .sum();
    println!(
        "base backup {stamp} by the backup job: {:.0} s, {backup_bytes} bytes on the volume",
        t.elapsed().as_secs_f64()
    );
    backup_dir
}

/// Steady pgbench load at `--rate` for `--rpo-seconds` with the chart's archive_timeout
/// (300 s), sampled; prints the RPO figures and returns the WAL bytes the load writes in
/// an hour.
fn rpo_under_load(c: &Cluster, wal: &Path, o: &Options) -> u64 {
    assert_eq!(c.sql("postgres", "SHOW archive_timeout"), "5min");
    let sampling = Sampler::start(c, o.rpo_seconds);
    let load_start = epoch_now();
    let run = pgbench(c)
        .args(["-n", "-c", "2", "-j", "1", "-R", &o.rate.to_string()])
        .args(["-T", &o.rpo_seconds.to_string()])
        .output()
        .expect("pgbench -R");
    assert!(run.status.success(), "{}", output_text(&run));
    let load_end = epoch_now();
    let samples = sampling.finish();
    let archived = archived_segments(wal);
    let in_load: Vec<&(f64, u64)> = samples
        .iter()
        .filter(|(t, _)| *t >= load_start && *t <= load_end)
        .collect();
    let (t0, l0) = **in_load.first().expect("samples");
    let (t1, l1) = **in_load.last().expect("samples");
    let rate = (l1 - l0) as f64 / (t1 - t0);
    let switches: Vec<f64> = archived
        .iter()
        .filter(|(n, (_, m))| *m > load_start && (*n + 1) * SEGMENT_BYTES > l0)
        .map(|(_, (_, m))| *m)
        .collect();
    // From the first segment of the load archived on: before it, the newest archived
    // segment is from before the load, which says nothing about the steady state.
    let from = *switches
        .first()
        .expect("a segment archived during the load");
    let mut rpo = rpo_series(&samples, &archived, from, load_end);
    let n = rpo.len();
    let med = median(&mut rpo);
    println!(
        "RPO: pgbench -R {} (-c 2, TPC-B-like) for {} s, archive_timeout 300 s: \
         WAL {rate:.0} bytes/s ({:.1} MB/hour); {} segments archived during the load, at \
         {:?} s after its start; RPO sampled every second over {n} s from the first of \
         them: median {med:.1} s, 90th percentile {:.1} s, max {:.1} s",
        o.rate,
        o.rpo_seconds,
        rate * 3600.0 / 1e6,
        switches.len(),
        switches
            .iter()
            .map(|m| (m - load_start).round())
            .collect::<Vec<_>>(),
        rpo[n * 9 / 10],
        rpo[n - 1]
    );
    let summary: Vec<String> = String::from_utf8_lossy(&run.stdout)
        .lines()
        .filter(|l| l.contains("tps") || l.contains("latency average"))
        .map(str::to_string)
        .collect();
    println!("pgbench: {}", summary.join("; "));
    let millis = Duration::from_secs_f64(t1 - t0).as_millis();
    u64::try_from(u128::from(l1 - l0) * 3_600_000 / millis).expect("bytes an hour")
}

/// What the restored database must hold: the target time, and as of it the pgbench
/// history (count, sum of deltas) and the number of alerts.
struct Drill {
    target: String,
    history: String,
    alerts: String,
}

/// Tops the WAL since the base backup up to an hour of the load (`hour_bytes`) with
/// pgbench at full speed, then three 'before' rows, the target time, three 'after' rows
/// and 5 s more of pgbench.
fn hour_of_wal_then_rows_around_a_target(c: &Cluster, lsn_backup: u64, hour_bytes: u64) -> Drill {
    let t = Instant::now();
    while insert_lsn(c) - lsn_backup < hour_bytes {
        let top = pgbench(c)
            .args(["-n", "-c", "2", "-j", "2", "-T", "10"])
            .output()
            .expect("pgbench");
        assert!(top.status.success(), "{}", output_text(&top));
    }
    println!(
        "WAL since the base backup: {} bytes (an hour of the load: {hour_bytes}; topped \
         up at full speed in {:.0} s)",
        insert_lsn(c) - lsn_backup,
        t.elapsed().as_secs_f64()
    );
    for _ in 0..3 {
        c.sql(APP_DB, "INSERT INTO drill (phase) VALUES ('before')");
    }
    let drill = Drill {
        history: c.sql(APP_DB, "SELECT count(*), sum(delta) FROM pgbench_history"),
        alerts: c.sql(APP_DB, "SELECT count(*) FROM alerts"),
        target: c.sql("postgres", "SELECT clock_timestamp()"),
    };
    for _ in 0..3 {
        c.sql(APP_DB, "INSERT INTO drill (phase) VALUES ('after')");
    }
    let after = pgbench(c)
        .args(["-n", "-c", "2", "-T", "5"])
        .output()
        .expect("pgbench after the target");
    assert!(after.status.success(), "{}", output_text(&after));
    drill
}

/// The doc's restore to the drill's target, timed, and the restored rows checked.
fn restore_and_verify(c: &mut Cluster, job: &BackupJob, backup_dir: &Path, drill: &Drill) {
    let run = common::recovery::restore_following_the_doc(c, job, &drill.target);
    let log = c.log_text();
    let redo = log
        .lines()
        .find(|l| l.contains("redo done at"))
        .unwrap_or("(no redo line)")
        .to_string();
    let unpacked: u64 = ["base.tar.gz", "pg_wal.tar.gz"]
        .iter()
        .map(|f| {
            let out = common::run_ok(Command::new("gzip").arg("-lq").arg(backup_dir.join(f)));
            String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .nth(1)
                .and_then(|n| n.parse::<u64>().ok())
                .expect("gzip -l: uncompressed size")
        })
        .sum();
    let unpack = run.at(4, "end") - run.at(4, "start");
    println!(
        "RTO (docs/backup-restore.md steps 2-9, target {}):\n  \
         unpack (step 4): {unpack:.1} s for {unpacked} bytes ({:.0} MB/s)\n  \
         start, replay of {} archived WAL files and promotion (step 6 to the end of step 7, \
         which polls every 2 s): {:.1} s; server start alone {:.1} s\n  \
         server log: {redo}\n  \
         whole procedure, steps 2-9: {:.1} s",
        drill.target,
        unpacked as f64 / 1e6 / unpack,
        log.matches("restored log file").count(),
        run.at(7, "end") - run.start_began,
        run.start_ended - run.start_began,
        run.at(9, "end") - run.at(2, "start"),
    );
    assert_eq!(
        c.rows(
            APP_DB,
            "SELECT phase, count(*) FROM drill GROUP BY phase ORDER BY phase"
        ),
        [["before".to_string(), "3".to_string()]],
        "restored drill rows"
    );
    assert_eq!(
        c.sql(APP_DB, "SELECT count(*), sum(delta) FROM pgbench_history"),
        drill.history,
        "pgbench_history after the restore"
    );
    assert_eq!(c.sql(APP_DB, "SELECT count(*) FROM alerts"), drill.alerts);
    println!(
        "verified: exactly the 3 drill rows before the target; pgbench_history \
         (count, sum of deltas) {:?} and {} alerts, as at the target",
        drill.history, drill.alerts
    );
}
