#!/bin/bash
# podman (with conmon) driving an OCI runtime given by absolute path, as a user would.
# Each case sets up its own storage, configuration and image under a fresh directory,
# and tears all of it down again, checking the runtime left nothing behind.
# usage: podman.sh RUNTIME CASE      (CAPSA_CLIENTS_RUNTIME overrides RUNTIME)
#        podman.sh --list
# exit: 0 pass, 1 fail, 77 skip
CASES="run-echo exit-code stdin tty detach-exec pause-unpause stop-start stop-signal rm-force network-none spec-basics volume missing-cmd fds"
if [ "${1:-}" = --list ]; then echo $CASES; exit 0; fi
. "$(dirname "$0")/lib.sh"
CASE=${2:-}
case " $CASES " in *" $CASE "*) ;; *) fail "unknown case '$CASE'; cases: $CASES" ;; esac
clients_runtime "${1:-}"
clients_mktemp pm
podman_setup

# a container that prints "tick N" five times a second and ignores SIGTERM (it is PID 1 without a handler)
TICKER='i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.2; done'
# one that exits 42 on SIGTERM
TRAPPER='trap "echo got TERM; exit 42" TERM; echo ready; while :; do sleep 0.1; done'

state() { pm inspect -f '{{.State.Status}}' "$1"; }
exit_code() { pm inspect -f '{{.State.ExitCode}}' "$1"; }
log_count() { pm logs "$1" 2>/dev/null | grep -c "$2"; }   # ID PATTERN
log_count_gt() { [ "$(log_count "$1" "$2")" -gt "$3" ]; }   # ID PATTERN N
log_has() { pm logs "$1" 2>/dev/null | grep -qx "$2"; }   # ID LINE
ticks() { log_count "$1" '^tick '; }
is_running() { [ "$(state "$1")" = running ]; }
# the container list must be empty and the runtime must have forgotten the container
gone() {
	local left
	left=$(pm ps -aq) || fail "podman ps -a"
	[ -z "$left" ] || fail "containers left in podman: $left"
	for id; do
		if "$RT" state "$id" >/dev/null 2>&1; then fail "'$RT state $id' still succeeds after removal"; fi
	done
}
# run -d; prints the full ID
run_d() {
	local id
	id=$(pm run -d "$@") || fail "podman run -d $*"
	echo "$id"
}
# the terminal size as the container sees it; the client sets it just after start, so wait for it
STTY_SIZE='i=0; until s=$(stty size 2>/dev/null); [ -n "$s" ] || [ $i -ge 100 ]; do i=$((i+1)); sleep 0.1; done; echo "size:$s"'

case $CASE in
run-echo)
	out=$(pm run --rm "$IMAGE" echo hi) || fail "podman run --rm $IMAGE echo hi exited $?"
	[ "$out" = hi ] || fail "expected 'hi', got '$out'"
	out=$(pm run --rm --cidfile "$T/cid" "$IMAGE" sh -c 'echo out; echo err >&2' 2> "$T/err") ||
		fail "podman run (stdout and stderr) exited $?"
	[ "$out" = out ] || fail "stdout: expected 'out', got '$out'"
	[ "$(cat "$T/err")" = err ] || fail "stderr: expected 'err', got '$(cat "$T/err")'"
	gone "$(cat "$T/cid")"
	;;

exit-code)
	pm run --rm "$IMAGE" sh -c 'exit 3'; rc=$?
	[ $rc = 3 ] || fail "exit 3 came back as $rc"
	pm run --rm "$IMAGE" false; rc=$?
	[ $rc = 1 ] || fail "false came back as $rc"
	pm run --rm "$IMAGE" sh -c 'exit 255'; rc=$?
	[ $rc = 255 ] || fail "exit 255 came back as $rc"
	pm run --rm "$IMAGE" true; rc=$?
	[ $rc = 0 ] || fail "true came back as $rc"
	gone
	;;

stdin)
	# -i: the container reads our stdin to its end (EOF must arrive)
	out=$(printf 'line one\nline two\n' | pm run --rm -i "$IMAGE" sh -c 'cat; echo end') || fail "podman run -i exited $?"
	[ "$out" = "$(printf 'line one\nline two\nend')" ] || fail "-i: got '$out'"
	out=$(head -c 1000000 /dev/zero | pm run --rm -i "$IMAGE" wc -c) || fail "podman run -i (1 MB) exited $?"
	[ "${out// /}" = 1000000 ] || fail "-i: 1000000 bytes in, container counted '$out'"
	# without -i the container's stdin is empty
	out=$(echo ignored | pm run --rm "$IMAGE" sh -c 'cat; echo end') || fail "podman run exited $?"
	[ "$out" = end ] || fail "without -i: got '$out'"
	gone
	;;

tty)
	out=$("${PTY[@]}" -- podman --runtime "$RT" run --rm -it "$IMAGE" tty); rc=$?
	[ $rc = 0 ] || fail "podman run -it tty exited $rc: $out"
	[ "$(echo "$out" | crlf)" = /dev/pts/0 ] || fail "tty inside printed '$out', not /dev/pts/0"
	# the terminal's size, typed input through the terminal, the exit code
	out=$("${PTY[@]}" --send-after READY 'hello tty\n' -- podman --runtime "$RT" run --rm -it "$IMAGE" \
		sh -c "$STTY_SIZE"'; echo READY; read x; echo "got:$x"; exit 5'); rc=$?
	[ $rc = 5 ] || fail "podman run -it: exit 5 came back as $rc: $out"
	out=$(echo "$out" | crlf)
	echo "$out" | grep -qx 'size:24 80' || fail "stty size inside is not '24 80' (the terminal's): $out"
	echo "$out" | grep -qx 'got:hello tty' || fail "typed input did not arrive: $out"
	gone
	;;

detach-exec)
	id=$(run_d "$IMAGE" sleep 1000) || exit 1
	is_running "$id" || fail "state after run -d: $(state "$id")"
	out=$(pm exec "$id" echo hi) || fail "podman exec echo hi exited $?"
	[ "$out" = hi ] || fail "exec: expected 'hi', got '$out'"
	pm exec "$id" sh -c 'exit 7'; rc=$?
	[ $rc = 7 ] || fail "exec: exit 7 came back as $rc"
	# the exec'd process is in the container: it sees the container's PID 1
	out=$(pm exec "$id" cat /proc/1/cmdline | tr '\0' ' ')
	[ "$out" = "sleep 1000 " ] || fail "exec: /proc/1/cmdline in the container is '$out'"
	out=$(printf 'abc\n' | pm exec -i "$id" sh -c 'read x; echo "got:$x"') || fail "exec -i exited $?"
	[ "$out" = got:abc ] || fail "exec -i: got '$out'"
	out=$("${PTY[@]}" -- podman --runtime "$RT" exec -it "$id" tty); rc=$?
	[ $rc = 0 ] || fail "exec -it tty exited $rc: $out"
	echo "$out" | crlf | grep -Eqx '/dev/pts/[0-9]+' || fail "exec -it: tty printed '$out'"
	out=$("${PTY[@]}" --send-after READY 'typed\n' -- podman --runtime "$RT" exec -it "$id" \
		sh -c 'echo READY; read x; echo "got:$x"; exit 6'); rc=$?
	[ $rc = 6 ] || fail "exec -it: exit 6 came back as $rc: $out"
	echo "$out" | crlf | grep -qx 'got:typed' || fail "exec -it: typed input did not arrive: $out"
	is_running "$id" || fail "the container stopped after the execs: $(state "$id")"
	pm rm -f -t 0 "$id" > /dev/null || fail "podman rm -f"
	gone "$id"
	;;

pause-unpause)
	id=$(run_d "$IMAGE" sh -c "$TICKER") || exit 1
	wait_for 20 log_count_gt "$id" '^tick ' 1 || fail "no ticks from the container"
	pm pause "$id" > /dev/null || fail "podman pause"
	[ "$(state "$id")" = paused ] || fail "state after pause: $(state "$id")"
	sleep 0.5; a=$(ticks "$id"); sleep 1.5; b=$(ticks "$id")
	[ "$a" = "$b" ] || fail "the container kept running while paused: $a ticks, then $b"
	pm exec "$id" true 2>/dev/null && fail "exec into a paused container succeeded"
	pm unpause "$id" > /dev/null || fail "podman unpause"
	is_running "$id" || fail "state after unpause: $(state "$id")"
	wait_for 10 log_count_gt "$id" '^tick ' "$b" ||
		fail "no ticks after unpause (still $b)"
	out=$(pm exec "$id" echo alive) || fail "exec after unpause exited $?"
	[ "$out" = alive ] || fail "exec after unpause: '$out'"
	pm rm -f -t 0 "$id" > /dev/null || fail "podman rm -f"
	gone "$id"
	;;

stop-start)
	id=$(run_d "$IMAGE" sh -c "$TICKER") || exit 1
	wait_for 20 log_count_gt "$id" '^tick ' 0 || fail "no ticks from the container"
	# PID 1 ignores SIGTERM: stop -t 1 must fall back to SIGKILL after 1 s
	t0=$(ms_now)
	pm stop -t 1 "$id" > /dev/null 2> "$T/stop.err" || fail "podman stop -t 1: $(cat "$T/stop.err")"
	dt=$(($(ms_now) - t0))
	[ "$(state "$id")" = exited ] || fail "state after stop: $(state "$id")"
	[ "$(exit_code "$id")" = 137 ] || fail "exit code after stop (SIGKILL) is $(exit_code "$id"), not 137"
	[ $dt -ge 1000 ] || fail "stop -t 1 took ${dt} ms: SIGKILL came before the 1 s grace period"
	[ $dt -lt 15000 ] || fail "stop -t 1 took ${dt} ms"
	"$RT" state "$id" >/dev/null 2>&1 && fail "'$RT state' still knows the stopped container (podman deleted it)"
	# start it again: a new create and start with the same ID
	pm start "$id" > /dev/null || fail "podman start"
	is_running "$id" || fail "state after start: $(state "$id")"
	wait_for 20 log_count_gt "$id" '^tick 1$' 1 ||
		fail "the restarted container did not print its first tick again"
	out=$(pm exec "$id" echo again) || fail "exec after start exited $?"
	[ "$out" = again ] || fail "exec after start: '$out'"
	pm stop -t 1 "$id" > /dev/null || fail "second podman stop"
	[ "$(exit_code "$id")" = 137 ] || fail "exit code after the second stop is $(exit_code "$id")"
	pm rm "$id" > /dev/null || fail "podman rm of the stopped container"
	gone "$id"
	;;

stop-signal)
	id=$(run_d "$IMAGE" sh -c "$TRAPPER") || exit 1
	wait_for 20 log_has "$id" ready || fail "the container did not start its loop"
	t0=$(ms_now)
	pm stop -t 30 "$id" > /dev/null || fail "podman stop"
	dt=$(($(ms_now) - t0))
	[ "$(exit_code "$id")" = 42 ] || fail "exit code is $(exit_code "$id"), not 42: SIGTERM did not reach the container's handler"
	[ $dt -lt 10000 ] || fail "stop took ${dt} ms: SIGTERM was not delivered, SIGKILL did it"
	pm logs "$id" | grep -qx 'got TERM' || fail "the handler's output is missing from the log"
	pm rm "$id" > /dev/null || fail "podman rm"
	gone "$id"
	;;

rm-force)
	id=$(run_d "$IMAGE" sh -c "$TRAPPER") || exit 1
	wait_for 20 log_has "$id" ready || fail "the container did not start its loop"
	out=$(pm rm -f "$id") || fail "podman rm -f of a running container exited $?"
	[ "$out" = "$id" ] || fail "podman rm -f printed '$out'"
	gone "$id"
	# and one that ignores SIGTERM, with a short timeout
	id=$(run_d "$IMAGE" sleep 1000) || exit 1
	pm rm -f -t 1 "$id" > /dev/null || fail "podman rm -f -t 1 exited $?"
	gone "$id"
	;;

network-none)
	out=$(pm run --rm --network none "$IMAGE" sh -c 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "') ||
		fail "podman run --network none exited $?"
	[ "$out" = lo ] || fail "--network none: interfaces are '$(echo $out)', not just lo"
	out=$(pm run --rm --network none "$IMAGE" sh -c 'ip link set lo up && ping -c 1 -W 5 127.0.0.1 > /dev/null && echo ok') ||
		fail "loopback in --network none does not work: '$out'"
	[ "$out" = ok ] || fail "ping 127.0.0.1: '$out'"
	gone
	;;

spec-basics)
	out=$(pm run --rm -e FOO=bar -w /tmp -u 65534:65534 --hostname capsa-test "$IMAGE" \
		sh -c 'echo "$FOO $(pwd) $(id -u) $(id -g) $(hostname)"') || fail "podman run exited $?"
	[ "$out" = "bar /tmp 65534 65534 capsa-test" ] || fail "env/workdir/user/hostname: got '$out'"
	out=$(pm run --rm --read-only "$IMAGE" sh -c 'touch /x 2>/dev/null && echo writable || echo read-only') ||
		fail "podman run --read-only exited $?"
	[ "$out" = read-only ] || fail "--read-only: the root filesystem is $out"
	out=$(pm run --rm "$IMAGE" sh -c 'echo data > /x && cat /x') || fail "writing the root filesystem: exit $?"
	[ "$out" = data ] || fail "writing the root filesystem: got '$out'"
	gone
	;;

volume)
	mkdir -p "$T/vol" && echo from-host > "$T/vol/in"
	out=$(pm run --rm -v "$T/vol:/vol" "$IMAGE" sh -c 'cat /vol/in; echo from-container > /vol/out') ||
		fail "podman run -v exited $?"
	[ "$out" = from-host ] || fail "bind mount: read '$out'"
	[ "$(cat "$T/vol/out" 2>/dev/null)" = from-container ] || fail "bind mount: the container's write did not reach the host"
	gone
	;;

missing-cmd)
	pm run --rm "$IMAGE" /nonexistent 2> "$T/err"; rc=$?
	[ $rc = 127 ] || fail "a missing command came back as $rc, not 127: $(cat "$T/err")"
	grep -q /nonexistent "$T/err" || fail "the error does not name the command: $(cat "$T/err")"
	pm run --rm "$IMAGE" /etc/passwd 2> "$T/err"; rc=$?
	[ $rc = 126 ] || fail "a command that is not executable came back as $rc, not 126: $(cat "$T/err")"
	gone
	;;

fds)
	# only stdin, stdout and stderr reach the container, whatever the runtime's caller had open
	out=$(pm run --rm "$IMAGE" sh -c 'ls /proc/$$/fd; true' 3</dev/null 7</dev/null) || fail "podman run exited $?"
	[ "$(echo $out)" = "0 1 2" ] || fail "the container's shell has fds '$(echo $out)', not '0 1 2'"
	id=$(run_d "$IMAGE" sleep 1000) || exit 1
	out=$(pm exec "$id" sh -c 'ls /proc/$$/fd; true' 3</dev/null 7</dev/null) || fail "podman exec exited $?"
	[ "$(echo $out)" = "0 1 2" ] || fail "the exec'd shell has fds '$(echo $out)', not '0 1 2'"
	pm rm -f -t 0 "$id" > /dev/null || fail "podman rm -f"
	gone "$id"
	;;
*) fail "case $CASE is listed but not implemented" ;;
esac
echo "PASS: podman $CASE ($RT)"
