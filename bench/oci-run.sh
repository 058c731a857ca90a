#!/bin/bash
# `RUNTIME run` of `true` end to end, side by side in one run: the OCI CLI directly on a
# busybox bundle (`RUNTIME --root R run --bundle B ID`, the default config.json of
# `runc spec` with process.args ["true"] and no terminal), for capsa, runc and runsc
# (gVisor). Runs are interleaved (capsa, runc, runsc, capsa, ...) so drift hits all
# alike; prints every sample, the medians and their ratios. A runtime that is not
# installed is skipped with a message; one whose run fails is reported and dropped.
#
# usage: bench/oci-run.sh [RUNS]             median of RUNS (default 10)
#        bench/oci-run.sh rss PID            VmRSS (/proc/PID/status) and Rss, Pss (smaps_rollup), kB
#        bench/oci-run.sh pss PID...         summed Pss of the PIDs (smaps_rollup), kB
#        . bench/oci-run.sh                  (bash) only defines the functions below
# env:   CAPSA=/usr/local/bin/capsa RUNC=/usr/sbin/runc RUNSC=/usr/bin/runsc
#        RUNSC_FLAGS="--network=none"  (runsc cannot bring up a sandbox network here)

# ---- memory of processes --------------------------------------------------------

# rss_kb PID: resident set size in kB, VmRSS from /proc/PID/status
rss_kb() {
	awk '$1 == "VmRSS:" {print $2; found = 1} END {exit !found}' "/proc/$1/status" 2>/dev/null
}

# rollup_kb PID FIELD: one field of /proc/PID/smaps_rollup in kB (Rss, Pss, Pss_Anon, Shared_Clean, ...)
rollup_kb() {
	awk -v f="$2:" '$1 == f {print $2; found = 1} END {exit !found}' "/proc/$1/smaps_rollup" 2>/dev/null
}

# rss_report PID: "VmRSS <kB> Rss <kB> Pss <kB>" (status and smaps_rollup agree on Rss, give or take
# pages that change between the two reads)
rss_report() {
	local vm rss pss
	vm=$(rss_kb "$1") && rss=$(rollup_kb "$1" Rss) && pss=$(rollup_kb "$1" Pss) || {
		echo "rss_report: no process $1 (or no access to its smaps_rollup)" >&2
		return 1
	}
	echo "VmRSS $vm Rss $rss Pss $pss"
}

# pss_sum_kb PID...: the summed proportional set size of the processes, in kB: pages shared
# between them (one QEMU binary, one shim) count once in total, unlike summed RSS
pss_sum_kb() {
	local sum=0 pid pss
	for pid; do
		pss=$(rollup_kb "$pid" Pss) || { echo "pss_sum_kb: no process $pid" >&2; return 1; }
		sum=$((sum + pss))
	done
	echo "$sum"
}

# ---- the run benchmark ----------------------------------------------------------

ms_now() { echo $(($(date +%s%N) / 1000000)); }
median() { sort -n | awk '{a[NR] = $1} END {if (NR) print a[int((NR + 1) / 2)]}'; }

# bench_bundle DIR: busybox rootfs and config.json (runc spec's defaults, process `true`)
bench_bundle() {
	local dir=$1 here
	mkdir -p "$dir" || return 1
	here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	"$here/../tests/make-busybox-rootfs.sh" "$dir/rootfs" || return 1
	cat > "$dir/config.json" <<-'EOF'
	{"ociVersion": "1.0.2-dev",
	 "process": {"terminal": false, "user": {"uid": 0, "gid": 0}, "args": ["true"],
	  "env": ["PATH=/bin", "TERM=xterm"], "cwd": "/",
	  "capabilities": {"bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
	   "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
	   "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
	   "ambient": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]},
	  "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}], "noNewPrivileges": true},
	 "root": {"path": "rootfs", "readonly": true},
	 "hostname": "bench",
	 "mounts": [
	  {"destination": "/proc", "type": "proc", "source": "proc"},
	  {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
	  {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
	  {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
	  {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
	  {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
	  {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}],
	 "linux": {"resources": {"devices": [{"allow": false, "access": "rwm"}]},
	  "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}],
	  "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
	   "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
	  "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]}}
	EOF
}

# one_run NAME: time one `run` of the bundle, append ms to $work/NAME.ms; non-zero if it failed
one_run() {
	local name=$1 bin flags t0 t1 rc
	bin=${BIN[$name]} flags=${FLAGS[$name]}
	N=$((N + 1))
	t0=$(ms_now)
	# shellcheck disable=SC2086
	timeout -k 5 120 "$bin" --root "$work/root-$name" $flags run --bundle "$work/bundle" "bench-$name-$$-$N" \
		< /dev/null > "$work/$name.out" 2>&1
	rc=$?
	t1=$(ms_now)
	[ $rc = 0 ] || return $rc
	echo $((t1 - t0)) >> "$work/$name.ms"
}

bench_main() {
	local runs=${1:-10} name i rc
	case $runs in '' | *[!0-9]*) echo "usage: $0 [RUNS] | rss PID | pss PID..." >&2; return 2 ;; esac
	[ "$(id -u)" = 0 ] || { echo "oci-run.sh: needs root (the runtimes create namespaces and cgroups)" >&2; return 1; }
	declare -gA BIN FLAGS
	BIN=([capsa]=${CAPSA:-/usr/local/bin/capsa} [runc]=${RUNC:-/usr/sbin/runc} [runsc]=${RUNSC:-/usr/bin/runsc})
	FLAGS=([capsa]="" [runc]="" [runsc]=${RUNSC_FLAGS---network=none})
	work=$(mktemp -d /tmp/capsa-oci-run.XXXXXX) || return 1
	trap 'bench_cleanup' EXIT
	trap 'exit 130' INT TERM
	bench_bundle "$work/bundle" || return 1
	N=0
	local order=()
	for name in capsa runc runsc; do
		if [ ! -x "${BIN[$name]}" ]; then
			case $name in
			capsa) echo "skip capsa: ${BIN[capsa]} is not installed (make install)" ;;
			runc) echo "skip runc: ${BIN[runc]} is not installed (apt-get install runc)" ;;
			runsc) echo "skip runsc: ${BIN[runsc]} is not installed (apt-get install runsc)" ;;
			esac
			continue
		fi
		# one warm-up run each, not counted (page cache, first-use setup)
		one_run "$name"; rc=$?
		if [ $rc != 0 ]; then
			echo "skip $name: its run failed (exit $rc): $(tr '\n' ' ' < "$work/$name.out" | cut -c1-300)"
			continue
		fi
		: > "$work/$name.ms"
		order+=("$name")
	done
	[ ${#order[@]} -gt 0 ] || { echo "no runtime to measure"; return 1; }
	echo "run --rm of 'true' on a busybox bundle, median of $runs, interleaved: ${order[*]}"
	for ((i = 0; i < runs; i++)); do
		for name in "${order[@]}"; do
			one_run "$name" || { echo "$name: run $((i + 1)) failed: $(tr '\n' ' ' < "$work/$name.out" | cut -c1-300)"; return 1; }
		done
	done
	declare -A MED
	for name in "${order[@]}"; do
		MED[$name]=$(median < "$work/$name.ms")
		printf '%-6s median %6s ms   samples: %s\n' "$name" "${MED[$name]}" "$(tr '\n' ' ' < "$work/$name.ms")"
	done
	local a b
	for a in "${order[@]}"; do
		for b in "${order[@]}"; do
			[ "$a" != "$b" ] || continue
			case "$a:$b" in capsa:runc | capsa:runsc | runsc:runc) ;; *) continue ;; esac
			if [ "${MED[$b]}" -gt 0 ]; then
				echo "$a / $b: $(echo "scale=2; ${MED[$a]} / ${MED[$b]}" | bc)x (${MED[$a]} ms vs ${MED[$b]} ms)"
			fi
		done
	done
}

bench_cleanup() {
	local name d
	set +e
	for d in "$work"/root-*; do
		[ -d "$d" ] || continue
		name=${d##*/root-}
		# anything a failed run left: delete it with the runtime that made it
		for c in "$d"/*/; do
			[ -d "$c" ] || continue
			c=${c%/}; c=${c##*/}
			"${BIN[$name]}" --root "$d" delete --force "$c" > /dev/null 2>&1
		done
	done
	rm -rf "$work"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -u
	case ${1:-} in
	rss) shift; rss_report "${1:?usage: $0 rss PID}" ;;
	pss) shift; [ $# -gt 0 ] || { echo "usage: $0 pss PID..." >&2; exit 2; }; pss_sum_kb "$@" ;;
	*) bench_main "$@" ;;
	esac
fi
