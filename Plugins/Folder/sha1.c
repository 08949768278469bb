/* sha1.c — SHA-1 as in FIPS 180-4, used to compute git blob ids. */
#include "sha1.h"

#include <stdio.h>
#include <string.h>

#define FOLDER_ROL(x, n) (((x) << (n)) | ((x) >> (32 - (n))))

/* One 64-byte block. Fully unrolled, with the message schedule kept in a 16-word ring and the
   five working variables renamed from round to round instead of shuffled. */
static void folder_sha1_block(uint32_t h[5], const uint8_t *p)
{
    uint32_t w[16];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];

#define FOLDER_W(i) (w[(i) & 15] = FOLDER_ROL(w[((i) + 13) & 15] ^ w[((i) + 8) & 15] ^ w[((i) + 2) & 15] ^ w[(i) & 15], 1))
#define FOLDER_F1(b, c, d) ((d) ^ ((b) & ((c) ^ (d))))
#define FOLDER_F2(b, c, d) ((b) ^ (c) ^ (d))
#define FOLDER_F3(b, c, d) (((b) & (c)) | ((d) & ((b) | (c))))
#define FOLDER_R(a, b, c, d, e, f, k, x) \
    do { (e) += FOLDER_ROL(a, 5) + f(b, c, d) + (k) + (x); (b) = FOLDER_ROL(b, 30); } while (0)
#define FOLDER_R0(a, b, c, d, e, i) FOLDER_R(a, b, c, d, e, FOLDER_F1, 0x5A827999u, w[i])
#define FOLDER_R1(a, b, c, d, e, i) FOLDER_R(a, b, c, d, e, FOLDER_F1, 0x5A827999u, FOLDER_W(i))
#define FOLDER_R2(a, b, c, d, e, i) FOLDER_R(a, b, c, d, e, FOLDER_F2, 0x6ED9EBA1u, FOLDER_W(i))
#define FOLDER_R3(a, b, c, d, e, i) FOLDER_R(a, b, c, d, e, FOLDER_F3, 0x8F1BBCDCu, FOLDER_W(i))
#define FOLDER_R4(a, b, c, d, e, i) FOLDER_R(a, b, c, d, e, FOLDER_F2, 0xCA62C1D6u, FOLDER_W(i))
#define FOLDER_FIVE(R, i) \
    R(a, b, c, d, e, (i)); R(e, a, b, c, d, (i) + 1); R(d, e, a, b, c, (i) + 2); \
    R(c, d, e, a, b, (i) + 3); R(b, c, d, e, a, (i) + 4)

    FOLDER_FIVE(FOLDER_R0, 0); FOLDER_FIVE(FOLDER_R0, 5); FOLDER_FIVE(FOLDER_R0, 10);
    FOLDER_R0(a, b, c, d, e, 15);
    FOLDER_R1(e, a, b, c, d, 16); FOLDER_R1(d, e, a, b, c, 17); FOLDER_R1(c, d, e, a, b, 18); FOLDER_R1(b, c, d, e, a, 19);
    FOLDER_FIVE(FOLDER_R2, 20); FOLDER_FIVE(FOLDER_R2, 25); FOLDER_FIVE(FOLDER_R2, 30); FOLDER_FIVE(FOLDER_R2, 35);
    FOLDER_FIVE(FOLDER_R3, 40); FOLDER_FIVE(FOLDER_R3, 45); FOLDER_FIVE(FOLDER_R3, 50); FOLDER_FIVE(FOLDER_R3, 55);
    FOLDER_FIVE(FOLDER_R4, 60); FOLDER_FIVE(FOLDER_R4, 65); FOLDER_FIVE(FOLDER_R4, 70); FOLDER_FIVE(FOLDER_R4, 75);

#undef FOLDER_FIVE
#undef FOLDER_R4
#undef FOLDER_R3
#undef FOLDER_R2
#undef FOLDER_R1
#undef FOLDER_R0
#undef FOLDER_R
#undef FOLDER_F3
#undef FOLDER_F2
#undef FOLDER_F1
#undef FOLDER_W
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e;
}

void folder_sha1_init(folder_sha1 *ctx)
{
    static const uint32_t iv[5] = {0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u, 0xC3D2E1F0u};
    memcpy(ctx->h, iv, sizeof iv);
    ctx->total = 0;
    ctx->used = 0;
}

void folder_sha1_update(folder_sha1 *ctx, const void *data, size_t len)
{
    const uint8_t *p = data;
    ctx->total += len;
    if (ctx->used) {
        size_t take = 64 - ctx->used;
        if (take > len) take = len;
        memcpy(ctx->block + ctx->used, p, take);
        ctx->used += take; p += take; len -= take;
        if (ctx->used < 64) return;
        folder_sha1_block(ctx->h, ctx->block);
        ctx->used = 0;
    }
    for (; len >= 64; p += 64, len -= 64) folder_sha1_block(ctx->h, p);
    if (len) {
        memcpy(ctx->block, p, len);
        ctx->used = len;
    }
}

void folder_sha1_final(folder_sha1 *ctx, uint8_t digest[20])
{
    uint64_t bits = ctx->total * 8;
    uint8_t pad[72] = {0x80};
    size_t padlen = (ctx->used < 56) ? 56 - ctx->used : 120 - ctx->used;
    for (int i = 0; i < 8; i++) pad[padlen + i] = (uint8_t)(bits >> (56 - 8 * i));
    folder_sha1_update(ctx, pad, padlen + 8);
    for (int i = 0; i < 5; i++) {
        digest[4 * i] = (uint8_t)(ctx->h[i] >> 24);
        digest[4 * i + 1] = (uint8_t)(ctx->h[i] >> 16);
        digest[4 * i + 2] = (uint8_t)(ctx->h[i] >> 8);
        digest[4 * i + 3] = (uint8_t)ctx->h[i];
    }
}

void folder_sha1_blob_begin(folder_sha1 *ctx, uint64_t size)
{
    char header[32];
    int n = snprintf(header, sizeof header, "blob %llu", (unsigned long long)size);
    folder_sha1_init(ctx);
    folder_sha1_update(ctx, header, (size_t)n + 1); /* with the NUL */
}

void folder_sha1_hex(const uint8_t digest[20], char out[41])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 20; i++) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 15];
    }
    out[40] = '\0';
}
