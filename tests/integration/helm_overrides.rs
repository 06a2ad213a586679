//! One set of overrides serves `alertchart render` and `helm install` alike, on the real
//! chart: for realistic overrides (tags like `16.10`, CPU `1.5`, decimals, tolerations by
//! index, CIDR lists, booleans in every spelling, YAML 1.1 files), rendering the chart with
//! the overrides and then `helm template` of it gives the same manifests as `helm
//! template` of the committed default chart with the same overrides; when one rejects
//! them, the other does too. The one deliberate difference, derived memory settings, has a
//! test of its own.

use std::fs;
use std::process::Command;

use crate::common::{POSTGRESQL_CHART_FILE, VALKEY_CHART_FILE, chart_dir, tool};

/// Generated passwords would differ between two renders: both sides use existing Secrets,
/// for PostgreSQL and Valkey where the profile's chart has them.
fn existing_secrets(profile: &str) -> Vec<String> {
    let chart = chart_dir(profile);
    let mut args = Vec::new();
    if chart.join(POSTGRESQL_CHART_FILE).exists() {
        args.extend(["--set", "postgresql.auth.existingSecret=pg-credentials"]);
    }
    if chart.join(VALKEY_CHART_FILE).exists() {
        args.extend(["--set", "valkey.auth.existingSecret=valkey-credentials"]);
    }
    args.into_iter().map(ToString::to_string).collect()
}

fn helm_template(chart: &std::path::Path, args: &[String]) -> Result<String, String> {
    let out = Command::new(tool("helm"))
        .args(["template", "ah"])
        .arg(chart)
        .args(["--namespace", "alerts"])
        .args(args)
        .output()
        .unwrap();
    if out.status.success() {
        Ok(String::from_utf8(out.stdout).unwrap())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// `alertchart render` with the overrides, then `helm template` of the result.
fn through_alertchart(profile: &str, args: &[String]) -> Result<String, String> {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_alertchart"))
        .args(["render", "--profile", profile, "--out"])
        .arg(dir.path())
        .args(args)
        .output()
        .unwrap();
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    helm_template(&dir.path().join("alert-history"), &[])
}

/// The arguments of a case, with each `@name` file argument written to `dir`.
fn arguments(
    profile: &str,
    case: &[&str],
    files: &[(&str, &str)],
    dir: &std::path::Path,
) -> Vec<String> {
    let mut args = existing_secrets(profile);
    for arg in case {
        match arg.strip_prefix('@') {
            Some(name) => {
                let (_, text) = files
                    .iter()
                    .find(|(n, _)| *n == name)
                    .expect("a file of the case");
                let path = dir.join(format!("{name}.yaml"));
                fs::write(&path, text).unwrap();
                args.push(path.display().to_string());
            }
            None => args.push((*arg).to_string()),
        }
    }
    args
}

/// Asserts that every case agrees; returns how many both render and how many both reject.
fn assert_same_manifests(
    profile: &str,
    cases: &[&[&str]],
    files: &[(&str, &str)],
) -> (usize, usize) {
    let mut failures = Vec::new();
    let mut rendered = 0;
    for case in cases {
        let dir = tempfile::tempdir().unwrap();
        let args = arguments(profile, case, files, dir.path());
        let mine = through_alertchart(profile, &args);
        let helm = helm_template(&chart_dir(profile), &args);
        let agree = match (&mine, &helm) {
            (Ok(a), Ok(b)) => a == b,
            (Err(_), Err(_)) => true,
            _ => false,
        };
        rendered += usize::from(agree && mine.is_ok());
        if !agree {
            let show = |r: &Result<String, String>| match r {
                Ok(_) => "renders".to_string(),
                Err(e) => format!("rejects: {}", e.trim()),
            };
            failures.push(format!(
                "{profile} {case:?}\n    alertchart then helm: {}\n    helm: {}",
                show(&mine),
                show(&helm)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    (rendered, cases.len() - rendered)
}

const FILES: &[(&str, &str)] = &[
    (
        "yaml11-switches",
        "ingress:\n  enabled: yes\n  tls:\n    enabled: On\nmetrics:\n  serviceMonitor:\n    enabled: y\n",
    ),
    (
        "yaml11-numbers",
        "app:\n  retentionDays: 0o144\npostgresql:\n  backup:\n    retention:\n      baseBackupDays: 010\n      walArchiveDays: 1_4\n",
    ),
    (
        "merge-keys",
        "app:\n  resources:\n    requests: &r\n      cpu: 250m\n      memory: 256Mi\n    limits:\n      <<: *r\n      memory: 512Mi\n",
    ),
    (
        "documents",
        "app:\n  logLevel: debug\n---\napp:\n  retentionDays: 30\n---\n",
    ),
    ("duplicates", "service:\n  port: 8080\n  port: 9000\n"),
    ("quoted-tag", "postgresql:\n  image:\n    tag: \"17\"\n"),
    ("plain-int-tag", "postgresql:\n  image:\n    tag: 17\n"),
    (
        "integers",
        "image:\n  tag: 20240101\napp:\n  nodeSelector:\n    gen: 20240101\n  podAnnotations:\n    at: 1700000000\n  resources:\n    limits:\n      cpu: 2\n      memory: 2147483648\npostgresql:\n  persistence:\n    size: 21474836480\n",
    ),
    (
        "decimals",
        "postgresql:\n  config:\n    randomPageCost: 1.5\n    checkpointCompletionTarget: '0.85'\n",
    ),
    ("null-section", "valkey: null\n"),
    ("null-leaf", "ingress:\n  annotations: ~\n"),
    (
        "infinity",
        "postgresql:\n  config:\n    randomPageCost: .inf\n",
    ),
];

#[test]
fn standard_chart_renders_the_same_with_overrides_as_helm() {
    let cases: &[&[&str]] = &[
        &[],
        &["--set", "postgresql.image.tag=16.10"],
        &["--set-string", "postgresql.image.tag=17"],
        &["--set", "app.resources.limits.cpu=1.5"],
        &["--set", "postgresql.config.randomPageCost=1.5"],
        &["--set", "postgresql.config.randomPageCost=1.50"],
        &["--set", "postgresql.config.randomPageCost=4"],
        &["--set", "postgresql.config.randomPageCost=150"],
        &["--set", "postgresql.config.randomPageCost=fast"],
        &["--set", "postgresql.config.checkpointCompletionTarget=0.8"],
        &["--set", "postgresql.alerts.cacheHitRatioMin=0.9"],
        &["--set", "postgresql.alerts.checkpointsPerMinuteMax=0.5"],
        &["--set-json", "postgresql.alerts.deadTupleRatioMax=0.25"],
        &[
            "--set",
            "app.tolerations[0].key=dedicated,app.tolerations[0].operator=Equal,app.tolerations[0].value=alerts,app.tolerations[0].effect=NoSchedule",
        ],
        &[
            "--set",
            "app.tolerations[0].key=dedicated,app.tolerations[0].operator=Exists",
            "--set",
            "app.tolerations[1].key=spot,app.tolerations[1].operator=Exists",
        ],
        &[
            "--set",
            "app.tolerations[1].key=k,app.tolerations[1].operator=Exists",
        ],
        &[
            "--set-json",
            r#"app.tolerations=[{"key":"k","operator":"Exists","effect":"NoExecute"}]"#,
        ],
        &[
            "--set",
            "networkPolicy.extraDatabaseClientCidrs={10.0.0.0/8,192.168.0.0/16}",
        ],
        &[
            "--set",
            "networkPolicy.extraDatabaseClientCidrs[0]=10.1.0.0/16",
        ],
        &["--set", "postgresql.hba.appCidrs={10.0.0.0/8}"],
        &["--set", "postgresql.hba.appCidrs={}"],
        &["--set", "ingress.enabled=TRUE"],
        &["--set", "ingress.enabled=True,ingress.tls.enabled=true"],
        &["--set", "ingress.enabled=yes"],
        &["--set", "metrics.serviceMonitor.enabled=False"],
        &[
            "--set",
            "metrics.prometheusRule.enabled=true,metrics.grafanaDashboards.enabled=tRuE",
        ],
        &["--set", "app.podAnnotations.note=a\\,b"],
        &["--set", "app.podAnnotations.enabled=true"],
        &["--set-string", "app.podAnnotations.enabled=true"],
        &["--set-literal", "app.podAnnotations.list=a,b\\c"],
        &[
            "--set",
            "metrics.serviceMonitor.labels.release=kube-prometheus-stack",
        ],
        &["--set", r"app.nodeSelector.kubernetes\.io/arch=arm64"],
        &["--set", "app.logLevel=debug,service.port=8081"],
        &["--set", "ingress.host=alerts.example.com,"],
        &["--set", "ingress.annotations=null"],
        &["--set", "valkey=null"],
        &[
            "--set",
            "postgresql.backup.schedule=0 3 * * *,postgresql.backup.timeZone=Europe/Berlin",
        ],
        &["--set", "postgresql.backup.enabled=false"],
        &["--set", "app.retentionDays=0x1E"],
        &["--set", "app.retentionDays=030"],
        &["--set", "app.retentionDays=1e2"],
        &["--set", "app.nosuch=1"],
        &["--set", "app.resources.limits=1"],
        &["-f", "@yaml11-switches"],
        &["-f", "@yaml11-numbers"],
        &["-f", "@merge-keys"],
        &["-f", "@documents"],
        &["-f", "@duplicates"],
        &["-f", "@quoted-tag"],
        &["-f", "@plain-int-tag"],
        &["-f", "@decimals"],
        &["-f", "@null-section"],
        &["-f", "@null-leaf"],
        &["-f", "@infinity"],
        &["-f", "@yaml11-switches", "--set", "ingress.enabled=false"],
        &["--set-string", "service.port=8081"],
    ];
    let (rendered, rejected) = assert_same_manifests("standard", cases, FILES);
    assert!(
        rendered >= 35 && rejected >= 15,
        "{rendered} rendered, {rejected} rejected"
    );
}

#[test]
fn standard_chart_takes_the_integers_and_booleans_helm_makes_of_string_settings() {
    // `--set` types `17`, `2`, `true` before the schema sees them: image tags, CPU and
    // memory quantities, label and annotation values and the LLM API key take them, and
    // render as typed.
    let cases: &[&[&str]] = &[
        &["--set", "postgresql.image.tag=17"],
        &["--set", "app.resources.limits.cpu=2"],
        &["--set", "image.tag=17"],
        &["--set", "image.tag=+17"],
        &["--set", "image.tag=true"],
        &["--set", "image.tag=-1"],
        &["--set", "image.tag=null"],
        &["--set", "postgresql.exporter.image.tag=0"],
        &["--set", "valkey.exporter.image.tag=1,tests.image.tag=FALSE"],
        &["--set", "app.resources.limits.cpu=-2"],
        &[
            "--set",
            "postgresql.resources.requests.cpu=1,postgresql.resources.limits.cpu=4",
        ],
        &["--set", "valkey.resources.limits.cpu=true"],
        &["--set", "app.resources.limits.memory=1073741824"],
        &["--set", "app.resources.limits.memory=0"],
        &["--set", "valkey.persistence.size=2147483648"],
        &["--set", "postgresql.backup.persistence.size=21474836480"],
        &["--set-string", "app.resources.limits.cpu=2"],
        &[
            "--set",
            "metrics.grafanaDashboards.labels.grafana_dashboard=1",
        ],
        &[
            "--set",
            "metrics.serviceMonitor.labels.release=true,metrics.prometheusRule.labels.tier=2",
        ],
        &["--set", "app.nodeSelector.pool=true,app.nodeSelector.gen=7"],
        &["--set", "app.nodeSelector.gen=-7"],
        &[
            "--set",
            "app.tolerations[0].key=gpu,app.tolerations[0].operator=Equal,app.tolerations[0].value=1,app.tolerations[0].effect=NoSchedule",
        ],
        &["--set", "networkPolicy.prometheus.podSelector.version=3"],
        &[
            "--set",
            "app.podAnnotations.enabled=true,app.podAnnotations.weight=-5",
        ],
        &[
            "--set",
            "ingress.enabled=true,ingress.annotations.retries=3",
        ],
        &["--set", "serviceAccount.annotations.audit=false"],
        &["--set", "metrics.grafanaDashboards.annotations.order=0"],
        &["--set", "app.llm.enabled=true,app.llm.apiKey=123456789"],
        &["-f", "@integers"],
    ];
    let (rendered, rejected) = assert_same_manifests("standard", cases, FILES);
    assert!(
        rendered >= 22 && rejected >= 6,
        "{rendered} rendered, {rejected} rejected"
    );
}

#[test]
fn lite_chart_renders_the_same_with_overrides_as_helm() {
    let cases: &[&[&str]] = &[
        &[],
        &[
            "--set",
            "persistence.size=20Gi,persistence.storageClass=local-path",
        ],
        &["--set", "ingress.enabled=True"],
        &["--set", "app.resources.limits.cpu=0.5"],
        &["--set", "app.resources.limits.cpu=1"],
        &["--set", "persistence.size=10737418240"],
        &["--set", "image.tag=2"],
        &["--set", "valkey.image.tag=8"],
        &["--set", "persistence=null"],
        &["-f", "@yaml11-switches"],
        &["-f", "@duplicates"],
    ];
    let (rendered, rejected) = assert_same_manifests("lite", cases, FILES);
    assert!(
        rendered >= 5 && rejected >= 2,
        "{rendered} rendered, {rejected} rejected"
    );
}

#[test]
fn derived_memory_settings_are_the_documented_difference() {
    // alertchart derives shared_buffers and friends from the memory limit; Helm keeps the
    // values of the chart it was given (README: change the limit with alertchart).
    let dir = tempfile::tempdir().unwrap();
    let mut args = arguments("standard", &[], &[], dir.path());
    args.extend([
        "--set".into(),
        "postgresql.resources.limits.memory=8Gi".into(),
    ]);
    let mine = through_alertchart("standard", &args).unwrap();
    let helm = helm_template(&chart_dir("standard"), &args).unwrap();
    let shared_buffers = |m: &str| {
        m.lines()
            .find(|l| l.trim_start().starts_with("shared_buffers ="))
            .map(str::trim)
            .unwrap()
            .to_string()
    };
    assert_eq!(shared_buffers(&mine), "shared_buffers = '2GB'");
    assert_ne!(shared_buffers(&helm), shared_buffers(&mine));
}

#[test]
fn integer_and_boolean_settings_render_as_meant() {
    // Helm's `--set` types `17`, `2` and `true`; the chart renders them as the text typed.
    // (Not postgresql.image.tag=true: a PostgreSQL tag must start with its major version.)
    let dir = tempfile::tempdir().unwrap();
    let mut args = arguments("standard", &[], &[], dir.path());
    args.extend(
        [
            "--set",
            "image.tag=17,valkey.image.tag=true",
            "--set",
            "app.resources.limits.cpu=2,app.resources.limits.memory=1073741824",
            "--set",
            "metrics.grafanaDashboards.enabled=true,metrics.grafanaDashboards.labels.grafana_dashboard=1,app.podAnnotations.on=true",
            "--set",
            "app.llm.enabled=true,app.llm.apiKey=123456789",
        ]
        .map(String::from),
    );
    let mine = through_alertchart("standard", &args).unwrap();
    for expected in [
        "image: \"ipiton/alert-history-llm:17\"",
        "SERVICE_VERSION: \"17\"",
        ":true\"",
        "cpu: 2\n",
        "memory: 1073741824\n",
        "\"grafana_dashboard\": \"1\"",
        "\"on\": \"true\"",
        "api-key: \"MTIzNDU2Nzg5\"",
    ] {
        assert!(mine.contains(expected), "{expected:?} not in the manifests");
    }
    assert_eq!(mine, helm_template(&chart_dir("standard"), &args).unwrap());
}
