/* manifest.c — parse and write the folder manifest (format in manifest.h). */
#include "manifest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int folder_parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (!*s) return 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return 0;
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10) return 0;
        v = v * 10 + d;
    }
    *out = v;
    return 1;
}

static int folder_parse_i64(const char *s, int64_t *out)
{
    uint64_t v;
    int neg = (*s == '-');
    if (!folder_parse_u64(s + neg, &v)) return 0;
    if (v > (uint64_t)INT64_MAX + (uint64_t)neg) return 0;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 1;
}

static int folder_mentry_cmp(const void *a, const void *b)
{
    return strcmp(((const folder_mentry *)a)->path, ((const folder_mentry *)b)->path);
}

int folder_manifest_parse(folder_manifest *m, const uint8_t *data, size_t len, char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    if (len == 0 || data[len - 1] != '\0') {
        snprintf(err, errlen, "manifest is truncated");
        return -1;
    }
    m->data = malloc(len);
    if (!m->data) { snprintf(err, errlen, "out of memory"); return -1; }
    memcpy(m->data, data, len);

    /* Count fields to size the entry array. */
    size_t fields = 0;
    for (size_t i = 0; i < len; i++) if (m->data[i] == '\0') fields++;
    if (fields < 3 || (fields - 3) % 5 != 0) {
        snprintf(err, errlen, "manifest has a bad field count");
        goto fail;
    }
    const char *p = m->data;
    const char *magic = p; p += strlen(p) + 1;
    const char *version = p; p += strlen(p) + 1;
    const char *maxs = p; p += strlen(p) + 1;
    if (strcmp(magic, FOLDER_MANIFEST_MAGIC) != 0 || strcmp(version, FOLDER_MANIFEST_VERSION) != 0 ||
        !folder_parse_u64(maxs, &m->max_file_size)) {
        snprintf(err, errlen, "manifest has an unknown header");
        goto fail;
    }
    size_t n = (fields - 3) / 5;
    if (n) {
        m->e = calloc(n, sizeof *m->e);
        if (!m->e) { snprintf(err, errlen, "out of memory"); goto fail; }
    }
    int sorted = 1;
    for (size_t i = 0; i < n; i++) {
        folder_mentry *e = &m->e[i];
        const char *f[5];
        for (int k = 0; k < 5; k++) { f[k] = p; p += strlen(p) + 1; }
        e->path = f[0];
        e->path_len = strlen(f[0]);
        size_t shalen = strlen(f[3]);
        if (e->path_len == 0 || !folder_parse_u64(f[1], &e->size) || !folder_parse_i64(f[2], &e->mtime_ns) ||
            (shalen != 0 && shalen != 40)) {
            snprintf(err, errlen, "manifest entry %zu is malformed", i);
            goto fail;
        }
        uint64_t flags;
        if (!folder_parse_u64(f[4], &flags) || flags > UINT32_MAX) {
            snprintf(err, errlen, "manifest entry %zu is malformed", i);
            goto fail;
        }
        e->flags = (uint32_t)flags;
        memcpy(e->sha, f[3], shalen + 1);
        if (i > 0 && sorted && strcmp(m->e[i - 1].path, e->path) >= 0) sorted = 0;
    }
    m->n = n;
    if (!sorted) {
        qsort(m->e, n, sizeof *m->e, folder_mentry_cmp);
        /* Drop duplicates (should not happen): keep the first of each run. */
        size_t w = 0;
        for (size_t i = 0; i < n; i++)
            if (w == 0 || strcmp(m->e[w - 1].path, m->e[i].path) != 0) m->e[w++] = m->e[i];
        m->n = w;
    }
    return 0;
fail:
    folder_manifest_free(m);
    return -1;
}

void folder_manifest_free(folder_manifest *m)
{
    free(m->data);
    free(m->e);
    memset(m, 0, sizeof *m);
}

void folder_manifest_write_header(folder_buf *b, uint64_t max_file_size)
{
    folder_buf_add(b, FOLDER_MANIFEST_MAGIC, sizeof FOLDER_MANIFEST_MAGIC);   /* with the NUL */
    folder_buf_add(b, FOLDER_MANIFEST_VERSION, sizeof FOLDER_MANIFEST_VERSION);
    folder_buf_addu(b, max_file_size);
    folder_buf_addc(b, '\0');
}

void folder_manifest_write_entry(folder_buf *b, const char *path, size_t path_len, uint64_t size,
                                 int64_t mtime_ns, const char *sha, uint32_t flags)
{
    folder_buf_add(b, path, path_len);
    folder_buf_addc(b, '\0');
    folder_buf_addu(b, size);
    folder_buf_addc(b, '\0');
    folder_buf_addi(b, mtime_ns);
    folder_buf_addc(b, '\0');
    folder_buf_adds(b, sha ? sha : "");
    folder_buf_addc(b, '\0');
    folder_buf_addu(b, flags);
    folder_buf_addc(b, '\0');
}
