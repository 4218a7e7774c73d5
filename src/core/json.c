#include "somna/json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "somna/parse.h"

void somna_json_init(somna_json *j, FILE *out, int pretty)
{
    memset(j, 0, sizeof *j);
    j->out = out;
    j->pretty = pretty;
}

static void indent(somna_json *j)
{
    if (!j->pretty)
        return;
    fputc('\n', j->out);
    for (int i = 0; i < j->depth; i++)
        fputs("  ", j->out);
}

/* Called before any value or key: writes the separator the position needs. */
static void before_item(somna_json *j)
{
    if (j->after_key) {
        j->after_key = 0;
        return;
    }
    if (j->depth > 0) {
        if (j->n_items[j->depth] > 0)
            fputc(',', j->out);
        indent(j);
    }
    j->n_items[j->depth]++;
}

static void open(somna_json *j, char c)
{
    before_item(j);
    fputc(c, j->out);
    if (j->depth < SOMNA_JSON_MAX_DEPTH)
        j->depth++;
    j->n_items[j->depth] = 0;
}

static void close_(somna_json *j, char c)
{
    int had = j->n_items[j->depth] > 0;
    if (j->depth > 0)
        j->depth--;
    if (had)
        indent(j);
    fputc(c, j->out);
}

void somna_json_object_begin(somna_json *j) { open(j, '{'); }
void somna_json_object_end(somna_json *j) { close_(j, '}'); }
void somna_json_array_begin(somna_json *j) { open(j, '['); }
void somna_json_array_end(somna_json *j) { close_(j, ']'); }

static void write_escaped(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        case '\b': fputs("\\b", out); break;
        case '\f': fputs("\\f", out); break;
        default:
            if (*p < 0x20)
                fprintf(out, "\\u%04x", *p);
            else
                fputc(*p, out);
        }
    }
    fputc('"', out);
}

void somna_json_key(somna_json *j, const char *key)
{
    before_item(j);
    write_escaped(j->out, key);
    fputs(j->pretty ? ": " : ":", j->out);
    j->after_key = 1;
}

void somna_json_string(somna_json *j, const char *s)
{
    before_item(j);
    if (s)
        write_escaped(j->out, s);
    else
        fputs("null", j->out);
}

void somna_format_double(char *buf, size_t size, double v)
{
    if (!isfinite(v)) {
        snprintf(buf, size, "%s", isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf"));
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, v);
        double back;
        if (somna_parse_double_str(buf, &back) == 0 && back == v)
            return;
    }
}

void somna_json_number(somna_json *j, double v)
{
    before_item(j);
    if (!isfinite(v)) {
        fputs("null", j->out);
        return;
    }
    char buf[40];
    somna_format_double(buf, sizeof buf, v);
    fputs(buf, j->out);
}

void somna_json_int(somna_json *j, int64_t v)
{
    before_item(j);
    fprintf(j->out, "%lld", (long long)v);
}

void somna_json_bool(somna_json *j, int v)
{
    before_item(j);
    fputs(v ? "true" : "false", j->out);
}

void somna_json_null(somna_json *j)
{
    before_item(j);
    fputs("null", j->out);
}

void somna_json_finish(somna_json *j)
{
    fputc('\n', j->out);
}

void somna_json_kv_string(somna_json *j, const char *key, const char *s)
{
    somna_json_key(j, key);
    somna_json_string(j, s);
}

void somna_json_kv_number(somna_json *j, const char *key, double v)
{
    somna_json_key(j, key);
    somna_json_number(j, v);
}

void somna_json_kv_int(somna_json *j, const char *key, int64_t v)
{
    somna_json_key(j, key);
    somna_json_int(j, v);
}

void somna_json_kv_bool(somna_json *j, const char *key, int v)
{
    somna_json_key(j, key);
    somna_json_bool(j, v);
}

void somna_json_kv_null(somna_json *j, const char *key)
{
    somna_json_key(j, key);
    somna_json_null(j);
}
