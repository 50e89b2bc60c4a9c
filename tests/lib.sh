# Helpers for the end-to-end tests: sourced, not run. Each test prints "N passed, N failed" last.
set -u
BIN=${GRIDMAP_BIN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/target/release/gridmap}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${GRIDMAP_SHARED:-$(cd "$ROOT/.." && pwd)/shared}
T=$(mktemp -d /tmp/gridmap-e2e.XXXXXX)
PGBASE=${GRIDMAP_TEST_PG:-postgres://postgres@127.0.0.1:5432/test}
PGDBS=()
# Removes the scratch folder and drops the databases of fresh_pg. A test that sets its own EXIT
# trap (to stop its servers) calls it last: trap 'kill $SERVER; lib_cleanup' EXIT.
lib_cleanup() {
  rm -rf "$T"
  for d in "${PGDBS[@]}"; do psql "$PGBASE" -qc "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null 2>&1; done
}
trap lib_cleanup EXIT
ok=0; bad=0
pass() { ok=$((ok+1)); echo "  ok   $*"; }
fail() { bad=$((bad+1)); echo "  FAIL $*"; }
check() { # check "description" command...
  local d=$1; shift
  if "$@" >"$T/last.out" 2>"$T/last.err"; then pass "$d"; else fail "$d"; tail -n 5 "$T/last.err" | sed 's/^/       /'; fi
}
check_fails() { # the command must fail AND say something on stderr
  local d=$1; shift
  if "$@" >"$T/last.out" 2>"$T/last.err"; then fail "$d (succeeded)"; elif [ -s "$T/last.err" ]; then pass "$d: $(head -c 160 "$T/last.err" | tr '\n' ' ')"; else fail "$d (no message)"; fi
}
# A fresh PostGIS database URL.
fresh_pg() {
  local name="gridmap_e2e_$$_${RANDOM}"
  psql "$PGBASE" -qc "CREATE DATABASE $name" >/dev/null || return 1
  PGDBS+=("$name")
  psql "${PGBASE%/*}/$name" -qc "CREATE EXTENSION IF NOT EXISTS postgis" >/dev/null || return 1
  echo "${PGBASE%/*}/$name"
}
# Row counts of every table of a store, as text (a fingerprint of its contents).
fingerprint() { "$BIN" stats --db "$1" --json | tail -n 1; }
json_get() { python3 -c "import json,sys; d=json.loads(sys.stdin.read().strip().splitlines()[-1]); print(eval('d'+sys.argv[1]))" "$1"; }
summary() { echo "$ok passed, $bad failed"; [ "$bad" -eq 0 ]; }
