#!/usr/bin/env bash
# `cmake --install` to a fresh prefix, then a program built against the
# installed headers with pkg-config: shared library, and the static archive.
. "$(dirname "$0")/lib.sh"
BUILD=$(dirname "$SOMNA")
need_data noxturnal-psg-rsleep/subject1.edf
command -v pkg-config >/dev/null || { echo "SKIP: pkg-config absent"; exit 77; }
# same compiler (and sanitizers) as the build under test, or its objects won't link
cc=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$BUILD/CMakeCache.txt")
[ -n "$cc" ] || cc=cc
grep -q '^SOMNA_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" && cc="$cc -fsanitize=address,undefined"

cmake --install "$BUILD" --prefix "$TMP/prefix" >/dev/null || fail "cmake --install failed"
for f in include/somna/edf.h include/somna/version.h lib/pkgconfig/somna.pc bin/somna; do
  [ -e "$TMP/prefix/$f" ] || fail "not installed: $f"
done
export PKG_CONFIG_PATH="$TMP/prefix/lib/pkgconfig"
[ "$(pkg-config --modversion somna)" = "$("$SOMNA" --version | cut -d' ' -f2)" ] || fail "pkg-config version differs"

cat >"$TMP/use.c" <<'C'
#include <somna/edf.h>
#include <somna/version.h>
#include <stdio.h>
int main(int argc, char **argv)
{
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    somna_edf *e;
    if (argc < 2 || somna_edf_open(argv[1], &e, &err) != SOMNA_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 2;
    }
    printf("%s %d\n", SOMNA_VERSION, somna_edf_get_header(e)->n_signals);
    somna_edf_close(e);
    return 0;
}
C
# subject1.edf has 90 signals (its README), the EDF Annotations signal included
$cc "$TMP/use.c" $(pkg-config --cflags --libs somna) -Wl,-rpath,"$TMP/prefix/lib" -o "$TMP/use_shared" \
  || fail "cannot build against the shared library"
out=$("$TMP/use_shared" "$DATA/noxturnal-psg-rsleep/subject1.edf") || fail "shared: run failed"
[ "$out" = "$(pkg-config --modversion somna) 90" ] || fail "shared: got '$out'"
$cc "$TMP/use.c" $(pkg-config --cflags somna) "$TMP/prefix/lib/libsomna.a" \
  $(pkg-config --libs fftw3 gsl sqlite3) -lm -lpthread -o "$TMP/use_static" \
  || fail "cannot build against the static library"
out=$("$TMP/use_static" "$DATA/noxturnal-psg-rsleep/subject1.edf") || fail "static: run failed"
[ "$out" = "$(pkg-config --modversion somna) 90" ] || fail "static: got '$out'"
finish
