//! The `--set` family of flags, read as Helm reads them.
//!
//! Helm's parser has behaviour that only its source documents: `{}` is the list `[""]`, a
//! trailing comma is accepted, `a[0` and `a[0].b=` at the end of an argument end it
//! silently (the first sets nothing, the second leaves an empty list), a path through a
//! scalar or `null` is an error, and an index makes an existing value a list only if it
//! already is one. Each rule here was checked against the real `helm` binary
//! (tests/integration/helm_values/); the structure follows Helm's so that its edge cases
//! fall out the same way: a failed assignment that Helm treats as the end of input keeps
//! what it had already changed.

use anyhow::{Context, Result, anyhow};
use serde_json::{Map, Value};

/// Deepest `a.b.c...` nesting of one key (Helm's limit: 30 dots).
const MAX_NESTING: usize = 30;
/// Largest list index Helm accepts.
const MAX_INDEX: i64 = 65_536;

/// How the values of an argument are read.
#[derive(Clone, Copy)]
pub enum Kind<'r> {
    /// `--set`: `true`/`false`/`null` in any case, integers, else strings.
    Typed,
    /// `--set-string`: every value a string.
    String,
    /// `--set-json`: every value a JSON document.
    Json,
    /// `--set-file`: every value the contents of the file it names.
    File(&'r dyn Fn(&str) -> Result<String>),
    /// `--set-literal`: no escapes, no lists; the value is the rest of the argument.
    Literal,
}

/// How an argument ended: Helm treats some failures as the end of the input.
enum Stop {
    /// The input ended (possibly in the middle of a key): stop, keeping what was set.
    End,
    /// An error: the command fails.
    Fail(anyhow::Error),
}

type Step<T = ()> = std::result::Result<T, Stop>;

fn fail<T>(message: impl Into<String>) -> Step<T> {
    Err(Stop::Fail(anyhow!(message.into())))
}

/// Applies one `--set`-style argument to `data`, as Helm does, and returns the key paths it
/// assigned (list indexes as decimal segments), for error messages.
pub fn apply(arg: &str, kind: Kind<'_>, data: &mut Map<String, Value>) -> Result<Vec<Vec<String>>> {
    let mut parser = Parser {
        input: arg.chars().collect(),
        at: 0,
        kind,
        path: Vec::new(),
        assigned: Vec::new(),
    };
    loop {
        match parser.key(data, 0) {
            Ok(()) => {}
            Err(Stop::End) => return Ok(parser.assigned),
            Err(Stop::Fail(e)) => return Err(e),
        }
    }
}

struct Parser<'r> {
    input: Vec<char>,
    at: usize,
    kind: Kind<'r>,
    /// Key path of the value being parsed.
    path: Vec<String>,
    assigned: Vec<Vec<String>>,
}

impl Parser<'_> {
    fn next(&mut self) -> Option<char> {
        let c = self.input.get(self.at).copied();
        if c.is_some() {
            self.at += 1;
        }
        c
    }

    /// Characters up to one of `stop` (consumed, returned), with `\x` read as `x`; `None`
    /// as the stop character when the input ended first.
    fn until(&mut self, stop: &[char]) -> (String, Option<char>) {
        let escapes = !matches!(self.kind, Kind::Literal);
        let mut text = String::new();
        while let Some(c) = self.next() {
            if stop.contains(&c) {
                return (text, Some(c));
            }
            if c == '\\' && escapes {
                match self.next() {
                    Some(literal) => text.push(literal),
                    None => return (text, None),
                }
            } else {
                text.push(c);
            }
        }
        (text, None)
    }

    fn key(&mut self, data: &mut Map<String, Value>, nesting: usize) -> Step {
        let stops: &[char] = if let Kind::Literal = self.kind {
            &['=', '[', '.']
        } else {
            &['=', '[', ',', '.']
        };
        let (key, stop) = self.until(stops);
        match stop {
            None if key.is_empty() => Err(Stop::End),
            None => fail(format!("key \"{key}\" has no value")),
            Some(',') => fail(format!("key \"{key}\" has no value (cannot end with ,)")),
            Some('=') => {
                self.path.push(key.clone());
                let value = self.value();
                self.path.pop();
                match value {
                    Ok(v) => {
                        self.set(data, &key, v);
                        Ok(())
                    }
                    // `a=` at the very end: the empty string, and the input is over.
                    Err(Stop::End) => {
                        self.set(data, &key, Value::String(String::new()));
                        Err(Stop::End)
                    }
                    Err(e) => Err(e),
                }
            }
            Some('[') => {
                let index = self.index()?;
                let list = match data.get_mut(&key) {
                    None => Vec::new(),
                    Some(Value::Array(list)) => std::mem::take(list),
                    Some(other) => return fail(not_a(&key, other, "list")),
                };
                self.path.push(key.clone());
                let (list, result) = self.list_item(list, index, nesting);
                self.path.pop();
                if key.is_empty() {
                    // Helm never stores an empty key.
                    return result;
                }
                data.insert(key, Value::Array(list));
                result
            }
            Some(_) => {
                let nesting = nesting + 1;
                if nesting > MAX_NESTING {
                    return fail(format!(
                        "value name nested level is greater than maximum supported nested level of {MAX_NESTING}"
                    ));
                }
                self.path.push(key.clone());
                let result = match data.get_mut(&key) {
                    Some(Value::Object(inner)) => self.nested(inner, &key, nesting),
                    Some(other) => fail(not_a(&key, other, "map")),
                    None => {
                        let mut inner = Map::new();
                        let result = self.nested(&mut inner, &key, nesting);
                        if !inner.is_empty() && !key.is_empty() {
                            data.insert(key, Value::Object(inner));
                        }
                        result
                    }
                };
                self.path.pop();
                result
            }
        }
    }

    /// The rest of `key.` into the map `inner`, which must end up with a value.
    fn nested(&mut self, inner: &mut Map<String, Value>, key: &str, nesting: usize) -> Step {
        let result = self.key(inner, nesting);
        if result.is_ok() && inner.is_empty() {
            return fail(format!("key map \"{key}\" has no value"));
        }
        result
    }

    /// `[N]`: the index, after the `[`.
    fn index(&mut self) -> Step<i64> {
        let (digits, stop) = self.until(&[']']);
        if stop.is_none() {
            // Helm wraps the end of input as its error, which it then takes for the end.
            return Err(Stop::End);
        }
        go_atoi(&digits).ok_or_else(|| {
            Stop::Fail(anyhow!(
                "error parsing index: strconv.Atoi: parsing {digits:?}: invalid syntax"
            ))
        })
    }

    /// What follows `[index]`: `=value`, `.key...` or another `[index]`. Returns the list
    /// as Helm leaves it: unchanged on failure except for maps it changed in place.
    fn list_item(
        &mut self,
        mut list: Vec<Value>,
        index: i64,
        nesting: usize,
    ) -> (Vec<Value>, Step) {
        if index < 0 {
            return (list, fail(format!("negative {index} index not allowed")));
        }
        let (junk, stop) = self.until(&['[', '.', '=']);
        if !junk.is_empty() {
            return (
                list,
                fail(format!("unexpected data at end of array index: {junk:?}")),
            );
        }
        self.path.push(index.to_string());
        let result = match stop {
            None => Err(Stop::End),
            Some('=') => match self.value() {
                Ok(v) => set_index(&mut list, index, v),
                Err(Stop::End) => set_index(&mut list, index, Value::String(String::new())),
                Err(e) => Err(e),
            }
            .map(|()| self.assigned.push(self.path.clone())),
            Some('[') => self.nested_list(&mut list, index, nesting),
            Some(_) => {
                let slot = usize::try_from(index).ok().filter(|i| *i < list.len());
                if let Some(i) = slot {
                    if !list[i].is_object() {
                        list[i] = Value::Object(Map::new());
                    }
                    let Value::Object(inner) = &mut list[i] else {
                        unreachable!("made a map above")
                    };
                    self.key(inner, nesting)
                } else {
                    let mut inner = Map::new();
                    self.key(&mut inner, nesting)
                        .and_then(|()| set_index(&mut list, index, Value::Object(inner)))
                }
            }
        };
        self.path.pop();
        (list, result)
    }

    /// `[i][j]...`: the list at `list[index]`, itself indexed.
    fn nested_list(&mut self, list: &mut Vec<Value>, index: i64, nesting: usize) -> Step {
        let inner_index = self.index()?;
        let slot = usize::try_from(index).ok().filter(|i| *i < list.len());
        let inner = match slot.map(|i| &mut list[i]) {
            Some(Value::Array(inner)) => std::mem::take(inner),
            None | Some(Value::Null) => Vec::new(),
            Some(other) => return fail(not_a(&index.to_string(), other, "list")),
        };
        let existed = slot.is_some_and(|i| list[i].is_array());
        let (inner, result) = self.list_item(inner, inner_index, nesting);
        match result {
            Ok(()) => set_index(list, index, Value::Array(inner)),
            Err(e) => {
                if existed && let Some(i) = slot {
                    list[i] = Value::Array(inner);
                }
                Err(e)
            }
        }
    }

    /// The value after `=`: a `{a,b}` list, or one value up to the next `,`.
    fn value(&mut self) -> Step<Value> {
        match self.kind {
            Kind::Json => return self.json_value(),
            Kind::Literal => {
                let rest = self.input[self.at..].iter().collect();
                self.at = self.input.len();
                return Ok(Value::String(rest));
            }
            _ => {}
        }
        match self.input.get(self.at) {
            None => return Err(Stop::End),
            Some('{') => {
                self.at += 1;
                return self.list();
            }
            Some(_) => {}
        }
        let (text, _) = self.until(&[',']);
        self.read(&text)
    }

    /// `{a,b,c}` after the `{`; a `,` right after the `}` is consumed.
    fn list(&mut self) -> Step<Value> {
        let mut items = Vec::new();
        loop {
            let (text, stop) = self.until(&[',', '}']);
            match stop {
                None => return fail("list must terminate with '}'"),
                Some('}') => {
                    if self.input.get(self.at) == Some(&',') {
                        self.at += 1;
                    }
                    items.push(self.read(&text)?);
                    return Ok(Value::Array(items));
                }
                Some(_) => items.push(self.read(&text)?),
            }
        }
    }

    fn read(&self, text: &str) -> Step<Value> {
        match self.kind {
            Kind::Typed => Ok(typed(text)),
            Kind::String | Kind::Json | Kind::Literal => Ok(Value::String(text.to_string())),
            Kind::File(read) => read(text).map(Value::String).map_err(Stop::Fail),
        }
    }

    /// A JSON value after `=`, as Go's streaming decoder reads it: blanks and a `,` after
    /// it are skipped; nothing (or only a `,`) before the next key is `null`.
    fn json_value(&mut self) -> Step<Value> {
        if self.skip_blanks_and_comma() {
            return Ok(Value::Null);
        }
        let rest: String = self.input[self.at..].iter().collect();
        let len = json_extent(&rest).map_err(|e| Stop::Fail(anyhow!("invalid JSON: {e}")))?;
        let value: Value = serde_json::from_str(&rest[..len])
            .map_err(|e| Stop::Fail(anyhow!("invalid JSON: {e}")))?;
        self.at += rest[..len].chars().count();
        self.skip_blanks_and_comma();
        Ok(go_numbers(value))
    }

    /// Skips white space; true when the input ended or a `,` was consumed.
    fn skip_blanks_and_comma(&mut self) -> bool {
        loop {
            match self.input.get(self.at) {
                None => return true,
                Some(',') => {
                    self.at += 1;
                    return true;
                }
                Some(c) if c.is_whitespace() => self.at += 1,
                Some(_) => return false,
            }
        }
    }

    fn set(&mut self, data: &mut Map<String, Value>, key: &str, value: Value) {
        if !key.is_empty() {
            data.insert(key.to_string(), value);
            let mut path = self.path.clone();
            path.push(key.to_string());
            self.assigned.push(path);
        }
    }
}

fn set_index(list: &mut Vec<Value>, index: i64, value: Value) -> Step {
    if index > MAX_INDEX {
        return fail(format!(
            "index of {index} is greater than maximum supported index of {MAX_INDEX}"
        ));
    }
    let i = usize::try_from(index).expect("negative indexes are rejected before");
    if list.len() <= i {
        list.resize(i + 1, Value::Null);
    }
    list[i] = value;
    Ok(())
}

fn not_a(key: &str, value: &Value, wanted: &str) -> String {
    let what = match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    };
    format!("unable to parse key: `{key}` is {what}, not a {wanted}")
}

/// Go's `strconv.Atoi` (and `ParseInt(s, 10, 64)`): optional sign, decimal digits, within
/// 64 bits.
fn go_atoi(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A `--set` value typed as Helm types it: `true`, `false` and `null` in any case (Go's
/// Unicode case folding, so `ſ` matches `s`), `0`, and integers that do not start with
/// `0`; everything else, decimals included, is a string.
pub fn typed(s: &str) -> Value {
    if folds_to(s, "true") {
        Value::Bool(true)
    } else if folds_to(s, "false") {
        Value::Bool(false)
    } else if folds_to(s, "null") {
        Value::Null
    } else if s == "0" {
        Value::from(0)
    } else if !s.is_empty()
        && !s.starts_with('0')
        && let Some(i) = go_atoi(s)
    {
        Value::from(i)
    } else {
        Value::String(s.to_string())
    }
}

/// Go's `strings.EqualFold` against a lower-case ASCII word.
fn folds_to(s: &str, word: &str) -> bool {
    s.chars().count() == word.len()
        && s.chars().zip(word.chars()).all(|(c, w)| {
            let c = if c == 'ſ' {
                's'
            } else {
                c.to_ascii_lowercase()
            };
            c == w
        })
}

/// Numbers as Go's JSON decoding leaves them: every number a float64. An integral one
/// that a float64 holds exactly stays an integer, so that integer settings accept it.
pub fn go_numbers(value: Value) -> Value {
    match value {
        Value::Number(n) => go_float(n.as_f64().expect("JSON numbers are finite")),
        Value::Array(items) => Value::Array(items.into_iter().map(go_numbers).collect()),
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (k, go_numbers(v))).collect())
        }
        other => other,
    }
}

/// A float64 as a JSON value: integral values up to 2^53 as integers.
pub fn go_float(f: f64) -> Value {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    if f.fract() == 0.0 && f.abs() <= EXACT {
        #[allow(clippy::cast_possible_truncation)] // integral and within ±2^53
        Value::from(f as i64)
    } else {
        serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
    }
}

/// Length in bytes of the first JSON value of `s` (which starts with it), found as Go's
/// streaming decoder finds it: a number or literal ends at the first character that cannot
/// continue it, whatever that character is.
fn json_extent(s: &str) -> std::result::Result<usize, String> {
    let bytes = s.as_bytes();
    let end = |what: &str| format!("unexpected end of {what}");
    match bytes.first() {
        None => Err(end("input")),
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            let mut i = 0;
            while i < bytes.len() {
                match bytes[i] {
                    b'"' => i += string_extent(&bytes[i..]).ok_or_else(|| end("string"))? - 1,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Ok(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            Err(end("JSON input"))
        }
        Some(b'"') => string_extent(bytes).ok_or_else(|| end("string")),
        Some(b't') => literal_extent(s, "true"),
        Some(b'f') => literal_extent(s, "false"),
        Some(b'n') => literal_extent(s, "null"),
        Some(b'-' | b'0'..=b'9') => number_extent(bytes),
        Some(_) => Err(format!(
            "invalid character {:?} looking for beginning of value",
            s.chars().next().unwrap_or_default()
        )),
    }
}

/// Length of a JSON string at the start of `bytes`, closing quote included.
fn string_extent(bytes: &[u8]) -> Option<usize> {
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

fn literal_extent(s: &str, word: &str) -> std::result::Result<usize, String> {
    let common = s
        .bytes()
        .zip(word.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    if common == word.len() {
        Ok(common)
    } else if common == s.len() {
        Err("unexpected end of JSON input".into())
    } else {
        Err(format!("invalid character in literal {word}"))
    }
}

/// Length of the JSON number at the start of `bytes`: `-? (0 | [1-9][0-9]*) (.[0-9]+)?
/// ([eE][+-]?[0-9]+)?`, taken greedily; stopping where a digit is still required is an error.
fn number_extent(bytes: &[u8]) -> std::result::Result<usize, String> {
    let digits = |from: usize| {
        bytes[from..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    let mut i = usize::from(bytes[0] == b'-');
    match bytes.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i += digits(i),
        _ => return Err("invalid number: a digit must follow `-`".into()),
    }
    if bytes.get(i) == Some(&b'.') {
        let n = digits(i + 1);
        if n == 0 {
            return Err("invalid number: a digit must follow `.`".into());
        }
        i += 1 + n;
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(bytes.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let n = digits(i);
        if n == 0 {
            return Err("invalid number: a digit must follow the exponent".into());
        }
        i += n;
    }
    Ok(i)
}

/// Helm's `--set-json '{...}'`: a whole JSON object, merged like a values file.
pub fn json_object(arg: &str) -> Result<Option<Map<String, Value>>> {
    let trimmed = arg.trim();
    if !trimmed.starts_with('{') {
        return Ok(None);
    }
    let value: Map<String, Value> = serde_json::from_str(trimmed).context("not a JSON object")?;
    match go_numbers(Value::Object(value)) {
        Value::Object(map) => Ok(Some(map)),
        _ => unreachable!("an object stays an object"),
    }
}
