/* somna — MIT-format WFDB annotation files: reader, writer, code table.
 *
 * Source: WFDB Programmer's Guide and annot(5) (G. Moody, PhysioNet).  The
 * file is a stream of little-endian 16-bit words: the high 6 bits are a code
 * A, the low 10 bits a value I.  A = 1..58 is an annotation of type A whose
 * time is the previous time + I; A = 59 (SKIP) is followed by a 32-bit
 * interval (high 16-bit word first) added to the time of the next
 * annotation; A = 60 (NUM), 61 (SUB), 62 (CHN) set the num, subtype and
 * chan fields of the annotation they follow (num and chan then persist);
 * A = 63 (AUX) is followed by I & 0xFF bytes of auxiliary data, padded to an
 * even length; the word 0 ends the file.
 *
 * The writer follows the same encoding choices as WFDB's putann (a SKIP only
 * when the interval exceeds 1023 or is negative, NUM/CHN only when they
 * change, SUB only when non-zero, type-0 annotations through a SKIP to the
 * sample before), so reading then writing reproduces a WFDB-written file
 * byte for byte.
 */
#include "somna/wfdb.h"

#include <stdlib.h>
#include <string.h>

#include "somna/fileio.h"
#include "somna/parse.h"

#define ANN_SKIP 59
#define ANN_NUM 60
#define ANN_SUB 61
#define ANN_CHN 62
#define ANN_AUX 63
#define ANN_MAX_TYPE 58            /* largest code that is an annotation, not a pseudo-annotation */
#define ANN_MAXRR 1023             /* longest interval one word can hold */
#define ANN_MAXSKIP 0x7fffffffLL   /* largest |interval| one SKIP holds */
#define ANN_FILE_MAX ((size_t)1 << 31)

void somna_wfdb_ann_free(somna_wfdb_annotation *ann, size_t count)
{
    if (!ann)
        return;
    for (size_t i = 0; i < count; i++)
        free(ann[i].aux);
    free(ann);
}

static unsigned get16(const unsigned char *b)
{
    return (unsigned)b[0] | ((unsigned)b[1] << 8);
}

/* 32-bit SKIP interval: high 16-bit word first, each word little-endian. */
static int32_t get32(const unsigned char *b)
{
    uint32_t u = ((uint32_t)get16(b) << 16) | (uint32_t)get16(b + 2);
    return (int32_t)u;
}

static int ann_parse(const char *path, const unsigned char *b, size_t len, somna_wfdb_annotation **out,
                     size_t *count, somna_err *err)
{
    somna_wfdb_annotation *a = NULL, scratch, *cur = NULL;
    size_t n = 0, cap = 0;
    int64_t t = 0;
    int chan = 0, num = 0;
    size_t pos = 0;
    int rc = SOMNA_OK;
    int saw_eof = 0;

    /* Leading SKIPs only move the clock (WFDB annopen). */
    while (pos + 2 <= len) {
        unsigned w = get16(b + pos);
        if (w == 0) {
            saw_eof = 1;
            pos += 2;
            break;
        }
        unsigned code = w >> 10;
        if (code == ANN_SKIP) {
            if (pos + 6 > len) {
                rc = somna_fail(err, SOMNA_E_FORMAT, "%s: byte %zu: SKIP interval is cut off by the end of the file",
                                path, pos);
                goto fail;
            }
            t += get32(b + pos + 2);
            pos += 6;
            continue;
        }
        if (code > ANN_MAX_TYPE) {
            rc = somna_fail(err, SOMNA_E_FORMAT,
                            "%s: byte %zu: pseudo-annotation code %u (NUM/SUB/CHN/AUX) comes before any annotation",
                            path, pos, code);
            goto fail;
        }
        pos += 2;
        t += (int64_t)(w & 0x3FF);
        if (!out) { /* counting only: the fields are checked, not kept */
            n++;
            cur = &scratch;
            memset(cur, 0, sizeof *cur);
        } else if (n == cap) {
            size_t nc = cap ? cap * 2 : 256;
            somna_wfdb_annotation *na = realloc(a, nc * sizeof *a);
            if (!na) {
                rc = somna_fail(err, SOMNA_E_NOMEM, "%s: out of memory after %zu annotations", path, n);
                goto fail;
            }
            a = na;
            cap = nc;
        }
        if (out) {
            cur = &a[n++];
            memset(cur, 0, sizeof *cur);
        }
        cur->sample = t;
        cur->type = (int)code;
        /* Pseudo-annotations that follow belong to this annotation. */
        while (pos + 2 <= len) {
            unsigned pw = get16(b + pos);
            unsigned pc = pw >> 10;
            if (pc < ANN_SKIP)
                break;
            unsigned val = pw & 0x3FF;
            if (pc == ANN_SKIP) {
                if (pos + 6 > len) {
                    rc = somna_fail(err, SOMNA_E_FORMAT,
                                    "%s: byte %zu: SKIP interval is cut off by the end of the file", path, pos);
                    goto fail;
                }
                t += get32(b + pos + 2);
                pos += 6;
                continue;
            }
            pos += 2;
            /* The fields are C chars in WFDB: subtype and num signed, chan unsigned. */
            if (pc == ANN_SUB) {
                cur->subtype = (signed char)(unsigned char)(val & 0xFF);
            } else if (pc == ANN_CHN) {
                chan = (int)(val & 0xFF);
            } else if (pc == ANN_NUM) {
                num = (signed char)(unsigned char)(val & 0xFF);
            } else { /* AUX */
                size_t al = val & 0xFF;
                size_t padded = (al + 1) & ~(size_t)1;
                if (padded > len - pos) {
                    rc = somna_fail(err, SOMNA_E_FORMAT,
                                    "%s: byte %zu: AUX string of %zu bytes runs past the end of the file", path,
                                    pos - 2, al);
                    goto fail;
                }
                free(cur->aux);
                cur->aux = NULL;
                cur->aux_len = 0;
                if (al > 0 && out) {
                    cur->aux = malloc(al + 1);
                    if (!cur->aux) {
                        rc = somna_fail(err, SOMNA_E_NOMEM, "%s: out of memory", path);
                        goto fail;
                    }
                    memcpy(cur->aux, b + pos, al);
                    cur->aux[al] = '\0';
                    cur->aux_len = al;
                }
                pos += padded;
            }
        }
        cur->chan = chan;
        cur->num = num;
    }
    if (!saw_eof) {
        if (pos < len)
            somna_warn(err, "%s: odd trailing byte at offset %zu ignored", path, pos);
        somna_warn(err, "%s: no end-of-file marker (file truncated?); read %zu annotations", path, n);
    } else if (pos < len) {
        somna_warn(err, "%s: %zu bytes after the end-of-file marker ignored", path, len - pos);
    }
    if (out)
        *out = a;
    *count = n;
    return SOMNA_OK;
fail:
    somna_wfdb_ann_free(a, n);
    return rc;
}

int somna_wfdb_ann_parse(const void *data, size_t len, const char *name, somna_wfdb_annotation **out,
                         size_t *count, somna_err *err)
{
    if (!out || !count || (!data && len > 0))
        return somna_fail(err, SOMNA_E_ARG, "somna_wfdb_ann_parse: NULL argument");
    *out = NULL;
    *count = 0;
    return ann_parse(name ? name : "annotations", (const unsigned char *)data, len, out, count, err);
}

/* Read and parse a whole annotation file; out NULL: count only. */
static int ann_file(const char *path, somna_wfdb_annotation **out, size_t *count, somna_err *err)
{
    if (out)
        *out = NULL;
    *count = 0;
    char *data = NULL;
    size_t len = 0;
    int rc = somna_read_file(path, ANN_FILE_MAX, &data, &len, err);
    if (rc)
        return rc;
    rc = ann_parse(path, (const unsigned char *)data, len, out, count, err);
    free(data);
    return rc;
}

int somna_wfdb_ann_read_file(const char *path, somna_wfdb_annotation **out, size_t *count, somna_err *err)
{
    if (!out || !count)
        return somna_fail(err, SOMNA_E_ARG, "somna_wfdb_ann_read_file: output pointers are NULL");
    return ann_file(path, out, count, err);
}

int somna_wfdb_ann_count_file(const char *path, size_t *count, somna_err *err)
{
    if (!count)
        return somna_fail(err, SOMNA_E_ARG, "somna_wfdb_ann_count_file: output pointer is NULL");
    return ann_file(path, NULL, count, err);
}

static int ann_path(char *buf, size_t size, const char *record, const char *annotator, somna_err *err)
{
    if (!record || !annotator || !*record || !*annotator)
        return somna_fail(err, SOMNA_E_ARG, "annotation file: record and annotator names are required");
    size_t rl = strlen(record);
    if (rl > 4 && strcmp(record + rl - 4, ".hea") == 0)
        rl -= 4;
    int n = snprintf(buf, size, "%.*s.%s", (int)rl, record, annotator);
    if (n < 0 || (size_t)n >= size)
        return somna_fail(err, SOMNA_E_ARG, "%s.%s: path is too long", record, annotator);
    return SOMNA_OK;
}

int somna_wfdb_ann_read(const char *record, const char *annotator, somna_wfdb_annotation **out, size_t *count,
                        somna_err *err)
{
    char path[4096];
    int rc = ann_path(path, sizeof path, record, annotator, err);
    if (rc)
        return rc;
    return somna_wfdb_ann_read_file(path, out, count, err);
}

/* ---- writer --------------------------------------------------------------*/

static void put16(FILE *fp, unsigned w)
{
    fputc((int)(w & 0xFF), fp);
    fputc((int)((w >> 8) & 0xFF), fp);
}

static void put_skip(FILE *fp, int64_t interval)
{
    uint32_t u = (uint32_t)(int32_t)interval;
    put16(fp, ANN_SKIP << 10);
    put16(fp, (unsigned)(u >> 16));
    put16(fp, (unsigned)(u & 0xFFFF));
}

int somna_wfdb_ann_write_file(const char *path, const somna_wfdb_annotation *ann, size_t count, somna_err *err)
{
    if (!path || (!ann && count > 0))
        return somna_fail(err, SOMNA_E_ARG, "somna_wfdb_ann_write_file: NULL argument");
    /* Validate everything first so a refusal leaves no file behind. */
    for (size_t i = 0; i < count; i++) {
        const somna_wfdb_annotation *a = &ann[i];
        if (a->type < 0 || a->type > ANN_MAX_TYPE)
            return somna_fail(err, SOMNA_E_ARG, "%s: annotation %zu: type %d is outside 0..%d", path, i, a->type,
                              ANN_MAX_TYPE);
        /* WFDB keeps these in C chars: values outside would not read back. */
        if (a->subtype < -128 || a->subtype > 127 || a->num < -128 || a->num > 127 || a->chan < 0 || a->chan > 255)
            return somna_fail(err, SOMNA_E_ARG,
                              "%s: annotation %zu: subtype %d / num %d must be in -128..127 and chan %d in 0..255",
                              path, i, a->subtype, a->num, a->chan);
        if (a->aux_len > 255)
            return somna_fail(err, SOMNA_E_ARG, "%s: annotation %zu: aux string of %zu bytes exceeds 255", path, i,
                              a->aux_len);
        if (a->aux_len > 0 && !a->aux)
            return somna_fail(err, SOMNA_E_ARG, "%s: annotation %zu: aux_len %zu but aux is NULL", path, i,
                              a->aux_len);
        if (a->sample == INT64_MIN || a->sample == INT64_MAX)
            return somna_fail(err, SOMNA_E_ARG, "%s: annotation %zu: time overflow", path, i);
        int64_t prev = i ? ann[i - 1].sample : 0;
        /* Bound the number of SKIPs a jump needs (each holds 2^31-1). */
        if ((a->sample > prev && a->sample - prev > ((int64_t)1 << 40)) ||
            (a->sample < prev && prev - a->sample > ((int64_t)1 << 40)))
            return somna_fail(err, SOMNA_E_ARG, "%s: annotation %zu: interval %lld samples is absurd", path, i,
                              (long long)(a->sample - prev));
    }
    somna_outfile o;
    int rc = somna_outfile_open(&o, path, err);
    if (rc)
        return rc;
    FILE *fp = o.fp;
    int64_t prev_t = 0;
    int prev_chan = 0, prev_num = 0;
    for (size_t i = 0; i < count; i++) {
        const somna_wfdb_annotation *a = &ann[i];
        int64_t delta = a->sample - prev_t;
        if (a->sample > prev_t) {
            while (delta > ANN_MAXSKIP) {
                put_skip(fp, ANN_MAXSKIP);
                delta -= ANN_MAXSKIP;
            }
        } else {
            while (-delta > ANN_MAXSKIP) {
                put_skip(fp, -ANN_MAXSKIP);
                delta += ANN_MAXSKIP;
            }
        }
        if (a->type == 0) {
            /* A type-0 word with interval 0 would read as end-of-file:
             * SKIP to the sample before and use an interval of 1. */
            put_skip(fp, delta - 1);
            delta = 1;
        } else if (delta < 0 || delta > ANN_MAXRR) {
            put_skip(fp, delta);
            delta = 0;
        }
        put16(fp, (unsigned)delta + ((unsigned)a->type << 10));
        if (a->subtype != 0)
            put16(fp, (ANN_SUB << 10) + ((unsigned)a->subtype & 0x3FF));
        if (a->chan != prev_chan)
            put16(fp, (ANN_CHN << 10) + ((unsigned)a->chan & 0x3FF));
        if (a->num != prev_num)
            put16(fp, (ANN_NUM << 10) + ((unsigned)a->num & 0x3FF));
        if (a->aux_len > 0) {
            put16(fp, (ANN_AUX << 10) + (unsigned)a->aux_len);
            fwrite(a->aux, 1, a->aux_len, fp);
            if (a->aux_len & 1)
                fputc(0, fp);
        }
        prev_t = a->sample;
        prev_chan = a->chan;
        prev_num = a->num;
    }
    put16(fp, 0);
    if (ferror(fp)) {
        somna_outfile_abort(&o);
        return somna_fail(err, SOMNA_E_IO, "%s: write error", path);
    }
    return somna_outfile_commit(&o, err);
}

int somna_wfdb_ann_write(const char *record, const char *annotator, const somna_wfdb_annotation *ann, size_t count,
                         somna_err *err)
{
    char path[4096];
    int rc = ann_path(path, sizeof path, record, annotator, err);
    if (rc)
        return rc;
    return somna_wfdb_ann_write_file(path, ann, count, err);
}

/* ---- annotation codes (WFDB ecgcodes.h) ----------------------------------*/

static const char *const mnemonics[50] = {
    " ",    "N", "L",    "R",    "a",    "V",    "F",    "J",    "A",    "S",    /* 0-9 */
    "E",    "j", "/",    "Q",    "~",    "[15]", "|",    "[17]", "s",    "T",    /* 10-19 */
    "*",    "D", "\"",   "=",    "p",    "B",    "^",    "t",    "+",    "u",    /* 20-29 */
    "?",    "!", "[",    "]",    "e",    "n",    "@",    "x",    "f",    "(",    /* 30-39 */
    ")",    "r", "[42]", "[43]", "[44]", "[45]", "[46]", "[47]", "[48]", "[49]", /* 40-49 */
};

/* Codes 15, 17 and 42-49 have no letter; WFDB writes them as "[15]". */
const char *somna_wfdb_ann_mnemonic(int type)
{
    if (type < 0 || type >= 50)
        return "?";
    return mnemonics[type];
}

int somna_wfdb_ann_code(const char *mnemonic)
{
    if (!mnemonic || !*mnemonic)
        return -1;
    for (int c = 1; c < 50; c++)
        if (strcmp(mnemonics[c], mnemonic) == 0)
            return c;
    return -1;
}

int somna_wfdb_is_beat(int type)
{
    /* WFDB isqrs(): the beat codes N L R a V F J A S E j / Q, B, ?, !, e, n, f, r. */
    switch (type) {
    case 1: case 2: case 3: case 4: case 5: case 6: case 7: case 8: case 9: case 10: case 11: case 12: case 13:
    case 25: case 30: case 31: case 34: case 35: case 38: case 41:
        return 1;
    default:
        return 0;
    }
}
