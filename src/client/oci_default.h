/* The default OCI runtime spec, as `runc spec` writes it, for capsa's bundles. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

/* args: NULL-terminated; NULL gives ["sh"]. */
json_t *oci_default_spec(char *const *args, bool terminal);
