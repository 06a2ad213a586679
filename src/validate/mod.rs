//! Validation, in its three jobs: `schema_errors` explains where the input breaks the
//! profile schema, `rules` checks what a schema cannot express (each component's rules and
//! those between components), and `rendered` checks the chart before it is written.

mod rendered;
mod rules;
mod schema_errors;

use std::fmt;

use serde::Deserialize as _;

pub use rendered::rendered;
pub use rules::{Found, semantic};
pub use schema_errors::schema_problems;

use crate::input::{KeyPath, Merged, Origin, dotted};
use crate::profile::Profile;
use crate::schema;

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

impl Problem {
    /// A problem with the value at `path`; where it came from is added once all are found.
    pub fn new(path: KeyPath, message: String) -> Self {
        Self {
            origin: None,
            path,
            message,
            excerpt: None,
            at_key: false,
        }
    }

    /// A problem with the key at `path` itself.
    pub fn at_key(path: KeyPath, message: String) -> Self {
        Self {
            at_key: true,
            ..Self::new(path, message)
        }
    }
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
    let mut problems = schema_errors::problems_with(
        schema_errors::profile_validator(),
        schema::profile_schema(),
        &merged.tree,
    );
    // A profile-level rule, stated as such: without it, a deleted component would render
    // a chart without it, which the same override to Helm cannot do.
    problems.extend(merged.deleted_sections.iter().map(|path| {
        Problem::at_key(
            path.clone(),
            "`null` deletes this section of the profile; the sections of a chart come \
             from its profile (the chart's values.schema.json requires it, so Helm rejects \
             this too): use a profile without it"
                .into(),
        )
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
            Err(e) => problems.push(Problem::new(Vec::new(), e.to_string())),
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

/// A dotted key path such as `postgresql.config.maxConnections`, as segments.
pub fn path(dotted: &str) -> KeyPath {
    dotted.split('.').map(str::to_string).collect()
}
