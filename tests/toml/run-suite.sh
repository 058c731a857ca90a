#!/bin/bash
# Runs the toml-test TOML 1.0.0 suite against a decoder that follows
# toml-test's interface (TOML on stdin, tagged JSON on stdout, non-zero exit
# on invalid input).
#
# usage: run-suite.sh PATH/TO/toml-decode [SUITE_DIR]
#   SUITE_DIR (or $SUITE) holds files-toml-1.0.0, valid/ and invalid/;
#   default: ../shared/toml-test/tests beside the repository.
#
# valid/X.toml must decode (exit 0) to JSON equal to valid/X.json under
# toml-test's comparison rules; invalid/X.toml must be rejected with exit 1
# and a message naming "line L, column C". Exit 77 (skip) if the suite is
# absent, 1 if anything failed.
set -u

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: $0 PATH/TO/toml-decode [SUITE_DIR]" >&2
	exit 2
fi
decoder=$1
repo_root=$(cd "$(dirname "$0")/../.." && pwd)
suite=${2:-${SUITE:-$repo_root/../shared/toml-test/tests}}
list=$suite/files-toml-1.0.0

if [ ! -f "$list" ]; then
	echo "toml-test suite not found at $suite (no files-toml-1.0.0); skipping"
	exit 77
fi
if [ ! -x "$decoder" ]; then
	echo "$0: decoder '$decoder' is not executable" >&2
	exit 2
fi
# Hang or runaway guard per file; the sanitizer builds are the slow ones.
per_file_timeout=${TOML_TEST_TIMEOUT:-20}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

passed=0
failed=0
pairs=$work/pairs   # name, expected JSON, decoder output: compared in one go below

fail() {
	echo "FAIL $1: $2"
	failed=$((failed + 1))
}

# Under ASan/UBSan a report may still end in exit 1, so read stderr too.
sanitizer_report() {
	grep -Eq 'runtime error:|Sanitizer' "$work/err"
}

n=0
while IFS= read -r path || [ -n "$path" ]; do
	case $path in
	valid/*.toml)
		n=$((n + 1))
		out=$work/out.$n
		timeout "$per_file_timeout" "$decoder" <"$suite/$path" >"$out" 2>"$work/err"
		rc=$?
		if [ $rc -ne 0 ] || sanitizer_report; then
			fail "$path" "decoder exited $rc: $(head -c 300 "$work/err")"
		elif [ ! -f "$suite/${path%.toml}.json" ]; then
			fail "$path" "no ${path%.toml}.json in the suite"
		else
			printf '%s\t%s\t%s\n' "$path" "$suite/${path%.toml}.json" "$out" >>"$pairs"
		fi
		;;
	invalid/*.toml)
		timeout "$per_file_timeout" "$decoder" <"$suite/$path" >/dev/null 2>"$work/err"
		rc=$?
		if sanitizer_report; then
			fail "$path" "sanitizer report: $(grep -Em1 'runtime error:|Sanitizer' "$work/err")"
		elif [ $rc -eq 0 ]; then
			fail "$path" "accepted, expected an error"
		elif [ $rc -ne 1 ]; then
			fail "$path" "decoder exited $rc (crash or timeout?), expected 1: $(head -c 300 "$work/err")"
		elif ! grep -Eq 'line [1-9][0-9]*, column [1-9][0-9]*' "$work/err"; then
			fail "$path" "error names no line and column: $(head -c 300 "$work/err")"
		else
			passed=$((passed + 1))
		fi
		;;
	esac
done <"$list"

if [ -s "$pairs" ]; then
	# Prints one FAIL line per mismatch, then the number of matches.
	python3 - "$pairs" >"$work/compare" <<'PY'
import json
import math
import re
import sys

# toml-test's rules (json.go): tables and arrays structurally; a value is a
# {"type", "value"} pair; strings, integers and bools compare as strings;
# floats numerically (nan only by name, sign ignored); date-times as points
# in time after turning ' ' and 't' into 'T' and 'z' into 'Z'.

class Mismatch(Exception):
    pass

def is_value(m):
    return isinstance(m, dict) and len(m) == 2 and 'type' in m and 'value' in m

def go_parse_float(s):
    """strconv.ParseFloat(s, 64): None where Go reports an error."""
    body = s[1:] if s[:1] in '+-' else s
    if body.lower() in ('inf', 'infinity'):
        return -math.inf if s[0] == '-' else math.inf
    if body.lower() == 'nan':
        return math.nan
    if not re.fullmatch(r'[+-]?(\d[\d_]*\.?[\d_]*|\.\d[\d_]*)([eE][+-]?\d[\d_]*)?', s):
        return None
    if '_' in s:
        # Go: an underscore only between digits
        if re.search(r'(^|[^\d])_|_($|[^\d])', body):
            return None
    f = float(s.replace('_', ''))
    return None if math.isinf(f) else f   # out of range: ErrRange

def days_from_civil(y, m, d):
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468

def days_in_month(y, m):
    if m == 2:
        return 29 if (y % 4 == 0 and y % 100 != 0) or y % 400 == 0 else 28
    return 30 if m in (4, 6, 9, 11) else 31

DATE = r'(\d{4})-(\d{2})-(\d{2})'
TIME = r'(\d{1,2}):(\d{2}):(\d{2})(?:[.,](\d+))?'
LAYOUTS = {  # Go layouts as regular expressions
    'datetime': re.compile(DATE + 'T' + TIME + r'(Z|[+-]\d{2}:\d{2})'),
    'datetime-local': re.compile(DATE + 'T' + TIME),
    'date-local': re.compile(DATE),
    'time-local': re.compile(TIME),
}

def go_parse_time(kind, text):
    """time.Parse(layout, text) as (seconds, nanoseconds); None on error."""
    text = text.replace(' ', 'T').replace('t', 'T').replace('z', 'Z')
    m = LAYOUTS[kind].fullmatch(text)
    if not m:
        return None
    g = list(m.groups())
    y = mo = d = 0
    offset = 0
    if kind != 'time-local':
        y, mo, d = int(g[0]), int(g[1]), int(g[2])
        if not 1 <= mo <= 12 or not 1 <= d <= days_in_month(y, mo):
            return None
        g = g[3:]
    h = mi = s = ns = 0
    if kind != 'date-local':
        h, mi, s = int(g[0]), int(g[1]), int(g[2])
        if h > 23 or mi > 59 or s > 59:
            return None
        if g[3]:
            ns = int(g[3][:9].ljust(9, '0'))   # Go truncates past nanoseconds
        if kind == 'datetime' and g[4] != 'Z':
            oh, om = int(g[4][1:3]), int(g[4][4:6])
            if oh > 24 or om > 60:
                return None
            offset = (oh * 3600 + om * 60) * (-1 if g[4][0] == '-' else 1)
    days = days_from_civil(y, mo, d) if kind != 'time-local' else 0
    return (days * 86400 + h * 3600 + mi * 60 + s - offset, ns)

def compare_values(want, have, key):
    wtype, htype = want['type'], have['type']
    if not isinstance(htype, str):
        raise Mismatch(f"key '{key}': 'type' is not a string: {htype!r}")
    if wtype != htype:
        raise Mismatch(f"key '{key}': type {htype!r}, expected {wtype!r}")
    if wtype == 'array':   # the suite's older format
        return compare_arrays(want['value'], have['value'], key)
    wval, hval = want['value'], have['value']
    if not isinstance(hval, str):
        raise Mismatch(f"key '{key}': 'value' is not a string: {hval!r}")
    if wtype == 'float':
        if wval.endswith('nan') or hval.endswith('nan'):
            if wval.lstrip('+-') != hval.lstrip('+-'):
                raise Mismatch(f"key '{key}': {hval!r}, expected {wval!r}")
            return
        wf, hf = go_parse_float(wval), go_parse_float(hval)
        if wf is None:
            raise Mismatch(f"key '{key}': suite value {wval!r} is not a float")
        if hf is None:
            raise Mismatch(f"key '{key}': {hval!r} is not a float")
        if wf != hf:
            raise Mismatch(f"key '{key}': {hval!r}, expected {wval!r}")
    elif wtype in LAYOUTS:
        wt, ht = go_parse_time(wtype, wval), go_parse_time(wtype, hval)
        if wt is None:
            raise Mismatch(f"key '{key}': suite value {wval!r} is not a {wtype}")
        if ht is None:
            raise Mismatch(f"key '{key}': {hval!r} is not a {wtype}")
        if wt != ht:
            raise Mismatch(f"key '{key}': {hval!r}, expected {wval!r}")
    elif wval != hval:
        raise Mismatch(f"key '{key}': {hval!r}, expected {wval!r}")

def compare_arrays(want, have, key):
    if not isinstance(have, list):
        raise Mismatch(f"key '{key}': got {type(have).__name__}, expected an array")
    if len(want) != len(have):
        raise Mismatch(f"key '{key}': {len(have)} array elements, expected {len(want)}")
    for w, h in zip(want, have):
        compare(w, h, key)

def compare(want, have, key):
    if isinstance(want, list):
        return compare_arrays(want, have, key)
    if not isinstance(want, dict):
        raise Mismatch(f"key '{key}': suite has a {type(want).__name__}, not a table or array")
    if not isinstance(have, dict):
        raise Mismatch(f"key '{key}': got {type(have).__name__}, expected a table")
    if is_value(want) != is_value(have):
        what = 'a value' if is_value(want) else 'a table'
        raise Mismatch(f"key '{key}' should be {what}")
    if is_value(want):
        return compare_values(want, have, key)
    for k in want:
        if k not in have:
            raise Mismatch(f"key '{key + '.' + k if key else k}' missing from the output")
    for k in have:
        if k not in want:
            raise Mismatch(f"key '{key + '.' + k if key else k}' is not in the expected output")
    for k in want:
        compare(want[k], have[k], key + '.' + k if key else k)

def no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise Mismatch('output has a duplicate key')
    return dict(pairs)

matched = 0
with open(sys.argv[1], encoding='utf-8') as f:
    for line in f:
        name, expected, output = line.rstrip('\n').split('\t')
        try:
            with open(expected, encoding='utf-8') as e:
                want = json.load(e)
            try:
                with open(output, encoding='utf-8') as o:
                    have = json.load(o, object_pairs_hook=no_duplicates)
            except ValueError as ex:
                raise Mismatch(f'output is not JSON: {ex}')
            compare(want, have, '')
            matched += 1
        except Mismatch as m:
            print(f'FAIL {name}: {m}')
print(matched)
PY
	rc=$?
	if [ $rc -ne 0 ]; then
		echo "$0: the JSON comparison itself failed (exit $rc)" >&2
		cat "$work/compare"
		exit 2
	fi
	grep '^FAIL ' "$work/compare"
	compared=$(wc -l <"$pairs")
	matched=$(tail -n 1 "$work/compare")
	passed=$((passed + matched))
	failed=$((failed + compared - matched))
fi

echo "toml-test 1.0: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
