#!/bin/bash
# capsa's runc-compatible lifecycle, driven with the CLI against a bundle, checking state at each step,
# plus bad bundles and killed shims/hypervisors; every case checks that nothing is left behind.
# usage: test-oci-lifecycle.sh CAPSA MAKE_ROOTFS CASE
set -u
capsa=$(realpath "$1") make_rootfs=$(realpath "$2") case=$3
work=$(mktemp -d /tmp/capsa-lc.XXXXXX)
root=$work/root
C() { "$capsa" --root "$root" "$@"; }
fail() { echo "FAIL: $*"; [ -f "$work/err" ] && echo "stderr: $(cat "$work/err")"; exit 1; }

# every process whose command line mentions this test's directory (shims, QEMU, virtiofsd)
ours() {
	for p in /proc/[0-9]*; do
		tr '\0' ' ' < "$p/cmdline" 2>/dev/null | grep -q "$work" && echo "${p#/proc/}"
	done
}
cleanup() {
	for id in $(C list -q 2>/dev/null); do C delete --force "$id" > /dev/null 2>&1; done
	for pid in $(ours); do kill -9 "$pid" 2> /dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT

nothing_left() {
	local left
	for i in $(seq 50); do left=$(ours); [ -z "$left" ] && break; sleep 0.1; done
	[ -z "$left" ] || fail "processes left: $(for p in $left; do tr '\0' ' ' < /proc/$p/cmdline; echo; done)"
	[ -z "$(ls -A "$root" 2>/dev/null)" ] || fail "state left under $root: $(ls -A "$root")"
	! grep -q "$work" /proc/self/mountinfo || fail "mounts left: $(grep "$work" /proc/self/mountinfo)"
}

# a bundle whose process runs "$@"
bundle() {
	local dir=$1; shift
	mkdir -p "$dir"
	[ -d "$work/rootfs" ] || "$make_rootfs" "$work/rootfs" || fail "rootfs"
	ln -sfn "$work/rootfs" "$dir/rootfs"
	(cd "$dir" && "$capsa" spec) || fail "capsa spec"
	python3 - "$dir/config.json" "$@" <<'PY'
import json, sys
path, args = sys.argv[1], sys.argv[2:]
d = json.load(open(path))
d["process"]["args"] = args
d["process"]["terminal"] = False
d["root"]["readonly"] = False
json.dump(d, open(path, "w"))
PY
}

status_of() { C state "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])'; }
expect_status() {
	local got
	got=$(status_of "$1") || fail "state $1 failed"
	[ "$got" = "$2" ] || fail "$1: status '$got', expected '$2'"
}

case $case in
lifecycle)
	bundle "$work/b" sh -c 'trap "exit 42" TERM; echo started; while true; do sleep 0.1; done'
	C create --bundle "$work/b" --pid-file "$work/pid" c1 < /dev/null > "$work/out" 2> "$work/err" || fail "create"
	expect_status c1 created
	pid=$(cat "$work/pid")
	[ "$(C state c1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')" = "$pid" ] || fail "state pid != pid file"
	tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q capsa-shim || fail "pid file does not name capsa-shim"
	C list -q | grep -qx c1 || fail "list -q"
	C list --format json | python3 -c 'import json,sys; l=json.load(sys.stdin); assert l[0]["id"]=="c1" and l[0]["status"]=="created", l' || fail "list json"
	C start c1 2> "$work/err" || fail "start"
	expect_status c1 running
	C start c1 2> "$work/err" && fail "a second start succeeded"
	C ps --format json c1 | python3 -c 'import json,sys; p=json.load(sys.stdin); assert len(p) >= 1, p' || fail "ps"
	C pause c1 || fail "pause"
	expect_status c1 paused
	C exec c1 true 2> "$work/err" && fail "exec into a paused container succeeded"
	C resume c1 || fail "resume"
	expect_status c1 running
	out=$(C exec c1 sh -c 'echo exec-out; exit 4'); code=$?
	[ "$out" = "exec-out" ] && [ $code = 4 ] || fail "exec: '$out' $code"
	C exec --detach --pid-file "$work/epid" c1 sleep 1000 || fail "exec --detach"
	[ -d "/proc/$(cat "$work/epid")" ] || fail "exec --detach left no process"
	C delete c1 2> "$work/err" && fail "delete of a running container succeeded without --force"
	C kill c1 BOGUS 2> "$work/err" && fail "unknown signal accepted"
	grep -q "unknown signal 'BOGUS'" "$work/err" || fail "signal error: $(cat "$work/err")"
	C kill c1 TERM || fail "kill TERM"
	for i in $(seq 100); do [ "$(status_of c1)" = stopped ] && break; sleep 0.1; done
	expect_status c1 stopped
	grep -q started "$work/out" || fail "container output missing: $(cat "$work/out")"
	C delete c1 || fail "delete"
	C state c1 2> /dev/null && fail "state after delete"
	nothing_left
	;;
run_exit_code)
	bundle "$work/b" sh -c 'echo out; echo err >&2; uname -r; exit 3'
	C run --bundle "$work/b" r1 > "$work/out" 2> "$work/err" < /dev/null; code=$?
	[ $code = 3 ] || fail "exit code $code"
	[ "$(head -1 "$work/out")" = out ] || fail "stdout: $(cat "$work/out")"
	grep -qx err "$work/err" || fail "stderr: $(cat "$work/err")"
	[ "$(sed -n 2p "$work/out")" != "$(uname -r)" ] || fail "uname -r shows the host kernel"
	nothing_left
	;;
delete_force_any_state)
	bundle "$work/b" sleep 1000
	C create --bundle "$work/b" d1 < /dev/null || fail "create d1"
	C delete --force d1 || fail "delete --force of a created container"
	C run -d --bundle "$work/b" d2 < /dev/null || fail "run -d"
	expect_status d2 running
	C pause d2 || fail "pause"
	C delete --force d2 || fail "delete --force of a paused container"
	nothing_left
	;;
bad_bundles)
	bundle "$work/good" true
	check_error() {   # expected message, then the capsa arguments
		local want=$1; shift
		C "$@" > /dev/null 2> "$work/err" < /dev/null && fail "'$*' succeeded"
		grep -qF "$want" "$work/err" || fail "'$*': expected '$want' in: $(cat "$work/err")"
	}
	check_error "bundle '$work/missing'" create --bundle "$work/missing" x1
	mkdir "$work/noconfig"
	check_error "$work/noconfig/config.json" create --bundle "$work/noconfig" x2
	mkdir -p "$work/dirconfig/config.json"
	check_error "$work/dirconfig/config.json" create --bundle "$work/dirconfig" x3
	mkdir "$work/malformed" && echo '{"ociVersion": "1.0.2", ' > "$work/malformed/config.json"
	check_error "malformed JSON" create --bundle "$work/malformed" x4
	mkdir "$work/norootfs" && sed 's|"path": *"rootfs"|"path": "nonexistent"|' "$work/good/config.json" > "$work/norootfs/config.json"
	check_error "is not a directory" create --bundle "$work/norootfs" x5
	mkdir "$work/version" && sed 's|"ociVersion": *"[^"]*"|"ociVersion": "2.0.0"|' "$work/good/config.json" > "$work/version/config.json"
	ln -s "$work/rootfs" "$work/version/rootfs"
	check_error "unsupported ociVersion '2.0.0'" create --bundle "$work/version" x6
	check_error "invalid container id" create --bundle "$work/good" "../escape"
	nothing_left
	C create --bundle "$work/good" dup < /dev/null || fail "create dup"
	check_error "container 'dup' already exists" create --bundle "$work/good" dup
	C delete --force dup || fail "delete dup"
	nothing_left
	;;
resources)
	# 2 CPUs of quota and 128 MiB: the VM grows by both, the guest cgroup enforces them, the host cgroup holds the shim
	bundle "$work/b" sh -c 'nproc; grep MemTotal /proc/meminfo; g=/sys/fs/cgroup$(cut -d: -f3 /proc/self/cgroup); cat $g/memory.max $g/cpu.max $g/pids.max'
	python3 - "$work/b/config.json" "$work" <<'PY'
import json, os, sys
path = sys.argv[1]
d = json.load(open(path))
d["linux"]["resources"] = {"memory": {"limit": 128 << 20}, "cpu": {"quota": 200000, "period": 100000}, "pids": {"limit": 100}}
d["linux"]["cgroupsPath"] = "/capsa-test/" + os.path.basename(sys.argv[2])
d["linux"]["namespaces"] = [n for n in d["linux"]["namespaces"] if n["type"] != "cgroup"]
json.dump(d, open(path, "w"))
PY
	C run --bundle "$work/b" res1 > "$work/out" 2> "$work/err" < /dev/null || fail "run: $(cat "$work/out")"
	want=3; [ "$(nproc)" -lt 3 ] && want=$(nproc)   # default 1 + 2 of quota, capped at the host's CPUs
	[ "$(sed -n 1p "$work/out")" = "$want" ] || fail "nproc: $(cat "$work/out"), expected $want"
	mem=$(sed -n 2p "$work/out" | awk '{print $2}')
	[ "$mem" -gt $(( (256 + 100) * 1024 )) ] || fail "guest memory $mem kB is not default + limit"
	grep -qx 134217728 "$work/out" || fail "memory.max in the guest: $(cat "$work/out")"
	grep -qx "200000 100000" "$work/out" || fail "cpu.max in the guest: $(cat "$work/out")"
	grep -qx 100 "$work/out" || fail "pids.max in the guest: $(cat "$work/out")"
	# while one runs, its shim is in the host cgroup named by cgroupsPath
	bundle "$work/b2" sleep 1000
	python3 - "$work/b2/config.json" "$work" <<'PY'
import json, os, sys
d = json.load(open(sys.argv[1]))
d["linux"]["cgroupsPath"] = "/capsa-test/" + os.path.basename(sys.argv[2])
json.dump(d, open(sys.argv[1], "w"))
PY
	C run -d --bundle "$work/b2" res2 < /dev/null || fail "run -d"
	shim=$(C state res2 | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
	grep -q "/capsa-test/$(basename "$work")" "/proc/$shim/cgroup" || fail "shim cgroups: $(cat /proc/$shim/cgroup)"
	qemu=$(pgrep -P "$shim" -f qemu-system)
	grep -q "/capsa-test/$(basename "$work")" "/proc/$qemu/cgroup" || fail "QEMU is not in the container's cgroup"
	C delete --force res2 || fail "delete"
	for d in /sys/fs/cgroup/*/capsa-test/"$(basename "$work")" /sys/fs/cgroup/capsa-test/"$(basename "$work")"; do
		[ -e "$d" ] && fail "host cgroup $d left behind"
	done
	rmdir /sys/fs/cgroup/*/capsa-test /sys/fs/cgroup/capsa-test 2>/dev/null
	nothing_left
	;;
killed_hypervisor)
	bundle "$work/b" sleep 1000
	C run -d --bundle "$work/b" k1 < /dev/null || fail "run -d"
	shim=$(C state k1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
	qemu=$(pgrep -P "$shim" -f qemu-system) || fail "no QEMU under the shim"
	kill -9 "$qemu"
	for i in $(seq 100); do [ "$(status_of k1)" = stopped ] && break; sleep 0.1; done
	expect_status k1 stopped
	C delete k1 || fail "delete after the hypervisor died"
	nothing_left
	;;
killed_shim)
	bundle "$work/b" sleep 1000
	C run -d --bundle "$work/b" k2 < /dev/null || fail "run -d"
	shim=$(C state k2 | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
	kill -9 "$shim"
	for i in $(seq 50); do [ "$(status_of k2)" = stopped ] && break; sleep 0.1; done
	expect_status k2 stopped
	C delete k2 || fail "delete after the shim died"
	nothing_left
	;;
*)
	fail "unknown case $case"
	;;
esac
echo "ok: $case"
