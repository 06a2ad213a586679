//! The chart runs the app: alert-history itself (the source of image 1.1.9, its locked
//! dependencies) started exactly as the rendered Deployment starts it (`common::app`
//! says what is adapted), against PostgreSQL started from the chart's own configuration
//! with the schema migrated by the chart's init container, Valkey from the chart's own
//! configuration, and a real Prometheus and Alertmanager that deliver a firing alert to the
//! app through the webhook receiver the chart's NOTES give.
//!
//! What image 1.1.9 cannot do is shown here too, so that the chart claims none of it: its
//! Redis client (aioredis 2.0.1) does not import on Python 3.11, so the app never touches
//! Valkey; it serves no /metrics; and with PostgreSQL its API cannot read stored alerts
//! back (its row mapping passes a field its Alert type lacks). A future image that fixes
//! one of these fails the test that shows it, which is the signal to update the chart.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::app::{
    AppContainer, AppProcess, add_secret, app_dir, exits_within, set_secret, through, with_database,
};
use crate::common::postgres::{
    APP_DB, APP_FROM_LOOPBACK, ChildGuard, Cluster, Rendered, Sandbox, as_user, env_get, free_port,
    output_text, tools_env, wait_for, write_owned,
};
use crate::common::{self, POSTGRESQL_CHART_FILE, app, postgres, profiles_with};

/// A password of the app user with every character a URL or a shell treats specially.
const HOSTILE_PASSWORD: &str = "p@ss:w/rd%20?#&=+ ü'\"$(X)`;";

/// The alert Prometheus fires in these tests.
const E2E_ALERT: &str = "AlertHistoryEndToEnd";

/// How long the tests give the app after SIGTERM before SIGKILL (it ignores SIGTERM: see
/// the lite test).
const KILL_AFTER: Duration = Duration::from_millis(200);

// ---------------------------------------------------------------------------------------
// Servers

/// PostgreSQL of the standard chart rendered with `args`, started and initialized
/// (init.sql) as its pod does, with `password` as the app user's password in the chart's
/// Secret.
fn database(password: &str, args: &[&str]) -> Cluster {
    let mut rendered = Rendered::standard(&[APP_FROM_LOOPBACK, args].concat());
    set_secret(&mut rendered, "-postgresql", "password", password);
    let c = Cluster::started_rendered(rendered);
    let out = c.run_init_sql(&[]);
    assert!(out.status.success(), "init.sql: {}", output_text(&out));
    c
}

/// Runs the `migrate` init container to completion; its output.
fn migrate(c: &Cluster) -> String {
    let out = with_database(c, "migrate").run();
    let text = output_text(&out);
    assert!(out.status.success(), "migrate failed:\n{text}");
    text
}

/// A Valkey server started as the rendered StatefulSet starts its `valkey` container
/// (Debian's redis-server for valkey-server), on a free port of 127.0.0.1.
struct Valkey {
    _server: ChildGuard,
    port: u16,
    password: String,
}

impl Valkey {
    fn start(rendered: &Rendered, sandbox: &Sandbox) -> Self {
        let fs = postgres::ContainerFs::new(sandbox, rendered, "StatefulSet", "-valkey", "valkey");
        let env = rendered.container_env("StatefulSet", "-valkey", "valkey");
        let c = rendered.container("StatefulSet", "-valkey", "valkey");
        let argv: Vec<String> = ["command", "args"]
            .iter()
            .filter_map(|k| c[k].as_array())
            .flatten()
            .map(|w| fs.map_text(&postgres::kube_expand(w.as_str().expect("string"), &env)))
            .collect();
        assert_eq!(argv[0], "valkey-server");
        let port = free_port();
        let server = as_user(tool_path("REDIS_SERVER", "redis-server"))
            .args(&argv[1..])
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        let v = Valkey {
            _server: ChildGuard(server),
            port,
            password: env_get(&env, "VALKEY_PASSWORD").to_string(),
        };
        wait_for("Valkey to answer PING", Duration::from_secs(30), || {
            (v.cli(&["PING"]).trim() == "PONG").then_some(())
        });
        v
    }

    fn cli(&self, args: &[&str]) -> String {
        let cli = Path::new(&tool_path("REDIS_SERVER", "redis-server")).with_file_name("redis-cli");
        let out = Command::new(cli)
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "--no-auth-warning",
            ])
            .env("REDISCLI_AUTH", &self.password)
            .args(args)
            .output()
            .expect("redis-cli");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Connections the server has accepted so far (this query's included).
    fn connections_received(&self) -> u64 {
        self.cli(&["INFO", "stats"])
            .lines()
            .find_map(|l| l.strip_prefix("total_connections_received:"))
            .and_then(|v| v.trim().parse().ok())
            .expect("total_connections_received")
    }
}

/// A tool from `.tools/env.sh`, else Debian's path.
fn tool_path(var: &str, debian: &str) -> String {
    tools_env(var)
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| common::tool(debian).display().to_string())
}

/// Prometheus firing [`E2E_ALERT`] into Alertmanager, which delivers it to the app with the
/// webhook receiver of the chart's NOTES (its Service URL pointed at `app_port`).
struct AlertPipeline {
    _prometheus: ChildGuard,
    _alertmanager: ChildGuard,
    _dir: Sandbox,
}

impl AlertPipeline {
    fn start(chart: &Path, args: &[&str], app_port: u16) -> Self {
        let notes = common::helm_notes(chart, args);
        let url = notes
            .lines()
            .find_map(|l| l.trim().strip_prefix("- url: "))
            .expect("a webhook receiver url in the NOTES");
        let local = url.replacen(
            "http://ah-alert-history.alerts.svc:8080/",
            &format!("http://127.0.0.1:{app_port}/"),
            1,
        );
        assert_ne!(
            local, url,
            "the receiver names the app's Service and port: {url}"
        );
        assert!(
            notes.contains("send_resolved: true"),
            "the receiver sends resolved alerts"
        );
        let dir = Sandbox::new();
        let am_port = free_port();
        let am_config = dir.path().join("alertmanager.yml");
        let am_data = dir.mkdir("alertmanager");
        write_owned(
            &am_config,
            format!(
                "route:\n  receiver: alert-history\n  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\n\
                 receivers:\n  - name: alert-history\n    webhook_configs:\n      - url: {local}\n        send_resolved: true\n"
            )
            .as_bytes(),
            0o644,
        );
        let alertmanager = as_user(tool_path("ALERTMANAGER", "prometheus-alertmanager"))
            .arg(format!("--config.file={}", am_config.display()))
            .arg(format!("--storage.path={}", am_data.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{am_port}"))
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start alertmanager");
        let rules = dir.path().join("rules.yml");
        write_owned(
            &rules,
            format!(
                "groups:\n  - name: e2e\n    rules:\n      - alert: {E2E_ALERT}\n        expr: vector(1)\n\
                 \x20       labels:\n          severity: warning\n          namespace: e2e\n\
                 \x20       annotations:\n          summary: fired by Prometheus, routed by Alertmanager\n"
            )
            .as_bytes(),
            0o644,
        );
        let prom_config = dir.path().join("prometheus.yml");
        write_owned(
            &prom_config,
            format!(
                "global:\n  evaluation_interval: 1s\nrule_files:\n  - {}\nalerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['127.0.0.1:{am_port}']\n",
                rules.display()
            )
            .as_bytes(),
            0o644,
        );
        let prom_data = dir.mkdir("prometheus");
        let prometheus = as_user(tool_path("PROMETHEUS", "prometheus"))
            .arg(format!("--config.file={}", prom_config.display()))
            .arg(format!("--storage.tsdb.path={}", prom_data.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{}", free_port()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus");
        AlertPipeline {
            _prometheus: ChildGuard(prometheus),
            _alertmanager: ChildGuard(alertmanager),
            _dir: dir,
        }
    }
}

/// The probes of the app container, answered by the running app as the kubelet expects.
fn assert_probes_pass(rendered: &Rendered, app: &AppProcess) {
    let c = rendered.container("Deployment", app::DEPLOYMENT, "alert-history");
    for (probe, word) in [
        ("startupProbe", "healthy"),
        ("livenessProbe", "healthy"),
        ("readinessProbe", "ready"),
    ] {
        let get = &c[probe]["httpGet"];
        assert_eq!(get["port"], "http", "{probe} uses the http port (8080)");
        let path = get["path"].as_str().expect("path");
        let (status, body) = app.get(path);
        assert_eq!(status, 200, "{probe} {path}: {body}");
        assert!(body.contains(word), "{probe} {path}: {body}");
    }
}

/// An Alertmanager-style webhook body of one alert.
fn webhook(status: &str, fingerprint: &str) -> Value {
    json!({
        "version": "4",
        "receiver": "manual",
        "status": status,
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager",
        "alerts": [{
            "status": status,
            "labels": {"alertname": E2E_ALERT, "severity": "warning", "namespace": "e2e"},
            "annotations": {},
            "startsAt": "2026-01-01T00:00:00Z",
            "endsAt": if status == "resolved" { "2026-01-01T00:05:00Z" } else { "0001-01-01T00:00:00Z" },
            "fingerprint": fingerprint,
        }],
    })
}

// ---------------------------------------------------------------------------------------
// standard: PostgreSQL (and Valkey)

/// The whole path on the standard chart: PostgreSQL from the chart's configuration (the
/// app user's password full of URL and shell characters), the schema from the `migrate`
/// init container, two app pods, Valkey, Prometheus and Alertmanager. The alert lands in
/// PostgreSQL; both pods write the same history; a restart keeps it; the probes pass.
#[test]
fn standard_app_stores_alertmanager_alerts_in_postgresql_shared_by_its_pods() {
    let c = database(HOSTILE_PASSWORD, &[]);
    migrate(&c);
    let valkey = Valkey::start(&c.rendered, &c.sandbox);
    let valkey_connections = valkey.connections_received();

    let pod = |name: &str| {
        let mut a = with_database(&c, "alert-history");
        through(
            &c.rendered,
            &mut a.env,
            "REDIS_URL",
            "-valkey",
            6379,
            valkey.port,
        );
        a.serve(&c.sandbox.path().join(format!("{name}.log")))
    };
    let mut first = pod("app-1");
    let mut second = pod("app-2");
    assert_probes_pass(&c.rendered, &first);
    for app in [&first, &second] {
        let log = app.log_text();
        assert!(
            log.contains("PostgreSQL storage initialized successfully"),
            "the app uses PostgreSQL:\n{log}"
        );
    }

    let _pipeline = AlertPipeline::start(
        &common::chart_dir("standard"),
        APP_FROM_LOOPBACK,
        first.port,
    );
    let query = format!("SELECT fingerprint, status FROM alerts WHERE alert_name = '{E2E_ALERT}'");
    let fingerprint = wait_for(
        "the alert from Alertmanager in PostgreSQL",
        Duration::from_secs(90),
        || {
            let rows = c.rows(APP_DB, &query);
            (rows.len() == 1 && rows[0][1] == "firing").then(|| rows[0][0].clone())
        },
    );

    // The second pod resolves what the first stored: one history, one row per alert.
    let (status, body) = second.post("/webhook/", &webhook("resolved", &fingerprint));
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        c.rows(APP_DB, &query),
        [[fingerprint.clone(), "resolved".to_string()]]
    );

    // Image 1.1.9 cannot read alerts back from PostgreSQL through its API.
    let (status, body) = first.get("/api/dashboard/alerts/recent");
    assert_eq!(status, 200, "{body}");
    let listed: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(
        listed["alerts"],
        json!([]),
        "image 1.1.9 now lists stored alerts from PostgreSQL: update the chart README"
    );
    assert!(
        first
            .log_text()
            .contains("unexpected keyword argument 'namespace'"),
        "the API fails to map PostgreSQL rows as known:\n{}",
        first.log_text()
    );

    // Image 1.1.9 never connects to Valkey: its Redis client does not import on 3.11.
    assert!(
        first
            .log_text()
            .contains("Failed to initialize Redis cache, running without caching")
            && first
                .log_text()
                .contains("duplicate base class TimeoutError"),
        "image 1.1.9 now initialises its Redis cache: update the chart README:\n{}",
        first.log_text()
    );
    assert_eq!(
        valkey.connections_received(),
        valkey_connections + 1,
        "only this INFO connected to Valkey, not the app"
    );

    // A restart of every pod keeps the history, and the pods go on writing to it.
    first.stop(KILL_AFTER);
    second.stop(KILL_AFTER);
    let restarted = pod("app-3");
    assert_eq!(
        c.rows(APP_DB, &query),
        [[fingerprint.clone(), "resolved".to_string()]]
    );
    let (status, body) = restarted.post("/webhook/", &webhook("firing", &fingerprint));
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        c.rows(APP_DB, &query),
        [[fingerprint, "firing".to_string()]]
    );
    // One pool per pod, of the image's fixed size (the connection budget counts it).
    let pool: u32 = c
        .sql(
            "postgres",
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'alert-history-service'",
        )
        .parse()
        .expect("count");
    assert!(
        (1..=alertchart::component::app::APP_POOL_MAX).contains(&pool),
        "{pool} connections of one app pod"
    );
}

/// The `migrate` init container waits for PostgreSQL; pods that start together migrate
/// one at a time (one applies the migration, the others find it applied, none fails); a
/// later start changes nothing; the tables the app writes exist.
#[test]
fn migration_waits_for_postgresql_and_runs_once_when_pods_start_together() {
    let mut c = database("plain-password", &[]);
    // Down, with init.sql already run (a pod's first start runs it before the server
    // listens on the network, which this harness cannot do).
    c.stop("fast");
    let pods: Vec<_> = (0..3)
        .map(|i| {
            let log = c.sandbox.path().join(format!("migrate-{i}.log"));
            let out = fs::File::create(&log).expect("log");
            let child = with_database(&c, "migrate")
                .command()
                .stdout(out.try_clone().expect("log"))
                .stderr(out)
                .spawn()
                .expect("start migrate");
            (ChildGuard(child), log)
        })
        .collect();
    wait_for(
        "every migration to wait for PostgreSQL",
        Duration::from_secs(30),
        || {
            pods.iter()
                .all(|(_, log)| {
                    fs::read_to_string(log)
                        .unwrap_or_default()
                        .contains("waiting for PostgreSQL")
                })
                .then_some(())
        },
    );
    c.start();
    let mut applied = 0;
    for (mut child, log) in pods {
        let status = wait_for("a migration to finish", Duration::from_secs(90), || {
            child.0.try_wait().expect("wait")
        });
        let text = fs::read_to_string(&log).expect("log");
        assert!(status.success(), "migrate failed:\n{text}");
        assert!(
            text.contains("migrate: schema is at migration 001"),
            "{text}"
        );
        applied += usize::from(text.contains("Applied migration 001"));
    }
    assert_eq!(applied, 1, "exactly one pod applies the migration");
    assert_eq!(c.sql(APP_DB, "SELECT count(*) FROM migration_history"), "1");
    let again = migrate(&c);
    assert!(!again.contains("Applied migration"), "{again}");
    assert_eq!(
        c.sql(
            APP_DB,
            "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE tablename IN ('alerts', 'alert_classifications', 'migration_history')"
        ),
        "alert_classifications,alerts,migration_history"
    );
}

/// With PostgreSQL unreachable, image 1.1.9 would fall back to a pod-local SQLite file and
/// keep alerts where no other pod sees them. The chart's SQLITE_PATH cannot be opened, so
/// the app fails to start instead (and the kubelet restarts it until PostgreSQL is back).
#[test]
fn app_fails_to_start_rather_than_fall_back_to_sqlite_when_postgresql_is_down() {
    let mut c = database("plain-password", &[]);
    migrate(&c);
    c.stop("fast");
    let log = c.sandbox.path().join("app.log");
    let mut app = with_database(&c, "alert-history");
    app.replace_arg("--host", "0.0.0.0", "127.0.0.1");
    app.replace_arg("--port", "8080", &free_port().to_string());
    let status = exits_within(&mut app.command(), Duration::from_secs(60), &log);
    let text = fs::read_to_string(&log).expect("log");
    assert!(
        !status.success(),
        "the app started without its database:\n{text}"
    );
    assert!(
        text.contains("Falling back to SQLite storage")
            && text.contains("unable to open database file"),
        "{text}"
    );
}

// ---------------------------------------------------------------------------------------
// lite: SQLite on the PVC

/// The lite chart's app stores Alertmanager's alert in SQLite on its PVC, serves it back
/// from its API, keeps it across a restart, passes its probes, and serves no /metrics.
#[test]
fn lite_app_stores_alertmanager_alerts_on_its_volume_and_serves_them_after_a_restart() {
    let chart = common::chart_dir("lite");
    let rendered = Rendered::of(&chart, &[]);
    let sandbox = Sandbox::new();
    let start = |name: &str| {
        AppContainer::of(&rendered, &sandbox, "alert-history")
            .serve(&sandbox.path().join(format!("{name}.log")))
    };
    let mut app = start("app-1");
    assert_probes_pass(&rendered, &app);
    assert_eq!(app.get("/metrics").0, 404, "image 1.1.9 serves no metrics");
    let listed = |app: &AppProcess| -> Vec<String> {
        let (_, body) = app.get("/api/dashboard/alerts/recent");
        let v: Value = serde_json::from_str(&body).expect("JSON");
        v["alerts"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| a["alert_name"].as_str().unwrap_or("").to_string())
            .collect()
    };
    {
        let _pipeline = AlertPipeline::start(&chart, &[], app.port);
        wait_for(
            "the alert from Alertmanager in the app's API",
            Duration::from_secs(90),
            || listed(&app).contains(&E2E_ALERT.to_string()).then_some(()),
        );
    }
    let fs_ = postgres::ContainerFs::new(
        &sandbox,
        &rendered,
        "Deployment",
        app::DEPLOYMENT,
        "alert-history",
    );
    let db = fs_.map_path("/data/alert_history.db");
    let rows = Command::new("/usr/bin/python3")
        .arg("-c")
        .arg("import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT alertname, status FROM alerts').fetchall())")
        .arg(&db)
        .output()
        .expect("python3");
    assert!(
        String::from_utf8_lossy(&rows.stdout).contains(&format!("('{E2E_ALERT}', 'firing')")),
        "{}",
        output_text(&rows)
    );
    // Image 1.1.9's own SIGTERM handler replaces uvicorn's and only sets an event: the
    // process keeps running until the kubelet kills it at the end of the grace period.
    assert!(
        !app.stop(Duration::from_secs(3)),
        "image 1.1.9 now stops on SIGTERM: update the chart README's note on shutdown"
    );
    let again = start("app-2");
    assert_eq!(
        listed(&again),
        [E2E_ALERT],
        "the history survives a restart"
    );
}

/// Every log level the schema allows starts the app (uvicorn takes only its own names).
#[test]
fn every_log_level_of_the_schema_starts_the_app() {
    let chart = common::chart_dir("lite");
    let schema: Value = serde_json::from_str(
        &fs::read_to_string(chart.join("values.schema.json")).expect("schema"),
    )
    .expect("JSON");
    let levels = schema["properties"]["app"]["properties"]["logLevel"]["enum"]
        .as_array()
        .expect("logLevel enum")
        .clone();
    assert!(levels.len() >= 4, "{levels:?}");
    for level in levels {
        let level = level.as_str().expect("string");
        let rendered = Rendered::of(&chart, &["--set", &format!("app.logLevel={level}")]);
        let sandbox = Sandbox::new();
        let mut app = AppContainer::of(&rendered, &sandbox, "alert-history")
            .serve(&sandbox.path().join("app.log"));
        app.stop(KILL_AFTER);
    }
}

/// The LLM settings reach the app: with `app.llm.enabled` and a key (from the chart's
/// Secret, or from an existingSecret) it starts its classification service with the
/// proxy and model of the values.
#[test]
fn llm_settings_and_key_reach_the_apps_classification_service() {
    let chart = common::chart_dir("lite");
    let common_args = [
        "--set",
        "app.llm.enabled=true",
        "--set",
        "app.llm.proxyUrl=http://127.0.0.1:9",
        "--set",
        "app.llm.model=test/model-1",
    ];
    let with_key = [
        &common_args[..],
        &["--set", "app.llm.apiKey=sk-from-values"],
    ]
    .concat();
    let with_secret = [
        &common_args[..],
        &["--set", "app.llm.existingSecret=team-llm"],
    ]
    .concat();
    for (case, args) in [("apiKey", with_key), ("existingSecret", with_secret)] {
        let mut rendered = Rendered::of(&chart, &args);
        if case == "existingSecret" {
            add_secret(&mut rendered, "team-llm", &[("api-key", "sk-from-secret")]);
        }
        let sandbox = Sandbox::new();
        let container = AppContainer::of(&rendered, &sandbox, "alert-history");
        let key = env_get(&container.env, "LLM_API_KEY").to_string();
        assert!(key.starts_with("sk-from-"), "{case}: {key}");
        let mut app = container.serve(&sandbox.path().join("app.log"));
        let log = app.log_text();
        assert!(
            log.contains("LLM Classification service initialized")
                && log.contains("\"llm_proxy_url\": \"http://127.0.0.1:9\"")
                && log.contains("\"llm_model\": \"test/model-1\""),
            "{case}:\n{log}"
        );
        app.stop(KILL_AFTER);
    }
}

// ---------------------------------------------------------------------------------------
// The contract

/// Environment names the app's source reads (`os.getenv("NAME"...)` anywhere under src/).
fn names_the_app_reads() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (_, text) in python_sources() {
        for part in text.split("os.getenv(").skip(1) {
            if let Some(rest) = part.trim_start().strip_prefix('"') {
                names.insert(rest.split('"').next().expect("name").to_string());
            }
        }
    }
    assert!(names.contains("DATABASE_URL"), "{names:?}");
    names
}

/// Every Python file of the app's source, with its text.
fn python_sources() -> Vec<(std::path::PathBuf, String)> {
    let mut files = Vec::new();
    let mut dirs = vec![app_dir().join("src")];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir).expect("src dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "py") {
                let text = fs::read_to_string(&path).expect("source");
                files.push((path, text));
            }
        }
    }
    files
}

/// Names the chart sets that the app's source does not read, each with who reads it.
const READ_BY_OTHERS: &[(&str, &str)] = &[
    (
        "PGPASSWORD",
        "asyncpg, for a DATABASE_URL without a password",
    ),
    (
        "REDIS_PASSWORD",
        "the kubelet, expanding $(REDIS_PASSWORD) into REDIS_URL",
    ),
    ("MIGRATION_WAIT_SECONDS", "the chart's migrate.py"),
];

/// Every variable the chart gives the app's containers is read by the app (or by what the
/// table above names); every name a chart feature depends on is set and read. Checked on
/// both charts with every option on, against the names in the app's source.
#[test]
fn the_chart_sets_only_names_the_app_reads_and_every_name_its_features_need() {
    let reads = names_the_app_reads();
    // The migration script as the charts with PostgreSQL ship it.
    let migrate_py = fs::read_to_string(
        common::chart_dir(profiles_with(POSTGRESQL_CHART_FILE)[0]).join("files/migrate.py"),
    )
    .expect("migrate.py");
    let asyncpg = app::app_venv().join("lib/python3.11/site-packages/asyncpg/connect_utils.py");
    assert!(
        fs::read_to_string(&asyncpg)
            .expect("asyncpg's connect_utils.py")
            .contains("'PGPASSWORD'"),
        "asyncpg reads PGPASSWORD"
    );
    assert!(migrate_py.contains("\"MIGRATION_WAIT_SECONDS\""));
    for profile in common::profiles() {
        let rendered = Rendered::of(
            &common::chart_dir(profile),
            &["--set", "app.llm.enabled=true", "--set", "app.llm.apiKey=k"],
        );
        let pod = rendered.pod_spec("Deployment", app::DEPLOYMENT);
        let mut containers: Vec<(&str, &str, &str)> = ["containers", "initContainers"]
            .iter()
            .filter_map(|k| pod[k].as_array())
            .flatten()
            .map(|c| {
                (
                    "Deployment",
                    app::DEPLOYMENT,
                    c["name"].as_str().expect("name"),
                )
            })
            .collect();
        containers.push(("CronJob", "-retention", "retention"));
        for (kind, suffix, name) in containers {
            let env = rendered.container_env(kind, suffix, name);
            let set: BTreeSet<&str> = env.iter().map(|(n, _)| n.as_str()).collect();
            for n in &set {
                assert!(
                    reads.contains(*n) || READ_BY_OTHERS.iter().any(|(o, _)| o == n),
                    "{profile} {name}: the chart sets {n}, which image 1.1.9 never reads"
                );
            }
            let mut needed = vec!["DATABASE_URL", "SQLITE_PATH"];
            if name == "retention" {
                needed.push("RETENTION_DAYS");
            }
            if name == "alert-history" {
                needed.extend([
                    "REDIS_URL",
                    "LOG_LEVEL",
                    "ENVIRONMENT",
                    "RETENTION_DAYS",
                    "LLM_ENABLED",
                    "ENABLE_CLASSIFICATION",
                    "LLM_API_KEY",
                    "LLM_PROXY_URL",
                    "LLM_MODEL",
                    "LLM_TIMEOUT",
                    "LLM_MAX_RETRIES",
                ]);
            }
            for n in needed {
                assert!(set.contains(n), "{profile} {name}: {n} is not set");
                assert!(reads.contains(n), "image 1.1.9 does not read {n}");
            }
        }
    }
}

/// The app's directory (the image's /app) is not the pod user's and not writable by
/// group or others: the app runs as under a read-only root file system.
#[test]
fn the_app_directory_is_not_writable_by_the_pods_user() {
    use std::os::unix::fs::MetadataExt;
    let rendered = Rendered::of(&common::chart_dir("lite"), &[]);
    let uid = rendered.pod_spec("Deployment", app::DEPLOYMENT)["securityContext"]["runAsUser"]
        .as_u64()
        .expect("runAsUser");
    let dir = app_dir();
    for path in [dir.clone(), dir.join("src/alert_history")] {
        let meta = fs::metadata(&path).expect("metadata");
        assert_ne!(
            u64::from(meta.uid()),
            uid,
            "{} is the pod user's",
            path.display()
        );
        assert_eq!(
            meta.mode() & 0o022,
            0,
            "{} is writable by others",
            path.display()
        );
    }
}

/// Image 1.1.9 reads RETENTION_DAYS (the contract test above) but nothing calls its
/// storages' `cleanup_old_alerts`: without the chart's retention CronJob, old alerts would
/// never be deleted.
#[test]
fn the_image_never_calls_its_retention_cleanup() {
    let calls: Vec<String> = python_sources()
        .iter()
        .flat_map(|(path, text)| {
            text.lines()
                .filter(|l| l.contains(".cleanup_old_alerts("))
                .map(move |l| format!("{}: {}", path.display(), l.trim()))
        })
        .collect();
    assert!(
        calls.is_empty(),
        "image 1.1.9 now deletes old alerts itself: the retention CronJob may go (docs/app.md):\n{}",
        calls.join("\n")
    );
}

// ---------------------------------------------------------------------------------------
// Retention

/// Runs the retention CronJob's container to completion: its output, and whether it
/// succeeded.
fn run_retention(job: &AppContainer) -> (bool, String) {
    let out = job.run();
    (out.status.success(), output_text(&out))
}

/// Runs the retention job, which must succeed and delete one alert older than 10 days.
fn assert_retention_deletes_one_old_alert(job: &AppContainer) {
    let (ok, out) = run_retention(job);
    assert!(ok, "{out}");
    assert!(
        out.contains("retention: deleted 1 alerts older than 10 days"),
        "{out}"
    );
}

/// The retention CronJob deletes, with the app's own cleanup (PostgreSQL: its SQL function
/// cleanup_old_data, by row age), exactly the alerts older than `app.retentionDays`, and
/// fails when the app's cleanup fails (which the app itself only logs).
#[test]
fn standard_retention_job_deletes_only_alerts_older_than_retention_days() {
    let c = database("plain-password", &["--set", "app.retentionDays=10"]);
    migrate(&c);
    let insert = "INSERT INTO alerts (fingerprint, alert_name, status, created_at) VALUES \
                  ('old', 'Old', 'firing', now() - interval '11 days'), \
                  ('new', 'New', 'firing', now() - interval '9 days')";
    c.sql(APP_DB, insert);
    let mut job = AppContainer::of_workload(
        &c.rendered,
        &c.sandbox,
        "CronJob",
        "-retention",
        "retention",
    );
    through(
        &c.rendered,
        &mut job.env,
        "DATABASE_URL",
        "-postgresql",
        5432,
        c.port,
    );
    assert_retention_deletes_one_old_alert(&job);
    assert_eq!(
        c.sql(APP_DB, "SELECT string_agg(fingerprint, ',') FROM alerts"),
        "new"
    );

    // Without the app's cleanup function the app logs and returns 0; the job fails.
    c.sql(APP_DB, "DROP FUNCTION cleanup_old_data(integer)");
    c.sql(APP_DB, "INSERT INTO alerts (fingerprint, alert_name, status, created_at) VALUES ('old', 'Old', 'firing', now() - interval '11 days')");
    let (ok, out) = run_retention(&job);
    assert!(!ok, "the job passed while an old alert was left:\n{out}");
    assert!(
        out.contains("1 alerts older than 10 days are left"),
        "{out}"
    );
}

/// On lite, the retention CronJob runs on the app pod's node (the volume is
/// ReadWriteOnce), opens the app's SQLite file on the same claim, and deletes the alerts
/// that started more than `app.retentionDays` ago.
#[test]
fn lite_retention_job_shares_the_apps_volume_and_deletes_only_old_alerts() {
    let chart = common::chart_dir("lite");
    let rendered = Rendered::of(&chart, &["--set", "app.retentionDays=10"]);
    let job_pod = rendered.pod_spec("CronJob", "-retention");
    let affinity =
        &job_pod["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0];
    assert_eq!(affinity["topologyKey"], "kubernetes.io/hostname");
    assert_eq!(
        affinity["labelSelector"]["matchLabels"],
        rendered.object("Deployment", app::DEPLOYMENT)["spec"]["selector"]["matchLabels"],
        "the job follows the app pod"
    );
    let sandbox = Sandbox::new();
    let job = AppContainer::of_workload(&rendered, &sandbox, "CronJob", "-retention", "retention");
    let (ok, out) = run_retention(&job);
    assert!(ok && out.contains("deleted 0 alerts"), "{out}");
    let app_fs = postgres::ContainerFs::new(
        &sandbox,
        &rendered,
        "Deployment",
        app::DEPLOYMENT,
        "alert-history",
    );
    let db = app_fs.map_path("/data/alert_history.db");
    assert!(db.is_file(), "the job's SQLite file is the app's");
    let sqlite = |script: &str| {
        let out = Command::new("/usr/bin/python3")
            .arg("-c")
            .arg(format!(
                "import datetime, sqlite3, sys\n\
                 db = sqlite3.connect(sys.argv[1])\n\
                 ago = lambda d: (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=d)).isoformat()\n\
                 {script}\n\
                 db.commit()"
            ))
            .arg(&db)
            .output()
            .expect("python3");
        assert!(out.status.success(), "{}", output_text(&out));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    sqlite(
        "for fp, d in (('old', 11), ('new', 9)): db.execute(\"INSERT INTO alerts (fingerprint, alertname, status, labels, annotations, starts_at) VALUES (?, 'A', 'firing', '{}', '{}', ?)\", (fp, ago(d)))",
    );
    assert_retention_deletes_one_old_alert(&job);
    assert_eq!(
        sqlite("print(','.join(r[0] for r in db.execute('SELECT fingerprint FROM alerts')))"),
        "new"
    );
}
