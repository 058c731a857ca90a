#!/bin/sh
# Boot time, side by side in one run (median of N, default 5):
#   bare   qemu-system-x86_64 -kernel vmlinux -initrd <cpio whose /init restarts at once>,
#          same machine, CPU, memory and kernel parameters: process start to QEMU exit
#   capsa  capsa-client: QEMU start (with virtiofsd, virtio-serial, rng) to the agent answering Check
# for microvm (capsa's default) and q35. Also the agent's RSS in the guest.
# usage: bench/boot.sh [BUILD_DIR] [RUNS]
set -eu
build=${1:-build}
runs=${2:-5}
kernel=$build/guest-kernel/vmlinux
initrd=$build/capsa-initrd.img
client=$build/src/client/capsa-client
gen=$build/guest-kernel/linux-source-6.1/usr/gen_init_cpio
work=$(mktemp -d /tmp/capsa-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

printf 'dir /dev 0755 0 0\nnod /dev/console 0600 0 0 c 5 1\nfile /init %s 0755 0 0\n' "$build/bench/bare-init" > "$work/list"
"$gen" "$work/list" > "$work/bare.cpio"
tests/make-busybox-rootfs.sh "$work/rootfs"

params="console=ttyS0 reboot=t panic=-1 tsc=reliable no_timer_check quiet"
ms() { echo $(( $(date +%s%N) / 1000000 )); }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

bare() {   # machine option
	start=$(ms)
	qemu-system-x86_64 -nodefaults -no-user-config -display none -machine "$1" -cpu max -m 256M \
		-object memory-backend-memfd,id=mem,size=256M,share=on -kernel "$kernel" -initrd "$work/bare.cpio" \
		-append "$params" -no-reboot -serial null
	echo $(( $(ms) - start ))
}
capsa() {   # machine type
	"$client" --kernel "$kernel" --initrd "$initrd" --rootfs "$work/rootfs" --machine "$1" --timing -- true 2>&1 |
		sed -n 's/.*hypervisor start to agent ready \([0-9]*\) ms.*/\1/p'
}

for m in microvm q35; do
	[ $m = microvm ] && opt="microvm,accel=tcg,acpi=off,rtc=off,memory-backend=mem" || opt="q35,accel=tcg,memory-backend=mem"
	: > "$work/bare-$m"; : > "$work/capsa-$m"
	i=0
	while [ $i -lt "$runs" ]; do   # interleaved, so drift hits both alike
		bare "$opt" >> "$work/bare-$m"
		capsa $m >> "$work/capsa-$m"
		i=$((i + 1))
	done
	b=$(median < "$work/bare-$m"); c=$(median < "$work/capsa-$m")
	echo "$m: bare QEMU boot to /init and exit ${b} ms; capsa QEMU start to agent Check ${c} ms;" \
		"overhead $((c - b)) ms (ratio $(echo "scale=2; $c / $b" | bc))" \
		"[bare: $(tr '\n' ' ' < "$work/bare-$m")] [capsa: $(tr '\n' ' ' < "$work/capsa-$m")]"
done

rss=$("$client" --kernel "$kernel" --initrd "$initrd" --rootfs "$work/rootfs" --guest-pid-ns --privileged -- \
	sh -c 'grep -E "^Rss:" /proc/1/smaps_rollup' | awk '{print $2, $3}')
echo "agent (guest PID 1) RSS: $rss"
echo "sizes: vmlinux $(stat -c %s "$kernel"), bzImage $(stat -c %s "$build/guest-kernel/bzImage"), initrd $(stat -c %s "$initrd"), agent (stripped) $(stat -c %s "$build/capsa-agent.stripped") bytes"
