//! PostgreSQL major versions on real binaries: PostgreSQL 16 (`PG_BIN`) and 17
//! (`PG17_BIN`), both installed by `scripts/install-tools.sh`; a missing one fails the test.
//!
//! The scripts are the rendered chart's (`<fullname>-postgresql-datadir` ConfigMap), run as
//! the kubelet runs the PostgreSQL pod's init containers: each container's command, in
//! order, with its environment and volumes (the harness of `tests/common/postgres.rs`:
//! mount paths to sandbox directories, the test user instead of uid 999). Adapted here,
//! and only this: the images' binaries. `PATH` holds the server image's binaries (16 or 17
//! from `.tools`), and `PGBINOLD`/`PGBINNEW`, which name the upgrade image's Debian layout
//! `/usr/lib/postgresql/<major>/bin` (asserted), point at the same two directories.
//!
//! The `helm upgrade` side of the guard (`lookup` of the running StatefulSet) is checked
//! through its helper with StatefulSets given by the test: `lookup` needs a cluster.

use std::fs;
use std::path::Path;
use std::process::Output;

use crate::common;
use crate::common::postgres::{
    APP_DB, APP_FROM_LOOPBACK, APP_USER, Cluster, ContainerFs, Rendered, as_user, output_text,
    pg_bin, pg17_bin, try_sql,
};

const STS: &str = "-postgresql";

/// The rows of the test's table, as one value: count and a hash of their contents.
const DIGEST: &str =
    "SELECT count(*), md5(string_agg(fingerprint || payload::text, ',' ORDER BY id)) FROM alerts";

/// Runs the init containers of the rendered PostgreSQL pod in order, as the kubelet does,
/// with the server image's binaries `image_bin` first on PATH; stops at the first failure.
/// Returns `(container name, output)` of each container run.
fn run_init_containers(
    c: &Cluster,
    rendered: &Rendered,
    image_bin: &Path,
) -> Vec<(String, Output)> {
    let names: Vec<String> = rendered.pod_spec("StatefulSet", STS)["initContainers"]
        .as_array()
        .expect("the PostgreSQL pod has init containers")
        .iter()
        .map(|ic| ic["name"].as_str().expect("name").to_string())
        .collect();
    let mut ran = Vec::new();
    for name in names {
        let container = rendered.container("StatefulSet", STS, &name);
        let fs = ContainerFs::new(&c.sandbox, rendered, "StatefulSet", STS, &name);
        let command: Vec<String> = container["command"]
            .as_array()
            .expect("init container command")
            .iter()
            .map(|s| fs.map_text(s.as_str().expect("string")))
            .collect();
        let mut env: Vec<(String, String)> = rendered
            .container_env("StatefulSet", STS, &name)
            .into_iter()
            .map(|(n, v)| (n, fs.map_text(&v)))
            .collect();
        for (n, v) in &mut env {
            // The upgrade image's binaries: assert the layout, adapt to the tools' copies.
            let adapted = match (n.as_str(), v.as_str()) {
                ("PGBINOLD", "/usr/lib/postgresql/16/bin") => pg_bin(),
                ("PGBINNEW", "/usr/lib/postgresql/17/bin") => pg17_bin(),
                ("PGBINOLD" | "PGBINNEW", other) => panic!("{n}={other}: not a 16-to-17 layout"),
                _ => continue,
            };
            *v = adapted.display().to_string();
        }
        let out = as_user(&command[0])
            .args(&command[1..])
            .envs(env)
            .env(
                "PATH",
                format!("{}:/usr/local/bin:/usr/bin:/bin", image_bin.display()),
            )
            .output()
            .expect("run the init container's command");
        let ok = out.status.success();
        ran.push((name, out));
        if !ok {
            break;
        }
    }
    ran
}

fn all_succeeded(ran: &[(String, Output)]) -> bool {
    ran.iter().all(|(_, o)| o.status.success())
}

fn describe(ran: &[(String, Output)]) -> String {
    ran.iter()
        .map(|(n, o)| format!("--- {n} ({}):\n{}", o.status, output_text(o)))
        .collect::<Vec<_>>()
        .join("\n")
}

fn pg_version(c: &Cluster) -> String {
    fs::read_to_string(c.pgdata.join("PG_VERSION"))
        .expect("PG_VERSION")
        .trim()
        .to_string()
}

/// Rows written on PostgreSQL 16 with the chart's configuration survive the chart's
/// upgrade to 17; without `majorUpgrade.enabled` the pod's guard refuses to start 17 on
/// the 16 data directory, with the procedure, and changes nothing.
#[test]
fn a_16_data_directory_is_refused_by_17_then_upgraded_by_the_rendered_script_with_rows_intact() {
    // PostgreSQL 16 as the chart runs it, with init.sql, and rows of the app.
    let mut c = Cluster::initialized(APP_FROM_LOOPBACK);
    let app_password = c.secret("password");
    c.sql(
        APP_DB,
        &format!(
            "CREATE TABLE alerts (id bigserial PRIMARY KEY, fingerprint text NOT NULL, \
               payload jsonb, received_at timestamptz NOT NULL DEFAULT now()); \
             CREATE INDEX alerts_fingerprint_idx ON alerts (fingerprint); \
             INSERT INTO alerts (fingerprint, payload) \
               SELECT md5(g::text), jsonb_build_object('n', g) FROM generate_series(1, 5000) g; \
             ALTER TABLE alerts OWNER TO {APP_USER}"
        ),
    );
    let before = c.sql(APP_DB, DIGEST);
    assert!(before.starts_with("5000\x1f"), "{before}");
    // The guard passes on 16 before anything changes.
    let r16 = c.rendered.clone();
    let ran = run_init_containers(&c, &r16, pg_bin());
    assert!(all_succeeded(&ran), "{}", describe(&ran));
    c.stop_with_prestop();
    assert_eq!(pg_version(&c), "16");

    // The image moves to 17 without the upgrade: the guard stops the pod, names the
    // procedure, and leaves the data directory as it was.
    let listing = |c: &Cluster| {
        let mut names: Vec<String> = fs::read_dir(c.pgdata.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let volume_before = listing(&c);
    let r17 =
        Rendered::standard(&[APP_FROM_LOOPBACK, &["--set", "postgresql.image.tag=17.6"]].concat());
    let ran = run_init_containers(&c, &r17, pg17_bin());
    let names: Vec<&str> = ran.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["check-data-version"], "{}", describe(&ran));
    let (_, guard) = &ran[0];
    assert_eq!(guard.status.code(), Some(1), "{}", describe(&ran));
    let message = output_text(guard);
    for needle in [
        "PostgreSQL 16",
        "PostgreSQL 17",
        "Nothing was changed",
        "postgresql.majorUpgrade.enabled=true",
        "postgresql.majorUpgrade.fromMajor=16",
        "take a backup",
        "docs/upgrades.md",
    ] {
        assert!(message.contains(needle), "no {needle:?} in: {message}");
    }
    assert_eq!(pg_version(&c), "16");
    assert_eq!(listing(&c), volume_before, "the guard changed the volume");
    println!("guard without the upgrade: {message}");

    // With majorUpgrade.enabled: upgrade-data runs pg_upgrade, then the guard passes.
    let r17up = Rendered::standard(
        &[
            APP_FROM_LOOPBACK,
            &[
                "--set",
                "postgresql.image.tag=17.6",
                "--set",
                "postgresql.majorUpgrade.enabled=true",
            ],
        ]
        .concat(),
    );
    let ran = run_init_containers(&c, &r17up, pg17_bin());
    let names: Vec<&str> = ran.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["upgrade-data", "check-data-version"],
        "{}",
        describe(&ran)
    );
    assert!(all_succeeded(&ran), "{}", describe(&ran));
    println!("{}", describe(&ran));
    assert_eq!(pg_version(&c), "17");
    let old = c.pgdata.with_file_name("pgdata.pg16");
    assert_eq!(
        fs::read_to_string(old.join("PG_VERSION")).unwrap().trim(),
        "16",
        "the old data directory is kept beside"
    );

    start_on_17_and_check(&mut c, r17up, DIGEST, &before, &app_password);

    // On 17 the guard passes and a second run of the upgrade is a no-op.
    let ran = run_init_containers(&c, &c.rendered.clone(), pg17_bin());
    assert!(all_succeeded(&ran), "{}", describe(&ran));
    assert!(
        output_text(&ran[0].1).contains("nothing to do"),
        "{}",
        describe(&ran)
    );
    // And going back to 16 is refused (there is no downgrade).
    let ran = run_init_containers(&c, &r16, pg_bin());
    assert!(!all_succeeded(&ran), "{}", describe(&ran));
    assert!(
        output_text(&ran[0].1).contains("there is no downgrade"),
        "{}",
        describe(&ran)
    );
}

/// An empty volume (a new install) passes the guard on either major.
#[test]
fn the_guard_lets_a_new_install_initialise() {
    let c = Cluster::init(&[]);
    fs::remove_dir_all(&c.pgdata).expect("empty the data directory");
    let r17 = Rendered::standard(&["--set", "postgresql.image.tag=17.6"]);
    let ran = run_init_containers(&c, &r17, pg17_bin());
    assert!(all_succeeded(&ran), "{}", describe(&ran));
    assert!(output_text(&ran[0].1).contains("will create one"));
}

/// The `helm upgrade` guard's helper, given a running StatefulSet as `lookup` returns it:
/// a change of major fails with the procedure unless majorUpgrade names the running major.
#[test]
fn helm_upgrade_refuses_a_change_of_major_unless_the_upgrade_names_the_running_one() {
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("alert-history");
    common::run_ok(
        std::process::Command::new("cp")
            .arg("-r")
            .arg(common::chart_dir("standard"))
            .arg(&chart),
    );
    // One line per running image: the problem the helper reports ("" for none).
    fs::write(
        chart.join("templates/zz-probe.yaml"),
        r#"{{- $root := . }}
probe:
{{- range $image := list "postgres:16.10" "registry.example:5000/postgres:16.4-bookworm" "postgres:17.2" "postgres@sha256:0123" "postgres" }}
{{- $sts := dict "spec" (dict "template" (dict "spec" (dict "containers" (list (dict "name" "postgresql" "image" $image))))) }}
  {{ $image | quote }}: {{ include "alert-history.postgresql.majorChangeProblem" (dict "root" $root "sts" $sts) | quote }}
{{- end }}
  "none": {{ include "alert-history.postgresql.majorChangeProblem" (dict "root" $root "sts" dict) | quote }}
"#,
    )
    .unwrap();
    let probe = |args: &[&str]| -> serde_json::Value {
        let mut all = vec!["--show-only", "templates/zz-probe.yaml"];
        all.extend_from_slice(args);
        let docs = common::yaml_docs(&common::helm_template(&chart, &all));
        docs[0]["probe"].clone()
    };
    // Same major: nothing to say, whatever runs.
    let same = probe(&[]);
    for image in [
        "postgres:16.10",
        "registry.example:5000/postgres:16.4-bookworm",
    ] {
        assert_eq!(same[image], "", "{same}");
    }
    // 16 -> 17 without the upgrade: refused with the procedure.
    let to17 = probe(&["--set", "postgresql.image.tag=17.6"]);
    for image in [
        "postgres:16.10",
        "registry.example:5000/postgres:16.4-bookworm",
    ] {
        let p = to17[image].as_str().unwrap();
        for needle in [
            "is PostgreSQL 17",
            "PostgreSQL 16",
            "take a backup",
            "postgresql.majorUpgrade.enabled=true",
            "postgresql.majorUpgrade.fromMajor=16",
            "docs/upgrades.md",
        ] {
            assert!(p.contains(needle), "no {needle:?} in {p}");
        }
    }
    // Nothing running, a digest or no tag: no major to compare (the init container guards).
    for image in ["postgres@sha256:0123", "postgres", "none"] {
        assert_eq!(to17[image], "", "{to17}");
    }
    // With the upgrade from 16: allowed; from another major: still refused.
    let up = probe(&[
        "--set",
        "postgresql.image.tag=17.6",
        "--set",
        "postgresql.majorUpgrade.enabled=true",
    ]);
    assert_eq!(up["postgres:16.10"], "", "{up}");
    let wrong = probe(&[
        "--set",
        "postgresql.image.tag=16.10",
        "--set",
        "postgresql.majorUpgrade.enabled=true",
    ]);
    assert!(
        wrong["postgres:17.2"]
            .as_str()
            .unwrap()
            .contains("there is no downgrade"),
        "{wrong}"
    );
    // Through the real template: `helm template` (lookup empty) renders a major change.
    common::helm_template(
        &common::chart_dir("standard"),
        &["--set", "postgresql.image.tag=17.6"],
    );
}

/// An unsupported major in the tag fails `helm template` with the supported ones.
#[test]
fn helm_refuses_an_unsupported_major() {
    let out = std::process::Command::new(common::tool("helm"))
        .args(["template", "ah"])
        .arg(common::chart_dir("standard"))
        .args(["--set", "postgresql.image.tag=18.1"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = output_text(&out);
    assert!(
        text.contains("\"18.1\" does not start with a supported PostgreSQL major version (16, 17)"),
        "{text}"
    );
}

/// Starts PostgreSQL 17 on the upgraded data directory with the 17 chart's configuration
/// and checks that the data, roles, extensions and WAL archiving survived; stops it.
fn start_on_17_and_check(
    c: &mut Cluster,
    r17up: Rendered,
    digest: &str,
    before: &str,
    app_password: &str,
) {
    // PostgreSQL 17 starts with the 17 chart's configuration, and the data is intact.
    c.rendered = r17up;
    c.fs = ContainerFs::new(&c.sandbox, &c.rendered, "StatefulSet", STS, "postgresql");
    c.bin = pg17_bin().to_path_buf();
    c.start();
    assert!(
        c.sql("postgres", "SHOW server_version").starts_with("17."),
        "not PostgreSQL 17"
    );
    assert_eq!(c.sql(APP_DB, digest), before, "rows changed by the upgrade");
    // Roles, passwords and the app's rights came along.
    let (ok, out) = try_sql(
        c,
        APP_USER,
        app_password,
        APP_DB,
        "INSERT INTO alerts (fingerprint) VALUES ('after-upgrade')",
    );
    assert!(ok, "the app user cannot write after the upgrade: {out}");
    // The extensions init.sql created are there, and WAL archiving works on 17 (the new
    // server's WAL segment names do not collide with the 16 archive's).
    let extensions = c.sql(
        APP_DB,
        "SELECT string_agg(extname, ',' ORDER BY extname) FROM pg_extension",
    );
    assert!(extensions.contains("pg_stat_statements"), "{extensions}");
    c.switch_wal_and_wait_archived();
    assert_eq!(
        c.sql("postgres", "SELECT failed_count FROM pg_stat_archiver"),
        "0"
    );
    c.stop("fast");
}
