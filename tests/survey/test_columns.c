/* Column resolution for table rows (the API the CLI and study imports share). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "somna/survey.h"
#include "somna/table.h"
#include "test_util.h"

static void parse(const char *text, somna_table *t)
{
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    if (somna_table_parse(text, strlen(text), "mem.csv", NULL, t, &err) != 0)
        fail_msg("%s", err.msg);
}

typedef struct {
    unsigned n;
    char last[SOMNA_ERR_MSG_MAX];
} warnings;

static void on_warn(void *ctx, const char *msg)
{
    warnings *w = ctx;
    w->n++;
    snprintf(w->last, sizeof w->last, "%s", msg);
}

/* Aliases and id/date names are found; a --map style override wins; a row is
 * scored through the mapping.  ESS: 0+1+2+3+0+1+2+3 = 12 -> mild (11-12). */
static void test_find_and_map(void **state)
{
    (void)state;
    somna_table t;
    parse("Subject,Visit Date,epworth 1,ESS_02,ess-3,ESS 4,ess_5,ess_6,ess_7,EightItem\n"
          "S1,2024-05-01,0,1,2,3,0,1,2,3\n",
          &t);
    somna_survey_columns m;
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    assert_int_equal(somna_survey_columns_init(&m, SOMNA_SURVEY_ESS, NULL, &t, &err), 0);
    assert_int_equal(m.id_col, 0);
    assert_int_equal(m.date_col, 1);
    assert_int_equal(m.col[0], 2); /* "epworth 1" is an alias of ess_1 */
    assert_int_equal(m.col[1], 3); /* "ESS_02" = ess_2 */
    assert_int_equal(m.col[7], -1);
    /* ess_8 has no column: the check names it */
    assert_int_equal(somna_survey_columns_check(&m, &err), SOMNA_E_NOTFOUND);
    assert_non_null(strstr(err.msg, "ess_8"));
    assert_int_equal(somna_survey_columns_set(&m, "ess_8", "EightItem", &err), 0);
    assert_int_equal(somna_survey_columns_check(&m, &err), 0);
    assert_string_equal(somna_survey_columns_name(&m, "ess_8"), "EightItem");
    /* unknown field / column are named */
    assert_int_equal(somna_survey_columns_set(&m, "ess_9", "EightItem", &err), SOMNA_E_NOTFOUND);
    assert_non_null(strstr(err.msg, "ess_9"));
    assert_int_equal(somna_survey_columns_set(&m, "ess_1", "Nope", &err), SOMNA_E_NOTFOUND);
    assert_non_null(strstr(err.msg, "'Nope'"));
    somna_survey_result r;
    assert_int_equal(somna_survey_score_row(&m, 0, &r, &err), 0);
    assert_true(r.value[SOMNA_ESS_TOTAL] == 12);
    assert_string_equal(r.band, "mild");
    assert_int_equal(somna_survey_score_row(&m, 1, &r, &err), SOMNA_E_ARG);
    somna_table_free(&t);
}

/* Item-looking columns beside a total are set aside with a warning: "ISI_5"
 * and "ISI_7" here are totals at weeks 5 and 7, not items 5 and 7. */
static void test_total_sets_aside_items(void **state)
{
    (void)state;
    somna_table t;
    parse("ISI_B,ISI_5,ISI_7\n17,12,9\n", &t);
    somna_survey_columns m;
    warnings w = {0, ""};
    somna_err err;
    somna_err_init(&err, on_warn, &w);
    assert_int_equal(somna_survey_columns_init(&m, SOMNA_SURVEY_ISI, NULL, &t, &err), 0);
    assert_int_equal(m.col[4], 1);
    assert_int_equal(somna_survey_columns_check(&m, &err), SOMNA_E_NOTFOUND); /* no total yet */
    assert_int_equal(somna_survey_columns_set(&m, "isi_total", "ISI_7", &err), 0);
    assert_int_equal(somna_survey_columns_check(&m, &err), 0);
    assert_int_equal(w.n, 1);
    assert_non_null(strstr(w.last, "ISI_5, ISI_7"));
    assert_int_equal(m.col[4], -1);
    somna_survey_result r;
    assert_int_equal(somna_survey_score_row(&m, 0, &r, &err), 0);
    assert_true(r.value[SOMNA_ISI_TOTAL] == 9);
    assert_string_equal(r.band, "subthreshold");
    somna_table_free(&t);
}

/* Two columns naming one field: the first is used and a warning names both. */
static void test_duplicate_columns(void **state)
{
    (void)state;
    somna_table t;
    parse("id,kss,KSS_score\nA,3,8\n", &t);
    somna_survey_columns m;
    warnings w = {0, ""};
    somna_err err;
    somna_err_init(&err, on_warn, &w);
    assert_int_equal(somna_survey_columns_init(&m, SOMNA_SURVEY_KSS, NULL, &t, &err), 0);
    assert_int_equal(m.col[0], 1);
    assert_int_equal(w.n, 1);
    assert_non_null(strstr(w.last, "kss and KSS_score"));
    somna_table_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find_and_map),
        cmocka_unit_test(test_total_sets_aside_items),
        cmocka_unit_test(test_duplicate_columns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
