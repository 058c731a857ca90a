#!/bin/sh
# capsa env, capsa check and the configuration lookup, driven as a user would.
# usage: test-config-cli.sh CAPSA_BINARY CONFIG_SOURCE_DIR CASE
set -u
capsa=$1 src=$2 case=$3
work=$(mktemp -d /tmp/capsa-cli-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# the shipped templates, with @DATADIR@ pointing at stand-in guest files: env and check boot nothing
mkdir -p "$work/share" "$work/defaults"
for f in vmlinux bzImage capsa-initrd.img; do echo stand-in > "$work/share/$f"; done
for hv in qemu clh fc acrn builtin; do
	sed -e "s|@DATADIR@|$work/share|g" -e "s|@BINDIR@|/usr/local/bin|g" -e "s|@DEFAULTSDIR@|$work/defaults|g" \
		"$src/configuration-$hv.toml.in" > "$work/defaults/configuration-$hv.toml"
done
ln -s configuration-qemu.toml "$work/defaults/configuration.toml"
export CAPSA_CONF_FILE="$work/defaults/configuration.toml"

hypervisor_path() { "$capsa" env | awk -v RS= '/\[Hypervisor\]/' | grep Path; }

case $case in
symlink_switch)
	out=$(hypervisor_path) || fail "capsa env failed"
	[ "$out" = '  Path = "/usr/bin/qemu-system-x86_64"' ] || fail "qemu: got '$out'"
	for pair in fc:/usr/bin/firecracker clh:/usr/bin/cloud-hypervisor acrn:/usr/bin/acrn-dm builtin:/usr/local/bin/capsa-vmm; do
		ln -sfn "configuration-${pair%%:*}.toml" "$work/defaults/configuration.toml"
		out=$(hypervisor_path) || fail "capsa env failed for ${pair%%:*}"
		[ "$out" = "  Path = \"${pair#*:}\"" ] || fail "${pair%%:*}: got '$out'"
	done
	;;
env_json)
	"$capsa" env --json > "$work/env.json" || fail "capsa env --json failed"
	python3 - "$work/env.json" "$work" <<'PY' || fail "JSON content"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["Hypervisor"]["Path"] == "/usr/bin/qemu-system-x86_64", d["Hypervisor"]
assert d["Hypervisor"]["SharedFS"] == "virtio-fs"
assert d["Hypervisor"]["Version"].startswith("QEMU emulator version"), d["Hypervisor"]["Version"]
assert d["Kernel"]["Path"] == sys.argv[2] + "/share/vmlinux"
assert d["Runtime"]["Config"]["Path"].endswith("/defaults/configuration.toml")
for section in ("Meta", "Runtime", "Hypervisor", "Image", "Kernel", "Initrd", "Agent", "Host"):
    assert section in d, section
assert d["Host"]["Architecture"] == "amd64"
assert isinstance(d["Host"]["VMContainerCapable"], bool)
PY
	;;
lookup_order)
	printf '[hypervisor.qemu]\nkernel = "%s"\ninitrd = "%s"\ndefault_memory = 777\n' "$work/share/vmlinux" "$work/share/capsa-initrd.img" > "$work/explicit.toml"
	"$capsa" --config "$work/explicit.toml" env | grep -q 'DefaultMemory = 777' || fail "--config not used before CAPSA_CONF_FILE"
	"$capsa" env | grep -q 'DefaultMemory = 256' || fail "CAPSA_CONF_FILE not used"
	paths=$("$capsa" --config "$work/explicit.toml" --show-default-config-paths | tr '\n' ' ')
	[ "$paths" = "$work/explicit.toml $CAPSA_CONF_FILE /etc/capsa/configuration.toml /usr/local/share/defaults/capsa/configuration.toml " ] ||
		[ "$paths" = "$work/explicit.toml $CAPSA_CONF_FILE /etc/capsa/configuration.toml $(dirname "$(dirname "$capsa")")/share/defaults/capsa/configuration.toml " ] ||
		case "$paths" in "$work/explicit.toml $CAPSA_CONF_FILE /etc/capsa/configuration.toml "*/share/defaults/capsa/configuration.toml" ") ;; *) fail "paths: $paths";; esac
	# a drop-in beside the chosen file is merged on top
	mkdir "$work/defaults/config.d"
	printf '[hypervisor.qemu]\ndefault_memory = 1024\n' > "$work/defaults/config.d/50-memory.toml"
	"$capsa" env | grep -q 'DefaultMemory = 1024' || fail "config.d drop-in not merged"
	CAPSA_CONF_FILE=/nonexistent/capsa.toml "$capsa" env > /dev/null 2> "$work/err" && fail "a missing CAPSA_CONF_FILE was accepted"
	grep -q '/nonexistent/capsa.toml' "$work/err" || fail "missing file not named: $(cat "$work/err")"
	;;
bad_files)
	file="$work/defaults/configuration-qemu.toml"
	shown=$CAPSA_CONF_FILE   # errors name the file as it was found (the symlink)
	cp "$file" "$work/good.toml"
	sed -i 's/^shared_fs = .*/shared_fs = "nfs"/' "$file"
	line=$(grep -n '^shared_fs' "$file" | cut -d: -f1)
	"$capsa" env > /dev/null 2> "$work/err" && fail "shared_fs = nfs accepted"
	grep -q "$shown:$line: hypervisor.qemu.shared_fs = \"nfs\" is not allowed (allowed: \"virtio-fs\", \"virtio-9p\", \"none\")" "$work/err" ||
		fail "message: $(cat "$work/err")"
	"$capsa" check > /dev/null 2>&1 && fail "check passed with a bad file"
	cp "$work/good.toml" "$file"
	sed -i 's/^default_memory = .*/default_memory = -512/' "$file"
	"$capsa" env > /dev/null 2> "$work/err" && fail "negative memory accepted"
	grep -q 'default_memory = -512 is out of range (allowed: 64 to 1048576)' "$work/err" || fail "message: $(cat "$work/err")"
	cp "$work/good.toml" "$file"
	sed -i 's|^path = .*|path = "/usr/bin/qemu-evil"|' "$file"
	"$capsa" env > /dev/null 2> "$work/err" && fail "path outside valid_hypervisor_paths accepted"
	grep -q 'path = "/usr/bin/qemu-evil": not in valid_hypervisor_paths' "$work/err" || fail "message: $(cat "$work/err")"
	cp "$work/good.toml" "$file"
	rm "$work/share/vmlinux"
	"$capsa" env > /dev/null 2> "$work/err" && fail "missing kernel accepted"
	grep -q "kernel = \"$work/share/vmlinux\": the guest kernel file does not exist" "$work/err" || fail "message: $(cat "$work/err")"
	echo stand-in > "$work/share/vmlinux"
	printf 'colour = "blue"\n' >> "$file"
	"$capsa" env > /dev/null 2> "$work/err" || fail "an unknown key is only a warning: $(cat "$work/err")"
	grep -q "warning: $shown:$(wc -l < "$file"): unknown key 'colour'" "$work/err" || fail "warning: $(cat "$work/err")"
	;;
check)
	"$capsa" check > "$work/out" 2>&1 || fail "qemu check failed: $(cat "$work/out")"
	grep -q 'capsa can run containers here with qemu' "$work/out" || fail "verdict: $(cat "$work/out")"
	"$capsa" check --verbose > "$work/out" 2>&1 || fail "verbose check failed"
	grep -q 'ok: *hypervisor /usr/bin/qemu-system-x86_64: QEMU emulator version' "$work/out" || fail "verbose: $(cat "$work/out")"
	grep -q '/dev/net/tun' "$work/out" || fail "no tun line"
	if ! grep -qE '^flags.* (vmx|svm)' /proc/cpuinfo; then
		grep -q 'TCG' "$work/out" || fail "no TCG note on a host without vmx/svm"
	fi
	ln -sfn configuration-fc.toml "$work/defaults/configuration.toml"
	if [ ! -x /usr/bin/firecracker ]; then
		"$capsa" check > "$work/out" 2>&1 && fail "firecracker check passed without firecracker"
		grep -q 'hypervisor binary /usr/bin/firecracker is not there' "$work/out" || fail "fc: $(cat "$work/out")"
		grep -q 'capsa cannot run containers here with firecracker' "$work/out" || fail "fc verdict: $(cat "$work/out")"
	fi
	;;
*)
	fail "unknown case $case"
	;;
esac
echo "ok: $case"
