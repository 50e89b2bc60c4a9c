#!/usr/bin/env bash
# End-to-end: `gridmap user …` on SQLite and PostGIS: add (generated, stdin and given passwords),
# refusals (bad role, empty password, unknown grid, duplicate), list (table and --json),
# set-role with scope, API tokens (printed once, only the SHA-256 stored), remove, audit log,
# and that accounts leave the dataset alone.
source "$(dirname "$0")/lib.sh"
echo "users (binary: $BIN)"
M=$ROOT/data/monaco.osm.pbf
users_json() { "$BIN" user list --json --db "$1" | tail -n 1; }
for backend in sqlite postgres; do
  if [ $backend = sqlite ]; then DB="sqlite://$T/users.db"; else DB=$(fresh_pg) || { fail "create a PostGIS database"; continue; }; fi
  check "$backend: import monaco.osm.pbf" "$BIN" import "$M" --db "$DB" --quiet
  check "$backend: partition" "$BIN" partition --db "$DB" --quiet
  grid=$("$BIN" export --layer grids --db "$DB" | python3 -c 'import json,sys; print(sorted(f["properties"]["id"] for f in json.load(sys.stdin)["features"])[0])')
  before=$(fingerprint "$DB")
  check "$backend: add an admin with a generated password" "$BIN" user add alice --role admin --db "$DB"
  pw=$(sed -n 's/^password: //p' "$T/last.out")
  [ ${#pw} -ge 16 ] && pass "$backend: a generated password of ${#pw} characters is printed" || fail "$backend: no generated password in '$(cat "$T/last.out")'"
  check "$backend: add a planner with --password-stdin" sh -c "echo 's3cret pass' | '$BIN' user add bob --role planner --password-stdin --db '$DB'"
  grep -q "^password:" "$T/last.out" && fail "$backend: a given password was echoed" || pass "$backend: a given password is not printed"
  check "$backend: add a grid lead of grid $grid" "$BIN" user add carol --role grid_lead --grids "$grid" --password pw-carol --db "$DB"
  check_fails "$backend: an unknown role is refused" "$BIN" user add dave --role boss --db "$DB"
  grep -q "grid_lead" "$T/last.err" && pass "$backend: the error lists the roles" || fail "$backend: the error does not list the roles"
  check_fails "$backend: an empty password is refused" "$BIN" user add dave --role planner --password "" --db "$DB"
  check_fails "$backend: an empty password on stdin is refused" sh -c "echo | '$BIN' user add dave --role planner --password-stdin --db '$DB'"
  check_fails "$backend: an unknown grid in the scope is refused" "$BIN" user add dave --role grid_lead --grids no-such-grid --db "$DB"
  check_fails "$backend: adding an existing user is refused" "$BIN" user add alice --role planner --db "$DB"
  check_fails "$backend: a bad login name is refused" "$BIN" user add "bad name" --role planner --db "$DB"
  [ "$(users_json "$DB" | python3 -c 'import json,sys; print(",".join(u["id"]+":"+u["role"] for u in json.load(sys.stdin)))')" = "alice:admin,bob:planner,carol:grid_lead" ] \
    && pass "$backend: list --json holds alice, bob, carol with their roles" || fail "$backend: list --json: $(users_json "$DB")"
  users_json "$DB" | grep -q argon2 && fail "$backend: list shows password hashes" || pass "$backend: list shows no password hash"
  check "$backend: list as a table" "$BIN" user list --db "$DB"
  grep -q "carol .*grid_lead .*grids $grid" "$T/last.out" && pass "$backend: the table shows carol's grid" || fail "$backend: table: $(cat "$T/last.out")"
  check "$backend: set-role bob grid_lead --grids $grid" "$BIN" user set-role bob grid_lead --grids "$grid" --db "$DB"
  [ "$(users_json "$DB" | python3 -c 'import json,sys; u=[u for u in json.load(sys.stdin) if u["id"]=="bob"][0]; print(u["role"], u["grids"])')" = "grid_lead ['$grid']" ] \
    && pass "$backend: bob is a grid_lead of $grid" || fail "$backend: bob after set-role: $(users_json "$DB")"
  check_fails "$backend: set-role of an unknown user fails" "$BIN" user set-role nobody admin --db "$DB"
  check_fails "$backend: set-role to an unknown role fails" "$BIN" user set-role bob king --db "$DB"
  check "$backend: an API token for alice" "$BIN" user token alice --name ci --db "$DB"
  tok=$(tail -n 1 "$T/last.out")
  [[ $tok =~ ^gm_[0-9a-f]{64}$ ]] && pass "$backend: the token is printed once (gm_ + 64 hex)" || fail "$backend: token output '$tok'"
  check "$backend: a second token with --json" "$BIN" user token alice --db "$DB" --json
  tok2=$(json_get "['token']" < "$T/last.out" 2>/dev/null)
  [ -n "$tok2" ] && [ "$tok2" != "$tok" ] && pass "$backend: tokens differ" || fail "$backend: second token '$tok2'"
  check_fails "$backend: a token for an unknown user fails" "$BIN" user token nobody --db "$DB"
  sha=$(printf %s "$tok" | sha256sum | cut -d' ' -f1)
  if [ $backend = sqlite ]; then q() { python3 -c "import sqlite3,sys; print('\n'.join('|'.join(map(str,r)) for r in sqlite3.connect(sys.argv[1]).execute(sys.argv[2])))" "$T/users.db" "$1"; }
  else q() { psql "$DB" -AtXc "$1"; }; fi
  [ "$(q "SELECT kind || ' ' || coalesce(name, '-') FROM tokens WHERE token_hash = '$sha'")" = "api ci" ] \
    && pass "$backend: the SHA-256 of the token is stored, kind api, name ci" || fail "$backend: token row: $(q "SELECT token_hash, kind, name FROM tokens")"
  [ "$(q "SELECT count(*) FROM tokens WHERE token_hash LIKE '%${tok#gm_}%'")" = 0 ] && pass "$backend: the raw token is not stored" || fail "$backend: raw token stored"
  q "SELECT password_hash FROM users WHERE id = 'bob'" | grep -q '^\$argon2id\$' && pass "$backend: passwords are argon2id PHC strings" || fail "$backend: bob's hash: $(q "SELECT password_hash FROM users WHERE id = 'bob'")"
  check "$backend: remove bob" "$BIN" user remove bob --db "$DB"
  check_fails "$backend: removing bob again fails" "$BIN" user remove bob --db "$DB"
  [ "$(users_json "$DB" | python3 -c 'import json,sys; print(",".join(u["id"] for u in json.load(sys.stdin)))')" = "alice,carol" ] && pass "$backend: bob is gone" || fail "$backend: users: $(users_json "$DB")"
  check "$backend: remove alice (with her tokens)" "$BIN" user remove alice --db "$DB"
  [ "$(q "SELECT count(*) FROM tokens")" = 0 ] && pass "$backend: alice's tokens went with her" || fail "$backend: tokens left: $(q "SELECT count(*) FROM tokens")"
  [ "$(q "SELECT string_agg(action || ' ' || target || ' ' || user_id, ',') FROM (SELECT * FROM audit ORDER BY id) a" 2>/dev/null || q "SELECT group_concat(action || ' ' || target || ' ' || user_id, ',') FROM (SELECT * FROM audit ORDER BY id)")" \
    = "user.add user:alice cli,user.add user:bob cli,user.add user:carol cli,user.set_role user:bob cli,user.token user:alice cli,user.token user:alice cli,user.remove user:bob cli,user.remove user:alice cli" ] \
    && pass "$backend: every change is in the audit log by cli, and refusals are not" || fail "$backend: audit: $(q "SELECT id, action, target, user_id FROM audit ORDER BY id")"
  [ "$(q "SELECT count(*) FROM audit WHERE at LIKE '20__-__-__T__:__:__Z'")" = 8 ] && pass "$backend: audit times are RFC 3339 UTC" || fail "$backend: audit times: $(q "SELECT at FROM audit")"
  [ "$(fingerprint "$DB")" = "$before" ] && pass "$backend: the dataset counts are unchanged by user commands" || fail "$backend: dataset changed"
done
echo "demo"
check "demo --no-serve creates the demo users" "$BIN" demo --no-serve --quiet --db "sqlite://$T/demo.db"
for r in admin planner department grid_lead; do
  grep -q "$r *\/ *$r-demo" "$T/last.err" && pass "demo prints the login $r / $r-demo" || fail "demo does not print $r / $r-demo"
done
[ "$(users_json "sqlite://$T/demo.db" | python3 -c 'import json,sys; print(" ".join(u["id"]+":"+u["role"]+":"+str(len(u["grids"])) for u in json.load(sys.stdin)))')" = "admin:admin:0 department:department:0 grid_lead:grid_lead:1 planner:planner:0" ] \
  && pass "demo: one user per role, the grid lead scoped to one grid" || fail "demo users: $(users_json "sqlite://$T/demo.db")"
if PDB=$(fresh_pg); then
  check "demo into PostGIS" "$BIN" demo --no-serve --quiet --db "$PDB"
  check "demo into the same PostGIS database again resets the demo users" "$BIN" demo --no-serve --quiet --db "$PDB"
  [ "$(users_json "$PDB" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 4 ] && pass "demo on PostGIS: still 4 users" || fail "demo on PostGIS users: $(users_json "$PDB")"
else fail "create a PostGIS database for the demo"; fi
summary
