//! The Helm hook Job that creates the Secrets of generated passwords when they are missing
//! and never changes an existing one, so that rendered manifests carry no random data
//! (docs/gitops.md). In every chart with a component that has `generated_passwords`; each
//! such component says which Secret and keys through the `generated_secrets` slot.

use super::{Component, Selection, no_check, no_resources};

pub const COMPONENT: Component = Component {
    name: "generated-secrets",
    source_dirs: &["generated-secrets"],
    // Its design and the Argo CD and Flux setup; the other guides link to it.
    docs: &[("docs/gitops.md", include_str!("../../docs/gitops.md"))],
    selected_by: Selection::GeneratedPasswords,
    alert_rules: false,
    stateful_service: false,
    generated_passwords: false,
    check: no_check,
    // Its Job runs with the app's resources (`app.resources`), which the app checks.
    resources: no_resources,
};
