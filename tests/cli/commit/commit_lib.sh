# Sourced by tests/cli/commit/*_test.sh after lib.sh.

# map_shape IMG: qemu-img map of IMG without host offsets (entries that
# differ only in where BASE put the data are merged).
map_shape() { qemu-img map --output=json "$1" | python3 -c '
import json,sys
out = []
for e in json.load(sys.stdin):
    e.pop("offset", None)
    p = out[-1] if out else None
    if p and p["start"] + p["length"] == e["start"] and \
       {k: v for k, v in p.items() if k not in ("start", "length")} == \
       {k: v for k, v in e.items() if k not in ("start", "length")}:
        p["length"] += e["length"]
    else:
        out.append(e)
for e in out: print(json.dumps(e, sort_keys=True))'; }
