/*
 * inlet_curl.h — libcurl for Swift.
 *
 * curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot call: each shim below
 * fixes one argument type. Prefixed `inlet_curl_` so they never clash with libcurl's own names.
 */
#ifndef INLET_CURL_H
#define INLET_CURL_H

#include <curl/curl.h>

/* CURLOPT_WRITEFUNCTION / CURLOPT_HEADERFUNCTION: (data, size, count, user data) -> bytes taken. */
typedef size_t (*inlet_curl_data_callback)(char *_Nonnull data, size_t size, size_t count, void *_Nullable context);

/* CURLOPT_XFERINFOFUNCTION: nonzero aborts the transfer (CURLE_ABORTED_BY_CALLBACK). */
typedef int (*inlet_curl_xferinfo_callback)(void *_Nullable context, curl_off_t download_total, curl_off_t downloaded,
                                            curl_off_t upload_total, curl_off_t uploaded);

/* curl_global_init(CURL_GLOBAL_DEFAULT): the flags are macros Swift does not import. */
static inline CURLcode inlet_curl_global_init(void) {
    return curl_global_init(CURL_GLOBAL_DEFAULT);
}

static inline CURLcode inlet_curl_setopt_long(CURL *_Nonnull handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode inlet_curl_setopt_off_t(CURL *_Nonnull handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}

/* libcurl copies string options (since 7.17), so the Swift string may go away afterwards. */
static inline CURLcode inlet_curl_setopt_string(CURL *_Nonnull handle, CURLoption option, const char *_Nullable value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode inlet_curl_setopt_pointer(CURL *_Nonnull handle, CURLoption option, void *_Nullable value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode inlet_curl_setopt_slist(CURL *_Nonnull handle, CURLoption option, struct curl_slist *_Nullable list) {
    return curl_easy_setopt(handle, option, list);
}

static inline CURLcode inlet_curl_setopt_data_callback(CURL *_Nonnull handle, CURLoption option,
                                                       inlet_curl_data_callback _Nullable callback) {
    return curl_easy_setopt(handle, option, callback);
}

static inline CURLcode inlet_curl_setopt_xferinfo_callback(CURL *_Nonnull handle,
                                                           inlet_curl_xferinfo_callback _Nullable callback) {
    return curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, callback);
}

/* http and https only, for the request and for every redirect it follows. */
static inline CURLcode inlet_curl_allow_http_only(CURL *_Nonnull handle) {
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85: the string form; the bitmask is deprecated */
    CURLcode code = curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
    if (code != CURLE_OK) return code;
    return curl_easy_setopt(handle, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
    CURLcode code = curl_easy_setopt(handle, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    if (code != CURLE_OK) return code;
    return curl_easy_setopt(handle, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
}

static inline CURLcode inlet_curl_getinfo_long(CURL *_Nonnull handle, CURLINFO info, long *_Nonnull value) {
    return curl_easy_getinfo(handle, info, value);
}

#endif /* INLET_CURL_H */
