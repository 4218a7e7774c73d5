#!/usr/bin/env bash
# `somna demo` end to end (simulate 45 naps of a seed-000-shaped study, then
# questionnaires, R peaks + HRV, chin EMG, study database, statistics, HTML
# report, recovery check): wall and CPU time against the 60-s goal of issue 3.
# No peer runs this chain (that is why somna exists); the per-step times the
# demo prints show where the time goes.
#   bench/sim_demo.sh        Environment: SOMNA_BIN (default build/somna)
set -euo pipefail
cd "$(dirname "$0")/.."
somna=${SOMNA_BIN:-build/somna}
[ -x "$somna" ] || { echo "build somna first (cmake --build build)" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/somna-demo-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
/usr/bin/time -f "%e %U %S" -o "$work/t" "$somna" demo -o "$work/out" >"$work/log"
read -r wall user sys <"$work/t"
grep -E '^\[|done in|finished' "$work/log" | paste - - | sed 's/\t */  /'
printf "somna demo   wall %6.1f s   cpu %6.1f s   (goal < 60 s)   load average: %s\n" "$wall" \
  "$(awk -v u="$user" -v s="$sys" 'BEGIN{print u+s}')" "$(cut -d' ' -f1-3 /proc/loadavg)"
