//! The runbooks' maintenance commands fit the PostgreSQL pod's /dev/shm: on a table of more
//! than a gigabyte with two indexes and many dead rows, `VACUUM (VERBOSE, ANALYZE)` and
//! `VACUUM (FREEZE, VERBOSE)` vacuum the indexes with parallel workers, whose dead-row store
//! lives in dynamic shared memory (/dev/shm) and takes maintenance_work_mem. The server runs
//! with the chart's configuration and a tmpfs of exactly the StatefulSet's /dev/shm sizeLimit
//! as /dev/shm (a mount namespace of its own). Under the 64Mi the chart used to give it, the
//! same VACUUM fails: the test tells a /dev/shm too small from one that fits.

use crate::common::postgres::{self, Cluster};

/// The sizeLimit of the PostgreSQL pod's memory-backed /dev/shm volume.
fn dev_shm_size(rendered: &postgres::Rendered) -> String {
    let volumes = rendered.pod_spec("StatefulSet", "-postgresql")["volumes"]
        .as_array()
        .expect("volumes");
    let dshm = volumes
        .iter()
        .find(|v| v["name"] == "dshm")
        .expect("a dshm volume");
    assert_eq!(dshm["emptyDir"]["medium"], "Memory");
    dshm["emptyDir"]["sizeLimit"]
        .as_str()
        .expect("a sizeLimit")
        .to_string()
}

/// A VACUUM's output (its VERBOSE lines are notices, on stderr) and whether it succeeded.
fn vacuum(c: &Cluster, command: &str) -> (bool, String) {
    let out = c
        .psql_as("postgres", &c.superuser_password(), "postgres")
        .arg("-c")
        .arg(command)
        .output()
        .expect("psql runs");
    (out.status.success(), postgres::output_text(&out))
}

/// The dead rows of the test table, as the statistics count them.
fn dead_rows(c: &Cluster) -> u64 {
    c.sql(
        "postgres",
        "SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'alerts_big'",
    )
    .parse()
    .expect("a count")
}

#[test]
fn the_runbooks_vacuums_of_a_gigabyte_table_fit_the_pods_dev_shm() {
    let rendered = postgres::Rendered::standard(&[]);
    let shm = dev_shm_size(&rendered);
    let mut c = Cluster::init_rendered(rendered);

    // The size the chart gave /dev/shm before it counted VACUUM: the failure to avoid.
    c.shm_size = Some("64Mi".into());
    c.start();
    c.sql(
        "postgres",
        "CREATE TABLE alerts_big (id bigint, fingerprint int, payload text) \
         WITH (autovacuum_enabled = off)",
    );
    c.sql(
        "postgres",
        "INSERT INTO alerts_big SELECT g, g % 100000, repeat(md5(g::text), 3) \
         FROM generate_series(1, 9000000) g",
    );
    c.sql("postgres", "CREATE INDEX ON alerts_big (id)");
    c.sql("postgres", "CREATE INDEX ON alerts_big (fingerprint)");
    c.sql("postgres", "DELETE FROM alerts_big WHERE id % 3 <> 0");
    let size: u64 = c
        .sql("postgres", "SELECT pg_table_size('alerts_big')")
        .parse()
        .expect("a size");
    assert!(size > 1 << 30, "the table is {size} bytes, not over 1 GB");
    let dead = dead_rows(&c);
    assert!(dead > 5_000_000, "{dead} dead rows");

    let (ok, text) = vacuum(&c, "VACUUM (VERBOSE, ANALYZE) alerts_big");
    assert!(
        !ok && text.contains("could not resize shared memory segment"),
        "with a 64Mi /dev/shm the parallel VACUUM should run out of shared memory:\n{text}"
    );
    c.stop("fast");

    c.shm_size = Some(shm.clone());
    c.start();
    for command in [
        "VACUUM (VERBOSE, ANALYZE) alerts_big",
        "VACUUM (FREEZE, VERBOSE) alerts_big",
    ] {
        let (ok, text) = vacuum(&c, command);
        assert!(ok, "{command} with /dev/shm of {shm}:\n{text}");
        assert!(
            text.contains("parallel vacuum worker"),
            "{command} vacuumed the indexes without parallel workers, so /dev/shm was not put to the test:\n{text}"
        );
    }
    let dead = dead_rows(&c);
    assert_eq!(dead, 0, "VACUUM left dead rows");
}
