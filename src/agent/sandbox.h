/* Sandbox-wide state in the guest: hostname, DNS, shared filesystems, shutdown. */
#pragma once

#include <stdbool.h>

#include "common/error.h"
#include "proto/agent.pb-c.h"

int sandbox_create(const Capsa__Agent__CreateSandboxRequest *req, struct capsa_error *err);
/* Asks the main loop to power the guest off once replies are flushed. */
void sandbox_request_shutdown(void);
bool sandbox_shutdown_requested(void);
/* Kills every container, unmounts shared filesystems, syncs and powers off. */
_Noreturn void sandbox_power_off(void);
