//! Validation: the merged input against the schema, semantic rules a schema cannot express,
//! and the rendered chart against its own schema.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

use jsonschema::{PatternCache, Validator};
use serde::Deserialize as _;
use serde_json::Value;

use crate::formats::{Cidr, CronSchedule, PromDuration};
use crate::profile::{HugePages, Postgresql, Profile, Resources};
use crate::source::{KeyPath, Merged, Origin, dotted};
use crate::{schema, tuning};

/// One thing wrong with the input, located as precisely as the input allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub origin: Option<Origin>,
    pub path: KeyPath,
    pub message: String,
    /// The offending line of a file, underlined.
    pub excerpt: Option<String>,
    /// The key itself is wrong (unknown or malformed), not its value.
    pub at_key: bool,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(origin) = &self.origin {
            write!(f, "{origin}: ")?;
        }
        write!(f, "{}: {}", dotted(&self.path), self.message)?;
        if let Some(excerpt) = &self.excerpt {
            write!(f, "\n    {}", excerpt.replace('\n', "\n    "))?;
        }
        Ok(())
    }
}

/// The input failed validation (exit code 1).
#[derive(Debug)]
pub struct Invalid(pub Vec<Problem>);

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        writeln!(
            f,
            "invalid profile ({n} problem{}):",
            if n == 1 { "" } else { "s" }
        )?;
        for (i, problem) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "  {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Invalid {}

/// Validates the merged input and returns the typed profile.
pub fn profile(merged: &Merged) -> Result<Profile, Invalid> {
    let mut problems = problems_with(profile_validator(), schema::profile_schema(), &merged.tree);
    // A profile-level rule, stated as such: without it, a deleted component would render
    // a chart without it, which the same override to Helm cannot do.
    problems.extend(merged.deleted_sections.iter().map(|path| {
        Problem {
            origin: None,
            path: path.clone(),
            message: "`null` deletes this section of the profile; the sections of a chart come \
                  from its profile (the chart's values.schema.json requires it, so Helm rejects \
                  this too): use a profile without it"
                .into(),
            excerpt: None,
            at_key: true,
        }
    }));
    if problems.is_empty() {
        match Profile::deserialize(&merged.tree) {
            Ok(profile) => {
                problems = semantic(&profile);
                if problems.is_empty() {
                    return Ok(profile);
                }
            }
            // The schema mirrors the types, so this means the two disagree: still the
            // user's input that triggered it, reported as well as serde can.
            Err(e) => problems.push(Problem {
                origin: None,
                path: Vec::new(),
                message: e.to_string(),
                excerpt: None,
                at_key: false,
            }),
        }
    }
    for p in &mut problems {
        p.origin = merged.origin(&p.path).cloned();
        p.excerpt = merged.excerpt(&p.path, p.at_key);
    }
    problems.sort_by(|a, b| a.path.cmp(&b.path).then(a.message.cmp(&b.message)));
    problems.dedup();
    Err(Invalid(problems))
}

/// Problems of `instance` against `schema`, with messages saying what was expected.
pub fn schema_problems(schema: &Value, instance: &Value) -> Vec<Problem> {
    problems_with(&compile(schema), schema, instance)
}

/// A draft-07 validator of a generated schema. Every validator of the process shares one
/// cache of compiled `pattern`s: the profile and chart schemas use the same few patterns, and
/// compiling a regular expression costs more than validating a whole profile.
fn compile(schema: &Value) -> Validator {
    static PATTERNS: OnceLock<PatternCache> = OnceLock::new();
    jsonschema::draft7::options()
        .with_pattern_cache(PATTERNS.get_or_init(PatternCache::new).clone())
        .build(schema)
        .expect("the generated schema compiles")
}

/// The profile schema's validator, compiled once per process: it checks the input and,
/// in the self-check, the rendered values.
fn profile_validator() -> &'static Validator {
    static VALIDATOR: OnceLock<Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| compile(schema::profile_schema()))
}

/// Problems of `instance` against `schema`, compiled as `validator`.
fn problems_with(validator: &Validator, schema: &Value, instance: &Value) -> Vec<Problem> {
    let mut problems = Vec::new();
    for error in validator.iter_errors(instance) {
        explain(schema, &error, &mut problems);
    }
    problems
}

fn explain(schema: &Value, error: &jsonschema::ValidationError<'_>, out: &mut Vec<Problem>) {
    use jsonschema::error::ValidationErrorKind as K;
    let path = pointer_segments(error.instance_path().as_str());
    let value = short(error.instance());
    // The subschema that holds the failing keyword.
    let keyword_parent = error
        .schema_path()
        .as_str()
        .rsplit_once('/')
        .and_then(|(parent, _)| schema.pointer(parent));
    let mut push = |path: KeyPath, message: String| {
        out.push(Problem {
            origin: None,
            path,
            message,
            excerpt: None,
            at_key: false,
        });
    };
    match error.kind() {
        K::AdditionalProperties { unexpected } => {
            let message = unexpected_key_message(keyword_parent.unwrap_or(&Value::Null));
            for key in unexpected {
                let mut p = path.clone();
                p.push(key.clone());
                out.push(Problem {
                    origin: None,
                    path: p,
                    message: message.clone(),
                    excerpt: None,
                    at_key: true,
                });
            }
        }
        K::Required { property } => {
            let mut p = path.clone();
            p.push(property.as_str().unwrap_or_default().to_string());
            push(p, "required key is missing".into());
        }
        K::Type { .. } => {
            let expected = keyword_parent.map_or_else(String::new, |s| match &s["type"] {
                Value::Array(types) => types
                    .iter()
                    .filter_map(Value::as_str)
                    .filter(|t| *t != "null")
                    .collect::<Vec<_>>()
                    .join(" or "),
                other => other.as_str().unwrap_or_default().to_string(),
            });
            push(
                path,
                format!("{value} has the wrong type: expected {expected}"),
            );
        }
        K::Pattern { .. } | K::Not { .. } => {
            push(
                path,
                format!("{value} is not a valid {}", format_hint(keyword_parent)),
            );
        }
        K::Enum { options } => {
            let options: Vec<String> = options
                .as_array()
                .map(|o| o.iter().map(short).collect())
                .unwrap_or_default();
            push(
                path,
                format!("{value} is not one of {}", options.join(", ")),
            );
        }
        K::Minimum { limit } => push(path, format!("{value} is below the minimum {limit}")),
        K::Maximum { limit } => push(path, format!("{value} is above the maximum {limit}")),
        K::AnyOf { context } | K::OneOfNotValid { context } => {
            // An optional section: explain against the branch that is not `null`.
            let branch = context
                .iter()
                .find(|errs| {
                    !errs.iter().any(|e| {
                        matches!(e.kind(), K::Type { .. })
                            && e.instance_path() == error.instance_path()
                    })
                })
                .or_else(|| context.first());
            match branch {
                Some(errs) if !errs.is_empty() => {
                    for e in errs {
                        explain(schema, e, out);
                    }
                }
                _ => push(path, format!("{value} does not match the expected shape")),
            }
        }
        _ => push(path, format!("{value}: {error}")),
    }
}

/// What is wrong with a key its object does not allow.
fn unexpected_key_message(object_schema: &Value) -> String {
    // A free-form mapping (labels, annotations) restricts the shape of its keys only.
    if object_schema["patternProperties"].is_object() {
        return "is not a valid Kubernetes label key (e.g. `app.kubernetes.io/name`, `team`)"
            .into();
    }
    let known: Vec<&str> = object_schema["properties"]
        .as_object()
        .map(|p| p.keys().map(String::as_str).collect())
        .unwrap_or_default();
    format!("unknown key (expected one of: {})", known.join(", "))
}

/// The name and examples of the format a string schema expects.
fn format_hint(string_schema: Option<&Value>) -> String {
    let title = string_schema
        .and_then(|s| s["title"].as_str())
        .unwrap_or("value of the expected format");
    let examples: Vec<String> = string_schema
        .and_then(|s| s["examples"].as_array())
        .map(|e| {
            e.iter()
                .filter_map(Value::as_str)
                .map(|s| format!("`{s}`"))
                .collect()
        })
        .unwrap_or_default();
    format!("{title} (e.g. {})", examples.join(", "))
}

fn short(value: &Value) -> String {
    let text = match value {
        Value::String(s) => format!("`{s}`"),
        Value::Object(_) => "a mapping".to_string(),
        Value::Array(_) => "a list".to_string(),
        other => format!("`{other}`"),
    };
    if text.chars().count() > 60 {
        format!("{}...`", text.chars().take(56).collect::<String>())
    } else {
        text
    }
}

fn pointer_segments(pointer: &str) -> KeyPath {
    pointer
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect()
}

fn path(s: &str) -> KeyPath {
    s.split('.').map(str::to_string).collect()
}

/// Rules between values that a JSON schema cannot express.
pub fn semantic(p: &Profile) -> Vec<Problem> {
    let mut found = Found(Vec::new());
    resources(p, &mut found);
    components(p, &mut found);
    app(p, &mut found);
    if let Some(pg) = &p.postgresql {
        postgresql(p, pg, &mut found);
    }
    found.0
}

/// Problems collected by the semantic checks.
struct Found(Vec<Problem>);

impl Found {
    fn fail(&mut self, at: &str, message: String) {
        self.0.push(Problem {
            origin: None,
            path: path(at),
            message,
            excerpt: None,
            at_key: false,
        });
    }
}

fn resources(p: &Profile, found: &mut Found) {
    let mut all: Vec<(&str, &Resources)> = vec![("app.resources", &p.app.resources)];
    if let Some(pg) = &p.postgresql {
        all.push(("postgresql.resources", &pg.resources));
        all.push(("postgresql.exporter.resources", &pg.exporter.resources));
        all.push(("postgresql.backup.resources", &pg.backup.resources));
    }
    if let Some(v) = &p.valkey {
        all.push(("valkey.resources", &v.resources));
        all.push(("valkey.exporter.resources", &v.exporter.resources));
    }
    for (at, r) in all {
        let (req, lim) = (&r.requests, &r.limits);
        let pairs = [
            (
                "memory",
                req.memory.bytes() > lim.memory.bytes(),
                req.memory.as_str(),
                lim.memory.as_str(),
            ),
            (
                "cpu",
                req.cpu.millis() > lim.cpu.millis(),
                req.cpu.as_str(),
                lim.cpu.as_str(),
            ),
        ];
        for (resource, exceeds, request, limit) in pairs {
            if exceeds {
                found.fail(
                    &format!("{at}.requests.{resource}"),
                    format!("request `{request}` exceeds the limit `{limit}` (expected request <= limit)"),
                );
            }
        }
    }
}

/// Sections that only make sense together with a component.
fn components(p: &Profile, found: &mut Found) {
    let c = p.components();
    if c.postgresql == c.sqlite {
        found.fail(
            "persistence",
            "a profile needs exactly one database: a `postgresql` section or a `persistence` (SQLite) section".into(),
        );
    }
    let requires = [
        (
            "metrics",
            p.metrics.is_some(),
            c.postgresql || c.valkey,
            "`postgresql` or `valkey`",
        ),
        (
            "metrics.prometheusRule",
            p.metrics
                .as_ref()
                .is_some_and(|m| m.prometheus_rule.is_some()),
            c.postgresql || c.valkey,
            "`postgresql` or `valkey`",
        ),
        (
            "networkPolicy",
            p.network_policy.is_some(),
            c.postgresql || c.valkey,
            "`postgresql` or `valkey`",
        ),
        (
            "podDisruptionBudget",
            p.pod_disruption_budget.is_some(),
            c.autoscaling,
            "`autoscaling`",
        ),
    ];
    for (at, present, wanted, with) in requires {
        if present != wanted {
            let verb = if present {
                "is only valid"
            } else {
                "is required"
            };
            found.fail(at, format!("{verb} together with a {with} section"));
        }
    }
}

fn app(p: &Profile, found: &mut Found) {
    use crate::profile::TolerationOperator as Op;
    if let Some(a) = &p.autoscaling
        && a.min_replicas > a.max_replicas
    {
        found.fail(
            "autoscaling.minReplicas",
            format!(
                "minReplicas {} is greater than maxReplicas {} (expected min <= max)",
                a.min_replicas, a.max_replicas
            ),
        );
    }
    for (i, t) in p.app.tolerations.iter().enumerate() {
        match (t.operator, &t.value) {
            (Op::Exists, Some(_)) => found.fail(
                &format!("app.tolerations.{i}.value"),
                "must be empty with operator `Exists`".into(),
            ),
            (Op::Equal, None) => found.fail(
                &format!("app.tolerations.{i}.value"),
                "is required with operator `Equal`".into(),
            ),
            _ => {}
        }
    }
    check_schedule(found, "app.retentionSchedule", &p.app.retention_schedule);
    let llm = &p.app.llm;
    let has_key = !llm.api_key.0.is_empty();
    let has_secret = !llm.existing_secret.as_str().is_empty();
    if has_key && has_secret {
        found.fail(
            "app.llm.apiKey",
            "must be empty when app.llm.existingSecret names the Secret that holds the key".into(),
        );
    }
    if llm.enabled && !has_key && !has_secret {
        found.fail(
            "app.llm.enabled",
            "needs an API key: set app.llm.existingSecret (a Secret with key `api-key`) or app.llm.apiKey".into(),
        );
    }
    if let Some(sm) = p.metrics.as_ref().map(|m| &m.service_monitor)
        && duration_ms(&sm.scrape_timeout) > duration_ms(&sm.interval)
    {
        found.fail(
            "metrics.serviceMonitor.scrapeTimeout",
            format!(
                "`{}` is longer than the scrape interval `{}`",
                sm.scrape_timeout.as_str(),
                sm.interval.as_str()
            ),
        );
    }
    if let Some(np) = &p.network_policy {
        for (i, c) in np.extra_database_client_cidrs.iter().enumerate() {
            check_cidr(
                found,
                &format!("networkPolicy.extraDatabaseClientCidrs.{i}"),
                c,
            );
        }
    }
}

fn postgresql(p: &Profile, pg: &Postgresql, found: &mut Found) {
    for (i, c) in pg.hba.app_cidrs.iter().enumerate() {
        check_cidr(found, &format!("postgresql.hba.appCidrs.{i}"), c);
    }
    check_schedule(found, "postgresql.backup.schedule", &pg.backup.schedule);
    let cfg = &pg.config;
    let pods = p.autoscaling.as_ref().map_or(1, |a| a.max_replicas) + ROLLOUT_SURGE;
    let pool = APP_POOL_MAX;
    let needed = pods * pool + cfg.superuser_reserved_connections + MAINTENANCE_CONNECTIONS;
    if cfg.max_connections < needed {
        found.fail(
            "postgresql.config.maxConnections",
            format!(
                "{} cannot serve the app: {pods} pods (maximum replicas + {ROLLOUT_SURGE} during a rollout) x {pool} connections of the image's fixed pool + {} reserved + {MAINTENANCE_CONNECTIONS} for exporter/backup/tests = {needed} (expected >= {needed})",
                cfg.max_connections, cfg.superuser_reserved_connections
            ),
        );
    }
    if cfg.min_wal_size.kilobytes() > cfg.max_wal_size.kilobytes() {
        found.fail(
            "postgresql.config.minWalSize",
            format!(
                "`{}` is larger than maxWalSize `{}`",
                cfg.min_wal_size.as_str(),
                cfg.max_wal_size.as_str()
            ),
        );
    }
    memory(pg, found);
    if pg.alerts.high_connections_percent >= pg.alerts.too_many_connections_percent {
        found.fail(
            "postgresql.alerts.highConnectionsPercent",
            format!(
                "{} must be below tooManyConnectionsPercent {} (warning before critical)",
                pg.alerts.high_connections_percent, pg.alerts.too_many_connections_percent
            ),
        );
    }
}

/// The memory settings, explicit or derived, against the container's memory limit.
fn memory(pg: &Postgresql, found: &mut Found) {
    let budget = tuning::Budget::of(pg);
    let sb = &budget.shared_buffers;
    let limit = &pg.resources.limits.memory;
    let limit_kb = limit.bytes() / 1024;
    if sb.kilobytes() >= limit_kb {
        found.fail(
            "postgresql.config.sharedBuffers",
            format!(
                "`{sb}` does not fit the memory limit `{}` (about 25 % of the limit is usual)",
                limit.as_str()
            ),
        );
        return;
    }
    let worst = budget.worst_case_kb();
    if worst > limit_kb {
        let at = if pg.config.work_mem.is_some() {
            "postgresql.config.workMem"
        } else {
            "postgresql.resources.limits.memory"
        };
        found.fail(
            at,
            format!(
                "PostgreSQL may allocate {} at once, more than the memory limit `{}`: shared_buffers {sb} \
                 + wal_buffers {} + {} x maintenance_work_mem {} (VACUUM and autovacuum workers) \
                 + {} backends (maxConnections + {} parallel workers) x work_mem {}; \
                 lower workMem, maintenanceWorkMem or maxConnections, or raise the limit",
                tuning::size(worst),
                limit.as_str(),
                budget.wal_buffers,
                budget.autovacuum_max_workers + 1,
                budget.maintenance_work_mem,
                budget.backends,
                tuning::PARALLEL_WORKERS,
                budget.work_mem,
            ),
        );
    }
    // Derivation never chooses `on`, so the profile's own setting is the one to check.
    match (pg.config.huge_pages, pg.hugepages_2mi.bytes()) {
        (Some(HugePages::On), None) => found.fail(
            "postgresql.config.hugePages",
            "`on` needs huge pages, but postgresql.hugepages2Mi requests none: PostgreSQL would not start (use `off`, or request huge pages)".into(),
        ),
        (_, Some(bytes)) if bytes / 1024 <= sb.kilobytes() => found.fail(
            "postgresql.hugepages2Mi",
            format!(
                "`{}` cannot hold shared_buffers {sb} and the rest of PostgreSQL's shared memory (request more than shared_buffers)",
                pg.hugepages_2mi.as_str()
            ),
        ),
        _ => {}
    }
}

fn check_schedule(found: &mut Found, at: &str, schedule: &CronSchedule) {
    if let Err(e) = schedule.check() {
        found.fail(
            at,
            format!("`{}` is not a valid cron schedule: {e}", schedule.as_str()),
        );
    }
}

fn check_cidr(found: &mut Found, at: &str, cidr: &Cidr) {
    if let Err(e) = cidr.check() {
        found.fail(at, format!("`{}` is not a valid CIDR: {e}", cidr.as_str()));
    }
}

/// Connections PostgreSQL must keep beyond the app's pools (exporter, backup, Helm test).
pub const MAINTENANCE_CONNECTIONS: u32 = 5;

/// Connections one app pod may hold: image 1.1.9 opens its asyncpg pool with the
/// defaults of `PostgreSQLStorage` (5 to 20) and ignores `DATABASE_*_POOL_SIZE`. Its
/// migration init container holds fewer, and never while the app runs.
pub const APP_POOL_MAX: u32 = 20;

/// Extra app pods during a rolling update (the Deployment's `maxSurge`).
pub const ROLLOUT_SURGE: u32 = 1;

/// Milliseconds of a Prometheus duration such as `1m30s` (the pattern guarantees the shape).
fn duration_ms(d: &PromDuration) -> u64 {
    let mut total = 0u64;
    let mut number = 0u64;
    let mut chars = d.as_str().chars().peekable();
    while let Some(c) = chars.next() {
        if let Some(digit) = c.to_digit(10) {
            number = number.saturating_mul(10).saturating_add(u64::from(digit));
            continue;
        }
        let unit = if c == 'm' && chars.peek() == Some(&'s') {
            chars.next();
            1
        } else {
            match c {
                's' => 1_000,
                'm' => 60_000,
                'h' => 3_600_000,
                'd' => 86_400_000,
                'w' => 604_800_000,
                _ => 31_536_000_000,
            }
        };
        total = total.saturating_add(number.saturating_mul(unit));
        number = 0;
    }
    total
}

/// Checks of the rendered chart before it is written; any failure is a bug of alertchart.
/// `profile_section` is the profile's `profile` section, which the chart's values lack.
pub fn rendered(
    files: &BTreeMap<String, String>,
    values: &Value,
    chart_schema: &Value,
    profile_section: &Value,
) -> Vec<String> {
    let mut bugs = Vec::new();
    for (name, text) in files {
        if text.trim().is_empty() {
            bugs.push(format!("{name} is empty"));
        }
    }
    match files
        .get("values.yaml")
        .map(|t| yaml_serde::from_str::<Value>(t))
    {
        Some(Ok(mut parsed)) => {
            if &parsed != values {
                bugs.push("values.yaml does not parse back to the profile's values".into());
            }
            if !chart_schema_accepts(chart_schema, &mut parsed, profile_section) {
                for p in schema_problems(chart_schema, &parsed) {
                    bugs.push(format!(
                        "values.yaml fails values.schema.json at /{}: {}",
                        p.path.join("/"),
                        p.message
                    ));
                }
            }
        }
        Some(Err(e)) => bugs.push(format!("values.yaml is not valid YAML: {e}")),
        None => bugs.push("values.yaml is missing".into()),
    }
    match files
        .get("Chart.yaml")
        .map(|t| yaml_serde::from_str::<Value>(t))
    {
        Some(Ok(chart)) => {
            for (key, expected) in [
                ("apiVersion", Some("v2")),
                ("name", Some("alert-history")),
                ("version", None),
                ("kubeVersion", None),
            ] {
                match (chart[key].as_str(), expected) {
                    (None, _) => bugs.push(format!("Chart.yaml has no `{key}`")),
                    (Some(v), Some(e)) if v != e => {
                        bugs.push(format!("Chart.yaml `{key}` is `{v}`, expected `{e}`"));
                    }
                    _ => {}
                }
            }
        }
        Some(Err(e)) => bugs.push(format!("Chart.yaml is not valid YAML: {e}")),
        None => bugs.push("Chart.yaml is missing".into()),
    }
    for (name, text) in files.iter().filter(|(n, _)| n.starts_with("templates/")) {
        for reference in values_references(text) {
            if !path_exists(values, &reference) {
                bugs.push(format!(
                    "{name} reads .Values.{} which the chart's values do not have",
                    reference.join(".")
                ));
            }
        }
    }
    bugs
}

/// Whether the chart schema accepts `values`, proven without compiling it (a compile costs
/// more than the rest of the self-check): the profile validator, compiled anyway, accepts
/// the values plus the profile section, and the chart schema narrows the profile schema only
/// in ways `keywords_hold` checks against the values directly. `false` means not proven, and
/// the caller validates against the chart schema itself.
fn chart_schema_accepts(chart_schema: &Value, values: &mut Value, profile_section: &Value) -> bool {
    let Some(map) = values
        .as_object_mut()
        .filter(|m| !m.contains_key("profile"))
    else {
        return false;
    };
    map.insert("profile".into(), profile_section.clone());
    let profile_accepts = profile_validator().is_valid(values);
    if let Some(map) = values.as_object_mut() {
        map.shift_remove("profile");
    }
    // At the root the profile schema accepted the values with the profile section, so a
    // keyword both schemas share says nothing about the values alone.
    profile_accepts && keywords_hold(chart_schema, schema::profile_schema(), values, false)
}

/// Whether every keyword of chart-schema node `chart` holds for `value`. The chart schema
/// narrows the profile schema in three ways: fewer `properties` (next to
/// `additionalProperties: false`), every one `required`, no `null` in `type`; those keywords
/// are checked against the value. Any other keyword must equal the profile schema's, which
/// holds for the value when `profile_accepts` (the profile-schema node `profile` accepts
/// `value`, as it does below the root). A keyword that differs otherwise is not proven.
fn keywords_hold(chart: &Value, profile: &Value, value: &Value, profile_accepts: bool) -> bool {
    let (Some(chart), Some(profile)) = (chart.as_object(), profile.as_object()) else {
        return profile_accepts && chart == profile;
    };
    let object = value.as_object();
    chart
        .iter()
        .all(|(keyword, c)| match (keyword.as_str(), object) {
            // Annotations constrain nothing, the object keywords nothing but objects.
            ("$schema" | "$comment" | "title" | "description" | "examples", _)
            | ("properties" | "required" | "additionalProperties", None) => true,
            ("type", _) => has_type(value, c),
            ("required", Some(object)) => c.as_array().is_some_and(|keys| {
                keys.iter()
                    .all(|k| k.as_str().is_some_and(|k| object.contains_key(k)))
            }),
            ("properties", Some(object)) => c.as_object().is_some_and(|props| {
                props.iter().all(|(key, sub)| match object.get(key) {
                    None => true,
                    Some(v) => profile["properties"]
                        .get(key)
                        .is_some_and(|p| keywords_hold(sub, p, v, true)),
                })
            }),
            ("additionalProperties", Some(object))
                if *c == Value::Bool(false) && !chart.contains_key("patternProperties") =>
            {
                object.keys().all(|k| chart["properties"].get(k).is_some())
            }
            // What else it allows depends on the properties and patterns beside it.
            ("additionalProperties", Some(_)) => {
                profile_accepts
                    && profile.get(keyword) == Some(c)
                    && ["properties", "patternProperties"]
                        .iter()
                        .all(|k| chart.get(*k) == profile.get(*k))
            }
            _ => profile_accepts && profile.get(keyword) == Some(c),
        })
}

/// Whether `value` is of one of the JSON-schema types `types` (a name or a list of names).
fn has_type(value: &Value, types: &Value) -> bool {
    let is = |name: &Value| match name.as_str() {
        Some("null") => value.is_null(),
        Some("boolean") => value.is_boolean(),
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("number") => value.is_number(),
        Some("integer") => value.is_i64() || value.is_u64(),
        _ => false,
    };
    match types {
        Value::Array(names) => names.iter().any(is),
        name => is(name),
    }
}

/// Every `.Values.a.b.c` path a Helm template reads.
fn values_references(text: &str) -> Vec<KeyPath> {
    text.match_indices(".Values.")
        .map(|(i, m)| {
            text[i + m.len()..]
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
                .next()
                .unwrap_or_default()
                .trim_end_matches('.')
                .split('.')
                .map(str::to_string)
                .collect()
        })
        .collect()
}

/// Whether `path` exists in `values`; a path may go on into a free-form mapping or list.
fn path_exists(values: &Value, path: &[String]) -> bool {
    let mut node = values;
    for key in path {
        match node {
            Value::Object(map) => match map.get(key) {
                Some(next) => node = next,
                None => return false,
            },
            _ => return true,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_durations_convert_to_milliseconds() {
        assert_eq!(duration_ms(&PromDuration::from("30s".to_string())), 30_000);
        assert_eq!(
            duration_ms(&PromDuration::from("1m30s".to_string())),
            90_000
        );
        assert_eq!(duration_ms(&PromDuration::from("500ms".to_string())), 500);
    }

    /// A built-in profile's rendered files, values, chart schema and profile section.
    fn render_builtin(name: &str) -> (BTreeMap<String, String>, Value, Value, Value) {
        let source = crate::source::ProfileSource::resolve(name).unwrap();
        let profile = profile(&crate::source::load(&source, &[], &[]).unwrap()).unwrap();
        let files = crate::render::chart(&profile).unwrap();
        let values = yaml_serde::from_str(&files["values.yaml"]).unwrap();
        let chart_schema = serde_json::from_str(&files["values.schema.json"]).unwrap();
        let section = serde_json::to_value(&profile.profile).unwrap();
        (files, values, chart_schema, section)
    }

    #[test]
    fn chart_schema_is_proven_to_accept_the_built_in_values_without_compiling_it() {
        for name in ["standard", "lite"] {
            let (_, mut values, chart_schema, section) = render_builtin(name);
            assert!(
                chart_schema_accepts(&chart_schema, &mut values, &section),
                "{name}"
            );
        }
    }

    #[test]
    fn values_that_the_chart_schema_rejects_are_a_bug_even_when_the_profile_schema_accepts_them() {
        let (files, values, chart_schema, section) = render_builtin("standard");
        // A key the proof checks itself (`required`), and one it only compares (`pattern`).
        let mut missing = chart_schema.clone();
        missing["properties"]["app"]["required"]
            .as_array_mut()
            .unwrap()
            .push("notRendered".into());
        let mut stricter = chart_schema.clone();
        stricter["properties"]["image"]["properties"]["tag"]["pattern"] = "^v".into();
        for (bad, expected) in [
            (
                missing,
                "values.yaml fails values.schema.json at /app/notRendered: required key is missing",
            ),
            (
                stricter,
                "values.yaml fails values.schema.json at /image/tag: ",
            ),
        ] {
            let bugs = rendered(&files, &values, &bad, &section);
            assert!(bugs.iter().any(|b| b.starts_with(expected)), "{bugs:?}");
        }
    }

    #[test]
    fn rendered_values_that_fail_the_schema_are_a_bug() {
        let (mut files, values, chart_schema, section) = render_builtin("standard");
        assert_eq!(
            rendered(&files, &values, &chart_schema, &section),
            Vec::<String>::new()
        );
        let yaml = files.get_mut("values.yaml").unwrap();
        *yaml = yaml.replacen("memory: \"512Mi\"", "memory: lots", 1);
        let bugs = rendered(&files, &values, &chart_schema, &section);
        assert!(
            bugs.iter()
                .any(|b| b.contains("`lots` is not a valid Kubernetes memory quantity")),
            "{bugs:?}"
        );
    }

    #[test]
    fn template_value_references_are_found() {
        let refs = values_references(
            "{{ .Values.postgresql.image.tag }} {{- with .Values.app.nodeSelector }}",
        );
        assert_eq!(
            refs,
            vec![path("postgresql.image.tag"), path("app.nodeSelector")]
        );
    }
}
