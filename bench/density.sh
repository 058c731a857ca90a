#!/bin/bash
# Host memory per idle container: N containers (default 10) running `sleep`, each one capsa-shim +
# QEMU + virtiofsd; prints the shim's RSS and every process's PSS (from /proc/PID/smaps_rollup,
# which shares what the processes have in common fairly), per container and in total.
# usage: bench/density.sh [CAPSA] [N]
set -eu
capsa=${1:-/usr/local/bin/capsa}
n=${2:-10}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/capsa-density.XXXXXX)
root=$work/root
cleanup() {
	for id in $("$capsa" --root "$root" list -q 2>/dev/null); do "$capsa" --root "$root" delete --force "$id" >/dev/null 2>&1; done
	rm -rf "$work"
}
trap cleanup EXIT
"$here/tests/make-oci-bundle.sh" "$capsa" "$work/bundle" sleep 100000 >/dev/null
for i in $(seq "$n"); do
	"$capsa" --root "$root" run -d --bundle "$work/bundle" "idle$i" < /dev/null
done
sleep 3   # let every guest settle
pss() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup"; }
total=0 shims=0 qemus=0 vfs=0 shim_rss_max=0
for i in $(seq "$n"); do
	shim=$("$capsa" --root "$root" state "idle$i" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
	rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$shim/status")
	[ "$rss" -gt "$shim_rss_max" ] && shim_rss_max=$rss
	shims=$((shims + $(pss "$shim")))
	for child in $(pgrep -P "$shim"); do
		case $(cat "/proc/$child/comm") in
		qemu*) qemus=$((qemus + $(pss "$child"))) ;;
		virtiofsd) vfs=$((vfs + $(pss "$child"))) ;;
		esac
	done
done
total=$((shims + qemus + vfs))
echo "$n idle containers: per container PSS: shim $((shims / n)) kB, QEMU $((qemus / n)) kB, virtiofsd $((vfs / n)) kB, total $((total / n)) kB"
echo "capsa-shim RSS (largest of $n): $shim_rss_max kB; all $n sandboxes together: $((total / 1024)) MiB PSS"
