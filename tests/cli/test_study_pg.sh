#!/usr/bin/env bash
# The study DB suite on a real PostgreSQL server (started and stopped by
# scripts/pg_test.sh); skips (77) when PostgreSQL is not installed.
BIN=${SOMNA_BIN:-build/somna}
SRC=${SOMNA_SOURCE_DIR:-.}
exec bash "$SRC/scripts/pg_test.sh" "$(dirname "$BIN")"
