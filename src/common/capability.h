/* Linux capability names as the OCI spec writes them ("CAP_CHOWN"). */
#pragma once

#define CAPABILITY_COUNT 41   /* CAP_CHOWN (0) to CAP_CHECKPOINT_RESTORE (40) */

/* The name of capability number cap, or NULL. */
const char *capability_name(int cap);
/* The number of a capability name (any case), or -1. */
int capability_from_name(const char *name);
