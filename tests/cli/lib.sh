# Shared helpers for CLI shell tests: source it, then call the functions.
set -u
SOMNA=${SOMNA_BIN:-build/somna}
DATA=${SOMNA_SHARED_DATA:-../shared/data}
TMP=$(mktemp -d "${SOMNA_TEST_TMPDIR:-/tmp}/cli.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
failures=0

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
need_data() { [ -e "$DATA/$1" ] || { echo "SKIP: $DATA/$1 not available (../shared/data absent)"; exit 77; }; }

# expect_exit CODE CMD...: run CMD, check its exit status, keep stdout/stderr in $TMP/out, $TMP/err
expect_exit() {
  local want=$1; shift
  "$@" >"$TMP/out" 2>"$TMP/err"
  local got=$?
  [ "$got" = "$want" ] || fail "'$*' exited $got, expected $want; stderr: $(head -c 400 "$TMP/err")"
}
# expect_grep PATTERN FILE
expect_grep() { grep -q -- "$1" "$2" || fail "'$1' not found in $2: $(head -c 400 "$2")"; }
finish() { [ "$failures" = 0 ] && { echo "ok"; exit 0; }; echo "$failures failure(s)"; exit 1; }
# tiny_study DIR NAME: a two-arm crossover description (DIR/study.txt, outcome
# SOL) and a two-person screening file (DIR/screen.csv), for tests that need
# a study database rather than its analysis
tiny_study() {
  printf '%s\n' "name = $2" 'design = crossover' 'seed = 1' 'condition = control | No massage | control | 0' \
    'condition = relax | Relaxation massage | swedish | 30 | light | whole body' 'outcomes = SOL' >"$1/study.txt"
  printf 'participant,age,sex,psqi,contraindications\nP1,30,F,8,\nP2,41,M,7,\n' >"$1/screen.csv"
}
