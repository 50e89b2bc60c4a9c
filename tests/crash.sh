#!/usr/bin/env bash
# End-to-end: `kill -9` in the middle of an import or a partition leaves the database exactly as
# it was, on SQLite and on PostGIS. The big input is Monaco tiled 3×3 (`gridmap synth`, 210,078
# buildings) exported as GeoJSON (~100 MB): reading it takes ~2 s and writing it ~3 s, so kills
# land while parsing, while writing and while committing. Each kill must hit a running process
# (else the test fails: the input is too small for the machine), and afterwards the database must
# open and hold the same counts (and the same grids) as before.
source "$(dirname "$0")/lib.sh"
echo "crash (binary: $BIN)"
M=$ROOT/data/monaco.osm.pbf
H=$ROOT/data/haidian.osm.pbf
PGNAME=""   # database name of the PostGIS run, for the "writing" trigger

# grids_hash DB: every stored grid with its buildings and version, as one hash.
grids_hash() { "$BIN" export --layer grids --db "$1" 2>/dev/null | sha256sum | cut -c1-16; }

# writing DB: true while a write of another process is under way (SQLite: the WAL has grown past
# 1 MB; PostGIS: another session of the database has a transaction id, i.e. has written in its
# open transaction).
writing() {
  case $1 in
    sqlite://*) local f=${1#sqlite://}; [ "$(stat -c %s "$f-wal" 2>/dev/null || echo 0)" -gt 1048576 ] ;;
    *) [ "$(psql "$PGBASE" -tAc "SELECT count(*) FROM pg_stat_activity WHERE datname = '$PGNAME' AND pid <> pg_backend_pid()
           AND backend_xid IS NOT NULL" 2>/dev/null)" -gt 0 ] ;;
  esac
}

# kill_mid_run LABEL DB WHEN COMMAND...: runs COMMAND in the background, waits WHEN seconds (or,
# for WHEN=writing, until the database is being written), checks that it is still running and
# kills it with SIGKILL. Succeeds only if the process was killed mid-run.
kill_mid_run() {
  local label=$1 db=$2 when=$3; shift 3
  "$@" >"$T/killed.out" 2>&1 &
  local pid=$! t0; t0=$(date +%s%N)
  if [ "$when" = writing ]; then
    for _ in $(seq 1 600); do writing "$db" && break; kill -0 $pid 2>/dev/null || break; sleep 0.02; done
  else
    sleep "$when"
  fi
  local ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  if kill -9 $pid 2>/dev/null; then
    wait $pid 2>/dev/null; local rc=$?
    if [ $rc = 137 ]; then pass "$label: killed mid-run (SIGKILL after ${ms} ms)"; return 0; fi
    fail "$label: exited with $rc before the SIGKILL at ${ms} ms"; tail -n 3 "$T/killed.out" | sed 's/^/       /'; return 1
  fi
  wait $pid; fail "$label: finished (exit $?) before the kill at ${ms} ms (too small an input for this machine?)"
  tail -n 3 "$T/killed.out" | sed 's/^/       /'; return 1
}

# counts_of DB: the stats fingerprint without the database's name (comparable across files).
counts_of() { fingerprint "$1" 2>"$T/stats.err" | python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); d.pop("database",None); print(json.dumps(d,sort_keys=True))' 2>/dev/null; }

# unchanged LABEL DB WANT_STATS [WANT_GRIDS [WHOLE_STATS]]: the database opens and holds what it
# held — or, when WHOLE_STATS is given, exactly what the whole command writes: the process
# outlives its commit (it reads the data back and prepares the walking network), so a late kill
# may land after the commit, and all-or-nothing then means all.
unchanged() {
  local label=$1 db=$2 want=$3 grids=${4:-} whole=${5:-} got
  got=$(counts_of "$db")
  if [ -z "$got" ]; then fail "$label: the database does not open: $(head -c 300 "$T/stats.err")"; return; fi
  if [ "$got" = "$want" ]; then pass "$label: same counts as before"
  elif [ -n "$whole" ] && [ "$got" = "$whole" ]; then pass "$label: killed after its commit: the whole file is there"; late=$((late + 1))
  else fail "$label: counts changed"; echo "       before $want"; echo "       after  $got"; [ -z "$whole" ] || echo "       whole  $whole"; fi
  if [ -n "$grids" ]; then
    local h; h=$(grids_hash "$db")
    [ "$h" = "$grids" ] && pass "$label: same grids as before ($h)" || fail "$label: grids changed ($grids → $h)"
  fi
  case $db in
    sqlite://*) local r; r=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("pragma integrity_check").fetchone()[0])' "${db#sqlite://}" 2>&1)
      [ "$r" = ok ] && pass "$label: SQLite integrity_check ok" || fail "$label: integrity_check says $r" ;;
  esac
}

start=$(date +%s)
SYN="sqlite://$T/synth.db"
check "synth: Monaco tiled 3×3 (the big city)" "$BIN" synth "$M" -n 3 --db "$SYN" --quiet
check "export its buildings as the big input" "$BIN" export --layer buildings --db "$SYN" -o "$T/big.geojson"
size=$(stat -c %s "$T/big.geojson" 2>/dev/null || echo 0)
echo "  big input: $((size / 1048576)) MB of GeoJSON"
[ "$size" -gt 50000000 ] || { fail "the big input was not made"; summary; exit 1; }

for backend in sqlite postgres; do
  if [ $backend = sqlite ]; then
    DB="sqlite://$T/crash.db"; BIG=$SYN
  else
    # fresh_pg runs in a subshell here, so its databases are registered for the cleanup again
    DB=$(fresh_pg) || { fail "create a PostGIS database"; continue; }
    PGNAME=${DB##*/}; PGDBS+=("$PGNAME")
    BIG=$(fresh_pg) || { fail "create a PostGIS database"; continue; }
    PGDBS+=("${BIG##*/}")
    check "$backend: synth Monaco 3×3" "$BIN" synth "$M" -n 3 --db "$BIG" --quiet
  fi
  # --- import: a small baseline, then the big file killed at several points
  check "$backend: baseline import of haidian.osm.pbf" "$BIN" import "$H" --db "$DB" --quiet
  base=$(counts_of "$DB")
  # What the whole import leaves (SQLite: on a copy of the baseline file), for the late kills.
  whole=""
  if [ $backend = sqlite ]; then
    cp "$T/crash.db" "$T/whole.db"; for x in -wal -shm; do [ -e "$T/crash.db$x" ] && cp "$T/crash.db$x" "$T/whole.db$x"; done
    check "$backend: the big import to the end, on a copy" "$BIN" import "$T/big.geojson" --db "sqlite://$T/whole.db" --quiet
    whole=$(counts_of "sqlite://$T/whole.db")
  fi
  late=0
  for when in 0.3 1 2 writing; do
    # The early kills land while the file is read: nothing may have changed.
    case $when in 0.3|1) w="" ;; *) w=$whole ;; esac
    kill_mid_run "$backend: import of the big file, kill at $when" "$DB" $when "$BIN" import "$T/big.geojson" --db "$DB" --quiet \
      && unchanged "$backend: after the import killed at $when" "$DB" "$base" "" "$w"
    # A late kill that found the import committed: back to the baseline for the next kill.
    if [ $backend = sqlite ] && [ "$(counts_of "$DB")" != "$base" ]; then
      rm -f "$T/crash.db" "$T/crash.db-wal" "$T/crash.db-shm"
      "$BIN" import "$H" --db "$DB" --quiet >/dev/null 2>&1 || fail "$backend: re-import the baseline"
    fi
  done
  [ $late -eq 0 ] || echo "  ($late of the late kills landed after the commit: this machine imports the big file in under 2 s)"
  # the same file imported to the end does change the database (the kills above were not no-ops)
  if [ $backend = sqlite ]; then
    check "$backend: the big import run to the end" "$BIN" import "$T/big.geojson" --db "$DB" --quiet
    [ "$(counts_of "$DB")" != "$base" ] && pass "$backend: a completed import changes the counts" || fail "$backend: the big import changed nothing"
  fi
  # --- partition: a stored baseline (target 300), then a different one (target 200) killed
  [ $backend = postgres ] && PGNAME=${BIG##*/}
  check "$backend: baseline partition of the big city" "$BIN" partition --db "$BIG" --quiet
  base=$(counts_of "$BIG"); grids=$(grids_hash "$BIG")
  for when in 0.5 2 writing; do
    kill_mid_run "$backend: partition --target 200, kill at $when" "$BIG" $when "$BIN" partition --target 200 --db "$BIG" --quiet \
      && unchanged "$backend: after the partition killed at $when" "$BIG" "$base" "$grids"
  done
done
echo "  took $(( $(date +%s) - start )) s"
summary
