//! From input to chart, stage by stage: load, validate, derive, render, self-check.

use anyhow::{Result, anyhow};

use crate::chart::Chart;
use crate::component::postgresql::tuning;
use crate::input::{self, Overrides, ProfileSource};
use crate::profile::Profile;
use crate::render::{self, Bug};
use crate::validate;

/// The profile `source` with `overrides`, validated, and its chart.
pub fn chart(source: &ProfileSource, overrides: &Overrides) -> Result<(Profile, Chart)> {
    let profile = profile(source, overrides)?;
    let chart = render(&profile)?;
    Ok((profile, chart))
}

/// Loads the profile and its overrides (as Helm merges values) and validates the result.
pub fn profile(source: &ProfileSource, overrides: &Overrides) -> Result<Profile> {
    let merged = input::load_overrides(source, overrides)?;
    Ok(validate::profile(&merged)?)
}

/// The chart of a valid profile: settings the profile leaves to alertchart are derived, every
/// file is rendered, and the result is checked before anyone can write it.
pub fn render(profile: &Profile) -> Result<Chart> {
    let (profile, derived) = tuning::tuned(profile);
    let rendered = render::files(&profile, &derived)?;
    let profile_section =
        serde_json::to_value(&profile.profile).map_err(|e| Bug(format!("profile section: {e}")))?;
    let bugs = validate::rendered(
        &rendered.files,
        &rendered.values,
        &rendered.chart_schema,
        &profile_section,
    );
    if !bugs.is_empty() {
        return Err(anyhow!(Bug(bugs.join("; "))));
    }
    Ok(Chart::from(rendered.files))
}
