/* json.h — a minimal JSON reader (for the config object and job args) and a writer/escaper
   (for record metadata), plus the growable byte buffer both use. */
#ifndef FOLDER_JSON_H
#define FOLDER_JSON_H

#include <stddef.h>
#include <stdint.h>

/* ---- growable buffer ---------------------------------------------------------------------- */

typedef struct folder_buf {
    char *data;
    size_t len, cap;
    int oom;        /* set once an allocation failed; later appends are ignored */
} folder_buf;

void folder_buf_free(folder_buf *b);
int folder_buf_reserve(folder_buf *b, size_t extra);
void folder_buf_add(folder_buf *b, const void *p, size_t n);
void folder_buf_adds(folder_buf *b, const char *s);
void folder_buf_addc(folder_buf *b, char c);
void folder_buf_addu(folder_buf *b, uint64_t v);
void folder_buf_addi(folder_buf *b, int64_t v);
/* Appends s as a JSON string literal, quotes included. s must be UTF-8. */
void folder_buf_add_json_string(folder_buf *b, const char *s, size_t n);

/* ---- reader -------------------------------------------------------------------------------- */

typedef enum folder_json_type {
    FOLDER_JSON_NULL,
    FOLDER_JSON_BOOL,
    FOLDER_JSON_NUMBER,
    FOLDER_JSON_STRING,
    FOLDER_JSON_ARRAY,
    FOLDER_JSON_OBJECT
} folder_json_type;

typedef struct folder_json folder_json;
struct folder_json {
    folder_json_type type;
    int boolean;            /* BOOL */
    char *str;              /* STRING: decoded, NUL-terminated (may hold \0 inside: see len);
                               NUMBER: the literal text */
    size_t len;
    folder_json *items;     /* ARRAY elements, OBJECT members (each with key) */
    size_t count;
    char *key;              /* the member name when this value sits in an object */
    size_t key_len;
};

/* Parses text (text, len). Returns a heap tree, or NULL with a message in err (size errlen). */
folder_json *folder_json_parse(const char *text, size_t len, char *err, size_t errlen);
void folder_json_free(folder_json *v);
/* The member named key of an object, or NULL. */
const folder_json *folder_json_get(const folder_json *obj, const char *key);
/* For a NUMBER holding an exact integer in [INT64_MIN, INT64_MAX]: stores it, returns 1. */
int folder_json_int(const folder_json *v, int64_t *out);
const char *folder_json_type_name(folder_json_type t);

#endif
