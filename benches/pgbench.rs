//! pgbench on real PostgreSQL 16 servers started the way the chart's StatefulSet starts them
//! (the test harness of tests/integration/common/postgres.rs), with three sets of memory
//! settings for the chart's default 2Gi memory limit:
//!
//! - `derived`: the chart's defaults, which alertchart derives from the limit;
//! - `spec`: the static values of the chart specification (shared_buffers 256MB,
//!   effective_cache_size 1GB, work_mem 4MB, maintenance_work_mem 64MB, wal_buffers 16MB);
//! - `pg-defaults`: PostgreSQL's own defaults of those five settings (128MB, 4GB, 4MB,
//!   64MB, and wal_buffers -1, which is 4MB with 128MB of shared_buffers).
//!
//! Every other setting is the chart's. Each server runs in its own memory cgroup limited to
//! 2Gi, as the container would (page cache included); the bench says so when it cannot make
//! one (not root, no memory controller) and runs without. The three servers run side by
//! side; each round runs every workload on each server in turn, rotating which goes first,
//! so that load from elsewhere on the machine hits all three alike. Reports per workload the
//! median TPS of each configuration and the median of the per-round ratios.
//!
//! Run: `source .tools/env.sh; cargo bench --bench pgbench -- [--scale N] [--runs N]
//! [--seconds N] [--clients N]` (defaults: scale 50, 5 runs, 30 s, 8 clients). As root, like
//! the tests. Results and machine in docs/performance.md.

// The integration tests' shared helpers; a benchmark uses only some of them.
#[allow(dead_code)]
#[path = "../tests/integration/common/mod.rs"]
mod common;

use std::fs;
use std::path::PathBuf;
use std::process::Command;

use common::postgres::{Cluster, Rendered, output_text};

const LIMIT_BYTES: u64 = 2 << 30;

/// `--set` overrides of the committed standard chart (its defaults are the derived values).
const CONFIGS: &[(&str, &[&str])] = &[
    ("derived", &[]),
    (
        "spec",
        &[
            "postgresql.config.sharedBuffers=256MB",
            "postgresql.config.effectiveCacheSize=1GB",
            "postgresql.config.workMem=4MB",
            "postgresql.config.maintenanceWorkMem=64MB",
            "postgresql.config.walBuffers=16MB",
        ],
    ),
    (
        "pg-defaults",
        &[
            "postgresql.config.sharedBuffers=128MB",
            "postgresql.config.effectiveCacheSize=4GB",
            "postgresql.config.workMem=4MB",
            "postgresql.config.maintenanceWorkMem=64MB",
            "postgresql.config.walBuffers=4MB",
        ],
    ),
];

/// pgbench's built-in scripts: TPC-B-like read-write (a commit per transaction, so WAL
/// flushes dominate) and select-only (reads, where the buffer cache matters).
const WORKLOADS: &[(&str, &[&str])] = &[("tpcb-like", &[]), ("select-only", &["-S"])];

struct Options {
    scale: u32,
    runs: usize,
    seconds: u32,
    clients: u32,
}

fn options() -> Options {
    let mut o = Options {
        scale: 50,
        runs: 5,
        seconds: 30,
        clients: 8,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let value = |i: usize| -> u32 {
            args.get(i + 1)
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{} needs a number", args[i]))
        };
        match args[i].as_str() {
            "--scale" => o.scale = value(i),
            "--runs" => o.runs = value(i) as usize,
            "--seconds" => o.seconds = value(i),
            "--clients" => o.clients = value(i),
            // cargo bench passes `--bench`; anything else is a mistake.
            "--bench" => {
                i += 1;
                continue;
            }
            other => panic!("unknown argument {other}"),
        }
        i += 2;
    }
    o
}

/// A memory cgroup (v1, or v2 with the memory controller) with a limit; processes started
/// while this process is inside it stay inside.
struct MemoryCgroup {
    dir: PathBuf,
    /// Where this process was, to return to.
    home: PathBuf,
    v1: bool,
}

impl MemoryCgroup {
    fn new(name: &str, limit: u64) -> Result<Self, String> {
        let (root, v1) = if PathBuf::from("/sys/fs/cgroup/memory/memory.limit_in_bytes").is_file() {
            (PathBuf::from("/sys/fs/cgroup/memory"), true)
        } else if fs::read_to_string("/sys/fs/cgroup/cgroup.controllers")
            .is_ok_and(|c| c.split_whitespace().any(|c| c == "memory"))
        {
            (PathBuf::from("/sys/fs/cgroup"), false)
        } else {
            return Err("no memory cgroup controller".into());
        };
        let own = fs::read_to_string("/proc/self/cgroup").map_err(|e| e.to_string())?;
        let own = own
            .lines()
            .find_map(|l| {
                let mut parts = l.splitn(3, ':');
                let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
                let wanted = if v1 {
                    controllers.split(',').any(|c| c == "memory")
                } else {
                    controllers.is_empty()
                };
                wanted.then(|| path.trim_start_matches('/').to_string())
            })
            .ok_or("this process has no memory cgroup")?;
        let dir = root.join(format!("alertchart-bench-{name}-{}", std::process::id()));
        fs::create_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let file = if v1 {
            "memory.limit_in_bytes"
        } else {
            "memory.max"
        };
        fs::write(dir.join(file), limit.to_string()).map_err(|e| format!("{file}: {e}"))?;
        Ok(Self {
            dir,
            home: root.join(own),
            v1,
        })
    }

    fn move_self(to: &std::path::Path) {
        fs::write(to.join("cgroup.procs"), std::process::id().to_string())
            .unwrap_or_else(|e| panic!("moving into {}: {e}", to.display()));
    }

    /// Peak memory use, and how often the limit was hit (v1) or OOM kills happened (v2).
    fn report(&self) -> String {
        let read = |f: &str| fs::read_to_string(self.dir.join(f)).unwrap_or_default();
        if self.v1 {
            format!(
                "peak {} MiB of {} MiB, limit hit {} times, {}",
                read("memory.max_usage_in_bytes")
                    .trim()
                    .parse::<u64>()
                    .unwrap_or(0)
                    >> 20,
                LIMIT_BYTES >> 20,
                read("memory.failcnt").trim(),
                read("memory.oom_control").replace('\n', ", ")
            )
        } else {
            format!(
                "peak {} MiB of {} MiB, events: {}",
                read("memory.peak").trim().parse::<u64>().unwrap_or(0) >> 20,
                LIMIT_BYTES >> 20,
                read("memory.events").replace('\n', ", ")
            )
        }
    }
}

impl Drop for MemoryCgroup {
    fn drop(&mut self) {
        let _ = fs::remove_dir(&self.dir);
    }
}

struct Server {
    name: &'static str,
    cluster: Cluster,
    cgroup: Option<MemoryCgroup>,
}

/// Starts one configuration's server, inside its memory cgroup when there is one, and
/// loads the pgbench tables.
fn server(name: &'static str, sets: &[&str], scale: u32) -> Server {
    let args: Vec<String> = sets
        .iter()
        .flat_map(|s| ["--set".into(), (*s).to_string()])
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let cgroup = match MemoryCgroup::new(name, LIMIT_BYTES) {
        Ok(cg) => Some(cg),
        Err(why) => {
            println!("WARNING: {name} runs WITHOUT a 2Gi memory limit ({why})");
            None
        }
    };
    if let Some(cg) = &cgroup {
        MemoryCgroup::move_self(&cg.dir);
    }
    let cluster = Cluster::started_rendered(Rendered::standard(&args));
    if let Some(cg) = &cgroup {
        MemoryCgroup::move_self(&cg.home);
    }
    cluster.sql("postgres", "CREATE DATABASE bench");
    let out = pgbench(&cluster)
        .args([
            "-i",
            "-q",
            "-s",
            &scale.to_string(),
            "--foreign-keys",
            "bench",
        ])
        .output()
        .expect("pgbench -i");
    assert!(out.status.success(), "pgbench -i: {}", output_text(&out));
    cluster.sql("bench", "VACUUM ANALYZE");
    let show = |s: &str| cluster.sql("postgres", &format!("SHOW {s}"));
    println!(
        "{name}: shared_buffers {}, effective_cache_size {}, work_mem {}, maintenance_work_mem {}, \
         wal_buffers {}; database {}",
        show("shared_buffers"),
        show("effective_cache_size"),
        show("work_mem"),
        show("maintenance_work_mem"),
        show("wal_buffers"),
        cluster.sql(
            "postgres",
            "SELECT pg_size_pretty(pg_database_size('bench'))"
        )
    );
    Server {
        name,
        cluster,
        cgroup,
    }
}

/// A `pgbench` command connected to the bench database as the superuser over TCP.
fn pgbench(c: &Cluster) -> Command {
    c.client_as("pgbench", "postgres", &c.superuser_password(), "bench")
}

/// One timed pgbench run; its TPS.
fn run(s: &Server, flags: &[&str], o: &Options) -> f64 {
    let out = pgbench(&s.cluster)
        .args(flags)
        .args([
            "-n",
            "-M",
            "prepared",
            "-c",
            &o.clients.to_string(),
            "-j",
            "2",
            "-T",
            &o.seconds.to_string(),
            "bench",
        ])
        .output()
        .expect("pgbench");
    let text = output_text(&out);
    assert!(out.status.success(), "pgbench on {}: {text}", s.name);
    text.lines()
        .find_map(|l| l.strip_prefix("tps = "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no tps in pgbench output: {text}"))
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        f64::midpoint(xs[n / 2 - 1], xs[n / 2])
    }
}

fn main() {
    let o = options();
    println!(
        "pgbench: scale {}, {} runs of {} s per workload and configuration, {} clients, 2 threads; \
         load average at start: {}",
        o.scale,
        o.runs,
        o.seconds,
        o.clients,
        fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    let servers: Vec<Server> = CONFIGS
        .iter()
        .map(|(name, sets)| server(name, sets, o.scale))
        .collect();
    for (workload, flags) in WORKLOADS {
        // tps[config][round]
        let mut tps = vec![Vec::new(); servers.len()];
        for round in 0..o.runs {
            for k in 0..servers.len() {
                let i = (round + k) % servers.len();
                tps[i].push(run(&servers[i], flags, &o));
            }
            let line: Vec<String> = servers
                .iter()
                .zip(&tps)
                .map(|(s, t)| format!("{} {:.0}", s.name, t[round]))
                .collect();
            println!("{workload} round {}: {}", round + 1, line.join(", "));
        }
        println!("{workload}: median TPS");
        for (s, t) in servers.iter().zip(&tps) {
            println!("  {:<12} {:>8.0}", s.name, median(t.clone()));
        }
        for (i, other) in servers.iter().enumerate().skip(1) {
            let ratios: Vec<f64> = tps[0].iter().zip(&tps[i]).map(|(a, b)| a / b).collect();
            println!(
                "  derived / {:<12} median ratio {:.3} (per round: {})",
                other.name,
                median(ratios.clone()),
                ratios
                    .iter()
                    .map(|r| format!("{r:.3}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
        }
    }
    for s in &servers {
        if let Some(cg) = &s.cgroup {
            println!("{} memory cgroup: {}", s.name, cg.report());
        }
    }
    println!(
        "load average at end: {}",
        fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
}
