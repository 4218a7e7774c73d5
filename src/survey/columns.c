/* survey — which column of a table holds which instrument field.
 *
 * Studies name their columns in many ways ("PSQI 5a", "psqi_05a", "Q5a");
 * the standard names and aliases catch the common ones, explicit mappings
 * the rest.  One subtlety is handled here rather than left to callers: a
 * file that keeps only totals may have columns that *look* like items
 * ("ISI_5" = the ISI total at week 5).  An incomplete set of item columns
 * next to a total is therefore set aside, loudly, and the total is used.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "somna/parse.h"
#include "somna/table.h"
#include "survey/survey_internal.h"

static int loose_eq(const char *a, const char *b)
{
    for (;;) {
        while (*a && !isalnum((unsigned char)*a))
            a++;
        while (*b && !isalnum((unsigned char)*b))
            b++;
        if (!*a || !*b)
            return !*a && !*b;
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return 0;
        a++;
        b++;
    }
}

static long find_column(const somna_table *t, const char *const *names)
{
    for (size_t k = 0; names[k]; k++)
        for (size_t c = 0; c < t->n_cols; c++)
            if (loose_eq(t->header[c], names[k]))
                return (long)c;
    return -1;
}

int somna_survey_columns_init(somna_survey_columns *m, somna_survey_kind kind, const somna_survey_opts *opts,
                              const somna_table *t, somna_err *err)
{
    static const char *const id_names[] = {"id", "participant", "participant_id", "subject", "subject_id",
                                           "record_id", "pid", "subj", "patient_id", NULL};
    static const char *const date_names[] = {"date", "night", "diary_date", "visit_date", "session_date",
                                             "night_date", NULL};
    if (!m || !t || (unsigned)kind >= SOMNA_SURVEY_N_KINDS)
        return somna_fail(err, SOMNA_E_ARG, "somna_survey_columns_init: invalid argument");
    if (kind == SOMNA_SURVEY_SCALE) {
        if (!opts || !opts->scale)
            return somna_fail(err, SOMNA_E_ARG, "somna_survey_columns_init: the scale kind needs opts->scale");
        int rc = somna_survey_scale_check(opts->scale, err);
        if (rc)
            return rc;
    }
    memset(m, 0, sizeof *m);
    m->kind = kind;
    m->opts = opts;
    m->table = t;
    m->n_fields = somna_survey_n_fields(kind, opts);
    if (m->n_fields > SOMNA_SURVEY_MAX_FIELDS)
        return somna_fail(err, SOMNA_E_ARG, "%zu fields: more than %d", m->n_fields, SOMNA_SURVEY_MAX_FIELDS);
    for (size_t i = 0; i < m->n_fields; i++) {
        m->field[i] = somna_survey_field_name(kind, opts, i);
        m->col[i] = -1;
        for (size_t c = 0; c < t->n_cols; c++) {
            if (!somna_survey_field_matches(kind, opts, i, t->header[c]))
                continue;
            if (m->col[i] < 0)
                m->col[i] = (long)c;
            else
                somna_warn(err, "%s: columns %s and %s both name field %s; using %s (map it to choose)", t->name,
                           t->header[m->col[i]], t->header[c], m->field[i], t->header[m->col[i]]);
        }
    }
    m->id_col = find_column(t, id_names);
    m->date_col = find_column(t, date_names);
    return SOMNA_OK;
}

int somna_survey_columns_set(somna_survey_columns *m, const char *field, const char *column, somna_err *err)
{
    if (!m || !field || !column)
        return somna_fail(err, SOMNA_E_ARG, "somna_survey_columns_set: NULL argument");
    long col = somna_table_col(m->table, column);
    if (col < 0)
        return somna_fail(err, SOMNA_E_NOTFOUND, "column '%s' is not in %s", column, m->table->name);
    if (somna_strieq(field, "id")) {
        m->id_col = col;
        return SOMNA_OK;
    }
    if (somna_strieq(field, "date")) {
        m->date_col = col;
        return SOMNA_OK;
    }
    for (size_t i = 0; i < m->n_fields; i++)
        if (somna_strieq(field, m->field[i]) || somna_survey_field_matches(m->kind, m->opts, i, field)) {
            m->col[i] = col;
            return SOMNA_OK;
        }
    return somna_fail(err, SOMNA_E_NOTFOUND, "'%s' is not a field of %s (see 'somna score %s --fields')", field,
                      somna_survey_kind_name(m->kind), somna_survey_kind_name(m->kind));
}

static int is_total(const char *f)
{
    return strstr(f, "_total") != NULL;
}

int somna_survey_columns_check(somna_survey_columns *m, somna_err *err)
{
    const somna_table *t = m->table;
    long total_col = -1;
    size_t n_items = 0, n_item_cols = 0;
    int tib_found = 0;
    for (size_t i = 0; i < m->n_fields; i++) {
        if (is_total(m->field[i])) {
            total_col = m->col[i];
        } else if (strcmp(m->field[i], "psqi_tib") == 0) {
            tib_found = m->col[i] >= 0;
        } else if (!somna_survey_field_optional(m->kind, m->opts, i)) {
            n_items++;
            n_item_cols += m->col[i] >= 0;
        }
    }
    if (total_col >= 0 && n_item_cols > 0 && n_item_cols < n_items) {
        char aside[1024] = "";
        size_t o = 0;
        for (size_t i = 0; i < m->n_fields; i++) {
            if (is_total(m->field[i]) || m->col[i] < 0)
                continue;
            int n = snprintf(aside + o, sizeof aside - o, "%s%s", o ? ", " : "", t->header[m->col[i]]);
            if (n > 0 && (size_t)n < sizeof aside - o)
                o += (size_t)n;
            m->col[i] = -1;
        }
        somna_warn(err, "%s: only %zu of %zu item columns present (%s): scoring the recorded total column %s instead",
                   t->name, n_item_cols, n_items, aside, t->header[total_col]);
        n_item_cols = 0;
    }
    char missing[2048] = "";
    size_t o = 0;
    for (size_t i = 0; i < m->n_fields; i++) {
        const char *f = m->field[i];
        if (m->col[i] >= 0 || somna_survey_field_optional(m->kind, m->opts, i))
            continue;
        if (total_col >= 0 && n_item_cols == 0)
            continue;
        if (tib_found && (strcmp(f, "psqi_01") == 0 || strcmp(f, "psqi_03") == 0))
            continue;
        int n = snprintf(missing + o, sizeof missing - o, "%s%s", o ? ", " : "", f);
        if (n > 0 && (size_t)n < sizeof missing - o)
            o += (size_t)n;
    }
    if (o)
        return somna_fail(err, SOMNA_E_NOTFOUND,
                          "%s: no column for %s field(s) %s; name the columns so, or map them with --map / "
                          "--col FIELD=COLUMN (fields: somna score %s --fields)",
                          t->name, somna_survey_kind_name(m->kind), missing, somna_survey_kind_name(m->kind));
    return SOMNA_OK;
}

const char *somna_survey_columns_name(const somna_survey_columns *m, const char *field)
{
    if (!field || !field[0])
        return NULL;
    for (size_t i = 0; i < m->n_fields; i++)
        if (strcmp(m->field[i], field) == 0)
            return m->col[i] >= 0 ? m->table->header[m->col[i]] : field;
    return field;
}

typedef struct row_ctx {
    const somna_survey_columns *m;
    size_t row;
    size_t last; /* index of the last field asked for */
} row_ctx;

static const char *row_get(void *vctx, const char *field)
{
    row_ctx *c = vctx;
    const somna_survey_columns *m = c->m;
    /* Instruments ask for their fields mostly in table order: start after
     * the last hit so a lookup is usually one comparison. */
    for (size_t k = 0; k < m->n_fields; k++) {
        size_t i = (c->last + 1 + k) % m->n_fields;
        if (strcmp(m->field[i], field) == 0) {
            c->last = i;
            return m->col[i] < 0 ? NULL : somna_table_cell(m->table, c->row, (size_t)m->col[i]);
        }
    }
    return NULL;
}

int somna_survey_score_row(const somna_survey_columns *m, size_t row, somna_survey_result *res, somna_err *err)
{
    if (!m || !m->table || row >= m->table->n_rows)
        return somna_fail(err, SOMNA_E_ARG, "somna_survey_score_row: row %zu out of range", row);
    row_ctx c = {m, row, m->n_fields ? m->n_fields - 1 : 0};
    return somna_survey_score(m->kind, m->opts, row_get, &c, res, err);
}
