#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs every external tool the tests use
# (Helm, PostgreSQL 16, promtool, postgres_exporter, redis-server, a Kubernetes schema
# validator) into .tools/, then runs the formatting, lint and test gates.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-tools.sh
# shellcheck source=/dev/null
. .tools/env.sh

cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings
# The benchmarks are not run here (docs/performance.md), only kept compiling.
cargo bench --locked --no-run --bench '*'
cargo test --locked --no-fail-fast
