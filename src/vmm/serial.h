/*
 * 16550A-compatible UART at 0x3f8, IRQ 4: the guest's console. Output goes
 * to an fd as the guest writes it; input is read from an fd by the event
 * loop into a receive buffer. Interrupts for received data and an empty
 * transmitter, as Linux's 8250 driver expects.
 */
#pragma once

#include <stdint.h>

#include "common/error.h"

#define SERIAL_PORT_BASE 0x3f8
#define SERIAL_PORT_LEN 8
#define SERIAL_IRQ 4

struct serial;

/* raise(opaque, level) drives the interrupt line. out_fd/in_fd may be -1. */
int serial_new(int out_fd, int in_fd, void (*set_irq)(void *opaque, int level), void *irq_opaque,
	       struct serial **ret, struct capsa_error *err);
void serial_free(struct serial *s);
void serial_read(void *s, uint64_t offset, void *data, unsigned len);
void serial_write(void *s, uint64_t offset, const void *data, unsigned len);
/* For the event loop: input_fd is readable. Returns -1 at end of input. */
int serial_input(struct serial *s);
