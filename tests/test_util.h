/* Helpers shared by the cmocka tests (include after <cmocka.h>). */
#ifndef SOMNA_TEST_UTIL_H
#define SOMNA_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Path of a file under ../shared/data, or NULL (and a message) when the
 * data folder is absent: callers then skip(). */
static inline const char *test_shared_path(char *buf, size_t size, const char *rel)
{
    const char *root = getenv("SOMNA_SHARED_DATA");
    if (!root)
        root = "../shared/data";
    snprintf(buf, size, "%s/%s", root, rel);
    FILE *f = fopen(buf, "rb");
    if (!f) {
        fprintf(stderr, "SKIP: %s not available (../shared/data absent)\n", buf);
        return NULL;
    }
    fclose(f);
    return buf;
}

#define SHARED_OR_SKIP(buf, rel)                                                                             \
    do {                                                                                                       \
        if (!test_shared_path((buf), sizeof(buf), (rel))) {                                                    \
            skip();                                                                                            \
        }                                                                                                      \
    } while (0)

/* A scratch file path inside the build tree's test directory. */
static inline const char *test_tmp_path(char *buf, size_t size, const char *name)
{
    const char *root = getenv("SOMNA_TEST_TMPDIR");
    if (!root)
        root = "/tmp";
    snprintf(buf, size, "%s/%s", root, name);
    return buf;
}

/* |a-b| <= rel * max(|a|,|b|) (or both tiny). */
static inline int test_close_rel(double a, double b, double rel)
{
    double m = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
    return fabs(a - b) <= rel * m || fabs(a - b) < 1e-300;
}

#define assert_close_rel(a, b, rel)                                                                          \
    do {                                                                                                       \
        double a_ = (a), b_ = (b);                                                                             \
        if (!test_close_rel(a_, b_, (rel))) {                                                                  \
            fail_msg("%s = %.17g, expected %.17g (rel tol %g)", #a, a_, b_, (double)(rel));                   \
        }                                                                                                      \
    } while (0)

#define assert_close_abs(a, b, tol)                                                                          \
    do {                                                                                                       \
        double a_ = (a), b_ = (b);                                                                             \
        if (!(fabs(a_ - b_) <= (tol))) {                                                                       \
            fail_msg("%s = %.17g, expected %.17g (abs tol %g)", #a, a_, b_, (double)(tol));                   \
        }                                                                                                      \
    } while (0)

#endif
