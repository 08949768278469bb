/* utf8.h — a strict, streaming UTF-8 validator (RFC 3629: no overlongs, no surrogates,
   nothing above U+10FFFF). Chunks may split a sequence anywhere. */
#ifndef FOLDER_UTF8_H
#define FOLDER_UTF8_H

#include <stddef.h>
#include <stdint.h>

typedef struct folder_utf8 {
    uint8_t need;   /* continuation bytes still expected */
    uint8_t lo, hi; /* allowed range of the next continuation byte */
    uint8_t bad;    /* set once an invalid sequence was seen */
} folder_utf8;

void folder_utf8_init(folder_utf8 *v);
void folder_utf8_feed(folder_utf8 *v, const uint8_t *p, size_t len);
/* Nonzero when everything fed so far is valid and complete. */
int folder_utf8_ok(const folder_utf8 *v);
/* Whole-buffer check. */
int folder_utf8_valid(const uint8_t *p, size_t len);
/* Length of the UTF-8 sequence at p (1..4), or 1 for an invalid byte; never more than len. */
size_t folder_utf8_seq(const uint8_t *p, size_t len, uint32_t *cp_out);

#endif
