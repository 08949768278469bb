/* manifest.h — what the previous sync saw, kept in the source's state under "manifest".
 *
 * Format (version 1): a sequence of NUL-terminated fields, so any byte but NUL may appear in a
 * path (and NUL cannot appear in a Unix path):
 *
 *     "inlet-folder-manifest" \0  "1" \0  <max_file_size, decimal> \0
 *     then per file:  <path> \0  <size, decimal> \0  <mtime in ns since the epoch, decimal,
 *                     may be negative> \0  <git blob sha1, 40 lowercase hex, or empty> \0
 *                     <flags, decimal> \0
 *
 * Paths are relative to the root with '/' separators, sorted by byte (strcmp) order, so a sync
 * merges them with its own sorted walk in one pass. A reader sorts them itself if they are not
 * (a checkpoint writes the entries done so far, then the old entries still pending).
 * Flags: bit 0 (RECHECK) = read the file again next time even if size and mtime are unchanged
 * (its mtime was too recent to trust, it changed while being read, or it could not be read).
 * `tr '\0' '\n'` makes a manifest readable.
 */
#ifndef FOLDER_MANIFEST_H
#define FOLDER_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "json.h"

#define FOLDER_MANIFEST_MAGIC "inlet-folder-manifest"
#define FOLDER_MANIFEST_VERSION "1"
#define FOLDER_FLAG_RECHECK 1u

typedef struct folder_mentry {
    const char *path;   /* points into the manifest's own copy; NUL-terminated */
    size_t path_len;
    uint64_t size;
    int64_t mtime_ns;
    char sha[41];       /* "" when unknown */
    uint32_t flags;
    int handled;        /* set during a sync once the entry was matched or carried over */
} folder_mentry;

typedef struct folder_manifest {
    char *data;
    folder_mentry *e;
    size_t n;
    uint64_t max_file_size;
} folder_manifest;

/* Parses a copy of (data, len). Returns 0, or -1 with a message in err. An empty manifest is
   valid (n = 0). On failure m is left empty. */
int folder_manifest_parse(folder_manifest *m, const uint8_t *data, size_t len, char *err, size_t errlen);
void folder_manifest_free(folder_manifest *m);

void folder_manifest_write_header(folder_buf *b, uint64_t max_file_size);
void folder_manifest_write_entry(folder_buf *b, const char *path, size_t path_len, uint64_t size,
                                 int64_t mtime_ns, const char *sha, uint32_t flags);

#endif
