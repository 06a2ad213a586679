//! Just enough PromQL reading for the tests: which metrics an expression selects, and with
//! which label matchers.

use std::collections::{BTreeMap, BTreeSet};

/// The metrics of `used` (metric name -> what uses it) that `known` does not account for,
/// each as `name (<users><the users joined by sep>)`, for an assertion message.
pub fn unexplained(
    used: &BTreeMap<String, Vec<String>>,
    known: impl Fn(&str) -> bool,
    users: &str,
    sep: &str,
) -> Vec<String> {
    used.iter()
        .filter(|(name, _)| !known(name))
        .map(|(name, by)| format!("{name} ({users}{})", by.join(sep)))
        .collect()
}

/// PromQL keywords followed by a list of label names.
const LABEL_LISTS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

/// Binary operators and modifiers, and the aggregation operators (which may be written
/// `max by (x) (...)`, with no parenthesis right after the name).
const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "atan2",
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
];

/// Metric names a PromQL expression selects (not functions, keywords or label names).
pub fn metric_names(expr: &str) -> BTreeSet<String> {
    // Drop string literals, label matchers {...} and range/subquery selectors [...].
    let mut cleaned = String::new();
    let (mut depth, mut quote) = (0u32, None::<char>);
    for ch in expr.chars() {
        if let Some(q) = quote {
            if ch == q {
                quote = None;
            }
            continue;
        }
        match ch {
            '"' | '\'' | '`' => quote = Some(ch),
            '{' | '[' => depth += 1,
            '}' | ']' => depth = depth.saturating_sub(1),
            _ if depth == 0 => cleaned.push(ch),
            _ => {}
        }
    }
    let chars: Vec<char> = cleaned.chars().collect();
    let mut names = BTreeSet::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() || c == '.' {
            // A number (also 1e3, 0x1f): skip it whole.
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
            continue;
        }
        if !(c.is_ascii_alphabetic() || c == '_' || c == ':') {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && (chars[i].is_ascii_alphanumeric() || "_:".contains(chars[i])) {
            i += 1;
        }
        let ident: String = chars[start..i].iter().collect();
        let mut j = i;
        while j < chars.len() && chars[j].is_whitespace() {
            j += 1;
        }
        let next = chars.get(j).copied();
        if LABEL_LISTS.contains(&ident.as_str()) {
            if next == Some('(') {
                while j < chars.len() && chars[j] != ')' {
                    j += 1;
                }
                i = j + 1;
            }
            continue;
        }
        if KEYWORDS.contains(&ident.as_str()) || next == Some('(') {
            continue; // keyword, function or aggregation
        }
        names.insert(ident);
    }
    names
}

/// The metric selectors `name{...}` of a PromQL expression, as (name, matchers).
pub fn selectors(expr: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut rest = expr;
    while let Some(open) = rest.find('{') {
        let name: String = rest[..open]
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let close = open + rest[open..].find('}').expect("unbalanced braces in expr");
        found.push((name, rest[open + 1..close].to_string()));
        rest = &rest[close + 1..];
    }
    found
}

/// The label names a selector's matchers (the text between `{` and `}`) test.
pub fn matcher_labels(matchers: &str) -> Vec<String> {
    let mut labels = Vec::new();
    let mut quoted = false;
    let mut current = String::new();
    for ch in matchers.chars() {
        match ch {
            '"' => quoted = !quoted,
            _ if quoted => {}
            '=' | '!' => {
                if !current.trim().is_empty() {
                    labels.push(current.trim().to_string());
                }
                current.clear();
            }
            ',' | '~' => current.clear(),
            _ => current.push(ch),
        }
    }
    labels
}

/// The labels a PromQL expression groups or matches by: the lists after `by`, `without`,
/// `on`, `ignoring`, `group_left` and `group_right`.
pub fn grouping_labels(expr: &str) -> Vec<String> {
    let mut labels = Vec::new();
    let mut rest = expr;
    while let Some(open) = rest.find('(') {
        let keyword: String = rest[..open]
            .trim_end()
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let close = open
            + rest[open..]
                .find(')')
                .expect("unbalanced parentheses in expr");
        if [
            "by",
            "without",
            "on",
            "ignoring",
            "group_left",
            "group_right",
        ]
        .contains(&keyword.as_str())
        {
            labels.extend(
                rest[open + 1..close]
                    .split(',')
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_string),
            );
            rest = &rest[close + 1..];
        } else {
            rest = &rest[open + 1..];
        }
    }
    labels
}
