#!/usr/bin/env bash
# Simulation speed: one 8-h night, 7 signals (EEG C4-M1, EEG Fpz-Cz, EOG E1-M2,
# EOG E2-M1, chin EMG, ECG at 256 Hz + the 1-Hz chin EMG envelope), written
# as EDF+ with its truth files, against the time the reference reader EDFlib
# (Debian libedf) needs merely to decode the same file, in the same run.
#   bench/sim_night.sh [RUNS]        (default 3; best of RUNS is reported)
# Goal (issue 3): < 2 s for the night.  Output goes to /dev/shm when present,
# so the figure is the simulator + writer, not the disk; CPU time (user+sys)
# is printed beside wall time because the machine is shared.
# Environment: SOMNA_BIN (default build/somna).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
somna=${SOMNA_BIN:-build/somna}
[ -x "$somna" ] || { echo "build somna first (cmake --build build)" >&2; exit 1; }
base=/dev/shm; [ -d "$base" ] && [ -w "$base" ] || base=${TMPDIR:-/tmp}
work=$(mktemp -d "$base/somna-sim-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

# the peer: EDFlib reading every sample of every signal, 30 records at a time
cat >"$work/edflib_read.c" <<'CEOF'
#include <stdio.h>
#include <stdlib.h>
#include <edflib.h>
int main(int argc, char **argv)
{
    struct edf_hdr_struct h;
    if (argc < 2 || edfopen_file_readonly(argv[1], &h, EDFLIB_DO_NOT_READ_ANNOTATIONS) != 0) {
        fprintf(stderr, "edflib: cannot open %s\n", argc > 1 ? argv[1] : "");
        return 1;
    }
    double *buf = malloc(30 * 4096 * sizeof *buf), sum = 0;
    for (long long r = 0; r < h.datarecords_in_file; r += 30)
        for (int s = 0; s < h.edfsignals; s++) {
            int n = h.signalparam[s].smp_in_datarecord * 30;
            int got = edfread_physical_samples(h.handle, s, n, buf);
            for (int i = 0; i < got; i++)
                sum += buf[i];
        }
    printf("%.6g\n", sum);
    edfclose_file(h.handle);
    free(buf);
    return 0;
}
CEOF
have_edflib=1
cc -O2 -o "$work/edflib_read" "$work/edflib_read.c" -ledf 2>/dev/null || have_edflib=0

best_wall=999; best_cpu=999; best_peer=999; peer_cpu=999
min() { awk -v a="$1" -v b="$2" 'BEGIN{print (b<a)?b:a}'; }
for i in $(seq "$runs"); do
  rm -rf "$work/out"
  /usr/bin/time -f "%e %U %S" -o "$work/t" "$somna" simulate night -o "$work/out" --seed "$i" --emg-envelope \
    >"$work/log"
  read -r wall user sys <"$work/t"
  best_wall=$(min "$best_wall" "$wall")
  best_cpu=$(min "$best_cpu" "$(awk -v u="$user" -v s="$sys" 'BEGIN{print u+s}')")
  if [ "$have_edflib" = 1 ]; then
    cat "$work/out/night.edf" >/dev/null
    /usr/bin/time -f "%e %U %S" -o "$work/t" "$work/edflib_read" "$work/out/night.edf" >/dev/null
    read -r wall user sys <"$work/t"
    best_peer=$(min "$best_peer" "$wall")
    peer_cpu=$(min "$peer_cpu" "$(awk -v u="$user" -v s="$sys" 'BEGIN{print u+s}')")
  fi
done
size=$(stat -c %s "$work/out/night.edf")
nsig=$(sed -n 's/.*(\([0-9]*\) signals.*/\1/p' "$work/log")
echo "night: 8 h x $nsig signals, EDF+ $((size / 1000000)) MB + truth files, output in $base"
printf "somna simulate night   wall %6.2f s   cpu %6.2f s   (goal < 2 s)\n" "$best_wall" "$best_cpu"
if [ "$have_edflib" = 1 ]; then
  printf "EDFlib decode only     wall %6.2f s   cpu %6.2f s\n" "$best_peer" "$peer_cpu"
  awk -v a="$best_wall" -v b="$best_peer" -v c="$best_cpu" -v d="$peer_cpu" \
    'BEGIN{printf "ratio somna/EDFlib    wall %6.2f     cpu %6.2f   (simulating + writing vs reading)\n", a/b, c/d}'
else
  echo "EDFlib (libedf-dev) not installed: peer figure skipped"
fi
