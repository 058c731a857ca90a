#!/bin/bash
# containerd (ctr and the runc v2 shim, containerd-shim-runc-v2) driving an OCI runtime
# given by absolute path via --runc-binary. Each case starts its own containerd
# (root, state and sockets under a fresh directory, CRI plugin off), imports the
# busybox image, and tears everything down again, checking the runtime left nothing.
# usage: containerd.sh RUNTIME CASE      (CAPSA_CLIENTS_RUNTIME overrides RUNTIME)
#        containerd.sh --list
# exit: 0 pass, 1 fail, 77 skip
CASES="run-echo exit-code stdin tty detach-exec task-ps exec-kill pause-resume kill-all-rm kill-term missing-cmd"
if [ "${1:-}" = --list ]; then echo $CASES; exit 0; fi
. "$(dirname "$0")/lib.sh"
CASE=${2:-}
case " $CASES " in *" $CASE "*) ;; *) fail "unknown case '$CASE'; cases: $CASES" ;; esac
clients_runtime "${1:-}"
clients_mktemp ctd
containerd_setup
ctr_opts

TICKER='i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.2; done'
TRAPPER='trap "echo got TERM; exit 42" TERM; echo ready; while :; do sleep 0.1; done'

# task status as ctr task ls shows it (RUNNING, PAUSED, STOPPED ...), empty if there is no task
status() { ctr task ls 2>/dev/null | awk -v id="$1" '$1 == id {print $3}'; }
task_pid() { ctr task ls 2>/dev/null | awk -v id="$1" '$1 == id {print $2}'; }
is_status() { [ "$(status "$1")" = "$2" ]; }
lines() { [ -f "$1" ] && grep -c "$2" "$1" || echo 0; }
lines_gt() { [ "$(lines "$1" "$2")" -gt "$3" ]; }   # FILE PATTERN N
# no task, no container left in containerd, nothing under the runtime root
gone() {
	local left
	left=$(ctr task ls -q) || fail "ctr task ls"
	[ -z "$left" ] || fail "tasks left in containerd: $left"
	left=$(ctr container ls -q) || fail "ctr container ls"
	[ -z "$left" ] || fail "containers left in containerd: $left"
	left=$(find "$T/rr" -mindepth 1 ! -path "$T/rr/$CTD_NS")
	[ -z "$left" ] || fail "left under the runtime's --root: $left"
}
# run -d with the output going to a file; waits for RUNNING
run_d() {   # ID LOGFILE ARGS...
	local id=$1 logf=$2; shift 2
	cr run -d "${CTR_RUN[@]}" --log-uri "file://$logf" "$IMAGE" "$id" "$@" > "$T/run-d.out" 2>&1 ||
		fail "ctr run -d $id: $(cat "$T/run-d.out")"
	is_status "$id" RUNNING || fail "task $id after run -d: '$(status "$id")'"
}
# kill everything, wait for STOPPED, delete task and container; prints ctr task rm's stderr
kill_rm() {   # ID SIGNAL
	cr task kill -a -s "$2" "$1" || fail "ctr task kill -a -s $2 $1"
	wait_for 20 is_status "$1" STOPPED || fail "task $1 not STOPPED after kill -a -s $2: '$(status "$1")'"
	cr task rm "$1" 2> "$T/rm.err" || fail "ctr task rm $1: $(cat "$T/rm.err")"
	cr container rm "$1" || fail "ctr container rm $1"
}
# probe ID CMD...: run CMD in the container with a fresh exec ID, output discarded
PROBES=0
probe() {
	local id=$1; shift
	PROBES=$((PROBES + 1))
	v ctr task exec --fifo-dir "$T/fifo" --exec-id "probe$PROBES" "$id" "$@" > /dev/null 2>&1
}
# the terminal size as the container sees it; the client sets it just after start, so wait for it
STTY_SIZE='i=0; until s=$(stty size 2>/dev/null); [ -n "$s" ] || [ $i -ge 100 ]; do i=$((i+1)); sleep 0.1; done; echo "size:$s"'

case $CASE in
run-echo)
	id=$(ctd_id a)
	out=$(cr run --rm "${CTR_RUN[@]}" "$IMAGE" "$id" echo hi) || fail "ctr run --rm ... echo hi exited $?"
	[ "$out" = hi ] || fail "expected 'hi', got '$out'"
	id=$(ctd_id b)
	out=$(cr run --rm "${CTR_RUN[@]}" "$IMAGE" "$id" sh -c 'echo out; echo err >&2' 2> "$T/err") ||
		fail "ctr run (stdout and stderr) exited $?"
	[ "$out" = out ] || fail "stdout: expected 'out', got '$out'"
	[ "$(cat "$T/err")" = err ] || fail "stderr: expected 'err', got '$(cat "$T/err")'"
	gone
	;;

exit-code)
	cr run --rm "${CTR_RUN[@]}" "$IMAGE" "$(ctd_id a)" sh -c 'exit 3'; rc=$?
	[ $rc = 3 ] || fail "exit 3 came back as $rc"
	cr run --rm "${CTR_RUN[@]}" "$IMAGE" "$(ctd_id b)" false; rc=$?
	[ $rc = 1 ] || fail "false came back as $rc"
	cr run --rm "${CTR_RUN[@]}" "$IMAGE" "$(ctd_id c)" sh -c 'exit 255'; rc=$?
	[ $rc = 255 ] || fail "exit 255 came back as $rc"
	gone
	;;

stdin)
	# ctr run never closes the container's stdin (it does not call CloseIO), so nothing here waits for EOF
	out=$(printf 'line one\nline two\n' | cr run --rm "${CTR_RUN[@]}" "$IMAGE" "$(ctd_id a)" sh -c 'read a; read b; echo "$b|$a"') ||
		fail "ctr run with stdin exited $?"
	[ "$out" = "line two|line one" ] || fail "stdin: got '$out'"
	out=$(head -c 1000000 /dev/zero | cr run --rm "${CTR_RUN[@]}" "$IMAGE" "$(ctd_id b)" sh -c 'head -c 1000000 | wc -c') ||
		fail "ctr run with 1 MB of stdin exited $?"
	[ "${out// /}" = 1000000 ] || fail "1000000 bytes in, the container counted '$out'"
	gone
	;;

tty)
	out=$("${PTY[@]}" -- ctr run --rm -t "${CTR_RUN[@]}" "$IMAGE" "$(ctd_id a)" tty); rc=$?
	[ $rc = 0 ] || fail "ctr run -t tty exited $rc: $out"
	[ "$(echo "$out" | crlf)" = /dev/pts/0 ] || fail "tty inside printed '$out', not /dev/pts/0"
	out=$("${PTY[@]}" --send-after READY 'hello tty\n' -- ctr run --rm -t "${CTR_RUN[@]}" "$IMAGE" "$(ctd_id b)" \
		sh -c "$STTY_SIZE"'; echo READY; read x; echo "got:$x"; exit 5'); rc=$?
	[ $rc = 5 ] || fail "ctr run -t: exit 5 came back as $rc: $out"
	out=$(echo "$out" | crlf)
	echo "$out" | grep -qx 'size:24 80' || fail "stty size inside is not '24 80' (the terminal's): $out"
	echo "$out" | grep -qx 'got:hello tty' || fail "typed input did not arrive: $out"
	gone
	;;

detach-exec)
	id=$(ctd_id a)
	run_d "$id" "$T/a.log" sleep 1000
	out=$(cr task exec --fifo-dir "$T/fifo" --exec-id e1 "$id" echo hi) || fail "ctr task exec echo hi exited $?"
	[ "$out" = hi ] || fail "exec: expected 'hi', got '$out'"
	cr task exec --fifo-dir "$T/fifo" --exec-id e2 "$id" sh -c 'exit 7'; rc=$?
	[ $rc = 7 ] || fail "exec: exit 7 came back as $rc"
	out=$(cr task exec --fifo-dir "$T/fifo" --exec-id e3 "$id" cat /proc/1/cmdline | tr '\0' ' ')
	[ "$out" = "sleep 1000 " ] || fail "exec: /proc/1/cmdline in the container is '$out'"
	out=$(printf 'abc\n' | cr task exec --fifo-dir "$T/fifo" --exec-id e4 "$id" sh -c 'read x; echo "got:$x"') ||
		fail "exec with stdin exited $?"
	[ "$out" = got:abc ] || fail "exec with stdin: got '$out'"
	out=$("${PTY[@]}" --send-after READY 'typed\n' -- ctr task exec --fifo-dir "$T/fifo" -t --exec-id e5 "$id" \
		sh -c 'tty; echo READY; read x; echo "got:$x"; exit 6'); rc=$?
	[ $rc = 6 ] || fail "exec -t: exit 6 came back as $rc: $out"
	out=$(echo "$out" | crlf)
	echo "$out" | grep -Eqx '/dev/pts/[0-9]+' || fail "exec -t: tty did not print a /dev/pts path: $out"
	echo "$out" | grep -qx 'got:typed' || fail "exec -t: typed input did not arrive: $out"
	is_status "$id" RUNNING || fail "the task is '$(status "$id")' after the execs"
	kill_rm "$id" SIGKILL
	gone
	;;

task-ps)
	# ps --format json: a JSON list of PIDs. runc gives host PIDs, which the shim matches
	# against the init and exec pid files to label them; a VM runtime may give guest PIDs.
	# Either way the list must follow the container's processes.
	id=$(ctd_id a)
	run_d "$id" "$T/a.log" sleep 1000
	pids() { v ctr task ps "$1" | awk 'NR > 1 {print $1}'; }
	p1=$(pids "$id") || fail "ctr task ps"
	[ -n "$p1" ] || fail "ctr task ps lists no process"
	for p in $p1; do [ "$p" -gt 0 ] 2>/dev/null || fail "ctr task ps: '$p' is not a PID"; done
	n1=$(echo "$p1" | wc -l)
	cr task exec -d --fifo-dir "$T/fifo" --exec-id e1 "$id" sleep 1000 || fail "ctr task exec -d"
	wait_for 10 sh -c "[ \$(ctr task ps $id | awk 'NR > 1' | wc -l) -gt $n1 ]" ||
		fail "ctr task ps does not show the exec'd process: $(ctr task ps "$id" | tr '\n' ' ')"
	pid=$(task_pid "$id")
	if echo "$p1" | grep -qx "$pid"; then
		# host PIDs: then the exec's PID must be the one from its --pid-file, so the shim can name it
		cr task ps "$id" | grep -q 'ExecID:e1[,}]' ||
			fail "ps gives host PIDs but none is the exec's --pid-file PID: $(ctr task ps "$id" | tr '\n' ' ')"
	else
		log "ps gives PIDs other than the init's pid-file PID $pid (guest PIDs?): $(echo $p1)"
	fi
	cr task kill --exec-id e1 -s SIGKILL "$id" || fail "ctr task kill --exec-id e1"
	wait_for 10 sh -c "[ \$(ctr task ps $id | awk 'NR > 1' | wc -l) -eq $n1 ]" ||
		fail "ctr task ps still shows the killed exec: $(ctr task ps "$id" | tr '\n' ' ')"
	kill_rm "$id" SIGKILL
	gone
	;;

exec-kill)
	# the shim signals an exec'd process itself: kill(2) on the PID from exec --pid-file
	id=$(ctd_id a)
	run_d "$id" "$T/a.log" sleep 1000
	cr task exec -d --fifo-dir "$T/fifo" --exec-id e1 "$id" \
		sh -c 'trap "echo bye > /tmp/bye; exit 0" TERM; touch /tmp/ready; while :; do sleep 0.1; done' ||
		fail "ctr task exec -d"
	wait_for 20 probe "$id" test -e /tmp/ready || fail "the exec'd process did not start"
	cr task kill --exec-id e1 -s SIGTERM "$id" || fail "ctr task kill --exec-id e1"
	wait_for 10 probe "$id" grep -qx bye /tmp/bye ||
		fail "SIGTERM to the exec'd process did not reach its handler in the container"
	is_status "$id" RUNNING || fail "the task is '$(status "$id")' after signalling an exec"
	kill_rm "$id" SIGKILL
	gone
	;;

pause-resume)
	id=$(ctd_id a)
	run_d "$id" "$T/a.log" sh -c "$TICKER"
	wait_for 20 lines_gt "$T/a.log" '^tick ' 1 || fail "no ticks from the container"
	cr task pause "$id" || fail "ctr task pause"
	is_status "$id" PAUSED || fail "status after pause: '$(status "$id")'"
	sleep 0.5; a=$(lines "$T/a.log" '^tick '); sleep 1.5; b=$(lines "$T/a.log" '^tick ')
	[ "$a" = "$b" ] || fail "the container kept running while paused: $a ticks, then $b"
	cr task resume "$id" || fail "ctr task resume"
	is_status "$id" RUNNING || fail "status after resume: '$(status "$id")'"
	wait_for 10 lines_gt "$T/a.log" '^tick ' "$b" || fail "no ticks after resume (still $b)"
	out=$(cr task exec --fifo-dir "$T/fifo" --exec-id e1 "$id" echo alive) || fail "exec after resume exited $?"
	[ "$out" = alive ] || fail "exec after resume: '$out'"
	kill_rm "$id" SIGKILL
	gone
	;;

kill-all-rm)
	id=$(ctd_id a)
	run_d "$id" "$T/a.log" sleep 1000
	cr task exec -d --fifo-dir "$T/fifo" --exec-id e1 "$id" sleep 1000 || fail "ctr task exec -d"
	kill_rm "$id" SIGKILL
	grep -q 'exit code 137' "$T/rm.err" || fail "ctr task rm did not report exit code 137: $(cat "$T/rm.err")"
	gone
	;;

kill-term)
	id=$(ctd_id a)
	run_d "$id" "$T/a.log" sh -c "$TRAPPER"
	wait_for 20 grep -qx ready "$T/a.log" || fail "the container did not start its loop"
	cr task kill "$id" || fail "ctr task kill (SIGTERM)"
	wait_for 10 is_status "$id" STOPPED || fail "task not STOPPED 10 s after SIGTERM: '$(status "$id")'"
	grep -qx 'got TERM' "$T/a.log" || fail "the container's SIGTERM handler did not run"
	cr task rm "$id" 2> "$T/rm.err" || fail "ctr task rm: $(cat "$T/rm.err")"
	grep -q 'exit code 42' "$T/rm.err" || fail "ctr task rm did not report exit code 42: $(cat "$T/rm.err")"
	cr container rm "$id" || fail "ctr container rm"
	gone
	;;

missing-cmd)
	# the runtime's error, from its --log JSON file, reaches the user through the shim
	id=$(ctd_id a)
	cr run --rm "${CTR_RUN[@]}" "$IMAGE" "$id" /nonexistent 2> "$T/err"; rc=$?
	[ $rc != 0 ] || fail "running a missing command succeeded"
	# runc fails in create; a runtime that looks the command up only at start is accepted
	grep -Eq 'OCI runtime (create|start) failed' "$T/err" || fail "not an OCI runtime error: $(cat "$T/err")"
	grep -q '/nonexistent' "$T/err" || fail "the runtime's error message does not name the command: $(cat "$T/err")"
	ctr container rm "$id" 2>/dev/null   # ctr run --rm leaves the container record when create fails
	gone
	;;
*) fail "case $CASE is listed but not implemented" ;;
esac
echo "PASS: containerd $CASE ($RT)"
