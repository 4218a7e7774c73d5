#include "somna/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int somna_read_file(const char *path, size_t max_bytes, char **data, size_t *len, somna_err *err)
{
    *data = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return somna_fail(err, SOMNA_E_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return somna_fail(err, SOMNA_E_IO, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > max_bytes) {
        close(fd);
        return somna_fail(err, SOMNA_E_NOMEM, "%s: file is %lld bytes, more than the %zu this reader accepts",
                          path, (long long)st.st_size, max_bytes);
    }
    size_t size = (size_t)st.st_size;
    char *buf = malloc(size + 1);
    if (!buf) {
        close(fd);
        return somna_fail(err, SOMNA_E_NOMEM, "%s: out of memory reading %zu bytes", path, size);
    }
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, buf + got, size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            int e = errno;
            free(buf);
            close(fd);
            return somna_fail(err, SOMNA_E_IO, "%s: read error: %s", path, r == 0 ? "file shrank" : strerror(e));
        }
        got += (size_t)r;
    }
    close(fd);
    buf[size] = '\0';
    *data = buf;
    *len = size;
    return SOMNA_OK;
}

int somna_mmap_open(const char *path, somna_mmap *m, somna_err *err)
{
    m->data = NULL;
    m->len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return somna_fail(err, SOMNA_E_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return somna_fail(err, SOMNA_E_IO, "%s: not a regular file", path);
    }
    if (st.st_size == 0) {
        close(fd);
        return SOMNA_OK;
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED)
        return somna_fail(err, SOMNA_E_IO, "%s: cannot map: %s", path, strerror(errno));
    madvise(p, (size_t)st.st_size, MADV_SEQUENTIAL);
    m->data = p;
    m->len = (size_t)st.st_size;
    return SOMNA_OK;
}

void somna_mmap_close(somna_mmap *m)
{
    if (m->data)
        munmap((void *)m->data, m->len);
    m->data = NULL;
    m->len = 0;
}

int somna_outfile_open(somna_outfile *o, const char *path, somna_err *err)
{
    memset(o, 0, sizeof *o);
    if (strcmp(path, "-") == 0) {
        o->fp = stdout; /* somna-lint: allow (caller asked for "-") */
        o->is_stdout = 1;
        return SOMNA_OK;
    }
    size_t n = strlen(path);
    o->path = strdup(path);
    o->tmp_path = malloc(n + 16);
    if (!o->path || !o->tmp_path) {
        free(o->path);
        free(o->tmp_path);
        return somna_fail(err, SOMNA_E_NOMEM, "%s: out of memory", path);
    }
    snprintf(o->tmp_path, n + 16, "%s.tmpXXXXXX", path);
    int fd = mkstemp(o->tmp_path);
    if (fd < 0) {
        int e = errno;
        free(o->path);
        free(o->tmp_path);
        memset(o, 0, sizeof *o);
        return somna_fail(err, SOMNA_E_IO, "%s: cannot create: %s", path, strerror(e));
    }
    /* mkstemp creates 0600; outputs are ordinary files (respect umask). */
    mode_t um = umask(0);
    umask(um);
    fchmod(fd, 0666 & ~um);
    o->fp = fdopen(fd, "wb");
    if (!o->fp) {
        close(fd);
        unlink(o->tmp_path);
        free(o->path);
        free(o->tmp_path);
        memset(o, 0, sizeof *o);
        return somna_fail(err, SOMNA_E_IO, "%s: cannot open stream", path);
    }
    return SOMNA_OK;
}

int somna_outfile_commit(somna_outfile *o, somna_err *err)
{
    if (o->is_stdout) {
        if (fflush(stdout) != 0) /* somna-lint: allow */
            return somna_fail(err, SOMNA_E_IO, "standard output: write error: %s", strerror(errno));
        return SOMNA_OK;
    }
    int bad = ferror(o->fp) != 0;
    if (fflush(o->fp) != 0 || fsync(fileno(o->fp)) != 0)
        bad = 1;
    int e = errno;
    if (fclose(o->fp) != 0)
        bad = 1;
    o->fp = NULL;
    if (bad || rename(o->tmp_path, o->path) != 0) {
        if (!bad)
            e = errno;
        unlink(o->tmp_path);
        int rc = somna_fail(err, SOMNA_E_IO, "%s: write failed: %s", o->path, strerror(e));
        free(o->path);
        free(o->tmp_path);
        o->path = o->tmp_path = NULL;
        return rc;
    }
    free(o->path);
    free(o->tmp_path);
    o->path = o->tmp_path = NULL;
    return SOMNA_OK;
}

void somna_outfile_abort(somna_outfile *o)
{
    if (o->is_stdout) {
        fflush(stdout); /* somna-lint: allow */
        return;
    }
    if (o->fp)
        fclose(o->fp);
    if (o->tmp_path)
        unlink(o->tmp_path);
    free(o->path);
    free(o->tmp_path);
    memset(o, 0, sizeof *o);
}

static size_t put_utf8(char *dst, uint32_t cp)
{
    if (cp < 0x80) {
        dst[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        dst[0] = (char)(0xC0 | (cp >> 6));
        dst[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        dst[0] = (char)(0xE0 | (cp >> 12));
        dst[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        dst[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    dst[0] = (char)(0xF0 | (cp >> 18));
    dst[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    dst[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    dst[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

char *somna_text_to_utf8(const char *data, size_t len, size_t *out_len)
{
    const unsigned char *u = (const unsigned char *)data;
    if (len >= 3 && u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF) {
        char *out = malloc(len - 3 + 1);
        if (!out)
            return NULL;
        memcpy(out, data + 3, len - 3);
        out[len - 3] = '\0';
        *out_len = len - 3;
        return out;
    }
    int le;
    if (len >= 2 && u[0] == 0xFF && u[1] == 0xFE)
        le = 1;
    else if (len >= 2 && u[0] == 0xFE && u[1] == 0xFF)
        le = 0;
    else
        return NULL;
    size_t units = (len - 2) / 2;
    char *out = malloc(units * 3 + 1); /* a BMP unit is at most 3 UTF-8 bytes; a pair (2 units) 4 */
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < units; i++) {
        const unsigned char *p = u + 2 + 2 * i;
        uint32_t c = le ? (uint32_t)(p[0] | (p[1] << 8)) : (uint32_t)((p[0] << 8) | p[1]);
        if (c >= 0xD800 && c <= 0xDBFF && i + 1 < units) {
            const unsigned char *q = p + 2;
            uint32_t c2 = le ? (uint32_t)(q[0] | (q[1] << 8)) : (uint32_t)((q[0] << 8) | q[1]);
            if (c2 >= 0xDC00 && c2 <= 0xDFFF) {
                c = 0x10000 + ((c - 0xD800) << 10) + (c2 - 0xDC00);
                i++;
            } else {
                c = 0xFFFD;
            }
        } else if (c >= 0xD800 && c <= 0xDFFF) {
            c = 0xFFFD;
        }
        o += put_utf8(out + o, c);
    }
    out[o] = '\0';
    *out_len = o;
    return out;
}
