/* somna — hypnogram readers: stage labels, format detection, the text-like
 * formats (one stage per line, Luna .eannot, DREAMS, Walch psg_labels),
 * CSV/TSV tables, interval -> epoch conversion and 5-s -> 30-s majority
 * aggregation.  Noxturnal and EDF+ live in their own files.
 *
 * Stage vocabularies: AASM (Iber 2007) W/N1/N2/N3/R; Rechtschaffen & Kales
 * 1968 W/1/2/3/4/REM/MT with S3+S4 -> N3 (AASM 2007 conversion); YASA's
 * integer codes; DREAMS (Devuyst 2011) 5 W, 4 REM, 3..0 S1..S4; Walch et
 * al. 2019 0 W, 1..4 N1..N4, 5 REM.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "somna/fileio.h"
#include "somna/hypno.h"
#include "somna/parse.h"
#include "somna/table.h"
#include "sleep/hypno_internal.h"

#define HYPNO_MAX_FILE ((size_t)512 * 1024 * 1024)
#define HYPNO_MAX_EPOCHS ((size_t)10 * 1000 * 1000)

/* ------------------------------------------------------------------------ */
/* Stage names and labels                                                     */
/* ------------------------------------------------------------------------ */

const char *somna_hypno_stage_name(int stage)
{
    switch (stage) {
    case SOMNA_STAGE_W: return "W";
    case SOMNA_STAGE_N1: return "N1";
    case SOMNA_STAGE_N2: return "N2";
    case SOMNA_STAGE_N3: return "N3";
    case SOMNA_STAGE_REM: return "REM";
    case SOMNA_STAGE_ART: return "ART";
    case SOMNA_STAGE_UNSCORED: return "UNS";
    default: return "?";
    }
}

typedef struct label_map {
    const char *label;
    int stage;
} label_map;

/* Labels compared case-insensitively after trimming.  "Éveil" is UTF-8. */
static const label_map k_labels[] = {
    {"W", SOMNA_STAGE_W}, {"Wake", SOMNA_STAGE_W}, {"Wakefulness", SOMNA_STAGE_W},
    {"AWA", SOMNA_STAGE_W}, {"Eveil", SOMNA_STAGE_W}, {"\xc3\x89veil", SOMNA_STAGE_W},
    {"\xc3\xa9veil", SOMNA_STAGE_W}, {"Stage W", SOMNA_STAGE_W}, {"Sleep stage W", SOMNA_STAGE_W},
    {"SW", SOMNA_STAGE_W}, {"N1", SOMNA_STAGE_N1}, {"S1", SOMNA_STAGE_N1}, {"NREM1", SOMNA_STAGE_N1},
    {"Stage 1", SOMNA_STAGE_N1}, {"Sleep stage 1", SOMNA_STAGE_N1}, {"Sleep stage N1", SOMNA_STAGE_N1},
    {"N2", SOMNA_STAGE_N2}, {"S2", SOMNA_STAGE_N2}, {"NREM2", SOMNA_STAGE_N2}, {"Stage 2", SOMNA_STAGE_N2},
    {"Sleep stage 2", SOMNA_STAGE_N2}, {"Sleep stage N2", SOMNA_STAGE_N2}, {"N3", SOMNA_STAGE_N3},
    {"S3", SOMNA_STAGE_N3}, {"S4", SOMNA_STAGE_N3}, {"N4", SOMNA_STAGE_N3}, {"NREM3", SOMNA_STAGE_N3},
    {"NREM4", SOMNA_STAGE_N3}, {"Stage 3", SOMNA_STAGE_N3}, {"Stage 4", SOMNA_STAGE_N3},
    {"Sleep stage 3", SOMNA_STAGE_N3}, {"Sleep stage 4", SOMNA_STAGE_N3}, {"Sleep stage N3", SOMNA_STAGE_N3},
    {"Sleep stage N4", SOMNA_STAGE_N3}, {"SWS", SOMNA_STAGE_N3}, {"R", SOMNA_STAGE_REM},
    {"REM", SOMNA_STAGE_REM}, {"Stage R", SOMNA_STAGE_REM}, {"Stage REM", SOMNA_STAGE_REM},
    {"Sleep stage R", SOMNA_STAGE_REM}, {"Sleep stage REM", SOMNA_STAGE_REM},
    {"Sommeil paradoxal", SOMNA_STAGE_REM}, {"Paradoxal", SOMNA_STAGE_REM}, {"SP", SOMNA_STAGE_REM},
    {"Movement time", SOMNA_STAGE_ART}, {"Movement", SOMNA_STAGE_ART}, {"MT", SOMNA_STAGE_ART},
    {"M", SOMNA_STAGE_ART}, {"ART", SOMNA_STAGE_ART}, {"Artefact", SOMNA_STAGE_ART},
    {"Artifact", SOMNA_STAGE_ART}, {"?", SOMNA_STAGE_UNSCORED}, {"Sleep stage ?", SOMNA_STAGE_UNSCORED},
    {"Unscored", SOMNA_STAGE_UNSCORED}, {"Unknown", SOMNA_STAGE_UNSCORED}, {"UNS", SOMNA_STAGE_UNSCORED},
    {"U", SOMNA_STAGE_UNSCORED}, {"NS", SOMNA_STAGE_UNSCORED},
    /* Luna: L = lights on (outside the recording period): not scored here. */
    {"L", SOMNA_STAGE_UNSCORED},
};

int somna_hypno_parse_label(const char *label, int *stage)
{
    if (!label)
        return -1;
    while (*label == ' ' || *label == '\t' || *label == '"')
        label++;
    size_t len = strlen(label);
    while (len && (label[len - 1] == ' ' || label[len - 1] == '\t' || label[len - 1] == '\r' ||
                   label[len - 1] == '"'))
        len--;
    if (len == 0)
        return -1;
    for (size_t i = 0; i < sizeof k_labels / sizeof k_labels[0]; i++) {
        if (strlen(k_labels[i].label) == len && somna_strnieq(k_labels[i].label, label, len)) {
            *stage = k_labels[i].stage;
            return 0;
        }
    }
    return -1;
}

/* ------------------------------------------------------------------------ */
/* Formats                                                                    */
/* ------------------------------------------------------------------------ */

static const char *const k_format_names[] = {"auto", "edf", "table", "eannot", "text", "noxturnal", "dreams",
                                             "walch"};

const char *somna_hypno_format_name(somna_hypno_format f)
{
    if ((int)f < 0 || (size_t)f >= sizeof k_format_names / sizeof k_format_names[0])
        return "?";
    return k_format_names[f];
}

int somna_hypno_format_parse(const char *name, somna_hypno_format *f)
{
    for (size_t i = 0; i < sizeof k_format_names / sizeof k_format_names[0]; i++)
        if (somna_strieq(name, k_format_names[i])) {
            *f = (somna_hypno_format)i;
            return 0;
        }
    if (somna_strieq(name, "csv") || somna_strieq(name, "tsv")) {
        *f = SOMNA_HYPNO_FMT_TABLE;
        return 0;
    }
    if (somna_strieq(name, "edf+") || somna_strieq(name, "sleep-edf")) {
        *f = SOMNA_HYPNO_FMT_EDF;
        return 0;
    }
    return -1;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && somna_strieq(s + a - b, suffix);
}

static int contains_ci(const char *s, size_t len, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t i = 0; i + m <= len; i++)
        if (somna_strnieq(s + i, needle, m))
            return 1;
    return 0;
}

/* Detection works on UTF-8 text (the caller decodes UTF-16 first). */
static somna_hypno_format detect_text(const char *s, size_t len, const char *name)
{
    size_t p = 0;
    /* first non-blank, non-comment line */
    for (;;) {
        while (p < len && (s[p] == ' ' || s[p] == '\t' || s[p] == '\r' || s[p] == '\n'))
            p++;
        if (p < len && s[p] == '#') {
            while (p < len && s[p] != '\n')
                p++;
            continue;
        }
        break;
    }
    size_t e = p;
    while (e < len && s[e] != '\n')
        e++;
    const char *line = s + p;
    size_t ll = e - p;
    if (ll > 0 && line[0] == '[' && contains_ci(line, ll, "hypnogram"))
        return SOMNA_HYPNO_FMT_DREAMS;
    if (contains_ci(line, ll, "Heure de d") ||
        (contains_ci(line, ll, "Start Time") && contains_ci(line, ll, "End Time") && contains_ci(line, ll, "Event")))
        return SOMNA_HYPNO_FMT_NOXTURNAL;
    if (name && ends_with(name, ".eannot"))
        return SOMNA_HYPNO_FMT_EANNOT;
    if (name && ends_with(name, "psg_labels.out"))
        return SOMNA_HYPNO_FMT_WALCH;
    for (size_t i = 0; i < ll; i++)
        if (line[i] == ',' || line[i] == '\t' || line[i] == ';')
            return SOMNA_HYPNO_FMT_TABLE;
    /* Walch's files are "%f" numbers ("2.000000"): a decimal point in the
     * first value tells them from integer codes. */
    if (ll > 0 && memchr(line, '.', ll) && line[0] >= '0' && line[0] <= '9')
        return SOMNA_HYPNO_FMT_WALCH;
    return SOMNA_HYPNO_FMT_TEXT;
}

somna_hypno_format somna_hypno_detect(const char *data, size_t len, const char *name)
{
    if (!data)
        return SOMNA_HYPNO_FMT_AUTO;
    /* EDF: the version field is "0" padded with blanks to 8 bytes. */
    if (len >= 256 && memcmp(data, "0       ", 8) == 0)
        return SOMNA_HYPNO_FMT_EDF;
    size_t cl = 0;
    char *conv = somna_text_to_utf8(data, len, &cl);
    somna_hypno_format f = conv ? detect_text(conv, cl, name) : detect_text(data, len, name);
    free(conv);
    return f;
}

/* ------------------------------------------------------------------------ */
/* Stage vector                                                               */
/* ------------------------------------------------------------------------ */

typedef struct stagevec {
    int8_t *v;
    size_t n, cap;
} stagevec;

static int sv_push(stagevec *sv, int stage, size_t count)
{
    if (count > HYPNO_MAX_EPOCHS || sv->n + count > HYPNO_MAX_EPOCHS)
        return -1;
    if (sv->n + count > sv->cap) {
        size_t cap = sv->cap ? sv->cap : 1024;
        while (cap < sv->n + count)
            cap *= 2;
        int8_t *nv = realloc(sv->v, cap);
        if (!nv)
            return -1;
        sv->v = nv;
        sv->cap = cap;
    }
    memset(sv->v + sv->n, (int8_t)stage, count);
    sv->n += count;
    return 0;
}

static void hypno_init(somna_hypnogram *h)
{
    memset(h, 0, sizeof *h);
    h->start_clock_s = -1.0;
}

void somna_hypno_free(somna_hypnogram *h)
{
    if (!h)
        return;
    free(h->stages);
    h->stages = NULL;
    h->n_epochs = 0;
}

/* ------------------------------------------------------------------------ */
/* Intervals -> epochs                                                        */
/* ------------------------------------------------------------------------ */

static int cmp_interval(const void *a, const void *b)
{
    const hypno_interval *x = a, *y = b;
    if (x->onset < y->onset)
        return -1;
    if (x->onset > y->onset)
        return 1;
    return x->tag < y->tag ? -1 : (x->tag > y->tag);
}

/* Whole number of epochs in `t` seconds, or -1 when t is not one (1 ms
 * tolerance: exports round onsets to milliseconds). */
static int64_t whole_epochs(double t, double epoch_s)
{
    double k = t / epoch_s;
    double r = floor(k + 0.5);
    if (fabs(t - r * epoch_s) > 1e-3 || r < 0 || r > (double)HYPNO_MAX_EPOCHS)
        return -1;
    return (int64_t)r;
}

int hypno_from_intervals(hypno_interval *iv, size_t n, double epoch_s, int fill_gaps, const char *name,
                         const char *what, somna_hypnogram *h, double *t0, somna_err *err)
{
    hypno_init(h);
    if (n == 0)
        return somna_fail(err, SOMNA_E_FORMAT, "%s: no sleep-stage annotation found", name);
    /* Files list stages in time order; sorting only makes the overlap and
     * gap checks independent of a stray out-of-order row. */
    qsort(iv, n, sizeof *iv, cmp_interval);
    double start = iv[0].onset;
    stagevec sv = {0};
    int64_t next = 0; /* epoch index where the next interval should start */
    double prev_end = start;
    size_t prev_tag = iv[0].tag;
    for (size_t i = 0; i < n; i++) {
        double rel = iv[i].onset - start;
        if (!(iv[i].duration > 0)) {
            free(sv.v);
            return somna_fail(err, SOMNA_E_FORMAT, "%s: %s %zu: stage '%s' has duration %g s (must be > 0)", name,
                              what, iv[i].tag, somna_hypno_stage_name(iv[i].stage), iv[i].duration);
        }
        int64_t e0 = whole_epochs(rel, epoch_s);
        if (e0 < 0) {
            free(sv.v);
            return somna_fail(err, SOMNA_E_FORMAT,
                              "%s: %s %zu: stage '%s' starts %.3f s after the first stage, not on a %g-s "
                              "epoch boundary",
                              name, what, iv[i].tag, somna_hypno_stage_name(iv[i].stage), rel, epoch_s);
        }
        int64_t ne = whole_epochs(iv[i].duration, epoch_s);
        if (ne <= 0) {
            free(sv.v);
            return somna_fail(err, SOMNA_E_FORMAT,
                              "%s: %s %zu: duration %g s of stage '%s' is not a whole number of %g-s epochs", name,
                              what, iv[i].tag, iv[i].duration, somna_hypno_stage_name(iv[i].stage), epoch_s);
        }
        if (e0 < next) {
            free(sv.v);
            return somna_fail(err, SOMNA_E_FORMAT,
                              "%s: %s %zu: stage '%s' at %.3f s overlaps the stage of %s %zu (which ends at "
                              "%.3f s)",
                              name, what, iv[i].tag, somna_hypno_stage_name(iv[i].stage), rel, what, prev_tag,
                              prev_end - start);
        }
        if (e0 > next) {
            if (!fill_gaps) {
                free(sv.v);
                return somna_fail(err, SOMNA_E_FORMAT,
                                  "%s: %s %zu: gap of %g s with no stage before this stage (from %.3f s to "
                                  "%.3f s); epochs would shift -- score it, or allow gaps as unscored epochs "
                                  "(--fill-gaps)",
                                  name, what, iv[i].tag, (double)(e0 - next) * epoch_s, (double)next * epoch_s,
                                  rel);
            }
            somna_warn(err, "%s: %s %zu: %g s with no stage before it scored as unscored", name, what, iv[i].tag,
                       (double)(e0 - next) * epoch_s);
            if (sv_push(&sv, SOMNA_STAGE_UNSCORED, (size_t)(e0 - next))) {
                free(sv.v);
                return somna_fail(err, SOMNA_E_NOMEM, "%s: hypnogram too long or out of memory", name);
            }
        }
        if (sv_push(&sv, iv[i].stage, (size_t)ne)) {
            free(sv.v);
            return somna_fail(err, SOMNA_E_NOMEM, "%s: hypnogram too long or out of memory", name);
        }
        next = e0 + ne;
        prev_end = iv[i].onset + iv[i].duration;
        prev_tag = iv[i].tag;
    }
    h->stages = sv.v;
    h->n_epochs = sv.n;
    h->epoch_s = epoch_s;
    if (t0)
        *t0 = start;
    return SOMNA_OK;
}

/* ------------------------------------------------------------------------ */
/* Lines                                                                      */
/* ------------------------------------------------------------------------ */

typedef struct token {
    char *s;
    size_t line;
} token;

/* Split a private, NUL-terminated copy into trimmed non-empty lines,
 * skipping '#' comments. */
static int split_lines(char *s, size_t len, token **out, size_t *n_out)
{
    size_t cap = 256, n = 0;
    token *t = malloc(cap * sizeof *t);
    if (!t)
        return -1;
    size_t line = 1, p = 0;
    while (p < len) {
        size_t e = p;
        while (e < len && s[e] != '\n')
            e++;
        s[e] = '\0';
        char *l = somna_trim(s + p);
        if (*l && *l != '#') {
            if (n == cap) {
                cap *= 2;
                token *nt = realloc(t, cap * sizeof *nt);
                if (!nt) {
                    free(t);
                    return -1;
                }
                t = nt;
            }
            t[n].s = l;
            t[n].line = line;
            n++;
        }
        line++;
        p = e + 1;
    }
    *out = t;
    *n_out = n;
    return 0;
}

enum code_mode { MODE_LABEL_RK, MODE_YASA, MODE_DREAMS, MODE_WALCH };

static int is_int_token(const char *s)
{
    int64_t v;
    return somna_parse_int64_str(s, &v) == 0;
}

/* One token -> stage under a mode; -1 with a message on failure. */
static int token_stage(const char *tok, enum code_mode mode, const char *name, size_t line, int *stage,
                       somna_err *err)
{
    int64_t v;
    double d;
    switch (mode) {
    case MODE_YASA:
        if (somna_parse_int64_str(tok, &v) == 0 && v >= -2 && v <= 4) {
            *stage = (int)v;
            return 0;
        }
        return somna_fail(err, SOMNA_E_FORMAT,
                          "%s:%zu: stage code '%.40s' is not a YASA code (-2 unscored, -1 artefact, 0 W, 1 N1, 2 N2, "
                          "3 N3, 4 REM)",
                          name, line, tok);
    case MODE_DREAMS:
        if (somna_parse_int64_str(tok, &v) == 0 && v >= -3 && v <= 5) {
            static const int map[] = {SOMNA_STAGE_N3, SOMNA_STAGE_N3, SOMNA_STAGE_N2,
                                      SOMNA_STAGE_N1, SOMNA_STAGE_REM, SOMNA_STAGE_W};
            *stage = v >= 0 ? map[v] : (v == -1 ? SOMNA_STAGE_ART : SOMNA_STAGE_UNSCORED);
            return 0;
        }
        return somna_fail(err, SOMNA_E_FORMAT,
                          "%s:%zu: stage code '%.40s' is not a DREAMS code (5 W, 4 REM, 3 S1, 2 S2, 1 S3, 0 S4, "
                          "-1 movement, -2/-3 unknown)",
                          name, line, tok);
    case MODE_WALCH:
        if (somna_parse_double_str(tok, &d) == 0 && d == floor(d) && d >= -1 && d <= 5) {
            static const int map[] = {SOMNA_STAGE_W,  SOMNA_STAGE_N1, SOMNA_STAGE_N2,
                                      SOMNA_STAGE_N3, SOMNA_STAGE_N3, SOMNA_STAGE_REM};
            *stage = d >= 0 ? map[(int)d] : SOMNA_STAGE_UNSCORED;
            return 0;
        }
        return somna_fail(err, SOMNA_E_FORMAT,
                          "%s:%zu: stage code '%.40s' is not a Walch psg_labels code (0 W, 1 N1, 2 N2, 3 N3, 4 N4, "
                          "5 REM, -1 unscored)",
                          name, line, tok);
    case MODE_LABEL_RK:
    default:
        if (somna_hypno_parse_label(tok, stage) == 0)
            return 0;
        /* R&K digits beside letter labels (Sleep-EDF strings "W 1 2 3 4 R ?") */
        if (somna_parse_int64_str(tok, &v) == 0 && v >= -2 && v <= 4 && v != 0) {
            *stage = v == 4 ? SOMNA_STAGE_N3 : (int)v;
            return 0;
        }
        return somna_fail(err, SOMNA_E_FORMAT,
                          "%s:%zu: unknown stage label '%.40s'%s (expected W, N1, N2, N3, R/REM, R&K 1-4, ?, "
                          "Movement time, or YASA codes -2..4 in an all-numeric file)",
                          name, line, tok, strlen(tok) > 40 ? "..." : "");
    }
}

static int is_header_word(const char *s)
{
    static const char *const words[] = {"stage", "stages", "sleep_stage", "sleepstage", "hypnogram",
                                        "label", "labels", "score", "scoring"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (somna_strieq(s, words[i]))
            return 1;
    return 0;
}

static int read_lines_format(char *s, size_t len, const char *name, somna_hypno_format fmt, double epoch_s,
                             somna_hypnogram *h, somna_err *err)
{
    token *tk = NULL;
    size_t n = 0;
    if (split_lines(s, len, &tk, &n))
        return somna_fail(err, SOMNA_E_NOMEM, "%s: out of memory", name);
    size_t first = 0;
    enum code_mode mode = MODE_LABEL_RK;
    if (fmt == SOMNA_HYPNO_FMT_DREAMS) {
        if (n == 0 || tk[0].s[0] != '[') {
            free(tk);
            return somna_fail(err, SOMNA_E_FORMAT, "%s:1: DREAMS hypnogram must start with a '[Hypnogram]' line",
                              name);
        }
        first = 1;
        mode = MODE_DREAMS;
        epoch_s = 5.0; /* DREAMS scores 5-s epochs */
    } else if (fmt == SOMNA_HYPNO_FMT_WALCH) {
        mode = MODE_WALCH;
    } else {
        if (n > 0 && is_header_word(tk[0].s))
            first = 1;
        /* All-integer files are YASA codes; a file with letter labels uses
         * digits as R&K stages (4 -> N3). */
        int all_int = 1;
        for (size_t i = first; i < n && all_int; i++)
            all_int = is_int_token(tk[i].s);
        mode = all_int ? MODE_YASA : MODE_LABEL_RK;
    }
    if (n <= first) {
        free(tk);
        return somna_fail(err, SOMNA_E_FORMAT, "%s: no epochs (empty hypnogram)", name);
    }
    stagevec sv = {0};
    /* An "epoch string": one line holding one R&K character per epoch
     * (W 1 2 3 4 R ? M), as in the Sleep-EDF strings derived by skjerns. */
    if (mode == MODE_LABEL_RK && n - first == 1 && strlen(tk[first].s) > 1 &&
        strspn(tk[first].s, "W1234R?M") == strlen(tk[first].s)) {
        for (const char *p = tk[first].s; *p; p++) {
            int st = *p == 'W'   ? SOMNA_STAGE_W
                     : *p == 'R' ? SOMNA_STAGE_REM
                     : *p == '?' ? SOMNA_STAGE_UNSCORED
                     : *p == 'M' ? SOMNA_STAGE_ART
                     : *p == '4' ? SOMNA_STAGE_N3
                                 : *p - '0';
            if (sv_push(&sv, st, 1)) {
                free(tk);
                free(sv.v);
                return somna_fail(err, SOMNA_E_NOMEM, "%s: hypnogram too long or out of memory", name);
            }
        }
        free(tk);
        hypno_init(h);
        h->stages = sv.v;
        h->n_epochs = sv.n;
        h->epoch_s = epoch_s;
        return SOMNA_OK;
    }
    for (size_t i = first; i < n; i++) {
        int st;
        if (token_stage(tk[i].s, mode, name, tk[i].line, &st, err)) {
            free(tk);
            free(sv.v);
            return SOMNA_E_FORMAT;
        }
        if (sv_push(&sv, st, 1)) {
            free(tk);
            free(sv.v);
            return somna_fail(err, SOMNA_E_NOMEM, "%s: hypnogram too long or out of memory", name);
        }
    }
    free(tk);
    hypno_init(h);
    h->stages = sv.v;
    h->n_epochs = sv.n;
    h->epoch_s = epoch_s;
    return SOMNA_OK;
}

/* ------------------------------------------------------------------------ */
/* CSV / TSV tables                                                           */
/* ------------------------------------------------------------------------ */

static long find_col(const somna_table *t, const char *const *names, size_t nn)
{
    for (size_t i = 0; i < nn; i++) {
        long c = somna_table_col(t, names[i]);
        if (c >= 0)
            return c;
    }
    return -1;
}

static int read_table(const char *text, size_t len, const char *name, const somna_hypno_read_opts *o,
                      double epoch_s, somna_hypnogram *h, somna_err *err)
{
    static const char *const stage_names[] = {"stage",     "stages",      "sleep_stage", "sleepstage",
                                              "hypnogram", "label",       "description", "annotation",
                                              "event",     "score",       "scoring",     "sleep stage"};
    static const char *const onset_names[] = {"onset", "onset_s", "start", "start_s", "begin", "time"};
    static const char *const dur_names[] = {"duration", "duration_s", "dur"};
    somna_table_opts to = {0};
    to.comment = '#';
    to.allow_ragged = 1;
    somna_table t;
    int rc = somna_table_parse(text, len, name, &to, &t, err);
    if (rc)
        return rc;
    long cs = find_col(&t, stage_names, sizeof stage_names / sizeof stage_names[0]);
    long co = find_col(&t, onset_names, sizeof onset_names / sizeof onset_names[0]);
    long cd = find_col(&t, dur_names, sizeof dur_names / sizeof dur_names[0]);
    if (cs < 0) {
        rc = somna_fail(err, SOMNA_E_FORMAT,
                        "%s:1: no stage column (expected a column named stage, sleep_stage, hypnogram, label or "
                        "description)",
                        name);
        somna_table_free(&t);
        return rc;
    }
    if (t.n_rows == 0) {
        somna_table_free(&t);
        return somna_fail(err, SOMNA_E_FORMAT, "%s: no epochs (table has no rows)", name);
    }
    size_t scol = (size_t)cs;
    int all_int = 1;
    for (size_t r = 0; r < t.n_rows && all_int; r++)
        all_int = is_int_token(somna_table_cell(&t, r, scol));
    enum code_mode mode = all_int ? MODE_YASA : MODE_LABEL_RK;

    if (co >= 0 && cd >= 0) {
        /* onset / duration / stage rows; rows with non-stage labels (events)
         * are skipped only when the label is not a stage at all AND not
         * shaped like one -- an unknown label is an error naming its line. */
        hypno_interval *iv = malloc(t.n_rows * sizeof *iv);
        if (!iv) {
            somna_table_free(&t);
            return somna_fail(err, SOMNA_E_NOMEM, "%s: out of memory", name);
        }
        size_t n = 0;
        double prev_clock = -1, day = 0, clock0 = -1;
        for (size_t r = 0; r < t.n_rows; r++) {
            const char *oc = somna_table_cell(&t, r, (size_t)co);
            double onset, dur;
            if (strchr(oc, ':')) {
                double c;
                if (somna_parse_clock(oc, &c)) {
                    rc = somna_fail(err, SOMNA_E_FORMAT, "%s:%zu: onset '%s' is neither seconds nor a clock time",
                                    name, t.line[r], oc);
                    break;
                }
                /* clock times wrap at midnight */
                if (prev_clock >= 0 && c + day < prev_clock - 43200.0)
                    day += 86400.0;
                onset = c + day;
                prev_clock = onset;
                if (clock0 < 0)
                    clock0 = c;
            } else if ((rc = somna_table_get_double(&t, r, (size_t)co, &onset, err)) != 0) {
                break;
            }
            if ((rc = somna_table_get_double(&t, r, (size_t)cd, &dur, err)) != 0)
                break;
            int st;
            if (token_stage(somna_table_cell(&t, r, scol), mode, name, t.line[r], &st, err)) {
                rc = SOMNA_E_FORMAT;
                break;
            }
            iv[n].onset = onset;
            iv[n].duration = dur;
            iv[n].stage = st;
            iv[n].tag = t.line[r];
            n++;
        }
        if (rc == SOMNA_OK) {
            double t0 = 0;
            rc = hypno_from_intervals(iv, n, epoch_s, o ? o->fill_gaps : 0, name, "line", h, &t0, err);
            if (rc == SOMNA_OK && clock0 >= 0)
                h->start_clock_s = fmod(t0, 86400.0);
        }
        free(iv);
        somna_table_free(&t);
        return rc;
    }

    stagevec sv = {0};
    for (size_t r = 0; r < t.n_rows; r++) {
        int st;
        if (token_stage(somna_table_cell(&t, r, scol), mode, name, t.line[r], &st, err)) {
            free(sv.v);
            somna_table_free(&t);
            return SOMNA_E_FORMAT;
        }
        if (sv_push(&sv, st, 1)) {
            free(sv.v);
            somna_table_free(&t);
            return somna_fail(err, SOMNA_E_NOMEM, "%s: out of memory", name);
        }
    }
    somna_table_free(&t);
    hypno_init(h);
    h->stages = sv.v;
    h->n_epochs = sv.n;
    h->epoch_s = epoch_s;
    return SOMNA_OK;
}

/* ------------------------------------------------------------------------ */
/* Aggregation                                                                */
/* ------------------------------------------------------------------------ */

int somna_hypno_aggregate(somna_hypnogram *h, size_t factor, const char *name, somna_err *err)
{
    if (!h || factor == 0)
        return somna_fail(err, SOMNA_E_ARG, "somna_hypno_aggregate: factor must be >= 1");
    if (!name)
        name = "hypnogram";
    if (factor == 1)
        return SOMNA_OK;
    if (h->n_epochs % factor != 0)
        return somna_fail(err, SOMNA_E_FORMAT,
                          "%s: %zu epochs of %g s do not fill whole %g-s epochs (%zu epoch(s) = %g s left over); "
                          "refusing to drop or shift them",
                          name, h->n_epochs, h->epoch_s, h->epoch_s * (double)factor, h->n_epochs % factor,
                          h->epoch_s * (double)(h->n_epochs % factor));
    size_t m = h->n_epochs / factor;
    for (size_t k = 0; k < m; k++) {
        const int8_t *w = h->stages + k * factor;
        int count[7] = {0}; /* index stage + 2 */
        for (size_t i = 0; i < factor; i++)
            count[w[i] + 2]++;
        /* AASM (Iber 2007): an epoch holding several stages is scored as the
         * stage occupying its greatest portion.  Tie -> the tied stage
         * occurring first in the window (docs/sleep-statistics.md). */
        int best = w[0], bestc = count[w[0] + 2];
        for (size_t i = 1; i < factor; i++) {
            int c = count[w[i] + 2];
            if (c > bestc) {
                best = w[i];
                bestc = c;
            }
        }
        h->stages[k] = (int8_t)best;
    }
    h->n_epochs = m;
    h->epoch_s *= (double)factor;
    return SOMNA_OK;
}

/* ------------------------------------------------------------------------ */
/* Dispatch                                                                   */
/* ------------------------------------------------------------------------ */

static int finish_epoch(somna_hypnogram *h, somna_hypno_format fmt, const somna_hypno_read_opts *o,
                        const char *name, somna_err *err)
{
    double want = o ? o->epoch_s : 0;
    if (fmt == SOMNA_HYPNO_FMT_DREAMS && want > 0 && want != h->epoch_s) {
        double f = want / h->epoch_s;
        if (f < 1 || fabs(f - floor(f + 0.5)) > 1e-9)
            return somna_fail(err, SOMNA_E_ARG, "%s: epoch %g s is not a multiple of the file's %g-s epochs", name,
                              want, h->epoch_s);
        return somna_hypno_aggregate(h, (size_t)floor(f + 0.5), name, err);
    }
    return SOMNA_OK;
}

int somna_hypno_parse(const char *text, size_t len, const char *name, const somna_hypno_read_opts *opts,
                      somna_hypnogram *h, somna_hypno_format *detected, somna_err *err)
{
    if (!name)
        name = "<input>";
    hypno_init(h);
    somna_hypno_read_opts o = {0};
    if (opts)
        o = *opts;
    if (o.epoch_s < 0 || !isfinite(o.epoch_s) || o.epoch_s > 86400)
        return somna_fail(err, SOMNA_E_ARG, "%s: epoch length %g s is not valid", name, o.epoch_s);
    double epoch = o.epoch_s > 0 ? o.epoch_s : 30.0;
    size_t cl = 0;
    char *conv = somna_text_to_utf8(text, len, &cl);
    const char *src = conv ? conv : text;
    size_t n = conv ? cl : len;
    somna_hypno_format fmt = o.format;
    if (fmt == SOMNA_HYPNO_FMT_AUTO)
        fmt = (len >= 256 && memcmp(text, "0       ", 8) == 0) ? SOMNA_HYPNO_FMT_EDF : detect_text(src, n, name);
    if (detected)
        *detected = fmt;
    int rc;
    switch (fmt) {
    case SOMNA_HYPNO_FMT_EDF:
        rc = somna_fail(err, SOMNA_E_ARG, "%s: EDF+ hypnograms must be read from a file", name);
        break;
    case SOMNA_HYPNO_FMT_TABLE:
        rc = read_table(src, n, name, &o, epoch, h, err);
        break;
    case SOMNA_HYPNO_FMT_NOXTURNAL:
        o.epoch_s = epoch;
        rc = hypno_read_noxturnal(src, n, name, &o, h, err);
        break;
    case SOMNA_HYPNO_FMT_EANNOT:
    case SOMNA_HYPNO_FMT_TEXT:
    case SOMNA_HYPNO_FMT_DREAMS:
    case SOMNA_HYPNO_FMT_WALCH: {
        char *copy = malloc(n + 1);
        if (!copy) {
            rc = somna_fail(err, SOMNA_E_NOMEM, "%s: out of memory", name);
            break;
        }
        memcpy(copy, src, n);
        copy[n] = '\0';
        rc = read_lines_format(copy, n, name, fmt, epoch, h, err);
        free(copy);
        break;
    }
    case SOMNA_HYPNO_FMT_AUTO:
    default:
        rc = somna_fail(err, SOMNA_E_FORMAT, "%s: unrecognised hypnogram format (use --format)", name);
        break;
    }
    free(conv);
    if (rc == SOMNA_OK)
        rc = finish_epoch(h, fmt, &o, name, err);
    if (rc != SOMNA_OK)
        somna_hypno_free(h);
    return rc;
}

int somna_hypno_read(const char *path, const somna_hypno_read_opts *opts, somna_hypnogram *h,
                     somna_hypno_format *detected, somna_err *err)
{
    hypno_init(h);
    if (!path)
        return somna_fail(err, SOMNA_E_ARG, "somna_hypno_read: no path");
    char *data = NULL;
    size_t len = 0;
    int rc = somna_read_file(path, HYPNO_MAX_FILE, &data, &len, err);
    if (rc)
        return rc;
    somna_hypno_format fmt = opts ? opts->format : SOMNA_HYPNO_FMT_AUTO;
    if (fmt == SOMNA_HYPNO_FMT_AUTO && len >= 256 && memcmp(data, "0       ", 8) == 0)
        fmt = SOMNA_HYPNO_FMT_EDF;
    if (fmt == SOMNA_HYPNO_FMT_EDF) {
        free(data);
        if (detected)
            *detected = fmt;
        somna_hypno_read_opts o = {0};
        if (opts)
            o = *opts;
        rc = hypno_read_edf(path, &o, h, err);
        if (rc != SOMNA_OK)
            somna_hypno_free(h);
        return rc;
    }
    rc = somna_hypno_parse(data, len, path, opts, h, detected, err);
    free(data);
    return rc;
}
