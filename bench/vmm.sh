#!/bin/sh
# capsa-vmm against QEMU (microvm, -accel kvm) inside the nested lab's L1:
# time from process start to L2's /init (the agent's first console line) and
# to the agent answering Check, medians of 5 runs taken side by side
# (alternating) in one L1; RSS outside guest RAM from /proc/PID/smaps once
# the agent is up; binary sizes. Same kernel (vmlinux), initrd, command line,
# 1 vCPU and 256 MiB for both; the agent on a virtio-serial port for both.
# usage: bench/vmm.sh [BUILD_DIR]     (takes a few minutes: L1 runs under TCG)
set -eu
build=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
out=$(mktemp /tmp/capsa-bench-vmm.XXXXXX)
trap 'rm -f "$out"' EXIT
if ! "$here/tests/lab/run-lab.sh" "$build" "$here" bench > "$out" 2>&1; then
	cat "$out"
	echo "bench/vmm.sh: the lab run failed" >&2
	exit 1
fi
grep '^lab:' "$out" || true
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "n/a" }'; }
field() { grep "^bench: vmm=$1 " "$out" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
printf '%-10s %14s %16s %14s %16s\n' vmm "to /init (ms)" "to Check (ms)" "RSS (KiB)" "overhead (KiB)"
for vmm in capsa qemu; do
	printf '%-10s %14s %16s %14s %16s\n' "$vmm" "$(field $vmm to_init_ms | median)" "$(field $vmm to_check_ms | median)" \
		"$(field $vmm rss_kib | median)" "$(field $vmm overhead_kib | median)"
done
echo "runs: $(grep -c '^bench: vmm=capsa' "$out") each, medians shown"
grep '^size:' "$out"
grep '^bench:' "$out"
