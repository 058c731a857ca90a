# Shared set-up for the client suites (podman.sh, containerd.sh, leftovers.sh).
# Sourced by bash. Everything a case creates lives under one fresh directory
# $T inside $CLIENTS_BASE; teardown (an EXIT trap) removes all of it, and first
# checks that the runtime left nothing behind: no process whose command line
# names $T or one of the case's container IDs, no mount under $T, no runtime
# state for those IDs.
#
# Environment:
#   CAPSA_CLIENTS_RUNTIME  runtime under test (absolute path); overrides the argument
#   CAPSA_CLIENTS_BASE     parent of the per-case directories (keep it short: unix socket
#                          paths are limited to 107 bytes). Default /tmp/capsa-clients, or
#                          /tmp/capsa-clients-<8 hex digits of md5(CAPSA_CLIENTS_KEY)> when
#                          meson sets CAPSA_CLIENTS_KEY to its build directory, so that suites
#                          run from different build trees never see each other's cases
#   CAPSA_CLIENTS_DRIVER   podman storage driver: overlay (default) or vfs
#   CAPSA_CLIENTS_KEEP=1   keep $T after a failure (still stops daemons and containers)
#   CAPSA_CLIENTS_VERBOSE=1  echo every client command

set -u
CLIENTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ -n "${CAPSA_CLIENTS_BASE:-}" ]; then
	CLIENTS_BASE=$CAPSA_CLIENTS_BASE
elif [ -n "${CAPSA_CLIENTS_KEY:-}" ]; then
	CLIENTS_BASE=/tmp/capsa-clients-$(printf '%s' "$CAPSA_CLIENTS_KEY" | md5sum | cut -c1-8)
else
	CLIENTS_BASE=/tmp/capsa-clients
fi
# "ID PID" lines: every container ID a case created and the PID of the case's script, for leftovers.sh
CLIENTS_LEDGER=$CLIENTS_BASE/ledger
IMAGE=localhost/busybox:test
CMD_TIMEOUT=${CAPSA_CLIENTS_CMD_TIMEOUT:-120}   # seconds for any one client command
PTY=(timeout -k 5 $((CMD_TIMEOUT + 10)) python3 "$CLIENTS_DIR/pty.py" --timeout "$CMD_TIMEOUT")
T=
CASE_IDS=()          # container IDs (and other unique names) this case created
GLOBAL_NEW=()        # host-wide paths the clients create that did not exist before this case
TEARDOWN_HOOKS=()    # functions run first at teardown (stop containers, daemons)

log() { echo "# $*"; }
fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
# run a client command, echoing it first when verbose; a hung command is killed
# after CMD_TIMEOUT seconds (status 124 or 137) so that teardown still runs
v() {
	[ "${CAPSA_CLIENTS_VERBOSE:-}" = 1 ] && echo "+ $*" >&2
	timeout -k 5 "$CMD_TIMEOUT" "$@"
}

# need PROGRAM DEBIAN_PACKAGE
need() { command -v "$1" >/dev/null 2>&1 || skip "$1 not installed (apt-get install $2)"; }

# clients_runtime ARG: sets RT to the runtime under test
clients_runtime() {
	RT=${CAPSA_CLIENTS_RUNTIME:-${1:-}}
	[ -n "$RT" ] || fail "usage: $0 RUNTIME CASE (or set CAPSA_CLIENTS_RUNTIME)"
	case $RT in /*) ;; *) fail "the runtime must be an absolute path, got '$RT'" ;; esac
	[ -x "$RT" ] || skip "runtime $RT is not installed"
	RT_NAME=$(basename "$RT")
}

# the runtime's default --root, where podman (which passes no --root) leaves its state
runtime_default_root() {
	if [ -n "${CAPSA_CLIENTS_RUNTIME_ROOT:-}" ]; then echo "$CAPSA_CLIENTS_RUNTIME_ROOT"; return; fi
	case $RT_NAME in
	runsc) echo /var/run/runsc ;;
	*) echo "/run/$RT_NAME" ;;   # runc: /run/runc, crun: /run/crun, capsa: /run/capsa
	esac
}

# clients_mktemp TAG: creates the case directory $T and installs the teardown trap
clients_mktemp() {
	mkdir -p "$CLIENTS_BASE" || fail "cannot create $CLIENTS_BASE"
	T=$(mktemp -d "$CLIENTS_BASE/$1.XXXXXX") || fail "mktemp under $CLIENTS_BASE"
	chmod 0755 "$T"
	echo "$CASE" > "$T/case"
	echo $$ > "$T/owner"   # leftovers.sh leaves the directory of a case still running alone
	trap clients_teardown EXIT
	trap 'exit 130' INT TERM HUP
}

# note_global PATH...: remember which host-wide paths did not exist yet, to remove them again
note_global() {
	local p
	for p; do [ -e "$p" ] || GLOBAL_NEW+=("$p"); done
}

case_id() { CASE_IDS+=("$@"); }

# processes (other than this script and its helpers) whose command line contains one of the patterns
procs_matching() {
	local d pid cmd p
	for d in /proc/[0-9]*; do
		pid=${d#/proc/}
		[ "$pid" = $$ ] && continue
		cmd=$(tr '\0' ' ' 2>/dev/null < "$d/cmdline") || continue
		[ -n "$cmd" ] || continue
		# this suite's own scripts name the case in their arguments, not the paths
		for p; do
			case $cmd in *"$p"*) echo "$pid $cmd"; break ;; esac
		done
	done
}

# mount points (from /proc/self/mountinfo) under one of the given directories, deepest last
mounts_under() {
	local m p
	awk '{print $5}' /proc/self/mountinfo | while read -r m; do
		m=$(printf '%b' "${m//\\/\\0}")   # undo the octal escapes of spaces and the like
		for p; do
			case $m in "$p" | "$p"/*) echo "$m"; break ;; esac
		done
	done
}

# wait_for SECONDS COMMAND...: poll every 0.1 s until COMMAND succeeds
wait_for() {
	local deadline=$(($(date +%s%N) / 1000000 + ${1%.*} * 1000)); shift
	until "$@"; do
		[ $(($(date +%s%N) / 1000000)) -lt $deadline ] || return 1
		sleep 0.1
	done
}
ms_now() { echo $(($(date +%s%N) / 1000000)); }
# a terminal's output without its carriage returns
crlf() { tr -d '\r'; }

no_procs() { [ -z "$(procs_matching "$@")" ]; }

# case_alive PID: the case script with that PID is still running
case_alive() {
	local cmd
	cmd=$(tr '\0' ' ' 2>/dev/null < "/proc/$1/cmdline") || return 1
	case $cmd in *podman.sh* | *containerd.sh*) return 0 ;; esac
	return 1
}

# kill_tree PID...: SIGKILL to the processes and all their descendants (which they started)
kill_tree() {
	local all=" $* " more=1 pid ppid
	while [ $more = 1 ]; do
		more=0
		while read -r pid ppid; do
			case $all in *" $ppid "*) case $all in *" $pid "*) ;; *) all="$all$pid "; more=1 ;; esac ;; esac
		done < <(ps -e -o pid=,ppid=)
	done
	for pid in $all; do kill -KILL "$pid" 2>/dev/null; done
}

# check_leftovers: what the runtime must not leave after its clients removed everything.
# Prints one line per problem; returns non-zero if there were any.
check_leftovers() {
	local bad=0 pats=("$T") id root m
	for id in "${CASE_IDS[@]}"; do pats+=("$id"); done
	# processes: capsa-shim, qemu, virtiofsd, conmon, containerd shims ... may take a moment to exit
	if ! wait_for 20 no_procs "${pats[@]}"; then
		procs_matching "${pats[@]}" | sed 's/^/LEFTOVER process: /' | cut -c1-400
		bad=1
	fi
	for m in $(mounts_under "$T"); do echo "LEFTOVER mount: $m"; bad=1; done
	for id in "${CASE_IDS[@]}"; do
		for m in $(awk '{print $5}' /proc/self/mountinfo | grep -F -- "/$id" || true); do
			case $m in */"$id"*) echo "LEFTOVER mount: $m"; bad=1 ;; esac
		done
	done
	# nothing under the --root we passed (containerd's shim adds /<namespace> to it)
	if [ -d "$T/rr" ]; then
		for m in $(find "$T/rr" -mindepth 1 ! -path "$T/rr/$CTD_NS"); do echo "LEFTOVER under --root: $m"; bad=1; done
	fi
	# runtime state under the default root (podman passes no --root)
	if [ "${CHECK_DEFAULT_ROOT:-0}" = 1 ]; then
		root=$(runtime_default_root)
		for id in "${CASE_IDS[@]}"; do
			if [ -e "$root/$id" ]; then echo "LEFTOVER state: $root/$id"; bad=1; fi
			if "$RT" state "$id" >/dev/null 2>&1; then echo "LEFTOVER state: '$RT state $id' still succeeds"; bad=1; fi
		done
	fi
	return $bad
}

clients_teardown() {
	local rc=$? h pid m leftovers=0
	trap - EXIT INT TERM HUP
	set +e
	[ -n "$T" ] || exit $rc
	for h in "${TEARDOWN_HOOKS[@]}"; do "$h"; done
	if [ ${#CASE_IDS[@]} -gt 0 ]; then printf "%s $$\n" "${CASE_IDS[@]}" >> "$CLIENTS_LEDGER"; fi
	if ! check_leftovers; then
		leftovers=1
		# clean up what the runtime left: only processes that name this case's directory or IDs
		local pats=("$T") id
		for id in "${CASE_IDS[@]}"; do pats+=("$id"); done
		kill_tree $(procs_matching "${pats[@]}" | awk '{print $1}')
		# and the runtime state it kept for them under its default root
		if [ "${CHECK_DEFAULT_ROOT:-0}" = 1 ]; then
			for id in "${CASE_IDS[@]}"; do
				timeout -k 5 60 "$RT" delete --force "$id" > /dev/null 2>&1
			done
		fi
		for id in "${CASE_IDS[@]}"; do
			for m in $(awk '{print $5}' /proc/self/mountinfo | grep -F -- "/$id" | sort -r); do
				case $m in */"$id"*) umount "$m" 2>/dev/null || umount -l "$m" ;; esac
			done
		done
	fi
	for m in $(mounts_under "$T" | sort -r); do umount "$m" 2>/dev/null || umount -l "$m"; done
	if [ $leftovers = 1 ] || [ $rc != 0 ] && [ "${CAPSA_CLIENTS_KEEP:-}" = 1 ]; then
		echo "# kept $T"
	else
		rm -rf "$T"
	fi
	clean_globals
	rmdir "$CLIENTS_BASE" 2>/dev/null
	if [ $leftovers = 1 ]; then
		echo "FAIL: the runtime left the above behind"
		[ $rc = 0 ] || [ $rc = 77 ] && rc=1
	fi
	exit $rc
}

# host-wide paths that podman and containerd create outside any configurable directory
clean_globals() {
	local p
	for p in "${GLOBAL_NEW[@]}"; do
		case $p in
		/var/lib/containers) rm -f /var/lib/containers/cache/blob-info-cache-v1.boltdb
			rmdir /var/lib/containers/cache /var/lib/containers 2>/dev/null ;;
		/run/containerd) rmdir /run/containerd/s /run/containerd/fifo /run/containerd 2>/dev/null ;;
		*) rmdir "$p" 2>/dev/null ;;
		esac
	done
}

# ---- podman ---------------------------------------------------------------------

# podman_setup: private storage and configuration under $T, the busybox image imported
podman_setup() {
	need podman podman
	need conmon conmon
	[ -x /bin/busybox ] && /bin/busybox --list >/dev/null 2>&1 || skip "no static busybox (apt-get install busybox-static)"
	note_global /var/lib/containers   # podman's blob-info cache; no setting moves it
	local driver=${CAPSA_CLIENTS_DRIVER:-overlay}
	mkdir -p "$T/pm/tmp" "$T/pm/vartmp"
	cat > "$T/pm/containers.conf" <<-EOF
	[containers]
	default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
	netns = "none"
	log_driver = "k8s-file"

	[engine]
	cgroup_manager = "cgroupfs"
	events_logger = "file"
	tmp_dir = "$T/pm/tmp"
	volume_path = "$T/pm/volumes"
	pull_policy = "never"
	runtime_supports_json = ["crun", "runc", "kata", "runsc", "krun", "capsa"]
	EOF
	cat > "$T/pm/storage.conf" <<-EOF
	[storage]
	driver = "$driver"
	graphroot = "$T/pm/storage"
	runroot = "$T/pm/run"
	EOF
	export CONTAINERS_CONF="$T/pm/containers.conf" CONTAINERS_STORAGE_CONF="$T/pm/storage.conf"
	export TMPDIR="$T/pm/vartmp"
	TEARDOWN_HOOKS+=(podman_teardown)
	sh "$CLIENTS_DIR/../make-busybox-rootfs.sh" "$T/rootfs" || fail "building the busybox rootfs"
	tar -C "$T/rootfs" -cf "$T/rootfs.tar" . || fail "tar of the rootfs"
	podman import -q --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/bin' "$T/rootfs.tar" "$IMAGE" > "$T/image-id" ||
		fail "podman import"
	rm -rf "$T/rootfs" "$T/rootfs.tar"
}

# podman with the runtime under test
pm() { v podman --runtime "$RT" "$@"; }

podman_teardown() {
	[ -n "${CONTAINERS_CONF:-}" ] || return 0
	# everything this case created, removed or not
	local id
	for id in $(timeout -k 5 60 podman events --stream=false --filter event=create --format '{{.ID}}' 2>/dev/null | sort -u); do
		case_id "$id"
	done
	# safety net for a case that failed half way; a passing case has removed its containers itself
	if [ -n "$(timeout -k 5 60 podman ps -aq 2>/dev/null)" ]; then
		timeout -k 5 "$CMD_TIMEOUT" podman --runtime "$RT" rm -af -t 0 >/dev/null 2>&1
	fi
	# podman passes no --root: the runtime keeps its state under its default root
	[ -n "$CTD_PID$CTD_CASE" ] || CHECK_DEFAULT_ROOT=1
}

# ---- containerd -----------------------------------------------------------------

CTD_NS=capsa-clients
CTD_PID=
CTD_CASE=

# containerd_setup: a private containerd (root, state, sockets under $T), the busybox image imported
containerd_setup() {
	need containerd containerd
	need ctr containerd
	need containerd-shim-runc-v2 containerd
	CTD_CASE=1
	note_global /run/containerd   # the shim's socket directory /run/containerd/s is fixed in containerd 1.6
	# the image: built offline with podman, exported as an OCI archive
	podman_setup
	podman save -q --format oci-archive -o "$T/image.tar" "$IMAGE" || fail "podman save"
	podman rmi -a -f >/dev/null 2>&1
	local c=$T/ctd
	mkdir -p "$c/tmp" "$T/fifo" "$T/rr"
	cat > "$c/config.toml" <<-EOF
	version = 2
	root = "$c/root"
	state = "$c/state"
	disabled_plugins = ["io.containerd.grpc.v1.cri"]
	[grpc]
	  address = "$c/c.sock"
	[ttrpc]
	  address = "$c/c.sock.ttrpc"
	[debug]
	  address = ""
	  level = "info"
	[metrics]
	  address = ""
	EOF
	TEARDOWN_HOOKS+=(containerd_teardown)
	case_id "$CASE-${T##*.}-"
	# the shim's temporary files (process JSON, console sockets) go to TMPDIR
	TMPDIR=$c/tmp setsid sh -c 'echo $$ > "$1"; exec containerd --config "$2"' sh "$c/pid" "$c/config.toml" \
		> "$c/log" 2>&1 < /dev/null &
	export CONTAINERD_ADDRESS=$c/c.sock CONTAINERD_NAMESPACE=$CTD_NS
	wait_for 5 test -s "$c/pid" || fail "containerd did not start"
	CTD_PID=$(cat "$c/pid")
	wait_for 20 ctr version >/dev/null 2>&1 || { tail -20 "$c/log"; fail "containerd does not answer on $c/c.sock"; }
	ctr image import "$T/image.tar" > "$T/import.log" 2>&1 || { cat "$T/import.log"; fail "ctr image import"; }
	ctr image ls -q | grep -qx "$IMAGE" || fail "image $IMAGE not in containerd after import"
	rm -f "$T/image.tar"
}

# the options that make ctr use the runtime under test, its root and fifo directory under $T
CTR_RUN=()
ctr_opts() { CTR_RUN=(--runc-binary "$RT" --runc-root "$T/rr" --fifo-dir "$T/fifo"); }
cr() { v ctr "$@"; }

# a unique container ID for this case (so a leftover process can be told apart by it);
# containerd_setup registers the common prefix with case_id
ctd_id() { echo "$CASE-${T##*.}-$1"; }

containerd_teardown() {
	[ -n "$CTD_PID" ] || return 0
	local id
	local t="timeout -k 5 60"
	for id in $($t ctr task ls -q 2>/dev/null); do
		$t ctr task kill -a -s SIGKILL "$id" >/dev/null 2>&1
		wait_for 10 sh -c "$t ctr task ls 2>/dev/null | awk '\$1 == \"$id\" {print \$3}' | grep -qx STOPPED"
		$t ctr task rm -f "$id" >/dev/null 2>&1
	done
	for id in $($t ctr container ls -q 2>/dev/null); do $t ctr container rm "$id" >/dev/null 2>&1; done
	kill -TERM "$CTD_PID" 2>/dev/null
	wait_for 10 sh -c "! kill -0 $CTD_PID 2>/dev/null" || kill -KILL "$CTD_PID" 2>/dev/null
	wait "$CTD_PID" 2>/dev/null
	CTD_PID=
}
