#!/usr/bin/env bash
# The whole test suite: formatting, lints, then every unit and integration test.
# Services the integration tests need (Kafka, ClickHouse) are started here once, for all tests.
set -euo pipefail
cd "$(dirname "$0")/.."

# The build goes where cargo puts it (./target, or $CARGO_TARGET_DIR), the same place as the
# README's `cargo run -- run`: a newcomer builds DataFusion once for both commands. CI points
# CARGO_TARGET_DIR outside the checkout (.ci/run) so fresh clones reuse the dependencies.
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== services (real Kafka-protocol broker and ClickHouse on 127.0.0.1)"
services_env=$(scripts/services.sh start)
while IFS= read -r line; do export "${line?}"; done <<<"$services_env"
trap 'scripts/services.sh stop' EXIT

echo "== tests"
if cargo nextest --version >/dev/null 2>&1; then
  # nextest does not run doctests; run them first so nextest's summary closes the log.
  cargo test --workspace --locked --doc
  cargo nextest run --workspace --locked --no-fail-fast
else
  cargo test --workspace --locked --no-fail-fast
fi
