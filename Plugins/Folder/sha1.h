/* sha1.h — a small SHA-1 (FIPS 180-4) for git blob ids. Not for security purposes. */
#ifndef FOLDER_SHA1_H
#define FOLDER_SHA1_H

#include <stddef.h>
#include <stdint.h>

typedef struct folder_sha1 {
    uint32_t h[5];
    uint64_t total;      /* bytes hashed so far */
    uint8_t block[64];
    size_t used;         /* bytes in block */
} folder_sha1;

void folder_sha1_init(folder_sha1 *ctx);
void folder_sha1_update(folder_sha1 *ctx, const void *data, size_t len);
void folder_sha1_final(folder_sha1 *ctx, uint8_t digest[20]);

/* Starts a git blob hash: feeds "blob <size>\0". */
void folder_sha1_blob_begin(folder_sha1 *ctx, uint64_t size);
/* Writes 40 lowercase hex digits and a NUL into out. */
void folder_sha1_hex(const uint8_t digest[20], char out[41]);

#endif
