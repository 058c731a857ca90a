#!/bin/sh
# Makes an OCI bundle: a busybox rootfs and `capsa spec`'s config.json running COMMAND without a terminal.
# usage: make-oci-bundle.sh CAPSA DIR COMMAND [ARG...]
set -eu
capsa=$1 dir=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$dir"
mkdir -p "$dir"
"$here/make-busybox-rootfs.sh" "$dir/rootfs"
(cd "$dir" && "$capsa" spec)
python3 - "$dir/config.json" "$@" <<'PY'
import json, sys
path, args = sys.argv[1], sys.argv[2:]
spec = json.load(open(path))
spec["process"]["args"] = args
spec["process"]["terminal"] = False
json.dump(spec, open(path, "w"), indent=2)
PY
