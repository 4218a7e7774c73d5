/* Study description, creation, enrolment with screening, randomization. */
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "somna/fileio.h"
#include "somna/parse.h"
#include "somna/study.h"
#include "somna/table.h"
#include "study/study_internal.h"

static const char *const design_names[] = {"crossover", "parallel", "prepost", "dose-response", "n-of-1"};

const char *somna_study_design_name(int design)
{
    if (design < 0 || design > SOMNA_STUDY_NOF1)
        return "unknown";
    return design_names[design];
}

int somna_study_design_parse(const char *s)
{
    for (int i = 0; i <= SOMNA_STUDY_NOF1; i++)
        if (somna_strieq(s, design_names[i]))
            return i;
    if (somna_strieq(s, "pre-post"))
        return SOMNA_STUDY_PREPOST;
    if (somna_strieq(s, "dose"))
        return SOMNA_STUDY_DOSE;
    if (somna_strieq(s, "nof1"))
        return SOMNA_STUDY_NOF1;
    return -1;
}

/* Massage types named in the seeds; "control" is no massage. */
static const char *const massage_types[] = {"swedish", "relaxation", "sports", "deep-tissue", "myofascial",
                                            "foot", "back", "hot-stone", "control", "other", NULL};

/* Seed 001's general contraindications (and the local ones that rule out a
 * whole-body protocol); codes as written in screening files. */
const char *const somna_study_contraindications[] = {
    "fever", "contagious-disease", "dvt", "blood-clot", "uncontrolled-hypertension", "heart-condition",
    "kidney-condition", "liver-condition", "active-cancer", "acute-inflammation", "fresh-injury", "pregnancy",
    "open-wound", "burn", "varicose-veins", "skin-condition", NULL};

static int in_list(const char *const *list, const char *s)
{
    for (size_t i = 0; list[i]; i++)
        if (somna_strieq(list[i], s))
            return 1;
    return 0;
}

/* ---- description file -------------------------------------------------------------- */

static int copy_field(char *dst, size_t size, const char *src, const char *name, int line, const char *key,
                      somna_err *err)
{
    if (somna_strlcpy(dst, src, size) >= size)
        return somna_fail(err, SOMNA_E_FORMAT, "%s:%d: %s: value longer than %zu characters", name, line, key,
                          size - 1);
    return SOMNA_OK;
}

/* Split s at `sep` into at most max trimmed fields (in place). */
static int split_fields(char *s, char sep, char **fields, int max)
{
    int n = 0;
    char *p = s;
    while (n < max) {
        char *e = strchr(p, sep);
        if (e)
            *e = '\0';
        fields[n++] = somna_trim(p);
        if (!e)
            break;
        p = e + 1;
    }
    return n;
}

static int parse_condition(char *v, somna_study_desc *d, const char *name, int line, somna_err *err)
{
    if (d->n_conditions >= SOMNA_STUDY_MAX_CONDITIONS)
        return somna_fail(err, SOMNA_E_FORMAT, "%s:%d: more than %d conditions", name, line,
                          SOMNA_STUDY_MAX_CONDITIONS);
    char *f[7] = {0};
    int n = split_fields(v, '|', f, 7);
    if (n < 3 || n > 6)
        return somna_fail(err, SOMNA_E_FORMAT,
                          "%s:%d: condition needs 'CODE | LABEL | TYPE [| MINUTES | PRESSURE | REGION]', got %d "
                          "field(s)",
                          name, line, n);
    somna_study_condition *c = &d->conditions[d->n_conditions];
    memset(c, 0, sizeof *c);
    c->minutes = NAN;
    if (!*f[0] || strspn(f[0], "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != strlen(f[0]))
        return somna_fail(err, SOMNA_E_FORMAT, "%s:%d: condition code '%s' must be letters, digits, '-' or '_'",
                          name, line, f[0]);
    for (int i = 0; i < d->n_conditions; i++)
        if (somna_strieq(d->conditions[i].code, f[0]))
            return somna_fail(err, SOMNA_E_FORMAT, "%s:%d: condition '%s' given twice", name, line, f[0]);
    int rc = copy_field(c->code, sizeof c->code, f[0], name, line, "condition code", err);
    if (!rc)
        rc = copy_field(c->label, sizeof c->label, f[1], name, line, "condition label", err);
    if (rc)
        return rc;
    if (!in_list(massage_types, f[2]))
        return somna_fail(err, SOMNA_E_FORMAT,
                          "%s:%d: massage type '%s' unknown (swedish, relaxation, sports, deep-tissue, myofascial, "
                          "foot, back, hot-stone, control, other)",
                          name, line, f[2]);
    copy_field(c->massage_type, sizeof c->massage_type, f[2], name, line, "type", NULL);
    for (char *p = c->massage_type; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    if (n > 3 && *f[3]) {
        if (somna_parse_double_str(f[3], &c->minutes) != 0 || c->minutes < 0 || c->minutes > 600)
            return somna_fail(err, SOMNA_E_FORMAT, "%s:%d: condition '%s': minutes '%s' is not a number 0..600",
                              name, line, c->code, f[3]);
    }
    if (n > 4 && (rc = copy_field(c->pressure, sizeof c->pressure, f[4], name, line, "pressure", err)))
        return rc;
    if (n > 5 && (rc = copy_field(c->region, sizeof c->region, f[5], name, line, "region", err)))
        return rc;
    d->n_conditions++;
    return SOMNA_OK;
}

int somna_study_desc_parse(const char *text, const char *name, somna_study_desc *d, somna_err *err)
{
    memset(d, 0, sizeof *d);
    d->design = -1;
    d->psqi_min = NAN;
    somna_strlcpy(d->randomization, "", sizeof d->randomization);
    size_t len = strlen(text);
    char *buf = malloc(len + 1);
    if (!buf)
        return somna_fail(err, SOMNA_E_NOMEM, "out of memory");
    memcpy(buf, text, len + 1);
    int rc = SOMNA_OK, line = 0, have_seed = 0;
    char *save = buf;
    while (!rc && save) {
        char *l = save;
        char *nl = strchr(l, '\n');
        save = nl ? nl + 1 : NULL;
        if (nl)
            *nl = '\0';
        line++;
        char *hash = strchr(l, '#');
        if (hash)
            *hash = '\0';
        l = somna_trim(l);
        if (!*l)
            continue;
        char *eq = strchr(l, '=');
        if (!eq) {
            rc = somna_fail(err, SOMNA_E_FORMAT, "%s:%d: expected 'key = value', got '%s'", name, line, l);
            break;
        }
        *eq = '\0';
        char *k = somna_trim(l), *v = somna_trim(eq + 1);
        if (somna_strieq(k, "name")) {
            rc = copy_field(d->name, sizeof d->name, v, name, line, k, err);
        } else if (somna_strieq(k, "design")) {
            d->design = somna_study_design_parse(v);
            if (d->design < 0)
                rc = somna_fail(err, SOMNA_E_FORMAT,
                                "%s:%d: design '%s' unknown (crossover, parallel, prepost, dose-response, n-of-1)",
                                name, line, v);
        } else if (somna_strieq(k, "randomization")) {
            if (!somna_strieq(v, "permuted-blocks") && !somna_strieq(v, "latin-square") && !somna_strieq(v, "none"))
                rc = somna_fail(err, SOMNA_E_FORMAT,
                                "%s:%d: randomization '%s' unknown (permuted-blocks, latin-square, none)", name, line,
                                v);
            else
                rc = copy_field(d->randomization, sizeof d->randomization, v, name, line, k, err);
        } else if (somna_strieq(k, "seed")) {
            int64_t s;
            if (somna_parse_int64_str(v, &s) != 0 || s < 0)
                rc = somna_fail(err, SOMNA_E_FORMAT, "%s:%d: seed '%s' is not a non-negative integer", name, line, v);
            d->seed = (uint64_t)s;
            have_seed = 1;
        } else if (somna_strieq(k, "block_size")) {
            int64_t b;
            if (somna_parse_int64_str(v, &b) != 0 || b < 1 || b > 1000)
                rc = somna_fail(err, SOMNA_E_FORMAT, "%s:%d: block_size '%s' is not an integer 1..1000", name, line, v);
            d->block_size = (int)b;
        } else if (somna_strieq(k, "psqi_min")) {
            if (somna_parse_double_str(v, &d->psqi_min) != 0 || d->psqi_min < 0 || d->psqi_min > 21)
                rc = somna_fail(err, SOMNA_E_FORMAT, "%s:%d: psqi_min '%s' is not a number 0..21", name, line, v);
        } else if (somna_strieq(k, "control")) {
            rc = copy_field(d->control, sizeof d->control, v, name, line, k, err);
        } else if (somna_strieq(k, "outcomes")) {
            char *f[SOMNA_STUDY_MAX_OUTCOMES + 1];
            int n = split_fields(v, ',', f, SOMNA_STUDY_MAX_OUTCOMES + 1);
            if (n > SOMNA_STUDY_MAX_OUTCOMES)
                rc = somna_fail(err, SOMNA_E_FORMAT, "%s:%d: more than %d outcomes", name, line,
                                SOMNA_STUDY_MAX_OUTCOMES);
            for (int i = 0; !rc && i < n; i++) {
                if (!*f[i])
                    continue;
                rc = copy_field(d->outcomes[d->n_outcomes++], sizeof d->outcomes[0], f[i], name, line, k, err);
            }
        } else if (somna_strieq(k, "condition")) {
            rc = parse_condition(v, d, name, line, err);
        } else {
            rc = somna_fail(err, SOMNA_E_FORMAT,
                            "%s:%d: unknown key '%s' (name, design, randomization, seed, block_size, psqi_min, "
                            "control, outcomes, condition)",
                            name, line, k);
        }
    }
    free(buf);
    if (rc)
        return rc;
    if (!*d->name)
        return somna_fail(err, SOMNA_E_FORMAT, "%s: no 'name = ...' line", name);
    if (d->design < 0)
        return somna_fail(err, SOMNA_E_FORMAT, "%s: no 'design = ...' line", name);
    if (d->n_conditions < 1 || (d->n_conditions < 2 && d->design != SOMNA_STUDY_NOF1 &&
                                d->design != SOMNA_STUDY_PREPOST))
        return somna_fail(err, SOMNA_E_FORMAT, "%s: a %s study needs at least two 'condition = ...' lines", name,
                          somna_study_design_name(d->design));
    if (!*d->randomization)
        somna_strlcpy(d->randomization,
                      d->design == SOMNA_STUDY_CROSSOVER || d->design == SOMNA_STUDY_DOSE ? "latin-square"
                      : d->design == SOMNA_STUDY_NOF1                                  ? "none"
                                                                                        : "permuted-blocks",
                      sizeof d->randomization);
    if (!have_seed && !somna_strieq(d->randomization, "none"))
        return somna_fail(err, SOMNA_E_FORMAT, "%s: randomization needs 'seed = N' so it can be reproduced", name);
    if (*d->control) {
        int found = 0;
        for (int i = 0; i < d->n_conditions; i++)
            found |= somna_strieq(d->conditions[i].code, d->control);
        if (!found)
            return somna_fail(err, SOMNA_E_FORMAT, "%s: control '%s' is not one of the conditions", name, d->control);
    } else {
        somna_strlcpy(d->control, d->conditions[0].code, sizeof d->control);
        for (int i = 0; i < d->n_conditions; i++)
            if (somna_strieq(d->conditions[i].massage_type, "control")) {
                somna_strlcpy(d->control, d->conditions[i].code, sizeof d->control);
                break;
            }
    }
    int arms = d->n_conditions;
    if (d->block_size == 0)
        d->block_size = 2 * arms;
    if ((d->design == SOMNA_STUDY_PARALLEL || d->design == SOMNA_STUDY_PREPOST) &&
        somna_strieq(d->randomization, "permuted-blocks") && d->block_size % arms != 0)
        return somna_fail(err, SOMNA_E_FORMAT, "%s: block_size %d is not a multiple of the %d arms", name,
                          d->block_size, arms);
    return SOMNA_OK;
}

int somna_study_desc_read(const char *path, somna_study_desc *d, somna_err *err)
{
    char *text;
    size_t len;
    int rc = somna_read_file(path, 1 << 20, &text, &len, err);
    if (rc)
        return rc;
    if (strlen(text) != len) {
        free(text);
        return somna_fail(err, SOMNA_E_FORMAT, "%s: contains a NUL byte (not a text file)", path);
    }
    rc = somna_study_desc_parse(text, path, d, err);
    free(text);
    return rc;
}

/* ---- create / find / load -------------------------------------------------------------------- */

static void join_outcomes(const somna_study_desc *d, char *buf, size_t size)
{
    buf[0] = '\0';
    size_t used = 0;
    for (int i = 0; i < d->n_outcomes; i++) {
        int w = snprintf(buf + used, size - used, "%s%s", i ? "," : "", d->outcomes[i]);
        if (w < 0 || (size_t)w >= size - used)
            break;
        used += (size_t)w;
    }
}

int somna_study_init(somna_db *db, const somna_study_desc *d, int64_t *study_id, somna_err *err)
{
    int rc = somna_study_migrate(db, err);
    if (rc)
        return rc;
    if ((rc = somna_db_begin(db, err)))
        return rc;
    int64_t exists = 0;
    somna_dbv pn = somna_dbv_text(d->name);
    rc = somna_db_query_int(db, "SELECT count(*) FROM study WHERE name = ?", &pn, 1, &exists, err);
    if (!rc && exists)
        rc = somna_fail(err, SOMNA_E_ARG, "%s: a study named '%s' already exists", somna_db_name(db), d->name);
    char seed[24], outcomes[SOMNA_STUDY_MAX_OUTCOMES * 50];
    snprintf(seed, sizeof seed, "%" PRIu64, d->seed);
    join_outcomes(d, outcomes, sizeof outcomes);
    if (!rc) {
        somna_dbv p[] = {somna_dbv_text(d->name),          somna_dbv_text(somna_study_design_name(d->design)),
                         somna_dbv_text(d->randomization), somna_dbv_text(seed),
                         somna_dbv_int(d->block_size),     somna_dbv_real(d->psqi_min),
                         somna_dbv_text(d->control),       somna_dbv_text(outcomes)};
        rc = somna_db_run(db,
                          "INSERT INTO study (name, design, randomization, seed, block_size, psqi_min, control, "
                          "outcomes, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, @NOW@)",
                          p, 8, study_id, NULL, err);
    }
    for (int i = 0; !rc && i < d->n_conditions; i++) {
        const somna_study_condition *c = &d->conditions[i];
        somna_dbv p[] = {somna_dbv_int(*study_id),       somna_dbv_text(c->code),     somna_dbv_text(c->label),
                         somna_dbv_text(c->massage_type), somna_dbv_real(c->minutes), somna_dbv_text(c->pressure),
                         somna_dbv_text(c->region),       somna_dbv_int(i)};
        rc = somna_db_run(db,
                          "INSERT INTO condition (study_id, code, label, massage_type, minutes, pressure, region, ord) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                          p, 8, NULL, NULL, err);
    }
    rc = somna_db_end(db, rc, err);
    return rc;
}

int somna_study_find(somna_db *db, const char *name, int64_t *study_id, somna_err *err)
{
    int v;
    int rc = somna_study_schema_version(db, &v, err);
    if (rc)
        return rc;
    if (v == 0)
        return somna_fail(err, SOMNA_E_NOTFOUND, "%s: not a somna study database (run 'somna study init' first)",
                          somna_db_name(db));
    if (v < SOMNA_STUDY_SCHEMA_VERSION && (rc = somna_study_migrate(db, err)))
        return rc;
    somna_db_result r;
    if (name && *name) {
        somna_dbv p = somna_dbv_text(name);
        rc = somna_db_query(db, "SELECT id FROM study WHERE name = ?", &p, 1, &r, err);
    } else {
        rc = somna_db_query(db, "SELECT id, name FROM study ORDER BY id", NULL, 0, &r, err);
    }
    if (rc)
        return rc;
    if (r.n_rows == 1) {
        *study_id = somna_db_get_int(&r, 0, 0, 0);
    } else if (r.n_rows == 0) {
        rc = somna_fail(err, SOMNA_E_NOTFOUND, "%s: no study%s%s", somna_db_name(db), name && *name ? " named " : "",
                        name && *name ? name : "");
    } else {
        rc = somna_fail(err, SOMNA_E_ARG, "%s: holds %zu studies; choose one with --study NAME", somna_db_name(db),
                        r.n_rows);
    }
    somna_db_result_free(&r);
    return rc;
}

int somna_study_load(somna_db *db, int64_t study_id, somna_study_desc *d, somna_err *err)
{
    memset(d, 0, sizeof *d);
    somna_db_result r;
    somna_dbv p = somna_dbv_int(study_id);
    int rc = somna_db_query(db,
                            "SELECT name, design, randomization, seed, block_size, psqi_min, control, outcomes "
                            "FROM study WHERE id = ?",
                            &p, 1, &r, err);
    if (rc)
        return rc;
    if (r.n_rows != 1) {
        somna_db_result_free(&r);
        return somna_fail(err, SOMNA_E_NOTFOUND, "%s: no study with id %" PRId64, somna_db_name(db), study_id);
    }
    const char *t;
    somna_strlcpy(d->name, (t = somna_db_get_text(&r, 0, 0)) ? t : "", sizeof d->name);
    d->design = somna_study_design_parse((t = somna_db_get_text(&r, 0, 1)) ? t : "");
    somna_strlcpy(d->randomization, (t = somna_db_get_text(&r, 0, 2)) ? t : "", sizeof d->randomization);
    int64_t seed = 0;
    somna_parse_int64_str((t = somna_db_get_text(&r, 0, 3)) ? t : "0", &seed);
    d->seed = (uint64_t)seed;
    d->block_size = (int)somna_db_get_int(&r, 0, 4, 0);
    d->psqi_min = somna_db_get_double(&r, 0, 5);
    somna_strlcpy(d->control, (t = somna_db_get_text(&r, 0, 6)) ? t : "", sizeof d->control);
    char outs[SOMNA_STUDY_MAX_OUTCOMES * 50];
    somna_strlcpy(outs, (t = somna_db_get_text(&r, 0, 7)) ? t : "", sizeof outs);
    somna_db_result_free(&r);
    if (*outs) {
        char *f[SOMNA_STUDY_MAX_OUTCOMES];
        int n = split_fields(outs, ',', f, SOMNA_STUDY_MAX_OUTCOMES);
        for (int i = 0; i < n; i++)
            somna_strlcpy(d->outcomes[d->n_outcomes++], f[i], sizeof d->outcomes[0]);
    }
    rc = somna_db_query(db,
                        "SELECT code, label, massage_type, minutes, pressure, region FROM condition "
                        "WHERE study_id = ? ORDER BY ord",
                        &p, 1, &r, err);
    if (rc)
        return rc;
    for (size_t i = 0; i < r.n_rows && i < SOMNA_STUDY_MAX_CONDITIONS; i++) {
        somna_study_condition *c = &d->conditions[d->n_conditions++];
        somna_strlcpy(c->code, (t = somna_db_get_text(&r, i, 0)) ? t : "", sizeof c->code);
        somna_strlcpy(c->label, (t = somna_db_get_text(&r, i, 1)) ? t : "", sizeof c->label);
        somna_strlcpy(c->massage_type, (t = somna_db_get_text(&r, i, 2)) ? t : "", sizeof c->massage_type);
        c->minutes = somna_db_get_double(&r, i, 3);
        somna_strlcpy(c->pressure, (t = somna_db_get_text(&r, i, 4)) ? t : "", sizeof c->pressure);
        somna_strlcpy(c->region, (t = somna_db_get_text(&r, i, 5)) ? t : "", sizeof c->region);
    }
    somna_db_result_free(&r);
    return SOMNA_OK;
}

/* ---- enrolment ------------------------------------------------------------------------------- */

/* Check a contraindication list; fills `found` with the first listed code
 * present.  Returns -1 and names the unknown word in `bad` otherwise. */
static int check_contra(const char *list, char *found, size_t fsize, char *bad, size_t bsize)
{
    found[0] = '\0';
    if (!list)
        return 0;
    char buf[512];
    somna_strlcpy(buf, list, sizeof buf);
    char *p = buf;
    while (p) {
        char *e = p + strcspn(p, ",;");
        char sep = *e;
        *e = '\0';
        char *w = somna_trim(p);
        if (*w && !somna_strieq(w, "none")) {
            if (!in_list(somna_study_contraindications, w)) {
                somna_strlcpy(bad, w, bsize);
                return -1;
            }
            if (!found[0])
                somna_strlcpy(found, w, fsize);
            else if (strlen(found) + strlen(w) + 3 < fsize) {
                size_t l = strlen(found);
                snprintf(found + l, fsize - l, ", %s", w);
            }
        }
        p = sep ? e + 1 : NULL;
    }
    return 0;
}

static int enrol_one(somna_db *db, int64_t study_id, const somna_study_desc *d, const somna_study_screen *s,
                     int *eligible, char *reason, size_t reason_size, somna_err *err)
{
    if (!s->code || !*s->code)
        return somna_fail(err, SOMNA_E_ARG, "participant code is empty");
    if (strlen(s->code) > 31)
        return somna_fail(err, SOMNA_E_ARG, "participant code '%s' longer than 31 characters", s->code);
    char found[256], bad[64];
    if (check_contra(s->contraindications, found, sizeof found, bad, sizeof bad) != 0)
        return somna_fail(err, SOMNA_E_FORMAT, "participant %s: contraindication '%s' unknown (use: fever, dvt, "
                                               "uncontrolled-hypertension, active-cancer, acute-inflammation, "
                                               "pregnancy, ... see docs/study.md; 'none' for none)",
                          s->code, bad);
    if (!isnan(s->psqi) && (s->psqi < 0 || s->psqi > 21))
        return somna_fail(err, SOMNA_E_FORMAT, "participant %s: PSQI global %g outside 0..21", s->code, s->psqi);
    *eligible = 1;
    snprintf(reason, reason_size, "eligible");
    if (found[0]) {
        *eligible = 0;
        snprintf(reason, reason_size, "contraindication: %s", found);
    } else if (!isnan(d->psqi_min) && isnan(s->psqi)) {
        *eligible = 0;
        snprintf(reason, reason_size, "PSQI global missing (inclusion needs PSQI > %g)", d->psqi_min);
    } else if (!isnan(d->psqi_min) && !(s->psqi > d->psqi_min)) {
        *eligible = 0;
        snprintf(reason, reason_size, "PSQI global %g <= %g (not a poor sleeper)", s->psqi, d->psqi_min);
    }
    int64_t order = 0, pid = 0;
    somna_dbv ps = somna_dbv_int(study_id);
    int rc = somna_db_query_int(db, "SELECT count(*) FROM participant WHERE study_id = ?", &ps, 1, &order, err);
    if (rc)
        return rc;
    somna_dbv pc[] = {somna_dbv_int(study_id), somna_dbv_text(s->code)};
    int64_t dup = 0;
    if ((rc = somna_db_query_int(db, "SELECT count(*) FROM participant WHERE study_id = ? AND code = ?", pc, 2, &dup,
                                 err)))
        return rc;
    if (dup)
        return somna_fail(err, SOMNA_E_ARG, "participant %s is already enrolled", s->code);
    somna_dbv p[] = {somna_dbv_int(study_id),
                     somna_dbv_text(s->code),
                     somna_dbv_real(s->age),
                     somna_dbv_text(s->sex && *s->sex ? s->sex : NULL),
                     somna_dbv_text(s->stratum && *s->stratum ? s->stratum : ""),
                     somna_dbv_text(*eligible ? "enrolled" : "excluded"),
                     somna_dbv_int(order + 1)};
    rc = somna_db_run(db,
                      "INSERT INTO participant (study_id, code, age, sex, stratum, status, enrol_order) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?)",
                      p, 7, &pid, NULL, err);
    if (rc)
        return rc;
    somna_dbv q[] = {somna_dbv_int(pid), somna_dbv_text(s->date && *s->date ? s->date : NULL),
                     somna_dbv_real(s->psqi), somna_dbv_text(found), somna_dbv_int(*eligible),
                     somna_dbv_text(reason)};
    return somna_db_run(db,
                        "INSERT INTO screening (participant_id, screened_on, psqi_global, contraindications, "
                        "eligible, reason) VALUES (?, ?, ?, ?, ?, ?)",
                        q, 6, NULL, NULL, err);
}

int somna_study_enrol(somna_db *db, int64_t study_id, const somna_study_screen *s, int *eligible, char *reason,
                      size_t reason_size, somna_err *err)
{
    somna_study_desc d;
    int rc = somna_study_load(db, study_id, &d, err);
    if (rc)
        return rc;
    if ((rc = somna_db_begin(db, err)))
        return rc;
    rc = enrol_one(db, study_id, &d, s, eligible, reason, reason_size, err);
    rc = somna_db_end(db, rc, err);
    return rc;
}

static const char *opt_cell(const somna_table *t, size_t row, long col)
{
    return col >= 0 ? somna_table_cell(t, row, (size_t)col) : NULL;
}

int somna_study_enrol_csv(somna_db *db, int64_t study_id, const char *path, somna_study_import_stats *st,
                          somna_err *err)
{
    memset(st, 0, sizeof *st);
    somna_study_desc d;
    int rc = somna_study_load(db, study_id, &d, err);
    if (rc)
        return rc;
    somna_table t;
    if ((rc = somna_table_read(path, NULL, &t, err)))
        return rc;
    size_t c_id;
    long c_age = somna_table_col(&t, "age"), c_sex = somna_table_col(&t, "sex"),
         c_str = somna_table_col(&t, "stratum"), c_psqi = somna_table_col(&t, "psqi"),
         c_con = somna_table_col(&t, "contraindications"), c_date = somna_table_col(&t, "date");
    if (c_psqi < 0)
        c_psqi = somna_table_col(&t, "psqi_global");
    if (c_psqi < 0)
        c_psqi = somna_table_col(&t, "psqi_screening");
    if ((rc = somna_table_require_col(&t, "participant", &c_id, err))) {
        somna_table_free(&t);
        return rc;
    }
    if ((rc = somna_db_begin(db, err))) {
        somna_table_free(&t);
        return rc;
    }
    for (size_t i = 0; !rc && i < t.n_rows; i++) {
        somna_study_screen s = {0};
        s.code = somna_table_cell(&t, i, c_id);
        s.age = NAN;
        s.psqi = NAN;
        if (c_age >= 0 && !somna_table_is_missing(&t, i, (size_t)c_age))
            rc = somna_table_get_double(&t, i, (size_t)c_age, &s.age, err);
        if (!rc && c_psqi >= 0 && !somna_table_is_missing(&t, i, (size_t)c_psqi))
            rc = somna_table_get_double(&t, i, (size_t)c_psqi, &s.psqi, err);
        if (rc)
            break;
        s.sex = opt_cell(&t, i, c_sex);
        s.stratum = opt_cell(&t, i, c_str);
        s.contraindications = opt_cell(&t, i, c_con);
        s.date = opt_cell(&t, i, c_date);
        int eligible;
        char reason[256];
        rc = enrol_one(db, study_id, &d, &s, &eligible, reason, sizeof reason, err);
        if (rc) {
            somna_err_prefix(err, "%s:%zu", path, t.line[i]);
            break;
        }
        st->rows++;
        st->inserted++;
        st->excluded += !eligible;
    }
    rc = somna_db_end(db, rc, err);
    somna_table_free(&t);
    return rc;
}

/* ---- randomization ---------------------------------------------------------------------------------- */

/* Williams (1949) balanced Latin square: first row 0, 1, k-1, 2, k-2, ...;
 * row r adds r (mod k).  For odd k the mirrored rows are appended so that
 * every condition follows every other equally often (first-order carry-over
 * balance). */
int somna_study_williams(int k, int *rows_out, int max_rows)
{
    if (k < 1 || k > SOMNA_STUDY_MAX_CONDITIONS)
        return -1;
    int rows = (k % 2 == 0 || k == 1) ? k : 2 * k;
    if (rows > max_rows)
        return -1;
    int first[SOMNA_STUDY_MAX_CONDITIONS];
    for (int j = 0, lo = 1, hi = k - 1; j < k; j++) {
        if (j == 0)
            first[j] = 0;
        else if (j % 2 == 1)
            first[j] = lo++;
        else
            first[j] = hi--;
    }
    for (int r = 0; r < k; r++)
        for (int j = 0; j < k; j++)
            rows_out[r * k + j] = (first[j] + r) % k;
    if (rows == 2 * k)
        for (int r = 0; r < k; r++)
            for (int j = 0; j < k; j++)
                rows_out[(k + r) * k + j] = rows_out[r * k + (k - 1 - j)];
    return rows;
}

int somna_study_randomize(somna_db *db, int64_t study_id, long *n_assigned, somna_err *err)
{
    if (n_assigned)
        *n_assigned = 0;
    somna_study_desc d;
    int rc = somna_study_load(db, study_id, &d, err);
    if (rc)
        return rc;
    if (somna_strieq(d.randomization, "none"))
        return somna_fail(err, SOMNA_E_ARG, "study '%s' has randomization = none", d.name);
    int k = d.n_conditions;
    int crossover = d.design == SOMNA_STUDY_CROSSOVER || d.design == SOMNA_STUDY_DOSE;
    int square[2 * SOMNA_STUDY_MAX_CONDITIONS * SOMNA_STUDY_MAX_CONDITIONS];
    int n_seq = crossover ? somna_study_williams(k, square, 2 * SOMNA_STUDY_MAX_CONDITIONS) : 0;
    if ((rc = somna_db_begin(db, err)))
        return rc;
    /* Permuted blocks (Matts & Lachin 1988, Controlled Clin Trials 9:327)
     * within strata; for crossovers the block elements are the Williams
     * sequences.  Allocation continues the sequence: all randomized participants of a
     * stratum so far are replayed from the seed, then new ones take the
     * next slots.  The same seed therefore always gives the same list
     * whether participants are randomized in one batch or as they come. */
    somna_dbv ps = somna_dbv_int(study_id);
    somna_db_result r;
    rc = somna_db_query(db,
                        "SELECT p.id, p.code, p.stratum, (p.randomized_at IS NOT NULL) FROM participant p "
                        "WHERE p.study_id = ? AND p.status IN ('enrolled', 'randomized') "
                        "ORDER BY p.stratum, p.enrol_order",
                        &ps, 1, &r, err);
    somna_db_result cond = {0};
    if (!rc)
        rc = somna_db_query(db, "SELECT id, code FROM condition WHERE study_id = ? ORDER BY ord", &ps, 1, &cond, err);
    gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
    if (!rc && !g)
        rc = somna_fail(err, SOMNA_E_NOMEM, "out of memory");
    size_t i = 0;
    int block_len = crossover ? n_seq : d.block_size;
    int *block = block_len > 0 ? malloc((size_t)block_len * sizeof *block) : NULL;
    if (!rc && !block)
        rc = somna_fail(err, SOMNA_E_NOMEM, "out of memory");
    while (!rc && i < r.n_rows) {
        /* one stratum: a stream seeded by (study seed, stratum name) */
        const char *stratum = somna_db_get_text(&r, i, 2);
        uint64_t h = 1469598103934665603ULL; /* FNV-1a hash (Fowler, Noll & Vo) of the stratum name */
        for (const char *c = stratum ? stratum : ""; *c; c++)
            h = (h ^ (unsigned char)*c) * 1099511628211ULL;
        gsl_rng_set(g, (unsigned long)((d.seed ^ h) & 0xffffffffUL) ^ (unsigned long)(d.seed >> 32));
        size_t pos = 0;
        for (; i < r.n_rows; i++, pos++) {
            const char *s2 = somna_db_get_text(&r, i, 2);
            if (strcmp(s2 ? s2 : "", stratum ? stratum : "") != 0)
                break;
            if (pos % (size_t)block_len == 0) {
                for (int b = 0; b < block_len; b++)
                    block[b] = crossover ? b : b % k;
                gsl_ran_shuffle(g, block, (size_t)block_len, sizeof *block);
            }
            if (somna_db_get_int(&r, i, 3, 0))
                continue; /* already allocated: its slot is consumed, not changed */
            int slot = block[pos % (size_t)block_len];
            char seqbuf[SOMNA_STUDY_MAX_CONDITIONS * 33] = "";
            int64_t arm = 0;
            if (crossover) {
                size_t used = 0;
                for (int j = 0; j < k; j++) {
                    const char *code = somna_db_get_text(&cond, (size_t)square[slot * k + j], 1);
                    int w = snprintf(seqbuf + used, sizeof seqbuf - used, "%s%s", j ? "," : "", code ? code : "");
                    if (w > 0)
                        used += (size_t)w;
                }
            } else {
                arm = somna_db_get_int(&cond, (size_t)slot, 0, 0);
            }
            somna_dbv p[] = {crossover ? somna_dbv_null() : somna_dbv_int(arm),
                             somna_dbv_text(crossover ? seqbuf : NULL), somna_dbv_int(somna_db_get_int(&r, i, 0, 0))};
            rc = somna_db_run(db,
                              "UPDATE participant SET arm_id = ?, sequence = ?, status = 'randomized', "
                              "randomized_at = @NOW@ WHERE id = ?",
                              p, 3, NULL, NULL, err);
            if (rc)
                break;
            if (n_assigned)
                (*n_assigned)++;
        }
    }
    free(block);
    if (g)
        gsl_rng_free(g);
    somna_db_result_free(&r);
    somna_db_result_free(&cond);
    rc = somna_db_end(db, rc, err);
    return rc;
}
