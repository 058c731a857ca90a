#!/bin/sh
# A bounded libFuzzer run: seeds a fresh corpus, fuzzes for SECONDS, cleans up.
# usage: run-fuzz.sh FUZZER SECONDS [SEED_GENERATOR | SEED_DIR]
set -eu
fuzzer=$1 seconds=$2 seeds=${3:-}
corpus=$(mktemp -d /tmp/capsa-fuzz.XXXXXX)
trap 'rm -rf "$corpus"' EXIT
if [ -d "$seeds" ]; then
	find "$seeds" -type f -name '*.toml' | head -500 | while read -r f; do cp "$f" "$corpus/$(echo "$f" | md5sum | cut -c1-16)"; done
elif [ -x "$seeds" ] && [ -f "$seeds" ]; then
	"$seeds" "$corpus"
elif [ -n "$seeds" ]; then
	echo "run-fuzz.sh: no seeds at $seeds: starting from an empty corpus"
fi
"$fuzzer" -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 "$corpus" 2>&1 | tail -15
