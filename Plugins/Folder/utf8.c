/* utf8.c — strict streaming UTF-8 validation. */
#include "utf8.h"

#include <string.h>

void folder_utf8_init(folder_utf8 *v)
{
    memset(v, 0, sizeof *v);
}

void folder_utf8_feed(folder_utf8 *v, const uint8_t *p, size_t len)
{
    const uint8_t *end = p + len;
    if (v->bad) return;
    while (p < end) {
        if (v->need) {
            uint8_t c = *p++;
            if (c < v->lo || c > v->hi) { v->bad = 1; return; }
            v->lo = 0x80; v->hi = 0xBF;
            v->need--;
            continue;
        }
        /* ASCII fast path, 8 bytes at a time. */
        while (end - p >= 8) {
            uint64_t w;
            memcpy(&w, p, 8);
            if (w & UINT64_C(0x8080808080808080)) break;
            p += 8;
        }
        if (p >= end) break;
        uint8_t c = *p++;
        if (c < 0x80) continue;
        if (c < 0xC2) { v->bad = 1; return; }              /* continuation, or overlong C0/C1 */
        if (c < 0xE0) { v->need = 1; v->lo = 0x80; v->hi = 0xBF; }
        else if (c == 0xE0) { v->need = 2; v->lo = 0xA0; v->hi = 0xBF; } /* no overlongs */
        else if (c == 0xED) { v->need = 2; v->lo = 0x80; v->hi = 0x9F; } /* no surrogates */
        else if (c < 0xF0) { v->need = 2; v->lo = 0x80; v->hi = 0xBF; }
        else if (c == 0xF0) { v->need = 3; v->lo = 0x90; v->hi = 0xBF; } /* no overlongs */
        else if (c < 0xF4) { v->need = 3; v->lo = 0x80; v->hi = 0xBF; }
        else if (c == 0xF4) { v->need = 3; v->lo = 0x80; v->hi = 0x8F; } /* <= U+10FFFF */
        else { v->bad = 1; return; }
    }
}

int folder_utf8_ok(const folder_utf8 *v)
{
    return !v->bad && v->need == 0;
}

int folder_utf8_valid(const uint8_t *p, size_t len)
{
    folder_utf8 v;
    folder_utf8_init(&v);
    folder_utf8_feed(&v, p, len);
    return folder_utf8_ok(&v);
}

size_t folder_utf8_seq(const uint8_t *p, size_t len, uint32_t *cp_out)
{
    folder_utf8 v;
    size_t n;
    uint8_t c = p[0];
    *cp_out = c;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c < 0xE0) n = 2;
    else if (c >= 0xE0 && c < 0xF0) n = 3;
    else if (c >= 0xF0 && c < 0xF5) n = 4;
    else return 1;
    if (n > len) return 1;
    folder_utf8_init(&v);
    folder_utf8_feed(&v, p, n);
    if (!folder_utf8_ok(&v)) return 1;
    uint32_t cp = c & (0x7Fu >> n);
    for (size_t i = 1; i < n; i++) cp = (cp << 6) | (p[i] & 0x3Fu);
    *cp_out = cp;
    return n;
}
