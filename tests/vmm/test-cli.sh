#!/bin/sh
# capsa-vmm's command line and its errors, on any host (no guest is booted):
# usage errors exit 2, a missing or unusable KVM exits 1 with a message that
# says so.
# usage: test-cli.sh CAPSA_VMM KERNEL
set -u
vmm=$1 kernel=$2
fails=0
expect() {   # expect STATUS TEXT -- ARGS...
	want=$1 text=$2
	shift 3
	out=$("$vmm" "$@" 2>&1); rc=$?
	case "$rc:$out" in
	"$want":*"$text"*) echo "ok: capsa-vmm $*: $rc: $(echo "$out" | head -n 1)";;
	*) echo "FAIL: capsa-vmm $*: status $rc (want $want), output: $out"; fails=$((fails + 1));;
	esac
}
expect 0 "usage: capsa-vmm" -- --help
expect 2 "--kernel is required" --
expect 2 "--cpus" -- --kernel "$kernel" --cpus 9
expect 2 "--cpus" -- --kernel "$kernel" --cpus 0
expect 2 "--memory" -- --kernel "$kernel" --memory lots
expect 2 "needs --cid" -- --kernel "$kernel" --vsock-socket /tmp/x.sock
expect 2 "reserved" -- --kernel "$kernel" --vsock-socket /tmp/x.sock --cid 2
expect 1 "does not exist: this machine has no KVM" -- --kernel "$kernel" --kvm-device /nonexistent/kvm --console none
expect 1 "speaks KVM API" -- --kernel "$kernel" --kvm-device /dev/null --console none
if [ -e /dev/kvm ] && ! grep -qwE 'vmx|svm' /proc/cpuinfo; then
	# a PVM host like the project's build machines: /dev/kvm, but no hardware virtualization
	expect 1 "no vmx or svm flag" -- --kernel "$kernel" --console none
fi
[ $fails = 0 ]
