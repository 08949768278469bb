/*
 * inlet_connector.h — the Inlet connector ABI, version 1.1.
 *
 * 1.1 gives the reserved `http` slot of inlet_host its type (the host's HTTP service, see
 * inlet_http_request below). Nothing else moved: a 1.0 plugin loads unchanged.
 *
 * This header is the whole contract between the Inlet host (the `inlet` daemon) and a connector
 * plugin. A connector is a shared library that exports exactly one symbol:
 *
 *     const inlet_connector *inlet_connector_register(uint32_t host_abi_version);
 *
 * A connector needs nothing but this header and a C compiler:
 *
 *     cc -O2 -shared -fPIC -fvisibility=hidden -I <dir of this header> my.c -o libmy.so
 *
 * ---------------------------------------------------------------------------------------------
 * VERSIONING (append-only)
 * ---------------------------------------------------------------------------------------------
 * INLET_ABI_VERSION packs a major and a minor number: (major << 16) | minor.
 *   - The major changes only when the contract breaks; a host refuses any plugin whose major
 *     differs from its own.
 *   - A minor release only APPENDS fields at the end of the tables below. It never removes,
 *     reorders or retypes a field, and never changes the meaning of an existing one.
 *   - A host refuses a plugin built for a newer minor than its own (the plugin may call services
 *     this host does not have), with a message that names both versions.
 *   - Every table starts with `struct_size`, set to sizeof() of the table as the writer compiled
 *     it. A reader only reads a field that lies wholly inside the writer's struct_size; it never
 *     copies sizeof(its own struct) bytes from the other side. So a 1.0 plugin loads in every
 *     1.x host, and a 1.x plugin reads only the host services its struct_size check allows.
 *
 * Negotiation happens before any other plugin code runs: the host calls
 * inlet_connector_register(INLET_ABI_VERSION) and checks the returned table's abi_version and
 * struct_size. A plugin that cannot serve this host returns NULL.
 *
 * ---------------------------------------------------------------------------------------------
 * STRINGS AND OWNERSHIP
 * ---------------------------------------------------------------------------------------------
 *   - Strings are UTF-8. A field or parameter is either NUL-terminated ("C string") or a
 *     (pointer, length) pair, as stated beside it; a pair's bytes need no NUL terminator.
 *   - Whoever allocates, frees. Everything a plugin passes to a host service is copied by the
 *     host before the service returns; the plugin may reuse or free it at once.
 *   - What the host hands to a plugin (a call handle, the config JSON, job args, a webhook event,
 *     a value in an inlet_buffer) is owned by the host. Arguments of an entry point live until
 *     that entry returns. An inlet_buffer filled by a host service lives until the plugin
 *     passes it to host->buffer_free (or, at the latest, until the entry point returns).
 *   - The inlet_connector table and the strings it points to are owned by the plugin and must
 *     stay valid for as long as the library is loaded (a static table is the usual way).
 *   - No pointer into host memory outlives the call it was given in, and the host keeps no
 *     callback of the plugin other than the table, so the same library can run in a separate
 *     process with every service carried as a request and a reply of plain bytes.
 *
 * ---------------------------------------------------------------------------------------------
 * THREADING
 * ---------------------------------------------------------------------------------------------
 *   - The host calls plugin entry points on threads of its own, never on a thread it needs for
 *     anything else, so an entry point may block (disk, network, subprocesses).
 *   - The host never calls one instance from two threads at once unless the plugin sets
 *     INLET_CAP_REENTRANT. Different instances (different sources) may run concurrently.
 *   - Host services may be called from any thread while the entry point that received the call
 *     handle is running (a plugin may fan work out to threads of its own). After the entry
 *     returns, the call handle is dead and must not be used: the host refuses it (FAILED, and
 *     is_cancelled answers 1) and logs the misuse.
 *
 * ---------------------------------------------------------------------------------------------
 * STATUSES
 * ---------------------------------------------------------------------------------------------
 * Every entry point returns an inlet_status. A plugin explains a non-OK status with
 * host->set_error(call, message, len, retry_after_ms) before returning:
 *   INLET_OK            done; the host commits what the call staged.
 *   INLET_RETRY         transient failure; nothing staged since the last checkpoint is kept and
 *                       the job runs again after a backoff.
 *   INLET_RATE_LIMITED  an upstream budget is spent; the job runs again after retry_after_ms
 *                       (as given to set_error; 0 or no set_error: 60 s; at least 1 s) and the
 *                       attempt is not counted as a failure.
 *   INLET_FAILED        permanent failure; the job goes to quarantine without further retries.
 * A crash inside a plugin (a fatal signal in its call) ends the daemon's process; its supervisor
 * starts it again, the attempt of the job whose call crashed counts as failed (it runs again, or
 * goes to quarantine when out of attempts), and the other jobs it held go back uncounted.
 */
#ifndef INLET_CONNECTOR_H
#define INLET_CONNECTOR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if !defined(__clang__)
#  ifndef _Nonnull
#    define _Nonnull
#  endif
#  ifndef _Nullable
#    define _Nullable
#  endif
#endif

#define INLET_ABI_VERSION_MAJOR 1
#define INLET_ABI_VERSION_MINOR 1
#define INLET_ABI_MAKE_VERSION(major, minor) ((uint32_t)(((uint32_t)(major) << 16) | (uint32_t)(minor)))
#define INLET_ABI_VERSION INLET_ABI_MAKE_VERSION(INLET_ABI_VERSION_MAJOR, INLET_ABI_VERSION_MINOR)
#define INLET_ABI_MAJOR(version) ((uint32_t)(version) >> 16)
#define INLET_ABI_MINOR(version) ((uint32_t)(version) & 0xFFFFu)

/* The name of the one exported symbol, for hosts that look it up. */
#define INLET_CONNECTOR_ENTRY "inlet_connector_register"

/* Statuses returned by every entry point and by most host services. */
typedef int32_t inlet_status;
#define INLET_OK 0
#define INLET_RETRY 1
#define INLET_RATE_LIMITED 2
#define INLET_FAILED 3

/* Log levels for host->log. */
typedef int32_t inlet_log_level;
#define INLET_LOG_TRACE 0
#define INLET_LOG_DEBUG 1
#define INLET_LOG_INFO 2
#define INLET_LOG_WARNING 3
#define INLET_LOG_ERROR 4

/* Capability bits in inlet_connector.capabilities. Unknown bits are ignored by the host. */
#define INLET_CAP_WEBHOOKS (UINT64_C(1) << 0)  /* `webhook` handles events; else it is never called */
#define INLET_CAP_REENTRANT (UINT64_C(1) << 1) /* one instance may be called from several threads at once */
#define INLET_CAP_HEALTH (UINT64_C(1) << 2)    /* `health` is meaningful (reserved: see health) */

/*
 * An opaque handle to one call of an entry point (create, sync, webhook, health). Every host
 * service takes it first, so the host knows which source, job and transaction a service call
 * belongs to. Valid only until that entry point returns.
 */
typedef struct inlet_call inlet_call;

/* A byte buffer the host fills for the plugin (state_get, http). Free it with host->buffer_free.
   The host puts one NUL byte after the len bytes (not counted in len), so a value or body that is
   text may be read as a C string; a value may still contain NULs of its own. */
typedef struct inlet_buffer {
    const uint8_t *_Nullable data; /* NULL when the value does not exist */
    size_t len;
    void *_Nullable host_private;  /* the host's; do not touch */
} inlet_buffer;

/*
 * One record a connector emits. The host copies every field before emit returns.
 * Within one job, emitting a key again replaces the earlier emit of that key.
 */
typedef struct inlet_record {
    uint32_t struct_size;                 /* sizeof(inlet_record) as the plugin compiled it */
    uint32_t reserved;                    /* zero */
    const char *_Nonnull key;             /* (key, key_len): the record's id within its source, valid
                                             UTF-8 without NUL bytes (a name that is not, such as a Unix
                                             file name, must be escaped by the connector, e.g. as \xNN,
                                             or quarantined). State and quarantine keys follow the same
                                             rule. Content plus metadata may hold at most 256 MiB. */
    size_t key_len;
    const char *_Nullable kind;           /* C string: "file", "issue", ...; NULL means "record" */
    const char *_Nullable metadata_json;  /* (metadata_json, metadata_len): a JSON object, or NULL for {} */
    size_t metadata_len;
    const uint8_t *_Nullable content;     /* (content, content_len): the body; NULL means no content */
    size_t content_len;                   /*   (an empty body is a non-NULL pointer with length 0) */
    const char *_Nullable blob_sha;       /* C string, 40 lowercase hex: git blob SHA-1 of the content.
                                             With content == NULL it names a blob the host already has
                                             (see has_blob): the record then refers to it without
                                             resending the bytes. With content it is verified. */
} inlet_record;

/* One webhook delivery, as received and verified by the host. */
typedef struct inlet_event {
    uint32_t struct_size;
    uint32_t reserved;
    const char *_Nonnull name;            /* C string: the event name, e.g. "push" */
    const char *_Nonnull delivery_id;     /* C string: the delivery's unique id */
    const char *_Nonnull headers_json;    /* (headers_json, headers_len): a JSON object of the
                                             headers that matter, lowercase names */
    size_t headers_len;
    const uint8_t *_Nonnull body;         /* (body, body_len): the raw request body */
    size_t body_len;
} inlet_event;

/* ABI 1.1: the host's HTTP service (host->http). */

/* Flags of an inlet_http_request. (Plain unsigned literals: Swift imports them, not UINT32_C(1) << n.) */
#define INLET_HTTP_NO_CACHE 0x1u /* bit 0: neither send cached validators nor store the answer
                                                  (use it for immutable or large bodies, such as a
                                                  blob fetched by its SHA) */

/* Flags of an inlet_http_response. */
#define INLET_HTTP_NOT_MODIFIED 0x1u /* bit 0: the server answered 304 to the host's
                                                      conditional request: status, headers and body
                                                      are those of the cached 200 answer */

/*
 * One HTTP request. The host copies everything before host->http returns.
 * Authorization and every other header come from the plugin; the host never logs a header value.
 */
typedef struct inlet_http_request {
    uint32_t struct_size;                /* sizeof(inlet_http_request) as the plugin compiled it */
    uint32_t flags;                      /* INLET_HTTP_* request bits */
    const char *_Nullable method;        /* C string; NULL means "GET" */
    const char *_Nonnull url;            /* C string: an absolute http:// or https:// URL */
    const char *_Nullable headers;       /* (headers, headers_len): "Name: value" lines separated
                                            by "\n" (or "\r\n"); NULL for none */
    size_t headers_len;
    const uint8_t *_Nullable body;       /* (body, body_len): the request body; NULL for none */
    size_t body_len;
    uint32_t timeout_ms;                 /* the whole exchange; 0 means the host's default (30 s) */
    uint32_t reserved;                   /* zero */
} inlet_http_request;

/*
 * The answer, filled by the host. The plugin sets struct_size (and zeroes the rest) before the
 * call; the host writes only fields that struct_size covers. Free both buffers with
 * host->buffer_free (or let the call's end free them).
 */
typedef struct inlet_http_response {
    uint32_t struct_size;                /* sizeof(inlet_http_response) as the plugin compiled it */
    int32_t status;                      /* the HTTP status; 0 when no answer arrived */
    uint32_t flags;                      /* INLET_HTTP_* response bits (NOT_MODIFIED) */
    uint32_t reserved;
    uint64_t retry_after_ms;             /* with INLET_RATE_LIMITED: how long the budget is spent */
    inlet_buffer headers;                /* the final answer's headers, "name: value\n" lines,
                                            names in lowercase */
    inlet_buffer body;                   /* the body, content-encoding (gzip) undone */
} inlet_http_response;

/*
 * The services the host offers a connector. One table is passed to `create`; the plugin may keep
 * the pointer for the life of its instance. Read a field only if host->struct_size covers it.
 */
typedef struct inlet_host {
    uint32_t struct_size;  /* sizeof(inlet_host) as the host compiled it */
    uint32_t abi_version;  /* the host's INLET_ABI_VERSION */

    /* Stage a record. Committed with the state set in the same call when the entry returns OK
       or when the plugin calls checkpoint; discarded otherwise. FAILED if the record is invalid
       (message via the host's log). */
    inlet_status (*_Nonnull emit)(inlet_call *_Nonnull call, const inlet_record *_Nonnull record);

    /* Stage a tombstone for a key (the record stays, marked deleted). Same commit rule as emit. */
    inlet_status (*_Nonnull delete_record)(inlet_call *_Nonnull call, const char *_Nonnull key, size_t key_len);

    /* Read a checkpoint value of this source: the value staged in this call if any, else the
       committed one. out->data is NULL when the key has no value; an existing empty value has a
       non-NULL data and len 0. Values are bytes (they may contain NUL). Free with buffer_free.
       Not in `create` (FAILED, as emit, delete_record, state_set, checkpoint, quarantine_item
       and enqueue there): read state when a job runs. */
    inlet_status (*_Nonnull state_get)(inlet_call *_Nonnull call, const char *_Nonnull key, size_t key_len,
                                       inlet_buffer *_Nonnull out);

    /* Stage a checkpoint value (value == NULL removes the key). Same commit rule as emit. */
    inlet_status (*_Nonnull state_set)(inlet_call *_Nonnull call, const char *_Nonnull key, size_t key_len,
                                       const uint8_t *_Nullable value, size_t value_len);

    /* Release a buffer the host filled. Safe on a buffer whose data is NULL. */
    void (*_Nonnull buffer_free)(inlet_call *_Nonnull call, inlet_buffer *_Nonnull buffer);

    /* Commit everything staged so far (records, tombstones, state, quarantined items) in one
       transaction, now. Call it after a consistent step of a long sync (say, one repository).
       RETRY if the commit failed: the staged data then stays staged, and the plugin may go on (the
       next checkpoint or the final commit tries again) or return INLET_RETRY itself. */
    inlet_status (*_Nonnull checkpoint)(inlet_call *_Nonnull call);

    /* Write a log line attributed to this source. (message, len). Never log secrets. */
    void (*_Nonnull log)(inlet_call *_Nonnull call, inlet_log_level level, const char *_Nonnull message, size_t len);

    /* Report progress: `done` items of `total` (total 0 = unknown). Cheap; call it per item. */
    void (*_Nonnull progress)(inlet_call *_Nonnull call, uint64_t done, uint64_t total);

    /* Ask for a follow-up job of this source: kind (C string, e.g. "sync"), args (a JSON object,
       (args_json, args_len)), priority 1 (highest) .. 10 (0 = the default, 5), unique_key
       (C string or NULL): a job of this source with the same unique key already queued
       absorbs this one (its args merged in: this request's keys win); keys are per source.
       Staged like records: enqueued only when the call's work is committed. */
    inlet_status (*_Nonnull enqueue)(inlet_call *_Nonnull call, const char *_Nonnull kind,
                                     const char *_Nullable args_json, size_t args_len, int32_t priority,
                                     const char *_Nullable unique_key);

    /* Nonzero when the host wants this call to stop (timeout, shutdown, cancel). A plugin should
       poll it between items and return INLET_RETRY soon after it turns true. */
    int32_t (*_Nonnull is_cancelled)(inlet_call *_Nonnull call);

    /* Put one item the plugin could not process aside (a file it could not read): key, error
       message, and optionally the offending bytes. Counted as failed, never aborts the job. */
    inlet_status (*_Nonnull quarantine_item)(inlet_call *_Nonnull call, const char *_Nonnull key, size_t key_len,
                                             const char *_Nonnull error, size_t error_len,
                                             const uint8_t *_Nullable bytes, size_t bytes_len);

    /* Explain the status the entry point is about to return: (message, len), and for
       INLET_RATE_LIMITED the delay before the next attempt in milliseconds. */
    void (*_Nonnull set_error)(inlet_call *_Nonnull call, const char *_Nonnull message, size_t len,
                               uint64_t retry_after_ms);

    /* Nonzero when the sink already stores the blob with this git blob SHA-1 (C string, 40 hex),
       so a record may refer to it by blob_sha without content. */
    int32_t (*_Nonnull has_blob)(inlet_call *_Nonnull call, const char *_Nonnull blob_sha);

    /* ABI 1.1: make one HTTP request through the host (1.0 reserved this slot, NULL and never
       called, so 1.1 could give it its type). Check host->abi_version >= 1.1 and http != NULL.
       The host reuses connections, follows redirects (GET/HEAD, at most 5), undoes gzip, and for
       every source alike:
         - keeps the ETag / Last-Modified of GET answers per source and URL (and Accept header) in
           its state store, sends If-None-Match / If-Modified-Since, and on a 304 fills `out`
           with the cached answer and INLET_HTTP_NOT_MODIFIED (the plugin decides from the body
           whether anything is new: a cached answer may predate the plugin's last checkpoint);
         - reads X-RateLimit-Remaining / X-RateLimit-Reset: once the budget is spent, it sends
           nothing more for this source until the reset, and answers INLET_RATE_LIMITED;
         - counts 5xx answers and network errors against the source's circuit breaker.
       Returns:
         INLET_OK            an answer arrived (any status: 4xx and 5xx are answers too);
         INLET_RATE_LIMITED  nothing sent because the budget is spent, or the server refused with
                             a rate limit (403/429 with Retry-After, or with the budget at 0);
                             out->retry_after_ms says how long to wait;
         INLET_RETRY         network error, timeout, or the call was cancelled;
         INLET_FAILED        the request is malformed (URL, method, headers).
       For every status but OK the host has already explained it on the call (as set_error would,
       with retry_after_ms), so a plugin may return that status as it is. */
    inlet_status (*_Nullable http)(inlet_call *_Nonnull call, const inlet_http_request *_Nonnull request,
                                   inlet_http_response *_Nonnull out);
} inlet_host;

/*
 * The table a connector returns from inlet_connector_register. Static, owned by the plugin.
 */
typedef struct inlet_connector {
    uint32_t struct_size;               /* sizeof(inlet_connector) as the plugin compiled it */
    uint32_t abi_version;               /* INLET_ABI_VERSION the plugin was built against */
    const char *_Nonnull name;          /* C string: the connector name sources use ("folder") */
    const char *_Nonnull version;       /* C string: the plugin's own version ("1.0.0") */
    const char *_Nullable description;  /* C string: one line for `inlet plugins list` */
    const char *_Nullable config_schema;/* C string: a JSON Schema of the source's `config:` block */
    uint64_t capabilities;              /* INLET_CAP_* bits */

    /* Make an instance for one source. config_json: (config_json, config_len), the source's
       `config:` block as a JSON object, with ${VAR}s substituted, plus one key the host adds:
         "_inlet": { "source": "<source name>",
                     "data_dir": "<absolute folder the instance may keep files in; it exists>",
                     "config_dir": "<absolute folder of the config file: resolve relative paths
                                    of the config block against it>" }
       On success store the instance in *instance_out and return INLET_OK; otherwise call
       host->set_error and return FAILED when the config cannot work (the job goes to quarantine
       and the source takes no jobs until the config is reloaded), or RETRY / RATE_LIMITED for a
       transient problem (the job runs again after its backoff / the retry_after). */
    inlet_status (*_Nonnull create)(const inlet_host *_Nonnull host, inlet_call *_Nonnull call,
                                    const char *_Nonnull config_json, size_t config_len,
                                    void *_Nullable *_Nonnull instance_out);

    /* Free an instance. No call of it is running, and none will be. */
    void (*_Nonnull destroy)(void *_Nullable instance);

    /* Run one job: kind (C string: "sync", or a kind the plugin enqueued), args: (args_json,
       args_len), a JSON object. The host adds "full": true to a sync's args when the user asks
       for a full re-sync. */
    inlet_status (*_Nonnull sync)(void *_Nullable instance, inlet_call *_Nonnull call, const char *_Nonnull kind,
                                  const char *_Nonnull args_json, size_t args_len);

    /* Handle one webhook delivery (only with INLET_CAP_WEBHOOKS; may be NULL otherwise). */
    inlet_status (*_Nullable webhook)(void *_Nullable instance, inlet_call *_Nonnull call,
                                      const inlet_event *_Nonnull event);

    /* Report the instance's health: OK, or FAILED with a message through set_error (may be NULL).
       Reserved: this version of the host never calls it (its /health reports what jobs and the
       watchdog show); a plugin may leave it NULL. */
    inlet_status (*_Nullable health)(void *_Nullable instance, inlet_call *_Nonnull call);
} inlet_connector;

#if defined(__GNUC__) || defined(__clang__)
#  define INLET_EXPORT __attribute__((visibility("default")))
#else
#  define INLET_EXPORT
#endif

/* The one symbol a connector exports (define it with INLET_EXPORT when building with
   -fvisibility=hidden). host_abi_version is the host's INLET_ABI_VERSION. Return the static
   table, or NULL when this plugin cannot serve a host of that major version. */
typedef const inlet_connector *_Nullable (*inlet_connector_register_fn)(uint32_t host_abi_version);
INLET_EXPORT const inlet_connector *_Nullable inlet_connector_register(uint32_t host_abi_version);

/*
 * The smallest struct_size a 1.0 reader accepts: the table must at least reach the end of the
 * last field of ABI 1.0. Later minors append after these.
 */
#define INLET_CONNECTOR_V1_0_SIZE (offsetof(inlet_connector, health) + sizeof(void *))
#define INLET_HOST_V1_0_SIZE (offsetof(inlet_host, http) + sizeof(void *))
#define INLET_RECORD_V1_0_SIZE (offsetof(inlet_record, blob_sha) + sizeof(void *))
#define INLET_EVENT_V1_0_SIZE (offsetof(inlet_event, body_len) + sizeof(size_t))
#define INLET_HTTP_REQUEST_V1_1_SIZE (offsetof(inlet_http_request, reserved) + sizeof(uint32_t))
#define INLET_HTTP_RESPONSE_V1_1_SIZE (offsetof(inlet_http_response, body) + sizeof(inlet_buffer))

#ifdef __cplusplus
}
#endif

#endif /* INLET_CONNECTOR_H */
