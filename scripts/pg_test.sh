#!/usr/bin/env bash
# Run the study database suite against a real, throw-away PostgreSQL server.
#
#   scripts/pg_test.sh BUILD_DIR      (ctest runs it through tests/cli/test_study_pg.sh)
#
# Starts Debian's postgresql (initdb in a temporary directory, the server
# running as the `postgres` user, listening only on a unix socket in that
# directory), runs the same cmocka suite as for SQLite (tests/study/test_db.c)
# plus the CLI workflow on the CBT-I trial compared with SQLite's numbers,
# then stops the server and removes the directory.  Exit 77 (skip) with a
# message when the PostgreSQL binaries are absent or we are not root.
set -u
BUILD=${1:-build}
BUILD=$(cd "$BUILD" && pwd)
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ]; then
  echo "SKIP: PostgreSQL server binaries not found (apt-get install postgresql)"; exit 77
fi
if [ "$(id -u)" != 0 ] || ! id postgres >/dev/null 2>&1; then
  echo "SKIP: starting a throw-away PostgreSQL needs root and the postgres user"; exit 77
fi
SUITE="$BUILD/tests/study_test_db"
[ -x "$SUITE" ] || { echo "FAIL: $SUITE not built"; exit 1; }

DIR=$(mktemp -d /tmp/somna-pg.XXXXXX)
chmod 755 "$DIR"
chown postgres "$DIR"
PORT=$((20000 + RANDOM % 20000))
as_pg() { runuser -u postgres -- "$@"; }
cleanup() {
  as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -m immediate stop >/dev/null 2>&1
  rm -rf "$DIR"
}
trap cleanup EXIT

as_pg "$PGBIN/initdb" -D "$DIR/data" -A trust -U postgres -E UTF8 >"$DIR/initdb.log" 2>&1 ||
  { echo "FAIL: initdb"; cat "$DIR/initdb.log"; exit 1; }
as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
  -o "-c listen_addresses='' -k $DIR -p $PORT -c fsync=off" start >/dev/null ||
  { echo "FAIL: server did not start"; cat "$DIR/server.log"; exit 1; }
as_pg "$PGBIN/createdb" -h "$DIR" -p "$PORT" somna_test || { echo "FAIL: createdb"; exit 1; }
URL="postgresql:///somna_test?host=$DIR&port=$PORT&user=postgres"
echo "PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on $DIR port $PORT"

status=0
SOMNA_TEST_DB_URL="$URL" "$SUITE" || status=1

# The CLI workflow on PostgreSQL gives the same analysis as on SQLite.
SOMNA=${SOMNA_BIN:-$BUILD/somna}
SRC=${SOMNA_SOURCE_DIR:-$(dirname "$BUILD")}
DATA=${SOMNA_SHARED_DATA:-$SRC/../shared/data}
CSV="$DATA/sleep-diary-intervention-sleeps/dataset.csv"
if [ -f "$CSV" ]; then
  as_pg "$PGBIN/createdb" -h "$DIR" -p "$PORT" somna_cli || status=1
  CURL="postgresql:///somna_cli?host=$DIR&port=$PORT&user=postgres"
  for db in "$CURL" "$DIR/cli.sqlite"; do
    "$SOMNA" study init --db "$db" "$SRC/tests/study/data/cbti-study.txt" >/dev/null &&
    "$SOMNA" study import --db "$db" wide "$CSV" --group-col Sleeps1Edu2 --group-map 1=sleeps,2=edu \
      --visits 2,3,4,5,6,7 >/dev/null &&
    "$SOMNA" study analyze --db "$db" --json >"$DIR/analysis.$([ "$db" = "$CURL" ] && echo pg || echo lite).json" ||
      { echo "FAIL: CLI workflow on $db"; status=1; }
  done
  if ! cmp -s "$DIR/analysis.pg.json" "$DIR/analysis.lite.json"; then
    echo "FAIL: analysis differs between PostgreSQL and SQLite"
    diff "$DIR/analysis.pg.json" "$DIR/analysis.lite.json" | head -20
    status=1
  else
    echo "CLI analysis on PostgreSQL identical to SQLite ($(grep -c '"measure"' "$DIR/analysis.pg.json") rows)"
  fi
else
  echo "note: $CSV absent, CLI comparison skipped"
fi
exit $status
