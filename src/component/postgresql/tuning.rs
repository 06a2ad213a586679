//! PostgreSQL memory settings derived from the container's memory limit and
//! max_connections (PGTune-style), for each setting the profile leaves unset.
//!
//! The derivation and the semantic validation share one budget: the memory the settings
//! let PostgreSQL allocate at the same time. Derived settings stay inside it by
//! construction; settings a profile or an override sets explicitly are checked against it
//! in `validate`.

use super::{HugePages, Parts, Server};
use crate::formats::{MemoryQuantity, PgSize};

const MB: u64 = 1024;
const GB: u64 = 1024 * MB;

/// PostgreSQL's default max_parallel_workers, which the chart keeps: parallel workers are
/// backends too, each with its own work_mem.
pub const PARALLEL_WORKERS: u64 = 8;
/// PostgreSQL's default hash_mem_multiplier: a parallel hash table may grow to this many
/// times work_mem per participant, in dynamic shared memory (/dev/shm).
const HASH_MEM_MULTIPLIER: u64 = 2;
/// VACUUM never keeps more than 1GB of dead tuples in PostgreSQL 16, whatever
/// maintenance_work_mem says, so an autovacuum worker uses at most this much of it.
const VACUUM_MEMORY_CAP: u64 = GB;
/// Below this every sort spills to disk; a limit that cannot give each backend this much
/// is too small for its max_connections, which validation reports.
const WORK_MEM_FLOOR: u64 = MB;
/// The memory of /dev/shm without parallel query (Docker's default size of it).
const SHM_FLOOR_BYTES: u64 = 64 << 20;
/// /dev/shm beyond the parallel hashes and VACUUM's dead-tuple store: the small DSM segments
/// of parallel query and vacuum state, and tmpfs rounding.
const SHM_SLACK_BYTES: u64 = 8 << 20;

/// A setting alertchart chose, for values.yaml to show with the arithmetic behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Derived {
    /// Dotted values path of the setting.
    pub path: String,
    /// How the value follows from the limit, ending in the value.
    pub formula: String,
    /// The value, as values.yaml has it.
    pub value: String,
    /// The inputs it changes with.
    pub follows: Follows,
}

/// Which inputs a derived setting changes with (false when it sits at a bound, where a
/// change of the input may leave it as it is).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Follows {
    /// The section's resources.limits.memory.
    pub limit: bool,
    /// The section's config.maxConnections.
    pub connections: bool,
}

impl Follows {
    const NOTHING: Self = Self {
        limit: false,
        connections: false,
    };

    fn unless(self, bounded: bool) -> Self {
        if bounded { Self::NOTHING } else { self }
    }
}

/// The profile with every unset PostgreSQL memory setting derived, and how each was.
pub fn tuned(profile: &crate::profile::Profile) -> (crate::profile::Profile, Vec<Derived>) {
    let mut profile = profile.clone();
    let derived = super::server_mut(&mut profile)
        .map(|s| derive(s.parts()))
        .unwrap_or_default();
    (profile, derived)
}

/// Fills in each unset memory setting of `pg` and returns how each was derived.
fn derive(mut pg: Parts<'_>) -> Vec<Derived> {
    let section = pg.section;
    let mut out = Vec::new();
    let mut note = |key: &str, formula: String, value: &dyn std::fmt::Display, follows: Follows| {
        out.push(Derived {
            path: format!("{section}.{key}"),
            formula,
            value: value.to_string(),
            follows,
        });
    };
    let inputs = derive_config(&mut pg, &mut note);
    derive_shared_memory(&mut pg, &inputs, &mut note);
    out
}

/// How a derivation reports a setting it chose: key in the section, formula, value, what
/// it follows.
type Note<'a> = dyn FnMut(&str, String, &dyn std::fmt::Display, Follows) + 'a;

/// What /dev/shm is sized from: work_mem and maintenance_work_mem, and what each follows.
struct ShmInputs {
    work_mem: (PgSize, Follows),
    maintenance_work_mem: (PgSize, Follows),
}

/// The postgresql.conf sizes; returns what /dev/shm is sized from.
fn derive_config(pg: &mut Parts<'_>, note: &mut Note<'_>) -> ShmInputs {
    let limit = pg.resources.limits.memory.clone();
    let limit_kb = limit.bytes() / 1024;
    let lim = limit.as_str();
    let cfg = &mut *pg.config;
    let by_limit = Follows {
        limit: true,
        connections: false,
    };

    let derived_shared_buffers = cfg.shared_buffers.is_none();
    let shared_buffers = set(&mut cfg.shared_buffers, || {
        let v = whole_mb(limit_kb / 4);
        note(
            "config.sharedBuffers",
            format!("25 % of resources.limits.memory {lim} = {v}"),
            &v,
            by_limit,
        );
        v
    });
    set(&mut cfg.effective_cache_size, || {
        let v = whole_mb(limit_kb * 3 / 4);
        note(
            "config.effectiveCacheSize",
            format!("75 % of resources.limits.memory {lim} = {v}"),
            &v,
            by_limit,
        );
        v
    });
    let mut maintenance_follows = Follows::NOTHING;
    let maintenance = set(&mut cfg.maintenance_work_mem, || {
        let (kb, bounded) = clamp(whole_mb(limit_kb / 16).kilobytes(), MB, 2 * GB);
        let v = size(kb);
        maintenance_follows = by_limit.unless(bounded);
        note(
            "config.maintenanceWorkMem",
            format!("resources.limits.memory {lim} / 16, at most 2GB = {v}"),
            &v,
            maintenance_follows,
        );
        v
    });
    let wal_buffers = set(&mut cfg.wal_buffers, || {
        let (kb, bounded) = clamp(shared_buffers.kilobytes() / 32 / 8 * 8, 64, 16 * MB);
        let v = size(kb);
        note(
            "config.walBuffers",
            format!(
                "shared_buffers {shared_buffers} / 32, between 64kB and 16MB (one WAL segment) = {v}"
            ),
            &v,
            by_limit.unless(bounded || !derived_shared_buffers),
        );
        v
    });
    let backends = u64::from(cfg.max_connections) + PARALLEL_WORKERS;
    let avw = u64::from(cfg.autovacuum_max_workers);
    let mut work_mem_follows = Follows::NOTHING;
    let work_mem = set(&mut cfg.work_mem, || {
        let fixed = fixed_kb(
            &shared_buffers,
            &wal_buffers,
            &maintenance,
            cfg.autovacuum_max_workers,
        );
        let per_backend = limit_kb.saturating_sub(fixed) / backends / 2 / 64 * 64;
        let (kb, bounded) = clamp(per_backend, WORK_MEM_FLOOR, u64::MAX);
        let v = size(kb);
        work_mem_follows = Follows {
            limit: true,
            connections: true,
        }
        .unless(bounded);
        note(
            "config.workMem",
            format!(
                "(resources.limits.memory {lim} - shared_buffers {shared_buffers} - wal_buffers {wal_buffers} \
                 - {} x maintenance_work_mem {maintenance} for VACUUM and {avw} autovacuum workers) \
                 / {backends} backends (maxConnections {} + {PARALLEL_WORKERS} parallel workers) / 2, \
                 leaving half for each backend's own memory and the page cache, at least 1MB = {v}",
                avw + 1,
                cfg.max_connections
            ),
            &v,
            work_mem_follows,
        );
        v
    });
    ShmInputs {
        work_mem: (work_mem, work_mem_follows),
        maintenance_work_mem: (maintenance, maintenance_follows),
    }
}

/// huge_pages, from the huge pages request, and the size of /dev/shm, from work_mem and
/// maintenance_work_mem.
fn derive_shared_memory(pg: &mut Parts<'_>, inputs: &ShmInputs, note: &mut Note<'_>) {
    let section = pg.section;
    set(&mut pg.config.huge_pages, || {
        let (v, word, why) = if pg.hugepages_2mi.as_str().is_empty() {
            (HugePages::Off, "off", "requests no huge pages")
        } else {
            (HugePages::Try, "try", "requests huge pages")
        };
        note(
            "config.hugePages",
            format!("{section}.hugepages2Mi {why} = {word}"),
            &word,
            Follows::NOTHING,
        );
        v
    });
    set(pg.shm_size, || {
        let (work_mem, work_mem_follows) = &inputs.work_mem;
        let (maintenance, maintenance_follows) = &inputs.maintenance_work_mem;
        let (bytes, bounded) = clamp(shm_needed(work_mem, maintenance), SHM_FLOOR_BYTES, u64::MAX);
        let v = MemoryQuantity::from(format!("{}Mi", bytes.div_ceil(1 << 20)));
        let follows = Follows {
            limit: work_mem_follows.limit || maintenance_follows.limit,
            connections: work_mem_follows.connections,
        };
        note(
            "shmSize",
            format!(
                "{PARALLEL_WORKERS} parallel workers x hash_mem_multiplier {HASH_MEM_MULTIPLIER} x work_mem {work_mem} \
                 (parallel hash joins) + maintenance_work_mem {maintenance}, at most 1GB (the dead rows \
                 a parallel VACUUM keeps in shared memory) + 8Mi, at least 64Mi = {v}"
            ),
            &v,
            follows.unless(bounded),
        );
        v
    });
}

/// Bytes of /dev/shm that parallel query and parallel maintenance may fill at once: every
/// parallel worker's share of a parallel hash join (hash_mem_multiplier x work_mem each), and
/// the dead-row store of a VACUUM with parallel index workers, which lives in dynamic shared
/// memory and holds up to maintenance_work_mem (1GB at most). The runbooks' `VACUUM
/// (VERBOSE, ANALYZE)` on a large table fails with "could not resize shared memory segment"
/// when it does not fit.
pub fn shm_needed(work_mem: &PgSize, maintenance_work_mem: &PgSize) -> u64 {
    let hashes = PARALLEL_WORKERS * HASH_MEM_MULTIPLIER * work_mem.kilobytes() * 1024;
    let dead_rows = maintenance_work_mem.kilobytes().min(VACUUM_MEMORY_CAP) * 1024;
    hashes + dead_rows + SHM_SLACK_BYTES
}

/// `value` clamped to `[min, max]`, and whether it sits at either bound, where it no longer
/// follows what it was computed from.
fn clamp(value: u64, min: u64, max: u64) -> (u64, bool) {
    let v = value.clamp(min, max);
    (v, v == min || v == max)
}

/// The settings of `pg` that decide how much memory PostgreSQL may allocate at once,
/// explicit or derived.
pub struct Budget {
    pub shared_buffers: PgSize,
    pub wal_buffers: PgSize,
    pub maintenance_work_mem: PgSize,
    pub work_mem: PgSize,
    pub autovacuum_max_workers: u32,
    /// Connections plus parallel workers: the processes that may each sort or hash at once.
    pub backends: u64,
}

impl Budget {
    pub fn of(pg: &dyn Server) -> Self {
        let mut cfg = pg.config().clone();
        let mut shm_size = pg.shm_size().cloned();
        derive(Parts {
            section: pg.section(),
            resources: pg.resources(),
            hugepages_2mi: pg.hugepages_2mi(),
            config: &mut cfg,
            shm_size: &mut shm_size,
        });
        let (Some(shared_buffers), Some(wal_buffers), Some(maintenance_work_mem), Some(work_mem)) = (
            cfg.shared_buffers,
            cfg.wal_buffers,
            cfg.maintenance_work_mem,
            cfg.work_mem,
        ) else {
            unreachable!("derive sets every memory setting")
        };
        Self {
            shared_buffers,
            wal_buffers,
            maintenance_work_mem,
            work_mem,
            autovacuum_max_workers: cfg.autovacuum_max_workers,
            backends: u64::from(cfg.max_connections) + PARALLEL_WORKERS,
        }
    }

    /// Memory the settings let PostgreSQL allocate at once, in kB: shared memory, one
    /// maintenance operation plus every autovacuum worker, and one work_mem-sized sort or
    /// hash in every backend.
    pub fn worst_case_kb(&self) -> u64 {
        fixed_kb(
            &self.shared_buffers,
            &self.wal_buffers,
            &self.maintenance_work_mem,
            self.autovacuum_max_workers,
        ) + self.backends * self.work_mem.kilobytes()
    }
}

fn fixed_kb(shared_buffers: &PgSize, wal: &PgSize, maintenance: &PgSize, avw: u32) -> u64 {
    let mwm = maintenance.kilobytes();
    shared_buffers.kilobytes() + wal.kilobytes() + mwm + u64::from(avw) * mwm.min(VACUUM_MEMORY_CAP)
}

/// The value of `slot`, computed by `derive` first when it is unset.
fn set<T: Clone>(slot: &mut Option<T>, derive: impl FnOnce() -> T) -> T {
    slot.get_or_insert_with(derive).clone()
}

/// `kb` rounded down to whole megabytes (at least 1MB).
fn whole_mb(kb: u64) -> PgSize {
    size((kb / MB).max(1) * MB)
}

/// A PostgreSQL size in the largest unit that states `kb` exactly.
pub fn size(kb: u64) -> PgSize {
    PgSize::from(if kb % GB == 0 {
        format!("{}GB", kb / GB)
    } else if kb % MB == 0 {
        format!("{}MB", kb / MB)
    } else {
        format!("{kb}kB")
    })
}

#[cfg(test)]
mod tests {
    use super::super::Postgresql;
    use super::*;
    use crate::input;

    /// The standard profile's PostgreSQL section with `limit` and every derivable setting
    /// unset, tuned.
    fn tuned_at(limit: &str, max_connections: u32) -> (Postgresql, Vec<Derived>) {
        let merged = input::load(
            &input::ProfileSource::resolve("standard").unwrap(),
            &[],
            &[],
        )
        .unwrap();
        let mut profile = crate::validate::profile(&merged).unwrap();
        let pg = profile.postgresql.as_mut().unwrap();
        pg.resources.limits.memory = MemoryQuantity::from(limit.to_string());
        pg.config.max_connections = max_connections;
        let cfg = &mut pg.config;
        cfg.shared_buffers = None;
        cfg.effective_cache_size = None;
        cfg.maintenance_work_mem = None;
        cfg.wal_buffers = None;
        cfg.work_mem = None;
        cfg.huge_pages = None;
        pg.shm_size = None;
        let (profile, derived) = tuned(&profile);
        (profile.postgresql.unwrap(), derived)
    }

    /// shared_buffers, effective_cache_size, maintenance_work_mem, wal_buffers, work_mem,
    /// /dev/shm.
    fn settings(pg: &Postgresql) -> [String; 6] {
        let c = &pg.config;
        [
            &c.shared_buffers,
            &c.effective_cache_size,
            &c.maintenance_work_mem,
            &c.wal_buffers,
            &c.work_mem,
        ]
        .map(|s| s.as_ref().unwrap().as_str().to_string())
        .into_iter()
        .chain([pg.shm_size.as_ref().unwrap().as_str().to_string()])
        .collect::<Vec<_>>()
        .try_into()
        .unwrap()
    }

    #[test]
    fn derived_settings_follow_the_formulas_at_512mi_2gi_8gi_and_64gi() {
        // work_mem = (limit - shared_buffers - wal_buffers - 4 x maintenance_work_mem,
        // capped at 1GB for the 3 autovacuum workers) / (connections + 8) / 2, in 64kB steps;
        // /dev/shm = 16 x work_mem + maintenance_work_mem (at most 1GB) + 8Mi, at least 64Mi.
        let cases = [
            // (512 - 128 - 4 - 4 x 32) MB / 108 / 2 = 1194 kB -> 1152kB
            (
                "512Mi",
                100,
                ["128MB", "384MB", "32MB", "4MB", "1152kB", "64Mi"],
            ),
            // (2048 - 512 - 16 - 4 x 128) MB / 258 / 2 = 2000 kB -> 1984kB
            (
                "2Gi",
                250,
                ["512MB", "1536MB", "128MB", "16MB", "1984kB", "167Mi"],
            ),
            // (8192 - 2048 - 16 - 4 x 512) MB / 258 / 2 = 8096 kB -> 8064kB
            (
                "8Gi",
                250,
                ["2GB", "6GB", "512MB", "16MB", "8064kB", "646Mi"],
            ),
            // (65536 - 16384 - 16 - 2048 - 3 x 1024) MB / 258 / 2 = 87350 kB -> 87296kB
            (
                "64Gi",
                250,
                ["16GB", "48GB", "2GB", "16MB", "87296kB", "2396Mi"],
            ),
        ];
        for (limit, connections, expected) in cases {
            let (pg, derived) = tuned_at(limit, connections);
            assert_eq!(settings(&pg), expected, "at {limit}");
            assert_eq!(pg.config.huge_pages, Some(HugePages::Off));
            assert_eq!(derived.len(), 7, "{derived:?}");
            assert!(
                Budget::of(&pg).worst_case_kb() <= pg.resources.limits.memory.bytes() / 1024,
                "derived settings overrun {limit}: {} kB",
                Budget::of(&pg).worst_case_kb()
            );
        }
    }

    #[test]
    fn explicit_settings_are_kept_and_feed_the_derived_ones() {
        let merged = input::load(
            &input::ProfileSource::resolve("standard").unwrap(),
            &[],
            &["postgresql.config.sharedBuffers=1GB".into()],
        )
        .unwrap();
        let profile = crate::validate::profile(&merged).unwrap();
        let (tuned, derived) = tuned(&profile);
        let cfg = &tuned.postgresql.unwrap().config;
        assert_eq!(cfg.shared_buffers.as_ref().unwrap().as_str(), "1GB");
        assert_eq!(cfg.wal_buffers.as_ref().unwrap().as_str(), "16MB");
        // (2048 - 1024 - 16 - 4 x 128) MB / 258 / 2 = 984 kB: the floor.
        assert_eq!(cfg.work_mem.as_ref().unwrap().as_str(), "1MB");
        assert!(derived.iter().all(|d| d.path != "config.sharedBuffers"));
    }

    #[test]
    fn huge_pages_are_tried_only_when_the_pod_requests_them() {
        let merged = input::load(
            &input::ProfileSource::resolve("standard").unwrap(),
            &[],
            &["postgresql.hugepages2Mi=1Gi".into()],
        )
        .unwrap();
        let profile = crate::validate::profile(&merged).unwrap();
        let pg = tuned(&profile).0.postgresql.unwrap();
        assert_eq!(pg.config.huge_pages, Some(HugePages::Try));
    }

    #[test]
    fn sizes_use_the_largest_exact_unit() {
        assert_eq!(size(2 * GB).as_str(), "2GB");
        assert_eq!(size(1536 * MB).as_str(), "1536MB");
        assert_eq!(size(1984).as_str(), "1984kB");
    }
}
