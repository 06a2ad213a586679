//! `charts-out/` holds the charts of the built-in profiles as they render now: a change to
//! a profile, template or the generator without re-rendering fails here.

use std::process::Command;

use crate::common::profiles;

#[test]
fn committed_charts_match_what_the_built_in_profiles_render() {
    for profile in profiles() {
        let out = Command::new(env!("CARGO_BIN_EXE_alertchart"))
            .args(["render", "--check", "--profile", profile])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "charts-out/{profile} is stale; run `cargo run -- render --profile {profile}` and commit:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
