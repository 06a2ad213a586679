//! SQLite in the single app pod, on the volume the `persistence` section configures.

use super::{Component, DatabaseImpl, Selection, no_check, no_resources};
use crate::profile::Database;

pub const COMPONENT: Component = Component {
    name: "sqlite",
    source_dirs: &["sqlite"],
    docs: &[],
    selected_by: Selection::Database(DatabaseImpl {
        choice: Database::Sqlite,
        section: "persistence",
        configured: |p| p.persistence.is_some(),
    }),
    alert_rules: false,
    stateful_service: false,
    generated_passwords: false,
    check: no_check,
    resources: no_resources,
};
