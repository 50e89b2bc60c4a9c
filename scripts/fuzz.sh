#!/usr/bin/env bash
# scripts/fuzz.sh [SECONDS_PER_TARGET] -- runs every fuzz target of crates/fuzz for a bounded
# time (default 20 s each) and fails on the first crash, printing the crashing input's path.
#
# Stable Rust is enough: cargo-fuzz builds with `--sanitizer none` (no -Z flag is passed, so
# no nightly and no RUSTC_BOOTSTRAP); the targets are still coverage-guided (SanitizerCoverage
# passes are stable codegen options) and built with debug assertions (overflow checks on).
# Address sanitizer would need RUSTC_BOOTSTRAP=1 and adds little to code that forbids unsafe.
#
# Each target starts from its committed seeds (crates/fuzz/corpus/TARGET, read only) plus a
# working corpus kept between runs in $GRIDMAP_FUZZ_WORK (default /tmp/gridmap-fuzz).
# Crashing inputs land in crates/fuzz/artifacts/TARGET/; reproduce one with
#   cargo fuzz run --fuzz-dir crates/fuzz --sanitizer none -O --debug-assertions TARGET PATH
# Env: GRIDMAP_FUZZ_TARGETS="a b" runs only those targets; GRIDMAP_FUZZ_WORK, GRIDMAP_FUZZ_TARGET_DIR.
set -uo pipefail
SECS=${1:-20}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
WORK=${GRIDMAP_FUZZ_WORK:-/tmp/gridmap-fuzz}
FLAGS=(--fuzz-dir crates/fuzz --sanitizer none -O --debug-assertions)
# The instrumented build of the whole dependency tree takes ~10 min on 2 cores the first time;
# GRIDMAP_FUZZ_TARGET_DIR can point at a directory that outlives the checkout (CI clones anew).
[ -n "${GRIDMAP_FUZZ_TARGET_DIR:-}" ] && FLAGS+=(--target-dir "$GRIDMAP_FUZZ_TARGET_DIR")

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz (crates.io)"
  cargo install cargo-fuzz --locked >/dev/null 2>&1 || { echo "cargo install cargo-fuzz failed"; exit 1; }
fi
command -v c++ >/dev/null || { echo "a C++ compiler is needed to build libFuzzer (apt-get install g++)"; exit 1; }

echo "== build ($(cargo fuzz --version))"
cargo fuzz build "${FLAGS[@]}" 2>&1 | tail -n 3
[ "${PIPESTATUS[0]}" -eq 0 ] || { echo "cargo fuzz build failed"; exit 1; }

targets=${GRIDMAP_FUZZ_TARGETS:-$(cargo fuzz list --fuzz-dir crates/fuzz)}
failed=0; passed=0
for t in $targets; do
  mkdir -p "$WORK/$t"
  log="$WORK/$t.log"
  # -timeout: an input taking longer than 10 s is reported as a hang (a crash); -rss_limit_mb
  # bounds memory; new interesting inputs go to the working corpus (the first directory).
  cargo fuzz run "${FLAGS[@]}" "$t" "$WORK/$t" "crates/fuzz/corpus/$t" -- \
    -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1
  rc=$?
  execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -n 1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1)
  corpus=$(find "$WORK/$t" -type f | wc -l)
  if [ $rc -eq 0 ]; then
    passed=$((passed+1))
    printf '  ok   %-16s %10s executions in %ss, %s, working corpus %s inputs\n' "$t" "${execs:-?}" "$SECS" "${cov:-cov: ?}" "$corpus"
  else
    failed=$((failed+1))
    printf '  FAIL %-16s after %s executions (exit %s); log %s\n' "$t" "${execs:-?}" "$rc" "$log"
    grep -E "panicked at|^(thread|  left|  right|assertion)|ERROR: libFuzzer|SUMMARY" "$log" | head -n 8 | sed 's/^/       /'
    path=$(grep -oE '(Test unit|artifact) written to [^ ]+' "$log" | head -n 1 | awk '{print $NF}')
    for p in "$path" "$ROOT/$path" "$ROOT/crates/fuzz/$path"; do
      [ -n "$path" ] && [ -f "$p" ] && { echo "       crashing input: $(realpath "$p")"; break; }
    done
  fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
