#!/usr/bin/env bash
# WFDB decoding speed, somna vs the WFDB software, in one run.
#   bench/wfdb_read.sh [RUNS]        (default 3; best of RUNS for each reader)
# For each ../shared/data/mitdb record 100-124 (format 212, 2 x 650000
# samples), from a warm page cache:
#   - whole processes, best of RUNS: somna (bench/wfdb_read.c: open, decode
#     every sample to physical units, close) against the reference tool
#     `rdsamp -r REC -p > /dev/null` (which also formats text);
#   - in one process, best of 5 x RUNS repetitions: somna's open + decode
#     against the WFDB library's isigopen + getvec + aduphys
#     (bench/wfdb_read_peer.c), i.e. decoder against decoder.
# Prints per-record milliseconds, the ratios and the totals.  The two
# decoders' checksums (sum of all physical values) must agree.
# Environment: SOMNA_WFDB_BIN (default /work/peers/wfdb-install/bin),
#              SOMNA_SHARED_DATA (default ../shared/data).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
bin=${SOMNA_WFDB_BIN:-/work/peers/wfdb-install/bin}
lib=$(cd "$bin/../lib" 2>/dev/null && pwd || true)
data=$(cd "${SOMNA_SHARED_DATA:-../shared/data}/mitdb" && pwd)
[ -x "$bin/rdsamp" ] || { echo "wfdb_read.sh: WFDB software not found at $bin (set SOMNA_WFDB_BIN)" >&2; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/somna-wfdb-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Same optimisation as the library's default build (RelWithDebInfo: -O2).
cc -std=c11 -O2 -D_GNU_SOURCE -Iinclude bench/wfdb_read.c src/io/wfdb.c src/core/*.c -lm -o "$work/somna_read"
cc -std=gnu11 -O2 -I"$bin/../include" bench/wfdb_read_peer.c -L"$lib" -lwfdb -lm -o "$work/wfdb_read_peer" \
  -Wl,-rpath,"$lib"
export LD_LIBRARY_PATH=$lib WFDB=". $data"

ms() { # ms CMD...: best wall time of the whole process over $runs runs, in microseconds
  local best=999999999999999 t0 t1
  for _ in $(seq "$runs"); do
    t0=$(date +%s%N); "$@" >/dev/null; t1=$(date +%s%N)
    (( (t1 - t0) < best )) && best=$((t1 - t0))
  done
  echo $((best / 1000))
}
inproc() { # inproc CMD...: best in-process open+decode time, microseconds
  "$@" "$((runs * 5))" | awk '{ print $2 }'
}

echo "whole process (ms): somna_read vs rdsamp -p >/dev/null | in-process open+decode (ms): somna vs libwfdb getvec"
printf "%-6s %9s %10s %8s | %9s %9s %8s\n" record somna rdsamp ratio somna libwfdb ratio
tot_s=0; tot_r=0; tot_is=0; tot_il=0
for hea in "$data"/1[0-2][0-9].hea; do
  rec=$(basename "$hea" .hea)
  cat "$data/$rec.dat" >/dev/null
  c1=$("$work/somna_read" "$data/$rec" | awk '{ print $1 }')
  c2=$("$work/wfdb_read_peer" "$rec" | awk '{ print $1 }')
  [ "$c1" = "$c2" ] || { echo "wfdb_read.sh: $rec: checksums differ: somna $c1, libwfdb $c2" >&2; exit 1; }
  s=$(ms "$work/somna_read" "$data/$rec")
  r=$(ms "$bin/rdsamp" -r "$rec" -p)
  is=$(inproc "$work/somna_read" "$data/$rec")
  il=$(inproc "$work/wfdb_read_peer" "$rec")
  tot_s=$((tot_s + s)); tot_r=$((tot_r + r)); tot_is=$((tot_is + is)); tot_il=$((tot_il + il))
  awk -v n="$rec" -v s="$s" -v r="$r" -v a="$is" -v b="$il" \
    'BEGIN { printf "%-6s %9.1f %10.1f %7.1fx | %9.2f %9.2f %7.1fx\n", n, s/1000, r/1000, r/s, a/1000, b/1000, b/a }'
done
awk -v s="$tot_s" -v r="$tot_r" -v a="$tot_is" -v b="$tot_il" \
  'BEGIN { printf "%-6s %9.1f %10.1f %7.1fx | %9.2f %9.2f %7.1fx\n", "total", s/1000, r/1000, r/s, a/1000, b/1000, b/a }'
