#!/bin/sh
# Runs every test: unit and integration tests in the main build, unit tests
# and fuzz smoke runs in the sanitizer build. Ends with one line:
# "N passed, N failed[, N skipped]".
# usage: run-all.sh BUILD_DIR ASAN_BUILD_DIR
set -u
build=$1 asan=$2
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1

echo "== unit and integration tests ($build)"
meson test -C "$build" --no-rebuild --print-errorlogs --num-processes 2
echo "== unit tests under ASan+UBSan, fuzz smoke runs ($asan)"
meson test -C "$asan" --no-rebuild --print-errorlogs --suite unit --suite fuzz

python3 - "$build/meson-logs/testlog.json" "$asan/meson-logs/testlog.json" <<'PY'
import json, sys
passed = failed = skipped = 0
for path, label in zip(sys.argv[1:], ["", " (asan)"]):
    try:
        lines = open(path).read().splitlines()
    except OSError:
        print(f"no test log at {path}: counted as a failure")
        failed += 1
        continue
    for line in lines:
        t = json.loads(line)
        result = t["result"]
        if result in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif result == "SKIP":
            skipped += 1
            out = (t.get("stdout") or "") + "\n" + (t.get("stderr") or "")
            lines = [l for l in out.splitlines() if l.strip()]
            reason = next((l for l in lines if "SKIP" in l), lines[0] if lines else "SKIP: no reason given")
            print(f"skipped {t['name']}{label}: {reason}")
        else:
            failed += 1
            print(f"failed {t['name']}{label}: {result}")
line = f"{passed} passed, {failed} failed"
if skipped:
    line += f", {skipped} skipped"
print(line)
sys.exit(1 if failed else 0)
PY
