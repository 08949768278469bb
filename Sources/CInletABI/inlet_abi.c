// Compile-time guards on the ABI's layout: a change that moves a 1.0 field breaks the build here
// before it can break a plugin built against an older header.
#include "inlet_connector.h"

_Static_assert(offsetof(inlet_connector, struct_size) == 0, "struct_size must come first");
_Static_assert(offsetof(inlet_host, struct_size) == 0, "struct_size must come first");
_Static_assert(offsetof(inlet_record, struct_size) == 0, "struct_size must come first");
_Static_assert(offsetof(inlet_event, struct_size) == 0, "struct_size must come first");
_Static_assert(offsetof(inlet_http_request, struct_size) == 0, "struct_size must come first");
_Static_assert(offsetof(inlet_http_response, struct_size) == 0, "struct_size must come first");
_Static_assert(sizeof(inlet_status) == 4, "statuses are 32-bit");
_Static_assert(INLET_ABI_MAJOR(INLET_ABI_VERSION) == 1, "this host speaks ABI major 1");
#if UINTPTR_MAX == 0xFFFFFFFFFFFFFFFFu
_Static_assert(INLET_CONNECTOR_V1_0_SIZE == 88, "ABI 1.0 inlet_connector layout moved");
_Static_assert(INLET_HOST_V1_0_SIZE == 120, "ABI 1.0 inlet_host layout moved");
_Static_assert(INLET_RECORD_V1_0_SIZE == 72, "ABI 1.0 inlet_record layout moved");
_Static_assert(INLET_EVENT_V1_0_SIZE == 56, "ABI 1.0 inlet_event layout moved");
_Static_assert(INLET_HTTP_REQUEST_V1_1_SIZE == 64, "ABI 1.1 inlet_http_request layout moved");
_Static_assert(INLET_HTTP_RESPONSE_V1_1_SIZE == 72, "ABI 1.1 inlet_http_response layout moved");
#endif
