//! The components a chart is made of, one module each behind one enum.
//!
//! A component owns its section of the profile (its Rust types, hence its schema), its
//! semantic rules, the containers whose resources are checked, the documents it ships and
//! its chart sources: every file under `chart-sources/<dir>/` for each of its `source_dirs`,
//! included exactly when the profile has the component. Rendering and validation loop over
//! `ALL`; adding a component is a module here, a variant, and its source directory.
//!
//! The files every chart has (`chart-sources/app/`: Chart.yaml, README, NOTES, the Deployment,
//! the retention job) do not branch on components: they have named slots, which each component
//! fills from its `slots/` directory (render.rs describes the contract), and branch only on
//! `Facts`. The database implementations fill the same slots, so a new one is complete when
//! its directories fill every slot the others fill (a test checks it).

pub mod app;
pub mod autoscaling;
pub mod postgresql;
pub mod valkey;

use serde::Serialize;

use crate::profile::{Database, Profile, Resources};
use crate::validate::Found;

/// A part of the chart that a profile has or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    /// The alert-history Deployment and what every chart has (Chart.yaml, README, NOTES).
    App,
    /// HorizontalPodAutoscaler and PodDisruptionBudget of the app.
    Autoscaling,
    /// SQLite on a volume of the single app pod (`profile.database: sqlite`).
    Sqlite,
    /// PostgreSQL as a StatefulSet of the chart (`profile.database: statefulset`).
    PostgresqlStatefulset,
    /// The Valkey cache.
    Valkey,
}

/// Every component, in the order their contributions appear in shared files.
pub const ALL: [Component; 5] = [
    Component::App,
    Component::Autoscaling,
    Component::Sqlite,
    Component::PostgresqlStatefulset,
    Component::Valkey,
];

/// A document of `docs/` that a chart ships, so that an installed chart carries its guide.
pub type Doc = (&'static str, &'static str);

impl Component {
    /// Whether `profile`'s chart has this component.
    pub fn is_in(self, profile: &Profile) -> bool {
        match self {
            Self::App => true,
            Self::Autoscaling => profile.autoscaling.is_some(),
            Self::Sqlite => profile.profile.database == Database::Sqlite,
            Self::PostgresqlStatefulset => profile.profile.database == Database::Statefulset,
            Self::Valkey => profile.valkey.is_some(),
        }
    }

    /// Directories under `chart-sources/` whose files the chart gets with this component.
    pub fn source_dirs(self) -> &'static [&'static str] {
        match self {
            Self::App => &["app"],
            Self::Autoscaling => &["autoscaling"],
            Self::Sqlite => &["sqlite"],
            // `postgresql` holds what the app needs from any PostgreSQL (its migration).
            Self::PostgresqlStatefulset => &["postgresql", "postgresql-statefulset"],
            Self::Valkey => &["valkey"],
        }
    }

    /// Documents of `docs/` the chart ships with this component.
    pub fn docs(self) -> &'static [Doc] {
        match self {
            Self::App | Self::Autoscaling | Self::Sqlite => &[],
            Self::PostgresqlStatefulset => postgresql::DOCS,
            Self::Valkey => valkey::DOCS,
        }
    }

    /// Whether the component brings alert rules (and so the runbooks and `metrics.prometheusRule`).
    pub fn has_alert_rules(self) -> bool {
        matches!(self, Self::PostgresqlStatefulset | Self::Valkey)
    }

    /// Whether the component keeps passwords in a Secret it generates (`<section>.auth`).
    pub fn has_generated_passwords(self) -> bool {
        matches!(self, Self::PostgresqlStatefulset | Self::Valkey)
    }

    /// Whether the component is an implementation of the app's database: each fills the
    /// same slots of the shared templates, so that one can stand in for another.
    pub fn is_database(self) -> bool {
        matches!(self, Self::Sqlite | Self::PostgresqlStatefulset)
    }

    /// Whether the component has exporters, dashboards or NetworkPolicies (`metrics`,
    /// `networkPolicy`): the stateful components.
    pub fn is_stateful_service(self) -> bool {
        matches!(self, Self::PostgresqlStatefulset | Self::Valkey)
    }

    /// The component's semantic rules, for a profile that has it.
    pub fn check(self, profile: &Profile, found: &mut Found) {
        match self {
            Self::App => app::check(profile, found),
            Self::Autoscaling => autoscaling::check(profile, found),
            Self::PostgresqlStatefulset => postgresql::check(profile, found),
            Self::Sqlite | Self::Valkey => {}
        }
    }

    /// The resources of each container the component runs, by values path.
    pub fn resources(self, profile: &Profile) -> Vec<(&'static str, &Resources)> {
        match self {
            Self::App => vec![("app.resources", &profile.app.resources)],
            Self::Autoscaling | Self::Sqlite => Vec::new(),
            Self::PostgresqlStatefulset => profile
                .postgresql
                .as_ref()
                .map(postgresql::resources)
                .unwrap_or_default(),
            Self::Valkey => profile
                .valkey
                .as_ref()
                .map(valkey::resources)
                .unwrap_or_default(),
        }
    }
}

/// The components of `profile`'s chart, in `ALL` order.
pub fn of(profile: &Profile) -> Vec<Component> {
    ALL.into_iter().filter(|c| c.is_in(profile)).collect()
}

/// The section of the profile a database implementation is configured by.
pub fn database_section(database: Database) -> &'static str {
    match database {
        Database::Statefulset => "postgresql",
        Database::Sqlite => "persistence",
    }
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
    /// Some component keeps passwords in a Secret the chart generates unless told to use an
    /// existing one.
    pub generated_passwords: bool,
    /// Some component has NetworkPolicies (`networkPolicy`).
    pub network_policies: bool,
}

impl Facts {
    pub fn of(components: &[Component]) -> Self {
        Self {
            autoscaling: components.contains(&Component::Autoscaling),
            alert_rules: components.iter().any(|c| c.has_alert_rules()),
            generated_passwords: components.iter().any(|c| c.has_generated_passwords()),
            network_policies: components.iter().any(|c| c.is_stateful_service()),
        }
    }
}
