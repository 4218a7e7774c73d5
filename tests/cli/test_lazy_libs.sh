#!/usr/bin/env bash
# libpq, cairo and libcrypto are loaded at first use (src/core/dynlib.h), not
# linked: neither the CLI nor libsomna.so needs them (ELF NEEDED), a command
# that draws no PNG / opens no PostgreSQL / hashes no file never loads them
# (the dynamic loader's own log, LD_DEBUG=files), the ones that do still
# work, and a program linked with the static archive needs no -lpq -lcairo
# -lcrypto (pkg-config --static) yet can draw a PNG and hash a file.
. "$(dirname "$0")/lib.sh"
BUILD=$(dirname "$SOMNA")
command -v readelf >/dev/null || { echo "SKIP: readelf (binutils) absent"; exit 77; }
lazy='lib(pq|cairo|crypto|ssl)\.so'

# ---- no NEEDED entry ---------------------------------------------------------------------------------
for f in "$SOMNA" "$BUILD/libsomna.so"; do
  [ -e "$f" ] || { fail "$f not built"; continue; }
  readelf -d "$f" >"$TMP/dyn" || fail "readelf -d $f failed"
  grep -q '(NEEDED)' "$TMP/dyn" || fail "readelf shows no NEEDED entry at all for $f (test broken?)"
  hits=$(grep '(NEEDED)' "$TMP/dyn" | grep -E "$lazy")
  [ -z "$hits" ] || fail "$f still links: $hits"
done

# ---- loaded only by what needs them (the loader logs every object it maps) --------------------------
# "file=X [0];  generating link map" = X mapped (a lookup alone, e.g. RTLD_NOLOAD, logs only "file=X")
loaded() { grep -E "file=$1[^ ]* .*generating link map" "$TMP/ld" | grep -oE "$1[^ ]*" | head -1; }
LD_DEBUG=files "$SOMNA" --version >/dev/null 2>"$TMP/ld" || fail "somna --version failed"
[ -n "$(loaded libc)" ] || fail "LD_DEBUG=files logged no libc (test broken?)"
for l in libpq libcairo libcrypto; do
  [ -z "$(loaded $l)" ] || fail "somna --version loaded $(loaded $l)"
done
# W W N1 N2 N2 W REM REM W (YASA integers)
printf '0\n0\n1\n2\n2\n0\n4\n4\n0\n' >"$TMP/h.txt"
LD_DEBUG=files "$SOMNA" hypno "$TMP/h.txt" --plot "$TMP/h.svg" >/dev/null 2>"$TMP/ld" || fail "hypno --plot SVG failed"
[ -s "$TMP/h.svg" ] || fail "no SVG written"
[ -z "$(loaded libcairo)" ] || fail "an SVG plot loaded $(loaded libcairo)"
LD_DEBUG=files "$SOMNA" hypno "$TMP/h.txt" --plot "$TMP/h.png" >/dev/null 2>"$TMP/ld" || fail "hypno --plot PNG failed"
[ -n "$(loaded libcairo)" ] || fail "a PNG plot did not load cairo (how was it drawn?)"
[ "$(head -c 8 "$TMP/h.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "h.png is not a PNG"
[ -z "$(loaded libpq)" ] || fail "a PNG plot loaded $(loaded libpq)"

# ---- a clinic whose libpq / cairo / libcrypto is unusable ----------------------------------------------
# Stand-ins with the real sonames (those compiled into somna) but none of the
# functions, found first through LD_LIBRARY_PATH: everything else works, and
# the feature that needs one fails with one message naming library, feature
# and package, exit 2, nothing written.
tiny_study "$TMP" Lazy
mkdir -p "$TMP/fake"
echo 'int somna_fake_library;' >"$TMP/fake.c"
for l in pq cairo crypto; do
  so=$(grep -aoE "lib$l\.so\.[0-9]+" "$SOMNA" | head -1)
  [ -n "$so" ] || { fail "no lib$l soname compiled into $SOMNA"; continue; }
  cc -shared -fPIC -Wl,-soname,"$so" "$TMP/fake.c" -o "$TMP/fake/$so" || fail "cannot build a stand-in $so"
  eval "so_$l=$so"
done
export LD_LIBRARY_PATH="$TMP/fake"
expect_exit 2 "$SOMNA" study status --db postgresql://nobody@127.0.0.1:1/none
expect_grep "PostgreSQL study databases need ${so_pq:-libpq} (Debian package libpq5): function PQconnectdb not found" "$TMP/err"
[ "$(wc -l <"$TMP/err")" = 1 ] || fail "more than one message: $(cat "$TMP/err")"
expect_exit 2 "$SOMNA" hypno "$TMP/h.txt" --plot "$TMP/none.png"
expect_grep "none.png: PNG plots need ${so_cairo:-libcairo} (Debian package libcairo2): function cairo_" "$TMP/err"
[ -e "$TMP/none.png" ] && fail "PNG written without cairo"
expect_exit 0 "$SOMNA" hypno "$TMP/h.txt" --plot "$TMP/h2.svg"
expect_exit 0 "$SOMNA" study init --db "$TMP/s.db" "$TMP/study.txt"
expect_exit 0 "$SOMNA" study enrol --db "$TMP/s.db" --csv "$TMP/screen.csv"
expect_grep "2 screened, 2 enrolled" "$TMP/out"
expect_exit 0 "$SOMNA" study randomize --db "$TMP/s.db"
printf 'participant,condition,period,measure,value\nP1,control,1,SOL,10\nP1,relax,2,SOL,8\n' >"$TMP/a.csv"
# imports hash their file: that, and only that, needs libcrypto
expect_exit 2 "$SOMNA" study import --db "$TMP/s.db" measures "$TMP/a.csv"
expect_grep "a.csv: SHA-256 checksums of imported files need ${so_crypto:-libcrypto} (Debian package libssl3)" "$TMP/err"
rm -f "$TMP/fake/${so_crypto:-none}"
expect_exit 0 "$SOMNA" study import --db "$TMP/s.db" measures "$TMP/a.csv"
expect_grep "2 records written" "$TMP/out"
unset LD_LIBRARY_PATH

# ---- a static user links without them -----------------------------------------------------------------
command -v pkg-config >/dev/null || { echo "SKIP (static part): pkg-config absent"; finish; }
cc=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$BUILD/CMakeCache.txt")
[ -n "$cc" ] || cc=cc
grep -q '^SOMNA_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" && cc="$cc -fsanitize=address,undefined"
cmake --install "$BUILD" --prefix "$TMP/prefix" >/dev/null || fail "cmake --install failed"
export PKG_CONFIG_PATH="$TMP/prefix/lib/pkgconfig"
libs=$(pkg-config --static --libs somna) || fail "pkg-config --static --libs somna failed"
echo "$libs" | grep -qE -- '-l(pq|cairo|crypto)\b' && fail "somna.pc still asks static users for: $libs"
cat >"$TMP/use.c" <<'C'
#include <somna/plot.h>
#include <somna/study.h>
#include <stdio.h>
int main(int argc, char **argv)
{
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    somna_plot_canvas *c = NULL;
    somna_plot_style line = somna_plot_stroke(0x1565C0, 2);
    somna_plot_font font = {12, 0, 0x000000, SOMNA_PLOT_ANCHOR_START, 0};
    char hex[65];
    uint64_t n = 0;
    if (argc < 3 || somna_plot_canvas_create(120, 80, &c, &err) || somna_plot_line(c, 10, 10, 110, 70, &line) ||
        somna_plot_text(c, 10, 40, "N2", &font) || somna_plot_save_png(c, argv[1], 1.0, &err) ||
        somna_study_sha256_file(argv[2], hex, &n, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        somna_plot_canvas_destroy(c);
        return 2;
    }
    somna_plot_canvas_destroy(c);
    somna_plot_release_caches();
    printf("%s %llu\n", hex, (unsigned long long)n);
    return 0;
}
C
# the archive itself, then what somna.pc says it needs (-lsomna would pick the .so)
$cc "$TMP/use.c" $(pkg-config --cflags somna) "$TMP/prefix/lib/libsomna.a" ${libs//-lsomna /} -o "$TMP/use_static" \
  || fail "cannot link a static user with only 'pkg-config --static --libs somna'"
if [ -x "$TMP/use_static" ]; then
  readelf -d "$TMP/use_static" | grep '(NEEDED)' | grep -E "$lazy|libsomna" && fail "static user links them"
  printf 'abc' >"$TMP/abc.txt"
  out=$("$TMP/use_static" "$TMP/u.png" "$TMP/abc.txt") || fail "static user: run failed"
  # SHA-256("abc") is the first example of FIPS 180-2, appendix B.1
  [ "$out" = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad 3" ] || fail "static user: got '$out'"
  # PNG signature, then IHDR width and height (big-endian) = the 120 x 80 canvas at scale 1
  [ "$(head -c 24 "$TMP/u.png" | od -An -tx1 | tr -d ' \n')" = \
    89504e470d0a1a0a0000000d494844520000007800000050 ] || fail "static user: u.png is not a 120x80 PNG"
fi
finish
