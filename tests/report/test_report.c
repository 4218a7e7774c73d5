/* The report module on the real CBT-I trial: the Markdown table carries the
 * numbers R gives (tests/study/r/cbti_expected.csv) and the HTML holds the
 * parallel-design sections; text from the database is escaped. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <unistd.h>

#include "somna/db.h"
#include "somna/parse.h"
#include "somna/report.h"
#include "somna/study.h"
#include "test_util.h"

static somna_db *cbti_db(const char *csv, int64_t *sid, const char *name)
{
    char desc[1024], dbp[512], fname[64];
    const char *root = getenv("SOMNA_SOURCE_DIR");
    snprintf(desc, sizeof desc, "%s/tests/study/data/cbti-study.txt", root ? root : ".");
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    somna_study_desc d;
    if (somna_study_desc_read(desc, &d, &err))
        fail_msg("%s", err.msg);
    somna_strlcpy(d.name, name, sizeof d.name);
    snprintf(fname, sizeof fname, "report_%d.db", (int)getpid());
    test_tmp_path(dbp, sizeof dbp, fname);
    unlink(dbp);
    somna_db *db;
    if (somna_db_open(&db, dbp, &err) || somna_study_init(db, &d, sid, &err))
        fail_msg("%s", err.msg);
    somna_study_import_opts io;
    memset(&io, 0, sizeof io);
    io.group_col = "Sleeps1Edu2";
    io.group_map = "1=sleeps,2=edu";
    io.visits = "2,3,4,5,6,7";
    somna_study_import_stats st;
    if (somna_study_import(db, *sid, SOMNA_STUDY_IMPORT_WIDE, csv, &io, &st, &err))
        fail_msg("%s", err.msg);
    unlink(dbp); /* the open handle keeps it alive */
    return db;
}

static char *render(somna_db *db, int64_t sid, somna_report_format f)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    assert_non_null(mem);
    somna_report_opts o = {f, NULL, 0};
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    if (somna_report_write(db, sid, &o, mem, &err))
        fail_msg("%s", err.msg);
    fclose(mem);
    return buf;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

static void test_cbti_markdown_matches_r(void **state)
{
    (void)state;
    char csv[1024];
    SHARED_OR_SKIP(csv, "sleep-diary-intervention-sleeps/dataset.csv");
    int64_t sid;
    somna_db *db = cbti_db(csv, &sid, "CBT-I");
    char *md = render(db, sid, SOMNA_REPORT_MD);
    /* R (cbti_expected.csv): SE sleeps 0.875843826 +/- 0.022549867, edu 0.872432076 +/- 0.016307013,
     * difference 0.00341175 [-0.00903064, 0.01585414], Welch p 0.581108, d 0.174756,
     * lmer p 0.574803, Holm 1; % change 100 * (0.875843826 / 0.872432076 - 1) = 0.391 */
    assert_non_null(strstr(md, "| SE | sleeps | 0.876 ± 0.023 | edu | 0.872 ± 0.016 | 0.003 [-0.009, 0.016] | 0.4 | "
                               "welch | 0.581 | d 0.17 ["));
    assert_non_null(strstr(md, "| 0.575 | 1.000 |"));
    /* ISI (values >= 10 get one decimal): 12.175 +/- 3.639 vs 11.273 +/- 3.344, difference 0.902
     * [-1.287, 3.091], p 0.409 */
    assert_non_null(strstr(md, "| ISI | sleeps | 12.2 ± 3.6 | edu | 11.3 ± 3.3 | 0.9 [-1.3, 3.1] | 8.0 | welch "
                               "| 0.409 |"));
    assert_non_null(strstr(md, "Screened 42 → eligible 42 → randomized 42 → analysed 42"));
    free(md);
    somna_db_close(db);
}

static void test_cbti_html_sections_and_escaping(void **state)
{
    (void)state;
    char csv[1024];
    SHARED_OR_SKIP(csv, "sleep-diary-intervention-sleeps/dataset.csv");
    int64_t sid;
    somna_db *db = cbti_db(csv, &sid, "CBT-I <script>alert('x')</script> & co");
    char *html = render(db, sid, SOMNA_REPORT_HTML);
    assert_null(strstr(html, "<script"));
    assert_non_null(strstr(html, "CBT-I &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co"));
    assert_non_null(strstr(html, "<h2>By occasion</h2>"));
    /* 6 measures: an occasion table, a trajectory and a condition figure each, plus the forest plot */
    assert_int_equal(count(html, "<th>Difference</th>"), 6);
    assert_int_equal(count(html, "<svg"), 6 + 6 + 1);
    assert_non_null(strstr(html, "No HRV measures in this study"));
    assert_int_equal(count(html, "<html"), 1);
    assert_int_equal(count(html, "</html>"), 1);
    free(html);
    somna_db_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cbti_markdown_matches_r),
        cmocka_unit_test(test_cbti_html_sections_and_escaping),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
