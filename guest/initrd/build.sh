#!/bin/sh
# Builds the guest initrd (cpio newc): capsa-agent as /init and the few
# directories and device nodes it needs before devtmpfs is mounted.
# usage: build.sh GEN_INIT_CPIO AGENT OUTPUT [BUSYBOX] [EXTRA_LIST]
# With BUSYBOX (a static busybox), the debug variant also gets /bin/sh and
# friends for poking around a guest by hand. EXTRA_LIST is more
# gen_init_cpio entries (the nested lab adds a container rootfs that way).
set -eu
gen=$1 agent=$2 out=$3 busybox=${4:-} extra=${5:-}
list=$(mktemp)
trap 'rm -f "$list" "$out.tmp"' EXIT
cat > "$list" <<LIST
dir /dev 0755 0 0
nod /dev/console 0600 0 0 c 5 1
nod /dev/null 0666 0 0 c 1 3
dir /proc 0555 0 0
dir /sys 0555 0 0
dir /run 0755 0 0
dir /tmp 01777 0 0
dir /etc 0755 0 0
file /init $agent 0755 0 0
LIST
if [ -n "$busybox" ]; then
	echo "dir /bin 0755 0 0" >> "$list"
	echo "file /bin/busybox $busybox 0755 0 0" >> "$list"
	for applet in sh ls cat ps mount dmesg ip; do
		echo "slink /bin/$applet busybox 0777 0 0" >> "$list"
	done
fi
[ -z "$extra" ] || cat "$extra" >> "$list"
"$gen" "$list" > "$out.tmp"
mv "$out.tmp" "$out"
