/* glob.c — segment-wise glob matching. */
#include "glob.h"
#include "utf8.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int folder_glob_compile(folder_glob *g, const char *pattern, size_t len)
{
    memset(g, 0, sizeof *g);
    /* Normalize: drop leading "/" and "./", empty segments; a trailing "/" adds "**". */
    const char *p = pattern, *end = pattern + len;
    for (;;) {
        if (p < end && *p == '/') { p++; continue; }
        if (end - p >= 2 && p[0] == '.' && p[1] == '/') { p += 2; continue; }
        break;
    }
    if (p == end) return -2;
    int trailing_slash = (end[-1] == '/');
    size_t n = (size_t)(end - p);
    g->text = malloc(n + 4);
    if (!g->text) return -1;
    memcpy(g->text, p, n);
    if (trailing_slash) { memcpy(g->text + n, "**", 2); n += 2; }
    g->text[n] = '\0';

    size_t maxsegs = 1;
    for (size_t i = 0; i < n; i++) if (g->text[i] == '/') maxsegs++;
    g->segs = malloc(maxsegs * sizeof *g->segs);
    if (!g->segs) { folder_glob_free(g); return -1; }
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && g->text[j] != '/') {
            if (g->text[j] == '\\' && j + 1 < n && g->text[j + 1] != '/') j++; /* escaped char */
            j++;
        }
        if (j > i) {
            folder_glob_seg seg = {g->text + i, j - i, (j - i == 2 && g->text[i] == '*' && g->text[i + 1] == '*')};
            /* "**" followed by "**" is the same as one "**". */
            if (!(seg.dstar && g->nsegs > 0 && g->segs[g->nsegs - 1].dstar)) g->segs[g->nsegs++] = seg;
        }
        i = j + 1;
    }
    if (g->nsegs == 0) { folder_glob_free(g); return -2; }
    return 0;
}

void folder_glob_free(folder_glob *g)
{
    free(g->text);
    free(g->segs);
    memset(g, 0, sizeof *g);
}

int folder_path_split(folder_path_segs *ps, const char *path, size_t len)
{
    ps->path = path;
    ps->n = 0;
    if (len == 0) return 0;
    size_t i = 0;
    for (;;) {
        size_t j = i;
        while (j < len && path[j] != '/') j++;
        if (ps->n == ps->cap) {
            size_t cap = ps->cap ? ps->cap * 2 : 16;
            size_t *off = realloc(ps->off, cap * sizeof *off);
            if (!off) return -1;
            ps->off = off;
            size_t *ln = realloc(ps->len, cap * sizeof *ln);
            if (!ln) return -1;
            ps->len = ln;
            ps->cap = cap;
        }
        ps->off[ps->n] = i;
        ps->len[ps->n] = j - i;
        ps->n++;
        if (j >= len) break;
        i = j + 1;
    }
    return 0;
}

void folder_path_segs_free(folder_path_segs *ps)
{
    free(ps->off);
    free(ps->len);
    memset(ps, 0, sizeof *ps);
}

/* Matches a class starting after '[' at pat[*pi]; returns 1/0 for match, -1 when the class is
   unterminated (then '[' is literal). On a verdict, *pi is moved past the closing ']'. */
static int folder_glob_class(const char *pat, size_t plen, size_t *pi, uint32_t cp)
{
    size_t i = *pi;
    int negate = 0, matched = 0;
    if (i < plen && (pat[i] == '!' || pat[i] == '^')) { negate = 1; i++; }
    size_t first = i;
    for (;;) {
        if (i >= plen) return -1;
        if (pat[i] == ']' && i > first) break;
        uint32_t lo, hi;
        if (pat[i] == '\\' && i + 1 < plen) i++;
        i += folder_utf8_seq((const uint8_t *)pat + i, plen - i, &lo);
        hi = lo;
        if (i + 1 < plen && pat[i] == '-' && pat[i + 1] != ']') {
            i++;
            if (pat[i] == '\\' && i + 1 < plen) i++;
            i += folder_utf8_seq((const uint8_t *)pat + i, plen - i, &hi);
        }
        if (cp >= lo && cp <= hi) matched = 1;
    }
    *pi = i + 1;
    return matched != negate;
}

int folder_glob_seg_match(const char *pat, size_t plen, const char *str, size_t slen)
{
    size_t pi = 0, si = 0;
    size_t star_pi = SIZE_MAX, star_si = 0;
    while (si < slen) {
        if (pi < plen) {
            char c = pat[pi];
            if (c == '*') {
                while (pi < plen && pat[pi] == '*') pi++;
                star_pi = pi;
                star_si = si;
                continue;
            }
            if (c == '?') {
                uint32_t cp;
                si += folder_utf8_seq((const uint8_t *)str + si, slen - si, &cp);
                pi++;
                continue;
            }
            if (c == '[') {
                uint32_t cp;
                size_t n = folder_utf8_seq((const uint8_t *)str + si, slen - si, &cp);
                size_t npi = pi + 1;
                int r = folder_glob_class(pat, plen, &npi, cp);
                if (r == 1) { pi = npi; si += n; continue; }
                if (r == -1 && str[si] == '[') { pi++; si++; continue; } /* literal '[' */
            } else {
                if (c == '\\' && pi + 1 < plen) c = pat[++pi];
                if (str[si] == c) { pi++; si++; continue; }
            }
        }
        /* Mismatch: let the last '*' swallow one more byte, or fail. */
        if (star_pi == SIZE_MAX) return 0;
        pi = star_pi;
        si = ++star_si;
    }
    while (pi < plen && pat[pi] == '*') pi++;
    return pi == plen;
}

static int folder_glob_seg_eq(const folder_glob_seg *g, const folder_path_segs *ps, size_t j)
{
    return folder_glob_seg_match(g->s, g->len, ps->path + ps->off[j], ps->len[j]);
}

int folder_glob_match(const folder_glob *g, const folder_path_segs *ps)
{
    /* The classic wildcard algorithm lifted to segments: "**" is the star, every other segment
       pattern consumes exactly one path segment, so backtracking to the last "**" suffices. */
    size_t gi = 0, pj = 0;
    size_t star_gi = SIZE_MAX, star_pj = 0;
    while (pj < ps->n) {
        if (gi < g->nsegs) {
            if (g->segs[gi].dstar) {
                star_gi = ++gi;
                star_pj = pj;
                continue;
            }
            if (folder_glob_seg_eq(&g->segs[gi], ps, pj)) { gi++; pj++; continue; }
        }
        if (star_gi == SIZE_MAX) return 0;
        gi = star_gi;
        pj = ++star_pj;
    }
    while (gi < g->nsegs && g->segs[gi].dstar) gi++;
    return gi == g->nsegs;
}

/* Directory segments [0, n) consumed with pattern position gi: mode 0 = covers below (the rest
   must be nonempty and all "**"), mode 1 = may match below (the rest must be nonempty). */
static int folder_glob_below(const folder_glob *g, const folder_path_segs *ps, size_t gi, size_t pj, int mode)
{
    for (;;) {
        if (pj == ps->n) {
            if (gi >= g->nsegs) return 0;
            if (mode == 1) return 1;
            for (size_t k = gi; k < g->nsegs; k++) if (!g->segs[k].dstar) return 0;
            return 1;
        }
        if (gi >= g->nsegs) return 0;
        if (g->segs[gi].dstar) {
            /* "**" matches zero segments here, or swallows this one and stays. */
            if (folder_glob_below(g, ps, gi + 1, pj, mode)) return 1;
            pj++;
            continue;
        }
        if (!folder_glob_seg_eq(&g->segs[gi], ps, pj)) return 0;
        gi++;
        pj++;
    }
}

int folder_glob_covers_below(const folder_glob *g, const folder_path_segs *ps)
{
    return folder_glob_below(g, ps, 0, 0, 0);
}

int folder_glob_may_match_below(const folder_glob *g, const folder_path_segs *ps)
{
    return folder_glob_below(g, ps, 0, 0, 1);
}
