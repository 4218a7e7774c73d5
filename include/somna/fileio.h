/* somna — whole-file reading, memory mapping and atomic output files.
 *
 * Outputs are written to a temporary file beside the target and renamed
 * into place only when complete, so a failed or interrupted command never
 * leaves a half-written file under the name the user asked for.
 */
#ifndef SOMNA_FILEIO_H
#define SOMNA_FILEIO_H

#include <stddef.h>
#include <stdio.h>

#include "somna/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Read a whole file into a NUL-terminated malloc'd buffer.  Files larger
 * than max_bytes are refused (protects against absurd inputs). */
int somna_read_file(const char *path, size_t max_bytes, char **data, size_t *len, somna_err *err);

/* Read-only memory map of a whole file.  An empty file maps to data=NULL, len=0. */
typedef struct somna_mmap {
    const unsigned char *data;
    size_t len;
} somna_mmap;
int somna_mmap_open(const char *path, somna_mmap *m, somna_err *err);
void somna_mmap_close(somna_mmap *m);

/* Atomic output file: write through ->fp, then commit (fsync + rename) or
 * abort (remove the temporary).  "-" means stdout (commit just flushes). */
typedef struct somna_outfile {
    FILE *fp;
    char *path;
    char *tmp_path;
    int is_stdout;
} somna_outfile;
int somna_outfile_open(somna_outfile *o, const char *path, somna_err *err);
int somna_outfile_commit(somna_outfile *o, somna_err *err);
void somna_outfile_abort(somna_outfile *o);

/* Convert UTF-16 (with BOM) or UTF-8-with-BOM text to plain UTF-8 in place
 * semantics: returns a new malloc'd buffer when conversion happened, else
 * NULL with *out_len untouched.  Lone surrogates become U+FFFD. */
char *somna_text_to_utf8(const char *data, size_t len, size_t *out_len);

#ifdef __cplusplus
}
#endif
#endif
