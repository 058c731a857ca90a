#!/bin/bash
# Run after the whole client suite: nothing the runtime started or created for the
# suite's containers may remain. Checks
#   - no process whose command line names the suite's directory ($CLIENTS_BASE) or one
#     of the container IDs the cases created (capsa-shim, qemu-system-x86_64, virtiofsd,
#     conmon, containerd shims ...);
#   - no mount under $CLIENTS_BASE and none naming one of those IDs in /proc/self/mountinfo;
#   - no state for those IDs under the runtime's default root (podman passes no --root),
#     '$RUNTIME state ID' fails for each, and '$RUNTIME list' shows no container whose
#     bundle lies under $CLIENTS_BASE;
#   - no case directory left (each case removes its own; the --root the containerd cases
#     pass lies inside it and was checked to be empty before removal).
# A case that is still running (someone else's run in the same $CLIENTS_BASE) is left
# alone: its directory, processes, mounts and IDs are skipped, with a note.
# Processes found are reported, then killed by PID with their descendants (they belong
# to the suite's finished cases).
# usage: leftovers.sh RUNTIME      (CAPSA_CLIENTS_RUNTIME overrides RUNTIME)
. "$(dirname "$0")/lib.sh"
CASE=leftovers
clients_runtime "${1:-}"
bad=0

# cases still running: not ours to judge
live=()
if [ -d "$CLIENTS_BASE" ]; then
	for d in "$CLIENTS_BASE"/*/; do
		d=${d%/}
		[ -d "$d" ] || continue
		owner=$(cat "$d/owner" 2>/dev/null)
		if [ -n "$owner" ] && case_alive "$owner"; then
			live+=("$d")
			log "case $(cat "$d/case" 2>/dev/null) in $d is still running (PID $owner): not checked"
		fi
	done
fi
not_live() {   # filter: drop lines naming a live case directory
	local line d
	while IFS= read -r line; do
		for d in "${live[@]}"; do case $line in *"$d"*) continue 2 ;; esac; done
		printf '%s\n' "$line"
	done
}

ids=()
if [ -f "$CLIENTS_LEDGER" ]; then
	while read -r id owner; do
		[ -n "$id" ] || continue
		if [ -n "${owner:-}" ] && case_alive "$owner"; then continue; fi   # still tearing down
		ids+=("$id")
	done < <(sort -u "$CLIENTS_LEDGER")
fi
pats=("$CLIENTS_BASE/" "${ids[@]}")

leftover_procs() { procs_matching "${pats[@]}" | not_live; }
no_leftover_procs() { [ -z "$(leftover_procs)" ]; }
if [ -n "$(leftover_procs)" ] && ! wait_for 20 no_leftover_procs; then
	leftover_procs | sed 's/^/LEFTOVER process: /' | cut -c1-400
	kill_tree $(leftover_procs | awk '{print $1}')
	bad=1
fi

for m in $(mounts_under "$CLIENTS_BASE" | not_live); do echo "LEFTOVER mount: $m"; bad=1; done
for id in "${ids[@]}"; do
	for m in $(awk '{print $5}' /proc/self/mountinfo | grep -F -- "/$id" | not_live || true); do
		case $m in */"$id"*) echo "LEFTOVER mount: $m"; bad=1 ;; esac
	done
done

root=$(runtime_default_root)
for id in "${ids[@]}"; do
	case $id in *-) continue ;; esac   # a containerd case's ID prefix, not an ID
	if [ -e "$root/$id" ]; then echo "LEFTOVER state: $root/$id"; bad=1; fi
	if "$RT" state "$id" >/dev/null 2>&1; then echo "LEFTOVER state: '$RT state $id' still succeeds"; bad=1; fi
done
if list=$("$RT" list --format json 2>&1); then
	left=$(printf '%s' "$list" | python3 -c '
import json, sys
base = sys.argv[1].rstrip("/") + "/"
for c in json.load(sys.stdin) or []:
    if str(c.get("bundle", "")).startswith(base):
        print(c.get("id"), c.get("status"), c.get("bundle"))
' "$CLIENTS_BASE") || { echo "'$RT list --format json' printed something that is not a JSON list: $list"; bad=1; }
	left=$(printf '%s' "$left" | not_live)
	if [ -n "$left" ]; then echo "$left" | sed "s|^|LEFTOVER in '$RT list': |"; bad=1; fi
else
	echo "'$RT list --format json' failed: $list"; bad=1
fi

if [ -d "$CLIENTS_BASE" ]; then
	for d in "$CLIENTS_BASE"/*/; do
		d=${d%/}
		[ -d "$d" ] || continue
		[ -z "$(echo "$d" | not_live)" ] && continue
		echo "LEFTOVER case directory: $d ($(cat "$d/case" 2>/dev/null); teardown could not remove it, or CAPSA_CLIENTS_KEEP=1)"
		bad=1
	done
fi

# forget the IDs checked here; keep those of cases still running
if [ -f "$CLIENTS_LEDGER" ]; then
	keep=$(while read -r id owner; do
		if [ -n "${owner:-}" ] && case_alive "$owner"; then echo "$id $owner"; fi
	done < "$CLIENTS_LEDGER")
	if [ -n "$keep" ]; then echo "$keep" > "$CLIENTS_LEDGER"; else rm -f "$CLIENTS_LEDGER"; fi
fi
rmdir "$CLIENTS_BASE" 2>/dev/null
[ $bad = 0 ] || fail "leftovers after the client suite (above)"
echo "PASS: no leftovers from ${#ids[@]} container IDs ($RT)"
