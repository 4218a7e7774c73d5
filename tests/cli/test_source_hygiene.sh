#!/usr/bin/env bash
# House rules that a compiler does not enforce (cf. libcurl's banned list):
# - no unbounded string functions or locale-dependent number parsing anywhere;
# - the library (src/) never prints to the terminal and never exits.
# A line may opt out with the marker "somna-lint: allow" and a reason.
. "$(dirname "$0")/lib.sh"
src=${SOMNA_SOURCE_DIR:-.}
cd "$src" || exit 1

banned='\b(sprintf|vsprintf|strcpy|strcat|strtok|gets|atoi|atol|atof|tmpnam|mktemp)[[:space:]]*\('
hits=$(grep -rnE "$banned" src cli include 2>/dev/null | grep -v 'somna-lint: allow' || true)
[ -z "$hits" ] || fail "banned functions used:
$hits"

printing='(^|[^a-z_])(printf|puts|putchar|perror|exit|abort)[[:space:]]*\(|\bstd(out|err)\b'
# comment lines (" * ...", "/* ...", "// ...") may talk about stdout
hits=$(grep -rnE "$printing" src 2>/dev/null | grep -v 'somna-lint: allow' \
       | grep -vE '^[^:]+:[0-9]+:[[:space:]]*(\*|/\*|//)' || true)
[ -z "$hits" ] || fail "the library must not print or exit (return an error instead):
$hits"

finish
