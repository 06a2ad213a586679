//! The chart-testing values files `ci/<profile>-values.yaml` that each committed chart
//! carries, so that `ct lint` (which lints a chart once per `ci/*-values.yaml`) works out of
//! the box: each chart has exactly its own profile's file; the real `helm lint --strict`
//! passes with it; `helm template` with it renders every optional add-on; every value it sets
//! differs from the chart's default (so it exercises what the defaults leave out); and the
//! manifests pass strict Kubernetes schema validation. Also the ArtifactHub metadata of
//! Chart.yaml: every image of the default values listed with its pinned tag.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::common::{
    POSTGRESQL_CHART_FILE, VALKEY_CHART_FILE, assert_kube_valid, chart_dir, helm_template,
    profiles, repo, run_ok, tool, yaml_docs,
};

fn ci_file(profile: &str) -> PathBuf {
    chart_dir(profile).join(format!("ci/{profile}-values.yaml"))
}

fn yaml_file(path: &PathBuf) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    yaml_serde::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn each_chart_has_exactly_its_profiles_ci_values_file() {
    for profile in profiles() {
        let dir = chart_dir(profile).join("ci");
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, [format!("{profile}-values.yaml")], "{profile}: ci/");
    }
}

#[test]
fn helm_lint_strict_passes_with_each_ci_values_file() {
    for profile in profiles() {
        let out = run_ok(
            Command::new(tool("helm"))
                .args(["lint", "--strict"])
                .arg(chart_dir(profile))
                .arg("-f")
                .arg(ci_file(profile)),
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("1 chart(s) linted, 0 chart(s) failed"),
            "{profile}: {stdout}"
        );
    }
}

#[test]
fn helm_template_with_the_ci_values_renders_every_add_on() {
    for profile in profiles() {
        let docs = yaml_docs(&helm_template(
            &chart_dir(profile),
            &["-f", ci_file(profile).to_str().unwrap()],
        ));
        let has = |kind: &str, suffix: &str| {
            docs.iter().any(|d| {
                d["kind"] == kind
                    && d["metadata"]["name"]
                        .as_str()
                        .is_some_and(|n| n.ends_with(suffix))
            })
        };
        let mut expected = vec![
            ("Ingress", "ah-alert-history"),
            ("Secret", "ah-alert-history-llm"),
        ];
        if chart_dir(profile).join(POSTGRESQL_CHART_FILE).exists() {
            expected.extend([
                ("ServiceMonitor", "-postgresql"),
                ("PrometheusRule", "-postgresql"),
                ("ConfigMap", "-postgresql-dashboard"),
                ("NetworkPolicy", "-postgresql"),
                ("CronJob", "-postgresql-backup"),
            ]);
        }
        if chart_dir(profile).join(VALKEY_CHART_FILE).exists() {
            expected.push(("PrometheusRule", "-valkey"));
        }
        for (kind, suffix) in expected {
            assert!(
                has(kind, suffix),
                "{profile}: no {kind} *{suffix} with the ci values"
            );
        }
    }
}

/// Every leaf of `values` with its dotted path.
fn leaves(value: &Value, path: &str, out: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                leaves(v, &p, out);
            }
        }
        other => out.push((path.to_string(), other.clone())),
    }
}

fn at<'a>(values: &'a Value, dotted: &str) -> &'a Value {
    dotted.split('.').fold(values, |v, k| &v[k])
}

#[test]
fn every_ci_value_differs_from_the_charts_default() {
    for profile in profiles() {
        let defaults = yaml_file(&chart_dir(profile).join("values.yaml"));
        let ci = yaml_file(&ci_file(profile));
        let mut set = Vec::new();
        leaves(&ci, "", &mut set);
        assert!(
            set.len() >= 8,
            "{profile}: the ci values set only {} keys",
            set.len()
        );
        for (path, value) in set {
            let default = at(&defaults, &path);
            assert_ne!(
                default, &value,
                "{profile}: ci value {path} repeats the default; drop it or change it"
            );
        }
    }
}

#[test]
fn manifests_with_the_ci_values_pass_strict_kubernetes_schema_validation() {
    for profile in profiles() {
        let manifests = helm_template(
            &chart_dir(profile),
            &["-f", ci_file(profile).to_str().unwrap()],
        );
        assert_kube_valid(&manifests, &format!("{profile} with ci values"));
    }
}

#[test]
fn chart_yaml_lists_every_default_image_pinned_for_artifacthub() {
    for profile in profiles() {
        let chart = yaml_file(&chart_dir(profile).join("Chart.yaml"));
        let values = yaml_file(&chart_dir(profile).join("values.yaml"));
        let annotations = &chart["annotations"];
        assert_eq!(
            annotations["artifacthub.io/license"], "Apache-2.0",
            "{profile}"
        );
        for key in ["artifacthub.io/links", "artifacthub.io/changes"] {
            let list: Value =
                yaml_serde::from_str(annotations[key].as_str().unwrap_or("")).unwrap();
            assert!(
                list.as_array().is_some_and(|l| !l.is_empty()),
                "{profile}: {key} is not a non-empty YAML list"
            );
        }
        let images: Value = yaml_serde::from_str(
            annotations["artifacthub.io/images"]
                .as_str()
                .expect("images"),
        )
        .unwrap();
        let listed: Vec<String> = images
            .as_array()
            .expect("a list")
            .iter()
            .map(|i| i["image"].as_str().expect("image").to_string())
            .collect();

        let mut leaves_ = Vec::new();
        leaves(&values, "", &mut leaves_);
        let mut expected: Vec<String> = leaves_
            .iter()
            .filter_map(|(path, repository)| {
                let base = path.strip_suffix(".repository")?;
                let tag = at(&values, &format!("{base}.tag")).as_str()?;
                Some(format!("{}:{tag}", repository.as_str()?))
            })
            .collect();
        expected.sort();
        let mut sorted = listed.clone();
        sorted.sort();
        assert_eq!(
            sorted, expected,
            "{profile}: artifacthub.io/images vs values.yaml"
        );
        for image in &listed {
            let tag = image.rsplit_once(':').map_or("", |(_, t)| t);
            assert!(
                !tag.is_empty() && tag != "latest",
                "{profile}: {image} is not pinned"
            );
        }
        assert!(
            chart["home"].is_string()
                && chart["sources"].is_array()
                && chart["maintainers"].is_array(),
            "{profile}: Chart.yaml lacks home, sources or maintainers"
        );
        assert!(chart["kubeVersion"].is_string(), "{profile}: kubeVersion");
    }
}

/// The fenced blocks of a Markdown file with the given info string.
fn fenced_blocks(markdown: &str, info: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match &mut current {
            None if line.trim_start() == format!("```{info}") => current = Some(String::new()),
            Some(block) if line.trim_start() == "```" => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    blocks
}

#[test]
fn docs_ci_md_jobs_are_valid_yaml_and_run_every_step() {
    let path = repo().join("docs/ci.md");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let jobs = fenced_blocks(&text, "yaml");
    assert_eq!(
        jobs.len(),
        2,
        "docs/ci.md: a GitHub Actions and a GitLab CI example"
    );
    for job in &jobs {
        let parsed: Value = yaml_serde::from_str(job)
            .unwrap_or_else(|e| panic!("docs/ci.md example is not YAML: {e}\n{job}"));
        assert!(parsed.is_object(), "docs/ci.md example is not a mapping");
        for step in [
            "cargo install --locked --path .",
            "alertchart render --check --profile",
            "helm lint --strict",
            "-values.yaml",
            "helm package",
            "helm push",
        ] {
            assert!(
                job.contains(step),
                "docs/ci.md example lacks `{step}`:\n{job}"
            );
        }
    }
    assert!(text.contains("helm package charts-out/standard/alert-history"));
}

#[test]
fn the_documented_packaging_one_liner_builds_the_tgz() {
    for profile in profiles() {
        let dir = tempfile::tempdir().unwrap();
        run_ok(
            Command::new(tool("helm"))
                .current_dir(repo())
                .args([
                    "package",
                    &format!("charts-out/{profile}/alert-history"),
                    "-d",
                ])
                .arg(dir.path()),
        );
        let tgz = dir
            .path()
            .join(format!("alert-history-{}.tgz", env!("CARGO_PKG_VERSION")));
        let listing = run_ok(Command::new("tar").arg("-tzf").arg(&tgz));
        let files = String::from_utf8_lossy(&listing.stdout);
        for expected in [
            "alert-history/Chart.yaml",
            "alert-history/values.schema.json",
            "alert-history/templates/app/deployment.yaml",
            &format!("alert-history/ci/{profile}-values.yaml"),
        ] {
            assert!(
                files.contains(expected),
                "{profile}: the package lacks {expected}"
            );
        }
    }
}
