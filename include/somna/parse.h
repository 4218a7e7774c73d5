/* somna — locale-independent parsing of numbers and clock times.
 *
 * File formats (EDF headers, CSV exports, WFDB headers) are ASCII with '.' as
 * the decimal separator whatever the user's locale; strtod() under a German
 * locale would read "0.5" as 0.  These functions never consult the locale.
 */
#ifndef SOMNA_PARSE_H
#define SOMNA_PARSE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Parse exactly the `len` bytes at `s` (leading/trailing blanks allowed) as a
 * decimal floating-point number ("1", "-2.5", "3e-4", ".5", "nan" refused).
 * Returns 0 on success, -1 if the text is not a finite number. */
int somna_parse_double(const char *s, size_t len, double *out);

/* Same for a NUL-terminated string. */
int somna_parse_double_str(const char *s, double *out);

/* Parse a decimal integer (optional sign, blanks around) into int64.
 * Returns -1 on junk or overflow. */
int somna_parse_int64(const char *s, size_t len, int64_t *out);
int somna_parse_int64_str(const char *s, int64_t *out);

/* Parse a clock time "HH:MM", "HH:MM:SS", "HH:MM:SS.fff", "H.MM" is NOT
 * accepted; 12-hour forms "10:30 PM", "10:30pm", "12:05 am" are.  Returns
 * seconds after midnight in [0, 86400) or -1 when unparseable. */
int somna_parse_clock(const char *s, double *seconds_after_midnight);

/* Case-insensitive ASCII comparison helpers (locale-free). */
int somna_strieq(const char *a, const char *b);
int somna_strnieq(const char *a, const char *b, size_t n);

/* Trim ASCII blanks in place; returns s. */
char *somna_trim(char *s);

/* Bounded copy that always NUL-terminates; returns the length of src (like
 * strlcpy) so truncation can be detected. */
size_t somna_strlcpy(char *dst, const char *src, size_t size);

#ifdef __cplusplus
}
#endif
#endif
