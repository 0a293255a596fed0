#!/usr/bin/env bash
# The Lox VM on its benchmark programs (samples/lox/bench): wall time and GC figures per
# program, written to build/bench/lox.md. QUICK=1 runs smaller problem sizes (each file
# says its quick size in a `// QUICK: N` comment). CLOX=/path/to/clox adds a column with
# the book's C implementation on the same programs.
set -euo pipefail
cd "$(dirname "$0")/../.."
lox=${LOX:-build/release/bin/lox}
[ -x "$lox" ] || { echo "30-lox.sh: $lox missing (build the release preset)" >&2; exit 1; }
mkdir -p build/bench
QUICK=${QUICK:-} CLOX=${CLOX:-} python3 - "$lox" <<'PY'
import json, os, re, subprocess, sys, tempfile, time

lox = sys.argv[1]
quick = bool(os.environ.get("QUICK"))
clox = os.environ.get("CLOX") or None
benches = ["binary_trees", "closures", "fib", "instantiation", "method_call", "string_equality",
           "wide_tree"]
tmp = tempfile.mkdtemp(prefix="lox-bench-")

def program(name):
    src = open(f"samples/lox/bench/{name}.lox").read()
    if quick:
        src = re.sub(r"^(var \w+ = )\S+; // QUICK: (\S+)", r"\1\2;", src, flags=re.M)
    path = os.path.join(tmp, name + ".lox")
    open(path, "w").write(src)
    return path

def timed(cmd):
    start = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr}")
    return wall, p.stderr

def gc_figures(stderr):
    s = json.loads(stderr.strip().splitlines()[-1])
    mib = lambda b: f"{b / 1048576:.2f}"
    return {"minor": str(s["minor_collections"]), "major": str(s["major_collections"]),
            "compact": str(s["compactions"]),
            "total_pause": f"{s['pauses']['total_ns'] / 1e6:.3f}",
            "max_pause": f"{s['pauses']['max_ns'] / 1e6:.3f}",
            "peak": mib(s["peak_heap_bytes"]), "allocated": mib(s["bytes_allocated"]),
            "promoted": mib(s["bytes_promoted"])}

rows = []
for name in benches:
    path = program(name)
    wall, err = timed([lox, "--gc-stats=json", path])
    f = gc_figures(err)
    row = [name, f"{wall:.3f}"]
    if clox:
        cwall, _ = timed([clox, path])
        row += [f"{cwall:.3f}", f"{cwall / wall:.2f}x"]
    row += [f"{f.get('minor','?')}/{f.get('major','?')}/{f.get('compact','?')}",
            f.get("total_pause", "?"), f.get("max_pause", "?"), f.get("peak", "?"),
            f.get("allocated", "?"), f.get("promoted", "?")]
    rows.append(row)
    print("  ".join(row), flush=True)

head = ["program", "lox s"] + (["clox s", "clox/lox"] if clox else []) + [
    "minor/major/compact", "GC total ms", "GC max ms", "peak heap MiB", "allocated MiB",
    "promoted MiB"]
with open("build/bench/lox.md", "w") as out:
    out.write(f"# Lox VM benchmarks{' (QUICK)' if quick else ''}\n\n")
    out.write("| " + " | ".join(head) + " |\n|" + "---|" * len(head) + "\n")
    for r in rows:
        out.write("| " + " | ".join(r) + " |\n")
print("wrote build/bench/lox.md")
PY
