//! Reading a profile and its overrides into one tree, remembering where every key came from.
//!
//! Everything is read and merged as Helm reads and merges it (`yaml11` for files,
//! `strvals` for the `--set` family), the profile playing the part of the chart's
//! values.yaml. Each key set by a source records its origin (file and line, or the
//! argument), so a validation error can point at what the user wrote.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Map, Value};

use crate::{strvals, yaml11};

/// The profiles compiled into the binary, so it works with no files around it.
pub const BUILTIN_PROFILES: &[(&str, &str)] = &[
    ("standard", include_str!("../profiles/standard.yaml")),
    ("ha", include_str!("../profiles/ha.yaml")),
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
    /// Sections (mappings) of the profile that an override's `null` deleted. Helm deletes
    /// them too, but the chart's schema then rejects the values: the sections a chart has
    /// come from its profile.
    pub deleted_sections: Vec<KeyPath>,
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

/// A values file of `-f`: a path, or `-` for standard input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValuesFile {
    Path(PathBuf),
    Stdin,
}

impl ValuesFile {
    /// The files of `-f` arguments as Helm reads them: each a comma-separated list (with
    /// CSV quoting, `"a,b.yaml"`), `-` meaning standard input.
    pub fn from_args(args: &[String]) -> Result<Vec<Self>> {
        let mut files = Vec::new();
        for arg in args {
            for name in csv_fields(arg).with_context(|| format!("-f {arg}"))? {
                files.push(if name.trim() == "-" {
                    Self::Stdin
                } else {
                    Self::Path(PathBuf::from(name))
                });
            }
        }
        Ok(files)
    }

    fn label(&self) -> String {
        match self {
            Self::Path(path) => path.display().to_string(),
            Self::Stdin => "(standard input)".to_string(),
        }
    }
}

/// The fields of one CSV record (how Helm splits a comma-separated flag).
fn csv_fields(s: &str) -> Result<Vec<String>> {
    let mut fields = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                    None => bail!("unterminated quoted field"),
                }
            }
            if !matches!(chars.peek(), None | Some(',')) {
                bail!("extraneous text after a quoted field");
            }
        } else {
            while let Some(c) = chars.next_if(|c| *c != ',') {
                if c == '"' {
                    bail!("bare \" in a field");
                }
                field.push(c);
            }
        }
        fields.push(field);
        if chars.next().is_none() {
            return Ok(fields);
        }
    }
}

/// The overrides of a command line. Helm applies them by kind, not in command-line
/// order: the `-f` files, then `--set-json`, `--set`, `--set-string`, `--set-file` and
/// `--set-literal`, each kind in the order given.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub values: Vec<ValuesFile>,
    pub set_json: Vec<String>,
    pub set: Vec<String>,
    pub set_string: Vec<String>,
    pub set_file: Vec<String>,
    pub set_literal: Vec<String>,
}

/// Loads the profile with the `-f` files `files` and the `--set` arguments `sets`.
pub fn load(profile: &ProfileSource, files: &[PathBuf], sets: &[String]) -> Result<Merged> {
    load_overrides(
        profile,
        &Overrides {
            values: files.iter().cloned().map(ValuesFile::Path).collect(),
            set: sets.to_vec(),
            ..Overrides::default()
        },
    )
}

/// Loads the profile and coalesces the overrides over it as Helm coalesces user values
/// over a chart's values.yaml: maps merge, anything else replaces, and `null` deletes a
/// key the profile has (an explicit `null` for a key it lacks stays).
pub fn load_overrides(profile: &ProfileSource, overrides: &Overrides) -> Result<Merged> {
    let mut merged = Merged {
        tree: Value::Object(Map::new()),
        deleted_sections: Vec::new(),
        origins: BTreeMap::new(),
        texts: BTreeMap::new(),
    };
    let label = profile.label();
    let text = match profile {
        ProfileSource::Builtin(_, text) => (*text).to_string(),
        ProfileSource::File(path) => read_text(path)?,
    };
    let doc = parse_yaml(&text, &label)?;
    if doc.map.is_empty() {
        bail!("{label}: the profile is empty");
    }
    let defaults = merged.record_file(doc, &label, text);

    let mut user = Map::new();
    let stdin = std::cell::OnceCell::new();
    let read_stdin = || -> Result<String> {
        // Helm reads standard input once; a second `-` gets what is left: nothing.
        if stdin.set(()).is_err() {
            return Ok(String::new());
        }
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin().lock(), &mut text)
            .context("cannot read standard input")?;
        Ok(text)
    };
    for file in &overrides.values {
        let label = file.label();
        let text = match file {
            ValuesFile::Path(path) => read_text(path)?,
            ValuesFile::Stdin => read_stdin()?,
        };
        let doc = parse_yaml(&text, &label)?;
        let map = merged.record_file(doc, &label, text);
        yaml11::merge_maps(&mut user, map);
    }
    for arg in &overrides.set_json {
        let source = format!("--set-json {arg}");
        if let Some(map) = strvals::json_object(arg).with_context(|| source.clone())? {
            merged.record_paths(&map, &source);
            yaml11::merge_maps(&mut user, map);
        } else {
            merged.record_set(strvals::Kind::Json, arg, &source, &mut user)?;
        }
    }
    for arg in &overrides.set {
        merged.record_set(
            strvals::Kind::Typed,
            arg,
            &format!("--set {arg}"),
            &mut user,
        )?;
    }
    for arg in &overrides.set_string {
        let source = format!("--set-string {arg}");
        merged.record_set(strvals::Kind::String, arg, &source, &mut user)?;
    }
    let read_file = |name: &str| -> Result<String> {
        if name.trim() == "-" {
            read_stdin()
        } else {
            read_text(Path::new(name))
        }
    };
    for arg in &overrides.set_file {
        let source = format!("--set-file {arg}");
        merged.record_set(strvals::Kind::File(&read_file), arg, &source, &mut user)?;
    }
    for arg in &overrides.set_literal {
        let source = format!("--set-literal {arg}");
        merged.record_set(strvals::Kind::Literal, arg, &source, &mut user)?;
    }
    merged.deleted_sections = coalesce(&mut user, &defaults);
    merged.tree = Value::Object(user);
    Ok(merged)
}

/// Helm's coalescing of user values over chart defaults; returns the paths of the
/// default mappings that a `null` deleted.
fn coalesce(user: &mut Map<String, Value>, defaults: &Map<String, Value>) -> Vec<KeyPath> {
    let mut deleted = Vec::new();
    coalesce_at(user, defaults, &mut Vec::new(), &mut deleted);
    deleted
}

/// Defaults fill what the user left out; a user value wins, maps merge; a `null` deletes
/// a key with a default, and stays where there is none (below the top level, also over
/// a `null` default).
fn coalesce_at(
    user: &mut Map<String, Value>,
    defaults: &Map<String, Value>,
    path: &mut KeyPath,
    deleted: &mut Vec<KeyPath>,
) {
    for (key, default) in defaults {
        match user.get_mut(key) {
            None => {
                user.insert(key.clone(), default.clone());
            }
            Some(Value::Null) => {
                if path.is_empty() || !default.is_null() {
                    user.shift_remove(key);
                    if default.is_object() {
                        let mut section = path.clone();
                        section.push(key.clone());
                        deleted.push(section);
                    }
                }
            }
            Some(Value::Object(mine)) => {
                if let Value::Object(default) = default {
                    path.push(key.clone());
                    coalesce_at(mine, default, path, deleted);
                    path.pop();
                }
            }
            Some(_) => {}
        }
    }
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

/// Parses a profile or values file as Helm reads values files.
fn parse_yaml(text: &str, label: &str) -> Result<yaml11::Doc> {
    yaml11::read(text).map_err(|e| {
        let line = text
            .lines()
            .nth(e.line.saturating_sub(1))
            .unwrap_or_default();
        let start = line
            .char_indices()
            .nth(e.column.saturating_sub(1))
            .map_or(line.len(), |(i, _)| i);
        let excerpt = caret(e.line, line, start, 1).replace('\n', "\n  ");
        let hint = if line.starts_with(|c: char| c.is_whitespace())
            && line.trim_start_matches(' ').starts_with('\t')
        {
            "\n  hint: YAML does not allow tabs for indentation; indent with spaces"
        } else {
            ""
        };
        anyhow!(
            "{label}:{}:{}: invalid YAML: {}\n  {excerpt}{hint}",
            e.line,
            e.column,
            e.message
        )
    })
}

impl Merged {
    /// Records the origin of every key of a file, and its text for excerpts.
    fn record_file(&mut self, doc: yaml11::Doc, source: &str, text: String) -> Map<String, Value> {
        let tree = Value::Object(doc.map);
        for (path, line) in doc.lines {
            let replaces = !is_map_at(&tree, &path);
            self.record(path, source, Some(line), replaces);
        }
        self.texts.insert(source.to_string(), text);
        match tree {
            Value::Object(map) => map,
            _ => unreachable!("built as an object"),
        }
    }

    /// Records `source` as the origin of every key path of `map`.
    fn record_paths(&mut self, map: &Map<String, Value>, source: &str) {
        fn walk(value: &Value, path: &mut KeyPath, out: &mut Vec<KeyPath>) {
            let children: Vec<(String, &Value)> = match value {
                Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), v)).collect(),
                Value::Array(items) => items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (i.to_string(), v))
                    .collect(),
                _ => Vec::new(),
            };
            for (key, child) in children {
                path.push(key);
                out.push(path.clone());
                walk(child, path, out);
                path.pop();
            }
        }
        let tree = Value::Object(map.clone());
        let mut paths = Vec::new();
        walk(&tree, &mut Vec::new(), &mut paths);
        for path in paths {
            let replaces = !is_map_at(&tree, &path);
            self.record(path, source, None, replaces);
        }
    }

    /// Applies one `--set`-family argument to `user`, recording it as the origin of what
    /// it assigned.
    fn record_set(
        &mut self,
        kind: strvals::Kind<'_>,
        arg: &str,
        source: &str,
        user: &mut Map<String, Value>,
    ) -> Result<()> {
        let assigned = strvals::apply(arg, kind, user).with_context(|| source.to_string())?;
        for path in assigned {
            // The maps on the way merge; what is assigned replaces.
            for n in 1..path.len() {
                self.record(path[..n].to_vec(), source, None, false);
            }
            self.record(path, source, None, true);
        }
        Ok(())
    }

    /// Records an origin for `path`; when its value `replaces` what was there (rather than
    /// merging into it), the origins below it go.
    fn record(&mut self, path: KeyPath, source: &str, line: Option<usize>, replaces: bool) {
        if replaces {
            self.origins
                .retain(|p, _| !(p.len() > path.len() && p.starts_with(&path)));
        }
        self.origins.insert(
            path,
            Origin {
                source: source.to_string(),
                line,
            },
        );
    }
}

/// Whether `tree` has a mapping at `path` (list indexes as decimal segments).
fn is_map_at(tree: &Value, path: &[String]) -> bool {
    path.iter()
        .try_fold(tree, |v, k| match v {
            Value::Object(map) => map.get(k),
            Value::Array(items) => k.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        })
        .is_some_and(Value::is_object)
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn empty() -> Merged {
        Merged {
            tree: json!({}),
            deleted_sections: Vec::new(),
            origins: BTreeMap::new(),
            texts: BTreeMap::new(),
        }
    }

    #[test]
    fn excerpts_underline_the_value_or_the_key() {
        let mut m = empty();
        let text = "a:\n  mem: 2Gii  # note\n";
        m.record_file(yaml11::read(text).unwrap(), "v.yaml", text.to_string());
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
    fn a_later_source_that_replaces_a_value_owns_the_keys_below_it() {
        let mut m = empty();
        let text = "a:\n  b:\n    c: 1\n  e: 2\n";
        m.record_file(yaml11::read(text).unwrap(), "one.yaml", text.to_string());
        let mut user = Map::new();
        m.record_set(strvals::Kind::Typed, "a.b=x", "--set a.b=x", &mut user)
            .unwrap();
        let path: KeyPath = vec!["a".into(), "b".into(), "c".into()];
        assert_eq!(m.origin(&path).unwrap().to_string(), "--set a.b=x");
        let sibling: KeyPath = vec!["a".into(), "e".into()];
        assert_eq!(m.origin(&sibling).unwrap().to_string(), "one.yaml:4");
    }

    #[test]
    fn null_deletes_a_default_and_stays_where_there_is_none() {
        let defaults = json!({"a": {"b": 1, "c": 2, "n": null}, "top": 1});
        let mut user = json!({"a": {"c": null, "n": null, "new": null}, "top": null, "x": null});
        coalesce(user.as_object_mut().unwrap(), defaults.as_object().unwrap());
        assert_eq!(
            user,
            json!({"a": {"b": 1, "n": null, "new": null}, "x": null})
        );
    }

    #[test]
    fn lists_replace_and_maps_merge() {
        let defaults = json!({"l": [1, 2, 3], "m": {"x": 1, "y": 2}});
        let mut user = json!({"l": [9], "m": {"y": 3}});
        coalesce(user.as_object_mut().unwrap(), defaults.as_object().unwrap());
        assert_eq!(user, json!({"l": [9], "m": {"x": 1, "y": 3}}));
    }

    #[test]
    fn values_arguments_split_like_helm() {
        let files =
            ValuesFile::from_args(&["a.yaml,b.yaml".into(), "-".into(), "\"c,d.yaml\"".into()])
                .unwrap();
        assert_eq!(
            files,
            vec![
                ValuesFile::Path("a.yaml".into()),
                ValuesFile::Path("b.yaml".into()),
                ValuesFile::Stdin,
                ValuesFile::Path("c,d.yaml".into()),
            ]
        );
    }
}
