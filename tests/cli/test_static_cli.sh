#!/usr/bin/env bash
# FFTW, GSL and SQLite are linked into the CLI from their static archives when
# installed (CMakeLists.txt, SOMNA_CLI_STATIC_DEPS): the CLI then needs none of
# them (ELF NEEDED), never maps them (the loader's log), and its spectra,
# p-values and SQLite studies work and are right even when the machine's
# shared copies are unusable.  libsomna.so keeps its shared dependencies.
# With the option OFF, or without the archives, the CLI links them shared.
. "$(dirname "$0")/lib.sh"
BUILD=$(dirname "$SOMNA")
command -v readelf >/dev/null || { echo "SKIP: readelf (binutils) absent"; exit 77; }
command -v pkg-config >/dev/null || { echo "SKIP: pkg-config absent"; exit 77; }
[ -r "$BUILD/CMakeCache.txt" ] || { echo "SKIP: $BUILD/CMakeCache.txt absent (not a CMake build?)"; exit 77; }
cache() { sed -n "s/^$1:[A-Z]*=//p" "$BUILD/CMakeCache.txt"; }
option=$(cache SOMNA_CLI_STATIC_DEPS)
archives=$(cache SOMNA_CLI_STATIC_ARCHIVES)
deps='lib(fftw3|gsl|gslcblas|sqlite3)\.so'

# ---- did CMake choose what is installed? (looked up here independently) --------------------------
have_all=1
for p in fftw3:fftw3 gsl:gsl gsl:gslcblas sqlite3:sqlite3; do
  dir=$(pkg-config --variable=libdir "${p%%:*}") || fail "pkg-config ${p%%:*} failed"
  [ -e "$dir/lib${p#*:}.a" ] || have_all=0
done
case "$option:$have_all" in
  ON:1) [ -n "$archives" ] || fail "the four archives are installed and SOMNA_CLI_STATIC_DEPS=ON, yet the CLI is linked shared" ;;
  *) [ -z "$archives" ] || fail "static link chosen with SOMNA_CLI_STATIC_DEPS=$option, archives installed=$have_all: $archives" ;;
esac

readelf -d "$SOMNA" >"$TMP/dyn" || fail "readelf -d $SOMNA failed"
grep -q '(NEEDED).*libc\.so' "$TMP/dyn" || fail "readelf shows no NEEDED libc for $SOMNA (test broken?)"
needed=$(grep '(NEEDED)' "$TMP/dyn" | grep -oE "$deps" | sort -u | tr '\n' ' ')
if [ -z "$archives" ]; then
  # the fallback is the shared link of before (libgslcblas may come through libgsl only)
  for l in libfftw3 libgsl libsqlite3; do
    [[ " $needed" == *" $l.so "* ]] || fail "shared CLI does not need $l: NEEDED $needed"
  done
  echo "shared link (SOMNA_CLI_STATIC_DEPS=$option, archives installed: $have_all): NEEDED checked"
  finish
fi
[ -z "$needed" ] || fail "static CLI still needs: $needed"
for a in ${archives//;/ }; do [ -e "$a" ] || fail "archive linked but absent: $a"; done
# libsomna.so is unchanged: its users get the shared libraries
readelf -d "$BUILD/libsomna.so" | grep '(NEEDED)' | grep -qE 'libfftw3\.so' || fail "libsomna.so no longer needs libfftw3"

# ---- with unusable shared copies, everything still works ------------------------------------------
# Stand-ins with the real sonames but none of the functions, found first
# through LD_LIBRARY_PATH: a CLI that still loaded them would fail.
mkdir -p "$TMP/fake"
echo 'int somna_fake_library;' >"$TMP/fake.c"
for p in fftw3:fftw3 gsl:gsl gsl:gslcblas sqlite3:sqlite3; do
  l=${p#*:}
  so=$(objdump -p "$(pkg-config --variable=libdir "${p%%:*}")/lib$l.so" 2>/dev/null | sed -n 's/^ *SONAME *//p')
  [ -n "$so" ] || { fail "no SONAME read from lib$l.so"; continue; }
  cc -shared -fPIC -Wl,-soname,"$so" "$TMP/fake.c" -o "$TMP/fake/$so" || fail "cannot build a stand-in $so"
done

# FFTW (Lomb and Welch spectra): RR = 1000 + 50 sin(2 pi 0.25 t) ms, 600 s.
# All power is at 0.25 Hz (HF band, 0.15-0.4 Hz) and by Parseval the spectrum
# integrates to the variance, 50^2/2 = 1250 ms^2 (SDNN = 35.355 ms).
awk 'BEGIN { pi = atan2(0, -1); t = 0; print "rr_ms"
  while (t < 600) { rr = 1000 + 50 * sin(2 * pi * 0.25 * t); printf "%.3f\n", rr; t += rr / 1000 } }' >"$TMP/sine.csv"
# GSL (t distribution): paired t of massage - control, d = -2 -4 0 -6 -2;
# t = -2.8 / (2.2804 / sqrt 5) = -2.7456, df 4, p = 0.051606 (scipy.stats.ttest_rel)
printf 'id,condition,sol\n' >"$TMP/long.csv"
paste -d' ' <(printf '12\n15\n9\n20\n14\n') <(printf '10\n11\n9\n14\n12\n') |
  awk '{ printf "p%d,control,%s\np%d,massage,%s\n", NR, $1, NR, $2 }' >>"$TMP/long.csv"
tiny_study "$TMP" Static

num() { grep -E "^ *\"$1\": " "$2" | head -1 | sed -E 's/.*": ([^,]*),?$/\1/'; }
within() { awk -v a="$1" -v b="$2" -v r="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "" && d <= r * (b < 0 ? -b : b)) }'; }
for psd in lomb welch; do
  flag=""; [ $psd = welch ] && flag=--welch
  expect_exit 0 "$SOMNA" hrv "$TMP/sine.csv" $flag --json
  cp "$TMP/out" "$TMP/hrv_$psd.json"
  within "$(num SDNN "$TMP/out")" 35.3553 0.001 || fail "$psd: SDNN $(num SDNN "$TMP/out"), expected 35.355"
  within "$(num HF "$TMP/out")" 1250 0.05 || fail "$psd: HF $(num HF "$TMP/out") ms^2, expected 1250 (Parseval)"
  awk -v lf="$(num LF "$TMP/out")" 'BEGIN { exit !(lf < 1) }' || fail "$psd: LF $(num LF "$TMP/out") ms^2 for a pure HF sine"
done
expect_exit 0 "$SOMNA" stats ttest-paired "$TMP/long.csv" --y sol --group condition --subject id --json
cp "$TMP/out" "$TMP/t.json"
within "$(num p "$TMP/out")" 0.05160595781117475 1e-8 || fail "paired t: p $(num p "$TMP/out"), scipy says 0.0516059578"
within "$(num statistic "$TMP/out")" -2.745625891934576 1e-10 || fail "paired t: t $(num statistic "$TMP/out")"

export LD_LIBRARY_PATH="$TMP/fake"
for psd in lomb welch; do
  flag=""; [ $psd = welch ] && flag=--welch
  LD_DEBUG=files "$SOMNA" hrv "$TMP/sine.csv" $flag --json >"$TMP/out" 2>"$TMP/ld" || fail "hrv $flag failed beside stand-ins: $(grep -v 'file=' "$TMP/ld" | head -3)"
  cmp -s "$TMP/out" "$TMP/hrv_$psd.json" || fail "hrv $flag differs beside stand-in libraries"
done
LD_DEBUG=files "$SOMNA" stats ttest-paired "$TMP/long.csv" --y sol --group condition --subject id --json \
  >"$TMP/out" 2>>"$TMP/ld" || fail "stats ttest-paired failed beside stand-ins"
cmp -s "$TMP/out" "$TMP/t.json" || fail "stats ttest-paired differs beside stand-in libraries"
grep -q 'generating link map' "$TMP/ld" || fail "LD_DEBUG=files logged nothing (test broken?)"
mapped=$(grep -E 'generating link map' "$TMP/ld" | grep -oE "$deps[^ ]*" | sort -u | tr '\n' ' ')
[ -z "$mapped" ] || fail "the static CLI mapped $mapped"
expect_exit 0 "$SOMNA" study init --db "$TMP/s.db" "$TMP/study.txt"
expect_exit 0 "$SOMNA" study enrol --db "$TMP/s.db" --csv "$TMP/screen.csv"
expect_grep "2 screened, 2 enrolled" "$TMP/out"
unset LD_LIBRARY_PATH
# what the archive's SQLite wrote is an SQLite 3 database file (its header string)
head -c 16 "$TMP/s.db" | grep -q '^SQLite format 3' || fail "s.db is not an SQLite 3 database"
finish
