/*
 * capsa-vmm: boots a kernel on capsa's built-in VMM by hand.
 * Exit status: 0 when the guest powers off or resets (capsa's guests reset
 * to power off) or on SIGTERM/SIGINT; 1 on an error; 2 on a usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "vmm/vmm.h"

/* one UART to probe, no PCI, the i8042 only for its reset line: each probe costs VM exits */
#define DEFAULT_CMDLINE "console=ttyS0 reboot=k panic=-1 pci=off 8250.nr_uarts=1 " \
	"i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: capsa-vmm --kernel PATH [OPTIONS]\n"
		"Boots a Linux guest on capsa's built-in KVM VMM.\n\n"
		"  --kernel PATH        vmlinux (PVH entry) or bzImage (64-bit boot protocol)\n"
		"  --initrd PATH        initial ramdisk (cpio, optionally compressed)\n"
		"  --cmdline STRING     kernel command line (default \"" DEFAULT_CMDLINE "\");\n"
		"                       virtio_mmio.device= entries for the devices are appended\n"
		"  --cpus N             vCPUs, 1 to %d (default 1)\n"
		"  --memory MIB         guest memory (default 256)\n"
		"  --console WHERE      the 8250 console: stdio (default), pty, none or a file path\n"
		"  --agent-socket PATH  virtio-console port \"agent.channel.0\" served on this unix socket\n"
		"  --vsock-socket PATH  virtio-vsock with hybrid vsock on this unix socket (needs --cid)\n"
		"  --cid N              the guest's vsock context id (3 or more)\n"
		"  --quiet              do not report how the VM ended or guest faults\n"
		"  --kvm-device PATH    KVM device (default /dev/kvm)\n"
		"  --help, --version\n\n"
		"Exits 0 when the guest powers off or resets (reboot=k or reboot=t), or on SIGTERM;\n"
		"1 on an error (no usable /dev/kvm, a bad kernel or initrd, a VM failure).\n",
		VMM_MAX_CPUS);
}

static int parse_number(const char *opt, const char *s, unsigned long long max, unsigned long long *ret)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || !*s || *end || v > max) {
		fprintf(stderr, "capsa-vmm: %s: '%s' is not a number up to %llu\n", opt, s, max);
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

static void log_stderr(void *opaque, const char *fmt, va_list ap)
{
	(void)opaque;
	char line[1024];
	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "capsa-vmm: %s\n", line);
}

static struct termios saved_termios;
static int raw_fd = -1;

static void restore_terminal(void)
{
	if (raw_fd >= 0)
		tcsetattr(raw_fd, TCSANOW, &saved_termios);
}

/* Raw input so the guest sees keys as typed; Ctrl-C still stops the VM. */
static void make_raw(int fd, bool keep_signals)
{
	struct termios t;
	if (tcgetattr(fd, &t) < 0)
		return;
	if (keep_signals) {
		saved_termios = t;
		raw_fd = fd;
		atexit(restore_terminal);
	}
	cfmakeraw(&t);
	if (keep_signals)
		t.c_lflag |= ISIG;
	tcsetattr(fd, TCSANOW, &t);
}

static int open_console(const char *where, int *ret_out, int *ret_in)
{
	*ret_out = *ret_in = -1;
	if (!strcmp(where, "none"))
		return 0;
	if (!strcmp(where, "stdio")) {
		*ret_out = STDOUT_FILENO;
		if (isatty(STDIN_FILENO)) {
			make_raw(STDIN_FILENO, true);
			*ret_in = STDIN_FILENO;
		} else {
			/* epoll takes pipes, sockets and devices, not regular files: those are not console input */
			struct stat st;
			*ret_in = fstat(STDIN_FILENO, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode) ? STDIN_FILENO : -1;
		}
		return 0;
	}
	if (!strcmp(where, "pty")) {
		int fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (fd < 0 || grantpt(fd) < 0 || unlockpt(fd) < 0) {
			fprintf(stderr, "capsa-vmm: opening a pty: %s\n", strerror(errno));
			return -errno;
		}
		make_raw(fd, false);
		fprintf(stderr, "capsa-vmm: console on %s\n", ptsname(fd));
		*ret_out = *ret_in = fd;
		return 0;
	}
	int fd = open(where, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0640);
	if (fd < 0) {
		fprintf(stderr, "capsa-vmm: --console: opening '%s': %s\n", where, strerror(errno));
		return -errno;
	}
	*ret_out = fd;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "kernel", required_argument, NULL, 'k' }, { "initrd", required_argument, NULL, 'i' },
		{ "cmdline", required_argument, NULL, 'c' }, { "cpus", required_argument, NULL, 'n' },
		{ "memory", required_argument, NULL, 'm' }, { "console", required_argument, NULL, 'C' },
		{ "agent-socket", required_argument, NULL, 'a' }, { "vsock-socket", required_argument, NULL, 'v' },
		{ "cid", required_argument, NULL, 'I' }, { "quiet", no_argument, NULL, 'q' },
		{ "kvm-device", required_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' }, { "version", no_argument, NULL, 'V' }, { 0 },
	};
	struct vmm_config cfg = { .cmdline = DEFAULT_CMDLINE, .cpus = 1, .memory_mib = 256, .stop_fd = -1,
				  .log = log_stderr };
	const char *console = "stdio";
	unsigned long long v;
	bool have_cid = false;
	int c;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'k': cfg.kernel = optarg; break;
		case 'i': cfg.initrd = optarg; break;
		case 'c': cfg.cmdline = optarg; break;
		case 'n':
			if (parse_number("--cpus", optarg, VMM_MAX_CPUS, &v) < 0)
				return 2;
			if (v == 0) {
				fprintf(stderr, "capsa-vmm: --cpus: a VM needs at least one vCPU\n");
				return 2;
			}
			cfg.cpus = (unsigned)v;
			break;
		case 'm':
			if (parse_number("--memory", optarg, 1 << 20, &v) < 0)
				return 2;
			cfg.memory_mib = (unsigned)v;
			break;
		case 'C': console = optarg; break;
		case 'a': cfg.agent_socket = optarg; break;
		case 'v': cfg.vsock_socket = optarg; break;
		case 'I':
			if (parse_number("--cid", optarg, UINT32_MAX - 1, &v) < 0)
				return 2;
			if (v < 3) {
				fprintf(stderr, "capsa-vmm: --cid: %llu is reserved; guest CIDs start at 3\n", v);
				return 2;
			}
			cfg.vsock_cid = v;
			have_cid = true;
			break;
		case 'q': cfg.log = NULL; break;
		case 'K': cfg.kvm_device = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("capsa-vmm %s\n", CAPSA_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc || !cfg.kernel || (cfg.vsock_socket && !have_cid)) {
		fprintf(stderr, "capsa-vmm: %s\n", optind < argc ? "unexpected argument" :
			!cfg.kernel ? "--kernel is required" : "--vsock-socket needs --cid");
		usage(stderr);
		return 2;
	}

	/* SIGTERM and SIGINT end the VM cleanly through the event loop */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGHUP);
	sigprocmask(SIG_BLOCK, &stop, NULL);
	_cleanup_close_ int sfd = signalfd(-1, &stop, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		fprintf(stderr, "capsa-vmm: signalfd: %s\n", strerror(errno));
		return 1;
	}
	cfg.stop_fd = sfd;
	signal(SIGPIPE, SIG_IGN);
	if (open_console(console, &cfg.console_out, &cfg.console_in) < 0)
		return 1;

	struct capsa_error err = { 0 };
	struct vmm *vmm = NULL;
	enum vmm_exit how = VMM_EXIT_ERROR;
	int r = vmm_create(&cfg, &vmm, &err);
	if (r == 0)
		r = vmm_run(vmm, &how, &err);
	vmm_free(vmm);
	if (r < 0) {
		fprintf(stderr, "capsa-vmm: %s\n", err.msg);
		return 1;
	}
	return 0;
}
