//! String formats of profile values (Kubernetes quantities, cron schedules, CIDRs, ...).
//!
//! Each format is a newtype whose JSON schema carries a `pattern`, a `title` naming the
//! format and `examples`, so that both this tool and Helm (through `values.schema.json`)
//! reject malformed values. Checks a regular expression cannot express (numeric ranges,
//! host bits of a CIDR) are methods used by the semantic validation.

use std::borrow::Cow;
use std::net::IpAddr;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

/// How a string setting was written. Helm's `--set` types `17` as an integer and `true` as
/// a boolean before the schema sees them, so a format whose valid strings include such
/// text also takes the integer or boolean, and keeps its kind: the chart's values are then
/// the tree Helm builds, and render as `helm install --set` would render them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Written {
    #[default]
    Text,
    Integer,
    Boolean,
}

/// `Some` of its argument, `None` without one.
macro_rules! optional {
    () => {
        None
    };
    ($value:literal) => {
        Some($value)
    };
}

/// Defines a string newtype with a schema pattern, a title for error messages and examples;
/// `integers: N` also takes integers from N up (the integers whose text the pattern takes),
/// `booleans: true` also takes booleans.
macro_rules! string_format {
    ($(#[$doc:meta])* $name:ident, title: $title:literal, pattern: $pattern:literal, examples: [$($ex:literal),+] $(, not: $not:literal)? $(, not_one_of: [$($reserved:literal),+])? $(, integers: $min:literal)? $(, booleans: $booleans:literal)?) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub String, pub Written);

        impl $name {
            pub const TITLE: &'static str = $title;
            pub const PATTERN: &'static str = $pattern;
            const INTEGERS_FROM: Option<i64> = optional!($($min)?);
            const BOOLEANS: bool = false $(|| $booleans)?;

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $name {
            fn from(text: String) -> Self {
                Self(text, Written::Text)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                serialize_written(&self.0, self.1, s)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let (text, written) = d.deserialize_any(WrittenVisitor {
                    title: $title,
                    integers_from: Self::INTEGERS_FROM,
                    booleans: Self::BOOLEANS,
                })?;
                Ok(Self(text, written))
            }
        }

        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                let mut schema = json_schema!({
                    "type": "string",
                    "title": $title,
                    "pattern": $pattern,
                    "examples": [$($ex),+],
                });
                $(schema.insert("not".into(), serde_json::json!({ "const": $not }));)?
                $(schema.insert("not".into(), serde_json::json!({ "enum": [$($reserved),+] }));)?
                widen_schema(&mut schema, Self::INTEGERS_FROM, Self::BOOLEANS);
                schema
            }
        }
    };
}

/// Adds the integers and booleans a format takes to its string schema (`pattern` bounds
/// only strings, `minimum` only numbers; `i64::MIN` is every integer).
fn widen_schema(schema: &mut Schema, integers_from: Option<i64>, booleans: bool) {
    let mut types = vec![serde_json::json!("string")];
    if let Some(min) = integers_from {
        types.push("integer".into());
        if min > i64::MIN {
            schema.insert("minimum".into(), min.into());
        }
    }
    if booleans {
        types.push("boolean".into());
    }
    if types.len() > 1 {
        schema.insert("type".into(), types.into());
    }
}

fn serialize_written<S: serde::Serializer>(
    text: &str,
    written: Written,
    s: S,
) -> Result<S::Ok, S::Error> {
    match written {
        Written::Text => s.serialize_str(text),
        Written::Integer => match text.parse::<i64>() {
            Ok(n) => s.serialize_i64(n),
            Err(_) => s.serialize_u64(text.parse().map_err(serde::ser::Error::custom)?),
        },
        Written::Boolean => s.serialize_bool(text == "true"),
    }
}

/// Reads a string, or an integer or boolean where the format takes one, as its text.
struct WrittenVisitor {
    title: &'static str,
    integers_from: Option<i64>,
    booleans: bool,
}

impl WrittenVisitor {
    fn integer<E: serde::de::Error>(&self, n: i128) -> Result<(String, Written), E> {
        match self.integers_from {
            Some(min) if n >= i128::from(min) => Ok((n.to_string(), Written::Integer)),
            _ => Err(E::invalid_type(
                serde::de::Unexpected::Other("integer"),
                self,
            )),
        }
    }
}

impl serde::de::Visitor<'_> for WrittenVisitor {
    type Value = (String, Written);

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a {}", self.title)
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok((v.to_string(), Written::Text))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
        self.integer(v.into())
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
        self.integer(v.into())
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Self::Value, E> {
        if self.booleans {
            Ok((v.to_string(), Written::Boolean))
        } else {
            Err(E::invalid_type(serde::de::Unexpected::Bool(v), &self))
        }
    }
}

/// Defines a decimal setting that accepts a number or a decimal written as a string: Helm's
/// `--set x=1.5` passes the string `1.5` (it types only integers), so a chart that wanted
/// a number could not be given a decimal with a plain `--set`. The field's `range`
/// attribute bounds the number; `pattern` bounds the string to the same range. A string
/// stays a string, so that the templates print exactly what was written.
macro_rules! decimal {
    ($(#[$doc:meta])* $name:ident, title: $title:literal, pattern: $pattern:literal, examples: [$($ex:literal),+]) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(untagged)]
        pub enum $name {
            Number(f64),
            Text(String),
        }

        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!({
                    "type": ["number", "string"],
                    "title": $title,
                    "pattern": $pattern,
                    "examples": [$($ex),+],
                })
            }
        }
    };
}

decimal!(
    /// A fraction between 0 and 1, as a number or a decimal string.
    Fraction,
    title: "decimal from 0 to 1",
    pattern: "^(0+(\\.[0-9]+)?|0*1(\\.0+)?)$",
    examples: [0.9, "0.9"]
);

decimal!(
    /// A planner cost between 0.1 and 100, as a number or a decimal string.
    PageCost,
    title: "decimal from 0.1 to 100",
    pattern: "^(0+\\.[1-9][0-9]*|0*[1-9][0-9]?(\\.[0-9]+)?|0*100(\\.0+)?)$",
    examples: [1.1, "1.5"]
);

decimal!(
    /// A rate between 0.01 and 60 per minute, as a number or a decimal string.
    PerMinute,
    title: "decimal from 0.01 to 60",
    pattern: "^(0+\\.(0[1-9]|[1-9])[0-9]*|0*([1-9]|[1-5][0-9])(\\.[0-9]+)?|0*60(\\.0+)?)$",
    examples: [2, "0.5"]
);

string_format!(
    /// A Kubernetes memory or storage quantity: a whole number with an optional binary or decimal suffix.
    MemoryQuantity,
    title: "Kubernetes memory quantity",
    pattern: "^[1-9][0-9]*(Ki|Mi|Gi|Ti|k|M|G|T)?$",
    examples: ["512Mi", "2Gi", "10Gi"],
    integers: 1
);

string_format!(
    /// A Kubernetes memory quantity, or empty for "none".
    OptionalMemoryQuantity,
    title: "Kubernetes memory quantity or empty",
    pattern: "^([1-9][0-9]*(Ki|Mi|Gi|Ti|k|M|G|T)?)?$",
    examples: ["", "1Gi"],
    integers: 1
);

string_format!(
    /// A Kubernetes CPU quantity: millicores (`500m`) or cores (`1`, `1.5`).
    CpuQuantity,
    title: "Kubernetes CPU quantity",
    pattern: "^([1-9][0-9]*m|[0-9]+(\\.[0-9]{1,3})?)$",
    examples: ["100m", "500m", "2"],
    integers: 0
);

string_format!(
    /// A PostgreSQL memory size with a unit.
    PgSize,
    title: "PostgreSQL size",
    pattern: "^[1-9][0-9]*(kB|MB|GB|TB)$",
    examples: ["64MB", "256MB", "1GB"]
);

string_format!(
    /// A PostgreSQL time value with a unit.
    PgDuration,
    title: "PostgreSQL duration",
    pattern: "^[0-9]+(us|ms|s|min|h|d)$",
    examples: ["1000ms", "1min", "300s"]
);

string_format!(
    /// A Prometheus duration.
    PromDuration,
    title: "Prometheus duration",
    pattern: "^([0-9]+(ms|s|m|h|d|w|y))+$",
    examples: ["30s", "5m", "1h"]
);

string_format!(
    /// A five-field cron schedule (minute hour day-of-month month day-of-week) or a macro such as `@daily`.
    CronSchedule,
    title: "five-field cron schedule (minute hour day-of-month month day-of-week, no seconds field)",
    pattern: "^(@(yearly|annually|monthly|weekly|daily|hourly)|(\\*|[0-9]+(-[0-9]+)?)(/[0-9]+)?(,(\\*|[0-9]+(-[0-9]+)?)(/[0-9]+)?)*( (\\*|[0-9]+(-[0-9]+)?)(/[0-9]+)?(,(\\*|[0-9]+(-[0-9]+)?)(/[0-9]+)?)*){4})$",
    examples: ["0 2 * * *", "*/15 * * * *", "@daily"]
);

string_format!(
    /// An IPv4 or IPv6 network in CIDR notation with no host bits set.
    Cidr,
    title: "CIDR",
    pattern: "^([0-9]{1,3}(\\.[0-9]{1,3}){3}/[0-9]{1,2}|[0-9a-fA-F:]+/[0-9]{1,3})$",
    examples: ["10.0.0.0/8", "192.168.0.0/16", "fd00::/8"]
);

string_format!(
    /// A container image repository, optionally with a registry host.
    ImageRepository,
    title: "image repository",
    pattern: "^([a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]+)?/)?[a-z0-9]+([._-]+[a-z0-9]+)*(/[a-z0-9]+([._-]+[a-z0-9]+)*)*$",
    examples: ["example/app", "registry.example.com:5000/team/app"]
);

string_format!(
    /// A pinned container image tag (`latest` is refused: it makes deployments unrepeatable).
    ImageTag,
    title: "pinned image tag",
    pattern: "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$",
    examples: ["16.10", "v0.15.0"],
    not: "latest",
    integers: 0,
    booleans: true
);

string_format!(
    /// A Kubernetes object name (DNS-1123 label).
    K8sName,
    title: "Kubernetes name (lower-case letters, digits and '-', at most 63)",
    pattern: "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$",
    examples: ["alert-history-tls", "my-secret"]
);

string_format!(
    /// A Kubernetes object name, or empty for "not set".
    OptionalK8sName,
    title: "Kubernetes name or empty",
    pattern: "^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)?$",
    examples: ["", "fast-ssd"]
);

string_format!(
    /// The name of a cluster-scoped object that may contain dots (a DNS-1123 subdomain, e.g.
    /// a PriorityClass), or empty for "not set".
    OptionalSubdomainName,
    title: "Kubernetes name (DNS subdomain: lower-case letters, digits, '-' and '.') or empty",
    pattern: "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)?$",
    examples: ["", "database-critical"]
);

string_format!(
    /// The name of a CloudNativePG Cluster, or empty for the chart's default: a DNS-1035
    /// label of at most 50 characters (the operator's limit: it appends suffixes to it).
    OptionalClusterName,
    title: "CloudNativePG cluster name (lower-case letters, digits and '-', starting with a letter, at most 50) or empty",
    pattern: "^([a-z]([-a-z0-9]{0,48}[a-z0-9])?)?$",
    examples: ["", "alert-history-db"]
);

string_format!(
    /// An S3 bucket name.
    BucketName,
    title: "S3 bucket name (lower-case letters, digits, '.' and '-', 3 to 63)",
    pattern: "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
    examples: ["alert-history-backups"]
);

string_format!(
    /// A path of objects in a bucket, without leading or trailing `/`, or empty.
    ObjectPath,
    title: "path in a bucket (segments of letters, digits and !_.*'()- separated by '/') or empty",
    pattern: "^([A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*)?$",
    examples: ["", "postgresql", "prod/alert-history"]
);

string_format!(
    /// An http(s) URL, or empty for "not set".
    OptionalUrl,
    title: "http(s) URL or empty",
    pattern: "^(https?://[A-Za-z0-9._~:/?#@!$&*+,;=%-]+)?$",
    examples: ["", "https://s3.eu-central-1.amazonaws.com", "http://minio.storage:9000"]
);

string_format!(
    /// How long Barman Cloud keeps backups: a number of days, weeks or months.
    RetentionPolicy,
    title: "retention policy (a number and d, w or m)",
    pattern: "^[1-9][0-9]{0,3}[dwm]$",
    examples: ["30d", "4w", "6m"]
);

string_format!(
    /// A point in time with its offset from UTC (RFC 3339), or empty for "not set".
    OptionalTimestamp,
    title: "timestamp with time zone (RFC 3339, e.g. 2026-12-01T08:30:00Z) or empty",
    pattern: "^([0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2}))?$",
    examples: ["", "2026-12-01T08:30:00Z", "2026-12-01 09:30:00+01:00"]
);

string_format!(
    /// The name of a PostgreSQL configuration parameter, optionally with an extension's prefix.
    PgParameterName,
    title: "PostgreSQL parameter name (letters, digits, '_', optionally prefix.name)",
    pattern: "^[A-Za-z_][A-Za-z0-9_$]*(\\.[A-Za-z_][A-Za-z0-9_$]*)?$",
    examples: ["idle_in_transaction_session_timeout", "auto_explain.log_min_duration"]
);

string_format!(
    /// A DNS host name.
    Hostname,
    title: "DNS host name",
    pattern: "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$",
    examples: ["alert-history.example.com"]
);

string_format!(
    /// An absolute HTTP path.
    HttpPath,
    title: "HTTP path",
    pattern: "^/[A-Za-z0-9._~/-]*$",
    examples: ["/", "/alert-history"]
);

string_format!(
    /// An http(s) URL.
    Url,
    title: "http(s) URL",
    pattern: "^https?://[A-Za-z0-9._~:/?#@!$&*+,;=%-]+$",
    examples: ["https://runbooks.example.com/alert-history"]
);

string_format!(
    /// The name of an LLM model, as an OpenAI-compatible proxy takes it.
    LlmModel,
    title: "LLM model name",
    pattern: "^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,127}$",
    examples: ["gpt-4", "openai/gpt-4o"]
);

string_format!(
    /// A PostgreSQL identifier kept to lower-case letters, digits and `_`, so it needs no
    /// quoting in SQL, pg_hba.conf or shell scripts.
    PgIdentifier,
    title: "PostgreSQL identifier (lower-case letters, digits, '_'; starts with a letter or '_')",
    pattern: "^[a-z_][a-z0-9_]{0,62}$",
    examples: ["alert_history"]
);

string_format!(
    /// The app's PostgreSQL login role: an identifier as [`PgIdentifier`], but none of the
    /// roles init.sql manages itself (the superuser cannot be made NOSUPERUSER; the other
    /// two have fixed privileges). In the schema, so Helm and alertchart refuse them alike.
    PgAppUser,
    title: "PostgreSQL user name of the app (lower-case letters, digits, '_'; not postgres, postgres_exporter or replicator, which the chart manages)",
    pattern: "^[a-z_][a-z0-9_]{0,62}$",
    examples: ["alert_history"],
    not_one_of: ["postgres", "postgres_exporter", "replicator"]
);

string_format!(
    /// An IANA time zone name.
    TimeZone,
    title: "IANA time zone",
    pattern: "^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$",
    examples: ["Etc/UTC", "Europe/Berlin"]
);

string_format!(
    /// A Kubernetes label or annotation key (optional DNS prefix, then a name).
    LabelKey,
    title: "Kubernetes label key",
    pattern: "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$",
    examples: ["app.kubernetes.io/name", "release"]
);

string_format!(
    /// A Kubernetes label value.
    LabelValue,
    title: "Kubernetes label value",
    pattern: "^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$",
    examples: ["prometheus", "kube-prometheus-stack"],
    integers: 0,
    booleans: true
);

/// Free text (an annotation value, an API key), or the integer or boolean `--set` makes
/// of `1` or `true` (the templates turn it back to text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreeText(pub String, pub Written);

impl Serialize for FreeText {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_written(&self.0, self.1, s)
    }
}

impl<'de> Deserialize<'de> for FreeText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (text, written) = d.deserialize_any(WrittenVisitor {
            title: "text",
            integers_from: Some(i64::MIN),
            booleans: true,
        })?;
        Ok(Self(text, written))
    }
}

impl JsonSchema for FreeText {
    fn schema_name() -> Cow<'static, str> {
        "FreeText".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let mut schema = json_schema!({ "type": "string" });
        widen_schema(&mut schema, Some(i64::MIN), true);
        schema
    }
}

impl MemoryQuantity {
    /// Size in bytes (the pattern guarantees the shape; overflow saturates).
    pub fn bytes(&self) -> u64 {
        let digits = self.0.trim_end_matches(|c: char| c.is_ascii_alphabetic());
        let factor: u64 = match &self.0[digits.len()..] {
            "Ki" => 1 << 10,
            "Mi" => 1 << 20,
            "Gi" => 1 << 30,
            "Ti" => 1 << 40,
            "k" => 1_000,
            "M" => 1_000_000,
            "G" => 1_000_000_000,
            "T" => 1_000_000_000_000,
            _ => 1,
        };
        digits
            .parse::<u64>()
            .unwrap_or(u64::MAX)
            .saturating_mul(factor)
    }
}

impl OptionalMemoryQuantity {
    /// Size in bytes, `None` when empty.
    pub fn bytes(&self) -> Option<u64> {
        (!self.0.is_empty()).then(|| MemoryQuantity::from(self.0.clone()).bytes())
    }
}

impl CpuQuantity {
    /// CPU in millicores.
    pub fn millis(&self) -> u64 {
        if let Some(m) = self.0.strip_suffix('m') {
            return m.parse().unwrap_or(u64::MAX);
        }
        let (whole, frac) = self.0.split_once('.').unwrap_or((&self.0, ""));
        let frac = format!("{frac:0<3}");
        whole
            .parse::<u64>()
            .unwrap_or(u64::MAX)
            .saturating_mul(1000)
            + frac[..3].parse::<u64>().unwrap_or(0)
    }
}

impl PgSize {
    /// Size in kilobytes.
    pub fn kilobytes(&self) -> u64 {
        let digits = self.0.trim_end_matches(|c: char| c.is_ascii_alphabetic());
        let factor: u64 = match &self.0[digits.len()..] {
            "MB" => 1 << 10,
            "GB" => 1 << 20,
            "TB" => 1 << 30,
            _ => 1,
        };
        digits
            .parse::<u64>()
            .unwrap_or(u64::MAX)
            .saturating_mul(factor)
    }
}

impl CronSchedule {
    /// Checks every field's numbers against its range; `Err` says which field is wrong.
    pub fn check(&self) -> Result<(), String> {
        const FIELDS: [(&str, u32, u32); 5] = [
            ("minute", 0, 59),
            ("hour", 0, 23),
            ("day of month", 1, 31),
            ("month", 1, 12),
            ("day of week", 0, 7),
        ];
        if self.0.starts_with('@') {
            return Ok(());
        }
        for (field, (name, min, max)) in self.0.split(' ').zip(FIELDS) {
            for part in field.split(',') {
                let (range, step) = part.split_once('/').unwrap_or((part, "1"));
                if step.parse::<u32>().map_or(true, |s| s == 0) {
                    return Err(format!("{name} step `{step}` must be at least 1"));
                }
                if range == "*" {
                    continue;
                }
                let (lo, hi) = range.split_once('-').unwrap_or((range, range));
                for n in [lo, hi] {
                    match n.parse::<u32>() {
                        Ok(v) if (min..=max).contains(&v) => {}
                        _ => return Err(format!("{name} `{n}` is outside {min}-{max}")),
                    }
                }
                if lo.parse::<u32>().ok() > hi.parse::<u32>().ok() {
                    return Err(format!("{name} range `{range}` runs backwards"));
                }
            }
        }
        Ok(())
    }
}

impl Cidr {
    /// Checks that the address parses, the prefix fits the family and no host bits are set.
    pub fn check(&self) -> Result<(), String> {
        let (addr, prefix) = self.0.split_once('/').ok_or("missing `/prefix`")?;
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("`{addr}` is not an IP address"))?;
        let prefix: u32 = prefix
            .parse()
            .map_err(|_| "bad prefix length".to_string())?;
        let bits = if addr.is_ipv4() { 32 } else { 128 };
        if prefix > bits {
            return Err(format!("prefix /{prefix} is longer than {bits} bits"));
        }
        let host_bits_set = match addr {
            IpAddr::V4(a) => prefix < 32 && u32::from(a) << prefix != 0,
            IpAddr::V6(a) => prefix < 128 && u128::from(a) << prefix != 0,
        };
        if host_bits_set {
            return Err(format!("host bits are set after /{prefix}"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether the string form of a decimal type's schema accepts `text`.
    fn accepts<T: JsonSchema>(text: &str) -> bool {
        let schema = schemars::schema_for!(T).to_value();
        jsonschema::draft7::new(&serde_json::json!({"pattern": schema["pattern"]}))
            .unwrap()
            .is_valid(&serde_json::json!(text))
    }

    #[test]
    fn typed_formats_read_integers_and_booleans_as_their_text_and_keep_their_kind() {
        use serde_json::json;
        let tag: ImageTag = serde_json::from_value(json!(17)).unwrap();
        assert_eq!((tag.as_str(), tag.1), ("17", Written::Integer));
        assert_eq!(serde_json::to_value(&tag).unwrap(), json!(17));
        let tag: ImageTag = serde_json::from_value(json!(true)).unwrap();
        assert_eq!(serde_json::to_value(&tag).unwrap(), json!(true));
        let tag: ImageTag = serde_json::from_value(json!("17")).unwrap();
        assert_eq!(serde_json::to_value(&tag).unwrap(), json!("17"));
        let cpu: CpuQuantity = serde_json::from_value(json!(2)).unwrap();
        assert_eq!(cpu.millis(), 2000);
        let memory: MemoryQuantity = serde_json::from_value(json!(1_073_741_824_u64)).unwrap();
        assert_eq!(memory.bytes(), 1 << 30);
        // Below the integers the pattern takes, and kinds the format does not take.
        assert!(serde_json::from_value::<MemoryQuantity>(json!(0)).is_err());
        assert!(serde_json::from_value::<ImageTag>(json!(-1)).is_err());
        assert!(serde_json::from_value::<CpuQuantity>(json!(true)).is_err());
        assert!(serde_json::from_value::<PgSize>(json!(64)).is_err());
        let text: FreeText = serde_json::from_value(json!(-5)).unwrap();
        assert_eq!(serde_json::to_value(&text).unwrap(), json!(-5));
    }

    #[test]
    fn decimal_strings_are_accepted_exactly_within_their_range() {
        type Accepts = fn(&str) -> bool;
        let ranges: [(Accepts, f64, f64); 3] = [
            (accepts::<Fraction>, 0.0, 1.0),
            (accepts::<PageCost>, 0.1, 100.0),
            (accepts::<PerMinute>, 0.01, 60.0),
        ];
        for (accepts, min, max) in ranges {
            for int in 0..=130 {
                for frac in [
                    "", ".0", ".00", ".001", ".009", ".01", ".05", ".09", ".1", ".5", ".99", ".999",
                ] {
                    for zeros in ["", "0", "00"] {
                        let text = format!("{zeros}{int}{frac}");
                        let value: f64 = text.parse().unwrap();
                        assert_eq!(
                            accepts(&text),
                            (min..=max).contains(&value),
                            "{text} against [{min}, {max}]"
                        );
                    }
                }
            }
            for bad in [
                "", ".5", "1.", "-0.5", "+1", "1e-1", "0x1", " 1", "1,5", "one",
            ] {
                assert!(!accepts(bad), "{bad:?} accepted");
            }
        }
    }

    #[test]
    fn memory_quantities_convert_to_bytes() {
        assert_eq!(MemoryQuantity::from("512Mi".to_string()).bytes(), 512 << 20);
        assert_eq!(MemoryQuantity::from("2Gi".to_string()).bytes(), 2 << 30);
        assert_eq!(
            MemoryQuantity::from("1G".to_string()).bytes(),
            1_000_000_000
        );
        assert_eq!(MemoryQuantity::from("1048576".to_string()).bytes(), 1 << 20);
    }

    #[test]
    fn cpu_quantities_convert_to_millicores() {
        assert_eq!(CpuQuantity::from("500m".to_string()).millis(), 500);
        assert_eq!(CpuQuantity::from("2".to_string()).millis(), 2000);
        assert_eq!(CpuQuantity::from("1.5".to_string()).millis(), 1500);
    }

    #[test]
    fn cron_fields_are_range_checked() {
        assert!(CronSchedule::from("0 2 * * *".to_string()).check().is_ok());
        assert!(
            CronSchedule::from("*/15 0-23 1,15 * 1-5".to_string())
                .check()
                .is_ok()
        );
        let err = CronSchedule::from("61 2 * * *".to_string())
            .check()
            .unwrap_err();
        assert!(err.contains("minute `61`"), "{err}");
        assert!(
            CronSchedule::from("0 2 * * 5-1".to_string())
                .check()
                .is_err()
        );
        assert!(
            CronSchedule::from("*/0 * * * *".to_string())
                .check()
                .is_err()
        );
    }

    #[test]
    fn cidrs_reject_bad_octets_prefixes_and_host_bits() {
        assert!(Cidr::from("10.0.0.0/8".to_string()).check().is_ok());
        assert!(Cidr::from("fd00::/8".to_string()).check().is_ok());
        assert!(Cidr::from("300.0.0.0/8".to_string()).check().is_err());
        assert!(Cidr::from("10.0.0.0/33".to_string()).check().is_err());
        assert!(
            Cidr::from("10.1.0.0/8".to_string())
                .check()
                .unwrap_err()
                .contains("host bits")
        );
    }
}
