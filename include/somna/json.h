/* somna — a small streaming JSON writer for every command's --json output.
 *
 * Commas, nesting and string escaping are handled here so that no command
 * hand-assembles JSON.  Non-finite numbers are written as null: a number that
 * could not be computed must never look like a result.
 */
#ifndef SOMNA_JSON_H
#define SOMNA_JSON_H

#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SOMNA_JSON_MAX_DEPTH 32

typedef struct somna_json {
    FILE *out;
    int pretty;
    int depth;
    int after_key;                          /* a key was just written */
    int n_items[SOMNA_JSON_MAX_DEPTH + 1];  /* items written at each level */
} somna_json;

void somna_json_init(somna_json *j, FILE *out, int pretty);
void somna_json_object_begin(somna_json *j);
void somna_json_object_end(somna_json *j);
void somna_json_array_begin(somna_json *j);
void somna_json_array_end(somna_json *j);
void somna_json_key(somna_json *j, const char *key);
void somna_json_string(somna_json *j, const char *s);
/* Shortest text that reads back to the same double; NaN/inf -> null. */
void somna_json_number(somna_json *j, double v);
void somna_json_int(somna_json *j, int64_t v);
void somna_json_bool(somna_json *j, int v);
void somna_json_null(somna_json *j);
/* Ends the document with a newline. */
void somna_json_finish(somna_json *j);

/* Convenience: key + value. */
void somna_json_kv_string(somna_json *j, const char *key, const char *s);
void somna_json_kv_number(somna_json *j, const char *key, double v);
void somna_json_kv_int(somna_json *j, const char *key, int64_t v);
void somna_json_kv_bool(somna_json *j, const char *key, int v);
void somna_json_kv_null(somna_json *j, const char *key);

/* Format a double as the shortest decimal that round-trips (%.15g..%.17g)
 * into buf (at least 32 bytes).  Used for TSV/CSV output too. */
void somna_format_double(char *buf, size_t size, double v);

#ifdef __cplusplus
}
#endif
#endif
