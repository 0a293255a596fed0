#!/usr/bin/env python3
"""Every ```cpp block of a document must appear verbatim in one of the given source files
(the programs CI builds and runs), so documentation examples cannot drift from code that
compiles. Usage: tools/check-doc-snippets.py DOC.md SOURCE... ; exits 1 naming each stale
snippet by its first line."""
import re
import sys

if len(sys.argv) < 3:
    sys.exit(__doc__)
doc_path, sources = sys.argv[1], sys.argv[2:]
texts = [open(path).read() for path in sources]
blocks = re.findall(r"```cpp\n(.*?)```", open(doc_path).read(), re.S)
stale = [b.split("\n")[0] for b in blocks if not any(b.rstrip("\n") in t for t in texts)]
for first in stale:
    print(f"{doc_path}: snippet not in {' '.join(sources)}: {first}")
sys.exit(1 if stale else 0)
