/* core/dynlib.h: loading a shared library at first use into a table of
 * typed function pointers, and the one message when that is impossible. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dlfcn.h>

#include "core/dynlib.h"
#include "test_util.h"

/* libm's soname on glibc (x86-64, aarch64 ...): the library every C
 * program on the target has. */
#define LIBM "libm.so.6"

#define M_FUNCS(X) X(cos) X(hypot)
#define M_MEMBER(f) __typeof__(&f) f;
#define M_SYM(f) {#f, offsetof(m_api, f), 0},
typedef struct m_api {
    M_FUNCS(M_MEMBER)
} m_api;
static const somna_dynlib_sym m_syms[] = {M_FUNCS(M_SYM)};

static void test_resolves_real_functions(void **state)
{
    (void)state;
    somna_dynlib_spec spec = {LIBM, "Trigonometry tests", "libc6", m_syms, 2};
    m_api m = {NULL, NULL};
    void *h = NULL;
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    assert_int_equal(somna_dynlib_open(&spec, 0, &h, &m, &err), SOMNA_OK);
    assert_non_null(h);
    assert_non_null(m.cos);
    /* cos(0.5) = 0.87758256189037271612 (bc -l: c(0.5), 25 digits);
     * hypot(3, 4) = 5 exactly (IEEE 754 correctly rounded in glibc) */
    assert_true(fabs(m.cos(0.5) - 0.87758256189037271612) < 1e-15);
    assert_true(m.hypot(3.0, 4.0) == 5.0);
    /* the same function the linker would have given us */
    volatile double x = 0.5;
    assert_true(m.cos(x) == cos(x));
    /* a second open of a loaded library is a reference count: same handle */
    m_api m2;
    void *h2 = NULL;
    assert_int_equal(somna_dynlib_open(&spec, 0, &h2, &m2, &err), SOMNA_OK);
    assert_ptr_equal(h2, h);
    assert_true(m2.hypot(3.0, 4.0) == 5.0);
    somna_dynlib_close(h2);
    somna_dynlib_close(h);
    /* RTLD_NODELETE: pointers stay callable after the last close */
    assert_true(m.hypot(6.0, 8.0) == 10.0);
    somna_dynlib_close(NULL); /* harmless */
}

static void test_missing_library_message(void **state)
{
    (void)state;
    somna_dynlib_spec spec = {"libsomna-no-such-lib.so.7", "Imaginary exports", "libsomna-nothing7", m_syms, 2};
    m_api m;
    void *h = (void *)&m; /* must be reset to NULL */
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    assert_int_equal(somna_dynlib_open(&spec, 0, &h, &m, &err), SOMNA_E_UNSUPPORTED);
    assert_null(h);
    assert_int_equal(err.code, SOMNA_E_UNSUPPORTED);
    /* "<feature> need <soname> (Debian package <package>): <dlerror>" */
    const char *want = "Imaginary exports need libsomna-no-such-lib.so.7 (Debian package libsomna-nothing7): ";
    assert_memory_equal(err.msg, want, strlen(want));
    /* dlerror's own reason follows */
    assert_non_null(strstr(err.msg + strlen(want), "No such file"));
    /* err may be NULL (callers that only need the code) */
    assert_int_equal(somna_dynlib_open(&spec, 0, &h, &m, NULL), SOMNA_E_UNSUPPORTED);
    /* no package known (configured off Debian): the parenthesis is left out */
    somna_dynlib_spec nopkg = {"libsomna-no-such-lib.so.7", "Imaginary exports", "", m_syms, 2};
    assert_int_equal(somna_dynlib_open(&nopkg, 0, &h, &m, &err), SOMNA_E_UNSUPPORTED);
    want = "Imaginary exports need libsomna-no-such-lib.so.7: ";
    assert_memory_equal(err.msg, want, strlen(want));
}

typedef struct bad_api {
    __typeof__(&cos) cos;
    double (*nope)(double);
} bad_api;

static void test_missing_symbol_message(void **state)
{
    (void)state;
    const somna_dynlib_sym syms[] = {
        {"cos", offsetof(bad_api, cos), 0},
        {"somna_no_such_function", offsetof(bad_api, nope), 0},
    };
    somna_dynlib_spec spec = {LIBM, "PNG plots", "libc6", syms, 2};
    bad_api b;
    void *h = (void *)&b;
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    assert_int_equal(somna_dynlib_open(&spec, 0, &h, &b, &err), SOMNA_E_UNSUPPORTED);
    assert_null(h);
    const char *want = "PNG plots need libm.so.6 (Debian package libc6): function somna_no_such_function not found (";
    assert_memory_equal(err.msg, want, strlen(want));
    /* ... then dlerror's text, which names the symbol again */
    assert_non_null(strstr(err.msg + strlen(want), "somna_no_such_function"));

    /* the same symbol marked optional: success, member NULL */
    const somna_dynlib_sym opt[] = {
        {"cos", offsetof(bad_api, cos), 0},
        {"somna_no_such_function", offsetof(bad_api, nope), 1},
    };
    spec.syms = opt;
    b.nope = cos; /* must be overwritten */
    assert_int_equal(somna_dynlib_open(&spec, 0, &h, &b, &err), SOMNA_OK);
    assert_null(b.nope);
    assert_true(b.cos(0.0) == 1.0);
    somna_dynlib_close(h);
}

static void test_if_loaded(void **state)
{
    (void)state;
    somna_err err;
    somna_err_init(&err, NULL, NULL);
    m_api m;
    void *h = NULL;
    /* libm is loaded by the test above (and by this program) */
    somna_dynlib_spec spec = {LIBM, "Trigonometry tests", "libc6", m_syms, 2};
    assert_int_equal(somna_dynlib_open(&spec, SOMNA_DYNLIB_IF_LOADED, &h, &m, &err), SOMNA_OK);
    assert_true(m.hypot(5.0, 12.0) == 13.0);
    somna_dynlib_close(h);

    /* a library that exists but nobody loaded: not loaded by asking, no
     * message (nothing failed).  libz is on every Debian system (dpkg
     * needs it) and neither cmocka nor libc pull it in. */
    if (dlopen("libz.so.1", RTLD_NOW | RTLD_NOLOAD)) {
        fprintf(stderr, "SKIP: libz.so.1 is already loaded in this process\n");
        skip();
    }
    const somna_dynlib_sym zsyms[] = {{"zlibVersion", 0, 0}};
    void (*zv)(void) = NULL;
    somna_dynlib_spec z = {"libz.so.1", "Compression tests", "zlib1g", zsyms, 1};
    assert_int_equal(somna_dynlib_open(&z, SOMNA_DYNLIB_IF_LOADED, &h, &zv, &err), SOMNA_E_NOTFOUND);
    assert_null(h);
    assert_null(zv);
    assert_string_equal(err.msg, "");
    assert_null(dlopen("libz.so.1", RTLD_NOW | RTLD_NOLOAD));
    /* and without the flag it is loaded */
    assert_int_equal(somna_dynlib_open(&z, 0, &h, &zv, &err), SOMNA_OK);
    assert_non_null(zv);
    somna_dynlib_close(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resolves_real_functions),
        cmocka_unit_test(test_missing_library_message),
        cmocka_unit_test(test_missing_symbol_message),
        cmocka_unit_test(test_if_loaded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
