/*
 * folder.c — the Inlet "folder" connector: mirrors the files of a local folder.
 *
 * Every sync walks the folder, compares each file's size and mtime with the manifest the
 * previous sync left in the source's state, reads only what changed, emits one record per new
 * or changed file (key = the path relative to the root, kind "file"), a tombstone per file that
 * went away, and stores the new manifest. Text files (no NUL in the first 8 KB, valid UTF-8)
 * carry their content; binary and too-large files carry metadata only.
 *
 * Build from the repository root (needs nothing but the ABI header); see README.md.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE 1 /* d_type in struct dirent */

#include "inlet_connector.h"

#include "glob.h"
#include "json.h"
#include "manifest.h"
#include "sha1.h"
#include "utf8.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FOLDER_DEFAULT_MAX_FILE_SIZE (UINT64_C(1) << 20)
#define FOLDER_MAX_MAX_FILE_SIZE (UINT64_C(1) << 40)     /* sanity bound for max_file_size */
#define FOLDER_TEXT_SNIFF 8192                           /* a NUL in these bytes means binary */
#define FOLDER_MIN_BUF (256 * 1024)                      /* read buffer; also the stream chunk */
#define FOLDER_CANCEL_EVERY 64                           /* files between is_cancelled polls */
#define FOLDER_WALK_CANCEL_EVERY 4096                    /* directory entries between polls */
#define FOLDER_CHECKPOINT_RECORDS 4096                   /* commit at least this often ... */
#define FOLDER_CHECKPOINT_BYTES (UINT64_C(64) << 20)     /* ... or after this much content */
#define FOLDER_RACY_WINDOW_NS INT64_C(100000000)         /* mtime this recent: re-check later */
#define FOLDER_RACY_WINDOW_COARSE_NS INT64_C(2500000000) /* same, coarse-timestamp filesystems */
#define FOLDER_READ_ATTEMPTS 3                           /* for a file that keeps changing */
#define FOLDER_ERR_CHANGING (-1)

#if defined(__GNUC__) || defined(__clang__)
#define FOLDER_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define FOLDER_PRINTF(fmt, args)
#endif

/* ---- the instance ------------------------------------------------------------------------- */

typedef struct folder_instance {
    const inlet_host *host;
    char *root;                  /* absolute, normalized */
    folder_glob *include;
    size_t ninclude;
    folder_glob *exclude;
    size_t nexclude;
    uint64_t max_file_size;
    int follow_symlinks;
} folder_instance;

/* ---- messages ----------------------------------------------------------------------------- */

/* Cuts a formatted message back to whole UTF-8 sequences (vsnprintf may split one). */
static size_t folder_msg_len(const char *msg)
{
    size_t n = strlen(msg);
    for (int k = 0; k < 4 && n > 0 && !folder_utf8_valid((const uint8_t *)msg, n); k++) n--;
    return n;
}

FOLDER_PRINTF(3, 0) static void folder_vmsg(char *buf, size_t size, const char *fmt, va_list ap)
{
    if (vsnprintf(buf, size, fmt, ap) < 0) snprintf(buf, size, "folder: (message formatting failed)");
}

FOLDER_PRINTF(3, 4) static void folder_error(const inlet_host *host, inlet_call *call, const char *fmt, ...)
{
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    folder_vmsg(msg, sizeof msg, fmt, ap);
    va_end(ap);
    host->set_error(call, msg, folder_msg_len(msg), 0);
}

FOLDER_PRINTF(4, 5) static void folder_log(const inlet_host *host, inlet_call *call, inlet_log_level level,
                                            const char *fmt, ...)
{
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    folder_vmsg(msg, sizeof msg, fmt, ap);
    va_end(ap);
    host->log(call, level, msg, folder_msg_len(msg));
}

static const char *folder_strerror(int err, char *buf, size_t size)
{
    if (err == FOLDER_ERR_CHANGING) return "the file kept changing while it was read";
    if (strerror_r(err, buf, size) != 0) snprintf(buf, size, "error %d", err);
    return buf;
}

/* ---- config ------------------------------------------------------------------------------- */

static const char folder_config_schema[] =
    "{\n"
    "  \"$schema\": \"https://json-schema.org/draft/2020-12/schema\",\n"
    "  \"title\": \"folder connector\",\n"
    "  \"type\": \"object\",\n"
    "  \"properties\": {\n"
    "    \"path\": {\"type\": \"string\", \"minLength\": 1,\n"
    "             \"description\": \"The folder to mirror; relative paths are resolved against the config file's folder.\"},\n"
    "    \"include\": {\"type\": \"array\", \"items\": {\"type\": \"string\", \"minLength\": 1}, \"default\": [\"**\"],\n"
    "                \"description\": \"Globs of relative paths to take (** = any number of segments, * and ? within one segment, [a-z] classes).\"},\n"
    "    \"exclude\": {\"type\": \"array\", \"items\": {\"type\": \"string\", \"minLength\": 1}, \"default\": [],\n"
    "                \"description\": \"Globs of relative paths to leave out; a folder whose whole content is excluded (\\\".git/**\\\") is not entered.\"},\n"
    "    \"max_file_size\": {\"oneOf\": [\n"
    "        {\"type\": \"integer\", \"minimum\": 0},\n"
    "        {\"type\": \"string\", \"pattern\": \"^\\\\s*[0-9]+(\\\\.[0-9]+)?\\\\s*([bB]|[kKmMgG]([iI]?[bB])?)?\\\\s*$\"}],\n"
    "      \"default\": \"1MB\",\n"
    "      \"description\": \"Bigger files are recorded with metadata only: bytes, or a string such as \\\"512KB\\\", \\\"1MB\\\", \\\"2GB\\\" (KB = 1024).\"},\n"
    "    \"follow_symlinks\": {\"type\": \"boolean\", \"default\": false,\n"
    "                        \"description\": \"Follow symbolic links to files and folders (loops are detected).\"},\n"
    "    \"_inlet\": {\"type\": \"object\", \"description\": \"Added by the host.\"}\n"
    "  },\n"
    "  \"required\": [\"path\"],\n"
    "  \"additionalProperties\": false\n"
    "}\n";

static void folder_instance_free(folder_instance *inst)
{
    if (!inst) return;
    for (size_t i = 0; i < inst->ninclude; i++) folder_glob_free(&inst->include[i]);
    for (size_t i = 0; i < inst->nexclude; i++) folder_glob_free(&inst->exclude[i]);
    free(inst->include);
    free(inst->exclude);
    free(inst->root);
    free(inst);
}

/* Parses "1048576", "512KB", "1.5 MB", "2g", "1MiB" (KB = KiB = 1024). */
static int folder_parse_size(const char *s, uint64_t *out)
{
    uint64_t whole = 0, frac = 0, frac_div = 1, mult = 1;
    while (*s == ' ' || *s == '\t') s++;
    if (*s < '0' || *s > '9') return 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (whole > (UINT64_MAX - 9) / 10) return 0;
        whole = whole * 10 + (uint64_t)(*s - '0');
    }
    if (*s == '.') {
        s++;
        if (*s < '0' || *s > '9') return 0;
        for (; *s >= '0' && *s <= '9'; s++)
            if (frac_div < UINT64_C(1000000000)) { frac = frac * 10 + (uint64_t)(*s - '0'); frac_div *= 10; }
    }
    while (*s == ' ' || *s == '\t') s++;
    char u = (char)(*s | 0x20);
    if (u == 'k' || u == 'm' || u == 'g') {
        mult = (u == 'k') ? UINT64_C(1) << 10 : (u == 'm') ? UINT64_C(1) << 20 : UINT64_C(1) << 30;
        s++;
        if ((*s | 0x20) == 'i' && (s[1] | 0x20) == 'b') s += 2;
        else if ((*s | 0x20) == 'b') s++;
    } else if (u == 'b') {
        s++;
    }
    while (*s == ' ' || *s == '\t') s++;
    if (*s) return 0;
    if (whole > FOLDER_MAX_MAX_FILE_SIZE / mult) return 0;
    *out = whole * mult + frac * mult / frac_div;
    return *out <= FOLDER_MAX_MAX_FILE_SIZE;
}

/* Appends path to b with "." segments, repeated and trailing slashes removed. */
static void folder_add_normalized(folder_buf *b, const char *path)
{
    const char *p = path;
    while (*p) {
        while (*p == '/') p++;
        const char *seg = p;
        while (*p && *p != '/') p++;
        size_t n = (size_t)(p - seg);
        if (n == 0 || (n == 1 && seg[0] == '.')) continue;
        folder_buf_addc(b, '/');
        folder_buf_add(b, seg, n);
    }
    if (b->len == 0) folder_buf_addc(b, '/');
}

static int folder_compile_globs(const inlet_host *host, inlet_call *call, const folder_json *v, const char *field,
                                folder_glob **out, size_t *nout)
{
    if (v->type != FOLDER_JSON_ARRAY) {
        folder_error(host, call, "folder: config field '%s' must be an array of strings, not %s", field,
                     folder_json_type_name(v->type));
        return 0;
    }
    *out = calloc(v->count ? v->count : 1, sizeof **out);
    if (!*out) { folder_error(host, call, "folder: out of memory"); return 0; }
    for (size_t i = 0; i < v->count; i++) {
        const folder_json *item = &v->items[i];
        if (item->type != FOLDER_JSON_STRING) {
            folder_error(host, call, "folder: config field '%s[%zu]' must be a string, not %s", field, i,
                         folder_json_type_name(item->type));
            return 0;
        }
        if (strlen(item->str) != item->len) {
            folder_error(host, call, "folder: config field '%s[%zu]' contains a NUL character", field, i);
            return 0;
        }
        int rc = folder_glob_compile(&(*out)[i], item->str, item->len);
        if (rc == -2) {
            folder_error(host, call, "folder: config field '%s[%zu]' is an empty pattern", field, i);
            return 0;
        }
        if (rc != 0) { folder_error(host, call, "folder: out of memory"); return 0; }
        (*nout)++;
    }
    return 1;
}

static inlet_status folder_create(const inlet_host *host, inlet_call *call, const char *config_json,
                                  size_t config_len, void **instance_out)
{
    if (!host || host->struct_size < INLET_HOST_V1_0_SIZE || INLET_ABI_MAJOR(host->abi_version) != INLET_ABI_VERSION_MAJOR) {
        if (host && host->struct_size >= offsetof(inlet_host, set_error) + sizeof(void *)) {
            static const char m[] = "folder: the host's service table is not ABI 1.x";
            host->set_error(call, m, sizeof m - 1, 0);
        }
        return INLET_FAILED;
    }
    char err[256];
    folder_json *cfg = folder_json_parse(config_json, config_len, err, sizeof err);
    if (!cfg) {
        folder_error(host, call, "folder: config is not valid JSON: %s", err);
        return INLET_FAILED;
    }
    folder_instance *inst = calloc(1, sizeof *inst);
    folder_buf root = {0};
    if (!inst) { folder_error(host, call, "folder: out of memory"); goto fail; }
    inst->host = host;
    inst->max_file_size = FOLDER_DEFAULT_MAX_FILE_SIZE;

    if (cfg->type != FOLDER_JSON_OBJECT) {
        folder_error(host, call, "folder: config must be a JSON object, not %s", folder_json_type_name(cfg->type));
        goto fail;
    }
    static const char *const known[] = {"path", "include", "exclude", "max_file_size", "follow_symlinks", "_inlet"};
    for (size_t i = 0; i < cfg->count; i++) {
        const folder_json *m = &cfg->items[i];
        int ok = 0;
        for (size_t k = 0; k < sizeof known / sizeof *known; k++)
            if (m->key_len == strlen(known[k]) && memcmp(m->key, known[k], m->key_len) == 0) ok = 1;
        if (!ok) {
            folder_error(host, call, "folder: config field '%s' is unknown (known: path, include, exclude, "
                                     "max_file_size, follow_symlinks)", m->key);
            goto fail;
        }
    }

    const folder_json *v = folder_json_get(cfg, "path");
    if (!v || v->type == FOLDER_JSON_NULL) {
        folder_error(host, call, "folder: config field 'path' is required");
        goto fail;
    }
    if (v->type != FOLDER_JSON_STRING || v->len == 0 || strlen(v->str) != v->len) {
        folder_error(host, call, "folder: config field 'path' must be a non-empty string%s%s",
                     v->type == FOLDER_JSON_STRING ? "" : ", not ",
                     v->type == FOLDER_JSON_STRING ? "" : folder_json_type_name(v->type));
        goto fail;
    }
    const char *path = v->str;
    if (path[0] != '/') {
        const folder_json *meta = folder_json_get(cfg, "_inlet");
        const folder_json *dir = meta && meta->type == FOLDER_JSON_OBJECT ? folder_json_get(meta, "config_dir") : NULL;
        int have_dir = dir && dir->type == FOLDER_JSON_STRING && dir->len > 0 && strlen(dir->str) == dir->len;
        if (!have_dir || dir->str[0] != '/') {
            /* The host always passes an absolute config_dir; without one, use the working folder. */
            char cwd[4096];
            if (!getcwd(cwd, sizeof cwd)) {
                folder_error(host, call, "folder: config field 'path' is relative and the working folder is unknown");
                goto fail;
            }
            folder_buf_adds(&root, cwd);
            folder_buf_addc(&root, '/');
        }
        if (have_dir) {
            folder_buf_adds(&root, dir->str);
            folder_buf_addc(&root, '/');
        }
    }
    folder_buf_adds(&root, path);
    if (root.oom) { folder_error(host, call, "folder: out of memory"); goto fail; }
    folder_buf normalized = {0};
    folder_add_normalized(&normalized, root.data);
    if (normalized.oom) { folder_buf_free(&normalized); folder_error(host, call, "folder: out of memory"); goto fail; }
    inst->root = normalized.data;

    if ((v = folder_json_get(cfg, "include")) != NULL) {
        if (!folder_compile_globs(host, call, v, "include", &inst->include, &inst->ninclude)) goto fail;
    } else {
        inst->include = calloc(1, sizeof *inst->include);
        if (!inst->include || folder_glob_compile(&inst->include[0], "**", 2) != 0) {
            folder_error(host, call, "folder: out of memory");
            goto fail;
        }
        inst->ninclude = 1;
    }
    if ((v = folder_json_get(cfg, "exclude")) != NULL)
        if (!folder_compile_globs(host, call, v, "exclude", &inst->exclude, &inst->nexclude)) goto fail;

    if ((v = folder_json_get(cfg, "max_file_size")) != NULL) {
        int64_t n;
        if (v->type == FOLDER_JSON_NUMBER) {
            if (!folder_json_int(v, &n) || n < 0 || (uint64_t)n > FOLDER_MAX_MAX_FILE_SIZE) {
                folder_error(host, call, "folder: config field 'max_file_size' must be a whole number of bytes "
                                         "between 0 and 1TB, not %s", v->str);
                goto fail;
            }
            inst->max_file_size = (uint64_t)n;
        } else if (v->type == FOLDER_JSON_STRING) {
            if (strlen(v->str) != v->len || !folder_parse_size(v->str, &inst->max_file_size)) {
                folder_error(host, call, "folder: config field 'max_file_size' is not a size: '%s' (use bytes, "
                                         "or a number with KB, MB or GB, as in \"512KB\")", v->str);
                goto fail;
            }
        } else {
            folder_error(host, call, "folder: config field 'max_file_size' must be an integer or a string "
                                     "such as \"1MB\", not %s", folder_json_type_name(v->type));
            goto fail;
        }
    }
    if ((v = folder_json_get(cfg, "follow_symlinks")) != NULL) {
        if (v->type != FOLDER_JSON_BOOL) {
            folder_error(host, call, "folder: config field 'follow_symlinks' must be a boolean, not %s",
                         folder_json_type_name(v->type));
            goto fail;
        }
        inst->follow_symlinks = v->boolean;
    }
    if ((v = folder_json_get(cfg, "_inlet")) != NULL && v->type != FOLDER_JSON_OBJECT) {
        folder_error(host, call, "folder: config field '_inlet' must be an object");
        goto fail;
    }

    folder_buf_free(&root);
    folder_json_free(cfg);
    *instance_out = inst;
    return INLET_OK;
fail:
    folder_buf_free(&root);
    folder_json_free(cfg);
    folder_instance_free(inst);
    return INLET_FAILED;
}

static void folder_destroy(void *instance)
{
    folder_instance_free(instance);
}

/* ---- one sync ----------------------------------------------------------------------------- */

typedef struct folder_file {
    size_t off, len;       /* the relative path in run->paths, while walking */
    const char *path;      /* the same, once the walk is done */
    uint64_t size;
    int64_t mtime_ns;
} folder_file;

typedef struct folder_dirnode {
    size_t off, len;       /* the relative path in run->dirpaths ("" for the root) */
    size_t parent;         /* SIZE_MAX for the root */
    dev_t dev;
    ino_t ino;
} folder_dirnode;

typedef struct folder_read_result {
    uint64_t size;         /* bytes hashed */
    struct timespec mtime;
    int64_t mtime_ns;
    char sha[41];
    int is_text, too_large, recheck;
    const uint8_t *content; /* into run->buf, or NULL */
} folder_read_result;

typedef struct folder_run {
    folder_instance *inst;
    const inlet_host *host;
    inlet_call *call;
    int root_fd;
    int full;

    folder_buf scratch;
    folder_path_segs segs;
    folder_buf paths;
    folder_file *files;
    size_t nfiles, capfiles;
    folder_buf dirpaths;
    folder_dirnode *dirs;
    size_t ndirs, capdirs;
    size_t *stack;
    size_t nstack, capstack;
    folder_buf unreadable; /* "dir/" prefixes whose listing failed, NUL-separated */

    folder_manifest old;
    folder_buf newman;
    folder_buf meta;
    uint8_t *buf;
    size_t bufcap;
    uint64_t cp_records, since_cp_records, since_cp_bytes;

    size_t n_new, n_changed, n_unchanged, n_deleted, n_quarantined, n_kept, n_pruned;
} folder_run;

static void folder_run_free(folder_run *r)
{
    if (r->root_fd >= 0) close(r->root_fd);
    folder_buf_free(&r->scratch);
    folder_path_segs_free(&r->segs);
    folder_buf_free(&r->paths);
    free(r->files);
    folder_buf_free(&r->dirpaths);
    free(r->dirs);
    free(r->stack);
    folder_buf_free(&r->unreadable);
    folder_manifest_free(&r->old);
    folder_buf_free(&r->newman);
    folder_buf_free(&r->meta);
    free(r->buf);
}

static inlet_status folder_oom(folder_run *r)
{
    folder_error(r->host, r->call, "folder: out of memory");
    return INLET_RETRY;
}

static int folder_grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 1;
    size_t ncap = *cap ? *cap : 64;
    while (ncap < need) ncap *= 2;
    if (ncap > SIZE_MAX / elem) return 0;
    void *n = realloc(*p, ncap * elem);
    if (!n) return 0;
    *p = n;
    *cap = ncap;
    return 1;
}

static int64_t folder_ns(struct timespec ts)
{
    const int64_t max_sec = INT64_MAX / 1000000000 - 1;
    if (ts.tv_sec > max_sec) return INT64_MAX;
    if (ts.tv_sec < -max_sec) return INT64_MIN;
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int folder_any_match(const folder_glob *g, size_t n, const folder_path_segs *ps)
{
    for (size_t i = 0; i < n; i++) if (folder_glob_match(&g[i], ps)) return 1;
    return 0;
}

static int folder_push_dir(folder_run *r, const char *rel, size_t len, size_t parent)
{
    if (!folder_grow((void **)&r->dirs, &r->capdirs, r->ndirs + 1, sizeof *r->dirs) ||
        !folder_grow((void **)&r->stack, &r->capstack, r->nstack + 1, sizeof *r->stack))
        return 0;
    folder_dirnode *d = &r->dirs[r->ndirs];
    memset(d, 0, sizeof *d);
    d->off = r->dirpaths.len;
    d->len = len;
    d->parent = parent;
    folder_buf_add(&r->dirpaths, rel, len);
    folder_buf_addc(&r->dirpaths, '\0');
    if (r->dirpaths.oom) return 0;
    r->stack[r->nstack++] = r->ndirs++;
    return 1;
}

/* A listing failed: files below rel must not be taken for deleted. */
static void folder_mark_unreadable(folder_run *r, const char *rel, int err)
{
    char eb[128];
    folder_log(r->host, r->call, INLET_LOG_WARNING, "folder: cannot list '%s%s%s': %s; its files are kept as they were",
               r->inst->root, *rel ? "/" : "", rel, folder_strerror(err, eb, sizeof eb));
    folder_buf_adds(&r->unreadable, rel);
    if (*rel) folder_buf_addc(&r->unreadable, '/');
    folder_buf_addc(&r->unreadable, '\0');
}

static int folder_is_protected(const folder_run *r, const char *path)
{
    for (size_t i = 0; i < r->unreadable.len; i += strlen(r->unreadable.data + i) + 1) {
        const char *prefix = r->unreadable.data + i;
        if (strncmp(path, prefix, strlen(prefix)) == 0) return 1;
    }
    return 0;
}

/* Lists one directory: pushes the subdirectories worth entering, records the files taken. */
static inlet_status folder_list_dir(folder_run *r, size_t idx, size_t *entries)
{
    const folder_instance *inst = r->inst;
    folder_dirnode node = r->dirs[idx];
    const char *rel = node.len ? r->dirpaths.data + node.off : ".";
    int fd = openat(r->root_fd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY | (inst->follow_symlinks ? 0 : O_NOFOLLOW));
    if (fd < 0) {
        /* Gone or replaced since it was listed: nothing to protect. */
        if (errno != ENOENT && errno != ENOTDIR && errno != ELOOP) folder_mark_unreadable(r, r->dirpaths.data + node.off, errno);
        return INLET_OK;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        folder_mark_unreadable(r, r->dirpaths.data + node.off, errno);
        close(fd);
        return INLET_OK;
    }
    /* A folder that is its own ancestor (a symlink or a bind mount loop) is not entered again. */
    for (size_t p = node.parent; p != SIZE_MAX; p = r->dirs[p].parent) {
        if (r->dirs[p].dev == st.st_dev && r->dirs[p].ino == st.st_ino) {
            folder_log(r->host, r->call, INLET_LOG_WARNING, "folder: '%s' leads back to '%s'; not entered again", rel,
                       r->dirs[p].len ? r->dirpaths.data + r->dirs[p].off : ".");
            close(fd);
            return INLET_OK;
        }
    }
    r->dirs[idx].dev = st.st_dev;
    r->dirs[idx].ino = st.st_ino;
    DIR *d = fdopendir(fd);
    if (!d) {
        folder_mark_unreadable(r, r->dirpaths.data + node.off, errno);
        close(fd);
        return INLET_OK;
    }
    int dfd = dirfd(d);
    inlet_status status = INLET_OK;
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de) {
            if (errno) folder_mark_unreadable(r, r->dirpaths.data + r->dirs[idx].off, errno);
            break;
        }
        const char *name = de->d_name;
        if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))) continue;
        if (++*entries % FOLDER_WALK_CANCEL_EVERY == 0 && r->host->is_cancelled(r->call)) {
            folder_error(r->host, r->call, "folder: cancelled");
            status = INLET_RETRY;
            break;
        }

        int is_dir = 0, is_reg = 0, have_st = 0;
        switch (de->d_type) {
        case DT_DIR: is_dir = 1; break;
        case DT_REG: is_reg = 1; break;
        case DT_LNK:
        case DT_UNKNOWN:
            if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
            if (S_ISLNK(st.st_mode)) {
                if (!inst->follow_symlinks || fstatat(dfd, name, &st, 0) != 0) continue; /* or dangling */
            }
            have_st = 1;
            is_dir = S_ISDIR(st.st_mode);
            is_reg = S_ISREG(st.st_mode);
            break;
        default: continue; /* fifos, sockets, devices */
        }
        if (!is_dir && !is_reg) continue;

        /* The child's relative path. */
        r->scratch.len = 0;
        folder_buf_add(&r->scratch, r->dirpaths.data + r->dirs[idx].off, node.len);
        if (node.len) folder_buf_addc(&r->scratch, '/');
        folder_buf_adds(&r->scratch, name);
        if (r->scratch.oom || folder_path_split(&r->segs, r->scratch.data, r->scratch.len) != 0) {
            status = folder_oom(r);
            break;
        }

        if (is_dir) {
            int enter = 1;
            for (size_t i = 0; enter && i < inst->nexclude; i++)
                if (folder_glob_covers_below(&inst->exclude[i], &r->segs)) enter = 0;
            if (enter) {
                enter = 0;
                for (size_t i = 0; !enter && i < inst->ninclude; i++)
                    if (folder_glob_may_match_below(&inst->include[i], &r->segs)) enter = 1;
            }
            if (!enter) { r->n_pruned++; continue; }
            if (!folder_push_dir(r, r->scratch.data, r->scratch.len, idx)) { status = folder_oom(r); break; }
            continue;
        }

        if (!folder_any_match(inst->include, inst->ninclude, &r->segs) ||
            folder_any_match(inst->exclude, inst->nexclude, &r->segs))
            continue;
        if (!have_st) {
            if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) continue; /* vanished */
        }
        if (!folder_grow((void **)&r->files, &r->capfiles, r->nfiles + 1, sizeof *r->files)) { status = folder_oom(r); break; }
        folder_file *f = &r->files[r->nfiles++];
        f->off = r->paths.len;
        f->len = r->scratch.len;
        f->path = NULL;
        f->size = (uint64_t)st.st_size;
        f->mtime_ns = folder_ns(st.st_mtim);
        folder_buf_add(&r->paths, r->scratch.data, r->scratch.len + 1); /* with the NUL */
        if (r->paths.oom) { status = folder_oom(r); break; }
    }
    closedir(d);
    return status;
}

static int folder_file_cmp(const void *a, const void *b)
{
    return strcmp(((const folder_file *)a)->path, ((const folder_file *)b)->path);
}

static inlet_status folder_walk(folder_run *r)
{
    size_t entries = 0;
    if (!folder_push_dir(r, "", 0, SIZE_MAX)) return folder_oom(r);
    while (r->nstack > 0) {
        size_t idx = r->stack[--r->nstack];
        inlet_status st = folder_list_dir(r, idx, &entries);
        if (st != INLET_OK) return st;
    }
    if (r->unreadable.oom) return folder_oom(r);
    for (size_t i = 0; i < r->nfiles; i++) r->files[i].path = r->paths.data + r->files[i].off;
    if (r->nfiles > 1) qsort(r->files, r->nfiles, sizeof *r->files, folder_file_cmp);
    return INLET_OK;
}

static int folder_ensure_buf(folder_run *r, size_t need)
{
    if (need <= r->bufcap) return 1;
    uint8_t *n = realloc(r->buf, need);
    if (!n) return 0;
    r->buf = n;
    r->bufcap = need;
    return 1;
}

static ssize_t folder_read_some(int fd, uint8_t *p, size_t n)
{
    for (;;) {
        ssize_t k = read(fd, p, n);
        if (k >= 0 || errno != EINTR) return k;
    }
}

/* Hashes a file too large to keep, chunk by chunk, as the blob of its first st_size bytes (the
   git header needs the length first; a file that grows meanwhile has a newer mtime and is read
   again next time). Returns 0 or an errno-style code. */
static int folder_stream(folder_run *r, int fd, folder_read_result *res)
{
    for (int attempt = 0; attempt < FOLDER_READ_ATTEMPTS; attempt++) {
        struct stat st;
        if (lseek(fd, 0, SEEK_SET) < 0 || fstat(fd, &st) != 0) return errno;
        uint64_t expect = (uint64_t)st.st_size, count = 0;
        int has_nul = 0;
        folder_sha1 sha;
        folder_utf8 utf8;
        folder_sha1_blob_begin(&sha, expect);
        folder_utf8_init(&utf8);
        while (count < expect) {
            size_t want = r->bufcap;
            if (want > expect - count) want = (size_t)(expect - count);
            ssize_t k = folder_read_some(fd, r->buf, want);
            if (k < 0) return errno;
            if (k == 0) break; /* shrank: start again */
            if (count < FOLDER_TEXT_SNIFF) {
                size_t look = FOLDER_TEXT_SNIFF - (size_t)count;
                if (look > (size_t)k) look = (size_t)k;
                if (memchr(r->buf, 0, look)) has_nul = 1;
            }
            if (!has_nul) folder_utf8_feed(&utf8, r->buf, (size_t)k);
            folder_sha1_update(&sha, r->buf, (size_t)k);
            count += (uint64_t)k;
        }
        if (count != expect) continue;
        uint8_t digest[20];
        folder_sha1_final(&sha, digest);
        folder_sha1_hex(digest, res->sha);
        res->size = count;
        res->mtime = st.st_mtim;
        res->is_text = !has_nul && folder_utf8_ok(&utf8);
        res->too_large = 1;
        res->recheck = attempt > 0;
        res->content = NULL;
        return 0;
    }
    return FOLDER_ERR_CHANGING;
}

static struct timespec folder_ts(int64_t ns)
{
    struct timespec ts;
    int64_t sec = ns / 1000000000, rem = ns % 1000000000;
    if (rem < 0) { rem += 1000000000; sec--; }
    ts.tv_sec = (time_t)sec;
    ts.tv_nsec = (long)rem;
    return ts;
}

/* Reads one file: content (if small), blob sha, text or not. Size and mtime come from the walk's
   stat (no second stat: a change after it gives a newer mtime, or a size that does not match
   what was read, and either way the file is read again next time). Returns 0 or an errno-style
   code. */
static int folder_read_file(folder_run *r, const folder_file *f, folder_read_result *res)
{
    const uint64_t max = r->inst->max_file_size;
    memset(res, 0, sizeof *res);
    /* O_NONBLOCK: should the path have become a fifo since the walk, do not hang on it. */
    int fd = openat(r->root_fd, f->path,
                    O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | (r->inst->follow_symlinks ? 0 : O_NOFOLLOW));
    if (fd < 0) return errno;
    int rc = 0;
    if (!folder_ensure_buf(r, FOLDER_MIN_BUF)) { rc = ENOMEM; goto out; }

    const uint64_t expect = f->size;
    int small = 0;
    size_t n = 0;
    if (expect <= max) {
        /* Room for one byte more than expected, so that one read() tells EOF from growth. */
        const size_t limit = (size_t)max + 1;
        if (!folder_ensure_buf(r, (size_t)expect + 1)) { rc = ENOMEM; goto out; }
        for (;;) {
            if (n == r->bufcap) {
                if (r->bufcap >= limit) break;
                size_t grow = r->bufcap * 2 < limit ? r->bufcap * 2 : limit;
                if (!folder_ensure_buf(r, grow)) { rc = ENOMEM; goto out; }
            }
            size_t room = r->bufcap - n;
            if (room > limit - n) room = limit - n;
            ssize_t k = folder_read_some(fd, r->buf + n, room);
            if (k < 0) { rc = errno; goto out; }
            if (k == 0) break;
            n += (size_t)k;
            if (n == expect && (size_t)k < room) break; /* a short read at the expected size: EOF */
            if (n >= limit) break;
        }
        small = (n <= max);
    }
    if (small) {
        folder_sha1 sha;
        uint8_t digest[20];
        folder_sha1_blob_begin(&sha, n);
        folder_sha1_update(&sha, r->buf, n);
        folder_sha1_final(&sha, digest);
        folder_sha1_hex(digest, res->sha);
        res->size = n;
        res->mtime_ns = f->mtime_ns;
        res->is_text = memchr(r->buf, 0, n < FOLDER_TEXT_SNIFF ? n : FOLDER_TEXT_SNIFF) == NULL &&
                       folder_utf8_valid(r->buf, n);
        res->too_large = 0;
        res->recheck = (n != expect);
        res->content = r->buf;
    } else {
        rc = folder_stream(r, fd, res);
        if (rc != 0) goto out;
        if (res->size != expect) res->recheck = 1;
        res->mtime_ns = folder_ns(res->mtime);
    }
    res->mtime = folder_ts(res->mtime_ns);

    /* A file modified again within the same timestamp tick right after this read would look
       unchanged next time; so a very recent mtime is checked again by the next sync. */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t window = (res->mtime.tv_nsec % 1000000 == 0) ? FOLDER_RACY_WINDOW_COARSE_NS : FOLDER_RACY_WINDOW_NS;
    if (res->mtime_ns > folder_ns(now) - window) res->recheck = 1;
out:
    close(fd);
    return rc;
}

static void folder_add_time(folder_buf *b, struct timespec ts)
{
    struct tm tm;
    time_t t = ts.tv_sec;
    char out[64];
    if (!gmtime_r(&t, &tm)) memset(&tm, 0, sizeof tm);
    snprintf(out, sizeof out, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ts.tv_nsec / 1000000));
    folder_buf_adds(b, out);
}

static void folder_build_metadata(folder_buf *b, const char *path, size_t path_len, const folder_read_result *res)
{
    b->len = 0;
    folder_buf_adds(b, "{\"path\":");
    folder_buf_add_json_string(b, path, path_len);
    folder_buf_adds(b, ",\"size\":");
    folder_buf_addu(b, res->size);
    folder_buf_adds(b, ",\"mtime\":\"");
    folder_add_time(b, res->mtime);
    folder_buf_adds(b, "\",\"sha\":\"");
    folder_buf_adds(b, res->sha);
    folder_buf_adds(b, res->is_text ? "\",\"is_text\":true" : "\",\"is_text\":false");
    folder_buf_adds(b, res->too_large ? ",\"too_large\":true}" : ",\"too_large\":false}");
}

static void folder_write_old(folder_run *r, const folder_mentry *e, uint32_t extra_flags)
{
    folder_manifest_write_entry(&r->newman, e->path, e->path_len, e->size, e->mtime_ns, e->sha, e->flags | extra_flags);
}

FOLDER_PRINTF(4, 5) static inlet_status folder_quarantine(folder_run *r, const char *key, size_t key_len,
                                                           const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    folder_vmsg(msg, sizeof msg, fmt, ap);
    va_end(ap);
    r->n_quarantined++;
    folder_log(r->host, r->call, INLET_LOG_WARNING, "%s: %.*s", msg, (int)key_len, key);
    inlet_status s = r->host->quarantine_item(r->call, key, key_len, msg, folder_msg_len(msg), NULL, 0);
    if (s != INLET_OK) {
        folder_error(r->host, r->call, "folder: the host could not quarantine '%.*s' (status %d)", (int)key_len, key, (int)s);
        return INLET_RETRY;
    }
    return INLET_OK;
}

/* Commits what is staged, with a manifest that describes it: the entries written so far plus
   every old entry not dealt with yet (files still to come, and deletions still to stage). */
static inlet_status folder_checkpoint(folder_run *r)
{
    size_t mark = r->newman.len;
    for (size_t j = 0; j < r->old.n; j++)
        if (!r->old.e[j].handled) folder_write_old(r, &r->old.e[j], 0);
    if (r->newman.oom) return folder_oom(r);
    inlet_status s = r->host->state_set(r->call, "manifest", 8, (const uint8_t *)r->newman.data, r->newman.len);
    r->newman.len = mark;
    if (s != INLET_OK) {
        folder_error(r->host, r->call, "folder: the host could not stage the manifest (status %d)", (int)s);
        return INLET_RETRY;
    }
    s = r->host->checkpoint(r->call);
    if (s != INLET_OK) /* the staged data stays staged and is committed with the final result */
        folder_log(r->host, r->call, INLET_LOG_WARNING, "folder: checkpoint failed (status %d); continuing", (int)s);
    r->since_cp_records = r->since_cp_bytes = 0;
    return INLET_OK;
}

/* One walked file, with its previous manifest entry (or NULL). */
static inlet_status folder_one(folder_run *r, const folder_file *f, folder_mentry *o)
{
    const uint64_t old_max = r->old.max_file_size, max = r->inst->max_file_size;
    /* The key must be UTF-8 (the ABI's rule); Unix file names need not be. */
    if (!folder_utf8_valid((const uint8_t *)f->path, f->len)) {
        folder_buf *k = &r->meta;
        k->len = 0;
        for (size_t i = 0; i < f->len;) {
            uint32_t cp;
            size_t n = folder_utf8_seq((const uint8_t *)f->path + i, f->len - i, &cp);
            if (n == 1 && (uint8_t)f->path[i] >= 0x80) {
                char hx[5];
                snprintf(hx, sizeof hx, "\\x%02x", (uint8_t)f->path[i]);
                folder_buf_add(k, hx, 4);
            } else {
                folder_buf_add(k, f->path + i, n);
            }
            i += n;
        }
        if (k->oom) return folder_oom(r);
        if (o) folder_write_old(r, o, FOLDER_FLAG_RECHECK);
        return folder_quarantine(r, k->data, k->len, "folder: the file name is not valid UTF-8");
    }

    int flips = o && ((o->size > old_max) != (o->size > max)); /* too_large would change */
    if (o && !r->full && !flips && !(o->flags & FOLDER_FLAG_RECHECK) && o->size == f->size && o->mtime_ns == f->mtime_ns) {
        folder_write_old(r, o, 0);
        r->n_unchanged++;
        return INLET_OK;
    }

    folder_read_result res;
    int rc = folder_read_file(r, f, &res);
    if (rc != 0) {
        char eb[128];
        /* Not in the new manifest unless it was in the old one, and then marked to be read again:
           so it is retried next time, and still deleted if it goes away. */
        if (o) folder_write_old(r, o, FOLDER_FLAG_RECHECK);
        return folder_quarantine(r, f->path, f->len, "folder: cannot read: %s", folder_strerror(rc, eb, sizeof eb));
    }
    uint32_t flags = res.recheck ? FOLDER_FLAG_RECHECK : 0;
    if (o && !r->full && !flips && o->size == res.size && o->mtime_ns == res.mtime_ns && strcmp(o->sha, res.sha) == 0) {
        /* Read again only to be sure (a recent mtime): the record already says this. */
        folder_manifest_write_entry(&r->newman, f->path, f->len, res.size, res.mtime_ns, res.sha, flags);
        r->n_unchanged++;
        return INLET_OK;
    }

    folder_build_metadata(&r->meta, f->path, f->len, &res);
    if (r->meta.oom) return folder_oom(r);
    int with_content = res.is_text && res.content != NULL;
    inlet_record rec;
    memset(&rec, 0, sizeof rec);
    rec.struct_size = (uint32_t)sizeof rec;
    rec.key = f->path;
    rec.key_len = f->len;
    rec.kind = "file";
    rec.metadata_json = r->meta.data;
    rec.metadata_len = r->meta.len;
    rec.content = with_content ? res.content : NULL;
    rec.content_len = with_content ? (size_t)res.size : 0;
    rec.blob_sha = with_content ? res.sha : NULL;
    inlet_status s = r->host->emit(r->call, &rec);
    if (s == INLET_FAILED) {
        /* The host refused this one record (its log says why): set it aside, go on. */
        if (o) folder_write_old(r, o, FOLDER_FLAG_RECHECK);
        return folder_quarantine(r, f->path, f->len, "folder: the host refused the record");
    }
    if (s != INLET_OK) {
        folder_error(r->host, r->call, "folder: the host could not stage the record for '%s' (status %d)", f->path, (int)s);
        return INLET_RETRY;
    }
    folder_manifest_write_entry(&r->newman, f->path, f->len, res.size, res.mtime_ns, res.sha, flags);
    /* A --full re-read of the same content is not a change (the host writes nothing for it). */
    if (o && o->size == res.size && strcmp(o->sha, res.sha) == 0) r->n_unchanged++;
    else if (o) r->n_changed++;
    else r->n_new++;
    r->since_cp_records++;
    r->since_cp_bytes += rec.content_len + rec.metadata_len;
    if (r->since_cp_records >= r->cp_records || r->since_cp_bytes >= FOLDER_CHECKPOINT_BYTES) return folder_checkpoint(r);
    return INLET_OK;
}

/* An old entry the walk did not see: kept if its folder could not be listed, else left for
   deletion. */
static void folder_pass_old(folder_run *r, folder_mentry *e)
{
    if (r->unreadable.len && folder_is_protected(r, e->path)) {
        folder_write_old(r, e, 0);
        e->handled = 1;
        r->n_kept++;
    }
}

static inlet_status folder_load_manifest(folder_run *r)
{
    inlet_buffer b;
    memset(&b, 0, sizeof b);
    inlet_status s = r->host->state_get(r->call, "manifest", 8, &b);
    const int had = (b.data != NULL);
    if (s != INLET_OK) {
        r->host->buffer_free(r->call, &b);
        folder_error(r->host, r->call, "folder: the host could not read the manifest (status %d)", (int)s);
        return INLET_RETRY;
    }
    if (had) {
        char err[128];
        if (folder_manifest_parse(&r->old, b.data, b.len, err, sizeof err) != 0) {
            /* Without it, every file is new and no deletion can be detected: say so loudly. */
            folder_log(r->host, r->call, INLET_LOG_ERROR, "folder: ignoring the stored manifest (%s); all files are synced again", err);
            memset(&r->old, 0, sizeof r->old);
        }
    }
    r->host->buffer_free(r->call, &b);
    if (!had) r->old.max_file_size = r->inst->max_file_size;
    return INLET_OK;
}

static inlet_status folder_parse_args(folder_run *r, const char *args_json, size_t args_len)
{
    size_t i = 0;
    while (i < args_len && (args_json[i] == ' ' || args_json[i] == '\n' || args_json[i] == '\t' || args_json[i] == '\r')) i++;
    if (i == args_len) return INLET_OK; /* no args: {} */
    char err[128];
    folder_json *args = folder_json_parse(args_json, args_len, err, sizeof err);
    if (!args) {
        folder_error(r->host, r->call, "folder: job args are not valid JSON: %s", err);
        return INLET_FAILED;
    }
    inlet_status s = INLET_OK;
    const folder_json *full = folder_json_get(args, "full");
    if (args->type != FOLDER_JSON_OBJECT) {
        folder_error(r->host, r->call, "folder: job args must be a JSON object, not %s", folder_json_type_name(args->type));
        s = INLET_FAILED;
    } else if (full && full->type == FOLDER_JSON_BOOL) {
        r->full = full->boolean;
    } else if (full && full->type != FOLDER_JSON_NULL) {
        folder_error(r->host, r->call, "folder: job args field 'full' must be a boolean, not %s", folder_json_type_name(full->type));
        s = INLET_FAILED;
    }
    folder_json_free(args);
    return s;
}

static inlet_status folder_sync_run(folder_run *r, const char *args_json, size_t args_len)
{
    const inlet_host *host = r->host;
    const char *root = r->inst->root;
    inlet_status s = folder_parse_args(r, args_json, args_len);
    if (s != INLET_OK) return s;

    /* 1. The root. */
    struct stat st;
    if (stat(root, &st) != 0) {
        char eb[128];
        if (errno == ENOENT || errno == ENOTDIR) {
            folder_error(host, r->call, "folder: path '%s' does not exist", root);
            return INLET_FAILED;
        }
        folder_error(host, r->call, "folder: cannot access path '%s': %s", root, folder_strerror(errno, eb, sizeof eb));
        return errno == EACCES ? INLET_FAILED : INLET_RETRY;
    }
    if (!S_ISDIR(st.st_mode)) {
        folder_error(host, r->call, "folder: path '%s' is not a directory", root);
        return INLET_FAILED;
    }
    r->root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY);
    if (r->root_fd < 0) {
        char eb[128];
        int e = errno;
        folder_error(host, r->call, "folder: cannot open path '%s': %s", root, folder_strerror(e, eb, sizeof eb));
        return e == EACCES ? INLET_FAILED : INLET_RETRY;
    }

    /* 2. The previous manifest. */
    if ((s = folder_load_manifest(r)) != INLET_OK) return s;

    /* 3. The walk: sorted relative paths of the files taken. */
    if ((s = folder_walk(r)) != INLET_OK) return s;
    const size_t total = r->nfiles;
    folder_log(host, r->call, INLET_LOG_DEBUG, "folder: walked %zu folders (%zu not entered by the globs), %zu files taken",
               r->ndirs, r->n_pruned, total);
    r->cp_records = total / 32 > FOLDER_CHECKPOINT_RECORDS ? total / 32 : FOLDER_CHECKPOINT_RECORDS;

    /* 4. Each file against the manifest, both sorted: one merge pass. */
    folder_manifest_write_header(&r->newman, r->inst->max_file_size);
    size_t j = 0;
    for (size_t i = 0; i < total; i++) {
        if (i % FOLDER_CANCEL_EVERY == 0 && host->is_cancelled(r->call)) {
            folder_error(host, r->call, "folder: cancelled");
            return INLET_RETRY;
        }
        host->progress(r->call, i + 1, total);
        const folder_file *f = &r->files[i];
        while (j < r->old.n && strcmp(r->old.e[j].path, f->path) < 0) folder_pass_old(r, &r->old.e[j++]);
        folder_mentry *o = NULL;
        if (j < r->old.n && strcmp(r->old.e[j].path, f->path) == 0) {
            o = &r->old.e[j++];
            o->handled = 1;
        }
        if ((s = folder_one(r, f, o)) != INLET_OK) return s;
        if (r->newman.oom) return folder_oom(r);
    }
    while (j < r->old.n) folder_pass_old(r, &r->old.e[j++]);

    /* 5. Whatever the manifest had and the walk did not see is gone (or now excluded). */
    for (j = 0; j < r->old.n; j++) {
        folder_mentry *e = &r->old.e[j];
        if (e->handled) continue;
        s = host->delete_record(r->call, e->path, e->path_len);
        if (s != INLET_OK) {
            folder_error(host, r->call, "folder: the host could not stage the deletion of '%s' (status %d)", e->path, (int)s);
            return INLET_RETRY;
        }
        r->n_deleted++;
    }

    /* 6. The new manifest. */
    if (r->newman.oom) return folder_oom(r);
    s = host->state_set(r->call, "manifest", 8, (const uint8_t *)r->newman.data, r->newman.len);
    if (s != INLET_OK) {
        folder_error(host, r->call, "folder: the host could not stage the manifest (status %d)", (int)s);
        return INLET_RETRY;
    }
    folder_log(host, r->call, INLET_LOG_INFO,
               "folder: %zu files: %zu new, %zu changed, %zu unchanged, %zu deleted, %zu quarantined%s",
               total, r->n_new, r->n_changed, r->n_unchanged, r->n_deleted, r->n_quarantined,
               r->n_kept ? " (some folders could not be listed; their files were kept)" : "");
    return INLET_OK;
}

static inlet_status folder_sync(void *instance, inlet_call *call, const char *kind, const char *args_json, size_t args_len)
{
    folder_instance *inst = instance;
    if (!inst) return INLET_FAILED;
    if (strcmp(kind, "sync") != 0) {
        folder_error(inst->host, call, "folder: unknown job kind '%s'", kind);
        return INLET_FAILED;
    }
    folder_run r;
    memset(&r, 0, sizeof r);
    r.inst = inst;
    r.host = inst->host;
    r.call = call;
    r.root_fd = -1;
    inlet_status s = folder_sync_run(&r, args_json, args_len);
    folder_run_free(&r);
    return s;
}

/* ---- the table ---------------------------------------------------------------------------- */

static const inlet_connector folder_connector = {
    .struct_size = sizeof(inlet_connector),
    .abi_version = INLET_ABI_VERSION,
    .name = "folder",
    .version = "1.0.0",
    .description = "Mirrors the files of a local folder: text with content, binary and large files as metadata",
    .config_schema = folder_config_schema,
    .capabilities = 0,
    .create = folder_create,
    .destroy = folder_destroy,
    .sync = folder_sync,
    .webhook = NULL,
    .health = NULL,
};

INLET_EXPORT const inlet_connector *inlet_connector_register(uint32_t host_abi_version)
{
    if (INLET_ABI_MAJOR(host_abi_version) != INLET_ABI_VERSION_MAJOR) return NULL;
    return &folder_connector;
}
