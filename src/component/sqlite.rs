//! SQLite in the single app pod, on the volume the `persistence` section configures.

use super::{Component, DatabaseImpl, chosen_by_database, no_check, no_resources, no_scheduling};
use crate::profile::Database;

pub const COMPONENT: Component = Component {
    source_dirs: &["sqlite"],
    docs: &[],
    database: Some(DatabaseImpl {
        choice: Database::Sqlite,
        section: "persistence",
        configured: |p| p.persistence.is_some(),
        postgresql: false,
    }),
    alert_rules: false,
    stateful_service: false,
    present: chosen_by_database,
    check: no_check,
    resources: no_resources,
    scheduling: no_scheduling,
};
