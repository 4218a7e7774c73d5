#!/usr/bin/env bash
# Every command in the table follows the CLI conventions: --help teaches on
# stdout with exit 0, an unknown option is a usage error (exit 1, message on
# stderr, nothing on stdout), and unknown commands are usage errors too.
. "$(dirname "$0")/lib.sh"

expect_exit 0 "$SOMNA" --help
cmds=$(awk '/^Commands:/{on=1; next} on && /^  [a-z]/{print $1} on && /^$/{exit}' "$TMP/out")
[ "$(printf '%s\n' "$cmds" | grep -c .)" -ge 10 ] || fail "command list from --help: $cmds"

for c in $cmds; do
  expect_exit 0 "$SOMNA" "$c" --help
  [ "$c" = version ] && continue
  grep -q "Usage: somna $c" "$TMP/out" || fail "somna $c --help: no 'Usage: somna $c' on stdout"
  [ -s "$TMP/err" ] && fail "somna $c --help wrote to stderr: $(head -c 200 "$TMP/err")"
  expect_exit 1 "$SOMNA" "$c" --no-such-option
  [ -s "$TMP/out" ] && fail "somna $c --no-such-option wrote to stdout"
  [ -s "$TMP/err" ] || fail "somna $c --no-such-option: no message on stderr"
  # 'somna help CMD' is the same text as 'somna CMD --help'
  "$SOMNA" help "$c" >"$TMP/help2" 2>/dev/null
  "$SOMNA" "$c" --help >"$TMP/help1" 2>/dev/null
  cmp -s "$TMP/help1" "$TMP/help2" || fail "somna help $c differs from somna $c --help"
done

expect_exit 1 "$SOMNA" no-such-command
expect_grep "unknown command 'no-such-command'" "$TMP/err"
expect_exit 1 "$SOMNA"
expect_exit 0 "$SOMNA" --version
expect_grep '^somna [0-9][0-9.]*$' "$TMP/out"
finish
