#!/bin/sh
# Builds the capsa guest kernel from Debian's linux-source-6.1.
# usage: build.sh OUTDIR
# The result is cached in OUTDIR and rebuilt only when the fragment, this
# script or the source package changes.
set -eu
out=$(realpath -m "$1")
here=$(cd "$(dirname "$0")" && pwd)
tarball=/usr/src/linux-source-6.1.tar.xz
[ -r "$tarball" ] || { echo "build.sh: $tarball missing: apt-get install linux-source-6.1" >&2; exit 1; }

key=$( { cat "$here/capsa.config" "$here/build.sh"; dpkg-query -W -f='${Version}' linux-source-6.1; } | sha256sum | cut -d' ' -f1)
if [ -f "$out/stamp" ] && [ "$(cat "$out/stamp")" = "$key" ] && [ -f "$out/vmlinux" ] && [ -f "$out/bzImage" ]; then
	exit 0
fi

mkdir -p "$out"
src="$out/linux-source-6.1"
if [ ! -d "$src" ]; then
	echo "guest kernel: unpacking $tarball"
	tar -C "$out" -xf "$tarball"
fi
echo "guest kernel: configuring (tinyconfig + capsa.config)"
make -s -C "$src" ARCH=x86_64 tinyconfig >/dev/null
"$src/scripts/kconfig/merge_config.sh" -m -O "$src" "$src/.config" "$here/capsa.config" >/dev/null
make -s -C "$src" ARCH=x86_64 olddefconfig >/dev/null
# every requested option must have survived olddefconfig
missing=$(grep '^CONFIG_' "$here/capsa.config" | while read -r line; do
	grep -qx "$line" "$src/.config" || echo "$line"
done)
if [ -n "$missing" ]; then
	echo "build.sh: these options did not take effect:" >&2
	echo "$missing" >&2
	exit 1
fi
echo "guest kernel: building with $(nproc) jobs"
start=$(date +%s)
make -s -C "$src" ARCH=x86_64 -j"$(nproc)" vmlinux bzImage
echo "guest kernel: built in $(( $(date +%s) - start )) s"
cp "$src/vmlinux" "$out/vmlinux.tmp" && mv "$out/vmlinux.tmp" "$out/vmlinux"
cp "$src/arch/x86/boot/bzImage" "$out/bzImage.tmp" && mv "$out/bzImage.tmp" "$out/bzImage"
cp "$src/.config" "$out/config"
echo "$key" > "$out/stamp"
