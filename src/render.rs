//! Rendering a profile into the files of a Helm chart, in memory.
//!
//! The chart sources under `templates/` are compiled into the binary through one table
//! keyed by output path. Tera runs with `[% %]`, `[[ ]]` and `[# #]` delimiters so that
//! the sources read as the Helm templates they produce; Tera only decides structure (which
//! files and blocks a profile gets), Helm substitutes the values at install time.

use std::borrow::Cow;
use std::collections::BTreeMap;

use anyhow::{Context as _, Result, anyhow};
use serde::Serialize;
use serde_json::Value;
use tera::{Context, Delimiters, Tera};

use crate::profile::{Components, Profile};
use crate::{schema, tuning, validate, values};

/// Which component a chart file belongs to; the file exists only in charts that have it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    Always,
    Postgresql,
    Valkey,
    Autoscaling,
    Sqlite,
    /// A component with alert rules (PostgreSQL or Valkey).
    Rules,
}

impl Needs {
    fn met_by(self, c: Components) -> bool {
        match self {
            Self::Always => true,
            Self::Postgresql => c.postgresql,
            Self::Valkey => c.valkey,
            Self::Autoscaling => c.autoscaling,
            Self::Sqlite => c.sqlite,
            Self::Rules => c.postgresql || c.valkey,
        }
    }
}

macro_rules! source {
    ($needs:ident, $path:literal) => {
        (
            $path,
            Needs::$needs,
            include_str!(concat!("../templates/", $path)),
        )
    };
}

/// Every chart source: output path, the component it needs, and its Tera text.
pub const SOURCES: &[(&str, Needs, &str)] = &[
    source!(Always, ".helmignore"),
    source!(Always, "README.md"),
    source!(Always, "Chart.yaml"),
    source!(Postgresql, "dashboards/postgresql.json"),
    source!(Postgresql, "ci/standard-values.yaml"),
    source!(Sqlite, "ci/lite-values.yaml"),
    source!(Always, "templates/NOTES.txt"),
    source!(Always, "templates/_helpers.tpl"),
    source!(Postgresql, "files/migrate.py"),
    source!(Always, "files/retention.py"),
    source!(Always, "templates/app/configmap.yaml"),
    source!(Always, "templates/app/deployment.yaml"),
    source!(Always, "templates/app/ingress.yaml"),
    source!(Always, "templates/app/service.yaml"),
    source!(Always, "templates/app/secret.yaml"),
    source!(Always, "templates/app/serviceaccount.yaml"),
    source!(Postgresql, "templates/app/migration-configmap.yaml"),
    source!(Always, "templates/app/retention-configmap.yaml"),
    source!(Always, "templates/app/retention-cronjob.yaml"),
    source!(Sqlite, "templates/app/_sqlite.tpl"),
    source!(Always, "templates/tests/app-test.yaml"),
    source!(Sqlite, "templates/app/pvc.yaml"),
    source!(Autoscaling, "templates/app/hpa.yaml"),
    source!(Autoscaling, "templates/app/pdb.yaml"),
    source!(Postgresql, "templates/postgresql/_postgresql-exporter.tpl"),
    source!(Postgresql, "templates/postgresql/_postgresql.tpl"),
    source!(Postgresql, "templates/postgresql/backup-configmap.yaml"),
    source!(Postgresql, "templates/postgresql/backup-cronjob.yaml"),
    source!(Postgresql, "templates/postgresql/backup-pvc.yaml"),
    source!(Postgresql, "templates/postgresql/configmap.yaml"),
    source!(Postgresql, "templates/postgresql/exporter-configmap.yaml"),
    source!(Postgresql, "templates/postgresql/grafana-dashboard.yaml"),
    source!(Postgresql, "templates/postgresql/metrics-service.yaml"),
    source!(Postgresql, "templates/postgresql/networkpolicy.yaml"),
    source!(Postgresql, "templates/postgresql/pdb.yaml"),
    source!(Postgresql, "templates/postgresql/prometheusrule.yaml"),
    source!(Postgresql, "templates/postgresql/secret.yaml"),
    source!(Postgresql, "templates/postgresql/service-headless.yaml"),
    source!(Postgresql, "templates/postgresql/service.yaml"),
    source!(Postgresql, "templates/postgresql/servicemonitor.yaml"),
    source!(Postgresql, "templates/postgresql/statefulset.yaml"),
    source!(Postgresql, "templates/tests/postgresql-test.yaml"),
    source!(Valkey, "templates/valkey/_valkey.tpl"),
    source!(Valkey, "templates/valkey/configmap.yaml"),
    source!(Valkey, "templates/valkey/networkpolicy.yaml"),
    source!(Valkey, "templates/valkey/pdb.yaml"),
    source!(Valkey, "templates/valkey/prometheusrule.yaml"),
    source!(Valkey, "templates/valkey/secret.yaml"),
    source!(Valkey, "templates/valkey/service-headless.yaml"),
    source!(Valkey, "templates/valkey/service.yaml"),
    source!(Valkey, "templates/valkey/servicemonitor.yaml"),
    source!(Valkey, "templates/valkey/statefulset.yaml"),
];

/// Documents copied into the chart as they are (no templating): the chart README links
/// them, so an installed chart carries its own operating guide.
pub const DOCS: &[(&str, Needs, &str)] = &[
    // It compares the profiles, so only charts with PostgreSQL carry it.
    (
        "docs/app.md",
        Needs::Postgresql,
        include_str!("../docs/app.md"),
    ),
    (
        "docs/backup-restore.md",
        Needs::Postgresql,
        include_str!("../docs/backup-restore.md"),
    ),
    (
        "docs/security.md",
        Needs::Postgresql,
        include_str!("../docs/security.md"),
    ),
    (
        "docs/runbooks.md",
        Needs::Rules,
        include_str!("../docs/runbooks.md"),
    ),
];

/// The data templates may use: structure only, never values (those stay Helm values),
/// plus the values reference table of the chart README.
#[derive(Serialize)]
struct TemplateContext<'a> {
    profile: &'a crate::profile::ProfileMeta,
    components: Components,
    generator: Generator,
    app_version: &'a str,
    values_table: String,
    /// Every container image of the chart's default values (Chart.yaml's artifacthub.io/images).
    images: Vec<ChartImage>,
    /// What alertchart sized PostgreSQL's memory settings for, when it derived any.
    sized_for: Option<SizedFor>,
    /// Extra app pods during a rolling update (the connection budget counts them).
    rollout_surge: u32,
}

/// The memory limit and max_connections the derived memory settings were computed from,
/// and the settings that change with each, so that NOTES can warn when a release changes
/// one and keeps those settings.
#[derive(Serialize)]
struct SizedFor {
    memory: String,
    max_connections: u32,
    by_limit: Vec<DerivedSetting>,
    by_connections: Vec<DerivedSetting>,
}

#[derive(Serialize)]
struct DerivedSetting {
    path: &'static str,
    value: String,
}

fn sized_for(profile: &Profile, derived: &[tuning::Derived]) -> Option<SizedFor> {
    let pg = profile.postgresql.as_ref()?;
    let settings = |wanted: fn(&tuning::Follows) -> bool| -> Vec<DerivedSetting> {
        derived
            .iter()
            .filter(|d| wanted(&d.follows))
            .map(|d| DerivedSetting {
                path: d.path,
                value: d.value.clone(),
            })
            .collect()
    };
    let sized = SizedFor {
        memory: pg.resources.limits.memory.to_string(),
        max_connections: pg.config.max_connections,
        by_limit: settings(|f| f.limit),
        by_connections: settings(|f| f.connections),
    };
    (!sized.by_limit.is_empty() || !sized.by_connections.is_empty()).then_some(sized)
}

/// A container image the chart deploys by default: `name` from where it sits in the values.
#[derive(Serialize)]
struct ChartImage {
    name: String,
    image: String,
}

/// The images of the values: every mapping with `repository` and `tag`, named after its
/// path without the final `image` (`postgresql.exporter.image` -> `postgresql-exporter`;
/// the top-level `image` is the app's, `alert-history`).
fn images(values: &Value) -> Vec<ChartImage> {
    fn walk(value: &Value, path: &mut Vec<String>, out: &mut Vec<ChartImage>) {
        let Value::Object(map) = value else { return };
        if let (Some(Value::String(repository)), Some(Value::String(tag))) =
            (map.get("repository"), map.get("tag"))
        {
            let name = path
                .iter()
                .filter(|k| *k != "image")
                .cloned()
                .collect::<Vec<_>>()
                .join("-");
            out.push(ChartImage {
                name: if name.is_empty() {
                    "alert-history".into()
                } else {
                    name
                },
                image: format!("{repository}:{tag}"),
            });
            return;
        }
        for (key, child) in map {
            path.push(key.clone());
            walk(child, path, out);
            path.pop();
        }
    }
    let mut out = Vec::new();
    walk(values, &mut Vec::new(), &mut out);
    out
}

#[derive(Serialize)]
struct Generator {
    name: &'static str,
    version: &'static str,
}

/// An error in alertchart itself (its templates or their output), not in the input.
#[derive(Debug)]
pub struct Bug(pub String);

impl std::fmt::Display for Bug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "internal error (a bug in alertchart {}, please report it): {}",
            env!("CARGO_PKG_VERSION"),
            self.0
        )
    }
}

impl std::error::Error for Bug {}

/// The chart's values: the profile without its `profile` section.
pub fn chart_values(profile: &Profile) -> Value {
    let mut values = serde_json::to_value(profile).expect("the profile serializes");
    values
        .as_object_mut()
        .expect("a profile is an object")
        .shift_remove("profile");
    values
}

/// Renders every file of the chart, keyed by path inside the chart directory.
pub fn chart(profile: &Profile) -> Result<BTreeMap<String, String>> {
    let (profile, derived) = tuning::tuned(profile);
    let profile = &profile;
    let components = profile.components();
    let values = chart_values(profile);
    let mut chart_schema = schema::chart_values_schema(&values);
    let header_text = format!(
        "Generated by alertchart {} from profile {}. Do not edit: change the profile and run `alertchart render`.",
        env!("CARGO_PKG_VERSION"),
        profile.profile.name.as_str()
    );

    let mut tera = Tera::new();
    tera.set_delimiters(delimiters())
        .map_err(|e| Bug(format!("Tera delimiters: {e}")))?;
    tera.autoescape_on(Vec::<&str>::new());
    let wanted: Vec<_> = SOURCES
        .iter()
        .filter(|(_, needs, _)| needs.met_by(components))
        .collect();
    for (path, _, text) in &wanted {
        if is_template(text) {
            tera.add_raw_template(path, text)
                .map_err(|e| Bug(format!("template {path}: {e}")))?;
        }
    }
    let context = Context::from_serialize(&TemplateContext {
        profile: &profile.profile,
        components,
        generator: Generator {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
        },
        app_version: profile.image.tag.as_str(),
        values_table: values::table(&values, &chart_schema),
        images: images(&values),
        sized_for: sized_for(profile, &derived),
        rollout_surge: validate::ROLLOUT_SURGE,
    })
    .map_err(|e| Bug(format!("template context: {e}")))?;

    let mut files = BTreeMap::new();
    for (path, _, source) in wanted {
        let text = if tera.contains_template(path) {
            Cow::Owned(
                tera.render(path, &context)
                    .map_err(|e| Bug(format!("rendering {path}: {e}")))?,
            )
        } else {
            Cow::Borrowed(*source)
        };
        files.insert(
            (*path).to_string(),
            with_header(path, &header_text, &normalize(&text)),
        );
    }
    for (path, needs, text) in DOCS {
        if needs.met_by(components) {
            files.insert(
                (*path).to_string(),
                with_header(path, &header_text, &normalize(text)),
            );
        }
    }
    files.insert(
        "values.yaml".into(),
        format!(
            "# {header_text}\n\n{}",
            values::to_yaml(&values, &chart_schema, &derived)
        ),
    );
    chart_schema
        .as_object_mut()
        .expect("schema is an object")
        .insert("$comment".into(), Value::String(header_text.clone()));
    files.insert(
        "values.schema.json".into(),
        serde_json::to_string_pretty(&chart_schema).context("serializing values.schema.json")?
            + "\n",
    );

    let profile_section =
        serde_json::to_value(&profile.profile).context("serializing the profile section")?;
    let bugs = validate::rendered(&files, &values, &chart_schema, &profile_section);
    if !bugs.is_empty() {
        return Err(anyhow!(Bug(bugs.join("; "))));
    }
    Ok(files)
}

/// Tera's delimiters: `[% %]`, `[[ ]]` and `[# #]`, which Helm templates do not use.
fn delimiters() -> Delimiters {
    Delimiters {
        block_start: "[%".into(),
        block_end: "%]".into(),
        variable_start: "[[".into(),
        variable_end: "]]".into(),
        comment_start: "[#".into(),
        comment_end: "#]".into(),
    }
}

/// Whether Tera has anything to do in a source. Most sources contain no start delimiter:
/// Tera would render such a text unchanged, so it is neither parsed nor rendered (parsing
/// them was a sixth of a whole `render`).
fn is_template(source: &str) -> bool {
    let d = delimiters();
    [d.block_start, d.variable_start, d.comment_start]
        .iter()
        .any(|start| source.contains(start.as_ref()))
}

/// LF line ends, no trailing blanks at line ends, exactly one final newline.
fn normalize(text: &str) -> Cow<'_, str> {
    if is_normalized(text) {
        // Most sources are: checking is cheaper than rewriting.
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 1);
    // Line breaks seen since the last non-blank line: written only when text follows them,
    // so trailing blank lines disappear in the same pass.
    let mut breaks = 0;
    for (i, line) in text.lines().enumerate() {
        if i > 0 {
            breaks += 1;
        }
        let line = line.trim_end();
        if !line.is_empty() {
            out.extend(std::iter::repeat_n('\n', breaks));
            breaks = 0;
            out.push_str(line);
        }
    }
    out.push('\n');
    Cow::Owned(out)
}

/// Whether `normalize` would return `text` unchanged. Conservative: a line ending in any
/// non-ASCII character may end in Unicode whitespace, so such a text takes the long way.
fn is_normalized(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.ends_with(b"\n")
        && !bytes.ends_with(b"\n\n")
        && bytes
            .iter()
            .zip(&bytes[1..])
            // A fold rather than `all`: without early exits the compiler vectorises the scan.
            .fold(0, |blank_ends, (&before, &at)| {
                blank_ends | u8::from(at == b'\n' && before != b'\n' && !before.is_ascii_graphic())
            })
            == 0
}

/// Prepends the "generated, do not edit" note in the comment syntax of the file's kind.
fn with_header(path: &str, header: &str, text: &str) -> String {
    if path.starts_with("templates/") {
        // A Helm comment that trims its surroundings leaves no trace in rendered manifests.
        format!("{{{{- /* {header} */ -}}}}\n{text}")
    } else if std::path::Path::new(path)
        .extension()
        .is_some_and(|ext| ext == "json")
    {
        // JSON has no comments; the Grafana dashboards stay loadable as they are.
        text.to_string()
    } else if std::path::Path::new(path)
        .extension()
        .is_some_and(|e| e == "md")
    {
        format!("<!-- {header} -->\n{text}")
    } else {
        format!("# {header}\n{text}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_chart_source_is_in_the_table() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let on_disk: Vec<String> = walkdir::WalkDir::new(&root)
            .into_iter()
            .map(|e| e.expect("readable templates dir"))
            .filter(|e| e.file_type().is_file())
            .map(|e| {
                e.path()
                    .strip_prefix(&root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/")
            })
            .collect();
        for path in &on_disk {
            assert!(
                SOURCES.iter().any(|(p, _, _)| p == path),
                "templates/{path} is not listed in render::SOURCES"
            );
        }
    }

    #[test]
    fn normalize_gives_lf_and_one_final_newline() {
        assert_eq!(normalize("a  \r\nb\n\n\n"), "a\nb\n");
        assert_eq!(normalize("\n \na\r\n\t\n\nb \r\n"), "\n\na\n\n\nb\n");
        assert_eq!(normalize(" \r\n\n"), "\n");
        for normalized in ["a\n\nb\n", "\n", "\na\n"] {
            assert!(
                matches!(normalize(normalized), Cow::Borrowed(_)),
                "{normalized:?}"
            );
        }
        for not in ["a", "a\n\n", "a \nb\n", "a\r\n", "a\u{3000}\n", "\n\n"] {
            assert!(!is_normalized(not), "{not:?}");
        }
    }

    #[test]
    fn sources_without_tera_delimiters_render_to_themselves() {
        let mut tera = Tera::new();
        tera.set_delimiters(delimiters()).unwrap();
        tera.autoescape_on(Vec::<&str>::new());
        let plain: Vec<_> = SOURCES.iter().filter(|(_, _, s)| !is_template(s)).collect();
        assert!(plain.len() > 30, "most sources are plain text");
        for (path, _, source) in plain {
            tera.add_raw_template(path, source).unwrap();
            assert_eq!(
                &tera.render(path, &Context::new()).unwrap(),
                source,
                "{path}"
            );
        }
    }
}
