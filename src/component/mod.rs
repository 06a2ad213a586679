//! The components a chart is made of: one module each, and one registry (`ALL`).
//!
//! A component owns its section of the profile (its Rust types, hence its schema), its
//! semantic rules, the containers whose resources are checked, the documents it ships and
//! its chart sources: every file under `chart-sources/<dir>/` for each of its `source_dirs`,
//! included exactly when the profile has the component. Rendering and validation loop over
//! the components of a profile; adding one is a module with its `Component` descriptor, a
//! line in `ALL`, and its source directory (docs/architecture.md walks through it).
//!
//! The files every chart has (`chart-sources/app/`: Chart.yaml, README, NOTES, the Deployment,
//! the retention job) do not branch on components: they have named slots, which each component
//! fills from its `slots/` directory (render.rs describes the contract), and branch only on
//! `Facts`. The database implementations fill the same slots, so a new one is complete when
//! its directories fill every slot the others fill (a test checks it).

pub mod app;
pub mod autoscaling;
pub mod cloudnative_pg;
pub mod generated_secrets;
pub mod postgresql;
pub mod sqlite;
pub mod valkey;

use serde::Serialize;

use crate::profile::{Database, Profile, Resources};
use crate::validate::Found;

/// What the pipeline needs to know about a component.
#[derive(Debug)]
pub struct Component {
    /// Its name, unique in the registry.
    pub name: &'static str,
    /// Directories under `chart-sources/` whose files the chart gets with the component.
    pub source_dirs: &'static [&'static str],
    /// Documents of `docs/` the chart ships with it (path in the chart, text).
    pub docs: &'static [Doc],
    /// What puts it in a profile's chart.
    pub selected_by: Selection,
    /// Whether it brings alert rules (and so `metrics.prometheusRule` and the runbooks).
    pub alert_rules: bool,
    /// Whether it runs a stateful service with an exporter and a NetworkPolicy (`metrics`,
    /// `networkPolicy`).
    pub stateful_service: bool,
    /// Whether it needs a Secret of generated passwords unless `<section>.auth.existingSecret`
    /// names one: it says which in its `generated_secrets` slot, and the chart's hook Job
    /// (`generated_secrets`) creates it when missing.
    pub generated_passwords: bool,
    /// Its semantic rules, run for a profile that has it.
    pub check: fn(&Profile, &mut Found),
    /// The resources of each container it runs, by values path.
    pub resources: fn(&Profile) -> Vec<(&'static str, &Resources)>,
}

/// What puts a component in a profile's chart.
#[derive(Debug, Clone, Copy)]
pub enum Selection {
    /// Every chart has it.
    Always,
    /// The profile has its section (the function says whether).
    Section(fn(&Profile) -> bool),
    /// It is a database implementation, chosen by `profile.database`.
    Database(DatabaseImpl),
    /// Another component of the chart keeps generated passwords (`generated_passwords`).
    GeneratedPasswords,
}

/// A database implementation a profile can choose.
#[derive(Debug, Clone, Copy)]
pub struct DatabaseImpl {
    /// The `profile.database` value that selects it.
    pub choice: Database,
    /// The section of the profile that configures it.
    pub section: &'static str,
    /// Whether the profile has that section.
    pub configured: fn(&Profile) -> bool,
}

/// Every component, in the order their contributions appear in shared files.
pub const ALL: &[&Component] = &[
    &app::COMPONENT,
    &autoscaling::COMPONENT,
    &sqlite::COMPONENT,
    &postgresql::STATEFULSET,
    &cloudnative_pg::COMPONENT,
    &valkey::COMPONENT,
    &generated_secrets::COMPONENT,
];

/// A document of `docs/` that a chart ships, so that an installed chart carries its guide.
pub type Doc = (&'static str, &'static str);

impl Component {
    /// Whether `profile`'s chart has this component.
    pub fn is_in(&self, profile: &Profile) -> bool {
        match self.selected_by {
            Selection::Always => true,
            Selection::Section(present) => present(profile),
            Selection::Database(database) => database.choice == profile.profile.database,
            Selection::GeneratedPasswords => ALL
                .iter()
                .any(|c| c.generated_passwords && c.is_in(profile)),
        }
    }

    /// The database implementation it is, if it is one.
    pub fn database(&self) -> Option<DatabaseImpl> {
        match self.selected_by {
            Selection::Database(database) => Some(database),
            Selection::Always | Selection::Section(_) | Selection::GeneratedPasswords => None,
        }
    }
}

/// The components of `profile`'s chart, in `ALL` order.
pub fn of(profile: &Profile) -> Vec<&'static Component> {
    ALL.iter().copied().filter(|c| c.is_in(profile)).collect()
}

/// The database implementations, in `ALL` order.
pub fn databases() -> impl Iterator<Item = DatabaseImpl> {
    ALL.iter().filter_map(|c| c.database())
}

/// No rules of its own.
fn no_check(_: &Profile, _: &mut Found) {}

/// No containers of its own.
fn no_resources(_: &Profile) -> Vec<(&'static str, &Resources)> {
    Vec::new()
}

/// What the shared templates may branch on, computed once from the components: what the
/// chart has, by meaning, never which component brings it (a component puts its own text
/// into the slots of the shared templates instead), and never values (those stay Helm values).
#[allow(clippy::struct_excessive_bools)] // independent facts, one per part of the chart
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Facts {
    /// The app's replicas follow a HorizontalPodAutoscaler.
    pub autoscaling: bool,
    /// Some component has alert rules.
    pub alert_rules: bool,
    /// Some component needs a Secret of passwords that the chart's hook Job creates when
    /// missing, unless told to use an existing one.
    pub generated_passwords: bool,
    /// Some component runs a stateful service: exporters (the `metrics` section's
    /// ServiceMonitors and dashboards) and NetworkPolicies (`networkPolicy`).
    pub stateful_services: bool,
}

impl Facts {
    pub fn of(components: &[&Component]) -> Self {
        let any = |has: fn(&Component) -> bool| components.iter().any(|c| has(c));
        Self {
            autoscaling: components
                .iter()
                .any(|c| c.name == autoscaling::COMPONENT.name),
            alert_rules: any(|c| c.alert_rules),
            generated_passwords: any(|c| c.generated_passwords),
            stateful_services: any(|c| c.stateful_service),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_chart_source_directory_belongs_to_a_component() {
        for (dir, path, _) in crate::render::SOURCES {
            assert!(
                ALL.iter().any(|c| c.source_dirs.contains(dir)),
                "chart-sources/{dir}/{path}: no component in component::ALL has the directory {dir}"
            );
        }
    }

    #[test]
    fn component_names_are_unique() {
        let mut names: Vec<_> = ALL.iter().map(|c| c.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ALL.len(), "{names:?}");
    }

    #[test]
    fn each_database_choice_selects_exactly_one_component() {
        for choice in [Database::Statefulset, Database::Sqlite] {
            let selecting = databases().filter(|d| d.choice == choice).count();
            assert_eq!(selecting, 1, "{choice:?}");
        }
    }
}
