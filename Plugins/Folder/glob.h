// glob.h — path globs matched against '/'-separated paths relative to the folder root.
//
//   **        as a whole segment: zero or more whole path segments
//             ("**/*.c" matches a.c and x/y/a.c; "docs/**" everything under docs)
//   *         any run of characters within one segment (dot files included)
//   ?         one character (one UTF-8 code point) within one segment
//   [abc] [a-z] [!x] [^x]   one character of / not of a class; ']' first is literal
//   \x        the character x literally
// A leading "/" or "./" is ignored (patterns are always anchored at the root); a trailing "/"
// means "everything under": "build/" is "build/**".
#ifndef FOLDER_GLOB_H
#define FOLDER_GLOB_H

#include <stddef.h>

typedef struct folder_glob_seg {
    const char *s;
    size_t len;
    int dstar;          /* the segment is exactly "**" */
} folder_glob_seg;

typedef struct folder_glob {
    char *text;         /* the normalized pattern; segments point into it */
    folder_glob_seg *segs;
    size_t nsegs;
} folder_glob;

/* A path split into segments (offsets into the path string). */
typedef struct folder_path_segs {
    const char *path;
    size_t n;
    size_t cap;
    size_t *off, *len;
} folder_path_segs;

/* Returns 0 on success, -1 when out of memory, -2 for an empty pattern. */
int folder_glob_compile(folder_glob *g, const char *pattern, size_t len);
void folder_glob_free(folder_glob *g);

/* Splits path (len bytes, no leading or trailing '/'); reuses ps's arrays. 0, or -1 on OOM. */
int folder_path_split(folder_path_segs *ps, const char *path, size_t len);
void folder_path_segs_free(folder_path_segs *ps);

/* The whole path matches. */
int folder_glob_match(const folder_glob *g, const folder_path_segs *ps);
/* Every path strictly below the directory ps matches (so an exclude may prune it). */
int folder_glob_covers_below(const folder_glob *g, const folder_path_segs *ps);
/* Some path strictly below the directory ps could match (else an include-only walk may skip it). */
int folder_glob_may_match_below(const folder_glob *g, const folder_path_segs *ps);

/* One segment against one segment pattern (exposed for tests). */
int folder_glob_seg_match(const char *pat, size_t plen, const char *str, size_t slen);

#endif
