//! The components a chart is made of: one module each, and one registry (`ALL`).
//!
//! A component owns its section of the profile (its Rust types, hence its schema), its
//! semantic rules, the containers whose resources are checked, the documents it ships and
//! its chart sources: every file under `chart-sources/<dir>/` for each of its `source_dirs`,
//! included exactly when the profile has the component. Rendering and validation loop over
//! the components of a profile; adding one is a module with its `Component` descriptor, a
//! line in `ALL`, and its source directory (docs/architecture.md walks through it).

pub mod app;
pub mod autoscaling;
pub mod postgresql;
pub mod sqlite;
pub mod valkey;

use serde::Serialize;

use crate::profile::{Database, Profile, Resources, Scheduling};
use crate::validate::Found;

/// What the pipeline needs to know about a component.
#[derive(Debug)]
pub struct Component {
    /// Directories under `chart-sources/` whose files the chart gets with the component.
    pub source_dirs: &'static [&'static str],
    /// Documents of `docs/` the chart ships with it (path in the chart, text).
    pub docs: &'static [Doc],
    /// For a database implementation: the `profile.database` value that selects it, the
    /// section of the profile that configures it, and whether the app speaks PostgreSQL to it.
    pub database: Option<DatabaseImpl>,
    /// Whether it brings alert rules (and so `metrics.prometheusRule` and the runbooks).
    pub alert_rules: bool,
    /// Whether it runs a stateful service with an exporter and a NetworkPolicy (`metrics`,
    /// `networkPolicy`).
    pub stateful_service: bool,
    /// Whether a profile without `profile.database` choice has it (the database components
    /// are chosen by `profile.database` instead).
    pub present: fn(&Profile) -> bool,
    /// Its semantic rules, run for a profile that has it.
    pub check: fn(&Profile, &mut Found),
    /// The resources of each container it runs, by values path.
    pub resources: fn(&Profile) -> Vec<(&'static str, &Resources)>,
    /// The scheduling settings of each workload it runs, by values path of their section.
    pub scheduling: fn(&Profile) -> Vec<(&'static str, &Scheduling)>,
}

/// A database implementation a profile can choose.
#[derive(Debug, Clone, Copy)]
pub struct DatabaseImpl {
    pub choice: Database,
    /// The section of the profile that configures it.
    pub section: &'static str,
    /// Whether the profile has that section.
    pub configured: fn(&Profile) -> bool,
    /// The app talks PostgreSQL to it (migration init container, connection budget).
    pub postgresql: bool,
}

/// Every component, in the order their contributions appear in shared files.
pub const ALL: &[&Component] = &[
    &app::COMPONENT,
    &autoscaling::COMPONENT,
    &sqlite::COMPONENT,
    &postgresql::STATEFULSET,
    &valkey::COMPONENT,
];

/// A document of `docs/` that a chart ships, so that an installed chart carries its guide.
pub type Doc = (&'static str, &'static str);

impl Component {
    /// Whether `profile`'s chart has this component.
    pub fn is_in(&self, profile: &Profile) -> bool {
        match self.database {
            Some(database) => database.choice == profile.profile.database,
            None => (self.present)(profile),
        }
    }
}

/// The components of `profile`'s chart, in `ALL` order.
pub fn of(profile: &Profile) -> Vec<&'static Component> {
    ALL.iter().copied().filter(|c| c.is_in(profile)).collect()
}

/// The database implementations, in `ALL` order.
pub fn databases() -> impl Iterator<Item = DatabaseImpl> {
    ALL.iter().filter_map(|c| c.database)
}

/// No rules of its own.
fn no_check(_: &Profile, _: &mut Found) {}

/// No containers of its own.
fn no_resources(_: &Profile) -> Vec<(&'static str, &Resources)> {
    Vec::new()
}

/// No workloads of its own.
fn no_scheduling(_: &Profile) -> Vec<(&'static str, &Scheduling)> {
    Vec::new()
}

/// Chosen by `profile.database`, not by a section.
fn chosen_by_database(_: &Profile) -> bool {
    false
}

/// What the templates may branch on, computed once from the components: which parts the
/// chart has, never values (those stay Helm values).
#[allow(clippy::struct_excessive_bools)] // independent facts, one per part of the chart
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Facts {
    /// The database is PostgreSQL (whatever runs it).
    pub postgresql: bool,
    /// The database is SQLite in the app pod.
    pub sqlite: bool,
    pub valkey: bool,
    pub autoscaling: bool,
    /// Some component has alert rules.
    pub alert_rules: bool,
}

impl Facts {
    pub fn of(components: &[&Component]) -> Self {
        let has = |c: &Component| components.iter().any(|x| std::ptr::eq(*x, c));
        Self {
            postgresql: components
                .iter()
                .any(|c| c.database.is_some_and(|d| d.postgresql)),
            sqlite: has(&sqlite::COMPONENT),
            valkey: has(&valkey::COMPONENT),
            autoscaling: has(&autoscaling::COMPONENT),
            alert_rules: components.iter().any(|c| c.alert_rules),
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
    fn each_database_choice_selects_exactly_one_component() {
        for choice in [Database::Statefulset, Database::Sqlite] {
            let selecting = databases().filter(|d| d.choice == choice).count();
            assert_eq!(selecting, 1, "{choice:?}");
        }
    }
}
