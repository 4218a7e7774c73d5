/* Optional shared libraries loaded at first use; see core/dynlib.h. */
#include "core/dynlib.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

/* The table members are function pointers filled from dlsym's void *:
 * POSIX requires the two to have the same representation (XSH dlsym). */
_Static_assert(sizeof(void (*)(void)) == sizeof(void *), "function and object pointers differ in size");

static int dl_fail(const somna_dynlib_spec *spec, somna_err *err, const char *what)
{
    if (!spec->package || !*spec->package) /* configured off Debian: no package name known */
        return somna_fail(err, SOMNA_E_UNSUPPORTED, "%s need %s: %s", spec->feature, spec->soname, what);
    return somna_fail(err, SOMNA_E_UNSUPPORTED, "%s need %s (Debian package %s): %s", spec->feature, spec->soname,
                      spec->package, what);
}

int somna_dynlib_open(const somna_dynlib_spec *spec, unsigned flags, void **handle, void *table, somna_err *err)
{
    *handle = NULL;
    int mode = RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE;
    if (flags & SOMNA_DYNLIB_IF_LOADED)
        mode |= RTLD_NOLOAD;
    (void)dlerror(); /* clear a stale message */
    void *h = dlopen(spec->soname, mode);
    if (!h) {
        if (flags & SOMNA_DYNLIB_IF_LOADED)
            return SOMNA_E_NOTFOUND;
        const char *why = dlerror();
        return dl_fail(spec, err, why ? why : "cannot be opened");
    }
    for (size_t i = 0; i < spec->n_syms; i++) {
        const somna_dynlib_sym *s = &spec->syms[i];
        (void)dlerror();
        void *p = dlsym(h, s->name);
        if (!p && !s->optional) {
            const char *why = dlerror();
            char what[512];
            snprintf(what, sizeof what, "function %s not found (%s)", s->name, why ? why : "no such symbol");
            dlclose(h);
            return dl_fail(spec, err, what);
        }
        memcpy((char *)table + s->offset, &p, sizeof p);
    }
    *handle = h;
    return SOMNA_OK;
}

void somna_dynlib_close(void *handle)
{
    if (handle)
        dlclose(handle);
}
