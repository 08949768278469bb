/* A complete Inlet connector in plain C: each sync records the machine's load average.
 * Build: cc -std=c11 -O2 -shared -fPIC -fvisibility=hidden -I <inlet>/Sources/CInletABI/include loadavg.c -o libloadavg.so */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "inlet_connector.h"

typedef struct { const inlet_host *host; } loadavg;

static inlet_status loadavg_create(const inlet_host *host, inlet_call *call,
                                   const char *config, size_t config_len, void **out) {
    (void)config; (void)config_len;  /* no settings */
    loadavg *self = calloc(1, sizeof *self);
    if (!self) {
        host->set_error(call, "loadavg: out of memory", 22, 0);
        return INLET_FAILED;
    }
    self->host = host;  /* the host table lives as long as the instance */
    *out = self;
    return INLET_OK;
}

static void loadavg_destroy(void *instance) { free(instance); }

static inlet_status loadavg_sync(void *instance, inlet_call *call, const char *kind,
                                 const char *args, size_t args_len) {
    const inlet_host *host = ((loadavg *)instance)->host;
    (void)kind; (void)args; (void)args_len;

    char line[128] = {0};
    FILE *file = fopen("/proc/loadavg", "r");
    if (!file || !fgets(line, sizeof line, file)) {
        if (file) fclose(file);
        const char *message = "loadavg: cannot read /proc/loadavg";
        host->set_error(call, message, strlen(message), 0);
        return INLET_RETRY;  /* transient: try again after a backoff */
    }
    fclose(file);

    /* A checkpoint value: how many samples were taken so far. */
    long samples = 0;
    inlet_buffer previous;
    if (host->state_get(call, "samples", 7, &previous) == INLET_OK && previous.data) {
        samples = strtol((const char *)previous.data, NULL, 10);  /* values are bytes; ours are digits */
    }
    host->buffer_free(call, &previous);
    char count[32];
    int count_len = snprintf(count, sizeof count, "%ld", samples + 1);

    char key[48], metadata[64];
    int key_len = snprintf(key, sizeof key, "sample-%ld", samples + 1);
    int metadata_len = snprintf(metadata, sizeof metadata, "{\"sample\": %ld}", samples + 1);
    inlet_record record = {
        .struct_size = sizeof record,
        .key = key, .key_len = (size_t)key_len,
        .kind = "loadavg",
        .metadata_json = metadata, .metadata_len = (size_t)metadata_len,
        .content = (const uint8_t *)line, .content_len = strlen(line),
    };
    if (host->emit(call, &record) != INLET_OK) return INLET_RETRY;
    /* Committed in the same transaction as the record, when this call returns OK. */
    host->state_set(call, "samples", 7, (const uint8_t *)count, (size_t)count_len);
    host->progress(call, 1, 1);
    return INLET_OK;
}

static const inlet_connector connector = {
    .struct_size = sizeof(inlet_connector),
    .abi_version = INLET_ABI_VERSION,
    .name = "loadavg",
    .version = "1.0.0",
    .description = "Records the load average on every sync",
    .config_schema = "{\"type\": \"object\", \"additionalProperties\": false,"
                     " \"properties\": {\"_inlet\": {\"type\": \"object\"}}}",
    .capabilities = 0,
    .create = loadavg_create,
    .destroy = loadavg_destroy,
    .sync = loadavg_sync,
};

INLET_EXPORT const inlet_connector *inlet_connector_register(uint32_t host_abi_version) {
    (void)host_abi_version;  /* the host checks the versions in the table */
    return &connector;
}
