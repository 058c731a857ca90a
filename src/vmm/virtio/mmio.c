#include "vmm/virtio/mmio.h"

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <stdio.h>
#include <string.h>

#define MMIO_MAGIC 0x74726976   /* "virt" */
#define MMIO_VERSION 2
#define MMIO_VENDOR 0x41535043  /* "CPSA" */
#define MMIO_CONFIG 0x100
#define VIRTIO_MMIO_LOG_MAX 64

void virtio_mmio_init(struct virtio_mmio_dev *d, const struct virtio_device_ops *ops, void *dev,
		      const struct guest_memory *mem, uint64_t base, unsigned irq)
{
	memset(d, 0, sizeof(*d));
	pthread_mutex_init(&d->lock, NULL);
	d->ops = ops;
	d->dev = dev;
	d->mem = mem;
	d->base = base;
	d->irq = irq;
	d->device_features = ops->features | (1ULL << VIRTIO_F_VERSION_1);
	for (unsigned i = 0; i < ops->num_queues && i < VIRTIO_MAX_QUEUES; i++) {
		d->queues[i].num_max = ops->queue_size_max;
		virtq_reset(&d->queues[i]);
	}
}

void virtio_mmio_destroy(struct virtio_mmio_dev *d)
{
	pthread_mutex_destroy(&d->lock);
}

static void emit(struct virtio_mmio_dev *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	d->log(d->log_opaque, fmt, ap);
	va_end(ap);
}

static void vlog(struct virtio_mmio_dev *d, const char *kind, const char *fmt, va_list ap)
{
	if (!d->log || d->log_lines > VIRTIO_MMIO_LOG_MAX)
		return;
	if (++d->log_lines > VIRTIO_MMIO_LOG_MAX) {
		emit(d, "%s@0x%llx: more than %d messages: the rest are not logged", d->ops->name,
		     (unsigned long long)d->base, VIRTIO_MMIO_LOG_MAX);
		return;
	}
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	emit(d, "%s@0x%llx: %s%s", d->ops->name, (unsigned long long)d->base, kind, msg);
}

void virtio_mmio_log(struct virtio_mmio_dev *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(d, "", fmt, ap);
	va_end(ap);
}

bool virtio_mmio_running(const struct virtio_mmio_dev *d)
{
	return !d->failed && (d->status & VIRTIO_CONFIG_S_DRIVER_OK);
}

static void raise_interrupt(struct virtio_mmio_dev *d, uint32_t why)
{
	d->interrupt_status |= why;
	if (d->interrupt)
		d->interrupt(d->interrupt_opaque);
}

void virtio_mmio_signal_used(struct virtio_mmio_dev *d, unsigned q)
{
	if (q < d->ops->num_queues && virtq_wants_interrupt(&d->queues[q]))
		raise_interrupt(d, VIRTIO_MMIO_INT_VRING);
}

static void reset_device(struct virtio_mmio_dev *d)
{
	if (d->ops->reset)
		d->ops->reset(d->dev);
	for (unsigned i = 0; i < d->ops->num_queues; i++)
		virtq_reset(&d->queues[i]);
	d->driver_features = 0;
	d->device_features_sel = d->driver_features_sel = d->queue_sel = 0;
	d->status = 0;
	d->interrupt_status = 0;
	d->failed = false;
}

void virtio_mmio_fault(struct virtio_mmio_dev *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(d, "guest fault, device stopped: ", fmt, ap);
	va_end(ap);
	if (d->failed)
		return;
	/* the device's own state is dropped at the driver's reset, not here in the middle of its work */
	d->failed = true;
	for (unsigned i = 0; i < d->ops->num_queues; i++)
		d->queues[i].active = false;
	d->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	raise_interrupt(d, VIRTIO_MMIO_INT_CONFIG);
}

int virtio_mmio_pop(struct virtio_mmio_dev *d, unsigned q, const char *what, struct virtq_chain *chain)
{
	struct capsa_error err = { 0 };
	int r = virtq_pop(&d->queues[q], d->mem, chain, &err);
	if (r < 0)
		virtio_mmio_fault(d, "%s: %s", what, err.msg);
	return r;
}

static struct virtq *selected_queue(struct virtio_mmio_dev *d)
{
	return d->queue_sel < d->ops->num_queues ? &d->queues[d->queue_sel] : NULL;
}

static uint32_t read_reg(struct virtio_mmio_dev *d, uint64_t offset)
{
	struct virtq *q = selected_queue(d);
	switch (offset) {
	case VIRTIO_MMIO_MAGIC_VALUE: return MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION: return MMIO_VERSION;
	case VIRTIO_MMIO_DEVICE_ID: return d->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID: return MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		return d->device_features_sel == 0 ? (uint32_t)d->device_features
		     : d->device_features_sel == 1 ? (uint32_t)(d->device_features >> 32) : 0;
	case VIRTIO_MMIO_QUEUE_NUM_MAX: return q ? q->num_max : 0;
	case VIRTIO_MMIO_QUEUE_READY: return q ? q->ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS: return d->interrupt_status;
	case VIRTIO_MMIO_STATUS: return d->status;
	case VIRTIO_MMIO_CONFIG_GENERATION: return d->config_generation;
	default:
		virtio_mmio_log(d, "read of unknown or write-only register 0x%llx", (unsigned long long)offset);
		return 0;
	}
}

/* Queue registers may change only while the queue is not ready (4.2.2.2). */
static struct virtq *writable_queue(struct virtio_mmio_dev *d, const char *reg)
{
	struct virtq *q = selected_queue(d);
	if (!q)
		virtio_mmio_log(d, "%s for queue %u, which does not exist", reg, d->queue_sel);
	else if (q->ready) {
		virtio_mmio_log(d, "%s for queue %u while it is ready: ignored", reg, d->queue_sel);
		return NULL;
	}
	return q;
}

static void set_half(uint64_t *v, bool high, uint32_t value)
{
	*v = high ? (*v & 0xffffffffULL) | ((uint64_t)value << 32) : (*v & ~0xffffffffULL) | value;
}

static void write_status(struct virtio_mmio_dev *d, uint32_t value)
{
	if (value == 0) {
		reset_device(d);
		return;
	}
	if (d->failed)
		return;
	if ((value & VIRTIO_CONFIG_S_FEATURES_OK) && !(d->status & VIRTIO_CONFIG_S_FEATURES_OK)) {
		/* the driver may only accept what was offered, and must speak virtio 1 */
		if ((d->driver_features & ~d->device_features) || !(d->driver_features & (1ULL << VIRTIO_F_VERSION_1))) {
			virtio_mmio_log(d, "driver features 0x%llx are not a subset of 0x%llx with VERSION_1: refused",
					(unsigned long long)d->driver_features, (unsigned long long)d->device_features);
			value &= ~VIRTIO_CONFIG_S_FEATURES_OK;
		}
	}
	bool driver_ok = (value & VIRTIO_CONFIG_S_DRIVER_OK) && !(d->status & VIRTIO_CONFIG_S_DRIVER_OK);
	d->status = value;
	if (!driver_ok)
		return;
	if (!(value & VIRTIO_CONFIG_S_FEATURES_OK)) {
		virtio_mmio_fault(d, "DRIVER_OK without FEATURES_OK");
		return;
	}
	for (unsigned i = 0; i < d->ops->num_queues; i++) {
		struct virtq *q = &d->queues[i];
		if (!q->ready)
			continue;
		struct capsa_error err = { 0 };
		if (virtq_activate(q, d->mem, &err) < 0) {
			virtio_mmio_fault(d, "queue %u: %s", i, err.msg);
			return;
		}
	}
	if (d->ops->activate)
		d->ops->activate(d->dev);
}

static void write_reg(struct virtio_mmio_dev *d, uint64_t offset, uint32_t value)
{
	struct virtq *q;
	switch (offset) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL: d->device_features_sel = value; return;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if (d->status & VIRTIO_CONFIG_S_FEATURES_OK)
			virtio_mmio_log(d, "driver features written after FEATURES_OK: ignored");
		else if (d->driver_features_sel <= 1)
			set_half(&d->driver_features, d->driver_features_sel, value);
		return;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL: d->driver_features_sel = value; return;
	case VIRTIO_MMIO_QUEUE_SEL: d->queue_sel = value; return;
	case VIRTIO_MMIO_QUEUE_NUM:
		if ((q = writable_queue(d, "QueueNum"))) {
			/* checked when the queue is made ready: a power of two up to QueueNumMax */
			q->num = value > 0xffff ? 0 : (uint16_t)value;
		}
		return;
	case VIRTIO_MMIO_QUEUE_READY:
		if (!(q = selected_queue(d)))
			return virtio_mmio_log(d, "QueueReady for queue %u, which does not exist", d->queue_sel);
		if (value & 1) {
			q->ready = true;
			/* checked now so the fault points at the queue, and again at DRIVER_OK */
			struct capsa_error err = { 0 };
			if (virtq_activate(q, d->mem, &err) < 0)
				virtio_mmio_fault(d, "queue %u: %s", d->queue_sel, err.msg);
			q->active = false;   /* processing starts at DRIVER_OK */
		} else {
			q->ready = false;
			q->active = false;
		}
		return;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		if (value >= d->ops->num_queues)
			return virtio_mmio_log(d, "notify for queue %u, which does not exist", value);
		if (virtio_mmio_running(d) && d->queues[value].active)
			d->ops->queue_notify(d->dev, value);
		return;
	case VIRTIO_MMIO_INTERRUPT_ACK: d->interrupt_status &= ~value; return;
	case VIRTIO_MMIO_STATUS: write_status(d, value); return;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		if ((q = writable_queue(d, "QueueDesc")))
			set_half(&q->desc_gpa, offset == VIRTIO_MMIO_QUEUE_DESC_HIGH, value);
		return;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
		if ((q = writable_queue(d, "QueueDriver")))
			set_half(&q->avail_gpa, offset == VIRTIO_MMIO_QUEUE_AVAIL_HIGH, value);
		return;
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		if ((q = writable_queue(d, "QueueDevice")))
			set_half(&q->used_gpa, offset == VIRTIO_MMIO_QUEUE_USED_HIGH, value);
		return;
	default:
		virtio_mmio_log(d, "write of unknown or read-only register 0x%llx", (unsigned long long)offset);
	}
}

void virtio_mmio_read(struct virtio_mmio_dev *d, uint64_t offset, void *data, unsigned len)
{
	memset(data, 0, len);
	pthread_mutex_lock(&d->lock);
	if (offset >= MMIO_CONFIG) {
		uint64_t off = offset - MMIO_CONFIG;
		if ((len == 1 || len == 2 || len == 4 || len == 8) && off < d->ops->config_size &&
		    len <= d->ops->config_size - off)
			memcpy(data, (const uint8_t *)d->ops->config(d->dev) + off, len);
		else
			virtio_mmio_log(d, "config read of %u bytes at 0x%llx is outside its %u bytes", len,
					(unsigned long long)off, d->ops->config_size);
	} else if (len == 4 && offset % 4 == 0) {
		uint32_t v = read_reg(d, offset);
		memcpy(data, &v, 4);
	} else {
		virtio_mmio_log(d, "register read of %u bytes at 0x%llx: registers are 32-bit aligned", len,
				(unsigned long long)offset);
	}
	pthread_mutex_unlock(&d->lock);
}

void virtio_mmio_write(struct virtio_mmio_dev *d, uint64_t offset, const void *data, unsigned len)
{
	pthread_mutex_lock(&d->lock);
	if (offset >= MMIO_CONFIG) {
		/* no device here has writable config fields */
		virtio_mmio_log(d, "config write of %u bytes at 0x%llx: ignored", len, (unsigned long long)(offset - MMIO_CONFIG));
	} else if (len == 4 && offset % 4 == 0) {
		uint32_t v;
		memcpy(&v, data, 4);
		write_reg(d, offset, v);
	} else {
		virtio_mmio_log(d, "register write of %u bytes at 0x%llx: registers are 32-bit aligned", len,
				(unsigned long long)offset);
	}
	pthread_mutex_unlock(&d->lock);
}

void virtio_mmio_notify(struct virtio_mmio_dev *d, unsigned q)
{
	pthread_mutex_lock(&d->lock);
	if (q < d->ops->num_queues && virtio_mmio_running(d) && d->queues[q].active)
		d->ops->queue_notify(d->dev, q);
	pthread_mutex_unlock(&d->lock);
}
