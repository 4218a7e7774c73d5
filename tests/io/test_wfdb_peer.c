/* WFDB decoding and annotations compared with the reference WFDB software
 * (PhysioNet's rdsamp, xform, wrann, rdann), run from this test.
 *
 * The tools are looked up in $SOMNA_WFDB_BIN, else
 * /work/peers/wfdb-install/bin (built outside the repository); the test
 * skips with a message when they are absent.
 *   - mitdb records: every sample of 100, and ranges of 104, 108, 119, 124,
 *     equal `rdsamp -P` (8 decimals of (adu - baseline) / gain);
 *   - formats 8, 16, 24, 32, 61, 80, 160, 212, 310, 311: record 100's
 *     first 10 s rewritten by `xform` into each format, then ours vs rdsamp;
 *   - an annotation file with AUX, NUM, CHN, SUB, long gaps and a type-0
 *     annotation written by `wrann` from text: ours reads what rdann prints
 *     and writes the file back byte for byte. */
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "somna/fileio.h"
#include "somna/parse.h"
#include "somna/wfdb.h"
#include "test_util.h"

static char bindir[256];
static char libdir[512];

static int have_tools(void)
{
    const char *b = getenv("SOMNA_WFDB_BIN");
    snprintf(bindir, sizeof bindir, "%s", b ? b : "/work/peers/wfdb-install/bin");
    snprintf(libdir, sizeof libdir, "%s/../lib", bindir);
    char p[600];
    snprintf(p, sizeof p, "%s/rdsamp", bindir);
    if (access(p, X_OK) != 0) {
        fprintf(stderr, "SKIP: WFDB software not found at %s (set SOMNA_WFDB_BIN)\n", bindir);
        return 0;
    }
    return 1;
}

#define TOOLS_OR_SKIP()                                                                                              \
    do {                                                                                                             \
        if (!have_tools())                                                                                           \
            skip();                                                                                                  \
    } while (0)

/* Run a shell command (in `dir`, WFDB path ". extra"), return its stdout. */
static char *run(const char *dir, const char *wfdbpath, const char *cmd, size_t *len)
{
    char full[4096];
    snprintf(full, sizeof full, "cd '%s' && LD_LIBRARY_PATH='%s' WFDB='. %s' %s", dir, libdir, wfdbpath, cmd);
    FILE *p = popen(full, "r");
    assert_non_null(p);
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    size_t r;
    while ((r = fread(buf + n, 1, cap - n - 1, p)) > 0) {
        n += r;
        if (cap - n < 2) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
    }
    buf[n] = '\0';
    int st = pclose(p);
    if (st != 0)
        fail_msg("command failed (%d): %s", st, full);
    if (len)
        *len = n;
    return buf;
}

/* Compare rdsamp -P output (columns: time, signal 0, signal 1, ...) with
 * our physical values for frames [first, first + n). */
static void compare_rdsamp(const somna_wfdb_record *r, const char *out, int64_t first, int64_t n)
{
    int ns = r->n_signals;
    double *mine = malloc(sizeof(double) * (size_t)(n * ns));
    assert_non_null(mine);
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    for (int s = 0; s < ns; s++)
        if (somna_wfdb_read_physical(r, s, first, n, mine + (size_t)s * (size_t)n, &err) != SOMNA_OK)
            fail_msg("%s", err.msg);
    const char *p = out;
    int64_t row = 0;
    while (*p) {
        const char *eol = strchr(p, '\n');
        if (!eol)
            eol = p + strlen(p);
        const char *q = p;
        for (int col = -1; col < ns; col++) {
            while (q < eol && (*q == ' ' || *q == '\t'))
                q++;
            const char *t = q;
            while (q < eol && *q != ' ' && *q != '\t')
                q++;
            if (t == q)
                fail_msg("row %lld: %d columns, expected %d", (long long)row, col + 1, ns + 1);
            if (col < 0)
                continue;
            assert_true(row < n);
            double want, got = mine[(size_t)col * (size_t)n + (size_t)row];
            if (q - t == 1 && *t == '-') {
                if (!isnan(got))
                    fail_msg("%s frame %lld signal %d: %.10g, rdsamp says invalid", r->name,
                             (long long)(first + row), col, got);
                continue;
            }
            assert_int_equal(somna_parse_double(t, (size_t)(q - t), &want), 0);
            /* rdsamp -P prints 8 decimals */
            if (!(fabs(got - want) <= 5.000001e-9))
                fail_msg("%s frame %lld signal %d: %.10f, rdsamp %.8f", r->name, (long long)(first + row), col, got,
                         want);
        }
        row++;
        p = *eol ? eol + 1 : eol;
    }
    assert_int_equal(row, n);
    free(mine);
}

static void test_rdsamp_mitdb(void **state)
{
    (void)state;
    char hea[1024];
    SHARED_OR_SKIP(hea, "mitdb/100.hea");
    TOOLS_OR_SKIP();
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", hea);
    *strrchr(dir, '/') = '\0';
    static const struct {
        int rec;
        int64_t first, n;
    } cases[] = {
        {100, 0, 650000}, {104, 0, 5000}, {104, 324000, 2000}, {108, 123457, 3001},
        {119, 649000, 1000}, {124, 7, 1}, {124, 400000, 10000},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char cmd[1024], rec[1100];
        snprintf(cmd, sizeof cmd, "'%s/rdsamp' -r %d -P -f s%lld -t s%lld", bindir, cases[c].rec,
                 (long long)cases[c].first, (long long)(cases[c].first + cases[c].n));
        char *out = run(dir, "", cmd, NULL);
        snprintf(rec, sizeof rec, "%s/%d", dir, cases[c].rec);
        somna_err err;
        somna_err_init(&err, NULL, NULL);
        somna_wfdb_record *r = NULL;
        if (somna_wfdb_open(rec, &r, &err) != SOMNA_OK)
            fail_msg("%s", err.msg);
        compare_rdsamp(r, out, cases[c].first, cases[c].n);
        somna_wfdb_close(r);
        free(out);
    }
}

static void test_xform_formats(void **state)
{
    (void)state;
    char hea[1024];
    SHARED_OR_SKIP(hea, "mitdb/100.hea");
    TOOLS_OR_SKIP();
    char mit0[1024], mit[PATH_MAX];
    snprintf(mit0, sizeof mit0, "%s", hea);
    *strrchr(mit0, '/') = '\0';
    /* The WFDB library rejects ".." in its search path. */
    assert_non_null(realpath(mit0, mit));
    char dir[1024];
    test_tmp_path(dir, sizeof dir, "wfdb_peer_formats");
    mkdir(dir, 0755);
    static const int formats[] = {8, 16, 24, 32, 61, 80, 160, 212, 310, 311};
    for (size_t f = 0; f < sizeof formats / sizeof formats[0]; f++) {
        int fmt = formats[f];
        /* 8-bit formats get a gain of 20 adu/mV and zero baseline so the
         * ECG fits; the 10-bit ones wrap around, which is also compared. */
        int small = fmt == 8 || fmt == 80;
        char name[64], text[512], path[1200];
        snprintf(name, sizeof name, "x%d", fmt);
        snprintf(text, sizeof text,
                 "%s 2 360\n%s.dat %d %d(%d)/mV 12 %d 0 0 0 MLII\n%s.dat %d %d(%d)/mV 12 %d 0 0 0 V5\n", name, name,
                 fmt, small ? 20 : 200, small ? 0 : 1024, small ? 0 : 1024, name, fmt, small ? 20 : 200,
                 small ? 0 : 1024, small ? 0 : 1024);
        snprintf(path, sizeof path, "%s/%s.hea", dir, name);
        FILE *fp = fopen(path, "w");
        assert_non_null(fp);
        fputs(text, fp);
        fclose(fp);
        char cmd[1024];
        snprintf(cmd, sizeof cmd, "'%s/xform' -i 100 -o %s -t s3601 >/dev/null 2>&1", bindir, name);
        free(run(dir, mit, cmd, NULL));
        snprintf(cmd, sizeof cmd, "'%s/rdsamp' -r %s -P", bindir, name);
        char *out = run(dir, mit, cmd, NULL);
        snprintf(path, sizeof path, "%s/%s", dir, name);
        somna_err err;
        somna_err_init(&err, NULL, NULL);
        somna_wfdb_record *r = NULL;
        if (somna_wfdb_open(path, &r, &err) != SOMNA_OK)
            fail_msg("%s", err.msg);
        assert_int_equal(r->n_samples, 3601);
        compare_rdsamp(r, out, 0, 3601);
        somna_wfdb_close(r);
        free(out);
    }
}

static void test_wrann_round_trip(void **state)
{
    (void)state;
    char hea[1024];
    SHARED_OR_SKIP(hea, "mitdb/100.hea");
    TOOLS_OR_SKIP();
    char dir[1024];
    test_tmp_path(dir, sizeof dir, "wfdb_peer_ann");
    mkdir(dir, 0755);
    /* wrann reads rdann's fixed columns: time, sample, code, sub, chan,
     * num, TAB aux. */
    static const char *lines[] = {
        "    0:00.050       18     +    0    0    0\t(N\n",
        "    0:00.214       77     N    0    0    0\n",
        "    0:01.028      370     V    1    2    3\n",
        "    0:01.839      662     N    0    2    3\thello\n",
        "    0:02.628      946     A   -1    0   -5\todd\n",
        "    0:10.000     3600     ~    2    1    0\n",
        "    2:00.000    43200     N    0  255  127\tx\n",
        "  400:00.000  8640000     \"    0    0    0\ta comment with spaces\n",
        "  400:00.000  8640001     Q    5    3 -128\n",
    };
    char path[1200];
    snprintf(path, sizeof path, "%s/in.txt", dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        fputs(lines[i], fp);
    fclose(fp);
    snprintf(path, sizeof path, "%s/t.hea", dir);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("t 0 360\n", fp); /* wrann needs the sampling frequency */
    fclose(fp);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s/wrann' -r t -a tst < in.txt", bindir);
    free(run(dir, "", cmd, NULL));
    snprintf(cmd, sizeof cmd, "'%s/rdann' -r t -a tst", bindir);
    char *listing = run(dir, "", cmd, NULL);

    snprintf(path, sizeof path, "%s/t", dir);
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    somna_wfdb_annotation *a = NULL;
    size_t n = 0;
    if (somna_wfdb_ann_read(path, "tst", &a, &n, &err) != SOMNA_OK)
        fail_msg("%s", err.msg);
    /* rdann skips the annotations at time 0 that wrann adds (the
     * "## time resolution" note and the table terminator); every other
     * line must match ours field by field. */
    size_t i = 0;
    while (i < n && a[i].sample == 0)
        i++;
    const char *p = listing;
    size_t rows = 0;
    while (*p) {
        const char *eol = strchr(p, '\n');
        assert_non_null(eol);
        char line[512];
        size_t ll = (size_t)(eol - p) < sizeof line - 1 ? (size_t)(eol - p) : sizeof line - 1;
        memcpy(line, p, ll);
        line[ll] = '\0';
        char tm[32], code[16];
        long long sample;
        int sub, chan, num;
        assert_int_equal(sscanf(line, "%31s %lld %15s %d %d %d", tm, &sample, code, &sub, &chan, &num), 6);
        const char *tab = strchr(line, '\t');
        assert_true(i < n);
        assert_int_equal(a[i].sample, sample);
        assert_string_equal(somna_wfdb_ann_mnemonic(a[i].type), code);
        assert_int_equal(a[i].subtype, sub);
        assert_int_equal(a[i].chan, chan);
        assert_int_equal(a[i].num, num);
        if (tab)
            assert_string_equal(a[i].aux, tab + 1);
        else
            assert_null(a[i].aux);
        i++;
        rows++;
        p = eol + 1;
    }
    assert_int_equal(rows, 9);
    assert_int_equal(i, n);
    free(listing);

    char out[1200];
    snprintf(out, sizeof out, "%s/t.out", dir);
    assert_int_equal(somna_wfdb_ann_write(path, "out", a, n, &err), SOMNA_OK);
    char orig[1200];
    snprintf(orig, sizeof orig, "%s/t.tst", dir);
    char *x = NULL, *y = NULL;
    size_t xl = 0, yl = 0;
    assert_int_equal(somna_read_file(orig, 1 << 20, &x, &xl, &err), SOMNA_OK);
    assert_int_equal(somna_read_file(out, 1 << 20, &y, &yl, &err), SOMNA_OK);
    assert_int_equal(xl, yl);
    assert_memory_equal(x, y, xl);
    free(x);
    free(y);
    somna_wfdb_ann_free(a, n);
}

/* A truncated annotation file (first 1000 bytes of mitdb 100.atr, no end
 * word): rdann prints the annotations before the last one and then reports
 * an unexpected end; somna keeps the last one too (its word is complete)
 * and warns.  Every annotation rdann prints must match. */
static void test_truncated_annotations(void **state)
{
    (void)state;
    char atr[1024];
    SHARED_OR_SKIP(atr, "mitdb/100.atr");
    TOOLS_OR_SKIP();
    char dir[1024];
    test_tmp_path(dir, sizeof dir, "wfdb_peer_cut");
    mkdir(dir, 0755);
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(somna_read_file(atr, 1 << 24, &data, &len, &err), SOMNA_OK);
    char path[1200];
    snprintf(path, sizeof path, "%s/c.cut", dir);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    fwrite(data, 1, 1000, fp);
    fclose(fp);
    free(data);
    snprintf(path, sizeof path, "%s/c.hea", dir);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("c 0 360\n", fp);
    fclose(fp);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s/rdann' -r c -a cut 2>/dev/null; true", bindir);
    char *listing = run(dir, "", cmd, NULL);
    snprintf(path, sizeof path, "%s/c", dir);
    somna_wfdb_annotation *a = NULL;
    size_t n = 0;
    assert_int_equal(somna_wfdb_ann_read(path, "cut", &a, &n, &err), SOMNA_OK);
    assert_int_equal(err.n_warnings, 1);
    size_t rows = 0;
    for (const char *p = listing; *p;) {
        char tm[32], code[16];
        long long sample;
        assert_int_equal(sscanf(p, "%31s %lld %15s", tm, &sample, code), 3);
        assert_true(rows < n);
        assert_int_equal(a[rows].sample, sample);
        assert_string_equal(somna_wfdb_ann_mnemonic(a[rows].type), code);
        rows++;
        p = strchr(p, '\n');
        assert_non_null(p);
        p++;
    }
    assert_true(rows > 400);
    assert_int_equal(n, rows + 1);
    somna_wfdb_ann_free(a, n);
    free(listing);
}

/* Multi-frequency frames, byte offset and skew: `rdsamp -H` (high
 * resolution) lists signal A (2 samples per frame) at its own rate and B
 * (1 per frame, skew 1) repeated.  WFDB stops at the first frame a skewed
 * signal cannot fill (2 of the 3 frames); somna keeps A's third frame and
 * marks B's missing sample invalid (checked in test_wfdb.c). */
static void test_multifrequency(void **state)
{
    (void)state;
    TOOLS_OR_SKIP();
    char dir[1024];
    test_tmp_path(dir, sizeof dir, "wfdb_peer_mf");
    mkdir(dir, 0755);
    const unsigned char dat[] = {0xDE, 0xAD, 0xBE, 0xEF, 10, 0, 11, 0, 20, 0, 12, 0, 13, 0,
                                 21, 0, 14, 0, 15, 0, 22, 0};
    char path[1200];
    snprintf(path, sizeof path, "%s/mf.dat", dir);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    fwrite(dat, 1, sizeof dat, fp);
    fclose(fp);
    snprintf(path, sizeof path, "%s/mf.hea", dir);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("mf 2 50 3\nmf.dat 16x2+4 1\nmf.dat 16:1+4 1\n", fp);
    fclose(fp);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s/rdsamp' -r mf -H", bindir);
    char *out = run(dir, "", cmd, NULL);
    snprintf(path, sizeof path, "%s/mf", dir);
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    somna_wfdb_record *r = NULL;
    if (somna_wfdb_open(path, &r, &err) != SOMNA_OK)
        fail_msg("%s", err.msg);
    int32_t a[6], b[3];
    assert_int_equal(somna_wfdb_read_adu(r, 0, 0, 6, a, &err), SOMNA_OK);
    assert_int_equal(somna_wfdb_read_adu(r, 1, 0, 3, b, &err), SOMNA_OK);
    const char *p = out;
    int rows = 0;
    while (*p) {
        long long tick, va, vb;
        int used = 0;
        if (sscanf(p, "%lld %lld %lld%n", &tick, &va, &vb, &used) != 3)
            break;
        assert_int_equal(tick, rows);
        assert_int_equal(a[rows], va);
        assert_int_equal(b[rows / 2], vb);
        rows++;
        p += used;
        while (*p == '\n' || *p == ' ' || *p == '\t')
            p++;
    }
    assert_int_equal(rows, 4);
    somna_wfdb_close(r);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rdsamp_mitdb),
        cmocka_unit_test(test_xform_formats),
        cmocka_unit_test(test_wrann_round_trip),
        cmocka_unit_test(test_multifrequency),
        cmocka_unit_test(test_truncated_annotations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
