//! Reading a profile and its overrides into one tree, remembering where every key came from.
//!
//! Merging follows Helm: mappings merge key by key, anything else is replaced, and `null`
//! deletes a key. Each key set by a source records its origin (file and line, or the
//! `--set` argument), so a validation error can point at what the user wrote.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Map, Value};

/// The profiles compiled into the binary, so it works with no files around it.
pub const BUILTIN_PROFILES: &[(&str, &str)] = &[
    ("standard", include_str!("../profiles/standard.yaml")),
    ("lite", include_str!("../profiles/lite.yaml")),
];

/// Largest profile or values file read; larger input is refused before parsing.
const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Where a key's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// File path, `built-in profile NAME`, or `--set ARG`.
    pub source: String,
    /// 1-based line of the key in a file, when known.
    pub line: Option<usize>,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}", self.source),
            None => f.write_str(&self.source),
        }
    }
}

/// A key path such as `postgresql.resources.limits.memory`, as segments.
pub type KeyPath = Vec<String>;

/// Dotted form of a key path, for messages.
pub fn dotted(path: &[String]) -> String {
    if path.is_empty() {
        "(top level)".to_string()
    } else {
        path.join(".")
    }
}

/// The merged input tree and the origin of each key in it.
#[derive(Debug, Clone)]
pub struct Merged {
    pub tree: Value,
    origins: BTreeMap<KeyPath, Origin>,
    /// Text of each file source, by its label, for excerpts in error messages.
    texts: BTreeMap<String, String>,
}

impl Merged {
    /// Origin of the value at `path`, or of its nearest ancestor that a source set.
    pub fn origin(&self, path: &[String]) -> Option<&Origin> {
        (0..=path.len())
            .rev()
            .find_map(|n| self.origins.get(&path[..n]))
    }

    /// The line of the file that set `path`, underlined under its value (or under its key
    /// when `on_key`, or when the line holds no value), as rustc shows a span.
    pub fn excerpt(&self, path: &[String], on_key: bool) -> Option<String> {
        let origin = self.origin(path)?;
        let number = origin.line?;
        let line = self.texts.get(&origin.source)?.lines().nth(number - 1)?;
        let key_start = line.len() - line.trim_start().len();
        let key_len = mapping_key(line.trim_start()).map_or(0, |k| k.len());
        let after_key = line[key_start..]
            .find(':')
            .map_or(line.len(), |i| key_start + i + 1);
        let value = line[after_key..].split(" #").next().unwrap_or_default();
        let value_start = after_key + (value.len() - value.trim_start().len());
        let value_len = value.trim().len();
        let (start, len) = if on_key || value_len == 0 {
            (key_start, key_len)
        } else {
            (value_start, value_len)
        };
        Some(caret(number, line, start, len))
    }
}

/// A source line with a gutter and `^^^` under `len` characters from byte `start`; a long
/// line is cut to a window around the marked text.
pub fn caret(number: usize, line: &str, start: usize, len: usize) -> String {
    const WINDOW: usize = 100;
    let start = start.min(line.len());
    let from = line
        .char_indices()
        .map(|(i, _)| i)
        .take_while(|i| *i + WINDOW / 2 <= start)
        .last()
        .unwrap_or(0);
    let shown: String = line[from..].chars().take(WINDOW).collect();
    let (lead, trail) = (
        if from > 0 { "..." } else { "" },
        if shown.len() < line.len() - from {
            "..."
        } else {
            ""
        },
    );
    let gutter = " ".repeat(number.to_string().len());
    let pad: String = format!("{lead}{}", &line[from..start])
        .chars()
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    let len = len.clamp(1, WINDOW);
    format!(
        "{gutter} |\n{number} | {lead}{shown}{trail}\n{gutter} | {pad}{}",
        "^".repeat(len)
    )
}

/// What `--profile` named: a built-in profile or a file.
#[derive(Debug, Clone)]
pub enum ProfileSource {
    Builtin(&'static str, &'static str),
    File(PathBuf),
}

impl ProfileSource {
    /// A built-in name, or else a file: `NAME` looks in `profiles/NAME.yaml`, anything with a
    /// path separator or a `.yaml`/`.yml` ending is a path.
    pub fn resolve(arg: &str) -> Result<Self> {
        if let Some((name, text)) = BUILTIN_PROFILES.iter().find(|(n, _)| *n == arg) {
            return Ok(Self::Builtin(name, text));
        }
        let looks_like_path = arg.contains(['/', '\\'])
            || Path::new(arg)
                .extension()
                .is_some_and(|e| e == "yaml" || e == "yml");
        let path = if looks_like_path {
            PathBuf::from(arg)
        } else {
            PathBuf::from("profiles").join(format!("{arg}.yaml"))
        };
        if !path.is_file() {
            let builtins: Vec<&str> = BUILTIN_PROFILES.iter().map(|(n, _)| *n).collect();
            bail!(
                "profile `{arg}` not found: it is not a built-in profile ({}) and {} is not a file",
                builtins.join(", "),
                path.display()
            );
        }
        Ok(Self::File(path))
    }

    fn label(&self) -> String {
        match self {
            Self::Builtin(name, _) => format!("built-in profile {name}"),
            Self::File(path) => path.display().to_string(),
        }
    }
}

/// Loads the profile, then each `-f` file and `--set` argument in order (later wins).
pub fn load(profile: &ProfileSource, files: &[PathBuf], sets: &[String]) -> Result<Merged> {
    let mut merged = Merged {
        tree: Value::Object(Map::new()),
        origins: BTreeMap::new(),
        texts: BTreeMap::new(),
    };
    let label = profile.label();
    let text = match profile {
        ProfileSource::Builtin(_, text) => (*text).to_string(),
        ProfileSource::File(path) => read_text(path)?,
    };
    match parse_yaml(&text, &label)? {
        Value::Null => bail!("{label}: the profile is empty"),
        doc => merged.apply(doc, &label, Some(&text)),
    }
    for path in files {
        let label = path.display().to_string();
        let text = read_text(path)?;
        // An empty values file means "no overrides", as in Helm.
        let doc = parse_yaml(&text, &label)?;
        if !doc.is_null() {
            merged.apply(doc, &label, Some(&text));
        }
    }
    for arg in sets {
        for (path, value) in parse_set(arg)? {
            let doc = path.iter().rev().fold(value, |v, key| {
                Value::Object(Map::from_iter([(key.clone(), v)]))
            });
            merged.apply(doc, &format!("--set {arg}"), None);
        }
    }
    Ok(merged)
}

fn read_text(path: &Path) -> Result<String> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if !meta.is_file() {
        bail!("{} is not a file", path.display());
    }
    if meta.len() > MAX_FILE_BYTES {
        bail!(
            "{} is {} bytes; profile and values files are limited to {MAX_FILE_BYTES} bytes",
            path.display(),
            meta.len()
        );
    }
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    String::from_utf8(bytes).map_err(|e| {
        anyhow!(
            "{}: not UTF-8 text (invalid byte at offset {})",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })
}

/// Parses one YAML document into JSON values; mapping keys must be strings.
fn parse_yaml(text: &str, label: &str) -> Result<Value> {
    let yaml: yaml_serde::Value = yaml_serde::from_str(text).map_err(|e| match e.location() {
        Some(at) => {
            // The parser reports a duplicate key at the start of its mapping; point at the
            // second occurrence, the one to remove.
            let (number, column) = duplicate_key_line(text, &e.to_string(), at.line())
                .map_or((at.line(), at.column()), |(n, indent)| (n, indent + 1));
            let line = text
                .lines()
                .nth(number.saturating_sub(1))
                .unwrap_or_default();
            let start = line
                .char_indices()
                .nth(column.saturating_sub(1))
                .map_or(line.len(), |(i, _)| i);
            let excerpt = caret(number, line, start, 1).replace('\n', "\n  ");
            let hint = if line.starts_with(|c: char| c.is_whitespace())
                && line.trim_start_matches(' ').starts_with('\t')
            {
                "\n  hint: YAML does not allow tabs for indentation; indent with spaces"
            } else {
                ""
            };
            anyhow!("{label}:{number}:{column}: invalid YAML: {e}\n  {excerpt}{hint}")
        }
        None => anyhow!("{label}: invalid YAML: {e}"),
    })?;
    let value: Value =
        serde_json::to_value(yaml).map_err(|e| anyhow!("{label}: unsupported YAML: {e}"))?;
    if !(value.is_object() || value.is_null()) {
        bail!("{label}: not a profile or values file: expected a mapping of keys at the top level");
    }
    Ok(value)
}

impl Merged {
    /// Merges `doc` into the tree, recording `source` (and line numbers from `text`) as the
    /// origin of every key it sets.
    fn apply(&mut self, doc: Value, source: &str, text: Option<&str>) {
        let lines = text.map(key_lines).unwrap_or_default();
        if let Some(text) = text {
            self.texts.insert(source.to_string(), text.to_string());
        }
        let mut path = Vec::new();
        let mut tree = std::mem::take(&mut self.tree);
        self.merge_into(&mut tree, doc, &mut path, source, &lines);
        self.tree = tree;
    }

    fn merge_into(
        &mut self,
        base: &mut Value,
        overlay: Value,
        path: &mut KeyPath,
        source: &str,
        lines: &HashMap<KeyPath, usize>,
    ) {
        let Value::Object(overlay) = overlay else {
            self.record(path, source, lines);
            *base = overlay;
            return;
        };
        if !base.is_object() {
            *base = Value::Object(Map::new());
        }
        if !path.is_empty() {
            self.record(path, source, lines);
        }
        let base = base.as_object_mut().expect("made an object above");
        for (key, value) in overlay {
            path.push(key.clone());
            if value.is_null() {
                base.shift_remove(&key);
                self.origins.retain(|p, _| !p.starts_with(path));
            } else {
                self.merge_into(
                    base.entry(key).or_insert(Value::Null),
                    value,
                    path,
                    source,
                    lines,
                );
            }
            path.pop();
        }
    }

    fn record(&mut self, path: &[String], source: &str, lines: &HashMap<KeyPath, usize>) {
        let line = (0..=path.len())
            .rev()
            .find_map(|n| lines.get(&path[..n]).copied());
        self.origins.insert(
            path.to_vec(),
            Origin {
                source: source.to_string(),
                line,
            },
        );
    }
}

/// Line and indentation of the second occurrence of a duplicated key whose mapping starts
/// at line `from`, when `message` is yaml_serde's duplicate-key error.
fn duplicate_key_line(text: &str, message: &str, from: usize) -> Option<(usize, usize)> {
    let key = message
        .split("duplicate entry with key \"")
        .nth(1)?
        .split('"')
        .next()?;
    let lines: Vec<&str> = text.lines().collect();
    let first = lines.get(from.checked_sub(1)?)?;
    let indent = first.len() - first.trim_start().len();
    lines
        .iter()
        .enumerate()
        .skip(from - 1)
        .filter(|(_, l)| l.len() - l.trim_start().len() == indent)
        .filter(|(_, l)| mapping_key(l.trim_start()).as_deref() == Some(key))
        .nth(1)
        .map(|(i, _)| (i + 1, indent))
}

/// Line numbers of the keys of block-style YAML, found by indentation. Flow collections and
/// list items are attributed to the key that holds them, which is what an error needs.
fn key_lines(text: &str) -> HashMap<KeyPath, usize> {
    let mut lines = HashMap::new();
    let mut stack: Vec<(usize, String)> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let content = line.trim_start();
        if content.is_empty() || content.starts_with(['#', '-']) {
            continue;
        }
        let indent = line.len() - content.len();
        let Some(key) = mapping_key(content) else {
            continue;
        };
        while stack.last().is_some_and(|(i, _)| *i >= indent) {
            stack.pop();
        }
        stack.push((indent, key));
        lines.insert(stack.iter().map(|(_, k)| k.clone()).collect(), n + 1);
    }
    lines
}

/// The key of a `key: value` or `key:` line, unquoted.
fn mapping_key(content: &str) -> Option<String> {
    let (key, _) = if let Some(rest) = content.strip_prefix('"') {
        let end = rest.find('"')?;
        (&rest[..end], rest[end + 1..].strip_prefix(':')?)
    } else if let Some(rest) = content.strip_prefix('\'') {
        let end = rest.find('\'')?;
        (&rest[..end], rest[end + 1..].strip_prefix(':')?)
    } else {
        let colon = content
            .find(": ")
            .or_else(|| content.strip_suffix(':').map(str::len))?;
        (&content[..colon], "")
    };
    Some(key.trim().to_string())
}

/// Parses a Helm-style `--set` argument: `a.b=1,c.d={x,y}`. Dots and commas in keys or
/// values are escaped with `\`; values are typed like Helm's (`true`, `false`, `null`,
/// integers) plus decimals, everything else is a string.
pub fn parse_set(arg: &str) -> Result<Vec<(KeyPath, Value)>> {
    split_unescaped(arg, ',', true)
        .into_iter()
        .map(|assignment| {
            let (key, value) = assignment.split_once('=').ok_or_else(|| {
                anyhow!("--set {arg}: `{assignment}` is not of the form key.path=value")
            })?;
            let path: KeyPath = split_unescaped(key, '.', false)
                .into_iter()
                .map(|s| unescape(&s))
                .collect();
            if path.iter().any(String::is_empty) {
                bail!("--set {arg}: `{key}` has an empty key segment");
            }
            let value = match value.strip_prefix('{').and_then(|v| v.strip_suffix('}')) {
                Some("") => Value::Array(Vec::new()),
                Some(items) => Value::Array(
                    split_unescaped(items, ',', false)
                        .iter()
                        .map(|s| typed(&unescape(s)))
                        .collect(),
                ),
                None => typed(&unescape(value)),
            };
            Ok((path, value))
        })
        .collect()
}

/// Splits on `sep` where it is not escaped with `\` (and, if `braces`, not inside `{}`).
fn split_unescaped(s: &str, sep: char, braces: bool) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut depth = 0u32;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                parts.last_mut().expect("non-empty").push(c);
                if let Some(next) = chars.next() {
                    parts.last_mut().expect("non-empty").push(next);
                }
            }
            '{' if braces => {
                depth += 1;
                parts.last_mut().expect("non-empty").push(c);
            }
            '}' if braces => {
                depth = depth.saturating_sub(1);
                parts.last_mut().expect("non-empty").push(c);
            }
            c if c == sep && depth == 0 => parts.push(String::new()),
            c => parts.last_mut().expect("non-empty").push(c),
        }
    }
    parts
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn typed(s: &str) -> Value {
    match s {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        "null" => Value::Null,
        _ => {
            let leading_zero = s.len() > 1 && s.starts_with('0') && !s.starts_with("0.");
            if leading_zero {
                Value::String(s.to_string())
            } else if let Ok(i) = s.parse::<i64>() {
                Value::from(i)
            } else if s.contains('.')
                && s.chars()
                    .all(|c| c.is_ascii_digit() || c == '.' || c == '-')
                && let Ok(f) = s.parse::<f64>()
            {
                Value::from(f)
            } else {
                Value::String(s.to_string())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn set_arguments_are_typed_like_helm() {
        let parsed = parse_set("a.b=1,c=true,d=0.9,e=hello,f=007,g={x,y},h=").unwrap();
        let values: Vec<Value> = parsed.into_iter().map(|(_, v)| v).collect();
        assert_eq!(
            values,
            vec![
                json!(1),
                json!(true),
                json!(0.9),
                json!("hello"),
                json!("007"),
                json!(["x", "y"]),
                json!("")
            ]
        );
    }

    #[test]
    fn set_keys_keep_escaped_dots_and_values_keep_escaped_commas() {
        let parsed = parse_set(r"sel.app\.kubernetes\.io/name=prom,s=0\,30 * * * *").unwrap();
        assert_eq!(parsed[0].0, vec!["sel", "app.kubernetes.io/name"]);
        assert_eq!(parsed[1].1, json!("0,30 * * * *"));
    }

    #[test]
    fn set_without_equals_is_an_error() {
        assert!(parse_set("a.b").is_err());
        assert!(parse_set("a..b=1").is_err());
    }

    #[test]
    fn key_lines_follow_indentation() {
        let text = "a:\n  b: 1\n  # note\n  c:\n    d: x\ne: 2\n";
        let lines = key_lines(text);
        assert_eq!(lines[&vec!["a".to_string(), "b".into()]], 2);
        assert_eq!(lines[&vec!["a".to_string(), "c".into(), "d".into()]], 5);
        assert_eq!(lines[&vec!["e".to_string()]], 6);
    }

    #[test]
    fn excerpts_underline_the_value_or_the_key() {
        let mut m = Merged {
            tree: json!({}),
            origins: BTreeMap::new(),
            texts: BTreeMap::new(),
        };
        m.apply(
            json!({"a": {"mem": "2Gii"}}),
            "v.yaml",
            Some("a:\n  mem: 2Gii  # note\n"),
        );
        let path = ["a".to_string(), "mem".to_string()];
        assert_eq!(
            m.excerpt(&path, false).unwrap(),
            "  |\n2 |   mem: 2Gii  # note\n  |        ^^^^"
        );
        assert_eq!(
            m.excerpt(&path, true).unwrap(),
            "  |\n2 |   mem: 2Gii  # note\n  |   ^^^"
        );
    }

    #[test]
    fn later_sources_win_and_null_deletes() {
        let mut m = Merged {
            tree: json!({}),
            origins: BTreeMap::new(),
            texts: BTreeMap::new(),
        };
        m.apply(
            json!({"a": {"b": 1, "c": 2}}),
            "one.yaml",
            Some("a:\n  b: 1\n  c: 2\n"),
        );
        m.apply(
            json!({"a": {"b": 3, "c": null}}),
            "two.yaml",
            Some("a:\n  b: 3\n  c: null\n"),
        );
        assert_eq!(m.tree, json!({"a": {"b": 3}}));
        let origin = m.origin(&["a".into(), "b".into()]).unwrap();
        assert_eq!(origin.to_string(), "two.yaml:2");
    }
}
