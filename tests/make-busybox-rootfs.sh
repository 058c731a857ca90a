#!/bin/sh
# Makes a container root filesystem from Debian's static busybox.
# usage: make-busybox-rootfs.sh DIR
set -eu
dir=$1
busybox=/bin/busybox   # from busybox-static
if ! "$busybox" --list >/dev/null 2>&1; then
	echo "make-busybox-rootfs.sh: no static busybox: apt-get install busybox-static" >&2
	exit 1
fi
mkdir -p "$dir/bin" "$dir/proc" "$dir/sys" "$dir/dev" "$dir/etc" "$dir/tmp" "$dir/root"
cp "$busybox" "$dir/bin/busybox"
for applet in $("$busybox" --list); do
	[ "$applet" = busybox ] || ln -sf busybox "$dir/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$dir/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$dir/etc/group"
chmod 1777 "$dir/tmp"
