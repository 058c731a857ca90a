#include "vmm/serial.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fdio.h"

#define RBR_THR 0   /* DLL with DLAB */
#define IER 1       /* DLM with DLAB */
#define IIR_FCR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6
#define SCR 7

#define IER_RDI 0x01
#define IER_THRI 0x02
#define IIR_NONE 0x01
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_FIFO 0xc0
#define LCR_DLAB 0x80
#define LSR_DR 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define MCR_LOOP 0x10
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_DCD 0x80
#define FCR_FIFO 0x01
#define FCR_CLEAR_RX 0x02

/* input beyond this while the guest is not reading is dropped, as a real UART overruns */
#define RX_BUF 4096

struct serial {
	pthread_mutex_t lock;
	int out_fd, in_fd;
	void (*set_irq)(void *opaque, int level);
	void *irq_opaque;
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
	bool thri_pending;
	int irq_level;
	uint8_t rx[RX_BUF];
	unsigned rx_head, rx_count;
};

int serial_new(int out_fd, int in_fd, void (*set_irq)(void *opaque, int level), void *irq_opaque,
	       struct serial **ret, struct capsa_error *err)
{
	struct serial *s = calloc(1, sizeof(*s));
	if (!s)
		return capsa_error_set(err, -ENOMEM, "out of memory");
	pthread_mutex_init(&s->lock, NULL);
	s->out_fd = out_fd;
	s->in_fd = in_fd;
	s->set_irq = set_irq;
	s->irq_opaque = irq_opaque;
	s->dll = 12;   /* 9600 baud */
	s->lcr = 0x3;  /* 8N1 */
	s->mcr = 0x8;  /* OUT2 */
	*ret = s;
	return 0;
}

void serial_free(struct serial *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static uint8_t iir(const struct serial *s)
{
	if ((s->ier & IER_RDI) && s->rx_count)
		return IIR_RDI;
	if ((s->ier & IER_THRI) && s->thri_pending)
		return IIR_THRI;
	return IIR_NONE;
}

/* Edge-triggered ISA line: raised while an interrupt is pending, lowered when none is. */
static void update_irq(struct serial *s)
{
	int level = iir(s) != IIR_NONE;
	if (level != s->irq_level) {
		s->irq_level = level;
		s->set_irq(s->irq_opaque, level);
	}
}

void serial_read(void *opaque, uint64_t offset, void *data, unsigned len)
{
	struct serial *s = opaque;
	uint8_t v = 0;
	memset(data, 0, len);
	pthread_mutex_lock(&s->lock);
	switch (offset) {
	case RBR_THR:
		if (s->lcr & LCR_DLAB) {
			v = s->dll;
		} else if (s->rx_count) {
			v = s->rx[s->rx_head];
			s->rx_head = (s->rx_head + 1) % RX_BUF;
			s->rx_count--;
		}
		break;
	case IER: v = s->lcr & LCR_DLAB ? s->dlm : s->ier; break;
	case IIR_FCR:
		v = iir(s) | ((s->fcr & FCR_FIFO) ? IIR_FIFO : 0);
		/* reading IIR acknowledges a transmitter-empty interrupt */
		if ((v & 0x0f) == IIR_THRI)
			s->thri_pending = false;
		break;
	case LCR: v = s->lcr; break;
	case MCR: v = s->mcr; break;
	case LSR: v = LSR_THRE | LSR_TEMT | (s->rx_count ? LSR_DR : 0); break;
	case MSR: v = (s->mcr & MCR_LOOP) ? 0 : MSR_DCD | MSR_DSR | MSR_CTS; break;
	case SCR: v = s->scr; break;
	}
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	memcpy(data, &v, 1);
}

void serial_write(void *opaque, uint64_t offset, const void *data, unsigned len)
{
	struct serial *s = opaque;
	uint8_t v = *(const uint8_t *)data;
	(void)len;
	pthread_mutex_lock(&s->lock);
	switch (offset) {
	case RBR_THR:
		if (s->lcr & LCR_DLAB) {
			s->dll = v;
			break;
		}
		if (s->mcr & MCR_LOOP) {
			if (s->rx_count < RX_BUF) {
				s->rx[(s->rx_head + s->rx_count) % RX_BUF] = v;
				s->rx_count++;
			}
		} else if (s->out_fd >= 0) {
			/* a console that cannot keep up slows the guest; it never loses output */
			(void)write_all(s->out_fd, &v, 1);
		}
		s->thri_pending = true;
		break;
	case IER:
		if (s->lcr & LCR_DLAB) {
			s->dlm = v;
		} else {
			/* enabling THRI with an empty transmitter interrupts at once, like a real 16550 */
			if ((v & IER_THRI) && !(s->ier & IER_THRI))
				s->thri_pending = true;
			s->ier = v & 0x0f;
		}
		break;
	case IIR_FCR:
		s->fcr = v;
		if (v & FCR_CLEAR_RX)
			s->rx_count = 0;
		break;
	case LCR: s->lcr = v; break;
	case MCR: s->mcr = v & 0x1f; break;
	case SCR: s->scr = v; break;
	}
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

int serial_input(struct serial *s)
{
	uint8_t buf[256];
	ssize_t n = read(s->in_fd, buf, sizeof(buf));
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (n == 0)
		return -1;
	pthread_mutex_lock(&s->lock);
	for (ssize_t i = 0; i < n && s->rx_count < RX_BUF; i++) {
		s->rx[(s->rx_head + s->rx_count) % RX_BUF] = buf[i];
		s->rx_count++;
	}
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return 0;
}
