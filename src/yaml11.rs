//! Values files read as Helm reads them: YAML 1.1 scalars through JSON.
//!
//! Helm splits a values file into documents at lines that start with `---` and merges them
//! in order; each document goes through a YAML 1.1 decoder and then through JSON, so:
//! plain `yes`/`on`/`y` are booleans, `010` is octal, `0x1F` hex, `1_000` is 1000, every
//! number ends up a float64, `<<` merge keys merge (later keys win, in document order), a
//! duplicated key takes its last value, `.inf`/`.nan` are errors, and keys that are not
//! strings become strings (`1`, `true`, `1.5`). Quoted and block scalars stay strings,
//! which is why the parser must expose scalar styles.

use std::collections::HashMap;
use std::rc::Rc;

use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};
use serde_json::{Map, Value};

use crate::strvals::go_float;

/// A syntax or type error at a 1-based line and column of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// A values file: its merged documents, and the line of every key path (list items
/// included, as decimal segments), in document order.
#[derive(Debug, Default)]
pub struct Doc {
    pub map: Map<String, Value>,
    pub lines: Vec<(Vec<String>, usize)>,
}

/// Most nodes one document may expand to through aliases (a guard against "billion
/// laughs" documents).
const MAX_EXPANDED_NODES: usize = 1_000_000;

/// Reads a values file.
pub fn read(text: &str) -> Result<Doc, YamlError> {
    let mut doc = Doc::default();
    for (first_line, chunk) in documents(text)? {
        let root = first_document(chunk, first_line)?;
        let mut reader = Reader {
            lines: Vec::new(),
            budget: MAX_EXPANDED_NODES,
            non_finite: Vec::new(),
        };
        let value = match root.as_deref() {
            None => Value::Null,
            Some(node) => reader.value(node, &mut Vec::new())?,
        };
        if let Some((line, text)) = reader.holds_non_finite(&value) {
            return Err(at(
                line,
                1,
                format!("`{text}` is not a number JSON can hold (Helm: json: unsupported value)"),
            ));
        }
        let map = match value {
            Value::Null => Map::new(),
            Value::Object(map) => map,
            other => {
                return Err(at(
                    root.map_or(first_line, |node| node.line),
                    1,
                    format!(
                        "not a profile or values file: expected a mapping of keys at the top level, found {}",
                        kind_of(&other)
                    ),
                ));
            }
        };
        merge_maps(&mut doc.map, map);
        doc.lines.extend(reader.lines);
    }
    Ok(doc)
}

/// Helm's merge of two value maps: maps merge key by key, anything else replaces.
pub fn merge_maps(base: &mut Map<String, Value>, over: Map<String, Value>) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(Value::Object(b)), Value::Object(o)) => merge_maps(b, o),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

fn at(line: usize, column: usize, message: impl Into<String>) -> YamlError {
    YamlError {
        line,
        column,
        message: message.into(),
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// The documents of a file as Helm splits them: at each line starting with `---` (only a
/// comment may follow it), with the 1-based line each document starts at. A separator
/// before any content stays in the next document, where it is a YAML document start.
fn documents(text: &str) -> Result<Vec<(usize, &str)>, YamlError> {
    let mut docs = Vec::new();
    let mut start = 0;
    let mut start_line = 1;
    let mut offset = 0;
    for (n, line) in text.split_inclusive('\n').enumerate() {
        if let Some(rest) = line.strip_prefix("---") {
            let rest = rest.trim();
            if !rest.is_empty() && !rest.starts_with('#') {
                return Err(at(
                    n + 1,
                    4,
                    format!(
                        "invalid YAML document separator: {rest} (only a comment may follow `---` on its line)"
                    ),
                ));
            }
            if offset > start {
                docs.push((start_line, &text[start..offset]));
                start = offset + line.len();
                start_line = n + 2;
            }
        }
        offset += line.len();
    }
    if text.len() > start {
        docs.push((start_line, &text[start..]));
    }
    Ok(docs)
}

/// A parsed YAML node, aliases resolved to shared nodes.
#[derive(Debug)]
struct Node {
    line: usize,
    kind: NodeKind,
}

#[derive(Debug)]
enum NodeKind {
    Scalar {
        text: String,
        style: ScalarStyle,
        tag: Option<Tag>,
    },
    Seq(Vec<Rc<Node>>),
    Map(Vec<(Rc<Node>, Rc<Node>)>),
}

/// The first document of `chunk` (Helm's YAML decoder reads no further), or `None` when
/// it has none.
fn first_document(chunk: &str, first_line: usize) -> Result<Option<Rc<Node>>, YamlError> {
    let line_of = |span: &Span| span.start.line() + first_line - 1;
    let mut anchors: HashMap<usize, Rc<Node>> = HashMap::new();
    // Open collections: their line, anchor, tag check, and items so far.
    let mut stack: Vec<(usize, usize, bool, Vec<Rc<Node>>)> = Vec::new();
    for event in Parser::new_from_str(chunk) {
        let (event, span) = event.map_err(|e| {
            at(
                e.marker().line() + first_line - 1,
                e.marker().col() + 1,
                e.info().to_string(),
            )
        })?;
        let line = line_of(&span);
        let node = match event {
            Event::DocumentEnd | Event::StreamEnd => break,
            Event::SequenceStart(anchor, _) => {
                stack.push((line, anchor, false, Vec::new()));
                continue;
            }
            Event::MappingStart(anchor, _) => {
                stack.push((line, anchor, true, Vec::new()));
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (line, anchor, is_map, items) = stack.pop().expect("balanced events");
                let kind = if is_map {
                    let mut pairs = Vec::with_capacity(items.len() / 2);
                    let mut items = items.into_iter();
                    while let (Some(k), Some(v)) = (items.next(), items.next()) {
                        pairs.push((k, v));
                    }
                    NodeKind::Map(pairs)
                } else {
                    NodeKind::Seq(items)
                };
                (anchor, Rc::new(Node { line, kind }))
            }
            Event::Scalar(text, style, anchor, tag) => (
                anchor,
                Rc::new(Node {
                    line,
                    kind: NodeKind::Scalar {
                        text: text.into_owned(),
                        style,
                        tag: tag.map(std::borrow::Cow::into_owned),
                    },
                }),
            ),
            Event::Alias(id) => {
                let node = anchors
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| at(line, span.start.col() + 1, "unknown anchor"))?;
                (0, node)
            }
            _ => continue,
        };
        let (anchor, node) = node;
        if anchor != 0 {
            anchors.insert(anchor, Rc::clone(&node));
        }
        match stack.last_mut() {
            Some((_, _, _, items)) => items.push(node),
            // Helm's decoder reads nothing after the root node: what follows may be
            // anything, even invalid.
            None => return Ok(Some(node)),
        }
    }
    Ok(None)
}

/// A plain scalar resolved by YAML 1.1's rules, as Helm's decoder resolves it.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str,
}

struct Reader {
    lines: Vec<(Vec<String>, usize)>,
    budget: usize,
    /// Stand-ins for infinities and NaN (which JSON cannot hold): marker, line, text.
    non_finite: Vec<(String, usize, String)>,
}

impl Reader {
    /// The line and text of a non-finite number still in `value`.
    fn holds_non_finite(&self, value: &Value) -> Option<(usize, String)> {
        match value {
            Value::String(s) if s.starts_with('\0') => self
                .non_finite
                .iter()
                .find(|(marker, _, _)| marker == s)
                .map(|(_, line, text)| (*line, text.clone())),
            Value::Array(items) => items.iter().find_map(|v| self.holds_non_finite(v)),
            Value::Object(map) => map.values().find_map(|v| self.holds_non_finite(v)),
            _ => None,
        }
    }

    fn value(&mut self, node: &Node, path: &mut Vec<String>) -> Result<Value, YamlError> {
        self.budget = self
            .budget
            .checked_sub(1)
            .ok_or_else(|| at(node.line, 1, "document contains excessive aliasing"))?;
        match &node.kind {
            NodeKind::Scalar { text, style, tag } => {
                match scalar_value(text, *style, tag.as_ref()) {
                    Ok(Some(value)) => Ok(value),
                    // Only an error if it survives duplicates and merges, as in Helm,
                    // which converts to JSON last.
                    Ok(None) => {
                        let marker = format!("\0non-finite {}\0", self.non_finite.len());
                        self.non_finite
                            .push((marker.clone(), node.line, text.clone()));
                        Ok(Value::String(marker))
                    }
                    Err(message) => Err(at(node.line, 1, message)),
                }
            }
            NodeKind::Seq(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    path.push(i.to_string());
                    self.lines.push((path.clone(), item.line));
                    out.push(self.value(item, path)?);
                    path.pop();
                }
                Ok(Value::Array(out))
            }
            NodeKind::Map(pairs) => {
                let mut map = Map::new();
                self.entries(pairs, &mut map, path)?;
                Ok(Value::Object(map))
            }
        }
    }

    /// The entries of a mapping, in order, into `map`: later keys replace earlier ones, and
    /// a merge key applies the mapping(s) it names at its place.
    fn entries(
        &mut self,
        pairs: &[(Rc<Node>, Rc<Node>)],
        map: &mut Map<String, Value>,
        path: &mut Vec<String>,
    ) -> Result<(), YamlError> {
        for (key, value) in pairs {
            if is_merge_key(key) {
                self.merge(value, map, path)?;
                continue;
            }
            let line = key.line;
            let key = key_string(key)?;
            path.push(key.clone());
            self.lines.push((path.clone(), line));
            let value = self.value(value, path)?;
            path.pop();
            map.insert(key, value);
        }
        Ok(())
    }

    fn merge(
        &mut self,
        value: &Node,
        map: &mut Map<String, Value>,
        path: &mut Vec<String>,
    ) -> Result<(), YamlError> {
        let wrong = || {
            at(
                value.line,
                1,
                "map merge requires map or sequence of maps as the value",
            )
        };
        match &value.kind {
            NodeKind::Map(pairs) => self.entries(pairs, map, path),
            // Earlier mappings of the list take precedence: apply them last.
            NodeKind::Seq(items) => items.iter().rev().try_for_each(|item| match &item.kind {
                NodeKind::Map(pairs) => self.entries(pairs, map, path),
                _ => Err(wrong()),
            }),
            NodeKind::Scalar { .. } => Err(wrong()),
        }
    }
}

fn is_merge_key(node: &Node) -> bool {
    match &node.kind {
        NodeKind::Scalar { text, style, tag } => {
            text == "<<"
                && match tag {
                    None => *style == ScalarStyle::Plain,
                    Some(tag) => tag.is_yaml_core_schema() && tag.suffix == "merge",
                }
        }
        _ => false,
    }
}

/// A mapping key as a string, as Helm's YAML-to-JSON step converts it.
fn key_string(node: &Node) -> Result<String, YamlError> {
    let NodeKind::Scalar { text, style, tag } = &node.kind else {
        return Err(at(
            node.line,
            1,
            "a mapping key must be a scalar, not a list or mapping",
        ));
    };
    let resolved = match tag_resolution(text, *style, tag.as_ref()) {
        Ok(Some(scalar)) => scalar,
        Ok(None) => return Ok(text.clone()),
        Err(message) => return Err(at(node.line, 1, message)),
    };
    match resolved {
        Scalar::Str => Ok(text.clone()),
        Scalar::Bool(b) => Ok(b.to_string()),
        Scalar::Int(i) if i64::try_from(i).is_ok() => Ok(i.to_string()),
        Scalar::Float(f) => Ok(go_float32_key(f)),
        Scalar::Null | Scalar::Int(_) => Err(at(
            node.line,
            1,
            format!(
                "unsupported map key `{text}`: Helm accepts string, integer, float and boolean keys"
            ),
        )),
    }
}

/// How a scalar resolves: `Ok(None)` for a string that no rule types (quoted, block,
/// `!!str` or an application tag), else the YAML 1.1 type, checked against an explicit tag.
fn tag_resolution(
    text: &str,
    style: ScalarStyle,
    tag: Option<&Tag>,
) -> Result<Option<Scalar>, String> {
    let Some(tag) = tag else {
        return Ok((style == ScalarStyle::Plain).then(|| resolve(text)));
    };
    if !tag.is_yaml_core_schema() {
        return Ok(None);
    }
    let resolved = resolve(text);
    let fits = match (tag.suffix.as_str(), &resolved) {
        ("str", _) => return Ok(None),
        // Helm keeps the text of a timestamp.
        ("timestamp", Scalar::Str) if looks_like_timestamp(text) => return Ok(None),
        ("null", Scalar::Null)
        | ("bool", Scalar::Bool(_))
        | ("int", Scalar::Int(_))
        | ("float", Scalar::Float(_)) => true,
        ("float", Scalar::Int(i)) => {
            #[allow(clippy::cast_precision_loss)] // Go converts the same way
            return Ok(Some(Scalar::Float(*i as f64)));
        }
        _ => false,
    };
    if fits {
        Ok(Some(resolved))
    } else {
        Err(format!("cannot decode `{text}` as a !!{}", tag.suffix))
    }
}

/// `YYYY-M-D`, optionally followed by a time: the dates go-yaml accepts as timestamps.
fn looks_like_timestamp(text: &str) -> bool {
    let date = text.split(['T', 't', ' ']).next().unwrap_or_default();
    let parts: Vec<&str> = date.split('-').collect();
    matches!(parts[..], [y, m, d] if y.len() == 4
        && (1..=2).contains(&m.len())
        && (1..=2).contains(&d.len())
        && [y, m, d].iter().all(|p| p.bytes().all(|b| b.is_ascii_digit())))
}

/// A scalar's JSON value; `None` for an infinity or NaN, which JSON cannot hold.
fn scalar_value(
    text: &str,
    style: ScalarStyle,
    tag: Option<&Tag>,
) -> Result<Option<Value>, String> {
    if let Some(tag) = tag
        && tag.is_yaml_core_schema()
        && tag.suffix == "binary"
    {
        let bytes = base64(text).ok_or_else(|| format!("`{text}` is not base64 (!!binary)"))?;
        return Ok(Some(Value::String(
            String::from_utf8_lossy(&bytes).into_owned(),
        )));
    }
    Ok(Some(match tag_resolution(text, style, tag)? {
        None | Some(Scalar::Str) => Value::String(text.to_string()),
        Some(Scalar::Null) => Value::Null,
        Some(Scalar::Bool(b)) => Value::Bool(b),
        #[allow(clippy::cast_precision_loss)] // Helm turns every number into a float64
        Some(Scalar::Int(i)) => go_float(i as f64),
        Some(Scalar::Float(f)) if f.is_finite() => go_float(f),
        Some(Scalar::Float(_)) => return Ok(None),
    }))
}

/// YAML 1.1 resolution of a plain scalar, as Helm's decoder (go-yaml v2) does it: the
/// first character picks the candidates; underscores are ignored in numbers; integers
/// take Go's base prefixes (`0x`, `0o`, `0b`, and `0` for octal).
pub fn resolve(text: &str) -> Scalar {
    const WORDS: &[(&str, Scalar)] = &[
        ("y", Scalar::Bool(true)),
        ("Y", Scalar::Bool(true)),
        ("yes", Scalar::Bool(true)),
        ("Yes", Scalar::Bool(true)),
        ("YES", Scalar::Bool(true)),
        ("true", Scalar::Bool(true)),
        ("True", Scalar::Bool(true)),
        ("TRUE", Scalar::Bool(true)),
        ("on", Scalar::Bool(true)),
        ("On", Scalar::Bool(true)),
        ("ON", Scalar::Bool(true)),
        ("n", Scalar::Bool(false)),
        ("N", Scalar::Bool(false)),
        ("no", Scalar::Bool(false)),
        ("No", Scalar::Bool(false)),
        ("NO", Scalar::Bool(false)),
        ("false", Scalar::Bool(false)),
        ("False", Scalar::Bool(false)),
        ("FALSE", Scalar::Bool(false)),
        ("off", Scalar::Bool(false)),
        ("Off", Scalar::Bool(false)),
        ("OFF", Scalar::Bool(false)),
        ("", Scalar::Null),
        ("~", Scalar::Null),
        ("null", Scalar::Null),
        ("Null", Scalar::Null),
        ("NULL", Scalar::Null),
        (".nan", Scalar::Float(f64::NAN)),
        (".NaN", Scalar::Float(f64::NAN)),
        (".NAN", Scalar::Float(f64::NAN)),
        (".inf", Scalar::Float(f64::INFINITY)),
        (".Inf", Scalar::Float(f64::INFINITY)),
        (".INF", Scalar::Float(f64::INFINITY)),
        ("+.inf", Scalar::Float(f64::INFINITY)),
        ("+.Inf", Scalar::Float(f64::INFINITY)),
        ("+.INF", Scalar::Float(f64::INFINITY)),
        ("-.inf", Scalar::Float(f64::NEG_INFINITY)),
        ("-.Inf", Scalar::Float(f64::NEG_INFINITY)),
        ("-.INF", Scalar::Float(f64::NEG_INFINITY)),
    ];
    let hint = text.bytes().next();
    let candidate = match hint {
        None => true,
        Some(b) => b"+-0123456789yYnNtTfFoO~.".contains(&b),
    };
    if !candidate {
        return Scalar::Str;
    }
    if let Some((_, scalar)) = WORDS.iter().find(|(w, _)| *w == text) {
        return scalar.clone();
    }
    match hint {
        Some(b'.') => go_parse_float(text).map_or(Scalar::Str, Scalar::Float),
        Some(b'+' | b'-' | b'0'..=b'9') => {
            let plain = text.replace('_', "");
            if let Some(i) = go_parse_int_base0(&plain, true) {
                return Scalar::Int(i);
            }
            if let Some(i) = go_parse_int_base0(&plain, false) {
                return Scalar::Int(i);
            }
            if yaml_float_syntax(&plain)
                && let Some(f) = go_parse_float(&plain)
            {
                return Scalar::Float(f);
            }
            // go-yaml's own binary rule, reached only when Go's `0b` parse failed: a
            // sign after the prefix.
            if let Some(rest) = plain.strip_prefix("0b")
                && let Some(i) = go_parse_radix(rest, 2, true)
            {
                return Scalar::Int(i);
            }
            Scalar::Str
        }
        _ => Scalar::Str,
    }
}

/// Standard base64 with padding, line breaks ignored (Go's `StdEncoding`).
fn base64(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let bytes: Vec<u8> = text
        .bytes()
        .filter(|b| !matches!(b, b'\r' | b'\n'))
        .collect();
    if bytes.len() % 4 != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    for (n, chunk) in bytes.chunks(4).enumerate() {
        let padding = chunk.iter().rev().take_while(|b| **b == b'=').count();
        if padding > 2 || (padding > 0 && n + 1 != bytes.len() / 4) {
            return None;
        }
        let mut word = 0u32;
        for &c in &chunk[..4 - padding] {
            word = word << 6 | u32::from(value(c)?);
        }
        word <<= 6 * padding;
        out.extend_from_slice(&word.to_be_bytes()[1..4 - padding]);
    }
    Some(out)
}

/// Go's `strconv.ParseFloat(s, 64)` for the decimal forms YAML can reach: underscores
/// only between digits, and an overflow to infinity is an error.
fn go_parse_float(s: &str) -> Option<f64> {
    let ok = s
        .bytes()
        .all(|b| b.is_ascii_digit() || b"+-.eE_".contains(&b));
    let b = s.as_bytes();
    let underscores_ok = b
        .iter()
        .enumerate()
        .filter(|(_, c)| **c == b'_')
        .all(|(i, _)| {
            i > 0 && b[i - 1].is_ascii_digit() && b.get(i + 1).is_some_and(u8::is_ascii_digit)
        });
    if !(ok && underscores_ok) {
        return None;
    }
    s.replace('_', "")
        .parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
}

/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`
fn yaml_float_syntax(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", frac)) => digits(frac),
        Some((int, frac)) => digits(int) && (frac.is_empty() || digits(frac)),
        None => digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| digits(e.strip_prefix(['+', '-']).unwrap_or(e)));
    mantissa_ok && exponent_ok
}

/// Go's `strconv.ParseInt(s, 0, 64)` (`signed`) or `ParseUint(s, 0, 64)`.
fn go_parse_int_base0(s: &str, signed: bool) -> Option<i128> {
    let (negative, body) = match s.as_bytes().first() {
        Some(b'+') if signed => (false, &s[1..]),
        Some(b'-') if signed => (true, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if body.len() >= 3 && lower.starts_with("0x") {
        (16, &body[2..])
    } else if body.len() >= 3 && lower.starts_with("0o") {
        (8, &body[2..])
    } else if body.len() >= 3 && lower.starts_with("0b") {
        (2, &body[2..])
    } else if let Some(octal) = body.strip_prefix('0') {
        (8, octal)
    } else {
        (10, body)
    };
    if body.is_empty() || (digits.is_empty() && radix != 8) {
        return None;
    }
    let magnitude = if digits.is_empty() {
        0
    } else {
        go_parse_radix(digits, radix, false)?
    };
    let value = if negative { -magnitude } else { magnitude };
    let range = if signed {
        i128::from(i64::MIN)..=i128::from(i64::MAX)
    } else {
        0..=i128::from(u64::MAX)
    };
    range.contains(&value).then_some(value)
}

/// Digits in `radix` (with an optional sign when `signed`), within 64 bits.
fn go_parse_radix(s: &str, radix: u32, signed: bool) -> Option<i128> {
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'+') if signed => (false, &s[1..]),
        Some(b'-') if signed => (true, &s[1..]),
        _ => (false, s),
    };
    // Rust's parser would also take a sign here.
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let magnitude = i128::from_str_radix(digits, radix).ok()?;
    let value = if negative { -magnitude } else { magnitude };
    (i128::from(i64::MIN)..=i128::from(u64::MAX))
        .contains(&value)
        .then_some(value)
        .filter(|v| !signed || i64::try_from(*v).is_ok())
}

/// A float key as Helm writes it: Go's `FormatFloat(f, 'g', -1, 32)`, with YAML's names
/// for infinities and NaN.
fn go_float32_key(f: f64) -> String {
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.into();
    }
    #[allow(clippy::cast_possible_truncation)] // Helm formats keys at float32 precision
    let f = f as f32;
    // Rust's `{:e}` gives the shortest digits that read back as the same f32.
    let sci = format!("{f:e}");
    let (mantissa, exponent) = sci.split_once('e').expect("`{:e}` has an exponent");
    let exponent: i32 = exponent.parse().expect("decimal exponent");
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if negative { "-" } else { "" };
    if !(-4..6).contains(&exponent) {
        let (first, rest) = digits.split_at(1);
        let fraction = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        return format!("{sign}{first}{fraction}e{exp_sign}{:02}", exponent.abs());
    }
    let point = exponent + 1;
    let n = i32::try_from(digits.len()).expect("few digits");
    let text = if point <= 0 {
        format!("0.{}{digits}", "0".repeat(point.unsigned_abs() as usize))
    } else if point >= n {
        format!(
            "{digits}{}",
            "0".repeat((point - n).unsigned_abs() as usize)
        )
    } else {
        let (int, frac) = digits.split_at(point.unsigned_abs() as usize);
        format!("{int}.{frac}")
    };
    format!("{sign}{text}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn values(text: &str) -> Value {
        Value::Object(read(text).unwrap().map)
    }

    #[test]
    fn plain_scalars_resolve_by_yaml_1_1() {
        assert_eq!(
            values(
                "a: yes\nb: Off\nc: 010\nd: 0x1F\ne: 1_000\nf: 1.5\ng: ~\nh: .5\ni: 08\nj: oN\n"
            ),
            json!({"a": true, "b": false, "c": 8, "d": 31, "e": 1000, "f": 1.5, "g": null,
                   "h": 0.5, "i": 8, "j": "oN"})
        );
    }

    #[test]
    fn quoted_and_block_scalars_stay_strings() {
        assert_eq!(
            values("a: 'yes'\nb: \"010\"\nc: |\n  on\nd: !!str 12\n"),
            json!({"a": "yes", "b": "010", "c": "on\n", "d": "12"})
        );
    }

    #[test]
    fn keys_become_strings() {
        assert_eq!(
            values("1: a\nyes: b\n1.5: c\n0x10: d\n"),
            json!({"1": "a", "true": "b", "1.5": "c", "16": "d"})
        );
    }

    #[test]
    fn merge_keys_and_duplicates_take_the_later_value() {
        assert_eq!(
            values("base: &b {x: 1, p: 2}\nm:\n  x: 0\n  <<: *b\n  p: 3\nd: 1\nd: 2\n"),
            json!({"base": {"x": 1, "p": 2}, "m": {"x": 1, "p": 3}, "d": 2})
        );
    }

    #[test]
    fn documents_merge_in_order() {
        assert_eq!(
            values("a: {x: 1}\n---\na: {p: 2}\n---\n"),
            json!({"a": {"x": 1, "p": 2}})
        );
        assert!(read("a: 1\n--- b: 2\n").is_err());
    }

    #[test]
    fn infinities_are_errors_and_big_integers_are_floats() {
        assert!(read("a: .inf\n").is_err());
        assert!(read("a: .nan\n").is_err());
        assert_eq!(
            values("a: 9007199254740993\n"),
            json!({"a": 9_007_199_254_740_992_i64})
        );
    }

    #[test]
    fn lines_are_those_of_the_keys_and_items() {
        let doc = read("a:\n  b: 1\n  c:\n    - x\n    - y\n").unwrap();
        let line = |p: &[&str]| {
            doc.lines
                .iter()
                .find(|(k, _)| k == p)
                .map(|(_, l)| *l)
                .unwrap()
        };
        assert_eq!(line(&["a", "b"]), 2);
        assert_eq!(line(&["a", "c"]), 3);
        assert_eq!(line(&["a", "c", "1"]), 5);
    }

    #[test]
    fn float_keys_are_formatted_at_float32_precision() {
        assert_eq!(go_float32_key(1.5), "1.5");
        assert_eq!(go_float32_key(0.1), "0.1");
        assert_eq!(go_float32_key(1e10), "1e+10");
        assert_eq!(go_float32_key(123_456.0), "123456");
        assert_eq!(go_float32_key(0.0001), "0.0001");
        assert_eq!(go_float32_key(0.000_01), "1e-05");
    }
}
