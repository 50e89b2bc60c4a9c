#!/usr/bin/env bash
# The lint gate (scripts/test.sh runs it; run it before a commit). Library and binary code is
# checked under every workspace lint of the root Cargo.toml; tests, benches and examples under
# the same lints minus the five that guard input paths — a test may unwrap, expect, panic and
# print, since a failed assumption there is the test failing. This is the one place that says so.
set -u
cd "$(dirname "$0")/.."
cargo clippy --workspace --lib --bins --release -- -D warnings || exit 1
cargo clippy --workspace --tests --benches --examples --release -- -D warnings \
  -A clippy::unwrap_used -A clippy::expect_used -A clippy::panic \
  -A clippy::print_stdout -A clippy::print_stderr
