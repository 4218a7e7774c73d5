/* Optional shared libraries loaded at first use (POSIX dlopen/dlsym,
 * IEEE Std 1003.1-2017).
 *
 * libpq, cairo and libcrypto pull in ~40 further libraries (krb5, ldap,
 * gnutls, X11, fontconfig ...) whose relocation and constructors cost a
 * process ~6 ms before main(), about five times what the rest of somna costs.
 * Only a PostgreSQL study database, a PNG plot or the SHA-256 of an imported
 * file needs them, so they are not linked: the code that needs one opens it
 * here and resolves the functions it calls into a struct of typed function
 * pointers that it owns (no process-wide table: house rule, no global mutable
 * state).  A machine without PostgreSQL still runs everything else, and the
 * command that does need it fails with one message naming the library, the
 * feature and the Debian package.
 *
 * Private to libsomna: not part of include/somna.
 */
#ifndef SOMNA_CORE_DYNLIB_H
#define SOMNA_CORE_DYNLIB_H

#include <stddef.h>

#include "somna/error.h"

/* One function to resolve: its name and where its pointer goes in the
 * caller's table (offsetof of a function-pointer member).  An optional
 * symbol that the library lacks leaves the member NULL instead of failing. */
typedef struct somna_dynlib_sym {
    const char *name;
    size_t offset;
    int optional;
} somna_dynlib_sym;

/* What to load and how to explain its absence:
 *   "<feature> need <soname> (Debian package <package>): <dlerror text>" */
typedef struct somna_dynlib_spec {
    const char *soname;  /* "libpq.so.5": read from the library at configure time */
    const char *feature; /* "PostgreSQL study databases" (plural: "... need ...") */
    const char *package; /* "libpq5" */
    const somna_dynlib_sym *syms;
    size_t n_syms;
} somna_dynlib_spec;

/* somna_dynlib_open flags */
enum {
    /* Only use the library if the process has already loaded it; if not,
     * return SOMNA_E_NOTFOUND without a message (e.g. releasing cairo's
     * caches when no PNG was ever drawn). */
    SOMNA_DYNLIB_IF_LOADED = 1u
};

/* Open spec->soname (RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE: the library is
 * never unmapped, so fontconfig's and OpenSSL's process-wide state and
 * atexit handlers stay valid, and a second open is a reference count) and
 * store every symbol of spec->syms into `table`.  On success *handle is the
 * library handle for somna_dynlib_close.  On failure nothing is kept, *handle
 * is NULL, the table is untouched or partly filled (do not use it), and the
 * code is SOMNA_E_UNSUPPORTED with one message. */
int somna_dynlib_open(const somna_dynlib_spec *spec, unsigned flags, void **handle, void *table,
                      somna_err *err);

/* Drop the reference taken by somna_dynlib_open (NULL is fine).  With
 * RTLD_NODELETE the library stays mapped, so function pointers copied from
 * the table remain callable. */
void somna_dynlib_close(void *handle);

/* X-macro helpers for a table of functions named <prefix><name>, declared
 * from the library's own header so the compiler checks every call:
 *
 *   #define CAIRO_FUNCS(X) X(create) X(destroy) ...
 *   typedef struct { CAIRO_FUNCS(CAIRO_MEMBER) } cairo_api;   with
 *   #define CAIRO_MEMBER(f) SOMNA_DYNLIB_MEMBER(cairo_, f)
 *   static const somna_dynlib_sym syms[] = { CAIRO_FUNCS(CAIRO_SYM) };  with
 *   #define CAIRO_SYM(f) SOMNA_DYNLIB_SYM(cairo_api, cairo_, f)
 *
 * __typeof__ is accepted without warnings by gcc 12 and clang 14 under
 * -std=c11 -Wpedantic (it is the reserved-name spelling of C23 typeof). */
#define SOMNA_DYNLIB_MEMBER(prefix, f) __typeof__(&prefix##f) f;
#define SOMNA_DYNLIB_SYM(type, prefix, f) {#prefix #f, offsetof(type, f), 0},

#endif
