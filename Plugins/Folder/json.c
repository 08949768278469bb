/* json.c — minimal JSON reader and writer helpers. */
#include "json.h"
#include "utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- growable buffer ---------------------------------------------------------------------- */

void folder_buf_free(folder_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
}

int folder_buf_reserve(folder_buf *b, size_t extra)
{
    if (b->oom) return 0;
    if (extra > SIZE_MAX - b->len - 1) { b->oom = 1; return 0; }
    size_t need = b->len + extra + 1; /* room for a terminating NUL */
    if (need <= b->cap) return 1;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) cap = (cap > SIZE_MAX / 2) ? need : cap * 2;
    char *p = realloc(b->data, cap);
    if (!p) { b->oom = 1; return 0; }
    b->data = p;
    b->cap = cap;
    return 1;
}

void folder_buf_add(folder_buf *b, const void *p, size_t n)
{
    if (!folder_buf_reserve(b, n)) return;
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void folder_buf_adds(folder_buf *b, const char *s)
{
    folder_buf_add(b, s, strlen(s));
}

void folder_buf_addc(folder_buf *b, char c)
{
    folder_buf_add(b, &c, 1);
}

void folder_buf_addu(folder_buf *b, uint64_t v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    do { tmp[--i] = (char)('0' + v % 10); v /= 10; } while (v);
    folder_buf_add(b, tmp + i, sizeof tmp - i);
}

void folder_buf_addi(folder_buf *b, int64_t v)
{
    if (v < 0) {
        folder_buf_addc(b, '-');
        folder_buf_addu(b, (uint64_t)0 - (uint64_t)v);
    } else {
        folder_buf_addu(b, (uint64_t)v);
    }
}

void folder_buf_add_json_string(folder_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    if (!folder_buf_reserve(b, n + 2)) return;
    folder_buf_addc(b, '"');
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        folder_buf_add(b, s + start, i - start);
        start = i + 1;
        switch (c) {
        case '"': folder_buf_add(b, "\\\"", 2); break;
        case '\\': folder_buf_add(b, "\\\\", 2); break;
        case '\n': folder_buf_add(b, "\\n", 2); break;
        case '\r': folder_buf_add(b, "\\r", 2); break;
        case '\t': folder_buf_add(b, "\\t", 2); break;
        case '\b': folder_buf_add(b, "\\b", 2); break;
        case '\f': folder_buf_add(b, "\\f", 2); break;
        default: {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            folder_buf_add(b, esc, 6);
        }
        }
    }
    folder_buf_add(b, s + start, n - start);
    folder_buf_addc(b, '"');
}

/* ---- reader -------------------------------------------------------------------------------- */

#define FOLDER_JSON_MAX_DEPTH 64

typedef struct folder_json_parser {
    const char *p, *end, *start;
    char *err;
    size_t errlen;
    int failed;
} folder_json_parser;

#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 2, 3)))
#endif
static void folder_json_fail(folder_json_parser *ps, const char *fmt, ...)
{
    if (ps->failed) return;
    ps->failed = 1;
    if (!ps->err || !ps->errlen) return;
    char msg[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(ps->err, ps->errlen, "%s at offset %zu", msg, (size_t)(ps->p - ps->start));
}

static void folder_json_ws(folder_json_parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')) ps->p++;
}

static void folder_json_clear(folder_json *v)
{
    if (v->type == FOLDER_JSON_ARRAY || v->type == FOLDER_JSON_OBJECT) {
        for (size_t i = 0; i < v->count; i++) folder_json_clear(&v->items[i]);
        free(v->items);
    }
    free(v->str);
    free(v->key);
}

static int folder_json_hex4(folder_json_parser *ps, uint32_t *out)
{
    uint32_t v = 0;
    if (ps->end - ps->p < 4) return 0;
    for (int i = 0; i < 4; i++) {
        char c = *ps->p++;
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
        else return 0;
    }
    *out = v;
    return 1;
}

static void folder_json_put_utf8(folder_buf *b, uint32_t cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) { u[0] = (char)cp; n = 1; }
    else if (cp < 0x800) { u[0] = (char)(0xC0 | cp >> 6); u[1] = (char)(0x80 | (cp & 0x3F)); n = 2; }
    else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | cp >> 12); u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F)); n = 3;
    } else {
        u[0] = (char)(0xF0 | cp >> 18); u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); u[3] = (char)(0x80 | (cp & 0x3F)); n = 4;
    }
    folder_buf_add(b, u, n);
}

/* Parses a string literal at ps->p (which is at '"'). */
static int folder_json_string(folder_json_parser *ps, char **out, size_t *out_len)
{
    folder_buf b = {0};
    ps->p++; /* opening quote */
    for (;;) {
        const char *run = ps->p;
        while (ps->p < ps->end && *ps->p != '"' && *ps->p != '\\' && (unsigned char)*ps->p >= 0x20) ps->p++;
        folder_buf_add(&b, run, (size_t)(ps->p - run));
        if (ps->p >= ps->end) { folder_json_fail(ps, "unterminated string"); goto fail; }
        char c = *ps->p;
        if (c == '"') { ps->p++; break; }
        if (c != '\\') { folder_json_fail(ps, "control character in string"); goto fail; }
        ps->p++;
        if (ps->p >= ps->end) { folder_json_fail(ps, "unterminated string"); goto fail; }
        c = *ps->p++;
        switch (c) {
        case '"': folder_buf_addc(&b, '"'); break;
        case '\\': folder_buf_addc(&b, '\\'); break;
        case '/': folder_buf_addc(&b, '/'); break;
        case 'b': folder_buf_addc(&b, '\b'); break;
        case 'f': folder_buf_addc(&b, '\f'); break;
        case 'n': folder_buf_addc(&b, '\n'); break;
        case 'r': folder_buf_addc(&b, '\r'); break;
        case 't': folder_buf_addc(&b, '\t'); break;
        case 'u': {
            uint32_t cp, lo;
            if (!folder_json_hex4(ps, &cp)) { folder_json_fail(ps, "bad \\u escape"); goto fail; }
            if (cp >= 0xDC00 && cp <= 0xDFFF) { folder_json_fail(ps, "lone low surrogate"); goto fail; }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (ps->end - ps->p < 2 || ps->p[0] != '\\' || ps->p[1] != 'u') {
                    folder_json_fail(ps, "lone high surrogate");
                    goto fail;
                }
                ps->p += 2;
                if (!folder_json_hex4(ps, &lo) || lo < 0xDC00 || lo > 0xDFFF) {
                    folder_json_fail(ps, "bad surrogate pair");
                    goto fail;
                }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            folder_json_put_utf8(&b, cp);
            break;
        }
        default: folder_json_fail(ps, "bad escape"); goto fail;
        }
    }
    if (b.oom) { folder_json_fail(ps, "out of memory"); goto fail; }
    if (!b.data) { b.data = malloc(1); if (!b.data) { folder_json_fail(ps, "out of memory"); goto fail; } b.data[0] = '\0'; }
    *out = b.data;
    *out_len = b.len;
    return 1;
fail:
    folder_buf_free(&b);
    return 0;
}

static int folder_json_value(folder_json_parser *ps, folder_json *v, int depth);

static int folder_json_push(folder_json_parser *ps, folder_json *parent, size_t *cap, folder_json *child)
{
    if (parent->count == *cap) {
        size_t ncap = *cap ? *cap * 2 : 4;
        folder_json *n = realloc(parent->items, ncap * sizeof *n);
        if (!n) { folder_json_fail(ps, "out of memory"); return 0; }
        parent->items = n;
        *cap = ncap;
    }
    parent->items[parent->count++] = *child;
    return 1;
}

static int folder_json_number(folder_json_parser *ps, folder_json *v)
{
    const char *s = ps->p;
    if (ps->p < ps->end && *ps->p == '-') ps->p++;
    if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9') { folder_json_fail(ps, "bad number"); return 0; }
    if (*ps->p == '0') ps->p++;
    else while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') ps->p++;
    if (ps->p < ps->end && *ps->p == '.') {
        ps->p++;
        if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9') { folder_json_fail(ps, "bad number"); return 0; }
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') ps->p++;
    }
    if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
        ps->p++;
        if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-')) ps->p++;
        if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9') { folder_json_fail(ps, "bad number"); return 0; }
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') ps->p++;
    }
    size_t n = (size_t)(ps->p - s);
    v->type = FOLDER_JSON_NUMBER;
    v->str = malloc(n + 1);
    if (!v->str) { folder_json_fail(ps, "out of memory"); return 0; }
    memcpy(v->str, s, n);
    v->str[n] = '\0';
    v->len = n;
    return 1;
}

static int folder_json_literal(folder_json_parser *ps, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0) {
        folder_json_fail(ps, "unexpected character");
        return 0;
    }
    ps->p += n;
    return 1;
}

static int folder_json_value(folder_json_parser *ps, folder_json *v, int depth)
{
    memset(v, 0, sizeof *v);
    folder_json_ws(ps);
    if (ps->p >= ps->end) { folder_json_fail(ps, "unexpected end of input"); return 0; }
    if (depth > FOLDER_JSON_MAX_DEPTH) { folder_json_fail(ps, "nested too deeply"); return 0; }
    char c = *ps->p;
    if (c == '{' || c == '[') {
        int is_obj = (c == '{');
        size_t cap = 0;
        v->type = is_obj ? FOLDER_JSON_OBJECT : FOLDER_JSON_ARRAY;
        ps->p++;
        folder_json_ws(ps);
        if (ps->p < ps->end && *ps->p == (is_obj ? '}' : ']')) { ps->p++; return 1; }
        for (;;) {
            folder_json child;
            char *key = NULL;
            size_t key_len = 0;
            if (is_obj) {
                folder_json_ws(ps);
                if (ps->p >= ps->end || *ps->p != '"') { folder_json_fail(ps, "expected a member name"); return 0; }
                if (!folder_json_string(ps, &key, &key_len)) return 0;
                folder_json_ws(ps);
                if (ps->p >= ps->end || *ps->p != ':') { free(key); folder_json_fail(ps, "expected ':'"); return 0; }
                ps->p++;
            }
            if (!folder_json_value(ps, &child, depth + 1)) { folder_json_clear(&child); free(key); return 0; }
            child.key = key;
            child.key_len = key_len;
            if (!folder_json_push(ps, v, &cap, &child)) { folder_json_clear(&child); return 0; }
            folder_json_ws(ps);
            if (ps->p < ps->end && *ps->p == ',') { ps->p++; continue; }
            if (ps->p < ps->end && *ps->p == (is_obj ? '}' : ']')) { ps->p++; return 1; }
            folder_json_fail(ps, is_obj ? "expected ',' or '}'" : "expected ',' or ']'");
            return 0;
        }
    }
    if (c == '"') {
        v->type = FOLDER_JSON_STRING;
        return folder_json_string(ps, &v->str, &v->len);
    }
    if (c == 't') { v->type = FOLDER_JSON_BOOL; v->boolean = 1; return folder_json_literal(ps, "true"); }
    if (c == 'f') { v->type = FOLDER_JSON_BOOL; v->boolean = 0; return folder_json_literal(ps, "false"); }
    if (c == 'n') { v->type = FOLDER_JSON_NULL; return folder_json_literal(ps, "null"); }
    if (c == '-' || (c >= '0' && c <= '9')) return folder_json_number(ps, v);
    folder_json_fail(ps, "unexpected character");
    return 0;
}

folder_json *folder_json_parse(const char *text, size_t len, char *err, size_t errlen)
{
    folder_json_parser ps = {text, text + len, text, err, errlen, 0};
    if (err && errlen) err[0] = '\0';
    if (!folder_utf8_valid((const uint8_t *)text, len)) {
        folder_json_fail(&ps, "not valid UTF-8");
        return NULL;
    }
    folder_json *v = malloc(sizeof *v);
    if (!v) { folder_json_fail(&ps, "out of memory"); return NULL; }
    if (folder_json_value(&ps, v, 0)) {
        folder_json_ws(&ps);
        if (ps.p == ps.end) return v;
        folder_json_fail(&ps, "trailing characters");
    }
    folder_json_clear(v);
    free(v);
    return NULL;
}

void folder_json_free(folder_json *v)
{
    if (!v) return;
    folder_json_clear(v);
    free(v);
}

const folder_json *folder_json_get(const folder_json *obj, const char *key)
{
    if (!obj || obj->type != FOLDER_JSON_OBJECT) return NULL;
    size_t n = strlen(key);
    const folder_json *found = NULL;
    for (size_t i = 0; i < obj->count; i++) /* the last duplicate wins, as in most parsers */
        if (obj->items[i].key_len == n && memcmp(obj->items[i].key, key, n) == 0) found = &obj->items[i];
    return found;
}

int folder_json_int(const folder_json *v, int64_t *out)
{
    if (!v || v->type != FOLDER_JSON_NUMBER) return 0;
    const char *s = v->str;
    int neg = 0;
    if (*s == '-') { neg = 1; s++; }
    /* Collect the significant digits and a decimal exponent: value = digits * 10^exp. */
    char digits[64];
    size_t nd = 0;
    long exp = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (nd == 0 && *s == '0') continue;
        if (nd == sizeof digits) return 0;
        digits[nd++] = *s;
    }
    if (*s == '.') {
        for (s++; *s >= '0' && *s <= '9'; s++) {
            if (nd == 0 && *s == '0') { exp--; continue; }
            if (nd == sizeof digits) return 0;
            digits[nd++] = *s;
            exp--;
        }
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        int eneg = 0;
        long e = 0;
        if (*s == '+' || *s == '-') eneg = (*s++ == '-');
        for (; *s >= '0' && *s <= '9'; s++) if (e < 100000) e = e * 10 + (*s - '0');
        exp += eneg ? -e : e;
    }
    while (nd > 0 && exp < 0 && digits[nd - 1] == '0') { nd--; exp++; }
    if (nd == 0) { *out = 0; return 1; }
    if (exp < 0 || exp > 19) return 0;
    uint64_t acc = 0;
    const uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (size_t i = 0; i < nd + (size_t)exp; i++) {
        unsigned d = i < nd ? (unsigned)(digits[i] - '0') : 0;
        if (acc > (limit - d) / 10) return 0;
        acc = acc * 10 + d;
    }
    *out = neg ? (int64_t)(0 - acc) : (int64_t)acc;
    return 1;
}

const char *folder_json_type_name(folder_json_type t)
{
    switch (t) {
    case FOLDER_JSON_NULL: return "null";
    case FOLDER_JSON_BOOL: return "a boolean";
    case FOLDER_JSON_NUMBER: return "a number";
    case FOLDER_JSON_STRING: return "a string";
    case FOLDER_JSON_ARRAY: return "an array";
    case FOLDER_JSON_OBJECT: return "an object";
    }
    return "?";
}
